//! The inventory function: one inventory sweep per invocation, with the seeds'
//! payload. Scheduled EventBridge rules deliver exactly the rule's `Input`,
//! e.g. the weekly `{"service": "all", "scan_type": "anti-entropy"}`;
//! onboarding an account invokes `{"service": "all", "scan_type":
//! "bootstrap", "account_id": "123456789012"}`. The API in Lambda sends the
//! sweeps its requests start with the id of the job it queued (`job_id`),
//! which this sweep then runs under.

use anyhow::Result;
use qrie_engine::{InventoryRequest, NoProgress};
use qrie_model::{ScanType, Service, Timestamp};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

use super::{Container, SweepSummary};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InventoryPayload {
    /// `all`, or one or several of `s3`, `ec2`, `iam`.
    #[serde(default = "all")]
    pub service: OneOrMany,
    pub scan_type: ScanType,
    /// One or several accounts; absent, every active account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<OneOrMany>,
    /// One or several regions; absent, each account's regions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<OneOrMany>,
    /// A job queued by the API (`queued` until this sweep starts it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
}

/// A field that takes one value (the seeds' payloads) or a list (what an
/// API request may ask for).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn of(mut values: Vec<String>) -> Option<OneOrMany> {
        match values.len() {
            0 => None,
            1 => values.pop().map(OneOrMany::One),
            _ => Some(OneOrMany::Many(values)),
        }
    }

    fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(v) => vec![v],
            OneOrMany::Many(v) => v,
        }
    }
}

fn all() -> OneOrMany {
    OneOrMany::One("all".into())
}

impl InventoryPayload {
    /// The payload that runs `req` as the queued job `job_id`.
    pub fn queued(req: &InventoryRequest, job_id: String) -> InventoryPayload {
        InventoryPayload {
            service: OneOrMany::of(req.services.iter().map(|s| s.as_str().to_string()).collect()).unwrap_or_else(all),
            scan_type: req.scan_type,
            account_id: OneOrMany::of(req.accounts.clone()),
            region: OneOrMany::of(req.regions.clone()),
            job_id: Some(job_id),
        }
    }

    /// The sweep the payload asks for; a bad service, account or region is
    /// the invocation's error (the engine checks accounts and regions).
    pub fn request(&self) -> Result<InventoryRequest> {
        let services = match &self.service {
            OneOrMany::One(a) if a == "all" => Vec::new(),
            some => some.clone().into_vec().iter().map(|s| s.parse::<Service>()).collect::<Result<_, _>>()?,
        };
        let accounts = self.account_id.clone().map(OneOrMany::into_vec).unwrap_or_default();
        for a in &accounts {
            qrie_model::validate_account_id(a)?;
        }
        Ok(InventoryRequest {
            accounts,
            services,
            regions: self.region.clone().map(OneOrMany::into_vec).unwrap_or_default(),
            scan_type: self.scan_type,
            drift_grace: None,
            workers: 0,
        })
    }
}

/// Runs the sweep as a job that ends by `deadline`, the invocation's: a
/// queued one under its id, or a new one. A job the invocation does not end
/// (timed out, crashed) is then failed as lost, not left `running`.
pub async fn handle(container: Arc<Container>, payload: InventoryPayload, deadline: Timestamp) -> Result<SweepSummary> {
    let req = payload.request()?;
    let engine = container.engine().await?;
    let job_id = match payload.job_id {
        Some(id) => id,
        None => engine.queue_inventory_sweep(&req, Some(deadline)).await?.id,
    };
    // Lambda may deliver an asynchronous invoke more than once: the engine
    // sweeps a queued job once and answers the record after that.
    let report = engine.run_queued_inventory_sweep(&job_id, &req, Some(deadline), &NoProgress).await?;
    Ok(report.into())
}
