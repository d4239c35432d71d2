//! The engine over a SQLite store with the AWS cloud against moto: sweeps find
//! exactly the seeded misconfigurations, a deleted bucket resolves its findings,
//! an anti-entropy sweep after out-of-band changes reports drift.

mod common;

use async_trait::async_trait;
use common::seed::{self, LOCKED_BUCKET, OPEN_BUCKET};
use common::{Moto, ACCOUNT_A, ACCOUNT_B, ROLE_B};
use qrie_engine::accounts::NewAccount;
use qrie_engine::policies::LaunchOptions;
use qrie_engine::{Cloud, CloudError, Described, Engine, InventoryRequest, Listing, NoProgress, SweepUnit};
use qrie_model::{Account, AccountSource, FindingState, ResolvedReason, ScanType, Service};
use std::collections::BTreeSet;
use std::sync::Arc;

/// The AWS cloud for S3; EC2 and IAM answer empty, complete listings because
/// their collectors are not built yet — so that a full sweep can baseline the
/// accounts (drift is only measured for baselined accounts).
struct S3Only(qrie_aws::AwsCloud);

#[async_trait]
impl Cloud for S3Only {
    async fn enabled_regions(&self, account: &Account) -> Result<Vec<String>, CloudError> {
        self.0.enabled_regions(account).await
    }

    async fn list(&self, account: &Account, unit: &SweepUnit) -> Result<Listing, CloudError> {
        match unit.service {
            Service::S3 => self.0.list(account, unit).await,
            _ => Ok(Listing { complete: true, observed_at: chrono::Utc::now(), ..Default::default() }),
        }
    }

    async fn describe(&self, account: &Account, arn: &str) -> Result<Described, CloudError> {
        self.0.describe(account, arn).await
    }
}

fn s3_policies() -> Vec<&'static str> {
    qrie_policies::catalog().iter().filter(|p| p.service == Service::S3).map(|p| p.id).collect()
}

async fn active(engine: &Engine) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for id in s3_policies() {
        for f in engine.store.findings_for_policy(id, Some(FindingState::Active)).await.expect("findings") {
            out.insert((f.arn, f.policy));
        }
    }
    out
}

#[tokio::test]
async fn sweeps_find_the_seeded_misconfigurations_deletions_and_drift() {
    let moto = Moto::start();
    seed::s3_account_a(&moto.sdk_config().await).await;
    seed::s3_account_b(&moto.sdk_config_in(ROLE_B).await, ACCOUNT_B).await;

    let dir = tempfile::tempdir().expect("tempdir");
    let store = qrie_store::open(&format!("sqlite:{}", dir.path().join("q.db").display())).expect("store");
    let cloud = Arc::new(S3Only(moto.cloud(&["us-east-1"]).await));
    let engine = Engine::new(store, cloud);
    for (id, role) in [(ACCOUNT_A, None), (ACCOUNT_B, Some(ROLE_B))] {
        let new = NewAccount {
            account_id: id.into(),
            name: None,
            role_arn: role.map(str::to_string),
            external_id: role.map(|_| "qrie-external-id".to_string()),
            regions: vec!["us-east-1".into()],
            org_path: vec![],
            source: AccountSource::Manual,
        };
        engine.add_account(new).await.expect("add account");
    }
    for id in s3_policies() {
        engine.launch_policy(id, LaunchOptions::default(), &NoProgress).await.expect("launch");
    }

    let bootstrap = InventoryRequest { scan_type: ScanType::Bootstrap, ..Default::default() };
    let r = engine.inventory_sweep(&bootstrap, &NoProgress).await.expect("sweep");
    assert_eq!(r.result["BaselinedAccounts"].as_array().map(Vec::len), Some(2), "{}", r.result);
    let expected: BTreeSet<(String, String)> =
        common::expected_s3_failures().iter().map(|(a, p)| (a.to_string(), p.to_string())).collect();
    assert_eq!(active(&engine).await, expected);

    // Out of band: the open bucket is deleted, the locked one loses its Block Public Access.
    let a = moto.sdk_config().await;
    seed::s3(&a, "us-east-1").delete_bucket().bucket(OPEN_BUCKET).send().await.expect("delete bucket");
    seed::s3(&a, "eu-west-1").delete_public_access_block().bucket(LOCKED_BUCKET).send().await.expect("delete pab");

    let anti = InventoryRequest { scan_type: ScanType::AntiEntropy, ..Default::default() };
    let r = engine.inventory_sweep(&anti, &NoProgress).await.expect("sweep");
    let totals = &r.result["DriftTotals"];
    assert_eq!(totals["MissedDeletes"].as_u64(), Some(1), "{}", r.result);
    assert_eq!(totals["MissedUpdates"].as_u64(), Some(1), "{}", r.result);
    assert_eq!(totals["MissedCreates"].as_u64(), Some(0), "{}", r.result);

    let open_arn = format!("arn:aws:s3:::{OPEN_BUCKET}");
    let findings = engine.store.findings_for_resource(&open_arn).await.expect("findings");
    assert!(!findings.is_empty());
    for f in findings {
        assert_eq!(
            (f.state, f.resolved_reason),
            (FindingState::Resolved, Some(ResolvedReason::ResourceDeleted)),
            "{}",
            f.policy
        );
    }
    let locked_arn = format!("arn:aws:s3:::{LOCKED_BUCKET}");
    let bpa_off = engine.store.get_finding(&locked_arn, "s3-bucket-block-public-access-off").await.expect("finding");
    assert_eq!(bpa_off.map(|f| f.state), Some(FindingState::Active), "the removed bucket BPA is caught by the sweep");
}

/// The two policies with the most findings in a simulated estate.
async fn busiest_two(store: &dyn qrie_store::Store) -> (String, String) {
    let mut counts: Vec<(String, usize)> = Vec::new();
    for id in qrie_policies::default_policy_ids() {
        let n = store.findings_for_policy(id, None).await.unwrap().len();
        counts.push((id.to_string(), n));
    }
    counts.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
    assert!(counts[1].1 > 0, "the estate has findings under two policies: {counts:?}");
    (counts[0].0.clone(), counts[1].0.clone())
}

#[tokio::test]
async fn archives_go_to_s3_encrypted_and_a_denied_write_purges_nothing() {
    use aws_types::sdk_config::SharedCredentialsProvider;
    use qrie_aws::archive::S3Sink;
    use std::io::BufRead;

    let moto = Moto::start();
    let config = moto.sdk_config().await;
    let s3 = seed::s3(&config, "us-east-1");
    s3.create_bucket().bucket("qrie-archive").send().await.expect("bucket");
    let dir = tempfile::tempdir().unwrap();
    let store = qrie_store::open(&format!("sqlite:{}", dir.path().join("a.db").display())).unwrap();
    let spec =
        qrie_engine::sim::SimSpec { seed: 16, accounts: 1, resources_per_account: 40, created_at: chrono::Utc::now() };
    let (engine, _estate) = qrie_engine::sim::swept_estate(store.clone(), spec).await.unwrap();
    let (first, second) = busiest_two(&*store).await;

    // Stored: SSE on the object, every finding a line, the store purged.
    let sink = S3Sink::new(&moto.cloud(&["us-east-1"]).await, "s3://qrie-archive/findings/").unwrap();
    let held = store.findings_for_policy(&first, None).await.unwrap().len() as u64;
    let (_, report) = engine.delete_policy_purging(&first, &sink, &NoProgress).await.expect("archived and purged");
    assert_eq!((report.archived, report.purged), (held, held));
    let location = report.location.unwrap();
    let key = location.strip_prefix("s3://qrie-archive/").expect("in the bucket").to_string();
    assert!(key.starts_with(&format!("findings/policy-{first}-")), "{key}");
    let head = s3.head_object().bucket("qrie-archive").key(&key).send().await.expect("the archive object");
    assert_eq!(head.server_side_encryption(), Some(&aws_sdk_s3::types::ServerSideEncryption::Aes256));
    let body = s3.get_object().bucket("qrie-archive").key(&key).send().await.unwrap().body.collect().await.unwrap();
    let lines: Vec<String> = std::io::BufReader::new(flate2::read::GzDecoder::new(&body.into_bytes()[..]))
        .lines()
        .map(|l| l.unwrap())
        .collect();
    assert_eq!(lines.len() as u64, held);
    let line: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
    assert_eq!(line["Finding"]["Policy"], first.as_str());
    assert!(!line["History"].as_array().unwrap().is_empty());
    assert!(store.findings_for_policy(&first, None).await.unwrap().is_empty());

    // Denied: a user whose policy allows everything but s3:PutObject.
    let iam = aws_sdk_iam::Client::new(&config);
    iam.create_user().user_name("archiver").send().await.expect("user");
    let deny_put = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "*", "Resource": "*"},
            {"Effect": "Deny", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::qrie-archive/*"}
        ]
    });
    iam.put_user_policy()
        .user_name("archiver")
        .policy_name("no-archive-writes")
        .policy_document(deny_put.to_string())
        .send()
        .await
        .expect("policy");
    let key = iam.create_access_key().user_name("archiver").send().await.expect("key").access_key.unwrap();
    let creds = aws_sdk_sts::config::Credentials::new(key.access_key_id(), key.secret_access_key(), None, None, "test");
    let denied = config.clone().into_builder().credentials_provider(SharedCredentialsProvider::new(creds)).build();
    moto.enforce_iam();
    let sink = S3Sink::new(
        &qrie_aws::AwsCloud::new(denied.clone(), qrie_aws::AwsOptions::new(Vec::new())),
        "s3://qrie-archive/findings/",
    )
    .unwrap();
    let before = store.findings_for_policy(&second, None).await.unwrap().len();
    let err = engine.delete_policy_purging(&second, &sink, &NoProgress).await.expect_err("the write is denied");
    assert!(matches!(err, qrie_engine::EngineError::Archive(_)), "{err}");
    assert!(err.to_string().contains("AccessDenied"), "{err}");
    let kept = store.findings_for_policy(&second, None).await.unwrap();
    assert_eq!(kept.len(), before, "nothing purged");
    assert!(kept.iter().all(|f| f.state == FindingState::Resolved));
    // Only the write was denied: the same user still reads the bucket, and
    // holds only the first archive.
    let listed = seed::s3(&denied, "us-east-1").list_objects_v2().bucket("qrie-archive").send().await.expect("list");
    assert_eq!(listed.contents().len(), 1);
}
