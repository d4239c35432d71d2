//! Where the sweeps a request starts run. A server process runs them itself,
//! in the background ([`LocalJobs`], the default); a server that must not
//! outlive its response — the API as a Lambda function, frozen once it answers
//! — hands them to another function instead (the `qrie` binary's Lambda
//! launcher). Requests check and save their change first, then ask the
//! launcher for the sweep the change calls for, and answer with its job id.

use qrie_engine::{Engine, InventoryRequest, JobReport, PolicySweepRequest};
use std::future::Future;
use std::pin::Pin;

use crate::{spawn_job, ApiResult, Started};

/// What a launcher answers: the job's id as soon as the job is recorded (or
/// queued), or the report of a sweep that ended before it recorded a job.
pub type Launch<'a> = Pin<Box<dyn Future<Output = ApiResult<Started<JobReport>>> + Send + 'a>>;

pub trait JobLauncher: Send + Sync {
    fn policy_sweep<'a>(&'a self, engine: &'a Engine, req: PolicySweepRequest) -> Launch<'a>;
    fn inventory_sweep<'a>(&'a self, engine: &'a Engine, req: InventoryRequest) -> Launch<'a>;
}

/// Runs each sweep in this process, after the response ([`spawn_job`]).
pub struct LocalJobs;

impl JobLauncher for LocalJobs {
    fn policy_sweep<'a>(&'a self, engine: &'a Engine, req: PolicySweepRequest) -> Launch<'a> {
        let engine = engine.clone();
        Box::pin(spawn_job(move |p| async move { engine.policy_sweep(&req, &*p).await }))
    }

    fn inventory_sweep<'a>(&'a self, engine: &'a Engine, req: InventoryRequest) -> Launch<'a> {
        let engine = engine.clone();
        Box::pin(spawn_job(move |p| async move { engine.inventory_sweep(&req, &*p).await }))
    }
}

impl<T> Started<T> {
    /// The same job, or `done` in place of what finished without one.
    pub fn or_done<U>(self, done: U) -> Started<U> {
        match self {
            Started::Job(id) => Started::Job(id),
            Started::Done(_) => Started::Done(done),
        }
    }
}
