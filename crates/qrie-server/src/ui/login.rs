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
use crate::throttle::ClientAddr;
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

/// Only an absolute path on this site, else `/`. `//host` leaves it, and so
/// does anything a browser would turn into that: it treats `\` as `/` and
/// drops tabs and newlines (`/<TAB>/host`). Only printable ASCII without
/// spaces is kept, which is also all a `Location` header may carry.
pub fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n)
            if n.starts_with('/') && !n.starts_with("//") && n.bytes().all(|b| b.is_ascii_graphic() && b != b'\\') =>
        {
            n
        }
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

async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    PageQuery(q): PageQuery<LoginQuery>,
) -> UiResult<Response> {
    if let Some(secret) = &q.link {
        let session = auth::redeem_login_link(&*state.engine.store, secret).await.map_err(ApiError::internal)?;
        return match session {
            Some(s) => signed_in(&state, &headers, s, "/"),
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
/// `Sec-Fetch-Site` and in `Origin`; an `Origin` of `null` (a sandboxed
/// frame, a `data:` page) is somewhere else too. With neither header the
/// client is not a browser, which cannot be made to post by another site.
fn same_origin(headers: &HeaderMap) -> bool {
    let get = |h| headers.get(h).and_then(|v: &axum::http::HeaderValue| v.to_str().ok());
    if let Some(site) = get("sec-fetch-site") {
        if site != "same-origin" {
            return false;
        }
    }
    match get(header::ORIGIN.as_str()) {
        None => true,
        Some(origin) => origin.split_once("://").is_some_and(|(_, h)| Some(h) == get(header::HOST.as_str())),
    }
}

async fn submit(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> UiResult<Response> {
    if !same_origin(&headers) {
        return Err(UiError::new(StatusCode::FORBIDDEN, "a login form from another site is refused"));
    }
    if let Err(held) = state.failed_logins.check(client) {
        let secs = held.seconds();
        let page = public_page(
            "Sign in",
            form("/", Some(&format!("Too many failed sign-ins from this address: try again in {secs} seconds."))),
        );
        return Ok((StatusCode::TOO_MANY_REQUESTS, [(header::RETRY_AFTER, secs.to_string())], page).into_response());
    }
    let f: LoginForm = form_fields(&body)?;
    let next = safe_next(f.next.as_deref()).to_string();
    match auth::open_session(&*state.engine.store, f.token.trim()).await.map_err(ApiError::internal)? {
        Some(s) => signed_in(&state, &headers, s, &next),
        None => {
            state.failed_logins.failed(client, "login form");
            Ok((
                StatusCode::UNAUTHORIZED,
                public_page("Sign in", form(&next, Some("That token is not valid (or was revoked)."))),
            )
                .into_response())
        }
    }
}

fn signed_in(state: &AppState, headers: &HeaderMap, s: NewSession, next: &str) -> UiResult<Response> {
    let set = cookie(state, headers, &s.id, auth::SESSION_HOURS * 3600)?;
    let mut res = super::see_other(next);
    res.headers_mut().insert(header::SET_COOKIE, set);
    Ok(res)
}

async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    CsrfForm(viewer, _): CsrfForm<NoFields>,
) -> UiResult<Response> {
    auth::end_session(&*state.engine.store, &viewer.session_id).await.map_err(ApiError::internal)?;
    let mut res = super::see_other("/login");
    res.headers_mut().insert(header::SET_COOKIE, cookie(&state, &headers, "", 0)?);
    Ok(res)
}
