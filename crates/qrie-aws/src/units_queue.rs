//! The queue of a fanned-out sweep's units (DESIGN.md §9): the coordinator
//! sends one message per unit, the inventory function's workers take them.
//! On a FIFO queue each message's group is its account, so the queue hands
//! out one unit per account at a time — one account's throttling slows that
//! account only — and its deduplication id is the unit's, so a coordinator
//! that sends twice queues each unit once.

use aws_config::meta::region::RegionProviderChain;
use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use qrie_engine::fanout::UnitMessage;

use crate::sqs::{region_of_url, SqsError};

/// SQS's limit of entries in one SendMessageBatch.
const BATCH: usize = 10;
/// Rounds of resending the entries SQS answered as failed.
const RESEND_ROUNDS: usize = 5;

#[derive(Clone)]
pub struct UnitsQueue {
    client: aws_sdk_sqs::Client,
    queue_url: String,
}

impl UnitsQueue {
    /// The queue at `queue_url` with the standard credential chain (in
    /// Lambda, the function's role) and adaptive retries.
    pub async fn from_env(queue_url: &str) -> UnitsQueue {
        let region = RegionProviderChain::first_try(region_of_url(queue_url).map(Region::new)).or_default_provider();
        let config = aws_config::defaults(BehaviorVersion::latest())
            .region(region)
            .retry_config(RetryConfig::adaptive().with_max_attempts(5))
            .load()
            .await;
        UnitsQueue::new(&config, queue_url)
    }

    /// Over an SDK configuration built elsewhere (tests).
    pub fn new(config: &SdkConfig, queue_url: &str) -> UnitsQueue {
        UnitsQueue { client: aws_sdk_sqs::Client::new(config), queue_url: queue_url.to_string() }
    }

    pub fn queue_url(&self) -> &str {
        &self.queue_url
    }

    fn is_fifo(&self) -> bool {
        self.queue_url.ends_with(".fifo")
    }

    /// Sends every message, ten to a request; entries SQS refuses are sent
    /// again, and any still refused after that are the error (naming them).
    pub async fn send(&self, messages: &[UnitMessage]) -> Result<(), SqsError> {
        for chunk in messages.chunks(BATCH) {
            let mut pending: Vec<(String, &UnitMessage)> =
                chunk.iter().enumerate().map(|(i, m)| (i.to_string(), m)).collect();
            for _ in 0..RESEND_ROUNDS {
                if pending.is_empty() {
                    break;
                }
                let entries = pending.iter().map(|(id, m)| self.entry(id, m)).collect::<Result<Vec<_>, _>>()?;
                let sent = self
                    .client
                    .send_message_batch()
                    .queue_url(&self.queue_url)
                    .set_entries(Some(entries))
                    .send()
                    .await
                    .map_err(|e| self.error(aws_sdk_sqs::error::DisplayErrorContext(e).to_string()))?;
                let failed: Vec<&str> = sent.failed().iter().map(|f| f.id()).collect();
                for f in sent.failed() {
                    tracing::warn!(queue = %self.queue_url, code = f.code(), message = ?f.message(), "unit message refused; sent again");
                }
                pending.retain(|(id, _)| failed.contains(&id.as_str()));
            }
            if !pending.is_empty() {
                let units: Vec<&str> = pending.iter().map(|(_, m)| m.unit.as_str()).collect();
                return Err(self.error(format!("SQS refused the messages of units {units:?}")));
            }
        }
        Ok(())
    }

    fn entry(&self, id: &str, message: &UnitMessage) -> Result<SendMessageBatchRequestEntry, SqsError> {
        let body = serde_json::to_string(message).map_err(|e| self.error(e.to_string()))?;
        let mut entry = SendMessageBatchRequestEntry::builder().id(id).message_body(body);
        if self.is_fifo() {
            // Job id and unit key: about 70 characters of SQS's allowed set (at most 128).
            let dedup = format!("{}|{}", message.job_id, message.unit);
            entry = entry.message_group_id(message.account_id()).message_deduplication_id(dedup);
        }
        entry.build().map_err(|e| self.error(e.to_string()))
    }

    fn error(&self, message: String) -> SqsError {
        SqsError::Call { operation: "SendMessageBatch", queue_url: self.queue_url.clone(), message }
    }
}
