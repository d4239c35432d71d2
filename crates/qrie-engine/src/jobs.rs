//! Jobs: every sweep is recorded with its progress, counts and errors, and
//! reports progress to whoever started it (a progress bar, the API).

use chrono::TimeDelta;
use qrie_model::{Job, JobKind, JobStatus, Lease, ScanType, Timestamp};
use qrie_store::{JobFilter, Page, PageRequest, Store};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex as StdMutex};
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

/// How long a running job's (or unit's) lease holds without renewal: a job
/// whose owner stopped renewing it for this long is interrupted.
pub const LEASE: TimeDelta = TimeDelta::seconds(45);
/// Who holds a sweep handed to a queue of unit messages: its workers renew
/// the lease (see [`renew_fanned_out`]), none of them holds the job.
pub const QUEUE_OWNER: &str = "queue";
/// How long a fanned-out job's lease holds without a worker renewing it:
/// longer than one unit's work (a worker invocation's 15 minutes) and its
/// message's redelivery after a worker died (the visibility timeout, 16
/// minutes in deploy/), so a sweep is interrupted only when no worker has
/// run any of its units for that long.
pub const FANOUT_LEASE: TimeDelta = TimeDelta::minutes(20);
/// How often, at most, workers write a fanned-out job (its lease and progress).
const FANOUT_RENEW_EVERY: TimeDelta = TimeDelta::seconds(15);

/// How often a running job's owner renews its lease, whatever the work is doing.
const HEARTBEAT: Duration = Duration::from_secs(10);
const SAVE_EVERY: Duration = Duration::from_secs(1);

/// A new lease owner: one per run of a job (its process id, for people, and
/// a random part, so a process that runs a job twice is two owners).
pub(crate) fn new_owner() -> String {
    format!("pid{}-{}", std::process::id(), &uuid::Uuid::new_v4().simple().to_string()[..8])
}

/// The job a run holds, shared with its heartbeat.
struct Held {
    store: Arc<dyn Store>,
    owner: String,
    job: StdMutex<Job>,
    /// One write of the job at a time, each on the version the last one wrote.
    saving: tokio::sync::Mutex<()>,
    /// Set when someone else took the job over: this run must stop.
    lost: StdMutex<Option<String>>,
}

fn locked<T>(m: &StdMutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Held {
    /// Writes the job as it is now on the version last written, renewing the
    /// lease while it runs. Written over only by a reader that marked it
    /// interrupted while this process stalled (the lease still names this
    /// run): anything else means the job is someone else's now.
    async fn save(&self) -> Result<(), EngineError> {
        let _one_at_a_time = self.saving.lock().await;
        let lost = locked(&self.lost).clone();
        if let Some(why) = lost {
            return Err(EngineError::Conflict(why));
        }
        let mut doc = locked(&self.job).clone();
        doc.lease =
            (!doc.status.is_finished()).then(|| Lease { owner: self.owner.clone(), until: Engine::now() + LEASE });
        let mut expected = doc.version;
        loop {
            doc.version = expected + 1;
            if self.store.put_job_if(doc.clone(), Some(expected)).await? {
                let mut held = locked(&self.job);
                held.version = doc.version;
                held.lease = doc.lease.clone();
                return Ok(());
            }
            match self.store.get_job(&doc.id).await? {
                Some(stored)
                    if !stored.status.is_finished() && stored.lease.as_ref().is_some_and(|l| l.owner == self.owner) =>
                {
                    expected = stored.version;
                }
                _ => {
                    let why = format!(
                        "job {} was taken over while this process ran it (resumed elsewhere, or ended): this run stops",
                        doc.id
                    );
                    *locked(&self.lost) = Some(why.clone());
                    return Err(EngineError::Conflict(why));
                }
            }
        }
    }
}

/// Tracks one job: persists it at start, at most every second while running
/// (so progress is visible to other processes), at the end, and every
/// [`HEARTBEAT`] in between (its lease), whatever the work is doing.
pub(crate) struct JobTracker<'a> {
    held: Arc<Held>,
    progress: &'a dyn Progress,
    heartbeat: tokio::task::JoinHandle<()>,
    last_saved: Instant,
    /// The job's id (fixed for its life).
    pub id: String,
}

impl<'a> JobTracker<'a> {
    /// Records the job as running: a new one, or `queued` (recorded earlier
    /// by [`queued_job`], run now under its id, until its run's deadline).
    /// Jobs that an earlier run left lost are settled first (see [`abandoned`]).
    pub async fn start(
        store: &Arc<dyn Store>,
        progress: &'a dyn Progress,
        queued: Option<&QueuedRun>,
        kind: JobKind,
        scan_type: ScanType,
        target: Value,
        now: Timestamp,
    ) -> Result<JobTracker<'a>, EngineError> {
        let (mut job, expected) = match queued {
            Some(run) => (Job { deadline: run.deadline, ..run.job.clone() }, Some(run.job.version)),
            None => (queued_job(kind, scan_type, Value::Null, now), None),
        };
        settle_abandoned_jobs(&**store, Some(&job.id)).await?;
        job.target = target;
        job.status = JobStatus::Running;
        job.started_at = Some(now);
        Self::take(store, progress, job, expected).await
    }

    /// Takes over an interrupted job (its plan is resumed by the caller).
    pub async fn resume(
        store: &Arc<dyn Store>,
        progress: &'a dyn Progress,
        interrupted: Job,
    ) -> Result<JobTracker<'a>, EngineError> {
        let expected = Some(interrupted.version);
        let job = Job { status: JobStatus::Running, ..interrupted };
        Self::take(store, progress, job, expected).await
    }

    /// Writes `job` as running under a new lease, if it is still at
    /// `expected` (`None`: new), and starts the heartbeat.
    async fn take(
        store: &Arc<dyn Store>,
        progress: &'a dyn Progress,
        mut job: Job,
        expected: Option<u64>,
    ) -> Result<JobTracker<'a>, EngineError> {
        let owner = new_owner();
        job.lease = Some(Lease { owner: owner.clone(), until: Engine::now() + LEASE });
        job.version = expected.map_or(1, |v| v + 1);
        if !store.put_job_if(job.clone(), expected).await? {
            return Err(EngineError::Conflict(format!(
                "job {} was started or resumed by another process meanwhile: `qrie jobs show {}` shows it",
                job.id, job.id
            )));
        }
        progress.job_started(&job.id);
        let id = job.id.clone();
        let held = Arc::new(Held {
            store: Arc::clone(store),
            owner,
            job: StdMutex::new(job),
            saving: tokio::sync::Mutex::new(()),
            lost: StdMutex::new(None),
        });
        let beating = Arc::clone(&held);
        let heartbeat = tokio::spawn(async move {
            let mut every = tokio::time::interval(HEARTBEAT);
            every.tick().await;
            loop {
                every.tick().await;
                if let Err(e) = beating.save().await {
                    tracing::warn!(job = %beating.job.lock().map(|j| j.id.clone()).unwrap_or_default(), "heartbeat: {e}");
                    if locked(&beating.lost).is_some() {
                        break;
                    }
                }
            }
        });
        Ok(JobTracker { held, progress, heartbeat, last_saved: Instant::now(), id })
    }

    /// Takes over a job its queue's workers hold (the last unit ended: this
    /// worker finalises), if no one else took it meanwhile.
    pub async fn adopt(
        store: &Arc<dyn Store>,
        progress: &'a dyn Progress,
        job_id: &str,
    ) -> Result<JobTracker<'a>, EngineError> {
        for _ in 0..10 {
            let job = store.get_job(job_id).await?.ok_or_else(|| EngineError::Conflict(format!("no job {job_id}")))?;
            let fanned_out = job.lease.as_ref().is_some_and(|l| l.owner == QUEUE_OWNER);
            if job.status.is_finished() || !fanned_out {
                return Err(EngineError::Conflict(format!(
                    "job {job_id} is no longer its queue's ({}): another worker finalises it",
                    job.status.as_str()
                )));
            }
            let expected = Some(job.version);
            match Self::take(store, progress, Job { status: JobStatus::Running, ..job }, expected).await {
                Ok(tracker) => return Ok(tracker),
                // A worker renewed the lease meanwhile: read it again.
                Err(EngineError::Conflict(_)) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(EngineError::Conflict(format!("job {job_id} kept changing while its last unit's worker took it over")))
    }

    /// Hands the job to its queue's workers: this run stops holding it, the
    /// lease names the queue, renewed by whichever worker runs a unit.
    pub async fn hand_to_queue(self) -> Result<Job, EngineError> {
        self.heartbeat.abort();
        self.held.save().await?;
        let mut job = locked(&self.held.job).clone();
        let expected = job.version;
        job.lease = Some(Lease { owner: QUEUE_OWNER.to_string(), until: Engine::now() + FANOUT_LEASE });
        job.version = expected + 1;
        if !self.held.store.put_job_if(job.clone(), Some(expected)).await? {
            return Err(EngineError::Conflict(format!("job {} changed while it was handed to its queue", job.id)));
        }
        Ok(job)
    }

    /// Who holds the job's lease in this run (units it claims name it too).
    pub fn owner(&self) -> &str {
        &self.held.owner
    }

    /// Changes the job in memory (written at the next save).
    pub fn update<T>(&self, change: impl FnOnce(&mut Job) -> T) -> T {
        change(&mut locked(&self.held.job))
    }

    pub fn set_total(&mut self, total: u64, what: &str) {
        self.update(|j| j.progress_total = total);
        self.progress.start(total, what);
    }

    pub async fn advance(&mut self, n: u64, message: &str) -> Result<(), EngineError> {
        let done = self.update(|j| {
            j.progress_done += n;
            j.progress_done
        });
        self.progress.advance(done, message);
        if self.last_saved.elapsed() >= SAVE_EVERY {
            self.held.save().await?;
            self.last_saved = Instant::now();
        }
        Ok(())
    }

    /// Records the end: `failed_all` when no part of the job could be done.
    pub async fn finish(self, failed_all: bool, result: Value) -> Result<JobReport, EngineError> {
        self.heartbeat.abort();
        self.update(|j| {
            j.status = match (failed_all, j.errors.is_empty()) {
                (true, _) => JobStatus::Failed,
                (false, true) => JobStatus::Succeeded,
                (false, false) => JobStatus::Partial,
            };
            j.finished_at = Some(chrono::Utc::now());
        });
        self.held.save().await?;
        self.progress.finish();
        let job = locked(&self.held.job).clone();
        Ok(JobReport { job, result })
    }
}

impl Drop for JobTracker<'_> {
    /// A run that ends without finishing (an error) stops renewing its
    /// lease: the job is interrupted once the lease runs out, and resumable.
    fn drop(&mut self) {
        self.heartbeat.abort();
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

    /// Settles every abandoned job — interrupted (its lease ran out) or
    /// lost (see [`abandoned`]) — and answers those it settled.
    pub async fn fail_lost_jobs(&self) -> Result<Vec<Job>, EngineError> {
        settle_abandoned_jobs(&*self.store, None).await
    }

    /// The jobs as the store lists them, abandoned ones settled first, so no
    /// list shows a job `queued` or `running` that nothing runs any more.
    pub async fn list_jobs(&self, filter: &JobFilter, page: &PageRequest) -> Result<Page<Job>, EngineError> {
        settle_abandoned_jobs(&*self.store, None).await?;
        Ok(self.store.list_jobs(filter, page).await?)
    }

    /// Marks a running job stopped at once, rather than when its lease runs
    /// out: its runner was stopped on purpose (Ctrl-C). It is interrupted
    /// (resumable from its plan). The job as it stands.
    pub async fn interrupt_job(&self, id: &str) -> Result<Option<Job>, EngineError> {
        loop {
            let Some(job) = self.store.get_job(id).await? else { return Ok(None) };
            if job.status != JobStatus::Running {
                return Ok(Some(job));
            }
            let mut stopped = job.clone();
            stopped.status = JobStatus::Interrupted;
            stopped.version = job.version + 1;
            if self.store.put_job_if(stopped.clone(), Some(job.version)).await? {
                return Ok(Some(stopped));
            }
        }
    }

    /// One job, settled first if it is abandoned.
    pub async fn get_job(&self, id: &str) -> Result<Option<Job>, EngineError> {
        let Some(job) = self.store.get_job(id).await? else { return Ok(None) };
        Ok(Some(settle(&*self.store, job, Engine::now()).await?))
    }
}

/// A worker of a fanned-out job renews its lease and records how many units
/// are finished — at most every [`FANOUT_RENEW_EVERY`] whatever the number
/// of workers, conditionally (a worker that loses the race leaves it to the
/// winner). A job interrupted while its messages waited (workers throttled,
/// a redelivery) runs again: its queue is resuming it. Whether the job is
/// still its queue's to work on: its kind, or None.
pub(crate) async fn renew_fanned_out(
    store: &dyn Store,
    job_id: &str,
    finished: u64,
) -> Result<Option<JobKind>, EngineError> {
    let Some(job) = store.get_job(job_id).await? else { return Ok(None) };
    let Some(lease) = job.lease.as_ref().filter(|l| l.owner == QUEUE_OWNER) else { return Ok(None) };
    let now = Engine::now();
    let running = job.status == JobStatus::Running;
    if !(running || job.status == JobStatus::Interrupted) {
        return Ok(None);
    }
    if running && lease.until > now + FANOUT_LEASE - FANOUT_RENEW_EVERY {
        return Ok(Some(job.kind));
    }
    let mut renewed = job.clone();
    renewed.status = JobStatus::Running;
    renewed.lease = Some(Lease { owner: QUEUE_OWNER.to_string(), until: now + FANOUT_LEASE });
    renewed.progress_done = renewed.progress_done.max(finished);
    renewed.version = job.version + 1;
    store.put_job_if(renewed, Some(job.version)).await?;
    Ok(Some(job.kind))
}

/// How long past its deadline a job must be to be called lost: the function
/// that ran it and the reader have different clocks, and a run may write its
/// end at the very deadline.
const LOST_AFTER: chrono::TimeDelta = chrono::TimeDelta::seconds(60);

/// What became of a job that nothing runs any more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Abandoned {
    /// Its runner stopped renewing its lease; its plan can be resumed.
    Interrupted,
    /// It cannot be resumed: failed, with the reason.
    Lost(String),
}

/// Whether `job` is abandoned at `now`: the one rule. A running job is held
/// by its lease, renewed every few seconds by whoever runs it: once the
/// lease runs out (kill -9, a crash, a Lambda timeout) the sweep is
/// interrupted, resumable from its plan. A job
/// queued for a Lambda function is lost once its deadline passed
/// unstarted. A running job with no lease was left by a qrie that kept none.
pub fn abandoned(job: &Job, now: Timestamp) -> Option<Abandoned> {
    let at = |t: Timestamp| t.format("%Y-%m-%d %H:%M:%S UTC").to_string();
    match job.status {
        JobStatus::Running => match (&job.lease, job.deadline) {
            (Some(lease), _) if lease.expired(now) => Some(Abandoned::Interrupted),
            (Some(_), _) => None,
            (None, Some(deadline)) if now > deadline + LOST_AFTER => Some(Abandoned::Lost(format!(
                "lost: running since {} in a Lambda function whose timeout was {}: the invocation timed out or \
crashed before it ended (see the function's logs); the counts are those it had saved",
                at(job.started_at.unwrap_or(job.created_at)),
                at(deadline)
            ))),
            (None, Some(_)) => None,
            (None, None) => Some(Abandoned::Lost(format!(
                "lost: recorded running since {} without a lease (by a qrie that kept none), so nothing can \
say it still runs; run the sweep again",
                at(job.started_at.unwrap_or(job.created_at))
            ))),
        },
        JobStatus::Queued => match job.deadline {
            Some(deadline) if now > deadline + LOST_AFTER => Some(Abandoned::Lost(format!(
                "lost: queued at {} for a Lambda function that had not started it by {}, and no longer will \
(its invoke was dropped, or waited past the function's maximum event age); see the function's logs, \
and start the sweep again",
                at(job.created_at),
                at(deadline)
            ))),
            _ => None,
        },
        _ => None,
    }
}

/// The job as it stands once settled: if it is abandoned at `now`, marked
/// interrupted or failed — conditionally on the version read, so a runner's
/// own write (a late heartbeat) or another reader's wins, and is answered.
async fn settle(store: &dyn Store, job: Job, now: Timestamp) -> Result<Job, EngineError> {
    let mut job = job;
    loop {
        let mut changed = job.clone();
        match abandoned(&job, now) {
            None => return Ok(job),
            Some(Abandoned::Interrupted) => {
                // The lease is kept: it names the run that stopped, whose
                // units a resume may take over.
                tracing::warn!(job = %job.id, "job interrupted: its lease ran out");
                changed.status = JobStatus::Interrupted;
            }
            Some(Abandoned::Lost(reason)) => {
                tracing::warn!(job = %job.id, "job lost: failed");
                changed.fail(reason, now);
                changed.lease = None;
            }
        }
        changed.version = job.version + 1;
        if store.put_job_if(changed.clone(), Some(job.version)).await? {
            return Ok(changed);
        }
        match store.get_job(&job.id).await? {
            Some(again) => job = again,
            None => return Ok(changed),
        }
    }
}

/// Settles the abandoned jobs (all but `except`, the job about to start),
/// listing only queued and running ones. Answers those it settled.
async fn settle_abandoned_jobs(store: &dyn Store, except: Option<&str>) -> Result<Vec<Job>, EngineError> {
    let now = Engine::now();
    let mut settled = Vec::new();
    for status in [JobStatus::Queued, JobStatus::Running] {
        let filter = JobFilter { kind: None, status: Some(status) };
        let mut page = PageRequest::first(qrie_store::MAX_PAGE_SIZE);
        loop {
            let listed = store.list_jobs(&filter, &page).await?;
            for job in listed.items {
                if Some(job.id.as_str()) != except && abandoned(&job, now).is_some() {
                    let after = settle(store, job, now).await?;
                    if after.status != status {
                        settled.push(after);
                    }
                }
            }
            match listed.next_token {
                Some(t) => page.next_token = Some(t),
                None => break,
            }
        }
    }
    Ok(settled)
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
        version: 1,
        lease: None,
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

#[cfg(test)]
mod tests {
    use super::*;

    async fn store() -> (tempfile::TempDir, Arc<dyn Store>) {
        let dir = tempfile::tempdir().unwrap();
        let store = qrie_store::open(&format!("sqlite:{}", dir.path().join("j.db").display())).unwrap();
        (dir, store)
    }

    /// A runner that stalled past its lease finds its job marked interrupted
    /// by a reader and takes it back (the lease still names it); once another
    /// process resumed the job, the runner stops, and never writes over it.
    #[tokio::test]
    async fn a_job_is_written_only_by_the_run_that_holds_it() {
        let (_dir, store) = store().await;
        let now = Engine::now();
        let run =
            JobTracker::start(&store, &NoProgress, None, JobKind::Inventory, ScanType::Bootstrap, Value::Null, now)
                .await
                .unwrap();
        let stored = store.get_job(&run.id).await.unwrap().unwrap();
        assert_eq!((stored.status, stored.version), (JobStatus::Running, 1));
        assert_eq!(stored.lease.as_ref().unwrap().owner, run.owner());

        // The runner stalled: a reader saw the lease run out.
        let mut expired = stored.clone();
        expired.lease.as_mut().unwrap().until = now - TimeDelta::seconds(1);
        store.put_job(expired).await.unwrap();
        let settled = settle(&*store, store.get_job(&run.id).await.unwrap().unwrap(), Engine::now()).await.unwrap();
        assert_eq!((settled.status, settled.version), (JobStatus::Interrupted, 2));
        run.held.save().await.expect("the lease still names this run: it takes the job back");
        let back = store.get_job(&run.id).await.unwrap().unwrap();
        assert_eq!((back.status, back.version), (JobStatus::Running, 3));
        assert!(!back.lease.as_ref().unwrap().expired(Engine::now()));

        // Another process resumed it meanwhile: this run stops, its writes refused.
        let theirs = Job {
            status: JobStatus::Running,
            version: back.version + 1,
            lease: Some(Lease { owner: "pid2-other".into(), until: Engine::now() + LEASE }),
            ..back.clone()
        };
        assert!(store.put_job_if(theirs.clone(), Some(back.version)).await.unwrap());
        run.update(|j| j.counts.insert("resources.observed".into(), 5));
        let stopped = run.held.save().await.unwrap_err().to_string();
        assert!(stopped.contains("taken over"), "{stopped}");
        assert!(run.finish(false, Value::Null).await.is_err(), "nor does it end the job");
        assert_eq!(store.get_job(&theirs.id).await.unwrap().unwrap(), theirs);
    }

    /// The heartbeat renews the lease while the work itself writes nothing.
    #[tokio::test]
    async fn the_heartbeat_renews_the_lease() {
        let (_dir, store) = store().await;
        let run = JobTracker::start(
            &store,
            &NoProgress,
            None,
            JobKind::Inventory,
            ScanType::Bootstrap,
            Value::Null,
            Engine::now(),
        )
        .await
        .unwrap();
        let first = store.get_job(&run.id).await.unwrap().unwrap();
        // One heartbeat is due after HEARTBEAT; a loaded machine may be late.
        for _ in 0..30 {
            tokio::time::sleep(HEARTBEAT / 2).await;
            if store.get_job(&run.id).await.unwrap().unwrap().version > first.version {
                break;
            }
        }
        let renewed = store.get_job(&run.id).await.unwrap().unwrap();
        assert!(renewed.version > first.version, "renewed: {} after {}", renewed.version, first.version);
        assert!(renewed.lease.as_ref().unwrap().until >= first.lease.as_ref().unwrap().until);
        drop(run);
    }
}
