//! Scan types, jobs and drift records (DESIGN.md §4).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use crate::{DetectedBy, Timestamp, ValidationError};

/// `bootstrap` establishes a baseline and records no drift (the default);
/// `anti-entropy` is the scheduled sweep that measures drift.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScanType {
    #[default]
    Bootstrap,
    AntiEntropy,
}

impl ScanType {
    pub fn as_str(self) -> &'static str {
        match self {
            ScanType::Bootstrap => "bootstrap",
            ScanType::AntiEntropy => "anti-entropy",
        }
    }

    pub fn detected_by(self) -> DetectedBy {
        match self {
            ScanType::Bootstrap => DetectedBy::Bootstrap,
            ScanType::AntiEntropy => DetectedBy::AntiEntropy,
        }
    }

    pub fn records_drift(self) -> bool {
        self == ScanType::AntiEntropy
    }
}

impl fmt::Display for ScanType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ScanType {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "bootstrap" => Ok(ScanType::Bootstrap),
            "anti-entropy" => Ok(ScanType::AntiEntropy),
            _ => {
                Err(ValidationError::Choice { what: "scan type", value: s.into(), expected: "bootstrap, anti-entropy" })
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum JobKind {
    Inventory,
    PolicySweep,
}

impl JobKind {
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Inventory => "inventory",
            JobKind::PolicySweep => "policy-sweep",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobStatus {
    Queued,
    Running,
    Succeeded,
    /// Finished, but some account, service or region could not be completed.
    Partial,
    Failed,
    /// Was running, but whoever ran it stopped renewing its lease (killed,
    /// crashed, timed out): resumable from its plan (`qrie jobs resume`).
    Interrupted,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Succeeded => "succeeded",
            JobStatus::Partial => "partial",
            JobStatus::Failed => "failed",
            JobStatus::Interrupted => "interrupted",
        }
    }

    pub fn is_finished(self) -> bool {
        matches!(self, JobStatus::Succeeded | JobStatus::Partial | JobStatus::Failed)
    }
}

/// A part of a sweep that failed; the rest of the sweep went on.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct JobError {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_id: Option<String>,
    /// The resource, for an evaluation error (an example when `count` > 1).
    #[serde(default, rename = "ARN", skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    /// How many times this error happened (evaluation errors are one entry per policy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Job {
    pub id: String,
    pub kind: JobKind,
    pub scan_type: ScanType,
    /// What the job covers (accounts, services, policy), as given.
    pub target: Value,
    pub status: JobStatus,
    pub progress_done: u64,
    pub progress_total: u64,
    /// Named counters: resources observed, findings opened, API calls…
    #[serde(default)]
    pub counts: BTreeMap<String, u64>,
    #[serde(default)]
    pub errors: Vec<JobError>,
    pub created_at: Timestamp,
    #[serde(default)]
    pub started_at: Option<Timestamp>,
    #[serde(default)]
    pub finished_at: Option<Timestamp>,
    /// Set when a Lambda function runs the job: the time by which it will
    /// have started (queued) or ended (running), or never will. A job still
    /// queued or running after it is lost, and is failed as such.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<Timestamp>,
    /// Every write of a job is conditional on the version its writer read
    /// (jobs stored before versions read as 1).
    #[serde(default = "first_version")]
    pub version: u64,
    /// While running, who runs it and until when it is known to: the owner
    /// renews the lease by a heartbeat; past it the job is interrupted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease: Option<Lease>,
}

fn first_version() -> u64 {
    1
}

/// A claim on running something (a job, a unit of its plan) until `until`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Lease {
    pub owner: String,
    pub until: Timestamp,
}

impl Lease {
    pub fn expired(&self, now: Timestamp) -> bool {
        now > self.until
    }
}

impl JobError {
    /// How many times it happened (an entry without a count is one).
    pub fn times(&self) -> u64 {
        self.count.unwrap_or(1)
    }
}

impl Job {
    /// Errors counted with their repetitions (evaluation errors are one entry per policy).
    pub fn error_count(&self) -> u64 {
        self.errors.iter().map(JobError::times).sum()
    }

    /// Ends the job as failed as a whole at `at`, saying why (a job nothing
    /// will run: its function could not be invoked, or it was lost).
    pub fn fail(&mut self, message: String, at: Timestamp) {
        self.status = JobStatus::Failed;
        self.finished_at = Some(at);
        self.errors.push(JobError { message, ..JobError::default() });
    }
}

/// Drift of one (account, service, region) found by an anti-entropy inventory sweep.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct InventoryDriftRow {
    pub account_id: String,
    pub service: String,
    pub region: String,
    pub missed_creates: u64,
    pub missed_deletes: u64,
    pub missed_updates: u64,
    /// Creates and updates AWS dates within the grace window before the
    /// listing: their events may still be on their way, so not counted missed.
    #[serde(default)]
    pub within_grace: u64,
}

/// Findings a sweep opened or resolved for one policy: what events missed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyDriftRow {
    pub policy_id: String,
    pub missed_opens: u64,
    pub missed_resolves: u64,
    /// Opens and resolves the passage of time made (a key that grew too old,
    /// a certificate that expired), which no event could have caught: not missed.
    #[serde(default)]
    pub time_based: u64,
}

/// `last_inventory_scan`: what an anti-entropy inventory sweep found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct InventoryDrift {
    #[serde(rename = "timestamp_ms")]
    pub timestamp_ms: i64,
    pub job_id: String,
    pub rows: Vec<InventoryDriftRow>,
    /// Findings the sweep's re-evaluation opened or resolved, per policy.
    pub findings: Vec<PolicyDriftRow>,
    /// Accounts left out because they had no baseline yet.
    pub unbaselined_accounts: Vec<String>,
    /// (account, service, region) units that did not list completely.
    pub incomplete_units: u64,
}

/// `last_policy_scan`: what an anti-entropy policy sweep found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyDrift {
    #[serde(rename = "timestamp_ms")]
    pub timestamp_ms: i64,
    pub job_id: String,
    pub rows: Vec<PolicyDriftRow>,
    pub unbaselined_accounts: Vec<String>,
}

impl InventoryDrift {
    pub fn totals(&self) -> (u64, u64, u64) {
        self.rows
            .iter()
            .fold((0, 0, 0), |(c, d, u), r| (c + r.missed_creates, d + r.missed_deletes, u + r.missed_updates))
    }
}

/// Sum of opens and resolves over policy rows.
pub fn finding_drift_totals(rows: &[PolicyDriftRow]) -> (u64, u64) {
    rows.iter().fold((0, 0), |(o, r), row| (o + row.missed_opens, r + row.missed_resolves))
}
