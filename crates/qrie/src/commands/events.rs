//! `qrie events ingest|explain|stats`.

use anyhow::{Context, Result};
use qrie_events::{Decision, Routed};
use std::io::Read;

use crate::cli::EventsCmd;
use crate::context::Ctx;
use crate::output::{self, Format};

pub async fn run(ctx: &Ctx, format: Format, cmd: EventsCmd) -> Result<()> {
    match cmd {
        EventsCmd::Explain { files } => {
            let routed = read_and_route(&files)?;
            explain(format, &routed)
        }
        EventsCmd::Ingest { files } => {
            let routed = read_and_route(&files)?;
            let (engine, _) = ctx.engine_with_cloud().await?;
            let report = engine.ingest_events(&routed).await?;
            output::document(format, &report, || {
                let s = &report.stats;
                let mut t = format!(
                    "{} event(s): {} mapped, {} skipped, {} unmapped; {} resource(s) re-read ({} present, {} gone, {} merged), findings opened {}, resolved {}\n",
                    s.received,
                    s.mapped,
                    s.skipped.values().sum::<u64>(),
                    s.unmapped.values().sum::<u64>(),
                    s.refreshed + s.deleted,
                    s.refreshed,
                    s.deleted,
                    s.debounced,
                    s.findings_opened,
                    s.findings_resolved
                );
                if s.unmonitored > 0 {
                    t += &format!("{} target(s) in accounts qrie does not monitor were ignored\n", s.unmonitored);
                }
                for e in &report.errors {
                    t += &format!("error: {e}\n");
                }
                t
            })
        }
        EventsCmd::Stats => {
            let stats = ctx.engine().event_stats().await?;
            output::document(format, &stats, || {
                let mut t = format!(
                    "received {}, mapped {}, re-read {} present / {} gone, findings opened {}, resolved {}, errors {}\n",
                    stats.received, stats.mapped, stats.refreshed, stats.deleted, stats.findings_opened, stats.findings_resolved, stats.errors
                );
                t += "skipped:\n";
                for (k, v) in &stats.skipped {
                    t += &format!("  {v:>8}  {k}\n");
                }
                t += "unmapped (not understood yet):\n";
                for (k, v) in &stats.unmapped {
                    t += &format!("  {v:>8}  {k}\n");
                }
                t
            })
        }
    }
}

/// Reads each file (or `-` for stdin), decodes it and routes every record.
/// A file that cannot be read or decoded at all stops the command: nothing is
/// half-ingested silently.
fn read_and_route(files: &[String]) -> Result<Vec<Routed>> {
    let mut routed = Vec::new();
    for f in files {
        let mut bytes = Vec::new();
        if f == "-" {
            std::io::stdin()
                .take(qrie_events::MAX_INPUT_BYTES as u64 + 1)
                .read_to_end(&mut bytes)
                .context("reading stdin")?;
        } else {
            let file = std::fs::File::open(f).with_context(|| format!("opening {f}"))?;
            file.take(qrie_events::MAX_INPUT_BYTES as u64 + 1)
                .read_to_end(&mut bytes)
                .with_context(|| format!("reading {f}"))?;
        }
        let incoming = qrie_events::decode(&bytes).with_context(|| format!("decoding {f}"))?;
        routed.extend(incoming.iter().map(qrie_events::route));
    }
    Ok(routed)
}

fn explain(format: Format, routed: &[Routed]) -> Result<()> {
    if format == Format::Json {
        // JSON lines: one decision per event, streamable.
        let mut out = std::io::stdout().lock();
        for r in routed {
            serde_json::to_writer(&mut out, r)?;
            std::io::Write::write_all(&mut out, b"\n")?;
        }
        return Ok(());
    }
    output::list(format, &["#", "EVENT ID", "SOURCE", "NAME", "DECISION", "RESOURCES"], routed, |r| {
        let (decision, resources) = match &r.decision {
            Decision::Mapped { targets } => (
                "mapped".to_string(),
                targets
                    .iter()
                    .map(|t| format!("{} {}", format!("{:?}", t.action).to_lowercase(), t.arn))
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
            Decision::Skipped { reason } => (format!("skipped: {}", reason.label()), reason_detail(reason)),
            Decision::Unmapped => ("unmapped".to_string(), String::new()),
        };
        vec![
            r.position.to_string(),
            r.event_id.clone().unwrap_or_default(),
            r.event_source.clone().unwrap_or_default(),
            r.event_name.clone().unwrap_or_default(),
            decision,
            resources,
        ]
    })
}

fn reason_detail(reason: &qrie_events::SkipReason) -> String {
    serde_json::to_value(reason)
        .ok()
        .and_then(|v| v.as_object().map(|o| o.values().filter_map(|x| x.as_str()).collect::<Vec<_>>().join(" ")))
        .unwrap_or_default()
}
