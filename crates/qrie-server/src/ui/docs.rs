//! `/docs`: operator documentation, markdown compiled into the binary.

use axum::extract::{Path, State};
use axum::response::Html;
use axum::routing::get;
use axum::Router;
use maud::{html, PreEscaped};
use pulldown_cmark::{Event, Options, Parser};

use super::layout::{page, Nav};
use super::{UiError, UiResult, Viewer};
use crate::AppState;

pub fn routes(r: Router<AppState>) -> Router<AppState> {
    r.route("/docs", get(index)).route("/docs/{page}", get(show))
}

/// (slug, title, markdown)
pub const PAGES: [(&str, &str, &str); 4] = [
    ("onboarding", "Getting started", include_str!("docs/onboarding.md")),
    ("policies", "Managing policies", include_str!("docs/policies.md")),
    ("accounts", "Managing accounts", include_str!("docs/accounts.md")),
    ("roadmap", "Roadmap", include_str!("docs/roadmap.md")),
];

/// Markdown to HTML. Raw HTML in the source is shown as text, not passed
/// through: the pages are ours, but the rule is one rule everywhere.
pub fn render_markdown(md: &str) -> String {
    let events = Parser::new_ext(md, Options::ENABLE_TABLES).map(|e| match e {
        Event::Html(h) | Event::InlineHtml(h) => Event::Text(h),
        other => other,
    });
    let mut out = String::new();
    pulldown_cmark::html::push_html(&mut out, events);
    out
}

async fn index(State(state): State<AppState>, viewer: Viewer) -> UiResult<Html<String>> {
    let body = html! {
        h1 { "Documentation" }
        ul { @for (slug, title, _) in PAGES { li { a href=(format!("/docs/{slug}")) { (title) } } } }
        p.muted { "The API is described at " a href="/api/openapi.json" { "/api/openapi.json" } "." }
    };
    page(&state, &viewer, Nav::Docs, "Documentation", body).await
}

async fn show(State(state): State<AppState>, viewer: Viewer, Path(slug): Path<String>) -> UiResult<Html<String>> {
    let Some((_, title, md)) = PAGES.iter().find(|p| p.0 == slug) else {
        return Err(UiError::not_found(format!("No documentation page {slug}.")));
    };
    let body = html! {
        nav aria-label="Documentation" {
            p.muted { a href="/docs" { "Documentation" } @for (s, t, _) in PAGES { " · " a href=(format!("/docs/{s}")) aria-current=[(s == slug).then_some("page")] { (t) } } }
        }
        article.docs { (PreEscaped(render_markdown(md))) }
    };
    page(&state, &viewer, Nav::Docs, title, body).await
}
