//! Failed sign-ins, limited per client address: a token cannot be guessed at
//! thousands a second. Every failure is logged with its address; past
//! [`FAILURES_ALLOWED`] in a [`WINDOW`], that address gets 429 with
//! `Retry-After` until the window ends, even for a right token.
//!
//! Addresses are keyed by IPv4 address or IPv6 /64 (one host usually holds a
//! whole /64). The table is bounded: past [`MAX_TRACKED`] addresses, expired
//! windows are dropped, and if all are current a new address is not tracked
//! (and that is logged), so a spread-out attack costs memory it cannot grow.

use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::{ApiError, AppState};

pub const FAILURES_ALLOWED: u32 = 10;
pub const WINDOW: Duration = Duration::from_secs(60);
const MAX_TRACKED: usize = 100_000;

#[derive(Default)]
pub struct FailedLogins {
    windows: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

/// The answer to a client over its limit.
#[derive(Debug)]
pub struct Throttled {
    pub retry_after: Duration,
}

impl Throttled {
    pub fn seconds(&self) -> u64 {
        self.retry_after.as_secs().max(1)
    }
}

impl From<Throttled> for ApiError {
    fn from(t: Throttled) -> Self {
        let secs = t.seconds();
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_failed_logins",
            format!("too many failed sign-ins from this address: try again in {secs} s"),
        )
        .retry_after(secs)
    }
}

fn key(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V4(_) => addr,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

impl FailedLogins {
    /// Err while `addr` is over its limit.
    pub fn check(&self, addr: Option<IpAddr>) -> Result<(), Throttled> {
        let Some(addr) = addr else { return Ok(()) };
        let windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        match windows.get(&key(addr)) {
            Some((start, n)) if *n >= FAILURES_ALLOWED && start.elapsed() < WINDOW => {
                Err(Throttled { retry_after: WINDOW - start.elapsed() })
            }
            _ => Ok(()),
        }
    }

    /// Records and logs a failed sign-in (`how`: the form, the API, a bearer token).
    pub fn failed(&self, addr: Option<IpAddr>, how: &'static str) {
        let Some(addr) = addr else {
            tracing::warn!(how, "failed sign-in (client address unknown)");
            return;
        };
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if windows.len() >= MAX_TRACKED && !windows.contains_key(&key(addr)) {
            windows.retain(|_, (start, _)| now.duration_since(*start) < WINDOW);
            if windows.len() >= MAX_TRACKED {
                tracing::warn!(%addr, how, "failed sign-in; too many addresses failing to track this one");
                return;
            }
        }
        let entry = windows.entry(key(addr)).or_insert((now, 0));
        if now.duration_since(entry.0) >= WINDOW {
            *entry = (now, 0);
        }
        entry.1 += 1;
        tracing::warn!(%addr, how, failures = entry.1, "failed sign-in");
    }
}

/// The client's address as an extractor (see [`client_addr`]).
pub struct ClientAddr(pub Option<IpAddr>);

impl axum::extract::FromRequestParts<AppState> for ClientAddr {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(client_addr(state, parts)))
    }
}

/// The client's address: the connection's peer, or behind a trusted proxy
/// the last address of `X-Forwarded-For` (the one the proxy appended).
pub fn client_addr(state: &AppState, parts: &Parts) -> Option<IpAddr> {
    client_addr_of(state, &parts.headers, crate::listen::peer(parts))
}

pub fn client_addr_of(state: &AppState, headers: &HeaderMap, peer: Option<std::net::SocketAddr>) -> Option<IpAddr> {
    if state.config.trust_proxy {
        let forwarded = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .next_back()
            .and_then(|a| a.trim().parse::<IpAddr>().ok());
        if forwarded.is_some() {
            return forwarded;
        }
    }
    peer.map(|p| p.ip())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_held_after_its_allowed_failures_and_others_are_not() {
        let limits = FailedLogins::default();
        let a: IpAddr = "192.0.2.7".parse().unwrap();
        for _ in 0..FAILURES_ALLOWED {
            assert!(limits.check(Some(a)).is_ok());
            limits.failed(Some(a), "test");
        }
        let held = limits.check(Some(a)).unwrap_err();
        assert!(held.retry_after <= WINDOW && held.retry_after > Duration::ZERO);
        assert!(limits.check(Some("192.0.2.8".parse().unwrap())).is_ok());
        // One /64 is one client.
        let v6a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        for _ in 0..FAILURES_ALLOWED {
            limits.failed(Some(v6a), "test");
        }
        assert!(limits.check(Some("2001:db8:1:2:ffff::9".parse().unwrap())).is_err());
        assert!(limits.check(Some("2001:db8:1:3::1".parse().unwrap())).is_ok());
    }
}
