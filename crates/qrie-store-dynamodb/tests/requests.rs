//! How many DynamoDB requests the engine's work costs on this backend: a
//! policy sweep over N stored resources, and one processed CloudTrail event.
//! Every request attempt is counted by an SDK interceptor, per operation.
//! The figures are printed (`--nocapture`) and recorded in docs/performance.md;
//! the assertions pin the shape: a sweep's requests grow with N no faster than
//! linearly, and an event costs a bounded handful whatever the estate's size
//! (plus a few per resource that reads the changed one).

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

/// Triage on both backends, in this binary so the SDK is linked once more only.
mod triage;

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
    /// A bucket's versioning suspended: nothing else reads a bucket.
    event: BTreeMap<String, u64>,
    /// A security group opened: its instances are evaluated with it.
    group_event: BTreeMap<String, u64>,
    /// How many instances use that group.
    group_readers: u64,
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
    let mut event_cost = |kind: ChangeKind| {
        let change = estate.write().unwrap().apply_one(kind, &mut rng).expect("a change");
        let (engine, counter) = (&engine, &counter);
        async move {
            counter.take();
            let routed = qrie_engine::events::route_record(0, change.record);
            let report = engine.ingest_events(&[routed]).await.expect("ingest");
            assert_eq!(
                (report.stats.refreshed, report.stats.errors),
                (1, 0),
                "the event re-read its resource: {:?}",
                report.stats
            );
            (counter.take(), change.arn)
        }
    };
    let (event, _) = event_cost(ChangeKind::SuspendVersioning).await;
    let (group_event, group) = event_cost(ChangeKind::OpenSecurityGroupPort).await;
    let group_id = group.rsplit('/').next().unwrap_or_default().to_string();
    let group_readers = estate
        .read()
        .unwrap()
        .iter()
        .filter(|r| r.resource_type == "AWS::EC2::Instance")
        .filter(|r| {
            let groups = r.configuration.pointer("/Instance/SecurityGroups").and_then(|g| g.as_array());
            groups.is_some_and(|g| g.iter().any(|g| g["GroupId"] == group_id.as_str()))
        })
        .count() as u64;
    Measured { resources, sweep, event, group_event, group_readers }
}

#[test]
fn requests_per_policy_sweep_and_per_event() {
    let moto = Moto::start();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let (small, large) =
        rt.block_on(async { (measure(&moto, "small_", 100).await, measure(&moto, "large_", 400).await) });
    for m in [&small, &large] {
        eprintln!(
            "{} policies, {} resources: policy sweep {} requests {:?}; one event {} requests {:?}; \
a security group's event with {} instances using it {} requests {:?}",
            qrie_policies::default_policy_ids().len(),
            m.resources,
            total(&m.sweep),
            m.sweep,
            total(&m.event),
            m.event,
            m.group_readers,
            total(&m.group_event),
            m.group_event
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
    // What reads a changed resource is found through the reference index:
    // the cost grows with its readers (a read of each and of its findings),
    // not with the estate (no listing of the account's instances).
    for m in [&small, &large] {
        let beyond = total(&m.group_event).saturating_sub(total(&m.event));
        assert!(
            beyond <= 4 + 3 * m.group_readers,
            "{} requests beyond a plain event for {} readers: {:?}",
            beyond,
            m.group_readers,
            m.group_event
        );
    }
}

/// 700,000 unique forged event names (anyone who can put a message on the
/// events queue can send them) keep the stored table of unmapped names under
/// a fixed size, on SQLite and on DynamoDB, where an item over 400 KB would
/// stop every later write; names not of AWS's shape are not counted by name
/// at all. No count is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_event_names_cannot_grow_the_stored_statistics() {
    const BATCHES: usize = 70;
    const PER_BATCH: usize = 10_000;
    let moto = Moto::shared();
    let dynamo = DynamoStore::new(moto.client().await, "flood_");
    dynamo.init().await.expect("tables");
    let dir = tempfile::tempdir().unwrap();
    let sqlite = qrie_store::open(&format!("sqlite:{}", dir.path().join("t.db").display())).unwrap();
    for store in [Arc::new(dynamo) as Arc<dyn Store>, sqlite] {
        let spec = SimSpec { seed: 1, accounts: 1, resources_per_account: 0, created_at: chrono::Utc::now() };
        let estate = Arc::new(std::sync::RwLock::new(qrie_engine::sim::SimEstate::generate(spec)));
        let engine = qrie_engine::Engine::new(store.clone(), Arc::new(qrie_engine::sim::SimCloud::new(estate)));
        let record = |i: usize, name: String| {
            serde_json::json!({"eventVersion": "1.08", "eventSource": "s3.amazonaws.com", "eventName": name,
                "awsRegion": "us-east-1", "eventTime": "2026-12-01T10:00:00Z", "recipientAccountId": "123456789012",
                "eventID": format!("e{i}")})
        };
        for b in 0..BATCHES {
            let routed: Vec<_> = (0..PER_BATCH)
                .map(|i| {
                    let n = b * PER_BATCH + i;
                    qrie_engine::events::route_record(i, record(n, format!("Forged{n}")))
                })
                .collect();
            engine.ingest_events(&routed).await.expect("a batch of forged names is counted");
        }
        let odd = ["PutBucketAcl\u{1b}]0;PWNED\u{7}", "Put Bucket", "", &"A".repeat(500)];
        let routed: Vec<_> = odd
            .iter()
            .enumerate()
            .map(|(i, n)| qrie_engine::events::route_record(i, record(i, n.to_string())))
            .collect();
        let report = engine.ingest_events(&routed).await.unwrap();
        assert_eq!(report.stats.skipped.get("malformed"), Some(&(odd.len() as u64)), "{:?}", report.stats);

        let stored = store.kv_get("events", "unmapped-top").await.unwrap().expect("the table is stored");
        let size = serde_json::to_vec(&stored).unwrap().len();
        assert!(size < 64 * 1024, "{size} bytes stored for the unmapped names");
        let stats = engine.event_stats().await.unwrap();
        assert!(stats.unmapped.len() <= qrie_engine::unmapped::KEPT + 1, "{} names", stats.unmapped.len());
        assert_eq!(stats.unmapped.values().sum::<u64>(), (BATCHES * PER_BATCH) as u64, "no count lost");
        assert!(stats.unmapped.keys().all(|k| !k.contains('\u{1b}')));
        println!("{}: {BATCHES}x{PER_BATCH} forged names → {size} bytes stored", store.location());
    }
}
