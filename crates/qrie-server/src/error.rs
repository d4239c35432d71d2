//! Errors as the API answers them: `{"error": {"code", "message"}}` with a
//! status. Codes are stable (clients branch on them); messages are for people.
//! Store failures are logged and answered without their details, which may
//! name paths or queries.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use qrie_engine::accounts::DiscoverError;
use qrie_engine::EngineError;
use qrie_store::StoreError;
use serde_json::json;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Seconds for a `Retry-After` header (429, 503).
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError { status, code, message: message.into(), retry_after: None }
    }
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }
    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, message)
    }
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthenticated", message)
    }
    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, code, message)
    }
    /// The same error, answered with `Retry-After: secs`.
    pub fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs);
        self
    }
    pub fn internal(what: impl std::fmt::Display) -> Self {
        tracing::error!(error = %what, "internal error");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error; the server log has the details")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"error": {"code": self.code, "message": self.message}});
        let mut res = (self.status, crate::json::Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            res.headers_mut().insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        res
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::InvalidToken => ApiError::bad_request("invalid_next_token", e.to_string()),
            other => ApiError::internal(other),
        }
    }
}

impl From<qrie_model::ValidationError> for ApiError {
    fn from(e: qrie_model::ValidationError) -> Self {
        ApiError::bad_request("validation", e.to_string())
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        use StatusCode as S;
        let (status, code) = match &e {
            EngineError::Store(_) => {
                let EngineError::Store(s) = e else { unreachable!() };
                return s.into();
            }
            EngineError::Invalid(_) => (S::BAD_REQUEST, "validation"),
            EngineError::UnknownPolicy(_) => (S::NOT_FOUND, "unknown_policy"),
            EngineError::NotLaunched(_) => (S::CONFLICT, "not_launched"),
            EngineError::AlreadyActive(_) => (S::CONFLICT, "already_active"),
            EngineError::UnknownAccount(_) => (S::NOT_FOUND, "unknown_account"),
            EngineError::AccountExists(_) => (S::CONFLICT, "account_exists"),
            EngineError::AccountRemoved(_) => (S::CONFLICT, "account_removed"),
            EngineError::NoEstate => (S::CONFLICT, "no_estate"),
            EngineError::Conflict(_) => (S::CONFLICT, "conflict"),
            EngineError::PolicyChanged(_) => (S::CONFLICT, "policy_changed"),
            EngineError::UnknownRule(_) => (S::NOT_FOUND, "unknown_rule"),
            EngineError::Paused(_) => (S::CONFLICT, "policy_paused"),
            EngineError::NotPaused(_) => (S::CONFLICT, "policy_not_paused"),
            EngineError::Archive(_) => (S::BAD_GATEWAY, "archive_failed"),
            EngineError::Export(_) => (S::INTERNAL_SERVER_ERROR, "export_failed"),
            EngineError::UnknownIntegration(_) => (S::NOT_FOUND, "unknown_integration"),
        };
        ApiError::new(status, code, e.to_string())
    }
}

impl From<DiscoverError> for ApiError {
    fn from(e: DiscoverError) -> Self {
        match e {
            DiscoverError::Engine(e) => e.into(),
            // Organizations refused or failed: the admin needs its words
            // (a missing permission, throttling), not an internal error.
            DiscoverError::Cloud(c) => ApiError::new(
                StatusCode::BAD_GATEWAY,
                "discovery_failed",
                format!("organizations discovery failed: {c}"),
            ),
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
