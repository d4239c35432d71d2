//! `/api/policies`: list, launch (202: the bootstrap sweep runs as a job),
//! update (scope, severity, remediation, parameters; `status` suspends or
//! re-activates), delete.

use crate::json::Json;
use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use qrie_engine::policies::{bootstrap_of, LaunchOptions, PolicyListing, PolicyUpdate};
use qrie_model::{LaunchedPolicy, Scope, Severity, TagCondition};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;

use crate::auth::{Principal, Role};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::{ApiError, ApiResult, AppState, Routes, Started};

pub(crate) fn routes(r: Routes) -> Routes {
    r.add("/policies", &[Method::GET, Method::POST], get(list).post(launch)).add(
        "/policies/{id}",
        &[Method::GET, Method::PUT, Method::DELETE],
        get(show).merge(put(update).delete(delete)),
    )
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
    let which: PolicyListing = q.status.as_deref().unwrap_or("all").parse()?;
    Ok(Json(json!({"Policies": state.engine.list_policies(which).await?})))
}

async fn show(State(state): State<AppState>, who: Principal, ApiPath(id): ApiPath<String>) -> ApiResult<Json<Value>> {
    who.require(Role::Viewer)?;
    let rows = state.engine.list_policies(PolicyListing::All).await?;
    match rows.into_iter().find(|p| p.policy_id == id) {
        Some(p) => Ok(Json(serde_json::to_value(p).map_err(ApiError::internal)?)),
        None => Err(qrie_engine::EngineError::UnknownPolicy(id).into()),
    }
}

/// Scope as the API takes it (snake_case, like every request body).
#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct ScopeBody {
    include_accounts: Vec<String>,
    exclude_accounts: Vec<String>,
    include_ous: Vec<String>,
    exclude_ous: Vec<String>,
    include_regions: Vec<String>,
    exclude_regions: Vec<String>,
    include_tags: Vec<TagCondition>,
    exclude_tags: Vec<TagCondition>,
}

impl From<ScopeBody> for Scope {
    fn from(b: ScopeBody) -> Scope {
        Scope {
            include_accounts: b.include_accounts,
            exclude_accounts: b.exclude_accounts,
            include_ous: b.include_ous,
            exclude_ous: b.exclude_ous,
            include_regions: b.include_regions,
            exclude_regions: b.exclude_regions,
            include_tags: b.include_tags,
            exclude_tags: b.exclude_tags,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LaunchBody {
    policy_id: String,
    scope: Option<ScopeBody>,
    severity: Option<i64>,
    remediation: Option<String>,
    #[serde(default)]
    params: BTreeMap<String, Value>,
}

/// Launches a policy: 202 with the bootstrap sweep's job id.
async fn launch(State(state): State<AppState>, who: Principal, ApiJson(b): ApiJson<LaunchBody>) -> ApiResult<Response> {
    who.require(Role::Admin)?;
    let opts = LaunchOptions {
        scope: b.scope.map(Scope::from).unwrap_or_default(),
        severity: b.severity.map(Severity::new).transpose()?,
        remediation: b.remediation,
        params: b.params,
    };
    let started = start_launch(&state, &who, &b.policy_id, opts).await?;
    Ok(accepted_or_done(&b.policy_id, started))
}

/// Launches (or re-launches) a policy; its bootstrap sweep goes on in the
/// background, through the server's launcher. The API and the UI both launch
/// through this.
pub async fn start_launch(
    state: &AppState,
    who: &Principal,
    policy_id: &str,
    opts: LaunchOptions,
) -> ApiResult<Started<LaunchedPolicy>> {
    let launched = who.engine(state).record_launch(policy_id, opts).await?;
    Ok(state.launcher.policy_sweep(&state.engine, bootstrap_of(policy_id)).await?.or_done(launched))
}

/// Re-activates a suspended policy with its stored settings.
pub async fn start_reactivate(
    state: &AppState,
    who: &Principal,
    policy_id: &str,
) -> ApiResult<Started<LaunchedPolicy>> {
    let Some(p) = state.engine.store.get_policy(policy_id).await? else {
        return Err(match qrie_policies::get(policy_id) {
            Some(_) => qrie_engine::EngineError::NotLaunched(policy_id.into()),
            None => qrie_engine::EngineError::UnknownPolicy(policy_id.into()),
        }
        .into());
    };
    let opts = LaunchOptions { scope: p.scope, severity: p.severity, remediation: p.remediation, params: p.params };
    start_launch(state, who, policy_id, opts).await
}

/// Resumes a paused policy; the sweep that re-evaluates everything in its
/// scope goes on in the background.
pub async fn start_resume(state: &AppState, who: &Principal, policy_id: &str) -> ApiResult<Started<LaunchedPolicy>> {
    let (p, sweep) = who.engine(state).resume_policy(policy_id).await?;
    Ok(state.launcher.policy_sweep(&state.engine, sweep).await?.or_done(p))
}

/// Changes a launched policy. A change of what decides verdicts re-sweeps the
/// policy in the background (a job); other changes are done at once.
pub async fn start_update(
    state: &AppState,
    who: &Principal,
    policy_id: &str,
    update: PolicyUpdate,
) -> ApiResult<Started<LaunchedPolicy>> {
    let (p, sweep) = who.engine(state).record_update(policy_id, update).await?;
    match sweep {
        Some(req) => Ok(state.launcher.policy_sweep(&state.engine, req).await?.or_done(p)),
        None => Ok(Started::Done(p)),
    }
}

fn accepted_or_done(policy_id: &str, started: Started<LaunchedPolicy>) -> Response {
    match started {
        Started::Job(job) => (StatusCode::ACCEPTED, Json(json!({"PolicyId": policy_id, "JobId": job}))).into_response(),
        Started::Done(p) => Json(json!({"PolicyId": policy_id, "Policy": p, "JobId": null})).into_response(),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateBody {
    /// `suspended` suspends (and resolves its findings); `paused` pauses
    /// (findings kept); `active` resumes a paused policy or re-launches a
    /// suspended one with its settings.
    status: Option<String>,
    scope: Option<ScopeBody>,
    #[serde(default, deserialize_with = "crate::extract::double_option")]
    severity: Option<Option<i64>>,
    #[serde(default, deserialize_with = "crate::extract::double_option")]
    remediation: Option<Option<String>>,
    params: Option<BTreeMap<String, Value>>,
}

async fn update(
    State(state): State<AppState>,
    who: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(b): ApiJson<UpdateBody>,
) -> ApiResult<Response> {
    let engine = &who.engine(&state);
    let changes = b.scope.is_some() || b.severity.is_some() || b.remediation.is_some() || b.params.is_some();
    let paused = engine.store.get_policy(&id).await?.is_some_and(|p| p.status == qrie_model::PolicyStatus::Paused);
    // Pausing and resuming are an operator's; every other change an admin's.
    let pause_or_resume =
        matches!(b.status.as_deref(), Some("paused")) || (paused && b.status.as_deref() == Some("active"));
    who.require(if pause_or_resume { Role::Operator } else { Role::Admin })?;
    if pause_or_resume && changes {
        return Err(ApiError::bad_request("validation", "pausing or resuming changes nothing else: send status alone"));
    }
    match b.status.as_deref() {
        Some("paused") => {
            return Ok(
                Json(json!({"PolicyId": id, "Policy": engine.pause_policy(&id).await?, "JobId": null})).into_response()
            )
        }
        Some("active") if paused => return Ok(accepted_or_done(&id, start_resume(&state, &who, &id).await?)),
        Some("suspended") => {
            if changes {
                return Err(ApiError::bad_request(
                    "validation",
                    "a suspension changes nothing else: send status alone",
                ));
            }
            return Ok(Json(engine.suspend_policy(&id).await?).into_response());
        }
        Some("active") => {
            if changes {
                return Err(ApiError::bad_request("validation", "re-activate first, then change settings"));
            }
            return Ok(accepted_or_done(&id, start_reactivate(&state, &who, &id).await?));
        }
        Some(other) => {
            return Err(ApiError::bad_request(
                "validation",
                format!("unknown status {other:?}: expected active, paused or suspended"),
            ))
        }
        None => {}
    }
    let update = PolicyUpdate {
        scope: b.scope.map(Scope::from),
        severity: b.severity.map(|s| s.map(Severity::new).transpose()).transpose()?,
        remediation: b.remediation,
        params: b.params,
    };
    Ok(accepted_or_done(&id, start_update(&state, &who, &id, update).await?))
}

#[derive(Deserialize)]
pub struct DeleteQuery {
    /// Also archive and hard-delete every finding of the policy.
    #[serde(default)]
    purge: bool,
    /// With `purge`: the policy id again, as the confirmation.
    confirm: Option<String>,
}

/// Deletes a launched policy; its active findings resolve (POLICY_DELETED).
/// With `purge=true&confirm=ID`, its findings are then archived to the
/// server's archive destination and hard-deleted.
async fn delete(
    State(state): State<AppState>,
    who: Principal,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<DeleteQuery>,
) -> ApiResult<Json<Value>> {
    who.require(Role::Admin)?;
    let engine = who.engine(&state);
    if !q.purge {
        return Ok(Json(serde_json::to_value(engine.delete_policy(&id).await?).map_err(ApiError::internal)?));
    }
    crate::extract::typed_confirmation(&id, q.confirm.as_deref(), "purging deletes the policy's findings for good")?;
    let sink = state.archive_sink()?;
    let (purge, archive) = engine.delete_policy_purging(&id, sink, &qrie_engine::NoProgress).await?;
    let mut out = serde_json::to_value(purge).map_err(ApiError::internal)?;
    out["Archive"] = serde_json::to_value(archive).map_err(ApiError::internal)?;
    Ok(Json(out))
}
