//! The simulated estate generated one account at a time, on demand, from its
//! seed: what an organization of 1,000 accounts × 1,000 resources is swept
//! over (`scripts/bench org`). [`super::SimEstate`] holds every resource in
//! memory (about 10 KB each: 10 GB at a million); this holds the accounts'
//! headers and the few accounts being listed now, so memory stays flat in
//! the number of accounts. Each account's resources are the same as
//! `SimEstate::generate` makes for it. (No changes: the estate is as
//! generated.)

use async_trait::async_trait;
#[cfg(test)]
use qrie_model::Service;
use qrie_model::{Account, Resource};
use rand_chacha::ChaCha8Rng;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use super::estate::{account_header, account_ids, account_resources};
use super::{SimAccount, SimSpec};
use crate::cloud::{Cloud, CloudError, Described, Listing, SweepUnit};

/// Accounts whose resources are kept generated: a sweep lists an account's
/// units next to each other (the plan is in account order), a few at a time.
const CACHED_ACCOUNTS: usize = 8;

pub struct GeneratedCloud {
    spec: SimSpec,
    headers: Vec<(SimAccount, ChaCha8Rng)>,
    index_of: HashMap<String, usize>,
    cache: Mutex<VecDeque<(usize, Arc<Vec<Resource>>)>>,
}

impl GeneratedCloud {
    pub fn new(spec: SimSpec) -> GeneratedCloud {
        let headers: Vec<_> =
            account_ids(&spec).into_iter().enumerate().map(|(i, id)| account_header(&spec, i, id)).collect();
        let index_of = headers.iter().enumerate().map(|(i, (a, _))| (a.account_id.clone(), i)).collect();
        GeneratedCloud { spec, headers, index_of, cache: Mutex::new(VecDeque::new()) }
    }

    pub fn accounts(&self) -> impl Iterator<Item = &SimAccount> {
        self.headers.iter().map(|(a, _)| a)
    }

    fn index(&self, account_id: &str) -> Result<usize, CloudError> {
        self.index_of.get(account_id).copied().ok_or_else(|| {
            CloudError::AccessDenied(format!("account {account_id} is not part of the simulated estate"))
        })
    }

    /// The account's resources, generated now unless recently.
    fn resources(&self, index: usize) -> Arc<Vec<Resource>> {
        let cached =
            |c: &VecDeque<(usize, Arc<Vec<Resource>>)>| c.iter().find(|(i, _)| *i == index).map(|e| e.1.clone());
        if let Some(r) = cached(&self.cache.lock().unwrap_or_else(|e| e.into_inner())) {
            return r;
        }
        let generated = Arc::new(account_resources(&self.spec, index, &self.headers[index]));
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= CACHED_ACCOUNTS {
            cache.pop_front();
        }
        cache.push_back((index, generated.clone()));
        generated
    }
}

#[async_trait]
impl Cloud for GeneratedCloud {
    async fn enabled_regions(&self, account: &Account) -> Result<Vec<String>, CloudError> {
        Ok(self.headers[self.index(&account.account_id)?].0.regions.clone())
    }

    async fn list(&self, account: &Account, unit: &SweepUnit) -> Result<Listing, CloudError> {
        let now = chrono::Utc::now();
        let all = self.resources(self.index(&account.account_id)?);
        let resources = all
            .iter()
            .filter(|r| r.service == unit.service && unit.region.as_ref().is_none_or(|region| &r.region == region))
            .map(|r| Resource { last_seen_at: now, ..r.clone() })
            .collect();
        Ok(super::complete_listing(unit.service, resources, now))
    }

    async fn describe(&self, account: &Account, arn: &str) -> Result<Described, CloudError> {
        let now = chrono::Utc::now();
        let all = self.resources(self.index(&account.account_id)?);
        Ok(match all.iter().find(|r| r.arn == arn) {
            Some(r) => Described::Present(Box::new(Resource { last_seen_at: now, ..r.clone() })),
            None => Described::Gone { observed_at: now },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::{SimCloud, SimEstate};
    use std::sync::RwLock;

    /// Every unit lists what the estate generated whole lists: the same
    /// resources, configurations and hashes.
    #[tokio::test]
    async fn accounts_generated_one_at_a_time_are_the_estates_accounts() {
        let spec = SimSpec { seed: 8, accounts: 12, resources_per_account: 40, created_at: chrono::Utc::now() };
        let whole = SimEstate::generate(spec.clone());
        let accounts = whole.accounts().to_vec();
        let whole = SimCloud::new(Arc::new(RwLock::new(whole)));
        let generated = GeneratedCloud::new(spec);
        let ids = |a: &[SimAccount]| a.iter().map(|a| (a.account_id.clone(), a.regions.clone())).collect::<Vec<_>>();
        assert_eq!(ids(&generated.accounts().cloned().collect::<Vec<_>>()), ids(&accounts));
        let mut units = 0;
        // Twice over, in reverse the second time: past the cache's few accounts.
        for a in accounts.iter().chain(accounts.iter().rev()) {
            let account = Account {
                account_id: a.account_id.clone(),
                name: a.name.clone(),
                status: qrie_model::AccountStatus::Active,
                role_arn: None,
                external_id: None,
                regions: a.regions.clone(),
                enabled_regions: Vec::new(),
                org_path: a.org_path.clone(),
                source: qrie_model::AccountSource::Simulated,
                added_at: chrono::Utc::now(),
                baselined_at: None,
                removed_at: None,
                revision: 1,
            };
            for service in Service::ALL {
                let regions: Vec<Option<String>> = match service.is_global() {
                    true => vec![None],
                    false => a.regions.iter().cloned().map(Some).collect(),
                };
                for region in regions {
                    let unit = SweepUnit { account_id: a.account_id.clone(), service, region };
                    let key = |l: Listing| {
                        let mut v: Vec<_> =
                            l.resources.into_iter().map(|r| (r.arn, r.config_hash, r.configuration)).collect();
                        v.sort_by(|x, y| x.0.cmp(&y.0));
                        v
                    };
                    let (w, g) =
                        (whole.list(&account, &unit).await.unwrap(), generated.list(&account, &unit).await.unwrap());
                    assert_eq!(key(g), key(w), "{unit:?}");
                    units += 1;
                }
            }
        }
        assert!(units > 24 * 3);
    }
}
