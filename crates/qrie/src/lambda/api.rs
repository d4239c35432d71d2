//! The API function: the server's router, unchanged, behind a Function URL
//! (payload format 2.0, converted by `lambda_http`). Sweeps that requests
//! start go to the scanner and inventory functions ([`LambdaLauncher`]).

use anyhow::{Context as _, Result};
use qrie_server::{AppState, ServerConfig};
use std::sync::Arc;

use super::launcher::{Invoker, LambdaInvoker, LambdaLauncher, SweepFunctions};
use super::{Container, INVENTORY_ENV, SCANNER_ENV};

/// The application as the function serves it. The engine is made once: the
/// router holds it for the container's life, as `qrie serve` does for its own.
pub async fn router(
    container: &Container,
    invoker: Arc<dyn Invoker>,
    functions: SweepFunctions,
) -> Result<axum::Router> {
    let engine = container.engine().await?;
    // Function URLs are https only.
    let config = ServerConfig {
        secure_cookies: true,
        trust_proxy: true,
        // The stack sets it when it knows the UI's address.
        public_url: std::env::var("QRIE_PUBLIC_URL").ok().filter(|u| !u.is_empty()),
        ..ServerConfig::default()
    };
    let launcher = LambdaLauncher { invoker, functions };
    let mut state = AppState::new(engine, config).with_launcher(Arc::new(launcher));
    // The stack names its archive bucket in QRIE_ARCHIVE_TO.
    let archive_to = std::env::var("QRIE_ARCHIVE_TO").ok();
    if let Some(sink) = container.ctx.archive_sink(archive_to.as_deref()).await? {
        state = state.with_archive(sink);
    }
    Ok(qrie_server::router(state))
}

/// The function named by `var`, which the API needs for `what`.
fn function_env(var: &str, what: &str) -> Result<String> {
    std::env::var(var).ok().filter(|s| !s.is_empty()).with_context(|| format!("{var} must name the {what}"))
}

pub async fn serve(container: Arc<Container>) -> Result<(), lambda_runtime::Error> {
    let functions = SweepFunctions {
        scanner: function_env(SCANNER_ENV, "scanner function: policy sweeps that requests start run in it")?,
        inventory: function_env(INVENTORY_ENV, "inventory function: inventory sweeps that requests start run in it")?,
    };
    let invoker = Arc::new(LambdaInvoker::from_env().await);
    let app = router(&container, invoker, functions).await.map_err(|e| format!("{e:#}"))?;
    lambda_http::run(app).await
}
