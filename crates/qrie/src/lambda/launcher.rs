//! How the API function starts sweeps: it cannot run them itself (Lambda
//! freezes a function once it has answered), so it queues the job in the
//! store and invokes the function that runs that kind of sweep asynchronously
//! (InvocationType `Event`) with the job's id: policy sweeps go to the
//! scanner, inventory sweeps to the inventory function, which run the sweep
//! under that id.

use axum::http::StatusCode;
use qrie_engine::{Engine, InventoryRequest, PolicySweepRequest};
use qrie_model::Job;
use qrie_server::launcher::{JobLauncher, Launch};
use qrie_server::{ApiError, ApiResult, Started};
use serde::Serialize;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use super::inventory::InventoryPayload;
use super::scanner::ScannerPayload;

pub type InvokeFuture<'a> = Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>>;

/// How long a queued job may wait for its function to start it: the sweep
/// functions' `MaximumEventAgeInSeconds` (deploy/qrie-qop.yaml). Lambda drops
/// an asynchronous invoke older than that, so a job still queued then never
/// runs, and is failed as lost (`qrie_engine::jobs::abandoned`).
pub const QUEUE_MAX_AGE_SECONDS: i64 = 1800;

/// Invokes a function without waiting for it to run.
pub trait Invoker: Send + Sync {
    fn invoke_async<'a>(&'a self, function: &'a str, payload: Vec<u8>) -> InvokeFuture<'a>;
}

/// The AWS SDK's Lambda client, with the function's own credentials.
pub struct LambdaInvoker {
    client: aws_sdk_lambda::Client,
}

impl LambdaInvoker {
    pub async fn from_env() -> LambdaInvoker {
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest()).load().await;
        LambdaInvoker { client: aws_sdk_lambda::Client::new(&config) }
    }
}

impl Invoker for LambdaInvoker {
    fn invoke_async<'a>(&'a self, function: &'a str, payload: Vec<u8>) -> InvokeFuture<'a> {
        Box::pin(async move {
            self.client
                .invoke()
                .function_name(function)
                .invocation_type(aws_sdk_lambda::types::InvocationType::Event)
                .payload(aws_sdk_lambda::primitives::Blob::new(payload))
                .send()
                .await
                .map(|_| ())
                .map_err(|e| aws_sdk_lambda::error::DisplayErrorContext(e).to_string())
        })
    }
}

/// The functions sweeps are handed to, by name or ARN.
#[derive(Debug, Clone)]
pub struct SweepFunctions {
    /// Policy sweeps (`QRIE_SCANNER_FUNCTION`).
    pub scanner: String,
    /// Inventory sweeps (`QRIE_INVENTORY_FUNCTION`).
    pub inventory: String,
}

/// Hands each sweep to the function that runs its kind.
pub struct LambdaLauncher {
    pub invoker: Arc<dyn Invoker>,
    pub functions: SweepFunctions,
}

/// The time by which a job queued now must have been started.
fn start_by() -> qrie_model::Timestamp {
    chrono::Utc::now() + chrono::TimeDelta::seconds(QUEUE_MAX_AGE_SECONDS)
}

impl LambdaLauncher {
    /// Invokes `function` with `payload` for the queued `job`. When the
    /// invoke fails nobody will run the job: it is recorded failed, saying
    /// why, instead of waiting forever, and the request fails.
    async fn dispatch(
        &self,
        engine: &Engine,
        mut job: Job,
        function: &str,
        payload: &impl Serialize,
    ) -> ApiResult<Started<qrie_engine::JobReport>> {
        let bytes = serde_json::to_vec(payload).map_err(ApiError::internal)?;
        let Err(e) = self.invoker.invoke_async(function, bytes).await else {
            return Ok(Started::Job(job.id));
        };
        job.fail(format!("could not invoke the function {function}: {e}"), chrono::Utc::now());
        engine.store.put_job(job).await?;
        tracing::error!(%function, error = %e, "invoke failed");
        Err(ApiError::new(
            StatusCode::BAD_GATEWAY,
            "dispatch_failed",
            format!(
                "the change is saved, but its sweep could not be handed to the function {function}; \
the job records why, and POST /api/jobs starts the sweep again"
            ),
        ))
    }
}

impl JobLauncher for LambdaLauncher {
    fn policy_sweep<'a>(&'a self, engine: &'a Engine, req: PolicySweepRequest) -> Launch<'a> {
        Box::pin(async move {
            let job = engine.queue_policy_sweep(&req, Some(start_by())).await?;
            let payload =
                ScannerPayload { scan_type: req.scan_type, policy_id: req.policy_id, job_id: Some(job.id.clone()) };
            self.dispatch(engine, job, &self.functions.scanner, &payload).await
        })
    }

    fn inventory_sweep<'a>(&'a self, engine: &'a Engine, req: InventoryRequest) -> Launch<'a> {
        Box::pin(async move {
            let job = engine.queue_inventory_sweep(&req, Some(start_by())).await?;
            let payload = InventoryPayload::queued(&req, job.id.clone());
            self.dispatch(engine, job, &self.functions.inventory, &payload).await
        })
    }
}
