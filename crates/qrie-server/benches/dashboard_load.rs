//! The dashboard and the findings list under load while a sweep writes
//! (issue 13: 50 concurrent clients during a sweep saw the dashboard API's
//! p99 at 1.3 s and `/api/findings` at 0.7 s, 2–5 ms idle). Figures are
//! printed, never asserted.
//!
//! A simulated estate is swept into a SQLite store and changed (so the next
//! sweep writes); CLIENTS tasks then request `/api/summary/dashboard` and
//! `/api/findings?limit=50` in turn through the router, first idle for a few
//! seconds, then while an anti-entropy sweep runs on its own thread.
//!
//! Run: `cargo bench -p qrie-server --bench dashboard_load`. Environment:
//! CLIENTS (default 50), RESOURCES (per account, default 4,000; 5 accounts),
//! CHANGES (default 2,000).

#[path = "support/mod.rs"]
mod support;
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use http_body_util::BodyExt;
use qrie_engine::sim::SimSpec;
use qrie_engine::{InventoryRequest, NoProgress};
use qrie_server::{router, AppState, ServerConfig};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::env_usize;
use tower::ServiceExt;

const ROUTES: [&str; 2] = ["/api/summary/dashboard", "/api/findings?limit=50"];

/// Latencies (ms) per route of `clients` tasks requesting until `stop`.
async fn load(app: &axum::Router, token: &str, clients: usize, stop: Arc<AtomicBool>) -> [Vec<f64>; 2] {
    let tasks: Vec<_> = (0..clients)
        .map(|c| {
            let (app, token, stop) = (app.clone(), token.to_string(), stop.clone());
            tokio::spawn(async move {
                let mut seen: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
                let mut i = c;
                while !stop.load(Ordering::Relaxed) {
                    let which = i % 2;
                    i += 1;
                    let req = Request::builder()
                        .uri(ROUTES[which])
                        .header(header::AUTHORIZATION, format!("Bearer {token}"))
                        .body(Body::empty())
                        .unwrap();
                    let t = Instant::now();
                    let res = app.clone().oneshot(req).await.unwrap();
                    let status = res.status();
                    let _ = res.into_body().collect().await;
                    assert_eq!(status, StatusCode::OK);
                    seen[which].push(t.elapsed().as_secs_f64() * 1000.0);
                }
                seen
            })
        })
        .collect();
    let mut all: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    for t in tasks {
        let [a, b] = t.await.unwrap();
        all[0].extend(a);
        all[1].extend(b);
    }
    all
}

fn report(what: &str, latencies: &mut [Vec<f64>; 2]) {
    for (route, l) in ROUTES.iter().zip(latencies.iter_mut()) {
        l.sort_by(|a, b| a.total_cmp(b));
        let q = |p: f64| l.get(((l.len() as f64 * p) as usize).min(l.len().saturating_sub(1))).copied().unwrap_or(0.0);
        println!(
            "{what:<22} {route:<26} n={:<7} p50 {:>7.1} ms  p99 {:>7.1} ms  max {:>7.1} ms",
            l.len(),
            q(0.5),
            q(0.99),
            q(1.0)
        );
    }
}

fn main() {
    let clients = env_usize("CLIENTS", 50);
    let per_account = env_usize("RESOURCES", 4_000);
    let changes = env_usize("CHANGES", 2_000);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async move {
        let dir = tempfile::tempdir().unwrap();
        let store = qrie_store::open(&format!("sqlite:{}", dir.path().join("t.db").display())).unwrap();
        let spec =
            SimSpec { seed: 42, accounts: 5, resources_per_account: per_account, created_at: chrono::Utc::now() };
        let t = Instant::now();
        let (engine, estate) = qrie_engine::sim::swept_estate(store.clone(), spec).await.unwrap();
        println!("{} resources swept in {:.1}s", estate.read().unwrap().len(), t.elapsed().as_secs_f64());
        let pending = {
            let mut e = estate.write().unwrap();
            e.apply_changes(changes, Some(7));
            e.take_pending()
        };
        pending.persist(&*store).await.unwrap();
        let token =
            qrie_server::auth::create_token(&*store, qrie_server::auth::Role::Viewer, None).await.unwrap().token;
        let app = router(AppState::new(engine.clone(), ServerConfig::default()));

        let stop = Arc::new(AtomicBool::new(false));
        let timer = {
            let stop = stop.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_secs(5)).await;
                stop.store(true, Ordering::Relaxed);
            })
        };
        let mut idle = load(&app, &token, clients, stop).await;
        timer.await.unwrap();
        report("idle", &mut idle);

        // The sweep on a thread of its own (its future is not Send), as `qrie serve` runs one.
        let stop = Arc::new(AtomicBool::new(false));
        let sweeper = {
            let (engine, stop) = (engine.clone(), stop.clone());
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                let t = Instant::now();
                let req = InventoryRequest { scan_type: qrie_model::ScanType::AntiEntropy, ..Default::default() };
                let r = rt.block_on(engine.inventory_sweep(&req, &NoProgress)).unwrap();
                stop.store(true, Ordering::Relaxed);
                (t.elapsed(), r.job.counts.get("resources.updated").copied().unwrap_or(0))
            })
        };
        let mut busy = load(&app, &token, clients, stop).await;
        let (took, updated) = sweeper.join().unwrap();
        println!("anti-entropy sweep: {:.1}s, {updated} resources updated", took.as_secs_f64());
        report("during the sweep", &mut busy);
    });
}
