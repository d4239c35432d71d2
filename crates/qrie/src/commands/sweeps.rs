//! `qrie scan policies`, `qrie inventory generate`.

use anyhow::{bail, Result};
use qrie_engine::{Engine, EngineError, InventoryRequest, JobReport, PolicySweepRequest};
use qrie_model::Service;
use qrie_store::{PageRequest, ResourceFilter};

use super::jobs::print_report;
use crate::cli::{InventoryCmd, ScanCmd, ServiceArg};
use crate::context::Ctx;
use crate::output::{self, Format};
use crate::progress::Bar;

pub async fn scan(ctx: &Ctx, format: Format, cmd: ScanCmd) -> Result<()> {
    let ScanCmd::Policies { policy, scan_type } = cmd;
    let req = PolicySweepRequest { policy_id: policy, scan_type };
    let report = ctx.engine().policy_sweep(&req, &Bar::new("policies")).await?;
    print_report(format, &report)
}

pub async fn inventory(ctx: &Ctx, format: Format, cmd: InventoryCmd) -> Result<()> {
    match cmd {
        InventoryCmd::Generate { service, account, region, scan_type, drift_grace_minutes, workers } => {
            let req = InventoryRequest {
                accounts: account,
                services: services(service),
                regions: region,
                scan_type,
                drift_grace: Some(chrono::Duration::minutes(i64::from(drift_grace_minutes))),
                workers: workers.map_or(0, |n| n as usize),
            };
            run_inventory(ctx, format, &req).await
        }
        InventoryCmd::List { account, service, region, resource_type, search, include_deleted, limit } => {
            if let Some(a) = &account {
                qrie_model::validate_account_id(a)?;
            }
            let filter = ResourceFilter {
                account_id: account,
                service: service.and_then(|s| services(s).first().copied()),
                region,
                resource_type,
                search,
                include_deleted,
                ..Default::default()
            };
            let mut items = Vec::new();
            let mut page = PageRequest::first(1000);
            loop {
                if let Some(l) = limit {
                    page.limit = (l - items.len()).min(1000);
                }
                let p = ctx.store.list_resources(&filter, &page).await?;
                items.extend(p.items);
                match p.next_token {
                    Some(t) if limit.is_none_or(|l| items.len() < l) => page.next_token = Some(t),
                    _ => break,
                }
            }
            output::list(format, &["ACCOUNT", "REGION", "TYPE", "NAME", "ARN", "LAST SEEN", "DELETED"], &items, |r| {
                vec![
                    r.account_id.clone(),
                    r.region.clone(),
                    r.resource_type.clone(),
                    r.name.clone(),
                    r.arn.clone(),
                    output::time(&r.last_seen_at),
                    output::opt_time(&r.deleted_at),
                ]
            })
        }
        InventoryCmd::Show { arn } => {
            let Some(r) = ctx.store.get_resource(&arn).await? else {
                bail!("no resource {arn:?} in the inventory: `qrie inventory list --search NAME` finds it");
            };
            let findings = ctx.store.findings_for_resource(&arn).await?;
            let doc = serde_json::json!({"Resource": r, "Findings": findings});
            output::document(format, &doc, || {
                let mut s = format!(
                    "{} ({})\naccount {}  region {}  last seen {}\n",
                    r.arn,
                    r.resource_type,
                    r.account_id,
                    r.region,
                    output::time(&r.last_seen_at)
                );
                for (k, e) in &r.collection_errors {
                    s += &format!("could not read {k}: {e}\n");
                }
                s += &format!(
                    "configuration:\n{}\n",
                    serde_json::to_string_pretty(&r.configuration).unwrap_or_default()
                );
                s += &format!("findings ({}):\n", findings.len());
                for f in &findings {
                    s += &format!("  {} {} {}\n", f.state.as_str(), f.severity, f.policy);
                }
                s
            })
        }
    }
}

pub async fn run_inventory(ctx: &Ctx, format: Format, req: &InventoryRequest) -> Result<()> {
    let (engine, _) = ctx.engine_with_cloud().await?;
    let bar = Bar::new("inventory");
    let report = until_ctrl_c(&engine, &bar, engine.inventory_sweep(req, &bar)).await?;
    print_report(format, &report)
}

/// Runs a sweep until it ends or Ctrl-C: then the sweep stops where it is,
/// its job is marked interrupted at once (its finished units kept), and the
/// command fails saying how to resume it.
pub async fn until_ctrl_c(
    engine: &Engine,
    bar: &Bar,
    sweep: impl std::future::Future<Output = Result<JobReport, EngineError>>,
) -> Result<JobReport> {
    tokio::select! {
        report = sweep => Ok(report?),
        _ = tokio::signal::ctrl_c() => {
            bar.abandon();
            let Some(id) = bar.job_id() else { bail!("interrupted before the sweep started: nothing was swept") };
            engine.interrupt_job(&id).await?;
            bail!("interrupted: job {id} keeps the units it finished; `qrie jobs resume {id}` runs the rest")
        }
    }
}

pub fn services(s: ServiceArg) -> Vec<Service> {
    match s {
        ServiceArg::All => Vec::new(),
        ServiceArg::S3 => vec![Service::S3],
        ServiceArg::Ec2 => vec![Service::Ec2],
        ServiceArg::Iam => vec![Service::Iam],
    }
}
