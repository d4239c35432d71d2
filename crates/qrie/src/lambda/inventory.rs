//! The inventory function: one inventory sweep per invocation, with the seeds'
//! payload. Scheduled EventBridge rules deliver exactly the rule's `Input`,
//! e.g. the weekly `{"service": "all", "scan_type": "anti-entropy"}`;
//! onboarding an account invokes `{"service": "all", "scan_type":
//! "bootstrap", "account_id": "123456789012"}`.

use anyhow::Result;
use qrie_engine::{InventoryRequest, NoProgress};
use qrie_model::{ScanType, Service};
use serde::Deserialize;
use std::sync::Arc;

use super::{Container, SweepSummary};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InventoryPayload {
    /// `all`, `s3`, `ec2` or `iam`.
    #[serde(default = "all")]
    pub service: String,
    pub scan_type: ScanType,
    /// One account; absent, every active account.
    pub account_id: Option<String>,
    /// One region; absent, each account's regions.
    pub region: Option<String>,
}

fn all() -> String {
    "all".into()
}

impl InventoryPayload {
    /// The sweep the payload asks for; a bad service, account or region is
    /// the invocation's error (the engine checks accounts and regions).
    pub fn request(&self) -> Result<InventoryRequest> {
        let services = match self.service.as_str() {
            "all" => Vec::new(),
            one => vec![one.parse::<Service>()?],
        };
        if let Some(a) = &self.account_id {
            qrie_model::validate_account_id(a)?;
        }
        Ok(InventoryRequest {
            accounts: self.account_id.iter().cloned().collect(),
            services,
            regions: self.region.iter().cloned().collect(),
            scan_type: self.scan_type,
        })
    }
}

pub async fn handle(container: Arc<Container>, payload: InventoryPayload) -> Result<SweepSummary> {
    let req = payload.request()?;
    let engine = container.engine().await?;
    let report = engine.inventory_sweep(&req, &NoProgress).await?;
    Ok(report.into())
}
