//! `/api/accounts`: list, add, remove (soft, or hard with a confirmation),
//! scan now (202: an inventory sweep of the account runs as a job), and
//! discover the accounts of the AWS organization.

use crate::json::Json;
use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use qrie_engine::accounts::{Discovery, NewAccount};
use qrie_engine::InventoryRequest;
use qrie_model::{AccountSource, ScanType};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::auth::{Principal, Role};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::{ApiError, ApiResult, AppState, Routes, Started};

pub(crate) fn routes(r: Routes) -> Routes {
    r.add("/accounts", &[Method::GET, Method::POST], get(list).post(add))
        .add("/accounts/discover", &[Method::POST], post(discover))
        .add("/accounts/{id}", &[Method::DELETE], delete(remove))
        .add("/accounts/{id}/scan", &[Method::POST], post(scan))
}

#[derive(Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    include_removed: bool,
}

async fn list(
    State(state): State<AppState>,
    who: Principal,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<Value>> {
    who.require(Role::Viewer)?;
    Ok(Json(json!({"Accounts": state.engine.list_accounts(q.include_removed).await?})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddBody {
    account_id: String,
    name: Option<String>,
    role_arn: Option<String>,
    external_id: Option<String>,
    #[serde(default)]
    regions: Vec<String>,
    #[serde(default)]
    org_path: Vec<String>,
}

async fn add(State(state): State<AppState>, who: Principal, ApiJson(b): ApiJson<AddBody>) -> ApiResult<Response> {
    who.require(Role::Admin)?;
    let account = state
        .engine
        .add_account(NewAccount {
            account_id: b.account_id,
            name: b.name,
            role_arn: b.role_arn,
            external_id: b.external_id,
            regions: b.regions,
            org_path: b.org_path,
            source: AccountSource::Manual,
        })
        .await?;
    Ok((StatusCode::CREATED, Json(account)).into_response())
}

/// Reads the organization's member accounts: adds the new ones, updates the
/// OU paths of known ones, leaves removed ones removed. 409 `no_organization`
/// when the cloud has none (a standalone account, the simulated estate).
async fn discover(State(state): State<AppState>, who: Principal) -> ApiResult<Json<Discovery>> {
    who.require(Role::Admin)?;
    let found = state.engine.discover_accounts().await?.ok_or_else(|| {
        ApiError::new(
            StatusCode::CONFLICT,
            "no_organization",
            "no AWS organization to discover: this server's AWS credentials are in none, or it reads no AWS \
             account yet (only simulated ones); add accounts one by one, or run `qrie accounts discover`",
        )
    })?;
    Ok(Json(found))
}

#[derive(Deserialize)]
pub struct RemoveQuery {
    #[serde(default)]
    hard: bool,
    /// For a hard delete: the account id again, so a slip cannot erase data.
    confirm: Option<String>,
}

async fn remove(
    State(state): State<AppState>,
    who: Principal,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<RemoveQuery>,
) -> ApiResult<Json<Value>> {
    who.require(Role::Admin)?;
    if q.hard {
        let cost = "a hard delete erases the account's inventory and findings";
        crate::extract::typed_confirmation(&id, q.confirm.as_deref(), cost)?;
        state.engine.purge_account(&id).await?;
        return Ok(Json(json!({"AccountId": id, "Purged": true})));
    }
    Ok(Json(json!({"Account": state.engine.remove_account(&id).await?, "Purged": false})))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ScanBody {
    scan_type: Option<ScanType>,
}

/// Starts an inventory sweep of one account: 202 with the job id.
async fn scan(
    State(state): State<AppState>,
    who: Principal,
    ApiPath(id): ApiPath<String>,
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> ApiResult<Response> {
    who.require(Role::Operator)?;
    // The body is optional: no body scans with the default type.
    let body = body.map_err(crate::extract::bytes_rejection)?;
    let parsed: ScanBody = if body.iter().all(u8::is_ascii_whitespace) {
        ScanBody::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| ApiError::bad_request("invalid_body", e.to_string()))?
    };
    let scan_type = parsed.scan_type.unwrap_or(ScanType::AntiEntropy);
    match start_scan(&state, &id, scan_type).await? {
        Started::Job(job) => Ok((StatusCode::ACCEPTED, Json(json!({"JobId": job}))).into_response()),
        Started::Done(report) => Ok(Json(report).into_response()),
    }
}

/// Starts an inventory sweep of one active account in the background (the
/// API's scan and the accounts page's "scan now").
pub async fn start_scan(state: &AppState, id: &str, scan_type: ScanType) -> ApiResult<Started<qrie_engine::JobReport>> {
    // Unknown and removed accounts are the request's errors, not a failed job.
    let account = state.engine.account(id).await?;
    if !account.is_active() {
        return Err(qrie_engine::EngineError::AccountRemoved(id.into()).into());
    }
    let req = InventoryRequest { accounts: vec![id.to_string()], scan_type, ..Default::default() };
    state.launcher.inventory_sweep(&state.engine, req).await
}
