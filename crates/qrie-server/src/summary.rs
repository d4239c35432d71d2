//! `/api/summary/*` and `/api/compliance`: the dashboard (cached an hour, one
//! recompute at a time), resource and finding breakdowns, drift, posture.

use crate::json::Json;
use axum::extract::State;
use axum::http::Method;
use axum::routing::get;
use qrie_model::FindingState;
use qrie_store::{FindingFilter, FindingGroup, ResourceFilter, ResourceGroup};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;

use crate::auth::{Principal, Role};
use crate::extract::{removed_accounts, ApiPath, ApiQuery};
use crate::{ApiError, ApiResult, AppState, Routes};

pub(crate) fn routes(r: Routes) -> Routes {
    r.add("/summary/dashboard", &[Method::GET], get(dashboard))
        .add("/summary/resources", &[Method::GET], get(resources))
        .add("/summary/findings", &[Method::GET], get(findings))
        .add("/summary/drift", &[Method::GET], get(drift))
        .add("/compliance", &[Method::GET], get(compliance_all))
        .add("/compliance/{framework}", &[Method::GET], get(compliance_one))
}

async fn dashboard(State(state): State<AppState>, who: Principal) -> ApiResult<Json<Value>> {
    who.require(Role::Viewer)?;
    let _one_at_a_time = state.dashboard_gate.lock().await;
    let d = state.engine.dashboard().await?;
    Ok(Json(serde_json::to_value(d).map_err(ApiError::internal)?))
}

fn as_map(rows: Vec<(String, u64)>) -> BTreeMap<String, u64> {
    rows.into_iter().collect()
}

/// Resource counts by account, service, region and type (removed accounts left out).
async fn resources(State(state): State<AppState>, who: Principal) -> ApiResult<Json<Value>> {
    who.require(Role::Viewer)?;
    let store = &*state.engine.store;
    let f = ResourceFilter { exclude_accounts: removed_accounts(store).await?, ..Default::default() };
    let by = |g| store.count_resources(&f, Some(g));
    Ok(Json(json!({
        "Total": store.count_resources(&f, None).await?.into_iter().map(|r| r.1).sum::<u64>(),
        "ByAccount": as_map(by(ResourceGroup::Account).await?),
        "ByService": as_map(by(ResourceGroup::Service).await?),
        "ByRegion": as_map(by(ResourceGroup::Region).await?),
        "ByType": as_map(by(ResourceGroup::ResourceType).await?),
    })))
}

/// Active finding counts by severity score, policy, account, service and
/// region, and counts by state (removed accounts left out).
async fn findings(State(state): State<AppState>, who: Principal) -> ApiResult<Json<Value>> {
    who.require(Role::Viewer)?;
    let store = &*state.engine.store;
    let removed = removed_accounts(store).await?;
    let all = FindingFilter { exclude_accounts: removed.clone(), ..Default::default() };
    let active = FindingFilter { state: Some(FindingState::Active), exclude_accounts: removed, ..Default::default() };
    let by = |g| store.count_findings(&active, Some(g));
    Ok(Json(json!({
        "ByState": as_map(store.count_findings(&all, Some(FindingGroup::State)).await?),
        "ActiveBySeverity": as_map(by(FindingGroup::Severity).await?),
        "ActiveByPolicy": as_map(by(FindingGroup::Policy).await?),
        "ActiveByAccount": as_map(by(FindingGroup::Account).await?),
        "ActiveByService": as_map(by(FindingGroup::Service).await?),
        "ActiveByRegion": as_map(by(FindingGroup::Region).await?),
    })))
}

#[derive(Deserialize)]
pub struct DriftQuery {
    history: Option<usize>,
}

async fn drift(
    State(state): State<AppState>,
    who: Principal,
    ApiQuery(q): ApiQuery<DriftQuery>,
) -> ApiResult<Json<Value>> {
    who.require(Role::Viewer)?;
    let history = q.history.unwrap_or(10).min(1000);
    Ok(Json(serde_json::to_value(state.engine.drift(history).await?).map_err(ApiError::internal)?))
}

async fn compliance_all(State(state): State<AppState>, who: Principal) -> ApiResult<Json<Value>> {
    who.require(Role::Viewer)?;
    Ok(Json(json!({"Frameworks": state.engine.compliance(None).await?})))
}

async fn compliance_one(
    State(state): State<AppState>,
    who: Principal,
    ApiPath(framework): ApiPath<String>,
) -> ApiResult<Json<Value>> {
    who.require(Role::Viewer)?;
    let mut all = state.engine.compliance(Some(&framework)).await.map_err(|e| match e {
        // An unknown framework in the path is an unknown thing, not bad input.
        qrie_engine::EngineError::Invalid(v) => ApiError::not_found("unknown_framework", v.to_string()),
        e => e.into(),
    })?;
    match all.pop() {
        Some(p) => Ok(Json(serde_json::to_value(p).map_err(ApiError::internal)?)),
        None => Err(ApiError::not_found("unknown_framework", format!("no framework {framework:?}"))),
    }
}
