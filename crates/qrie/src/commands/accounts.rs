//! `qrie accounts add|remove|list|scan`.

use anyhow::Result;
use qrie_engine::accounts::NewAccount;
use qrie_engine::InventoryRequest;
use qrie_model::AccountSource;

use crate::cli::AccountsCmd;
use crate::confirm::confirm;
use crate::context::Ctx;
use crate::output::{self, Format};

pub async fn run(ctx: &Ctx, format: Format, cmd: AccountsCmd) -> Result<()> {
    let engine = ctx.engine();
    match cmd {
        AccountsCmd::Add { account_id, name, role_arn, external_id, region } => {
            let account = engine
                .add_account(NewAccount {
                    account_id,
                    name,
                    role_arn,
                    external_id,
                    regions: region,
                    org_path: Vec::new(),
                    source: AccountSource::Manual,
                })
                .await?;
            output::document(format, &account, || {
                format!(
                    "added account {} ({}). It is not baselined yet: run `qrie accounts scan {}` now, \
or wait for the weekly sweep (until then its changes are not counted as drift).\n",
                    account.account_id, account.name, account.account_id
                )
            })
        }
        AccountsCmd::Remove { account_id, hard, yes } => {
            if hard {
                let a = engine.account(&account_id).await?;
                confirm(
                    &format!("this deletes account {} and all its inventory and findings for good", a.account_id),
                    yes,
                )?;
                engine.purge_account(&account_id).await?;
                eprintln!("account {account_id} and its data deleted");
                return Ok(());
            }
            let a = engine.remove_account(&account_id).await?;
            output::document(format, &a, || {
                format!(
                    "removed account {} (soft delete: its inventory and findings stay; `accounts remove --hard` deletes them)\n",
                    a.account_id
                )
            })
        }
        AccountsCmd::List { all } => {
            let rows = engine.list_accounts(all).await?;
            output::list(
                format,
                &["ACCOUNT", "NAME", "STATUS", "SOURCE", "BASELINED", "RESOURCES", "ACTIVE FINDINGS", "ADDED"],
                &rows,
                |v| {
                    vec![
                        v.account.account_id.clone(),
                        v.account.name.clone(),
                        format!("{:?}", v.account.status).to_lowercase(),
                        format!("{:?}", v.account.source).to_lowercase(),
                        match v.account.baselined_at {
                            Some(t) => output::time(&t),
                            None => "NOT BASELINED".into(),
                        },
                        v.resources.to_string(),
                        v.active_findings.to_string(),
                        output::time(&v.account.added_at),
                    ]
                },
            )
        }
        AccountsCmd::Scan { account_id, scan_type } => {
            let req = InventoryRequest { accounts: vec![account_id], scan_type, ..Default::default() };
            super::sweeps::run_inventory(ctx, format, &req).await
        }
    }
}
