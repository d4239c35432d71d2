//! Launched policies, one document per policy id.

use async_trait::async_trait;
use qrie_model::LaunchedPolicy;
use qrie_store::{PolicyStore, Result};

use crate::DynamoStore;

const KEY: &str = "PolicyId";

#[async_trait]
impl PolicyStore for DynamoStore {
    async fn get_policy(&self, policy_id: &str) -> Result<Option<LaunchedPolicy>> {
        self.get_doc(&self.tables().policies, KEY, policy_id).await
    }

    async fn list_policies(&self) -> Result<Vec<LaunchedPolicy>> {
        self.all_docs(&self.tables().policies, KEY).await
    }

    async fn put_policy(&self, policy: LaunchedPolicy) -> Result<()> {
        let status = crate::item::s(policy.status.as_str());
        self.put_doc(&self.tables().policies, KEY, &policy.policy_id, &policy, vec![("Status", status)]).await
    }

    async fn delete_policy(&self, policy_id: &str) -> Result<bool> {
        self.delete_doc(&self.tables().policies, KEY, policy_id).await
    }
}
