//! The API through the router, without a network: a small simulated estate in
//! a temporary SQLite store, real tokens, real sweeps.

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use qrie_engine::sim::ChangeKind;
use qrie_server::auth;
use qrie_server::ServerConfig;
use rand::SeedableRng;
use serde_json::{json, Value};
use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;

mod common;
use common::*;
mod hardening;

impl World {
    async fn get(&self, uri: &str, token: &str) -> Reply {
        call(&self.app, req(Method::GET, uri, Some(token), None)).await
    }
    async fn send(&self, method: Method, uri: &str, token: &str, body: Option<Value>) -> Reply {
        call(&self.app, req(method, uri, Some(token), body)).await
    }

    /// Polls a job until it ends.
    async fn wait_job(&self, id: &str) -> Value {
        for _ in 0..600 {
            let r = self.get(&format!("/api/jobs/{id}"), &self.viewer).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
            if r.json["Status"] != "running" && r.json["Status"] != "queued" {
                return r.json;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("job {id} did not finish");
    }

    /// Every finding a filter lists, walking the pages.
    async fn all_findings(&self, query: &str, limit: usize) -> Vec<Value> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut uri = format!("/api/findings?{query}&limit={limit}");
            if let Some(t) = &token {
                uri += &format!("&next_token={}", urlencode(t));
            }
            let r = self.get(&uri, &self.viewer).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
            let items = r.json["Items"].as_array().unwrap();
            assert!(items.len() <= limit);
            out.extend(items.iter().cloned());
            match r.json["NextToken"].as_str() {
                Some(t) => token = Some(t.to_string()),
                None => return out,
            }
        }
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn error_code(r: &Reply) -> &str {
    r.json["error"]["code"].as_str().unwrap_or_else(|| panic!("not an API error: {} {}", r.status, r.text))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unauthenticated_is_401_and_roles_are_enforced() {
    let w = world().await;
    let r = call(&w.app, req(Method::GET, "/api/findings", None, None)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(&r), "unauthenticated");
    let r = w.get("/api/findings", "qrie_0123456789ab_forged").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    // A real id with a wrong secret.
    let id = w.admin.split('_').nth(1).unwrap();
    let r = w.get("/api/findings", &format!("qrie_{id}_AAAA")).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(w.get("/api/findings", &w.viewer).await.status, StatusCode::OK);

    let launch = json!({"policy_id": "s3-bucket-versioning-disabled"});
    let r = w.send(Method::POST, "/api/policies", &w.viewer, Some(launch.clone())).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(error_code(&r), "forbidden");
    let r = w.send(Method::POST, "/api/policies", &w.operator, Some(launch)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "an operator may not launch");
    let sweep = json!({"kind": "policy-sweep", "scan_type": "anti-entropy"});
    let r = w.send(Method::POST, "/api/jobs", &w.viewer, Some(sweep.clone())).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = w.send(Method::POST, "/api/jobs", &w.operator, Some(sweep)).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let job = w.wait_job(r.json["JobId"].as_str().unwrap()).await;
    assert_eq!(job["Kind"], "policy-sweep");

    // Revoked tokens stop working.
    auth::revoke_token(&*w.state.engine.store, id).await.unwrap();
    assert_eq!(w.get("/api/findings", &w.admin).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_are_stored_hashed() {
    let w = world().await;
    let store = &*w.state.engine.store;
    let stored = serde_json::to_string(&store.kv_list(auth::TOKENS_NS).await.unwrap()).unwrap();
    for t in [&w.viewer, &w.operator, &w.admin] {
        let secret = t.splitn(3, '_').nth(2).unwrap();
        assert!(secret.len() >= 43, "32 random bytes, base64url");
        assert!(!stored.contains(secret), "a token secret is stored in clear");
    }
    assert_eq!(auth::list_tokens(store).await.unwrap().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pagination_walks_every_finding_once_and_filters_apply() {
    let w = world().await;
    let all = w.all_findings("state=all&sort=arn", 7).await;
    assert!(all.len() > 20, "the estate should have findings, got {}", all.len());
    let keys: Vec<(String, String)> =
        all.iter().map(|f| (f["ARN"].as_str().unwrap().into(), f["Policy"].as_str().unwrap().into())).collect();
    let unique: HashSet<_> = keys.iter().cloned().collect();
    assert_eq!(unique.len(), keys.len(), "a finding came twice");
    let one_page = w.all_findings("state=all&sort=arn", 1000).await;
    assert_eq!(one_page.len(), all.len(), "small pages and one page must list the same findings");

    // Severity-sorted pages too.
    let by_sev = w.all_findings("sort=severity", 5).await;
    let sev: Vec<i64> = by_sev.iter().map(|f| f["Severity"].as_i64().unwrap()).collect();
    assert!(sev.windows(2).all(|p| p[0] >= p[1]), "not sorted by severity");
    assert_eq!(
        by_sev.len(),
        by_sev.iter().map(|f| (f["ARN"].to_string(), f["Policy"].to_string())).collect::<HashSet<_>>().len()
    );

    // Filters.
    let policy = all[0]["Policy"].as_str().unwrap();
    let of_policy = w.all_findings(&format!("state=all&policy={policy}"), 50).await;
    assert!(!of_policy.is_empty() && of_policy.iter().all(|f| f["Policy"] == policy));
    assert_eq!(of_policy.len(), all.iter().filter(|f| f["Policy"] == policy).count());
    let high = w.all_findings("severity_min=70", 100).await;
    assert!(high.iter().all(|f| f["Severity"].as_i64().unwrap() >= 70));
    let s3 = w.all_findings("service=s3", 100).await;
    assert!(s3.iter().all(|f| f["AccountService"].as_str().unwrap().ends_with("s3")), "{:?}", s3.first());

    // Resources: pages and a filter.
    let r = w.get("/api/resources?service=ec2&limit=5", &w.viewer).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json["Items"].as_array().unwrap().len(), 5);
    assert!(r.json["NextToken"].is_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validation_errors_are_json_with_stable_codes() {
    let w = world().await;
    let cases: &[(&str, StatusCode, &str)] = &[
        ("/api/findings?next_token=not-a-token", StatusCode::BAD_REQUEST, "invalid_next_token"),
        ("/api/findings?limit=0", StatusCode::BAD_REQUEST, "invalid_limit"),
        ("/api/findings?limit=abc", StatusCode::BAD_REQUEST, "invalid_query"),
        ("/api/findings?state=sleeping", StatusCode::BAD_REQUEST, "validation"),
        ("/api/findings?sort=sideways", StatusCode::BAD_REQUEST, "validation"),
        ("/api/findings?service=lambda", StatusCode::BAD_REQUEST, "validation"),
        ("/api/findings?account=12", StatusCode::BAD_REQUEST, "validation"),
        ("/api/findings?policy=no-such-policy", StatusCode::NOT_FOUND, "unknown_policy"),
        ("/api/policies?status=maybe", StatusCode::BAD_REQUEST, "validation"),
        ("/api/policies/no-such-policy", StatusCode::NOT_FOUND, "unknown_policy"),
        ("/api/jobs/inv-nope", StatusCode::NOT_FOUND, "unknown_job"),
        ("/api/resources/arn%3Aaws%3As3%3A%3A%3Anope", StatusCode::NOT_FOUND, "unknown_resource"),
        ("/api/findings/detail?arn=x&policy=y", StatusCode::NOT_FOUND, "unknown_finding"),
        ("/api/compliance/no-such-framework", StatusCode::NOT_FOUND, "unknown_framework"),
        ("/api/no/such/route", StatusCode::NOT_FOUND, "no_route"),
    ];
    for (uri, status, code) in cases {
        let r = w.get(uri, &w.admin).await;
        assert_eq!(r.status, *status, "{uri}: {}", r.text);
        assert_eq!(error_code(&r), *code, "{uri}");
        assert!(!r.json["error"]["message"].as_str().unwrap().is_empty());
    }
    let bad_launch = [
        (json!({"policy_id": "no-such-policy"}), StatusCode::NOT_FOUND, "unknown_policy"),
        (json!({"policy_id": qrie_policies::default_policy_ids()[0]}), StatusCode::CONFLICT, "already_active"),
        (json!({"policy_id": "x", "severity": 500}), StatusCode::BAD_REQUEST, "validation"),
        (json!({"policy_id": "x", "bogus": 1}), StatusCode::BAD_REQUEST, "invalid_body"),
    ];
    for (body, status, code) in bad_launch {
        let r = w.send(Method::POST, "/api/policies", &w.admin, Some(body.clone())).await;
        assert_eq!(r.status, status, "{body}: {}", r.text);
        assert_eq!(error_code(&r), code, "{body}");
    }
    let account = w.estate.read().unwrap().accounts()[0].account_id.clone();
    let r = w.send(Method::POST, "/api/accounts", &w.admin, Some(json!({"account_id": account}))).await;
    assert_eq!((r.status, error_code(&r)), (StatusCode::CONFLICT, "account_exists"));
    let r = w.send(Method::POST, "/api/accounts", &w.admin, Some(json!({"account_id": "123"}))).await;
    assert_eq!((r.status, error_code(&r)), (StatusCode::BAD_REQUEST, "validation"));
    let r = w.send(Method::DELETE, &format!("/api/accounts/{account}?hard=true"), &w.admin, None).await;
    assert_eq!((r.status, error_code(&r)), (StatusCode::BAD_REQUEST, "confirmation_required"));
    let r = w.send(Method::POST, "/api/accounts/999999999999/scan", &w.operator, None).await;
    assert_eq!((r.status, error_code(&r)), (StatusCode::NOT_FOUND, "unknown_account"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_launch_and_suspend_move_findings() {
    let w = world().await;
    let policies = w.get("/api/policies?status=active", &w.viewer).await;
    let mut rows: Vec<(String, u64)> = policies.json["Policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["PolicyId"].as_str().unwrap().to_string(), p["ActiveFindings"].as_u64().unwrap()))
        .collect();
    rows.sort_by_key(|r| std::cmp::Reverse(r.1));
    let (first, n1) = rows[0].clone();
    let (second, n2) = rows[1].clone();
    assert!(n1 > 0 && n2 > 0, "{rows:?}");

    let r = w.send(Method::DELETE, &format!("/api/policies/{first}"), &w.admin, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["Resolved"].as_u64(), Some(n1));
    assert!(w.all_findings(&format!("policy={first}"), 100).await.is_empty());

    let r = w.send(Method::POST, "/api/policies", &w.admin, Some(json!({"policy_id": first}))).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let job_id = r.json["JobId"].as_str().unwrap().to_string();
    let listed = w.get("/api/jobs?limit=50", &w.viewer).await;
    assert!(listed.json["Items"].as_array().unwrap().iter().any(|j| j["Id"] == job_id.as_str()), "{}", listed.text);
    let job = w.wait_job(&job_id).await;
    assert_eq!(job["Status"], "succeeded", "{job}");
    assert_eq!(w.all_findings(&format!("policy={first}"), 100).await.len() as u64, n1, "launch re-opens the findings");

    let r =
        w.send(Method::PUT, &format!("/api/policies/{second}"), &w.admin, Some(json!({"status": "suspended"}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(w.all_findings(&format!("policy={second}"), 100).await.is_empty());
    let resolved = w.all_findings(&format!("state=resolved&policy={second}"), 100).await;
    assert_eq!(resolved.len() as u64, n2);
    assert!(resolved.iter().all(|f| f["ResolvedReason"] == "POLICY_SUSPENDED"), "{:?}", resolved[0]);
    let r = w.get("/api/policies?status=suspended", &w.viewer).await;
    assert!(r.json["Policies"].as_array().unwrap().iter().any(|p| p["PolicyId"] == second.as_str()));

    // Finding detail: history, definition, resource.
    let f = &resolved[0];
    let uri = format!("/api/findings/detail?arn={}&policy={}", urlencode(f["ARN"].as_str().unwrap()), second);
    let d = w.get(&uri, &w.viewer).await;
    assert_eq!(d.status, StatusCode::OK, "{}", d.text);
    assert!(d.json["Finding"]["History"].as_array().unwrap().len() >= 2);
    assert_eq!(d.json["Policy"]["PolicyId"], second.as_str());
    assert_eq!(d.json["Resource"]["ARN"], f["ARN"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_move_findings_and_forged_sources_are_skipped() {
    let w = world().await;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    let change = w.estate.write().unwrap().apply_one(ChangeKind::SuspendVersioning, &mut rng).expect("a change");
    let before = w.all_findings("state=all", 1000).await;
    let active_before: BTreeSet<String> = before
        .iter()
        .filter(|f| f["State"] == "ACTIVE" && f["ARN"] == change.arn.as_str())
        .map(|f| f["Policy"].as_str().unwrap().to_string())
        .collect();

    let r = w.send(Method::POST, "/api/events", &w.viewer, Some(change.record.clone())).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "a viewer may not post events");
    let r = w.send(Method::POST, "/api/events", &w.operator, Some(change.record.clone())).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["Stats"]["Mapped"], 1, "{}", r.text);
    let after = w.all_findings("state=active", 1000).await;
    let active_after: BTreeSet<String> = after
        .iter()
        .filter(|f| f["ARN"] == change.arn.as_str())
        .map(|f| f["Policy"].as_str().unwrap().to_string())
        .collect();
    assert_ne!(active_before, active_after, "suspending versioning should open a finding on {}", change.arn);

    let mut forged = change.record.clone();
    forged["eventSource"] = json!("s3.amazonaws.com.evil.example");
    let r = w.send(Method::POST, "/api/events", &w.operator, Some(json!({"Records": [forged]}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["Stats"]["Mapped"], 0, "{}", r.text);
    let skipped: u64 = r.json["Stats"]["Skipped"].as_object().unwrap().values().map(|v| v.as_u64().unwrap()).sum();
    let unmapped: u64 = r.json["Stats"]["Unmapped"].as_object().unwrap().values().map(|v| v.as_u64().unwrap()).sum();
    assert_eq!(skipped + unmapped, 1, "{}", r.text);

    let r = w.send(Method::POST, "/api/events", &w.operator, Some(json!("not cloudtrail"))).await;
    assert_eq!(r.status, StatusCode::OK, "a JSON string is an event of nothing: {}", r.text);
    let stats = w.get("/api/events/stats", &w.viewer).await;
    assert!(stats.json["Received"].as_u64().unwrap() >= 2, "{}", stats.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversize_events_are_413() {
    let w = world_with(ServerConfig { events_body_limit: 1024, ..Default::default() }).await;
    let big = json!({"Records": [{"eventSource": "x".repeat(2000)}]});
    let r = w.send(Method::POST, "/api/events", &w.operator, Some(big)).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(error_code(&r), "payload_too_large");
    // Elsewhere the general limit applies.
    let w = world_with(ServerConfig { body_limit: 64, ..Default::default() }).await;
    let r = w.send(Method::POST, "/api/accounts", &w.admin, Some(json!({"account_id": "1".repeat(100)}))).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_dashboards_recompute_once() {
    let w = world().await;
    qrie_engine::summary::invalidate(&*w.state.engine.store).await.unwrap();
    let calls = (0..10).map(|_| w.get("/api/summary/dashboard", &w.viewer));
    let replies = futures::future::join_all(calls).await;
    for r in &replies {
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
    // Each computation stamps its own time: one stamp means one computation.
    let stamps: HashSet<String> = replies.iter().map(|r| r.json["ComputedAt"].to_string()).collect();
    assert_eq!(stamps.len(), 1, "recomputed {} times: {stamps:?} {}", stamps.len(), replies[0].text);
    assert_eq!(replies.iter().filter(|r| r.json["Cached"] == false).count(), 1);
    assert!(replies[0].json["Resources"].as_u64().unwrap() > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn security_headers_on_every_response() {
    let w = world().await;
    for r in [
        w.get("/api/summary/resources", &w.viewer).await,
        call(&w.app, req(Method::GET, "/api/findings", None, None)).await,
        call(&w.app, req(Method::GET, "/healthz", None, None)).await,
        call(&w.app, req(Method::GET, "/nope", None, None)).await,
    ] {
        let h = |n: &str| r.headers.get(n).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
        assert!(h("content-security-policy").contains("frame-ancestors 'none'"), "{:?}", r.headers);
        assert!(h("content-security-policy").contains("script-src 'self'"));
        assert_eq!(h("x-content-type-options"), "nosniff");
        assert_eq!(h("referrer-policy"), "same-origin");
        assert_eq!(h("x-frame-options"), "DENY");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn markup_in_names_and_tags_comes_back_escaped() {
    let w = world().await;
    let store = &w.state.engine.store;
    let page = store.list_resources(&Default::default(), &qrie_store::PageRequest::first(1)).await.unwrap();
    let mut r = page.items[0].clone();
    let evil = "<script>alert(1)</script>";
    r.name = evil.to_string();
    r.tags.insert("owner".into(), evil.into());
    r.last_seen_at = chrono::Utc::now();
    store.put_resources(vec![r.clone()]).await.unwrap();
    let got = w.get(&format!("/api/resources/{}", urlencode(&r.arn)), &w.viewer).await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.text);
    assert!(got.headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("application/json"));
    assert!(!got.text.contains("<script"), "markup in the raw body: {}", got.text);
    assert_eq!(got.json["Resource"]["Name"], evil, "the value must survive escaping");
    assert_eq!(got.json["Resource"]["Tags"]["owner"], evil);
    // The rest-of-path form works unencoded too.
    let raw = w.get(&format!("/api/resource?arn={}", urlencode(&r.arn)), &w.viewer).await;
    assert_eq!(raw.json["Resource"]["ARN"], r.arn.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_matches_the_routes() {
    let w = world().await;
    let r = call(&w.app, req(Method::GET, "/api/openapi.json", None, None)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json["openapi"], "3.1.0");
    let mut documented = BTreeSet::new();
    let mut public = BTreeSet::new();
    for (path, ops) in r.json["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            let m = method.to_uppercase();
            if op.get("security").is_some_and(|s| s.as_array().is_some_and(|a| a.is_empty())) {
                public.insert((m.clone(), path.clone()));
            }
            documented.insert((m, path.clone()));
        }
    }
    let served: BTreeSet<(String, String)> =
        qrie_server::served_routes(&w.state).into_iter().map(|(m, p)| (m.to_string(), p)).collect();
    assert_eq!(documented, served, "OpenAPI paths and served routes differ");

    // And each documented route really is served, and needs credentials
    // unless documented public.
    for (m, path) in &documented {
        let uri = path.replace("{arn}", "x").replace("{id}", "x").replace("{framework}", "x");
        let method: Method = m.parse().unwrap();
        let res = call(&w.app, req(method, &uri, None, None)).await;
        assert_ne!(res.status, StatusCode::METHOD_NOT_ALLOWED, "{m} {path}");
        if public.contains(&(m.clone(), path.clone())) {
            assert_ne!(res.status, StatusCode::UNAUTHORIZED, "{m} {path} is documented public");
        } else {
            assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{m} {path} answered without credentials: {}", res.text);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_need_csrf_for_changes() {
    let w = world().await;
    let r = call(&w.app, req(Method::POST, "/api/session", None, Some(json!({"token": "qrie_00_bad"})))).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = call(&w.app, req(Method::POST, "/api/session", None, Some(json!({"token": w.admin})))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let set = r.headers[header::SET_COOKIE].to_str().unwrap().to_string();
    assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict"), "{set}");
    let cookie = set.split(';').next().unwrap().to_string();
    let csrf = r.json["CsrfToken"].as_str().unwrap().to_string();
    let sid = cookie.split_once('=').unwrap().1;
    let stored = serde_json::to_string(&w.state.engine.store.kv_list(auth::SESSIONS_NS).await.unwrap()).unwrap();
    assert!(!stored.contains(sid), "session id stored in clear");

    let with = |method: Method, uri: &str, csrf: Option<&str>, body: Option<Value>| {
        let mut b = Request::builder().method(method).uri(uri).header(header::COOKIE, &cookie);
        if let Some(c) = csrf {
            b = b.header("x-csrf-token", c);
        }
        match body {
            Some(v) => b.header(header::CONTENT_TYPE, "application/json").body(Body::from(v.to_string())).unwrap(),
            None => b.body(Body::empty()).unwrap(),
        }
    };
    assert_eq!(call(&w.app, with(Method::GET, "/api/accounts", None, None)).await.status, StatusCode::OK);
    let add = json!({"account_id": "111122223333"});
    let r = call(&w.app, with(Method::POST, "/api/accounts", None, Some(add.clone()))).await;
    assert_eq!((r.status, error_code(&r)), (StatusCode::FORBIDDEN, "csrf"));
    let r = call(&w.app, with(Method::POST, "/api/accounts", Some("wrong"), Some(add.clone()))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = call(&w.app, with(Method::POST, "/api/accounts", Some(&csrf), Some(add))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);

    let r = call(&w.app, with(Method::DELETE, "/api/session", Some(&csrf), None)).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(call(&w.app, with(Method::GET, "/api/accounts", None, None)).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_scan_summaries_metrics() {
    let w = world().await;
    let account = w.estate.read().unwrap().accounts()[0].account_id.clone();
    let r = w.send(Method::POST, &format!("/api/accounts/{account}/scan"), &w.operator, None).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let job = w.wait_job(r.json["JobId"].as_str().unwrap()).await;
    assert_eq!(job["Kind"], "inventory");
    assert_eq!(job["Target"]["Accounts"], json!([account]));

    for uri in [
        "/api/summary/resources",
        "/api/summary/findings",
        "/api/summary/drift",
        "/api/services",
        "/api/compliance",
        "/api/accounts",
    ] {
        let r = w.get(uri, &w.viewer).await;
        assert_eq!(r.status, StatusCode::OK, "{uri}: {}", r.text);
    }
    let r = w.get("/api/summary/drift", &w.viewer).await;
    assert!(r.json["LastInventoryScan"].is_object(), "the anti-entropy scan recorded drift: {}", r.text);

    let r = w.send(Method::DELETE, &format!("/api/accounts/{account}"), &w.admin, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let accounts = w.get("/api/accounts", &w.viewer).await;
    assert_eq!(accounts.json["Accounts"].as_array().unwrap().len(), 1, "soft-removed accounts leave the default list");
    let r =
        w.send(Method::DELETE, &format!("/api/accounts/{account}?hard=true&confirm={account}"), &w.admin, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = w.get(&format!("/api/findings?account={account}"), &w.viewer).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "purged: {}", r.text);

    assert_eq!(w.get("/metrics", &w.viewer).await.status, StatusCode::FORBIDDEN);
    let m = w.get("/metrics", &w.operator).await;
    assert_eq!(m.status, StatusCode::OK);
    assert!(
        m.text.contains("qrie_http_requests_total{method=\"GET\",route=\"/api/accounts\",status=\"200\"}"),
        "{}",
        m.text
    );
    assert!(m.text.contains("qrie_findings_active{severity="), "{}", m.text);
    assert!(m.text.contains("qrie_jobs{status=\"succeeded\"}"), "{}", m.text);
    let h = call(&w.app, req(Method::GET, "/healthz", None, None)).await;
    assert_eq!(h.status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_without_an_organization_is_409_and_admin_only() {
    let w = world().await;
    for token in [&w.viewer, &w.operator] {
        let r = w.send(Method::POST, "/api/accounts/discover", token, None).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    }
    let before = w.get("/api/accounts", &w.viewer).await.json;
    let r = w.send(Method::POST, "/api/accounts/discover", &w.admin, None).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    assert_eq!(error_code(&r), "no_organization");
    assert!(r.json["error"]["message"].as_str().unwrap().contains("no AWS organization"));
    assert_eq!(w.get("/api/accounts", &w.viewer).await.json, before, "nothing changed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_adds_updates_and_skips() {
    let w = world().await;
    let sim: Vec<String> =
        w.state.engine.list_accounts(false).await.unwrap().into_iter().map(|a| a.account.account_id).collect();
    let r = w.send(Method::POST, "/api/accounts", &w.admin, Some(json!({"account_id": "333333333333"}))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let r = w.send(Method::DELETE, "/api/accounts/333333333333", &w.admin, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let w = in_organization(
        w,
        vec![
            member("444444444444", "payments-prod", "ACTIVE", "ou-ab12-prod0001"),
            member("555555555555", "closing", "SUSPENDED", "ou-ab12-prod0001"),
            member("333333333333", "was-removed", "ACTIVE", "ou-ab12-prod0001"),
            member(&sim[0], "ignored-name", "ACTIVE", "ou-ab12-moved001"),
        ],
    );
    let r = w.send(Method::POST, "/api/accounts/discover", &w.admin, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let ids = |k: &str| -> Vec<String> {
        r.json[k].as_array().unwrap().iter().map(|a| a["AccountId"].as_str().unwrap().to_string()).collect()
    };
    assert_eq!(ids("Added"), ["444444444444"]);
    assert_eq!(r.json["Added"][0]["Source"], "organizations");
    assert_eq!(ids("Updated"), [sim[0].clone()]);
    assert_eq!(r.json["Updated"][0]["OrgPath"], json!(["r-ab12", "ou-ab12-moved001"]));
    assert_ne!(r.json["Updated"][0]["Name"], "ignored-name", "a manually named account keeps its name");
    assert_eq!(r.json["SkippedRemoved"], json!(["333333333333"]));
    assert_eq!(r.json["SkippedInactive"], json!(["555555555555"]));
    assert_eq!(r.json["Paths"]["444444444444"], "Root/Workloads");

    let listed = w.get("/api/accounts", &w.viewer).await;
    let row = listed.json["Accounts"].as_array().unwrap().iter().find(|a| a["AccountId"] == "444444444444").cloned();
    let row = row.expect("the discovered account is listed");
    assert_eq!(row["Baselined"], false, "a discovered account waits for its first sweep");
    assert!(!listed.text.contains("333333333333"), "the removed account stays removed");
    // Again: nothing new.
    let again = w.send(Method::POST, "/api/accounts/discover", &w.admin, None).await;
    assert_eq!(again.json["Added"], json!([]));
    assert_eq!(again.json["Updated"], json!([]));
    assert_eq!(again.json["Unchanged"], 2);
}

/// The suppression and audit routes as a client uses them: roles, typed
/// errors, conditional edits, the findings list's `suppressed` filter and
/// overlay, pause and resume through `PUT /api/policies/{id}`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suppressions_audit_and_pause_over_the_api() {
    let w = world().await;
    let (top, n) = busiest_policy(&w.state).await;
    let body = json!({"scope": {"policies": [top]}, "reason": "accepted", "category": "accepted-risk", "owner": "secops", "expires": "30d"});
    let r = w.send(Method::POST, "/api/suppressions", &w.viewer, Some(body.clone())).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "viewers do not suppress");
    for (bad, why) in [
        (json!({"scope": {}, "reason": "accepted", "category": "accepted-risk", "owner": "x"}), "must name"),
        (json!({"scope": {"policies": [top]}, "reason": "no", "category": "accepted-risk", "owner": "x"}), "reason"),
        (json!({"scope": {"policies": [top]}, "reason": "accepted", "category": "shrug", "owner": "x"}), "category"),
        (
            json!({"scope": {"policies": [top]}, "reason": "accepted", "category": "by-design", "owner": "x", "expires": "2001-01-01"}),
            "past",
        ),
        (
            json!({"scope": {"accounts": ["12"]}, "reason": "accepted", "category": "by-design", "owner": "x"}),
            "account",
        ),
    ] {
        let r = w.send(Method::POST, "/api/suppressions", &w.operator, Some(bad.clone())).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}: {}", r.text);
        assert!(r.text.contains(why), "{bad}: {}", r.text);
    }
    let typo =
        json!({"scope": {"policies": ["no-such-policy"]}, "reason": "accepted", "category": "by-design", "owner": "x"});
    assert_eq!(w.send(Method::POST, "/api/suppressions", &w.operator, Some(typo)).await.status, StatusCode::NOT_FOUND);

    let preview =
        w.send(Method::POST, "/api/suppressions/preview", &w.viewer, Some(json!({"scope": {"policies": [top]}}))).await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.text);
    assert_eq!(preview.json["Total"], json!(n));
    let r = w.send(Method::POST, "/api/suppressions", &w.operator, Some(body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = r.json["Id"].as_str().unwrap().to_string();
    assert_eq!(r.json["Status"], "active");
    assert!(r.json["CreatedBy"].as_str().unwrap().starts_with("token:operator-"));
    let revision = r.json["Revision"].as_u64().unwrap();

    // The findings list hides them by default and shows the overlay on request.
    let hidden = w.get(&format!("/api/findings?policy={top}&limit=1000"), &w.viewer).await;
    assert_eq!(hidden.json["Items"].as_array().unwrap().len(), 0, "{}", hidden.text);
    let shown = w.get(&format!("/api/findings?policy={top}&limit=1000&suppressed=yes"), &w.viewer).await;
    let items = shown.json["Items"].as_array().unwrap();
    assert_eq!(items.len() as u64, n);
    assert!(items.iter().all(|f| f["Suppression"]["RuleId"] == json!(id) && f["PolicyPaused"] == json!(false)));
    let bad = w.get("/api/findings?suppressed=maybe", &w.viewer).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let d = w.get("/api/summary/dashboard", &w.viewer).await;
    assert_eq!(d.json["Findings"]["Suppressed"], json!(n), "{}", d.text);
    // Every count of active findings leaves them out and shows them apart.
    let p = w.get(&format!("/api/policies/{top}"), &w.viewer).await;
    assert_eq!(
        (p.json["ActiveFindings"].as_u64(), p.json["SuppressedFindings"].as_u64()),
        (Some(0), Some(n)),
        "{}",
        p.text
    );
    let accounts = w.get("/api/accounts", &w.viewer).await;
    let listed = |field: &str| -> u64 {
        accounts.json["Accounts"]
            .as_array()
            .unwrap_or_else(|| panic!("{}", accounts.text))
            .iter()
            .map(|a| a[field].as_u64().unwrap())
            .sum()
    };
    assert_eq!(listed("SuppressedFindings"), n, "{}", accounts.text);
    assert_eq!(listed("ActiveFindings"), d.json["Findings"]["Active"].as_u64().unwrap(), "{}", accounts.text);
    let m = w.get("/metrics", &w.operator).await;
    let gauge = |name: &str| -> u64 {
        m.text
            .lines()
            .filter(|l| l.starts_with(&format!("{name}{{")))
            .map(|l| l.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
            .sum()
    };
    assert_eq!(gauge("qrie_findings_suppressed"), n, "{}", m.text);
    assert_eq!(gauge("qrie_findings_active"), d.json["Findings"]["Active"].as_u64().unwrap(), "{}", m.text);

    // Edits are conditional on the revision shown.
    let edit = json!({"reason": "accepted until Q3", "revision": revision});
    let r = w.send(Method::PUT, &format!("/api/suppressions/{id}"), &w.operator, Some(edit.clone())).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = w.send(Method::PUT, &format!("/api/suppressions/{id}"), &w.operator, Some(edit)).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "a stale revision: {}", r.text);
    let r = w.send(Method::PUT, &format!("/api/suppressions/{id}"), &w.operator, Some(json!({"enabled": false}))).await;
    assert_eq!((r.status, r.json["Status"].as_str()), (StatusCode::OK, Some("disabled")));
    let r = w.get(&format!("/api/suppressions/{id}"), &w.viewer).await;
    assert_eq!(r.json["Reason"], "accepted until Q3");
    assert_eq!(w.get("/api/suppressions/sup-nothere", &w.viewer).await.status, StatusCode::NOT_FOUND);
    let listed = w.get("/api/suppressions?status=disabled", &w.viewer).await;
    assert_eq!(listed.json["Rules"].as_array().unwrap().len(), 1);
    assert_eq!(w.get("/api/suppressions?status=whatever", &w.viewer).await.status, StatusCode::BAD_REQUEST);
    let r = w.send(Method::DELETE, &format!("/api/suppressions/{id}"), &w.operator, None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "deleting a rule is an admin's");
    let r = w.send(Method::DELETE, &format!("/api/suppressions/{id}"), &w.admin, None).await;
    assert_eq!((r.status, r.json["Status"].as_str()), (StatusCode::OK, Some("deleted")));

    // Pause and resume: an operator's.
    let pause = json!({"status": "paused"});
    let uri = format!("/api/policies/{top}");
    assert_eq!(w.send(Method::PUT, &uri, &w.viewer, Some(pause.clone())).await.status, StatusCode::FORBIDDEN);
    let r = w.send(Method::PUT, &uri, &w.operator, Some(pause.clone())).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["Policy"]["Status"], "paused");
    let listed = w.get(&format!("/api/findings?policy={top}&limit=1"), &w.viewer).await;
    assert_eq!(listed.json["Items"][0]["PolicyPaused"], json!(true));
    assert_eq!(w.send(Method::PUT, &uri, &w.operator, Some(pause)).await.status, StatusCode::CONFLICT);
    let scope_change = json!({"scope": {"include_regions": ["us-east-1"]}});
    assert_eq!(w.send(Method::PUT, &uri, &w.operator, Some(scope_change)).await.status, StatusCode::FORBIDDEN);
    let r = w.send(Method::PUT, &uri, &w.operator, Some(json!({"status": "active"}))).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    w.wait_job(r.json["JobId"].as_str().unwrap()).await;

    let audit = w.get("/api/audit?limit=1000", &w.viewer).await;
    let actions: Vec<&str> =
        audit.json["Entries"].as_array().unwrap().iter().filter_map(|e| e["Action"].as_str()).collect();
    for a in [
        "suppression.create",
        "suppression.edit",
        "suppression.disable",
        "suppression.delete",
        "policy.pause",
        "policy.resume",
    ] {
        assert!(actions.contains(&a), "{a} in {actions:?}");
    }
    let mine = w.get("/api/audit?actor=token:nobody", &w.viewer).await;
    assert_eq!(mine.json["Entries"], json!([]));
    assert_eq!(w.get("/api/audit?since=yesterday", &w.viewer).await.status, StatusCode::BAD_REQUEST);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archive_and_purge_over_the_api() {
    let w = world().await;
    let (top, _) = busiest_policy(&w.state).await;
    let purge = format!("/api/policies/{top}?purge=true&confirm={top}");

    // No archive destination: refused before anything is deleted.
    let r = w.send(Method::DELETE, &purge, &w.admin, None).await;
    assert_eq!((r.status, r.json["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("no_archive")), "{}", r.text);
    assert!(w.state.engine.store.get_policy(&top).await.unwrap().is_some(), "the policy is still launched");

    let archive = tempfile::tempdir().unwrap();
    let state = w.state.clone().with_archive(Arc::new(qrie_engine::archive::DirSink::new(archive.path())));
    let w = World { app: qrie_server::router(state.clone()), state, ..w };
    let all = w.state.engine.store.findings_for_policy(&top, None).await.unwrap().len() as u64;
    assert_eq!(w.send(Method::DELETE, &purge, &w.operator, None).await.status, StatusCode::FORBIDDEN);
    for confirm in ["", "&confirm=someone-else"] {
        let r = w.send(Method::DELETE, &format!("/api/policies/{top}?purge=true{confirm}"), &w.admin, None).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
        assert!(r.text.contains("confirmation_required") || r.text.contains("typed again"), "{}", r.text);
    }
    let r = w.send(Method::DELETE, &purge, &w.admin, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!((r.json["Archive"]["Archived"].as_u64(), r.json["Archive"]["Purged"].as_u64()), (Some(all), Some(all)));
    let location = r.json["Archive"]["Location"].as_str().unwrap().to_string();
    assert!(std::path::Path::new(&location).starts_with(archive.path()), "{location}");
    assert!(w.state.engine.store.findings_for_policy(&top, None).await.unwrap().is_empty());

    // Retention: resolved findings of a suspended policy, counted, then archived.
    let (second, _) = busiest_policy(&w.state).await;
    w.state.engine.suspend_policy(&second).await.unwrap();
    let resolved = w.state.engine.store.findings_for_policy(&second, None).await.unwrap().len() as u64;
    let body = json!({"OlderThanDays": 0, "Policy": second, "DryRun": true});
    let r = w.send(Method::POST, "/api/findings/archive", &w.operator, Some(body.clone())).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "purging is an admin's");
    for bad in [json!({"Policy": second}), json!({"OlderThanDays": -1}), json!({"OlderThanDays": 0, "Purge": true})] {
        let r = w.send(Method::POST, "/api/findings/archive", &w.admin, Some(bad.clone())).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}: {}", r.text);
    }
    let r = w.send(Method::POST, "/api/findings/archive", &w.admin, Some(body)).await;
    assert_eq!((r.json["Archived"].as_u64(), r.json["Purged"].as_u64()), (Some(resolved), Some(0)), "{}", r.text);
    let old = json!({"OlderThanDays": 30, "Policy": second});
    let r = w.send(Method::POST, "/api/findings/archive", &w.admin, Some(old)).await;
    assert_eq!(
        (r.json["Archived"].as_u64(), r.json["Location"].as_str()),
        (Some(0), None),
        "none resolved 30 days ago"
    );
    let now = json!({"OlderThanDays": 0, "Policy": second});
    let r = w.send(Method::POST, "/api/findings/archive", &w.admin, Some(now)).await;
    assert_eq!(
        (r.json["Archived"].as_u64(), r.json["Purged"].as_u64()),
        (Some(resolved), Some(resolved)),
        "{}",
        r.text
    );
    assert_eq!(std::fs::read_dir(archive.path()).unwrap().count(), 2, "two archives");

    // The audit log has both archives and purges, by the admin's token.
    let r = w.get("/api/audit?action=findings.purge", &w.viewer).await;
    let entries = r.json["Entries"].as_array().unwrap_or_else(|| panic!("{}", r.text));
    assert_eq!(entries.len(), 2, "{}", r.text);
    assert!(entries.iter().all(|e| e["Actor"].as_str().unwrap().starts_with("token:admin-")), "{}", r.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn findings_export_streams_each_format_with_the_list_filters() {
    let w = world().await;
    let (top, n) = busiest_policy(&w.state).await;
    let listed = w.all_findings(&format!("policy={top}&state=all"), 100).await;
    assert_eq!(
        call(&w.app, req(Method::GET, "/api/findings/export?format=ocsf", None, None)).await.status,
        StatusCode::UNAUTHORIZED
    );
    for (query, expected) in [
        ("", "format is required"),
        ("format=xml", "ocsf, asff, csv, jsonl"),
        ("format=ocsf&limit=5", "limit and next_token do not apply"),
        ("format=ocsf&policy=no-such-policy", "no-such-policy"),
    ] {
        let r = w.get(&format!("/api/findings/export?{query}"), &w.viewer).await;
        assert!(r.status.is_client_error(), "{query}: {}", r.status);
        assert!(r.text.contains(expected), "{query}: {}", r.text);
    }

    let r = w.get(&format!("/api/findings/export?format=ocsf&policy={top}&state=all"), &w.viewer).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.headers[header::CONTENT_TYPE], "application/x-ndjson");
    assert!(r.headers[header::CONTENT_DISPOSITION].to_str().unwrap().contains("qrie-findings.ocsf.jsonl"));
    let records: Vec<Value> = r.text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(records.len(), listed.len());
    assert!(records.len() as u64 >= n);
    let uids: HashSet<String> =
        records.iter().map(|r| r["finding_info"]["uid"].as_str().unwrap().to_string()).collect();
    let want: HashSet<String> = listed
        .iter()
        .map(|f| qrie_model::finding_uid(f["ARN"].as_str().unwrap(), f["Policy"].as_str().unwrap()))
        .collect();
    assert_eq!(uids, want, "the same findings as the list");
    assert!(records.iter().all(|r| r["class_uid"] == 2004 && r["finding_info"].get("src_url").is_none()));

    let r = w.get(&format!("/api/findings/export?format=asff&policy={top}"), &w.viewer).await;
    let asff: Vec<Value> = r.text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(asff.len() as u64, n);
    assert!(asff.iter().all(|f| f["SchemaVersion"] == "2018-10-08" && f["RecordState"] == "ACTIVE"));

    let r = w.get(&format!("/api/findings/export?format=csv&policy={top}"), &w.viewer).await;
    assert!(r.headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/csv"));
    assert_eq!(r.text.lines().count() as u64, n + 1);

    // With the UI's address configured, records link to the finding's page.
    let config = ServerConfig { public_url: Some("https://qrie.example.com".into()), ..ServerConfig::default() };
    let linked = qrie_server::router(qrie_server::AppState::new(w.state.engine.clone(), config));
    let uri = format!("/api/findings/export?format=ocsf&policy={top}");
    let r = call(&linked, req(Method::GET, &uri, Some(&w.viewer), None)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.text.lines().count() as u64, n);
    let first: Value = serde_json::from_str(r.text.lines().next().unwrap()).unwrap();
    let link = first["finding_info"]["src_url"].as_str().unwrap();
    assert!(link.starts_with("https://qrie.example.com/findings/detail?arn="), "{link}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn integrations_are_configured_by_admins_and_the_outbox_is_seen_by_viewers() {
    let w = world().await;
    let hook = json!({"id": "soc", "kind": "webhook", "url": "https://soc.example.com/qrie?token=abc",
        "secret": "env:QRIE_SOC_SECRET", "route": {"min_severity": 70, "on": ["opened", "resolved"]}});
    assert_eq!(
        w.send(Method::POST, "/api/integrations", &w.operator, Some(hook.clone())).await.status,
        StatusCode::FORBIDDEN
    );
    for (bad, expected) in [
        (json!({"id": "x", "kind": "carrier-pigeon", "url": "https://a.example/"}), "webhook or slack"),
        (json!({"id": "x", "kind": "webhook", "url": "http://a.example/"}), "loopback"),
        (json!({"id": "x", "kind": "webhook", "url": "https://a.example/", "secret": "hunter2"}), "env:NAME"),
        (json!({"id": "x", "kind": "webhook", "url": "https://a.example/", "route": {"on": ["exploded"]}}), "exploded"),
        (json!({"id": "x y", "kind": "webhook", "url": "https://a.example/"}), "integration id"),
        (json!({"id": "x", "kind": "slack", "url": "https://hooks.slack.com/services/T/B/secret"}), "env:NAME"),
        (json!({"id": "x", "kind": "slack", "url": "env:SLACK", "secret": "env:S"}), "takes no secret"),
    ] {
        let r = w.send(Method::POST, "/api/integrations", &w.admin, Some(bad)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
        assert!(r.text.contains(expected), "{expected}: {}", r.text);
    }
    let r = w.send(Method::POST, "/api/integrations", &w.admin, Some(hook.clone())).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.json["Target"], "https://soc.example.com/…", "the URL's path and query are not shown");
    assert_eq!(w.send(Method::POST, "/api/integrations", &w.admin, Some(hook)).await.status, StatusCode::CONFLICT);
    assert_eq!(w.get("/api/integrations", &w.viewer).await.status, StatusCode::FORBIDDEN);
    let listed = w.get("/api/integrations", &w.admin).await;
    assert_eq!(listed.json["Integrations"][0]["Secret"], "env:QRIE_SOC_SECRET");
    assert!(!listed.text.contains("token=abc") && !listed.text.contains("/qrie"));
    let r = w.send(Method::POST, "/api/integrations/nope/test", &w.admin, None).await;
    assert_eq!((r.status, error_code(&r)), (StatusCode::NOT_FOUND, "unknown_integration"));
    let r = w.send(Method::DELETE, "/api/integrations/nope", &w.admin, None).await;
    assert_eq!((r.status, error_code(&r)), (StatusCode::NOT_FOUND, "unknown_integration"));
    let slack = json!({"id": "chat", "kind": "slack", "url": "env:QRIE_SLACK_URL"});
    let r = w.send(Method::POST, "/api/integrations", &w.admin, Some(slack)).await;
    assert_eq!((r.status, r.json["Secret"].as_str()), (StatusCode::CREATED, Some("env:QRIE_SLACK_URL")), "{}", r.text);
    assert_eq!(w.send(Method::DELETE, "/api/integrations/chat", &w.admin, None).await.status, StatusCode::OK);

    // Suspending a policy resolves its findings: notices the viewer sees.
    let (top, n) = busiest_policy(&w.state).await;
    w.state.engine.suspend_policy(&top).await.unwrap();
    let r = w.get("/api/notifications", &w.viewer).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let notices = r.json["Notices"].as_array().unwrap();
    assert_eq!(r.json["Total"].as_u64(), Some(notices.len() as u64));
    assert!(notices.iter().filter(|e| e["Notice"]["Policy"] == top.as_str()).count() as u64 >= n);
    assert!(notices.iter().all(|e| e["Notice"]["Kind"] == "resolved" || e["Notice"]["Kind"] == "opened"));
    let r = w.get("/api/notifications?failed=true", &w.viewer).await;
    assert_eq!(r.json["Notices"].as_array().unwrap().len(), 0);
    assert_eq!(
        w.send(Method::POST, "/api/notifications/retry", &w.viewer, Some(json!({}))).await.status,
        StatusCode::FORBIDDEN
    );
    let r = w.send(Method::POST, "/api/notifications/retry", &w.admin, Some(json!({}))).await;
    assert_eq!(r.json["Revived"], 0, "{}", r.text);

    let r = w.send(Method::DELETE, "/api/integrations/soc", &w.admin, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(w.get("/api/integrations", &w.admin).await.json["Integrations"].as_array().unwrap().len(), 0);
    let audit = w.get("/api/audit?action=integration.add", &w.viewer).await;
    assert_eq!(audit.json["Entries"].as_array().map(Vec::len), Some(2), "{}", audit.text);
}
