//! `qrie serve`: the API over the store, with the simulated cloud for demo
//! accounts (as `qrie demo` builds it).

use anyhow::{Context, Result};
use qrie_server::{auth, AppState, ServerConfig};

use crate::cli::ServeArgs;
use crate::context::Ctx;

pub async fn run(ctx: &Ctx, args: ServeArgs) -> Result<()> {
    let (engine, _estate) = ctx.engine_with_cloud().await?;
    if let Some(new) = auth::ensure_admin(&*ctx.store).await? {
        eprintln!(
            "no admin token existed: created one (shown once, only its hash is stored):\n\n  {}\n\n\
use it as `Authorization: Bearer <token>`; `qrie tokens create --role viewer` makes more",
            new.token
        );
    }
    let listener =
        tokio::net::TcpListener::bind(args.listen).await.with_context(|| format!("listening on {}", args.listen))?;
    let addr = listener.local_addr()?;
    eprintln!(
        "qrie serves http://{addr}/ (API under http://{addr}/api, description at /api/openapi.json); Ctrl-C stops"
    );
    tracing::info!(%addr, store = %ctx.store.location(), "serving");
    let state = AppState::new(engine, ServerConfig::default());
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
        eprintln!("stopping: finishing requests in flight");
    };
    qrie_server::serve(listener, state, shutdown).await.context("serving")?;
    Ok(())
}
