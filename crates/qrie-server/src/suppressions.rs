//! `/api/suppressions`: list, create, show, edit (also disable and
//! re-enable), delete (soft) and preview suppression rules; `/api/audit`:
//! the audit log. Viewers read; operators create, edit and disable;
//! admins delete.

use crate::json::Json;
use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use qrie_engine::audit::AuditQuery;
use qrie_engine::suppressions::{RuleDraft, RuleEdit, RuleListing, RuleView};
use qrie_engine::Engine;
use qrie_model::suppression::{parse_expiry, FindingKey, SuppressionScope};
use qrie_model::{TagCondition, Timestamp};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::auth::{Principal, Role};
use crate::extract::{parse_opt, ApiJson, ApiPath, ApiQuery};
use crate::{ApiError, ApiResult, AppState, Routes};

pub(crate) fn routes(r: Routes) -> Routes {
    r.add("/suppressions", &[Method::GET, Method::POST], get(list).post(create))
        .add("/suppressions/preview", &[Method::POST], post(preview))
        .add("/suppressions/{id}", &[Method::GET, Method::PUT, Method::DELETE], get(show).put(edit).delete(remove))
        .add("/audit", &[Method::GET], get(audit))
}

#[derive(Deserialize)]
pub struct ListQuery {
    status: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    who: Principal,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<Value>> {
    who.require(Role::Viewer)?;
    let which = parse_opt::<RuleListing>(q.status.as_deref())?.unwrap_or(RuleListing::Active);
    Ok(Json(json!({"Rules": state.engine.rule_views(which, Engine::now()).await?})))
}

async fn show(
    State(state): State<AppState>,
    who: Principal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<RuleView>> {
    who.require(Role::Viewer)?;
    Ok(Json(RuleView::of(state.engine.suppression_rule(&id).await?, Engine::now())))
}

/// A rule's scope as the API takes it (snake_case, like every request body).
#[derive(Deserialize, Default, Clone)]
#[serde(default, deny_unknown_fields)]
pub struct ScopeBody {
    pub policies: Vec<String>,
    pub accounts: Vec<String>,
    pub ous: Vec<String>,
    pub regions: Vec<String>,
    pub arn: Option<String>,
    pub tags: Vec<TagCondition>,
    pub finding: Option<FindingBody>,
}

#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct FindingBody {
    pub arn: String,
    pub policy: String,
}

impl From<ScopeBody> for SuppressionScope {
    fn from(b: ScopeBody) -> Self {
        SuppressionScope {
            policies: b.policies,
            accounts: b.accounts,
            ous: b.ous,
            regions: b.regions,
            arn: b.arn.filter(|a| !a.trim().is_empty()),
            tags: b.tags,
            finding: b.finding.map(|f| FindingKey { arn: f.arn, policy: f.policy }),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    scope: ScopeBody,
    reason: String,
    category: String,
    owner: String,
    /// A duration (`30d`), a date or an RFC 3339 time; absent: no expiry.
    expires: Option<String>,
}

async fn create(State(state): State<AppState>, who: Principal, ApiJson(b): ApiJson<CreateBody>) -> ApiResult<Response> {
    who.require(Role::Operator)?;
    let now = Engine::now();
    let draft = RuleDraft {
        scope: b.scope.into(),
        reason: b.reason,
        category: b.category.parse()?,
        owner: b.owner,
        expires_at: b.expires.as_deref().map(|x| parse_expiry(x, now)).transpose()?,
    };
    let rule = who.engine(&state).add_suppression(draft, now).await?;
    Ok((StatusCode::CREATED, Json(RuleView::of(rule, now))).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EditBody {
    scope: Option<ScopeBody>,
    reason: Option<String>,
    category: Option<String>,
    owner: Option<String>,
    #[serde(default, deserialize_with = "crate::extract::double_option")]
    expires: Option<Option<String>>,
    /// `false` disables the rule, `true` re-enables it; sent alone.
    enabled: Option<bool>,
    /// The revision the editor saw: the edit is refused (409) if the rule
    /// changed since.
    revision: Option<u64>,
}

async fn edit(
    State(state): State<AppState>,
    who: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(b): ApiJson<EditBody>,
) -> ApiResult<Json<RuleView>> {
    who.require(Role::Operator)?;
    let now = Engine::now();
    let engine = who.engine(&state);
    let edit = RuleEdit {
        scope: b.scope.map(SuppressionScope::from),
        reason: b.reason,
        category: b.category.as_deref().map(str::parse).transpose()?,
        owner: b.owner,
        expires_at: b.expires.map(|x| x.as_deref().map(|x| parse_expiry(x, now)).transpose()).transpose()?,
    };
    let rule = match b.enabled {
        Some(enabled) if edit.is_empty() => engine.set_suppression_enabled(&id, enabled, b.revision, now).await?,
        Some(_) => return Err(ApiError::bad_request("validation", "enable or disable a rule alone, then edit it")),
        None => engine.edit_suppression(&id, edit, b.revision, now).await?,
    };
    Ok(Json(RuleView::of(rule, now)))
}

async fn remove(
    State(state): State<AppState>,
    who: Principal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<RuleView>> {
    who.require(Role::Admin)?;
    let now = Engine::now();
    Ok(Json(RuleView::of(who.engine(&state).delete_suppression(&id, now).await?, now)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreviewBody {
    scope: ScopeBody,
}

/// What a rule with this scope would suppress now (nothing is saved).
async fn preview(
    State(state): State<AppState>,
    who: Principal,
    ApiJson(b): ApiJson<PreviewBody>,
) -> ApiResult<Json<qrie_engine::suppressions::Preview>> {
    who.require(Role::Viewer)?;
    Ok(Json(state.engine.preview_suppression(&b.scope.into(), Engine::now()).await?))
}

#[derive(Deserialize)]
pub struct AuditParams {
    pub since: Option<String>,
    pub until: Option<String>,
    pub actor: Option<String>,
    pub action: Option<String>,
    pub target: Option<String>,
    pub limit: Option<usize>,
}

impl AuditParams {
    /// The engine's query, with times read as the API writes them (RFC 3339
    /// or a date).
    pub fn query(&self) -> ApiResult<AuditQuery> {
        let time = |name: &str, v: &Option<String>| -> ApiResult<Option<Timestamp>> {
            let Some(v) = v.as_deref().filter(|v| !v.is_empty()) else { return Ok(None) };
            Ok(Some(qrie_model::audit::parse_time(name, v)?))
        };
        let blank = |v: &Option<String>| v.clone().filter(|v| !v.is_empty());
        Ok(AuditQuery {
            since: time("since", &self.since)?,
            until: time("until", &self.until)?,
            actor: blank(&self.actor),
            action: parse_opt(self.action.as_deref())?,
            target: blank(&self.target),
            limit: self.limit,
        })
    }
}

async fn audit(
    State(state): State<AppState>,
    who: Principal,
    ApiQuery(q): ApiQuery<AuditParams>,
) -> ApiResult<Json<Value>> {
    who.require(Role::Viewer)?;
    let entries = state.engine.audit_log(&q.query()?, Engine::now()).await?;
    Ok(Json(json!({"Entries": entries})))
}
