//! An event storm at organization scale: a burst of EVENTS (default 50,000)
//! CloudTrail events over a simulated estate of ACCOUNTS × PER_ACCOUNT
//! resources (default 10 × 10,000), sent as EventBridge messages through the
//! path the events function and `qrie serve` use (`Engine::ingest_batch`:
//! decode → route → describe → conditional store write → evaluation → finding
//! writes), ten messages to a batch as SQS hands them to the function, POOL
//! batches at once (default 2: this machine's cores; the events function runs
//! as many as its reserved concurrency, `qrie events poll` one). The
//! changes are made first, then the whole burst arrives at once.
//! Prints events/s and receipt → finding p50/p99/max, receipt being when the
//! batch holding the event was handed to its worker.
//! Run: `scripts/bench storm` (`cargo bench -p qrie-engine --bench event_storm`).

use futures::StreamExt;
use qrie_engine::sim::{eventbridge_envelope, ChangeKind, SimSpec};
use rand::SeedableRng;
use std::time::{Duration, Instant};

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|s| s.parse().ok()).unwrap_or(default)
}

fn main() {
    qrie_engine::memory::limit_malloc_arenas();
    let (events, pool) = (env("EVENTS", 50_000), env("POOL", 2));
    let (accounts, per_account) = (env("ACCOUNTS", 10), env("PER_ACCOUNT", 10_000));
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    rt.block_on(async move {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = qrie_store::open(&format!("sqlite:{}", dir.path().join("bench.db").display())).expect("store");
        let spec = SimSpec { seed: 42, accounts, resources_per_account: per_account, created_at: chrono::Utc::now() };
        let (engine, estate) = qrie_engine::sim::swept_estate(store, spec).await.expect("estate");
        let resources = estate.read().unwrap().len();

        // The changes, made before the burst; their records are the storm.
        let kinds = [
            ChangeKind::OpenSecurityGroupPort,
            ChangeKind::RevokeSecurityGroupPort,
            ChangeKind::SuspendVersioning,
            ChangeKind::EnableVersioning,
            ChangeKind::MakeImdsOptional,
            ChangeKind::RequireImdsV2,
        ];
        let generating = Instant::now();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        let mut messages = Vec::with_capacity(events);
        let mut misses = 0;
        while messages.len() < events && misses < 10_000 {
            let kind = kinds[(messages.len() + misses) % kinds.len()];
            match estate.write().unwrap().apply_one(kind, &mut rng) {
                Some(change) => {
                    let id = format!("storm-{}", messages.len());
                    messages.push(eventbridge_envelope(&id, &change.record).to_string().into_bytes())
                }
                None => misses += 1,
            }
        }

        println!("{} changes made in {:.1} s (not part of the storm)", messages.len(), generating.elapsed().as_secs_f64());
        let started = Instant::now();
        let engine = &engine;
        let batches = futures::stream::iter(messages.chunks(10))
            .map(|batch| async move {
                let received = Instant::now();
                let bodies: Vec<&[u8]> = batch.iter().map(Vec::as_slice).collect();
                let ingested = engine.ingest_batch(&bodies).await;
                assert!(ingested.failures.iter().all(Option::is_none), "{:?}", ingested.failures);
                let moved = ingested.stats.findings_opened + ingested.stats.findings_resolved;
                (vec![received.elapsed(); batch.len()], moved)
            })
            .buffer_unordered(pool.max(1));
        let (mut latencies, moved): (Vec<Vec<Duration>>, Vec<u64>) = batches.unzip().await;
        let seconds = started.elapsed().as_secs_f64();
        let mut latencies: Vec<Duration> = latencies.drain(..).flatten().collect();
        latencies.sort();
        let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
        println!(
            "event storm: {} events over {resources} resources in {seconds:.1} s = {:.0} events/s ({pool} batches of 10 at once, \
{} findings moved); receipt -> finding p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            latencies.len(),
            latencies.len() as f64 / seconds,
            moved.iter().sum::<u64>(),
            pct(0.50).as_secs_f64() * 1e3,
            pct(0.99).as_secs_f64() * 1e3,
            latencies[latencies.len() - 1].as_secs_f64() * 1e3
        );
    });
}
