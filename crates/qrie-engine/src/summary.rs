//! The dashboard and drift summaries.
//!
//! The dashboard is cached for an hour (DESIGN.md §3): when the cached copy is
//! stale exactly one caller recomputes it under a lock (a conditional write with
//! an expiry) while the others get the stale copy. Management operations and
//! sweeps invalidate it. Drift records are not cached values but history: they
//! are kept until the next sweep of their kind replaces them.

use chrono::Duration;
use futures::TryFutureExt;
use qrie_model::{FindingState, InventoryDrift, JobKind, PolicyDrift, SeverityLabel, Timestamp};
use qrie_store::{
    FindingFilter, FindingGroup, JobFilter, PageRequest, ResourceFilter, ResourceGroup, Store, StoreError, SummaryEntry,
};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

use crate::{Engine, EngineError};

pub const DRIFT_INVENTORY_KEY: &str = "drift:last_inventory_scan";
pub const DRIFT_POLICY_KEY: &str = "drift:last_policy_scan";
pub const DRIFT_INVENTORY_SERIES: &str = "drift:inventory";
pub const DRIFT_POLICY_SERIES: &str = "drift:policy";
/// One point per dashboard recompute (sweeps and management operations
/// invalidate the dashboard, so points follow changes): the findings trend.
pub const TREND_SERIES: &str = "trend:findings";
const CACHE_PREFIX: &str = "cache:";
const DASHBOARD_KEY: &str = "cache:dashboard";
const CACHE_TTL_MINUTES: i64 = 60;
/// A recompute that takes longer than this loses its lock to the next caller.
const LOCK_SECONDS: i64 = 60;
const TOP_POLICIES: usize = 10;

/// The counter invalidations move on: a cached summary holds the generation
/// it was computed under, and is fresh only while that is still current.
const GENERATION_NS: &str = "summary";
const GENERATION: &str = "generation";

/// Drops every cached summary; the next reader recomputes. A recompute that
/// started before this call is not cached as fresh (it carries the older
/// generation).
pub async fn invalidate(store: &dyn Store) -> Result<(), EngineError> {
    store.counters_add(GENERATION_NS, vec![(GENERATION.to_string(), 1)]).await?;
    Ok(store.invalidate_summaries(CACHE_PREFIX).await?)
}

/// The summaries' generation: it moves with every [`invalidate`], so a copy
/// read at the same generation is still current.
pub async fn generation(store: &dyn Store) -> Result<i64, EngineError> {
    Ok(store.counters(GENERATION_NS).await?.into_iter().find(|c| c.0 == GENERATION).map_or(0, |c| c.1))
}

/// A cached value with the generation it was computed under.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Stamped<T> {
    generation: i64,
    value: T,
}

/// Saves a sweep's drift as the latest of its kind and appends it to history.
pub async fn record_drift<T: Serialize>(
    store: &dyn Store,
    key: &str,
    series: &str,
    timestamp_ms: i64,
    drift: &T,
) -> Result<(), EngineError> {
    let value = serde_json::to_value(drift).map_err(|e| EngineError::Conflict(e.to_string()))?;
    store
        .put_summary(SummaryEntry {
            key: key.into(),
            value: value.clone(),
            computed_at: Engine::now(),
            expires_at: None,
        })
        .await?;
    store.append_history(series, timestamp_ms, value).await?;
    Ok(())
}

/// [`record_drift`], unless the series already holds the record of `job_id`
/// at `timestamp_ms` (a sweep's finalisation run again after it stopped).
pub async fn record_drift_once<T: Serialize>(
    store: &dyn Store,
    key: &str,
    series: &str,
    job_id: &str,
    timestamp_ms: i64,
    drift: &T,
) -> Result<(), EngineError> {
    let recorded = store.list_history(series, timestamp_ms, 100).await?;
    let ours = |(ts, v): &(i64, serde_json::Value)| {
        *ts == timestamp_ms && v.get("JobId").and_then(serde_json::Value::as_str) == Some(job_id)
    };
    if recorded.iter().any(ours) {
        return Ok(());
    }
    record_drift(store, key, series, timestamp_ms, drift).await
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct FindingsSummary {
    /// Active findings no suppression rule covers: what every count below is of.
    pub active: u64,
    /// Active findings a suppression rule in effect covers, counted apart.
    #[serde(default)]
    pub suppressed: u64,
    #[serde(default)]
    pub suppressed_by_severity: BTreeMap<String, u64>,
    pub resolved: u64,
    /// Active findings per severity label, every label present.
    pub by_severity: BTreeMap<String, u64>,
    pub by_service: BTreeMap<String, u64>,
    pub by_account: BTreeMap<String, u64>,
    /// Policies with the most active findings: (policy id, count).
    pub top_policies: Vec<(String, u64)>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct Dashboard {
    pub computed_at: Option<Timestamp>,
    pub resources: u64,
    pub resources_by_service: BTreeMap<String, u64>,
    pub accounts: u64,
    /// Active accounts without a complete first inventory: their findings are
    /// not counted as drift yet.
    pub unbaselined_accounts: Vec<String>,
    pub findings: FindingsSummary,
    pub last_inventory_scan: Option<InventoryDrift>,
    pub last_policy_scan: Option<PolicyDrift>,
    /// Policies whose evaluations ended in errors in the newest finished
    /// sweep of each kind: they are not deciding their findings.
    #[serde(default)]
    pub erroring_policies: Vec<ErroringPolicy>,
    /// When the first suppression rule counted here expires: the copy is
    /// recomputed then, so an expired rule's findings count as active at once.
    #[serde(default)]
    pub suppressions_valid_until: Option<Timestamp>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct ErroringPolicy {
    pub policy_id: String,
    pub errors: u64,
    pub job_id: String,
    #[serde(rename = "ARN")]
    pub arn: Option<String>,
    pub reason: String,
}

/// Sweeps looked at for a finished one of each kind.
const JOBS_LOOKED_AT: usize = 10;

/// [`Dashboard::erroring_policies`]: the policy errors of the newest finished
/// inventory sweep and policy sweep (the newer job's entry wins for a policy).
async fn erroring_policies(store: &dyn Store) -> Result<Vec<ErroringPolicy>, EngineError> {
    let mut by_policy: BTreeMap<String, ErroringPolicy> = BTreeMap::new();
    let mut newest_first = Vec::new();
    for kind in [JobKind::Inventory, JobKind::PolicySweep] {
        let filter = JobFilter { kind: Some(kind), status: None };
        let jobs = store.list_jobs(&filter, &PageRequest::first(JOBS_LOOKED_AT)).await?.items;
        newest_first.extend(jobs.into_iter().find(|j| j.status.is_finished()));
    }
    newest_first.sort_by_key(|j| std::cmp::Reverse(j.finished_at));
    for job in newest_first {
        for e in &job.errors {
            let Some(policy) = &e.policy_id else { continue };
            by_policy.entry(policy.clone()).or_insert_with(|| ErroringPolicy {
                policy_id: policy.clone(),
                errors: e.times(),
                job_id: job.id.clone(),
                arn: e.arn.clone(),
                reason: e.message.clone(),
            });
        }
    }
    Ok(by_policy.into_values().collect())
}

/// The counts of one dashboard recompute, kept as history for the trend chart.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct TrendPoint {
    #[serde(rename = "timestamp_ms")]
    pub timestamp_ms: i64,
    pub resources: u64,
    pub active: u64,
    pub resolved: u64,
    pub by_severity: BTreeMap<String, u64>,
}

impl TrendPoint {
    fn of(d: &Dashboard) -> Self {
        TrendPoint {
            timestamp_ms: d.computed_at.unwrap_or_else(Engine::now).timestamp_millis(),
            resources: d.resources,
            active: d.findings.active,
            resolved: d.findings.resolved,
            by_severity: d.findings.by_severity.clone(),
        }
    }
}

/// A value with where it came from.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Cached<T> {
    #[serde(flatten)]
    pub value: T,
    /// Served from the cache (possibly stale while another caller recomputes).
    pub cached: bool,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DriftSummary {
    pub last_inventory_scan: Option<InventoryDrift>,
    pub last_policy_scan: Option<PolicyDrift>,
    pub inventory_history: Vec<InventoryDrift>,
    pub policy_history: Vec<PolicyDrift>,
}

impl Engine {
    /// The dashboard, from the cache when fresh. A recompute (not a cached
    /// copy) also appends a [`TrendPoint`] to the trend series.
    pub async fn dashboard(&self) -> Result<Cached<Dashboard>, EngineError> {
        let mut d = cached(&*self.store, DASHBOARD_KEY, || self.compute_dashboard()).await?;
        if d.value.suppressions_valid_until.is_some_and(|x| x <= Engine::now()) {
            // A rule it counted has expired: record that (once) and recount.
            self.record_expiries(Engine::now()).await?;
            invalidate(&*self.store).await?;
            d = cached(&*self.store, DASHBOARD_KEY, || self.compute_dashboard()).await?;
        }
        if !d.cached {
            let point = TrendPoint::of(&d.value);
            let value = serde_json::to_value(&point).map_err(|e| EngineError::Conflict(e.to_string()))?;
            self.store.append_history(TREND_SERIES, point.timestamp_ms, value).await?;
        }
        Ok(d)
    }

    /// Trend points recorded since `since_ms`, oldest first, at most the
    /// latest `max_points`.
    pub async fn findings_trend(&self, since_ms: i64, max_points: usize) -> Result<Vec<TrendPoint>, EngineError> {
        let points = self.store.list_history(TREND_SERIES, since_ms, usize::MAX).await?;
        let skip = points.len().saturating_sub(max_points);
        Ok(decode_all(points.into_iter().skip(skip).map(|p| p.1).collect()))
    }

    /// Recomputes the dashboard. The findings counts come from one read
    /// ([`qrie_store::FindingStore::count_findings_each`]) and the independent
    /// reads run concurrently, each on its own store connection.
    pub async fn compute_dashboard(&self) -> Result<Dashboard, EngineError> {
        let store = &*self.store;
        let accounts = store.list_accounts().await?;
        let removed: Vec<String> = accounts.iter().filter(|a| !a.is_active()).map(|a| a.account_id.clone()).collect();
        let rfilter = ResourceFilter { exclude_accounts: removed.clone(), ..Default::default() };
        let active = FindingFilter {
            state: Some(FindingState::Active),
            exclude_accounts: removed.clone(),
            ..Default::default()
        };
        let resolved = FindingFilter {
            state: Some(FindingState::Resolved),
            exclude_accounts: removed.clone(),
            ..Default::default()
        };
        const GROUPS: [FindingGroup; 4] =
            [FindingGroup::Severity, FindingGroup::Policy, FindingGroup::Service, FindingGroup::Account];
        let suppressor = self.suppressor(Engine::now()).await?;
        let (
            each,
            resolved,
            resources,
            resources_by_service,
            last_inventory_scan,
            last_policy_scan,
            erroring,
            suppressed,
        ) = tokio::try_join!(
            store.count_findings_each(&active, &GROUPS).err_into::<EngineError>(),
            store.count_findings(&resolved, None).err_into(),
            store.count_resources(&rfilter, None).err_into(),
            store.count_resources(&rfilter, Some(ResourceGroup::Service)).err_into(),
            latest::<InventoryDrift>(store, DRIFT_INVENTORY_KEY),
            latest::<PolicyDrift>(store, DRIFT_POLICY_KEY),
            erroring_policies(store),
            self.suppressed_active(&suppressor),
        )?;
        let answered = each.len();
        let [mut by_score, mut top, mut by_service, mut by_account]: [Vec<(String, u64)>; 4] =
            each.try_into().map_err(|_| {
                StoreError::Backend(format!("the store answered {answered} finding counts for {} groups", GROUPS.len()))
            })?;
        // Suppressed findings are counted apart, not among the active ones.
        let mut suppressed_by_severity: BTreeMap<String, u64> =
            SeverityLabel::ALL.iter().map(|l| (l.to_string(), 0)).collect();
        for (f, _) in &suppressed {
            subtract(&mut by_score, &f.severity.value().to_string());
            subtract(&mut top, &f.policy);
            subtract(&mut by_service, f.service());
            subtract(&mut by_account, &f.account_id);
            *suppressed_by_severity.entry(f.severity.label().to_string()).or_default() += 1;
        }
        top.retain(|(_, n)| *n > 0);
        top.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        // Every finding has one severity: its counts add up to the total.
        let active_total = total(by_score.clone());
        let mut by_severity: BTreeMap<String, u64> = SeverityLabel::ALL.iter().map(|l| (l.to_string(), 0)).collect();
        for (score, n) in by_score {
            let label = score.parse::<i64>().ok().and_then(|s| qrie_model::Severity::new(s).ok()).map(|s| s.label());
            if let Some(label) = label {
                *by_severity.entry(label.to_string()).or_default() += n;
            }
        }
        top.truncate(TOP_POLICIES);
        Ok(Dashboard {
            computed_at: Some(Engine::now()),
            resources: total(resources),
            resources_by_service: resources_by_service.into_iter().collect(),
            accounts: accounts.iter().filter(|a| a.is_active()).count() as u64,
            unbaselined_accounts: accounts
                .iter()
                .filter(|a| a.is_active() && !a.is_baselined())
                .map(|a| a.account_id.clone())
                .collect(),
            findings: FindingsSummary {
                active: active_total,
                suppressed: suppressed.len() as u64,
                suppressed_by_severity,
                resolved: total(resolved),
                by_severity,
                by_service: by_service.into_iter().collect(),
                by_account: by_account.into_iter().collect(),
                top_policies: top,
            },
            last_inventory_scan,
            last_policy_scan,
            erroring_policies: erroring,
            suppressions_valid_until: suppressor.valid_until(),
        })
    }

    /// The last drift of each sweep kind, and up to `history` earlier ones.
    pub async fn drift(&self, history: usize) -> Result<DriftSummary, EngineError> {
        let store = &*self.store;
        let series = |name| store.list_history(name, 0, usize::MAX);
        let tail = |points: Vec<(i64, Value)>| -> Vec<Value> {
            let skip = points.len().saturating_sub(history);
            points.into_iter().skip(skip).map(|p| p.1).collect()
        };
        Ok(DriftSummary {
            last_inventory_scan: latest(store, DRIFT_INVENTORY_KEY).await?,
            last_policy_scan: latest(store, DRIFT_POLICY_KEY).await?,
            inventory_history: decode_all(tail(series(DRIFT_INVENTORY_SERIES).await?)),
            policy_history: decode_all(tail(series(DRIFT_POLICY_SERIES).await?)),
        })
    }
}

/// Takes one off the count of `key` in grouped counts.
fn subtract(rows: &mut [(String, u64)], key: &str) {
    if let Some(row) = rows.iter_mut().find(|r| r.0 == key) {
        row.1 = row.1.saturating_sub(1);
    }
}

fn total(rows: Vec<(String, u64)>) -> u64 {
    rows.into_iter().map(|r| r.1).sum()
}

fn decode_all<T: DeserializeOwned>(values: Vec<Value>) -> Vec<T> {
    values.into_iter().filter_map(|v| serde_json::from_value(v).ok()).collect()
}

async fn latest<T: DeserializeOwned>(store: &dyn Store, key: &str) -> Result<Option<T>, EngineError> {
    Ok(store.get_summary(key).await?.and_then(|e| serde_json::from_value(e.value).ok()))
}

/// Serves `key` from the cache when fresh; otherwise one caller recomputes under
/// the lock and the others get the stale copy (or, with none, compute it too).
pub async fn cached<T, F, Fut>(store: &dyn Store, key: &str, compute: F) -> Result<Cached<T>, EngineError>
where
    T: Serialize + DeserializeOwned,
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<T, EngineError>>,
{
    let now = Engine::now();
    // Read before the entry: an invalidation after this read makes whatever
    // is computed now stale.
    let current = generation(store).await?;
    let entry = store.get_summary(key).await?;
    let stamped = entry.as_ref().and_then(|e| serde_json::from_value::<Stamped<T>>(e.value.clone()).ok());
    let fresh = entry.as_ref().is_some_and(|e| e.expires_at.is_some_and(|x| x > now));
    let stale = match stamped {
        Some(s) if fresh && s.generation == current => return Ok(Cached { value: s.value, cached: true }),
        Some(s) => Some(s.value),
        None => None,
    };
    let holder = uuid::Uuid::new_v4().to_string();
    let lock = format!("lock:{key}");
    if !store.try_lock(&lock, &holder, now, now + Duration::seconds(LOCK_SECONDS)).await? {
        if let Some(value) = stale {
            return Ok(Cached { value, cached: true });
        }
        // Nothing to serve while another caller computes: compute without caching.
        return Ok(Cached { value: compute().await?, cached: false });
    }
    let result = compute().await;
    if let Ok(value) = &result {
        let stamped = Stamped { generation: current, value };
        let entry = SummaryEntry {
            key: key.to_string(),
            value: serde_json::to_value(&stamped).map_err(|e| EngineError::Conflict(e.to_string()))?,
            computed_at: now,
            expires_at: Some(now + Duration::minutes(CACHE_TTL_MINUTES)),
        };
        store.put_summary(entry).await?;
    }
    store.release_lock(&lock, &holder).await?;
    Ok(Cached { value: result?, cached: false })
}
