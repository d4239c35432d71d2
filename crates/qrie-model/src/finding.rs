//! Findings: one per (resource ARN, policy), with their full history.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;
use std::str::FromStr;

use crate::{Severity, Timestamp, ValidationError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum FindingState {
    Active,
    Resolved,
}

impl FindingState {
    pub fn as_str(self) -> &'static str {
        match self {
            FindingState::Active => "ACTIVE",
            FindingState::Resolved => "RESOLVED",
        }
    }
}

impl FromStr for FindingState {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_uppercase().as_str() {
            "ACTIVE" => Ok(FindingState::Active),
            "RESOLVED" => Ok(FindingState::Resolved),
            _ => Err(ValidationError::Choice { what: "finding state", value: s.into(), expected: "active, resolved" }),
        }
    }
}

/// Why a finding was resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ResolvedReason {
    Compliant,
    ResourceDeleted,
    PolicySuspended,
    PolicyDeleted,
    OutOfScope,
    NotApplicable,
}

impl ResolvedReason {
    pub fn as_str(self) -> &'static str {
        match self {
            ResolvedReason::Compliant => "COMPLIANT",
            ResolvedReason::ResourceDeleted => "RESOURCE_DELETED",
            ResolvedReason::PolicySuspended => "POLICY_SUSPENDED",
            ResolvedReason::PolicyDeleted => "POLICY_DELETED",
            ResolvedReason::OutOfScope => "OUT_OF_SCOPE",
            ResolvedReason::NotApplicable => "NOT_APPLICABLE",
        }
    }
}

impl fmt::Display for ResolvedReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which kind of trigger observed a finding's change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DetectedBy {
    Event,
    Bootstrap,
    AntiEntropy,
    /// Policy management (suspend, delete, scope change) rather than a scan.
    Operator,
}

impl DetectedBy {
    pub fn as_str(self) -> &'static str {
        match self {
            DetectedBy::Event => "event",
            DetectedBy::Bootstrap => "bootstrap",
            DetectedBy::AntiEntropy => "anti-entropy",
            DetectedBy::Operator => "operator",
        }
    }
}

/// What caused a change: the kind of trigger and, when known, its job or event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Trigger {
    pub detected_by: DetectedBy,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_time: Option<Timestamp>,
    /// Who, for operator actions (`token:<name>`, `cli:<user>`, `qrie`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// The suppression rule, for `unsuppressed` entries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule_id: Option<String>,
}

impl Trigger {
    pub fn new(detected_by: DetectedBy) -> Self {
        Trigger { detected_by, job_id: None, event_id: None, event_time: None, actor: None, rule_id: None }
    }

    pub fn job(detected_by: DetectedBy, job_id: impl Into<String>) -> Self {
        Trigger { job_id: Some(job_id.into()), ..Trigger::new(detected_by) }
    }

    /// An operator's action (pause, resume, a rule change) by `actor`.
    pub fn operator(actor: &str) -> Self {
        Trigger { actor: Some(actor.to_string()), ..Trigger::new(DetectedBy::Operator) }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TransitionKind {
    Opened,
    Resolved,
    Reopened,
    /// Markers, in the full log only (never inline, never a state change):
    /// the policy was paused or resumed; a suppression stopped applying.
    Paused,
    Resumed,
    Unsuppressed,
}

impl TransitionKind {
    /// Opened, resolved and reopened change the state; the others are markers.
    pub fn changes_state(self) -> bool {
        matches!(self, TransitionKind::Opened | TransitionKind::Resolved | TransitionKind::Reopened)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TransitionKind::Opened => "opened",
            TransitionKind::Resolved => "resolved",
            TransitionKind::Reopened => "reopened",
            TransitionKind::Paused => "paused",
            TransitionKind::Resumed => "resumed",
            TransitionKind::Unsuppressed => "unsuppressed",
        }
    }
}

/// One state change in a finding's life.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Transition {
    pub at: Timestamp,
    pub kind: TransitionKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<ResolvedReason>,
    pub trigger: Trigger,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Finding {
    #[serde(rename = "ARN")]
    pub arn: String,
    pub policy: String,
    pub account_service: String,
    pub account_id: String,
    pub region: String,
    pub resource_type: String,
    pub severity: Severity,
    pub state: FindingState,
    pub first_seen: Timestamp,
    pub last_evaluated: Timestamp,
    pub evidence: Value,
    #[serde(default)]
    pub resolved_at: Option<Timestamp>,
    #[serde(default)]
    pub resolved_reason: Option<ResolvedReason>,
    pub detected_by: DetectedBy,
    /// The first transition and the latest ones, at most [`HISTORY_KEPT`]
    /// (so a finding that flaps for years still fits one store item); the
    /// whole log is the store's history series [`history_series`].
    #[serde(default)]
    pub history: Vec<Transition>,
    /// How many transitions the finding has had (0 in findings stored before
    /// it was counted: then `history` is all of them).
    #[serde(default)]
    pub transitions: u64,
    /// Optimistic-concurrency version: 0 for a finding not stored yet, then
    /// one more on every write. A store writes a finding only if the stored
    /// version is still the one the writer read. Findings stored before
    /// versions existed read as version 1.
    #[serde(default = "first_version")]
    pub version: u64,
}

/// Transitions a finding keeps inline: the first and the latest.
pub const HISTORY_KEPT: usize = 50;

/// The history series holding every transition of the finding on `arn` for `policy`.
pub fn history_series(arn: &str, policy: &str) -> String {
    format!("finding:{arn} {policy}")
}

fn first_version() -> u64 {
    1
}

impl Finding {
    /// How many transitions the finding has had, kept inline or not.
    pub fn transition_count(&self) -> u64 {
        self.transitions.max(self.history.len() as u64)
    }

    /// Appends a transition, keeping the first and the latest [`HISTORY_KEPT`].
    pub fn record(&mut self, t: Transition) {
        self.transitions = self.transition_count() + 1;
        self.history.push(t);
        if self.history.len() > HISTORY_KEPT {
            self.history.remove(1);
        }
    }

    pub fn is_active(&self) -> bool {
        self.state == FindingState::Active
    }

    /// The service part of `AccountService`.
    pub fn service(&self) -> &str {
        self.account_service.rsplit_once('_').map_or("", |(_, s)| s)
    }

    /// This finding's [`finding_uid`].
    pub fn uid(&self) -> String {
        finding_uid(&self.arn, &self.policy)
    }

    /// The latest transition that changed the state (markers skipped).
    pub fn last_state_change(&self) -> Option<&Transition> {
        self.history.iter().rev().find(|t| t.kind.changes_state())
    }
}

/// The identity of the finding on `arn` for `policy` outside qrie (OCSF
/// `finding_info.uid`, the ASFF `Id`, notification keys): stable for as long
/// as the pair exists, opaque, and bounded in length whatever the ARN's.
pub fn finding_uid(arn: &str, policy: &str) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(arn.as_bytes());
    h.update([0]);
    h.update(policy.as_bytes());
    format!("qrie-{}", hex::encode(&h.finalize()[..16]))
}
