//! Jobs: every sweep is recorded with its progress, counts and errors, and
//! reports progress to whoever started it (a progress bar, the API).

use qrie_model::{Job, JobError, JobKind, JobStatus, ScanType, Timestamp};
use qrie_store::{JobFilter, Page, PageRequest, Store};
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::{Engine, EngineError};

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
    /// by [`queued_job`], run now under its id, until its run's deadline).
    /// Jobs that an earlier run left lost are failed first (see [`lost_reason`]).
    pub async fn start(
        store: &'a dyn Store,
        progress: &'a dyn Progress,
        queued: Option<&QueuedRun>,
        kind: JobKind,
        scan_type: ScanType,
        target: Value,
        now: Timestamp,
    ) -> Result<JobTracker<'a>, EngineError> {
        let mut job = match queued {
            Some(run) => Job { deadline: run.deadline, ..run.job.clone() },
            None => queued_job(kind, scan_type, Value::Null, now),
        };
        fail_lost_jobs(store, Some(&job.id)).await?;
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

/// A queued job about to run, and the deadline of the run: a Lambda
/// invocation's, after which the job is lost unless it ended.
pub(crate) struct QueuedRun {
    pub job: Job,
    pub deadline: Option<Timestamp>,
}

impl Engine {
    /// The queued job `job_id` of `kind`, to run until `deadline`; or, when
    /// it is no longer queued (an asynchronous invoke delivered twice, or a
    /// job failed as lost), its record as it stands, not to be run again.
    pub(crate) async fn take_queued(
        &self,
        job_id: &str,
        kind: JobKind,
        deadline: Option<Timestamp>,
    ) -> Result<Result<QueuedRun, JobReport>, EngineError> {
        let job = self.store.get_job(job_id).await?.filter(|j| j.kind == kind).ok_or_else(|| {
            EngineError::Conflict(format!(
                "no queued {} job {job_id:?}: `qrie jobs list` lists the jobs",
                kind.as_str()
            ))
        })?;
        if job.status != JobStatus::Queued {
            return Ok(Err(JobReport { job, result: Value::Null }));
        }
        Ok(Ok(QueuedRun { job, deadline }))
    }

    /// Fails every job that is lost — still queued or running past its
    /// deadline (see [`lost_reason`]) — and answers those it failed.
    pub async fn fail_lost_jobs(&self) -> Result<Vec<Job>, EngineError> {
        fail_lost_jobs(&*self.store, None).await
    }

    /// The jobs as the store lists them, lost ones failed first, so no list
    /// shows a job `queued` or `running` that nothing runs any more.
    pub async fn list_jobs(&self, filter: &JobFilter, page: &PageRequest) -> Result<Page<Job>, EngineError> {
        fail_lost_jobs(&*self.store, None).await?;
        Ok(self.store.list_jobs(filter, page).await?)
    }

    /// One job, failed first if it is lost.
    pub async fn get_job(&self, id: &str) -> Result<Option<Job>, EngineError> {
        let Some(mut job) = self.store.get_job(id).await? else { return Ok(None) };
        if fail_if_lost(&mut job, Engine::now()) {
            self.store.put_job(job.clone()).await?;
        }
        Ok(Some(job))
    }
}

/// How long past its deadline a job must be to be called lost: the function
/// that ran it and the reader have different clocks, and a run may write its
/// end at the very deadline.
const LOST_AFTER: chrono::TimeDelta = chrono::TimeDelta::seconds(60);

/// Why `job` is lost at `now`, if it is: the one rule. A job with a deadline
/// is run by a Lambda function; queued past it, the asynchronous invoke that
/// was to start it will not any more (older than the function's maximum event
/// age); running past it, the invocation has timed out or crashed. Jobs
/// without a deadline (run by a local process) are never called lost.
pub fn lost_reason(job: &Job, now: Timestamp) -> Option<String> {
    let deadline = job.deadline?;
    if now <= deadline + LOST_AFTER {
        return None;
    }
    let at = |t: Timestamp| t.format("%Y-%m-%d %H:%M:%S UTC").to_string();
    match job.status {
        JobStatus::Queued => Some(format!(
            "lost: queued at {} for a Lambda function that had not started it by {}, and no longer will \
(its invoke was dropped, or waited past the function's maximum event age); see the function's logs, \
and start the sweep again",
            at(job.created_at),
            at(deadline)
        )),
        JobStatus::Running => Some(format!(
            "lost: running since {} in a Lambda function whose timeout was {}: the invocation timed out or \
crashed before it ended (see the function's logs); the counts are those it had saved",
            at(job.started_at.unwrap_or(job.created_at)),
            at(deadline)
        )),
        _ => None,
    }
}

/// Marks `job` failed, with the reason, if it is lost; whether it did.
fn fail_if_lost(job: &mut Job, now: Timestamp) -> bool {
    let Some(reason) = lost_reason(job, now) else { return false };
    job.fail(reason, now);
    true
}

/// Fails the lost jobs (all but `except`, the job about to start), listing
/// only queued and running ones.
async fn fail_lost_jobs(store: &dyn Store, except: Option<&str>) -> Result<Vec<Job>, EngineError> {
    let now = Engine::now();
    let mut failed = Vec::new();
    for status in [JobStatus::Queued, JobStatus::Running] {
        let filter = JobFilter { kind: None, status: Some(status) };
        let mut page = PageRequest::first(qrie_store::MAX_PAGE_SIZE);
        loop {
            let listed = store.list_jobs(&filter, &page).await?;
            for mut job in listed.items {
                if Some(job.id.as_str()) != except && fail_if_lost(&mut job, now) {
                    tracing::warn!(job = %job.id, "job lost: failed");
                    store.put_job(job.clone()).await?;
                    failed.push(job);
                }
            }
            match listed.next_token {
                Some(t) => page.next_token = Some(t),
                None => break,
            }
        }
    }
    Ok(failed)
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
        deadline: None,
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
