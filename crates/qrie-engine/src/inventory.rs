//! Inventory sweeps: list every (account, service, region), store what was
//! observed, infer deletions from complete listings only, evaluate what changed
//! hands, and — on anti-entropy sweeps — measure what the event path missed.

use futures::StreamExt;
use qrie_model::{
    comparable_hashes, finding_drift_totals, Account, InventoryDrift, InventoryDriftRow, Job, JobError, JobKind,
    PolicyDriftRow, Resource, ScanType, Service, Timestamp, Trigger,
};
use qrie_store::WriteOutcome;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use crate::commit::{commit, Evaluator};
use crate::evaluate::{evaluate_batch, load_active_policies, ActivePolicy, FindingIndex, RelatedCache, Tally};
use crate::jobs::{queued_job, JobReport, JobTracker, Progress, QueuedRun};
use crate::summary::{self, DRIFT_INVENTORY_KEY, DRIFT_INVENTORY_SERIES};
use crate::{CloudError, Engine, EngineError, Listing, SweepUnit};

/// Listings in flight at once. Each one is a different (account, service,
/// region), so this also spreads load across accounts.
const LIST_CONCURRENCY: usize = 4;

#[derive(Debug, Clone, Default)]
pub struct InventoryRequest {
    /// Empty: every active account.
    pub accounts: Vec<String>,
    /// Empty: every service.
    pub services: Vec<Service>,
    /// Empty: each account's regions.
    pub regions: Vec<String>,
    pub scan_type: ScanType,
    /// Changes AWS dates this close before a listing are not counted as
    /// missed (their events may still be on the way). `None`: [`DEFAULT_DRIFT_GRACE_MINUTES`].
    pub drift_grace: Option<chrono::Duration>,
}

/// The default drift grace window: CloudTrail delivers most events to
/// EventBridge within minutes.
pub const DEFAULT_DRIFT_GRACE_MINUTES: i64 = 10;

/// Counts of one sweep, per drift row key.
#[derive(Default)]
struct SweepState {
    policies: Vec<ActivePolicy>,
    accounts: HashMap<String, Account>,
    related: RelatedCache,
    index: FindingIndex,
    tally: Tally,
    drift: BTreeMap<(String, String, String), InventoryDriftRow>,
    incomplete_accounts: HashSet<String>,
    incomplete_units: u64,
    observed: u64,
    created: u64,
    updated: u64,
    deleted: u64,
    stale: u64,
    grace: chrono::Duration,
}

impl InventoryRequest {
    /// The scheduled weekly sweep: anti-entropy over everything.
    pub fn is_weekly(&self) -> bool {
        self.scan_type == ScanType::AntiEntropy
            && self.accounts.is_empty()
            && self.services.is_empty()
            && self.regions.is_empty()
    }
}

impl Engine {
    /// Runs an inventory sweep to the end and records it as a job.
    pub async fn inventory_sweep(
        &self,
        req: &InventoryRequest,
        progress: &dyn Progress,
    ) -> Result<JobReport, EngineError> {
        self.sweep_inventory(req, None, progress).await
    }

    /// Records an inventory sweep that another function will run (a Lambda
    /// API hands it to the inventory function): a `queued` job whose id the
    /// caller can answer with at once, lost unless started by `start_by`.
    /// The request is checked as a sweep would check it.
    pub async fn queue_inventory_sweep(
        &self,
        req: &InventoryRequest,
        start_by: Option<Timestamp>,
    ) -> Result<Job, EngineError> {
        let (_, _, target) = self.inventory_scope(req).await?;
        let job = Job { deadline: start_by, ..queued_job(JobKind::Inventory, req.scan_type, target, Engine::now()) };
        self.store.put_job(job.clone()).await?;
        Ok(job)
    }

    /// Runs the sweep queued as `job_id` under that id, lost unless it ends by
    /// `deadline`. A job no longer queued (delivered twice, run already, or
    /// failed as lost) is answered as it stands, unswept.
    pub async fn run_queued_inventory_sweep(
        &self,
        job_id: &str,
        req: &InventoryRequest,
        deadline: Option<Timestamp>,
        progress: &dyn Progress,
    ) -> Result<JobReport, EngineError> {
        match self.take_queued(job_id, JobKind::Inventory, deadline).await? {
            Ok(run) => self.sweep_inventory(req, Some(&run), progress).await,
            Err(as_it_stands) => Ok(as_it_stands),
        }
    }

    /// The accounts and services a request covers, and the job's target
    /// naming them; a bad region, or an unknown or removed account, is an error.
    async fn inventory_scope(
        &self,
        req: &InventoryRequest,
    ) -> Result<(Vec<Account>, Vec<Service>, Value), EngineError> {
        for r in &req.regions {
            qrie_model::validate_region(r)?;
        }
        let accounts = self.sweep_accounts(&req.accounts).await?;
        let services = if req.services.is_empty() { Service::ALL.to_vec() } else { req.services.clone() };
        let target = json!({
            "Accounts": accounts.iter().map(|a| &a.account_id).collect::<Vec<_>>(),
            "Services": services.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            "Regions": req.regions,
        });
        Ok((accounts, services, target))
    }

    async fn sweep_inventory(
        &self,
        req: &InventoryRequest,
        queued: Option<&QueuedRun>,
        progress: &dyn Progress,
    ) -> Result<JobReport, EngineError> {
        let now = Engine::now();
        // The weekly sweep (anti-entropy over every account, service and region)
        // of a deployment with an organization discovers its accounts first: new ones are swept now,
        // and flagged not baselined until this sweep lists them completely.
        // "With an organization": some account came from a discovery before
        // (`qrie accounts discover` opts in).
        let with_org = req.is_weekly()
            && self.store.list_accounts().await?.iter().any(|a| a.source == qrie_model::AccountSource::Organizations);
        let discovery = if with_org { Some(self.discover_accounts().await) } else { None };
        let (accounts, services, target) = self.inventory_scope(req).await?;
        let mut job =
            JobTracker::start(&*self.store, progress, queued, JobKind::Inventory, req.scan_type, target, now).await?;

        let discovered = match discovery {
            Some(Ok(Some(d))) => json!({
                "Added": d.added.iter().map(|a| &a.account_id).collect::<Vec<_>>(),
                "Updated": d.updated.iter().map(|a| &a.account_id).collect::<Vec<_>>(),
                "Unchanged": d.unchanged,
            }),
            Some(Err(e)) => {
                job.error(JobError {
                    account_id: None,
                    service: None,
                    region: None,
                    policy_id: None,
                    message: e.to_string(),
                });
                Value::Null
            }
            Some(Ok(None)) | None => Value::Null,
        };
        let (units, region_failures) = self.units(&accounts, &services, &req.regions).await;
        job.set_total(units.len() as u64, "units");
        let (policies, problems) = load_active_policies(&*self.store).await?;
        for p in problems {
            job.error(JobError { account_id: None, service: None, region: None, policy_id: None, message: p });
        }
        let mut st = SweepState {
            grace: req.drift_grace.unwrap_or_else(|| chrono::Duration::minutes(DEFAULT_DRIFT_GRACE_MINUTES)),
            index: self.preload_findings(&policies).await?,
            policies,
            accounts: self.store.list_accounts().await?.into_iter().map(|a| (a.account_id.clone(), a)).collect(),
            ..Default::default()
        };
        let unbaselined: Vec<String> =
            accounts.iter().filter(|a| !a.is_baselined()).map(|a| a.account_id.clone()).collect();
        let trigger = Trigger::job(req.scan_type.detected_by(), job.job.id.clone());

        // Owned accounts and units in the listing futures: a stream of
        // futures borrowing from the sweep is not provably Send to rustc
        // (higher-ranked closure lifetimes), and a sweep must be spawnable.
        let by_id: Arc<HashMap<String, Account>> =
            Arc::new(accounts.iter().map(|a| (a.account_id.clone(), a.clone())).collect());
        let cloud = Arc::clone(&self.cloud);
        let mut listings = futures::stream::iter(units.clone())
            .map(move |unit: SweepUnit| {
                let (by_id, cloud) = (Arc::clone(&by_id), Arc::clone(&cloud));
                async move {
                    let listed = cloud.list(&by_id[unit.account_id.as_str()], &unit).await;
                    (unit, listed)
                }
            })
            .buffer_unordered(LIST_CONCURRENCY);
        let mut failed_units = 0u64;
        for (account_id, e) in region_failures {
            failed_units += 1;
            st.incomplete_units += 1;
            st.incomplete_accounts.insert(account_id.clone());
            job.error(JobError {
                account_id: Some(account_id),
                service: None,
                region: None,
                policy_id: None,
                message: format!("its enabled regions could not be read, no regional service swept: {e}"),
            });
        }
        while let Some((unit, listed)) = listings.next().await {
            let unit = &unit;
            let unit_error = |message: String| JobError {
                account_id: Some(unit.account_id.clone()),
                service: Some(unit.service.to_string()),
                region: unit.region.clone(),
                policy_id: None,
                message,
            };
            match listed {
                Ok(listing) => {
                    for call in &listing.api_calls {
                        job.count(&format!("api_calls.{}", call.0), *call.1);
                    }
                    job.count("throttles", listing.throttles);
                    if !listing.complete {
                        let why = listing.errors.join("; ");
                        job.error(unit_error(format!("incomplete listing, nothing marked deleted: {why}")));
                    }
                    self.process_unit(&mut st, unit, listing, req.scan_type, &trigger).await?;
                }
                Err(e) => {
                    failed_units += 1;
                    st.incomplete_units += 1;
                    st.incomplete_accounts.insert(unit.account_id.clone());
                    job.error(unit_error(e.to_string()));
                }
            }
            job.advance(1, &unit.to_string()).await?;
        }
        drop(listings);

        // An account is baselined by its first sweep that listed all of it.
        let full_sweep = req.services.is_empty() && req.regions.is_empty();
        let mut baselined = Vec::new();
        for account in &accounts {
            if full_sweep && !account.is_baselined() && !st.incomplete_accounts.contains(&account.account_id) {
                // Only the baseline is set, on the account as stored now, and
                // only if it is still the account this sweep listed: not
                // removed, not removed and added again, not baselined by
                // another sweep.
                let set = self
                    .update_account(&account.account_id, |a| {
                        let same = a.is_active() && a.added_at == account.added_at && !a.is_baselined();
                        if same {
                            a.baselined_at = Some(Engine::now());
                        }
                        same
                    })
                    .await?;
                if set.is_some() {
                    baselined.push(account.account_id.clone());
                }
            }
        }

        for (name, n) in [
            ("resources.observed", st.observed),
            ("resources.created", st.created),
            ("resources.updated", st.updated),
            ("resources.deleted", st.deleted),
            ("resources.stale", st.stale),
            ("findings.opened", st.tally.total(|t| t.opened + t.reopened)),
            ("findings.resolved", st.tally.total(|t| t.resolved)),
            ("findings.errors", st.tally.total(|t| t.errors)),
            ("findings.conflicts", st.tally.total(|t| t.conflicts)),
            ("findings.fenced", st.tally.total(|t| t.fenced)),
        ] {
            job.count(name, n);
        }
        let drift = req.scan_type.records_drift().then(|| InventoryDrift {
            timestamp_ms: Engine::now().timestamp_millis(),
            job_id: job.job.id.clone(),
            rows: st.drift.values().cloned().collect(),
            findings: drift_rows(&st.tally),
            unbaselined_accounts: unbaselined.clone(),
            incomplete_units: st.incomplete_units,
        });
        if let Some(d) = &drift {
            summary::record_drift(&*self.store, DRIFT_INVENTORY_KEY, DRIFT_INVENTORY_SERIES, d.timestamp_ms, d).await?;
        }
        summary::invalidate(&*self.store).await?;
        let result = json!({
            "Units": units.len(),
            "IncompleteUnits": st.incomplete_units,
            "Resources": {
                "Observed": st.observed, "Created": st.created, "Updated": st.updated,
                "Deleted": st.deleted, "Stale": st.stale,
            },
            "Findings": st.tally.by_policy,
            "EvaluationErrors": st.tally.eval_errors.iter()
                .map(|(arn, p, why)| json!({"ARN": arn, "Policy": p, "Reason": why})).collect::<Vec<_>>(),
            "BaselinedAccounts": baselined,
            "Discovery": discovered,
            "Drift": drift,
            // Opens and resolves that time made (not missed by events).
            "TimeBased": drift.as_ref().map(|_| st.tally.total(|t| t.time_based)),
            "WithinGrace": drift.as_ref().map(|d| d.rows.iter().map(|r| r.within_grace).sum::<u64>()),
            "DriftTotals": drift.as_ref().map(|d| {
                let (c, del, u) = d.totals();
                let (o, r) = finding_drift_totals(&d.findings);
                json!({"MissedCreates": c, "MissedDeletes": del, "MissedUpdates": u, "MissedOpens": o, "MissedResolves": r})
            }),
        });
        job.finish(!units.is_empty() && failed_units == units.len() as u64, result).await
    }

    /// The accounts a sweep covers: the named ones (which must exist and be
    /// active), or every active account.
    pub(crate) async fn sweep_accounts(&self, ids: &[String]) -> Result<Vec<Account>, EngineError> {
        let all = self.store.list_accounts().await?;
        if ids.is_empty() {
            return Ok(all.into_iter().filter(Account::is_active).collect());
        }
        ids.iter()
            .map(|id| {
                qrie_model::validate_account_id(id)?;
                let a =
                    all.iter().find(|a| &a.account_id == id).ok_or_else(|| EngineError::UnknownAccount(id.clone()))?;
                if a.is_active() {
                    Ok(a.clone())
                } else {
                    Err(EngineError::AccountRemoved(id.clone()))
                }
            })
            .collect()
    }

    /// The units of a sweep, and the accounts whose enabled regions could
    /// not be read (their regional units are not planned; the account is
    /// incomplete). An account's own regions restrict; otherwise every region
    /// enabled for it, read now; `regions` filters either.
    async fn units(
        &self,
        accounts: &[Account],
        services: &[Service],
        regions: &[String],
    ) -> (Vec<SweepUnit>, Vec<(String, CloudError)>) {
        let regional = services.iter().any(|s| !s.is_global());
        let mut units = Vec::new();
        let mut failed = Vec::new();
        for account in accounts {
            let account_regions = if account.regions.is_empty() && regional {
                match self.cloud.enabled_regions(account).await {
                    Ok(r) => {
                        if r != account.enabled_regions {
                            // What `accounts list` shows as the regions swept.
                            let record = self.update_account(&account.account_id, |a| {
                                a.enabled_regions = r.clone();
                                a.is_active()
                            });
                            if let Err(e) = record.await {
                                tracing::warn!(account = %account.account_id, "enabled regions not recorded: {e}");
                            }
                        }
                        r
                    }
                    Err(e) => {
                        failed.push((account.account_id.clone(), e));
                        Vec::new()
                    }
                }
            } else {
                account.regions.clone()
            };
            for &service in services {
                if service.is_global() {
                    units.push(SweepUnit { account_id: account.account_id.clone(), service, region: None });
                    continue;
                }
                for region in account_regions.iter().filter(|r| regions.is_empty() || regions.contains(r)) {
                    units.push(SweepUnit {
                        account_id: account.account_id.clone(),
                        service,
                        region: Some(region.clone()),
                    });
                }
            }
        }
        (units, failed)
    }

    pub(crate) async fn preload_findings(&self, policies: &[ActivePolicy]) -> Result<FindingIndex, EngineError> {
        let mut index = FindingIndex::new();
        for p in policies {
            for f in self.store.findings_for_policy(p.id(), None).await? {
                index.insert((f.arn.clone(), f.policy.clone()), f);
            }
        }
        Ok(index)
    }

    async fn process_unit(
        &self,
        st: &mut SweepState,
        unit: &SweepUnit,
        listing: Listing,
        scan_type: ScanType,
        trigger: &Trigger,
    ) -> Result<(), EngineError> {
        let baselined = st.accounts.get(&unit.account_id).is_some_and(Account::is_baselined);
        let measure = scan_type.records_drift() && baselined;
        if !listing.complete {
            st.incomplete_units += 1;
            st.incomplete_accounts.insert(unit.account_id.clone());
        }
        // What AWS still lists after it ended (a terminated instance, for
        // about an hour) is gone: not stored as present, marked deleted if it was.
        let mut listing = listing;
        listing.resources.retain(|r| !qrie_model::has_ended(r));
        let stored = self.store.resource_digests(&unit.account_id, unit.service, unit.region.as_deref()).await?;
        let live: HashMap<&str, &qrie_store::ResourceDigest> =
            stored.iter().filter(|d| !d.deleted).map(|d| (d.arn.as_str(), d)).collect();

        // What changed compared with the inventory, decided before writing.
        let listed_arns: HashSet<&str> = listing.resources.iter().map(|r| r.arn.as_str()).collect();
        let kinds: Vec<Change> = listing
            .resources
            .iter()
            .map(|r| match live.get(r.arn.as_str()) {
                None => Change::Created,
                // A hash of an older scheme says nothing about a change.
                Some(d) if d.config_hash != r.config_hash && comparable_hashes(&d.config_hash, &r.config_hash) => {
                    Change::Updated
                }
                Some(_) => Change::Same,
            })
            .collect();
        let gone: Vec<(String, String)> = if listing.complete {
            live.values()
                .filter(|d| !listed_arns.contains(d.arn.as_str()))
                .map(|d| (d.arn.clone(), d.region.clone()))
                .collect()
        } else {
            Vec::new()
        };

        let outcomes = self.store.put_resources(listing.resources.clone()).await?;
        let mut written: Vec<Resource> = Vec::new();
        for ((resource, outcome), kind) in listing.resources.into_iter().zip(outcomes).zip(kinds) {
            st.observed += 1;
            if outcome != WriteOutcome::Written {
                // An event observed something newer; it is not a miss.
                st.stale += 1;
                continue;
            }
            match kind {
                Change::Created => st.created += 1,
                Change::Updated => st.updated += 1,
                Change::Same => {}
            }
            if measure {
                // Every unit of a baselined account gets a row, zeros included:
                // "checked, nothing missed" is a result too.
                let row = drift_row(&mut st.drift, unit, &resource.region);
                // A change AWS dates within the grace window before the
                // listing may have its event still on the way: not a miss.
                let in_flight = qrie_model::changed_at(&resource)
                    .is_some_and(|at| at > listing.observed_at - st.grace && !matches!(kind, Change::Same));
                match kind {
                    _ if in_flight => row.within_grace += 1,
                    Change::Created => row.missed_creates += 1,
                    Change::Updated => row.missed_updates += 1,
                    Change::Same => {}
                }
            }
            st.related.invalidate(&resource.arn);
            written.push(resource);
        }

        let gone_arns: Vec<String> = gone.iter().map(|g| g.0.clone()).collect();
        let outcomes = self.store.mark_deleted(&unit.account_id, gone_arns.clone(), listing.observed_at).await?;
        let mut deleted_arns = Vec::new();
        for ((arn, region), outcome) in gone.into_iter().zip(outcomes) {
            if outcome == WriteOutcome::Written {
                st.deleted += 1;
                if measure {
                    drift_row(&mut st.drift, unit, &region).missed_deletes += 1;
                }
                st.related.invalidate(&arn);
                deleted_arns.push(arn);
            }
        }
        if !deleted_arns.is_empty() {
            written.extend(self.store.get_resources(deleted_arns).await?);
        }

        let policies: Vec<&ActivePolicy> = st.policies.iter().collect();
        for chunk in written.chunks(1000) {
            st.related.prefetch(&*self.store, &policies, chunk).await?;
            let decisions =
                evaluate_batch(chunk, &policies, &st.accounts, &st.related, &st.index, Engine::now(), &mut st.tally);
            let evaluator = Evaluator { policies: &policies, accounts: &st.accounts };
            commit(&*self.store, decisions, &mut st.index, trigger, Some(&evaluator), &mut st.tally).await?;
        }
        Ok(())
    }
}

#[derive(Clone, Copy)]
enum Change {
    Created,
    Updated,
    Same,
}

fn drift_row<'a>(
    rows: &'a mut BTreeMap<(String, String, String), InventoryDriftRow>,
    unit: &SweepUnit,
    region: &str,
) -> &'a mut InventoryDriftRow {
    let key = (unit.account_id.clone(), unit.service.to_string(), region.to_string());
    rows.entry(key).or_insert_with(|| InventoryDriftRow {
        account_id: unit.account_id.clone(),
        service: unit.service.to_string(),
        region: region.to_string(),
        ..Default::default()
    })
}

/// Findings opened or resolved in baselined accounts, per policy (rows with
/// nothing to report are left out).
pub(crate) fn drift_rows(tally: &Tally) -> Vec<PolicyDriftRow> {
    tally
        .by_policy
        .iter()
        .filter(|(_, t)| t.drift_opens + t.drift_resolves + t.time_based > 0)
        .map(|(p, t)| PolicyDriftRow {
            policy_id: p.clone(),
            missed_opens: t.drift_opens,
            missed_resolves: t.drift_resolves,
            time_based: t.time_based,
        })
        .collect()
}
