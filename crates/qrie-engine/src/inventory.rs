//! Inventory sweeps: list every (account, service, region), store what was
//! observed, infer deletions from complete listings only, evaluate what changed
//! hands, and — on anti-entropy sweeps — measure what the event path missed.
//!
//! A sweep is a plan of units ([`crate::plan`]): planned once, each unit
//! claimed, run and recorded on its own, finalised when the last one ends —
//! so a sweep stopped anywhere resumes with the units it had not finished.

use futures::StreamExt;
use qrie_model::{
    comparable_hashes, finding_drift_totals, Account, InventoryDrift, Job, JobError, JobKind, JobStatus, PlanUnit,
    PolicyDriftRow, Resource, ScanType, Service, Timestamp, Trigger, UnitState,
};
use qrie_store::WriteOutcome;
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use crate::commit::{commit, Evaluator};
use crate::evaluate::{evaluate_batch, load_active_policies, ActivePolicy, FindingIndex, RelatedCache, Tally};
use crate::jobs::{queued_job, JobReport, JobTracker, Progress, QueuedRun};
use crate::plan::{self, PlanContext, UnitResult, MAX_ATTEMPTS};
use crate::references;
use crate::summary::{self, DRIFT_INVENTORY_KEY, DRIFT_INVENTORY_SERIES};
use crate::{CloudError, Engine, EngineError, Listing, SweepUnit};

#[derive(Debug, Clone, Default)]
pub struct InventoryRequest {
    /// Empty: every active account.
    pub accounts: Vec<String>,
    /// Empty: every service.
    pub services: Vec<Service>,
    /// Empty: each account's regions.
    pub regions: Vec<String>,
    pub scan_type: ScanType,
    /// Changes AWS dates this close before a listing are not counted as
    /// missed (their events may still be on the way). `None`: [`DEFAULT_DRIFT_GRACE_MINUTES`].
    pub drift_grace: Option<chrono::Duration>,
    /// Units listed at once (0: one per core). Each is a different
    /// (account, service, region), so this also spreads load across accounts.
    pub workers: usize,
}

/// Units in flight at once for `asked` (0: one per core).
pub fn workers(asked: usize) -> usize {
    match asked {
        0 => std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get),
        n => n,
    }
}

/// The default drift grace window: CloudTrail delivers most events to
/// EventBridge within minutes.
pub const DEFAULT_DRIFT_GRACE_MINUTES: i64 = 10;

/// What the units of one run share: the policies and accounts as the run
/// loaded them, and a cache of related resources. (Findings are read per
/// unit: a run never holds the estate's.)
pub(crate) struct UnitRun {
    policies: Vec<ActivePolicy>,
    accounts: HashMap<String, Account>,
    related: RelatedCache,
    trigger: Trigger,
    scan_type: ScanType,
    grace: chrono::Duration,
    unindexed: HashSet<String>,
}

/// A unit a worker claimed: its claim's version, and its listing (none when
/// it was given up on).
pub(crate) struct Claimed {
    pub unit: PlanUnit,
    pub version: u64,
    pub listed: Option<Result<Listing, String>>,
}

/// What became of a claimed unit.
pub(crate) enum Settled {
    /// Ended by this worker, with what it did.
    Ended(UnitResult),
    /// Given back to be taken again, with why.
    Released(String),
    /// Another worker took the claim over meanwhile: theirs to end.
    TakenOver,
}

impl InventoryRequest {
    /// The scheduled weekly sweep: anti-entropy over everything.
    pub fn is_weekly(&self) -> bool {
        self.scan_type == ScanType::AntiEntropy
            && self.accounts.is_empty()
            && self.services.is_empty()
            && self.regions.is_empty()
    }
}

impl Engine {
    /// Runs an inventory sweep to the end and records it as a job.
    pub async fn inventory_sweep(
        &self,
        req: &InventoryRequest,
        progress: &dyn Progress,
    ) -> Result<JobReport, EngineError> {
        self.sweep_inventory(req, None, progress).await
    }

    /// Records an inventory sweep that another function will run (a Lambda
    /// API hands it to the inventory function): a `queued` job whose id the
    /// caller can answer with at once, lost unless started by `start_by`.
    /// The request is checked as a sweep would check it.
    pub async fn queue_inventory_sweep(
        &self,
        req: &InventoryRequest,
        start_by: Option<Timestamp>,
    ) -> Result<Job, EngineError> {
        let (_, _, target) = self.inventory_scope(req).await?;
        let job = Job { deadline: start_by, ..queued_job(JobKind::Inventory, req.scan_type, target, Engine::now()) };
        self.store.put_job(job.clone()).await?;
        Ok(job)
    }

    /// Runs the sweep queued as `job_id` under that id, lost unless it ends by
    /// `deadline`. A job no longer queued (delivered twice, run already, or
    /// failed as lost) is answered as it stands, unswept.
    pub async fn run_queued_inventory_sweep(
        &self,
        job_id: &str,
        req: &InventoryRequest,
        deadline: Option<Timestamp>,
        progress: &dyn Progress,
    ) -> Result<JobReport, EngineError> {
        match self.take_queued(job_id, JobKind::Inventory, deadline).await? {
            Ok(run) => self.sweep_inventory(req, Some(&run), progress).await,
            Err(as_it_stands) => Ok(as_it_stands),
        }
    }

    /// The accounts and services a request covers, and the job's target
    /// naming them; a bad region, or an unknown or removed account, is an error.
    async fn inventory_scope(
        &self,
        req: &InventoryRequest,
    ) -> Result<(Vec<Account>, Vec<Service>, Value), EngineError> {
        for r in &req.regions {
            qrie_model::validate_region(r)?;
        }
        let accounts = self.sweep_accounts(&req.accounts).await?;
        let services = if req.services.is_empty() { Service::ALL.to_vec() } else { req.services.clone() };
        let target = json!({
            "Accounts": accounts.iter().map(|a| &a.account_id).collect::<Vec<_>>(),
            "Services": services.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            "Regions": req.regions,
        });
        Ok((accounts, services, target))
    }

    /// Plans a sweep and runs its plan.
    async fn sweep_inventory(
        &self,
        req: &InventoryRequest,
        queued: Option<&QueuedRun>,
        progress: &dyn Progress,
    ) -> Result<JobReport, EngineError> {
        let (job, context) = self.plan_sweep(req, queued, progress).await?;
        self.run_plan(job, context, None, workers(req.workers)).await
    }

    /// Starts a sweep's job and writes its plan: the job, held by this run,
    /// and the plan's context.
    pub(crate) async fn plan_sweep<'p>(
        &self,
        req: &InventoryRequest,
        queued: Option<&QueuedRun>,
        progress: &'p dyn Progress,
    ) -> Result<(JobTracker<'p>, PlanContext), EngineError> {
        let now = Engine::now();
        // The weekly sweep (anti-entropy over every account, service and region)
        // of a deployment with an organization discovers its accounts first: new ones are swept now,
        // and flagged not baselined until this sweep lists them completely.
        // "With an organization": some account came from a discovery before
        // (`qrie accounts discover` opts in).
        let with_org = req.is_weekly()
            && self.store.list_accounts().await?.iter().any(|a| a.source == qrie_model::AccountSource::Organizations);
        let discovery = if with_org { Some(self.discover_accounts().await) } else { None };
        let (accounts, services, target) = self.inventory_scope(req).await?;
        let job =
            JobTracker::start(&self.store, progress, queued, JobKind::Inventory, req.scan_type, target, now).await?;
        let planning_error = |message: String| JobError { message, ..JobError::default() };
        let mut errors = Vec::new();
        let discovered = match discovery {
            Some(Ok(Some(d))) => json!({
                "Added": d.added.iter().map(|a| &a.account_id).collect::<Vec<_>>(),
                "Updated": d.updated.iter().map(|a| &a.account_id).collect::<Vec<_>>(),
                "Unchanged": d.unchanged,
            }),
            Some(Err(e)) => {
                errors.push(planning_error(e.to_string()));
                Value::Null
            }
            Some(Ok(None)) | None => Value::Null,
        };
        let (units, region_failures) = self.units(&accounts, &services, &req.regions).await;
        let (_, problems) = load_active_policies(&*self.store).await?;
        errors.extend(problems.into_iter().map(planning_error));
        let mut planned: Vec<PlanUnit> = units.iter().map(plan::planned).collect();
        for (account_id, e) in region_failures {
            let why = format!("its enabled regions could not be read, no regional service swept: {e}");
            for &service in services.iter().filter(|s| !s.is_global()) {
                planned.push(plan::failed_at_planning(&account_id, service, why.clone()));
            }
        }
        let context = PlanContext {
            job_id: job.id.clone(),
            scan_type: req.scan_type,
            full_sweep: req.services.is_empty() && req.regions.is_empty(),
            drift_grace_seconds: req
                .drift_grace
                .unwrap_or_else(|| chrono::Duration::minutes(DEFAULT_DRIFT_GRACE_MINUTES))
                .num_seconds(),
            unbaselined: accounts
                .iter()
                .filter(|a| !a.is_baselined())
                .map(|a| (a.account_id.clone(), a.added_at))
                .collect(),
            units: planned.len() as u64,
            errors,
            discovery: discovered,
            drift_at_ms: None,
            policy_id: None,
            unindexed: references::unindexed(&*self.store, accounts.iter().map(|a| a.account_id.as_str())).await?,
        };
        plan::write(&*self.store, &context, &planned).await?;
        Ok((job, context))
    }

    /// Resumes an interrupted sweep (inventory or policy): runs the units of
    /// its plan that had not finished (those its stopped run held included),
    /// then finalises it as if it had never stopped.
    pub async fn resume_sweep(
        &self,
        job_id: &str,
        workers_asked: usize,
        progress: &dyn Progress,
    ) -> Result<JobReport, EngineError> {
        let job = self
            .get_job(job_id)
            .await?
            .ok_or_else(|| EngineError::Conflict(format!("unknown job {job_id:?}: `qrie jobs list` lists the jobs")))?;
        match job.status {
            JobStatus::Interrupted => {}
            JobStatus::Running => {
                let until = job.lease.as_ref().map(|l| l.until.format("%H:%M:%S UTC").to_string());
                return Err(EngineError::Conflict(format!(
                    "job {job_id} is running (its runner holds it until {}): if that process is gone, the job \
is interrupted within a minute, and resumable then",
                    until.unwrap_or_else(|| "its deadline".into())
                )));
            }
            JobStatus::Queued => {
                return Err(EngineError::Conflict(format!("job {job_id} is queued: it has not started")));
            }
            status => {
                return Err(EngineError::Conflict(format!(
                    "job {job_id} has ended ({}): there is nothing to resume",
                    status.as_str()
                )));
            }
        }
        let Some((context, _)) = plan::context(&*self.store, job_id).await? else {
            // Stopped while it planned: nothing of the sweep was done yet.
            let mut ended = job.clone();
            ended.fail(
                "interrupted before its plan was written: nothing was swept; start the sweep again".into(),
                Engine::now(),
            );
            ended.version = job.version + 1;
            ended.lease = None;
            self.store.put_job_if(ended, Some(job.version)).await?;
            return Err(EngineError::Conflict(format!(
                "job {job_id} was interrupted before its plan was written, so it cannot resume: start the sweep again"
            )));
        };
        let stopped = job.lease.as_ref().map(|l| l.owner.clone());
        let kind = job.kind;
        let tracker = JobTracker::resume(&self.store, progress, job).await?;
        match kind {
            JobKind::Inventory => self.run_plan(tracker, context, stopped, workers(workers_asked)).await,
            JobKind::PolicySweep => self.run_policy_plan(tracker, context, stopped).await,
        }
    }

    /// The interrupted sweeps (abandoned jobs settled first), oldest first:
    /// what `qrie serve` resumes.
    pub async fn interrupted_sweeps(&self) -> Result<Vec<Job>, EngineError> {
        self.fail_lost_jobs().await?;
        let filter = qrie_store::JobFilter { kind: None, status: Some(JobStatus::Interrupted) };
        let mut jobs = Vec::new();
        let mut page = qrie_store::PageRequest::first(qrie_store::MAX_PAGE_SIZE);
        loop {
            let listed = self.store.list_jobs(&filter, &page).await?;
            jobs.extend(listed.items);
            match listed.next_token {
                Some(t) => page.next_token = Some(t),
                None => break,
            }
        }
        jobs.reverse();
        Ok(jobs)
    }

    /// Runs the units of a plan not yet finished and finalises it. A run that
    /// stops on an error leaves the job interrupted (resumable), saying so.
    async fn run_plan(
        &self,
        job: JobTracker<'_>,
        context: PlanContext,
        stopped_owner: Option<String>,
        workers: usize,
    ) -> Result<JobReport, EngineError> {
        let id = job.id.clone();
        let owner = job.owner().to_string();
        let ran = self.run_units(job, &context, &owner, stopped_owner.as_deref(), workers).await;
        ran.map_err(|e| match e {
            EngineError::Store(e) => EngineError::Conflict(format!(
                "{e}\nthe sweep stopped; its finished units are kept: `qrie jobs resume {id}` runs the rest"
            )),
            other => other,
        })
    }

    async fn run_units(
        &self,
        mut job: JobTracker<'_>,
        context: &PlanContext,
        owner: &str,
        stopped_owner: Option<&str>,
        workers: usize,
    ) -> Result<JobReport, EngineError> {
        let job_id = context.job_id.clone();
        // What finished units did stands (a resume starts from it).
        let plan::Survey { merged: so_far, unfinished } =
            plan::start_run(&*self.store, &mut job, context, "units").await?;
        if so_far.finished == context.units {
            return self.finalise(job, context).await;
        }

        let mut run = self.unit_run(context, None).await?;
        let accounts = run.accounts.clone();
        let now = Engine::now();
        let todo: Vec<(PlanUnit, u64)> =
            unfinished.into_iter().filter(|(u, _)| plan::takeable(u, now, stopped_owner)).collect();

        // Owned values in the listing futures: a stream of futures borrowing
        // from the sweep is not provably Send to rustc (higher-ranked closure
        // lifetimes), and a sweep must be spawnable.
        let accounts = Arc::new(accounts);
        let (store, cloud) = (Arc::clone(&self.store), Arc::clone(&self.cloud));
        let (owner_of_claims, plan_id) = (owner.to_string(), job_id.clone());
        let mut taken = futures::stream::iter(todo)
            .map(move |(unit, version)| {
                let (store, cloud, accounts) = (Arc::clone(&store), Arc::clone(&cloud), Arc::clone(&accounts));
                let (owner, job_id) = (owner_of_claims.clone(), plan_id.clone());
                async move { take_unit(&*store, &*cloud, &accounts, &job_id, &owner, unit, version, None).await }
            })
            .buffer_unordered(workers.max(1));
        let mut last = false;
        while let Some(taken) = taken.next().await {
            // None: another worker took the unit first.
            let Some(claimed) = taken? else { continue };
            let sweep_unit = plan::sweep_unit(&claimed.unit);
            // Ended by this worker only if its claim still holds; counted only then.
            let Settled::Ended(result) = self.settle_unit(&mut run, &job_id, claimed, false).await? else { continue };
            job.update(|j| {
                for (k, v) in &result.counts {
                    *j.counts.entry(k.clone()).or_default() += v;
                }
                j.errors.extend(result.errors.iter().cloned());
            });
            last = plan::count_finished(&*self.store, &job_id).await? == context.units;
            job.advance(1, &sweep_unit.to_string()).await?;
        }
        drop(taken);
        if last {
            return self.finalise(job, context).await;
        }
        // Not the last to count: either a unit is still held elsewhere, or a
        // run before this one stopped between ending a unit and counting it.
        let held: Vec<String> =
            plan::survey(&*self.store, &job_id).await?.unfinished.iter().map(|u| u.0.key()).collect();
        if held.is_empty() {
            return self.finalise(job, context).await;
        }
        Err(EngineError::Conflict(format!(
            "{} units of job {job_id} are held by another worker ({}…): the job ends when they do",
            held.len(),
            held[0]
        )))
    }

    /// The accounts by id: every account, or (`only`) the one a unit message
    /// reads — a worker of a 1,000-account sweep reads one, not 1,000.
    pub(crate) async fn accounts_by_id(&self, only: Option<&str>) -> Result<HashMap<String, Account>, EngineError> {
        let accounts = match only {
            Some(id) => self.store.get_account(id).await?.into_iter().collect(),
            None => self.store.list_accounts().await?,
        };
        Ok(accounts.into_iter().map(|a| (a.account_id.clone(), a)).collect())
    }

    /// What the units of one run share, loaded now: with `only`, for units
    /// of that account alone (a unit message's worker).
    pub(crate) async fn unit_run(&self, context: &PlanContext, only: Option<&str>) -> Result<UnitRun, EngineError> {
        let (policies, _) = load_active_policies(&*self.store).await?;
        let accounts = self.accounts_by_id(only).await?;
        Ok(UnitRun {
            policies,
            related: RelatedCache::default(),
            trigger: Trigger::job(context.scan_type.detected_by(), context.job_id.clone()),
            scan_type: context.scan_type,
            grace: chrono::Duration::seconds(context.drift_grace_seconds),
            unindexed: context.unindexed.iter().cloned().collect(),
            accounts,
        })
    }

    /// Processes a claimed unit and records its end, if the claim still
    /// holds. A listing that failed ends the unit failed — or, when `retry`
    /// (a queue will deliver the unit again) and it has attempts left, gives
    /// the unit back to be taken again.
    pub(crate) async fn settle_unit(
        &self,
        run: &mut UnitRun,
        job_id: &str,
        claimed: Claimed,
        retry: bool,
    ) -> Result<Settled, EngineError> {
        let Claimed { unit, version, listed } = claimed;
        let sweep_unit = plan::sweep_unit(&unit);
        let mut result = UnitResult::default();
        let unit_error = |message: String| JobError {
            account_id: Some(unit.account_id.clone()),
            service: Some(unit.service.to_string()),
            region: unit.region.clone(),
            message,
            ..JobError::default()
        };
        let (state, reason) = match listed {
            None => {
                let why = format!(
                    "given up after {MAX_ATTEMPTS} attempts: its worker stopped each time (killed, crashed or timed out)"
                );
                (UnitState::Failed, Some(why))
            }
            Some(Err(e)) if retry && unit.attempts < MAX_ATTEMPTS => {
                let why = format!("attempt {} of {MAX_ATTEMPTS} failed: {e}", unit.attempts);
                return Ok(match plan::release(&*self.store, job_id, &unit, version, why.clone()).await? {
                    true => Settled::Released(why),
                    false => Settled::TakenOver,
                });
            }
            Some(Err(e)) if retry => (UnitState::Failed, Some(format!("failed {MAX_ATTEMPTS} times, last: {e}"))),
            Some(Err(e)) => (UnitState::Failed, Some(e)),
            Some(Ok(listing)) => {
                for (call, n) in &listing.api_calls {
                    result.count(&format!("api_calls.{call}"), *n);
                }
                result.count("throttles", listing.throttles);
                let complete = listing.complete;
                let why = (!complete)
                    .then(|| format!("incomplete listing, nothing marked deleted: {}", listing.errors.join("; ")));
                self.process_unit(run, &sweep_unit, listing, &mut result).await?;
                (if complete { UnitState::Done } else { UnitState::Incomplete }, why)
            }
        };
        if let Some(why) = &reason {
            result.errors.push(unit_error(why.clone()));
        }
        Ok(match plan::end(&*self.store, job_id, &unit, version, state, reason, &result).await? {
            true => Settled::Ended(result),
            false => Settled::TakenOver,
        })
    }

    /// The end of a sweep, once every unit has ended: baselines, the drift
    /// record (once, however often this runs), the summary, the job's end.
    pub(crate) async fn finalise(&self, job: JobTracker<'_>, context: &PlanContext) -> Result<JobReport, EngineError> {
        let merged = plan::survey(&*self.store, &context.job_id).await?.merged;

        // An account is baselined by its first sweep that listed all of it.
        let mut baselined = Vec::new();
        for (account_id, added_at) in context.unbaselined.iter().filter(|_| context.full_sweep) {
            if merged.incomplete_accounts.contains(account_id) {
                continue;
            }
            // Only the baseline is set, on the account as stored now, and
            // only if it is still the account this sweep listed: not
            // removed, not removed and added again, not baselined by
            // another sweep.
            let set = self
                .update_account(account_id, |a| {
                    let same = a.is_active() && a.added_at == *added_at && !a.is_baselined();
                    if same {
                        a.baselined_at = Some(Engine::now());
                    }
                    same
                })
                .await?;
            if set.is_some() {
                baselined.push(account_id.clone());
            }
        }

        // An account is indexed once every resource of it was: all its units listed completely.
        let indexed =
            context.unindexed.iter().filter(|a| context.full_sweep && !merged.incomplete_accounts.contains(*a));
        references::mark_indexed(&*self.store, indexed.cloned().collect()).await?;

        let tally = &merged.tally;
        let mut counts = merged.counts.clone();
        for (name, n) in [
            ("findings.opened", tally.total(|t| t.opened + t.reopened)),
            ("findings.resolved", tally.total(|t| t.resolved)),
            ("findings.errors", tally.total(|t| t.errors)),
            ("findings.conflicts", tally.total(|t| t.conflicts)),
            ("findings.fenced", tally.total(|t| t.fenced)),
        ] {
            counts.insert(name.to_string(), n);
        }
        for name in [
            "resources.observed",
            "resources.created",
            "resources.updated",
            "resources.deleted",
            "resources.stale",
            "throttles",
        ] {
            counts.entry(name.to_string()).or_insert(0);
        }
        let incomplete_units = merged.failed + merged.incomplete;
        let drift = match context.scan_type.records_drift() {
            false => None,
            true => {
                let at = plan::drift_time(&*self.store, &context.job_id, Engine::now().timestamp_millis()).await?;
                let drift = InventoryDrift {
                    timestamp_ms: at,
                    job_id: context.job_id.clone(),
                    rows: merged.drift.values().cloned().collect(),
                    findings: drift_rows(tally),
                    unbaselined_accounts: context.unbaselined.iter().map(|(id, _)| id.clone()).collect(),
                    incomplete_units,
                };
                summary::record_drift_once(
                    &*self.store,
                    DRIFT_INVENTORY_KEY,
                    DRIFT_INVENTORY_SERIES,
                    &drift.job_id,
                    drift.timestamp_ms,
                    &drift,
                )
                .await?;
                Some(drift)
            }
        };
        summary::invalidate(&*self.store).await?;
        let count = |name: &str| counts.get(name).copied().unwrap_or(0);
        let result = json!({
            "Units": context.units,
            "IncompleteUnits": incomplete_units,
            "Resources": {
                "Observed": count("resources.observed"), "Created": count("resources.created"),
                "Updated": count("resources.updated"), "Deleted": count("resources.deleted"),
                "Stale": count("resources.stale"),
            },
            "Findings": tally.by_policy,
            "EvaluationErrors": tally.eval_errors.iter()
                .map(|(arn, p, why)| json!({"ARN": arn, "Policy": p, "Reason": why})).collect::<Vec<_>>(),
            "BaselinedAccounts": baselined,
            "Discovery": context.discovery,
            "Drift": drift,
            // Opens and resolves that time made (not missed by events).
            "TimeBased": drift.as_ref().map(|_| tally.total(|t| t.time_based)),
            "WithinGrace": drift.as_ref().map(|d| d.rows.iter().map(|r| r.within_grace).sum::<u64>()),
            "DriftTotals": drift.as_ref().map(|d| {
                let (c, del, u) = d.totals();
                let (o, r) = finding_drift_totals(&d.findings);
                json!({"MissedCreates": c, "MissedDeletes": del, "MissedUpdates": u, "MissedOpens": o, "MissedResolves": r})
            }),
        });
        job.update(|j| {
            j.counts = counts.clone();
            j.errors = context.errors.iter().chain(&merged.errors).cloned().chain(tally.job_errors()).collect();
            j.progress_done = context.units;
        });
        let failed_all = context.units > 0 && merged.failed == context.units;
        let report = job.finish(failed_all, result).await?;
        plan::drop_units(&*self.store, &context.job_id).await?;
        Ok(report)
    }

    /// The accounts a sweep covers: the named ones (which must exist and be
    /// active), or every active account.
    pub(crate) async fn sweep_accounts(&self, ids: &[String]) -> Result<Vec<Account>, EngineError> {
        let all = self.store.list_accounts().await?;
        if ids.is_empty() {
            return Ok(all.into_iter().filter(Account::is_active).collect());
        }
        ids.iter()
            .map(|id| {
                qrie_model::validate_account_id(id)?;
                let a =
                    all.iter().find(|a| &a.account_id == id).ok_or_else(|| EngineError::UnknownAccount(id.clone()))?;
                if a.is_active() {
                    Ok(a.clone())
                } else {
                    Err(EngineError::AccountRemoved(id.clone()))
                }
            })
            .collect()
    }

    /// The units of a sweep, and the accounts whose enabled regions could
    /// not be read (their regional units are not planned; the account is
    /// incomplete). An account's own regions restrict; otherwise every region
    /// enabled for it, read now; `regions` filters either.
    async fn units(
        &self,
        accounts: &[Account],
        services: &[Service],
        regions: &[String],
    ) -> (Vec<SweepUnit>, Vec<(String, CloudError)>) {
        let regional = services.iter().any(|s| !s.is_global());
        let mut units = Vec::new();
        let mut failed = Vec::new();
        for account in accounts {
            let account_regions = if account.regions.is_empty() && regional {
                match self.cloud.enabled_regions(account).await {
                    Ok(r) => {
                        if r != account.enabled_regions {
                            // What `accounts list` shows as the regions swept.
                            let record = self.update_account(&account.account_id, |a| {
                                a.enabled_regions = r.clone();
                                a.is_active()
                            });
                            if let Err(e) = record.await {
                                tracing::warn!(account = %account.account_id, "enabled regions not recorded: {e}");
                            }
                        }
                        r
                    }
                    Err(e) => {
                        failed.push((account.account_id.clone(), e));
                        Vec::new()
                    }
                }
            } else {
                account.regions.clone()
            };
            for &service in services {
                if service.is_global() {
                    units.push(SweepUnit { account_id: account.account_id.clone(), service, region: None });
                    continue;
                }
                for region in account_regions.iter().filter(|r| regions.is_empty() || regions.contains(r)) {
                    units.push(SweepUnit {
                        account_id: account.account_id.clone(),
                        service,
                        region: Some(region.clone()),
                    });
                }
            }
        }
        (units, failed)
    }

    /// The findings of the unit's resources under the active policies: the
    /// account's findings of the service (in the unit's region, for a
    /// regional one). A finding missing here that exists after all is found
    /// by the conditional write, which decides it again.
    async fn unit_findings(&self, unit: &SweepUnit, policies: &[ActivePolicy]) -> Result<FindingIndex, EngineError> {
        let active: HashSet<&str> = policies.iter().map(ActivePolicy::id).collect();
        let filter = qrie_store::FindingFilter {
            account_id: Some(unit.account_id.clone()),
            service: Some(unit.service),
            region: unit.region.clone(),
            ..Default::default()
        };
        let mut index = FindingIndex::new();
        let mut page = qrie_store::PageRequest::first(qrie_store::MAX_PAGE_SIZE);
        loop {
            let listed = self.store.list_findings(&filter, qrie_store::FindingSort::Key, &page).await?;
            for f in listed.items.into_iter().filter(|f| active.contains(f.policy.as_str())) {
                index.insert((f.arn.clone(), f.policy.clone()), f);
            }
            match listed.next_token {
                Some(t) => page.next_token = Some(t),
                None => break,
            }
        }
        Ok(index)
    }

    /// Stores one unit's listing, marks what it no longer lists deleted (a
    /// complete listing only), evaluates what changed, and counts it all
    /// (with drift, on anti-entropy sweeps of baselined accounts) in `result`.
    async fn process_unit(
        &self,
        run: &mut UnitRun,
        unit: &SweepUnit,
        listing: Listing,
        result: &mut UnitResult,
    ) -> Result<(), EngineError> {
        // What the unit's resources read besides themselves is their own
        // account's: cached for this unit only, so memory stays flat however
        // many accounts a sweep covers.
        run.related = RelatedCache::default();
        let baselined = run.accounts.get(&unit.account_id).is_some_and(Account::is_baselined);
        let measure = run.scan_type.records_drift() && baselined;
        // What AWS still lists after it ended (a terminated instance, for
        // about an hour) is gone: not stored as present, marked deleted if it was.
        let mut listing = listing;
        listing.resources.retain(|r| !qrie_model::has_ended(r));
        let stored = self.store.resource_digests(&unit.account_id, unit.service, unit.region.as_deref()).await?;
        let live: HashMap<&str, &qrie_store::ResourceDigest> =
            stored.iter().filter(|d| !d.deleted).map(|d| (d.arn.as_str(), d)).collect();

        // What changed compared with the inventory, decided before writing.
        let listed_arns: HashSet<&str> = listing.resources.iter().map(|r| r.arn.as_str()).collect();
        let kinds: Vec<Change> = listing
            .resources
            .iter()
            .map(|r| match live.get(r.arn.as_str()) {
                None => Change::Created,
                // A hash of an older scheme says nothing about a change.
                Some(d) if d.config_hash != r.config_hash && comparable_hashes(&d.config_hash, &r.config_hash) => {
                    Change::Updated
                }
                Some(_) => Change::Same,
            })
            .collect();
        let gone: Vec<(String, String)> = if listing.complete {
            live.values()
                .filter(|d| !listed_arns.contains(d.arn.as_str()))
                .map(|d| (d.arn.clone(), d.region.clone()))
                .collect()
        } else {
            Vec::new()
        };

        // References first, so no stored state lacks its index entries.
        let index_all = run.unindexed.contains(&unit.account_id);
        let referencing = listing.resources.iter().zip(&kinds).filter(|(_, k)| index_all || !matches!(k, Change::Same));
        references::record(&*self.store, referencing.map(|(r, _)| r)).await?;
        let outcomes = self.store.put_resources(listing.resources.clone()).await?;
        let mut written: Vec<Resource> = Vec::new();
        for ((resource, outcome), kind) in listing.resources.into_iter().zip(outcomes).zip(kinds) {
            result.count("resources.observed", 1);
            if outcome != WriteOutcome::Written {
                // An event observed something newer; it is not a miss.
                result.count("resources.stale", 1);
                continue;
            }
            match kind {
                Change::Created => result.count("resources.created", 1),
                Change::Updated => result.count("resources.updated", 1),
                Change::Same => {}
            }
            if measure {
                // Every unit of a baselined account gets a row, zeros included:
                // "checked, nothing missed" is a result too.
                let row = result.drift_row(unit, &resource.region);
                // A change AWS dates within the grace window before the
                // listing may have its event still on the way: not a miss.
                let in_flight = qrie_model::changed_at(&resource)
                    .is_some_and(|at| at > listing.observed_at - run.grace && !matches!(kind, Change::Same));
                match kind {
                    _ if in_flight => row.within_grace += 1,
                    Change::Created => row.missed_creates += 1,
                    Change::Updated => row.missed_updates += 1,
                    Change::Same => {}
                }
            }
            run.related.invalidate(&resource.arn);
            written.push(resource);
        }

        let gone_arns: Vec<String> = gone.iter().map(|g| g.0.clone()).collect();
        let outcomes = self.store.mark_deleted(&unit.account_id, gone_arns.clone(), listing.observed_at).await?;
        let mut deleted_arns = Vec::new();
        for ((arn, region), outcome) in gone.into_iter().zip(outcomes) {
            if outcome == WriteOutcome::Written {
                result.count("resources.deleted", 1);
                if measure {
                    result.drift_row(unit, &region).missed_deletes += 1;
                }
                run.related.invalidate(&arn);
                deleted_arns.push(arn);
            }
        }
        let mut index = self.unit_findings(unit, &run.policies).await?;
        // A run stopped after marking resources deleted but before resolving
        // their findings left those findings open, and the deletion is not
        // seen again: an open finding on a resource stored deleted is settled
        // here, so a resumed unit ends as an uninterrupted one.
        let open: HashSet<&str> = index.values().filter(|f| f.is_active()).map(|f| f.arn.as_str()).collect();
        let unsettled = stored.iter().filter(|d| d.deleted && open.contains(d.arn.as_str())).map(|d| d.arn.clone());
        deleted_arns.extend(unsettled);
        if !deleted_arns.is_empty() {
            written.extend(self.store.get_resources(deleted_arns).await?);
        }

        let policies: Vec<&ActivePolicy> = run.policies.iter().collect();
        let tally = &mut result.tally;
        for chunk in written.chunks(1000) {
            run.related.prefetch(&*self.store, &policies, chunk).await?;
            let decisions = evaluate_batch(chunk, &policies, &run.accounts, &run.related, &index, Engine::now(), tally);
            let evaluator = Evaluator { policies: &policies, accounts: &run.accounts };
            commit(&*self.store, decisions, &mut index, &run.trigger, Some(&evaluator), tally).await?;
        }
        Ok(())
    }
}

/// Claims a unit (until `until`, see [`plan::claim`]) and lists it (unless
/// it was taken too often already): what a worker does before it processes
/// the unit. None if another worker changed the unit first.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn take_unit(
    store: &dyn qrie_store::Store,
    cloud: &dyn crate::Cloud,
    accounts: &HashMap<String, Account>,
    job_id: &str,
    owner: &str,
    unit: PlanUnit,
    version: u64,
    until: Option<Timestamp>,
) -> Result<Option<Claimed>, EngineError> {
    let Some((unit, version)) = plan::claim(store, job_id, &unit, version, owner, until).await? else {
        return Ok(None);
    };
    if unit.attempts > MAX_ATTEMPTS {
        return Ok(Some(Claimed { unit, version, listed: None }));
    }
    let listed = match accounts.get(&unit.account_id).filter(|a| a.is_active()) {
        Some(account) => cloud.list(account, &plan::sweep_unit(&unit)).await.map_err(|e: CloudError| e.to_string()),
        None => Err("the account was removed after the sweep was planned".to_string()),
    };
    Ok(Some(Claimed { unit, version, listed: Some(listed) }))
}

#[derive(Clone, Copy)]
enum Change {
    Created,
    Updated,
    Same,
}

/// Findings opened or resolved in baselined accounts, per policy (rows with
/// nothing to report are left out).
pub(crate) fn drift_rows(tally: &Tally) -> Vec<PolicyDriftRow> {
    tally
        .by_policy
        .iter()
        .filter(|(_, t)| t.drift_opens + t.drift_resolves + t.time_based > 0)
        .map(|(p, t)| PolicyDriftRow {
            policy_id: p.clone(),
            missed_opens: t.drift_opens,
            missed_resolves: t.drift_resolves,
            time_based: t.time_based,
        })
        .collect()
}
