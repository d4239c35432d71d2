//! Conditional finding writes as `TransactWriteItems`: each finding's `Put` is
//! conditional on the version its writer read, and each transaction carries a
//! `ConditionCheck` on every launched policy its writes are fenced by. A batch
//! of plain `BatchWriteItem` puts cannot carry conditions, and one `PutItem`
//! per finding would cost a request per finding; a transaction of up to 100
//! actions costs one request (and two write units per item).
//!
//! A cancelled transaction says, per action, why: a failed policy check fences
//! that policy's writes, a failed put is a version conflict, and the writes
//! that were only cancelled along with them are sent again.

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Put, TransactWriteItem};
use futures::StreamExt;
use qrie_model::notice::{Notice, OutboxEntry, OUTBOX};
use qrie_store::{FindingWrite, FindingWriteOutcome, PolicyFence, Result, StoreError};
use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::time::Duration;

use crate::error::{build, sdk};
use crate::item::{key, n, s, Item};
use crate::DynamoStore;

/// DynamoDB's limit on actions in one transaction.
const MAX_ACTIONS: usize = 100;
/// Attempts at one chunk whose transaction was cancelled only by others'
/// transactions in flight (TransactionConflict) or throttling.
const ATTEMPTS: u32 = 8;
const FIRST_BACKOFF: Duration = Duration::from_millis(20);
/// Chunks in flight at once when no key repeats across them.
const PARALLEL: usize = 4;

/// The condition that an item's numeric `attr` is `:v`. Items written before
/// the attribute existed read as 1 (as their documents do), so version 1 also
/// matches an existing item without it.
pub(crate) fn at_version(attr: &str, exists: &str, v: u64) -> String {
    if v == 1 {
        format!("({attr} = :v OR (attribute_exists({exists}) AND attribute_not_exists({attr})))")
    } else {
        format!("{attr} = :v")
    }
}

fn fence_check(store: &DynamoStore, policy_id: &str, fence: PolicyFence) -> Result<Option<TransactWriteItem>> {
    let (condition, value) = match fence {
        PolicyFence::Unchecked => return Ok(None),
        PolicyFence::Absent => ("attribute_not_exists(PolicyId)".to_string(), None),
        PolicyFence::Generation(g) => (at_version("Generation", "PolicyId", g), Some(g)),
    };
    let mut check = ConditionCheck::builder()
        .table_name(&store.tables().policies)
        .set_key(Some(key([("PolicyId", s(policy_id))])))
        .condition_expression(condition);
    if let Some(g) = value {
        check = check.expression_attribute_values(":v", n(g as i64));
    }
    Ok(Some(
        TransactWriteItem::builder().condition_check(check.build().map_err(|e| build("condition check", e))?).build(),
    ))
}

fn conditional_put(table: &str, item: Item, expected: u64) -> Result<TransactWriteItem> {
    let mut put = Put::builder().table_name(table).set_item(Some(item));
    put = if expected == 0 {
        put.condition_expression("attribute_not_exists(ARN)")
    } else {
        put.condition_expression(at_version("Version", "ARN", expected))
            .expression_attribute_values(":v", n(expected as i64))
    };
    Ok(TransactWriteItem::builder().put(put.build().map_err(|e| build("put", e))?).build())
}

/// The outbox item telling of a write's transition: an unconditional `Put`,
/// since only the write that adds a transition can land it.
fn notice_put(table: &str, notice: &Notice) -> Result<TransactWriteItem> {
    let entry = OutboxEntry { notice: notice.clone(), deliveries: Default::default() };
    let value = entry.to_value().map_err(|e| StoreError::Backend(format!("encoding notice {}: {e}", notice.id)))?;
    let item = crate::kv::item_of(OUTBOX, &notice.outbox_key(), &value)?;
    let put = Put::builder().table_name(table).set_item(Some(item)).build().map_err(|e| build("put", e))?;
    Ok(TransactWriteItem::builder().put(put).build())
}

/// Splits writes (by index) into chunks that each fit one transaction: at most
/// 100 actions counting one check per fenced policy and the notice a write
/// carries, no key twice and no policy checked at two generations (a
/// transaction refuses two actions on one item).
fn chunks(writes: &[FindingWrite]) -> (Vec<Vec<usize>>, bool) {
    let mut out: Vec<Vec<usize>> = Vec::new();
    let mut keys: HashSet<(&str, &str)> = HashSet::new();
    let mut fences: HashMap<&str, PolicyFence> = HashMap::new();
    let mut actions = 0;
    let mut repeated = false;
    let mut all_keys: HashSet<(&str, &str)> = HashSet::new();
    for (i, w) in writes.iter().enumerate() {
        let k = (w.finding.arn.as_str(), w.finding.policy.as_str());
        repeated |= !all_keys.insert(k);
        let fenced = w.fence != PolicyFence::Unchecked;
        let held = fences.get(k.1).copied();
        let other_fence = fenced && held.is_some_and(|f| f != w.fence);
        let new_fence = fenced && held.is_none();
        let cost = 1 + usize::from(w.notice.is_some());
        if out.is_empty() || keys.contains(&k) || other_fence || actions + cost + usize::from(new_fence) > MAX_ACTIONS {
            out.push(Vec::new());
            keys.clear();
            fences.clear();
            actions = 0;
        }
        keys.insert(k);
        if fenced && fences.insert(k.1, w.fence).is_none() {
            actions += 1;
        }
        actions += cost;
        out.last_mut().expect("a chunk was pushed").push(i);
    }
    (out, repeated)
}

impl DynamoStore {
    pub(crate) async fn transact_findings(
        &self,
        writes: &[FindingWrite],
        items: Vec<Item>,
    ) -> Result<Vec<FindingWriteOutcome>> {
        let (chunks, repeated) = chunks(writes);
        let items: Vec<Option<Item>> = items.into_iter().map(Some).collect();
        let mut outcomes = vec![FindingWriteOutcome::Written; writes.len()];
        // A key written twice must be written in input order: chunk after chunk.
        let parallel = if repeated { 1 } else { PARALLEL };
        let items = &items;
        let mut results = futures::stream::iter(chunks.into_iter().map(|chunk| async move {
            let outcome = self.transact_chunk(writes, items, &chunk).await?;
            Ok::<_, StoreError>(chunk.into_iter().zip(outcome).collect::<Vec<_>>())
        }))
        .buffered(parallel);
        while let Some(done) = results.next().await {
            for (i, o) in done? {
                outcomes[i] = o;
            }
        }
        Ok(outcomes)
    }

    /// One chunk, retried until every write in it is written, fenced or in conflict.
    async fn transact_chunk(
        &self,
        writes: &[FindingWrite],
        items: &[Option<Item>],
        chunk: &[usize],
    ) -> Result<Vec<FindingWriteOutcome>> {
        let table = &self.tables().findings;
        let mut outcome: Vec<Option<FindingWriteOutcome>> = vec![None; chunk.len()];
        let mut backoff = FIRST_BACKOFF;
        for attempt in 1..=ATTEMPTS {
            let pending: Vec<usize> = (0..chunk.len()).filter(|&j| outcome[j].is_none()).collect();
            if pending.is_empty() {
                break;
            }
            // Checks first, one per (policy, fence); then the puts.
            let mut checks: HashMap<(&str, PolicyFence), usize> = HashMap::new();
            let mut actions = Vec::new();
            for &j in &pending {
                let w = &writes[chunk[j]];
                if let Entry::Vacant(slot) = checks.entry((w.finding.policy.as_str(), w.fence)) {
                    if let Some(check) = fence_check(self, &w.finding.policy, w.fence)? {
                        slot.insert(actions.len());
                        actions.push(check);
                    }
                }
            }
            let puts_from = actions.len();
            for &j in &pending {
                let w = &writes[chunk[j]];
                let item = items[chunk[j]].clone().expect("every write has its item");
                actions.push(conditional_put(table, item, w.expected_version())?);
            }
            // The notices after every put, so that action `puts_from + idx`
            // stays the put of pending write `idx`.
            for &j in &pending {
                if let Some(notice) = &writes[chunk[j]].notice {
                    actions.push(notice_put(&self.tables().kv, notice)?);
                }
            }
            let sent = self.client().transact_write_items().set_transact_items(Some(actions)).send().await;
            let err = match sent {
                Ok(_) => {
                    for j in pending {
                        outcome[j] = Some(FindingWriteOutcome::Written);
                    }
                    break;
                }
                Err(e) => e,
            };
            let Some(reasons) = err
                .as_service_error()
                .and_then(|s| match s {
                    TransactWriteItemsError::TransactionCanceledException(c) => Some(c),
                    _ => None,
                })
                .map(|c| {
                    c.cancellation_reasons().iter().map(|r| r.code().unwrap_or("None").to_string()).collect::<Vec<_>>()
                })
            else {
                let retry = err.as_service_error().is_some_and(|s| {
                    s.is_throttling_exception()
                        || s.is_provisioned_throughput_exceeded_exception()
                        || s.is_request_limit_exceeded()
                        || s.is_transaction_in_progress_exception()
                });
                if retry && attempt < ATTEMPTS {
                    tokio::time::sleep(backoff).await;
                    backoff *= 2;
                    continue;
                }
                return Err(sdk("TransactWriteItems", table, err));
            };
            let failed = |action: usize| reasons.get(action).is_some_and(|c| c == "ConditionalCheckFailed");
            let mut resolved_any = false;
            for (idx, &j) in pending.iter().enumerate() {
                let w = &writes[chunk[j]];
                if checks.get(&(w.finding.policy.as_str(), w.fence)).is_some_and(|&a| failed(a)) {
                    outcome[j] = Some(FindingWriteOutcome::Fenced);
                    resolved_any = true;
                } else if failed(puts_from + idx) {
                    outcome[j] = Some(FindingWriteOutcome::Conflict);
                    resolved_any = true;
                }
            }
            if !resolved_any {
                // Cancelled by others' transactions in flight or throttling: back off.
                if attempt == ATTEMPTS {
                    return Err(StoreError::Backend(format!(
                        "dynamodb TransactWriteItems on {table}: cancelled {ATTEMPTS} times ({})",
                        reasons.join(", ")
                    )));
                }
                tokio::time::sleep(backoff).await;
                backoff *= 2;
            }
        }
        outcome
            .into_iter()
            .map(|o| {
                o.ok_or_else(|| {
                    StoreError::Backend(format!(
                        "dynamodb TransactWriteItems on {table}: writes left unsent after {ATTEMPTS} attempts"
                    ))
                })
            })
            .collect()
    }
}

/// The policy item's generation attribute, which fences findings.
pub(crate) fn generation_attr(g: u64) -> (&'static str, AttributeValue) {
    ("Generation", n(g as i64))
}
