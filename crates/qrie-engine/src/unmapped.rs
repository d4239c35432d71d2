//! Counts of events qrie does not map yet, by `eventSource:eventName`, in a
//! table of bounded size. Anyone who can put a message on the events queue
//! chooses these names, so a table keyed by every name ever seen would grow
//! without bound (700,000 forged names made a 21 MB record; on DynamoDB an
//! item stops taking writes at 400 KB). Names are checked against the shape
//! AWS uses before they get here (`qrie_events::route`), and the table keeps
//! at most [`KEPT`] names with an [`OTHER`] count for the rest: the names
//! worth mapping next are the frequent ones, which stay.
//!
//! The stored table is one key-value document written conditionally on the
//! version read (several event functions record at once); a writer that keeps
//! losing the race adds its counts to [`OTHER`]'s counter instead, so no
//! count is ever lost.

use qrie_store::Store;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::EngineError;

/// Names the stored table keeps (about 55 KB at the longest names).
pub const KEPT: usize = 200;
/// Names one batch's report keeps (a file may hold a million).
pub const KEPT_IN_A_BATCH: usize = 1_000;
/// The key of everything not kept by name. Not a valid event name, so no
/// event can be counted as it.
pub const OTHER: &str = "(other)";

const NS: &str = "events";
const KEY: &str = "unmapped-top";
const ATTEMPTS: usize = 8;

/// Adds `n` under `name` to `counts`, or under [`OTHER`] once `counts`
/// holds `cap` names.
pub fn count(counts: &mut BTreeMap<String, u64>, name: &str, n: u64, cap: usize) {
    if let Some(c) = counts.get_mut(name) {
        *c += n;
    } else if counts.len() < cap || name == OTHER {
        counts.insert(name.to_string(), n);
    } else {
        *counts.entry(OTHER.to_string()).or_default() += n;
    }
}

/// `counts` cut to its `cap` largest names, the rest added to [`OTHER`].
pub fn top(counts: BTreeMap<String, u64>, cap: usize) -> BTreeMap<String, u64> {
    let mut other = 0;
    let mut named: Vec<(String, u64)> = Vec::with_capacity(counts.len());
    for (name, n) in counts {
        if name == OTHER {
            other += n;
        } else {
            named.push((name, n));
        }
    }
    named.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    other += named.iter().skip(cap).map(|(_, n)| n).sum::<u64>();
    named.truncate(cap);
    let mut out: BTreeMap<String, u64> = named.into_iter().collect();
    if other > 0 {
        out.insert(OTHER.to_string(), other);
    }
    out
}

#[derive(Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
struct Table {
    names: BTreeMap<String, u64>,
    other: u64,
}

impl Table {
    /// Adds a batch. A name already kept adds to its count; a new one is kept
    /// while there is room, else it replaces the smallest kept name if its
    /// count is larger (which moves to `other`), else it goes to `other`.
    fn add(&mut self, batch: &BTreeMap<String, u64>) {
        let mut newest: Vec<(&String, &u64)> = batch.iter().collect();
        newest.sort_by(|a, b| b.1.cmp(a.1));
        for (name, &n) in newest {
            if name == OTHER {
                self.other += n;
            } else if let Some(c) = self.names.get_mut(name) {
                *c += n;
            } else if self.names.len() < KEPT {
                self.names.insert(name.clone(), n);
            } else {
                let smallest = self.names.iter().min_by_key(|(_, c)| **c).map(|(k, c)| (k.clone(), *c));
                match smallest {
                    Some((evicted, c)) if c < n => {
                        self.names.remove(&evicted);
                        self.other += c;
                        self.names.insert(name.clone(), n);
                    }
                    _ => self.other += n,
                }
            }
        }
    }
}

/// Adds a batch's unmapped counts to the stored table.
pub async fn record(store: &dyn Store, batch: &BTreeMap<String, u64>) -> Result<(), EngineError> {
    if batch.is_empty() {
        return Ok(());
    }
    for _ in 0..ATTEMPTS {
        let read = store.kv_get_versioned(NS, KEY).await?;
        let version = read.as_ref().map(|(_, v)| *v);
        let mut table: Table = read.and_then(|(doc, _)| serde_json::from_value(doc).ok()).unwrap_or_default();
        table.add(batch);
        let doc = serde_json::to_value(&table).map_err(|e| qrie_store::StoreError::Backend(e.to_string()))?;
        if store.kv_put_if(NS, KEY, doc, version).await? {
            return Ok(());
        }
    }
    let total = batch.values().sum::<u64>();
    tracing::warn!(total, "the unmapped-event table kept changing; counted under {OTHER}");
    store.counters_add(super::events::STATS_NS, vec![(format!("unmapped/{OTHER}"), total as i64)]).await?;
    Ok(())
}

/// The stored table's counts, [`OTHER`] included.
pub async fn stored(store: &dyn Store) -> Result<BTreeMap<String, u64>, EngineError> {
    let table: Table =
        store.kv_get(NS, KEY).await?.and_then(|doc| serde_json::from_value(doc).ok()).unwrap_or_default();
    let mut out = table.names;
    if table.other > 0 {
        out.insert(OTHER.to_string(), table.other);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frequent_names_stay_and_a_flood_of_unique_ones_goes_to_other() {
        let mut t = Table::default();
        let frequent = BTreeMap::from([("s3.amazonaws.com:PutBucketFoo".to_string(), 50)]);
        t.add(&frequent);
        for chunk in 0..100 {
            let flood: BTreeMap<String, u64> =
                (0..1_000).map(|i| (format!("s3.amazonaws.com:Forged{chunk}x{i}"), 1)).collect();
            t.add(&flood);
            t.add(&BTreeMap::from([("s3.amazonaws.com:PutBucketFoo".to_string(), 1)]));
        }
        assert_eq!(t.names.len(), KEPT);
        assert_eq!(t.names["s3.amazonaws.com:PutBucketFoo"], 150);
        let total: u64 = t.names.values().sum::<u64>() + t.other;
        assert_eq!(total, 150 + 100_000, "no count lost");
        assert!(serde_json::to_vec(&t).unwrap().len() < 64 * 1024);
        // A name more frequent than the smallest kept displaces it.
        t.add(&BTreeMap::from([("iam.amazonaws.com:NewCall".to_string(), 7)]));
        assert_eq!(t.names["iam.amazonaws.com:NewCall"], 7);
        assert_eq!(t.names.len(), KEPT);
    }

    #[test]
    fn counts_are_capped_and_cut_to_the_top() {
        let mut m = BTreeMap::new();
        for i in 0..10 {
            count(&mut m, &format!("n{i}"), i + 1, 5);
        }
        assert_eq!(m.len(), 6);
        assert_eq!(m[OTHER], 6 + 7 + 8 + 9 + 10);
        let cut = top(m, 2);
        assert_eq!(cut.len(), 3);
        assert_eq!((cut["n4"], cut["n3"], cut[OTHER]), (5, 4, 40 + 1 + 2 + 3));
    }
}
