//! The store conformance suite on DynamoDB (moto's server): the same cases
//! the SQLite backend passes, each on its own freshly created tables.

use qrie_store::Store;
use qrie_store_dynamodb::{DynamoStore, Moto};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

async fn fresh() -> Arc<dyn Store> {
    static CASE: AtomicU32 = AtomicU32::new(0);
    let prefix = format!("c{}_{}_", std::process::id(), CASE.fetch_add(1, Ordering::Relaxed));
    let store = DynamoStore::new(Moto::shared().client().await, &prefix);
    store.init().await.expect("create the tables");
    Arc::new(store)
}

qrie_store::conformance_tests!(fresh());

/// Findings stay right while events, sweeps and operators race: the
/// DynamoDB half of `qrie_engine::sim::race` (the SQLite half runs in
/// qrie-engine). A multi-threaded runtime, so the racing tasks truly overlap.
#[test]
fn findings_stay_right_under_racing_writers() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(4).enable_all().build().expect("runtime");
    runtime.block_on(async {
        use qrie_engine::sim::race::{self, RaceSpec};
        let spec = RaceSpec { resources_per_account: 30, event_rounds: 8, ..RaceSpec::small(7) };
        let (engine, report) = race::run(fresh().await, spec).await.expect("the race runs");
        assert!(report.changes > 0, "changes went through the event path");
        let problems = race::violations(&engine).await.expect("checked");
        assert!(problems.is_empty(), "{report:?}: {} problem(s):\n{}", problems.len(), problems.join("\n"));
    });
}
