//! `/api/openapi.json`: the OpenAPI 3.1 description of the API, kept as data
//! (`openapi.json` beside this file). A test holds it to the routes served.

use axum::http::{header, Method};
use axum::response::IntoResponse;
use axum::routing::get;

use crate::Routes;

pub const DOCUMENT: &str = include_str!("openapi.json");

pub(crate) fn routes(r: Routes) -> Routes {
    r.add("/openapi.json", &[Method::GET], get(document))
}

/// Public: it describes the API, and says nothing of the estate.
async fn document() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], DOCUMENT)
}
