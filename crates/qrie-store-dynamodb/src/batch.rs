//! BatchWriteItem in chunks of 25, retrying what DynamoDB leaves unprocessed.

use aws_sdk_dynamodb::types::{DeleteRequest, PutRequest, WriteRequest};
use aws_sdk_dynamodb::Client;
use futures::StreamExt;
use qrie_store::{Result, StoreError};
use std::collections::HashMap;
use std::time::Duration;

use crate::error::{build, sdk};
use crate::item::Item;

/// DynamoDB's limit on one BatchWriteItem.
const CHUNK: usize = 25;
/// Attempts per chunk before unprocessed items are an error.
const ATTEMPTS: u32 = 8;
const FIRST_BACKOFF: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_secs(2);
/// Chunks in flight at once.
const PARALLEL: usize = 4;

pub(crate) enum Write {
    Put(Item),
    Delete(Item),
}

impl Write {
    fn request(self) -> Result<WriteRequest> {
        Ok(match self {
            Write::Put(item) => WriteRequest::builder()
                .put_request(PutRequest::builder().set_item(Some(item)).build().map_err(|e| build("put", e))?)
                .build(),
            Write::Delete(key) => WriteRequest::builder()
                .delete_request(DeleteRequest::builder().set_key(Some(key)).build().map_err(|e| build("delete", e))?)
                .build(),
        })
    }
}

/// Applies `writes` to `table`. The writes must name distinct keys (a batch
/// refuses two writes to one key); their order is not kept.
pub(crate) async fn write_all(client: &Client, table: &str, writes: Vec<Write>) -> Result<()> {
    let requests = writes.into_iter().map(Write::request).collect::<Result<Vec<_>>>()?;
    let chunks: Vec<Vec<WriteRequest>> = requests.chunks(CHUNK).map(<[WriteRequest]>::to_vec).collect();
    let mut results =
        futures::stream::iter(chunks.into_iter().map(|c| write_chunk(client, table, c))).buffer_unordered(PARALLEL);
    while let Some(r) = results.next().await {
        r?;
    }
    Ok(())
}

async fn write_chunk(client: &Client, table: &str, mut pending: Vec<WriteRequest>) -> Result<()> {
    let mut backoff = FIRST_BACKOFF;
    for attempt in 1..=ATTEMPTS {
        let out = client
            .batch_write_item()
            .set_request_items(Some(HashMap::from([(table.to_string(), pending)])))
            .send()
            .await
            .map_err(|e| sdk("BatchWriteItem", table, e))?;
        pending = out.unprocessed_items.and_then(|mut u| u.remove(table)).unwrap_or_default();
        if pending.is_empty() {
            return Ok(());
        }
        if attempt < ATTEMPTS {
            tracing::debug!(table, left = pending.len(), attempt, "retrying unprocessed batch items");
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }
    Err(StoreError::Backend(format!(
        "dynamodb BatchWriteItem on {table}: {} items still unprocessed after {ATTEMPTS} attempts (throttled?)",
        pending.len()
    )))
}
