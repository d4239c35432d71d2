//! A cloud that reads one service from AWS and answers empty, complete
//! listings for the others, so that a full engine sweep over moto exercises one
//! collector (and still baselines the accounts: drift needs a baseline).

use async_trait::async_trait;
use qrie_engine::{Cloud, CloudError, Described, Listing, SweepUnit};
use qrie_model::{Account, Service};

pub struct OnlyService(pub qrie_aws::AwsCloud, pub Service);

#[async_trait]
impl Cloud for OnlyService {
    async fn enabled_regions(&self, account: &Account) -> Result<Vec<String>, CloudError> {
        self.0.enabled_regions(account).await
    }

    async fn list(&self, account: &Account, unit: &SweepUnit) -> Result<Listing, CloudError> {
        if unit.service == self.1 {
            self.0.list(account, unit).await
        } else {
            Ok(Listing { complete: true, observed_at: chrono::Utc::now(), ..Default::default() })
        }
    }

    async fn describe(&self, account: &Account, arn: &str) -> Result<Described, CloudError> {
        self.0.describe(account, arn).await
    }
}
