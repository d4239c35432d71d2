//! The sweeps requests start go through the server's launcher: a server that
//! installs its own (as the Lambda API does) gets every one of them, after the
//! request saved its change, and answers with the job id the launcher gave.

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use http_body_util::BodyExt;
use qrie_engine::{CloudRouter, Engine, InventoryRequest, JobReport, PolicySweepRequest};
use qrie_model::{PolicyStatus, ScanType};
use qrie_server::auth::{self, Role};
use qrie_server::launcher::{JobLauncher, Launch};
use qrie_server::{router, AppState, ServerConfig, Started};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use tower::ServiceExt;

#[derive(Default)]
struct Recording {
    policy_sweeps: Mutex<Vec<PolicySweepRequest>>,
    inventory_sweeps: Mutex<Vec<InventoryRequest>>,
}

impl JobLauncher for Recording {
    fn policy_sweep<'a>(&'a self, _: &'a Engine, req: PolicySweepRequest) -> Launch<'a> {
        let n = {
            let mut seen = self.policy_sweeps.lock().unwrap();
            seen.push(req);
            seen.len()
        };
        Box::pin(async move { Ok::<Started<JobReport>, _>(Started::Job(format!("pol-elsewhere-{n}"))) })
    }

    fn inventory_sweep<'a>(&'a self, _: &'a Engine, req: InventoryRequest) -> Launch<'a> {
        self.inventory_sweeps.lock().unwrap().push(req);
        Box::pin(async { Ok(Started::Job("inv-elsewhere".to_string())) })
    }
}

async fn send(app: &axum::Router, method: Method, uri: &str, token: &str, body: Value) -> (StatusCode, Value) {
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

#[tokio::test]
async fn launches_updates_and_job_starts_go_through_the_installed_launcher() {
    let dir = tempfile::tempdir().unwrap();
    let store = qrie_store::open(&format!("sqlite:{}", dir.path().join("t.db").display())).unwrap();
    let engine = Engine::new(store.clone(), Arc::new(CloudRouter { simulated: None, aws: None }));
    let admin = auth::create_token(&*store, Role::Admin, None).await.unwrap().token;
    let launcher = Arc::new(Recording::default());
    let app = router(AppState::new(engine, ServerConfig::default()).with_launcher(launcher.clone()));
    let policy = "s3-bucket-versioning-disabled";

    let (status, body) = send(&app, Method::POST, "/api/policies", &admin, json!({"policy_id": policy})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["JobId"], "pol-elsewhere-1");
    // The launch was saved before the sweep was handed over.
    assert_eq!(store.get_policy(policy).await.unwrap().unwrap().status, PolicyStatus::Active);
    assert_eq!(
        *launcher.policy_sweeps.lock().unwrap(),
        [PolicySweepRequest { policy_id: Some(policy.into()), scan_type: ScanType::Bootstrap }]
    );

    // A scope change re-sweeps through the launcher; a remediation note does not.
    let scope = json!({"scope": {"include_regions": ["eu-west-1"]}});
    let (status, body) = send(&app, Method::PUT, &format!("/api/policies/{policy}"), &admin, scope).await;
    assert_eq!((status, &body["JobId"]), (StatusCode::ACCEPTED, &json!("pol-elsewhere-2")), "{body}");
    let note = json!({"remediation": "ask the platform team"});
    let (status, body) = send(&app, Method::PUT, &format!("/api/policies/{policy}"), &admin, note).await;
    assert_eq!((status, &body["JobId"]), (StatusCode::OK, &Value::Null), "{body}");
    assert_eq!(launcher.policy_sweeps.lock().unwrap().len(), 2);

    // Errors of the request never reach the launcher.
    let (status, _) = send(&app, Method::POST, "/api/policies", &admin, json!({"policy_id": "no-such-policy"})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(launcher.policy_sweeps.lock().unwrap().len(), 2);

    let (status, body) = send(&app, Method::POST, "/api/jobs", &admin, json!({"kind": "inventory"})).await;
    assert_eq!((status, &body["JobId"]), (StatusCode::ACCEPTED, &json!("inv-elsewhere")), "{body}");
    let (status, _) =
        send(&app, Method::POST, "/api/jobs", &admin, json!({"kind": "policy-sweep", "scan_type": "anti-entropy"}))
            .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(launcher.inventory_sweeps.lock().unwrap().len(), 1);
    assert_eq!(launcher.policy_sweeps.lock().unwrap()[2].scan_type, ScanType::AntiEntropy);
    // Nothing ran here: no job was recorded in this store.
    let jobs = store.list_jobs(&Default::default(), &qrie_store::PageRequest::first(10)).await.unwrap();
    assert!(jobs.items.is_empty());
}
