//! Notifications: integrations, and the dispatcher that delivers the outbox.
//!
//! Each finding transition's notice is in the outbox from the write that made
//! the transition (see `commit`). The dispatcher reads the outbox oldest
//! first and, for each notice, each integration whose route takes it:
//! 1. claims the delivery with a conditional write (another dispatcher that
//!    read the same version loses, and leaves it);
//! 2. sends it, with the notice id as the idempotency key;
//! 3. records the outcome with a conditional write: delivered, failing (tried
//!    again after a backoff) or, after `MAX_ATTEMPTS` or a refusal that
//!    retrying cannot mend, dead (kept with its error until retried by hand).
//!
//! A notice every integration has had is removed. A dispatcher that dies
//! after its claim leaves the claim to expire, and another sends it; one that
//! dies after sending but before recording leaves the same: the notice is
//! sent again with the same idempotency key, which receivers de-duplicate on.

use async_trait::async_trait;
use qrie_model::audit::AuditAction;
use qrie_model::integration::{validate_id, Integration, INTEGRATIONS};
use qrie_model::notice::{backoff, Delivery, DeliveryStatus, Notice, OutboxEntry, Summary, MAX_ATTEMPTS, OUTBOX};
use qrie_model::Timestamp;
use serde::Serialize;
use serde_json::json;
use std::collections::BTreeMap;

use crate::{Engine, EngineError};

/// How long a claimed delivery is the claimer's.
const CLAIM: chrono::Duration = chrono::Duration::seconds(120);
/// Outbox entries read per page.
const PAGE: usize = 200;

/// Why a send failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendError {
    pub message: String,
    /// Retrying cannot help (the receiver refused the request itself: a 4xx
    /// other than 408 and 429, a missing secret): dead at once.
    pub permanent: bool,
}

impl SendError {
    pub fn retry(message: impl Into<String>) -> Self {
        SendError { message: message.into(), permanent: false }
    }

    pub fn permanent(message: impl Into<String>) -> Self {
        SendError { message: message.into(), permanent: true }
    }
}

/// Delivers a notice, or a bootstrap sweep's summary, over an integration's channel.
#[async_trait]
pub trait Sender: Send + Sync {
    /// Whether this process can send over the integration at all (its
    /// secret is set here): one that cannot leaves the delivery to another
    /// dispatcher rather than failing it. The reason when not.
    fn can_send(&self, _integration: &Integration) -> Result<(), String> {
        Ok(())
    }
    async fn send(&self, integration: &Integration, notice: &Notice) -> Result<(), SendError>;
    async fn send_summary(&self, integration: &Integration, summary: &Summary) -> Result<(), SendError>;
}

/// The store namespace of summaries sent or being sent, by
/// `<integration> <job>`: each one's claim and outcome.
const SUMMARIES: &str = "outbox-summaries";

/// What one dispatch pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DispatchReport {
    /// Outbox entries read.
    pub examined: u64,
    pub delivered: u64,
    /// Sends that failed and will be tried again.
    pub failed: u64,
    /// Sends dead-lettered by this pass.
    pub dead: u64,
    /// Notices every integration has had, removed from the outbox.
    pub completed: u64,
    /// Bootstrap summaries sent.
    pub summaries: u64,
    /// Deliveries another dispatcher held or changed first.
    pub contended: u64,
    /// Deliveries this process cannot make (a secret not set here): left
    /// pending, with the reason as their last error, for one that can.
    pub blocked: u64,
}

impl Engine {
    /// Every integration, by id.
    pub async fn integrations(&self) -> Result<Vec<Integration>, EngineError> {
        self.store
            .kv_list(INTEGRATIONS)
            .await?
            .into_iter()
            .map(|(id, v)| {
                serde_json::from_value(v)
                    .map_err(|e| EngineError::Conflict(format!("integration {id:?} cannot be read: {e}")))
            })
            .collect()
    }

    /// Adds an integration; refused if its id is taken.
    pub async fn add_integration(&self, integration: Integration) -> Result<(), EngineError> {
        validate_id(&integration.id)?;
        match &integration.channel {
            qrie_model::integration::Channel::Webhook { url, .. } => validate_url(url)?,
            // Its URL is a secret read where the dispatcher runs: checked there.
            qrie_model::integration::Channel::Slack { .. } => {}
        }
        let value = serde_json::to_value(&integration).map_err(|e| EngineError::Conflict(e.to_string()))?;
        if !self.store.kv_put_if(INTEGRATIONS, &integration.id, value, None).await? {
            return Err(EngineError::Conflict(format!(
                "integration {:?} exists: remove it first, or choose another id",
                integration.id
            )));
        }
        let details = json!({ "Kind": integration.channel.kind(), "Target": integration.channel.target(), "Route": integration.route });
        self.audit(Engine::now(), self.actor(), AuditAction::IntegrationAdd, &integration.id, details).await
    }

    /// Removes an integration: notices not yet delivered to it are not.
    pub async fn remove_integration(&self, id: &str) -> Result<Integration, EngineError> {
        let Some(value) = self.store.kv_get(INTEGRATIONS, id).await? else {
            return Err(EngineError::UnknownIntegration(id.to_string()));
        };
        let integration: Integration =
            serde_json::from_value(value.clone()).map_err(|e| EngineError::Conflict(e.to_string()))?;
        if !self.store.kv_delete_if(INTEGRATIONS, id, value).await? {
            return Err(EngineError::Conflict(format!("integration {id:?} changed meanwhile: try again")));
        }
        self.audit(Engine::now(), self.actor(), AuditAction::IntegrationRemove, id, json!({})).await?;
        Ok(integration)
    }

    /// The outbox: notices not yet delivered everywhere they go, oldest
    /// first; `failed_only`: those with a delivery that failed or cannot be
    /// made (a last error).
    pub async fn outbox(&self, failed_only: bool) -> Result<Vec<OutboxEntry>, EngineError> {
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = self.store.kv_page_versioned(OUTBOX, after.as_deref(), PAGE).await?;
            let last = page.last().map(|(k, _, _)| k.clone());
            for (key, value, _) in page {
                let entry = read_entry(&key, value)?;
                let failed = entry.deliveries.values().any(|d| {
                    matches!(d.status, DeliveryStatus::Failing | DeliveryStatus::Dead) || d.last_error.is_some()
                });
                if failed || !failed_only {
                    out.push(entry);
                }
            }
            match last {
                Some(k) => after = Some(k),
                None => return Ok(out),
            }
        }
    }

    /// Makes the dead deliveries of a notice (or of every notice) pending
    /// again, attempts counted afresh. How many were revived.
    pub async fn retry_dead(&self, notice_id: Option<&str>) -> Result<u64, EngineError> {
        let mut revived = 0;
        let mut after: Option<String> = None;
        loop {
            let page = self.store.kv_page_versioned(OUTBOX, after.as_deref(), PAGE).await?;
            let Some(last) = page.last().map(|(k, _, _)| k.clone()) else { break };
            for (key, value, version) in page {
                let mut entry = read_entry(&key, value)?;
                if notice_id.is_some_and(|id| id != entry.notice.id) {
                    continue;
                }
                let mut n = 0;
                for d in entry.deliveries.values_mut().filter(|d| d.status == DeliveryStatus::Dead) {
                    *d = Delivery { last_error: d.last_error.take(), ..Delivery::default() };
                    n += 1;
                }
                if n > 0 && self.store.kv_put_if(OUTBOX, &key, to_value(&entry)?, Some(version)).await? {
                    revived += n;
                }
            }
            after = Some(last);
        }
        // Dead summaries: every one, or those of the notice's sweep.
        let mut jobs: Option<Vec<String>> = None;
        if let Some(id) = notice_id {
            let all = self.outbox(false).await?;
            let jobs_of = all.iter().filter(|e| e.notice.id == id).filter_map(|e| e.notice.trigger.job_id.clone());
            jobs = Some(jobs_of.collect());
        }
        for (key, value, version) in self.store.kv_list_versioned(SUMMARIES).await? {
            let Ok(mut state) = serde_json::from_value::<SummaryState>(value) else { continue };
            let job = key.split_once(' ').map_or("", |(_, j)| j);
            let dead = state.delivery.status == DeliveryStatus::Dead;
            if !dead || jobs.as_ref().is_some_and(|js| !js.iter().any(|j| j == job)) {
                continue;
            }
            // The same round again: its notices are the ones revived above.
            state.delivery = Delivery { last_error: state.delivery.last_error.take(), ..Delivery::default() };
            state.covered = None;
            if self.store.kv_put_if(SUMMARIES, &key, summary_value(&state)?, Some(version)).await? {
                revived += 1;
            }
        }
        let target = notice_id.unwrap_or("*");
        self.audit(Engine::now(), self.actor(), AuditAction::NotificationRetry, target, json!({ "Revived": revived }))
            .await?;
        Ok(revived)
    }

    /// One pass over the outbox: every delivery that is due is claimed, sent
    /// and recorded; notices every integration has had are removed.
    pub async fn dispatch_notices(&self, sender: &dyn Sender) -> Result<DispatchReport, EngineError> {
        self.dispatch_notices_at(sender, None).await
    }

    /// [`dispatch_notices`](Self::dispatch_notices) as if the time were
    /// `now` when deciding what is due (tests step over backoffs with it).
    pub async fn dispatch_notices_at(
        &self,
        sender: &dyn Sender,
        now: Option<Timestamp>,
    ) -> Result<DispatchReport, EngineError> {
        let integrations = self.integrations().await?;
        let mut report = DispatchReport::default();
        self.summarize_bootstraps(sender, &integrations, now.unwrap_or_else(Engine::now), &mut report).await?;
        let mut after: Option<String> = None;
        loop {
            let page = self.store.kv_page_versioned(OUTBOX, after.as_deref(), PAGE).await?;
            let Some(last) = page.last().map(|(k, _, _)| k.clone()) else { break };
            for (key, value, version) in page {
                report.examined += 1;
                let entry = read_entry(&key, value)?;
                let now = now.unwrap_or_else(Engine::now);
                self.dispatch_one(sender, &integrations, &key, entry, version, now, &mut report).await?;
            }
            after = Some(last);
        }
        Ok(report)
    }

    #[allow(clippy::too_many_arguments)] // the pass's state, threaded through
    async fn dispatch_one(
        &self,
        sender: &dyn Sender,
        integrations: &[Integration],
        key: &str,
        mut entry: OutboxEntry,
        mut version: u64,
        now: Timestamp,
        report: &mut DispatchReport,
    ) -> Result<(), EngineError> {
        let routed: Vec<&Integration> = integrations.iter().filter(|i| i.route.matches(&entry.notice)).collect();
        let mut due: Vec<&Integration> =
            routed.iter().copied().filter(|i| is_due(entry.deliveries.get(&i.id), now)).collect();
        // What this process cannot send is left pending, saying why (written
        // only when the reason is new, with the claims below).
        let mut noted = false;
        due.retain(|i| match sender.can_send(i) {
            Ok(()) => true,
            Err(why) => {
                report.blocked += 1;
                let d = entry.deliveries.entry(i.id.clone()).or_default();
                if d.last_error.as_deref() != Some(why.as_str()) {
                    d.last_error = Some(why);
                    noted = true;
                }
                false
            }
        });
        if due.is_empty() && noted {
            if self.store.kv_put_if(OUTBOX, key, to_value(&entry)?, Some(version)).await? {
                version += 1;
            } else {
                report.contended += 1;
                return Ok(());
            }
        }
        if !due.is_empty() {
            for i in &due {
                entry.deliveries.entry(i.id.clone()).or_default().claimed_until = Some(now + CLAIM);
            }
            if !self.store.kv_put_if(OUTBOX, key, to_value(&entry)?, Some(version)).await? {
                report.contended += 1;
                return Ok(());
            }
            version += 1;
            for i in &due {
                let sent = sender.send(i, &entry.notice).await;
                let at = now.max(Engine::now());
                let d = entry.deliveries.entry(i.id.clone()).or_default();
                d.claimed_until = None;
                d.attempts += 1;
                match sent {
                    Ok(()) => {
                        *d = Delivery { status: DeliveryStatus::Delivered, delivered_at: Some(at), ..d.clone() };
                        d.next_attempt_at = None;
                        d.last_error = None;
                        report.delivered += 1;
                    }
                    Err(e) => {
                        d.last_error = Some(e.message);
                        if e.permanent || d.attempts >= MAX_ATTEMPTS {
                            d.status = DeliveryStatus::Dead;
                            d.next_attempt_at = None;
                            report.dead += 1;
                        } else {
                            d.status = DeliveryStatus::Failing;
                            d.next_attempt_at = Some(at + backoff(d.attempts));
                            report.failed += 1;
                        }
                    }
                }
            }
        }
        // Done once every integration that takes it has it (those removed
        // since are not waited for); a dead delivery keeps it, to be seen.
        let value = to_value(&entry)?;
        if !due.is_empty() && !self.store.kv_put_if(OUTBOX, key, value.clone(), Some(version)).await? {
            // Our claim ran out and another dispatcher took the delivery over.
            report.contended += 1;
            return Ok(());
        }
        // Integrations that take it in a bootstrap summary count too: it
        // stays until that summary is sent.
        let done = integrations
            .iter()
            .filter(|i| i.route.takes(&entry.notice))
            .all(|i| entry.deliveries.get(&i.id).is_some_and(|d| d.status == DeliveryStatus::Delivered));
        if done && self.store.kv_delete_if(OUTBOX, key, value).await? {
            report.completed += 1;
        }
        Ok(())
    }
}

impl Engine {
    /// Sends each integration one summary per finished bootstrap sweep of
    /// the notices it does not take one by one, then records each of those
    /// notices as delivered to it. The summary is claimed, and its outcome
    /// recorded, as a delivery is (in [`SUMMARIES`]); a summary whose notices
    /// were not all marked yet is not sent again, only marked.
    async fn summarize_bootstraps(
        &self,
        sender: &dyn Sender,
        integrations: &[Integration],
        now: Timestamp,
        report: &mut DispatchReport,
    ) -> Result<(), EngineError> {
        let mut groups: BTreeMap<(String, Option<String>), Vec<Versioned>> = BTreeMap::new();
        let mut after: Option<String> = None;
        loop {
            let page = self.store.kv_page_versioned(OUTBOX, after.as_deref(), PAGE).await?;
            let Some(last) = page.last().map(|(k, _, _)| k.clone()) else { break };
            for (key, value, version) in page {
                let entry = read_entry(&key, value)?;
                for i in integrations.iter().filter(|i| i.route.summarizes(&entry.notice)) {
                    if entry.deliveries.get(&i.id).is_some_and(|d| d.status.is_final()) {
                        continue;
                    }
                    let job = entry.notice.trigger.job_id.clone();
                    groups.entry((i.id.clone(), job)).or_default().push((key.clone(), entry.clone(), version));
                }
            }
            after = Some(last);
        }
        for ((integration_id, job), entries) in groups {
            // A sweep still running has more to tell: its summary waits. An
            // interrupted one is told what it did; if it is resumed, what it
            // does next is a later summary's.
            if let Some(job_id) = &job {
                let running = self.store.get_job(job_id).await?.is_some_and(|j| {
                    matches!(j.status, qrie_model::JobStatus::Queued | qrie_model::JobStatus::Running)
                });
                if running {
                    continue;
                }
            }
            let Some(integration) = integrations.iter().find(|i| i.id == integration_id) else { continue };
            if let Err(why) = sender.can_send(integration) {
                report.blocked += entries.len() as u64;
                tracing::warn!(integration = %integration_id, "summary not sent from here: {why}");
                continue;
            }
            let marker_key = format!("{integration_id} {}", job.as_deref().unwrap_or("none"));
            let marker = self.store.kv_get_versioned(SUMMARIES, &marker_key).await?;
            let mut expected = marker.as_ref().map(|(_, v)| *v);
            let mut state: SummaryState = match &marker {
                Some((v, _)) => serde_json::from_value(v.clone()).unwrap_or_default(),
                None => SummaryState::default(),
            };
            let mut entries = entries;
            if state.delivery.status.is_final() {
                // What the last summary covered takes its outcome (a pass
                // that stopped while marking them left some); what came after
                // is the next summary's.
                let covered = state.covered.clone().unwrap_or_default();
                let (old, newer): (Vec<Versioned>, Vec<Versioned>) =
                    entries.into_iter().partition(|(k, _, _)| k.as_str() <= covered.as_str());
                self.mark(&integration_id, &state.delivery, old, report).await?;
                if newer.is_empty() {
                    continue;
                }
                state = SummaryState { round: state.round + 1, covered: None, delivery: Delivery::default() };
                entries = newer;
            }
            if !is_due(Some(&state.delivery), now) {
                continue;
            }
            state.delivery.claimed_until = Some(now + CLAIM);
            state.covered = entries.iter().map(|(k, _, _)| k.clone()).max();
            if !self.store.kv_put_if(SUMMARIES, &marker_key, summary_value(&state)?, expected).await? {
                report.contended += 1;
                continue;
            }
            expected = Some(expected.map_or(1, |v| v + 1));
            let id = format!("summary-{}-{integration_id}-{}", job.as_deref().unwrap_or("none"), state.round);
            let summary = Summary {
                id,
                ..Summary::of(&integration_id, job.as_deref(), entries.iter().map(|(_, e, _)| &e.notice))
            };
            let sent = sender.send_summary(integration, &summary).await;
            let at = now.max(Engine::now());
            let d = &mut state.delivery;
            d.claimed_until = None;
            d.attempts += 1;
            match sent {
                Ok(()) => {
                    d.status = DeliveryStatus::Delivered;
                    d.delivered_at = Some(at);
                    d.last_error = None;
                    d.next_attempt_at = None;
                    report.summaries += 1;
                }
                Err(e) => {
                    d.last_error = Some(e.message);
                    let dead = e.permanent || d.attempts >= MAX_ATTEMPTS;
                    d.status = if dead { DeliveryStatus::Dead } else { DeliveryStatus::Failing };
                    d.next_attempt_at = (!dead).then(|| at + backoff(d.attempts));
                }
            }
            if !self.store.kv_put_if(SUMMARIES, &marker_key, summary_value(&state)?, expected).await? {
                report.contended += 1;
                continue;
            }
            if state.delivery.status.is_final() {
                self.mark(&integration_id, &state.delivery, entries, report).await?;
            }
        }
        Ok(())
    }

    /// Records `outcome` as the delivery of each entry to the integration.
    async fn mark(
        &self,
        integration_id: &str,
        outcome: &Delivery,
        entries: Vec<Versioned>,
        report: &mut DispatchReport,
    ) -> Result<(), EngineError> {
        for (key, mut entry, version) in entries {
            entry.deliveries.insert(integration_id.to_string(), Delivery { claimed_until: None, ..outcome.clone() });
            if !self.store.kv_put_if(OUTBOX, &key, to_value(&entry)?, Some(version)).await? {
                report.contended += 1;
            }
        }
        Ok(())
    }
}

/// A bootstrap summary's state: its delivery, which round of the sweep's
/// summaries it is (a resumed sweep has more than one), and the last outbox
/// key it covered.
#[derive(Debug, Clone, Default, serde::Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
struct SummaryState {
    #[serde(flatten)]
    delivery: Delivery,
    #[serde(default)]
    round: u32,
    #[serde(default)]
    covered: Option<String>,
}

fn summary_value(state: &SummaryState) -> Result<serde_json::Value, EngineError> {
    serde_json::to_value(state).map_err(|e| EngineError::Conflict(e.to_string()))
}

/// An outbox entry with its key and the version it was read at.
type Versioned = (String, OutboxEntry, u64);

/// Whether a delivery (none yet: pending) is to be sent now.
fn is_due(d: Option<&Delivery>, now: Timestamp) -> bool {
    let Some(d) = d else { return true };
    !d.status.is_final() && d.claimed_until.is_none_or(|t| t <= now) && d.next_attempt_at.is_none_or(|t| t <= now)
}

fn read_entry(key: &str, value: serde_json::Value) -> Result<OutboxEntry, EngineError> {
    serde_json::from_value(value)
        .map_err(|e| EngineError::Conflict(format!("outbox entry {key:?} cannot be read: {e}")))
}

fn to_value(entry: &OutboxEntry) -> Result<serde_json::Value, EngineError> {
    entry.to_value().map_err(|e| EngineError::Conflict(format!("encoding notice {}: {e}", entry.notice.id)))
}

/// A webhook URL: https (http only to a loopback address, for tests and
/// local receivers), a host, no credentials in it.
pub fn validate_url(url: &str) -> Result<(), EngineError> {
    let invalid = |reason: &str| {
        EngineError::Invalid(qrie_model::ValidationError::Parameter {
            name: "url".into(),
            reason: format!("{url:?}: {reason}"),
        })
    };
    let Some((scheme, rest)) = url.split_once("://") else { return Err(invalid("not a URL")) };
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    if host.is_empty() || host.contains('@') || url.chars().any(char::is_whitespace) {
        return Err(invalid("expected https://HOST/PATH, without credentials"));
    }
    let hostname = host.rsplit_once(':').map_or(host, |(h, _)| h);
    let loopback = matches!(hostname, "127.0.0.1" | "localhost" | "[::1]");
    match scheme {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        "http" => Err(invalid("http is allowed only to a loopback address: use https")),
        _ => Err(invalid("expected an https URL")),
    }
}
