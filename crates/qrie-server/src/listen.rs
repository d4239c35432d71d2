//! The connection layer of `qrie serve`: accepting, HTTP/1.1 with hyper, and
//! the limits that keep hostile or careless clients from taking the server
//! down (see [`Limits`]).
//!
//! `axum::serve` sets no timer on hyper, so hyper's header-read timeout never
//! runs there and a client that opens a connection and sends half a request
//! holds a descriptor for ever. Here every connection has a deadline for its
//! request head, and the number of connections is capped below the process's
//! descriptor limit: when the cap is reached the server stops accepting (the
//! kernel's backlog holds newcomers) instead of failing `accept` with EMFILE.

use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;

use crate::AppState;

/// How much of the server one client, or all of them, may hold.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Time a connection has to send a request's head (request line and
    /// headers), counted from when the server starts waiting for it: on a new
    /// connection and between requests on a kept-alive one, so it is also the
    /// idle keep-alive timeout.
    pub header_timeout: Duration,
    /// Time a request has from its head to its response's head, body reading
    /// included; past it the answer is 408.
    pub request_timeout: Duration,
    /// Connections open at once; more wait in the kernel's backlog.
    pub max_connections: usize,
    /// Requests being handled at once, other than event ingestion.
    pub max_requests: usize,
    /// `POST /api/events` requests being handled at once (each may carry a
    /// whole CloudTrail file).
    pub max_event_requests: usize,
    /// How long a request waits for one of those slots before the answer is
    /// 503 with `Retry-After`.
    pub queue_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(120),
            max_connections: 1024,
            max_requests: 256,
            max_event_requests: 4,
            queue_timeout: Duration::from_secs(10),
        }
    }
}

/// Connection counts, for `/metrics`.
#[derive(Debug, Default)]
pub struct ConnectionStats {
    pub open: AtomicU64,
    pub accepted: AtomicU64,
}

/// Serves `state`'s application on `listener` until `shutdown` resolves, then
/// lets requests in flight finish.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = state.config.limits.clone();
    let stats = state.connections.clone();
    let app = crate::router(state);
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(limits.header_timeout);
    tokio::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of descriptors (other files of this process) or a
                    // connection reset before it was taken: wait, don't spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        stats.accepted.fetch_add(1, Ordering::Relaxed);
        stats.open.fetch_add(1, Ordering::Relaxed);
        let app = app.clone();
        let service = TowerToHyperService::new(tower::service_fn(move |mut req: hyper::Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            app.clone().oneshot(req.map(axum::body::Body::new))
        }));
        let conn = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        let stats = stats.clone();
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
            stats.open.fetch_sub(1, Ordering::Relaxed);
            drop(slot);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// The client's address as the connection layer saw it (none when the
/// application is driven without a network, as tests and Lambda do).
pub fn peer(req: &axum::http::request::Parts) -> Option<SocketAddr> {
    req.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0)
}
