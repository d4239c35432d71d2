//! `/api/jobs`: past and running sweeps, and starting one (202).

use crate::json::Json;
use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use qrie_engine::{InventoryRequest, PolicySweepRequest};
use qrie_model::{Job, JobKind, JobStatus, ScanType, Service};
use qrie_store::JobFilter;
use serde::Deserialize;
use serde_json::json;

use crate::auth::{Principal, Role};
use crate::extract::{page_request, ApiJson, ApiPath, ApiQuery, PageBody};
use crate::{ApiError, ApiResult, AppState, Routes, Started};

pub(crate) fn routes(r: Routes) -> Routes {
    r.add("/jobs", &[Method::GET, Method::POST], get(list).post(start)).add("/jobs/{id}", &[Method::GET], get(show))
}

#[derive(Deserialize)]
pub struct ListQuery {
    kind: Option<JobKind>,
    status: Option<JobStatus>,
    limit: Option<usize>,
    next_token: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    who: Principal,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<PageBody<Job>>> {
    who.require(Role::Viewer)?;
    let page = page_request(&state, q.limit, q.next_token).await?;
    let filter = JobFilter { kind: q.kind, status: q.status };
    Ok(Json(PageBody::sealed(&state, state.engine.list_jobs(&filter, &page).await?).await?))
}

async fn show(State(state): State<AppState>, who: Principal, ApiPath(id): ApiPath<String>) -> ApiResult<Json<Job>> {
    who.require(Role::Viewer)?;
    match state.engine.get_job(&id).await? {
        Some(j) => Ok(Json(j)),
        None => Err(ApiError::not_found("unknown_job", format!("no job {id:?}"))),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartBody {
    kind: JobKind,
    #[serde(default)]
    scan_type: ScanType,
    /// Inventory: empty for every active account.
    #[serde(default)]
    accounts: Vec<String>,
    #[serde(default)]
    services: Vec<Service>,
    #[serde(default)]
    regions: Vec<String>,
    /// Policy sweep: one policy, or every active one.
    policy_id: Option<String>,
}

/// Starts a sweep: 202 with the job id.
async fn start(State(state): State<AppState>, who: Principal, ApiJson(b): ApiJson<StartBody>) -> ApiResult<Response> {
    who.require(Role::Operator)?;
    let engine = &state.engine;
    let started = match b.kind {
        JobKind::Inventory => {
            if b.policy_id.is_some() {
                return Err(ApiError::bad_request("validation", "policy_id is for kind policy-sweep"));
            }
            let req = InventoryRequest {
                accounts: b.accounts,
                services: b.services,
                regions: b.regions,
                scan_type: b.scan_type,
                drift_grace: None,
                workers: 0,
            };
            state.launcher.inventory_sweep(engine, req).await?
        }
        JobKind::PolicySweep => {
            if !(b.accounts.is_empty() && b.services.is_empty() && b.regions.is_empty()) {
                return Err(ApiError::bad_request(
                    "validation",
                    "a policy sweep covers each policy's scope: accounts, services and regions are for kind inventory",
                ));
            }
            if let Some(id) = &b.policy_id {
                if engine.store.get_policy(id).await?.is_none_or(|p| !p.is_active()) {
                    return Err(match qrie_policies::get(id) {
                        Some(_) => qrie_engine::EngineError::NotLaunched(id.clone()),
                        None => qrie_engine::EngineError::UnknownPolicy(id.clone()),
                    }
                    .into());
                }
            }
            let req = PolicySweepRequest { policy_id: b.policy_id, scan_type: b.scan_type };
            state.launcher.policy_sweep(engine, req).await?
        }
    };
    Ok(match started {
        Started::Job(id) => (StatusCode::ACCEPTED, Json(json!({"JobId": id}))).into_response(),
        Started::Done(report) => Json(report).into_response(),
    })
}
