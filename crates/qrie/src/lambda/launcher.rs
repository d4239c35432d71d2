//! How the API function starts sweeps: it cannot run them itself (Lambda
//! freezes a function once it has answered), so it queues the job in the
//! store and invokes the scanner function asynchronously (InvocationType
//! `Event`) with the job's id; the scanner runs the sweep under that id.

use axum::http::StatusCode;
use qrie_engine::{Engine, InventoryRequest, PolicySweepRequest};
use qrie_model::{JobError, JobStatus};
use qrie_server::launcher::{JobLauncher, Launch};
use qrie_server::{ApiError, Started};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use super::scanner::ScannerPayload;

pub type InvokeFuture<'a> = Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>>;

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

/// Hands policy sweeps to the scanner function.
pub struct ScannerLauncher {
    pub invoker: Arc<dyn Invoker>,
    /// The scanner's name or ARN (`QRIE_SCANNER_FUNCTION`).
    pub function: String,
}

impl JobLauncher for ScannerLauncher {
    fn policy_sweep<'a>(&'a self, engine: &'a Engine, req: PolicySweepRequest) -> Launch<'a> {
        Box::pin(async move {
            let mut job = engine.queue_policy_sweep(&req).await?;
            let payload =
                ScannerPayload { scan_type: req.scan_type, policy_id: req.policy_id, job_id: Some(job.id.clone()) };
            let bytes = serde_json::to_vec(&payload).map_err(ApiError::internal)?;
            if let Err(e) = self.invoker.invoke_async(&self.function, bytes).await {
                // Nobody will run it: the queued job says why instead of waiting forever.
                job.status = JobStatus::Failed;
                job.finished_at = Some(chrono::Utc::now());
                job.errors.push(JobError {
                    account_id: None,
                    service: None,
                    region: None,
                    policy_id: None,
                    message: format!("could not invoke the scanner function {}: {e}", self.function),
                });
                engine.store.put_job(job).await?;
                tracing::error!(function = %self.function, error = %e, "scanner invoke failed");
                return Err(ApiError::new(
                    StatusCode::BAD_GATEWAY,
                    "dispatch_failed",
                    "the change is saved, but its sweep could not be handed to the scanner function; \
the job records why, and POST /api/jobs starts the sweep again",
                ));
            }
            Ok(Started::Job(job.id))
        })
    }

    fn inventory_sweep<'a>(&'a self, _: &'a Engine, _: InventoryRequest) -> Launch<'a> {
        Box::pin(async {
            Err(ApiError::new(
                StatusCode::NOT_IMPLEMENTED,
                "not_available",
                "in AWS, inventory sweeps run in the inventory function: on its weekly schedule, or invoke it \
with {\"service\": \"all\", \"scan_type\": \"bootstrap\", \"account_id\": \"...\"} (docs/lambda.md)",
            ))
        })
    }
}
