//! `GET /metrics`: Prometheus text. Request counts by route and status come
//! from this process; findings by severity and jobs by status from the store.
//!
//! It needs the operator role (a bearer token; Prometheus sends one with
//! `authorization: {credentials: ...}`): the counts describe the estate's
//! posture, which is not for anonymous callers.

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use qrie_model::{FindingState, JobStatus};
use qrie_store::{FindingFilter, FindingGroup, JobFilter, PageRequest};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

use crate::auth::{Principal, Role};
use crate::{ApiResult, AppState, Routes};

#[derive(Default)]
pub struct Metrics {
    /// (method, route pattern, status) → count.
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
}

impl Metrics {
    pub fn requests(&self) -> BTreeMap<(String, String, u16), u64> {
        self.requests.lock().map(|m| m.clone()).unwrap_or_default()
    }
}

pub(crate) fn routes(r: Routes) -> Routes {
    r.add("/metrics", &[Method::GET], axum::routing::get(metrics))
}

/// Counts each request under its route pattern (not its path: ARNs in paths
/// would make a label per resource).
pub async fn count_requests(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let method = req.method().to_string();
    let route = req.extensions().get::<MatchedPath>().map_or("unmatched".to_string(), |m| m.as_str().to_string());
    let response = next.run(req).await;
    if let Ok(mut m) = state.metrics.requests.lock() {
        *m.entry((method, route, response.status().as_u16())).or_default() += 1;
    }
    response
}

fn label(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

async fn metrics(State(state): State<AppState>, who: Principal) -> ApiResult<Response> {
    who.require(Role::Operator)?;
    let store = &*state.engine.store;
    let mut out = String::new();
    out += "# HELP qrie_http_requests_total HTTP requests by route pattern and status.\n";
    out += "# TYPE qrie_http_requests_total counter\n";
    for ((method, route, status), n) in state.metrics.requests() {
        let _ = writeln!(
            out,
            "qrie_http_requests_total{{method=\"{}\",route=\"{}\",status=\"{status}\"}} {n}",
            label(&method),
            label(&route)
        );
    }
    out += "# HELP qrie_findings_active Active findings no suppression rule covers, by severity label.\n# TYPE qrie_findings_active gauge\n";
    let active = FindingFilter { state: Some(FindingState::Active), ..Default::default() };
    let mut by_label: BTreeMap<String, u64> =
        qrie_model::SeverityLabel::ALL.iter().map(|l| (l.to_string(), 0)).collect();
    for (score, n) in store.count_findings(&active, Some(FindingGroup::Severity)).await? {
        if let Some(s) = score.parse::<i64>().ok().and_then(|s| qrie_model::Severity::new(s).ok()) {
            *by_label.entry(s.label().to_string()).or_default() += n;
        }
    }
    // Suppressed findings are counted apart, as on the dashboard.
    let suppressed = state.engine.suppressed_counts(qrie_engine::Engine::now()).await?.by_severity;
    let n_suppressed = |l: &str| suppressed.get(l).copied().unwrap_or(0);
    for (l, n) in &by_label {
        let _ =
            writeln!(out, "qrie_findings_active{{severity=\"{}\"}} {}", label(l), n.saturating_sub(n_suppressed(l)));
    }
    out += "# HELP qrie_findings_suppressed Active findings a suppression rule covers, by severity label.\n# TYPE qrie_findings_suppressed gauge\n";
    for l in by_label.keys() {
        let _ = writeln!(out, "qrie_findings_suppressed{{severity=\"{}\"}} {}", label(l), n_suppressed(l));
    }
    out += "# HELP qrie_jobs Jobs by status (the newest 1000 of each).\n# TYPE qrie_jobs gauge\n";
    // Abandoned jobs are settled first: a job whose runner died counts as interrupted, not running.
    state.engine.fail_lost_jobs().await?;
    for status in [
        JobStatus::Queued,
        JobStatus::Running,
        JobStatus::Interrupted,
        JobStatus::Succeeded,
        JobStatus::Partial,
        JobStatus::Failed,
    ] {
        let filter = JobFilter { status: Some(status), ..Default::default() };
        let n = store.list_jobs(&filter, &PageRequest::first(qrie_store::MAX_PAGE_SIZE)).await?.items.len();
        let name = serde_json::to_value(status).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default();
        let _ = writeln!(out, "qrie_jobs{{status=\"{}\"}} {n}", label(&name));
    }
    let conns = &state.connections;
    let _ = writeln!(
        out,
        "# HELP qrie_http_connections_open Client connections open now.\n# TYPE qrie_http_connections_open gauge\nqrie_http_connections_open {}\n\
# HELP qrie_http_connections_accepted_total Client connections accepted.\n# TYPE qrie_http_connections_accepted_total counter\nqrie_http_connections_accepted_total {}",
        conns.open.load(std::sync::atomic::Ordering::Relaxed),
        conns.accepted.load(std::sync::atomic::Ordering::Relaxed)
    );
    let _ = writeln!(
        out,
        "# HELP qrie_uptime_seconds Seconds since the server started.\n# TYPE qrie_uptime_seconds gauge\nqrie_uptime_seconds {}",
        state.started.elapsed().as_secs()
    );
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response())
}
