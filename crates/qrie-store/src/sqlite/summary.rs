//! Cached summaries, the lock that lets one caller recompute them, and the
//! history series behind trends.

use async_trait::async_trait;
use qrie_model::Timestamp;
use rusqlite::params;
use serde_json::Value;

use super::query::{self, from_doc, millis, to_doc};
use super::SqliteStore;
use crate::{Result, SummaryEntry, SummaryStore};

/// One statement, so SQLite's write lock decides between concurrent callers:
/// the row is taken if absent, expired, or already ours; otherwise nothing
/// changes and `changes()` is 0.
const TRY_LOCK: &str = "
INSERT INTO locks (name, holder, expires_at) VALUES (?1, ?2, ?3)
ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
WHERE locks.expires_at < ?4 OR locks.holder = excluded.holder";

#[async_trait]
impl SummaryStore for SqliteStore {
    async fn get_summary(&self, key: &str) -> Result<Option<SummaryEntry>> {
        let key = key.to_string();
        self.run(move |conn| query::get_doc(conn, "SELECT doc FROM summaries WHERE key = ?1", &key)).await
    }

    async fn put_summary(&self, entry: SummaryEntry) -> Result<()> {
        self.run(move |conn| {
            let doc = to_doc(&entry.key, &entry)?;
            conn.prepare_cached(
                "INSERT INTO summaries (key, doc) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET doc = excluded.doc",
            )?
            .execute(params![entry.key, doc])?;
            Ok(())
        })
        .await
    }

    async fn invalidate_summaries(&self, prefix: &str) -> Result<()> {
        let prefix = prefix.to_string();
        // substr rather than LIKE: a prefix may hold % or _, which must match literally.
        let chars = i64::try_from(prefix.chars().count()).unwrap_or(i64::MAX);
        self.run(move |conn| {
            conn.prepare_cached("DELETE FROM summaries WHERE substr(key, 1, ?1) = ?2")?
                .execute(params![chars, prefix])?;
            Ok(())
        })
        .await
    }

    async fn try_lock(&self, name: &str, holder: &str, now: Timestamp, expires_at: Timestamp) -> Result<bool> {
        let (name, holder) = (name.to_string(), holder.to_string());
        self.run(move |conn| {
            let changed =
                conn.prepare_cached(TRY_LOCK)?.execute(params![name, holder, millis(expires_at), millis(now)])?;
            Ok(changed == 1)
        })
        .await
    }

    async fn release_lock(&self, name: &str, holder: &str) -> Result<()> {
        let (name, holder) = (name.to_string(), holder.to_string());
        self.run(move |conn| {
            conn.prepare_cached("DELETE FROM locks WHERE name = ?1 AND holder = ?2")?.execute([name, holder])?;
            Ok(())
        })
        .await
    }

    async fn append_history(&self, series: &str, timestamp_ms: i64, value: Value) -> Result<()> {
        let series = series.to_string();
        self.run(move |conn| {
            let text = to_doc(&series, &value)?;
            conn.prepare_cached("INSERT INTO history (series, timestamp_ms, value) VALUES (?1, ?2, ?3)")?
                .execute(params![series, timestamp_ms, text])?;
            Ok(())
        })
        .await
    }

    async fn append_history_many(&self, points: Vec<(String, i64, Value)>) -> Result<()> {
        if points.is_empty() {
            return Ok(());
        }
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            {
                let mut insert =
                    tx.prepare_cached("INSERT INTO history (series, timestamp_ms, value) VALUES (?1, ?2, ?3)")?;
                for (series, timestamp_ms, value) in &points {
                    insert.execute(params![series, timestamp_ms, to_doc(series, value)?])?;
                }
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn list_history(&self, series: &str, since_ms: i64, limit: usize) -> Result<Vec<(i64, Value)>> {
        let series = series.to_string();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.run(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT timestamp_ms, value FROM history WHERE series = ?1 AND timestamp_ms >= ?2
                 ORDER BY timestamp_ms, seq LIMIT ?3",
            )?;
            let rows = stmt
                .query_map(params![series, since_ms, limit], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?;
            let mut out = Vec::new();
            for row in rows {
                let (ts, text) = row?;
                out.push((ts, from_doc(format_args!("{series}@{ts}"), &text)?));
            }
            Ok(out)
        })
        .await
    }

    async fn delete_history(&self, series: Vec<String>) -> Result<()> {
        if series.is_empty() {
            return Ok(());
        }
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            {
                let mut delete = tx.prepare_cached("DELETE FROM history WHERE series = ?1")?;
                for name in &series {
                    delete.execute([name])?;
                }
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }
}
