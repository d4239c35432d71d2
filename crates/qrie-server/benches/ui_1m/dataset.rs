//! The benchmark's store: about a million findings over a realistic spread,
//! written once through the store's own batch API (the real write path) and
//! kept on disk so later runs start at once.
//!
//! The spread: 10 accounts, 3 regions, the three services, every resource type
//! the catalog has policies for (account-level singletons aside), each resource
//! failing a random handful of its type's policies. A quarter of the findings
//! are resolved, some after a reopening; severities are the policies' own.
//! Generation is seeded, so every build of the file holds the same data.

use chrono::{DateTime, Duration, Utc};
use qrie_model::{
    Account, AccountSource, AccountStatus, DetectedBy, Finding, FindingState, LaunchedPolicy, PolicyDef, PolicyStatus,
    ResolvedReason, Resource, Service, Transition, TransitionKind, Trigger,
};
use qrie_store::Store;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

/// Bumped whenever the generated data changes, so an old file is rebuilt.
const DATASET_VERSION: u32 = 2;
const KV_NAMESPACE: &str = "bench";
const KV_KEY: &str = "dataset";
const ACCOUNTS: usize = 10;
const REGIONS: [&str; 3] = ["us-east-1", "us-west-2", "eu-west-1"];
const RESOURCE_BATCH: usize = 2_000;
const FINDING_BATCH: usize = 5_000;

/// Resource types and their share of the estate (per mille).
const MIX: &[(&str, u32)] = &[
    ("AWS::EC2::SecurityGroup", 200),
    ("AWS::EC2::Instance", 190),
    ("AWS::EC2::Volume", 100),
    ("AWS::EC2::Snapshot", 100),
    ("AWS::EC2::Image", 30),
    ("AWS::EC2::NetworkAcl", 20),
    ("AWS::S3::Bucket", 160),
    ("AWS::IAM::User", 80),
    ("AWS::IAM::Role", 80),
    ("AWS::IAM::Group", 20),
    ("AWS::IAM::ManagedPolicy", 20),
];

/// What a finished build recorded; a file whose record differs is rebuilt.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Built {
    pub version: u32,
    pub target_findings: usize,
    pub findings: usize,
    pub active_findings: usize,
    pub resources: usize,
    pub policies: usize,
    pub accounts: Vec<String>,
    /// Wall time of the original build, through the store's batch API.
    pub resources_load_secs: f64,
    pub findings_load_secs: f64,
    pub file_bytes: u64,
}

/// Where the store lives: `QRIE_BENCH_STORE`, or beside the build output
/// (`<target>/qrie-bench/`), so `cargo clean` removes it with the rest.
pub fn default_path(findings: usize) -> PathBuf {
    if let Ok(p) = std::env::var("QRIE_BENCH_STORE") {
        return PathBuf::from(p);
    }
    // The bench runs as <target>/release/deps/<name>-<hash>.
    let exe = std::env::current_exe().expect("the bench knows its own path");
    let target = exe.ancestors().nth(3).map(Path::to_path_buf).unwrap_or_else(std::env::temp_dir);
    target.join("qrie-bench").join(format!("findings-{findings}-v{DATASET_VERSION}.db"))
}

/// Opens the store at `path`, building it first if it is missing, incomplete
/// or from another version of this generator.
pub async fn open_or_build(path: &Path, target_findings: usize) -> (Arc<dyn Store>, Built) {
    if path.exists() {
        let store = open(path);
        let recorded = store.kv_get(KV_NAMESPACE, KV_KEY).await.expect("read the dataset record");
        match recorded.and_then(|v| serde_json::from_value::<Built>(v).ok()) {
            Some(b) if b.version == DATASET_VERSION && b.target_findings == target_findings => return (store, b),
            _ => {
                eprintln!("{} is incomplete or from another generator: rebuilding", path.display());
                drop(store);
                remove(path);
            }
        }
    }
    std::fs::create_dir_all(path.parent().expect("a file path has a parent")).expect("create the bench directory");
    let store = open(path);
    let built = build(&*store, target_findings).await;
    let built = Built { file_bytes: file_bytes(path), ..built };
    store.kv_put(KV_NAMESPACE, KV_KEY, serde_json::to_value(&built).expect("encode")).await.expect("record");
    (store, built)
}

fn open(path: &Path) -> Arc<dyn Store> {
    qrie_store::open(&format!("sqlite:{}", path.display())).expect("open the bench store")
}

fn remove(path: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        let _ = std::fs::remove_file(name);
    }
}

fn file_bytes(path: &Path) -> u64 {
    ["", "-wal"]
        .iter()
        .map(|s| {
            let mut name = path.as_os_str().to_owned();
            name.push(s);
            std::fs::metadata(name).map_or(0, |m| m.len())
        })
        .sum()
}

fn account_id(i: usize) -> String {
    format!("{:012}", 100_000_000_000 + i as u64 * 1_111)
}

async fn build(store: &dyn Store, target_findings: usize) -> Built {
    let now: DateTime<Utc> = DateTime::from_timestamp(1_795_000_000, 0).expect("a fixed time");
    let accounts: Vec<String> = (0..ACCOUNTS).map(account_id).collect();
    for (i, id) in accounts.iter().enumerate() {
        store.put_account(account(id, i, now), None).await.expect("account");
    }
    let policies = policies_by_type();
    let launched: Vec<&str> = policies.values().flatten().map(|p| p.id).collect();
    for id in &launched {
        store.put_policy(launched_policy(id, now), None).await.expect("policy");
    }

    let mut rng = ChaCha8Rng::seed_from_u64(20_261_124);
    let weights: u32 = MIX.iter().map(|m| m.1).sum();
    let (mut resources, mut findings) = (Vec::new(), Vec::new());
    let (mut n_resources, mut n_findings, mut n_active) = (0, 0, 0);
    let (mut resources_time, mut findings_time) = (StdDuration::ZERO, StdDuration::ZERO);
    let started = Instant::now();
    while n_findings < target_findings {
        let mut pick = rng.random_range(0..weights);
        let kind = MIX
            .iter()
            .find(|(_, w)| {
                pick < *w || {
                    pick -= w;
                    false
                }
            })
            .map_or(MIX[0].0, |m| m.0);
        let account = &accounts[rng.random_range(0..ACCOUNTS)];
        let region = REGIONS[rng.random_range(0..REGIONS.len())];
        let resource = resource(kind, account, region, n_resources, now, &mut rng);
        n_resources += 1;
        // A handful of the type's policies fail for this resource.
        let candidates = &policies[kind];
        let failing = rng.random_range(1..=6).min(candidates.len()).min(target_findings - n_findings);
        let start = rng.random_range(0..candidates.len());
        for k in 0..failing {
            let f = finding(&resource, candidates[(start + k) % candidates.len()], now, &mut rng);
            n_active += usize::from(f.state == FindingState::Active);
            findings.push(f);
        }
        n_findings += failing;
        resources.push(resource);
        if resources.len() == RESOURCE_BATCH {
            resources_time += write_resources(store, &mut resources).await;
        }
        if findings.len() >= FINDING_BATCH {
            findings_time += write_findings(store, &mut findings).await;
        }
        if n_resources % 50_000 == 0 {
            eprintln!("  {n_resources} resources, {n_findings} findings ({:.0} s)", started.elapsed().as_secs_f64());
        }
    }
    resources_time += write_resources(store, &mut resources).await;
    findings_time += write_findings(store, &mut findings).await;
    Built {
        version: DATASET_VERSION,
        target_findings,
        findings: n_findings,
        active_findings: n_active,
        resources: n_resources,
        policies: launched.len(),
        accounts,
        resources_load_secs: resources_time.as_secs_f64(),
        findings_load_secs: findings_time.as_secs_f64(),
        file_bytes: 0,
    }
}

async fn write_resources(store: &dyn Store, batch: &mut Vec<Resource>) -> StdDuration {
    let started = Instant::now();
    store.put_resources(std::mem::take(batch)).await.expect("put resources");
    started.elapsed()
}

async fn write_findings(store: &dyn Store, batch: &mut Vec<Finding>) -> StdDuration {
    let started = Instant::now();
    let writes = std::mem::take(batch).into_iter().map(qrie_store::FindingWrite::unchecked).collect();
    store.write_findings(writes).await.expect("write findings");
    started.elapsed()
}

fn policies_by_type() -> BTreeMap<&'static str, Vec<&'static PolicyDef>> {
    MIX.iter()
        .map(|(kind, _)| {
            let defs: Vec<_> = qrie_policies::for_resource_type(kind).collect();
            assert!(!defs.is_empty(), "the catalog has no policy for {kind}");
            (*kind, defs)
        })
        .collect()
}

fn account(id: &str, i: usize, now: DateTime<Utc>) -> Account {
    Account {
        account_id: id.to_string(),
        name: format!("bench-{i}"),
        status: AccountStatus::Active,
        role_arn: Some(format!("arn:aws:iam::{id}:role/qrie-reader")),
        external_id: None,
        regions: REGIONS.iter().map(|r| r.to_string()).collect(),
        enabled_regions: Vec::new(),
        org_path: vec!["r-root".into(), format!("ou-{}", i % 3)],
        source: AccountSource::Manual,
        added_at: now - Duration::days(120),
        baselined_at: Some(now - Duration::days(119)),
        removed_at: None,
        revision: 1,
    }
}

fn launched_policy(id: &str, now: DateTime<Utc>) -> LaunchedPolicy {
    LaunchedPolicy {
        policy_id: id.to_string(),
        status: PolicyStatus::Active,
        scope: Default::default(),
        severity: None,
        remediation: None,
        params: BTreeMap::new(),
        created_at: now - Duration::days(119),
        updated_at: now - Duration::days(119),
        generation: 1,
    }
}

fn service_of(kind: &str) -> Service {
    match kind.split("::").nth(1) {
        Some("S3") => Service::S3,
        Some("IAM") => Service::Iam,
        _ => Service::Ec2,
    }
}

fn resource(kind: &str, account: &str, region: &str, n: usize, now: DateTime<Utc>, rng: &mut ChaCha8Rng) -> Resource {
    let short = kind.rsplit("::").next().unwrap_or(kind).to_ascii_lowercase();
    let name = format!("{short}-{n:07x}");
    let service = service_of(kind);
    let (arn, region) = match service {
        Service::S3 => (format!("arn:aws:s3:::bench-{n:07x}-{account}"), region),
        Service::Iam => (format!("arn:aws:iam::{account}:{short}/{name}"), "global"),
        Service::Ec2 => (format!("arn:aws:ec2:{region}:{account}:{short}/{name}"), region),
    };
    let env = ["prod", "staging", "dev"][n % 3];
    let tags = BTreeMap::from([("env".to_string(), env.to_string()), ("team".to_string(), format!("team-{}", n % 17))]);
    let configuration = json!({
        "Describe": {
            "Id": name,
            "CreatedAt": (now - Duration::days(rng.random_range(1..900))).to_rfc3339(),
            "Encrypted": rng.random_bool(0.7),
            "Public": rng.random_bool(0.05),
            "Owner": account,
            "Settings": {"Versioning": rng.random_bool(0.5), "Logging": rng.random_bool(0.4), "Size": rng.random_range(1..2048)}
        }
    });
    let observed = now - Duration::minutes(rng.random_range(0..7 * 24 * 60));
    Resource::new(arn, account, region, service, kind, name, tags, configuration, BTreeMap::new(), observed)
}

fn finding(r: &Resource, policy: &PolicyDef, now: DateTime<Utc>, rng: &mut ChaCha8Rng) -> Finding {
    let first_seen = now - Duration::minutes(rng.random_range(60..90 * 24 * 60));
    let last_evaluated = now - Duration::minutes(rng.random_range(0..7 * 24 * 60));
    let bootstrap = Trigger::job(DetectedBy::Bootstrap, "job-bootstrap");
    let mut history =
        vec![Transition { at: first_seen, kind: TransitionKind::Opened, reason: None, trigger: bootstrap }];
    let roll: f64 = rng.random();
    let resolved = roll < 0.25;
    if roll < 0.05 || resolved {
        let at = first_seen + Duration::minutes(rng.random_range(1..1440));
        let event = Trigger::new(DetectedBy::Event);
        history.push(Transition {
            at,
            kind: TransitionKind::Resolved,
            reason: Some(ResolvedReason::Compliant),
            trigger: event.clone(),
        });
        if !resolved {
            history.push(Transition {
                at: at + Duration::minutes(30),
                kind: TransitionKind::Reopened,
                reason: None,
                trigger: event,
            });
        }
    }
    let resolved_at = resolved.then(|| history[1].at);
    Finding {
        arn: r.arn.clone(),
        policy: policy.id.to_string(),
        account_service: r.account_service(),
        account_id: r.account_id.clone(),
        region: r.region.clone(),
        resource_type: r.resource_type.clone(),
        severity: policy.severity,
        state: if resolved { FindingState::Resolved } else { FindingState::Active },
        first_seen,
        last_evaluated,
        evidence: evidence(r, policy),
        resolved_at,
        resolved_reason: resolved.then_some(ResolvedReason::Compliant),
        detected_by: if resolved { DetectedBy::Event } else { DetectedBy::Bootstrap },
        transitions: 0,
        history,
        version: 1,
    }
}

fn evidence(r: &Resource, policy: &PolicyDef) -> Value {
    json!({
        "Reason": format!("{} fails {}: {}", r.name, policy.id, policy.title),
        "Attribute": "Describe.Settings",
        "Observed": r.configuration["Describe"]["Settings"],
    })
}
