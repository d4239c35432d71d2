//! The `qrie` binary: thin glue between the command line and the engine.
//! Parsing is clap's, work is the engine's, and this crate only wires a store
//! and a cloud together and prints results.

mod cli;
mod commands;
mod confirm;
mod context;
mod lambda;
mod output;
mod progress;

use clap::Parser;
use std::process::ExitCode;

/// What this process is: the command line, or a Lambda function.
enum Run {
    Cli(Box<cli::Cli>),
    Lambda(lambda::Mode),
}

fn main() -> ExitCode {
    qrie_engine::memory::limit_malloc_arenas();
    // In Lambda (QRIE_LAMBDA names the function) there is no command line.
    let lambda = match lambda::mode_from_env() {
        Ok(mode) => mode,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    let run = match lambda {
        Some(mode) => Run::Lambda(mode),
        None => Run::Cli(Box::new(cli::Cli::parse())),
    };
    let default_level = if lambda.is_some() { "info" } else { "warn" };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("QRIE_LOG").unwrap_or_else(|_| default_level.into()),
        )
        .with_writer(std::io::stderr)
        // CloudWatch shows escape codes as they are.
        .with_ansi(lambda.is_none())
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let work = async move {
        match run {
            Run::Cli(cli) => commands::run(*cli).await,
            Run::Lambda(mode) => lambda::serve(mode).await,
        }
    };
    match runtime.block_on(work) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // Errors quote their input (file contents, event fields, names).
            eprintln!("error: {}", qrie_model::text::terminal_safe(&format!("{e:#}"), true));
            ExitCode::FAILURE
        }
    }
}
