//! Faults laid over the simulated cloud, for tests of how sweeps survive
//! them: a unit whose listing always fails (an SCP denying the account's
//! role), a unit whose first listing never answers (its worker killed there).

use async_trait::async_trait;
use qrie_model::Account;
use std::sync::atomic::{AtomicBool, Ordering};

use super::SimCloud;
use crate::cloud::{Cloud, CloudError, Described, Listing, SweepUnit};

pub struct FaultyCloud {
    pub inner: SimCloud,
    /// Listing this unit always fails.
    pub failing: Option<SweepUnit>,
    /// The first listing of this unit never answers.
    pub hanging: Option<SweepUnit>,
    /// Whether `hanging` has hung already.
    pub hung: AtomicBool,
}

impl FaultyCloud {
    pub fn new(inner: SimCloud, failing: Option<SweepUnit>, hanging: Option<SweepUnit>) -> FaultyCloud {
        FaultyCloud { inner, failing, hanging, hung: AtomicBool::new(false) }
    }
}

#[async_trait]
impl Cloud for FaultyCloud {
    async fn enabled_regions(&self, account: &Account) -> Result<Vec<String>, CloudError> {
        self.inner.enabled_regions(account).await
    }

    async fn list(&self, account: &Account, unit: &SweepUnit) -> Result<Listing, CloudError> {
        if self.failing.as_ref() == Some(unit) {
            return Err(CloudError::Other("ListBuckets: AccessDenied (an SCP)".into()));
        }
        if self.hanging.as_ref() == Some(unit) && !self.hung.swap(true, Ordering::SeqCst) {
            futures::future::pending::<()>().await;
        }
        self.inner.list(account, unit).await
    }

    async fn describe(&self, account: &Account, arn: &str) -> Result<Described, CloudError> {
        self.inner.describe(account, arn).await
    }
}
