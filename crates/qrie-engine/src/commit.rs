//! Writing decisions under optimistic concurrency: the one place where
//! lifecycle results reach the store (DESIGN.md §9, concurrency model).
//!
//! Events, sweeps and operators decide findings at the same time. Each
//! decision is applied by the lifecycle to the finding as it was read, and
//! written on two conditions the store checks: the stored finding is still at
//! the version read, and the launched policy is still at the generation the
//! decision was made under (its fence). Then:
//! - **Conflict** (another writer changed the finding first): the finding is
//!   read again and, when the decision came from an evaluation, so is the
//!   resource, which is evaluated again; the lifecycle is applied to what is
//!   stored now. A sweep never writes back a stale copy, nor a verdict from a
//!   configuration older than the one an event just stored.
//! - **Written, but decided from a resource that changed since** (a sweep
//!   read a bucket, an event then made it compliant and found nothing to
//!   write, the sweep's open lands): version checks on the finding cannot see
//!   this, because the other writer wrote no finding. So every transition an
//!   evaluation wrote is checked against the resource (and what it reads) as
//!   stored after the write, and decided again when that disagrees. A writer
//!   that changes the resource after this check reads the finding after the
//!   write, so it sees the transition and decides from there.
//! - **Fenced** (the policy was suspended, deleted or changed): the policy is
//!   read again; if it is still active (a scope, parameter or severity change)
//!   the finding is decided again under it, else the write is dropped: the
//!   suspension or deletion closes the policy's findings itself.
//!
//! What the lifecycle did is counted only for writes that landed, so a sweep
//! that lost a race to an event does not report the event's open as missed.

use qrie_model::lifecycle::{self, Effect, Outcome, Subject};
use qrie_model::notice::Notice;
use qrie_model::{Account, ResourceRef, Severity, TransitionKind, Trigger};
use qrie_store::{FindingWrite, FindingWriteOutcome, PolicyFence, Store};
use std::collections::{HashMap, HashSet};

use crate::evaluate::{decide, ActivePolicy, FindingIndex, RelatedCache, Tally};
use crate::{Engine, EngineError};

/// Rounds of re-reading and re-deciding a finding that other writers keep
/// changing before the write is given up and reported as an error.
const ATTEMPTS: usize = 6;

/// Whether the lifecycle changed the finding's state (rather than refreshing it).
fn is_transition(effect: Effect) -> bool {
    !matches!(effect, Effect::Refreshed | Effect::Unchanged)
}

/// What happened to one (resource, policy) pair, before the lifecycle.
#[derive(Debug, Clone)]
pub struct Decision {
    pub rref: ResourceRef,
    pub policy_id: String,
    /// The severity a new or refreshed finding gets.
    pub severity: Severity,
    pub fence: PolicyFence,
    pub outcome: Outcome,
    /// Whether the account is baselined (only then is a sweep's change drift).
    pub baselined: bool,
    /// Whether an open or resolve would come from the passage of time alone
    /// (counted as time-based, not as missed).
    pub time_driven: bool,
    /// What made this decision due, when not the commit's own trigger (a
    /// batch of events commits together, each under its own event).
    pub trigger: Option<std::sync::Arc<Trigger>>,
}

/// What re-deciding an evaluation needs: the policies and accounts it was
/// made with. (The resource and what it reads are read again.)
pub struct Evaluator<'a> {
    pub policies: &'a [&'a ActivePolicy],
    pub accounts: &'a HashMap<String, Account>,
}

/// Applies `decisions` through the lifecycle to the findings in `index` (the
/// findings as read; kept current), writes them conditionally and resolves
/// conflicts. `evaluator` re-evaluates a conflicting decision against the
/// resource as stored now; without it (operator closes) the same outcome is
/// applied to the finding as stored now.
pub async fn commit(
    store: &dyn Store,
    decisions: Vec<Decision>,
    index: &mut FindingIndex,
    trigger: &Trigger,
    evaluator: Option<&Evaluator<'_>>,
    tally: &mut Tally,
) -> Result<(), EngineError> {
    let mut pending = decisions;
    // Policies read again after a fence, by id (None: no longer active).
    let mut reloaded: HashMap<String, Option<ActivePolicy>> = HashMap::new();
    // Findings being put back after a transition this commit wrote from a
    // resource that had changed under it.
    let mut corrections: HashSet<(String, String)> = HashSet::new();
    for _ in 0..ATTEMPTS {
        if pending.is_empty() {
            return Ok(());
        }
        let now = Engine::now();
        let mut writes = Vec::new();
        let mut owners = Vec::new();
        for (i, d) in pending.iter().enumerate() {
            let key = (d.rref.arn.clone(), d.policy_id.clone());
            let current = index.get(&key);
            let subject = Subject { resource: &d.rref, policy_id: &d.policy_id, severity: d.severity };
            let trigger = d.trigger.as_deref().unwrap_or(trigger);
            let (effect, write) = lifecycle::apply(current, subject, &d.outcome, trigger, now);
            let counted_as = made_by_this_job(current, effect, trigger).unwrap_or(effect);
            match write {
                Some(mut finding) => {
                    finding.version = current.map_or(0, |c| c.version) + 1;
                    // A transition is told (notifications, Security Hub) by
                    // the same write that makes it.
                    let notice = is_transition(effect).then(|| Notice::of_latest(&finding)).flatten();
                    writes.push(FindingWrite { finding, fence: d.fence, notice });
                    owners.push((i, effect, counted_as));
                }
                None if counted_as != effect => tally.record(&d.policy_id, counted_as, d.baselined, d.time_driven),
                None => {}
            }
        }
        if writes.is_empty() {
            return Ok(());
        }
        let outcomes = store.write_findings(writes.clone()).await?;
        let mut conflicted = Vec::new();
        let mut fenced = Vec::new();
        let mut transitioned = Vec::new();
        let mut log = Vec::new();
        for ((write, (i, effect, counted_as)), outcome) in writes.into_iter().zip(owners).zip(outcomes) {
            let d = &pending[i];
            match outcome {
                FindingWriteOutcome::Written => {
                    let key = (d.rref.arn.clone(), d.policy_id.clone());
                    // A correction puts back what another writer left: not
                    // this writer's change to count.
                    let counted = !corrections.remove(&key);
                    let transition = is_transition(effect);
                    if transition {
                        log.extend(transition_point(&write.finding)?);
                    }
                    if transition && evaluator.is_some() {
                        transitioned.push((i, effect, counted));
                    } else if counted {
                        tally.record(&d.policy_id, counted_as, d.baselined, d.time_driven);
                    }
                    index.insert(key, write.finding);
                }
                FindingWriteOutcome::Fenced => {
                    tally.by_policy.entry(d.policy_id.clone()).or_default().fenced += 1;
                    fenced.push(i);
                }
                FindingWriteOutcome::Conflict => {
                    tally.by_policy.entry(d.policy_id.clone()).or_default().conflicts += 1;
                    conflicted.push(i);
                }
            }
        }
        // After the writes: a transition that lost its race is never logged.
        store.append_history_many(log).await?;
        let mut next = Vec::with_capacity(conflicted.len() + fenced.len());
        if let Some(ev) = evaluator {
            let written: Vec<&Decision> = transitioned.iter().map(|&(i, _, _)| &pending[i]).collect();
            let mut stale = stale_transitions(store, ev, index, trigger, &written).await?;
            for (n, (i, effect, counted)) in transitioned.into_iter().enumerate() {
                let d = &pending[i];
                match stale.remove(&n) {
                    Some(again) => {
                        tally.by_policy.entry(d.policy_id.clone()).or_default().conflicts += 1;
                        corrections.insert((d.rref.arn.clone(), d.policy_id.clone()));
                        next.push(again);
                    }
                    None if counted => tally.record(&d.policy_id, effect, d.baselined, d.time_driven),
                    None => {}
                }
            }
        }
        for i in conflicted {
            let d = pending[i].clone();
            refresh(store, index, &d).await?;
            match evaluator {
                Some(ev) => next.extend(redecide(store, ev, None, d).await?),
                None => next.push(d),
            }
        }
        for i in fenced {
            let Some(ev) = evaluator else { continue };
            let d = pending[i].clone();
            if !reloaded.contains_key(&d.policy_id) {
                let current = store.get_policy(&d.policy_id).await?.filter(|p| p.is_active());
                reloaded.insert(d.policy_id.clone(), current.and_then(|p| ActivePolicy::new(p).ok()));
            }
            if let Some(policy) = &reloaded[&d.policy_id] {
                refresh(store, index, &d).await?;
                next.extend(redecide(store, ev, Some(policy), d).await?);
            }
        }
        pending = next;
    }
    for d in &pending {
        tally.by_policy.entry(d.policy_id.clone()).or_default().errors += 1;
        tally.keep_error(
            &d.rref.arn,
            &d.policy_id,
            format!("the finding kept changing under {ATTEMPTS} attempts to write it; the next sweep decides it"),
        );
    }
    Ok(())
}

/// The transition this job made to the finding before — an earlier attempt
/// at the same unit, whose worker stopped after writing it — that `effect`
/// (no transition) now confirms: the attempt that ends the unit counts it,
/// so a unit's counts do not depend on how many attempts it took.
fn made_by_this_job(current: Option<&qrie_model::Finding>, effect: Effect, trigger: &Trigger) -> Option<Effect> {
    let job = trigger.job_id.as_ref()?;
    let last = current?.history.last()?;
    if last.trigger.job_id.as_ref() != Some(job) {
        return None;
    }
    match (effect, last.kind) {
        (Effect::Refreshed, TransitionKind::Opened) => Some(Effect::Opened),
        (Effect::Refreshed, TransitionKind::Reopened) => Some(Effect::Reopened),
        (Effect::Unchanged, TransitionKind::Resolved) => last.reason.map(Effect::Resolved),
        _ => None,
    }
}

/// The finding's latest transition as a point of its full log (the finding
/// keeps only its first and latest ones inline).
fn transition_point(f: &qrie_model::Finding) -> Result<Option<(String, i64, serde_json::Value)>, EngineError> {
    let Some(t) = f.history.last() else { return Ok(None) };
    let value = serde_json::to_value(t).map_err(|e| EngineError::Conflict(e.to_string()))?;
    Ok(Some((qrie_model::history_series(&f.arn, &f.policy), t.at.timestamp_millis(), value)))
}

/// Reads the decision's finding again into `index`.
async fn refresh(store: &dyn Store, index: &mut FindingIndex, d: &Decision) -> Result<(), EngineError> {
    let key = (d.rref.arn.clone(), d.policy_id.clone());
    match store.get_finding(&key.0, &key.1).await? {
        Some(f) => index.insert(key, f),
        None => index.remove(&key),
    };
    Ok(())
}

/// The transitions among `written` that the resource as stored now (and
/// what it reads) no longer supports, by position, decided again from it: a
/// writer that changed the resource between this commit's read and its
/// write, and wrote no finding itself, is not left undone.
async fn stale_transitions(
    store: &dyn Store,
    ev: &Evaluator<'_>,
    index: &FindingIndex,
    trigger: &Trigger,
    written: &[&Decision],
) -> Result<HashMap<usize, Decision>, EngineError> {
    let mut again = HashMap::new();
    if written.is_empty() {
        return Ok(again);
    }
    let mut arns: Vec<String> = written.iter().map(|d| d.rref.arn.clone()).collect();
    arns.sort();
    arns.dedup();
    let resources: HashMap<String, qrie_model::Resource> =
        store.get_resources(arns).await?.into_iter().map(|r| (r.arn.clone(), r)).collect();
    let listed: Vec<qrie_model::Resource> = resources.values().cloned().collect();
    let mut related = RelatedCache::default();
    related.prefetch(store, ev.policies, &listed).await?;
    let now = Engine::now();
    for (n, d) in written.iter().enumerate() {
        let (Some(policy), Some(resource)) =
            (ev.policies.iter().find(|p| p.id() == d.policy_id), resources.get(&d.rref.arn))
        else {
            continue;
        };
        let Some(account) = ev.accounts.get(&resource.account_id).filter(|a| a.is_active()) else { continue };
        let outcome = decide(policy, resource, account, &related, now);
        let current = index.get(&(d.rref.arn.clone(), d.policy_id.clone()));
        let rref = resource.reference();
        let subject = Subject { resource: &rref, policy_id: &d.policy_id, severity: d.severity };
        let (effect, _) = lifecycle::apply(current, subject, &outcome, d.trigger.as_deref().unwrap_or(trigger), now);
        if !matches!(effect, Effect::Refreshed | Effect::Unchanged) {
            again.insert(n, Decision { rref, outcome, baselined: account.is_baselined(), ..(*d).clone() });
        }
    }
    Ok(again)
}

/// The decision made again against the resource as stored now, under
/// `policy` (the policy as read again after a fence) or the one it was made
/// under. `None` when there is nothing to decide any more (its account left
/// the sweep).
async fn redecide(
    store: &dyn Store,
    ev: &Evaluator<'_>,
    policy: Option<&ActivePolicy>,
    d: Decision,
) -> Result<Option<Decision>, EngineError> {
    let Some(policy) = policy.or_else(|| ev.policies.iter().find(|p| p.id() == d.policy_id).copied()) else {
        return Ok(Some(d));
    };
    let d = Decision { fence: policy.fence(), severity: policy.severity, ..d };
    let Some(resource) = store.get_resource(&d.rref.arn).await? else {
        return Ok(Some(d));
    };
    let Some(account) = ev.accounts.get(&resource.account_id).filter(|a| a.is_active()) else {
        return Ok(None);
    };
    // What the resource reads may have changed too (the writer that won may
    // have been an event on a security group the instance uses).
    let mut related = RelatedCache::default();
    related.prefetch(store, &[policy], std::slice::from_ref(&resource)).await?;
    let outcome = decide(policy, &resource, account, &related, Engine::now());
    Ok(Some(Decision { rref: resource.reference(), outcome, baselined: account.is_baselined(), ..d }))
}
