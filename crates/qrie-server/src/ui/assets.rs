//! The stylesheet and the one small script, compiled into the binary and
//! served from `/assets/` (the CSP allows scripts and styles from the site
//! itself only: nothing inline).

use axum::http::{header, HeaderValue};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

use crate::AppState;

const CSS: &str = include_str!("../../assets/qrie.css");
const JS: &str = include_str!("../../assets/qrie.js");

pub const CSS_PATH: &str = "/assets/qrie.css";
pub const JS_PATH: &str = "/assets/qrie.js";

pub fn routes(r: Router<AppState>) -> Router<AppState> {
    r.route(CSS_PATH, get(|| async { asset("text/css; charset=utf-8", CSS) }))
        .route(JS_PATH, get(|| async { asset("text/javascript; charset=utf-8", JS) }))
}

fn asset(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            // Short: the paths are stable, and an upgrade should show at once.
            (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300")),
        ],
        body,
    )
}
