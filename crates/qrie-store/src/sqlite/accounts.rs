//! Monitored accounts, and the hard delete that takes their data with them.

use async_trait::async_trait;
use qrie_model::Account;
use rusqlite::{params, OptionalExtension, TransactionBehavior};

use super::query::{self, to_doc, Where};
use super::SqliteStore;
use crate::{AccountStore, Result};

#[async_trait]
impl AccountStore for SqliteStore {
    async fn get_account(&self, account_id: &str) -> Result<Option<Account>> {
        let id = account_id.to_string();
        self.run(move |conn| query::get_doc(conn, "SELECT doc FROM accounts WHERE account_id = ?1", &id)).await
    }

    async fn list_accounts(&self) -> Result<Vec<Account>> {
        self.run(|conn| query::select_docs(conn, "accounts", "account_id", &Where::default(), "account_id")).await
    }

    async fn put_account(&self, account: Account, expected: Option<u64>) -> Result<bool> {
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let stored: Option<i64> = tx
                .prepare_cached(
                    "SELECT COALESCE(json_extract(doc, '$.Revision'), 1) FROM accounts WHERE account_id = ?1",
                )?
                .query_row([&account.account_id], |r| r.get(0))
                .optional()?;
            if stored.map(|r| u64::try_from(r).unwrap_or(0)) != expected {
                return Ok(false);
            }
            let doc = to_doc(&account.account_id, &account)?;
            tx.prepare_cached(
                "INSERT INTO accounts (account_id, doc) VALUES (?1, ?2)
                 ON CONFLICT (account_id) DO UPDATE SET doc = excluded.doc",
            )?
            .execute(params![account.account_id, doc])?;
            tx.commit()?;
            Ok(true)
        })
        .await
    }

    async fn purge_account(&self, account_id: &str) -> Result<bool> {
        let id = account_id.to_string();
        self.run(move |conn| {
            // One transaction: a purge never leaves findings without their account.
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.prepare_cached("DELETE FROM findings WHERE account_id = ?1")?.execute([&id])?;
            tx.prepare_cached("DELETE FROM resources WHERE account_id = ?1")?.execute([&id])?;
            let existed = tx.prepare_cached("DELETE FROM accounts WHERE account_id = ?1")?.execute([&id])? > 0;
            tx.commit()?;
            Ok(existed)
        })
        .await
    }
}
