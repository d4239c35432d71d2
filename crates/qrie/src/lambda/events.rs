//! The events function: CloudTrail events, as an SQS batch (EventBridge rule →
//! queue → this function) or as one EventBridge event (a rule targeting the
//! function directly). Each message goes through the engine's
//! [`Engine::ingest_message`], as `qrie events poll` does.

use anyhow::{bail, Context as _, Result};
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use qrie_engine::events::EventReport;
use qrie_engine::Engine;
use serde::Serialize;
use serde_json::Value;
use std::sync::Arc;

use super::Container;

/// What the function answers: the batch response SQS reads, or the report of
/// a direct EventBridge event.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum EventsAnswer {
    Sqs(SqsBatchResponse),
    Direct(EventReport),
}

pub async fn handle(container: Arc<Container>, payload: Value) -> Result<EventsAnswer> {
    let engine = container.engine().await?;
    let answer = if payload.get("Records").is_some() {
        let batch: SqsEvent = serde_json::from_value(payload).context("reading the SQS event")?;
        EventsAnswer::Sqs(sqs_batch(&engine, &batch.records).await)
    } else if payload.get("detail-type").is_some() {
        // A direct invoke has no batch to report into: a failure is the
        // invocation's error, so Lambda retries it and then hands it to the
        // function's on-failure destination or DLQ.
        let bytes = serde_json::to_vec(&payload)?;
        EventsAnswer::Direct(engine.ingest_message(&bytes).await?)
    } else {
        bail!("neither an SQS event (Records) nor an EventBridge event (detail-type): nothing processed")
    };
    // The transitions these events made are told seconds after them, within
    // a budget that leaves the function (60 s) its time for the events.
    super::dispatch_notices(&engine, std::time::Duration::from_secs(15)).await;
    Ok(answer)
}

/// Processes the batch's messages together ([`Engine::ingest_batch`]: one
/// store write for their resources, one for their findings) and answers
/// those that failed, by id.
///
/// A message that fails — its body does not decode, the store failed, or a
/// resource it names could not be re-read — is reported in
/// `batchItemFailures`, so SQS keeps it (and only it) and delivers it again
/// after the visibility timeout, while the batch's other messages are deleted.
/// A body that does not decode will not decode on the next delivery either:
/// reporting it still matters, because the queue's redrive policy then moves
/// it to the dead-letter queue after `maxReceiveCount` receives, where an
/// operator can read what qrie could not, instead of it being deleted unseen.
pub async fn sqs_batch(engine: &Engine, messages: &[SqsMessage]) -> SqsBatchResponse {
    let mut answer = SqsBatchResponse::default();
    // The same processing as `qrie events poll`: decode, route, re-read, evaluate.
    let bodies: Vec<&[u8]> = messages.iter().map(|m| m.body.as_deref().unwrap_or_default().as_bytes()).collect();
    let batch = engine.ingest_batch(&bodies).await;
    for (m, failure) in messages.iter().zip(batch.failures) {
        if let Some(e) = failure {
            let id = m.message_id.clone().unwrap_or_default();
            tracing::warn!(message_id = %id, error = %e, "event message failed; SQS delivers it again");
            answer.add_failure(id);
        }
    }
    answer
}
