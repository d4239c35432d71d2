//! Jobs: every sweep is recorded with its progress, counts and errors, and
//! reports progress to whoever started it (a progress bar, the API).

use qrie_model::{Job, JobError, JobKind, JobStatus, ScanType, Timestamp};
use qrie_store::Store;
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::EngineError;

/// Receives progress of a running job.
pub trait Progress: Send + Sync {
    /// The job is recorded (other readers can see it) under this id. Called
    /// once, before any work, so a caller that runs the job in the background
    /// (the API) can answer with the id at once.
    fn job_started(&self, _job_id: &str) {}
    fn start(&self, _total: u64, _what: &str) {}
    fn advance(&self, _done: u64, _message: &str) {}
    fn finish(&self) {}
}

/// For callers that do not show progress.
pub struct NoProgress;
impl Progress for NoProgress {}

/// A job's final record and its kind-specific result (drift, tallies).
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct JobReport {
    pub job: Job,
    pub result: Value,
}

/// Tracks one job: persists it at start, at most every second while running
/// (so progress is visible to other processes), and at the end.
pub(crate) struct JobTracker<'a> {
    store: &'a dyn Store,
    progress: &'a dyn Progress,
    pub job: Job,
    last_saved: Instant,
}

const SAVE_EVERY: Duration = Duration::from_secs(1);

impl<'a> JobTracker<'a> {
    /// Records the job as running: a new one, or `queued` (recorded earlier
    /// by [`queued_job`], run now under its id).
    pub async fn start(
        store: &'a dyn Store,
        progress: &'a dyn Progress,
        queued: Option<&Job>,
        kind: JobKind,
        scan_type: ScanType,
        target: Value,
        now: Timestamp,
    ) -> Result<JobTracker<'a>, EngineError> {
        let mut job = queued.cloned().unwrap_or_else(|| queued_job(kind, scan_type, Value::Null, now));
        job.target = target;
        job.status = JobStatus::Running;
        job.started_at = Some(now);
        store.put_job(job.clone()).await?;
        progress.job_started(&job.id);
        Ok(JobTracker { store, progress, job, last_saved: Instant::now() })
    }

    pub fn set_total(&mut self, total: u64, what: &str) {
        self.job.progress_total = total;
        self.progress.start(total, what);
    }

    pub fn count(&mut self, name: &str, n: u64) {
        *self.job.counts.entry(name.to_string()).or_default() += n;
    }

    pub fn error(&mut self, error: JobError) {
        tracing::warn!(message = %error.message, account = ?error.account_id, "sweep error");
        self.job.errors.push(error);
    }

    pub async fn advance(&mut self, n: u64, message: &str) -> Result<(), EngineError> {
        self.job.progress_done += n;
        self.progress.advance(self.job.progress_done, message);
        if self.last_saved.elapsed() >= SAVE_EVERY {
            self.store.put_job(self.job.clone()).await?;
            self.last_saved = Instant::now();
        }
        Ok(())
    }

    /// Records the end: `failed_all` when no part of the job could be done.
    pub async fn finish(mut self, failed_all: bool, result: Value) -> Result<JobReport, EngineError> {
        self.job.status = match (failed_all, self.job.errors.is_empty()) {
            (true, _) => JobStatus::Failed,
            (false, true) => JobStatus::Succeeded,
            (false, false) => JobStatus::Partial,
        };
        self.job.finished_at = Some(chrono::Utc::now());
        self.store.put_job(self.job.clone()).await?;
        self.progress.finish();
        Ok(JobReport { job: self.job, result })
    }
}

/// A job recorded before it runs (in another process or function), so that
/// whoever queued it can answer with its id at once.
pub(crate) fn queued_job(kind: JobKind, scan_type: ScanType, target: Value, now: Timestamp) -> Job {
    Job {
        id: new_job_id(kind, now),
        kind,
        scan_type,
        target,
        status: JobStatus::Queued,
        progress_done: 0,
        progress_total: 0,
        counts: BTreeMap::new(),
        errors: Vec::new(),
        created_at: now,
        started_at: None,
        finished_at: None,
    }
}

/// Sortable, unique, readable: `inv-20260105T100000Z-3f2a9c`.
fn new_job_id(kind: JobKind, now: Timestamp) -> String {
    let prefix = match kind {
        JobKind::Inventory => "inv",
        JobKind::PolicySweep => "pol",
    };
    let rand = uuid::Uuid::new_v4().simple().to_string();
    format!("{prefix}-{}-{}", now.format("%Y%m%dT%H%M%SZ"), &rand[..6])
}
