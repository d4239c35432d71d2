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
use qrie_model::notice::{backoff, Delivery, DeliveryStatus, Notice, OutboxEntry, MAX_ATTEMPTS, OUTBOX};
use qrie_model::Timestamp;
use serde::Serialize;
use serde_json::json;

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

/// Delivers a notice over an integration's channel.
#[async_trait]
pub trait Sender: Send + Sync {
    async fn send(&self, integration: &Integration, notice: &Notice) -> Result<(), SendError>;
}

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
    /// Deliveries another dispatcher held or changed first.
    pub contended: u64,
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
            return Err(EngineError::Invalid(qrie_model::ValidationError::Parameter {
                name: "integration".into(),
                reason: format!("no integration {id:?}: `qrie integrations list` lists them"),
            }));
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
    /// first; `failed_only`: those with a failing or dead delivery.
    pub async fn outbox(&self, failed_only: bool) -> Result<Vec<OutboxEntry>, EngineError> {
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = self.store.kv_page_versioned(OUTBOX, after.as_deref(), PAGE).await?;
            let last = page.last().map(|(k, _, _)| k.clone());
            for (key, value, _) in page {
                let entry = read_entry(&key, value)?;
                let failed = entry
                    .deliveries
                    .values()
                    .any(|d| matches!(d.status, DeliveryStatus::Failing | DeliveryStatus::Dead));
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
        let due: Vec<&Integration> =
            routed.iter().copied().filter(|i| is_due(entry.deliveries.get(&i.id), now)).collect();
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
        let done =
            routed.iter().all(|i| entry.deliveries.get(&i.id).is_some_and(|d| d.status == DeliveryStatus::Delivered));
        if done && self.store.kv_delete_if(OUTBOX, key, value).await? {
            report.completed += 1;
        }
        Ok(())
    }
}

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
