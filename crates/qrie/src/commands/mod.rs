//! One module per command group.

mod accounts;
mod compliance;
mod demo;
mod events;
mod export;
mod findings;
mod integrations;
mod jobs;
mod policies;
mod serve;
mod store;
mod summary;
mod suppressions;
mod sweeps;
mod tokens;

use anyhow::Result;

use crate::cli::{Cli, Command};
use crate::context::Ctx;

pub async fn run(cli: Cli) -> Result<()> {
    let ctx = Ctx::open(&cli.store, cli.profile.clone(), cli.region.clone()).await?;
    let format = cli.format;
    match cli.command {
        Command::Demo(args) => demo::run(&ctx, format, args).await,
        Command::Policies(cmd) => policies::run(&ctx, format, cmd).await,
        Command::Scan(cmd) => sweeps::scan(&ctx, format, cmd).await,
        Command::Inventory(cmd) => sweeps::inventory(&ctx, format, cmd).await,
        Command::Accounts(cmd) => accounts::run(&ctx, format, cmd).await,
        Command::Findings(cmd) => findings::run(&ctx, format, cmd).await,
        Command::Suppressions(cmd) => suppressions::run(&ctx, format, cmd).await,
        Command::Audit(args) => suppressions::audit(&ctx, format, args).await,
        Command::Integrations(cmd) => integrations::run(&ctx, format, cmd).await,
        Command::Notifications(cmd) => integrations::notifications(&ctx, format, cmd).await,
        Command::Summary(args) => summary::run(&ctx, format, args).await,
        Command::Jobs(cmd) => jobs::run(&ctx, format, cmd).await,
        Command::Events(cmd) => events::run(&ctx, format, cmd).await,
        Command::Compliance { framework, to } => compliance::run(&ctx, format, framework, to).await,
        Command::Serve(args) => serve::run(&ctx, args).await,
        Command::Tokens(cmd) => tokens::run(&ctx, format, cmd).await,
        // Opening checks nothing that init creates (DynamoDB tables are first used by calls).
        Command::Store(cmd) => store::run(&cli.store, format, cmd).await,
    }
}
