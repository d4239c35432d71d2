//! The UI and API at a million findings in the SQLite store (issue 6's
//! targets: findings page p99 < 50 ms, cached dashboard < 5 ms, dashboard
//! recompute < 2 s). Figures are printed, never asserted.
//!
//! The store is built once through the store's batch API (see [`dataset`]) and
//! kept under `<target>/qrie-bench/`; later runs reuse it. Then, for the
//! findings list's typical queries, the first page and a deep page (reached by
//! walking the cursor) are timed through the store API and through the router
//! (in-process `oneshot`, bearer token, JSON body read to the end) and as the
//! HTML page `/findings` (session cookie, 50 rows, the page rendered whole);
//! the cached dashboard through the API and as the page `/`; the
//! dashboard's recompute; and the `/inventory` and `/accounts` pages, which
//! count as they render.
//!
//! Run: `scripts/bench ui` or `cargo bench -p qrie-server --bench ui_1m`.
//! Environment: FINDINGS (default 1,000,000), ITERS (samples per query, default
//! 200), QRIE_BENCH_STORE (the store file; delete it to rebuild).

mod dataset;
mod timing;

#[path = "../support/mod.rs"]
mod support;
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use qrie_engine::cloud::CloudRouter;
use qrie_engine::Engine;
use qrie_model::FindingState;
use qrie_server::auth::{self, Role};
use qrie_server::{router, AppState, ServerConfig};
use qrie_store::{FindingFilter, FindingSort, PageRequest, Store};
use std::sync::Arc;
use std::time::Instant;
use support::env_usize;
use timing::{time_async, Report};
use tower::ServiceExt;

/// The page size the API defaults to.
const PAGE: usize = 100;
/// How deep the "deep page" is: the page after this many.
const DEEP_PAGES: usize = 100;

/// One typical findings query, as the API's query string and the store filter
/// the API turns it into.
struct Case {
    name: &'static str,
    query: String,
    filter: FindingFilter,
}

fn cases(account: &str, policy: &str) -> Vec<Case> {
    let active = FindingFilter { state: Some(FindingState::Active), ..Default::default() };
    vec![
        Case { name: "no filter (active, the default)", query: String::new(), filter: active.clone() },
        Case {
            name: "all states",
            query: "state=all".into(),
            filter: FindingFilter { state: None, ..Default::default() },
        },
        Case {
            name: "by account",
            query: format!("account={account}"),
            filter: FindingFilter { account_id: Some(account.into()), ..active.clone() },
        },
        Case {
            name: "severity >= 70 + resolved",
            query: "state=resolved&severity_min=70".into(),
            filter: FindingFilter { state: Some(FindingState::Resolved), severity_min: Some(70), ..Default::default() },
        },
        Case {
            name: "by policy",
            query: format!("policy={policy}"),
            filter: FindingFilter { policy: Some(policy.into()), ..active.clone() },
        },
    ]
}

fn main() {
    let findings = env_usize("FINDINGS", 1_000_000);
    let iters = env_usize("ITERS", 200);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    rt.block_on(async move {
        let path = dataset::default_path(findings);
        eprintln!("store: {}", path.display());
        let started = Instant::now();
        let (store, built) = dataset::open_or_build(&path, findings).await;
        println!(
            "dataset: {} findings ({} active), {} resources, {} policies, {} accounts; file {:.0} MB; \
             load through the batch API: resources {:.1} s, findings {:.1} s; open/build now {:.1} s",
            built.findings,
            built.active_findings,
            built.resources,
            built.policies,
            built.accounts.len(),
            built.file_bytes as f64 / 1e6,
            built.resources_load_secs,
            built.findings_load_secs,
            started.elapsed().as_secs_f64()
        );
        let engine = Engine::new(store.clone(), Arc::new(CloudRouter { simulated: None, aws: None }));
        let token = auth::create_token(&*store, Role::Viewer, Some("bench".into())).await.expect("token").token;
        let session = auth::open_session(&*store, &token).await.expect("session").expect("a live token").id;
        let api = Caller::Bearer(&token);
        let ui = Caller::Session(&session);
        let app = router(AppState::new(engine.clone(), ServerConfig::default()));
        let policy = busiest_policy(&*store).await;
        let mut report = Report::default();

        for case in cases(&built.accounts[0], &policy) {
            let deep = deep_token(&*store, &case.filter).await;
            let store_first = PageRequest::first(PAGE);
            report.add(
                &format!("store   first page, {}", case.name),
                time_async(iters, || async {
                    store.list_findings(&case.filter, FindingSort::SeverityDesc, &store_first).await.expect("list");
                })
                .await,
            );
            let store_deep = PageRequest { limit: PAGE, next_token: deep.clone() };
            report.add(
                &format!("store   page {}, {}", DEEP_PAGES + 1, case.name),
                time_async(iters, || async {
                    store.list_findings(&case.filter, FindingSort::SeverityDesc, &store_deep).await.expect("list");
                })
                .await,
            );
            let first_uri = format!("/api/findings?{}", case.query);
            report.add(
                &format!("GET     first page, {}", case.name),
                time_async(iters, || get(&app, &first_uri, api)).await,
            );
            let deep_uri = format!("/api/findings?{}&next_token={}", case.query, deep.as_deref().unwrap_or(""));
            report.add(
                &format!("GET     page {}, {}", DEEP_PAGES + 1, case.name),
                time_async(iters, || get(&app, &deep_uri, api)).await,
            );
            let page_first = format!("/findings?{}", case.query);
            report.add(
                &format!("page    /findings first page, {}", case.name),
                time_async(iters, || get(&app, &page_first, ui)).await,
            );
            let page_deep = format!("/findings?{}&next_token={}", case.query, deep.as_deref().unwrap_or(""));
            report.add(
                &format!("page    /findings page {}, {}", DEEP_PAGES + 1, case.name),
                time_async(iters, || get(&app, &page_deep, ui)).await,
            );
        }
        for (name, sort) in [("recent", "recent"), ("arn", "arn")] {
            let uri = format!("/api/findings?sort={sort}");
            report.add(
                &format!("GET     first page, sorted by {name}"),
                time_async(iters, || get(&app, &uri, api)).await,
            );
        }

        // The recompute first: it also fills the cache the next figure reads.
        let recomputes = env_usize("RECOMPUTES", 10);
        report.add(
            "dashboard recompute (engine)",
            time_async(recomputes, || async {
                engine.compute_dashboard().await.expect("dashboard");
            })
            .await,
        );
        report.add(
            "GET     dashboard after invalidation (recompute + cache write)",
            time_async(recomputes, || async {
                qrie_engine::summary::invalidate(&*store).await.expect("invalidate");
                get(&app, "/api/summary/dashboard", api).await;
            })
            .await,
        );
        report
            .add("GET     dashboard, cached", time_async(iters * 5, || get(&app, "/api/summary/dashboard", api)).await);
        report.add("page    / (dashboard), cached", time_async(iters, || get(&app, "/", ui)).await);
        // Pages that count as they render (not a target; watched so a page
        // view never costs a scan unnoticed).
        let few = (iters / 10).max(3);
        report.add(
            "page    /inventory (counts by account, service, type)",
            time_async(few, || get(&app, "/inventory", ui)).await,
        );
        report.add(
            "page    /accounts (resources, findings per account)",
            time_async(few, || get(&app, "/accounts", ui)).await,
        );
        println!("{report}");
    });
}

/// The policy with the most active findings: the heaviest "by policy" list.
async fn busiest_policy(store: &dyn Store) -> String {
    let active = FindingFilter { state: Some(FindingState::Active), ..Default::default() };
    let counts = store.count_findings(&active, Some(qrie_store::FindingGroup::Policy)).await.expect("count");
    counts.into_iter().next().expect("some findings").0
}

/// The token of page `DEEP_PAGES + 1` (or of the last page, for a short list),
/// reached by walking the cursor as a client would.
async fn deep_token(store: &dyn Store, filter: &FindingFilter) -> Option<String> {
    let mut request = PageRequest::first(PAGE);
    let mut last = None;
    for _ in 0..DEEP_PAGES {
        let page = store.list_findings(filter, FindingSort::SeverityDesc, &request).await.expect("walk");
        match page.next_token {
            Some(t) => {
                last = Some(t.clone());
                request.next_token = Some(t);
            }
            None => break,
        }
    }
    last
}

/// How a request proves who it is: the API's bearer token or the pages' session.
#[derive(Clone, Copy)]
enum Caller<'a> {
    Bearer(&'a str),
    Session(&'a str),
}

async fn get(app: &Router, uri: &str, caller: Caller<'_>) {
    let request = match caller {
        Caller::Bearer(token) => Request::get(uri).header(header::AUTHORIZATION, format!("Bearer {token}")),
        Caller::Session(id) => Request::get(uri).header(header::COOKIE, format!("{}={id}", auth::SESSION_COOKIE)),
    };
    let request = request.body(Body::empty()).expect("request");
    let response = app.clone().oneshot(request).await.expect("response");
    let status = response.status();
    let body = response.into_body().collect().await.expect("body").to_bytes();
    assert_eq!(status, StatusCode::OK, "{uri}: {}", String::from_utf8_lossy(&body));
}
