//! `/api/integrations` (admins configure where notices go) and
//! `/api/notifications` (viewers see the outbox: what is pending, failing,
//! dead; admins retry dead letters).

use crate::json::Json;
use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use qrie_engine::notify::Sender;
use qrie_engine::Engine;
use qrie_model::integration::{Channel, Integration, Route, SecretRef};
use qrie_model::notice::OutboxEntry;
use qrie_model::TransitionKind;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::auth::{Principal, Role};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::{ApiError, ApiResult, AppState, Routes};

/// Notices one outbox listing shows.
const OUTBOX_PAGE: usize = 1000;

pub(crate) fn routes(r: Routes) -> Routes {
    r.add("/integrations", &[Method::GET, Method::POST], get(list).post(add))
        .add("/integrations/{id}", &[Method::DELETE], axum::routing::delete(remove))
        .add("/integrations/{id}/test", &[Method::POST], post(test))
        .add("/notifications", &[Method::GET], get(outbox))
        .add("/notifications/retry", &[Method::POST], post(retry))
}

async fn list(State(state): State<AppState>, who: Principal) -> ApiResult<Json<Value>> {
    who.require(Role::Admin)?;
    let all = state.engine.integrations().await?;
    Ok(Json(json!({ "Integrations": all.iter().map(Integration::view).collect::<Vec<_>>() })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddBody {
    id: String,
    /// `webhook` or `slack`.
    kind: String,
    /// The webhook's URL; for Slack, the URL's secret reference (`env:NAME`).
    url: String,
    /// `env:NAME`: the secret is never sent to qrie, only its name.
    secret: Option<String>,
    #[serde(default)]
    route: RouteBody,
}

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct RouteBody {
    min_severity: Option<u8>,
    policies: Vec<String>,
    accounts: Vec<String>,
    /// opened, reopened, resolved.
    on: Vec<String>,
    include_bootstrap: bool,
}

impl RouteBody {
    fn route(self) -> ApiResult<Route> {
        if self.min_severity.is_some_and(|m| m > 100) {
            return Err(ApiError::bad_request("validation", "min_severity must be from 0 to 100"));
        }
        let kinds = self
            .on
            .iter()
            .map(|k| match k.as_str() {
                "opened" => Ok(TransitionKind::Opened),
                "reopened" => Ok(TransitionKind::Reopened),
                "resolved" => Ok(TransitionKind::Resolved),
                other => Err(ApiError::bad_request(
                    "validation",
                    format!("unknown transition {other:?}: expected opened, reopened or resolved"),
                )),
            })
            .collect::<ApiResult<Vec<_>>>()?;
        Ok(Route {
            min_severity: self.min_severity,
            policies: self.policies,
            accounts: self.accounts,
            kinds,
            include_bootstrap: self.include_bootstrap,
        })
    }
}

async fn add(State(state): State<AppState>, who: Principal, ApiJson(b): ApiJson<AddBody>) -> ApiResult<Response> {
    who.require(Role::Admin)?;
    let secret = b.secret.as_deref().map(str::parse::<SecretRef>).transpose()?;
    let channel = match b.kind.as_str() {
        "webhook" => Channel::Webhook { url: b.url, secret },
        "slack" if secret.is_none() => Channel::Slack { url: b.url.parse()? },
        "slack" => {
            return Err(ApiError::bad_request("validation", "a Slack integration takes no secret: its URL is one"))
        }
        other => {
            return Err(ApiError::bad_request(
                "validation",
                format!("unknown kind {other:?}: expected webhook or slack"),
            ))
        }
    };
    let integration =
        Integration { id: b.id, channel, route: b.route.route()?, created_at: Engine::now(), created_by: who.actor() };
    who.engine(&state).add_integration(integration.clone()).await?;
    Ok((StatusCode::CREATED, Json(integration.view())).into_response())
}

async fn remove(State(state): State<AppState>, who: Principal, ApiPath(id): ApiPath<String>) -> ApiResult<Json<Value>> {
    who.require(Role::Admin)?;
    let removed = who.engine(&state).remove_integration(&id).await?;
    Ok(Json(json!({ "Removed": removed.view() })))
}

/// Sends a test notice through the integration now (not through the outbox).
async fn test(State(state): State<AppState>, who: Principal, ApiPath(id): ApiPath<String>) -> ApiResult<Json<Value>> {
    who.require(Role::Admin)?;
    let all = state.engine.integrations().await?;
    let Some(integration) = all.iter().find(|i| i.id == id) else {
        return Err(qrie_engine::EngineError::UnknownIntegration(id).into());
    };
    let senders = qrie_notify::Senders::new(state.config.public_url.clone()).map_err(ApiError::internal)?;
    let notice = qrie_notify::test_notice(&who.actor());
    match senders.send(integration, &notice).await {
        Ok(()) => Ok(Json(json!({ "Sent": true, "Notice": notice }))),
        Err(e) => Err(ApiError::new(StatusCode::BAD_GATEWAY, "delivery_failed", e.message)),
    }
}

#[derive(Deserialize, Default)]
pub struct OutboxQuery {
    #[serde(default)]
    failed: bool,
}

async fn outbox(
    State(state): State<AppState>,
    who: Principal,
    ApiQuery(q): ApiQuery<OutboxQuery>,
) -> ApiResult<Json<Value>> {
    who.require(Role::Viewer)?;
    let mut entries: Vec<OutboxEntry> = state.engine.outbox(q.failed).await?;
    // The oldest first, at most a page: the rest is counted, not sent.
    let total = entries.len();
    entries.truncate(OUTBOX_PAGE);
    Ok(Json(json!({ "Notices": entries, "Total": total, "Truncated": total > OUTBOX_PAGE })))
}

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct RetryBody {
    /// One notice's dead deliveries; absent, every one's.
    notice: Option<String>,
}

async fn retry(
    State(state): State<AppState>,
    who: Principal,
    ApiJson(b): ApiJson<RetryBody>,
) -> ApiResult<Json<Value>> {
    who.require(Role::Admin)?;
    let revived = who.engine(&state).retry_dead(b.notice.as_deref()).await?;
    Ok(Json(json!({ "Revived": revived })))
}
