//! The engine's view of a cloud: list what an account holds, describe one
//! resource. The AWS SDK collectors and the simulated estate both implement it.

use async_trait::async_trait;
use qrie_model::{Account, AccountSource, Resource, Service, Timestamp};
use std::collections::BTreeMap;
use std::sync::Arc;

/// One listing unit: an account and service, in one region or (for global
/// services) everywhere.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SweepUnit {
    pub account_id: String,
    pub service: Service,
    /// `None` for global services (S3's bucket list, IAM).
    pub region: Option<String>,
}

impl std::fmt::Display for SweepUnit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}/{}", self.account_id, self.service, self.region.as_deref().unwrap_or("global"))
    }
}

/// Everything a listing found.
#[derive(Debug, Clone, Default)]
pub struct Listing {
    pub resources: Vec<Resource>,
    /// False when some page or sub-listing failed: the caller must not infer
    /// deletions from what is missing.
    pub complete: bool,
    /// What went wrong where the listing was incomplete.
    pub errors: Vec<String>,
    /// When the listing started: what it did not find was gone at least since then.
    pub observed_at: Timestamp,
    /// API calls made and throttles met, by operation name.
    pub api_calls: BTreeMap<String, u64>,
    pub throttles: u64,
}

/// The answer to "describe this one resource".
#[derive(Debug, Clone)]
pub enum Described {
    Present(Box<Resource>),
    /// The cloud says it does not exist (distinct from an error).
    Gone {
        observed_at: Timestamp,
    },
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum CloudError {
    #[error("access denied: {0}")]
    AccessDenied(String),
    #[error("throttled and gave up: {0}")]
    Throttled(String),
    #[error("{0}")]
    Other(String),
    #[error("no cloud is configured for account {account_id} ({reason})")]
    NotConfigured { account_id: String, reason: String },
    #[error("unknown resource {0}")]
    UnknownResource(String),
}

/// A member account of an organization, as discovery finds it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct OrgAccount {
    pub account_id: String,
    pub name: String,
    /// ACTIVE, SUSPENDED, PENDING_CLOSURE... (Organizations' own words).
    pub status: String,
    /// OU ids from the root (`r-…`) down to the account's parent.
    pub org_path: Vec<String>,
    /// The same path by name (`Root/Workloads/Prod`), for people.
    pub org_path_names: Vec<String>,
}

#[async_trait]
pub trait Cloud: Send + Sync {
    /// The regions to sweep for an account whose record names none: every
    /// region enabled for it (AWS: DescribeRegions as the account sees it,
    /// opted-in regions included), read again by each inventory sweep.
    async fn enabled_regions(&self, account: &Account) -> Result<Vec<String>, CloudError>;

    async fn list(&self, account: &Account, unit: &SweepUnit) -> Result<Listing, CloudError>;

    async fn describe(&self, account: &Account, arn: &str) -> Result<Described, CloudError>;

    /// The organization's member accounts with their OU paths; `None` when this
    /// cloud has no organization to read (the simulated estate, a standalone
    /// account).
    async fn discover_accounts(&self) -> Result<Option<Vec<OrgAccount>>, CloudError> {
        Ok(None)
    }
}

/// Sends each account to the cloud that can read it: simulated accounts to the
/// simulated estate, the others to AWS (when this build has it).
pub struct CloudRouter {
    pub simulated: Option<Arc<dyn Cloud>>,
    pub aws: Option<Arc<dyn Cloud>>,
}

impl CloudRouter {
    fn pick(&self, account: &Account) -> Result<&Arc<dyn Cloud>, CloudError> {
        let (cloud, what) = match account.source {
            AccountSource::Simulated => (&self.simulated, "simulated account, but no simulated estate in this store"),
            _ => (&self.aws, "the AWS collectors are not part of this build yet"),
        };
        cloud.as_ref().ok_or_else(|| CloudError::NotConfigured {
            account_id: account.account_id.clone(),
            reason: what.to_string(),
        })
    }
}

#[async_trait]
impl Cloud for CloudRouter {
    async fn enabled_regions(&self, account: &Account) -> Result<Vec<String>, CloudError> {
        self.pick(account)?.enabled_regions(account).await
    }

    async fn list(&self, account: &Account, unit: &SweepUnit) -> Result<Listing, CloudError> {
        self.pick(account)?.list(account, unit).await
    }

    async fn describe(&self, account: &Account, arn: &str) -> Result<Described, CloudError> {
        self.pick(account)?.describe(account, arn).await
    }

    /// Organizations are AWS's: the simulated estate has none.
    async fn discover_accounts(&self) -> Result<Option<Vec<OrgAccount>>, CloudError> {
        match &self.aws {
            Some(aws) => aws.discover_accounts().await,
            None => Ok(None),
        }
    }
}
