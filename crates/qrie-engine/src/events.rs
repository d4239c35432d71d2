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
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::commit::{commit, Evaluator};
use crate::evaluate::{evaluate_batch, load_active_policies, ActivePolicy, FindingIndex, RelatedCache, Tally};
use crate::references;
use crate::unmapped;
use crate::{summary, Described, Engine, EngineError};

pub(crate) const STATS_NS: &str = "events";
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
            unmapped::count(&mut self.unmapped, k, *v, unmapped::KEPT_IN_A_BATCH);
        }
        self.debounced += o.debounced;
        self.refreshed += o.refreshed;
        self.deleted += o.deleted;
        self.unmonitored += o.unmonitored;
        self.findings_opened += o.findings_opened;
        self.findings_resolved += o.findings_resolved;
        self.errors += o.errors;
    }

    /// The counts as named counters (`skipped/REASON`), as the store keeps
    /// them. Unmapped names go to their bounded table ([`unmapped`]) instead.
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
                        // Earlier versions kept a counter per name; the
                        // table's own fallback adds to `unmapped/(other)`.
                        *s.unmapped.entry(event.to_string()).or_default() += v;
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

/// Errors a report lists by name (a million bad records would otherwise make
/// a report of a million lines); the rest are counted in the last line.
const REPORTED_ERRORS: usize = 1_000;

impl EventReport {
    /// Adds another chunk's report.
    pub fn add(&mut self, other: EventReport) {
        self.stats.add(&other.stats);
        let room = REPORTED_ERRORS.saturating_sub(self.errors.len());
        let more = other.errors.len().saturating_sub(room);
        self.errors.extend(other.errors.into_iter().take(room));
        if more > 0 {
            self.errors.push(format!("... and {more} more error(s) not listed"));
        }
    }
}

/// Why a whole input (a file, a request body) was not ingested.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error(transparent)]
    Decode(#[from] qrie_events::DecodeError),
    #[error(transparent)]
    Engine(#[from] EngineError),
}

/// Decoded chunks waiting for the ingester: the decoder runs at most this far ahead.
const CHUNKS_AHEAD: usize = 2;

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
                    unmapped::count(&mut report.stats.unmapped, &name, 1, unmapped::KEPT_IN_A_BATCH);
                }
            }
        }
    }

    /// Decodes and ingests a whole input (a CloudTrail file, a request body)
    /// while it is decoded, [`qrie_events::CHUNK`] records at a time: memory
    /// holds the input's bytes and a few chunks, whatever the number of
    /// records. The decoder runs on a blocking thread a couple of chunks
    /// ahead. An input that is not CloudTrail at all is refused before any
    /// of it is ingested; a store failure stops at the chunk it hit (the
    /// chunks before are ingested, and ingesting again is harmless).
    pub async fn ingest_input<B>(&self, input: B) -> Result<EventReport, InputError>
    where
        B: AsRef<[u8]> + Send + 'static,
    {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<qrie_events::Incoming>>(CHUNKS_AHEAD);
        let decoder = tokio::task::spawn_blocking(move || {
            qrie_events::decode_chunks(input.as_ref(), qrie_events::CHUNK, &mut |chunk| {
                // The receiver gone means ingestion stopped: the rest is not wanted.
                let _ = tx.blocking_send(chunk);
            })
        });
        let mut report = EventReport::default();
        while let Some(chunk) = rx.recv().await {
            let routed: Vec<Routed> = chunk.iter().map(qrie_events::route).collect();
            drop(chunk);
            report.add(self.ingest_events(&routed).await?);
        }
        decoder.await.map_err(|e| EngineError::Conflict(format!("the decoder stopped: {e}")))??;
        Ok(report)
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
        let mut batch = self.ingest_batch(&[body]).await;
        match batch.failures.pop().flatten() {
            Some(e) => Err(e),
            None => Ok(EventReport { stats: batch.stats, errors: Vec::new() }),
        }
    }

    /// Processes the messages of one queue receive as one batch, each with
    /// [`ingest_message`](Self::ingest_message)'s contract: a resource several
    /// of them name is re-read once, and the batch's resources and findings
    /// are written together (one store write each, not one per message). A
    /// message fails alone when it does not decode or a resource it names
    /// could not be re-read; all of them fail when the store does.
    pub async fn ingest_batch(&self, bodies: &[&[u8]]) -> BatchIngest {
        let mut failures: Vec<Option<MessageError>> = Vec::with_capacity(bodies.len());
        let mut reports: Vec<EventReport> = Vec::with_capacity(bodies.len());
        // Which messages named each resource (the first one owns its re-read).
        let mut named_by: HashMap<String, Vec<usize>> = HashMap::new();
        let mut debouncer = Debouncer::new(Duration::ZERO);
        for (i, body) in bodies.iter().enumerate() {
            let mut report = EventReport::default();
            match qrie_events::decode(body) {
                Ok(incoming) => {
                    let routed: Vec<Routed> = incoming.iter().map(qrie_events::route).collect();
                    self.accept_events(&routed, &mut debouncer, &mut report);
                    let targets = routed.iter().flat_map(|r| match &r.decision {
                        Decision::Mapped { targets } => targets.as_slice(),
                        _ => &[],
                    });
                    for t in targets {
                        named_by.entry(t.arn.clone()).or_default().push(i);
                    }
                    failures.push(None);
                }
                Err(e) => failures.push(Some(MessageError::Decode(e))),
            }
            reports.push(report);
        }

        let mut batch = BatchIngest::default();
        let applied = match self.apply_pending(debouncer.take_all()).await {
            Ok(applied) => applied,
            Err(e) => {
                let why = e.to_string();
                for f in failures.iter_mut().filter(|f| f.is_none()) {
                    *f = Some(MessageError::Engine(EngineError::Conflict(why.clone())));
                }
                batch.stats.errors = bodies.len() as u64;
                batch.failures = failures;
                // Best effort: the batch is retried whole, its counts then.
                let _ = self.record_event_stats(&batch.stats).await;
                return batch;
            }
        };
        // Each resource's outcome goes to the first message that named it;
        // a resource that failed fails every message that named it.
        for (arn, outcome) in &applied.targets {
            let owners = named_by.get(arn).map_or(&[][..], Vec::as_slice);
            if let Some(&first) = owners.first() {
                outcome.count(&mut reports[first]);
            }
            if let Applied::Failed(why) = outcome {
                for &i in owners {
                    reports[i].errors.push(format!("{arn}: {why}"));
                }
            }
        }
        for (i, report) in reports.into_iter().enumerate() {
            match &failures[i] {
                Some(_) => batch.stats.errors += 1,
                None if !report.errors.is_empty() => {
                    batch.stats.errors += report.errors.len() as u64;
                    failures[i] = Some(MessageError::Targets(report.errors));
                }
                None => batch.stats.add(&report.stats),
            }
        }
        batch.stats.findings_opened += applied.tally.total(|t| t.opened + t.reopened);
        batch.stats.findings_resolved += applied.tally.total(|t| t.resolved);
        batch.failures = failures;
        let recorded = async {
            if applied.stored_any() {
                summary::invalidate(&*self.store).await?;
            }
            self.record_event_stats(&batch.stats).await
        };
        if let Err(e) = recorded.await {
            // The work is done and re-doing it is harmless: the queue retries.
            let why = e.to_string();
            for f in batch.failures.iter_mut().filter(|f| f.is_none()) {
                *f = Some(MessageError::Engine(EngineError::Conflict(why.clone())));
            }
        }
        batch
    }

    /// Re-reads, stores and evaluates each pending target.
    pub async fn process_pending(&self, pending: Vec<Pending>, report: &mut EventReport) -> Result<(), EngineError> {
        let applied = self.apply_pending(pending).await?;
        for (arn, outcome) in &applied.targets {
            outcome.count(report);
            if let Applied::Failed(why) = outcome {
                report.errors.push(format!("{arn}: {why}"));
            }
        }
        report.stats.findings_opened += applied.tally.total(|t| t.opened + t.reopened);
        report.stats.findings_resolved += applied.tally.total(|t| t.resolved);
        if applied.stored_any() {
            summary::invalidate(&*self.store).await?;
        }
        Ok(())
    }

    /// Observe → store → evaluate for pending targets, [`TARGETS_PER_WRITE`]
    /// at a time: the resources of a chunk are written in one batch (their
    /// references first), then their findings and their dependents' in one
    /// commit, each decision under the trigger of the event that changed it.
    async fn apply_pending(&self, pending: Vec<Pending>) -> Result<AppliedTargets, EngineError> {
        let mut applied = AppliedTargets::default();
        if pending.is_empty() {
            return Ok(applied);
        }
        let accounts: HashMap<String, Account> =
            self.store.list_accounts().await?.into_iter().map(|a| (a.account_id.clone(), a)).collect();
        let (policies, _) = load_active_policies(&*self.store).await?;
        for chunk in pending.chunks(TARGETS_PER_WRITE) {
            self.apply_chunk(chunk, &accounts, &policies, &mut applied).await?;
        }
        Ok(applied)
    }

    async fn apply_chunk(
        &self,
        chunk: &[Pending],
        accounts: &HashMap<String, Account>,
        policies: &[ActivePolicy],
        applied: &mut AppliedTargets,
    ) -> Result<(), EngineError> {
        let mut monitored = Vec::new();
        for p in chunk {
            match accounts.get(&p.target.account_id).filter(|a| a.is_active()) {
                Some(account) => monitored.push((p, account)),
                None => applied.set(&p.target, Applied::Unmonitored),
            }
        }
        // Observe, a few at once (each is an AWS call on a real cloud).
        let mut observed = Vec::with_capacity(monitored.len());
        for group in monitored.chunks(DESCRIBES_AT_ONCE) {
            let mut calls = Vec::with_capacity(group.len());
            for &(p, account) in group {
                calls.push(self.observe(&p.target, account));
            }
            let results = futures::future::join_all(calls).await;
            observed.extend(group.iter().zip(results).map(|(&(p, account), r)| (p, account, r)));
        }

        // Store: references ahead of the resources, then the resources, then the deletions.
        let mut present: Vec<(&Pending, Resource)> = Vec::new();
        let mut gone: Vec<(&Pending, &Account, String, Timestamp)> = Vec::new();
        for (p, account, result) in observed {
            match result {
                Ok((_, Described::Present(r))) => present.push((p, *r)),
                Ok((arn, Described::Gone { observed_at })) => gone.push((p, account, arn, observed_at)),
                Err(e) => applied.set(&p.target, Applied::Failed(e.to_string())),
            }
        }
        references::record(&*self.store, present.iter().map(|(_, r)| r)).await?;
        let outcomes = self.store.put_resources(present.iter().map(|(_, r)| r.clone()).collect()).await?;
        let mut changed: Vec<(Resource, Arc<Trigger>)> = Vec::new();
        for ((p, r), outcome) in present.into_iter().zip(outcomes) {
            if outcome == WriteOutcome::Written {
                applied.set(&p.target, Applied::Refreshed);
                changed.push((r, Arc::new(event_trigger(p))));
            } else {
                applied.set(&p.target, Applied::Unchanged);
            }
        }
        let mut deleted: HashMap<String, (&Pending, Timestamp)> = HashMap::new();
        for (p, account, arn, observed_at) in gone {
            let outcome = self.store.mark_deleted(&account.account_id, vec![arn.clone()], observed_at).await?;
            if outcome.first() == Some(&WriteOutcome::Written) {
                deleted.insert(arn, (p, observed_at));
            } else {
                applied.set(&p.target, Applied::Unchanged);
            }
        }
        if !deleted.is_empty() {
            for r in self.store.get_resources(deleted.keys().cloned().collect()).await? {
                let Some((p, observed_at)) = deleted.remove(&r.arn) else { continue };
                applied.set(&p.target, Applied::Deleted);
                // Deleted as just written, even where the read lags the
                // write (an index on DynamoDB): never evaluate it as present.
                let r = Resource { deleted_at: r.deleted_at.or(Some(observed_at)), ..r };
                changed.push((r, Arc::new(event_trigger(p))));
            }
            // Not readable after it was written: nothing to evaluate.
            for (p, _) in deleted.into_values() {
                applied.set(&p.target, Applied::Unchanged);
            }
        }
        if changed.is_empty() {
            return Ok(());
        }

        // Evaluate each changed resource and what reads it (the instances
        // using a security group, the principals a managed policy is attached
        // to, every bucket under the account's Block Public Access), once,
        // under the trigger of the change that made it due.
        let mut related = RelatedCache::default();
        let mut triggers: HashMap<String, Arc<Trigger>> = HashMap::new();
        let mut batch: Vec<Resource> = Vec::new();
        for (r, trigger) in &changed {
            related.invalidate(&r.arn);
            if triggers.insert(r.arn.clone(), trigger.clone()).is_none() {
                batch.push(r.clone());
            }
        }
        for (r, trigger) in &changed {
            let account = &accounts[&r.account_id];
            for d in self.dependents_of(r, account, policies).await? {
                if !triggers.contains_key(&d.arn) {
                    triggers.insert(d.arn.clone(), trigger.clone());
                    batch.push(d);
                }
            }
        }
        let refs: Vec<&ActivePolicy> = policies.iter().collect();
        let mut index = FindingIndex::new();
        for f in self.store.findings_for_resources(batch.iter().map(|r| r.arn.clone()).collect()).await? {
            index.insert((f.arn.clone(), f.policy.clone()), f);
        }
        related.prefetch(&*self.store, &refs, &batch).await?;
        let mut decisions =
            evaluate_batch(&batch, &refs, accounts, &related, &index, Engine::now(), &mut applied.tally);
        for d in &mut decisions {
            d.trigger = triggers.get(&d.rref.arn).cloned();
        }
        let evaluator = Evaluator { policies: &refs, accounts };
        let fallback = Trigger::new(DetectedBy::Event);
        commit(&*self.store, decisions, &mut index, &fallback, Some(&evaluator), &mut applied.tally).await
    }

    /// Describes one target: its stored ARN (IAM events name no path) and
    /// what the cloud shows now (an instance that terminated is gone, though
    /// AWS shows it a while).
    async fn observe(&self, target: &Target, account: &Account) -> Result<(String, Described), EngineError> {
        let arn = self.resolve_arn(target).await?;
        let described = match self.cloud.describe(account, &arn).await {
            Ok(Described::Present(r)) if qrie_model::has_ended(&r) => Described::Gone { observed_at: r.last_seen_at },
            Ok(d) => d,
            Err(e) => return Err(EngineError::Conflict(e.to_string())),
        };
        Ok((arn, described))
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
        unmapped::record(&*self.store, &batch.unmapped).await
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
        let mut names = std::mem::take(&mut total.unmapped);
        for (name, n) in unmapped::stored(&*self.store).await? {
            *names.entry(name).or_default() += n;
        }
        total.unmapped = unmapped::top(names, unmapped::KEPT);
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

/// Targets observed, stored and evaluated in one store write: a queue
/// receive (10 messages) fits, a file is cut into chunks of this many.
const TARGETS_PER_WRITE: usize = 100;
/// Describe calls of one chunk in flight at once.
const DESCRIBES_AT_ONCE: usize = 8;

/// What one batch of queued messages came to.
#[derive(Debug, Default)]
pub struct BatchIngest {
    /// The counts of the processed messages (and the failures, as errors),
    /// with the findings the batch moved.
    pub stats: EventStats,
    /// Per message, in order: `None` when processed (the caller deletes it),
    /// why not otherwise (it stays on its queue).
    pub failures: Vec<Option<MessageError>>,
}

/// What became of one target.
#[derive(Debug, Clone, PartialEq)]
enum Applied {
    Refreshed,
    Deleted,
    /// In an account qrie does not monitor (or no longer).
    Unmonitored,
    /// Nothing written: a newer observation is stored, or it was never known.
    Unchanged,
    Failed(String),
}

impl Applied {
    fn count(&self, report: &mut EventReport) {
        let stats = &mut report.stats;
        match self {
            Applied::Refreshed => stats.refreshed += 1,
            Applied::Deleted => stats.deleted += 1,
            Applied::Unmonitored => stats.unmonitored += 1,
            Applied::Failed(_) => stats.errors += 1,
            Applied::Unchanged => {}
        }
    }
}

#[derive(Default)]
struct AppliedTargets {
    /// By the ARN the event named.
    targets: BTreeMap<String, Applied>,
    tally: Tally,
}

impl AppliedTargets {
    fn set(&mut self, target: &Target, outcome: Applied) {
        self.targets.insert(target.arn.clone(), outcome);
    }

    fn stored_any(&self) -> bool {
        self.targets.values().any(|o| matches!(o, Applied::Refreshed | Applied::Deleted))
    }
}

fn event_trigger(p: &Pending) -> Trigger {
    Trigger { event_id: p.event_id.clone(), event_time: p.event_time, ..Trigger::new(DetectedBy::Event) }
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
