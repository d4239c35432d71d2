//! Extractors that answer malformed input with the API's JSON errors instead
//! of axum's plain-text rejections.

use axum::extract::rejection::{BytesRejection, JsonRejection};
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

pub struct ApiQuery<T>(pub T);

/// Unknown parameters named in an answer (each cut to this many characters).
const NAMED_AT_MOST: usize = 5;
const NAME_CHARS: usize = 64;

/// A query whose every parameter must be one `T` takes: a misspelt filter
/// (`?acount=...`) is a 400 naming it, not a silently unfiltered list.
impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or_default();
        let mut unknown = std::collections::BTreeSet::new();
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        let value: T = serde_ignored::deserialize(de, |path| {
            unknown.insert(path.to_string().chars().take(NAME_CHARS).collect::<String>());
        })
        .map_err(|e| ApiError::bad_request("invalid_query", format!("Failed to deserialize query string: {e}")))?;
        if !unknown.is_empty() {
            let named: Vec<String> = unknown.iter().take(NAMED_AT_MOST).map(|n| format!("`{n}`")).collect();
            let more = unknown.len().saturating_sub(NAMED_AT_MOST);
            let more = if more > 0 { format!(" and {more} more") } else { String::new() };
            return Err(ApiError::bad_request(
                "unknown_query_parameter",
                format!("unknown query parameter {}{more}: /api/openapi.json lists each route's", named.join(", ")),
            ));
        }
        Ok(ApiQuery(value))
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
/// before (checked: only a token this store's servers handed out is taken);
/// fields of every list's query.
pub async fn page_request(
    state: &crate::AppState,
    limit: Option<usize>,
    next_token: Option<String>,
) -> Result<qrie_store::PageRequest, ApiError> {
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=qrie_store::MAX_PAGE_SIZE).contains(&limit) {
        return Err(ApiError::bad_request(
            "invalid_limit",
            format!("limit must be from 1 to {}", qrie_store::MAX_PAGE_SIZE),
        ));
    }
    let next_token = state.page_tokens.open(&*state.engine.store, next_token).await?;
    Ok(qrie_store::PageRequest { limit, next_token })
}

/// The token to hand out for a page's cursor (see [`crate::page_token`]).
pub async fn next_token(state: &crate::AppState, cursor: Option<String>) -> Result<Option<String>, ApiError> {
    state.page_tokens.seal(&*state.engine.store, cursor).await
}

/// One page of a list: pass `NextToken` back as `next_token` for the next.
#[derive(serde::Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PageBody<T> {
    pub items: Vec<T>,
    pub next_token: Option<String>,
}

impl<T> PageBody<T> {
    /// The page with its cursor sealed for the client.
    pub async fn sealed(state: &crate::AppState, p: qrie_store::Page<T>) -> Result<Self, ApiError> {
        Ok(PageBody { items: p.items, next_token: next_token(state, p.next_token).await? })
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

/// For `Option<Option<T>>` body fields: absent stays `None`; `null` becomes
/// `Some(None)` (clear the value); a value is `Some(Some(v))`.
pub fn double_option<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    Ok(Some(<Option<T> as serde::Deserialize>::deserialize(d)?))
}

/// What cannot be undone (a hard delete, a purge) is confirmed by typing the
/// id of what it deletes again (`confirm=ID`); `cost` says what is at stake.
pub fn typed_confirmation(id: &str, typed: Option<&str>, cost: &str) -> Result<(), ApiError> {
    if typed.map(str::trim) == Some(id) {
        return Ok(());
    }
    Err(ApiError::bad_request(
        "confirmation_required",
        format!("{cost}: confirm with the id typed again (confirm={id})"),
    ))
}
