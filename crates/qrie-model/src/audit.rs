//! The audit log: who changed what, when. One entry per operator action on
//! suppression rules, policies and findings, appended (never rewritten) to a
//! store history series per month, so a query by time reads only the months
//! it spans.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;
use std::str::FromStr;

use crate::{Timestamp, ValidationError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AuditAction {
    #[serde(rename = "suppression.create")]
    SuppressionCreate,
    #[serde(rename = "suppression.edit")]
    SuppressionEdit,
    #[serde(rename = "suppression.disable")]
    SuppressionDisable,
    #[serde(rename = "suppression.enable")]
    SuppressionEnable,
    #[serde(rename = "suppression.delete")]
    SuppressionDelete,
    /// Recorded once, by whoever first notices the expiry.
    #[serde(rename = "suppression.expire")]
    SuppressionExpire,
    #[serde(rename = "policy.launch")]
    PolicyLaunch,
    #[serde(rename = "policy.update")]
    PolicyUpdate,
    #[serde(rename = "policy.suspend")]
    PolicySuspend,
    #[serde(rename = "policy.pause")]
    PolicyPause,
    #[serde(rename = "policy.resume")]
    PolicyResume,
    #[serde(rename = "policy.delete")]
    PolicyDelete,
    #[serde(rename = "findings.archive")]
    FindingsArchive,
    #[serde(rename = "findings.purge")]
    FindingsPurge,
    #[serde(rename = "integration.add")]
    IntegrationAdd,
    #[serde(rename = "integration.remove")]
    IntegrationRemove,
    /// Dead-lettered deliveries sent again by hand.
    #[serde(rename = "notification.retry")]
    NotificationRetry,
}

impl AuditAction {
    pub const ALL: [AuditAction; 17] = [
        AuditAction::SuppressionCreate,
        AuditAction::SuppressionEdit,
        AuditAction::SuppressionDisable,
        AuditAction::SuppressionEnable,
        AuditAction::SuppressionDelete,
        AuditAction::SuppressionExpire,
        AuditAction::PolicyLaunch,
        AuditAction::PolicyUpdate,
        AuditAction::PolicySuspend,
        AuditAction::PolicyPause,
        AuditAction::PolicyResume,
        AuditAction::PolicyDelete,
        AuditAction::FindingsArchive,
        AuditAction::FindingsPurge,
        AuditAction::IntegrationAdd,
        AuditAction::IntegrationRemove,
        AuditAction::NotificationRetry,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::SuppressionCreate => "suppression.create",
            AuditAction::SuppressionEdit => "suppression.edit",
            AuditAction::SuppressionDisable => "suppression.disable",
            AuditAction::SuppressionEnable => "suppression.enable",
            AuditAction::SuppressionDelete => "suppression.delete",
            AuditAction::SuppressionExpire => "suppression.expire",
            AuditAction::PolicyLaunch => "policy.launch",
            AuditAction::PolicyUpdate => "policy.update",
            AuditAction::PolicySuspend => "policy.suspend",
            AuditAction::PolicyPause => "policy.pause",
            AuditAction::PolicyResume => "policy.resume",
            AuditAction::PolicyDelete => "policy.delete",
            AuditAction::FindingsArchive => "findings.archive",
            AuditAction::FindingsPurge => "findings.purge",
            AuditAction::IntegrationAdd => "integration.add",
            AuditAction::IntegrationRemove => "integration.remove",
            AuditAction::NotificationRetry => "notification.retry",
        }
    }
}

impl fmt::Display for AuditAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AuditAction {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        AuditAction::ALL.into_iter().find(|a| a.as_str() == s.trim()).ok_or_else(|| ValidationError::Choice {
            what: "audit action",
            value: s.into(),
            expected: "suppression.create|edit|disable|enable|delete|expire, \
                       policy.launch|update|suspend|pause|resume|delete, findings.archive|purge, \
                       integration.add|remove, notification.retry",
        })
    }
}

/// One audited action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AuditEntry {
    pub at: Timestamp,
    /// Who: `token:<name>` for the API and UI, `cli:<user>` for the CLI,
    /// `qrie` for what qrie does by itself (an expiry noticed).
    pub actor: String,
    pub action: AuditAction,
    /// What it acted on: a rule id, a policy id, an archive.
    pub target: String,
    /// The action's particulars (a rule before and after an edit, how many
    /// findings were purged, where they were archived).
    #[serde(default)]
    pub details: Value,
}

/// The series holding the entries of the month `at` falls in.
pub fn audit_series(at: Timestamp) -> String {
    format!("audit:{}", at.format("%Y-%m"))
}

/// The actor qrie itself acts as.
pub const SYSTEM_ACTOR: &str = "qrie";

/// A time as a query gives it: RFC 3339, or a date (00:00 UTC that day).
pub fn parse_time(name: &str, s: &str) -> Result<Timestamp, ValidationError> {
    let s = s.trim();
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&chrono::Utc));
    }
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
        .ok_or_else(|| ValidationError::Parameter {
            name: name.into(),
            reason: format!("{s:?}: expected an RFC 3339 time or a date (2026-12-01)"),
        })
}
