//! Request and result types shared by every backend.

use qrie_model::{FindingState, JobKind, JobStatus, Service, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("invalid store URL {url:?}: {reason}")]
    Url { url: String, reason: String },
    #[error("cannot open store {location}: {reason}")]
    Open { location: String, reason: String },
    #[error("{location} is not a qrie store or is corrupt: {reason}")]
    Corrupt { location: String, reason: String },
    #[error("invalid pagination token: it was not issued by this list, or was altered")]
    InvalidToken,
    #[error("stored record {key} could not be decoded: {reason}")]
    Decode { key: String, reason: String },
    #[error("store error: {0}")]
    Backend(String),
}

/// Result of one conditional resource write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum WriteOutcome {
    Written,
    /// The stored row was observed later; nothing was written.
    Stale,
    /// No such resource (for `mark_deleted`).
    Missing,
}

/// What a finding write requires of the launched policy it belongs to: the
/// policy as the writer read it. A suspension, deletion or scope change moves
/// the policy on, and a write decided before it is refused ([`FindingWriteOutcome::Fenced`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyFence {
    /// The launched policy exists with this generation.
    Generation(u64),
    /// The policy is not launched (closing the findings of a deleted policy:
    /// refused once it is launched again).
    Absent,
    /// No requirement. For imports and test fixtures; the engine always fences.
    Unchecked,
}

/// One conditional finding write: `finding.version` is the version it will
/// have, one more than the version the writer read (1: the writer read no
/// finding, and none may exist).
#[derive(Debug, Clone, PartialEq)]
pub struct FindingWrite {
    pub finding: qrie_model::Finding,
    pub fence: PolicyFence,
    /// The notice of the transition this write adds, put in the outbox
    /// ([`qrie_model::notice::OUTBOX`]) by the same write: only if the
    /// finding is written, and then certainly.
    pub notice: Option<qrie_model::notice::Notice>,
}

impl FindingWrite {
    /// A write without a policy fence at the finding's own version (1 for a
    /// new finding), with no notice. For imports, benchmarks and test
    /// fixtures; the engine always fences.
    pub fn unchecked(finding: qrie_model::Finding) -> Self {
        FindingWrite { finding, fence: PolicyFence::Unchecked, notice: None }
    }

    /// The version the stored finding must have for the write to land (0: none stored).
    pub fn expected_version(&self) -> u64 {
        self.finding.version.saturating_sub(1)
    }
}

/// Result of one conditional finding write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum FindingWriteOutcome {
    Written,
    /// The stored finding is not at the expected version (another writer was
    /// first): re-read it and decide again.
    Conflict,
    /// The launched policy is no longer what the writer read.
    Fenced,
}

/// Upper bound a backend applies to `limit`.
pub const MAX_PAGE_SIZE: usize = 1000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    /// At most this many items (clamped to 1..=MAX_PAGE_SIZE).
    pub limit: usize,
    pub next_token: Option<String>,
}

impl PageRequest {
    pub fn first(limit: usize) -> Self {
        PageRequest { limit, next_token: None }
    }

    pub fn effective_limit(&self) -> usize {
        self.limit.clamp(1, MAX_PAGE_SIZE)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// `None` on the last page.
    pub next_token: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResourceFilter {
    pub account_id: Option<String>,
    pub service: Option<Service>,
    pub region: Option<String>,
    pub resource_type: Option<String>,
    /// Case-insensitive substring of the name or ARN.
    pub search: Option<String>,
    /// Deleted rows are left out unless this is set.
    pub include_deleted: bool,
    /// Leave out resources of these accounts (e.g. removed accounts in default views).
    pub exclude_accounts: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceGroup {
    Account,
    Service,
    Region,
    ResourceType,
}

/// What an inventory sweep needs to know of a stored row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceDigest {
    pub arn: String,
    pub region: String,
    pub config_hash: String,
    pub observed_at: Timestamp,
    pub deleted: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FindingFilter {
    pub state: Option<FindingState>,
    pub policy: Option<String>,
    pub account_id: Option<String>,
    pub service: Option<Service>,
    pub region: Option<String>,
    pub resource_type: Option<String>,
    pub severity_min: Option<u8>,
    pub arn: Option<String>,
    /// Leave out findings of these accounts (e.g. removed accounts in default views).
    pub exclude_accounts: Vec<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum FindingSort {
    /// By (ARN, Policy).
    #[default]
    Key,
    /// Most severe first, then by (ARN, Policy).
    SeverityDesc,
    /// Most recently evaluated first, then by (ARN, Policy).
    LastEvaluatedDesc,
    /// Whatever order the backend reads in, each page costing about its own
    /// size: for walks that visit every match (exports). SQLite reads by key;
    /// DynamoDB reads its table or index in order and resumes after the last
    /// finding returned, where the sorted orders re-read every match for
    /// each page. A page may hold fewer than `limit` findings (even none)
    /// and still have a next one.
    StoreOrder,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FindingGroup {
    Policy,
    Account,
    Service,
    Region,
    ResourceType,
    State,
    /// The exact score, as a decimal string.
    Severity,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobFilter {
    pub kind: Option<JobKind>,
    pub status: Option<JobStatus>,
}

/// A cached or recorded summary document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SummaryEntry {
    pub key: String,
    pub value: Value,
    pub computed_at: Timestamp,
    /// After this the entry is stale (a TTL); `None` never expires.
    pub expires_at: Option<Timestamp>,
}
