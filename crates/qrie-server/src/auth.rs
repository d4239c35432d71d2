//! Tokens, roles and sessions.
//!
//! A token is `qrie_<id>_<secret>`: the id finds its record, the secret proves
//! possession. Only SHA-256 of the secret (base64url) is stored, in the store's
//! key-value space (namespace `tokens`), so a copy of the store grants nothing.
//! Hashes are compared in constant time.
//!
//! Sessions (for the UI) are random ids in an HttpOnly, SameSite=Strict cookie;
//! the store keeps them under the hash of the id (namespace `sessions`), with
//! the token they came from (revoking it ends them) and an expiry. A
//! cookie-authenticated request that changes state must carry `X-CSRF-Token`,
//! which is derived from the session id: the UI can compute it for its forms,
//! and another site cannot, since it cannot read the cookie.

use axum::extract::FromRequestParts;
use axum::http::{header, request::Parts, Method};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};
use qrie_store::Store;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::AppState;

pub const TOKENS_NS: &str = "tokens";
pub const SESSIONS_NS: &str = "sessions";
pub const SESSION_COOKIE: &str = "qrie_session";
pub const CSRF_HEADER: &str = "x-csrf-token";
const TOKEN_PREFIX: &str = "qrie_";
pub const SESSION_HOURS: i64 = 12;

/// What a caller may do; each role includes the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads everything.
    Viewer,
    /// Also starts sweeps and posts events.
    Operator,
    /// Also manages policies, accounts and tokens.
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }
}

impl std::str::FromStr for Role {
    type Err = qrie_model::ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "viewer" => Ok(Role::Viewer),
            "operator" => Ok(Role::Operator),
            "admin" => Ok(Role::Admin),
            _ => Err(qrie_model::ValidationError::Choice {
                what: "role",
                value: s.into(),
                expected: "viewer, operator, admin",
            }),
        }
    }
}

/// A token as stored: never the secret itself.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TokenRecord {
    pub id: String,
    pub name: String,
    pub role: Role,
    /// base64url(SHA-256(secret)).
    pub hash: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A token just created: the clear value exists only here.
pub struct NewToken {
    pub record: TokenRecord,
    pub token: String,
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error(transparent)]
    Store(#[from] qrie_store::StoreError),
    #[error("unknown token {0:?}: `qrie tokens list` lists them")]
    Unknown(String),
    #[error("stored token record {0:?} cannot be decoded")]
    Corrupt(String),
    #[error(transparent)]
    Invalid(#[from] qrie_model::ValidationError),
}

fn random_b64(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

fn hash(secret: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(secret.as_bytes()))
}

/// Compares without an early exit, so timing says nothing about where two
/// hashes differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub async fn create_token(store: &dyn Store, role: Role, name: Option<String>) -> Result<NewToken, TokenError> {
    if let Some(name) = &name {
        qrie_model::text::check_len("the token name", name, qrie_model::text::limits::TOKEN_NAME)?;
    }
    // 12 hex characters: short enough to type in `tokens revoke`, no `_` inside.
    let mut idb = [0u8; 6];
    rand::rng().fill_bytes(&mut idb);
    let id: String = idb.iter().map(|b| format!("{b:02x}")).collect();
    let secret = random_b64(32);
    let record = TokenRecord {
        name: name.unwrap_or_else(|| format!("{}-{id}", role.as_str())),
        id: id.clone(),
        role,
        hash: hash(&secret),
        created_at: Utc::now(),
        revoked_at: None,
    };
    store.kv_put(TOKENS_NS, &id, to_value(&record)).await?;
    Ok(NewToken { record, token: format!("{TOKEN_PREFIX}{id}_{secret}") })
}

fn to_value<T: Serialize>(v: &T) -> serde_json::Value {
    serde_json::to_value(v).expect("plain records serialize")
}

/// Every token, revoked ones included, ordered by id.
pub async fn list_tokens(store: &dyn Store) -> Result<Vec<TokenRecord>, TokenError> {
    store
        .kv_list(TOKENS_NS)
        .await?
        .into_iter()
        .map(|(k, v)| serde_json::from_value(v).map_err(|_| TokenError::Corrupt(k)))
        .collect()
}

/// Marks a token revoked (kept, so `tokens list` shows what existed); its
/// sessions end with it.
pub async fn revoke_token(store: &dyn Store, id: &str) -> Result<TokenRecord, TokenError> {
    let v = store.kv_get(TOKENS_NS, id).await?.ok_or_else(|| TokenError::Unknown(id.into()))?;
    let mut record: TokenRecord = serde_json::from_value(v).map_err(|_| TokenError::Corrupt(id.into()))?;
    if record.revoked_at.is_none() {
        record.revoked_at = Some(Utc::now());
        store.kv_put(TOKENS_NS, id, to_value(&record)).await?;
    }
    Ok(record)
}

/// Whether any usable admin token exists (`qrie serve` creates one if not).
pub async fn has_admin(store: &dyn Store) -> Result<bool, TokenError> {
    Ok(list_tokens(store).await?.iter().any(|t| t.role == Role::Admin && t.revoked_at.is_none()))
}

/// The live record a clear token stands for, if any.
pub async fn verify_token(store: &dyn Store, token: &str) -> Result<Option<TokenRecord>, TokenError> {
    let Some((id, secret)) = token.strip_prefix(TOKEN_PREFIX).and_then(|r| r.split_once('_')) else {
        return Ok(None);
    };
    if id.is_empty() || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    live_token(store, id, Some(secret)).await
}

async fn live_token(store: &dyn Store, id: &str, secret: Option<&str>) -> Result<Option<TokenRecord>, TokenError> {
    let Some(v) = store.kv_get(TOKENS_NS, id).await? else { return Ok(None) };
    let record: TokenRecord = serde_json::from_value(v).map_err(|_| TokenError::Corrupt(id.into()))?;
    if record.revoked_at.is_some() {
        return Ok(None);
    }
    if let Some(secret) = secret {
        if !constant_time_eq(hash(secret).as_bytes(), record.hash.as_bytes()) {
            return Ok(None);
        }
    }
    Ok(Some(record))
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SessionRecord {
    token_id: String,
    expires_at: DateTime<Utc>,
    /// Set by logout; the kv space has no delete.
    ended: bool,
}

/// A session just opened: the cookie value and its CSRF token.
pub struct NewSession {
    pub id: String,
    pub csrf: String,
    pub role: Role,
    pub expires_at: DateTime<Utc>,
}

/// The CSRF token of a session: derived, so nothing more is stored.
pub fn csrf_for(session_id: &str) -> String {
    hash(&format!("csrf:{session_id}"))
}

pub async fn open_session(store: &dyn Store, token: &str) -> Result<Option<NewSession>, TokenError> {
    let Some(record) = verify_token(store, token).await? else { return Ok(None) };
    Ok(Some(session_for(store, record).await?))
}

async fn session_for(store: &dyn Store, record: TokenRecord) -> Result<NewSession, TokenError> {
    let id = random_b64(32);
    let expires_at = Utc::now() + Duration::hours(SESSION_HOURS);
    let s = SessionRecord { token_id: record.id, expires_at, ended: false };
    store.kv_put(SESSIONS_NS, &hash(&id), to_value(&s)).await?;
    Ok(NewSession { csrf: csrf_for(&id), id, role: record.role, expires_at })
}

pub const LOGIN_LINKS_NS: &str = "login-links";
/// How long a one-time login link stays usable.
pub const LOGIN_LINK_MINUTES: i64 = 15;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct LoginLinkRecord {
    token_id: String,
    expires_at: DateTime<Utc>,
}

/// A one-time login secret for the token `token_id` (as `qrie demo` prints
/// in its login URL): stored hashed, usable once, for [`LOGIN_LINK_MINUTES`].
pub async fn create_login_link(store: &dyn Store, token_id: &str) -> Result<String, TokenError> {
    if live_token(store, token_id, None).await?.is_none() {
        return Err(TokenError::Unknown(token_id.into()));
    }
    let secret = random_b64(32);
    let record =
        LoginLinkRecord { token_id: token_id.into(), expires_at: Utc::now() + Duration::minutes(LOGIN_LINK_MINUTES) };
    store.kv_put(LOGIN_LINKS_NS, &hash(&secret), to_value(&record)).await?;
    Ok(secret)
}

/// Trades a login-link secret for a session, once: the store's conditional
/// lock on the link's hash admits exactly one caller, so two requests racing
/// with the same link cannot both log in. Unknown, used, expired links, and
/// links whose token was revoked, give `None`.
pub async fn redeem_login_link(store: &dyn Store, secret: &str) -> Result<Option<NewSession>, TokenError> {
    let key = hash(secret);
    let Some(v) = store.kv_get(LOGIN_LINKS_NS, &key).await? else { return Ok(None) };
    let Ok(link) = serde_json::from_value::<LoginLinkRecord>(v) else { return Ok(None) };
    let now = Utc::now();
    if link.expires_at <= now {
        return Ok(None);
    }
    // Held past the link's expiry, so the lock never frees while the link works.
    let used = format!("login-link:{key}");
    let holder = random_b64(16);
    if !store.try_lock(&used, &holder, now, link.expires_at + Duration::minutes(1)).await? {
        return Ok(None);
    }
    let Some(record) = live_token(store, &link.token_id, None).await? else { return Ok(None) };
    Ok(Some(session_for(store, record).await?))
}

/// The first live admin token, for a login link on a store that has one.
pub async fn live_admin(store: &dyn Store) -> Result<Option<TokenRecord>, TokenError> {
    Ok(list_tokens(store).await?.into_iter().find(|t| t.role == Role::Admin && t.revoked_at.is_none()))
}

pub async fn end_session(store: &dyn Store, session_id: &str) -> Result<(), TokenError> {
    let key = hash(session_id);
    if let Some(v) = store.kv_get(SESSIONS_NS, &key).await? {
        if let Ok(mut s) = serde_json::from_value::<SessionRecord>(v) {
            s.ended = true;
            store.kv_put(SESSIONS_NS, &key, to_value(&s)).await?;
        }
    }
    Ok(())
}

/// Whether `sent` is the CSRF token of the session `session_id` (constant time).
pub fn csrf_matches(session_id: &str, sent: &str) -> bool {
    constant_time_eq(sent.as_bytes(), csrf_for(session_id).as_bytes())
}

/// The caller a live session stands for, without any CSRF check: the API's
/// extractor and the UI's forms each check the token where they carry it.
pub async fn session_principal(store: &dyn Store, session_id: &str) -> Result<Option<Principal>, TokenError> {
    Ok(session_token(store, session_id).await?.map(|r| Principal {
        token_id: r.id,
        name: r.name,
        role: r.role,
        via: Via::Session(session_id.to_string()),
    }))
}

async fn session_token(store: &dyn Store, session_id: &str) -> Result<Option<TokenRecord>, TokenError> {
    let Some(v) = store.kv_get(SESSIONS_NS, &hash(session_id)).await? else { return Ok(None) };
    let Ok(s) = serde_json::from_value::<SessionRecord>(v) else { return Ok(None) };
    if s.ended || s.expires_at <= Utc::now() {
        return Ok(None);
    }
    live_token(store, &s.token_id, None).await
}

/// How a caller proved who it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    Bearer,
    /// The session id, for logout.
    Session(String),
}

/// An authenticated caller. As an extractor it answers 401 without valid
/// credentials and 403 for a cookie-authenticated change without its CSRF
/// token; handlers then call [`Principal::require`] for their role.
#[derive(Debug, Clone)]
pub struct Principal {
    pub token_id: String,
    /// The token's name: what the audit log records as the actor.
    pub name: String,
    pub role: Role,
    pub via: Via,
}

impl Principal {
    /// How the audit log names this caller.
    pub fn actor(&self) -> String {
        format!("token:{}", self.name)
    }

    /// The engine acting for this caller (its management operations are
    /// audited under [`actor`](Self::actor)).
    pub fn engine(&self, state: &AppState) -> qrie_engine::Engine {
        state.engine.acting_as(&self.actor())
    }

    pub fn require(&self, role: Role) -> Result<(), ApiError> {
        if self.role >= role {
            Ok(())
        } else {
            Err(ApiError::forbidden(
                "forbidden",
                format!("this needs the {} role; the token has {}", role.as_str(), self.role.as_str()),
            ))
        }
    }
}

/// The value of one cookie in the request.
pub fn cookie(parts: &Parts, name: &str) -> Option<String> {
    parts.headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).find_map(|h| {
        h.split(';').find_map(|kv| {
            let (k, v) = kv.trim().split_once('=')?;
            (k == name).then(|| v.to_string())
        })
    })
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let store = &*state.engine.store;
        let fail = |e: TokenError| ApiError::internal(e);
        if let Some(h) = parts.headers.get(header::AUTHORIZATION) {
            let value = h.to_str().unwrap_or_default();
            let Some(token) = value.strip_prefix("Bearer ").map(str::trim) else {
                return Err(ApiError::unauthorized("expected `Authorization: Bearer qrie_...`"));
            };
            let client = crate::throttle::client_addr(state, parts);
            state.failed_logins.check(client)?;
            return match verify_token(store, token).await.map_err(fail)? {
                Some(r) => Ok(Principal { token_id: r.id, name: r.name, role: r.role, via: Via::Bearer }),
                None => {
                    state.failed_logins.failed(client, "bearer token");
                    Err(ApiError::unauthorized("invalid or revoked token"))
                }
            };
        }
        if let Some(sid) = cookie(parts, SESSION_COOKIE) {
            let Some(who) = session_principal(store, &sid).await.map_err(fail)? else {
                return Err(ApiError::unauthorized("session expired or ended: log in again"));
            };
            let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
            if !safe {
                let sent = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()).unwrap_or_default();
                if !csrf_matches(&sid, sent) {
                    return Err(ApiError::forbidden("csrf", "missing or wrong X-CSRF-Token header"));
                }
            }
            return Ok(who);
        }
        Err(ApiError::unauthorized("credentials required: `Authorization: Bearer qrie_...` or a session"))
    }
}

/// Creates an admin token when no live one exists, so that a new
/// installation can be used at all; returns it (to be shown once).
pub async fn ensure_admin(store: &dyn Store) -> Result<Option<NewToken>, TokenError> {
    if has_admin(store).await? {
        return Ok(None);
    }
    Ok(Some(create_token(store, Role::Admin, Some("initial-admin".into())).await?))
}
