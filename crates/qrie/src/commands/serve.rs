//! `qrie serve`, and the serving half of `qrie demo`: the API over the store,
//! with the simulated cloud for demo accounts (and, in a demo, an estate that
//! keeps changing at a gentle pace through the event path).

use anyhow::{Context, Result};
use qrie_engine::sim::SimEstate;
use qrie_engine::Engine;
use qrie_server::listen::Limits;
use qrie_server::{auth, AppState, ServerConfig};
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use crate::cli::{ServeArgs, ServerArgs};
use crate::context::Ctx;

pub async fn run(ctx: &Ctx, args: ServeArgs) -> Result<()> {
    let (engine, _estate) = ctx.engine_with_cloud().await?;
    serve(ctx, args.listen, &args.server, engine, None, false).await
}

/// The server's configuration from the command line, its connection cap
/// fitted to the descriptors this process may open.
fn config(args: &ServerArgs) -> ServerConfig {
    let limits = Limits {
        header_timeout: Duration::from_secs(args.header_timeout),
        request_timeout: Duration::from_secs(args.request_timeout),
        max_connections: fit_to_descriptors(args.max_connections),
        max_requests: args.max_requests as usize,
        max_event_requests: args.max_event_requests as usize,
        ..Limits::default()
    };
    ServerConfig {
        secure_cookies: args.secure_cookies,
        trust_proxy: args.trust_proxy,
        public_url: args.public_url.clone(),
        limits,
        ..ServerConfig::default()
    }
}

/// Descriptors kept for the store, logs and outgoing AWS calls.
const RESERVED_DESCRIPTORS: u64 = 256;

/// Raises the soft descriptor limit as far as `wanted` connections need (and
/// the hard limit allows); past it, lowers the cap with a warning: the process
/// must never run out of descriptors because of clients.
fn fit_to_descriptors(wanted: u64) -> usize {
    let needed = wanted + RESERVED_DESCRIPTORS;
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit/setrlimit only read and write the struct passed.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return wanted as usize;
    }
    if lim.rlim_cur < needed {
        let raised = libc::rlimit { rlim_cur: needed.min(lim.rlim_max), rlim_max: lim.rlim_max };
        // SAFETY: as above.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            lim.rlim_cur = raised.rlim_cur;
        }
    }
    let fits = lim.rlim_cur.saturating_sub(RESERVED_DESCRIPTORS).max(1);
    if fits < wanted {
        eprintln!(
            "warning: --max-connections {wanted} needs {needed} open files, this process may open {}: serving at most {fits} connections (raise `ulimit -n` for more)",
            lim.rlim_cur
        );
    }
    fits.min(wanted) as usize
}

/// Serves until Ctrl-C. With `changes`, the simulated estate makes one change
/// every so often and sends its CloudTrail record through the event path, so
/// findings open and resolve while an operator watches. With `login_link`, it
/// prints a one-time login URL for the web pages (signed in as admin).
pub async fn serve(
    ctx: &Ctx,
    listen: SocketAddr,
    server: &ServerArgs,
    engine: Engine,
    changes: Option<(Arc<RwLock<SimEstate>>, Duration)>,
    login_link: bool,
) -> Result<()> {
    if let Some(new) = auth::ensure_admin(&*ctx.store).await? {
        eprintln!(
            "no admin token existed: created one (shown once, only its hash is stored):\n\n  {}\n\n\
use it as `Authorization: Bearer <token>`; `qrie tokens create --role viewer` makes more",
            new.token
        );
    }
    let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| format!("listening on {listen}"))?;
    let addr = listener.local_addr()?;
    eprintln!(
        "qrie serves http://{addr}/ (web pages; API under http://{addr}/api, description at /api/openapi.json); Ctrl-C stops"
    );
    if login_link {
        print_login_link(ctx, addr).await?;
    }
    tracing::info!(%addr, store = %ctx.store.location(), "serving");
    let changer = changes.map(|(estate, every)| {
        eprintln!(
            "the simulated estate changes every {}s; its CloudTrail events re-evaluate what changed",
            every.as_secs()
        );
        tokio::spawn(keep_changing(engine.clone(), estate, every))
    });
    let resumer = tokio::spawn(resume_interrupted(engine.clone()));
    let dispatcher = match qrie_notify::Senders::new(server.public_url.clone()) {
        Ok(senders) => Some(tokio::spawn(keep_dispatching(engine.clone(), senders))),
        Err(e) => {
            eprintln!("warning: notifications cannot be sent from this server: {e}");
            None
        }
    };
    let mut state = AppState::new(engine, config(server));
    match ctx.archive_sink(server.archive.archive_to.as_deref()).await? {
        Some(sink) => {
            tracing::info!(archive = %sink.describe(), "findings are archived there before a purge");
            state = state.with_archive(sink);
        }
        None => eprintln!("no --archive-to: findings cannot be purged from the API or the web pages"),
    }
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
        eprintln!("stopping: finishing requests in flight");
    };
    let served = qrie_server::serve(listener, state, shutdown).await.context("serving");
    if let Some(task) = changer {
        task.abort();
    }
    resumer.abort();
    if let Some(task) = dispatcher {
        task.abort();
    }
    served
}

/// How often the server delivers the outbox's notices.
const DISPATCH_EVERY: Duration = Duration::from_secs(5);

/// Delivers notices of finding transitions to the integrations, every
/// [`DISPATCH_EVERY`] (a failed pass is logged; the next tries again).
async fn keep_dispatching(engine: Engine, senders: qrie_notify::Senders) {
    let mut tick = tokio::time::interval(DISPATCH_EVERY);
    loop {
        tick.tick().await;
        match engine.dispatch_notices(&senders).await {
            Ok(r) if r.delivered + r.failed + r.dead > 0 => {
                tracing::info!(delivered = r.delivered, failing = r.failed, dead = r.dead, "notifications")
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "delivering notifications failed"),
        }
    }
}

/// How often the server looks for inventory sweeps whose runner stopped.
const RESUME_EVERY: Duration = Duration::from_secs(30);

/// Records expired suppression rules, and resumes interrupted sweeps (a
/// `qrie inventory generate` or `qrie scan policies` killed, a server
/// stopped mid-sweep), one at a time, now and every
/// [`RESUME_EVERY`]: a job is interrupted within a minute of its runner
/// stopping. A resume that fails is logged; the job stays resumable.
async fn resume_interrupted(engine: Engine) {
    let mut tick = tokio::time::interval(RESUME_EVERY);
    loop {
        tick.tick().await;
        // Suppression rules that expired since the last tick: their
        // findings are unsuppressed already (the overlay is derived when
        // read); this records it once, as audit and finding-history entries.
        match engine.record_expiries(qrie_engine::Engine::now()).await {
            Ok(ids) if !ids.is_empty() => tracing::info!(rules = ?ids, "suppression rules expired"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "could not record expired suppression rules"),
        }
        let jobs = match engine.interrupted_sweeps().await {
            Ok(jobs) => jobs,
            Err(e) => {
                tracing::warn!(error = %e, "could not list interrupted sweeps");
                continue;
            }
        };
        for job in jobs {
            eprintln!("resuming the interrupted {} {}", job.kind.as_str(), job.id);
            match engine.resume_sweep(&job.id, 0, &qrie_engine::NoProgress).await {
                Ok(report) => tracing::info!(job = %job.id, status = report.job.status.as_str(), "resumed sweep ended"),
                Err(e) => tracing::warn!(job = %job.id, error = %e, "resuming the sweep failed"),
            }
        }
    }
}

/// One simulated change per tick, saved with the estate and processed as the
/// event AWS would send. A failing tick is logged; the next one tries again.
async fn keep_changing(engine: Engine, estate: Arc<RwLock<SimEstate>>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.tick().await;
    loop {
        tick.tick().await;
        let applied = match estate.write() {
            Ok(mut e) => {
                let changes = e.apply_changes(1, None);
                Some((changes, e.take_pending()))
            }
            Err(_) => None,
        };
        let Some((changes, pending)) = applied else {
            tracing::error!("simulated estate lock poisoned; no more changes");
            return;
        };
        if let Err(e) = pending.persist(&*engine.store).await {
            tracing::warn!(error = %e, "could not save the simulated change");
            continue;
        }
        let routed: Vec<_> =
            changes.iter().enumerate().map(|(i, c)| qrie_engine::events::route_record(i, c.record.clone())).collect();
        match engine.ingest_events(&routed).await {
            Ok(report) => {
                for c in &changes {
                    tracing::info!(account = %c.account_id, change = %c.description, opened = report.stats.findings_opened,
                        resolved = report.stats.findings_resolved, "simulated change");
                }
            }
            Err(e) => tracing::warn!(error = %e, "event processing failed"),
        }
    }
}

/// Prints a URL that signs the browser in once, as the first live admin
/// token: valid for a few minutes and for one use (only its hash is stored).
async fn print_login_link(ctx: &Ctx, addr: SocketAddr) -> Result<()> {
    let Some(admin) = auth::live_admin(&*ctx.store).await? else {
        anyhow::bail!("no live admin token to sign in with: `qrie tokens create --role admin` makes one");
    };
    let secret = auth::create_login_link(&*ctx.store, &admin.id).await?;
    // A wildcard listen address is not somewhere a browser can go.
    let host = if addr.ip().is_unspecified() { SocketAddr::from(([127, 0, 0, 1], addr.port())) } else { addr };
    eprintln!(
        "\nopen the web UI (this link signs you in once, within {} minutes):\n\n  http://{host}/login?link={secret}\n",
        auth::LOGIN_LINK_MINUTES
    );
    Ok(())
}
