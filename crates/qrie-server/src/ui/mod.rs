//! The web UI: server-rendered pages (maud templates compiled in, escaping by
//! default) over the same engine calls as the JSON API, with one stylesheet
//! and one small script served from `/assets/`.
//!
//! Pages authenticate with the session cookie that `/login` sets. A page
//! request without a live session is redirected to `/login`; every POST form
//! carries the session's CSRF token in a `csrf` field, checked by [`CsrfForm`]
//! with the same derivation and comparison as the API's `X-CSRF-Token`.
//! Role checks are the API's ([`crate::auth::Principal::require`]); a refusal
//! renders a 403 page.

pub mod accounts;
pub mod assets;
pub mod charts;
pub mod dashboard;
pub mod docs;
pub mod findings;
pub mod inventory;
pub mod jobs;
pub mod layout;
pub mod login;
pub mod policies;
pub mod suppressions;
pub mod widgets;

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Router;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::auth::{self, Principal, SESSION_COOKIE};
use crate::error::ApiError;
use crate::AppState;

/// Every page route. Kept apart from the API's [`crate::Routes`]: pages are
/// not part of the OpenAPI document.
pub fn routes() -> Router<AppState> {
    let r = Router::new();
    let r = login::routes(r);
    let r = dashboard::routes(r);
    let r = findings::routes(r);
    let r = inventory::routes(r);
    let r = policies::routes(r);
    let r = suppressions::routes(r);
    let r = accounts::routes(r);
    let r = jobs::routes(r);
    let r = docs::routes(r);
    // Pages hold posture data: never cached by the browser or a proxy.
    let r = r.layer(SetResponseHeaderLayer::overriding(header::CACHE_CONTROL, HeaderValue::from_static("no-store")));
    assets::routes(r)
}

/// A page that could not be shown: rendered as an HTML page with the status
/// and a message, never a panic or a bare status.
#[derive(Debug)]
pub struct UiError {
    pub status: StatusCode,
    pub message: String,
}

pub type UiResult<T> = Result<T, UiError>;

impl UiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        UiError { status, message: message.into() }
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }
}

impl From<ApiError> for UiError {
    fn from(e: ApiError) -> Self {
        UiError { status: e.status, message: e.message }
    }
}

impl From<qrie_engine::EngineError> for UiError {
    fn from(e: qrie_engine::EngineError) -> Self {
        ApiError::from(e).into()
    }
}

impl From<qrie_engine::accounts::DiscoverError> for UiError {
    fn from(e: qrie_engine::accounts::DiscoverError) -> Self {
        ApiError::from(e).into()
    }
}

impl From<qrie_store::StoreError> for UiError {
    fn from(e: qrie_store::StoreError) -> Self {
        ApiError::from(e).into()
    }
}

impl From<qrie_model::ValidationError> for UiError {
    fn from(e: qrie_model::ValidationError) -> Self {
        ApiError::from(e).into()
    }
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        let title = match self.status {
            StatusCode::FORBIDDEN => "Not allowed",
            StatusCode::NOT_FOUND => "Not found",
            StatusCode::UNAUTHORIZED => "Not signed in",
            s if s.is_client_error() => "Cannot do that",
            _ => "Something went wrong",
        };
        (self.status, layout::error_page(self.status, title, &self.message)).into_response()
    }
}

/// The signed-in caller of a page, with the session's CSRF token for its forms.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub who: Principal,
    pub session_id: String,
    pub csrf: String,
}

impl Viewer {
    pub fn require(&self, role: auth::Role) -> UiResult<()> {
        Ok(self.who.require(role)?)
    }
    pub fn may(&self, role: auth::Role) -> bool {
        self.who.role >= role
    }
}

/// Sends a caller without a live session to the login page, with the page it
/// asked for to come back to.
pub struct LoginRedirect(String);

impl IntoResponse for LoginRedirect {
    fn into_response(self) -> Response {
        let target = widgets::href("/login", &[("next", &self.0)]);
        Redirect::to(&target).into_response()
    }
}

pub enum ViewerRejection {
    Login(LoginRedirect),
    Error(UiError),
}

impl IntoResponse for ViewerRejection {
    fn into_response(self) -> Response {
        match self {
            ViewerRejection::Login(r) => r.into_response(),
            ViewerRejection::Error(e) => e.into_response(),
        }
    }
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = ViewerRejection;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let back = match parts.method {
            axum::http::Method::GET => parts.uri.path_and_query().map_or("/", |p| p.as_str()).to_string(),
            _ => "/".to_string(),
        };
        let Some(sid) = auth::cookie(parts, SESSION_COOKIE) else {
            return Err(ViewerRejection::Login(LoginRedirect(back)));
        };
        match auth::session_principal(&*state.engine.store, &sid).await {
            Ok(Some(who)) => Ok(Viewer { who, csrf: auth::csrf_for(&sid), session_id: sid }),
            Ok(None) => Err(ViewerRejection::Login(LoginRedirect(back))),
            Err(e) => Err(ViewerRejection::Error(ApiError::internal(e).into())),
        }
    }
}

/// A POST form from a signed-in caller whose `csrf` field matches the session.
pub struct CsrfForm<T>(pub Viewer, pub T);

#[derive(Deserialize)]
struct CsrfField {
    #[serde(default)]
    csrf: String,
}

impl<T: DeserializeOwned> FromRequest<AppState> for CsrfForm<T> {
    type Rejection = ViewerRejection;
    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let viewer = Viewer::from_request_parts(&mut parts, state).await?;
        let fail = |e: UiError| ViewerRejection::Error(e);
        let bytes = axum::body::to_bytes(body, state.config.body_limit)
            .await
            .map_err(|_| fail(UiError::new(StatusCode::PAYLOAD_TOO_LARGE, "the form is too large")))?;
        let sent: CsrfField =
            serde_urlencoded::from_bytes(&bytes).map_err(|e| fail(UiError::bad_request(e.to_string())))?;
        if !auth::csrf_matches(&viewer.session_id, &sent.csrf) {
            return Err(fail(UiError::new(
                StatusCode::FORBIDDEN,
                "the form's security token is missing or stale: reload the page and try again",
            )));
        }
        let form = form_fields(&bytes).map_err(fail)?;
        Ok(CsrfForm(viewer, form))
    }
}

/// A form with nothing but its CSRF token (a button).
#[derive(Deserialize)]
pub struct NoFields {}

/// Decodes urlencoded fields, leaving out empty ones, so that a blank input
/// or an "any" choice means "not given" rather than an empty value.
pub fn form_fields<T: DeserializeOwned>(raw: &[u8]) -> UiResult<T> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_bytes(raw).map_err(|e| UiError::bad_request(format!("unreadable form: {e}")))?;
    let kept: Vec<(String, String)> = pairs.into_iter().filter(|(_, v)| !v.trim().is_empty()).collect();
    let again = serde_urlencoded::to_string(&kept).map_err(|e| UiError::bad_request(e.to_string()))?;
    serde_urlencoded::from_str(&again).map_err(|e| UiError::bad_request(format!("invalid input: {e}")))
}

/// A page's query string, read like [`form_fields`].
pub struct PageQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for PageQuery<T> {
    type Rejection = UiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, UiError> {
        Ok(PageQuery(form_fields(parts.uri.query().unwrap_or_default().as_bytes())?))
    }
}

/// 303 to the page that shows what a POST did.
pub fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// Where a POST that started background work sends the browser: the job's
/// progress when one started, otherwise `done`.
pub fn after_start<T>(started: crate::Started<T>, done: &str) -> Response {
    match started {
        crate::Started::Job(id) => see_other(&format!("/jobs/{}", widgets::path_segment(&id))),
        crate::Started::Done(_) => see_other(done),
    }
}

/// A fallback for unknown paths outside `/api`.
pub async fn not_found() -> UiError {
    UiError::not_found("There is no page here. The navigation above lists the pages.")
}
