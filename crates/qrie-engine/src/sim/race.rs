//! The concurrency scenario every backend must survive: inventory and policy
//! sweeps, a stream of simulated changes through the event path, and policy
//! suspension, deletion, re-scoping and relaunch, all at once on the
//! simulated estate, then checked against a from-scratch re-evaluation.
//!
//! Like the store's conformance suite, it is written once and run by each
//! backend's tests (SQLite in this crate, DynamoDB on moto in
//! `qrie-store-dynamodb`). A seed fixes the estate, the changes and the
//! operators' timing, so each seed is one repeatable interleaving (up to the
//! scheduler).

use qrie_model::lifecycle::Outcome;
use qrie_model::{Account, Finding, FindingState, ScanType, Scope, TransitionKind, Verdict};
use qrie_store::{FindingFilter, FindingSort, PageRequest, ResourceFilter, Store};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use super::{swept_estate, SimEstate, SimSpec};
use crate::evaluate::{decide, load_active_policies, RelatedCache};
use crate::policies::{LaunchOptions, PolicyUpdate};
use crate::{Engine, EngineError, InventoryRequest, NoProgress, PolicySweepRequest};

/// The size of one run.
#[derive(Debug, Clone, Copy)]
pub struct RaceSpec {
    pub seed: u64,
    pub accounts: usize,
    pub resources_per_account: usize,
    /// Rounds of simulated changes sent through the event path.
    pub event_rounds: usize,
    pub changes_per_round: usize,
}

impl RaceSpec {
    pub fn small(seed: u64) -> Self {
        RaceSpec { seed, accounts: 2, resources_per_account: 60, event_rounds: 12, changes_per_round: 3 }
    }
}

/// What a run did, and the policies the operators changed.
#[derive(Debug, Clone, Default)]
pub struct RaceReport {
    pub suspended: String,
    pub deleted: String,
    pub rescoped: String,
    pub relaunched: String,
    pub changes: usize,
}

/// Runs the scenario on `store` (empty) and returns what it did; the caller
/// checks [`violations`] on the engine it gets back.
pub async fn run(store: Arc<dyn Store>, spec: RaceSpec) -> Result<(Engine, RaceReport), EngineError> {
    let sim = SimSpec {
        seed: spec.seed,
        accounts: spec.accounts,
        resources_per_account: spec.resources_per_account,
        created_at: chrono::Utc::now() - chrono::Duration::days(400),
    };
    let (engine, estate) = swept_estate(store, sim).await?;
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);

    // Four distinct launched policies that have findings, chosen by the seed.
    let mut with_findings: Vec<String> = engine
        .list_policies(crate::policies::PolicyListing::Active)
        .await?
        .into_iter()
        .filter(|p| p.active_findings > 0)
        .map(|p| p.policy_id)
        .collect();
    if with_findings.len() < 4 {
        return Err(EngineError::Conflict("the race scenario needs four policies with findings".into()));
    }
    let mut pick = || with_findings.remove(rng.random_range(0..with_findings.len()));
    let report = RaceReport { suspended: pick(), deleted: pick(), rescoped: pick(), relaunched: pick(), changes: 0 };
    let first_account = engine.store.list_accounts().await?[0].account_id.clone();
    let delays: [u64; 8] = std::array::from_fn(|_| rng.random_range(0..40));

    let events = {
        let (engine, estate) = (engine.clone(), estate.clone());
        tokio::spawn(async move { event_stream(engine, estate, spec).await })
    };
    let inventory = {
        let engine = engine.clone();
        tokio::spawn(async move {
            sleep(delays[0]).await;
            let req = InventoryRequest { scan_type: ScanType::AntiEntropy, ..Default::default() };
            engine.inventory_sweep(&req, &NoProgress).await
        })
    };
    let policy_sweep = {
        let engine = engine.clone();
        tokio::spawn(async move {
            sleep(delays[1]).await;
            let req = PolicySweepRequest { policy_id: None, scan_type: ScanType::AntiEntropy };
            engine.policy_sweep(&req, &NoProgress).await
        })
    };
    let operators = {
        let (engine, r) = (engine.clone(), report.clone());
        tokio::spawn(async move {
            sleep(delays[2]).await;
            engine.suspend_policy(&r.suspended).await?;
            sleep(delays[3]).await;
            engine.delete_policy(&r.deleted).await?;
            sleep(delays[4]).await;
            let scope = Scope { exclude_accounts: vec![first_account], ..Scope::default() };
            let update = PolicyUpdate { scope: Some(scope), ..PolicyUpdate::default() };
            engine.update_policy(&r.rescoped, update, &NoProgress).await?;
            sleep(delays[5]).await;
            engine.suspend_policy(&r.relaunched).await?;
            sleep(delays[6]).await;
            engine.launch_policy(&r.relaunched, LaunchOptions::default(), &NoProgress).await?;
            Ok::<_, EngineError>(())
        })
    };
    let joined = |e: tokio::task::JoinError| EngineError::Conflict(format!("a racing task panicked: {e}"));
    let changes = events.await.map_err(joined)??;
    inventory.await.map_err(joined)??;
    policy_sweep.await.map_err(joined)??;
    operators.await.map_err(joined)??;
    Ok((engine, RaceReport { changes, ..report }))
}

async fn sleep(ms: u64) {
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

/// Rounds of changes to the estate, each round's CloudTrail records ingested
/// through the event path as `qrie demo change` sends them.
async fn event_stream(engine: Engine, estate: Arc<RwLock<SimEstate>>, spec: RaceSpec) -> Result<usize, EngineError> {
    let mut sent = 0;
    for round in 0..spec.event_rounds {
        let changes = {
            let mut e = estate.write().map_err(|_| EngineError::Conflict("estate lock poisoned".into()))?;
            e.apply_changes(spec.changes_per_round, Some(spec.seed.wrapping_mul(31).wrapping_add(round as u64)))
        };
        let routed: Vec<_> =
            changes.iter().enumerate().map(|(i, c)| crate::events::route_record(i, c.record.clone())).collect();
        sent += changes.len();
        let report = engine.ingest_events(&routed).await?;
        if let Some(e) = report.errors.first() {
            return Err(EngineError::Conflict(format!("event ingestion failed: {e}")));
        }
        sleep(5).await;
    }
    Ok(sent)
}

/// Every way the store's findings disagree with a from-scratch evaluation of
/// the stored inventory under the launched policies, or with their own
/// history. Empty when the findings are right.
pub async fn violations(engine: &Engine) -> Result<Vec<String>, EngineError> {
    let store = &*engine.store;
    let mut out = Vec::new();
    let launched: HashMap<String, bool> =
        store.list_policies().await?.into_iter().map(|p| (p.policy_id.clone(), p.keeps_findings())).collect();
    let accounts: HashMap<String, Account> =
        store.list_accounts().await?.into_iter().map(|a| (a.account_id.clone(), a)).collect();
    let findings = all_findings(store).await?;
    let mut by_key: HashMap<(String, String), &Finding> = HashMap::new();
    for f in &findings {
        by_key.insert((f.arn.clone(), f.policy.clone()), f);
        if let Some(problem) = history_problem(f) {
            out.push(format!("{} {}: {problem}", f.arn, f.policy));
        }
        if f.is_active() && launched.get(&f.policy) != Some(&true) {
            let status = if launched.contains_key(&f.policy) { "suspended" } else { "deleted" };
            out.push(format!("{} {}: ACTIVE finding of a {status} policy", f.arn, f.policy));
        }
    }

    let (policies, _) = load_active_policies(store).await?;
    let now = Engine::now();
    for policy in &policies {
        let filter = ResourceFilter {
            resource_type: Some(policy.def.resource_type.to_string()),
            include_deleted: true,
            ..Default::default()
        };
        let mut page = PageRequest::first(500);
        loop {
            let batch = store.list_resources(&filter, &page).await?;
            let mut related = RelatedCache::default();
            related.prefetch(store, &[policy], &batch.items).await?;
            for r in &batch.items {
                let Some(account) = accounts.get(&r.account_id).filter(|a| a.is_active()) else { continue };
                let outcome = decide(policy, r, account, &related, now);
                let finding = by_key.get(&(r.arn.clone(), policy.id().to_string()));
                let active = finding.is_some_and(|f| f.is_active());
                let want_active = match &outcome {
                    Outcome::Evaluated(Verdict::Fail(_)) => true,
                    Outcome::Evaluated(Verdict::Error(_)) => continue,
                    _ => false,
                };
                if active != want_active {
                    out.push(format!(
                        "{} {}: finding is {} but a fresh evaluation gives {}",
                        r.arn,
                        policy.id(),
                        finding.map_or("absent", |f| f.state.as_str()),
                        describe(&outcome)
                    ));
                }
            }
            match batch.next_token {
                Some(t) => page.next_token = Some(t),
                None => break,
            }
        }
    }
    Ok(out)
}

fn describe(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Evaluated(Verdict::Fail(_)) => "Fail".into(),
        Outcome::Evaluated(Verdict::Pass) => "Pass".into(),
        Outcome::Evaluated(Verdict::NotApplicable) => "NotApplicable".into(),
        Outcome::Evaluated(Verdict::Error(e)) => format!("Error({e})"),
        Outcome::Close(reason) => format!("closed ({reason})"),
    }
}

/// A history must open, then alternate resolve and reopen, and end in the
/// finding's state (with its resolution reason).
fn history_problem(f: &Finding) -> Option<String> {
    let kinds: Vec<TransitionKind> = f.history.iter().map(|t| t.kind).collect();
    if kinds.first() != Some(&TransitionKind::Opened) {
        return Some(format!("history does not start with an open: {kinds:?}"));
    }
    // Transitions beyond the first and the latest ones are only in the full
    // log: the inline history then jumps after the first.
    let skip = usize::from(f.transition_count() > f.history.len() as u64);
    for pair in kinds[skip..].windows(2) {
        let ok = match pair[1] {
            TransitionKind::Resolved => pair[0] != TransitionKind::Resolved,
            TransitionKind::Reopened => pair[0] == TransitionKind::Resolved,
            TransitionKind::Opened => false,
            // Markers live in the full log only.
            TransitionKind::Paused | TransitionKind::Resumed | TransitionKind::Unsuppressed => false,
        };
        if !ok {
            return Some(format!("transitions out of order: {kinds:?}"));
        }
    }
    let last = f.history.last().expect("a history that starts has a last");
    let state = if last.kind == TransitionKind::Resolved { FindingState::Resolved } else { FindingState::Active };
    if state != f.state {
        return Some(format!("state {} but the last transition is {:?}", f.state.as_str(), last.kind));
    }
    if f.state == FindingState::Resolved && f.resolved_reason != last.reason {
        return Some(format!("resolved as {:?} but the last transition says {:?}", f.resolved_reason, last.reason));
    }
    None
}

async fn all_findings(store: &dyn Store) -> Result<Vec<Finding>, EngineError> {
    let mut out = Vec::new();
    let mut page = PageRequest::first(1000);
    loop {
        let p = store.list_findings(&FindingFilter::default(), FindingSort::Key, &page).await?;
        out.extend(p.items);
        match p.next_token {
            Some(t) => page.next_token = Some(t),
            None => return Ok(out),
        }
    }
}
