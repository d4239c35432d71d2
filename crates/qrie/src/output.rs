//! Output in the format an operator asked for: an aligned table for people,
//! JSON or CSV for machines. Lists use the same columns in table and CSV; JSON
//! carries the full records.
//!
//! Text meant for people passes through [`qrie_model::text::terminal_safe`]
//! (escape sequences in a resource's name or an event's fields are shown, not
//! run), and every CSV cell through [`qrie_model::text::csv_cell`] (no
//! spreadsheet formulas). JSON escapes control characters itself.

use anyhow::Result;
use clap::ValueEnum;
use comfy_table::{presets, ContentArrangement, Table};
use qrie_model::text::{csv_cell, terminal_safe};
use serde::Serialize;
use std::io::Write;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Format {
    /// Aligned columns for people.
    #[default]
    Table,
    /// One JSON document (a list is an array).
    Json,
    /// RFC 4180 CSV with a header row.
    Csv,
    /// One JSON document per line (a list is a line per item).
    Jsonl,
    /// OCSF 1.5 findings, a line each: `findings export`, `compliance FRAMEWORK`.
    Ocsf,
    /// AWS Security Finding Format, a finding per line: `findings export`.
    Asff,
}

impl Format {
    /// The export format this is, for the commands that export findings.
    pub fn export(self) -> Option<qrie_export::ExportFormat> {
        match self {
            Format::Ocsf => Some(qrie_export::ExportFormat::Ocsf),
            Format::Asff => Some(qrie_export::ExportFormat::Asff),
            Format::Csv => Some(qrie_export::ExportFormat::Csv),
            Format::Jsonl => Some(qrie_export::ExportFormat::Jsonl),
            Format::Table | Format::Json => None,
        }
    }
}

/// The error of a finding format given to a command that prints something else.
fn not_findings(format: Format) -> anyhow::Error {
    let name = format.to_possible_value().map(|v| v.get_name().to_string()).unwrap_or_default();
    let commands = if format == Format::Ocsf {
        "`qrie findings export` and `qrie compliance FRAMEWORK`"
    } else {
        "`qrie findings export`"
    };
    anyhow::anyhow!("--format {name} is an export format of findings: it is for {commands}")
}

/// Prints a list: `row` gives the table/CSV cells of one item.
pub fn list<T: Serialize>(
    format: Format,
    headers: &[&str],
    items: &[T],
    row: impl Fn(&T) -> Vec<String>,
) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, items)?;
            writeln!(out)?;
        }
        Format::Jsonl => {
            for item in items {
                serde_json::to_writer(&mut out, item)?;
                writeln!(out)?;
            }
        }
        Format::Ocsf | Format::Asff => return Err(not_findings(format)),
        Format::Csv => {
            let mut w = csv::Writer::from_writer(out);
            w.write_record(headers)?;
            for item in items {
                w.write_record(row(item).iter().map(|c| csv_cell(c).into_owned()))?;
            }
            w.flush()?;
        }
        Format::Table => {
            if items.is_empty() {
                eprintln!("(none)");
                return Ok(());
            }
            let mut t = Table::new();
            t.load_preset(presets::NOTHING).set_content_arrangement(ContentArrangement::Disabled).set_header(headers);
            for item in items {
                t.add_row(row(item).iter().map(|c| terminal_safe(c, false).into_owned()).collect::<Vec<_>>());
            }
            writeln!(out, "{t}")?;
        }
    }
    Ok(())
}

/// Prints one document: JSON as is, or the given text for people.
pub fn document<T: Serialize>(format: Format, value: &T, text: impl FnOnce() -> String) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, value)?;
            writeln!(out)?;
        }
        Format::Jsonl => {
            serde_json::to_writer(&mut out, value)?;
            writeln!(out)?;
        }
        Format::Csv => anyhow::bail!("this command prints a document, not a list: use --format table or json"),
        Format::Ocsf | Format::Asff => return Err(not_findings(format)),
        Format::Table => write!(out, "{}", terminal_safe(&text(), true))?,
    }
    Ok(())
}

/// `2026-01-05 10:00` for tables.
pub fn time(t: &qrie_model::Timestamp) -> String {
    t.format("%Y-%m-%d %H:%M").to_string()
}

pub fn opt_time(t: &Option<qrie_model::Timestamp>) -> String {
    t.as_ref().map(time).unwrap_or_default()
}

/// Active findings, with the suppressed ones beside them when there are any.
pub fn findings_count(active: u64, suppressed: u64) -> String {
    if suppressed == 0 {
        active.to_string()
    } else {
        format!("{active} (+{suppressed} suppressed)")
    }
}
