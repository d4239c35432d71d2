//! Receipt → finding update latency of the event path, with the simulated
//! cloud (so the describe call costs nothing) over a SQLite store: for each
//! sample, one simulated change is applied and its CloudTrail record ingested
//! (route → debounce → describe → conditional store write → evaluation of
//! every active policy → finding writes). Prints p50/p99/max.
//! Run: `cargo bench -p qrie-engine --bench event_latency` (SAMPLES=N to change the count).

use qrie_engine::sim::SimSpec;
use rand::SeedableRng;
use std::time::Instant;

fn main() {
    let samples: usize = std::env::var("SAMPLES").ok().and_then(|s| s.parse().ok()).unwrap_or(500);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    rt.block_on(async move {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = qrie_store::open(&format!("sqlite:{}", dir.path().join("bench.db").display())).expect("store");
        let spec = SimSpec { seed: 42, accounts: 3, resources_per_account: 2000, created_at: chrono::Utc::now() };
        let (engine, estate) = qrie_engine::sim::swept_estate(store.clone(), spec).await.expect("estate");
        let resources = estate.read().unwrap().len();

        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let mut latencies = Vec::with_capacity(samples);
        let mut opened_or_resolved = 0;
        while latencies.len() < samples {
            let kinds = [
                qrie_engine::sim::ChangeKind::OpenSecurityGroupPort,
                qrie_engine::sim::ChangeKind::RevokeSecurityGroupPort,
                qrie_engine::sim::ChangeKind::SuspendVersioning,
                qrie_engine::sim::ChangeKind::EnableVersioning,
                qrie_engine::sim::ChangeKind::MakeImdsOptional,
                qrie_engine::sim::ChangeKind::RequireImdsV2,
            ];
            let kind = kinds[latencies.len() % kinds.len()];
            let Some(change) = estate.write().unwrap().apply_one(kind, &mut rng) else { continue };
            let started = Instant::now();
            let routed = qrie_engine::events::route_record(0, change.record);
            let report = engine.ingest_events(&[routed]).await.expect("ingest");
            latencies.push(started.elapsed());
            opened_or_resolved += report.stats.findings_opened + report.stats.findings_resolved;
        }
        latencies.sort();
        let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
        println!(
            "event latency over {samples} events ({resources} resources, {} policies, {opened_or_resolved} findings moved): \
             p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            qrie_policies::catalog().len(),
            pct(0.50).as_secs_f64() * 1e3,
            pct(0.99).as_secs_f64() * 1e3,
            latencies[latencies.len() - 1].as_secs_f64() * 1e3
        );
    });
}
