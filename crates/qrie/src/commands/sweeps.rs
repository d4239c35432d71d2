//! `qrie scan policies`, `qrie inventory generate`.

use anyhow::Result;
use qrie_engine::{InventoryRequest, PolicySweepRequest};
use qrie_model::Service;

use super::jobs::print_report;
use crate::cli::{InventoryCmd, ScanCmd, ServiceArg};
use crate::context::Ctx;
use crate::output::Format;
use crate::progress::Bar;

pub async fn scan(ctx: &Ctx, format: Format, cmd: ScanCmd) -> Result<()> {
    let ScanCmd::Policies { policy, scan_type } = cmd;
    let req = PolicySweepRequest { policy_id: policy, scan_type };
    let report = ctx.engine().policy_sweep(&req, &Bar::new("policies")).await?;
    print_report(format, &report)
}

pub async fn inventory(ctx: &Ctx, format: Format, cmd: InventoryCmd) -> Result<()> {
    let InventoryCmd::Generate { service, account, region, scan_type } = cmd;
    let req = InventoryRequest { accounts: account, services: services(service), regions: region, scan_type };
    run_inventory(ctx, format, &req).await
}

pub async fn run_inventory(ctx: &Ctx, format: Format, req: &InventoryRequest) -> Result<()> {
    let (engine, _) = ctx.engine_with_cloud().await?;
    let report = engine.inventory_sweep(req, &Bar::new("inventory")).await?;
    print_report(format, &report)
}

pub fn services(s: ServiceArg) -> Vec<Service> {
    match s {
        ServiceArg::All => Vec::new(),
        ServiceArg::S3 => vec![Service::S3],
        ServiceArg::Ec2 => vec![Service::Ec2],
        ServiceArg::Iam => vec![Service::Iam],
    }
}
