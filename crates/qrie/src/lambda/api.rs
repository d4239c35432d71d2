//! The API function: the server's router, unchanged, behind a Function URL
//! (payload format 2.0, converted by `lambda_http`). Sweeps that requests
//! start go to the scanner function ([`ScannerLauncher`]).

use anyhow::{Context as _, Result};
use qrie_server::{AppState, ServerConfig};
use std::sync::Arc;

use super::launcher::{Invoker, LambdaInvoker, ScannerLauncher};
use super::{Container, SCANNER_ENV};

/// The application as the function serves it. The engine is made once: the
/// router holds it for the container's life, as `qrie serve` does for its own.
pub async fn router(container: &Container, invoker: Arc<dyn Invoker>, scanner: String) -> Result<axum::Router> {
    let engine = container.engine().await?;
    // Function URLs are https only.
    let config = ServerConfig { secure_cookies: true, ..ServerConfig::default() };
    let launcher = ScannerLauncher { invoker, function: scanner };
    Ok(qrie_server::router(AppState::new(engine, config).with_launcher(Arc::new(launcher))))
}

pub async fn serve(container: Arc<Container>) -> Result<(), lambda_runtime::Error> {
    let scanner = std::env::var(SCANNER_ENV)
        .ok()
        .filter(|s| !s.is_empty())
        .with_context(|| format!("{SCANNER_ENV} must name the scanner function: launches hand their sweeps to it"))?;
    let invoker = Arc::new(LambdaInvoker::from_env().await);
    let app = router(&container, invoker, scanner).await.map_err(|e| format!("{e:#}"))?;
    lambda_http::run(app).await
}
