//! qrie's storage: the traits the engine talks to, and their backends.
//!
//! The engine never knows which backend it runs on. A backend implements the
//! sub-traits below (resources, findings, launched policies, accounts, jobs,
//! summaries, key-value) and so the [`Store`] super-trait; [`open`] picks one
//! from a store URL. Every backend must pass the one conformance suite in
//! [`conformance`].
//!
//! Rules every backend keeps:
//! - **Observation order.** A resource write carries the time it was observed;
//!   a write older than the stored observation is refused ([`WriteOutcome::Stale`]),
//!   so a slow sweep never resurrects a resource an event saw deleted.
//! - **Opaque cursors.** Lists return at most `limit` items and a `next_token`
//!   that only the same backend understands; a token it did not issue is
//!   [`StoreError::InvalidToken`].
//! - **Attacker-controlled strings** (names, tags, evidence) are bound as
//!   parameters, never spliced into queries.

pub mod conformance;
#[cfg(feature = "sqlite")]
pub mod sqlite;
pub mod token;
mod types;

pub use types::*;

use async_trait::async_trait;
use qrie_model::{Account, Finding, Job, LaunchedPolicy, Resource, Timestamp};
use serde_json::Value;
use std::sync::Arc;

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[async_trait]
pub trait ResourceStore: Send + Sync {
    /// Writes resources (a resource with `deleted_at` set records a deletion).
    /// Each write is refused as `Stale` if the stored row was observed later.
    /// One outcome per input, in order.
    async fn put_resources(&self, resources: Vec<Resource>) -> Result<Vec<WriteOutcome>>;

    /// Marks resources of `account_id` deleted as of `observed_at` (keeping
    /// their last configuration). Only that account's row of an ARN is
    /// touched: a bucket name now owned by another account keeps that
    /// account's row. `Missing` for ARNs the account has no row of, `Stale`
    /// where the stored row was observed after `observed_at`.
    async fn mark_deleted(
        &self,
        account_id: &str,
        arns: Vec<String>,
        observed_at: Timestamp,
    ) -> Result<Vec<WriteOutcome>>;

    /// The latest observation of `arn` (of whichever account holds it), as
    /// last written: a read right after a write sees the write.
    async fn get_resource(&self, arn: &str) -> Result<Option<Resource>>;

    /// The resources among `arns` that exist (deleted ones included), in no
    /// particular order.
    async fn get_resources(&self, arns: Vec<String>) -> Result<Vec<Resource>>;

    /// Ordered by (AccountService, ARN).
    async fn list_resources(&self, filter: &ResourceFilter, page: &PageRequest) -> Result<Page<Resource>>;

    /// Counts grouped by a column (or one total under the key `""`), largest first.
    async fn count_resources(
        &self,
        filter: &ResourceFilter,
        group: Option<ResourceGroup>,
    ) -> Result<Vec<(String, u64)>>;

    /// What an inventory sweep compares a fresh listing with: every row of one
    /// account and service, in one region or (`None`) all of them.
    async fn resource_digests(
        &self,
        account_id: &str,
        service: qrie_model::Service,
        region: Option<&str>,
    ) -> Result<Vec<ResourceDigest>>;
}

#[async_trait]
pub trait FindingStore: Send + Sync {
    /// Conditional writes by (ARN, Policy), applied in order. Each lands only
    /// if the stored finding is at [`FindingWrite::expected_version`] and the
    /// launched policy matches the write's fence; otherwise nothing of it is
    /// written and its outcome says why. The lifecycle decides what to write;
    /// the store only keeps it, and never over a version the writer did not read.
    /// One outcome per input, in order.
    async fn write_findings(&self, writes: Vec<FindingWrite>) -> Result<Vec<FindingWriteOutcome>>;
    async fn get_finding(&self, arn: &str, policy: &str) -> Result<Option<Finding>>;
    async fn findings_for_resource(&self, arn: &str) -> Result<Vec<Finding>>;
    /// The findings of each of these resources: one call where the backend
    /// can answer it in one (an event batch reads a few dozen resources').
    async fn findings_for_resources(&self, arns: Vec<String>) -> Result<Vec<Finding>> {
        let mut out = Vec::new();
        for arn in &arns {
            out.extend(self.findings_for_resource(arn).await?);
        }
        Ok(out)
    }
    async fn findings_for_policy(&self, policy: &str, state: Option<qrie_model::FindingState>) -> Result<Vec<Finding>>;
    async fn list_findings(
        &self,
        filter: &FindingFilter,
        sort: FindingSort,
        page: &PageRequest,
    ) -> Result<Page<Finding>>;
    /// Counts grouped by a column (or one total under the key `""`), largest first.
    async fn count_findings(&self, filter: &FindingFilter, group: Option<FindingGroup>) -> Result<Vec<(String, u64)>>;
    /// For each of `groups`, in that order, what `count_findings(filter,
    /// Some(group))` answers. A backend that can count them all in one read
    /// (the dashboard needs four over the same findings) overrides this.
    async fn count_findings_each(
        &self,
        filter: &FindingFilter,
        groups: &[FindingGroup],
    ) -> Result<Vec<Vec<(String, u64)>>> {
        let mut out = Vec::with_capacity(groups.len());
        for group in groups {
            out.push(self.count_findings(filter, Some(*group)).await?);
        }
        Ok(out)
    }
    /// Hard-deletes each finding `(ARN, Policy, version)` only if it is still
    /// at the version its caller read (and archived): a finding that changed
    /// since (reopened by an event, say) is kept. One answer per input, in
    /// order: `true` where it was deleted.
    async fn delete_findings(&self, keys: Vec<(String, String, u64)>) -> Result<Vec<bool>>;
}

#[async_trait]
pub trait PolicyStore: Send + Sync {
    async fn get_policy(&self, policy_id: &str) -> Result<Option<LaunchedPolicy>>;
    /// Every launched policy, active and suspended, ordered by id.
    async fn list_policies(&self) -> Result<Vec<LaunchedPolicy>>;
    /// Writes the policy if the stored one is at generation `expected`
    /// (`None`: none is stored). Returns false, writing nothing, when it is
    /// not: another writer changed the policy since it was read.
    async fn put_policy(&self, policy: LaunchedPolicy, expected: Option<u64>) -> Result<bool>;
    /// Deletes the policy if it is stored at generation `expected`. Returns
    /// whether it was deleted.
    async fn delete_policy(&self, policy_id: &str, expected: u64) -> Result<bool>;
}

#[async_trait]
pub trait AccountStore: Send + Sync {
    async fn get_account(&self, account_id: &str) -> Result<Option<Account>>;
    /// Every account, removed ones included, ordered by id.
    async fn list_accounts(&self) -> Result<Vec<Account>>;
    /// Writes the account if the stored one is at revision `expected`
    /// (`None`: none is stored). Returns false, writing nothing, when it is
    /// not. The account carries its new revision.
    async fn put_account(&self, account: Account, expected: Option<u64>) -> Result<bool>;
    /// Hard delete of the account and all its resources and findings. Returns
    /// whether the account existed.
    async fn purge_account(&self, account_id: &str) -> Result<bool>;
}

#[async_trait]
pub trait JobStore: Send + Sync {
    /// Writes a job unconditionally: only for a job nobody else can have
    /// seen yet, or fixtures; every other write is [`put_job_if`](Self::put_job_if).
    async fn put_job(&self, job: Job) -> Result<()>;
    /// Writes `job` if the stored job's `version` is `expected` (`None`: no
    /// job of its id is stored). The caller sets `job.version` (the next one).
    /// Returns whether it was written.
    async fn put_job_if(&self, job: Job, expected: Option<u64>) -> Result<bool>;
    async fn get_job(&self, id: &str) -> Result<Option<Job>>;
    /// Newest first.
    async fn list_jobs(&self, filter: &JobFilter, page: &PageRequest) -> Result<Page<Job>>;
}

#[async_trait]
pub trait SummaryStore: Send + Sync {
    async fn get_summary(&self, key: &str) -> Result<Option<SummaryEntry>>;
    async fn put_summary(&self, entry: SummaryEntry) -> Result<()>;
    /// Removes every summary whose key starts with `prefix`.
    async fn invalidate_summaries(&self, prefix: &str) -> Result<()>;
    /// Takes the named lock until `expires_at` if it is free, expired (before
    /// `now`) or already held by `holder`. A conditional write: of concurrent
    /// callers exactly one wins.
    async fn try_lock(&self, name: &str, holder: &str, now: Timestamp, expires_at: Timestamp) -> Result<bool>;
    async fn release_lock(&self, name: &str, holder: &str) -> Result<()>;
    /// Appends a point to a time series (drift history, daily trends).
    async fn append_history(&self, series: &str, timestamp_ms: i64, value: Value) -> Result<()>;
    /// Appends many points, of any series, in as few writes as the backend
    /// allows (a sweep's finding transitions).
    async fn append_history_many(&self, points: Vec<(String, i64, Value)>) -> Result<()> {
        for (series, timestamp_ms, value) in points {
            self.append_history(&series, timestamp_ms, value).await?;
        }
        Ok(())
    }
    /// Points of a series with `timestamp_ms >= since_ms`, oldest first, at most `limit`.
    async fn list_history(&self, series: &str, since_ms: i64, limit: usize) -> Result<Vec<(i64, Value)>>;
    /// Removes every point of each of these series (a purged finding's log).
    async fn delete_history(&self, series: Vec<String>) -> Result<()>;
}

/// Small named documents (e.g. the simulated estate's state).
#[async_trait]
pub trait KvStore: Send + Sync {
    async fn kv_get(&self, namespace: &str, key: &str) -> Result<Option<Value>>;
    async fn kv_put(&self, namespace: &str, key: &str, value: Value) -> Result<()>;
    async fn kv_put_many(&self, namespace: &str, entries: Vec<(String, Value)>) -> Result<()>;
    /// Plain puts of entries across namespaces, (namespace, key, value) each:
    /// one batch where [`kv_put_many`](Self::kv_put_many) would take one per namespace.
    async fn kv_put_entries(&self, entries: Vec<(String, String, Value)>) -> Result<()>;
    /// Deletes the entry if its stored value is `expected`; whether it was
    /// deleted (false too when there is no such entry). A writer that put
    /// another value since keeps its entry.
    async fn kv_delete_if(&self, namespace: &str, key: &str, expected: Value) -> Result<bool>;
    /// Ordered by key.
    async fn kv_list(&self, namespace: &str) -> Result<Vec<(String, Value)>>;
    async fn kv_clear(&self, namespace: &str) -> Result<()>;
    /// An entry with its version: 1 when written by a plain put, and one more
    /// with each [`kv_put_if`](Self::kv_put_if). Entries several writers
    /// update are written only by `kv_put_if`.
    async fn kv_get_versioned(&self, namespace: &str, key: &str) -> Result<Option<(Value, u64)>>;
    /// Every entry of the namespace with its version, ordered by key.
    async fn kv_list_versioned(&self, namespace: &str) -> Result<Vec<(String, Value, u64)>>;
    /// Up to `limit` entries of the namespace whose keys come after `after`
    /// (from the first with `None`), with their versions, ordered by key: a
    /// large namespace read a page at a time.
    async fn kv_page_versioned(
        &self,
        namespace: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, Value, u64)>>;
    /// Writes the entry if its stored version is `expected` (`None`: if no
    /// entry of that key is stored; it is then version 1). Whether it was written.
    async fn kv_put_if(&self, namespace: &str, key: &str, value: Value, expected: Option<u64>) -> Result<bool>;
    /// Adds `delta` to one counter (created at 0) and answers its new value,
    /// atomically: of concurrent adders each sees a different value.
    async fn counter_add(&self, namespace: &str, name: &str, delta: i64) -> Result<i64>;
    /// Adds each delta to its named counter in the namespace (created at 0),
    /// atomically per counter: concurrent adders never lose a count.
    async fn counters_add(&self, namespace: &str, deltas: Vec<(String, i64)>) -> Result<()>;
    /// Every counter of the namespace, ordered by name.
    async fn counters(&self, namespace: &str) -> Result<Vec<(String, i64)>>;
}

/// Everything the engine needs from a backend.
pub trait Store: ResourceStore + FindingStore + PolicyStore + AccountStore + JobStore + SummaryStore + KvStore {
    /// Where the data lives, for messages (a path, a table prefix).
    fn location(&self) -> String;
}

impl<T> Store for T
where
    T: ResourceStore + FindingStore + PolicyStore + AccountStore + JobStore + SummaryStore + KvStore + Located,
{
    fn location(&self) -> String {
        Located::location(self)
    }
}

/// Names where a backend keeps its data.
pub trait Located {
    fn location(&self) -> String;
}

/// Opens the store a URL names: `sqlite:PATH` (or a bare path) for the embedded
/// SQLite file. The file is created, and its schema migrated, if needed.
pub fn open(url: &str) -> Result<Arc<dyn Store>> {
    let url = url.trim();
    if let Some(rest) = url.strip_prefix("dynamodb:") {
        let _ = rest;
        return Err(StoreError::Url {
            url: url.to_string(),
            reason: "the DynamoDB backend is not part of this build yet; use sqlite:PATH".into(),
        });
    }
    let path = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")).unwrap_or(url);
    if path.is_empty() {
        return Err(StoreError::Url { url: url.to_string(), reason: "expected sqlite:PATH".into() });
    }
    if url.contains("://") && !url.starts_with("sqlite://") {
        return Err(StoreError::Url { url: url.to_string(), reason: "unknown scheme; expected sqlite:PATH".into() });
    }
    #[cfg(feature = "sqlite")]
    {
        Ok(Arc::new(sqlite::SqliteStore::open(std::path::Path::new(path))?))
    }
    #[cfg(not(feature = "sqlite"))]
    {
        Err(StoreError::Url { url: url.to_string(), reason: "built without the sqlite feature".into() })
    }
}
