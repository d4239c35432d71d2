//! Monitored accounts, and the hard delete that takes their data with them.

use async_trait::async_trait;
use qrie_model::Account;
use qrie_store::{AccountStore, Result};

use crate::item::n;
use crate::DynamoStore;

const KEY: &str = "AccountId";

#[async_trait]
impl AccountStore for DynamoStore {
    async fn get_account(&self, account_id: &str) -> Result<Option<Account>> {
        self.get_doc(&self.tables().accounts, KEY, account_id).await
    }

    async fn list_accounts(&self) -> Result<Vec<Account>> {
        self.all_docs(&self.tables().accounts, KEY).await
    }

    async fn put_account(&self, account: Account, expected: Option<u64>) -> Result<bool> {
        let revision = vec![("Revision", n(account.revision as i64))];
        self.put_doc_if(&self.tables().accounts, KEY, &account.account_id, &account, revision, "Revision", expected)
            .await
    }

    /// DynamoDB has no transaction over whole partitions: findings go first,
    /// then resources, then the account row, so an interrupted purge leaves
    /// the account to purge again rather than findings without an account.
    async fn purge_account(&self, account_id: &str) -> Result<bool> {
        crate::findings::purge(self, account_id).await?;
        crate::resources::purge(self, account_id).await?;
        self.delete_doc(&self.tables().accounts, KEY, account_id).await
    }
}
