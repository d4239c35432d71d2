//! `/api/findings`: list with filters, sort and pagination; one finding with
//! its history, policy definition and resource.

use crate::json::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, Method};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures::StreamExt;
use qrie_engine::export::ExportQuery;
use qrie_engine::suppressions::{FindingView, SuppressedFilter};
use qrie_engine::EngineError;
use qrie_export::{ExportContext, ExportFormat, Exporter};
use qrie_model::{FindingState, Service};
use qrie_store::{FindingFilter, FindingSort};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::auth::{Principal, Role};
use crate::extract::{page_request, parse_opt, removed_accounts, ApiQuery, PageBody};
use crate::{ApiError, ApiResult, AppState, Routes};

pub(crate) fn routes(r: Routes) -> Routes {
    r.add("/findings", &[Method::GET], get(list))
        .add("/findings/detail", &[Method::GET], get(detail))
        .add("/findings/history", &[Method::GET], get(history))
        .add("/findings/archive", &[Method::POST], axum::routing::post(archive))
        .add("/findings/export", &[Method::GET], get(export))
}

/// Every finding the list's filters select, in an export format, streamed
/// (`format`: ocsf, asff, csv or jsonl; `limit` and `next_token` do not apply).
async fn export(
    State(state): State<AppState>,
    who: Principal,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Response> {
    who.require(Role::Viewer)?;
    let Some(format) = &q.format else {
        return Err(ApiError::bad_request("validation", "format is required: ocsf, asff, csv or jsonl"));
    };
    if q.limit.is_some() || q.next_token.is_some() {
        return Err(ApiError::bad_request(
            "validation",
            "an export streams every finding the filters select: limit and next_token do not apply",
        ));
    }
    export_response(&state, &q, format.parse()?).await
}

/// The streamed export response: the API's and the findings page's.
pub async fn export_response(state: &AppState, q: &ListQuery, format: ExportFormat) -> ApiResult<Response> {
    let (filter, sort) = filter_of(&*state.engine.store, q).await?;
    // Unless an order is asked for, the cheapest: the store's own.
    let sort = if q.sort.is_none() { FindingSort::StoreOrder } else { sort };
    let query = ExportQuery { filter, sort, suppressed: suppressed_of(q)? };
    let context = ExportContext {
        product_version: env!("CARGO_PKG_VERSION").to_string(),
        ui_url: state.config.public_url.clone(),
        ..ExportContext::default()
    };
    let chunks = state.engine.export_findings(query, Exporter::new(format, context)).map(|chunk| match chunk {
        Ok(c) => Ok(axum::body::Bytes::from(c.bytes)),
        Err(e) => {
            // The status line is gone: all a client can be told now is that
            // the body ended early (the chunked encoding is cut short).
            tracing::error!(error = %e, "export failed part way");
            Err(e)
        }
    });
    let disposition = format!("attachment; filename=\"{}\"", format.file_name());
    Ok((
        [(header::CONTENT_TYPE, format.content_type().to_string()), (header::CONTENT_DISPOSITION, disposition)],
        Body::from_stream(chunks),
    )
        .into_response())
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ArchiveBody {
    /// Resolved at least this many days ago (0: every resolved finding).
    older_than_days: u32,
    policy: Option<String>,
    account_id: Option<String>,
    #[serde(default)]
    dry_run: bool,
}

/// Archives resolved findings to the server's archive destination, then
/// hard-deletes them (admin: a purge).
async fn archive(
    State(state): State<AppState>,
    who: Principal,
    crate::extract::ApiJson(b): crate::extract::ApiJson<ArchiveBody>,
) -> ApiResult<Json<Value>> {
    who.require(Role::Admin)?;
    let sink = state.archive_sink()?;
    let selection = qrie_engine::archive::ArchiveSelection {
        policy: b.policy,
        account_id: b.account_id,
        resolved_before: Some(qrie_engine::Engine::now() - chrono::Duration::days(i64::from(b.older_than_days))),
    };
    let report = who.engine(&state).archive_findings(&selection, sink, b.dry_run, &qrie_engine::NoProgress).await?;
    Ok(Json(serde_json::to_value(report).map_err(ApiError::internal)?))
}

#[derive(Deserialize, Default, Clone)]
pub struct ListQuery {
    /// active (default), resolved or all.
    pub state: Option<String>,
    pub policy: Option<String>,
    pub account: Option<String>,
    pub service: Option<String>,
    pub region: Option<String>,
    #[serde(rename = "type")]
    pub resource_type: Option<String>,
    pub severity_min: Option<u8>,
    /// no (default: findings no suppression rule covers), yes or all.
    pub suppressed: Option<String>,
    /// severity (default), recent or arn.
    pub sort: Option<String>,
    #[serde(default)]
    pub include_removed: bool,
    pub limit: Option<usize>,
    pub next_token: Option<String>,
    /// `/api/findings/export` only: ocsf, asff, csv or jsonl.
    pub format: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    who: Principal,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<PageBody<FindingView>>> {
    who.require(Role::Viewer)?;
    if q.format.is_some() {
        return Err(ApiError::bad_request("validation", "format is for /api/findings/export: the list is JSON"));
    }
    let (filter, sort) = filter_of(&*state.engine.store, &q).await?;
    let which = suppressed_of(&q)?;
    let page = page_request(&state, q.limit, q.next_token).await?;
    let views = state.engine.list_finding_views(&filter, sort, &page, which, qrie_engine::Engine::now()).await?;
    Ok(Json(PageBody::sealed(&state, views).await?))
}

/// The suppression filter a query asks for (default: unsuppressed only).
pub fn suppressed_of(q: &ListQuery) -> ApiResult<SuppressedFilter> {
    Ok(parse_opt::<SuppressedFilter>(q.suppressed.as_deref())?.unwrap_or_default())
}

/// The store filter and sort a query asks for, validated: the API's list,
/// the findings page and its CSV export all read findings through this.
pub async fn filter_of(store: &dyn qrie_store::Store, q: &ListQuery) -> ApiResult<(FindingFilter, FindingSort)> {
    let finding_state = match q.state.as_deref().unwrap_or("active") {
        "all" => None,
        s => Some(s.parse::<FindingState>()?),
    };
    // As the CLI: a filter naming something that does not exist is a mistake
    // to report, not an empty list.
    if let Some(p) = &q.policy {
        if qrie_policies::get(p).is_none() && store.get_policy(p).await?.is_none() {
            return Err(EngineError::UnknownPolicy(p.clone()).into());
        }
    }
    if let Some(a) = &q.account {
        qrie_model::validate_account_id(a)?;
        if store.get_account(a).await?.is_none() {
            return Err(EngineError::UnknownAccount(a.clone()).into());
        }
    }
    if let Some(r) = &q.region {
        qrie_model::validate_region(r)?;
    }
    if q.severity_min.is_some_and(|s| s > 100) {
        return Err(ApiError::bad_request("validation", "severity_min must be from 0 to 100"));
    }
    let sort = match q.sort.as_deref().unwrap_or("severity") {
        "severity" => FindingSort::SeverityDesc,
        "recent" => FindingSort::LastEvaluatedDesc,
        "arn" => FindingSort::Key,
        other => {
            return Err(ApiError::bad_request(
                "validation",
                format!("unknown sort {other:?}: expected one of severity, recent, arn"),
            ))
        }
    };
    let filter = FindingFilter {
        state: finding_state,
        policy: q.policy.clone(),
        account_id: q.account.clone(),
        service: parse_opt::<Service>(q.service.as_deref())?,
        region: q.region.clone(),
        resource_type: q.resource_type.clone().filter(|t| !t.is_empty()),
        severity_min: q.severity_min,
        arn: None,
        exclude_accounts: if q.include_removed { Vec::new() } else { removed_accounts(store).await? },
    };
    Ok((filter, sort))
}

#[derive(Deserialize)]
pub struct DetailQuery {
    arn: String,
    policy: String,
}

#[derive(Deserialize)]
pub struct HistoryQuery {
    arn: String,
    policy: String,
    since_ms: Option<i64>,
    limit: Option<usize>,
}

/// Every transition of one finding, a page at a time (the finding itself
/// keeps only its first and latest ones).
async fn history(
    State(state): State<AppState>,
    who: Principal,
    ApiQuery(q): ApiQuery<HistoryQuery>,
) -> ApiResult<Json<Value>> {
    who.require(Role::Viewer)?;
    let page = state.engine.finding_history(&q.arn, &q.policy, q.since_ms.unwrap_or(0), q.limit.unwrap_or(100)).await?;
    let Some(page) = page else {
        return Err(ApiError::not_found(
            "unknown_finding",
            format!("no finding for resource {:?} and policy {:?}", q.arn, q.policy),
        ));
    };
    Ok(Json(serde_json::to_value(page).map_err(|e| ApiError::internal(e.to_string()))?))
}

async fn detail(
    State(state): State<AppState>,
    who: Principal,
    ApiQuery(q): ApiQuery<DetailQuery>,
) -> ApiResult<Json<Value>> {
    who.require(Role::Viewer)?;
    let Some(d) = state.engine.finding_detail(&q.arn, &q.policy, qrie_engine::Engine::now()).await? else {
        return Err(ApiError::not_found(
            "unknown_finding",
            format!("no finding for resource {:?} and policy {:?}", q.arn, q.policy),
        ));
    };
    Ok(Json(json!({
        "Finding": d.view.finding,
        "Suppression": d.view.suppression,
        "SuppressionRule": d.rule,
        "PolicyPaused": d.view.policy_paused,
        "Policy": qrie_policies::get(&q.policy),
        "Launched": d.launched,
        "Resource": state.engine.store.get_resource(&q.arn).await?,
    })))
}
