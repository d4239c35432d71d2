//! Small named JSON documents, grouped in namespaces.

use async_trait::async_trait;
use rusqlite::{params, Connection, TransactionBehavior};
use serde_json::Value;

use super::query::{from_doc, to_doc};
use super::{Res, SqliteStore};
use crate::{KvStore, Result};

/// A plain put leaves the entry at version 1 (as DynamoDB's does).
const PUT: &str = "INSERT INTO kv (namespace, key, value, version) VALUES (?1, ?2, ?3, 1)
                   ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, version = 1";

pub(super) fn put(conn: &Connection, namespace: &str, key: &str, value: &Value) -> Res<()> {
    let text = to_doc(format_args!("{namespace}/{key}"), value)?;
    conn.prepare_cached(PUT)?.execute(params![namespace, key, text])?;
    Ok(())
}

#[async_trait]
impl KvStore for SqliteStore {
    async fn kv_get(&self, namespace: &str, key: &str) -> Result<Option<Value>> {
        let (namespace, key) = (namespace.to_string(), key.to_string());
        self.run(move |conn| {
            let mut stmt = conn.prepare_cached("SELECT value FROM kv WHERE namespace = ?1 AND key = ?2")?;
            let mut rows = stmt.query(params![namespace, key])?;
            match rows.next()? {
                Some(row) => Ok(Some(from_doc(format_args!("{namespace}/{key}"), &row.get::<_, String>(0)?)?)),
                None => Ok(None),
            }
        })
        .await
    }

    async fn kv_put(&self, namespace: &str, key: &str, value: Value) -> Result<()> {
        let (namespace, key) = (namespace.to_string(), key.to_string());
        self.run(move |conn| put(conn, &namespace, &key, &value)).await
    }

    async fn kv_put_many(&self, namespace: &str, entries: Vec<(String, Value)>) -> Result<()> {
        let namespace = namespace.to_string();
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            for (key, value) in &entries {
                put(&tx, &namespace, key, value)?;
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn kv_put_entries(&self, entries: Vec<(String, String, Value)>) -> Result<()> {
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            for (namespace, key, value) in &entries {
                put(&tx, namespace, key, value)?;
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn kv_delete_if(&self, namespace: &str, key: &str, expected: Value) -> Result<bool> {
        let (namespace, key) = (namespace.to_string(), key.to_string());
        self.run(move |conn| {
            // Values are stored as their serialisation, so equal values are equal text.
            let text = to_doc(format_args!("{namespace}/{key}"), &expected)?;
            let deleted = conn
                .prepare_cached("DELETE FROM kv WHERE namespace = ?1 AND key = ?2 AND value = ?3")?
                .execute(params![namespace, key, text])?;
            Ok(deleted > 0)
        })
        .await
    }

    async fn kv_list(&self, namespace: &str) -> Result<Vec<(String, Value)>> {
        let namespace = namespace.to_string();
        self.run(move |conn| {
            let mut stmt = conn.prepare_cached("SELECT key, value FROM kv WHERE namespace = ?1 ORDER BY key")?;
            let rows = stmt.query_map([&namespace], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
            let mut out = Vec::new();
            for row in rows {
                let (key, text) = row?;
                let value = from_doc(format_args!("{namespace}/{key}"), &text)?;
                out.push((key, value));
            }
            Ok(out)
        })
        .await
    }

    async fn kv_clear(&self, namespace: &str) -> Result<()> {
        let namespace = namespace.to_string();
        self.run(move |conn| {
            conn.prepare_cached("DELETE FROM kv WHERE namespace = ?1")?.execute([namespace])?;
            Ok(())
        })
        .await
    }

    async fn kv_get_versioned(&self, namespace: &str, key: &str) -> Result<Option<(Value, u64)>> {
        let (namespace, key) = (namespace.to_string(), key.to_string());
        self.run(move |conn| {
            let mut stmt = conn.prepare_cached("SELECT value, version FROM kv WHERE namespace = ?1 AND key = ?2")?;
            let mut rows = stmt.query(params![namespace, key])?;
            match rows.next()? {
                Some(row) => {
                    let value = from_doc(format_args!("{namespace}/{key}"), &row.get::<_, String>(0)?)?;
                    Ok(Some((value, row.get::<_, i64>(1)? as u64)))
                }
                None => Ok(None),
            }
        })
        .await
    }

    async fn kv_list_versioned(&self, namespace: &str) -> Result<Vec<(String, Value, u64)>> {
        self.kv_page_versioned(namespace, None, usize::MAX).await
    }

    async fn kv_page_versioned(
        &self,
        namespace: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, Value, u64)>> {
        let (namespace, after) = (namespace.to_string(), after.map(str::to_string));
        self.run(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT key, value, version FROM kv WHERE namespace = ?1 AND (?2 IS NULL OR key > ?2)
                 ORDER BY key LIMIT ?3",
            )?;
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let rows = stmt.query_map(params![namespace, after, limit], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (key, text, version) = row?;
                let value = from_doc(format_args!("{namespace}/{key}"), &text)?;
                out.push((key, value, version as u64));
            }
            Ok(out)
        })
        .await
    }

    async fn kv_put_if(&self, namespace: &str, key: &str, value: Value, expected: Option<u64>) -> Result<bool> {
        let (namespace, key) = (namespace.to_string(), key.to_string());
        self.run(move |conn| {
            let text = to_doc(format_args!("{namespace}/{key}"), &value)?;
            let changed = match expected {
                None => conn
                    .prepare_cached(
                        "INSERT INTO kv (namespace, key, value, version) VALUES (?1, ?2, ?3, 1)
                         ON CONFLICT (namespace, key) DO NOTHING",
                    )?
                    .execute(params![namespace, key, text])?,
                Some(v) => conn
                    .prepare_cached(
                        "UPDATE kv SET value = ?3, version = version + 1
                         WHERE namespace = ?1 AND key = ?2 AND version = ?4",
                    )?
                    .execute(params![namespace, key, text, v as i64])?,
            };
            Ok(changed == 1)
        })
        .await
    }

    async fn counter_add(&self, namespace: &str, name: &str, delta: i64) -> Result<i64> {
        let (namespace, name) = (format!("{COUNTERS}{namespace}"), name.to_string());
        self.run(move |conn| {
            Ok(conn
                .prepare_cached(
                    "INSERT INTO kv (namespace, key, value) VALUES (?1, ?2, ?3)
                     ON CONFLICT (namespace, key) DO UPDATE SET value = CAST(value AS INTEGER) + ?3
                     RETURNING CAST(value AS INTEGER)",
                )?
                .query_row(params![namespace, name, delta], |r| r.get::<_, i64>(0))?)
        })
        .await
    }

    async fn counters_add(&self, namespace: &str, deltas: Vec<(String, i64)>) -> Result<()> {
        let namespace = format!("{COUNTERS}{namespace}");
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            {
                let mut add = tx.prepare_cached(
                    "INSERT INTO kv (namespace, key, value) VALUES (?1, ?2, ?3)
                     ON CONFLICT (namespace, key) DO UPDATE SET value = CAST(value AS INTEGER) + ?3",
                )?;
                for (key, delta) in &deltas {
                    add.execute(params![namespace, key, delta])?;
                }
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn counters(&self, namespace: &str) -> Result<Vec<(String, i64)>> {
        let namespace = format!("{COUNTERS}{namespace}");
        self.run(move |conn| {
            let mut stmt =
                conn.prepare_cached("SELECT key, CAST(value AS INTEGER) FROM kv WHERE namespace = ?1 ORDER BY key")?;
            let rows = stmt.query_map([&namespace], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }
}

/// Counters live in the key-value table under their own namespaces, so that
/// a document namespace and a counter namespace of one name never mix.
const COUNTERS: &str = "#counters/";
