//! `/findings` (filters, sort, cursor pagination), `/findings.csv` (the same
//! filters, every page) and `/findings/detail` (evidence, remediation,
//! history). The filter is the API's ([`crate::findings::filter_of`]).

use axum::extract::State;
use axum::response::{Html, Response};
use axum::routing::get;
use axum::Router;
use maud::{html, Markup};
use qrie_model::{Service, SeverityLabel};
use serde::Deserialize;
use serde_json::Value;

use super::layout::{page, Nav};
use super::widgets::{
    choice, facts, finding_href, href, json_block, opt_time, pager, policy_href, resource_href, select, severity,
    state_badge, table, time,
};
use super::{PageQuery, UiError, UiResult, Viewer};
use crate::extract::page_request;
use crate::findings::{filter_of, suppressed_of, ListQuery};
use crate::AppState;
use qrie_engine::suppressions::FindingView;

pub fn routes(r: Router<AppState>) -> Router<AppState> {
    r.route("/findings", get(list))
        .route("/findings.csv", get(csv))
        .route("/findings/detail", get(detail))
        .route("/findings/history", get(history))
}

const PAGE_SIZE: usize = 50;

/// The filters of a query as link parameters (no cursor, no limit).
fn params(q: &ListQuery) -> Vec<(&'static str, String)> {
    let o = |v: &Option<String>| v.clone().unwrap_or_default();
    vec![
        ("state", o(&q.state)),
        ("account", o(&q.account)),
        ("service", o(&q.service)),
        ("policy", o(&q.policy)),
        ("region", o(&q.region)),
        ("type", o(&q.resource_type)),
        ("severity_min", q.severity_min.map(|s| s.to_string()).unwrap_or_default()),
        ("suppressed", o(&q.suppressed)),
        ("sort", o(&q.sort)),
    ]
}

fn borrowed<'a>(p: &'a [(&'static str, String)]) -> Vec<(&'a str, &'a str)> {
    p.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

async fn filter_form(state: &AppState, q: &ListQuery) -> UiResult<Markup> {
    // The accounts' ids and names only: Engine::list_accounts also counts each
    // account's resources and findings, two scans the form does not show.
    let accounts: Vec<(String, String)> = state
        .engine
        .store
        .list_accounts()
        .await?
        .into_iter()
        .filter(|a| a.is_active())
        .map(|a| (a.account_id.clone(), format!("{} ({})", a.account_id, a.name)))
        .collect();
    let services: Vec<(String, String)> =
        Service::ALL.iter().map(|s| (s.as_str().to_string(), s.as_str().to_string())).collect();
    let mut policies: Vec<(String, String)> =
        state.engine.store.list_policies().await?.into_iter().map(|p| (p.policy_id.clone(), p.policy_id)).collect();
    policies.sort();
    let severities: Vec<(String, String)> =
        SeverityLabel::ALL.iter().map(|l| (l.min_score().to_string(), format!("{l} or worse"))).collect();
    let sev = q.severity_min.map(|s| s.to_string());
    Ok(html! {
        form.filters method="get" action="/findings" aria-label="Filter findings" {
            (select("account", "Account", &accounts, q.account.as_deref()))
            (select("service", "Service", &services, q.service.as_deref()))
            (select("policy", "Policy", &policies, q.policy.as_deref()))
            (select("severity_min", "Severity", &severities, sev.as_deref()))
            (choice("state", "State", &[("active", "Active"), ("resolved", "Resolved"), ("all", "All")], q.state.as_deref().unwrap_or("active")))
            (choice("suppressed", "Suppressed", &[("no", "No"), ("yes", "Yes"), ("all", "All")], q.suppressed.as_deref().unwrap_or("no")))
            (choice("sort", "Sort by", &[("severity", "Most severe"), ("recent", "Most recently evaluated"), ("arn", "Resource ARN")], q.sort.as_deref().unwrap_or("severity")))
            @if let Some(r) = &q.region { input type="hidden" name="region" value=(r); }
            @if let Some(t) = &q.resource_type { input type="hidden" name="type" value=(t); }
            div { button type="submit" { "Apply" } " " a href="/findings" { "Clear" } }
        }
    })
}

/// The state, with what is derived beside it: the suppression (linked to
/// its rule) and a paused policy.
fn state_cell(v: &FindingView) -> Markup {
    let f = &v.finding;
    html! {
        (state_badge(f.is_active(), f.state.as_str()))
        @if let Some(r) = f.resolved_reason { " " span.muted { (r.as_str()) } }
        @if let Some(s) = &v.suppression {
            " " a.badge.suppressed href=(super::suppressions::rule_href(&s.rule_id)) title=(s.category.label()) { "suppressed" }
        }
        @if v.policy_paused { " " span.badge.paused { "paused" } }
    }
}

fn row(v: &FindingView) -> Markup {
    let f = &v.finding;
    html! {
        tr {
            td { (severity(f.severity)) }
            td { a href=(finding_href(&f.arn, &f.policy)) { (f.policy) } }
            td.break { a href=(resource_href(&f.arn)) { (f.arn) } }
            td { (f.account_id) }
            td { (f.region) }
            td { (state_cell(v)) }
            td { (time(&f.last_evaluated)) }
        }
    }
}

/// The new-rule form for what a findings filter shows (policy, account,
/// region): "Suppress…" on a filtered list.
fn suppress_href(q: &ListQuery) -> String {
    let o = |v: &Option<String>| v.clone().unwrap_or_default();
    let p = [("policies", o(&q.policy)), ("accounts", o(&q.account)), ("regions", o(&q.region))];
    let kept: Vec<(&str, &str)> = p.iter().filter(|(_, v)| !v.is_empty()).map(|(k, v)| (*k, v.as_str())).collect();
    href("/suppressions/new", &kept)
}

async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    PageQuery(q): PageQuery<ListQuery>,
) -> UiResult<Html<String>> {
    let store = &*state.engine.store;
    let (filter, sort) = filter_of(store, &q).await?;
    let which = suppressed_of(&q)?;
    let limit = q.limit.unwrap_or(PAGE_SIZE);
    let page_req = page_request(&state, Some(limit), q.next_token.clone()).await?;
    let found = state.engine.list_finding_views(&filter, sort, &page_req, which, qrie_engine::Engine::now()).await?;
    let filtered = q.policy.is_some() || q.account.is_some() || q.region.is_some();
    let next = crate::extract::next_token(&state, found.next_token.clone()).await?;
    let p = params(&q);
    let p = borrowed(&p);
    let body = html! {
        h1 { "Findings" }
        (filter_form(&state, &q).await?)
        div.actions {
            // No total count: counting every match would cost a scan of
            // the findings on each page view.
            p { (found.items.len()) " on this page." }
            a.button.secondary href=(href("/findings.csv", &p)) download { "Export CSV" }
            @if filtered && viewer.may(crate::auth::Role::Operator) {
                a.button.secondary href=(suppress_href(&q)) { "Suppress these…" }
            }
        }
        (table("Findings", &["Severity", "Policy", "Resource", "Account", "Region", "State", "Last evaluated"],
            found.items.iter().map(row).collect()))
        (pager("/findings", &p, q.next_token.as_deref(), next.as_deref()))
    };
    page(&state, &viewer, Nav::Findings, "Findings", body).await
}

/// The list's findings as CSV, streamed: every one the filters select.
async fn csv(State(state): State<AppState>, _viewer: Viewer, PageQuery(q): PageQuery<ListQuery>) -> UiResult<Response> {
    let q = ListQuery { limit: None, next_token: None, ..q };
    Ok(crate::findings::export_response(&state, &q, qrie_export::ExportFormat::Csv).await?)
}

#[derive(Deserialize)]
pub struct DetailQuery {
    arn: String,
    policy: String,
}

/// Transitions shown per page of a finding's history.
const HISTORY_PAGE: usize = 100;

#[derive(Deserialize)]
pub struct HistoryQuery {
    arn: String,
    policy: String,
    since: Option<i64>,
}

/// A page of the transitions, with a link to the next one.
fn history_section(arn: &str, policy: &str, log: &qrie_engine::history::HistoryPage) -> Markup {
    html! {
        p.muted { (log.total) " state change(s) in all." }
        (table("State changes, oldest first", &["When", "Change", "Reason", "Detected by", "Job or event"],
            log.transitions.iter().map(|t| html! {
                tr {
                    td { (time(&t.at)) }
                    td { (format!("{:?}", t.kind).to_lowercase()) }
                    td { @if let Some(r) = t.reason { (r.as_str()) } }
                    td { (t.trigger.detected_by.as_str()) }
                    td {
                        @if let Some(j) = &t.trigger.job_id { a href=(format!("/jobs/{}", super::widgets::path_segment(j))) { "job" } }
                        @if let Some(e) = &t.trigger.event_id { " event " code { (e) } }
                    }
                }
            }).collect()))
        @if let Some(next) = log.next_since_ms {
            p { a href=(href("/findings/history", &[("arn", arn), ("policy", policy), ("since", &next.to_string())])) { "Later changes" } }
        }
    }
}

/// Every transition of one finding, a page at a time.
async fn history(
    State(state): State<AppState>,
    viewer: Viewer,
    PageQuery(q): PageQuery<HistoryQuery>,
) -> UiResult<Html<String>> {
    let log = state.engine.finding_history(&q.arn, &q.policy, q.since.unwrap_or(0), HISTORY_PAGE).await?;
    let Some(log) = log else {
        return Err(UiError::not_found(format!("No finding for resource {} and policy {}.", q.arn, q.policy)));
    };
    let body = html! {
        p.muted {
            a href="/findings" { "Findings" } " / "
            a href=(href("/findings/detail", &[("arn", &q.arn), ("policy", &q.policy)])) { (q.policy) }
        }
        h1 { "History" }
        p.break { (q.arn) }
        (history_section(&q.arn, &q.policy, &log))
    };
    page(&state, &viewer, Nav::Findings, "History", body).await
}

/// Evidence keys that name what decided a verdict: highlighted.
const DECISIVE: [&str; 7] = ["Path", "Statement", "Statements", "Rule", "Grant", "Value", "Off"];

/// Evidence as nested lists, the deciding keys marked.
fn evidence_tree(v: &Value) -> Markup {
    match v {
        Value::Object(m) => html! {
            dl {
                @for (k, v) in m {
                    dt { (k) }
                    dd {
                        @if DECISIVE.contains(&k.as_str()) { mark { (evidence_tree(v)) } } @else { (evidence_tree(v)) }
                    }
                }
            }
        },
        Value::Array(items) => html! { ol { @for i in items { li { (evidence_tree(i)) } } } },
        Value::String(s) => html! { code { (s) } },
        other => html! { code { (other.to_string()) } },
    }
}

/// Every `Path` the evidence names, anywhere in it.
fn evidence_paths(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                match (k.as_str(), v) {
                    ("Path", Value::String(p)) => out.push(p.clone()),
                    _ => evidence_paths(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| evidence_paths(i, out)),
        _ => {}
    }
}

/// Follows `A.B[0].C` through a configuration.
pub fn at_path<'a>(config: &'a Value, path: &str) -> Option<&'a Value> {
    let mut cur = config;
    for part in path.split('.') {
        let (name, rest) = part.split_once('[').map_or((part, ""), |(n, r)| (n, r));
        if !name.is_empty() {
            cur = cur.get(name)?;
        }
        for idx in rest.split('[').filter(|s| !s.is_empty()) {
            cur = cur.get(idx.trim_end_matches(']').parse::<usize>().ok()?)?;
        }
    }
    Some(cur)
}

async fn detail(
    State(state): State<AppState>,
    viewer: Viewer,
    PageQuery(q): PageQuery<DetailQuery>,
) -> UiResult<Html<String>> {
    let Some(detail) = state.engine.finding_detail(&q.arn, &q.policy, qrie_engine::Engine::now()).await? else {
        return Err(UiError::not_found(format!("No finding for resource {} and policy {}.", q.arn, q.policy)));
    };
    let (view, launched) = (detail.view, detail.launched);
    let (f, suppression, paused) = (&view.finding, &view.suppression, view.policy_paused);
    let def = qrie_policies::get(&f.policy);
    let resource = state.engine.store.get_resource(&f.arn).await?;
    let suppress_one =
        href("/suppressions/new", &[("finding_arn", f.arn.as_str()), ("finding_policy", f.policy.as_str())]);
    let log = state
        .engine
        .finding_history(&f.arn, &f.policy, 0, HISTORY_PAGE)
        .await?
        .ok_or_else(|| UiError::not_found(format!("No finding for resource {} and policy {}.", q.arn, q.policy)))?;
    let mut paths = Vec::new();
    evidence_paths(&f.evidence, &mut paths);
    let title = def.map_or(f.policy.as_str(), |d| d.title);
    let body = html! {
        p.muted { a href="/findings" { "Findings" } " / " (f.policy) }
        h1 { (title) }
        (facts(vec![
            ("Severity", severity(f.severity)),
            ("State", state_cell(&view)),
            ("Suppression", html! {
                @match &suppression {
                    Some(s) => {
                        a href=(super::suppressions::rule_href(&s.rule_id)) { (s.rule_id) } " (" (s.category.label()) ") since " (time(&s.since))
                        @if let Some(u) = s.until { " until " (time(&u)) }
                    }
                    None => "none",
                }
            }),
            ("Policy", html! { a href=(policy_href(&f.policy)) { (f.policy) } @if paused { " (paused: not evaluated until resumed)" } }),
            ("Resource", html! { a.break href=(resource_href(&f.arn)) { @if let Some(r) = &resource { (r.name) } @else { (f.arn) } } }),
            ("ARN", html! { span.break { (f.arn) } }),
            ("Account", html! { (f.account_id) }),
            ("Region", html! { (f.region) }),
            ("First seen", time(&f.first_seen)),
            ("Last evaluated", time(&f.last_evaluated)),
            ("Resolved", opt_time(f.resolved_at.as_ref())),
            ("Detected by", html! { (f.detected_by.as_str()) }),
        ]))
        @if let Some(d) = def { p { (d.description) } }
        @if suppression.is_none() && viewer.may(crate::auth::Role::Operator) {
            div.actions { a.button.secondary href=(suppress_one) { "Suppress…" } }
        }
        section.evidence aria-labelledby="h-evidence" {
            h2 #h-evidence { "Evidence" }
            @if !paths.is_empty() {
                h3 { "Deciding setting" }
                ul {
                    @for p in &paths {
                        li {
                            mark { code { (p) } }
                            @match resource.as_ref().and_then(|r| at_path(&r.configuration, p)) {
                                Some(v) => { " in the configuration:" (json_block("deciding value", v)) }
                                None => {}
                            }
                        }
                    }
                }
            }
            (evidence_tree(&f.evidence))
            details { summary { "Evidence as JSON" } (json_block("evidence", &f.evidence)) }
        }
        @if let Some(d) = def {
            section aria-labelledby="h-fix" {
                h2 #h-fix { "Remediation" }
                @if let Some(custom) = launched.as_ref().and_then(|l| l.remediation.as_ref()) {
                    div.notice { strong { "Your organisation's guidance: " } (custom) }
                }
                h3 { "Steps" }
                ol { @for s in d.remediation.steps { li { (s) } } }
                @if !d.remediation.cli.is_empty() { h3 { "AWS CLI" } pre.code { code { (d.remediation.cli) } } }
                @if !d.remediation.console.is_empty() { h3 { "Console" } p { (d.remediation.console) } }
                @if !d.remediation.iac.is_empty() { h3 { "Infrastructure as code" } pre.code { code { (d.remediation.iac) } } }
                @if !d.compliance.is_empty() {
                    h3 { "Compliance" }
                    ul { @for c in d.compliance { li { (c.framework) ": " (c.controls.join(", ")) } } }
                }
            }
        }
        section aria-labelledby="h-history" {
            h2 #h-history { "History" }
            (history_section(&f.arn, &f.policy, &log))
        }
    };
    page(&state, &viewer, Nav::Findings, title, body).await
}
