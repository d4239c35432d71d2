//! The SQS input of the event path (`qrie events poll`): long-polls a queue
//! that an EventBridge rule fills with CloudTrail events, processes each
//! message through [`Engine::ingest_message`] — the same path as
//! `qrie events ingest` — and deletes a message only after it was processed.
//!
//! A message that fails (it does not decode, or a resource it names could not
//! be re-read or evaluated) is left on the queue: its visibility timeout lapses,
//! SQS delivers it again, and after the queue's `maxReceiveCount` the redrive
//! policy moves it to the dead-letter queue. Nothing is dropped silently; every
//! failure is logged with its reason and returned to the caller.

use aws_config::meta::region::RegionProviderChain;
use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
pub use aws_sdk_sqs::types::Message;
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, MessageSystemAttributeName};
use qrie_engine::events::EventStats;
use qrie_engine::Engine;
use serde::Serialize;

/// SQS's own limits on one ReceiveMessage call.
pub const MAX_WAIT_SECONDS: i32 = 20;
pub const MAX_MESSAGES: i32 = 10;

#[derive(Debug, thiserror::Error)]
pub enum SqsError {
    #[error("{operation} on {queue_url}: {message}")]
    Call { operation: &'static str, queue_url: String, message: String },
}

/// One queue and how to read it.
#[derive(Clone)]
pub struct SqsPoller {
    client: aws_sdk_sqs::Client,
    queue_url: String,
    /// Long-poll wait of one receive, 0–20 s.
    pub wait_seconds: i32,
    /// Messages per receive, 1–10.
    pub max_messages: i32,
}

/// What happened to one message.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct MessageOutcome {
    pub message_id: String,
    /// How many times SQS has delivered it, this delivery included.
    pub receive_count: u32,
    /// Failed: why; the message stays on the queue.
    pub error: Option<String>,
    /// Deleted from the queue (only processed messages are).
    pub deleted: bool,
}

/// One receive and what became of its messages.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BatchReport {
    pub messages: Vec<MessageOutcome>,
    /// The counts of the batch's processed messages (processed together).
    pub stats: EventStats,
}

impl BatchReport {
    pub fn processed(&self) -> usize {
        self.messages.iter().filter(|m| m.error.is_none()).count()
    }

    pub fn failed(&self) -> usize {
        self.messages.iter().filter(|m| m.error.is_some()).count()
    }
}

impl SqsPoller {
    /// A poller on `queue_url` with the standard AWS credential chain, the given
    /// profile and region (`AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_SQS` for
    /// emulators, read by aws-config), adaptive retries.
    pub async fn from_env(profile: Option<&str>, region: Option<&str>, queue_url: &str) -> SqsPoller {
        let region_chain = match region {
            Some(r) => RegionProviderChain::first_try(Region::new(r.to_string())),
            // A queue URL names its region (https://sqs.<region>.amazonaws.com/...).
            None => RegionProviderChain::first_try(region_of_url(queue_url).map(Region::new)).or_default_provider(),
        };
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(region_chain)
            .retry_config(RetryConfig::adaptive().with_max_attempts(5));
        if let Some(p) = profile {
            loader = loader.profile_name(p);
        }
        SqsPoller::new(&loader.load().await, queue_url)
    }

    /// Over an SDK configuration built elsewhere (tests).
    pub fn new(config: &SdkConfig, queue_url: &str) -> SqsPoller {
        SqsPoller {
            client: aws_sdk_sqs::Client::new(config),
            queue_url: queue_url.to_string(),
            wait_seconds: MAX_WAIT_SECONDS,
            max_messages: MAX_MESSAGES,
        }
    }

    pub fn queue_url(&self) -> &str {
        &self.queue_url
    }

    /// Receives one batch (waiting up to `wait_seconds` for it), processes each
    /// message in turn and deletes the processed ones. An empty batch is a
    /// normal answer. A failed receive is an error; a failed delete is logged
    /// and reported on the message (SQS delivers it again, and processing it
    /// again is harmless).
    pub async fn poll_once(&self, engine: &Engine) -> Result<BatchReport, SqsError> {
        let messages = self.receive().await?;
        self.process(engine, messages).await
    }

    /// Processes received messages and deletes the processed ones (the second
    /// half of [`poll_once`](Self::poll_once): a caller that wants to stop
    /// while waiting, but never while processing, awaits the two apart).
    pub async fn process(&self, engine: &Engine, messages: Vec<Message>) -> Result<BatchReport, SqsError> {
        let mut report = BatchReport::default();
        let mut to_delete = Vec::new();
        let bodies: Vec<&[u8]> = messages.iter().map(|m| m.body().unwrap_or_default().as_bytes()).collect();
        let batch = engine.ingest_batch(&bodies).await;
        report.stats = batch.stats;
        for (m, failure) in messages.iter().zip(batch.failures) {
            let message_id = m.message_id().unwrap_or("?").to_string();
            let receive_count = m
                .attributes()
                .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                .and_then(|c| c.parse().ok())
                .unwrap_or(0);
            let outcome = match failure {
                None => {
                    if let Some(handle) = m.receipt_handle() {
                        to_delete.push((report.messages.len(), handle.to_string()));
                    }
                    MessageOutcome { message_id, receive_count, error: None, deleted: false }
                }
                Some(e) => {
                    tracing::warn!(
                        queue = %self.queue_url,
                        message_id,
                        receive_count,
                        "message left on the queue (retried, then dead-lettered by the redrive policy): {e}"
                    );
                    MessageOutcome { message_id, receive_count, error: Some(e.to_string()), deleted: false }
                }
            };
            report.messages.push(outcome);
        }
        for i in self.delete(&to_delete).await? {
            report.messages[i].deleted = true;
        }
        Ok(report)
    }

    /// One ReceiveMessage call. Dropping it while it waits loses nothing: a
    /// message SQS handed out but nobody read reappears after its visibility
    /// timeout (that delivery counts toward its maxReceiveCount).
    pub async fn receive(&self) -> Result<Vec<Message>, SqsError> {
        let out = self
            .client
            .receive_message()
            .queue_url(&self.queue_url)
            .wait_time_seconds(self.wait_seconds.clamp(0, MAX_WAIT_SECONDS))
            .max_number_of_messages(self.max_messages.clamp(1, MAX_MESSAGES))
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .map_err(|e| self.call_error("ReceiveMessage", e))?;
        Ok(out.messages.unwrap_or_default())
    }

    /// Deletes `(position, receipt handle)` pairs in one batch call; returns the
    /// positions deleted. Entries SQS refused are logged and left (redelivered).
    async fn delete(&self, handles: &[(usize, String)]) -> Result<Vec<usize>, SqsError> {
        if handles.is_empty() {
            return Ok(Vec::new());
        }
        let entries = handles
            .iter()
            .map(|(i, h)| DeleteMessageBatchRequestEntry::builder().id(i.to_string()).receipt_handle(h).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.call_error("DeleteMessageBatch", e))?;
        let out = self
            .client
            .delete_message_batch()
            .queue_url(&self.queue_url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| self.call_error("DeleteMessageBatch", e))?;
        for f in out.failed() {
            tracing::warn!(
                queue = %self.queue_url,
                entry = f.id(),
                "processed message not deleted ({}: {}); SQS will deliver it again",
                f.code(),
                f.message().unwrap_or_default()
            );
        }
        Ok(out.successful().iter().filter_map(|s| s.id().parse().ok()).collect())
    }

    fn call_error(&self, operation: &'static str, e: impl std::error::Error) -> SqsError {
        SqsError::Call {
            operation,
            queue_url: self.queue_url.clone(),
            message: aws_smithy_types::error::display::DisplayErrorContext(e).to_string(),
        }
    }
}

/// `us-west-2` from `https://sqs.us-west-2.amazonaws.com/123456789012/q`.
pub(crate) fn region_of_url(url: &str) -> Option<String> {
    let host = url.split("://").nth(1)?.split('/').next()?;
    let mut parts = host.split('.');
    (parts.next()? == "sqs").then_some(())?;
    let region = parts.next()?;
    (parts.next()? == "amazonaws").then(|| region.to_string())
}

#[cfg(test)]
mod tests {
    use super::region_of_url;

    #[test]
    fn region_comes_from_an_aws_queue_url_only() {
        assert_eq!(region_of_url("https://sqs.eu-west-1.amazonaws.com/123456789012/q").as_deref(), Some("eu-west-1"));
        assert_eq!(region_of_url("http://127.0.0.1:5000/123456789012/q"), None);
        assert_eq!(region_of_url("not a url"), None);
    }
}
