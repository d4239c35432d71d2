//! Launched policies, one document per policy id.

use async_trait::async_trait;
use qrie_model::LaunchedPolicy;
use rusqlite::params;

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

    async fn put_policy(&self, policy: LaunchedPolicy) -> Result<()> {
        self.run(move |conn| {
            let doc = to_doc(&policy.policy_id, &policy)?;
            conn.prepare_cached(
                "INSERT INTO policies (policy_id, doc) VALUES (?1, ?2) ON CONFLICT (policy_id) DO UPDATE SET doc = excluded.doc",
            )?
            .execute(params![policy.policy_id, doc])?;
            Ok(())
        })
        .await
    }

    async fn delete_policy(&self, policy_id: &str) -> Result<bool> {
        let id = policy_id.to_string();
        self.run(move |conn| Ok(conn.prepare_cached("DELETE FROM policies WHERE policy_id = ?1")?.execute([id])? > 0))
            .await
    }
}
