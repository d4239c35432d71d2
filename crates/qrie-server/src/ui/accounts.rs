//! `/accounts`: list with the baseline flag, add, remove (soft) behind a
//! confirmation, scan now, and discover the AWS organization's accounts.

use axum::extract::{Path, State};
use axum::response::{Html, Response};
use axum::routing::{get, post};
use axum::Router;
use maud::{html, Markup};
use qrie_engine::accounts::{AccountView, Discovery, NewAccount};
use qrie_model::{Account, AccountSource, ScanType};
use serde::Deserialize;

use super::layout::{page, Nav};
use super::widgets::{
    csrf_field, findings_count, href, opt_time, path_segment, post_button, split_list, table, text_input,
};
use super::{after_start, see_other, CsrfForm, NoFields, UiResult, Viewer};
use crate::accounts::start_scan;
use crate::auth::Role;
use crate::AppState;

pub fn routes(r: Router<AppState>) -> Router<AppState> {
    r.route("/accounts", get(list).post(add))
        .route("/accounts/discover", post(discover))
        .route("/accounts/{id}/scan", post(scan))
        .route("/accounts/{id}/remove", get(remove_confirm).post(remove))
}

fn account_href(id: &str) -> String {
    format!("/accounts/{}", path_segment(id))
}

fn row(viewer: &Viewer, a: &AccountView) -> Markup {
    let id = &a.account.account_id;
    html! {
        tr {
            td { code { (id) } }
            td { (a.account.name) }
            td { (format!("{:?}", a.account.source).to_lowercase()) }
            td.muted { (a.account.regions_label()) }
            td {
                @if a.baselined { "Baselined " span.muted { (opt_time(a.account.baselined_at.as_ref())) } }
                @else { span.badge.sev-medium { "Not baselined" } }
            }
            td.num { a href=(href("/inventory", &[("account", id)])) { (a.resources) } }
            td.num { (findings_count(a.active_findings, a.suppressed_findings, ("account", id))) }
            td {
                div.actions {
                    @if viewer.may(Role::Operator) {
                        (post_button(viewer, &format!("{}/scan", account_href(id)), "Scan now", "secondary"))
                    }
                    @if viewer.may(Role::Admin) {
                        a.button.danger href=(format!("{}/remove", account_href(id))) { "Remove" }
                    }
                }
            }
        }
    }
}

fn add_form(viewer: &Viewer) -> Markup {
    html! {
        h2 #add { "Add an account" }
        form.stack method="post" action="/accounts" {
            (csrf_field(viewer))
            fieldset {
                legend { "Account" }
                (text_input("account_id", "Account id", "", Some("12 digits.")))
                (text_input("name", "Name", "", Some("Optional; defaults to the id.")))
            }
            fieldset {
                legend { "Access" }
                (text_input("role_arn", "Role ARN", "", Some("The role qrie assumes in the account, e.g. arn:aws:iam::123456789012:role/qrie-reader.")))
                (text_input("external_id", "External id", "", Some("Optional; the role's trust policy condition.")))
                (text_input("regions", "Regions", "", Some("Comma-separated to restrict; empty sweeps every region enabled for the account.")))
            }
            p.muted { "The account is flagged not baselined until its first complete inventory sweep; scan it after adding it." }
            div { button type="submit" { "Add account" } }
        }
    }
}

async fn list(State(state): State<AppState>, viewer: Viewer) -> UiResult<Html<String>> {
    let accounts = state.engine.list_accounts(false).await?;
    let body = html! {
        h1 { "Accounts" }
        @if viewer.may(Role::Admin) {
            div.actions {
                (post_button(&viewer, "/accounts/discover", "Discover accounts from AWS Organizations", "secondary"))
            }
        }
        (table("Monitored accounts", &["Id", "Name", "Source", "Regions", "Baseline", "Resources", "Active findings", "Actions"],
            accounts.iter().map(|a| row(&viewer, a)).collect()))
        @if viewer.may(Role::Admin) { (add_form(&viewer)) }
    };
    page(&state, &viewer, Nav::Accounts, "Accounts", body).await
}

#[derive(Deserialize)]
pub struct AddForm {
    #[serde(default)]
    account_id: String,
    name: Option<String>,
    role_arn: Option<String>,
    external_id: Option<String>,
    regions: Option<String>,
}

async fn add(State(state): State<AppState>, CsrfForm(viewer, f): CsrfForm<AddForm>) -> UiResult<Response> {
    viewer.require(Role::Admin)?;
    state
        .engine
        .add_account(NewAccount {
            account_id: f.account_id.trim().to_string(),
            name: f.name.map(|n| n.trim().to_string()),
            role_arn: f.role_arn.map(|n| n.trim().to_string()),
            external_id: f.external_id.map(|n| n.trim().to_string()),
            regions: split_list(f.regions.as_deref()),
            org_path: Vec::new(),
            source: AccountSource::Manual,
        })
        .await?;
    Ok(see_other("/accounts"))
}

async fn scan(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(viewer, _): CsrfForm<NoFields>,
) -> UiResult<Response> {
    viewer.require(Role::Operator)?;
    Ok(after_start(start_scan(&state, &id, ScanType::AntiEntropy).await?, "/jobs"))
}

async fn remove_confirm(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> UiResult<Html<String>> {
    viewer.require(Role::Admin)?;
    let a = state.engine.account(&id).await?;
    let body = html! {
        h1 { "Remove account " (a.account_id) "?" }
        div.warning role="note" {
            p { strong { "Removing " (a.name) " (" (a.account_id) ") stops its sweeps and leaves it out of default views." } }
            p { "Its inventory and findings are kept (a soft delete): adding the account again brings them back. "
                "Erasing them for good is the API's hard delete." }
        }
        div.actions {
            (post_button(&viewer, &format!("{}/remove", account_href(&id)), "Remove the account", "danger"))
            a.button.secondary href="/accounts" { "Cancel" }
        }
    };
    page(&state, &viewer, Nav::Accounts, "Remove an account", body).await
}

async fn remove(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(viewer, _): CsrfForm<NoFields>,
) -> UiResult<Response> {
    viewer.require(Role::Admin)?;
    state.engine.remove_account(&id).await?;
    Ok(see_other("/accounts"))
}

async fn discover(State(state): State<AppState>, CsrfForm(viewer, _): CsrfForm<NoFields>) -> UiResult<Html<String>> {
    viewer.require(Role::Admin)?;
    let body = match state.engine.discover_accounts().await? {
        Some(found) => discovered(&found),
        None => html! {
            h1 { "No AWS organization" }
            p { "There is no organization to discover accounts from: this server's AWS credentials are not in an "
                "AWS organization, or it reads no AWS account yet (only simulated ones). Nothing was changed." }
            p { "Add accounts one by one with the form on " a href="/accounts#add" { "the accounts page" } ", or run "
                code { "qrie accounts discover" } " with the organization's credentials." }
        },
    };
    page(&state, &viewer, Nav::Accounts, "Discover accounts", body).await
}

/// What a discovery changed, and what it left alone and why.
fn discovered(d: &Discovery) -> Markup {
    let path = |id: &str| d.paths.get(id).cloned().unwrap_or_default();
    let accounts = |caption: &str, list: &[Account]| {
        table(
            caption,
            &["Id", "Name", "Organizational unit"],
            list.iter()
                .map(|a| {
                    html! {
                        tr { td { code { (a.account_id) } } td { (a.name) } td { (path(&a.account_id)) } }
                    }
                })
                .collect(),
        )
    };
    html! {
        h1 { "Discovered accounts" }
        p { strong { (d.added.len()) " added" } ", " (d.updated.len()) " updated, " (d.unchanged) " unchanged, "
            (d.skipped_removed.len() + d.skipped_inactive.len()) " skipped." }
        @if !d.added.is_empty() {
            h2 { "Added" }
            p.muted { "New accounts are not baselined: scan them (or wait for the weekly sweep) to set their baseline." }
            (accounts("Added accounts", &d.added))
        }
        @if !d.updated.is_empty() {
            h2 { "Updated" }
            p.muted { "Known accounts whose organizational unit (or, for discovered ones, name) changed." }
            (accounts("Updated accounts", &d.updated))
        }
        @if !d.skipped_removed.is_empty() {
            h2 { "Skipped: removed" }
            p.muted { "Removed by an operator; discovery does not bring them back. Add one again to monitor it." }
            ul { @for id in &d.skipped_removed { li { code { (id) } } } }
        }
        @if !d.skipped_inactive.is_empty() {
            h2 { "Skipped: not active in the organization" }
            ul { @for id in &d.skipped_inactive { li { code { (id) } } } }
        }
        p { a href="/accounts" { "Back to accounts" } }
    }
}
