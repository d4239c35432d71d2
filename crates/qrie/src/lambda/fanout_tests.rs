//! A sweep of a 50-account simulated organization fanned out over SQS on
//! moto, its store on moto's DynamoDB: the inventory function's own code
//! plans it and sends the unit messages ([`inventory::sweep_with`]), and
//! workers take them as Lambda's event source mapping hands them over —
//! one message per invocation, deleted unless the handler answers it failed
//! ([`inventory::units_batch`]) — two at a time. One worker is killed in the
//! middle of a unit (its invocation times out, the message comes back); one
//! unit's listing fails every time. Then the daily policy sweep goes the
//! same way ([`scanner::sweep_with`]).

use aws_lambda_events::event::sqs::SqsMessage;
use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use qrie_engine::sim::{FaultyCloud, SimCloud, SimEstate, SimSpec};
use qrie_engine::{Engine, SweepUnit};
use qrie_model::{JobStatus, ScanType, Service};
use qrie_store::Store;
use qrie_store_dynamodb::{DynamoStore, Moto};
use std::collections::BTreeSet;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use super::inventory::{self, InventoryAnswer, InventoryPayload, OneOrMany};
use super::scanner::{self, ScannerPayload};
use qrie_aws::units_queue::UnitsQueue;

/// How long one worker invocation may run (its timeout), and the queue's
/// visibility timeout: longer, as deploy/ sets it.
const INVOCATION: Duration = Duration::from_secs(8);
const VISIBILITY_SECONDS: u64 = 10;
/// Receives before the queue's redrive moves a message to its DLQ.
const MAX_RECEIVES: u32 = 5;

async fn sqs_config(moto: &Moto) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(qrie_moto::REGION))
        .endpoint_url(&moto.endpoint)
        .credentials_provider(aws_sdk_sqs::config::Credentials::new(
            qrie_moto::ACCESS_KEY,
            qrie_moto::ACCESS_KEY,
            None,
            None,
            "moto",
        ))
        .load()
        .await
}

/// A FIFO units queue with its dead-letter queue, as deploy/ makes them.
async fn units_queues(sqs: &aws_sdk_sqs::Client) -> (String, String) {
    let dlq = sqs
        .create_queue()
        .queue_name("qrie-units-dlq.fifo")
        .attributes(QueueAttributeName::FifoQueue, "true")
        .send()
        .await
        .unwrap();
    let dlq_url = dlq.queue_url().unwrap().to_string();
    let arn = sqs.get_queue_attributes().queue_url(&dlq_url).attribute_names(QueueAttributeName::QueueArn).send();
    let dlq_arn = arn.await.unwrap().attributes().unwrap()[&QueueAttributeName::QueueArn].clone();
    let redrive = serde_json::json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": MAX_RECEIVES}).to_string();
    let queue = sqs
        .create_queue()
        .queue_name("qrie-units.fifo")
        .attributes(QueueAttributeName::FifoQueue, "true")
        .attributes(QueueAttributeName::VisibilityTimeout, VISIBILITY_SECONDS.to_string())
        .attributes(QueueAttributeName::RedrivePolicy, redrive)
        .send()
        .await
        .unwrap();
    (queue.queue_url().unwrap().to_string(), dlq_url)
}

/// Messages on the queue, visible or in flight.
async fn on_queue(sqs: &aws_sdk_sqs::Client, url: &str) -> u64 {
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .unwrap();
    attrs.attributes().unwrap().values().map(|v| v.parse::<u64>().unwrap()).sum()
}

/// A worker as Lambda runs it off the queue: one message per invocation,
/// which ends at its timeout; the message deleted unless the handler
/// answered it failed or the invocation timed out. Until the queue is empty.
/// Answers how many invocations timed out.
async fn worker(sqs: &aws_sdk_sqs::Client, url: &str, engine: &Engine) -> usize {
    let mut timed_out = 0;
    let started = std::time::Instant::now();
    loop {
        assert!(started.elapsed() < Duration::from_secs(600), "the queue never emptied");
        let received = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(1)
            .wait_time_seconds(1)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .unwrap();
        let Some(m) = received.messages().first() else {
            if on_queue(sqs, url).await == 0 {
                return timed_out;
            }
            continue;
        };
        let mut event = SqsMessage::default();
        event.message_id = m.message_id().map(String::from);
        event.receipt_handle = m.receipt_handle().map(String::from);
        event.body = m.body().map(String::from);
        event.attributes = m.attributes().unwrap().iter().map(|(k, v)| (k.as_str().to_string(), v.clone())).collect();
        let deadline = chrono::Utc::now() + chrono::TimeDelta::from_std(INVOCATION).unwrap();
        let run = inventory::units_batch(engine, std::slice::from_ref(&event), deadline);
        match tokio::time::timeout(INVOCATION, run).await {
            Err(_) => timed_out += 1,
            Ok(answer) if answer.batch_item_failures.is_empty() => {
                sqs.delete_message().queue_url(url).receipt_handle(m.receipt_handle().unwrap()).send().await.unwrap();
            }
            Ok(_) => {}
        }
    }
}

/// Runs the weekly-style sweep of `scan_type` through the queue to its end;
/// answers its job id and the number of invocations that timed out.
async fn sweep_through_queue(
    engine: &Engine,
    queue: &UnitsQueue,
    sqs: &aws_sdk_sqs::Client,
    scan_type: ScanType,
) -> (String, usize) {
    let payload = InventoryPayload {
        service: OneOrMany::One("all".into()),
        scan_type,
        account_id: None,
        region: None,
        job_id: None,
    };
    let deadline = chrono::Utc::now() + chrono::TimeDelta::minutes(15);
    let answer = inventory::sweep_with(engine, Some(queue), payload, deadline).await.unwrap();
    let InventoryAnswer::FannedOut(fanned) = answer else { panic!("not fanned out: {answer:?}") };
    assert_eq!(fanned.status, JobStatus::Running);
    assert!(fanned.units_queued >= 50 * 4, "{} units", fanned.units_queued);
    let (a, b) = tokio::join!(worker(sqs, queue.queue_url(), engine), worker(sqs, queue.queue_url(), engine));
    (fanned.job_id, a + b)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_50_account_sweep_fans_out_over_sqs_and_survives_a_killed_worker_and_a_failing_unit() {
    let moto = Moto::shared();
    let store = DynamoStore::new(moto.client().await, "fanout-");
    store.init().await.unwrap();
    let store: Arc<dyn Store> = Arc::new(store);
    let spec = SimSpec { seed: 50, accounts: 50, resources_per_account: 6, created_at: chrono::Utc::now() };
    let estate = SimEstate::create(&*store, spec).await.unwrap();
    let accounts = estate.accounts().to_vec();
    let estate = Arc::new(RwLock::new(estate));
    let engine = Engine::new(store.clone(), Arc::new(SimCloud::new(estate.clone())));
    for a in &accounts {
        engine.add_account(a.new_account()).await.unwrap();
    }
    for id in ["s3-bucket-versioning-disabled", "ec2-sg-open-ssh", "iam-user-console-no-mfa"] {
        engine.launch_policy(id, Default::default(), &qrie_engine::NoProgress).await.unwrap();
    }
    let config = sqs_config(moto).await;
    let sqs = aws_sdk_sqs::Client::new(&config);
    let (url, dlq_url) = units_queues(&sqs).await;
    let queue = UnitsQueue::new(&config, &url);

    // The bootstrap, through the queue: every account listed, each baselined.
    let (job_id, timed_out) = sweep_through_queue(&engine, &queue, &sqs, ScanType::Bootstrap).await;
    assert_eq!(timed_out, 0);
    let job = store.get_job(&job_id).await.unwrap().unwrap();
    assert_eq!(job.status, JobStatus::Succeeded, "{:?}", job.errors);
    let live = estate.read().unwrap().iter().filter(|r| !qrie_model::has_ended(r)).count() as u64;
    assert_eq!(job.counts["resources.observed"], live);
    assert!(store.list_accounts().await.unwrap().iter().all(|a| a.is_baselined()));

    // Changes no event told of; one unit denied every time, one worker killed mid-unit.
    let changed = estate.write().unwrap().apply_changes(80, Some(3));
    let failing = SweepUnit { account_id: accounts[0].account_id.clone(), service: Service::S3, region: None };
    let hanging = SweepUnit { account_id: accounts[1].account_id.clone(), service: Service::Iam, region: None };
    let unit_state = |service, region: Option<String>| {
        let (store, account) = (store.clone(), failing.account_id.clone());
        async move {
            let digests = store.resource_digests(&account, service, region.as_deref()).await.unwrap();
            digests.into_iter().map(|d| (d.arn, d.config_hash, d.deleted)).collect::<BTreeSet<_>>()
        }
    };
    let failing_before = unit_state(Service::S3, None).await;
    let faulty = FaultyCloud::new(SimCloud::new(estate.clone()), Some(failing.clone()), Some(hanging.clone()));
    let engine = Engine::new(store.clone(), Arc::new(faulty));
    let (job_id, timed_out) = sweep_through_queue(&engine, &queue, &sqs, ScanType::AntiEntropy).await;
    assert_eq!(timed_out, 1, "the killed worker's invocation");

    let job = store.get_job(&job_id).await.unwrap().unwrap();
    assert_eq!(job.status, JobStatus::Partial, "{:?}", job.errors);
    assert_eq!(job.errors.len(), 1, "{:?}", job.errors);
    assert!(job.errors[0].message.starts_with("failed 3 times, last: "), "{:?}", job.errors);
    assert_eq!(job.errors[0].account_id.as_deref(), Some(failing.account_id.as_str()));
    assert_eq!(unit_state(Service::S3, None).await, failing_before, "the failed unit's buckets as they were");
    // Every other unit's resources counted once, redeliveries and the killed run notwithstanding.
    // What the estate holds now: live resources outside the failed unit, and each changed ARN's hash.
    let (listed, expected) = {
        let estate = estate.read().unwrap();
        let live = |r: &&qrie_model::Resource| !qrie_model::has_ended(r);
        let listed = estate
            .iter()
            .filter(live)
            .filter(|r| !(r.account_id == failing.account_id && r.service == Service::S3))
            .count() as u64;
        let expected: Vec<(String, Option<String>)> = changed
            .iter()
            .filter(|c| !(c.account_id == failing.account_id && c.arn.starts_with("arn:aws:s3")))
            .map(|c| (c.arn.clone(), estate.get(&c.arn).filter(live).map(|r| r.config_hash.clone())))
            .collect();
        (listed, expected)
    };
    assert_eq!(job.counts["resources.observed"], listed);
    assert_eq!(job.progress_done, job.progress_total);
    // Each change outside the failed unit is in the store.
    for (arn, hash) in expected {
        let stored = store.get_resource(&arn).await.unwrap();
        match hash {
            Some(hash) => assert_eq!(stored.map(|s| s.config_hash), Some(hash), "{arn}"),
            None => assert!(stored.is_none_or(|s| s.deleted_at.is_some()), "{arn} deleted"),
        }
    }
    let recorded = store.list_history(qrie_engine::summary::DRIFT_INVENTORY_SERIES, 0, 100).await.unwrap();
    let drift: Vec<_> = recorded.iter().filter(|(_, v)| v["JobId"] == job_id.as_str()).collect();
    assert_eq!(drift.len(), 1, "drift recorded once");
    assert_eq!(drift[0].1["IncompleteUnits"], 1);
    assert_eq!(on_queue(&sqs, &dlq_url).await, 0, "nothing dead-lettered");

    // The daily policy sweep, through the same queue and workers: one unit
    // per (account, service) partition, finalised once, evaluating what a
    // sweep run in one process evaluates.
    let daily = ScannerPayload { scan_type: ScanType::AntiEntropy, policy_id: None, job_id: None };
    let deadline = chrono::Utc::now() + chrono::TimeDelta::minutes(15);
    let answer = scanner::sweep_with(&engine, Some(&queue), daily, deadline).await.unwrap();
    let InventoryAnswer::FannedOut(fanned) = answer else { panic!("not fanned out: {answer:?}") };
    assert_eq!(fanned.units_queued, 50 * 3, "50 accounts x the 3 services of the launched policies");
    let (a, b) = tokio::join!(worker(&sqs, &url, &engine), worker(&sqs, &url, &engine));
    assert_eq!(a + b, 0);
    let fanned = store.get_job(&fanned.job_id).await.unwrap().unwrap();
    assert_eq!(fanned.status, JobStatus::Succeeded, "{:?}", fanned.errors);
    let local =
        engine.policy_sweep(&qrie_engine::PolicySweepRequest::default(), &qrie_engine::NoProgress).await.unwrap();
    assert!(fanned.counts["evaluations"] > 0);
    for name in ["evaluations", "findings.opened", "findings.resolved"] {
        assert_eq!(fanned.counts.get(name), local.job.counts.get(name), "{name}");
    }
    let recorded = store.list_history(qrie_engine::summary::DRIFT_POLICY_SERIES, 0, 100).await.unwrap();
    assert_eq!(recorded.iter().filter(|(_, v)| v["JobId"] == fanned.id.as_str()).count(), 1, "drift recorded once");
}
