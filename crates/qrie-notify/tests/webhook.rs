//! The outbox dispatcher and the webhook channel against a local receiver (a
//! small axum server on a loopback port): signatures, exactly one accepted
//! delivery per notice through failures, a dispatcher killed mid-delivery
//! and two dispatchers at once; dead letters after the last attempt.

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use chrono::{Duration, Utc};
use qrie_engine::Engine;
use qrie_model::integration::{Channel, Integration, Route, SecretRef};
use qrie_model::notice::{DeliveryStatus, Notice, MAX_ATTEMPTS};
use qrie_model::{DetectedBy, Finding, FindingState, ResolvedReason, Severity, Transition, TransitionKind, Trigger};
use qrie_notify::{signature, Senders};
use qrie_store::{FindingWrite, Store};
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

const SECRET_ENV: &str = "QRIE_WEBHOOK_TEST_SECRET";
const SECRET: &str = "s3cr3t-for-tests";

/// One request: its delivery id, signature header, body, and the status
/// answered (0: none, it hung).
type Got = (String, Option<String>, Bytes, u16);

/// What the receiver answers, in turn (then 200s), and what it got.
#[derive(Default)]
struct Receiver {
    script: Mutex<VecDeque<Answer>>,
    got: Mutex<Vec<Got>>,
}

#[derive(Clone, Copy)]
enum Answer {
    Status(u16),
    /// Never answers (a receiver that hangs, or a dispatcher killed while waiting).
    Hang,
}

impl Receiver {
    fn accepted(&self) -> BTreeMap<String, usize> {
        let mut out = BTreeMap::new();
        for (id, _, _, status) in self.got.lock().unwrap().iter() {
            if (200..300).contains(status) {
                *out.entry(id.clone()).or_default() += 1;
            }
        }
        out
    }
}

async fn receiver(script: Vec<Answer>) -> (Arc<Receiver>, String) {
    let r = Arc::new(Receiver { script: Mutex::new(script.into()), ..Default::default() });
    let state = r.clone();
    let app = axum::Router::new().route(
        "/hook",
        post(move |headers: HeaderMap, body: Bytes| {
            let r = state.clone();
            async move {
                let answer = r.script.lock().unwrap().pop_front().unwrap_or(Answer::Status(200));
                let id = headers.get("x-qrie-delivery").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
                let sig = headers.get("x-qrie-signature").and_then(|v| v.to_str().ok()).map(str::to_string);
                let status = match answer {
                    Answer::Hang => {
                        r.got.lock().unwrap().push((id, sig, body, 0));
                        std::future::pending::<()>().await;
                        unreachable!()
                    }
                    Answer::Status(s) => s,
                };
                r.got.lock().unwrap().push((id, sig, body, status));
                (StatusCode::from_u16(status).unwrap(), "receiver says so")
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (r, format!("http://{addr}/hook"))
}

fn finding(n: usize, detected_by: DetectedBy) -> Finding {
    let at = Utc::now() - Duration::minutes(30) + Duration::seconds(n as i64);
    let opened = Transition { at, kind: TransitionKind::Opened, reason: None, trigger: Trigger::new(detected_by) };
    Finding {
        arn: format!("arn:aws:s3:::bucket-{n}"),
        policy: "s3-bucket-public-read-acl".into(),
        account_service: "111122223333_s3".into(),
        account_id: "111122223333".into(),
        region: "us-east-1".into(),
        resource_type: "AWS::S3::Bucket".into(),
        severity: Severity::new(80).unwrap(),
        state: FindingState::Active,
        first_seen: at,
        last_evaluated: at,
        evidence: serde_json::json!({}),
        resolved_at: None,
        resolved_reason: None,
        detected_by,
        history: vec![opened],
        transitions: 1,
        version: 1,
    }
}

/// A fresh store (kept while the directory lives) and an engine over it.
fn empty_store() -> (tempfile::TempDir, Arc<dyn Store>, Engine) {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = qrie_store::open(&format!("sqlite:{}", dir.path().join("t.db").display())).unwrap();
    let engine = Engine::new(store.clone(), Arc::new(qrie_engine::cloud::CloudRouter { simulated: None, aws: None }));
    (dir, store, engine)
}

/// Adds a Slack integration whose webhook URL is `url`, read from `env`.
async fn add_slack(engine: &Engine, env: &str, url: &str) {
    std::env::set_var(env, url);
    let slack = Integration {
        id: "slack".into(),
        channel: Channel::Slack { url: SecretRef::Env(env.into()) },
        route: Route::default(),
        created_at: Utc::now(),
        created_by: "test".into(),
    };
    engine.add_integration(slack).await.unwrap();
}

/// A store whose outbox holds the openings of `n` findings found by events.
async fn outbox_of(n: usize) -> (tempfile::TempDir, Engine, Vec<Notice>) {
    let (dir, store, engine) = empty_store();
    let findings: Vec<Finding> = (0..n).map(|i| finding(i, DetectedBy::Event)).collect();
    let notices: Vec<Notice> = findings.iter().map(|f| Notice::of_latest(f).unwrap()).collect();
    let writes = findings
        .into_iter()
        .zip(&notices)
        .map(|(f, n)| FindingWrite { notice: Some(n.clone()), ..FindingWrite::unchecked(f) })
        .collect();
    store.write_findings(writes).await.unwrap();
    (dir, engine, notices)
}

async fn add_webhook(engine: &Engine, url: &str, route: Route) {
    std::env::set_var(SECRET_ENV, SECRET);
    let integration = Integration {
        id: "hook".into(),
        channel: Channel::Webhook { url: url.into(), secret: Some(SecretRef::Env(SECRET_ENV.into())) },
        route,
        created_at: Utc::now(),
        created_by: "test".into(),
    };
    engine.add_integration(integration).await.unwrap();
}

fn senders() -> Senders {
    Senders::new(Some("https://qrie.example.com".into())).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_notice_is_delivered_once_signed_and_the_outbox_empties() {
    let (_dir, engine, notices) = outbox_of(5).await;
    let (r, url) = receiver(vec![]).await;
    add_webhook(&engine, &url, Route::default()).await;
    let report = engine.dispatch_notices(&senders()).await.unwrap();
    assert_eq!((report.delivered, report.completed, report.failed), (5, 5, 0), "{report:?}");
    let ids: BTreeMap<String, usize> = notices.iter().map(|n| (n.id.clone(), 1)).collect();
    assert_eq!(r.accepted(), ids);
    for (id, sig, body, _) in r.got.lock().unwrap().iter() {
        let sig = sig.as_deref().expect("signed");
        let t: i64 = sig.split(',').next().unwrap().trim_start_matches("t=").parse().unwrap();
        assert!((Utc::now().timestamp() - t).abs() < 60, "a fresh timestamp");
        assert_eq!(sig, signature(SECRET.as_bytes(), t, body), "the signature verifies over the raw body");
        let doc: serde_json::Value = serde_json::from_slice(body).unwrap();
        assert_eq!(doc["Id"], id.as_str());
        assert_eq!(doc["Type"], "finding.opened");
        assert!(doc["FindingUrl"]
            .as_str()
            .unwrap()
            .starts_with("https://qrie.example.com/findings/detail?arn=arn%3Aaws"));
    }
    assert!(engine.outbox(false).await.unwrap().is_empty(), "delivered notices leave the outbox");
    let again = engine.dispatch_notices(&senders()).await.unwrap();
    assert_eq!(again.delivered, 0);
    assert_eq!(r.got.lock().unwrap().len(), 5, "nothing is sent twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_that_fails_three_times_gets_the_notice_once() {
    let (_dir, engine, notices) = outbox_of(1).await;
    let (r, url) = receiver(vec![Answer::Status(500), Answer::Status(503), Answer::Status(429)]).await;
    add_webhook(&engine, &url, Route::default()).await;
    let mut now = Utc::now();
    for round in 1..=3 {
        let report = engine.dispatch_notices_at(&senders(), Some(now)).await.unwrap();
        assert_eq!(report.failed, 1, "round {round}");
        // Not due again until its backoff has passed.
        let early = engine.dispatch_notices_at(&senders(), Some(now + Duration::seconds(1))).await.unwrap();
        assert_eq!(early.delivered + early.failed, 0, "round {round}");
        let entry = &engine.outbox(true).await.unwrap()[0];
        assert_eq!(entry.deliveries["hook"].status, DeliveryStatus::Failing);
        assert!(entry.deliveries["hook"].last_error.as_deref().unwrap().contains("receiver says so"));
        now = entry.deliveries["hook"].next_attempt_at.unwrap();
    }
    let report = engine.dispatch_notices_at(&senders(), Some(now)).await.unwrap();
    assert_eq!((report.delivered, report.completed), (1, 1));
    assert_eq!(r.accepted(), BTreeMap::from([(notices[0].id.clone(), 1)]));
    assert_eq!(r.got.lock().unwrap().len(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_down_for_good_dead_letters_with_its_error_until_retried() {
    let (_dir, engine, notices) = outbox_of(1).await;
    let (r, url) = receiver(vec![Answer::Status(502); MAX_ATTEMPTS as usize]).await;
    add_webhook(&engine, &url, Route::default()).await;
    let mut now = Utc::now();
    for _ in 0..MAX_ATTEMPTS {
        engine.dispatch_notices_at(&senders(), Some(now)).await.unwrap();
        if let Some(next) = engine.outbox(true).await.unwrap()[0].deliveries["hook"].next_attempt_at {
            now = next;
        }
    }
    let failed = engine.outbox(true).await.unwrap();
    let d = &failed[0].deliveries["hook"];
    assert_eq!((d.status, d.attempts), (DeliveryStatus::Dead, MAX_ATTEMPTS));
    assert!(d.last_error.as_deref().unwrap().starts_with("502"), "{d:?}");
    let later = engine.dispatch_notices_at(&senders(), Some(now + Duration::days(1))).await.unwrap();
    assert_eq!(later.delivered + later.failed, 0, "a dead letter waits for a person");

    // A refusal retrying cannot mend is dead at once.
    assert_eq!(engine.retry_dead(Some(&notices[0].id)).await.unwrap(), 1);
    r.script.lock().unwrap().push_back(Answer::Status(404));
    let report = engine.dispatch_notices(&senders()).await.unwrap();
    assert_eq!(report.dead, 1);
    // Revived again, and the receiver is back: delivered.
    engine.retry_dead(None).await.unwrap();
    let report = engine.dispatch_notices(&senders()).await.unwrap();
    assert_eq!((report.delivered, report.completed), (1, 1));
    assert_eq!(r.accepted(), BTreeMap::from([(notices[0].id.clone(), 1)]));
    let audit = engine.audit_log(&Default::default(), Utc::now()).await.unwrap();
    assert!(audit.iter().filter(|e| e.action == qrie_model::audit::AuditAction::NotificationRetry).count() == 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dispatcher_killed_mid_delivery_leaves_nothing_lost_or_accepted_twice() {
    let (_dir, engine, notices) = outbox_of(6).await;
    // The third request hangs: the dispatcher is killed while it waits.
    let (r, url) = receiver(vec![Answer::Status(200), Answer::Status(200), Answer::Hang]).await;
    add_webhook(&engine, &url, Route::default()).await;
    let first = {
        let engine = engine.clone();
        tokio::spawn(async move { engine.dispatch_notices(&senders()).await })
    };
    while r.got.lock().unwrap().len() < 3 {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    first.abort();
    assert!(first.await.unwrap_err().is_cancelled());

    // Restarted at once: the killed one's claim still holds that notice.
    let restarted = engine.dispatch_notices(&senders()).await.unwrap();
    assert_eq!(restarted.delivered, 3, "{restarted:?}");
    assert_eq!(engine.outbox(false).await.unwrap().len(), 1);
    // Once the claim has run out, it is sent again, under the same key.
    let later = Utc::now() + Duration::minutes(3);
    let report = engine.dispatch_notices_at(&senders(), Some(later)).await.unwrap();
    assert_eq!(report.delivered, 1);
    let all: BTreeMap<String, usize> = notices.iter().map(|n| (n.id.clone(), 1)).collect();
    assert_eq!(r.accepted(), all, "every transition accepted exactly once");
    assert!(engine.outbox(false).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_dispatchers_at_once_deliver_each_notice_once() {
    let (_dir, engine, notices) = outbox_of(40).await;
    let (r, url) = receiver(vec![]).await;
    add_webhook(&engine, &url, Route::default()).await;
    let (one, two) = (senders(), senders());
    let (a, b) = tokio::join!(engine.dispatch_notices(&one), engine.dispatch_notices(&two));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.delivered + b.delivered, 40, "{a:?} {b:?}");
    let all: BTreeMap<String, usize> = notices.iter().map(|n| (n.id.clone(), 1)).collect();
    assert_eq!(r.accepted(), all);
    assert_eq!(r.got.lock().unwrap().len(), 40, "no request twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routes_choose_what_each_integration_gets() {
    let (_dir, store, engine) = empty_store();
    let mut low = finding(1, DetectedBy::Event);
    low.severity = Severity::new(30).unwrap();
    let bootstrap = finding(2, DetectedBy::Bootstrap);
    let mut resolved = finding(3, DetectedBy::Event);
    resolved.state = FindingState::Resolved;
    resolved.record(Transition {
        at: Utc::now(),
        kind: TransitionKind::Resolved,
        reason: Some(ResolvedReason::Compliant),
        trigger: Trigger::new(DetectedBy::Event),
    });
    let writes = [low, bootstrap, resolved]
        .into_iter()
        .map(|f| FindingWrite { notice: Notice::of_latest(&f), ..FindingWrite::unchecked(f) })
        .collect();
    store.write_findings(writes).await.unwrap();
    let (r, url) = receiver(vec![]).await;
    add_webhook(&engine, &url, Route { min_severity: Some(70), ..Route::default() }).await;
    let report = engine.dispatch_notices(&senders()).await.unwrap();
    // The low one is not routed; the bootstrap one is told in its sweep's
    // summary (by default), the resolve on its own.
    assert_eq!((report.delivered, report.summaries), (1, 1), "{report:?}");
    let docs: Vec<serde_json::Value> =
        r.got.lock().unwrap().iter().map(|g| serde_json::from_slice(&g.2).unwrap()).collect();
    let resolve = docs.iter().find(|d| d["Type"] == "finding.resolved").expect("the resolve");
    assert_eq!(resolve["Notice"]["Reason"], "COMPLIANT");
    let summary = docs.iter().find(|d| d["Type"] == "summary.bootstrap").expect("the summary");
    assert_eq!(summary["Summary"]["Notices"], 1);
    // What no integration takes leaves the outbox too.
    assert_eq!(report.completed, 3);
    assert!(engine.outbox(false).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slack_gets_one_block_kit_message_per_notice_with_names_escaped() {
    let (_dir, store, engine) = empty_store();
    let mut hostile = finding(1, DetectedBy::Event);
    hostile.arn = "arn:aws:s3:::<!channel>&<https://evil.example|click>".into();
    let notice = Notice::of_latest(&hostile).unwrap();
    store
        .write_findings(vec![FindingWrite { notice: Some(notice.clone()), ..FindingWrite::unchecked(hostile) }])
        .await
        .unwrap();
    let (r, url) = receiver(vec![]).await;
    let url_env = "QRIE_SLACK_TEST_URL";
    add_slack(&engine, url_env, &url).await;
    let report = engine.dispatch_notices(&senders()).await.unwrap();
    assert_eq!(report.delivered, 1, "{report:?}");
    let (id, sig, body, _) = r.got.lock().unwrap()[0].clone();
    assert_eq!(id, notice.id);
    assert!(sig.is_none(), "Slack's URL is its secret: no signature");
    let msg: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let text = msg["text"].as_str().unwrap();
    assert!(text.contains("*Finding opened*") && text.contains("HIGH 80"), "{text}");
    assert_eq!(msg["blocks"][0]["type"], "section");
    let resource = msg["blocks"][1]["fields"][0]["text"].as_str().unwrap();
    assert_eq!(resource, "*Resource*\n`arn:aws:s3:::&lt;!channel&gt;&amp;&lt;https://evil.example|click&gt;`");
    assert_eq!(msg["blocks"][1]["fields"][0]["verbatim"], true, "no auto-linking of names");
    assert!(!body.windows(2).any(|w| w == b"<!"), "no mention or link can be made from a name");
    let button = &msg["blocks"][2]["elements"][0];
    assert_eq!(button["type"], "button");
    assert!(button["url"].as_str().unwrap().starts_with("https://qrie.example.com/findings/detail?arn=arn%3Aaws%3As3"));
    assert!(msg["blocks"][3]["elements"][0]["text"].as_str().unwrap().contains(&notice.id));

    // The URL's variable unset where this dispatcher runs: left pending for
    // one that has it, saying which.
    std::env::remove_var(url_env);
    let mut again = finding(2, DetectedBy::Event);
    again.arn = "arn:aws:s3:::second".into();
    let n2 = Notice::of_latest(&again).unwrap();
    store.write_findings(vec![FindingWrite { notice: Some(n2), ..FindingWrite::unchecked(again) }]).await.unwrap();
    let report = engine.dispatch_notices(&senders()).await.unwrap();
    assert_eq!((report.blocked, report.dead, report.delivered), (1, 0, 0));
    let failed = engine.outbox(true).await.unwrap();
    let d = &failed[0].deliveries["slack"];
    assert_eq!((d.status, d.attempts), (DeliveryStatus::Pending, 0));
    assert!(d.last_error.as_deref().unwrap().contains(url_env));
    // Where it is set, it goes.
    std::env::set_var(url_env, &url);
    let report = engine.dispatch_notices(&senders()).await.unwrap();
    assert_eq!(report.delivered, 1);
}

/// A bootstrap sweep's job record, in `status`.
fn job(id: &str, status: qrie_model::JobStatus) -> qrie_model::Job {
    qrie_model::Job {
        id: id.into(),
        kind: qrie_model::JobKind::Inventory,
        scan_type: qrie_model::ScanType::Bootstrap,
        target: serde_json::json!({}),
        status,
        progress_done: 0,
        progress_total: 0,
        counts: Default::default(),
        errors: Vec::new(),
        created_at: Utc::now(),
        started_at: None,
        finished_at: None,
        deadline: None,
        version: 1,
        lease: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_finding_bootstrap_is_one_slack_message_and_a_later_change_one_more() {
    let (_dir, store, engine) = empty_store();
    let writes: Vec<FindingWrite> = (0..1000)
        .map(|i| {
            let mut f = finding(i, DetectedBy::Bootstrap);
            f.history[0].trigger = Trigger::job(DetectedBy::Bootstrap, "job-boot");
            FindingWrite { notice: Notice::of_latest(&f), ..FindingWrite::unchecked(f) }
        })
        .collect();
    store.write_findings(writes).await.unwrap();
    store.put_job(job("job-boot", qrie_model::JobStatus::Running)).await.unwrap();
    let (r, url) = receiver(vec![]).await;
    let url_env = "QRIE_SLACK_SUMMARY_TEST_URL";
    add_slack(&engine, url_env, &url).await;

    // While the sweep runs, nothing is sent and nothing leaves the outbox.
    let report = engine.dispatch_notices(&senders()).await.unwrap();
    assert_eq!((report.delivered, report.summaries, report.completed), (0, 0, 0), "{report:?}");
    assert_eq!(engine.outbox(false).await.unwrap().len(), 1000);

    // Finished: one summary message, and the outbox empties.
    store.put_job(job("job-boot", qrie_model::JobStatus::Succeeded)).await.unwrap();
    let report = engine.dispatch_notices(&senders()).await.unwrap();
    assert_eq!((report.summaries, report.delivered, report.completed), (1, 0, 1000), "{report:?}");
    assert!(engine.outbox(false).await.unwrap().is_empty());
    let got = r.got.lock().unwrap().clone();
    assert_eq!(got.len(), 1, "one message, not 1,000");
    assert_eq!(got[0].0, "summary-job-boot-slack-0");
    let msg: serde_json::Value = serde_json::from_slice(&got[0].2).unwrap();
    let text = msg["text"].as_str().unwrap();
    assert!(
        text.contains("Bootstrap sweep job-boot") && text.contains("1000 finding transition(s) in 1 account(s)"),
        "{text}"
    );
    assert!(msg["blocks"][1]["fields"][0]["text"].as_str().unwrap().contains("1000 high"), "{msg}");

    // A later change made by an event: one message of its own.
    let later = finding(2000, DetectedBy::Event);
    store
        .write_findings(vec![FindingWrite { notice: Notice::of_latest(&later), ..FindingWrite::unchecked(later) }])
        .await
        .unwrap();
    let report = engine.dispatch_notices(&senders()).await.unwrap();
    assert_eq!((report.delivered, report.summaries), (1, 0), "{report:?}");
    assert_eq!(r.got.lock().unwrap().len(), 2);
    // Passes after that send nothing more.
    let report = engine.dispatch_notices(&senders()).await.unwrap();
    assert_eq!((report.delivered, report.summaries), (0, 0));

    // The sweep resumed under its id and opened five more: a second summary
    // of those five, not a silence.
    let more: Vec<FindingWrite> = (3000..3005)
        .map(|i| {
            let mut f = finding(i, DetectedBy::Bootstrap);
            f.history[0].trigger = Trigger::job(DetectedBy::Bootstrap, "job-boot");
            FindingWrite { notice: Notice::of_latest(&f), ..FindingWrite::unchecked(f) }
        })
        .collect();
    store.write_findings(more).await.unwrap();
    let report = engine.dispatch_notices(&senders()).await.unwrap();
    assert_eq!((report.summaries, report.completed), (1, 5), "{report:?}");
    let got = r.got.lock().unwrap().clone();
    assert_eq!(got.len(), 3);
    assert_eq!(got[2].0, "summary-job-boot-slack-1");
    let msg: serde_json::Value = serde_json::from_slice(&got[2].2).unwrap();
    assert!(msg["text"].as_str().unwrap().contains("5 finding transition(s)"), "{msg}");
}
