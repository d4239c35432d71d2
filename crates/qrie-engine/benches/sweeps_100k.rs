//! Sweep times at 100,000 simulated resources over a SQLite store: the
//! bootstrap inventory sweep of a fresh estate (10 accounts × 10,000 resources,
//! the whole catalog launched), then an anti-entropy inventory sweep of the
//! unchanged estate (every resource re-observed and re-evaluated, every
//! finding write conditional) and an anti-entropy policy sweep of every policy.
//! Prints wall times and what each sweep did.
//! Run: `cargo bench -p qrie-engine --bench sweeps_100k` (ACCOUNTS=N, PER_ACCOUNT=N to resize).

use qrie_engine::sim::SimSpec;
use qrie_engine::{InventoryRequest, NoProgress, PolicySweepRequest};
use qrie_model::ScanType;
use std::time::Instant;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|s| s.parse().ok()).unwrap_or(default)
}

fn main() {
    qrie_engine::memory::limit_malloc_arenas();
    let (accounts, per_account) = (env("ACCOUNTS", 10), env("PER_ACCOUNT", 10_000));
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    rt.block_on(async move {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = qrie_store::open(&format!("sqlite:{}", dir.path().join("bench.db").display())).expect("store");
        let spec = SimSpec { seed: 42, accounts, resources_per_account: per_account, created_at: chrono::Utc::now() };
        let started = Instant::now();
        let (engine, estate) = qrie_engine::sim::swept_estate(store, spec).await.expect("estate");
        let resources = estate.read().unwrap().len();
        println!(
            "{resources} resources: generate + launch {} policies + bootstrap inventory sweep {:.1} s",
            qrie_policies::catalog().len(),
            started.elapsed().as_secs_f64()
        );

        let req = InventoryRequest { scan_type: ScanType::AntiEntropy, ..Default::default() };
        let started = Instant::now();
        let r = engine.inventory_sweep(&req, &NoProgress).await.expect("inventory sweep");
        println!(
            "anti-entropy inventory sweep: {:.1} s (observed {}, findings counts {})",
            started.elapsed().as_secs_f64(),
            r.result["Resources"]["Observed"],
            serde_json::to_string(&r.job.counts).unwrap_or_default()
        );

        let req = PolicySweepRequest { policy_id: None, scan_type: ScanType::AntiEntropy };
        let started = Instant::now();
        let r = engine.policy_sweep(&req, &NoProgress).await.expect("policy sweep");
        println!(
            "anti-entropy policy sweep: {:.1} s ({})",
            started.elapsed().as_secs_f64(),
            serde_json::to_string(&r.job.counts).unwrap_or_default()
        );
    });
}
