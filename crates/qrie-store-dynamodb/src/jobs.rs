//! Sweep jobs, listed newest first through the `ByCreated` index.
//!
//! Every job carries the same `JobsPartition` value and a `Created` sort key of
//! its creation time (fixed-width, so string order is time order) and id, so
//! one Query in descending order walks them newest first, ties by id descending.

use async_trait::async_trait;
use qrie_model::Job;
use qrie_store::{JobFilter, JobStore, Page, PageRequest, Result, StoreError};

use crate::item::{doc, get_s, key, millis, n, s, Item};
use crate::query;
use crate::read::{Pages, Source};
use crate::DynamoStore;

const KEY: &str = "Id";
const TAG: &str = "j";
const PARTITION: &str = "jobs";

/// `created_at` in ms as 16 hex digits of offset binary (negative times sort
/// first), then the id.
fn created_key(created_ms: i64, id: &str) -> String {
    format!("{:016x}#{id}", (created_ms as u64) ^ (1 << 63))
}

/// The attribute every conditional job write is checked against.
const VERSION: &str = "Version";

/// What a job's item carries beside its document: what lists filter and sort on, and its version.
fn attributes(job: &Job) -> Vec<(&'static str, aws_sdk_dynamodb::types::AttributeValue)> {
    let created = millis(job.created_at);
    vec![
        ("Kind", s(job.kind.as_str())),
        ("Status", s(job.status.as_str())),
        ("CreatedAt", n(created)),
        ("JobsPartition", s(PARTITION)),
        ("Created", s(created_key(created, &job.id))),
        (VERSION, n(job.version as i64)),
    ]
}

fn matches(f: &JobFilter, item: &Item) -> Result<bool> {
    Ok(f.kind.is_none_or(|k| get_s(item, "Kind").is_ok_and(|v| v == k.as_str()))
        && f.status.is_none_or(|st| get_s(item, "Status").is_ok_and(|v| v == st.as_str())))
}

#[async_trait]
impl JobStore for DynamoStore {
    async fn put_job(&self, job: Job) -> Result<()> {
        self.put_doc(&self.tables().jobs, KEY, &job.id, &job, attributes(&job)).await
    }

    async fn put_job_if(&self, job: Job, expected: Option<u64>) -> Result<bool> {
        let table = &self.tables().jobs;
        self.put_doc_if(table, KEY, &job.id, &job, attributes(&job), VERSION, expected).await
    }

    async fn get_job(&self, id: &str) -> Result<Option<Job>> {
        self.get_doc(&self.tables().jobs, KEY, id).await
    }

    async fn list_jobs(&self, filter: &JobFilter, page: &PageRequest) -> Result<Page<Job>> {
        let limit = page.effective_limit();
        let table = &self.tables().jobs;
        let start = match &page.next_token {
            Some(t) => {
                let (created_ms, rest) = query::decode(TAG, t, 1)?;
                let id = rest.into_iter().next().ok_or(StoreError::InvalidToken)?;
                Some(key([
                    (KEY, s(id.as_str())),
                    ("JobsPartition", s(PARTITION)),
                    ("Created", s(created_key(created_ms, &id))),
                ]))
            }
            None => None,
        };
        let q = self
            .client()
            .query()
            .table_name(table)
            .index_name("ByCreated")
            .key_condition_expression("JobsPartition = :p")
            .expression_attribute_values(":p", s(PARTITION))
            .scan_index_forward(false)
            .limit(i32::try_from((limit + 1).clamp(50, 1000)).unwrap_or(1000));
        let mut pages = Pages::new(Source::Query(q), table, start);
        let mut items: Vec<Item> = Vec::with_capacity(limit);
        let mut more = false;
        'pages: while let Some(page) = pages.next().await? {
            for item in page {
                if !matches(filter, &item)? {
                    continue;
                }
                if items.len() == limit {
                    more = true;
                    break 'pages;
                }
                items.push(item);
            }
        }
        let jobs = items.iter().map(doc).collect::<Result<Vec<Job>>>()?;
        let next_token = match (more, jobs.last()) {
            (true, Some(last)) => Some(query::encode(TAG, &(millis(last.created_at), vec![last.id.clone()]))),
            _ => None,
        };
        Ok(Page { items: jobs, next_token })
    }
}
