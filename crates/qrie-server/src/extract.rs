//! Extractors that answer malformed input with the API's JSON errors instead
//! of axum's plain-text rejections.

use axum::extract::rejection::{BytesRejection, JsonRejection};
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(v)) => Ok(ApiQuery(v)),
            Err(e) => Err(ApiError::bad_request("invalid_query", e.body_text())),
        }
    }
}

pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(v)) => Ok(ApiPath(v)),
            Err(e) => Err(ApiError::bad_request("invalid_path", e.body_text())),
        }
    }
}

pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(JsonRejection::BytesRejection(b)) => Err(bytes_rejection(b)),
            Err(JsonRejection::MissingJsonContentType(e)) => {
                Err(ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", e.body_text()))
            }
            Err(e) => Err(ApiError::bad_request("invalid_body", e.body_text())),
        }
    }
}

/// A body over the limit is 413; anything else unreadable is 400.
pub fn bytes_rejection(e: BytesRejection) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", e.body_text())
    } else {
        ApiError::bad_request("invalid_body", e.body_text())
    }
}

/// Default page size of lists.
pub const DEFAULT_LIMIT: usize = 100;

/// `limit` (1..=1000, default 100) and the opaque `next_token` of the page
/// before; fields of every list's query.
pub fn page_request(limit: Option<usize>, next_token: Option<String>) -> Result<qrie_store::PageRequest, ApiError> {
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=qrie_store::MAX_PAGE_SIZE).contains(&limit) {
        return Err(ApiError::bad_request(
            "invalid_limit",
            format!("limit must be from 1 to {}", qrie_store::MAX_PAGE_SIZE),
        ));
    }
    Ok(qrie_store::PageRequest { limit, next_token: next_token.filter(|t| !t.is_empty()) })
}

/// One page of a list: pass `NextToken` back as `next_token` for the next.
#[derive(serde::Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PageBody<T> {
    pub items: Vec<T>,
    pub next_token: Option<String>,
}

impl<T> From<qrie_store::Page<T>> for PageBody<T> {
    fn from(p: qrie_store::Page<T>) -> Self {
        PageBody { items: p.items, next_token: p.next_token }
    }
}

/// Parses an optional query value with its `FromStr`, as a 400 when bad.
pub fn parse_opt<T>(v: Option<&str>) -> Result<Option<T>, ApiError>
where
    T: std::str::FromStr<Err = qrie_model::ValidationError>,
{
    v.filter(|s| !s.is_empty()).map(str::parse).transpose().map_err(ApiError::from)
}

/// Accounts that default views leave out (removed ones).
pub async fn removed_accounts(store: &dyn qrie_store::Store) -> Result<Vec<String>, ApiError> {
    Ok(store.list_accounts().await?.into_iter().filter(|a| !a.is_active()).map(|a| a.account_id).collect())
}
