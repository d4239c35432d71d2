//! Cached summaries, the recompute lock, and history series, all in
//! `qrie_summary` under separate partitions:
//!
//! - `summary` / key: one cached document each;
//! - `lock` / name: the holder and expiry of a lock;
//! - `history:<series>` / `<time>#<sequence>`: the points of a series in order.
//!
//! TTL (`ExpireAfter`) removes a summary or lock a day after it expired: a
//! stale summary stays readable meanwhile (one caller recomputes while the
//! others serve the stale copy), and abandoned locks do not pile up.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use qrie_model::Timestamp;
use qrie_store::{Result, SummaryEntry, SummaryStore};
use serde_json::Value;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::batch::{write_all, Write};
use crate::error::{decode, sdk};
use crate::item::{doc, get_n, get_s, key, millis, n, s, to_doc, Item, DOC};
use crate::query::project_query;
use crate::read::{Pages, Source};
use crate::schema::TTL_ATTRIBUTE;
use crate::DynamoStore;

const SUMMARY: &str = "summary";
const LOCK: &str = "lock";
const GRACE_SECS: i64 = 24 * 3600;

/// Takes the lock if it is free, expired or ours: one conditional write, so
/// of concurrent callers exactly one wins.
const TAKE: &str = "attribute_not_exists(Holder) OR ExpiresAt < :now OR Holder = :holder";

fn ttl(expires_at: Timestamp) -> AttributeValue {
    n(expires_at.timestamp().saturating_add(GRACE_SECS))
}

fn history_partition(series: &str) -> String {
    format!("history:{series}")
}

/// Fixed-width offset binary: string order is numeric order, negatives first.
fn sortable(ms: i64) -> String {
    format!("{:016x}", (ms as u64) ^ (1 << 63))
}

/// Orders points of one timestamp by when they were appended (this process's
/// clock and counter), and keeps two appends apart.
fn sequence() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    format!("{:032x}{:016x}{:08x}", nanos, COUNTER.fetch_add(1, Ordering::Relaxed), std::process::id())
}

impl DynamoStore {
    fn summary_key(&self, partition: &str, k: &str) -> Item {
        key([("Partition", s(partition)), ("Key", s(k))])
    }
}

#[async_trait]
impl SummaryStore for DynamoStore {
    async fn get_summary(&self, k: &str) -> Result<Option<SummaryEntry>> {
        let table = &self.tables().summary;
        let out = self
            .client()
            .get_item()
            .table_name(table)
            .set_key(Some(self.summary_key(SUMMARY, k)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk("GetItem", table, e))?;
        out.item.as_ref().map(doc).transpose()
    }

    async fn put_summary(&self, entry: SummaryEntry) -> Result<()> {
        let table = &self.tables().summary;
        let mut item = self.summary_key(SUMMARY, &entry.key);
        item.insert(DOC.into(), to_doc(&entry.key, &entry)?);
        if let Some(expires_at) = entry.expires_at {
            item.insert(TTL_ATTRIBUTE.into(), ttl(expires_at));
        }
        self.client()
            .put_item()
            .table_name(table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| sdk("PutItem", table, e))?;
        Ok(())
    }

    async fn invalidate_summaries(&self, prefix: &str) -> Result<()> {
        let table = &self.tables().summary;
        let mut q = self.client().query().table_name(table).consistent_read(true);
        // begins_with compares bytes: '%', '_' and '\' are literal.
        q = if prefix.is_empty() {
            q.key_condition_expression("#part = :p")
        } else {
            q.key_condition_expression("#part = :p AND begins_with(#key, :prefix)")
                .expression_attribute_names("#key", "Key")
                .expression_attribute_values(":prefix", s(prefix))
        };
        q = q.expression_attribute_names("#part", "Partition").expression_attribute_values(":p", s(SUMMARY));
        let keys = Pages::new(Source::Query(project_query(q, &["Partition", "Key"])), table, None).collect().await?;
        write_all(self.client(), table, keys.into_iter().map(Write::Delete).collect()).await
    }

    async fn try_lock(&self, name: &str, holder: &str, now: Timestamp, expires_at: Timestamp) -> Result<bool> {
        let table = &self.tables().summary;
        let mut item = self.summary_key(LOCK, name);
        item.extend([
            ("Holder".to_string(), s(holder)),
            ("ExpiresAt".to_string(), n(millis(expires_at))),
            (TTL_ATTRIBUTE.to_string(), ttl(expires_at)),
        ]);
        let put = self
            .client()
            .put_item()
            .table_name(table)
            .set_item(Some(item))
            .condition_expression(TAKE)
            .expression_attribute_values(":now", n(millis(now)))
            .expression_attribute_values(":holder", s(holder))
            .send()
            .await;
        match put {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_conditional_check_failed_exception()) => Ok(false),
            Err(e) => Err(sdk("PutItem", table, e)),
        }
    }

    async fn release_lock(&self, name: &str, holder: &str) -> Result<()> {
        let table = &self.tables().summary;
        let delete = self
            .client()
            .delete_item()
            .table_name(table)
            .set_key(Some(self.summary_key(LOCK, name)))
            .condition_expression("Holder = :holder")
            .expression_attribute_values(":holder", s(holder))
            .send()
            .await;
        match delete {
            // Not ours (or free): a non-holder's release changes nothing.
            Err(e) if e.as_service_error().is_some_and(|s| s.is_conditional_check_failed_exception()) => Ok(()),
            Err(e) => Err(sdk("DeleteItem", table, e)),
            Ok(_) => Ok(()),
        }
    }

    async fn append_history(&self, series: &str, timestamp_ms: i64, value: Value) -> Result<()> {
        let table = &self.tables().summary;
        let k = format!("{}#{}", sortable(timestamp_ms), sequence());
        let mut item = self.summary_key(&history_partition(series), &k);
        item.extend([
            ("TimestampMs".to_string(), n(timestamp_ms)),
            (DOC.to_string(), to_doc(format_args!("{series}@{timestamp_ms}"), &value)?),
        ]);
        self.client()
            .put_item()
            .table_name(table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#key)")
            .expression_attribute_names("#key", "Key")
            .send()
            .await
            .map_err(|e| sdk("PutItem", table, e))?;
        Ok(())
    }

    /// One BatchWriteItem per 25 points: keys are unique by their sequence,
    /// so plain puts never overwrite a point.
    async fn append_history_many(&self, points: Vec<(String, i64, Value)>) -> Result<()> {
        let mut writes = Vec::with_capacity(points.len());
        for (series, timestamp_ms, value) in points {
            let k = format!("{}#{}", sortable(timestamp_ms), sequence());
            let mut item = self.summary_key(&history_partition(&series), &k);
            item.extend([
                ("TimestampMs".to_string(), n(timestamp_ms)),
                (DOC.to_string(), to_doc(format_args!("{series}@{timestamp_ms}"), &value)?),
            ]);
            writes.push(Write::Put(item));
        }
        write_all(self.client(), &self.tables().summary, writes).await
    }

    async fn list_history(&self, series: &str, since_ms: i64, limit: usize) -> Result<Vec<(i64, Value)>> {
        let table = &self.tables().summary;
        let q = self
            .client()
            .query()
            .table_name(table)
            .consistent_read(true)
            .key_condition_expression("#part = :p AND #key >= :since")
            .expression_attribute_names("#part", "Partition")
            .expression_attribute_names("#key", "Key")
            .expression_attribute_values(":p", s(history_partition(series)))
            .expression_attribute_values(":since", s(sortable(since_ms)))
            .limit(i32::try_from(limit.clamp(1, 1000)).unwrap_or(1000));
        let mut pages = Pages::new(Source::Query(q), table, None);
        let mut out = Vec::new();
        'pages: while let Some(page) = pages.next().await? {
            for item in page {
                if out.len() >= limit {
                    break 'pages;
                }
                let ts = get_n(&item, "TimestampMs")?;
                let text = get_s(&item, DOC)?;
                let value =
                    serde_json::from_str(text).map_err(|e| decode(format_args!("{series}@{ts}"), e.to_string()))?;
                out.push((ts, value));
            }
            if out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }

    async fn delete_history(&self, series: Vec<String>) -> Result<()> {
        let table = &self.tables().summary;
        for name in &series {
            let q = self
                .client()
                .query()
                .table_name(table)
                .consistent_read(true)
                .key_condition_expression("#part = :p")
                .expression_attribute_names("#part", "Partition")
                .expression_attribute_values(":p", s(history_partition(name)));
            let keys =
                Pages::new(Source::Query(project_query(q, &["Partition", "Key"])), table, None).collect().await?;
            write_all(self.client(), table, keys.into_iter().map(Write::Delete).collect()).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sortable_times_keep_numeric_order() {
        let times = [i64::MIN, -1_000, -1, 0, 1, 200, 1_714_564_800_123, i64::MAX];
        let keys: Vec<String> = times.iter().map(|t| sortable(*t)).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
        assert!(sequence() < sequence(), "appends in one process sort in order");
    }
}
