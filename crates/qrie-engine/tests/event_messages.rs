//! `Engine::ingest_message`: what counts as a processed queue message (deleted
//! by the caller) and what fails (left on the queue for a retry and, in the
//! end, the dead-letter queue).

use async_trait::async_trait;
use chrono::Utc;
use qrie_engine::accounts::NewAccount;
use qrie_engine::events::MessageError;
use qrie_engine::{Cloud, CloudError, Described, Engine, Listing, SweepUnit};
use qrie_model::{Account, AccountSource};
use serde_json::json;
use std::sync::Arc;

const ACCOUNT: &str = "111111111111";

/// Describes every resource as gone, or fails every describe (`fail`) or
/// those of ARNs containing `fail_on`; counts the calls.
#[derive(Default)]
struct Describes {
    fail: bool,
    fail_on: Option<&'static str>,
    calls: std::sync::atomic::AtomicUsize,
}

#[async_trait]
impl Cloud for Describes {
    async fn enabled_regions(&self, _: &Account) -> Result<Vec<String>, CloudError> {
        Ok(vec!["us-east-1".into()])
    }

    async fn list(&self, _: &Account, _: &SweepUnit) -> Result<Listing, CloudError> {
        Ok(Listing { complete: true, observed_at: Utc::now(), ..Default::default() })
    }

    async fn describe(&self, _: &Account, arn: &str) -> Result<Described, CloudError> {
        self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if self.fail || self.fail_on.is_some_and(|f| arn.contains(f)) {
            return Err(CloudError::AccessDenied("not authorized to perform ec2:DescribeVolumes".into()));
        }
        Ok(Described::Gone { observed_at: Utc::now() })
    }
}

async fn engine(dir: &tempfile::TempDir, fail: bool) -> Engine {
    engine_with(dir, Arc::new(Describes { fail, ..Default::default() })).await
}

async fn engine_with(dir: &tempfile::TempDir, cloud: Arc<Describes>) -> Engine {
    let store = qrie_store::open(&format!("sqlite:{}", dir.path().join("t.db").display())).unwrap();
    let engine = Engine::new(store, cloud);
    engine
        .add_account(NewAccount {
            account_id: ACCOUNT.into(),
            name: None,
            role_arn: None,
            external_id: None,
            regions: vec!["us-east-1".into()],
            org_path: vec![],
            source: AccountSource::Manual,
        })
        .await
        .unwrap();
    engine
}

/// An EventBridge event for a volume deletion in the monitored account.
fn delete_volume_event() -> Vec<u8> {
    delete_event("vol-0123456789abcdef0")
}

fn delete_event(volume: &str) -> Vec<u8> {
    json!({
        "version": "0", "id": "e1", "detail-type": "AWS API Call via CloudTrail", "source": "aws.ec2",
        "account": ACCOUNT, "time": "2026-03-01T10:00:00Z", "region": "us-east-1", "resources": [],
        "detail": {
            "eventVersion": "1.09", "eventID": "0c4a1f3e-0000-4000-8000-000000000001", "eventTime": "2026-03-01T10:00:00Z",
            "eventSource": "ec2.amazonaws.com", "eventName": "DeleteVolume", "awsRegion": "us-east-1",
            "eventType": "AwsApiCall", "readOnly": false, "recipientAccountId": ACCOUNT,
            "userIdentity": {"type": "AssumedRole", "accountId": ACCOUNT},
            "requestParameters": {"volumeId": volume}, "responseElements": {"_return": true}
        }
    })
    .to_string()
    .into_bytes()
}

#[tokio::test]
async fn a_message_whose_resources_were_processed_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let report = engine(&dir, false).await.ingest_message(&delete_volume_event()).await.expect("processed");
    assert_eq!((report.stats.received, report.stats.mapped), (1, 1));
    assert!(report.errors.is_empty());
}

#[tokio::test]
async fn a_message_whose_resource_could_not_be_re_read_fails_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let err = engine(&dir, true).await.ingest_message(&delete_volume_event()).await.expect_err("a failure");
    let MessageError::Targets(errors) = &err else { panic!("expected Targets, got {err:?}") };
    assert_eq!(errors.len(), 1);
    assert!(
        err.to_string().contains("vol-0123456789abcdef0") && err.to_string().contains("ec2:DescribeVolumes"),
        "{err}"
    );
}

#[tokio::test]
async fn an_undecodable_message_fails_and_skipped_events_succeed() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(&dir, true).await;
    let err = engine.ingest_message(b"\x1f\x8b not really gzip").await.expect_err("undecodable");
    assert!(matches!(err, MessageError::Decode(_)), "{err:?}");
    // A read-only call is skipped: nothing to re-read, so nothing can fail.
    let mut event: serde_json::Value = serde_json::from_slice(&delete_volume_event()).unwrap();
    event["detail"]["eventName"] = json!("DescribeVolumes");
    event["detail"]["readOnly"] = json!(true);
    let report = engine.ingest_message(event.to_string().as_bytes()).await.expect("a skip is processed");
    assert_eq!(report.stats.skipped.values().sum::<u64>(), 1);
}

/// A message is counted once, when it is processed, however often its queue
/// retries it: the failed attempts count as errors only. Concurrent messages
/// lose no counts (the counters are atomic additions).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn retried_and_concurrent_messages_are_counted_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let failing = engine(&dir, true).await;
    for _ in 0..3 {
        failing.ingest_message(&delete_volume_event()).await.expect_err("a failure");
    }
    let stats = failing.event_stats().await.unwrap();
    assert_eq!((stats.received, stats.mapped, stats.errors), (0, 0, 3), "{stats:?}");

    let working = Engine::new(failing.store.clone(), Arc::new(Describes::default()));
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let e = working.clone();
            tokio::spawn(async move { e.ingest_message(&delete_volume_event()).await.expect("processed") })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let stats = working.event_stats().await.unwrap();
    assert_eq!((stats.received, stats.mapped, stats.errors), (8, 8, 3), "{stats:?}");
}

/// A queue receive processed as one batch: each message keeps its own
/// outcome (a resource that could not be re-read fails only the messages
/// naming it; an undecodable one fails alone), a resource two messages name
/// is re-read once, and only processed messages are counted.
#[tokio::test]
async fn a_batch_of_messages_fails_only_the_messages_whose_resources_failed() {
    let dir = tempfile::tempdir().unwrap();
    let cloud = Arc::new(Describes { fail_on: Some("vol-0bad"), ..Default::default() });
    let engine = engine_with(&dir, cloud.clone()).await;
    let (good, bad) = (delete_event("vol-0aaa"), delete_event("vol-0bad"));
    let bodies: Vec<&[u8]> = vec![&good, &bad, &good, b"not an event"];
    let batch = engine.ingest_batch(&bodies).await;

    assert_eq!(batch.failures.len(), 4);
    assert!(batch.failures[0].is_none() && batch.failures[2].is_none(), "{:?}", batch.failures);
    let Some(MessageError::Targets(why)) = &batch.failures[1] else { panic!("{:?}", batch.failures[1]) };
    assert!(why.len() == 1 && why[0].contains("vol-0bad") && why[0].contains("ec2:DescribeVolumes"), "{why:?}");
    assert!(matches!(batch.failures[3], Some(MessageError::Decode(_))), "{:?}", batch.failures[3]);
    assert_eq!(cloud.calls.load(std::sync::atomic::Ordering::SeqCst), 2, "vol-0aaa re-read once for two messages");
    let s = &batch.stats;
    assert_eq!((s.received, s.mapped, s.debounced, s.errors), (2, 2, 1, 2), "{s:?}");
    assert_eq!(engine.event_stats().await.unwrap(), batch.stats, "recorded as reported");
}
