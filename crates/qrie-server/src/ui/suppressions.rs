//! `/suppressions` (active, expiring within 14 days, expired, disabled and
//! deleted rules), `/suppressions/new` (the form, pre-filled from a finding
//! or a findings filter, with a preview of what it would suppress before it
//! is saved), `/suppressions/{id}` (the rule, what it suppresses now, its
//! edit form and its audit trail) and `/audit` (the audit log).

use axum::extract::{Path, State};
use axum::response::{Html, Response};
use axum::routing::{get, post};
use axum::Router;
use maud::{html, Markup};
use qrie_engine::audit::AuditQuery;
use qrie_engine::suppressions::{Preview, RuleDraft, RuleEdit, RuleListing, RuleView};
use qrie_engine::Engine;
use qrie_model::audit::AuditAction;
use qrie_model::suppression::{parse_expiry, FindingKey, SuppressionCategory, SuppressionRule, SuppressionScope};
use serde::Deserialize;

use super::layout::{page, Nav};
use super::widgets::{
    choice, csrf_field, facts, finding_href, href, join_list, path_segment, policy_href, post_button, severity,
    split_list, table, text_input, time,
};
use super::{see_other, CsrfForm, NoFields, PageQuery, UiError, UiResult, Viewer};
use crate::auth::Role;
use crate::suppressions::AuditParams;
use crate::AppState;

pub fn routes(r: Router<AppState>) -> Router<AppState> {
    r.route("/suppressions", get(list))
        .route("/suppressions/new", get(new_form).post(create))
        .route("/suppressions/{id}", get(show))
        .route("/suppressions/{id}/edit", post(edit))
        .route("/suppressions/{id}/disable", post(disable))
        .route("/suppressions/{id}/enable", post(enable))
        .route("/suppressions/{id}/delete", post(delete))
        .route("/audit", get(audit))
}

pub fn rule_href(id: &str) -> String {
    format!("/suppressions/{}", path_segment(id))
}

/// The rule form's fields (empty ones are left out by the form reader).
#[derive(Deserialize, Default, Clone)]
pub struct RuleForm {
    policies: Option<String>,
    accounts: Option<String>,
    ous: Option<String>,
    regions: Option<String>,
    arn: Option<String>,
    tags: Option<String>,
    finding_arn: Option<String>,
    finding_policy: Option<String>,
    reason: Option<String>,
    category: Option<String>,
    owner: Option<String>,
    expires: Option<String>,
    /// `preview` shows what the rule would suppress; `save` saves it.
    intent: Option<String>,
    revision: Option<u64>,
}

impl RuleForm {
    fn of(rule: &SuppressionRule) -> Self {
        let s = &rule.scope;
        let some = |v: String| Some(v).filter(|v| !v.is_empty());
        RuleForm {
            policies: some(join_list(&s.policies)),
            accounts: some(join_list(&s.accounts)),
            ous: some(join_list(&s.ous)),
            regions: some(join_list(&s.regions)),
            arn: s.arn.clone(),
            tags: some(join_list(&s.tags)),
            finding_arn: s.finding.as_ref().map(|f| f.arn.clone()),
            finding_policy: s.finding.as_ref().map(|f| f.policy.clone()),
            reason: Some(rule.reason.clone()),
            category: Some(rule.category.as_str().to_string()),
            owner: Some(rule.owner.clone()),
            expires: rule.expires_at.map(|x| x.to_rfc3339()),
            intent: None,
            revision: Some(rule.revision),
        }
    }

    fn scope(&self) -> UiResult<SuppressionScope> {
        let tags = split_list(self.tags.as_deref()).iter().map(|t| t.parse()).collect::<Result<_, _>>()?;
        let finding = match (&self.finding_arn, &self.finding_policy) {
            (Some(arn), Some(policy)) => Some(FindingKey { arn: arn.trim().into(), policy: policy.trim().into() }),
            (None, None) => None,
            _ => return Err(UiError::bad_request("a single finding is named by both its resource ARN and its policy")),
        };
        let scope = SuppressionScope {
            policies: split_list(self.policies.as_deref()),
            accounts: split_list(self.accounts.as_deref()),
            ous: split_list(self.ous.as_deref()),
            regions: split_list(self.regions.as_deref()),
            arn: self.arn.as_ref().map(|a| a.trim().to_string()),
            tags,
            finding,
        };
        scope.validate()?;
        Ok(scope)
    }

    fn draft(&self, now: qrie_model::Timestamp) -> UiResult<RuleDraft> {
        Ok(RuleDraft {
            scope: self.scope()?,
            reason: self.reason.clone().unwrap_or_default(),
            category: self.category.as_deref().unwrap_or_default().parse()?,
            owner: self.owner.clone().unwrap_or_default(),
            expires_at: self.expires.as_deref().map(|x| parse_expiry(x, now)).transpose()?,
        })
    }
}

/// The rule form: scope, reason, category, owner, expiry; a preview button
/// beside the save button.
fn rule_form(viewer: &Viewer, action: &str, f: &RuleForm, save: &str) -> Markup {
    let v = |o: &Option<String>| o.clone().unwrap_or_default();
    let categories: Vec<(&str, &str)> = SuppressionCategory::ALL.iter().map(|c| (c.as_str(), c.label())).collect();
    html! {
        form.stack method="post" action=(action) aria-label="Suppression rule" {
            (csrf_field(viewer))
            @if let Some(r) = f.revision { input type="hidden" name="revision" value=(r); }
            fieldset {
                legend { "Which findings (every field given must match)" }
                (text_input("policies", "Policies", &v(&f.policies), Some("Comma-separated policy ids; empty means any.")))
                (text_input("accounts", "Accounts", &v(&f.accounts), Some("Comma-separated account ids.")))
                (text_input("ous", "Organizational units", &v(&f.ous), Some("Comma-separated OU ids: accounts anywhere under them.")))
                (text_input("regions", "Regions", &v(&f.regions), Some("Comma-separated; global for IAM and account settings.")))
                (text_input("arn", "Resource ARN", &v(&f.arn), Some("Exact, or a glob with * and ?.")))
                (text_input("tags", "Tags", &v(&f.tags), Some("Comma-separated KEY or KEY=VALUE; all must match.")))
                (text_input("finding_arn", "One finding: resource ARN", &v(&f.finding_arn), None))
                (text_input("finding_policy", "One finding: policy", &v(&f.finding_policy), None))
            }
            fieldset {
                legend { "Why" }
                div.field {
                    label for="f-reason" { "Reason (required)" }
                    textarea id="f-reason" name="reason" required minlength="3" maxlength="1000" rows="3" { (v(&f.reason)) }
                }
                (choice("category", "Category", &categories, f.category.as_deref().unwrap_or("accepted-risk")))
                div.field {
                    label for="f-owner" { "Owner (required)" }
                    input id="f-owner" type="text" name="owner" required value=(v(&f.owner));
                }
                (text_input("expires", "Expires", &v(&f.expires), Some("A duration (30d, 12h, 2w), a date (2027-01-31) or empty for never.")))
            }
            div.actions {
                button type="submit" name="intent" value="preview" class="secondary" { "Preview" }
                button type="submit" name="intent" value="save" { (save) }
            }
        }
    }
}

fn preview_section(p: &Preview) -> Markup {
    html! {
        section aria-labelledby="h-preview" {
            h2 #h-preview { "Would suppress now" }
            p.preview-total { strong { (p.total) } " active finding(s) (" (p.newly_suppressed) " not suppressed by another rule)." }
            @if !p.by_policy.is_empty() {
                (table("By policy", &["Policy", "Findings"], p.by_policy.iter().map(|(k, n)| html! {
                    tr { td { a href=(policy_href(k)) { (k) } } td { (n) } }
                }).collect()))
                (table("By account", &["Account", "Findings"], p.by_account.iter().map(|(k, n)| html! {
                    tr { td { (k) } td { (n) } }
                }).collect()))
                (table("First matches, most severe first", &["Severity", "Policy", "Resource", "Account", "Region"],
                    p.findings.iter().map(|f| html! {
                        tr {
                            td { (severity(f.severity)) }
                            td { a href=(finding_href(&f.arn, &f.policy)) { (f.policy) } }
                            td.break { (f.arn) }
                            td { (f.account_id) }
                            td { (f.region) }
                        }
                    }).collect()))
            }
        }
    }
}

fn status_cell(v: &RuleView) -> Markup {
    html! {
        span class=(format!("badge rule-{}", v.status)) { (v.status) }
        @if v.expiring_soon { " " span.badge.expiring { "expiring" } }
    }
}

fn rules_table(caption: &str, rows: &[RuleView]) -> Markup {
    if rows.is_empty() {
        return html! { p.muted { "None." } };
    }
    table(
        caption,
        &["Rule", "Status", "Category", "Scope", "Reason", "Owner", "Expires"],
        rows.iter()
            .map(|v| {
                html! {
                    tr {
                        td { a href=(rule_href(&v.rule.id)) { code { (v.rule.id) } } }
                        td { (status_cell(v)) }
                        td { (v.rule.category.label()) }
                        td.break { (v.rule.scope.to_string()) }
                        td { (v.rule.reason) }
                        td { (v.rule.owner) }
                        td { @match v.rule.expires_at { Some(x) => (time(&x)), None => "never" } }
                    }
                }
            })
            .collect(),
    )
}

async fn list(State(state): State<AppState>, viewer: Viewer) -> UiResult<Html<String>> {
    let now = Engine::now();
    let all = state.engine.rule_views(RuleListing::All, now).await?;
    let pick = |which: RuleListing| all.iter().filter(|v| which.admits(v)).cloned().collect::<Vec<_>>();
    let (expiring, active) = pick(RuleListing::Active).into_iter().partition::<Vec<_>, _>(|v| v.expiring_soon);
    let body = html! {
        h1 { "Suppressions" }
        p { "A suppressed finding keeps being evaluated and keeps its state; it is counted apart while a rule in effect covers it. Expiring, disabling or deleting a rule unsuppresses its findings at once." }
        @if viewer.may(Role::Operator) { div.actions { a.button href="/suppressions/new" { "New rule" } } }
        section aria-labelledby="h-expiring" { h2 #h-expiring { "Expiring within 14 days" } (rules_table("Rules expiring within 14 days", &expiring)) }
        section aria-labelledby="h-active" { h2 #h-active { "Active" } (rules_table("Active rules", &active)) }
        section aria-labelledby="h-expired" { h2 #h-expired { "Expired" } (rules_table("Expired rules", &pick(RuleListing::Expired))) }
        section aria-labelledby="h-disabled" { h2 #h-disabled { "Disabled" } (rules_table("Disabled rules", &pick(RuleListing::Disabled))) }
        section aria-labelledby="h-deleted" { h2 #h-deleted { "Deleted" } (rules_table("Deleted rules", &pick(RuleListing::Deleted))) }
    };
    page(&state, &viewer, Nav::Suppressions, "Suppressions", body).await
}

/// The new-rule form, pre-filled from the query (a finding's "Suppress…" or a
/// filtered list's), with what it would suppress shown at once.
async fn new_form(
    State(state): State<AppState>,
    viewer: Viewer,
    PageQuery(f): PageQuery<RuleForm>,
) -> UiResult<Html<String>> {
    viewer.require(Role::Operator)?;
    let preview = match f.scope() {
        Ok(scope) => Some(state.engine.preview_suppression(&scope, Engine::now()).await?),
        Err(_) => None,
    };
    new_page(&state, &viewer, &f, preview.as_ref(), None).await
}

async fn new_page(
    state: &AppState,
    viewer: &Viewer,
    f: &RuleForm,
    preview: Option<&Preview>,
    problem: Option<String>,
) -> UiResult<Html<String>> {
    let body = html! {
        p.muted { a href="/suppressions" { "Suppressions" } " / new" }
        h1 { "New suppression rule" }
        @if let Some(m) = problem { p.error role="alert" { (m) } }
        (rule_form(viewer, "/suppressions/new", f, "Save rule"))
        @if let Some(p) = preview { (preview_section(p)) }
    };
    page(state, viewer, Nav::Suppressions, "New suppression rule", body).await
}

async fn create(State(state): State<AppState>, CsrfForm(viewer, f): CsrfForm<RuleForm>) -> UiResult<Response> {
    viewer.require(Role::Operator)?;
    let now = Engine::now();
    if f.intent.as_deref() != Some("save") {
        // Preview: nothing is saved; problems are shown beside the form.
        let (preview, problem) = match f.scope() {
            Ok(scope) => (Some(state.engine.preview_suppression(&scope, now).await?), None),
            Err(e) => (None, Some(e.message)),
        };
        return Ok(axum::response::IntoResponse::into_response(
            new_page(&state, &viewer, &f, preview.as_ref(), problem).await?,
        ));
    }
    let rule = viewer.who.engine(&state).add_suppression(f.draft(now)?, now).await?;
    Ok(see_other(&rule_href(&rule.id)))
}

async fn show(State(state): State<AppState>, viewer: Viewer, Path(id): Path<String>) -> UiResult<Html<String>> {
    let now = Engine::now();
    let view = RuleView::of(state.engine.suppression_rule(&id).await?, now);
    let preview = state.engine.preview_suppression(&view.rule.scope, now).await?;
    let trail = state
        .engine
        .audit_log(
            &AuditQuery { target: Some(id.clone()), since: Some(view.rule.created_at), ..Default::default() },
            now,
        )
        .await?;
    let r = &view.rule;
    let live = r.deleted_at.is_none();
    let base = rule_href(&r.id);
    let body = html! {
        p.muted { a href="/suppressions" { "Suppressions" } " / " (r.id) }
        h1 { "Suppression rule " code { (r.id) } }
        (facts(vec![
            ("Status", status_cell(&view)),
            ("Category", html! { (r.category.label()) }),
            ("Scope", html! { (r.scope.to_string()) }),
            ("Reason", html! { (r.reason) }),
            ("Owner", html! { (r.owner) }),
            ("Created", html! { (time(&r.created_at)) " by " (r.created_by) }),
            ("Updated", html! { (time(&r.updated_at)) " by " (r.updated_by) }),
            ("Expires", html! { @match r.expires_at { Some(x) => (time(&x)), None => "never" } }),
        ]))
        div.actions {
            @if live && viewer.may(Role::Operator) {
                @if r.enabled { (post_button(&viewer, &format!("{base}/disable"), "Disable", "secondary")) }
                @else { (post_button(&viewer, &format!("{base}/enable"), "Enable", "secondary")) }
            }
            @if live && viewer.may(Role::Admin) { (post_button(&viewer, &format!("{base}/delete"), "Delete rule", "danger")) }
            a.button.secondary href=(href("/findings", &[("suppressed", "yes")])) { "Suppressed findings" }
        }
        (preview_section(&preview))
        @if live && viewer.may(Role::Operator) {
            h2 { "Edit" }
            p.muted { "Every edit is recorded in the audit log with the rule before and after." }
            (rule_form(&viewer, &format!("{base}/edit"), &RuleForm::of(r), "Save changes"))
        }
        h2 { "Audit trail" }
        (audit_table(&trail))
    };
    page(&state, &viewer, Nav::Suppressions, "Suppression rule", body).await
}

async fn edit(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(viewer, f): CsrfForm<RuleForm>,
) -> UiResult<Response> {
    viewer.require(Role::Operator)?;
    let now = Engine::now();
    let d = f.draft(now)?;
    let edit = RuleEdit {
        scope: Some(d.scope),
        reason: Some(d.reason),
        category: Some(d.category),
        owner: Some(d.owner),
        expires_at: Some(d.expires_at),
    };
    viewer.who.engine(&state).edit_suppression(&id, edit, f.revision, now).await?;
    Ok(see_other(&rule_href(&id)))
}

async fn disable(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(viewer, _): CsrfForm<NoFields>,
) -> UiResult<Response> {
    viewer.require(Role::Operator)?;
    viewer.who.engine(&state).set_suppression_enabled(&id, false, None, Engine::now()).await?;
    Ok(see_other(&rule_href(&id)))
}

async fn enable(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(viewer, _): CsrfForm<NoFields>,
) -> UiResult<Response> {
    viewer.require(Role::Operator)?;
    viewer.who.engine(&state).set_suppression_enabled(&id, true, None, Engine::now()).await?;
    Ok(see_other(&rule_href(&id)))
}

async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(viewer, _): CsrfForm<NoFields>,
) -> UiResult<Response> {
    viewer.require(Role::Admin)?;
    viewer.who.engine(&state).delete_suppression(&id, Engine::now()).await?;
    Ok(see_other("/suppressions"))
}

fn audit_table(entries: &[qrie_model::audit::AuditEntry]) -> Markup {
    if entries.is_empty() {
        return html! { p.muted { "No entries." } };
    }
    table(
        "Audit entries, newest first",
        &["When", "Actor", "Action", "Target", "Details"],
        entries
            .iter()
            .map(|e| {
                let target = match e.action.as_str().split('.').next() {
                    Some("suppression") => html! { a href=(rule_href(&e.target)) { (e.target) } },
                    Some("policy") => html! { a href=(policy_href(&e.target)) { (e.target) } },
                    _ => html! { (e.target) },
                };
                html! {
                    tr {
                        td { (time(&e.at)) }
                        td { (e.actor) }
                        td { code { (e.action.as_str()) } }
                        td.break { (target) }
                        td { details { summary { "details" } pre.json tabindex="0" { code { (serde_json::to_string_pretty(&e.details).unwrap_or_default()) } } } }
                    }
                }
            })
            .collect(),
    )
}

async fn audit(
    State(state): State<AppState>,
    viewer: Viewer,
    PageQuery(q): PageQuery<AuditParams>,
) -> UiResult<Html<String>> {
    let entries = state.engine.audit_log(&q.query()?, Engine::now()).await?;
    let v = |o: &Option<String>| o.clone().unwrap_or_default();
    let mut actions: Vec<(&str, &str)> = vec![("", "Any")];
    actions.extend(AuditAction::ALL.iter().map(|a| (a.as_str(), a.as_str())));
    let body = html! {
        h1 { "Audit log" }
        form.filters method="get" action="/audit" aria-label="Filter the audit log" {
            (text_input("since", "Since", &v(&q.since), Some("A date or RFC 3339 time; default 30 days ago.")))
            (text_input("until", "Until", &v(&q.until), None))
            (text_input("actor", "Actor", &v(&q.actor), Some("token:NAME, cli:USER or qrie.")))
            (choice("action", "Action", &actions, q.action.as_deref().unwrap_or("")))
            div { button type="submit" { "Apply" } " " a href="/audit" { "Clear" } }
        }
        (audit_table(&entries))
    };
    page(&state, &viewer, Nav::Audit, "Audit log", body).await
}
