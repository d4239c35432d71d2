//! The reference index: which stored resources read which others (an
//! instance reads its security groups, a bucket its account's Block Public
//! Access, a principal its managed policies), so that an event on a resource
//! re-evaluates exactly what reads it instead of decoding every resource of
//! the account that might.
//!
//! Entries live in the key-value store, one namespace per referenced ARN
//! (`refs/<referenced>`), keyed by the referencing ARN, valued with the
//! observation time of the referencing resource's state that named it. The
//! index is a *superset*: an entry is written before the resource state that
//! needs it (so no stored state lacks its entries), and readers check each
//! candidate against its stored state. An entry is removed only when the
//! stored state read is at least as new as the entry and no longer names the
//! reference, and only if the entry still holds the value read — a writer that
//! re-added it since keeps it.
//!
//! Stores written before the index existed have no entries: an account is
//! *indexed* once a sweep wrote the entries of all its resources (see
//! [`mark_indexed`]); until then the event path finds dependents by listing.

use crate::EngineError;
use qrie_model::Resource;
use qrie_store::Store;
use serde_json::{json, Value};
use std::collections::{BTreeSet, HashMap};
use std::sync::OnceLock;

const PREFIX: &str = "refs/";
/// Per account: the [`fingerprint`] of the catalog whose references a sweep
/// wrote for every resource of the account.
const INDEXED: &str = "refs-indexed";

fn namespace(referenced: &str) -> String {
    format!("{PREFIX}{referenced}")
}

/// Every ARN the catalog's policies read to evaluate `resource` (besides the
/// resource itself), whichever of them are launched: the index does not
/// change with launches.
pub(crate) fn of(resource: &Resource) -> BTreeSet<String> {
    qrie_policies::catalog()
        .iter()
        .filter(|p| p.resource_type == resource.resource_type)
        .flat_map(|p| p.related_arns(resource))
        .filter(|arn| *arn != resource.arn)
        .collect()
}

/// What the catalog's dependencies are: an account indexed under another
/// catalog (a policy that reads something new) is indexed again.
fn fingerprint() -> &'static str {
    static PRINT: OnceLock<String> = OnceLock::new();
    PRINT.get_or_init(|| {
        let mut parts: Vec<String> = qrie_policies::catalog()
            .iter()
            .filter_map(|p| p.related.map(|d| format!("{}>{}:{}", p.resource_type, p.id, d.types.join(","))))
            .collect();
        parts.sort();
        parts.join(" ")
    })
}

/// Writes the entries of `resources` (before the resources themselves).
pub(crate) async fn record<'r>(
    store: &dyn Store,
    resources: impl IntoIterator<Item = &'r Resource>,
) -> Result<(), EngineError> {
    let mut entries = Vec::new();
    for r in resources {
        let at = json!(r.last_seen_at.timestamp_millis());
        entries.extend(of(r).into_iter().map(|referenced| (namespace(&referenced), r.arn.clone(), at.clone())));
    }
    if !entries.is_empty() {
        store.kv_put_entries(entries).await?;
    }
    Ok(())
}

/// Whether every resource of the account has its entries.
pub(crate) async fn indexed(store: &dyn Store, account_id: &str) -> Result<bool, EngineError> {
    Ok(store.kv_get(INDEXED, account_id).await?.as_ref().and_then(Value::as_str) == Some(fingerprint()))
}

/// Of these accounts, those not indexed under the current catalog.
pub(crate) async fn unindexed<'a>(
    store: &dyn Store,
    account_ids: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<String>, EngineError> {
    let marks: HashMap<String, Value> = store.kv_list(INDEXED).await?.into_iter().collect();
    let current = |id: &str| marks.get(id).and_then(Value::as_str) == Some(fingerprint());
    Ok(account_ids.into_iter().filter(|id| !current(id)).map(str::to_string).collect())
}

/// Records that a sweep wrote the entries of every resource of these accounts.
pub(crate) async fn mark_indexed(store: &dyn Store, account_ids: Vec<String>) -> Result<(), EngineError> {
    if account_ids.is_empty() {
        return Ok(());
    }
    let entries = account_ids.into_iter().map(|a| (a, json!(fingerprint()))).collect();
    store.kv_put_many(INDEXED, entries).await?;
    Ok(())
}

/// The stored resources whose current state reads `referenced` (deleted ones
/// left out), pruning entries their stored state no longer justifies.
pub(crate) async fn readers_of(store: &dyn Store, referenced: &str) -> Result<Vec<Resource>, EngineError> {
    let ns = namespace(referenced);
    let entries = store.kv_list(&ns).await?;
    if entries.is_empty() {
        return Ok(Vec::new());
    }
    let stored = store.get_resources(entries.iter().map(|(arn, _)| arn.clone()).collect()).await?;
    let written: HashMap<String, Value> = entries.into_iter().collect();
    let mut readers = Vec::new();
    for r in stored {
        let names_it = !r.is_deleted() && of(&r).contains(referenced);
        if names_it {
            readers.push(r);
            continue;
        }
        let Some(at) = written.get(&r.arn) else { continue };
        // Only a state at least as new as the entry's proves it stale.
        if at.as_i64().is_some_and(|at| r.last_seen_at.timestamp_millis() >= at) {
            store.kv_delete_if(&ns, &r.arn, at.clone()).await?;
        }
    }
    Ok(readers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::{swept_estate, SimSpec};
    use crate::{InventoryRequest, NoProgress};
    use qrie_store::{PageRequest, ResourceFilter};
    use std::collections::BTreeMap;

    async fn estate() -> (tempfile::TempDir, crate::Engine) {
        let dir = tempfile::tempdir().unwrap();
        let store = qrie_store::open(&format!("sqlite:{}", dir.path().join("r.db").display())).unwrap();
        let spec = SimSpec { seed: 4, accounts: 2, resources_per_account: 150, created_at: chrono::Utc::now() };
        let (engine, _) = swept_estate(store, spec).await.unwrap();
        (dir, engine)
    }

    async fn stored(store: &dyn Store) -> Vec<Resource> {
        let filter = ResourceFilter::default();
        let mut page = PageRequest::first(1000);
        let mut out = Vec::new();
        loop {
            let p = store.list_resources(&filter, &page).await.unwrap();
            out.extend(p.items);
            match p.next_token {
                Some(t) => page.next_token = Some(t),
                None => return out,
            }
        }
    }

    /// What reads what, worked out from every stored resource (the listing
    /// the index replaces).
    fn by_listing(resources: &[Resource]) -> BTreeMap<String, BTreeSet<String>> {
        let mut map: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for r in resources.iter().filter(|r| !r.is_deleted()) {
            for referenced in of(r) {
                map.entry(referenced).or_default().insert(r.arn.clone());
            }
        }
        map
    }

    async fn readers(store: &dyn Store, arn: &str) -> BTreeSet<String> {
        readers_of(store, arn).await.unwrap().into_iter().map(|r| r.arn).collect()
    }

    #[tokio::test]
    async fn a_swept_estate_is_indexed_and_the_index_answers_what_a_listing_would() {
        let (_dir, engine) = estate().await;
        let store = &*engine.store;
        for a in store.list_accounts().await.unwrap() {
            assert!(indexed(store, &a.account_id).await.unwrap(), "{} indexed by its first sweep", a.account_id);
        }
        let expected = by_listing(&stored(store).await);
        assert!(expected.keys().any(|k| k.contains(":security-group/")), "instances read security groups");
        assert!(expected.values().map(BTreeSet::len).sum::<usize>() > 100, "{expected:?}");
        for (referenced, referencing) in &expected {
            assert_eq!(&readers(store, referenced).await, referencing, "readers of {referenced}");
        }
    }

    #[tokio::test]
    async fn a_stale_entry_is_pruned_only_by_a_state_at_least_as_new_as_it() {
        let (_dir, engine) = estate().await;
        let store = &*engine.store;
        let resources = stored(store).await;
        let (group, instance) = by_listing(&resources)
            .into_iter()
            .find(|(k, _)| k.contains(":security-group/"))
            .map(|(k, v)| (k, v.into_iter().next().unwrap()))
            .unwrap();
        let mut moved = resources.into_iter().find(|r| r.arn == instance).unwrap();

        // An entry written ahead of a state not stored yet is kept.
        let later = moved.last_seen_at + chrono::Duration::seconds(5);
        let ahead = Resource { last_seen_at: later, ..moved.clone() };
        record(store, [&ahead]).await.unwrap();
        moved.configuration["Instance"]["SecurityGroups"] = serde_json::json!([]);
        moved.last_seen_at = later - chrono::Duration::seconds(1);
        store.put_resources(vec![moved.clone()]).await.unwrap();
        assert!(!readers(store, &group).await.contains(&instance), "the stored state names it no more");
        assert!(store.kv_get(&namespace(&group), &instance).await.unwrap().is_some(), "newer than the state read");

        // A state as new as the entry that does not name it prunes it.
        moved.last_seen_at = later;
        store.put_resources(vec![moved]).await.unwrap();
        assert!(!readers(store, &group).await.contains(&instance));
        assert_eq!(store.kv_get(&namespace(&group), &instance).await.unwrap(), None, "pruned");
    }

    #[tokio::test]
    async fn an_account_not_indexed_is_indexed_by_its_next_complete_sweep_only() {
        let (_dir, engine) = estate().await;
        let store = &*engine.store;
        store.kv_clear(INDEXED).await.unwrap();
        let accounts: Vec<String> = store.list_accounts().await.unwrap().into_iter().map(|a| a.account_id).collect();
        assert_eq!(unindexed(store, accounts.iter().map(String::as_str)).await.unwrap(), accounts);

        // A sweep of one service lists part of the accounts: not indexed.
        let partial = InventoryRequest { services: vec![qrie_model::Service::Ec2], ..Default::default() };
        engine.inventory_sweep(&partial, &NoProgress).await.unwrap();
        assert!(!indexed(store, &accounts[0]).await.unwrap());
        // A complete sweep of one account indexes that one.
        let one = InventoryRequest { accounts: vec![accounts[0].clone()], ..Default::default() };
        engine.inventory_sweep(&one, &NoProgress).await.unwrap();
        assert!(indexed(store, &accounts[0]).await.unwrap());
        assert!(!indexed(store, &accounts[1]).await.unwrap());
    }
}
