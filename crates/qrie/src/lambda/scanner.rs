//! The scanner function: one policy sweep per invocation (fanned out over the
//! units queue when the function has one). The daily schedule
//! sends `{"scan_type": "anti-entropy"}` (every active policy); the API in
//! Lambda sends a launch's bootstrap sweep with the id of the job it queued
//! and answered with (`job_id`), which this sweep then runs under.

use anyhow::Result;
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
