//! The one evaluation path: resource → in-scope active policies → verdicts →
//! the lifecycle → finding writes. Sweeps call it for many resources, events
//! for one, policy management to close findings; nothing else applies verdicts.

use qrie_model::lifecycle::{Effect, Outcome};
use qrie_model::{
    Account, EvalContext, Finding, LaunchedPolicy, Params, PolicyDef, RelatedLookup, ResolvedReason, Resource,
    ResourceRef, Severity, Timestamp, Verdict,
};
use qrie_store::{PolicyFence, Store};
use std::collections::{BTreeMap, HashMap};

pub use crate::commit::Decision;
use crate::EngineError;

/// A launched policy joined with its definition, parameters resolved.
#[derive(Debug, Clone)]
pub struct ActivePolicy {
    pub def: &'static PolicyDef,
    pub launched: LaunchedPolicy,
    pub params: Params,
    pub severity: Severity,
}

impl ActivePolicy {
    pub fn new(launched: LaunchedPolicy) -> Result<Self, EngineError> {
        let def = qrie_policies::get(&launched.policy_id)
            .ok_or_else(|| EngineError::UnknownPolicy(launched.policy_id.clone()))?;
        let params = def.resolve_params(&launched.params)?;
        let severity = launched.effective_severity(def);
        Ok(ActivePolicy { def, launched, params, severity })
    }

    pub fn id(&self) -> &str {
        self.def.id
    }

    /// What every finding write decided under this policy requires: the
    /// policy still at the generation it was loaded at.
    pub fn fence(&self) -> PolicyFence {
        PolicyFence::Generation(self.launched.generation)
    }
}

/// Loads the active launched policies. A launched id the catalog no longer
/// knows is reported, not fatal: the rest still run.
pub async fn load_active_policies(store: &dyn Store) -> Result<(Vec<ActivePolicy>, Vec<String>), EngineError> {
    let mut active = Vec::new();
    let mut problems = Vec::new();
    for launched in store.list_policies().await?.into_iter().filter(LaunchedPolicy::is_active) {
        match ActivePolicy::new(launched) {
            Ok(p) => active.push(p),
            Err(e) => problems.push(e.to_string()),
        }
    }
    Ok((active, problems))
}

/// What the lifecycle did, per policy. `drift_*` count only resources of
/// baselined accounts: what a sweep may report as missed by events.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct PolicyTally {
    pub evaluated: u64,
    pub opened: u64,
    pub reopened: u64,
    pub refreshed: u64,
    pub resolved: u64,
    pub errors: u64,
    pub drift_opens: u64,
    pub drift_resolves: u64,
    /// Opens and resolves in baselined accounts that time made (the same
    /// configuration gave the old verdict at the last evaluation): not drift.
    pub time_based: u64,
    /// Writes that found the finding changed since it was read (by an event,
    /// another sweep, an operator), and were decided again.
    pub conflicts: u64,
    /// Writes refused because the policy changed since it was loaded
    /// (suspended, deleted, re-scoped): whoever changed it decides those findings.
    pub fenced: u64,
}

#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Tally {
    pub by_policy: BTreeMap<String, PolicyTally>,
    /// (ARN, policy, reason) of evaluations that ended in `Error`, capped.
    pub eval_errors: Vec<(String, String, String)>,
}

const MAX_RECORDED_EVAL_ERRORS: usize = 200;
/// Examples kept per policy, so one broken policy cannot crowd out the rest.
const MAX_RECORDED_EVAL_ERRORS_PER_POLICY: usize = 5;

impl Tally {
    pub(crate) fn record(&mut self, policy: &str, effect: Effect, baselined: bool, time_driven: bool) {
        let t = self.by_policy.entry(policy.to_string()).or_default();
        match effect {
            Effect::Opened => t.opened += 1,
            Effect::Reopened => t.reopened += 1,
            Effect::Refreshed => t.refreshed += 1,
            Effect::Resolved(_) => t.resolved += 1,
            Effect::Unchanged => {}
        }
        match (baselined, time_driven) {
            (true, true) if effect.is_open() || effect.is_resolve() => t.time_based += 1,
            (true, false) if effect.is_open() => t.drift_opens += 1,
            (true, false) if effect.is_resolve() => t.drift_resolves += 1,
            _ => {}
        }
    }

    pub fn merge(&mut self, other: Tally) {
        for (k, v) in other.by_policy {
            let t = self.by_policy.entry(k).or_default();
            t.evaluated += v.evaluated;
            t.opened += v.opened;
            t.reopened += v.reopened;
            t.refreshed += v.refreshed;
            t.resolved += v.resolved;
            t.errors += v.errors;
            t.drift_opens += v.drift_opens;
            t.drift_resolves += v.drift_resolves;
            t.time_based += v.time_based;
            t.conflicts += v.conflicts;
            t.fenced += v.fenced;
        }
        for (arn, policy, reason) in other.eval_errors {
            self.keep_error(&arn, &policy, reason);
        }
    }

    /// Keeps an evaluation error's example, within the caps.
    pub(crate) fn keep_error(&mut self, arn: &str, policy: &str, reason: String) {
        let of_policy = self.eval_errors.iter().filter(|(_, p, _)| p == policy).count();
        if self.eval_errors.len() < MAX_RECORDED_EVAL_ERRORS && of_policy < MAX_RECORDED_EVAL_ERRORS_PER_POLICY {
            self.eval_errors.push((arn.to_string(), policy.to_string(), reason));
        }
    }

    /// A job's errors for its evaluations that ended in an error: one per
    /// policy, with how many and the first example (resource and reason).
    pub fn job_errors(&self) -> Vec<qrie_model::JobError> {
        self.by_policy
            .iter()
            .filter(|(_, t)| t.errors > 0)
            .map(|(policy, t)| {
                let example = self.eval_errors.iter().find(|(_, p, _)| p == policy);
                qrie_model::JobError {
                    policy_id: Some(policy.clone()),
                    arn: example.map(|(arn, _, _)| arn.clone()),
                    count: Some(t.errors),
                    message: example.map_or_else(
                        || format!("{} evaluations ended in an error", t.errors),
                        |(_, _, why)| why.clone(),
                    ),
                    ..Default::default()
                }
            })
            .collect()
    }

    pub fn total(&self, f: impl Fn(&PolicyTally) -> u64) -> u64 {
        self.by_policy.values().map(f).sum()
    }
}

/// Decides what happened to one (resource, policy) pair.
pub fn decide(
    policy: &ActivePolicy,
    resource: &Resource,
    account: &Account,
    related: &dyn RelatedLookup,
    now: Timestamp,
) -> Outcome {
    if resource.is_deleted() {
        return Outcome::Close(ResolvedReason::ResourceDeleted);
    }
    // Unknown is unknown: scope is never decided from data that could not be
    // read (empty tags after a failed read are not "untagged").
    let scope = &policy.launched.scope;
    let unknown = [
        (scope.reads_tags(), resource.tags_unknown(), "tags"),
        (scope.reads_region(), resource.region_unknown(), "region"),
    ];
    if let Some((_, Some(why), what)) = unknown.into_iter().find(|(reads, why, _)| *reads && why.is_some()) {
        return Outcome::Evaluated(Verdict::Error(format!(
            "the policy's scope depends on the resource's {what}, which could not be read: {why}"
        )));
    }
    if !scope.contains(account.placement(), &resource.region, &resource.tags) {
        return Outcome::Close(ResolvedReason::OutOfScope);
    }
    let ctx = EvalContext { params: &policy.params, now, related };
    Outcome::Evaluated(policy.def.run(resource, &ctx))
}

/// Related resources fetched once per sweep and shared by every evaluation.
#[derive(Default)]
pub struct RelatedCache {
    found: HashMap<String, Resource>,
    looked_up: std::collections::HashSet<String>,
}

impl RelatedCache {
    /// Makes sure everything these policies need for these resources is loaded.
    pub async fn prefetch(
        &mut self,
        store: &dyn Store,
        policies: &[&ActivePolicy],
        resources: &[Resource],
    ) -> Result<(), EngineError> {
        let mut wanted: Vec<String> = Vec::new();
        for r in resources {
            for p in policies.iter().filter(|p| p.def.resource_type == r.resource_type) {
                for arn in p.def.related_arns(r) {
                    if !self.looked_up.contains(&arn) && !wanted.contains(&arn) {
                        wanted.push(arn);
                    }
                }
            }
        }
        if wanted.is_empty() {
            return Ok(());
        }
        for r in store.get_resources(wanted.clone()).await? {
            self.found.insert(r.arn.clone(), r);
        }
        self.looked_up.extend(wanted);
        Ok(())
    }

    /// Forgets a resource so the next prefetch re-reads it (it just changed).
    pub fn invalidate(&mut self, arn: &str) {
        self.found.remove(arn);
        self.looked_up.remove(arn);
    }
}

impl RelatedLookup for RelatedCache {
    fn lookup(&self, arn: &str) -> Option<&Resource> {
        self.found.get(arn)
    }
}

/// Current findings, keyed by (ARN, policy), for the pairs being evaluated.
pub type FindingIndex = HashMap<(String, String), Finding>;

/// Evaluates resources against policies: one decision per (resource, policy)
/// pair, for [`commit`](crate::commit::commit) to apply through the lifecycle.
///
/// Resources of accounts that are unknown or removed are skipped: a removed
/// account leaves sweeps but keeps its findings.
pub fn evaluate_batch(
    resources: &[Resource],
    policies: &[&ActivePolicy],
    accounts: &HashMap<String, Account>,
    related: &RelatedCache,
    index: &FindingIndex,
    now: Timestamp,
    tally: &mut Tally,
) -> Vec<Decision> {
    let mut decisions = Vec::new();
    for resource in resources {
        let Some(account) = accounts.get(&resource.account_id).filter(|a| a.is_active()) else {
            continue;
        };
        for policy in policies.iter().filter(|p| p.def.resource_type == resource.resource_type) {
            let outcome = decide(policy, resource, account, related, now);
            tally.count_evaluation(policy.id(), &resource.arn, &outcome);
            let current = index.get(&(resource.arn.clone(), policy.id().to_string()));
            let time_driven = made_by_time(policy, resource, account, related, current, &outcome, now);
            decisions.push(Decision {
                rref: resource.reference(),
                policy_id: policy.id().to_string(),
                severity: policy.severity,
                fence: policy.fence(),
                outcome,
                baselined: account.is_baselined(),
                time_driven,
                trigger: None,
            });
        }
    }
    decisions
}

/// How far back a verdict with no finding to compare with is judged (the
/// daily policy sweep's period).
const TIME_BASED_LOOKBACK_HOURS: i64 = 24;

/// Whether `outcome` flips the finding only because time passed: the same
/// stored configuration, evaluated at the finding's last evaluation (or a
/// day ago, for no finding), gave the finding's current state. Such a flip
/// (a key that grew too old, a certificate that expired) is no event's miss.
fn made_by_time(
    policy: &ActivePolicy,
    resource: &Resource,
    account: &Account,
    related: &RelatedCache,
    current: Option<&Finding>,
    outcome: &Outcome,
    now: Timestamp,
) -> bool {
    let active = current.is_some_and(Finding::is_active);
    let flips = match outcome {
        Outcome::Evaluated(Verdict::Fail(_)) => !active,
        Outcome::Evaluated(Verdict::Pass | Verdict::NotApplicable) => active,
        _ => false,
    };
    if !flips {
        return false;
    }
    let then = current.map_or(now - chrono::Duration::hours(TIME_BASED_LOOKBACK_HOURS), |f| f.last_evaluated);
    match decide(policy, resource, account, related, then) {
        Outcome::Evaluated(Verdict::Fail(_)) => active,
        Outcome::Evaluated(Verdict::Pass | Verdict::NotApplicable) => !active,
        _ => false,
    }
}

impl Tally {
    /// Counts an evaluation (and keeps the first errors' reasons).
    pub(crate) fn count_evaluation(&mut self, policy: &str, arn: &str, outcome: &Outcome) {
        let Outcome::Evaluated(v) = outcome else { return };
        let t = self.by_policy.entry(policy.to_string()).or_default();
        t.evaluated += 1;
        if let qrie_model::Verdict::Error(reason) = v {
            t.errors += 1;
            self.keep_error(arn, policy, reason.clone());
        }
    }
}

/// Decisions that close findings for a reason (suspension or deletion of a
/// policy, resource gone), each write fenced by `fence`.
pub fn close_findings(
    findings: &[Finding],
    reason: ResolvedReason,
    fence: PolicyFence,
    accounts: &HashMap<String, Account>,
) -> Vec<Decision> {
    findings
        .iter()
        .map(|current| Decision {
            rref: ResourceRef {
                arn: current.arn.clone(),
                account_id: current.account_id.clone(),
                region: current.region.clone(),
                service: current.service().parse().unwrap_or(qrie_model::Service::S3),
                resource_type: current.resource_type.clone(),
            },
            policy_id: current.policy.clone(),
            severity: current.severity,
            fence,
            outcome: Outcome::Close(reason),
            baselined: accounts.get(&current.account_id).is_some_and(Account::is_baselined),
            time_driven: false,
            trigger: None,
        })
        .collect()
}
