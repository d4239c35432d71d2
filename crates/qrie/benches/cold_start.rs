//! Cold start of the `qrie` binary: process start to first request served,
//! and the binary's size. `scripts/bench cold` runs it; docs/performance.md
//! records the figures and the method.
//!
//! Two entry points, each started RUNS times (default 100) as a fresh process
//! over the same SQLite store (a demo estate of 2 accounts, made once):
//!
//! - `qrie serve`: spawn, then poll `GET /healthz` every millisecond until it
//!   answers 200; the time is spawn → that answer.
//! - the Lambda `api` function (`QRIE_LAMBDA=api`): spawn with
//!   `AWS_LAMBDA_RUNTIME_API` pointing at a local mock of the Lambda Runtime
//!   API, which hands out one Function URL event on `GET
//!   /2018-06-01/runtime/invocation/next` and receives the answer on `POST
//!   .../invocation/{id}/response`; the time is spawn → that answer received.
//!   Measured with `GET /healthz` and with an authenticated `GET
//!   /api/findings?limit=20` (a store read) as the first request, on the
//!   SQLite store and on DynamoDB (moto's server on loopback: the requests a
//!   cold start makes, without DynamoDB's network and TLS setup).
//!
//! Prints p50, p99 and max per case; asserts nothing about time.

use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use http_body_util::Empty;
use serde_json::{json, Value};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

const QRIE: &str = env!("CARGO_BIN_EXE_qrie");
/// How long one start may take before the bench gives up on it.
const START_TIMEOUT: Duration = Duration::from_secs(20);

fn main() {
    let runs: usize = std::env::var("RUNS").ok().map_or(100, |r| r.parse().expect("RUNS is a number"));
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let size = std::fs::metadata(QRIE).unwrap().len();
        println!("binary: {QRIE}");
        println!("binary size: {:.1} MB ({size} bytes)", size as f64 / 1e6);
        println!("machine load before (1/5/15 min): {}", load_average());

        let dir = tempfile::tempdir().unwrap();
        let sqlite = format!("sqlite:{}", dir.path().join("qrie.db").display());
        let sqlite_token = make_store(&sqlite, &[]);
        let moto = qrie_store_dynamodb::Moto::start();
        let dynamo = moto.store_url("bench_");
        let dynamo_env = qrie_store_dynamodb::Moto::env();
        let dynamo_token = make_store(&dynamo, &dynamo_env);
        println!("stores: the demo estate (2 accounts) in {sqlite} and in {dynamo}");
        println!("{runs} runs per case (a fresh process each)\n");

        report("qrie serve on SQLite: spawn -> GET /healthz 200", &serve_starts(&sqlite, runs).await);
        let stores =
            [("SQLite", &sqlite, &sqlite_token, &[][..]), ("DynamoDB (moto)", &dynamo, &dynamo_token, &dynamo_env[..])];
        for (name, url, token, env) in stores {
            for (what, path, query) in
                [("GET /healthz", "/healthz", ""), ("GET /api/findings?limit=20", "/api/findings", "limit=20")]
            {
                let (cold, warm) = lambda_starts(url, env, token, path, query, runs).await;
                report(&format!("lambda api on {name}: spawn -> {what} answered to the Runtime API"), &cold);
                report(
                    &format!("lambda api on {name}: the same {what} again, warm (runtime round trip included)"),
                    &warm,
                );
            }
        }
        println!("\nmachine load after (1/5/15 min): {}", load_average());
    });
}

/// Creates the store's tables and the demo estate in it, and answers an admin token.
fn make_store(store: &str, env: &[(&str, &str)]) -> String {
    let qrie = |args: &[&str]| {
        let out = Command::new(QRIE).arg("--store").arg(store).args(args).envs(env.iter().copied()).output().unwrap();
        assert!(out.status.success(), "qrie {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        out
    };
    qrie(&["store", "init"]);
    qrie(&["demo", "--no-serve", "--accounts", "2", "--seed", "7"]);
    let out = qrie(&["--format", "json", "tokens", "create", "--role", "admin", "--name", "bench"]);
    let created: Value = serde_json::from_slice(&out.stdout).expect("tokens create --format json");
    created["Token"].as_str().expect("a token").to_string()
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map_or("unknown".into(), |l| l.split(' ').take(3).collect::<Vec<_>>().join(" "))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A child process killed when dropped, so a failing run leaves nothing behind.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(cmd: &mut Command) -> Running {
    Running(cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("spawn qrie"))
}

async fn serve_starts(store: &str, runs: usize) -> Vec<Duration> {
    let client =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        let port = free_port();
        let url: axum::http::Uri = format!("http://127.0.0.1:{port}/healthz").parse().unwrap();
        let started = Instant::now();
        let _child =
            spawn(Command::new(QRIE).args(["--store", store, "serve", "--listen", &format!("127.0.0.1:{port}")]));
        loop {
            if let Ok(r) = client.get(url.clone()).await {
                if r.status() == StatusCode::OK {
                    samples.push(started.elapsed());
                    break;
                }
            }
            assert!(started.elapsed() < START_TIMEOUT, "qrie serve did not answer /healthz in {START_TIMEOUT:?}");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    samples
}

/// What the mock Runtime API saw of one invocation.
#[derive(Debug)]
enum Outcome {
    Response(Value),
    Error(String),
}

/// The mock's state: the events to hand out, and where outcomes go.
#[derive(Clone)]
struct Mock {
    events: Arc<Mutex<Vec<Value>>>,
    outcomes: mpsc::UnboundedSender<Outcome>,
}

const REQUEST_ID: &str = "8476a536-e9f4-11e8-9739-2dfe598c3fcd";

/// `GET /runtime/invocation/next`: the next event; when there is none left,
/// the runtime waits, as in Lambda between invocations, until it is stopped.
async fn next(State(m): State<Mock>) -> (HeaderMap, String) {
    let event = m.events.lock().unwrap().pop();
    let Some(event) = event else { std::future::pending().await };
    let mut h = HeaderMap::new();
    let deadline = chrono::Utc::now().timestamp_millis() + 30_000;
    h.insert("lambda-runtime-aws-request-id", REQUEST_ID.parse().unwrap());
    h.insert("lambda-runtime-deadline-ms", deadline.to_string().parse().unwrap());
    h.insert(
        "lambda-runtime-invoked-function-arn",
        "arn:aws:lambda:us-east-1:123456789012:function:qrie-api".parse().unwrap(),
    );
    h.insert(
        "lambda-runtime-trace-id",
        "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1".parse().unwrap(),
    );
    h.insert("content-type", "application/json".parse().unwrap());
    (h, event.to_string())
}

async fn response(State(m): State<Mock>, UrlPath(_id): UrlPath<String>, body: Bytes) -> StatusCode {
    let answer = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let _ = m.outcomes.send(Outcome::Response(answer));
    StatusCode::ACCEPTED
}

async fn invocation_error(State(m): State<Mock>, body: Bytes) -> StatusCode {
    let _ = m.outcomes.send(Outcome::Error(String::from_utf8_lossy(&body).into_owned()));
    StatusCode::ACCEPTED
}

/// A Function URL request (payload format 2.0), as AWS sends it.
fn function_url_event(path: &str, query: &str, token: &str) -> Value {
    json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": {
            "accept": "application/json",
            "authorization": format!("Bearer {token}"),
            "host": "abcdefghijklmnopqrstuvwxyz012345.lambda-url.us-east-1.on.aws",
            "x-forwarded-proto": "https"
        },
        "requestContext": {
            "accountId": "anonymous",
            "apiId": "abcdefghijklmnopqrstuvwxyz012345",
            "domainName": "abcdefghijklmnopqrstuvwxyz012345.lambda-url.us-east-1.on.aws",
            "domainPrefix": "abcdefghijklmnopqrstuvwxyz012345",
            "http": {"method": "GET", "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.7", "userAgent": "bench"},
            "requestId": REQUEST_ID,
            "routeKey": "$default",
            "stage": "$default",
            "time": "12/Mar/2026:19:03:58 +0000",
            "timeEpoch": 1773342238390u64
        },
        "isBase64Encoded": false
    })
}

async fn lambda_starts(
    store: &str,
    env: &[(&str, &str)],
    token: &str,
    path: &str,
    query: &str,
    runs: usize,
) -> (Vec<Duration>, Vec<Duration>) {
    let (mut cold, mut warm) = (Vec::with_capacity(runs), Vec::with_capacity(runs));
    for _ in 0..runs {
        let (tx, mut outcomes) = mpsc::unbounded_channel();
        // The same request twice: the first is the cold start, the second the
        // same work in a warm container.
        let event = function_url_event(path, query, token);
        let mock = Mock { events: Arc::new(Mutex::new(vec![event.clone(), event])), outcomes: tx };
        let app = axum::Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route("/2018-06-01/runtime/invocation/{id}/response", post(response))
            .route("/2018-06-01/runtime/invocation/{id}/error", post(invocation_error))
            .route("/2018-06-01/runtime/init/error", post(invocation_error))
            .with_state(mock);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let api = listener.local_addr().unwrap();
        let server = tokio::spawn(async move { axum::serve(listener, app).await });

        let started = Instant::now();
        let _child = spawn(
            Command::new(QRIE)
                .env("QRIE_LAMBDA", "api")
                .env("QRIE_STORE", store)
                .env("QRIE_SCANNER_FUNCTION", "qrie-scanner")
                .env("QRIE_INVENTORY_FUNCTION", "qrie-inventory")
                .env("AWS_LAMBDA_RUNTIME_API", api.to_string())
                .env("AWS_LAMBDA_FUNCTION_NAME", "qrie-api")
                .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
                .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
                .env("AWS_REGION", "us-east-1")
                .env("AWS_EC2_METADATA_DISABLED", "true")
                .envs(env.iter().copied()),
        );
        let first = answered(&mut outcomes, started).await;
        let second = answered(&mut outcomes, started).await;
        server.abort();
        cold.push(first);
        warm.push(second - first);
    }
    (cold, warm)
}

/// When the mock received the function's next answer, since `started`.
async fn answered(outcomes: &mut mpsc::UnboundedReceiver<Outcome>, started: Instant) -> Duration {
    match tokio::time::timeout(START_TIMEOUT, outcomes.recv()).await {
        Ok(Some(Outcome::Response(answer))) => {
            assert_eq!(answer["statusCode"], 200, "the request failed: {answer}");
            started.elapsed()
        }
        Ok(Some(Outcome::Error(e))) => panic!("the function reported an error: {e}"),
        Ok(None) | Err(_) => panic!("no answer from the api function within {START_TIMEOUT:?}"),
    }
}

fn report(what: &str, samples: &[Duration]) {
    let mut ms: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1e3).collect();
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| ms[((ms.len() as f64 - 1.0) * q).round() as usize];
    println!(
        "{what}\n  n={} p50={:.1} ms p99={:.1} ms min={:.1} ms max={:.1} ms",
        ms.len(),
        at(0.5),
        at(0.99),
        ms[0],
        ms[ms.len() - 1]
    );
}
