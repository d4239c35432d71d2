//! Policy sweeps: re-evaluate the stored inventory against active policies.
//! Used by the daily anti-entropy schedule, by `qrie scan policies`, and as the
//! bootstrap scan that follows a policy launch or scope change.

use qrie_model::{
    finding_drift_totals, Account, FindingState, Job, JobError, JobKind, LaunchedPolicy, PolicyDrift, ResolvedReason,
    ScanType, Timestamp, Trigger,
};
use qrie_store::{FindingFilter, FindingGroup, PageRequest, PolicyFence, ResourceFilter};
use serde_json::json;
use std::collections::{HashMap, HashSet};

use crate::commit::{commit, Evaluator};
use crate::evaluate::{close_findings, evaluate_batch, load_active_policies, ActivePolicy, RelatedCache, Tally};
use crate::inventory::drift_rows;
use crate::jobs::{queued_job, JobReport, JobTracker, Progress, QueuedRun};
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

    async fn sweep_policies(
        &self,
        req: &PolicySweepRequest,
        queued: Option<&QueuedRun>,
        progress: &dyn Progress,
    ) -> Result<JobReport, EngineError> {
        let now = Engine::now();
        let (policies, problems) = self.policies_to_sweep(req).await?;
        let target = sweep_target(&policies);
        let mut job =
            JobTracker::start(&self.store, progress, queued, JobKind::PolicySweep, req.scan_type, target, now).await?;
        for p in problems {
            job.error(JobError { account_id: None, service: None, region: None, policy_id: None, message: p });
        }
        let accounts: HashMap<String, Account> =
            self.store.list_accounts().await?.into_iter().map(|a| (a.account_id.clone(), a)).collect();
        let unbaselined: Vec<String> =
            accounts.values().filter(|a| a.is_active() && !a.is_baselined()).map(|a| a.account_id.clone()).collect();

        let mut total = 0;
        for p in &policies {
            let filter = ResourceFilter { resource_type: Some(p.def.resource_type.to_string()), ..Default::default() };
            total += self.store.count_resources(&filter, None).await?.first().map_or(0, |c| c.1);
        }
        job.set_total(total, "resource evaluations");

        let trigger = Trigger::job(req.scan_type.detected_by(), job.id.clone());
        let mut tally = Tally::default();
        let mut related = RelatedCache::default();
        for policy in &policies {
            self.sweep_one(policy, &accounts, &mut related, &trigger, &mut tally, &mut job).await?;
        }

        // Anti-entropy for the policy fence: a finding written just before a
        // suspension or deletion that the purge's listing missed (on DynamoDB
        // it lists through an index that lags) is closed here.
        let closed_for_inactive = if req.policy_id.is_none() { self.close_inactive_policies().await? } else { 0 };
        job.count("findings.closed_inactive_policy", closed_for_inactive);
        for (name, n) in [
            ("evaluations", tally.total(|t| t.evaluated)),
            ("findings.opened", tally.total(|t| t.opened + t.reopened)),
            ("findings.resolved", tally.total(|t| t.resolved)),
            ("findings.errors", tally.total(|t| t.errors)),
            ("findings.conflicts", tally.total(|t| t.conflicts)),
            ("findings.fenced", tally.total(|t| t.fenced)),
        ] {
            job.count(name, n);
        }
        let drift = req.scan_type.records_drift().then(|| PolicyDrift {
            timestamp_ms: Engine::now().timestamp_millis(),
            job_id: job.id.clone(),
            rows: drift_rows(&tally),
            unbaselined_accounts: unbaselined,
        });
        if let Some(d) = &drift {
            summary::record_drift(&*self.store, DRIFT_POLICY_KEY, DRIFT_POLICY_SERIES, d.timestamp_ms, d).await?;
        }
        summary::invalidate(&*self.store).await?;
        let result = json!({
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
        job.finish(false, result).await
    }

    /// Closes the active findings of every policy that is not active
    /// (suspended: POLICY_SUSPENDED; no longer launched: POLICY_DELETED).
    /// Returns how many it closed.
    async fn close_inactive_policies(&self) -> Result<u64, EngineError> {
        let launched: HashMap<String, LaunchedPolicy> =
            self.store.list_policies().await?.into_iter().map(|p| (p.policy_id.clone(), p)).collect();
        let active = FindingFilter { state: Some(FindingState::Active), ..Default::default() };
        let mut closed = 0;
        for (policy_id, _) in self.store.count_findings(&active, Some(FindingGroup::Policy)).await? {
            let (reason, fence) = match launched.get(&policy_id) {
                Some(p) if p.is_active() => continue,
                Some(p) => (ResolvedReason::PolicySuspended, PolicyFence::Generation(p.generation)),
                None => (ResolvedReason::PolicyDeleted, PolicyFence::Absent),
            };
            closed += self.purge(&policy_id, reason, fence).await?.resolved;
        }
        Ok(closed)
    }

    /// Evaluates every stored resource of the policy's type, then closes the
    /// policy's active findings whose resource is no longer in the inventory.
    async fn sweep_one(
        &self,
        policy: &ActivePolicy,
        accounts: &HashMap<String, Account>,
        related: &mut RelatedCache,
        trigger: &Trigger,
        tally: &mut Tally,
        job: &mut JobTracker<'_>,
    ) -> Result<(), EngineError> {
        // Findings are read before the resources they are decided from: an
        // event that changes a resource after it was read here changes its
        // findings after they were read too, so the write conflicts and is
        // decided again from the resource as stored then.
        let mut index = self.preload_findings(std::slice::from_ref(policy)).await?;
        let mut seen: HashSet<String> = HashSet::new();
        let filter = ResourceFilter { resource_type: Some(policy.def.resource_type.to_string()), ..Default::default() };
        let mut page = PageRequest::first(PAGE);
        let policies = [policy];
        loop {
            let batch = self.store.list_resources(&filter, &page).await?;
            related.prefetch(&*self.store, &policies, &batch.items).await?;
            let decisions = evaluate_batch(&batch.items, &policies, accounts, related, &index, Engine::now(), tally);
            let evaluator = Evaluator { policies: &policies, accounts };
            commit(&*self.store, decisions, &mut index, trigger, Some(&evaluator), tally).await?;
            seen.extend(batch.items.iter().map(|r| r.arn.clone()));
            job.advance(batch.items.len() as u64, policy.id()).await?;
            match batch.next_token {
                Some(t) => page.next_token = Some(t),
                None => break,
            }
        }
        // Active findings on resources the inventory no longer holds live.
        // Removed accounts keep their findings (soft delete).
        let orphans: Vec<_> = index
            .values()
            .filter(|f| f.is_active() && !seen.contains(&f.arn))
            .filter(|f| accounts.get(&f.account_id).is_none_or(Account::is_active))
            .cloned()
            .collect();
        let decisions = close_findings(&orphans, ResolvedReason::ResourceDeleted, policy.fence(), accounts);
        let evaluator = Evaluator { policies: &policies, accounts };
        commit(&*self.store, decisions, &mut index, trigger, Some(&evaluator), tally).await?;
        Ok(())
    }
}

fn sweep_target(policies: &[ActivePolicy]) -> serde_json::Value {
    json!({ "Policies": policies.iter().map(|p| p.id()).collect::<Vec<_>>() })
}
