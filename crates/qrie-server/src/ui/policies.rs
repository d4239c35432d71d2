//! `/policies`: the catalog with launch status; launch with scope and
//! overrides, edit, suspend and delete behind confirmations that say what
//! they cost. Every change goes through the API's starters
//! ([`crate::policies`]) or the same engine calls.

use axum::extract::{Path, State};
use axum::response::{Html, Response};
use axum::routing::{get, post};
use axum::Router;
use maud::{html, Markup};
use qrie_engine::policies::{LaunchOptions, PolicyListing, PolicyUpdate, PolicyView};
use qrie_model::{LaunchedPolicy, PolicyDef, Scope, Severity, TagCondition};
use qrie_store::ResourceFilter;
use serde::Deserialize;
use std::collections::BTreeMap;

use super::layout::{page, Nav};
use super::widgets::{
    csrf_field, facts, findings_count, href, join_list, policy_href, post_button, severity, split_list, table, time,
};
use super::{after_start, see_other, CsrfForm, NoFields, PageQuery, UiError, UiResult, Viewer};
use crate::auth::Role;
use crate::extract::removed_accounts;
use crate::policies::{start_launch, start_reactivate, start_update};
use crate::AppState;

pub fn routes(r: Router<AppState>) -> Router<AppState> {
    r.route("/policies", get(list))
        .route("/policies/{id}", get(show))
        .route("/policies/{id}/launch", get(launch_form).post(launch))
        .route("/policies/{id}/edit", post(edit))
        .route("/policies/{id}/reactivate", post(reactivate))
        .route("/policies/{id}/pause", post(pause))
        .route("/policies/{id}/resume", post(resume))
        .route("/policies/{id}/suspend", get(suspend_confirm).post(suspend))
        .route("/policies/{id}/delete", get(delete_confirm).post(delete))
        .route("/policies/{id}/purge", post(purge))
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    status: Option<String>,
}

const TABS: [(&str, &str); 4] =
    [("all", "All"), ("active", "Active"), ("suspended", "Suspended"), ("available", "Not launched")];

async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    PageQuery(q): PageQuery<ListQuery>,
) -> UiResult<Html<String>> {
    let status = q.status.as_deref().unwrap_or("all");
    let which: PolicyListing = if status == "available" { PolicyListing::Available } else { status.parse()? };
    let mut rows = state.engine.list_policies(which).await?;
    if status == "available" {
        rows.retain(|p| p.status == "available");
    }
    let body = html! {
        h1 { "Policies" }
        nav.tabs aria-label="Policy status" {
            @for (value, label) in TABS {
                a href=(href("/policies", &[("status", value)])) aria-current=[(value == status).then_some("page")] { (label) }
            }
        }
        (table("Policies", &["Policy", "Service", "Severity", "Status", "Active findings", "Actions"],
            rows.iter().map(|p| row(&viewer, p)).collect()))
    };
    page(&state, &viewer, Nav::Policies, "Policies", body).await
}

fn status_text(status: &str) -> &str {
    match status {
        "available" => "not launched",
        "paused" => "paused (not evaluated; findings kept)",
        s => s,
    }
}

fn actions(viewer: &Viewer, p: &PolicyView) -> Markup {
    let id = &p.policy_id;
    let base = policy_href(id);
    html! {
        div.actions {
            @if viewer.may(Role::Operator) {
                @match p.status.as_str() {
                    "active" => (post_button(viewer, &format!("{base}/pause"), "Pause", "secondary")),
                    "paused" => (post_button(viewer, &format!("{base}/resume"), "Resume", "secondary")),
                    _ => {}
                }
            }
            @if viewer.may(Role::Admin) {
                @match p.status.as_str() {
                    "available" => a.button href=(format!("{base}/launch")) { "Launch" span.visually-hidden { " " (id) } },
                    "active" => {
                        a.button.secondary href=(format!("{base}/suspend")) { "Suspend" }
                        a.button.danger href=(format!("{base}/delete")) { "Delete" }
                    },
                    "paused" => {
                        a.button.secondary href=(format!("{base}/suspend")) { "Suspend" }
                        a.button.danger href=(format!("{base}/delete")) { "Delete" }
                    },
                    "suspended" => {
                        (post_button(viewer, &format!("{base}/reactivate"), "Re-activate", "secondary"))
                        a.button.danger href=(format!("{base}/delete")) { "Delete" }
                    },
                    _ => {}
                }
            }
        }
    }
}

fn row(viewer: &Viewer, p: &PolicyView) -> Markup {
    html! {
        tr {
            td {
                a href=(policy_href(&p.policy_id)) { (p.policy_id) }
                @if let Some(d) = p.definition { br; span.muted { (d.title) } }
            }
            td { @if let Some(d) = p.definition { (d.service.as_str()) } }
            td { @if let Some(s) = p.effective_severity { (severity(s)) } }
            td { (status_text(&p.status)) }
            td.num { (findings_count(p.active_findings, p.suppressed_findings, ("policy", &p.policy_id))) }
            td { (actions(viewer, p)) }
        }
    }
}

async fn view_of(state: &AppState, id: &str) -> UiResult<PolicyView> {
    state
        .engine
        .list_policies(PolicyListing::All)
        .await?
        .into_iter()
        .find(|p| p.policy_id == id)
        .ok_or_else(|| UiError::not_found(format!("No policy {id}: the Policies page lists them.")))
}

fn catalog_def(id: &str) -> UiResult<&'static PolicyDef> {
    qrie_policies::get(id).ok_or_else(|| UiError::not_found(format!("{id} is not in this catalog")))
}

fn scope_facts(s: &Scope) -> Markup {
    let show = |v: String| {
        if v.is_empty() {
            html! { span.muted { "—" } }
        } else {
            html! { (v) }
        }
    };
    facts(vec![
        ("Accounts included", show(join_list(&s.include_accounts))),
        ("Accounts excluded", show(join_list(&s.exclude_accounts))),
        ("OUs included", show(join_list(&s.include_ous))),
        ("OUs excluded", show(join_list(&s.exclude_ous))),
        ("Regions included", show(join_list(&s.include_regions))),
        ("Regions excluded", show(join_list(&s.exclude_regions))),
        ("Tags included", show(join_list(&s.include_tags))),
        ("Tags excluded", show(join_list(&s.exclude_tags))),
    ])
}

async fn show(State(state): State<AppState>, viewer: Viewer, Path(id): Path<String>) -> UiResult<Html<String>> {
    let p = view_of(&state, &id).await?;
    let title = p.definition.map_or(id.as_str(), |d| d.title);
    let body = html! {
        p.muted { a href="/policies" { "Policies" } " / " (id) }
        h1 { (title) }
        (facts(vec![
            ("Id", html! { code { (id) } }),
            ("Status", html! { (status_text(&p.status)) }),
            ("Severity", html! { @if let Some(s) = p.effective_severity { (severity(s)) } }),
            ("Active findings", findings_count(p.active_findings, p.suppressed_findings, ("policy", &id))),
            ("Resource type", html! { @if let Some(d) = p.definition { (d.resource_type) } }),
            ("Launched", html! { @if let Some(l) = &p.launched { (time(&l.created_at)) } }),
        ]))
        @if let Some(d) = p.definition { p { (d.description) } }
        (actions(&viewer, &p))
        @if let Some(l) = &p.launched {
            h2 { "Scope" }
            @if l.scope == Scope::default() { p { "Everything: every account, region and tag." } } @else { (scope_facts(&l.scope)) }
            @if let Some(r) = &l.remediation { h2 { "Remediation override" } p { (r) } }
            @if !l.params.is_empty() {
                h2 { "Parameter overrides" }
                (facts(l.params.iter().map(|(k, v)| (k.as_str(), html! { code { (param_text(v)) } })).collect()))
            }
            @if viewer.may(Role::Admin) && l.is_active() {
                h2 { "Edit scope and overrides" }
                p.warning { "A change of scope, severity or parameters re-evaluates the policy over everything now in scope (a background job); findings that leave the scope resolve as OUT_OF_SCOPE." }
                (scope_form(&viewer, &format!("{}/edit", policy_href(&id)), p.definition, Some(l), "Save changes"))
            }
        }
        @if let Some(d) = p.definition {
            h2 { "Remediation" }
            ol { @for s in d.remediation.steps { li { (s) } } }
        }
    };
    page(&state, &viewer, Nav::Policies, title, body).await
}

/// The launch and edit form: scope lists and overrides, pre-filled from a
/// launched policy when editing.
fn scope_form(
    viewer: &Viewer,
    action: &str,
    def: Option<&PolicyDef>,
    current: Option<&LaunchedPolicy>,
    submit: &str,
) -> Markup {
    let params = def.map_or(&[][..], |d| d.params);
    let s = current.map(|l| l.scope.clone()).unwrap_or_default();
    let list_hint = "Comma-separated; empty means all.";
    let tag_hint = "Comma-separated KEY or KEY=VALUE.";
    let field = |name: &str, label: &str, value: String, hint: &str| {
        super::widgets::text_input(name, label, &value, Some(hint))
    };
    html! {
        form.stack method="post" action=(action) {
            (csrf_field(viewer))
            fieldset {
                legend { "Accounts" }
                (field("include_accounts", "Include accounts", join_list(&s.include_accounts), list_hint))
                (field("exclude_accounts", "Exclude accounts", join_list(&s.exclude_accounts), "Comma-separated account ids."))
            }
            fieldset {
                legend { "Organizational units" }
                (field("include_ous", "Include OUs", join_list(&s.include_ous), list_hint))
                (field("exclude_ous", "Exclude OUs", join_list(&s.exclude_ous), "Comma-separated OU or root ids."))
            }
            fieldset {
                legend { "Regions" }
                (field("include_regions", "Include regions", join_list(&s.include_regions), "Comma-separated; empty means all. Global resources (IAM) are always included."))
                (field("exclude_regions", "Exclude regions", join_list(&s.exclude_regions), "Comma-separated region names."))
            }
            fieldset {
                legend { "Tags" }
                (field("include_tags", "Include tags", join_list(&s.include_tags), tag_hint))
                (field("exclude_tags", "Exclude tags", join_list(&s.exclude_tags), tag_hint))
            }
            fieldset {
                legend { "Overrides" }
                div.field {
                    label for="f-severity" { "Severity (0–100)" }
                    input #f-severity type="number" name="severity" min="0" max="100"
                        value=[current.and_then(|l| l.severity).map(|s| s.value())] aria-describedby="f-severity-hint";
                    small #f-severity-hint .hint { "Empty keeps the catalog's severity." }
                }
                div.field {
                    label for="f-remediation" { "Remediation guidance" }
                    textarea #f-remediation name="remediation" aria-describedby="f-remediation-hint" {
                        (current.and_then(|l| l.remediation.clone()).unwrap_or_default())
                    }
                    small #f-remediation-hint .hint { "Shown above the catalog's steps on every finding. Empty for none." }
                }
            }
            @if !params.is_empty() {
                fieldset {
                    legend { "Parameters" }
                    @for d in params {
                        @let name = format!("{PARAM_FIELD}{}", d.name);
                        @let value = current.and_then(|l| l.params.get(d.name)).map(param_text).unwrap_or_default();
                        (super::widgets::text_input(&name, d.name, &value, Some(&format!("{}{} Empty keeps the default, {}.", d.description, d.rule.describe().map(|a| format!(" Allowed: {a}.")).unwrap_or_default(), d.default_text()))))
                    }
                }
            }
            div { button type="submit" { (submit) } }
        }
    }
}

#[derive(Deserialize, Default)]
pub struct ScopeForm {
    include_accounts: Option<String>,
    exclude_accounts: Option<String>,
    include_ous: Option<String>,
    exclude_ous: Option<String>,
    include_regions: Option<String>,
    exclude_regions: Option<String>,
    include_tags: Option<String>,
    exclude_tags: Option<String>,
    severity: Option<String>,
    remediation: Option<String>,
    /// Everything else: the `param.NAME` fields (and the CSRF token).
    #[serde(flatten)]
    other: BTreeMap<String, String>,
}

/// The prefix of a parameter's form field: `param.max_age_days`.
const PARAM_FIELD: &str = "param.";

/// A stored parameter value as its form field shows it.
fn param_text(v: &serde_json::Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_string)
}

impl ScopeForm {
    fn scope(&self) -> UiResult<Scope> {
        let tags = |s: &Option<String>| -> UiResult<Vec<TagCondition>> {
            split_list(s.as_deref()).iter().map(|t| t.parse().map_err(UiError::from)).collect()
        };
        Ok(Scope {
            include_accounts: split_list(self.include_accounts.as_deref()),
            exclude_accounts: split_list(self.exclude_accounts.as_deref()),
            include_ous: split_list(self.include_ous.as_deref()),
            exclude_ous: split_list(self.exclude_ous.as_deref()),
            include_regions: split_list(self.include_regions.as_deref()),
            exclude_regions: split_list(self.exclude_regions.as_deref()),
            include_tags: tags(&self.include_tags)?,
            exclude_tags: tags(&self.exclude_tags)?,
        })
    }

    fn severity(&self) -> UiResult<Option<Severity>> {
        let Some(s) = self.severity.as_deref().map(str::trim) else { return Ok(None) };
        let n: i64 = s
            .parse()
            .map_err(|_| UiError::bad_request(format!("severity {s:?} is not a whole number from 0 to 100")))?;
        Ok(Some(Severity::new(n)?))
    }

    /// The parameter overrides filled in, each read as its parameter's type;
    /// a field the policy does not have is refused (the engine says which it has).
    fn params(&self, def: &PolicyDef) -> UiResult<BTreeMap<String, serde_json::Value>> {
        let mut out = BTreeMap::new();
        for (field, raw) in &self.other {
            let Some(name) = field.strip_prefix(PARAM_FIELD) else { continue };
            let value = match def.params.iter().find(|d| d.name == name) {
                Some(d) => d.parse(raw)?,
                None => serde_json::Value::from(raw.as_str()),
            };
            out.insert(name.to_string(), value);
        }
        def.resolve_params(&out)?;
        Ok(out)
    }

    fn remediation(&self) -> Option<String> {
        self.remediation.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(String::from)
    }
}

/// What a launch of `def` would scan today, for the warning.
async fn launch_cost(state: &AppState, def: &PolicyDef) -> UiResult<(u64, usize)> {
    let store = &*state.engine.store;
    let filter = ResourceFilter {
        resource_type: Some(def.resource_type.to_string()),
        exclude_accounts: removed_accounts(store).await?,
        ..Default::default()
    };
    let resources = store.count_resources(&filter, None).await?.into_iter().map(|r| r.1).sum();
    let accounts = store.list_accounts().await?.iter().filter(|a| a.is_active()).count();
    Ok((resources, accounts))
}

async fn launch_form(State(state): State<AppState>, viewer: Viewer, Path(id): Path<String>) -> UiResult<Html<String>> {
    viewer.require(Role::Admin)?;
    let p = view_of(&state, &id).await?;
    let Some(def) = p.definition else { return Err(UiError::not_found(format!("{id} is not in this catalog"))) };
    if p.status != "available" {
        return Err(UiError::new(
            axum::http::StatusCode::CONFLICT,
            format!("{id} is already launched ({}): edit, re-activate or delete it on its page.", p.status),
        ));
    }
    let (resources, accounts) = launch_cost(&state, def).await?;
    let body = html! {
        p.muted { a href="/policies" { "Policies" } " / " a href=(policy_href(&id)) { (id) } " / launch" }
        h1 { "Launch " (def.title) }
        p { (def.description) }
        p.warning role="note" {
            strong { "A launch scans everything in scope. " }
            "Today that is up to " strong { (resources) } " resources of type " code { (def.resource_type) }
            " in " strong { (accounts) } " active accounts (fewer if you narrow the scope below). "
            "It runs as a background job; its findings open as it goes."
        }
        (scope_form(&viewer, &format!("{}/launch", policy_href(&id)), Some(def), None, "Launch and scan"))
    };
    page(&state, &viewer, Nav::Policies, "Launch a policy", body).await
}

async fn launch(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(viewer, f): CsrfForm<ScopeForm>,
) -> UiResult<Response> {
    viewer.require(Role::Admin)?;
    let opts = LaunchOptions {
        scope: f.scope()?,
        severity: f.severity()?,
        remediation: f.remediation(),
        params: f.params(catalog_def(&id)?)?,
    };
    let started = start_launch(&state, &viewer.who, &id, opts).await?;
    Ok(after_start(started, &policy_href(&id)))
}

async fn edit(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(viewer, f): CsrfForm<ScopeForm>,
) -> UiResult<Response> {
    viewer.require(Role::Admin)?;
    // Empty override fields clear the override, as the form shows them.
    let update = PolicyUpdate {
        scope: Some(f.scope()?),
        severity: Some(f.severity()?),
        remediation: Some(f.remediation()),
        params: Some(f.params(catalog_def(&id)?)?),
    };
    let started = start_update(&state, &viewer.who, &id, update).await?;
    Ok(after_start(started, &policy_href(&id)))
}

async fn reactivate(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(viewer, _): CsrfForm<NoFields>,
) -> UiResult<Response> {
    viewer.require(Role::Admin)?;
    Ok(after_start(start_reactivate(&state, &viewer.who, &id).await?, &policy_href(&id)))
}

/// Pauses an active policy: not evaluated, its findings kept as they are.
async fn pause(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(viewer, _): CsrfForm<NoFields>,
) -> UiResult<Response> {
    viewer.require(Role::Operator)?;
    viewer.who.engine(&state).pause_policy(&id).await?;
    Ok(see_other(&policy_href(&id)))
}

/// Resumes a paused policy; everything in its scope is re-evaluated (a job).
async fn resume(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(viewer, _): CsrfForm<NoFields>,
) -> UiResult<Response> {
    viewer.require(Role::Operator)?;
    Ok(after_start(crate::policies::start_resume(&state, &viewer.who, &id).await?, &policy_href(&id)))
}

/// A confirmation page: what the action costs, and the button that does it.
fn confirm(viewer: &Viewer, title: &str, cost: Markup, action: &str, button: &str, back: &str) -> Markup {
    html! {
        h1 { (title) }
        div.warning role="note" { (cost) }
        div.actions {
            (post_button(viewer, action, button, "danger"))
            a.button.secondary href=(back) { "Cancel" }
        }
    }
}

async fn suspend_confirm(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> UiResult<Html<String>> {
    viewer.require(Role::Admin)?;
    let p = view_of(&state, &id).await?;
    let cost = html! {
        p { strong { "Suspending " (id) " resolves its " (p.active_findings + p.suppressed_findings) " active findings now" } " (reason POLICY_SUSPENDED) and stops evaluating it." }
        p { "The findings stay as history. Re-activating it later scans everything in its scope again." }
        p { "To keep a copy of the findings first: " a href=(href("/findings.csv", &[("policy", &id)])) { "export them as CSV" } "." }
    };
    let body = confirm(
        &viewer,
        &format!("Suspend {id}?"),
        cost,
        &format!("{}/suspend", policy_href(&id)),
        "Suspend and resolve its findings",
        &policy_href(&id),
    );
    page(&state, &viewer, Nav::Policies, "Suspend a policy", body).await
}

async fn suspend(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(viewer, _): CsrfForm<NoFields>,
) -> UiResult<Response> {
    viewer.require(Role::Admin)?;
    viewer.who.engine(&state).suspend_policy(&id).await?;
    Ok(see_other(&policy_href(&id)))
}

async fn delete_confirm(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> UiResult<Html<String>> {
    viewer.require(Role::Admin)?;
    let p = view_of(&state, &id).await?;
    let cost = html! {
        p { strong { "Deleting " (id) " resolves its " (p.active_findings + p.suppressed_findings) " active findings now" } " (reason POLICY_DELETED) and forgets its scope and overrides." }
        p { "The findings stay as history. Launching it again starts from the catalog's defaults and scans everything in scope." }
    };
    let body = confirm(
        &viewer,
        &format!("Delete {id}?"),
        cost,
        &format!("{}/delete", policy_href(&id)),
        "Delete the policy",
        &policy_href(&id),
    );
    let purge = html! {
        h2 { "Or delete it and purge its findings" }
        @match &state.archive {
            Some(sink) => {
                p { "Purging resolves its active findings, archives every finding of " (id) " with its whole history to "
                    code { (sink.describe()) } " (gzipped JSON Lines), and only then deletes them from qrie for good. If the archive cannot be written, nothing is purged." }
                form.stack method="post" action=(format!("{}/purge", policy_href(&id))) {
                    (csrf_field(&viewer))
                    label for="confirm" { "Type the policy id to confirm" }
                    input #confirm type="text" name="confirm" required autocomplete="off" spellcheck="false" placeholder=(id);
                    div.actions { button.danger type="submit" { "Delete, archive and purge" } }
                }
            }
            None => p { "No archive destination is configured (" code { "qrie serve --archive-to DIR|s3://bucket/prefix/" } "), so findings cannot be purged: they are archived before they are deleted, always." },
        }
    };
    page(&state, &viewer, Nav::Policies, "Delete a policy", html! { (body) (purge) }).await
}

#[derive(Deserialize)]
pub struct PurgeForm {
    confirm: Option<String>,
}

/// Deletes the policy and purges its findings, archived first; the typed id confirms it.
async fn purge(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(viewer, f): CsrfForm<PurgeForm>,
) -> UiResult<Response> {
    viewer.require(Role::Admin)?;
    crate::extract::typed_confirmation(&id, f.confirm.as_deref(), "purging deletes the policy's findings for good")?;
    let sink = state.archive_sink()?;
    viewer.who.engine(&state).delete_policy_purging(&id, sink, &qrie_engine::NoProgress).await?;
    Ok(see_other("/audit"))
}

async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(viewer, _): CsrfForm<NoFields>,
) -> UiResult<Response> {
    viewer.require(Role::Admin)?;
    viewer.who.engine(&state).delete_policy(&id).await?;
    Ok(see_other("/policies"))
}
