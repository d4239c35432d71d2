//! Monitored AWS accounts.

use serde::{Deserialize, Serialize};

use crate::Timestamp;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AccountStatus {
    Active,
    /// Soft-deleted: out of sweeps and default views; inventory and findings stay.
    Removed,
}

/// How the account came to be monitored, which also decides how it is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AccountSource {
    Manual,
    Organizations,
    /// Created by `qrie demo`: always read from the simulated estate.
    Simulated,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Account {
    pub account_id: String,
    pub name: String,
    pub status: AccountStatus,
    #[serde(default)]
    pub role_arn: Option<String>,
    #[serde(default)]
    pub external_id: Option<String>,
    /// Regions to sweep; empty means every region enabled for the account.
    #[serde(default)]
    pub regions: Vec<String>,
    /// The regions enabled for the account as its last inventory sweep read
    /// them (what an account without `regions` is swept in).
    #[serde(default)]
    pub enabled_regions: Vec<String>,
    /// Organizations OU ids from the root down to the account's parent.
    #[serde(default)]
    pub org_path: Vec<String>,
    pub source: AccountSource,
    pub added_at: Timestamp,
    /// When its first complete inventory sweep finished. Until then its changes
    /// are not counted as drift.
    #[serde(default)]
    pub baselined_at: Option<Timestamp>,
    #[serde(default)]
    pub removed_at: Option<Timestamp>,
    /// One more on every write; a write is conditional on the revision its
    /// writer read, so a sweep's baseline never writes back an account that
    /// was removed or changed meanwhile. Accounts stored before revisions
    /// existed read as revision 1.
    #[serde(default = "first_revision")]
    pub revision: u64,
}

fn first_revision() -> u64 {
    1
}

impl Account {
    pub fn is_active(&self) -> bool {
        self.status == AccountStatus::Active
    }

    pub fn is_baselined(&self) -> bool {
        self.baselined_at.is_some()
    }

    /// The regions its sweeps cover, for people: the ones named, else every
    /// enabled region (as last read).
    pub fn regions_label(&self) -> String {
        match (self.regions.is_empty(), self.enabled_regions.len()) {
            (false, _) => self.regions.join(", "),
            (true, 0) => "all enabled (not swept yet)".to_string(),
            (true, n) => format!("all enabled ({n}: {})", self.enabled_regions.join(", ")),
        }
    }

    pub fn placement(&self) -> crate::AccountPlacement<'_> {
        crate::AccountPlacement { account_id: &self.account_id, org_path: &self.org_path }
    }
}
