//! `POST /api/events` with a million minimal records, the largest body the
//! server takes (issue 13: it held about 20 times its input; 8 such requests
//! at once took it to 2.9 GB). Figures are printed, never asserted: the
//! process's peak resident memory (VmHWM, reset before each step through
//! /proc/self/clear_refs) over what it held before, for the streamed
//! ingestion the server does, for the whole-input decode it did before, and
//! for CONCURRENT requests at once.
//!
//! Run: `cargo bench -p qrie-server --bench events_post`. Environment: RECORDS
//! (default 1,000,000; 62 bytes each), CONCURRENT (default 8).

#[path = "support/mod.rs"]
mod support;
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use http_body_util::BodyExt;
use qrie_server::{router, AppState, ServerConfig};
use std::sync::{Arc, RwLock};
use std::time::Instant;
use support::{env_usize, reset_peak, status_mib};
use tower::ServiceExt;

fn body(records: usize) -> Vec<u8> {
    let mut s = String::with_capacity(records * 64 + 16);
    s.push_str("{\"Records\":[");
    for i in 0..records {
        if i > 0 {
            s.push(',');
        }
        s.push_str("{\"eventSource\":\"s3.amazonaws.com\",\"eventName\":\"PutBucketAcl\"}");
    }
    s.push_str("]}");
    s.into_bytes()
}

fn main() {
    let records = env_usize("RECORDS", 1_000_000);
    let concurrent = env_usize("CONCURRENT", 8);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async move {
        let dir = tempfile::tempdir().unwrap();
        let store = qrie_store::open(&format!("sqlite:{}", dir.path().join("t.db").display())).unwrap();
        let spec = qrie_engine::sim::SimSpec { seed: 1, accounts: 1, resources_per_account: 0, created_at: chrono::Utc::now() };
        let estate = Arc::new(RwLock::new(qrie_engine::sim::SimEstate::generate(spec)));
        let engine = qrie_engine::Engine::new(store.clone(), Arc::new(qrie_engine::sim::SimCloud::new(estate)));
        let token = qrie_server::auth::create_token(&*store, qrie_server::auth::Role::Operator, None).await.unwrap().token;
        let app = router(AppState::new(engine, ServerConfig::default()));
        let input = axum::body::Bytes::from(body(records));
        println!("{records} records, {:.1} MiB of body", input.len() as f64 / 1048576.0);

        let post = |input: axum::body::Bytes| {
            let app = app.clone();
            let req = Request::builder()
                .method("POST")
                .uri("/api/events")
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .body(Body::from(input))
                .unwrap();
            async move {
                let res = app.oneshot(req).await.unwrap();
                let status = res.status();
                let bytes = res.into_body().collect().await.unwrap().to_bytes();
                assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&bytes));
                bytes.len()
            }
        };

        let before = status_mib("VmRSS");
        reset_peak();
        let t = Instant::now();
        let report_bytes = post(input.clone()).await;
        println!(
            "one POST, streamed: peak +{:.0} MiB over {before:.0} MiB in {:.1}s (report {report_bytes} bytes); resident after: {:.0} MiB",
            status_mib("VmHWM") - before,
            t.elapsed().as_secs_f64(),
            status_mib("VmRSS")
        );

        let before = status_mib("VmRSS");
        reset_peak();
        let t = Instant::now();
        let posts: Vec<_> = (0..concurrent).map(|_| post(input.clone())).collect();
        futures::future::join_all(posts).await;
        println!(
            "{concurrent} POSTs at once (sharing one body buffer; max {} at once by default): peak +{:.0} MiB over {before:.0} MiB in {:.1}s; resident after: {:.0} MiB",
            qrie_server::listen::Limits::default().max_event_requests,
            status_mib("VmHWM") - before,
            t.elapsed().as_secs_f64(),
            status_mib("VmRSS")
        );

        // Last (its freed heap would hide the others' growth): before, the whole input decoded and routed at once, as the server did.
        let before = status_mib("VmRSS");
        reset_peak();
        let t = Instant::now();
        let all = qrie_events::decode(&input).unwrap();
        let routed: Vec<_> = all.iter().map(qrie_events::route).collect();
        let whole = status_mib("VmHWM") - before;
        println!("whole-input decode and route (the old path, no ingestion): peak +{whole:.0} MiB in {:.1}s", t.elapsed().as_secs_f64());
        drop((all, routed));

    });
}
