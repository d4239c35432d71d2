//! The event path: a CloudTrail event is a hint that a resource changed. The
//! engine debounces hints per ARN, re-reads each resource through the cloud
//! (so duplicates and out-of-order delivery cannot install a wrong state),
//! stores what it observed, and evaluates it through the same path as sweeps,
//! recording the event on every finding transition.

use qrie_events::{Action, Decision, Routed, Target};
use qrie_model::{Account, DetectedBy, Resource, Timestamp, Trigger};
use qrie_store::{ResourceFilter, WriteOutcome};
use serde::{Deserialize, Serialize};

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use crate::commit::{commit, Evaluator};
use crate::evaluate::{evaluate_batch, load_active_policies, ActivePolicy, FindingIndex, RelatedCache, Tally};
use crate::references;
use crate::{summary, Described, Engine, EngineError};

const STATS_NS: &str = "events";
/// Where versions before the counters kept the totals, as one document.
const LEGACY_STATS_KEY: &str = "stats";

/// One resource to re-read, and the latest event that asked for it.
#[derive(Debug, Clone)]
pub struct Pending {
    pub target: Target,
    pub event_id: Option<String>,
    pub event_time: Option<Timestamp>,
}

/// Collapses hints per ARN: a resource is re-read once the window has passed
/// without a newer hint for it (trailing edge), so a burst of changes costs one
/// describe call and the read sees the burst's final state.
pub struct Debouncer {
    window: Duration,
    pending: HashMap<String, (Pending, Instant)>,
}

impl Debouncer {
    pub fn new(window: Duration) -> Self {
        Debouncer { window, pending: HashMap::new() }
    }

    /// Adds a hint; returns true when it merged into one already waiting.
    pub fn offer(&mut self, p: Pending, now: Instant) -> bool {
        let due = now + self.window;
        let arn = p.target.arn.clone();
        match self.pending.get_mut(&arn) {
            Some((waiting, at)) => {
                // A deletion or account-wide change outranks a refresh of the same ARN.
                if p.target.action != Action::Refresh || waiting.target.action == Action::Refresh {
                    waiting.target.action = p.target.action;
                }
                if p.event_time >= waiting.event_time {
                    waiting.event_id = p.event_id;
                    waiting.event_time = p.event_time;
                }
                *at = due;
                true
            }
            None => {
                self.pending.insert(arn, (p, due));
                false
            }
        }
    }

    /// The hints whose window has passed.
    pub fn take_due(&mut self, now: Instant) -> Vec<Pending> {
        let due: Vec<String> = self.pending.iter().filter(|(_, (_, at))| *at <= now).map(|(k, _)| k.clone()).collect();
        due.into_iter().filter_map(|k| self.pending.remove(&k).map(|p| p.0)).collect()
    }

    /// Every waiting hint (end of input).
    pub fn take_all(&mut self) -> Vec<Pending> {
        self.pending.drain().map(|(_, (p, _))| p).collect()
    }

    pub fn len(&self) -> usize {
        self.pending.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }
}

/// What the event path did with a batch.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct EventStats {
    pub received: u64,
    pub mapped: u64,
    /// Skipped events by reason.
    pub skipped: BTreeMap<String, u64>,
    /// Event names qrie does not route yet, as `eventSource:eventName`.
    pub unmapped: BTreeMap<String, u64>,
    /// Hints merged into another for the same resource.
    pub debounced: u64,
    pub refreshed: u64,
    pub deleted: u64,
    /// Targets in accounts qrie does not monitor (or removed ones).
    pub unmonitored: u64,
    pub findings_opened: u64,
    pub findings_resolved: u64,
    pub errors: u64,
}

impl EventStats {
    /// Adds another batch's counts (totals across batches, messages or runs).
    pub fn add(&mut self, o: &EventStats) {
        self.received += o.received;
        self.mapped += o.mapped;
        for (k, v) in &o.skipped {
            *self.skipped.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &o.unmapped {
            *self.unmapped.entry(k.clone()).or_default() += v;
        }
        self.debounced += o.debounced;
        self.refreshed += o.refreshed;
        self.deleted += o.deleted;
        self.unmonitored += o.unmonitored;
        self.findings_opened += o.findings_opened;
        self.findings_resolved += o.findings_resolved;
        self.errors += o.errors;
    }

    /// The counts as named counters (`skipped/REASON`, `unmapped/NAME`), as
    /// the store keeps them.
    fn to_counters(&self) -> Vec<(String, i64)> {
        let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        let mut out: Vec<(String, i64)> = [
            ("received", self.received),
            ("mapped", self.mapped),
            ("debounced", self.debounced),
            ("refreshed", self.refreshed),
            ("deleted", self.deleted),
            ("unmonitored", self.unmonitored),
            ("findings_opened", self.findings_opened),
            ("findings_resolved", self.findings_resolved),
            ("errors", self.errors),
        ]
        .into_iter()
        .filter(|(_, v)| *v > 0)
        .map(|(k, v)| (k.to_string(), n(v)))
        .collect();
        out.extend(self.skipped.iter().map(|(k, v)| (format!("skipped/{k}"), n(*v))));
        out.extend(self.unmapped.iter().map(|(k, v)| (format!("unmapped/{k}"), n(*v))));
        out
    }

    fn from_counters(counters: Vec<(String, i64)>) -> Self {
        let mut s = EventStats::default();
        for (name, v) in counters {
            let v = u64::try_from(v).unwrap_or(0);
            let field = match name.as_str() {
                "received" => &mut s.received,
                "mapped" => &mut s.mapped,
                "debounced" => &mut s.debounced,
                "refreshed" => &mut s.refreshed,
                "deleted" => &mut s.deleted,
                "unmonitored" => &mut s.unmonitored,
                "findings_opened" => &mut s.findings_opened,
                "findings_resolved" => &mut s.findings_resolved,
                "errors" => &mut s.errors,
                other => {
                    if let Some(reason) = other.strip_prefix("skipped/") {
                        s.skipped.insert(reason.to_string(), v);
                    } else if let Some(event) = other.strip_prefix("unmapped/") {
                        s.unmapped.insert(event.to_string(), v);
                    }
                    continue;
                }
            };
            *field = v;
        }
        s
    }
}

/// A batch's result: its counts and what went wrong, per resource.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct EventReport {
    pub stats: EventStats,
    pub errors: Vec<String>,
}

impl Engine {
    /// Counts routed events and queues their targets in the debouncer.
    pub fn accept_events(&self, routed: &[Routed], debouncer: &mut Debouncer, report: &mut EventReport) {
        let now = Instant::now();
        for r in routed {
            report.stats.received += 1;
            match &r.decision {
                Decision::Mapped { targets } => {
                    report.stats.mapped += 1;
                    for t in targets {
                        let p = Pending { target: t.clone(), event_id: r.event_id.clone(), event_time: r.event_time };
                        if debouncer.offer(p, now) {
                            report.stats.debounced += 1;
                        }
                    }
                }
                Decision::Skipped { reason } => {
                    *report.stats.skipped.entry(reason.label().to_string()).or_default() += 1
                }
                Decision::Unmapped => {
                    let name = format!(
                        "{}:{}",
                        r.event_source.as_deref().unwrap_or("?"),
                        r.event_name.as_deref().unwrap_or("?")
                    );
                    *report.stats.unmapped.entry(name).or_default() += 1;
                }
            }
        }
    }

    /// Processes a whole batch (a file, a queue receive): every target is
    /// re-read once, at the end of the batch.
    pub async fn ingest_events(&self, routed: &[Routed]) -> Result<EventReport, EngineError> {
        let mut report = EventReport::default();
        let mut debouncer = Debouncer::new(Duration::ZERO);
        self.accept_events(routed, &mut debouncer, &mut report);
        self.process_pending(debouncer.take_all(), &mut report).await?;
        self.record_event_stats(&report.stats).await?;
        Ok(report)
    }

    /// Processes one queued message (an SQS body, a Lambda record): decodes it
    /// in any accepted shape, routes and ingests its events. The message counts
    /// as processed only when every resource it named was re-read and
    /// evaluated; the caller deletes it then and only then, and leaves it on its
    /// queue otherwise (so the queue retries it and, after its
    /// `maxReceiveCount`, moves it to the dead-letter queue). Re-processing a
    /// message is harmless: every target is re-read, and writes are ordered by
    /// observation time.
    ///
    /// A message that fails is counted as errors only: its events are counted
    /// once, when it is processed, however often the queue retries it.
    pub async fn ingest_message(&self, body: &[u8]) -> Result<EventReport, MessageError> {
        let incoming = qrie_events::decode(body)?;
        let routed: Vec<Routed> = incoming.iter().map(qrie_events::route).collect();
        let mut report = EventReport::default();
        let mut debouncer = Debouncer::new(Duration::ZERO);
        self.accept_events(&routed, &mut debouncer, &mut report);
        let processed = self.process_pending(debouncer.take_all(), &mut report).await;
        if let Err(e) = processed {
            self.record_event_stats(&EventStats { errors: 1, ..Default::default() }).await?;
            return Err(e.into());
        }
        if !report.errors.is_empty() {
            self.record_event_stats(&EventStats { errors: report.stats.errors, ..Default::default() }).await?;
            return Err(MessageError::Targets(report.errors));
        }
        self.record_event_stats(&report.stats).await?;
        Ok(report)
    }

    /// Re-reads, stores and evaluates each pending target.
    pub async fn process_pending(&self, pending: Vec<Pending>, report: &mut EventReport) -> Result<(), EngineError> {
        if pending.is_empty() {
            return Ok(());
        }
        let accounts: HashMap<String, Account> =
            self.store.list_accounts().await?.into_iter().map(|a| (a.account_id.clone(), a)).collect();
        let (policies, _) = load_active_policies(&*self.store).await?;
        let mut related = RelatedCache::default();
        let mut tally = Tally::default();
        for p in pending {
            let Some(account) = accounts.get(&p.target.account_id).filter(|a| a.is_active()) else {
                report.stats.unmonitored += 1;
                continue;
            };
            let trigger = Trigger {
                detected_by: DetectedBy::Event,
                job_id: None,
                event_id: p.event_id.clone(),
                event_time: p.event_time,
            };
            match self.apply_target(&p.target, account, &accounts, &policies, &mut related, &trigger, &mut tally).await
            {
                Ok(Some(true)) => report.stats.refreshed += 1,
                Ok(Some(false)) => report.stats.deleted += 1,
                Ok(None) => {}
                Err(e) => {
                    report.stats.errors += 1;
                    report.errors.push(format!("{}: {e}", p.target.arn));
                }
            }
        }
        report.stats.findings_opened += tally.total(|t| t.opened + t.reopened);
        report.stats.findings_resolved += tally.total(|t| t.resolved);
        if report.stats.refreshed + report.stats.deleted > 0 {
            summary::invalidate(&*self.store).await?;
        }
        Ok(())
    }

    /// Observe → store → evaluate for one target. `Some(true)` when the
    /// resource was stored present, `Some(false)` when recorded gone, `None`
    /// when nothing was written (an unknown resource reported gone, or a newer
    /// observation already stored).
    #[allow(clippy::too_many_arguments)]
    async fn apply_target(
        &self,
        target: &Target,
        account: &Account,
        accounts: &HashMap<String, Account>,
        policies: &[ActivePolicy],
        related: &mut RelatedCache,
        trigger: &Trigger,
        tally: &mut Tally,
    ) -> Result<Option<bool>, EngineError> {
        let arn = self.resolve_arn(target).await?;
        let described = match self.cloud.describe(account, &arn).await {
            // An instance that terminated is gone now, though AWS shows it a while.
            Ok(Described::Present(r)) if qrie_model::has_ended(&r) => Described::Gone { observed_at: r.last_seen_at },
            Ok(d) => d,
            Err(e) => return Err(EngineError::Conflict(e.to_string())),
        };
        let (resource, present): (Resource, bool) = match described {
            Described::Present(r) => {
                let r = *r;
                references::record(&*self.store, [&r]).await?;
                if self.store.put_resources(vec![r.clone()]).await?[0] != WriteOutcome::Written {
                    return Ok(None);
                }
                (r, true)
            }
            Described::Gone { observed_at } => {
                if self.store.mark_deleted(&account.account_id, vec![arn.clone()], observed_at).await?[0]
                    != WriteOutcome::Written
                {
                    return Ok(None);
                }
                match self.store.get_resource(&arn).await? {
                    // Deleted as just written, even where the read lags the
                    // write (an index on DynamoDB): never evaluate it as present.
                    Some(r) => (Resource { deleted_at: r.deleted_at.or(Some(observed_at)), ..r }, false),
                    None => return Ok(None),
                }
            }
        };
        related.invalidate(&resource.arn);
        // What reads this resource is re-evaluated with it (the instances
        // using a security group, the principals a managed policy is attached
        // to, every bucket under the account's Block Public Access).
        let dependents = self.dependents_of(&resource, account, policies).await?;
        let mut batch = vec![resource];
        batch.extend(dependents);
        let refs: Vec<&ActivePolicy> = policies.iter().collect();
        let mut index = FindingIndex::new();
        for r in &batch {
            for f in self.store.findings_for_resource(&r.arn).await? {
                index.insert((f.arn.clone(), f.policy.clone()), f);
            }
        }
        related.prefetch(&*self.store, &refs, &batch).await?;
        let decisions = evaluate_batch(&batch, &refs, accounts, related, &index, Engine::now(), tally);
        let evaluator = Evaluator { policies: &refs, accounts };
        commit(&*self.store, decisions, &mut index, trigger, Some(&evaluator), tally).await?;
        Ok(Some(present))
    }

    /// IAM events name users, roles and groups without their path; the stored
    /// ARN (with its path) is found by name.
    async fn resolve_arn(&self, target: &Target) -> Result<String, EngineError> {
        let Some(name) = &target.name else {
            return Ok(target.arn.clone());
        };
        if self.store.get_resource(&target.arn).await?.is_some() {
            return Ok(target.arn.clone());
        }
        let filter = ResourceFilter {
            account_id: Some(target.account_id.clone()),
            resource_type: Some(target.resource_type.to_string()),
            search: Some(name.clone()),
            include_deleted: true,
            ..Default::default()
        };
        let page = self.store.list_resources(&filter, &qrie_store::PageRequest::first(100)).await?;
        Ok(page.items.into_iter().find(|r| &r.name == name).map_or_else(|| target.arn.clone(), |r| r.arn))
    }

    /// Stored resources of the account whose evaluation reads `changed`,
    /// found through the policies' declared dependencies
    /// ([`qrie_model::Dependency`]): only the resource types of policies that
    /// read `changed`'s type are listed.
    pub(crate) async fn dependents_of(
        &self,
        changed: &Resource,
        account: &Account,
        policies: &[ActivePolicy],
    ) -> Result<Vec<Resource>, EngineError> {
        let readers: Vec<&ActivePolicy> =
            policies.iter().filter(|p| p.def.depends_on(&changed.resource_type)).collect();
        if readers.is_empty() {
            return Ok(Vec::new());
        }
        if references::indexed(&*self.store, &account.account_id).await? {
            let mut found = references::readers_of(&*self.store, &changed.arn).await?;
            found.retain(|r| readers.iter().any(|p| p.def.resource_type == r.resource_type));
            return Ok(found);
        }
        // Not indexed yet (a store from before the index, until its next
        // complete sweep): every resource of the types that may read it.
        let mut types: Vec<&str> = readers.iter().map(|p| p.def.resource_type).collect();
        types.sort_unstable();
        types.dedup();
        let mut out = Vec::new();
        for t in types {
            let filter = ResourceFilter {
                account_id: Some(account.account_id.clone()),
                resource_type: Some(t.to_string()),
                ..Default::default()
            };
            let mut page = qrie_store::PageRequest::first(1000);
            loop {
                let p = self.store.list_resources(&filter, &page).await?;
                out.extend(p.items.into_iter().filter(|r| {
                    readers.iter().any(|pol| {
                        pol.def.resource_type == r.resource_type && pol.def.related_arns(r).contains(&changed.arn)
                    })
                }));
                match p.next_token {
                    Some(t) => page.next_token = Some(t),
                    None => break,
                }
            }
        }
        Ok(out)
    }

    /// Adds a batch's counts to the totals `qrie events stats` shows: atomic
    /// additions to counters, so concurrent event functions lose no count.
    pub async fn record_event_stats(&self, batch: &EventStats) -> Result<(), EngineError> {
        self.store.counters_add(STATS_NS, batch.to_counters()).await?;
        Ok(())
    }

    /// Totals since the store was created (with the single document earlier
    /// versions kept them in, if the store has one).
    pub async fn event_stats(&self) -> Result<EventStats, EngineError> {
        let mut total = EventStats::from_counters(self.store.counters(STATS_NS).await?);
        let legacy: Option<EventStats> =
            self.store.kv_get(STATS_NS, LEGACY_STATS_KEY).await?.and_then(|v| serde_json::from_value(v).ok());
        if let Some(legacy) = legacy {
            total.add(&legacy);
        }
        Ok(total)
    }
}

/// Why a queued message was not processed, and so must stay on its queue.
#[derive(Debug, thiserror::Error)]
pub enum MessageError {
    #[error("cannot decode the message: {0}")]
    Decode(#[from] qrie_events::DecodeError),
    #[error("processing failed: {0}")]
    Engine(#[from] EngineError),
    #[error("{} resource(s) could not be re-read or evaluated: {}", .0.len(), .0.join("; "))]
    Targets(Vec<String>),
}

/// A CloudTrail record as the router sees it when it did not come from a file
/// (e.g. the simulated estate's changes).
pub fn route_record(position: usize, record: serde_json::Value) -> Routed {
    qrie_events::route(&qrie_events::Incoming {
        position,
        envelope: qrie_events::Envelope::Bare,
        bus: None,
        record: Ok(record),
    })
}
