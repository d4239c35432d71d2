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
