//! Sweep jobs, listed newest first.

use async_trait::async_trait;
use qrie_model::Job;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use super::cursor::{self, Kind, Order};
use super::query::{self, millis, to_doc};
use super::SqliteStore;
use crate::{JobFilter, JobStore, Page, PageRequest, Result};

fn put(conn: &Connection, job: &Job) -> super::Res<()> {
    let doc = to_doc(&job.id, job)?;
    conn.prepare_cached(
        "INSERT INTO jobs (id, kind, status, created_at, doc) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (id) DO UPDATE SET
             kind = excluded.kind, status = excluded.status, created_at = excluded.created_at, doc = excluded.doc",
    )?
    .execute(params![job.id, job.kind.as_str(), job.status.as_str(), millis(job.created_at), doc])?;
    Ok(())
}

const ORDER: Order = Order { tag: "j", keys: &[("created_at", Kind::Int), ("id", Kind::Text)], descending: true };

#[async_trait]
impl JobStore for SqliteStore {
    async fn put_job(&self, job: Job) -> Result<()> {
        self.run(move |conn| put(conn, &job)).await
    }

    async fn put_job_if(&self, job: Job, expected: Option<u64>) -> Result<bool> {
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let stored: Option<String> = tx
                .prepare_cached("SELECT doc FROM jobs WHERE id = ?1")?
                .query_row([&job.id], |r| r.get(0))
                .optional()?;
            let stored_version = match stored {
                Some(doc) => Some(query::from_doc::<Job>(&job.id, &doc)?.version),
                None => None,
            };
            if stored_version != expected {
                return Ok(false);
            }
            put(&tx, &job)?;
            tx.commit()?;
            Ok(true)
        })
        .await
    }

    async fn get_job(&self, id: &str) -> Result<Option<Job>> {
        let id = id.to_string();
        self.run(move |conn| query::get_doc(conn, "SELECT doc FROM jobs WHERE id = ?1", &id)).await
    }

    async fn list_jobs(&self, filter: &JobFilter, page: &PageRequest) -> Result<Page<Job>> {
        let filter = query::job_filter(filter);
        let page = page.clone();
        self.run(move |conn| cursor::page(conn, "jobs", filter, &ORDER, &page)).await
    }
}
