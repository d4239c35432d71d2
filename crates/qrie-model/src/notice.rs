//! Notices: a finding's state changes as qrie tells them to others
//! (notification channels, Security Hub). A notice is written to the outbox
//! in the same store write as the transition it tells of, so a transition
//! that landed always has its notice and one that lost its race never does;
//! a dispatcher then delivers each notice to each channel and records that
//! it did, so none is lost on a crash and none is sent twice.

use serde::{Deserialize, Serialize};

use crate::{Finding, ResolvedReason, Severity, Timestamp, TransitionKind, Trigger};

/// The store namespace (key-value) of the outbox: undelivered notices.
pub const OUTBOX: &str = "outbox";

/// One transition of one finding, as it is told.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Notice {
    /// The finding's uid and the transition's number (1 for the opening):
    /// what a channel de-duplicates on.
    pub id: String,
    pub at: Timestamp,
    pub kind: TransitionKind,
    #[serde(rename = "ARN")]
    pub arn: String,
    pub policy: String,
    pub account_id: String,
    pub region: String,
    pub resource_type: String,
    pub severity: Severity,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<ResolvedReason>,
    pub trigger: Trigger,
}

impl Notice {
    /// The notice of the transition a write of `f` adds: its latest, when
    /// that one changed the state (openings, resolves, reopenings).
    pub fn of_latest(f: &Finding) -> Option<Notice> {
        let t = f.history.last().filter(|t| t.kind.changes_state())?;
        Some(Notice {
            id: format!("{}-{}", f.uid(), f.transition_count()),
            at: t.at,
            kind: t.kind,
            arn: f.arn.clone(),
            policy: f.policy.clone(),
            account_id: f.account_id.clone(),
            region: f.region.clone(),
            resource_type: f.resource_type.clone(),
            severity: f.severity,
            reason: t.reason,
            trigger: t.trigger.clone(),
        })
    }

    /// Its key in the outbox: in time order, then unique.
    pub fn outbox_key(&self) -> String {
        format!("{:013}-{}", self.at.timestamp_millis().max(0), self.id)
    }
}

/// What the outbox holds for a notice: it, and how its delivery to each
/// integration stands (by integration id; none yet when it is written).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct OutboxEntry {
    pub notice: Notice,
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub deliveries: std::collections::BTreeMap<String, Delivery>,
}

impl OutboxEntry {
    pub fn to_value(&self) -> Result<serde_json::Value, serde_json::Error> {
        serde_json::to_value(self)
    }
}

/// How one notice stands with one integration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Delivery {
    pub status: DeliveryStatus,
    pub attempts: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// Not tried again before this (backoff after a failure).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<Timestamp>,
    /// A dispatcher is sending it until then; after, another may.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claimed_until: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivered_at: Option<Timestamp>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeliveryStatus {
    #[default]
    Pending,
    /// Failed; tried again after `next_attempt_at`.
    Failing,
    Delivered,
    /// Failed [`MAX_ATTEMPTS`] times: kept, with its error, until retried by hand.
    Dead,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Failing => "failing",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Dead => "dead",
        }
    }

    /// Nothing more will be tried on its own.
    pub fn is_final(self) -> bool {
        matches!(self, DeliveryStatus::Delivered | DeliveryStatus::Dead)
    }
}

/// Attempts at one delivery before it is dead-lettered.
pub const MAX_ATTEMPTS: u32 = 8;

/// The wait after the `attempts`-th failure: 30 s doubling, at most an hour
/// (8 attempts span about two hours).
pub fn backoff(attempts: u32) -> chrono::Duration {
    let secs = 30i64.saturating_mul(1i64 << attempts.saturating_sub(1).min(20));
    chrono::Duration::seconds(secs.min(3600))
}

/// The summary of a bootstrap sweep's notices, for an integration that is
/// not sent them one by one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Summary {
    /// `summary-<job>-<integration>`: the idempotency key.
    pub id: String,
    pub job_id: Option<String>,
    /// The latest notice's time.
    pub at: Timestamp,
    pub notices: u64,
    /// By transition (`opened`…) and by severity band (`high`…).
    pub by_kind: std::collections::BTreeMap<String, u64>,
    pub by_severity: std::collections::BTreeMap<String, u64>,
    /// The policies with the most notices, at most five.
    pub top_policies: Vec<(String, u64)>,
    pub accounts: u64,
}

impl Summary {
    /// The summary of `notices` (of one job) for `integration`.
    pub fn of<'a>(integration: &str, job_id: Option<&str>, notices: impl IntoIterator<Item = &'a Notice>) -> Summary {
        use std::collections::{BTreeMap, BTreeSet};
        let (mut by_kind, mut by_severity, mut by_policy) = (BTreeMap::new(), BTreeMap::new(), BTreeMap::new());
        let mut accounts = BTreeSet::new();
        let (mut count, mut at) = (0, None);
        for n in notices {
            count += 1;
            *by_kind.entry(n.kind.as_str().to_string()).or_insert(0) += 1;
            *by_severity.entry(n.severity.label().as_str().to_string()).or_insert(0) += 1;
            *by_policy.entry(n.policy.clone()).or_insert(0u64) += 1;
            accounts.insert(n.account_id.clone());
            at = at.max(Some(n.at));
        }
        let mut top: Vec<(String, u64)> = by_policy.into_iter().collect();
        top.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        top.truncate(5);
        Summary {
            id: format!("summary-{}-{integration}", job_id.unwrap_or("none")),
            job_id: job_id.map(str::to_string),
            at: at.unwrap_or_else(chrono::Utc::now),
            notices: count,
            by_kind,
            by_severity,
            top_policies: top,
            accounts: accounts.len() as u64,
        }
    }
}
