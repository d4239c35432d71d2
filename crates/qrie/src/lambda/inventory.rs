//! The inventory function: one inventory sweep per invocation, with the seeds'
//! payload. Scheduled EventBridge rules deliver exactly the rule's `Input`,
//! e.g. the weekly `{"service": "all", "scan_type": "anti-entropy"}`;
//! onboarding an account invokes `{"service": "all", "scan_type":
//! "bootstrap", "account_id": "123456789012"}`. The API in Lambda sends the
//! sweeps its requests start with the id of the job it queued (`job_id`),
//! which this sweep then runs under.
//!
//! With a units queue (`QRIE_UNITS_QUEUE_URL`, as deploy/ sets it) the sweep
//! is fanned out: this invocation plans it and sends one message per unit to
//! the queue, and the same function, invoked by the queue, runs one unit per
//! message (docs/architecture.md, "Sweeps at organization scale"). Without
//! one, a single invocation runs the whole sweep.

use anyhow::{Context as _, Result};
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use qrie_aws::units_queue::UnitsQueue;
use qrie_engine::fanout::{FanOut, UnitAnswer, UnitMessage};
use qrie_engine::{Engine, InventoryRequest, NoProgress};
use qrie_model::{ScanType, Service, Timestamp};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

use super::{Container, SweepSummary};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InventoryPayload {
    /// `all`, or one or several of `s3`, `ec2`, `iam`.
    #[serde(default = "all")]
    pub service: OneOrMany,
    pub scan_type: ScanType,
    /// One or several accounts; absent, every active account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<OneOrMany>,
    /// One or several regions; absent, each account's regions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<OneOrMany>,
    /// A job queued by the API (`queued` until this sweep starts it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
}

/// A field that takes one value (the seeds' payloads) or a list (what an
/// API request may ask for).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn of(mut values: Vec<String>) -> Option<OneOrMany> {
        match values.len() {
            0 => None,
            1 => values.pop().map(OneOrMany::One),
            _ => Some(OneOrMany::Many(values)),
        }
    }

    fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(v) => vec![v],
            OneOrMany::Many(v) => v,
        }
    }
}

fn all() -> OneOrMany {
    OneOrMany::One("all".into())
}

impl InventoryPayload {
    /// The payload that runs `req` as the queued job `job_id`.
    pub fn queued(req: &InventoryRequest, job_id: String) -> InventoryPayload {
        InventoryPayload {
            service: OneOrMany::of(req.services.iter().map(|s| s.as_str().to_string()).collect()).unwrap_or_else(all),
            scan_type: req.scan_type,
            account_id: OneOrMany::of(req.accounts.clone()),
            region: OneOrMany::of(req.regions.clone()),
            job_id: Some(job_id),
        }
    }

    /// The sweep the payload asks for; a bad service, account or region is
    /// the invocation's error (the engine checks accounts and regions).
    pub fn request(&self) -> Result<InventoryRequest> {
        let services = match &self.service {
            OneOrMany::One(a) if a == "all" => Vec::new(),
            some => some.clone().into_vec().iter().map(|s| s.parse::<Service>()).collect::<Result<_, _>>()?,
        };
        let accounts = self.account_id.clone().map(OneOrMany::into_vec).unwrap_or_default();
        for a in &accounts {
            qrie_model::validate_account_id(a)?;
        }
        Ok(InventoryRequest {
            accounts,
            services,
            regions: self.region.clone().map(OneOrMany::into_vec).unwrap_or_default(),
            scan_type: self.scan_type,
            drift_grace: None,
            workers: 0,
        })
    }
}

/// What the function answers (the scanner's too, without `Units`): the
/// batch response SQS reads (units), a sweep's summary (run here, or ended
/// while planning), or the sweep handed to the units queue.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum InventoryAnswer {
    Units(SqsBatchResponse),
    Sweep(SweepSummary),
    FannedOut(FannedOut),
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct FannedOut {
    pub job_id: String,
    pub status: qrie_model::JobStatus,
    /// Unit messages sent to the queue.
    pub units_queued: usize,
    pub queue_url: String,
}

/// An invocation: an SQS batch of unit messages, or a sweep's payload.
pub async fn handle(
    container: Arc<Container>,
    payload: serde_json::Value,
    deadline: Timestamp,
) -> Result<InventoryAnswer> {
    if payload.get("Records").is_some() {
        let batch: SqsEvent = serde_json::from_value(payload).context("reading the SQS event")?;
        let engine = container.engine().await?;
        return Ok(InventoryAnswer::Units(units_batch(&engine, &batch.records, deadline).await));
    }
    let payload: InventoryPayload =
        serde_json::from_value(payload).context("reading the inventory payload (docs/lambda.md has its fields)")?;
    sweep(container, payload, deadline).await
}

/// Runs the sweep as a job — a queued one under its id, or a new one — in
/// this invocation, or fanned out over the container's units queue.
pub async fn sweep(
    container: Arc<Container>,
    payload: InventoryPayload,
    deadline: Timestamp,
) -> Result<InventoryAnswer> {
    let engine = container.engine().await?;
    sweep_with(&engine, container.units_queue.as_ref(), payload, deadline).await
}

/// [`sweep`] with this engine and queue.
pub async fn sweep_with(
    engine: &Engine,
    units_queue: Option<&UnitsQueue>,
    payload: InventoryPayload,
    deadline: Timestamp,
) -> Result<InventoryAnswer> {
    let req = payload.request()?;
    if let Some(queue) = units_queue {
        let fanned = engine.fan_out_inventory_sweep(&req, payload.job_id.as_deref()).await?;
        return send_units(engine, queue, fanned).await;
    }
    let job_id = match payload.job_id {
        Some(id) => id,
        None => engine.queue_inventory_sweep(&req, Some(deadline)).await?.id,
    };
    // Lambda may deliver an asynchronous invoke more than once: the engine
    // sweeps a queued job once and answers the record after that.
    let report = engine.run_queued_inventory_sweep(&job_id, &req, Some(deadline), &NoProgress).await?;
    Ok(InventoryAnswer::Sweep(report.into()))
}

/// Sends a planned sweep's unit messages (a policy sweep's too): the sweep
/// is the queue's now. A sweep that ended while it was planned is answered
/// as it ended.
pub async fn send_units(engine: &Engine, queue: &UnitsQueue, fanned: FanOut) -> Result<InventoryAnswer> {
    let (job, messages) = match fanned {
        FanOut::Ended(report) => return Ok(InventoryAnswer::Sweep(report.into())),
        FanOut::Queued { job, messages } => (job, messages),
    };
    if let Err(e) = queue.send(&messages).await {
        // The units not sent would never run: the job stops now, resumable.
        engine.interrupt_job(&job.id).await?;
        anyhow::bail!(
            "{e}\nthe sweep {} is interrupted: `qrie jobs resume {}` runs its units from wherever it is started",
            job.id,
            job.id
        );
    }
    Ok(InventoryAnswer::FannedOut(FannedOut {
        job_id: job.id,
        status: job.status,
        units_queued: messages.len(),
        queue_url: queue.queue_url().to_string(),
    }))
}

/// Runs the unit each message names, in turn, and answers the messages to be
/// delivered again: a unit given back for another attempt, or one whose run
/// failed (the store). A body that names no unit is answered too, so the
/// queue's redrive moves it to the dead-letter queue after its receives.
/// A unit whose worker stops (the invocation times out) keeps its message in
/// flight: SQS delivers it again after the visibility timeout, when the
/// stopped worker's claim — which ends with its invocation — has lapsed.
pub async fn units_batch(engine: &Engine, messages: &[SqsMessage], deadline: Timestamp) -> SqsBatchResponse {
    let mut answer = SqsBatchResponse::default();
    for m in messages {
        let id = m.message_id.clone().unwrap_or_default();
        let receives = m.attributes.get("ApproximateReceiveCount").map_or("?", String::as_str);
        let owner = format!("lambda-{id}-{receives}");
        let body = m.body.as_deref().unwrap_or_default();
        let answered = match serde_json::from_str::<UnitMessage>(body) {
            Err(e) => Err(format!("not a unit message ({e}): {}", body.chars().take(200).collect::<String>())),
            Ok(unit) => match engine.run_unit_message(&unit, &owner, deadline).await {
                Ok(UnitAnswer::Retry(why)) => Err(why),
                Ok(UnitAnswer::Skipped(why)) => {
                    tracing::info!(message_id = %id, "unit skipped: {why}");
                    Ok(())
                }
                Ok(UnitAnswer::Ended { finalised }) => {
                    if let Some(report) = finalised {
                        tracing::info!(job = %report.job.id, status = report.job.status.as_str(), "sweep finalised");
                    }
                    Ok(())
                }
                Err(e) => Err(e.to_string()),
            },
        };
        if let Err(why) = answered {
            tracing::warn!(message_id = %id, "unit message failed; SQS delivers it again: {why}");
            answer.add_failure(id);
        }
    }
    answer
}
