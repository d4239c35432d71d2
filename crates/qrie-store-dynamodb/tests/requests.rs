//! How many DynamoDB requests the engine's work costs on this backend: a
//! policy sweep over N stored resources, and one processed CloudTrail event.
//! Every request attempt is counted by an SDK interceptor, per operation.
//! The figures are printed (`--nocapture`) and recorded in docs/performance.md;
//! the assertions pin the shape: a sweep's requests grow with N no faster than
//! linearly, and an event costs a bounded handful whatever the estate's size.

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use qrie_engine::sim::{ChangeKind, SimSpec};
use qrie_engine::{NoProgress, PolicySweepRequest};
use qrie_model::ScanType;
use qrie_store::Store;
use qrie_store_dynamodb::{DynamoStore, Moto};
use rand::SeedableRng;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, Default)]
struct Counter(Arc<Mutex<BTreeMap<String, u64>>>);

impl Counter {
    fn take(&self) -> BTreeMap<String, u64> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

impl Intercept for Counter {
    fn name(&self) -> &'static str {
        "request-counter"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let op = cfg.load::<Metadata>().map_or("unknown".to_string(), |m| m.name().to_string());
        *self.0.lock().unwrap_or_else(|p| p.into_inner()).entry(op).or_default() += 1;
        Ok(())
    }
}

fn total(counts: &BTreeMap<String, u64>) -> u64 {
    counts.values().sum()
}

struct Measured {
    resources: usize,
    sweep: BTreeMap<String, u64>,
    event: BTreeMap<String, u64>,
}

async fn measure(moto: &Moto, prefix: &str, resources_per_account: usize) -> Measured {
    let counter = Counter::default();
    let client = moto.client_with(|b| b.interceptor(counter.clone())).await;
    let dynamo = DynamoStore::new(client, prefix);
    dynamo.init().await.expect("tables");
    let store: Arc<dyn Store> = Arc::new(dynamo);
    let spec = SimSpec { seed: 42, accounts: 1, resources_per_account, created_at: chrono::Utc::now() };
    let (engine, estate) = qrie_engine::sim::swept_estate(store.clone(), spec).await.expect("estate");
    let resources = estate.read().unwrap().len();

    counter.take();
    let sweep = PolicySweepRequest { policy_id: None, scan_type: ScanType::AntiEntropy };
    engine.policy_sweep(&sweep, &NoProgress).await.expect("policy sweep");
    let sweep = counter.take();

    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let change = estate.write().unwrap().apply_one(ChangeKind::OpenSecurityGroupPort, &mut rng).expect("a change");
    counter.take();
    let routed = qrie_engine::events::route_record(0, change.record);
    let report = engine.ingest_events(&[routed]).await.expect("ingest");
    assert_eq!(
        (report.stats.refreshed, report.stats.errors),
        (1, 0),
        "the event re-read its resource: {:?}",
        report.stats
    );
    let event = counter.take();
    Measured { resources, sweep, event }
}

#[test]
fn requests_per_policy_sweep_and_per_event() {
    let moto = Moto::start();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let (small, large) =
        rt.block_on(async { (measure(&moto, "small_", 100).await, measure(&moto, "large_", 400).await) });
    for m in [&small, &large] {
        eprintln!(
            "{} policies, {} resources: policy sweep {} requests {:?}; one event {} requests {:?}",
            qrie_policies::default_policy_ids().len(),
            m.resources,
            total(&m.sweep),
            m.sweep,
            total(&m.event),
            m.event
        );
    }
    assert!(large.resources >= 3 * small.resources, "{} vs {}", large.resources, small.resources);
    let per_resource = |m: &Measured| total(&m.sweep) as f64 / m.resources as f64;
    assert!(
        per_resource(&large) <= per_resource(&small) * 1.25,
        "a sweep's requests grow no faster than its resources: {:.2}/resource at {} vs {:.2} at {}",
        per_resource(&large),
        large.resources,
        per_resource(&small),
        small.resources
    );
    assert!(
        total(&large.event) <= total(&small.event) + 2,
        "an event's cost does not grow with the estate: {} vs {}",
        total(&large.event),
        total(&small.event)
    );
}
