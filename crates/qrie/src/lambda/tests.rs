//! Each handler invoked as Lambda invokes it — the JSON of a real event shape
//! (aws_lambda_events types, a real EventBridge envelope from the shared test
//! data, a Function URL request) — over a temporary SQLite store holding the
//! simulated estate that `qrie demo` loads, so no AWS is needed.

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use lambda_http::request::LambdaRequest;
use lambda_http::Service as _;
use qrie_engine::sim::{ChangeKind, SimEstate};
use qrie_model::{DetectedBy, JobStatus};
use qrie_server::auth::{self, Role};
use rand_chacha::rand_core::SeedableRng;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use super::launcher::{InvokeFuture, Invoker, SweepFunctions, QUEUE_MAX_AGE_SECONDS};
use super::{events, inventory, scanner, Container, Mode};

/// An invocation's deadline: the sweep functions' 15-minute timeout from now.
fn deadline() -> qrie_model::Timestamp {
    chrono::Utc::now() + chrono::TimeDelta::minutes(15)
}

/// The summary of a sweep run in the invocation.
fn swept(answer: inventory::InventoryAnswer) -> super::SweepSummary {
    match answer {
        inventory::InventoryAnswer::Sweep(s) => s,
        other => panic!("not a sweep run here: {other:?}"),
    }
}

fn functions() -> SweepFunctions {
    SweepFunctions { scanner: "qrie-scanner".into(), inventory: "qrie-inventory".into() }
}

/// A store with the demo estate (2 accounts), opened as a container opens it.
struct Estate {
    _dir: tempfile::TempDir,
    container: Arc<Container>,
}

async fn estate() -> Estate {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("qrie.db").display());
    let args = ["qrie", "--store", &url, "--format", "json", "demo", "--no-serve", "--accounts", "2", "--seed", "11"];
    let cli = <crate::cli::Cli as clap::Parser>::try_parse_from(args).unwrap();
    crate::commands::run(cli).await.unwrap();
    Estate { container: Arc::new(Container::open(&url).await.unwrap()), _dir: dir }
}

impl Estate {
    /// Changes the estate as someone would in AWS; the change's CloudTrail record.
    async fn change(&self, kind: ChangeKind) -> qrie_engine::sim::AppliedChange {
        let store = &*self.container.ctx.store;
        let mut estate = SimEstate::load(store).await.unwrap().unwrap();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let change = estate.apply_one(kind, &mut rng).expect("an eligible resource");
        estate.save(store).await.unwrap();
        change
    }
}

fn testdata() -> PathBuf {
    let dir = std::env::var_os("QRIE_TESTDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata"));
    assert!(dir.is_dir(), "shared test data not found at {} (set QRIE_TESTDATA)", dir.display());
    dir
}

/// A real EventBridge "AWS API Call via CloudTrail" event (cloud-custodian's
/// capture of a CreateBucket call, see cloudtrail/SOURCES.md).
fn real_bridge_event() -> Value {
    let path = testdata().join("cloudtrail/cloud-custodian-cwe/event-cloud-trail-s3.json");
    serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap()
}

/// The real envelope carrying `record` from the account that made the call.
fn bridge_event_for(record: &Value) -> Value {
    let mut event = real_bridge_event();
    event["account"] = record["recipientAccountId"].clone();
    event["region"] = record["awsRegion"].clone();
    event["time"] = record["eventTime"].clone();
    event["id"] = json!("6a7e8feb-b491-4cf7-a9f1-bf3703467718");
    event["detail"] = record.clone();
    event
}

fn sqs_message(id: &str, body: String) -> SqsMessage {
    let mut m = SqsMessage::default();
    m.message_id = Some(id.into());
    m.receipt_handle = Some(format!("AQEB{id}"));
    m.body = Some(body);
    m.event_source = Some("aws:sqs".into());
    m.event_source_arn = Some("arn:aws:sqs:us-east-1:123456789012:qrie-events".into());
    m.aws_region = Some("us-east-1".into());
    m.attributes.insert("ApproximateReceiveCount".into(), "1".into());
    m
}

#[test]
fn qrie_lambda_names_one_of_four_functions() {
    assert_eq!("api".parse::<Mode>().unwrap(), Mode::Api);
    assert_eq!("inventory".parse::<Mode>().unwrap(), Mode::Inventory);
    assert_eq!("scanner".parse::<Mode>().unwrap(), Mode::Scanner);
    assert_eq!("events".parse::<Mode>().unwrap(), Mode::Events);
    let e = "Scanner".parse::<Mode>().unwrap_err().to_string();
    assert!(e.contains("QRIE_LAMBDA") && e.contains("api, inventory, scanner or events"), "{e}");
}

#[tokio::test]
async fn an_sqs_batch_reports_exactly_the_message_that_failed() {
    let w = estate().await;
    let change = w.change(ChangeKind::SuspendVersioning).await;
    let event_id = change.record["eventID"].as_str().unwrap().to_string();
    let store = &w.container.ctx.store;
    let active_before =
        store.findings_for_resource(&change.arn).await.unwrap().iter().filter(|f| f.is_active()).count();

    let mut batch = SqsEvent::default();
    batch.records = vec![
        sqs_message("good-1", bridge_event_for(&change.record).to_string()),
        sqs_message("bad-1", "{\"detail-type\": \"AWS API Call via CloudTrail\", truncated".into()),
        // A real event of an account qrie does not monitor: processed, nothing to do.
        sqs_message("foreign-1", real_bridge_event().to_string()),
    ];
    let answer = events::handle(w.container.clone(), serde_json::to_value(&batch).unwrap()).await.unwrap();
    assert_eq!(serde_json::to_value(&answer).unwrap(), json!({"batchItemFailures": [{"itemIdentifier": "bad-1"}]}));

    // The good message re-read the bucket and opened its finding at once.
    let findings = store.findings_for_resource(&change.arn).await.unwrap();
    let opened: Vec<_> = findings
        .iter()
        .filter(|f| f.is_active())
        .filter(|f| f.history.last().is_some_and(|t| t.trigger.event_id.as_deref() == Some(&event_id)))
        .collect();
    assert!(!opened.is_empty(), "no finding opened by {event_id}: {findings:#?}");
    assert!(opened.iter().all(|f| f.history.last().unwrap().trigger.detected_by == DetectedBy::Event));
    assert!(findings.iter().filter(|f| f.is_active()).count() > active_before);
    let stats = w.container.engine().await.unwrap().event_stats().await.unwrap();
    assert_eq!(stats.received, 2, "the good and the foreign event: {stats:?}");
    assert_eq!(stats.unmonitored, 1);
}

#[tokio::test]
async fn a_direct_eventbridge_event_is_processed_and_garbage_is_an_error() {
    let w = estate().await;
    let change = w.change(ChangeKind::EnableVersioning).await;
    let policy = "s3-bucket-versioning-disabled";
    let before = w.container.ctx.store.get_finding(&change.arn, policy).await.unwrap();
    assert!(before.is_some_and(|f| f.is_active()), "the bucket had versioning off");
    let answer = events::handle(w.container.clone(), bridge_event_for(&change.record)).await.unwrap();
    let answer = serde_json::to_value(&answer).unwrap();
    assert_eq!(answer["Stats"]["Received"], 1, "{answer}");
    assert_eq!(answer["Stats"]["Refreshed"], 1, "{answer}");
    assert_eq!(answer["Stats"]["FindingsResolved"], 1, "versioning enabled resolves: {answer}");
    let after = w.container.ctx.store.get_finding(&change.arn, policy).await.unwrap().unwrap();
    assert!(!after.is_active());
    let last = after.history.last().unwrap();
    assert_eq!(last.trigger.event_id.as_ref(), change.record["eventID"].as_str().map(String::from).as_ref());
    let e = events::handle(w.container.clone(), json!({"hello": "world"})).await.unwrap_err();
    assert!(e.to_string().contains("neither an SQS event"), "{e}");
}

#[tokio::test]
async fn scheduled_inventory_and_scanner_payloads_run_their_sweeps() {
    let w = estate().await;
    // A change whose event never arrives: the weekly anti-entropy sweep must catch it.
    let missed = w.change(ChangeKind::SuspendVersioning).await;
    let weekly: inventory::InventoryPayload =
        serde_json::from_value(json!({"service": "all", "scan_type": "anti-entropy"})).unwrap();
    let summary =
        serde_json::to_value(swept(inventory::sweep(w.container.clone(), weekly, deadline()).await.unwrap())).unwrap();
    assert_eq!(summary["Status"], "succeeded", "{summary}");
    assert_eq!(summary["Kind"], "inventory");
    assert_eq!(summary["DriftTotals"]["MissedUpdates"], 1, "{summary}");
    assert!(summary["Resources"]["Observed"].as_u64().unwrap() > 0, "{summary}");
    let job = w.container.ctx.store.get_job(summary["JobId"].as_str().unwrap()).await.unwrap().unwrap();
    assert_eq!(job.status, JobStatus::Succeeded);
    let finding = w.container.ctx.store.get_finding(&missed.arn, "s3-bucket-versioning-disabled").await.unwrap();
    assert!(finding.is_some_and(|f| f.is_active() && f.detected_by == DetectedBy::AntiEntropy));

    // One service of one account, as onboarding invokes it.
    let account = missed.account_id.clone();
    let one: inventory::InventoryPayload =
        serde_json::from_value(json!({"service": "s3", "scan_type": "bootstrap", "account_id": account})).unwrap();
    let summary = swept(inventory::sweep(w.container.clone(), one, deadline()).await.unwrap());
    let job = w.container.ctx.store.get_job(&summary.job_id).await.unwrap().unwrap();
    assert_eq!(job.target["Accounts"], json!([account]));
    assert_eq!(job.target["Services"], json!(["s3"]));
    // Typos are the invocation's error, not a sweep of something else.
    let bad: inventory::InventoryPayload =
        serde_json::from_value(json!({"service": "rds", "scan_type": "bootstrap"})).unwrap();
    assert!(inventory::sweep(w.container.clone(), bad, deadline()).await.is_err());
    assert!(serde_json::from_value::<inventory::InventoryPayload>(json!({"service": "all", "scantype": "x"})).is_err());

    let daily: scanner::ScannerPayload = serde_json::from_value(json!({"scan_type": "anti-entropy"})).unwrap();
    let summary =
        serde_json::to_value(swept(scanner::handle(w.container.clone(), daily, deadline()).await.unwrap())).unwrap();
    assert_eq!((&summary["Status"], &summary["Kind"]), (&json!("succeeded"), &json!("policy-sweep")), "{summary}");
    assert!(summary["Counts"]["evaluations"].as_u64().unwrap() > 0, "{summary}");
    assert_eq!(summary["DriftTotals"], json!({"MissedOpens": 0, "MissedResolves": 0}), "{summary}");
    let one: scanner::ScannerPayload =
        serde_json::from_value(json!({"scan_type": "bootstrap", "policy_id": "s3-bucket-versioning-disabled"}))
            .unwrap();
    let summary = swept(scanner::handle(w.container.clone(), one, deadline()).await.unwrap());
    let job = w.container.ctx.store.get_job(&summary.job_id).await.unwrap().unwrap();
    assert_eq!(job.target["Policies"], json!(["s3-bucket-versioning-disabled"]));
}

#[tokio::test]
async fn the_inventory_function_tells_unit_messages_from_sweep_payloads() {
    let w = estate().await;
    // A message that names no unit is answered failed (the units DLQ gets it after its receives).
    let batch = json!({"Records": [sqs_message("m-1", "{\"JobId\": \"x\"}".into())]});
    let answer = inventory::handle(w.container.clone(), batch, deadline()).await.unwrap();
    let answer = serde_json::to_value(answer).unwrap();
    assert_eq!(answer["batchItemFailures"], json!([{"itemIdentifier": "m-1"}]), "{answer}");
    // A unit of a job with no plan: nothing to do, answered done.
    let unit = json!({"JobId": "inv-gone", "Unit": "123456789012/s3/global"}).to_string();
    let answer = inventory::handle(w.container.clone(), json!({"Records": [sqs_message("m-2", unit)]}), deadline());
    let answer = serde_json::to_value(answer.await.unwrap()).unwrap();
    assert_eq!(answer["batchItemFailures"], json!([]), "{answer}");
    // A sweep payload runs the sweep (no units queue here: in this invocation).
    let weekly = json!({"service": "s3", "scan_type": "anti-entropy"});
    let answer = serde_json::to_value(inventory::handle(w.container.clone(), weekly, deadline()).await.unwrap());
    assert_eq!(answer.unwrap()["Status"], "succeeded");
    let typo = json!({"service": "s3", "scantype": "anti-entropy"});
    let e = inventory::handle(w.container.clone(), typo, deadline()).await.unwrap_err();
    assert!(format!("{e:#}").contains("scantype"), "{e:#}");
}

/// Records what the API asked Lambda to invoke.
#[derive(Default)]
struct FakeInvoker {
    calls: Mutex<Vec<(String, Value)>>,
    fail: bool,
}

impl Invoker for FakeInvoker {
    fn invoke_async<'a>(&'a self, function: &'a str, payload: Vec<u8>) -> InvokeFuture<'a> {
        self.calls.lock().unwrap().push((function.to_string(), serde_json::from_slice(&payload).unwrap()));
        let fail = self.fail;
        Box::pin(async move {
            if fail {
                Err("AccessDeniedException: not allowed".into())
            } else {
                Ok(())
            }
        })
    }
}

/// A Lambda Function URL request (payload format 2.0), as AWS sends it.
fn function_url_request(method: &str, path: &str, query: &str, token: Option<&str>, body: Option<&str>) -> Value {
    let mut headers = json!({
        "accept": "application/json",
        "host": "abcdefghijklmnopqrstuvwxyz012345.lambda-url.us-east-1.on.aws",
        "user-agent": "curl/8.5.0",
        "x-amzn-trace-id": "Root=1-65f1c0de-3a4b5c6d7e8f901234567890",
        "x-forwarded-for": "203.0.113.7",
        "x-forwarded-port": "443",
        "x-forwarded-proto": "https"
    });
    if let Some(t) = token {
        headers["authorization"] = json!(format!("Bearer {t}"));
    }
    let mut request = json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": headers,
        "requestContext": {
            "accountId": "anonymous",
            "apiId": "abcdefghijklmnopqrstuvwxyz012345",
            "domainName": "abcdefghijklmnopqrstuvwxyz012345.lambda-url.us-east-1.on.aws",
            "domainPrefix": "abcdefghijklmnopqrstuvwxyz012345",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.7", "userAgent": "curl/8.5.0"},
            "requestId": "0d2e9f0c-6a4b-4d67-9b1e-0c2a4f1b7e55",
            "routeKey": "$default",
            "stage": "$default",
            "time": "12/Mar/2026:19:03:58 +0000",
            "timeEpoch": 1773342238390u64
        },
        "isBase64Encoded": false
    });
    if !query.is_empty() {
        let params: serde_json::Map<String, Value> =
            query.split('&').filter_map(|kv| kv.split_once('=')).map(|(k, v)| (k.to_string(), json!(v))).collect();
        request["queryStringParameters"] = Value::Object(params);
    }
    if let Some(b) = body {
        request["headers"]["content-type"] = json!("application/json");
        request["body"] = json!(b);
    }
    request
}

/// Sends a Function URL request through the router as `lambda_http::run`
/// does, and answers the function's response (status, body as JSON).
async fn invoke_api(app: &axum::Router, request: Value) -> (u16, Value) {
    let payload: LambdaRequest = serde_json::from_value(request).unwrap();
    let mut adapter = lambda_http::Adapter::from(app.clone());
    let event = lambda_http::LambdaEvent::new(payload, lambda_http::Context::default());
    let response = serde_json::to_value(adapter.call(event).await.unwrap()).unwrap();
    let body = response["body"].as_str().unwrap_or_default();
    (response["statusCode"].as_u64().unwrap() as u16, serde_json::from_str(body).unwrap_or(Value::Null))
}

#[tokio::test]
async fn the_api_answers_function_url_requests() {
    let w = estate().await;
    let token = auth::create_token(&*w.container.ctx.store, Role::Viewer, None).await.unwrap().token;
    let app = super::api::router(&w.container, Arc::new(FakeInvoker::default()), functions()).await.unwrap();

    let (status, body) = invoke_api(&app, function_url_request("GET", "/healthz", "", None, None)).await;
    assert_eq!((status, body), (200, json!({"status": "ok"})));
    let request = function_url_request("GET", "/api/findings", "state=active&limit=5", Some(&token), None);
    let (status, body) = invoke_api(&app, request).await;
    assert_eq!(status, 200, "{body}");
    let items = body["Items"].as_array().unwrap_or_else(|| panic!("a page of findings: {body}"));
    assert_eq!(items.len(), 5, "{body}");
    assert!(items.iter().all(|f| f["State"] == "ACTIVE"), "{body}");
    assert!(body["NextToken"].is_string(), "the demo has more than 5 active findings");
    let (status, _) = invoke_api(&app, function_url_request("GET", "/api/findings", "", None, None)).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn a_launch_through_the_api_invokes_the_scanner_which_runs_the_queued_job() {
    let w = estate().await;
    let store = w.container.ctx.store.clone();
    let admin = auth::create_token(&*store, Role::Admin, None).await.unwrap().token;
    let policy = "s3-bucket-versioning-disabled";
    w.container.engine().await.unwrap().suspend_policy(policy).await.unwrap();
    let invoker = Arc::new(FakeInvoker::default());
    let app = super::api::router(&w.container, invoker.clone(), functions()).await.unwrap();

    let launch = json!({"policy_id": policy}).to_string();
    let (status, body) =
        invoke_api(&app, function_url_request("POST", "/api/policies", "", Some(&admin), Some(&launch))).await;
    assert_eq!(status, 202, "{body}");
    let job_id = body["JobId"].as_str().unwrap().to_string();
    let calls = invoker.calls.lock().unwrap().clone();
    assert_eq!(
        calls,
        [("qrie-scanner".to_string(), json!({"scan_type": "bootstrap", "policy_id": policy, "job_id": job_id}))]
    );
    assert_eq!(store.get_job(&job_id).await.unwrap().unwrap().status, JobStatus::Queued);

    // The scanner, invoked with that payload, runs the job the API answered with.
    let payload: scanner::ScannerPayload = serde_json::from_value(calls[0].1.clone()).unwrap();
    let summary = swept(scanner::handle(w.container.clone(), payload.clone(), deadline()).await.unwrap());
    assert_eq!((summary.job_id.as_str(), summary.status), (job_id.as_str(), JobStatus::Succeeded));
    assert!(summary.counts["findings.opened"] > 0, "the re-launch re-opens its findings: {summary:?}");
    // Delivered again (asynchronous invokes can be): the record is answered, nothing re-runs.
    let again = swept(scanner::handle(w.container.clone(), payload, deadline()).await.unwrap());
    assert_eq!(again.counts, summary.counts);
    assert_eq!(store.get_job(&job_id).await.unwrap().unwrap().status, JobStatus::Succeeded);

    // A failed invoke fails the request and the queued job, saying why.
    let failing = Arc::new(FakeInvoker { fail: true, ..Default::default() });
    let app = super::api::router(&w.container, failing.clone(), functions()).await.unwrap();
    let scope = json!({"scope": {"include_regions": ["eu-west-1"]}}).to_string();
    let path = format!("/api/policies/{policy}");
    let (status, body) = invoke_api(&app, function_url_request("PUT", &path, "", Some(&admin), Some(&scope))).await;
    assert_eq!((status, &body["error"]["code"]), (502, &json!("dispatch_failed")), "{body}");
    let failed_id = failing.calls.lock().unwrap()[0].1["job_id"].as_str().unwrap().to_string();
    let failed = store.get_job(&failed_id).await.unwrap().unwrap();
    assert_eq!(failed.status, JobStatus::Failed);
    assert!(failed.errors[0].message.contains("AccessDeniedException"), "{failed:?}");
}

#[tokio::test]
async fn an_inventory_sweep_through_the_api_invokes_the_inventory_function_which_runs_the_queued_job() {
    let w = estate().await;
    let store = w.container.ctx.store.clone();
    let operator = auth::create_token(&*store, Role::Operator, None).await.unwrap().token;
    let invoker = Arc::new(FakeInvoker::default());
    let app = super::api::router(&w.container, invoker.clone(), functions()).await.unwrap();

    // POST /api/jobs: several services, so the payload lists them.
    let start = json!({"kind": "inventory", "scan_type": "anti-entropy", "services": ["s3", "ec2"]}).to_string();
    let queued_at = chrono::Utc::now();
    let (status, body) =
        invoke_api(&app, function_url_request("POST", "/api/jobs", "", Some(&operator), Some(&start))).await;
    assert_eq!(status, 202, "{body}");
    let job_id = body["JobId"].as_str().unwrap().to_string();
    let calls = invoker.calls.lock().unwrap().clone();
    assert_eq!(
        calls,
        [(
            "qrie-inventory".to_string(),
            json!({"service": ["s3", "ec2"], "scan_type": "anti-entropy", "job_id": job_id})
        )]
    );
    let queued = store.get_job(&job_id).await.unwrap().unwrap();
    assert_eq!(queued.status, JobStatus::Queued);
    let wait = queued.deadline.expect("a queued job has a deadline") - queued_at;
    assert!((QUEUE_MAX_AGE_SECONDS - 5..=QUEUE_MAX_AGE_SECONDS + 5).contains(&wait.num_seconds()), "{wait}");

    // The inventory function, invoked with that payload, runs the job under its id and its own deadline.
    let payload: inventory::InventoryPayload = serde_json::from_value(calls[0].1.clone()).unwrap();
    let run_by = deadline();
    let summary = swept(inventory::sweep(w.container.clone(), payload.clone(), run_by).await.unwrap());
    assert_eq!((summary.job_id.as_str(), summary.status), (job_id.as_str(), JobStatus::Succeeded));
    let job = store.get_job(&job_id).await.unwrap().unwrap();
    assert_eq!((job.target["Services"].clone(), job.deadline), (json!(["s3", "ec2"]), Some(run_by)));
    assert!(job.counts["resources.observed"] > 0, "{job:?}");
    let again = swept(inventory::sweep(w.container.clone(), payload, deadline()).await.unwrap());
    assert_eq!(again.counts, summary.counts, "delivered twice: answered, not re-run");

    // The account scan (the Accounts page's "scan now"): one account, in the seeds' payload shape.
    let account = store.list_accounts().await.unwrap()[0].account_id.clone();
    let path = format!("/api/accounts/{account}/scan");
    let (status, body) = invoke_api(&app, function_url_request("POST", &path, "", Some(&operator), None)).await;
    assert_eq!(status, 202, "{body}");
    let scan_id = body["JobId"].as_str().unwrap().to_string();
    let call = invoker.calls.lock().unwrap()[1].clone();
    assert_eq!(
        call,
        (
            "qrie-inventory".to_string(),
            json!({"service": "all", "scan_type": "anti-entropy", "account_id": account, "job_id": scan_id})
        )
    );
    let summary = swept(
        inventory::sweep(w.container.clone(), serde_json::from_value(call.1).unwrap(), deadline()).await.unwrap(),
    );
    assert_eq!((summary.job_id.as_str(), summary.status), (scan_id.as_str(), JobStatus::Succeeded));
    let job = store.get_job(&scan_id).await.unwrap().unwrap();
    assert_eq!(job.target["Accounts"], json!([account]));

    // Unknown accounts are the request's error; nothing is queued or invoked.
    let bad = json!({"kind": "inventory", "accounts": ["999999999999"]}).to_string();
    let (status, _) =
        invoke_api(&app, function_url_request("POST", "/api/jobs", "", Some(&operator), Some(&bad))).await;
    assert_eq!(status, 404);
    assert_eq!(invoker.calls.lock().unwrap().len(), 2);

    // A failed invoke fails the request and the queued job, naming the function.
    let failing = Arc::new(FakeInvoker { fail: true, ..Default::default() });
    let app = super::api::router(&w.container, failing.clone(), functions()).await.unwrap();
    let (status, body) = invoke_api(&app, function_url_request("POST", &path, "", Some(&operator), None)).await;
    assert_eq!((status, &body["error"]["code"]), (502, &json!("dispatch_failed")), "{body}");
    let failed_id = failing.calls.lock().unwrap()[0].1["job_id"].as_str().unwrap().to_string();
    let failed = store.get_job(&failed_id).await.unwrap().unwrap();
    assert_eq!(failed.status, JobStatus::Failed);
    assert!(failed.errors[0].message.contains("qrie-inventory: AccessDeniedException"), "{failed:?}");
}

/// Moves a job's deadline into the past, as if that much time had gone by.
async fn age_past_deadline(store: &dyn qrie_store::Store, id: &str) {
    let mut job = store.get_job(id).await.unwrap().unwrap();
    job.deadline = Some(chrono::Utc::now() - chrono::TimeDelta::minutes(5));
    store.put_job(job).await.unwrap();
}

#[tokio::test]
async fn a_job_whose_function_never_ran_or_never_ended_is_listed_failed_as_lost() {
    let w = estate().await;
    let store = w.container.ctx.store.clone();
    let operator = auth::create_token(&*store, Role::Operator, None).await.unwrap().token;
    // Lambda accepted the invoke, and then nothing ran it.
    let app = super::api::router(&w.container, Arc::new(FakeInvoker::default()), functions()).await.unwrap();
    let start = json!({"kind": "policy-sweep"}).to_string();
    let (status, body) =
        invoke_api(&app, function_url_request("POST", "/api/jobs", "", Some(&operator), Some(&start))).await;
    assert_eq!(status, 202, "{body}");
    let never_ran = body["JobId"].as_str().unwrap().to_string();
    let (_, body) =
        invoke_api(&app, function_url_request("GET", &format!("/api/jobs/{never_ran}"), "", Some(&operator), None))
            .await;
    assert_eq!(body["Status"], "queued", "before its deadline it may still start: {body}");

    age_past_deadline(&*store, &never_ran).await;
    let (status, body) =
        invoke_api(&app, function_url_request("GET", &format!("/api/jobs/{never_ran}"), "", Some(&operator), None))
            .await;
    assert_eq!((status, &body["Status"]), (200, &json!("failed")), "{body}");
    let why = body["Errors"][0]["Message"].as_str().unwrap();
    assert!(why.starts_with("lost: queued at") && why.contains("maximum event age"), "{why}");
    // Delivered after all, the invoke finds the job failed and sweeps nothing.
    let late =
        scanner::ScannerPayload { scan_type: Default::default(), policy_id: None, job_id: Some(never_ran.clone()) };
    let answer = swept(scanner::handle(w.container.clone(), late, deadline()).await.unwrap());
    assert_eq!((answer.status, answer.counts.get("evaluations")), (JobStatus::Failed, None));

    // A scheduled sweep whose invocation timed out: running, with its invocation's deadline.
    let daily: scanner::ScannerPayload = serde_json::from_value(json!({"scan_type": "anti-entropy"})).unwrap();
    let ran = swept(scanner::handle(w.container.clone(), daily, deadline()).await.unwrap());
    let mut timed_out = store.get_job(&ran.job_id).await.unwrap().unwrap();
    assert!(timed_out.deadline.is_some(), "a function's sweep carries its invocation's deadline");
    (timed_out.status, timed_out.finished_at) = (JobStatus::Running, None);
    store.put_job(timed_out).await.unwrap();
    age_past_deadline(&*store, &ran.job_id).await;
    let (status, body) = invoke_api(&app, function_url_request("GET", "/api/jobs", "", Some(&operator), None)).await;
    assert_eq!(status, 200, "{body}");
    let listed = body["Items"].as_array().unwrap().iter().find(|j| j["Id"] == json!(ran.job_id)).unwrap();
    assert_eq!(listed["Status"], "failed", "{listed}");
    let why = listed["Errors"].as_array().unwrap().last().unwrap()["Message"].as_str().unwrap();
    assert!(why.starts_with("lost: running since") && why.contains("timed out or crashed"), "{why}");
}

#[tokio::test]
async fn the_scanner_runs_the_retention_schedule() {
    let w = estate().await;
    let store = w.container.ctx.store.clone();
    let engine = w.container.engine().await.unwrap();
    engine.suspend_policy("s3-bucket-versioning-disabled").await.unwrap();
    let resolved = qrie_store::FindingFilter { state: Some(qrie_model::FindingState::Resolved), ..Default::default() };
    let count = |rows: Vec<(String, u64)>| rows.into_iter().map(|r| r.1).sum::<u64>();
    let before = count(store.count_findings(&resolved, None).await.unwrap());
    assert!(before > 0);
    // A mistyped field is the invocation's error, naming it; nothing is archived.
    let typo = json!({"archive_older_than_days": 0, "dry_run": true});
    let err = scanner::handle_invocation(w.container.clone(), typo, deadline()).await.unwrap_err();
    assert!(format!("{err:#}").contains("dry_run"), "{err:#}");
    let recent = json!({"archive_older_than_days": 30});
    let answer = scanner::handle_invocation(w.container.clone(), recent, deadline()).await.unwrap();
    assert_eq!(serde_json::to_value(answer).unwrap()["Archived"], 0, "nothing resolved 30 days ago");
    let all = json!({"archive_older_than_days": 0});
    let answer = serde_json::to_value(scanner::handle_invocation(w.container.clone(), all, deadline()).await.unwrap());
    let answer = answer.unwrap();
    assert_eq!((answer["Archived"].as_u64(), answer["Purged"].as_u64()), (Some(before), Some(before)), "{answer}");
    // Without QRIE_ARCHIVE_TO a SQLite store archives beside itself.
    let location = answer["Location"].as_str().unwrap();
    assert!(std::path::Path::new(location).starts_with(w._dir.path().join("archive")), "{location}");
    assert_eq!(count(store.count_findings(&resolved, None).await.unwrap()), 0);
    // A sweep payload still runs a sweep.
    let daily = json!({"scan_type": "anti-entropy"});
    let answer = scanner::handle_invocation(w.container.clone(), daily, deadline()).await.unwrap();
    assert!(matches!(answer, scanner::ScannerAnswer::Sweep(_)));
}

#[tokio::test]
async fn the_scanner_delivers_notifications_on_its_schedule() {
    let w = estate().await;
    let engine = w.container.engine().await.unwrap();
    // Suspending a policy resolves its findings: transitions, in the outbox.
    engine.suspend_policy("s3-bucket-versioning-disabled").await.unwrap();
    let pending = engine.outbox(false).await.unwrap().len() as u64;
    assert!(pending > 0, "the resolves are told");
    let typo = json!({"dispatch_notifications": true, "now": 1});
    let err = scanner::handle_invocation(w.container.clone(), typo, deadline()).await.unwrap_err();
    assert!(format!("{err:#}").contains("now"), "{err:#}");
    // No integration takes them: the pass examines and completes them all.
    let pass = json!({"dispatch_notifications": true});
    let answer = serde_json::to_value(scanner::handle_invocation(w.container.clone(), pass, deadline()).await.unwrap());
    let answer = answer.unwrap();
    assert_eq!(answer["Examined"].as_u64(), Some(pending), "{answer}");
    assert_eq!(answer["Completed"].as_u64(), Some(pending), "{answer}");
    assert!(engine.outbox(false).await.unwrap().is_empty());
}
