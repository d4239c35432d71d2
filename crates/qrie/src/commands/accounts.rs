//! `qrie accounts add|remove|list|discover|scan`.

use anyhow::{bail, Result};
use qrie_engine::accounts::NewAccount;
use qrie_engine::policies::LaunchOptions;
use qrie_engine::{Engine, InventoryRequest, NoProgress};
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
            let launched = launch_defaults_in_a_new_store(&engine).await?;
            output::document(format, &account, || {
                format!(
                    "added account {} ({}). It is not baselined yet: run `qrie accounts scan {}` now, \
or wait for the weekly sweep (until then its changes are not counted as drift).\n",
                    account.account_id, account.name, account.account_id
                ) + &launched_note(launched)
            })
        }
        AccountsCmd::Discover => {
            let engine = ctx.engine_with_aws().await?;
            let Some(d) = engine.discover_accounts().await? else {
                bail!("these credentials' account is in no AWS organization: add accounts with `qrie accounts add`");
            };
            let launched = if d.added.is_empty() { 0 } else { launch_defaults_in_a_new_store(&engine).await? };
            output::document(format, &d, || {
                let mut s = String::new();
                for (what, accounts) in [("added", &d.added), ("updated", &d.updated)] {
                    for a in accounts {
                        let path = d.paths.get(&a.account_id).map(String::as_str).unwrap_or_default();
                        s += &format!("{what} {} ({}) in {path}\n", a.account_id, a.name);
                    }
                }
                for id in &d.skipped_removed {
                    s += &format!("skipped {id}: removed (`qrie accounts add {id}` monitors it again)\n");
                }
                for id in &d.skipped_inactive {
                    s += &format!("skipped {id}: not ACTIVE in the organization\n");
                }
                s += &format!("{} added, {} updated, {} unchanged", d.added.len(), d.updated.len(), d.unchanged);
                if !d.added.is_empty() {
                    s += ". New accounts are not baselined: `qrie inventory generate` sweeps them";
                }
                s + "\n" + &launched_note(launched)
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
                &[
                    "ACCOUNT",
                    "NAME",
                    "STATUS",
                    "SOURCE",
                    "REGIONS",
                    "BASELINED",
                    "RESOURCES",
                    "ACTIVE FINDINGS",
                    "ADDED",
                ],
                &rows,
                |v| {
                    vec![
                        v.account.account_id.clone(),
                        v.account.name.clone(),
                        format!("{:?}", v.account.status).to_lowercase(),
                        format!("{:?}", v.account.source).to_lowercase(),
                        v.account.regions_label(),
                        match v.account.baselined_at {
                            Some(t) => output::time(&t),
                            None => "NOT BASELINED".into(),
                        },
                        v.resources.to_string(),
                        output::findings_count(v.active_findings, v.suppressed_findings),
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

/// A store that never had a policy launched gets the whole catalog launched
/// when it gets its first AWS account, as `qrie demo` does for its estate: the
/// first sweep then finds what is wrong. A store whose operator launched or
/// suspended anything is left as it is. Returns how many were launched.
async fn launch_defaults_in_a_new_store(engine: &Engine) -> Result<usize> {
    if !engine.store.list_policies().await?.is_empty() {
        return Ok(0);
    }
    let ids = qrie_policies::default_policy_ids();
    for id in &ids {
        engine.launch_policy(id, LaunchOptions::default(), &NoProgress).await?;
    }
    Ok(ids.len())
}

fn launched_note(launched: usize) -> String {
    if launched == 0 {
        return String::new();
    }
    format!("launched the {launched} catalog policies (first account in this store; `qrie policies list` shows them)\n")
}
