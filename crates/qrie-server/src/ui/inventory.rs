//! `/inventory` (by account, service and type, with search) and
//! `/inventory/resource` (configuration and findings). The filter is the
//! API's ([`crate::resources::filter_of`]).

use axum::extract::State;
use axum::response::Html;
use axum::routing::get;
use axum::Router;
use maud::{html, Markup};
use qrie_model::{Resource, Service};
use qrie_store::{ResourceFilter, ResourceGroup};
use serde::Deserialize;

use super::layout::{page, Nav};
use super::widgets::{
    facts, finding_href, href, json_block, opt_time, pager, resource_href, select, severity, state_badge, table,
    text_input, time,
};
use super::{PageQuery, UiError, UiResult, Viewer};
use crate::extract::{page_request, removed_accounts};
use crate::resources::{filter_of, ListQuery};
use crate::AppState;

pub fn routes(r: Router<AppState>) -> Router<AppState> {
    r.route("/inventory", get(list)).route("/inventory/resource", get(detail))
}

const PAGE_SIZE: usize = 50;

fn params(q: &ListQuery) -> Vec<(&'static str, String)> {
    let o = |v: &Option<String>| v.clone().unwrap_or_default();
    vec![
        ("account", o(&q.account)),
        ("service", o(&q.service)),
        ("region", o(&q.region)),
        ("type", o(&q.resource_type)),
        ("search", o(&q.search)),
    ]
}

fn row(r: &Resource) -> Markup {
    html! {
        tr {
            td.break { a href=(resource_href(&r.arn)) { (r.name) } }
            td { (r.resource_type) }
            td { (r.account_id) }
            td { (r.region) }
            td { @for (k, v) in &r.tags { span.badge.sev-informational { (k) "=" (v) } " " } }
            td { (time(&r.last_seen_at)) }
        }
    }
}

/// Counts by one grouping, each a link to the inventory filtered by it.
fn group_links(title: &str, param: &str, rows: &[(String, u64)]) -> Markup {
    html! {
        section.panel {
            h2 { (title) }
            ul {
                @for (k, n) in rows {
                    li { a href=(href("/inventory", &[(param, k)])) { (k) } " " span.muted { (n) } }
                }
            }
        }
    }
}

async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    PageQuery(q): PageQuery<ListQuery>,
) -> UiResult<Html<String>> {
    let store = &*state.engine.store;
    let filter = filter_of(store, &q).await?;
    let found =
        store.list_resources(&filter, &page_request(&state, Some(PAGE_SIZE), q.next_token.clone()).await?).await?;
    let next = crate::extract::next_token(&state, found.next_token.clone()).await?;
    let all = ResourceFilter { exclude_accounts: removed_accounts(store).await?, ..Default::default() };
    let by = |g| store.count_resources(&all, Some(g));
    // Three scans of the inventory: at once, each on its own store connection.
    let (by_account, by_service, by_type) =
        tokio::try_join!(by(ResourceGroup::Account), by(ResourceGroup::Service), by(ResourceGroup::ResourceType))?;
    let opts = |rows: &[(String, u64)]| -> Vec<(String, String)> {
        rows.iter().map(|(k, n)| (k.clone(), format!("{k} ({n})"))).collect()
    };
    let services: Vec<(String, String)> =
        Service::ALL.iter().map(|s| (s.as_str().to_string(), s.as_str().to_string())).collect();
    let p = params(&q);
    let p: Vec<(&str, &str)> = p.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let body = html! {
        h1 { "Inventory" }
        div.grid2 {
            (group_links("By account", "account", &by_account))
            (group_links("By service", "service", &by_service))
            (group_links("By type", "type", &by_type))
        }
        h2 { "Resources" }
        form.filters method="get" action="/inventory" aria-label="Filter resources" {
            (select("account", "Account", &opts(&by_account), q.account.as_deref()))
            (select("service", "Service", &services, q.service.as_deref()))
            (select("type", "Type", &opts(&by_type), q.resource_type.as_deref()))
            (text_input("search", "Name or ARN contains", q.search.as_deref().unwrap_or_default(), None))
            @if let Some(r) = &q.region { input type="hidden" name="region" value=(r); }
            div { button type="submit" { "Search" } " " a href="/inventory" { "Clear" } }
        }
        (table("Resources", &["Name", "Type", "Account", "Region", "Tags", "Last seen"], found.items.iter().map(row).collect()))
        (pager("/inventory", &p, q.next_token.as_deref(), next.as_deref()))
    };
    page(&state, &viewer, Nav::Inventory, "Inventory", body).await
}

#[derive(Deserialize)]
pub struct ArnQuery {
    arn: String,
}

async fn detail(
    State(state): State<AppState>,
    viewer: Viewer,
    PageQuery(q): PageQuery<ArnQuery>,
) -> UiResult<Html<String>> {
    let store = &*state.engine.store;
    let Some(r) = store.get_resource(&q.arn).await? else {
        return Err(UiError::not_found(format!("No resource {} in the inventory.", q.arn)));
    };
    let findings = store.findings_for_resource(&r.arn).await?;
    let title = r.name.clone();
    let body = html! {
        p.muted { a href="/inventory" { "Inventory" } " / " (r.resource_type) }
        h1.break { (r.name) }
        (facts(vec![
            ("ARN", html! { span.break { (r.arn) } }),
            ("Type", html! { (r.resource_type) }),
            ("Account", html! { a href=(href("/inventory", &[("account", &r.account_id)])) { (r.account_id) } }),
            ("Region", html! { (r.region) }),
            ("Last seen", time(&r.last_seen_at)),
            ("Deleted", opt_time(r.deleted_at.as_ref())),
        ]))
        h2 { "Tags" }
        (table("Tags", &["Key", "Value"], r.tags.iter().map(|(k, v)| html! { tr { td { (k) } td { (v) } } }).collect()))
        h2 { "Findings" }
        (table("Findings of this resource", &["Severity", "Policy", "State", "Last evaluated"], findings.iter().map(|f| html! {
            tr {
                td { (severity(f.severity)) }
                td { a href=(finding_href(&f.arn, &f.policy)) { (f.policy) } }
                td { (state_badge(f.is_active(), f.state.as_str())) @if let Some(x) = f.resolved_reason { " " span.muted { (x.as_str()) } } }
                td { (time(&f.last_evaluated)) }
            }
        }).collect()))
        @if !r.collection_errors.is_empty() {
            h2 { "Could not be read" }
            (table("Collection errors", &["Call", "Error"], r.collection_errors.iter().map(|(k, v)| html! { tr { td { (k) } td { (v) } } }).collect()))
        }
        h2 { "Configuration" }
        p.muted { "As collected, keyed by the API call it came from (AWS field names)." }
        (json_block("configuration", &r.configuration))
    };
    page(&state, &viewer, Nav::Inventory, &title, body).await
}
