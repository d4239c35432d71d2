//! `qrie demo` and `qrie demo change`.

use anyhow::{bail, Result};
use qrie_engine::policies::LaunchOptions;
use qrie_engine::sim::{SimEstate, SimSpec};
use qrie_engine::{EngineError, InventoryRequest, NoProgress};
use qrie_model::ScanType;
use std::io::Write;

use super::summary::dashboard_text;
use crate::cli::{DemoArgs, DemoChangeArgs, DemoCmd};
use crate::context::Ctx;
use crate::output::{self, Format};
use crate::progress::Bar;

pub async fn run(ctx: &Ctx, format: Format, args: DemoArgs) -> Result<()> {
    if let Some(DemoCmd::Change(c)) = args.action {
        return change(ctx, format, c).await;
    }
    let spec = SimSpec {
        seed: args.seed,
        accounts: args.accounts as usize,
        resources_per_account: args.resources_per_account as usize,
        created_at: chrono::Utc::now(),
    };
    let store = &*ctx.store;
    // The estate is generated (or loaded) once here and handed to the engine.
    let estate = match SimEstate::load(store).await? {
        Some(old) if !args.reset => {
            let same = old.spec.seed == spec.seed
                && old.spec.accounts == spec.accounts
                && old.spec.resources_per_account == spec.resources_per_account;
            if !same {
                bail!(
                    "{} already holds a demo estate (seed {}, {} accounts, {} resources per account): \
pass --reset to replace it, or use another --store",
                    store.location(),
                    old.spec.seed,
                    old.spec.accounts,
                    old.spec.resources_per_account
                );
            }
            eprintln!("reusing the demo estate in {} (seed {})", store.location(), old.spec.seed);
            old
        }
        old => {
            if let Some(old) = old {
                for a in old.accounts() {
                    store.purge_account(&a.account_id).await?;
                }
                eprintln!("replaced the previous demo estate");
            }
            let estate = SimEstate::create(store, spec).await?;
            eprintln!(
                "generated a simulated estate of {} resources in {} accounts",
                estate.len(),
                estate.accounts().len()
            );
            estate
        }
    };

    let estate = std::sync::Arc::new(std::sync::RwLock::new(estate));
    let engine = ctx.engine_with_estate(Some(estate.clone())).await?;
    let accounts: Vec<_> = estate.read().map_err(|_| anyhow::anyhow!("estate lock poisoned"))?.accounts().to_vec();
    for a in &accounts {
        match engine.store.get_account(&a.account_id).await? {
            Some(existing) if existing.is_active() => {}
            _ => {
                engine.add_account(a.new_account()).await?;
            }
        }
    }
    let mut launched = 0;
    for id in qrie_policies::default_policy_ids() {
        if engine.store.get_policy(id).await?.is_some_and(|p| p.is_active()) {
            continue;
        }
        // The inventory is loaded next; launching first keeps each launch's
        // bootstrap sweep small and lets the inventory sweep evaluate once.
        engine.launch_policy(id, LaunchOptions::default(), &NoProgress).await?;
        launched += 1;
    }
    eprintln!("launched {launched} policies; running a bootstrap inventory sweep");
    let req = InventoryRequest {
        accounts: accounts.iter().map(|a| a.account_id.clone()).collect(),
        scan_type: ScanType::Bootstrap,
        ..Default::default()
    };
    let report = engine.inventory_sweep(&req, &Bar::new("inventory")).await?;
    example_rules(&engine).await?;
    let dashboard = engine.compute_dashboard().await?;
    output::document(format, &serde_json::json!({"Job": report.job, "Dashboard": dashboard}), || {
        let mut s = format!("\nqrie demo is loaded in {}\n\n", engine.store.location());
        s += &dashboard_text(&dashboard);
        s += "\nnext:\n  qrie findings list            the active findings, most severe first\n";
        s += "  qrie compliance cis-aws-3.0   the CIS posture, control by control\n";
        s += "  qrie demo change              change the estate; the CloudTrail events re-evaluate at once\n";
        s += "  qrie demo change --silent     change it behind qrie's back...\n";
        s += "  qrie inventory generate --scan-type anti-entropy   ...and measure the drift\n";
        s
    })?;
    if args.no_serve {
        return Ok(());
    }
    let changes = (args.change_every > 0).then(|| (estate.clone(), std::time::Duration::from_secs(args.change_every)));
    super::serve::serve(ctx, args.listen, &args.server, engine, changes, true).await
}

/// Two suppression rules a newcomer can look at (when the store has none):
/// one accepting a policy's findings in one account for good, one accepting
/// a single finding for ten days (so it is listed as expiring).
async fn example_rules(engine: &qrie_engine::Engine) -> Result<()> {
    use qrie_engine::suppressions::RuleDraft;
    use qrie_model::suppression::{FindingKey, SuppressionCategory, SuppressionScope};
    if !engine.suppression_rules().await?.is_empty() {
        return Ok(());
    }
    let engine = engine.acting_as("qrie-demo");
    let now = qrie_engine::Engine::now();
    let filter = qrie_store::FindingFilter { state: Some(qrie_model::FindingState::Active), ..Default::default() };
    let page = qrie_store::PageRequest::first(500);
    let findings = engine.store.list_findings(&filter, qrie_store::FindingSort::SeverityDesc, &page).await?.items;
    // The least severe policy's findings in one account: a by-design exception.
    if let Some(f) = findings.last() {
        let scope = SuppressionScope {
            policies: vec![f.policy.clone()],
            accounts: vec![f.account_id.clone()],
            ..Default::default()
        };
        let reason = format!("{} in this sandbox account is by design: nothing here holds customer data", f.policy);
        let draft = RuleDraft {
            scope,
            reason,
            category: SuppressionCategory::ByDesign,
            owner: "platform-team".into(),
            expires_at: None,
        };
        engine.add_suppression(draft, now).await?;
    }
    // The most severe finding of another policy, accepted while a fix ships.
    if let Some(f) = findings.iter().find(|f| findings.last().is_none_or(|l| l.policy != f.policy)) {
        let scope = SuppressionScope {
            finding: Some(FindingKey { arn: f.arn.clone(), policy: f.policy.clone() }),
            ..Default::default()
        };
        let draft = RuleDraft {
            scope,
            reason: format!(
                "{} on this resource: accepted until the fix in change CHG-1042 ships (owner: secops)",
                f.policy
            ),
            category: SuppressionCategory::AcceptedRisk,
            owner: "secops".into(),
            expires_at: Some(now + chrono::Duration::days(10)),
        };
        engine.add_suppression(draft, now).await?;
    }
    eprintln!("created two example suppression rules (`qrie suppressions list`)");
    Ok(())
}

async fn change(ctx: &Ctx, format: Format, args: DemoChangeArgs) -> Result<()> {
    let store = &*ctx.store;
    let mut estate = SimEstate::load(store).await?.ok_or(EngineError::NoEstate)?;
    let changes = estate.apply_changes(args.count as usize, args.seed);
    estate.save(store).await?;
    if changes.len() < args.count as usize {
        eprintln!("note: only {} of {} changes found something to change", changes.len(), args.count);
    }
    for c in &changes {
        eprintln!("changed {} — {}", c.account_id, c.description);
    }
    if args.print_records {
        // The records alone, as JSON lines: what `qrie events ingest -` or `explain -` reads.
        let mut out = std::io::stdout().lock();
        for c in &changes {
            serde_json::to_writer(&mut out, &c.record)?;
            writeln!(out)?;
        }
        return Ok(());
    }
    if args.silent {
        eprintln!(
            "{} CloudTrail record(s) dropped (--silent): run `qrie inventory generate --scan-type anti-entropy` to catch the change(s) as drift",
            changes.len()
        );
        return output::document(format, &changes, String::new);
    }
    let routed: Vec<_> =
        changes.iter().enumerate().map(|(i, c)| qrie_engine::events::route_record(i, c.record.clone())).collect();
    let (engine, _) = ctx.engine_with_cloud().await?;
    let report = engine.ingest_events(&routed).await?;
    let doc = serde_json::json!({"Changes": changes, "Events": report});
    output::document(format, &doc, || {
        format!(
            "{} CloudTrail record(s) processed as events: {} resource(s) re-read, findings opened {}, resolved {}\n",
            report.stats.received,
            report.stats.refreshed + report.stats.deleted,
            report.stats.findings_opened,
            report.stats.findings_resolved
        )
    })?;
    Ok(())
}
