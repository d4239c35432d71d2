//! The scanner function: one policy sweep per invocation (fanned out over the
//! units queue when the function has one). The daily schedule
//! sends `{"scan_type": "anti-entropy"}` (every active policy); the API in
//! Lambda sends a launch's bootstrap sweep with the id of the job it queued
//! and answered with (`job_id`), which this sweep then runs under.

use anyhow::{Context as _, Result};
use qrie_aws::units_queue::UnitsQueue;
use qrie_engine::{Engine, NoProgress, PolicySweepRequest};
use qrie_model::{ScanType, Timestamp};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

use super::inventory::{send_units, InventoryAnswer};
use super::Container;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScannerPayload {
    pub scan_type: ScanType,
    /// One policy; absent, every active policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_id: Option<String>,
    /// A job queued by the API (`queued` until this sweep starts it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
}

/// The retention schedule's payload: archive resolved findings older than
/// this many days to `QRIE_ARCHIVE_TO`, then purge them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArchivePayload {
    pub archive_older_than_days: u32,
}

/// The notifications schedule's payload: deliver what is due.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DispatchPayload {
    pub dispatch_notifications: bool,
}

/// What the scanner answers: a sweep's answer, an archive's report, or a
/// notifications pass's.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum ScannerAnswer {
    Sweep(InventoryAnswer),
    Archive(qrie_engine::archive::ArchiveReport),
    Dispatch(qrie_engine::notify::DispatchReport),
}

/// Routes an invocation: a payload naming `archive_older_than_days` is the
/// retention schedule's, anything else a sweep's (each decoded strictly, so
/// that a mistyped field is an error that names it).
pub async fn handle_invocation(
    container: Arc<Container>,
    payload: serde_json::Value,
    deadline: Timestamp,
) -> Result<ScannerAnswer> {
    if payload.get("archive_older_than_days").is_some() {
        let p: ArchivePayload = serde_json::from_value(payload).context("the archive payload")?;
        return Ok(ScannerAnswer::Archive(archive(&container, p).await?));
    }
    if payload.get("dispatch_notifications").is_some() {
        let _: DispatchPayload = serde_json::from_value(payload).context("the notifications payload")?;
        let engine = container.engine().await?;
        let public_url = std::env::var("QRIE_PUBLIC_URL").ok().filter(|u| !u.is_empty());
        let senders = qrie_notify::Senders::new(public_url).map_err(|e| anyhow::anyhow!(e))?;
        return Ok(ScannerAnswer::Dispatch(engine.dispatch_notices(&senders).await?));
    }
    let p: ScannerPayload = serde_json::from_value(payload).context("the sweep payload")?;
    let answer = handle(container.clone(), p, deadline).await?;
    // The transitions the sweep made, told now rather than at the next
    // schedule: with what is left of the invocation, less a margin.
    let left = (deadline - qrie_engine::Engine::now() - chrono::Duration::seconds(30)).to_std().unwrap_or_default();
    super::dispatch_notices(&container.engine().await?, left.min(std::time::Duration::from_secs(120))).await;
    Ok(ScannerAnswer::Sweep(answer))
}

/// Archives and purges resolved findings older than the payload says.
pub async fn archive(container: &Container, p: ArchivePayload) -> Result<qrie_engine::archive::ArchiveReport> {
    let engine = container.engine().await?;
    let archive_to = std::env::var("QRIE_ARCHIVE_TO").ok();
    let sink = container.ctx.required_archive_sink(archive_to.as_deref()).await?;
    let selection = qrie_engine::archive::ArchiveSelection {
        resolved_before: Some(
            qrie_engine::Engine::now() - chrono::Duration::days(i64::from(p.archive_older_than_days)),
        ),
        ..Default::default()
    };
    let report = engine.archive_findings(&selection, &*sink, false, &NoProgress).await?;
    tracing::info!(archived = report.archived, purged = report.purged, location = ?report.location, "retention");
    Ok(report)
}

/// Runs the sweep as a job that ends by `deadline`, the invocation's (see
/// [`super::inventory::handle`]), or — with a units queue — plans it and
/// sends one message per (account, service) unit, for the inventory
/// function to run as it runs an inventory sweep's units.
pub async fn handle(
    container: Arc<Container>,
    payload: ScannerPayload,
    deadline: Timestamp,
) -> Result<InventoryAnswer> {
    let engine = container.engine().await?;
    // The scheduled sweeps are the deployment's clock: record the suppression
    // rules that expired since (their findings are unsuppressed already).
    engine.record_expiries(qrie_engine::Engine::now()).await?;
    sweep_with(&engine, container.units_queue.as_ref(), payload, deadline).await
}

/// [`handle`] with this engine and queue.
pub async fn sweep_with(
    engine: &Engine,
    units_queue: Option<&UnitsQueue>,
    payload: ScannerPayload,
    deadline: Timestamp,
) -> Result<InventoryAnswer> {
    let req = PolicySweepRequest { policy_id: payload.policy_id, scan_type: payload.scan_type };
    if let Some(queue) = units_queue {
        let fanned = engine.fan_out_policy_sweep(&req, payload.job_id.as_deref()).await?;
        return send_units(engine, queue, fanned).await;
    }
    let job_id = match payload.job_id {
        Some(id) => id,
        None => engine.queue_policy_sweep(&req, Some(deadline)).await?.id,
    };
    // Lambda may deliver an asynchronous invoke more than once: the engine
    // sweeps a queued job once and answers the record after that.
    let report = engine.run_queued_policy_sweep(&job_id, &req, Some(deadline), &NoProgress).await?;
    Ok(InventoryAnswer::Sweep(report.into()))
}
