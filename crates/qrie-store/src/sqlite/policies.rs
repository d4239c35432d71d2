//! Launched policies, one document per policy id.

use async_trait::async_trait;
use qrie_model::LaunchedPolicy;
use rusqlite::{params, TransactionBehavior};

use super::findings::policy_generation;

use super::query::{self, to_doc, Where};
use super::SqliteStore;
use crate::{PolicyStore, Result};

#[async_trait]
impl PolicyStore for SqliteStore {
    async fn get_policy(&self, policy_id: &str) -> Result<Option<LaunchedPolicy>> {
        let id = policy_id.to_string();
        self.run(move |conn| query::get_doc(conn, "SELECT doc FROM policies WHERE policy_id = ?1", &id)).await
    }

    async fn list_policies(&self) -> Result<Vec<LaunchedPolicy>> {
        self.run(|conn| query::select_docs(conn, "policies", "policy_id", &Where::default(), "policy_id")).await
    }

    async fn put_policy(&self, policy: LaunchedPolicy, expected: Option<u64>) -> Result<bool> {
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            if policy_generation(&tx, &policy.policy_id)? != expected {
                return Ok(false);
            }
            let doc = to_doc(&policy.policy_id, &policy)?;
            tx.prepare_cached(
                "INSERT INTO policies (policy_id, doc) VALUES (?1, ?2) ON CONFLICT (policy_id) DO UPDATE SET doc = excluded.doc",
            )?
            .execute(params![policy.policy_id, doc])?;
            tx.commit()?;
            Ok(true)
        })
        .await
    }

    async fn delete_policy(&self, policy_id: &str, expected: u64) -> Result<bool> {
        let id = policy_id.to_string();
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            if policy_generation(&tx, &id)? != Some(expected) {
                return Ok(false);
            }
            let deleted = tx.prepare_cached("DELETE FROM policies WHERE policy_id = ?1")?.execute([&id])? > 0;
            tx.commit()?;
            Ok(deleted)
        })
        .await
    }
}
