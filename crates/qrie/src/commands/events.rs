//! `qrie events ingest|explain|stats|poll`.

use anyhow::{Context, Result};
use qrie_engine::events::EventReport;
use qrie_events::{Decision, Routed};
use std::io::Read;

use crate::cli::{EventsCmd, PollArgs};
use crate::context::Ctx;
use crate::output::{self, Format};

pub async fn run(ctx: &Ctx, format: Format, cmd: EventsCmd) -> Result<()> {
    match cmd {
        EventsCmd::Explain { files } => {
            for f in &files {
                explain(format, f, &read_input(f)?)?;
            }
            Ok(())
        }
        EventsCmd::Ingest { files } => {
            // Every file is checked whole before any is ingested: a file that
            // cannot be read or decoded stops the command with nothing half-ingested.
            let mut stdin = None;
            for f in &files {
                let bytes = read_input(f)?;
                qrie_events::decode_chunks(&bytes, qrie_events::CHUNK, &mut |_| {})
                    .with_context(|| format!("decoding {f}"))?;
                if f == "-" {
                    stdin = Some(bytes);
                }
            }
            let (engine, _) = ctx.engine_with_cloud().await?;
            let mut report = EventReport::default();
            for f in &files {
                let bytes = match (f.as_str(), stdin.take()) {
                    ("-", Some(bytes)) => bytes,
                    _ => read_input(f)?,
                };
                let part = engine.ingest_input(bytes).await.with_context(|| format!("ingesting {f}"))?;
                report.add(part);
            }
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
        EventsCmd::Poll(args) => poll(ctx, format, args).await,
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

/// The totals of a `qrie events poll` run.
#[derive(Debug, Default, serde::Serialize)]
#[serde(rename_all = "PascalCase")]
struct PollSummary {
    queue_url: String,
    batches: u64,
    messages: u64,
    /// Processed and deleted.
    deleted: u64,
    /// Processed, but SQS refused the delete (it delivers them again).
    not_deleted: u64,
    /// Left on the queue: retried, then dead-lettered by the redrive policy.
    failed: u64,
    stats: qrie_engine::events::EventStats,
    /// The first failures, with their reasons (each is also logged as it happens).
    failures: Vec<qrie_aws::sqs::MessageOutcome>,
}

/// Failures kept in the summary of a long run; later ones are counted and logged only.
const SUMMARY_FAILURES: usize = 100;

async fn poll(ctx: &Ctx, format: Format, args: PollArgs) -> Result<()> {
    let (engine, _) = ctx.engine_with_cloud().await?;
    let mut poller =
        qrie_aws::sqs::SqsPoller::from_env(ctx.aws_profile.as_deref(), ctx.aws_region.as_deref(), &args.queue_url)
            .await;
    poller.wait_seconds = args.wait_seconds;
    poller.max_messages = args.max_messages;

    // Ctrl-C interrupts a receive that is waiting, never a batch in processing.
    let (stop_tx, mut stop) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("stopping after the current batch");
            let _ = stop_tx.send(true);
        }
    });
    if !args.once {
        eprintln!("polling {} (Ctrl-C stops)", args.queue_url);
    }
    let mut summary = PollSummary { queue_url: args.queue_url.clone(), ..Default::default() };
    loop {
        if *stop.borrow() {
            break;
        }
        let messages = tokio::select! {
            received = poller.receive() => received?,
            _ = stop.changed() => break,
        };
        if messages.is_empty() && !args.once {
            continue;
        }
        let batch = poller.process(&engine, messages).await?;
        summary.batches += 1;
        tally_batch(&mut summary, batch);
        if args.once {
            break;
        }
    }
    output::document(format, &summary, || {
        format!(
            "{} message(s) in {} batch(es): {} processed and deleted, {} processed but not deleted, {} left on the queue; \
findings opened {}, resolved {}\n",
            summary.messages,
            summary.batches,
            summary.deleted,
            summary.not_deleted,
            summary.failed,
            summary.stats.findings_opened,
            summary.stats.findings_resolved
        )
    })
}

/// Adds a batch to the run's totals and prints its progress line (stderr).
fn tally_batch(summary: &mut PollSummary, batch: qrie_aws::sqs::BatchReport) {
    let stats = batch.stats.clone();
    let deleted = batch.messages.iter().filter(|m| m.deleted).count() as u64;
    let failed = batch.failed() as u64;
    summary.messages += batch.messages.len() as u64;
    summary.deleted += deleted;
    summary.not_deleted += batch.processed() as u64 - deleted;
    summary.failed += failed;
    summary.stats.add(&stats);
    eprintln!(
        "batch {}: {} message(s), {} processed, {} deleted, {} left on the queue; {} event(s), {} resource(s) re-read, findings opened {}, resolved {}",
        summary.batches,
        batch.messages.len(),
        batch.processed(),
        deleted,
        failed,
        stats.received,
        stats.refreshed + stats.deleted,
        stats.findings_opened,
        stats.findings_resolved
    );
    for m in batch.messages.into_iter().filter(|m| m.error.is_some()) {
        eprintln!(
            "  message {} (delivery {}) left on the queue: {}",
            m.message_id,
            m.receive_count,
            m.error.as_deref().unwrap_or_default()
        );
        if summary.failures.len() < SUMMARY_FAILURES {
            summary.failures.push(m);
        }
    }
}

/// A file's bytes (or stdin's, for `-`), up to one byte past the input limit
/// (the decoder then refuses it with the limit in its message).
fn read_input(f: &str) -> Result<Vec<u8>> {
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
    Ok(bytes)
}

/// Prints each record's decision as it is decoded, a chunk at a time (a table
/// per chunk of records; JSON lines with `--format json`), so memory does not
/// grow with the file.
fn explain(format: Format, f: &str, bytes: &[u8]) -> Result<()> {
    let mut failed: Option<anyhow::Error> = None;
    qrie_events::decode_chunks(bytes, qrie_events::CHUNK, &mut |chunk| {
        if failed.is_some() {
            return;
        }
        let routed: Vec<Routed> = chunk.iter().map(qrie_events::route).collect();
        if let Err(e) = explain_chunk(format, &routed) {
            failed = Some(e);
        }
    })
    .with_context(|| format!("decoding {f}"))?;
    failed.map_or(Ok(()), Err)
}

fn explain_chunk(format: Format, routed: &[Routed]) -> Result<()> {
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
