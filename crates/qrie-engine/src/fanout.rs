//! A sweep fanned out over a queue (DESIGN.md §9): the coordinator plans it
//! and answers one message per unit; workers — any number, in any process,
//! each message delivered at least once — run one unit per message through
//! the same code as the local worker pool, and the worker that ends the last
//! unit finalises the sweep. The plan in the store is what makes this safe:
//! a unit is claimed and ended conditionally, so a message delivered twice,
//! or again after its worker died, runs the unit at most once to its end.

use qrie_model::{Job, JobKind, Timestamp};
use serde::{Deserialize, Serialize};

use crate::inventory::{take_unit, Settled};
use crate::jobs::{self, JobReport, JobTracker, NoProgress, QueuedRun};
use crate::plan::{self, PlanContext};
use crate::{Engine, EngineError, InventoryRequest, PolicySweepRequest};

/// The body of one unit's message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct UnitMessage {
    pub job_id: String,
    /// The unit's key in its plan: `account/service/region`.
    pub unit: String,
}

impl UnitMessage {
    /// The account the unit reads: a queue that serialises messages per
    /// group (SQS FIFO) runs one unit per account at a time with it, so one
    /// account's throttling slows only that account.
    pub fn account_id(&self) -> &str {
        self.unit.split('/').next().unwrap_or_default()
    }
}

/// What the coordinator leaves for the queue.
#[derive(Debug)]
pub enum FanOut {
    /// The job is the queue's now: send these messages.
    Queued { job: Job, messages: Vec<UnitMessage> },
    /// Nothing to hand out (every unit failed while planning, or none
    /// planned, or the job was no longer queued): the job as it ended.
    Ended(JobReport),
}

/// What a worker did with one message.
#[derive(Debug)]
pub enum UnitAnswer {
    /// This worker ended the unit (and, if it was the last, finalised the sweep).
    Ended { finalised: Option<Box<JobReport>> },
    /// The unit is to be taken again: leave the message to be delivered again.
    Retry(String),
    /// Nothing to do: the unit ended already, another live worker holds it,
    /// or the job is no longer the queue's (ended, resumed elsewhere).
    Skipped(String),
}

impl Engine {
    /// Plans an inventory sweep — `job_id` a queued job (the API's), else a
    /// new one — and hands it to a queue instead of running it: the answer
    /// lists the messages to send, one per unit to run.
    pub async fn fan_out_inventory_sweep(
        &self,
        req: &InventoryRequest,
        job_id: Option<&str>,
    ) -> Result<FanOut, EngineError> {
        let queued = match self.queued_run(job_id, JobKind::Inventory).await? {
            Ok(queued) => queued,
            Err(ended) => return Ok(ended),
        };
        let (job, context) = self.plan_sweep(req, queued.as_ref(), &NoProgress).await?;
        self.hand_out(job, context, JobKind::Inventory).await
    }

    /// [`Engine::fan_out_inventory_sweep`] for a policy sweep (the daily
    /// sweep, a launch's bootstrap): one message per (account, service)
    /// partition of the store.
    pub async fn fan_out_policy_sweep(
        &self,
        req: &PolicySweepRequest,
        job_id: Option<&str>,
    ) -> Result<FanOut, EngineError> {
        let queued = match self.queued_run(job_id, JobKind::PolicySweep).await? {
            Ok(queued) => queued,
            Err(ended) => return Ok(ended),
        };
        let (job, context) = self.plan_policy_sweep(req, queued.as_ref(), &NoProgress).await?;
        self.hand_out(job, context, JobKind::PolicySweep).await
    }

    /// The queued job a fanned-out sweep runs as (none without a job id), or
    /// the job as it stands when it is not to run (ended, or taken already).
    async fn queued_run(
        &self,
        job_id: Option<&str>,
        kind: JobKind,
    ) -> Result<Result<Option<QueuedRun>, FanOut>, EngineError> {
        let Some(id) = job_id else { return Ok(Ok(None)) };
        Ok(match self.take_queued(id, kind, None).await? {
            Ok(run) => Ok(Some(run)),
            Err(as_it_stands) => Err(FanOut::Ended(as_it_stands)),
        })
    }

    /// A planned sweep handed to the queue: the messages of its unfinished
    /// units (or, with none left, the sweep finalised here).
    async fn hand_out(
        &self,
        mut job: JobTracker<'_>,
        context: PlanContext,
        kind: JobKind,
    ) -> Result<FanOut, EngineError> {
        let plan::Survey { merged, unfinished } = plan::survey(&*self.store, &context.job_id).await?;
        let finished = merged.finished;
        plan::recount_finished(&*self.store, &context.job_id, finished).await?;
        if finished == context.units {
            return Ok(FanOut::Ended(self.finalise_kind(job, &context, kind).await?));
        }
        let messages =
            unfinished.iter().map(|(u, _)| UnitMessage { job_id: context.job_id.clone(), unit: u.key() }).collect();
        job.set_total(context.units, "units");
        job.update(|j| j.progress_done = finished);
        let job = job.hand_to_queue().await?;
        Ok(FanOut::Queued { job, messages })
    }

    async fn finalise_kind(
        &self,
        job: JobTracker<'_>,
        context: &PlanContext,
        kind: JobKind,
    ) -> Result<JobReport, EngineError> {
        match kind {
            JobKind::Inventory => self.finalise(job, context).await,
            JobKind::PolicySweep => self.finalise_policy_sweep(job, context).await,
        }
    }

    /// Runs the unit a message names, as worker `owner` whose invocation
    /// ends at `deadline` (its claim ends then too, so the message delivered
    /// again after the worker died finds the unit free).
    pub async fn run_unit_message(
        &self,
        message: &UnitMessage,
        owner: &str,
        deadline: Timestamp,
    ) -> Result<UnitAnswer, EngineError> {
        let job_id = &message.job_id;
        let Some((context, _)) = plan::context(&*self.store, job_id).await? else {
            return Ok(UnitAnswer::Skipped(format!("job {job_id} has no plan")));
        };
        let finished = plan::finished(&*self.store, job_id).await?;
        let Some(kind) = jobs::renew_fanned_out(&*self.store, job_id, finished).await? else {
            return Ok(UnitAnswer::Skipped(format!("job {job_id} is no longer its queue's (ended, or resumed)")));
        };
        let Some((unit, version)) = plan::unit(&*self.store, job_id, &message.unit).await? else {
            return Ok(UnitAnswer::Skipped(format!("job {job_id} has no unit {}", message.unit)));
        };
        if !plan::takeable(&unit, Engine::now(), None) {
            let why = match &unit.lease {
                Some(l) if !unit.state.is_finished() => format!("held by {} until {}", l.owner, l.until),
                _ => format!("{} already", unit.state.as_str()),
            };
            return Ok(UnitAnswer::Skipped(format!("unit {}: {why}", message.unit)));
        }
        let taken_first = || UnitAnswer::Skipped(format!("unit {} was taken by another worker first", message.unit));
        let taken_over = || UnitAnswer::Skipped(format!("unit {} was taken over by another worker", message.unit));
        match kind {
            JobKind::Inventory => {
                let account_id = unit.account_id.clone();
                let accounts = self.accounts_by_id(Some(&account_id)).await?;
                let taken =
                    take_unit(&*self.store, &*self.cloud, &accounts, job_id, owner, unit, version, Some(deadline));
                let Some(claimed) = taken.await? else { return Ok(taken_first()) };
                let mut run = self.unit_run(&context, Some(&account_id)).await?;
                match self.settle_unit(&mut run, job_id, claimed, true).await? {
                    Settled::Released(why) => return Ok(UnitAnswer::Retry(why)),
                    Settled::TakenOver => return Ok(taken_over()),
                    Settled::Ended(_) => {}
                }
            }
            JobKind::PolicySweep => {
                let claimed = plan::claim(&*self.store, job_id, &unit, version, owner, Some(deadline)).await?;
                let Some((unit, version)) = claimed else { return Ok(taken_first()) };
                let run = self.policy_unit_run(&context, Some(&unit.account_id)).await?;
                if !self.run_policy_unit(&run, job_id, unit, version).await? {
                    return Ok(taken_over());
                }
            }
        }
        if plan::count_finished(&*self.store, job_id).await? != context.units {
            return Ok(UnitAnswer::Ended { finalised: None });
        }
        // The last unit: this worker finalises the sweep.
        let job = JobTracker::adopt(&self.store, &NoProgress, job_id).await?;
        Ok(UnitAnswer::Ended { finalised: Some(Box::new(self.finalise_kind(job, &context, kind).await?)) })
    }
}
