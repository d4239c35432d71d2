//! `/`: the dashboard, from the same cached summary as `/api/summary/dashboard`.

use axum::extract::State;
use axum::response::Html;
use axum::routing::get;
use axum::Router;
use maud::{html, Markup};
use qrie_engine::summary::Dashboard;
use qrie_model::{finding_drift_totals, SeverityLabel};

use super::charts::{self, Bar};
use super::layout::{page, Nav};
use super::widgets::{href, policy_href, time_ms};
use super::{UiResult, Viewer};
use crate::AppState;

pub fn routes(r: Router<AppState>) -> Router<AppState> {
    r.route("/", get(show))
}

/// How far back the trend chart looks, and how many points it draws at most.
const TREND_DAYS: i64 = 30;
const TREND_POINTS: usize = 200;

async fn show(State(state): State<AppState>, viewer: Viewer) -> UiResult<Html<String>> {
    let read = state.dashboard.get(&state.engine).await?;
    let d = &read.value;
    let since = (chrono::Utc::now() - chrono::Duration::days(TREND_DAYS)).timestamp_millis();
    let trend = state.engine.findings_trend(since, TREND_POINTS).await?;
    let points: Vec<(i64, u64)> = trend.iter().map(|p| (p.timestamp_ms, p.active)).collect();
    let d = &d.value;
    let body = html! {
        h1 { "Dashboard" }
        (cards(d))
        div.grid2 {
            section.panel aria-labelledby="h-sev" {
                h2 #h-sev { "Active findings by severity" }
                (charts::bars("Active findings by severity", &severity_bars(d)))
            }
            section.panel aria-labelledby="h-state" {
                h2 #h-state { "Findings by state" }
                (charts::donut("Findings by state", &[
                    ("Active".into(), d.findings.active, "active".into()),
                    ("Suppressed".into(), d.findings.suppressed, "suppressed".into()),
                    ("Resolved".into(), d.findings.resolved, "resolved".into()),
                ]))
            }
            section.panel aria-labelledby="h-svc" {
                h2 #h-svc { "Active findings by service" }
                (charts::bars("Active findings by service", &count_bars(&d.findings.by_service, "service")))
            }
            section.panel aria-labelledby="h-acct" {
                h2 #h-acct { "Active findings by account" }
                (charts::bars("Active findings by account", &count_bars(&d.findings.by_account, "account")))
            }
            section.panel aria-labelledby="h-trend" {
                h2 #h-trend { "Active findings over time" }
                (charts::line("Active findings over time", &points))
            }
            section.panel aria-labelledby="h-top" {
                h2 #h-top { "Top failing policies" }
                (top_policies(d))
            }
            section.panel aria-labelledby="h-drift" {
                h2 #h-drift { "Drift" }
                (drift(d))
            }
            section.panel aria-labelledby="h-err" {
                h2 #h-err { "Policies erroring" }
                (erroring(d))
            }
            section.panel aria-labelledby="h-base" {
                h2 #h-base { "Accounts not yet baselined" }
                @if d.unbaselined_accounts.is_empty() {
                    p { "Every active account has completed its first inventory sweep." }
                } @else {
                    p.muted { "Their first complete inventory sweep has not finished; until it does, their changes are not counted as drift." }
                    ul { @for a in &d.unbaselined_accounts { li { a href=(href("/inventory", &[("account", a)])) { (a) } } } }
                }
            }
        }
        p.muted { "Computed " @if let Some(t) = &d.computed_at { (super::widgets::time(t)) } "; cached for up to an hour, recomputed after sweeps and policy or account changes." }
    };
    page(&state, &viewer, Nav::Dashboard, "Dashboard", body).await
}

fn cards(d: &Dashboard) -> Markup {
    html! {
        div.cards {
            a.card href="/inventory" { span.big { (d.resources) } "resources" }
            a.card href="/accounts" { span.big { (d.accounts) } "accounts" }
            a.card href="/findings" { span.big { (d.findings.active) } "active findings" }
            a.card href="/findings?suppressed=yes" { span.big { (d.findings.suppressed) } "suppressed findings" }
            a.card href="/findings?state=resolved" { span.big { (d.findings.resolved) } "resolved findings" }
        }
    }
}

fn severity_bars(d: &Dashboard) -> Vec<Bar> {
    SeverityLabel::ALL
        .iter()
        .map(|l| Bar {
            label: l.to_string(),
            value: d.findings.by_severity.get(l.as_str()).copied().unwrap_or(0),
            href: Some(href("/findings", &[("severity_min", &l.min_score().to_string())])),
            class: format!("sev-{}", l.as_str()),
        })
        .collect()
}

fn count_bars(counts: &std::collections::BTreeMap<String, u64>, param: &str) -> Vec<Bar> {
    let mut rows: Vec<(&String, &u64)> = counts.iter().collect();
    rows.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    rows.into_iter()
        .map(|(k, v)| Bar {
            label: k.clone(),
            value: *v,
            href: Some(href("/findings", &[(param, k)])),
            class: String::new(),
        })
        .collect()
}

/// Policies whose evaluations errored in the latest sweeps: their findings
/// are frozen until the cause (data, parameters) is fixed.
fn erroring(d: &Dashboard) -> Markup {
    html! {
        @if d.erroring_policies.is_empty() {
            p { "No evaluation errors in the latest sweeps." }
        } @else {
            p.muted { "Their verdicts on these resources are not being decided; the job lists every cause." }
            (super::widgets::table("Policies erroring", &["Policy", "Errors", "Example", "Job"], d.erroring_policies.iter().map(|e| html! {
                tr {
                    td { a href=(super::widgets::policy_href(&e.policy_id)) { (e.policy_id) } }
                    td.num { (e.errors) }
                    td {
                        @if let Some(arn) = &e.arn { a href=(super::widgets::resource_href(arn)) { (arn) } ": " }
                        (e.reason)
                    }
                    td { a href={ "/jobs/" (super::widgets::path_segment(&e.job_id)) } { (e.job_id) } }
                }
            }).collect()))
        }
    }
}

fn top_policies(d: &Dashboard) -> Markup {
    if d.findings.top_policies.is_empty() {
        return html! { p { "No active findings." } };
    }
    html! {
        ol.top {
            @for (id, n) in &d.findings.top_policies {
                li {
                    a href=(href("/findings", &[("policy", id)])) { (id) }
                    " — " strong { (n) } " active"
                    @if let Some(def) = qrie_policies::get(id) { br; span.muted { (def.title) } }
                    " " a.muted href=(policy_href(id)) aria-label=(format!("policy {id}")) { "(policy)" }
                }
            }
        }
    }
}

fn drift(d: &Dashboard) -> Markup {
    html! {
        h3 { "Last anti-entropy inventory sweep" }
        @match &d.last_inventory_scan {
            Some(s) => {
                @let (c, del, u) = s.totals();
                @let (o, r) = finding_drift_totals(&s.findings);
                p { (time_ms(s.timestamp_ms)) " · " a href=(format!("/jobs/{}", super::widgets::path_segment(&s.job_id))) { "job" } }
                ul {
                    li { "Missed creates " strong { (c) } ", deletes " strong { (del) } ", updates " strong { (u) } }
                    li { "Findings its re-evaluation opened " strong { (o) } ", resolved " strong { (r) } }
                    @if s.incomplete_units > 0 { li.warning { (s.incomplete_units) " account/service/region units did not list completely" } }
                }
            }
            None => p.muted { "None yet. Bootstrap sweeps record no drift; run an anti-entropy sweep to measure it." }
        }
        h3 { "Last anti-entropy policy sweep" }
        @match &d.last_policy_scan {
            Some(s) => {
                @let (o, r) = finding_drift_totals(&s.rows);
                p { (time_ms(s.timestamp_ms)) " · missed opens " strong { (o) } ", missed resolves " strong { (r) } }
            }
            None => p.muted { "None yet." }
        }
    }
}
