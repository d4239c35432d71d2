//! Account management: add, remove (soft), purge (hard), list with the
//! baseline flag.

use qrie_model::text::{check_len, limits};
use qrie_model::{
    validate_account_id, validate_region, Account, AccountSource, AccountStatus, FindingState, ValidationError,
};
use qrie_store::{FindingFilter, FindingGroup, ResourceFilter, ResourceGroup};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

use crate::{summary, CloudError, Engine, EngineError};

#[derive(Debug, Clone)]
pub struct NewAccount {
    pub account_id: String,
    pub name: Option<String>,
    pub role_arn: Option<String>,
    pub external_id: Option<String>,
    pub regions: Vec<String>,
    pub org_path: Vec<String>,
    pub source: AccountSource,
}

/// An account with what the operator wants to see next to it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AccountView {
    #[serde(flatten)]
    pub account: Account,
    pub baselined: bool,
    pub resources: u64,
    /// Active findings no suppression rule covers.
    pub active_findings: u64,
    /// Active findings a suppression rule covers (counted apart).
    pub suppressed_findings: u64,
}

/// What an Organizations discovery changed.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Discovery {
    /// Accounts new to qrie (source `organizations`, not baselined).
    pub added: Vec<Account>,
    /// Known accounts whose OU path (or, for discovered ones, name) changed.
    pub updated: Vec<Account>,
    pub unchanged: u64,
    /// Removed by an operator: discovery does not bring them back.
    pub skipped_removed: Vec<String>,
    /// Not ACTIVE in the organization (suspended, closing): not added.
    pub skipped_inactive: Vec<String>,
    /// Each member account's OU path by name (`Root/Workloads/Prod`).
    pub paths: BTreeMap<String, String>,
}

impl Discovery {
    pub fn changed(&self) -> bool {
        !self.added.is_empty() || !self.updated.is_empty()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DiscoverError {
    #[error("organizations discovery failed: {0}")]
    Cloud(#[from] CloudError),
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl Engine {
    /// The ids of removed accounts: views leave their findings out.
    pub async fn removed_account_ids(&self) -> Result<Vec<String>, EngineError> {
        let accounts = self.store.list_accounts().await?;
        Ok(accounts.into_iter().filter(|a| !a.is_active()).map(|a| a.account_id).collect())
    }

    /// Reads the organization's member accounts and adds the new ones (source
    /// `organizations`, not baselined: their first complete sweep baselines
    /// them) or updates the OU path of known ones. `None`: the cloud has no
    /// organization to read.
    pub async fn discover_accounts(&self) -> Result<Option<Discovery>, DiscoverError> {
        let Some(members) = self.cloud.discover_accounts().await? else { return Ok(None) };
        let known: HashMap<String, Account> = self
            .store
            .list_accounts()
            .await
            .map_err(EngineError::from)?
            .into_iter()
            .map(|a| (a.account_id.clone(), a))
            .collect();
        let mut d = Discovery::default();
        for m in members {
            validate_account_id(&m.account_id).map_err(EngineError::from)?;
            for ou in &m.org_path {
                qrie_model::ids::validate_org_unit(ou).map_err(EngineError::from)?;
            }
            d.paths.insert(m.account_id.clone(), m.org_path_names.join("/"));
            match known.get(&m.account_id) {
                Some(a) if !a.is_active() => d.skipped_removed.push(m.account_id),
                Some(a) => {
                    let rename = a.source == AccountSource::Organizations && a.name != m.name;
                    if a.org_path == m.org_path && !rename {
                        d.unchanged += 1;
                        continue;
                    }
                    let (org_path, name) = (m.org_path, m.name);
                    let changed = self
                        .update_account(&a.account_id, |a| {
                            a.org_path = org_path.clone();
                            if a.source == AccountSource::Organizations {
                                a.name = name.clone();
                            }
                            a.is_active()
                        })
                        .await?;
                    match changed {
                        Some(a) => d.updated.push(a),
                        None => d.skipped_removed.push(a.account_id.clone()),
                    }
                }
                None if m.status != "ACTIVE" => d.skipped_inactive.push(m.account_id),
                None => {
                    let a = Account {
                        account_id: m.account_id,
                        name: m.name,
                        status: AccountStatus::Active,
                        role_arn: None,
                        external_id: None,
                        regions: Vec::new(),
                        enabled_regions: Vec::new(),
                        org_path: m.org_path,
                        source: AccountSource::Organizations,
                        added_at: Engine::now(),
                        baselined_at: None,
                        removed_at: None,
                        revision: 1,
                    };
                    // Added by someone else meanwhile: theirs stands.
                    if self.store.put_account(a.clone(), None).await.map_err(EngineError::from)? {
                        d.added.push(a);
                    } else {
                        d.unchanged += 1;
                    }
                }
            }
        }
        if d.changed() {
            summary::invalidate(&*self.store).await?;
        }
        Ok(Some(d))
    }

    /// Adds an account, or re-activates a removed one. Its first complete
    /// inventory sweep sets its baseline; until then it is left out of drift.
    pub async fn add_account(&self, new: NewAccount) -> Result<Account, EngineError> {
        validate_account_id(&new.account_id)?;
        for r in &new.regions {
            validate_region(r)?;
        }
        if let Some(arn) = &new.role_arn {
            check_len("the role ARN", arn, limits::ROLE_ARN)?;
            validate_role_arn(arn)?;
        }
        if let Some(name) = &new.name {
            check_len("the account name", name, limits::ACCOUNT_NAME)?;
        }
        if let Some(id) = &new.external_id {
            check_len("the external id", id, limits::EXTERNAL_ID)?;
        }
        let now = Engine::now();
        let existing = self.store.get_account(&new.account_id).await?;
        if existing.as_ref().is_some_and(Account::is_active) {
            return Err(EngineError::AccountExists(new.account_id));
        }
        let account = Account {
            name: new.name.unwrap_or_else(|| new.account_id.clone()),
            account_id: new.account_id,
            status: AccountStatus::Active,
            role_arn: new.role_arn,
            external_id: new.external_id,
            regions: new.regions,
            enabled_regions: Vec::new(),
            org_path: new.org_path,
            source: new.source,
            added_at: now,
            // A returning account's old baseline says nothing about the time it
            // was not watched.
            baselined_at: None,
            removed_at: None,
            revision: existing.as_ref().map_or(1, |e| e.revision + 1),
        };
        if !self.store.put_account(account.clone(), existing.map(|e| e.revision)).await? {
            return Err(EngineError::Conflict(format!(
                "account {} was changed by someone else meanwhile; look at it again and retry",
                account.account_id
            )));
        }
        summary::invalidate(&*self.store).await?;
        Ok(account)
    }

    /// Soft delete: the account leaves sweeps and default views; its inventory
    /// and findings stay.
    pub async fn remove_account(&self, account_id: &str) -> Result<Account, EngineError> {
        self.account(account_id).await?;
        let mut already_removed = false;
        let removed = self
            .update_account(account_id, |a| {
                already_removed = !a.is_active();
                a.status = AccountStatus::Removed;
                a.removed_at = Some(Engine::now());
                !already_removed
            })
            .await?;
        let a = match removed {
            Some(a) => a,
            None if already_removed => return Err(EngineError::AccountRemoved(account_id.into())),
            None => return Err(EngineError::UnknownAccount(account_id.into())),
        };
        summary::invalidate(&*self.store).await?;
        Ok(a)
    }

    /// Hard delete: the account, its inventory and its findings are gone.
    pub async fn purge_account(&self, account_id: &str) -> Result<(), EngineError> {
        self.account(account_id).await?;
        self.store.purge_account(account_id).await?;
        summary::invalidate(&*self.store).await?;
        Ok(())
    }

    /// Applies `change` to the account as stored now and writes it on the
    /// condition that nobody changed it since it was read; on a concurrent
    /// change, reads it again and re-applies (bounded). `change` answers
    /// whether to write at all. Returns the account as written, `None` when it
    /// does not exist or `change` declined.
    pub(crate) async fn update_account(
        &self,
        account_id: &str,
        mut change: impl FnMut(&mut Account) -> bool,
    ) -> Result<Option<Account>, EngineError> {
        const ATTEMPTS: usize = 8;
        for _ in 0..ATTEMPTS {
            let Some(read) = self.store.get_account(account_id).await? else { return Ok(None) };
            let mut a = read.clone();
            if !change(&mut a) {
                return Ok(None);
            }
            a.revision = read.revision + 1;
            if self.store.put_account(a.clone(), Some(read.revision)).await? {
                return Ok(Some(a));
            }
        }
        Err(EngineError::Conflict(format!(
            "account {account_id} kept changing under {ATTEMPTS} attempts to update it; retry"
        )))
    }

    pub async fn account(&self, account_id: &str) -> Result<Account, EngineError> {
        validate_account_id(account_id)?;
        self.store.get_account(account_id).await?.ok_or_else(|| EngineError::UnknownAccount(account_id.into()))
    }

    pub async fn list_accounts(&self, include_removed: bool) -> Result<Vec<AccountView>, EngineError> {
        let (all, active) =
            (ResourceFilter::default(), FindingFilter { state: Some(FindingState::Active), ..Default::default() });
        // Two scans and a read, independent: run at once, each on its own
        // store connection (the counts cost 0.1-0.2 s at a million findings).
        let (resources, findings, accounts) = tokio::try_join!(
            self.store.count_resources(&all, Some(ResourceGroup::Account)),
            self.store.count_findings(&active, Some(FindingGroup::Account)),
            self.store.list_accounts(),
        )?;
        let resources: HashMap<String, u64> = resources.into_iter().collect();
        let findings: HashMap<String, u64> = findings.into_iter().collect();
        let suppressed = self.suppressed_counts(Engine::now()).await?.by_account;
        let n_suppressed = |id: &str| suppressed.get(id).copied().unwrap_or(0);
        Ok(accounts
            .into_iter()
            .filter(|a| include_removed || a.is_active())
            .map(|a| AccountView {
                baselined: a.is_baselined(),
                resources: resources.get(&a.account_id).copied().unwrap_or(0),
                active_findings: findings
                    .get(&a.account_id)
                    .copied()
                    .unwrap_or(0)
                    .saturating_sub(n_suppressed(&a.account_id)),
                suppressed_findings: n_suppressed(&a.account_id),
                account: a,
            })
            .collect())
    }
}

/// `arn:aws:iam::<12 digits>:role/<path/name>` (any partition).
fn validate_role_arn(arn: &str) -> Result<(), ValidationError> {
    let bad = || ValidationError::Parameter {
        name: "role-arn".into(),
        reason: format!("{arn:?} is not an IAM role ARN (arn:aws:iam::123456789012:role/NAME)"),
    };
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", partition, "iam", "", account, resource]
            if partition.starts_with("aws") && resource.starts_with("role/") && resource.len() > 5 =>
        {
            validate_account_id(account).map_err(|_| bad())
        }
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn role_arns() {
        assert!(super::validate_role_arn("arn:aws:iam::123456789012:role/qrie-read").is_ok());
        assert!(super::validate_role_arn("arn:aws-us-gov:iam::123456789012:role/path/x").is_ok());
        for bad in ["arn:aws:iam::123:role/x", "arn:aws:s3:::b", "role/x", "arn:aws:iam::123456789012:user/x"] {
            assert!(super::validate_role_arn(bad).is_err(), "{bad}");
        }
    }
}
