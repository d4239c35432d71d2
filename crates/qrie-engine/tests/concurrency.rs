//! Findings stay right while events, sweeps and operators race (the SQLite
//! half of `qrie_engine::sim::race`; the DynamoDB half runs on moto in
//! qrie-store-dynamodb). Several seeds: several interleavings.

use qrie_engine::sim::race::{self, RaceSpec};

async fn race_on_sqlite(seed: u64) {
    let dir = tempfile::tempdir().unwrap();
    let store = qrie_store::open(&format!("sqlite:{}", dir.path().join("race.db").display())).unwrap();
    let (engine, report) = race::run(store, RaceSpec::small(seed)).await.expect("the race runs");
    assert!(report.changes > 0, "changes went through the event path");
    let problems = race::violations(&engine).await.expect("checked");
    assert!(problems.is_empty(), "seed {seed} ({report:?}): {} problem(s):\n{}", problems.len(), problems.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn findings_stay_right_under_racing_writers_seed_1() {
    race_on_sqlite(1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn findings_stay_right_under_racing_writers_seed_2() {
    race_on_sqlite(2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn findings_stay_right_under_racing_writers_seed_3() {
    race_on_sqlite(3).await;
}

/// Changes whose CloudTrail records all went through the event path leave
/// nothing for the anti-entropy sweeps to catch: 0 missed opens and resolves
/// (dependents included: a security group opened re-evaluates the instances
/// using it), and 0 missed creates, deletes and updates.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_through_events_leave_no_drift() {
    use qrie_engine::sim::{swept_estate, SimSpec};
    use qrie_engine::{InventoryRequest, NoProgress, PolicySweepRequest};
    use qrie_model::ScanType;
    let dir = tempfile::tempdir().unwrap();
    let store = qrie_store::open(&format!("sqlite:{}", dir.path().join("d.db").display())).unwrap();
    let spec = SimSpec { seed: 11, accounts: 3, resources_per_account: 400, created_at: chrono::Utc::now() };
    let (engine, estate) = swept_estate(store, spec).await.unwrap();
    let changes = estate.write().unwrap().apply_changes(300, Some(5));
    assert_eq!(changes.len(), 300);
    let routed: Vec<_> =
        changes.iter().enumerate().map(|(i, c)| qrie_engine::events::route_record(i, c.record.clone())).collect();
    let report = engine.ingest_events(&routed).await.unwrap();
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert!(report.stats.findings_opened > 0 && report.stats.findings_resolved > 0, "{:?}", report.stats);

    let req = PolicySweepRequest { policy_id: None, scan_type: ScanType::AntiEntropy };
    let swept = engine.policy_sweep(&req, &NoProgress).await.unwrap();
    let totals = &swept.result["DriftTotals"];
    assert_eq!(
        (totals["MissedOpens"].as_u64(), totals["MissedResolves"].as_u64()),
        (Some(0), Some(0)),
        "policy sweep drift: {}",
        swept.result["Drift"]
    );
    let req = InventoryRequest { scan_type: ScanType::AntiEntropy, ..Default::default() };
    let swept = engine.inventory_sweep(&req, &NoProgress).await.unwrap();
    let totals = &swept.result["DriftTotals"];
    for kind in ["MissedCreates", "MissedDeletes", "MissedUpdates", "MissedOpens", "MissedResolves"] {
        assert_eq!(totals[kind].as_u64(), Some(0), "{kind}: {}", swept.result["Drift"]);
    }
}
