//! `/api/session`: trades a token for a session cookie (for the UI), and ends it.

use crate::json::Json;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Deserialize;
use serde_json::json;

use crate::auth::{self, Principal, Via, SESSION_COOKIE};
use crate::extract::ApiJson;
use crate::throttle::ClientAddr;
use crate::{ApiError, ApiResult, AppState, Routes};

pub(crate) fn routes(r: Routes) -> Routes {
    r.add("/session", &[Method::POST, Method::DELETE], post(login).delete(logout))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    token: String,
}

/// Whether the browser reached us over https: configured so, or said so by
/// the trusted proxy in front.
fn over_https(state: &AppState, headers: &HeaderMap) -> bool {
    state.config.secure_cookies
        || (state.config.trust_proxy
            && headers
                .get("x-forwarded-proto")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|p| p.split(',').next_back().is_some_and(|p| p.trim().eq_ignore_ascii_case("https"))))
}

/// The session cookie's `Set-Cookie` value (an empty value with max age 0 ends it).
pub(crate) fn cookie(
    state: &AppState,
    headers: &HeaderMap,
    value: &str,
    max_age: i64,
) -> Result<HeaderValue, ApiError> {
    let secure = if over_https(state, headers) { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
    ))
    .map_err(ApiError::internal)
}

/// 201 with the CSRF token to send as `X-CSRF-Token` on changes; the session
/// id travels only in the HttpOnly cookie.
async fn login(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    ApiJson(b): ApiJson<LoginBody>,
) -> ApiResult<Response> {
    state.failed_logins.check(client)?;
    let Some(s) = auth::open_session(&*state.engine.store, &b.token).await.map_err(ApiError::internal)? else {
        state.failed_logins.failed(client, "api session");
        return Err(ApiError::unauthorized("invalid or revoked token"));
    };
    let set = cookie(&state, &headers, &s.id, auth::SESSION_HOURS * 3600)?;
    let body = json!({"Role": s.role, "CsrfToken": s.csrf, "ExpiresAt": s.expires_at});
    Ok((StatusCode::CREATED, [(header::SET_COOKIE, set)], Json(body)).into_response())
}

async fn logout(State(state): State<AppState>, headers: HeaderMap, who: Principal) -> ApiResult<Response> {
    let Via::Session(sid) = &who.via else {
        return Err(ApiError::bad_request("no_session", "this request is not authenticated by a session cookie"));
    };
    auth::end_session(&*state.engine.store, sid).await.map_err(ApiError::internal)?;
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, cookie(&state, &headers, "", 0)?)]).into_response())
}
