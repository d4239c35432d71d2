//! The simulated estate: several accounts and regions of S3, EC2 and IAM
//! resources in the shapes AWS returns, a realistic mix of compliant and
//! non-compliant ones, deterministic from a seed, and able to scale to 100,000+
//! resources.
//!
//! It persists beside the store (in its key-value space): the spec it was
//! generated from, plus one override per resource that a simulated change
//! touched. Every process regenerates the same base estate from the spec and
//! lays the overrides on top, so `qrie demo change` in one command is seen by
//! `qrie inventory generate` in the next.

mod change;
mod estate;
mod faults;
pub mod generate;
mod generated;
pub mod race;

pub use change::{eventbridge_envelope, AppliedChange, ChangeKind};
pub use estate::{PendingSave, SimAccount, SimEstate, SimSpec};
pub use faults::FaultyCloud;
pub use generated::GeneratedCloud;

use async_trait::async_trait;
use qrie_model::{Account, Service};
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use crate::cloud::{Cloud, CloudError, Described, Listing, SweepUnit};

/// An estate generated from `spec` into `store`, and an engine over it with
/// every account added, the default catalog launched and one bootstrap
/// inventory sweep done: where the benches and tests that need a populated
/// store start.
pub async fn swept_estate(
    store: Arc<dyn qrie_store::Store>,
    spec: SimSpec,
) -> Result<(crate::Engine, Arc<RwLock<SimEstate>>), crate::EngineError> {
    let estate = SimEstate::create(&*store, spec).await?;
    let accounts = estate.accounts().to_vec();
    let estate = Arc::new(RwLock::new(estate));
    let engine = crate::Engine::new(store, Arc::new(SimCloud::new(estate.clone())));
    for a in &accounts {
        engine.add_account(a.new_account()).await?;
    }
    for id in qrie_policies::default_policy_ids() {
        engine.launch_policy(id, crate::policies::LaunchOptions::default(), &crate::NoProgress).await?;
    }
    engine.inventory_sweep(&crate::InventoryRequest::default(), &crate::NoProgress).await?;
    Ok((engine, estate))
}

/// A simulated unit's listing: complete, one call counted.
pub(crate) fn complete_listing(
    service: Service,
    resources: Vec<qrie_model::Resource>,
    now: qrie_model::Timestamp,
) -> Listing {
    let op = match service {
        Service::S3 => "s3:ListBuckets",
        Service::Ec2 => "ec2:Describe*",
        Service::Iam => "iam:GetAccountAuthorizationDetails",
    };
    Listing {
        resources,
        complete: true,
        errors: Vec::new(),
        observed_at: now,
        api_calls: BTreeMap::from([(op.to_string(), 1)]),
        throttles: 0,
    }
}

/// The simulated estate behind the [`Cloud`] trait.
pub struct SimCloud {
    estate: Arc<RwLock<SimEstate>>,
}

impl SimCloud {
    pub fn new(estate: Arc<RwLock<SimEstate>>) -> Self {
        SimCloud { estate }
    }

    fn read(&self) -> Result<std::sync::RwLockReadGuard<'_, SimEstate>, CloudError> {
        self.estate.read().map_err(|_| CloudError::Other("simulated estate lock poisoned".into()))
    }
}

#[async_trait]
impl Cloud for SimCloud {
    async fn enabled_regions(&self, account: &Account) -> Result<Vec<String>, CloudError> {
        let estate = self.read()?;
        let a = estate.account(&account.account_id).ok_or_else(|| {
            CloudError::AccessDenied(format!("account {} is not part of the simulated estate", account.account_id))
        })?;
        Ok(a.regions.clone())
    }

    async fn list(&self, account: &Account, unit: &SweepUnit) -> Result<Listing, CloudError> {
        let now = chrono::Utc::now();
        let estate = self.read()?;
        if estate.account(&account.account_id).is_none() {
            return Err(CloudError::AccessDenied(format!(
                "account {} is not part of the simulated estate",
                account.account_id
            )));
        }
        let resources = estate
            .resources_of(&account.account_id, unit.service)
            .filter(|r| match &unit.region {
                Some(region) => &r.region == region,
                None => true,
            })
            .map(|r| {
                let mut r = r.clone();
                r.last_seen_at = now;
                r
            })
            .collect();
        Ok(complete_listing(unit.service, resources, now))
    }

    async fn describe(&self, account: &Account, arn: &str) -> Result<Described, CloudError> {
        let now = chrono::Utc::now();
        let estate = self.read()?;
        match estate.get(arn) {
            Some(r) if r.account_id == account.account_id => {
                let mut r = r.clone();
                r.last_seen_at = now;
                Ok(Described::Present(Box::new(r)))
            }
            _ => Ok(Described::Gone { observed_at: now }),
        }
    }
}
