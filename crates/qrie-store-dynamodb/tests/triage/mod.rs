//! Triage on both backends (SQLite and DynamoDB on moto): suppression rules
//! matched on every scope field, expiry with an injected clock, edit,
//! disable and delete, a finding that resolves and reopens under a rule,
//! counts kept apart in the dashboard and compliance posture, policy pause
//! and resume, the audit log, and the races on rules forced.

mod archive;

use chrono::Duration;
use qrie_engine::audit::AuditQuery;
use qrie_engine::suppressions::{RuleDraft, RuleEdit, SuppressedFilter};
use qrie_engine::{Engine, EngineError, NoProgress, PolicySweepRequest};
use qrie_model::audit::AuditAction;
use qrie_model::suppression::{FindingKey, RuleStatus, SuppressionCategory, SuppressionScope};
use qrie_model::{history_series, Finding, FindingState, PolicyStatus, ScanType, Timestamp, TransitionKind};
use qrie_store::{FindingFilter, FindingSort, FindingWrite, PageRequest, Store};
use qrie_store_dynamodb::{DynamoStore, Moto};
use std::collections::BTreeMap;
use std::sync::Arc;

async fn all_active(store: &dyn Store) -> Vec<Finding> {
    let filter = FindingFilter { state: Some(FindingState::Active), ..Default::default() };
    let mut out = Vec::new();
    let mut page = PageRequest::first(1000);
    loop {
        let p = store.list_findings(&filter, FindingSort::Key, &page).await.unwrap();
        out.extend(p.items);
        match p.next_token {
            Some(t) => page.next_token = Some(t),
            None => return out,
        }
    }
}

fn draft(scope: SuppressionScope, expires_at: Option<Timestamp>) -> RuleDraft {
    RuleDraft {
        scope,
        reason: "accepted for the test".into(),
        category: SuppressionCategory::AcceptedRisk,
        owner: "secops".into(),
        expires_at,
    }
}

/// How many active findings a preview of `scope` counts, against a count by
/// an independent predicate over every active finding.
async fn check_preview(engine: &Engine, scope: SuppressionScope, expected: impl Fn(&Finding) -> bool, now: Timestamp) {
    let all = all_active(&*engine.store).await;
    let want = all.iter().filter(|f| expected(f)).count() as u64;
    let got = engine.preview_suppression(&scope, now).await.unwrap();
    assert_eq!(got.total, want, "{scope:?}");
    assert_eq!(got.by_policy.values().sum::<u64>(), want);
    assert!(got.findings.iter().all(&expected), "every listed finding matches {scope:?}");
}

async fn unsuppressed_entries(store: &dyn Store, f: &Finding) -> Vec<qrie_model::Transition> {
    store
        .list_history(&history_series(&f.arn, &f.policy), 0, 1000)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|(_, v)| serde_json::from_value::<qrie_model::Transition>(v).ok())
        .filter(|t| t.kind == TransitionKind::Unsuppressed)
        .collect()
}

async fn scenario(store: Arc<dyn Store>) {
    let spec =
        qrie_engine::sim::SimSpec { seed: 14, accounts: 2, resources_per_account: 40, created_at: chrono::Utc::now() };
    let (engine, _estate) = qrie_engine::sim::swept_estate(store.clone(), spec).await.unwrap();
    let engine = engine.acting_as("token:alice");
    let now = Engine::now();
    let active = all_active(&*store).await;
    assert!(active.len() > 20, "the estate must have findings: {}", active.len());

    // The policy with the most active findings, and one finding of it.
    let mut by_policy: BTreeMap<&str, usize> = BTreeMap::new();
    for f in &active {
        *by_policy.entry(&f.policy).or_default() += 1;
    }
    let (top, _) = by_policy.iter().max_by_key(|(_, n)| **n).map(|(p, n)| (p.to_string(), *n)).unwrap();
    let one = active.iter().find(|f| f.policy == top).unwrap().clone();
    let account = one.account_id.clone();

    // --- Matching on every scope field, as a preview counts it.
    let s = |f: fn(&mut SuppressionScope, &Finding)| {
        let mut s = SuppressionScope::default();
        f(&mut s, &one);
        s
    };
    check_preview(&engine, s(|s, f| s.policies = vec![f.policy.clone()]), |f| f.policy == one.policy, now).await;
    check_preview(&engine, s(|s, f| s.accounts = vec![f.account_id.clone()]), |f| f.account_id == account, now).await;
    check_preview(&engine, s(|s, f| s.regions = vec![f.region.clone()]), |f| f.region == one.region, now).await;
    check_preview(&engine, s(|s, f| s.arn = Some(f.arn.clone())), |f| f.arn == one.arn, now).await;
    let prefix = format!("{}*", &one.arn[..one.arn.len() - 2]);
    let glob = SuppressionScope { arn: Some(prefix.clone()), ..Default::default() };
    check_preview(&engine, glob, |f| qrie_model::suppression::glob_matches(&prefix, &f.arn), now).await;
    let key = FindingKey { arn: one.arn.clone(), policy: one.policy.clone() };
    let single = SuppressionScope { finding: Some(key.clone()), ..Default::default() };
    check_preview(&engine, single.clone(), |f| f.arn == one.arn && f.policy == one.policy, now).await;
    // Tags: all must match, read from the resources.
    let tagged = {
        let mut found = None;
        for f in &active {
            if let Some(r) = store.get_resource(&f.arn).await.unwrap().filter(|r| !r.tags.is_empty()) {
                found = Some(r);
                break;
            }
        }
        found.expect("the estate has tagged resources with findings")
    };
    let (k, v) = tagged.tags.iter().next().map(|(k, v)| (k.clone(), v.clone())).unwrap();
    let tags = SuppressionScope { tags: vec![format!("{k}={v}").parse().unwrap()], ..Default::default() };
    let mut tag_of: BTreeMap<String, Option<String>> = BTreeMap::new();
    for f in &active {
        let r = store.get_resource(&f.arn).await.unwrap();
        tag_of.insert(f.arn.clone(), r.and_then(|r| r.tags.get(&k).cloned()));
    }
    check_preview(&engine, tags, |f| tag_of[&f.arn].as_deref() == Some(v.as_str()), now).await;
    let both = SuppressionScope {
        tags: vec![format!("{k}={v}").parse().unwrap(), "no-such-tag-key".parse().unwrap()],
        ..Default::default()
    };
    check_preview(&engine, both, |_| false, now).await;
    // OUs: the account placed under one.
    let mut acct = store.get_account(&account).await.unwrap().unwrap();
    let expected_revision = acct.revision;
    acct.org_path = vec!["r-ab12".into(), "ou-ab12-triage00".into()];
    acct.revision += 1;
    assert!(store.put_account(acct, Some(expected_revision)).await.unwrap());
    let ous = SuppressionScope { ous: vec!["ou-ab12-triage00".into()], ..Default::default() };
    check_preview(&engine, ous, |f| f.account_id == account, now).await;
    // A policy that does not exist is refused, not silently matched to nothing.
    let typo = SuppressionScope { policies: vec!["s3-bucket-publik".into()], ..Default::default() };
    assert!(matches!(engine.add_suppression(draft(typo, None), now).await, Err(EngineError::UnknownPolicy(_))));
    let no_reason = RuleDraft { reason: "  ".into(), ..draft(single.clone(), None) };
    assert!(engine.add_suppression(no_reason, now).await.unwrap_err().to_string().contains("reason"));

    // --- A policy-wide rule that expires in an hour: counted apart.
    let before = engine.compute_dashboard().await.unwrap();
    let top_count = all_active(&*store).await.iter().filter(|f| f.policy == top).count() as u64;
    let hour = engine
        .add_suppression(
            draft(
                SuppressionScope { policies: vec![top.clone()], ..Default::default() },
                Some(now + Duration::hours(1)),
            ),
            now,
        )
        .await
        .unwrap();
    assert_eq!(hour.created_by, "token:alice");
    let d = engine.compute_dashboard().await.unwrap();
    assert_eq!(d.findings.suppressed, top_count);
    assert_eq!(d.findings.active, before.findings.active - top_count, "suppressed findings are not counted active");
    assert_eq!(d.findings.by_severity.values().sum::<u64>(), d.findings.active);
    assert_eq!(d.findings.suppressed_by_severity.values().sum::<u64>(), top_count);
    assert!(d.findings.top_policies.iter().all(|(p, _)| *p != top), "{:?}", d.findings.top_policies);
    assert_eq!(d.suppressions_valid_until, hour.expires_at);
    let posture = engine.compliance(None).await.unwrap();
    let mapped: Vec<_> =
        posture.iter().flat_map(|p| &p.controls).filter(|c| c.active_policies.contains(&top)).collect();
    for c in &mapped {
        assert!(c.suppressed_findings >= top_count.min(1), "{} shows the suppressed findings apart", c.control_id);
    }
    // The findings list: hidden by default, listed with their overlay on request.
    let filter = FindingFilter { state: Some(FindingState::Active), policy: Some(top.clone()), ..Default::default() };
    let page = PageRequest::first(1000);
    let shown = engine.list_finding_views(&filter, FindingSort::Key, &page, SuppressedFilter::No, now).await.unwrap();
    assert!(shown.items.is_empty());
    let hidden = engine.list_finding_views(&filter, FindingSort::Key, &page, SuppressedFilter::Yes, now).await.unwrap();
    assert_eq!(hidden.items.len() as u64, top_count);
    assert!(hidden
        .items
        .iter()
        .all(|v| v.suppression.as_ref().is_some_and(|s| s.rule_id == hour.id && s.until == hour.expires_at)));

    // --- Expiry, with the clock moved on: no sweep, no write needed.
    let later = now + Duration::hours(2);
    let after = engine.list_finding_views(&filter, FindingSort::Key, &page, SuppressedFilter::No, later).await.unwrap();
    assert_eq!(after.items.len() as u64, top_count, "expired: every finding shows again");
    assert_eq!(engine.suppression_rule(&hour.id).await.unwrap().status(later), RuleStatus::Expired);
    let (a, b) = tokio::join!(engine.record_expiries(later), engine.record_expiries(later));
    let recorded: Vec<String> = a.unwrap().into_iter().chain(b.unwrap()).collect();
    assert_eq!(recorded, vec![hour.id.clone()], "recorded once, however many notice it");
    assert!(engine.record_expiries(later).await.unwrap().is_empty());
    assert_eq!(unsuppressed_entries(&*store, &one).await.len(), 1, "the unsuppression is an event on the finding");
    let q = AuditQuery { action: Some(AuditAction::SuppressionExpire), until: Some(later), ..Default::default() };
    let expired = engine.audit_log(&q, later).await.unwrap();
    assert_eq!(expired.len(), 1);
    assert_eq!((expired[0].actor.as_str(), expired[0].target.as_str()), ("qrie", hour.id.as_str()));

    // --- One finding: edit, disable, enable, delete; every change audited.
    // (At `later`, when the policy-wide rule no longer covers it.)
    let t = later;
    let rule = engine.add_suppression(draft(single.clone(), None), t).await.unwrap();
    let suppressed = |at| {
        let engine = engine.clone();
        let one = one.clone();
        async move {
            let s = engine.suppressor(at).await.unwrap();
            s.overlays(&*engine.store, std::slice::from_ref(&one)).await.unwrap()[0].clone()
        }
    };
    assert_eq!(suppressed(t).await.map(|s| s.rule_id), Some(rule.id.clone()));
    let stale = engine
        .edit_suppression(
            &rule.id,
            RuleEdit { reason: Some("a new reason".into()), ..Default::default() },
            Some(rule.revision + 5),
            t,
        )
        .await;
    assert!(matches!(stale, Err(EngineError::Conflict(_))), "{stale:?}");
    // Two editors who read the same revision: exactly one lands.
    let edit = |reason: &str| RuleEdit { reason: Some(reason.into()), ..Default::default() };
    let (x, y) = tokio::join!(
        engine.edit_suppression(&rule.id, edit("first editor"), Some(rule.revision), t),
        engine.edit_suppression(&rule.id, edit("second editor"), Some(rule.revision), t)
    );
    assert_eq!([x.is_ok(), y.is_ok()].iter().filter(|ok| **ok).count(), 1, "{x:?} {y:?}");
    let disabled = engine.set_suppression_enabled(&rule.id, false, None, t).await.unwrap();
    assert_eq!(disabled.status(t), RuleStatus::Disabled);
    assert_eq!(suppressed(t).await, None, "disabling unsuppresses at once");
    assert_eq!(unsuppressed_entries(&*store, &one).await.len(), 2);
    engine.set_suppression_enabled(&rule.id, true, None, t).await.unwrap();
    assert!(suppressed(t).await.is_some());

    // Resolved, then reopened, under a rule that still matches: still suppressed.
    let mut f = store.get_finding(&one.arn, &one.policy).await.unwrap().unwrap();
    f.state = FindingState::Resolved;
    f.version += 1;
    store.write_findings(vec![FindingWrite::unchecked(f.clone())]).await.unwrap();
    f.state = FindingState::Active;
    f.version += 1;
    store.write_findings(vec![FindingWrite::unchecked(f)]).await.unwrap();
    assert!(suppressed(t).await.is_some(), "a reopened finding stays suppressed under a matching rule");
    // ...and under a rule that expired, it reopens visibly.
    let expiring = engine.add_suppression(draft(single.clone(), Some(t + Duration::minutes(5))), t).await.unwrap();
    engine.delete_suppression(&rule.id, t).await.unwrap();
    assert_eq!(suppressed(t).await.map(|s| s.rule_id), Some(expiring.id.clone()));
    assert_eq!(suppressed(t + Duration::minutes(6)).await, None);
    assert!(matches!(engine.set_suppression_enabled(&rule.id, false, None, t).await, Err(EngineError::Conflict(_))));
    let deleted = engine.suppression_rule(&rule.id).await.unwrap();
    assert_eq!((deleted.status(t), deleted.deleted_by.as_deref()), (RuleStatus::Deleted, Some("token:alice")));
    let trail = engine.audit_log(&AuditQuery { target: Some(rule.id.clone()), ..Default::default() }, t).await.unwrap();
    let actions: Vec<AuditAction> = trail.iter().map(|e| e.action).collect();
    assert_eq!(
        actions,
        [
            AuditAction::SuppressionDelete,
            AuditAction::SuppressionEnable,
            AuditAction::SuppressionDisable,
            AuditAction::SuppressionEdit,
            AuditAction::SuppressionCreate
        ],
        "newest first"
    );
    assert!(trail.iter().all(|e| e.actor == "token:alice"));
    let by_actor = AuditQuery { actor: Some("token:nobody".into()), ..Default::default() };
    assert!(engine.audit_log(&by_actor, t).await.unwrap().is_empty());

    // --- Pause: events and sweeps skip the policy, its findings stay as they are.
    let paused = engine.pause_policy(&top).await.unwrap();
    assert_eq!(paused.status, PolicyStatus::Paused);
    let held: Vec<Finding> = all_active(&*store).await.into_iter().filter(|f| f.policy == top).collect();
    let sweep = PolicySweepRequest { policy_id: None, scan_type: ScanType::AntiEntropy };
    engine.policy_sweep(&sweep, &NoProgress).await.unwrap();
    for f in &held {
        let now_stored = store.get_finding(&f.arn, &f.policy).await.unwrap().unwrap();
        assert_eq!(
            (now_stored.state, now_stored.last_evaluated, now_stored.version),
            (f.state, f.last_evaluated, f.version),
            "untouched while paused"
        );
    }
    let views =
        engine.list_finding_views(&filter, FindingSort::Key, &page, SuppressedFilter::All, later).await.unwrap();
    assert!(!views.items.is_empty() && views.items.iter().all(|v| v.policy_paused));
    assert!(matches!(engine.pause_policy(&top).await, Err(EngineError::Paused(_))));
    assert!(matches!(engine.launch_policy(&top, Default::default(), &NoProgress).await, Err(EngineError::Paused(_))));
    let (resumed, resweep) = engine.resume_policy(&top).await.unwrap();
    assert_eq!(resumed.status, PolicyStatus::Active);
    engine.policy_sweep(&resweep, &NoProgress).await.unwrap();
    let f = store.get_finding(&held[0].arn, &held[0].policy).await.unwrap().unwrap();
    assert!(f.last_evaluated > held[0].last_evaluated, "resume re-evaluates everything in scope");
    let markers: Vec<TransitionKind> = store
        .list_history(&history_series(&f.arn, &f.policy), 0, 1000)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|(_, v)| serde_json::from_value::<qrie_model::Transition>(v).ok())
        .map(|t| t.kind)
        .filter(|k| matches!(k, TransitionKind::Paused | TransitionKind::Resumed))
        .collect();
    assert_eq!(markers, [TransitionKind::Paused, TransitionKind::Resumed]);
    let policy_trail =
        engine.audit_log(&AuditQuery { target: Some(top.clone()), ..Default::default() }, Engine::now()).await.unwrap();
    let actions: Vec<AuditAction> = policy_trail.iter().map(|e| e.action).collect();
    assert_eq!(actions[..2], [AuditAction::PolicyResume, AuditAction::PolicyPause]);
    assert!(matches!(engine.resume_policy(&top).await, Err(EngineError::NotPaused(_))));
    println!("{}: triage scenario passed ({} active findings)", store.location(), active.len());
}

/// A fresh SQLite store (in `dir`) and DynamoDB tables on moto under `prefix`.
async fn both_backends(dir: &tempfile::TempDir, prefix: &str) -> [Arc<dyn Store>; 2] {
    let dynamo = DynamoStore::new(Moto::shared().client().await, prefix);
    dynamo.init().await.expect("tables");
    let sqlite = qrie_store::open(&format!("sqlite:{}", dir.path().join(format!("{prefix}.db")).display())).unwrap();
    [sqlite, Arc::new(dynamo)]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suppressions_pause_and_audit_on_both_backends() {
    let dir = tempfile::tempdir().unwrap();
    for store in both_backends(&dir, "triage_").await {
        scenario(store).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archive_before_purge_on_both_backends() {
    let dir = tempfile::tempdir().unwrap();
    for store in both_backends(&dir, "archive_").await {
        archive::scenario(store).await;
    }
}
