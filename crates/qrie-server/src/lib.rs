//! qrie's HTTP server: the JSON API under `/api` (a thin layer over
//! [`qrie_engine::Engine`]), `/healthz`, `/metrics`, and the web UI's pages
//! ([`ui`]) beside `/api`.
//!
//! [`router`] is the whole application; tests drive it without a network.
//! Every route is registered through [`Routes`], which also records it, so a
//! test can hold the OpenAPI document ([`openapi`]) to exactly the routes served.

pub mod accounts;
pub mod auth;
pub mod error;
pub mod events;
pub mod extract;
pub mod findings;
pub mod integrations;
pub mod jobs;
pub mod json;
pub mod launcher;
pub mod listen;
pub mod metrics;
pub mod openapi;
pub mod page_token;
pub mod policies;
pub mod resources;
pub mod session;
pub mod summary;
pub mod suppressions;
pub mod throttle;
pub mod ui;

use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderName, HeaderValue, Method, StatusCode};
use axum::routing::MethodRouter;
use axum::Router;
use qrie_engine::{Engine, EngineError, Progress};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

pub use error::{ApiError, ApiResult};

/// Limits and switches of one server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Request bodies elsewhere than `/api/events`.
    pub body_limit: usize,
    /// `/api/events` takes whole CloudTrail files.
    pub events_body_limit: usize,
    /// Mark the session cookie `Secure` (serving over https).
    pub secure_cookies: bool,
    /// Believe `X-Forwarded-Proto` and `X-Forwarded-For` (every request comes
    /// through a proxy that sets them).
    pub trust_proxy: bool,
    /// Where people reach the UI, for links in exported findings (none: no links).
    pub public_url: Option<String>,
    /// Timeouts and caps on connections and requests.
    pub limits: listen::Limits,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            body_limit: 1024 * 1024,
            events_body_limit: qrie_events::MAX_INPUT_BYTES,
            secure_cookies: false,
            trust_proxy: false,
            public_url: None,
            limits: listen::Limits::default(),
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub engine: Engine,
    pub started: Instant,
    pub config: Arc<ServerConfig>,
    pub metrics: Arc<metrics::Metrics>,
    /// The dashboard as this process last read it (see [`summary::DashboardCopy`]).
    pub dashboard: Arc<summary::DashboardCopy>,
    /// Where the sweeps requests start run: here by default.
    pub launcher: Arc<dyn launcher::JobLauncher>,
    /// Connections open and accepted (by [`listen::serve`]).
    pub connections: Arc<listen::ConnectionStats>,
    /// Slots for requests in flight, by class.
    pub request_slots: Arc<RequestSlots>,
    /// Failed sign-ins by client address.
    pub failed_logins: Arc<throttle::FailedLogins>,
    /// Seals and checks the pagination tokens handed out.
    pub page_tokens: Arc<page_token::PageTokens>,
    /// Where findings are archived before they are purged; without one,
    /// nothing can be purged (`qrie serve --archive-to`).
    pub archive: Option<Arc<dyn qrie_engine::archive::ArchiveSink>>,
}

/// Caps on requests in flight: event ingestion (large bodies) apart from the rest.
pub struct RequestSlots {
    general: tokio::sync::Semaphore,
    events: tokio::sync::Semaphore,
}

impl RequestSlots {
    fn new(limits: &listen::Limits) -> Self {
        RequestSlots {
            general: tokio::sync::Semaphore::new(limits.max_requests.max(1)),
            events: tokio::sync::Semaphore::new(limits.max_event_requests.max(1)),
        }
    }
}

impl AppState {
    pub fn new(engine: Engine, config: ServerConfig) -> Self {
        AppState {
            engine,
            started: Instant::now(),
            metrics: Arc::new(metrics::Metrics::default()),
            dashboard: Arc::new(summary::DashboardCopy::default()),
            launcher: Arc::new(launcher::LocalJobs),
            connections: Arc::new(listen::ConnectionStats::default()),
            request_slots: Arc::new(RequestSlots::new(&config.limits)),
            failed_logins: Arc::new(throttle::FailedLogins::default()),
            page_tokens: Arc::new(page_token::PageTokens::default()),
            archive: None,
            config: Arc::new(config),
        }
    }

    /// Archives findings there before purging them.
    pub fn with_archive(mut self, sink: Arc<dyn qrie_engine::archive::ArchiveSink>) -> Self {
        self.archive = Some(sink);
        self
    }

    /// The archive destination, or the error that says how to configure one.
    pub fn archive_sink(&self) -> Result<&dyn qrie_engine::archive::ArchiveSink, ApiError> {
        self.archive.as_deref().ok_or_else(|| {
            ApiError::new(
                axum::http::StatusCode::CONFLICT,
                "no_archive",
                "no archive destination is configured, so nothing can be purged: start the server with \
                 --archive-to DIR|s3://bucket/prefix/ (QRIE_ARCHIVE_TO)",
            )
        })
    }

    /// Runs the sweeps requests start through `launcher` instead.
    pub fn with_launcher(mut self, launcher: Arc<dyn launcher::JobLauncher>) -> Self {
        self.launcher = launcher;
        self
    }
}

/// A router that remembers what it serves, for the OpenAPI test.
pub struct Routes {
    router: Router<AppState>,
    served: Vec<(Method, String)>,
    prefix: &'static str,
}

impl Routes {
    fn new(prefix: &'static str) -> Self {
        Routes { router: Router::new(), served: Vec::new(), prefix }
    }

    /// Registers `methods` on `path`; `methods` must list what `route` serves.
    pub fn add(mut self, path: &'static str, methods: &[Method], route: MethodRouter<AppState>) -> Self {
        for m in methods {
            self.served.push((m.clone(), format!("{}{path}", self.prefix)));
        }
        self.router = self.router.route(path, route);
        self
    }
}

fn api_routes(state: &AppState) -> Routes {
    let routes = Routes::new("/api");
    let routes = resources::routes(routes);
    let routes = accounts::routes(routes);
    let routes = findings::routes(routes);
    let routes = policies::routes(routes);
    let routes = suppressions::routes(routes);
    let routes = integrations::routes(routes);
    let routes = summary::routes(routes);
    let routes = jobs::routes(routes);
    let routes = events::routes(routes, state.config.events_body_limit);
    let routes = session::routes(routes);
    openapi::routes(routes)
}

/// `(method, path)` of every route [`router`] serves, paths as in OpenAPI
/// (`{name}` for a parameter, wildcards included).
pub fn served_routes(state: &AppState) -> Vec<(Method, String)> {
    let mut all = top_routes().served;
    all.extend(api_routes(state).served);
    all.into_iter().map(|(m, p)| (m, p.replace("{*", "{"))).collect()
}

fn top_routes() -> Routes {
    let routes = Routes::new("").add("/healthz", &[Method::GET], axum::routing::get(healthz));
    metrics::routes(routes)
}

async fn healthz() -> json::Json<serde_json::Value> {
    json::Json(serde_json::json!({"status": "ok"}))
}

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// The application: the API under `/api`, the pages beside it.
pub fn router(state: AppState) -> Router {
    let api = api_routes(&state)
        .router
        .fallback(api_not_found)
        .layer(SetResponseHeaderLayer::overriding(header::CACHE_CONTROL, HeaderValue::from_static("no-store")));
    top_routes()
        .router
        .nest("/api", api)
        .merge(ui::routes())
        .fallback(ui::not_found)
        .layer(axum::middleware::from_fn_with_state(state.clone(), limit_requests))
        .layer(axum::middleware::from_fn_with_state(state.clone(), metrics::count_requests))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, state.config.limits.request_timeout))
        .layer(DefaultBodyLimit::max(state.config.body_limit))
        .layer(SetResponseHeaderLayer::overriding(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP)))
        .layer(SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::overriding(header::REFERRER_POLICY, HeaderValue::from_static("same-origin")))
        .layer(SetResponseHeaderLayer::overriding(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static("cross-origin-opener-policy"),
            HeaderValue::from_static("same-origin"),
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Holds a slot of the request's class while it is handled; a request that
/// finds none within the queue timeout is answered 503 with `Retry-After`.
async fn limit_requests(
    axum::extract::State(state): axum::extract::State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let slots = &state.request_slots;
    let class =
        if req.method() == Method::POST && req.uri().path() == "/api/events" { &slots.events } else { &slots.general };
    match tokio::time::timeout(state.config.limits.queue_timeout, class.acquire()).await {
        Ok(Ok(_slot)) => next.run(req).await,
        _ => {
            let busy = ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                "the server is at its request limit; retry shortly",
            );
            ([(header::RETRY_AFTER, "1")], busy).into_response()
        }
    }
}

async fn api_not_found() -> ApiError {
    ApiError::not_found("no_route", "no such API route: /api/openapi.json lists them")
}

/// Hands the job id over as soon as the engine records the job.
struct Ticket(Mutex<Option<tokio::sync::oneshot::Sender<String>>>);

impl Progress for Ticket {
    fn job_started(&self, job_id: &str) {
        if let Some(tx) = self.0.lock().ok().and_then(|mut t| t.take()) {
            let _ = tx.send(job_id.to_string());
        }
    }
}

/// How a background operation went as far as the request can tell.
pub enum Started<T> {
    /// A job is recorded and running; it goes on after the response.
    Job(String),
    /// The operation finished without starting a job.
    Done(T),
}

/// Runs `work` in the background and returns once it has recorded its job (so
/// the caller can answer 202 with the id), or once it ended without one:
/// errors before the job starts (validation, unknown ids, conflicts) are the
/// request's errors. Errors after are the job's: recorded on it and logged.
///
/// The work runs on a blocking thread that drives it with the runtime's
/// handle: rustc cannot yet prove the sweep futures `Send` (a higher-ranked
/// lifetime in their listing stream), which `tokio::spawn` needs. The future
/// is built on that thread and never moves, so it need not be `Send`.
pub async fn spawn_job<T, F, Fut>(work: F) -> ApiResult<Started<T>>
where
    T: Send + 'static,
    F: FnOnce(Arc<dyn Progress>) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<T, EngineError>>,
{
    let (tx, rx) = tokio::sync::oneshot::channel();
    let progress: Arc<dyn Progress> = Arc::new(Ticket(Mutex::new(Some(tx))));
    let runtime = tokio::runtime::Handle::current();
    let handle = tokio::task::spawn_blocking(move || {
        let result = runtime.block_on(work(progress));
        if let Err(e) = &result {
            tracing::error!(error = %e, "background job failed");
        }
        result
    });
    match rx.await {
        Ok(id) => Ok(Started::Job(id)),
        Err(_) => match handle.await {
            Ok(result) => Ok(Started::Done(result?)),
            Err(e) => Err(ApiError::internal(e)),
        },
    }
}

pub use listen::serve;
