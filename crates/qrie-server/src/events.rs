//! `/api/events`: CloudTrail input in any shape `qrie_events::decode` reads,
//! processed as the CLI's `events ingest` does; and the event path's totals.

use crate::json::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{Method, StatusCode};
use axum::routing::{get, post};
use qrie_engine::events::{EventReport, EventStats, InputError};
use qrie_events::DecodeError;

use crate::auth::{Principal, Role};
use crate::extract::bytes_rejection;
use crate::{ApiError, ApiResult, AppState, Routes};

pub(crate) fn routes(r: Routes, body_limit: usize) -> Routes {
    r.add("/events", &[Method::POST], post(ingest).layer(DefaultBodyLimit::max(body_limit))).add(
        "/events/stats",
        &[Method::GET],
        get(stats),
    )
}

async fn ingest(
    State(state): State<AppState>,
    who: Principal,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<EventReport>> {
    who.require(Role::Operator)?;
    let body = body.map_err(bytes_rejection)?;
    // Decoded and ingested a chunk at a time (memory: the body and a few
    // chunks); how many such requests run at once is capped apart from the
    // rest (`--max-event-requests`).
    let report = state.engine.ingest_input(body).await.map_err(|e| match e {
        InputError::Decode(e @ (DecodeError::TooLarge { .. } | DecodeError::DecompressedTooLarge { .. })) => {
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", e.to_string())
        }
        InputError::Decode(e) => ApiError::bad_request("invalid_events", e.to_string()),
        InputError::Engine(e) => e.into(),
    })?;
    Ok(Json(report))
}

async fn stats(State(state): State<AppState>, who: Principal) -> ApiResult<Json<EventStats>> {
    who.require(Role::Viewer)?;
    Ok(Json(state.engine.event_stats().await?))
}
