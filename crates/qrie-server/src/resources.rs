//! `/api/resources`, `/api/services`: the inventory.

use crate::json::Json;
use axum::extract::State;
use axum::http::Method;
use axum::routing::get;
use qrie_model::Service;
use qrie_store::{FindingFilter, FindingGroup, ResourceFilter, ResourceGroup};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;

use crate::auth::{Principal, Role};
use crate::extract::{page_request, parse_opt, removed_accounts, ApiPath, ApiQuery, PageBody};
use crate::{ApiError, ApiResult, AppState, Routes};

pub(crate) fn routes(r: Routes) -> Routes {
    r.add("/resources", &[Method::GET], get(list))
        .add("/resources/{*arn}", &[Method::GET], get(show_path))
        .add("/resource", &[Method::GET], get(show_query))
        .add("/services", &[Method::GET], get(services))
}

#[derive(Deserialize, Default, Clone)]
pub struct ListQuery {
    pub account: Option<String>,
    pub service: Option<String>,
    pub region: Option<String>,
    #[serde(rename = "type")]
    pub resource_type: Option<String>,
    pub search: Option<String>,
    #[serde(default)]
    pub include_deleted: bool,
    #[serde(default)]
    pub include_removed: bool,
    pub limit: Option<usize>,
    pub next_token: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    who: Principal,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<PageBody<qrie_model::Resource>>> {
    who.require(Role::Viewer)?;
    let store = &*state.engine.store;
    let filter = filter_of(store, &q).await?;
    let page = page_request(&state, q.limit, q.next_token).await?;
    Ok(Json(PageBody::sealed(&state, store.list_resources(&filter, &page).await?).await?))
}

/// The validated store filter of a query (the API's list and the inventory page).
pub async fn filter_of(store: &dyn qrie_store::Store, q: &ListQuery) -> ApiResult<ResourceFilter> {
    if let Some(a) = &q.account {
        qrie_model::validate_account_id(a)?;
    }
    if let Some(r) = &q.region {
        qrie_model::validate_region(r)?;
    }
    Ok(ResourceFilter {
        account_id: q.account.clone(),
        service: parse_opt::<Service>(q.service.as_deref())?,
        region: q.region.clone(),
        resource_type: q.resource_type.clone().filter(|t| !t.is_empty()),
        search: q.search.clone().filter(|s| !s.is_empty()),
        include_deleted: q.include_deleted,
        exclude_accounts: if q.include_removed { Vec::new() } else { removed_accounts(store).await? },
    })
}

#[derive(Deserialize)]
pub struct ArnQuery {
    arn: String,
}

/// `GET /api/resources/{arn}`: the ARN URL-encoded, or as the rest of the path.
async fn show_path(
    State(state): State<AppState>,
    who: Principal,
    ApiPath(arn): ApiPath<String>,
) -> ApiResult<Json<Value>> {
    show(state, who, arn).await
}

/// `GET /api/resource?arn=...`, for clients that would rather not encode ARNs in paths.
async fn show_query(
    State(state): State<AppState>,
    who: Principal,
    ApiQuery(q): ApiQuery<ArnQuery>,
) -> ApiResult<Json<Value>> {
    show(state, who, q.arn).await
}

async fn show(state: AppState, who: Principal, arn: String) -> ApiResult<Json<Value>> {
    who.require(Role::Viewer)?;
    let store = &*state.engine.store;
    let Some(resource) = store.get_resource(&arn).await? else {
        return Err(ApiError::not_found("unknown_resource", format!("no resource {arn:?}")));
    };
    let findings = store.findings_for_resource(&arn).await?;
    Ok(Json(json!({"Resource": resource, "Findings": findings})))
}

/// Resources and active findings per service.
async fn services(State(state): State<AppState>, who: Principal) -> ApiResult<Json<Value>> {
    who.require(Role::Viewer)?;
    let store = &*state.engine.store;
    let removed = removed_accounts(store).await?;
    let rfilter = ResourceFilter { exclude_accounts: removed.clone(), ..Default::default() };
    let resources: HashMap<String, u64> =
        store.count_resources(&rfilter, Some(ResourceGroup::Service)).await?.into_iter().collect();
    let ffilter = FindingFilter {
        state: Some(qrie_model::FindingState::Active),
        exclude_accounts: removed,
        ..Default::default()
    };
    let findings: HashMap<String, u64> =
        store.count_findings(&ffilter, Some(FindingGroup::Service)).await?.into_iter().collect();
    let rows: Vec<Value> = Service::ALL
        .iter()
        .map(|s| {
            let k = s.as_str();
            json!({
                "Service": k,
                "Resources": resources.get(k).copied().unwrap_or(0),
                "ActiveFindings": findings.get(k).copied().unwrap_or(0),
            })
        })
        .collect();
    Ok(Json(json!({"Services": rows})))
}
