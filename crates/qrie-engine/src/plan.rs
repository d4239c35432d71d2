//! A sweep's plan in the store (DESIGN.md §9): a context document and one
//! versioned entry per unit. Whoever works on a unit claims it, and records
//! its outcome, conditionally on the version it read, so a unit is run by one
//! worker at a time and its result recorded once; the count of finished units
//! is an atomic counter, so exactly one worker sees the last one finish.

use chrono::TimeDelta;
use qrie_model::{InventoryDriftRow, JobError, Lease, PlanUnit, ScanType, Service, Timestamp, UnitState};
use qrie_store::Store;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

use crate::evaluate::Tally;
use crate::{Engine, EngineError, SweepUnit};

/// Plan contexts, by job id; and the counters of finished units.
const PLANS: &str = "#plans";
/// A unit is given up on (failed) when taken this many times without ending.
pub(crate) const MAX_ATTEMPTS: u32 = 3;
/// How long a unit's claim holds: longer than any one unit's work (a Lambda
/// invocation's 15 minutes). A local resume need not wait for it: it knows
/// the run that held the claim stopped.
pub(crate) const UNIT_LEASE: TimeDelta = TimeDelta::minutes(16);

fn units_namespace(job_id: &str) -> String {
    format!("#plan/{job_id}")
}

/// What a sweep was asked and what it knew when it planned; written after
/// its units, so a plan with a context is complete.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct PlanContext {
    pub job_id: String,
    pub scan_type: ScanType,
    /// The sweep covered every service and region of its accounts: it may baseline them.
    pub full_sweep: bool,
    pub drift_grace_seconds: i64,
    /// Swept accounts not yet baselined when planned, with when each was added:
    /// an account removed and added again meanwhile is not the one swept.
    pub unbaselined: Vec<(String, Timestamp)>,
    pub units: u64,
    /// Errors found while planning (discovery, policies that could not load).
    pub errors: Vec<JobError>,
    pub discovery: Value,
    /// When finalisation first dated the drift record: a finalisation run
    /// again (after it stopped) makes the same record, under the same time,
    /// from the same units, and records it once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift_at_ms: Option<i64>,
    /// A policy sweep of one policy (a launch's bootstrap); `None`: every
    /// active policy, or an inventory sweep.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_id: Option<String>,
    /// Swept accounts whose resources' references were not all indexed when
    /// planned: their units index every resource they list, not only what
    /// changed (see `references`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unindexed: Vec<String>,
}

/// What a worker did with one unit: recorded with the unit's end.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct UnitResult {
    /// `resources.*`, `api_calls.*`, `throttles`.
    pub counts: BTreeMap<String, u64>,
    pub drift: Vec<InventoryDriftRow>,
    pub tally: Tally,
    pub errors: Vec<JobError>,
}

impl UnitResult {
    pub fn count(&mut self, name: &str, n: u64) {
        if n > 0 {
            *self.counts.entry(name.to_string()).or_default() += n;
        }
    }

    pub fn drift_row(&mut self, unit: &SweepUnit, region: &str) -> &mut InventoryDriftRow {
        let i = match self.drift.iter().position(|r| r.region == region) {
            Some(i) => i,
            None => {
                self.drift.push(InventoryDriftRow {
                    account_id: unit.account_id.clone(),
                    service: unit.service.to_string(),
                    region: region.to_string(),
                    ..Default::default()
                });
                self.drift.len() - 1
            }
        };
        &mut self.drift[i]
    }
}

/// The units of a plan, merged: what finalisation reports.
#[derive(Debug, Default)]
pub(crate) struct Merged {
    pub counts: BTreeMap<String, u64>,
    pub drift: BTreeMap<(String, String, String), InventoryDriftRow>,
    pub tally: Tally,
    pub errors: Vec<JobError>,
    pub finished: u64,
    pub failed: u64,
    pub incomplete: u64,
    /// Accounts some unit of which did not end done.
    pub incomplete_accounts: BTreeSet<String>,
}

impl Merged {
    /// Adds what a finished unit did (an unfinished one did nothing yet).
    fn add(&mut self, unit: PlanUnit) -> Result<(), EngineError> {
        if !unit.state.is_finished() {
            return Ok(());
        }
        self.finished += 1;
        match unit.state {
            UnitState::Failed => self.failed += 1,
            UnitState::Incomplete => self.incomplete += 1,
            _ => {}
        }
        if unit.state != UnitState::Done {
            self.incomplete_accounts.insert(unit.account_id.clone());
        }
        if unit.result.is_null() {
            return Ok(());
        }
        let key = unit.key();
        let r: UnitResult = serde_json::from_value(unit.result)
            .map_err(|e| EngineError::Conflict(format!("unit {key} has an unreadable result: {e}")))?;
        for (k, v) in r.counts {
            *self.counts.entry(k).or_default() += v;
        }
        for row in r.drift {
            let key = (row.account_id.clone(), row.service.clone(), row.region.clone());
            let into = self.drift.entry(key).or_insert_with(|| InventoryDriftRow {
                account_id: row.account_id.clone(),
                service: row.service.clone(),
                region: row.region.clone(),
                ..Default::default()
            });
            into.missed_creates += row.missed_creates;
            into.missed_deletes += row.missed_deletes;
            into.missed_updates += row.missed_updates;
            into.within_grace += row.within_grace;
        }
        self.tally.merge(r.tally);
        self.errors.extend(r.errors);
        Ok(())
    }
}

/// A plan read a page at a time: what its finished units did, merged, and
/// its unfinished units with their versions. Never holds every unit's
/// result at once, so finalising a sweep of thousands of units takes the
/// memory of one page of them.
pub(crate) struct Survey {
    pub merged: Merged,
    pub unfinished: Vec<(PlanUnit, u64)>,
}

/// Where a run of a plan starts (the first or a resume): the job shows what
/// the finished units did and counts them done of `context.units` (`what`
/// they are), and the finished-units counter agrees with the plan (a run
/// may have stopped between ending a unit and counting it).
pub(crate) async fn start_run(
    store: &dyn Store,
    job: &mut crate::jobs::JobTracker<'_>,
    context: &PlanContext,
    what: &str,
) -> Result<Survey, EngineError> {
    let survey = survey(store, &context.job_id).await?;
    let so_far = &survey.merged;
    job.update(|j| {
        j.counts = so_far.counts.clone();
        j.errors = context.errors.iter().chain(&so_far.errors).cloned().collect();
        j.progress_done = 0;
    });
    job.set_total(context.units, what);
    job.advance(so_far.finished, "units").await?;
    recount_finished(store, &context.job_id, so_far.finished).await?;
    Ok(survey)
}

/// Units read per page by [`survey`].
const SURVEY_PAGE: usize = 200;

pub(crate) async fn survey(store: &dyn Store, job_id: &str) -> Result<Survey, EngineError> {
    let namespace = units_namespace(job_id);
    let mut survey = Survey { merged: Merged::default(), unfinished: Vec::new() };
    let mut after: Option<String> = None;
    loop {
        let page = store.kv_page_versioned(&namespace, after.as_deref(), SURVEY_PAGE).await?;
        let Some((last, _, _)) = page.last() else { break };
        after = Some(last.clone());
        for (key, doc, version) in page {
            let unit: PlanUnit = serde_json::from_value(doc)
                .map_err(|e| EngineError::Conflict(format!("unit {key} of job {job_id} is unreadable: {e}")))?;
            if unit.state.is_finished() {
                survey.merged.add(unit)?;
            } else {
                survey.unfinished.push((unit, version));
            }
        }
    }
    Ok(survey)
}

/// Writes a plan: its units, then its context (which makes it complete).
pub(crate) async fn write(store: &dyn Store, context: &PlanContext, units: &[PlanUnit]) -> Result<(), EngineError> {
    let ns = units_namespace(&context.job_id);
    for chunk in units.chunks(500) {
        let entries = chunk.iter().map(|u| Ok((u.key(), to_value(u)?))).collect::<Result<Vec<_>, EngineError>>()?;
        store.kv_put_many(&ns, entries).await?;
    }
    store.kv_put_if(PLANS, &context.job_id, to_value(context)?, None).await?;
    Ok(())
}

/// The plan's context and its version, if the job has a complete plan.
pub(crate) async fn context(store: &dyn Store, job_id: &str) -> Result<Option<(PlanContext, u64)>, EngineError> {
    let Some((doc, version)) = store.kv_get_versioned(PLANS, job_id).await? else { return Ok(None) };
    let context = serde_json::from_value(doc)
        .map_err(|e| EngineError::Conflict(format!("the plan of job {job_id} is unreadable: {e}")))?;
    Ok(Some((context, version)))
}

/// The time of the plan's drift record: the one dated first, else `now_ms`.
pub(crate) async fn drift_time(store: &dyn Store, job_id: &str, now_ms: i64) -> Result<i64, EngineError> {
    loop {
        let (mut context, version) =
            context(store, job_id).await?.ok_or_else(|| EngineError::Conflict(format!("job {job_id} has no plan")))?;
        if let Some(at) = context.drift_at_ms {
            return Ok(at);
        }
        context.drift_at_ms = Some(now_ms);
        if store.kv_put_if(PLANS, job_id, to_value(&context)?, Some(version)).await? {
            return Ok(now_ms);
        }
    }
}

/// Every unit of the plan with its version.
/// Whether a worker may take the unit now: queued, or running under a claim
/// that ran out or that names a run known to have stopped.
pub(crate) fn takeable(unit: &PlanUnit, now: Timestamp, stopped_owner: Option<&str>) -> bool {
    match unit.state {
        UnitState::Queued => true,
        UnitState::Running => {
            unit.lease.as_ref().is_none_or(|l| l.expired(now) || stopped_owner.is_some_and(|o| o == l.owner))
        }
        _ => false,
    }
}

/// One unit of the plan by its key, with its version.
pub(crate) async fn unit(store: &dyn Store, job_id: &str, key: &str) -> Result<Option<(PlanUnit, u64)>, EngineError> {
    let Some((doc, version)) = store.kv_get_versioned(&units_namespace(job_id), key).await? else {
        return Ok(None);
    };
    let unit = serde_json::from_value(doc)
        .map_err(|e| EngineError::Conflict(format!("unit {key} of job {job_id} is unreadable: {e}")))?;
    Ok(Some((unit, version)))
}

/// Claims the unit for `owner` until `until` (`None`: [`UNIT_LEASE`] from
/// now; a Lambda worker's claim ends with its invocation) if it is still at
/// `version`: the claimed unit and its new version, or `None` if another
/// worker changed it first.
pub(crate) async fn claim(
    store: &dyn Store,
    job_id: &str,
    unit: &PlanUnit,
    version: u64,
    owner: &str,
    until: Option<Timestamp>,
) -> Result<Option<(PlanUnit, u64)>, EngineError> {
    let claimed = PlanUnit {
        state: UnitState::Running,
        attempts: unit.attempts + 1,
        lease: Some(Lease { owner: owner.to_string(), until: until.unwrap_or_else(|| Engine::now() + UNIT_LEASE) }),
        ..unit.clone()
    };
    let written = store.kv_put_if(&units_namespace(job_id), &unit.key(), to_value(&claimed)?, Some(version)).await?;
    Ok(written.then_some((claimed, version + 1)))
}

/// Records the unit's end if this worker's claim (at `version`) still holds;
/// whether it did. A claim another worker took over since is theirs to end.
pub(crate) async fn end(
    store: &dyn Store,
    job_id: &str,
    unit: &PlanUnit,
    version: u64,
    state: UnitState,
    reason: Option<String>,
    result: &UnitResult,
) -> Result<bool, EngineError> {
    let ended = PlanUnit { state, lease: None, reason, result: to_value(result)?, ..unit.clone() };
    Ok(store.kv_put_if(&units_namespace(job_id), &unit.key(), to_value(&ended)?, Some(version)).await?)
}

/// Gives a claimed unit back to be taken again (by the next delivery of its
/// message), with why this attempt did not end it; whether the claim still held.
pub(crate) async fn release(
    store: &dyn Store,
    job_id: &str,
    unit: &PlanUnit,
    version: u64,
    reason: String,
) -> Result<bool, EngineError> {
    let released = PlanUnit { state: UnitState::Queued, lease: None, reason: Some(reason), ..unit.clone() };
    Ok(store.kv_put_if(&units_namespace(job_id), &unit.key(), to_value(&released)?, Some(version)).await?)
}

/// Counts one more finished unit; answers how many are finished now. Of
/// concurrent workers each sees a different number, so one sees the last.
pub(crate) async fn count_finished(store: &dyn Store, job_id: &str) -> Result<u64, EngineError> {
    Ok(store.counter_add(PLANS, job_id, 1).await?.max(0) as u64)
}

/// How many units are counted finished. (Adding nothing reads the one
/// counter, where listing the namespace's would read one per sweep ever run.)
pub(crate) async fn finished(store: &dyn Store, job_id: &str) -> Result<u64, EngineError> {
    Ok(store.counter_add(PLANS, job_id, 0).await?.max(0) as u64)
}

/// Sets the count of finished units to what the plan says (a resume: a run
/// that stopped between ending a unit and counting it).
pub(crate) async fn recount_finished(store: &dyn Store, job_id: &str, finished: u64) -> Result<(), EngineError> {
    let counted = self::finished(store, job_id).await? as i64;
    if counted != finished as i64 {
        store.counter_add(PLANS, job_id, finished as i64 - counted).await?;
    }
    Ok(())
}

/// Drops the units of a finished plan (its job holds what they did); the
/// context stays, small, with the drift it recorded.
pub(crate) async fn drop_units(store: &dyn Store, job_id: &str) -> Result<(), EngineError> {
    store.kv_clear(&units_namespace(job_id)).await?;
    Ok(())
}

/// The unit a sweep unit is planned as.
pub(crate) fn planned(unit: &SweepUnit) -> PlanUnit {
    PlanUnit::queued(&unit.account_id, unit.service, unit.region.as_deref())
}

pub(crate) fn sweep_unit(unit: &PlanUnit) -> SweepUnit {
    SweepUnit { account_id: unit.account_id.clone(), service: unit.service, region: unit.region.clone() }
}

/// A unit that failed before any worker took it (its account's regions
/// could not be read).
pub(crate) fn failed_at_planning(account_id: &str, service: Service, reason: String) -> PlanUnit {
    PlanUnit { state: UnitState::Failed, reason: Some(reason), ..PlanUnit::queued(account_id, service, None) }
}

fn to_value<T: Serialize>(v: &T) -> Result<Value, EngineError> {
    serde_json::to_value(v).map_err(|e| EngineError::Conflict(format!("a plan entry could not be written: {e}")))
}
