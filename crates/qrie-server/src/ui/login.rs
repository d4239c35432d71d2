//! `/login` (a token, or a one-time login link, for a session cookie) and
//! `/logout`.

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use maud::html;
use serde::Deserialize;

use super::layout::public_page;
use super::{form_fields, CsrfForm, NoFields, PageQuery, UiError, UiResult};
use crate::auth::{self, NewSession};
use crate::error::ApiError;
use crate::session::cookie;
use crate::AppState;

pub fn routes(r: Router<AppState>) -> Router<AppState> {
    r.route("/login", get(show).post(submit)).route("/logout", post(logout))
}

#[derive(Deserialize, Default)]
pub struct LoginQuery {
    next: Option<String>,
    /// A one-time login link's secret (`qrie demo` prints the URL).
    link: Option<String>,
}

/// Only a path on this site: `//host` and `/\host` would leave it.
fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.starts_with("/\\") => n,
        _ => "/",
    }
}

fn form(next: &str, message: Option<&str>) -> maud::Markup {
    html! {
        div.login {
            h1 { "Sign in to qrie" }
            @if let Some(m) = message { p.error role="alert" { (m) } }
            form.stack method="post" action="/login" {
                input type="hidden" name="next" value=(next);
                div.field {
                    label for="token" { "API token" }
                    input #token type="password" name="token" autocomplete="current-password" required aria-describedby="token-hint";
                    small #token-hint .hint {
                        "A token made by " code { "qrie tokens create --role viewer|operator|admin" }
                        ". It is exchanged for a session cookie; the page never stores it."
                    }
                }
                div { button type="submit" { "Sign in" } }
            }
            p.muted { "Running " code { "qrie demo" } "? It prints a one-time login link." }
        }
    }
}

async fn show(State(state): State<AppState>, PageQuery(q): PageQuery<LoginQuery>) -> UiResult<Response> {
    if let Some(secret) = &q.link {
        let session = auth::redeem_login_link(&*state.engine.store, secret).await.map_err(ApiError::internal)?;
        return match session {
            Some(s) => signed_in(&state, s, "/"),
            None => Ok((
                StatusCode::UNAUTHORIZED,
                public_page(
                    "Sign in",
                    form("/", Some("This login link was already used or has expired: sign in with a token.")),
                ),
            )
                .into_response()),
        };
    }
    Ok(public_page("Sign in", form(safe_next(q.next.as_deref()), None)).into_response())
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    token: String,
    next: Option<String>,
}

/// A login form posted from another site is refused: it could sign a victim
/// in as someone else. Browsers say where a form came from in
/// `Sec-Fetch-Site`, and in `Origin` unless the referrer policy (ours is
/// `no-referrer`) makes it `null`.
fn same_origin(headers: &HeaderMap) -> bool {
    let get = |h| headers.get(h).and_then(|v: &axum::http::HeaderValue| v.to_str().ok());
    if get("sec-fetch-site").is_some_and(|s| s == "cross-site" || s == "same-site") {
        return false;
    }
    match get(header::ORIGIN.as_str()) {
        None | Some("null") => true,
        Some(origin) => origin.split_once("://").is_some_and(|(_, h)| Some(h) == get(header::HOST.as_str())),
    }
}

async fn submit(State(state): State<AppState>, headers: HeaderMap, body: axum::body::Bytes) -> UiResult<Response> {
    if !same_origin(&headers) {
        return Err(UiError::new(StatusCode::FORBIDDEN, "a login form from another site is refused"));
    }
    let f: LoginForm = form_fields(&body)?;
    let next = safe_next(f.next.as_deref()).to_string();
    match auth::open_session(&*state.engine.store, f.token.trim()).await.map_err(ApiError::internal)? {
        Some(s) => signed_in(&state, s, &next),
        None => Ok((
            StatusCode::UNAUTHORIZED,
            public_page("Sign in", form(&next, Some("That token is not valid (or was revoked)."))),
        )
            .into_response()),
    }
}

fn signed_in(state: &AppState, s: NewSession, next: &str) -> UiResult<Response> {
    let set = cookie(state, &s.id, auth::SESSION_HOURS * 3600)?;
    let mut res = super::see_other(next);
    res.headers_mut().insert(header::SET_COOKIE, set);
    Ok(res)
}

async fn logout(State(state): State<AppState>, CsrfForm(viewer, _): CsrfForm<NoFields>) -> UiResult<Response> {
    auth::end_session(&*state.engine.store, &viewer.session_id).await.map_err(ApiError::internal)?;
    let mut res = super::see_other("/login");
    res.headers_mut().insert(header::SET_COOKIE, cookie(&state, "", 0)?);
    Ok(res)
}
