//! Sweep jobs, listed newest first.

use async_trait::async_trait;
use qrie_model::Job;
use rusqlite::params;

use super::cursor::{self, Kind, Order};
use super::query::{self, millis, to_doc};
use super::SqliteStore;
use crate::{JobFilter, JobStore, Page, PageRequest, Result};

const ORDER: Order = Order { tag: "j", keys: &[("created_at", Kind::Int), ("id", Kind::Text)], descending: true };

#[async_trait]
impl JobStore for SqliteStore {
    async fn put_job(&self, job: Job) -> Result<()> {
        self.run(move |conn| {
            let doc = to_doc(&job.id, &job)?;
            conn.prepare_cached(
                "INSERT INTO jobs (id, kind, status, created_at, doc) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (id) DO UPDATE SET
                     kind = excluded.kind, status = excluded.status, created_at = excluded.created_at, doc = excluded.doc",
            )?
            .execute(params![job.id, job.kind.as_str(), job.status.as_str(), millis(job.created_at), doc])?;
            Ok(())
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
