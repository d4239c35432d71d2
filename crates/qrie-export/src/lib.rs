//! Findings in the formats other tools read, one record at a time so that an
//! export of any size streams: OCSF 1.5 Detection and Compliance Findings
//! (SIEMs, data lakes, Amazon Security Lake), ASFF (AWS Security Hub), CSV
//! (spreadsheets) and JSON Lines (qrie's own shape).
//!
//! Each record says what the finding is *now*: OCSF's activity is Create for
//! a finding opened once, Update for one reopened, Close for one resolved;
//! ASFF archives resolved findings. Identities are stable per (resource,
//! policy) ([`qrie_model::finding::finding_uid`]), so a consumer that loads
//! two exports keeps one record per finding.

pub mod asff;
mod csv_rows;
pub mod ocsf;
pub mod text;

use qrie_model::suppression::Suppression;
use qrie_model::Finding;
use qrie_policies::frameworks::{self, Framework};
use serde::Serialize;
use std::collections::HashMap;
use std::str::FromStr;

pub use csv_rows::CSV_HEADERS;

/// What an export writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// OCSF 1.5 Detection Finding (class 2004), one JSON object per line.
    Ocsf,
    /// AWS Security Finding Format, one `AwsSecurityFinding` per line.
    Asff,
    /// RFC 4180 CSV with a header row, formula-safe cells.
    Csv,
    /// qrie's own finding documents (as the API lists them), one per line.
    Jsonl,
}

impl ExportFormat {
    pub const ALL: [ExportFormat; 4] = [ExportFormat::Ocsf, ExportFormat::Asff, ExportFormat::Csv, ExportFormat::Jsonl];

    pub fn as_str(self) -> &'static str {
        match self {
            ExportFormat::Ocsf => "ocsf",
            ExportFormat::Asff => "asff",
            ExportFormat::Csv => "csv",
            ExportFormat::Jsonl => "jsonl",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            ExportFormat::Csv => "text/csv; charset=utf-8",
            _ => "application/x-ndjson",
        }
    }

    /// The file name a download suggests.
    pub fn file_name(self) -> &'static str {
        match self {
            ExportFormat::Ocsf => "qrie-findings.ocsf.jsonl",
            ExportFormat::Asff => "qrie-findings.asff.jsonl",
            ExportFormat::Csv => "qrie-findings.csv",
            ExportFormat::Jsonl => "qrie-findings.jsonl",
        }
    }
}

impl FromStr for ExportFormat {
    type Err = qrie_model::ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|f| f.as_str().eq_ignore_ascii_case(s)).ok_or_else(|| {
            qrie_model::ValidationError::Choice {
                what: "export format",
                value: s.into(),
                expected: "ocsf, asff, csv, jsonl",
            }
        })
    }
}

/// Where and by what the records are produced: the same for every record.
#[derive(Debug, Clone)]
pub struct ExportContext {
    /// qrie's version (OCSF `metadata.product.version`).
    pub product_version: String,
    /// The web UI's address, for links to each finding's page (none: no links).
    pub ui_url: Option<String>,
    /// The region that findings on global resources (IAM) are filed in,
    /// where a region is required (ASFF's `ProductArn` and `Region`).
    pub home_region: String,
}

impl Default for ExportContext {
    fn default() -> Self {
        ExportContext { product_version: String::new(), ui_url: None, home_region: "us-east-1".into() }
    }
}

impl ExportContext {
    /// The UI page of a finding, when the UI's address is known.
    pub fn finding_url(&self, f: &Finding) -> Option<String> {
        Some(finding_page(self.ui_url.as_deref()?, &f.arn, &f.policy))
    }

    /// The region a finding is filed in: its own, or the home region for global resources.
    pub fn region_of<'a>(&'a self, f: &'a Finding) -> &'a str {
        if f.region.is_empty() || f.region == "global" {
            &self.home_region
        } else {
            &f.region
        }
    }
}

/// The UI page of the finding on `arn` for `policy`, under the UI's address `base`.
pub fn finding_page(base: &str, arn: &str, policy: &str) -> String {
    let query =
        form_urlencoded::Serializer::new(String::new()).append_pair("arn", arn).append_pair("policy", policy).finish();
    format!("{}/findings/detail?{query}", base.trim_end_matches('/'))
}

/// One finding as it is exported: the finding, the suppression covering it
/// now (if any), and whether its policy is paused.
#[derive(Debug, Clone, Copy)]
pub struct Record<'a> {
    pub finding: &'a Finding,
    pub suppression: Option<&'a Suppression>,
    pub policy_paused: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("writing CSV: {0}")]
    Csv(#[from] csv::Error),
    #[error("encoding JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// Writes records of one format into byte buffers; the caller streams them.
pub struct Exporter {
    format: ExportFormat,
    context: ExportContext,
    /// Each policy's text, worked out once per export rather than per record.
    policies: HashMap<String, PolicyText>,
}

impl Exporter {
    pub fn new(format: ExportFormat, context: ExportContext) -> Self {
        Exporter { format, context, policies: HashMap::new() }
    }

    pub fn format(&self) -> ExportFormat {
        self.format
    }

    /// What comes before the first record (CSV's header row).
    pub fn begin(&mut self, out: &mut Vec<u8>) -> Result<(), ExportError> {
        if self.format == ExportFormat::Csv {
            csv_line(CSV_HEADERS, out)?;
        }
        Ok(())
    }

    /// Appends one record to `out`.
    pub fn write(&mut self, record: Record<'_>, out: &mut Vec<u8>) -> Result<(), ExportError> {
        let policy = &record.finding.policy;
        if !self.policies.contains_key(policy) {
            self.policies.insert(policy.clone(), PolicyText::of(policy));
        }
        let text = &self.policies[policy];
        match self.format {
            ExportFormat::Csv => {
                csv_line(csv_rows::row(record), out)?;
            }
            ExportFormat::Ocsf => json_line(&ocsf::detection_finding(record, text, None, &self.context), out)?,
            ExportFormat::Asff => json_line(&asff::finding(record, text, &self.context), out)?,
            ExportFormat::Jsonl => json_line(&JsonlRecord::from(record), out)?,
        }
        Ok(())
    }
}

/// Appends one CSV row (RFC 4180 quoting, CRLF line ends as the RFC has them).
fn csv_line<I: AsRef<[u8]>>(cells: impl IntoIterator<Item = I>, out: &mut Vec<u8>) -> Result<(), ExportError> {
    let mut w = csv::WriterBuilder::new()
        .has_headers(false)
        .terminator(csv::Terminator::CRLF)
        .buffer_capacity(1024)
        .from_writer(out);
    w.write_record(cells)?;
    w.flush().map_err(csv::Error::from)?;
    Ok(())
}

/// Appends `value` as one line of JSON.
pub fn json_line(value: &impl Serialize, out: &mut Vec<u8>) -> Result<(), ExportError> {
    serde_json::to_writer(&mut *out, value)?;
    out.push(b'\n');
    Ok(())
}

/// A finding as the API lists it: its document, the suppression, paused.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct JsonlRecord<'a> {
    #[serde(flatten)]
    finding: &'a Finding,
    suppression: Option<&'a Suppression>,
    policy_paused: bool,
}

impl<'a> From<Record<'a>> for JsonlRecord<'a> {
    fn from(r: Record<'a>) -> Self {
        JsonlRecord { finding: r.finding, suppression: r.suppression, policy_paused: r.policy_paused }
    }
}

/// What the exports say about a finding's policy: from the catalog, or (a
/// policy qrie no longer ships) its id.
pub struct PolicyText {
    pub title: String,
    pub description: String,
    pub remediation: String,
    pub category: String,
    /// Each framework control the policy is mapped to.
    pub compliance: Vec<(&'static Framework, &'static str)>,
}

impl PolicyText {
    pub fn of(policy: &str) -> PolicyText {
        match qrie_policies::get(policy) {
            Some(def) => PolicyText {
                title: def.title.to_string(),
                description: def.description.to_string(),
                remediation: def.remediation.steps.join(" "),
                category: def.category.to_string(),
                compliance: def
                    .compliance
                    .iter()
                    .filter_map(|c| frameworks::framework(c.framework).map(|f| (f, c.controls)))
                    .flat_map(|(f, controls)| controls.iter().map(move |c| (f, *c)))
                    .collect(),
            },
            None => PolicyText {
                title: policy.to_string(),
                description: format!("qrie policy {policy}"),
                remediation: String::new(),
                category: String::new(),
                compliance: Vec::new(),
            },
        }
    }
}
