//! `GET /api/findings/export` over the million-finding store of the `ui_1m`
//! benchmark (built once, then reused): each format streamed through the
//! router and read to the end, its throughput, and the process's peak
//! resident memory (VmHWM, reset before each export through
//! /proc/self/clear_refs) over what it held before. The export reads a page
//! of 1,000 findings at a time, so the peak should not grow with the store.
//! Figures are printed, never asserted.
//!
//! Run: `scripts/bench export` or `cargo bench -p qrie-server --bench export_1m`.
//! Environment: FINDINGS (default 1,000,000), FORMATS (default
//! "ocsf,asff,csv,jsonl"), QRIE_BENCH_STORE (the store file).

#[path = "ui_1m/dataset.rs"]
mod dataset;

#[path = "support/mod.rs"]
mod support;
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use http_body_util::BodyExt;
use qrie_engine::cloud::CloudRouter;
use qrie_engine::Engine;
use qrie_server::auth::{self, Role};
use qrie_server::{router, AppState, ServerConfig};
use std::sync::Arc;
use std::time::Instant;
use support::{env_usize, reset_peak, status_mib};
use tower::ServiceExt;

fn main() {
    qrie_engine::memory::limit_malloc_arenas();
    let findings = env_usize("FINDINGS", 1_000_000);
    let formats = std::env::var("FORMATS").unwrap_or_else(|_| "ocsf,asff,csv,jsonl".into());
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    rt.block_on(async move {
        let path = dataset::default_path(findings);
        eprintln!("store: {}", path.display());
        let (store, built) = dataset::open_or_build(&path, findings).await;
        println!("dataset: {} findings ({} active)", built.findings, built.active_findings);
        let engine = Engine::new(store.clone(), Arc::new(CloudRouter { simulated: None, aws: None }));
        let token = auth::create_token(&*store, Role::Viewer, Some("bench".into())).await.expect("token").token;
        let app = router(AppState::new(engine, ServerConfig::default()));
        for format in formats.split(',') {
            let uri = format!("/api/findings/export?format={format}&state=all&suppressed=all");
            let request = Request::get(&uri)
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .body(Body::empty())
                .expect("request");
            let before = status_mib("VmRSS:");
            reset_peak();
            let started = Instant::now();
            let response = app.clone().oneshot(request).await.expect("response");
            assert_eq!(response.status(), StatusCode::OK, "{uri}");
            let mut body = response.into_body();
            let (mut bytes, mut lines) = (0u64, 0u64);
            while let Some(frame) = body.frame().await {
                let frame = frame.expect("the body streams to the end");
                if let Some(data) = frame.data_ref() {
                    bytes += data.len() as u64;
                    lines += data.iter().filter(|b| **b == b'\n').count() as u64;
                }
            }
            let secs = started.elapsed().as_secs_f64();
            println!(
                "{format:>5}: {lines} lines, {:.0} MB in {secs:.1} s ({:.0} findings/s, {:.1} MB/s); \
                 peak RSS {:.0} MiB, {:+.0} MiB over the {before:.0} MiB held before",
                bytes as f64 / 1e6,
                lines as f64 / secs,
                bytes as f64 / 1e6 / secs,
                status_mib("VmHWM:"),
                status_mib("VmHWM:") - before,
            );
        }
    });
}
