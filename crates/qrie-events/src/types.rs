//! The public data types of the event path. Field names serialise in PascalCase like the
//! rest of qrie's JSON.

use chrono::{DateTime, Utc};
use qrie_model::Service;
use serde::Serialize;

/// One record as found in the input, before any guard ran.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Incoming {
    /// 0-based position in the decoded input, in reading order.
    pub position: usize,
    /// The outermost container the record came in.
    pub envelope: Envelope,
    /// EventBridge metadata when the record came in an EventBridge event.
    pub bus: Option<BusMeta>,
    /// The CloudTrail record, or why this element could not be read as one.
    pub record: Result<serde_json::Value, String>,
}

/// The outer container of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Envelope {
    /// A CloudTrail log file `{"Records": [...]}`.
    LogFile,
    /// An EventBridge event whose `detail` is the record.
    EventBridge,
    /// A record on its own (also in a JSON array or JSON lines).
    Bare,
    /// A CloudTrail Event history (LookupEvents) item carrying the record as a JSON string.
    LookupEvents,
    /// An SQS message, Lambda SQS event or SNS notification carrying any of the above.
    Sqs,
}

/// What EventBridge said about the event around the record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BusMeta {
    pub source: String,
    pub detail_type: String,
    pub id: Option<String>,
    pub account: Option<String>,
}

/// The router's answer for one [`Incoming`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Routed {
    pub position: usize,
    pub event_id: Option<String>,
    pub event_time: Option<DateTime<Utc>>,
    pub event_source: Option<String>,
    pub event_name: Option<String>,
    pub account_id: Option<String>,
    pub region: Option<String>,
    #[serde(flatten)]
    pub decision: Decision,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "Decision", rename_all = "lowercase")]
pub enum Decision {
    /// The record changed these resources.
    Mapped {
        #[serde(rename = "Targets")]
        targets: Vec<Target>,
    },
    /// A guard refused the record.
    Skipped {
        #[serde(rename = "Reason")]
        reason: SkipReason,
    },
    /// A write call qrie has no table entry for (counted and listed for operators).
    Unmapped,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "Kind", rename_all = "kebab-case")]
pub enum SkipReason {
    /// EventBridge `source` not starting with `aws.`: only AWS can put such events, so anything
    /// else was put on a custom bus by someone and must not drive findings.
    ForgedSource {
        #[serde(rename = "Source")]
        source: String,
    },
    /// EventBridge `detail-type` is not a CloudTrail API call (GuardDuty, state changes, …).
    NotAnApiCall {
        #[serde(rename = "DetailType")]
        detail_type: String,
    },
    /// A read-only call; also a console sign-in of anyone but root, which changes no
    /// configuration qrie evaluates.
    ReadOnly,
    /// The call failed (`errorCode`, or a console sign-in answered `Failure`).
    Failed {
        #[serde(rename = "ErrorCode")]
        error_code: String,
    },
    /// The element is not a usable CloudTrail record.
    Malformed {
        #[serde(rename = "Why")]
        why: String,
    },
    /// A known write call whose record names no resource qrie stores (e.g. DisassociateAddress
    /// names only the association, CreateTags only on VPCs). Anti-entropy catches the change.
    Unresolvable {
        #[serde(rename = "Why")]
        why: String,
    },
}

impl SkipReason {
    /// A stable label for counting skips by reason.
    pub fn label(&self) -> &'static str {
        match self {
            SkipReason::ForgedSource { .. } => "forged-source",
            SkipReason::NotAnApiCall { .. } => "not-an-api-call",
            SkipReason::ReadOnly => "read-only",
            SkipReason::Failed { .. } => "failed",
            SkipReason::Malformed { .. } => "malformed",
            SkipReason::Unresolvable { .. } => "unresolvable",
        }
    }
}

/// A resource the record changed, with qrie's ARN and resource type for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Target {
    pub arn: String,
    pub account_id: String,
    pub region: String,
    pub service: Service,
    pub resource_type: &'static str,
    pub action: Action,
    /// The resource's name when the event names it (IAM events give names, not paths: the
    /// engine resolves a pathed ARN by name).
    pub name: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Re-read the resource and evaluate it.
    Refresh,
    /// The resource is gone: resolve its findings with RESOURCE_DELETED after confirming.
    Deleted,
    /// An account setting changed: re-evaluate the setting and the resources that depend on it.
    AccountWide,
}
