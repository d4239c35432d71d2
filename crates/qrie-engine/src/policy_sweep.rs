//! Policy sweeps: re-evaluate the stored inventory against active policies.
//! Used by the daily anti-entropy schedule, by `qrie scan policies`, and as the
//! bootstrap scan that follows a policy launch or scope change.

use qrie_model::{
    finding_drift_totals, Account, FindingState, Job, JobError, JobKind, LaunchedPolicy, PlanUnit, PolicyDrift,
    ResolvedReason, ScanType, Service, Timestamp, Trigger, UnitState,
};
use qrie_store::{FindingFilter, FindingGroup, FindingSort, PageRequest, PolicyFence, ResourceFilter};
use serde_json::json;
use std::collections::{BTreeSet, HashMap, HashSet};

use crate::commit::{commit, Evaluator};
use crate::evaluate::{
    close_findings, evaluate_batch, load_active_policies, ActivePolicy, FindingIndex, RelatedCache, Tally,
};
use crate::inventory::drift_rows;
use crate::jobs::{queued_job, JobReport, JobTracker, Progress, QueuedRun};
use crate::plan::{self, PlanContext, UnitResult};
use crate::summary::{self, DRIFT_POLICY_KEY, DRIFT_POLICY_SERIES};
use crate::{Engine, EngineError};

const PAGE: usize = 1000;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicySweepRequest {
    /// One policy, or (None) every active policy.
    pub policy_id: Option<String>,
    pub scan_type: ScanType,
}

impl Engine {
    pub async fn policy_sweep(
        &self,
        req: &PolicySweepRequest,
        progress: &dyn Progress,
    ) -> Result<JobReport, EngineError> {
        self.sweep_policies(req, None, progress).await
    }

    /// Records a policy sweep that another process or function will run (a
    /// Lambda API hands it to the scanner): a `queued` job whose id the caller
    /// can answer with at once, lost unless started by `start_by`. The request
    /// is checked as a sweep would check it.
    pub async fn queue_policy_sweep(
        &self,
        req: &PolicySweepRequest,
        start_by: Option<Timestamp>,
    ) -> Result<Job, EngineError> {
        let (policies, _) = self.policies_to_sweep(req).await?;
        let job = Job {
            deadline: start_by,
            ..queued_job(JobKind::PolicySweep, req.scan_type, sweep_target(&policies), Engine::now())
        };
        self.store.put_job(job.clone()).await?;
        Ok(job)
    }

    /// Runs the sweep queued as `job_id` under that id, lost unless it ends by
    /// `deadline`. A job no longer queued (delivered twice, run already, or
    /// failed as lost) is answered as it stands, unswept.
    pub async fn run_queued_policy_sweep(
        &self,
        job_id: &str,
        req: &PolicySweepRequest,
        deadline: Option<Timestamp>,
        progress: &dyn Progress,
    ) -> Result<JobReport, EngineError> {
        match self.take_queued(job_id, JobKind::PolicySweep, deadline).await? {
            Ok(run) => self.sweep_policies(req, Some(&run), progress).await,
            Err(as_it_stands) => Ok(as_it_stands),
        }
    }

    /// The active policies a request names, and problems loading the others.
    async fn policies_to_sweep(
        &self,
        req: &PolicySweepRequest,
    ) -> Result<(Vec<ActivePolicy>, Vec<String>), EngineError> {
        let (mut policies, problems) = load_active_policies(&*self.store).await?;
        if let Some(id) = &req.policy_id {
            if qrie_policies::get(id).is_none() {
                return Err(EngineError::UnknownPolicy(id.clone()));
            }
            policies.retain(|p| p.id() == id);
            if policies.is_empty() {
                return Err(EngineError::NotLaunched(id.clone()));
            }
        }
        Ok((policies, problems))
    }

    /// Plans a policy sweep and runs its plan here.
    async fn sweep_policies(
        &self,
        req: &PolicySweepRequest,
        queued: Option<&QueuedRun>,
        progress: &dyn Progress,
    ) -> Result<JobReport, EngineError> {
        let (job, context) = self.plan_policy_sweep(req, queued, progress).await?;
        self.run_policy_plan(job, context, None).await
    }

    /// Starts a policy sweep's job and writes its plan: one unit per
    /// (account, service) partition of the store that the swept policies read.
    pub(crate) async fn plan_policy_sweep<'a>(
        &'a self,
        req: &PolicySweepRequest,
        queued: Option<&QueuedRun>,
        progress: &'a dyn Progress,
    ) -> Result<(JobTracker<'a>, PlanContext), EngineError> {
        let now = Engine::now();
        let (policies, problems) = self.policies_to_sweep(req).await?;
        let target = sweep_target(&policies);
        let job =
            JobTracker::start(&self.store, progress, queued, JobKind::PolicySweep, req.scan_type, target, now).await?;
        let accounts: Vec<Account> = self.store.list_accounts().await?.into_iter().filter(Account::is_active).collect();
        let services: BTreeSet<Service> = policies.iter().map(|p| p.def.service).collect();
        let units: Vec<PlanUnit> =
            accounts.iter().flat_map(|a| services.iter().map(|&s| PlanUnit::queued(&a.account_id, s, None))).collect();
        let context = PlanContext {
            job_id: job.id.clone(),
            scan_type: req.scan_type,
            full_sweep: req.policy_id.is_none(),
            drift_grace_seconds: 0,
            unbaselined: accounts
                .iter()
                .filter(|a| !a.is_baselined())
                .map(|a| (a.account_id.clone(), a.added_at))
                .collect(),
            units: units.len() as u64,
            errors: problems.into_iter().map(|message| JobError { message, ..JobError::default() }).collect(),
            discovery: serde_json::Value::Null,
            drift_at_ms: None,
            policy_id: req.policy_id.clone(),
            unindexed: Vec::new(),
        };
        plan::write(&*self.store, &context, &units).await?;
        Ok((job, context))
    }

    /// Runs the units of a policy sweep's plan not yet finished, one at a
    /// time, and finalises it (as the inventory's plan runner does).
    pub(crate) async fn run_policy_plan(
        &self,
        mut job: JobTracker<'_>,
        context: PlanContext,
        stopped_owner: Option<String>,
    ) -> Result<JobReport, EngineError> {
        let job_id = context.job_id.clone();
        let plan::Survey { merged: so_far, unfinished } =
            plan::start_run(&*self.store, &mut job, &context, "account-service partitions").await?;

        let run = self.policy_unit_run(&context, None).await?;
        let now = Engine::now();
        let owner = job.owner().to_string();
        let mut last = so_far.finished == context.units;
        for (unit, version) in unfinished.into_iter().filter(|(u, _)| plan::takeable(u, now, stopped_owner.as_deref()))
        {
            let Some((unit, version)) = plan::claim(&*self.store, &job_id, &unit, version, &owner, None).await? else {
                continue;
            };
            let key = unit.key();
            if !self.run_policy_unit(&run, &job_id, unit, version).await? {
                continue;
            }
            last = plan::count_finished(&*self.store, &job_id).await? == context.units;
            job.advance(1, &key).await?;
        }
        if !last {
            let held = plan::survey(&*self.store, &job_id).await?.unfinished.len();
            if held > 0 {
                return Err(EngineError::Conflict(format!(
                    "{held} units of job {job_id} are held by another worker: the job ends when they do"
                )));
            }
        }
        self.finalise_policy_sweep(job, &context).await
    }

    /// What every unit of a policy sweep evaluates with: the policies as they
    /// are now (one suspended or deleted since the plan was made is no longer
    /// evaluated: its findings are closed by the suspension, and by the full
    /// sweep's end) and the accounts (`only`: the one a unit message reads).
    pub(crate) async fn policy_unit_run(
        &self,
        context: &PlanContext,
        only: Option<&str>,
    ) -> Result<PolicyUnitRun, EngineError> {
        let (mut policies, _) = load_active_policies(&*self.store).await?;
        if let Some(id) = &context.policy_id {
            policies.retain(|p| p.id() == id);
        }
        let accounts = self.accounts_by_id(only).await?;
        let trigger = Trigger::job(context.scan_type.detected_by(), context.job_id.clone());
        Ok(PolicyUnitRun { policies, accounts, trigger })
    }

    /// Sweeps one claimed unit (at `version`, as the claim left it) and ends
    /// it: whether this run ended it (false: another worker took it over).
    pub(crate) async fn run_policy_unit(
        &self,
        run: &PolicyUnitRun,
        job_id: &str,
        unit: PlanUnit,
        version: u64,
    ) -> Result<bool, EngineError> {
        let mut result = UnitResult::default();
        let of_service: Vec<&ActivePolicy> = run.policies.iter().filter(|p| p.def.service == unit.service).collect();
        let partition = PolicyPartition { policies: &of_service, accounts: &run.accounts, trigger: &run.trigger };
        // Related resources are the partition's account's own: a cache per unit.
        let mut related = RelatedCache::default();
        self.sweep_partition(&partition, &unit, &mut related, &mut result.tally).await?;
        plan::end(&*self.store, job_id, &unit, version, UnitState::Done, None, &result).await
    }

    /// The end of a policy sweep, once every unit has ended.
    pub(crate) async fn finalise_policy_sweep(
        &self,
        job: JobTracker<'_>,
        context: &PlanContext,
    ) -> Result<JobReport, EngineError> {
        let merged = plan::survey(&*self.store, &context.job_id).await?.merged;
        let tally = &merged.tally;
        // Anti-entropy for the policy fence: a finding written just before a
        // suspension or deletion that the purge's listing missed (on DynamoDB
        // it lists through an index that lags) is closed here.
        let closed_for_inactive = if context.full_sweep { self.close_inactive_policies().await? } else { 0 };
        let mut counts = merged.counts.clone();
        counts.insert("findings.closed_inactive_policy".into(), closed_for_inactive);
        for (name, n) in [
            ("evaluations", tally.total(|t| t.evaluated)),
            ("findings.opened", tally.total(|t| t.opened + t.reopened)),
            ("findings.resolved", tally.total(|t| t.resolved)),
            ("findings.errors", tally.total(|t| t.errors)),
            ("findings.conflicts", tally.total(|t| t.conflicts)),
            ("findings.fenced", tally.total(|t| t.fenced)),
        ] {
            counts.insert(name.into(), n);
        }
        let drift = match context.scan_type.records_drift() {
            false => None,
            true => {
                let at = plan::drift_time(&*self.store, &context.job_id, Engine::now().timestamp_millis()).await?;
                let drift = PolicyDrift {
                    timestamp_ms: at,
                    job_id: context.job_id.clone(),
                    rows: drift_rows(tally),
                    unbaselined_accounts: context.unbaselined.iter().map(|(id, _)| id.clone()).collect(),
                };
                summary::record_drift_once(
                    &*self.store,
                    DRIFT_POLICY_KEY,
                    DRIFT_POLICY_SERIES,
                    &drift.job_id,
                    at,
                    &drift,
                )
                .await?;
                Some(drift)
            }
        };
        summary::invalidate(&*self.store).await?;
        let result = json!({
            "Units": context.units,
            "Policies": tally.by_policy,
            "EvaluationErrors": tally.eval_errors.iter()
                .map(|(arn, p, why)| json!({"ARN": arn, "Policy": p, "Reason": why})).collect::<Vec<_>>(),
            "Drift": drift,
            // Opens and resolves that time made (not missed by events).
            "TimeBased": drift.as_ref().map(|_| tally.total(|t| t.time_based)),
            "DriftTotals": drift.as_ref().map(|d| {
                let (o, r) = finding_drift_totals(&d.rows);
                json!({"MissedOpens": o, "MissedResolves": r})
            }),
        });
        job.update(|j| {
            j.counts = counts;
            j.errors = context.errors.iter().chain(&merged.errors).cloned().chain(tally.job_errors()).collect();
            j.progress_done = context.units;
        });
        let report = job.finish(false, result).await?;
        plan::drop_units(&*self.store, &context.job_id).await?;
        Ok(report)
    }

    /// Closes the active findings of every policy that is neither active nor
    /// paused (suspended: POLICY_SUSPENDED; no longer launched: POLICY_DELETED).
    /// Returns how many it closed.
    async fn close_inactive_policies(&self) -> Result<u64, EngineError> {
        let launched: HashMap<String, LaunchedPolicy> =
            self.store.list_policies().await?.into_iter().map(|p| (p.policy_id.clone(), p)).collect();
        let active = FindingFilter { state: Some(FindingState::Active), ..Default::default() };
        let mut closed = 0;
        for (policy_id, _) in self.store.count_findings(&active, Some(FindingGroup::Policy)).await? {
            let (reason, fence) = match launched.get(&policy_id) {
                Some(p) if p.keeps_findings() => continue,
                Some(p) => (ResolvedReason::PolicySuspended, PolicyFence::Generation(p.generation)),
                None => (ResolvedReason::PolicyDeleted, PolicyFence::Absent),
            };
            closed += self.purge(&policy_id, reason, fence).await?.resolved;
        }
        Ok(closed)
    }

    /// Evaluates every stored resource of one account-service partition
    /// under the partition's policies, then closes their active findings
    /// whose resource the inventory no longer holds live.
    async fn sweep_partition(
        &self,
        partition: &PolicyPartition<'_>,
        unit: &PlanUnit,
        related: &mut RelatedCache,
        tally: &mut Tally,
    ) -> Result<(), EngineError> {
        let PolicyPartition { policies, accounts, trigger } = *partition;
        if policies.is_empty() {
            return Ok(());
        }
        // Findings are read before the resources they are decided from: an
        // event that changes a resource after it was read here changes its
        // findings after they were read too, so the write conflicts and is
        // decided again from the resource as stored then.
        let mut index = self.partition_findings(&unit.account_id, unit.service, policies).await?;
        let mut seen: HashSet<String> = HashSet::new();
        let types: HashSet<&str> = policies.iter().map(|p| p.def.resource_type).collect();
        let filter = ResourceFilter {
            account_id: Some(unit.account_id.clone()),
            service: Some(unit.service),
            ..Default::default()
        };
        let mut page = PageRequest::first(PAGE);
        loop {
            let mut batch = self.store.list_resources(&filter, &page).await?;
            batch.items.retain(|r| types.contains(r.resource_type.as_str()));
            related.prefetch(&*self.store, policies, &batch.items).await?;
            let decisions = evaluate_batch(&batch.items, policies, accounts, related, &index, Engine::now(), tally);
            let evaluator = Evaluator { policies, accounts };
            commit(&*self.store, decisions, &mut index, trigger, Some(&evaluator), tally).await?;
            seen.extend(batch.items.iter().map(|r| r.arn.clone()));
            match batch.next_token {
                Some(t) => page.next_token = Some(t),
                None => break,
            }
        }
        // Active findings on resources the inventory no longer holds live.
        for policy in policies {
            let orphans: Vec<_> = index
                .values()
                .filter(|f| f.policy == policy.id() && !seen.contains(&f.arn))
                // (and those an earlier attempt at this unit closed: counted by this one)
                .filter(|f| {
                    f.is_active()
                        || trigger.job_id.is_some()
                            && f.history.last().is_some_and(|t| t.trigger.job_id == trigger.job_id)
                })
                .cloned()
                .collect();
            let decisions = close_findings(&orphans, ResolvedReason::ResourceDeleted, policy.fence(), accounts);
            let evaluator = Evaluator { policies, accounts };
            commit(&*self.store, decisions, &mut index, trigger, Some(&evaluator), tally).await?;
        }
        Ok(())
    }

    /// The findings of an account-service partition under these policies.
    async fn partition_findings(
        &self,
        account_id: &str,
        service: Service,
        policies: &[&ActivePolicy],
    ) -> Result<FindingIndex, EngineError> {
        let wanted: HashSet<&str> = policies.iter().map(|p| p.id()).collect();
        let filter =
            FindingFilter { account_id: Some(account_id.to_string()), service: Some(service), ..Default::default() };
        let mut index = FindingIndex::new();
        let mut page = PageRequest::first(qrie_store::MAX_PAGE_SIZE);
        loop {
            let listed = self.store.list_findings(&filter, FindingSort::Key, &page).await?;
            for f in listed.items.into_iter().filter(|f| wanted.contains(f.policy.as_str())) {
                index.insert((f.arn.clone(), f.policy.clone()), f);
            }
            match listed.next_token {
                Some(t) => page.next_token = Some(t),
                None => break,
            }
        }
        Ok(index)
    }
}

/// What the units of one policy sweep evaluate with, loaded once per run
/// (or per unit message).
pub(crate) struct PolicyUnitRun {
    policies: Vec<ActivePolicy>,
    accounts: HashMap<String, Account>,
    trigger: Trigger,
}

/// What the units of one policy sweep run share.
#[derive(Clone, Copy)]
struct PolicyPartition<'a> {
    policies: &'a [&'a ActivePolicy],
    accounts: &'a HashMap<String, Account>,
    trigger: &'a Trigger,
}

fn sweep_target(policies: &[ActivePolicy]) -> serde_json::Value {
    json!({ "Policies": policies.iter().map(|p| p.id()).collect::<Vec<_>>() })
}
