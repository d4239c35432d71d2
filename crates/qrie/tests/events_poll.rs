//! `qrie events poll` end to end against moto's SQS: a good EventBridge-shaped
//! CloudTrail event is processed and deleted; a malformed message is left on
//! the queue, retried, and moved to the dead-letter queue by the queue's
//! redrive policy; Ctrl-C stops a running poll cleanly.
//!
//! moto comes from the venv that scripts/setup-python makes; a missing moto is
//! a failure, never a skip.

mod common;
use aws_sdk_sqs::types::QueueAttributeName;
use common::Qrie;
use qrie_engine::sim::eventbridge_envelope;
use qrie_moto::MotoServer;
use serde_json::{json, Value};
use std::process::{Command, Stdio};
use std::time::Duration;

fn findings(q: &Qrie) -> Vec<Value> {
    q.findings(&["--state", "all"])
}

fn poll_once(q: &Qrie, queue_url: &str) -> Value {
    q.json(&["events", "poll", "--queue-url", queue_url, "--once", "--wait-seconds", "1"])
}

async fn sqs_client(endpoint: &str) -> aws_sdk_sqs::Client {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(aws_sdk_sqs::config::Credentials::new("testing", "testing", None, None, "test"))
        .load()
        .await;
    aws_sdk_sqs::Client::new(&config)
}

/// A dead-letter queue and a queue that moves a message there after
/// `max_receive` deliveries, with a 1-second visibility timeout so that a
/// message left unprocessed is delivered again at once.
async fn queues(sqs: &aws_sdk_sqs::Client, max_receive: u32) -> (String, String) {
    let dlq = sqs.create_queue().queue_name("qrie-events-dlq").send().await.expect("create DLQ");
    let dlq_url = dlq.queue_url().unwrap().to_string();
    let dlq_arn = sqs
        .get_queue_attributes()
        .queue_url(&dlq_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("DLQ attributes")
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
        .expect("DLQ ARN");
    let redrive = json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receive}).to_string();
    let queue = sqs
        .create_queue()
        .queue_name("qrie-events")
        .attributes(QueueAttributeName::RedrivePolicy, redrive)
        .attributes(QueueAttributeName::VisibilityTimeout, "1")
        .send()
        .await
        .expect("create queue");
    (queue.queue_url().unwrap().to_string(), dlq_url)
}

async fn bodies_in(sqs: &aws_sdk_sqs::Client, queue_url: &str) -> Vec<String> {
    let out = sqs
        .receive_message()
        .queue_url(queue_url)
        .max_number_of_messages(10)
        .wait_time_seconds(1)
        .send()
        .await
        .expect("receive");
    out.messages().iter().filter_map(|m| m.body().map(str::to_string)).collect()
}

fn demo(q: &Qrie) {
    q.ok(&["demo", "--no-serve", "--accounts", "3", "--seed", "7", "--resources-per-account", "60"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poll_processes_and_deletes_good_messages_and_dead_letters_bad_ones() {
    let moto = MotoServer::start();
    let q = Qrie::new().with_aws(&moto.endpoint);
    demo(&q);
    // A change in the simulated estate whose CloudTrail record nobody has seen yet
    // (--print-records applies and saves it, and only prints the record).
    let printed = q.ok(&["demo", "change", "--count", "1", "--seed", "2", "--print-records"]);
    let record: Value = serde_json::from_str(printed.trim()).expect("one JSON record");
    let event_id = record["eventID"].as_str().unwrap().to_string();
    let before = findings(&q);

    let sqs = sqs_client(&moto.endpoint).await;
    let (queue_url, dlq_url) = queues(&sqs, 2).await;
    let malformed = "{\"this is\": not an event";
    for body in
        [eventbridge_envelope("6a7e8feb-b491-4cf7-a9f1-bf3703467718", &record).to_string(), malformed.to_string()]
    {
        sqs.send_message().queue_url(&queue_url).message_body(body).send().await.expect("send");
    }

    // First delivery: the good message is processed and deleted, the bad one stays.
    let first = poll_once(&q, &queue_url);
    assert_eq!(first["Messages"], 2, "{first}");
    assert_eq!(first["Deleted"], 1, "{first}");
    assert_eq!(first["Failed"], 1, "{first}");
    assert_eq!(first["Stats"]["Received"], 1, "only the good message's event was ingested: {first}");
    assert_eq!(first["Stats"]["Mapped"], 1, "{first}");
    let failure = &first["Failures"][0];
    assert!(failure["Error"].as_str().unwrap().contains("cannot decode"), "{failure}");
    assert_eq!(failure["ReceiveCount"], 1);
    assert_eq!(failure["Deleted"], false);

    // The event moved findings at once, each transition naming the event.
    let after = findings(&q);
    let moved = common::moved(&before, &after);
    assert!(!moved.is_empty(), "the polled event updated findings");
    let s = &first["Stats"];
    assert_eq!(s["FindingsOpened"].as_u64().unwrap() + s["FindingsResolved"].as_u64().unwrap(), moved.len() as u64);
    for f in &moved {
        let last = f["History"].as_array().unwrap().last().unwrap();
        assert_eq!(last["Trigger"]["DetectedBy"], "event", "{last}");
        assert_eq!(last["Trigger"]["EventId"], event_id.as_str(), "{last}");
    }
    // Nothing was missed: the change reached the inventory through the queue.
    let sweep = q.json(&["inventory", "generate", "--scan-type", "anti-entropy"]);
    assert_eq!(sweep["Result"]["DriftTotals"]["MissedUpdates"], 0, "{}", sweep["Result"]["DriftTotals"]);
    assert_eq!(sweep["Result"]["DriftTotals"]["MissedCreates"], 0, "{}", sweep["Result"]["DriftTotals"]);

    // Second delivery (after the 1 s visibility timeout): it fails again and stays.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let second = poll_once(&q, &queue_url);
    assert_eq!((second["Messages"].as_u64(), second["Failed"].as_u64()), (Some(1), Some(1)), "{second}");
    assert_eq!(second["Failures"][0]["ReceiveCount"], 2, "{second}");

    // maxReceiveCount (2) reached: SQS moves it to the dead-letter queue instead of
    // delivering it a third time. The good message is in neither queue.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let third = poll_once(&q, &queue_url);
    assert_eq!(third["Messages"], 0, "{third}");
    assert_eq!(bodies_in(&sqs, &dlq_url).await, vec![malformed.to_string()]);
    assert!(bodies_in(&sqs, &queue_url).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_stops_a_running_poll_cleanly() {
    let moto = MotoServer::start();
    let q = Qrie::new().with_aws(&moto.endpoint);
    demo(&q);
    let sqs = sqs_client(&moto.endpoint).await;
    let (queue_url, _) = queues(&sqs, 2).await;
    let child = q
        .command(&["events", "poll", "--queue-url", &queue_url, "--wait-seconds", "1", "--format", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start qrie events poll");
    // Let it start polling (an empty queue: each receive waits 1 s), then interrupt it.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let kill = Command::new("kill").args(["-INT", &child.id().to_string()]).status().expect("kill -INT");
    assert!(kill.success());
    let out = child.wait_with_output().expect("qrie exits");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "poll did not stop cleanly: {stderr}");
    assert!(stderr.contains("stopping after the current batch"), "{stderr}");
    let summary: Value = serde_json::from_slice(&out.stdout).expect("a JSON summary");
    assert_eq!(summary["Messages"], 0);
    assert_eq!(summary["QueueUrl"], queue_url.as_str());
}

#[test]
fn poll_refuses_out_of_range_limits() {
    let q = Qrie::new().with_aws("http://127.0.0.1:9");
    for args in [["--wait-seconds", "21"], ["--max-messages", "11"], ["--max-messages", "0"]] {
        let out = q.command(&["events", "poll", "--queue-url", "http://127.0.0.1:9/1/q", args[0], args[1]]).output();
        let out = out.expect("run qrie");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && stderr.contains(args[0]), "{args:?}: {stderr}");
    }
    // Nothing listens there: a clear error naming the call and the queue, no panic.
    let out = q.command(&["events", "poll", "--queue-url", "http://127.0.0.1:9/1/q", "--once"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && !stderr.contains("panicked"), "{stderr}");
    assert!(stderr.contains("error:") && stderr.contains("ReceiveMessage on http://127.0.0.1:9/1/q"), "{stderr}");
}
