//! The Lambda entry points of the `qrie` binary. Deployed as `bootstrap` for
//! the `provided.al2023` runtime, the binary becomes one of four functions when
//! `QRIE_LAMBDA` names it (docs/lambda.md has the payloads and answers):
//!
//! - `api`: the server's router behind a Function URL ([`api`]);
//! - `inventory`: inventory sweeps, e.g. the weekly schedule ([`inventory`]);
//! - `scanner`: policy sweeps, the daily schedule and launches ([`scanner`]);
//! - `events`: CloudTrail events from SQS or EventBridge ([`events`]).
//!
//! Each does its work through the engine functions the CLI uses. What is
//! costly to set up — the store, the AWS clients — is made once per container
//! ([`Container`]) and reused by every invocation it serves.

pub mod api;
pub mod events;
pub mod inventory;
pub mod launcher;
pub mod scanner;

#[cfg(test)]
mod fanout_tests;
#[cfg(test)]
mod tests;

use anyhow::{bail, Context as _, Result};
use qrie_engine::Engine;
use qrie_model::Timestamp;
use serde::Serialize;
use std::sync::Arc;

use crate::context::Ctx;

/// Names the function this process serves; unset (or empty), it is the CLI.
pub const MODE_ENV: &str = "QRIE_LAMBDA";
/// The store URL, as the CLI's `--store` (in AWS `dynamodb://?prefix=P&region=R`).
pub const STORE_ENV: &str = "QRIE_STORE";
/// The scanner function's name or ARN: the API hands policy sweeps to it.
pub const SCANNER_ENV: &str = "QRIE_SCANNER_FUNCTION";
/// The inventory function's name or ARN: the API hands inventory sweeps to it.
pub const INVENTORY_ENV: &str = "QRIE_INVENTORY_FUNCTION";
/// The queue of sweep units (deploy/ sets it on the inventory function):
/// set, sweeps fan out over it, one unit per message; unset, one invocation
/// runs a whole sweep.
pub const UNITS_QUEUE_ENV: &str = "QRIE_UNITS_QUEUE_URL";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Api,
    Inventory,
    Scanner,
    Events,
}

impl std::str::FromStr for Mode {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Mode> {
        Ok(match s {
            "api" => Mode::Api,
            "inventory" => Mode::Inventory,
            "scanner" => Mode::Scanner,
            "events" => Mode::Events,
            other => bail!("{MODE_ENV}={other:?} names no function: expected api, inventory, scanner or events"),
        })
    }
}

/// The function `QRIE_LAMBDA` names, `None` when unset or empty (the CLI), or
/// the error of a value that names none (a startup error, never the CLI).
pub fn mode_from_env() -> Result<Option<Mode>> {
    match std::env::var(MODE_ENV) {
        Ok(v) if v.is_empty() => Ok(None),
        Ok(v) => v.parse().map(Some),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => bail!("{MODE_ENV} is not valid UTF-8"),
    }
}

/// What one container keeps between invocations: the store, opened once, and
/// (in [`Ctx`]) the AWS clients, made on first need and then reused.
pub struct Container {
    pub ctx: Ctx,
    /// Where sweeps fan out to, if anywhere (`QRIE_UNITS_QUEUE_URL`).
    pub units_queue: Option<qrie_aws::units_queue::UnitsQueue>,
}

impl Container {
    /// The store `QRIE_STORE` names. AWS credentials and region are Lambda's
    /// own (its role, `AWS_REGION`); accounts are read through assumed roles.
    pub async fn from_env() -> Result<Container> {
        let url = std::env::var(STORE_ENV).with_context(|| {
            format!(
                "{STORE_ENV} must name the store, e.g. dynamodb://?region=eu-west-1 (tables qrie_resources, ...) \
or dynamodb://?prefix=prod-&region=eu-west-1 (tables prod-qrie_resources, ...)"
            )
        })?;
        let mut container = Container::open(&url).await?;
        if let Some(queue_url) = std::env::var(UNITS_QUEUE_ENV).ok().filter(|u| !u.is_empty()) {
            container.units_queue = Some(qrie_aws::units_queue::UnitsQueue::from_env(&queue_url).await);
        }
        Ok(container)
    }

    /// A container over the store at `url`, running sweeps in one invocation.
    pub async fn open(url: &str) -> Result<Container> {
        Ok(Container { ctx: Ctx::open(url, None, None).await?, units_queue: None })
    }

    /// An engine over the store as it is now: the simulated estate is read
    /// from the store per invocation (other processes change it), accounts
    /// that are real are read through the container's AWS clients.
    pub async fn engine(&self) -> Result<Engine> {
        Ok(self.ctx.engine_with_cloud().await?.0)
    }
}

/// Delivers the notices that are due (docs/integrations.md): after events
/// and sweeps, and on the scanner's frequent schedule, which retries what
/// failed. It stops after `budget`, so that a slow receiver never costs the
/// invocation its own work (an events batch is answered whatever happens
/// here); what it did not finish stays in the outbox, and a delivery it had
/// claimed is sent by a later pass once the claim runs out. A failure is
/// logged, never the invocation's error.
pub async fn dispatch_notices(engine: &Engine, budget: std::time::Duration) {
    let public_url = std::env::var("QRIE_PUBLIC_URL").ok().filter(|u| !u.is_empty());
    let senders = match qrie_notify::Senders::new(public_url) {
        Ok(s) => s,
        Err(e) => return tracing::warn!(error = %e, "notifications cannot be sent"),
    };
    match tokio::time::timeout(budget, engine.dispatch_notices(&senders)).await {
        Ok(Ok(r)) => tracing::info!(delivered = r.delivered, failing = r.failed, dead = r.dead, "notifications"),
        Ok(Err(e)) => tracing::warn!(error = %e, "delivering notifications failed"),
        Err(_) => tracing::warn!(budget_secs = budget.as_secs(), "notifications left for the next pass (time budget)"),
    }
}

/// Serves invocations of `mode` until the Lambda service stops the container.
pub async fn serve(mode: Mode) -> Result<()> {
    // lambda_runtime panics without it; outside Lambda, say so instead.
    if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_none() {
        bail!("{MODE_ENV} is set but AWS_LAMBDA_RUNTIME_API is not: the Lambda functions run only in Lambda (unset {MODE_ENV} for the CLI)");
    }
    let container = Arc::new(Container::from_env().await?);
    tracing::info!(?mode, store = %container.ctx.store.location(), "lambda container ready");
    let served = match mode {
        Mode::Api => api::serve(container).await,
        Mode::Inventory => json_handler(container, inventory::handle).await,
        Mode::Scanner => json_handler(container, scanner::handle_invocation).await,
        Mode::Events => json_handler(container, |c, event, _| events::handle(c, event)).await,
    };
    served.map_err(|e| anyhow::anyhow!("the Lambda runtime stopped: {e}"))
}

/// Runs a handler that takes the invocation's JSON payload and deadline and
/// answers JSON. Its errors are the invocation's errors (Lambda's retries and
/// DLQs apply), with their whole chain of context as the message.
async fn json_handler<P, R, F, Fut>(container: Arc<Container>, handler: F) -> Result<(), lambda_runtime::Error>
where
    P: serde::de::DeserializeOwned,
    R: Serialize,
    F: Fn(Arc<Container>, P, Timestamp) -> Fut,
    Fut: std::future::Future<Output = Result<R>>,
{
    let handler = &handler;
    lambda_runtime::run(lambda_runtime::service_fn(move |event: lambda_runtime::LambdaEvent<P>| {
        let container = container.clone();
        async move {
            let deadline = invocation_deadline(&event.context)?;
            handler(container, event.payload, deadline).await.map_err(|e| {
                tracing::error!(error = %format!("{e:#}"), "invocation failed");
                lambda_runtime::Error::from(format!("{e:#}"))
            })
        }
    }))
    .await
}

/// When Lambda stops the invocation (its timeout).
fn invocation_deadline(context: &lambda_runtime::Context) -> Result<Timestamp, lambda_runtime::Error> {
    i64::try_from(context.deadline)
        .ok()
        .and_then(chrono::DateTime::from_timestamp_millis)
        .ok_or_else(|| format!("the invocation's deadline {} ms is no time", context.deadline).into())
}

/// The answer of a sweep function: what the job did, its record being in the store.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SweepSummary {
    pub job_id: String,
    pub kind: qrie_model::JobKind,
    pub scan_type: qrie_model::ScanType,
    pub status: qrie_model::JobStatus,
    pub counts: std::collections::BTreeMap<String, u64>,
    /// Inventory: observed, created, updated, deleted, stale.
    pub resources: serde_json::Value,
    /// Anti-entropy sweeps: what the event path missed, in total.
    pub drift_totals: serde_json::Value,
    pub errors: Vec<qrie_model::JobError>,
}

impl From<qrie_engine::JobReport> for SweepSummary {
    fn from(r: qrie_engine::JobReport) -> SweepSummary {
        let field = |k: &str| r.result.get(k).cloned().unwrap_or(serde_json::Value::Null);
        SweepSummary {
            resources: field("Resources"),
            drift_totals: field("DriftTotals"),
            job_id: r.job.id,
            kind: r.job.kind,
            scan_type: r.job.scan_type,
            status: r.job.status,
            counts: r.job.counts,
            errors: r.job.errors,
        }
    }
}
