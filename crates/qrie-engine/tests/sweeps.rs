//! Sweeps against a scripted cloud over a real SQLite store: observation order,
//! incomplete listings, failing units, deletions and unreadable data.

use async_trait::async_trait;
use chrono::{Duration, Utc};
use qrie_engine::accounts::NewAccount;
use qrie_engine::policies::LaunchOptions;
use qrie_engine::sim::generate as g;
use qrie_engine::{Cloud, CloudError, Described, Engine, InventoryRequest, Listing, NoProgress, SweepUnit};
use qrie_model::{
    Account, AccountSource, FindingState, JobStatus, ResolvedReason, Resource, ScanType, Service, Timestamp,
};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

const A: &str = "111111111111";
const B: &str = "222222222222";

/// A cloud whose listings the test sets per (account, service).
#[derive(Default)]
struct Scripted {
    listings: Mutex<HashMap<(String, Service), Result<Listing, CloudError>>>,
}

impl Scripted {
    fn set(&self, account: &str, service: Service, resources: Vec<Resource>, complete: bool, observed_at: Timestamp) {
        let listing =
            Listing { resources, complete, observed_at, errors: vec!["page 2 throttled".into()], ..Default::default() };
        self.listings.lock().unwrap().insert((account.into(), service), Ok(listing));
    }

    fn fail(&self, account: &str, service: Service) {
        self.listings
            .lock()
            .unwrap()
            .insert((account.into(), service), Err(CloudError::AccessDenied("no role".into())));
    }
}

#[async_trait]
impl Cloud for Scripted {
    async fn enabled_regions(&self, _: &Account) -> Result<Vec<String>, CloudError> {
        Ok(vec!["us-east-1".into()])
    }

    async fn list(&self, account: &Account, unit: &SweepUnit) -> Result<Listing, CloudError> {
        let l = self.listings.lock().unwrap();
        match l.get(&(account.account_id.clone(), unit.service)) {
            Some(Ok(listing)) => Ok(listing.clone()),
            Some(Err(e)) => Err(e.clone()),
            None => Ok(Listing { complete: true, observed_at: Utc::now(), ..Default::default() }),
        }
    }

    async fn describe(&self, _: &Account, _: &str) -> Result<Described, CloudError> {
        Ok(Described::Gone { observed_at: Utc::now() })
    }
}

struct Fixture {
    _dir: tempfile::TempDir,
    engine: Engine,
    cloud: Arc<Scripted>,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = qrie_store::open(&format!("sqlite:{}", dir.path().join("t.db").display())).unwrap();
    let cloud = Arc::new(Scripted::default());
    let engine = Engine::new(store, cloud.clone());
    for id in [A, B] {
        engine
            .add_account(NewAccount {
                account_id: id.into(),
                name: None,
                role_arn: None,
                external_id: None,
                regions: vec!["us-east-1".into()],
                org_path: vec![],
                source: AccountSource::Manual,
            })
            .await
            .unwrap();
    }
    engine.launch_policy("ec2-ebs-volume-unencrypted", LaunchOptions::default(), &NoProgress).await.unwrap();
    Fixture { _dir: dir, engine, cloud }
}

fn vol(account: &str, id: &str, encrypted: bool, at: Timestamp) -> Resource {
    g::volume(account, "us-east-1", id, encrypted, None, at - Duration::days(3), at)
}

async fn sweep(f: &Fixture, scan_type: ScanType) -> qrie_engine::JobReport {
    let req = InventoryRequest { services: vec![Service::Ec2], scan_type, ..Default::default() };
    f.engine.inventory_sweep(&req, &NoProgress).await.unwrap()
}

async fn finding_state(f: &Fixture, arn: &str) -> Option<(FindingState, Option<ResolvedReason>)> {
    let found = f.engine.store.get_finding(arn, "ec2-ebs-volume-unencrypted").await.unwrap();
    found.map(|x| (x.state, x.resolved_reason))
}

/// An unencrypted volume listed (ten minutes ago) by a bootstrap sweep, its finding open.
async fn with_open_finding() -> (Fixture, Resource, Timestamp) {
    let f = fixture().await;
    let t0 = Utc::now() - Duration::minutes(10);
    let v = vol(A, "vol-1", false, t0);
    f.cloud.set(A, Service::Ec2, vec![v.clone()], true, t0);
    sweep(&f, ScanType::Bootstrap).await;
    assert_eq!(finding_state(&f, &v.arn).await, Some((FindingState::Active, None)));
    (f, v, t0)
}

#[tokio::test]
async fn a_deleted_resource_resolves_and_an_older_listing_does_not_resurrect_it() {
    let (f, v, t0) = with_open_finding().await;

    // Seen gone at t2 (as an event would).
    let t2 = t0 + Duration::minutes(5);
    f.cloud.set(A, Service::Ec2, vec![], true, t2);
    let r = sweep(&f, ScanType::Bootstrap).await;
    assert_eq!(r.result["Resources"]["Deleted"], 1);
    assert_eq!(finding_state(&f, &v.arn).await, Some((FindingState::Resolved, Some(ResolvedReason::ResourceDeleted))));

    // A slow sweep that listed it at t1 < t2 reports late: refused, still deleted.
    let t1 = t0 + Duration::minutes(2);
    let mut old = v.clone();
    old.last_seen_at = t1;
    f.cloud.set(A, Service::Ec2, vec![old], true, t1);
    let r = sweep(&f, ScanType::Bootstrap).await;
    assert_eq!(r.result["Resources"]["Stale"], 1);
    assert!(f.engine.store.get_resource(&v.arn).await.unwrap().unwrap().is_deleted());
    assert_eq!(finding_state(&f, &v.arn).await.unwrap().0, FindingState::Resolved);
}

/// A sweep stopped after it marked a resource deleted and before it resolved
/// the resource's finding (here: the deletion written directly) leaves the
/// finding open; the next sweep does not see the deletion again, and still
/// settles it.
#[tokio::test]
async fn a_deletion_stored_without_its_finding_resolved_is_settled_by_the_next_sweep() {
    let (f, v, t0) = with_open_finding().await;

    let t1 = t0 + Duration::minutes(5);
    f.engine.store.mark_deleted(A, vec![v.arn.clone()], t1).await.unwrap();
    f.cloud.set(A, Service::Ec2, vec![], true, t1 + Duration::minutes(1));
    let r = sweep(&f, ScanType::AntiEntropy).await;
    assert_eq!(r.result["Resources"]["Deleted"], 0, "{}", r.result);
    assert_eq!(finding_state(&f, &v.arn).await, Some((FindingState::Resolved, Some(ResolvedReason::ResourceDeleted))));
}

#[tokio::test]
async fn an_incomplete_listing_deletes_nothing_and_a_failing_account_stops_nothing() {
    let f = fixture().await;
    let t0 = Utc::now();
    let (v1, v2) = (vol(A, "vol-1", false, t0), vol(A, "vol-2", false, t0));
    f.cloud.set(A, Service::Ec2, vec![v1.clone(), v2.clone()], true, t0);
    f.cloud.set(B, Service::Ec2, vec![vol(B, "vol-3", false, t0)], true, t0);
    sweep(&f, ScanType::Bootstrap).await;

    let t1 = t0 + Duration::seconds(1);
    f.cloud.set(A, Service::Ec2, vec![vol(A, "vol-1", false, t1)], false, t1);
    f.cloud.fail(B, Service::Ec2);
    let r = sweep(&f, ScanType::AntiEntropy).await;
    assert_eq!(r.job.status, JobStatus::Partial);
    assert_eq!(r.result["Resources"]["Deleted"], 0, "an incomplete listing infers no deletion");
    assert!(!f.engine.store.get_resource(&v2.arn).await.unwrap().unwrap().is_deleted());
    assert_eq!(finding_state(&f, &v2.arn).await.unwrap().0, FindingState::Active);
    let errors: Vec<_> = r.job.errors.iter().map(|e| (e.account_id.clone().unwrap(), e.message.clone())).collect();
    assert!(errors.iter().any(|(a, m)| a == A && m.contains("incomplete")), "{errors:?}");
    assert!(errors.iter().any(|(a, m)| a == B && m.contains("access denied")), "{errors:?}");
}

#[tokio::test]
async fn unreadable_data_never_passes() {
    let f = fixture().await;
    let t0 = Utc::now();
    let v = vol(A, "vol-1", false, t0);
    f.cloud.set(A, Service::Ec2, vec![v.clone()], true, t0);
    sweep(&f, ScanType::Bootstrap).await;

    // The volume is fixed, but this time its description could not be read.
    let mut unreadable = vol(A, "vol-1", true, t0 + Duration::seconds(1));
    unreadable.configuration = serde_json::json!({});
    unreadable.collection_errors = BTreeMap::from([("Volume".to_string(), "AccessDenied".to_string())]);
    unreadable.rehash();
    f.cloud.set(A, Service::Ec2, vec![unreadable], true, t0 + Duration::seconds(1));
    let r = sweep(&f, ScanType::Bootstrap).await;
    assert_eq!(finding_state(&f, &v.arn).await.unwrap().0, FindingState::Active, "Error changes nothing");
    assert_eq!(r.result["Findings"]["ec2-ebs-volume-unencrypted"]["Errors"], 1);
    assert!(r.result["EvaluationErrors"][0]["Reason"].as_str().unwrap().contains("AccessDenied"));

    // The job says so: partial, with the policy's errors counted and an example.
    let stored = f.engine.store.get_job(&r.job.id).await.unwrap().unwrap();
    for job in [&r.job, &stored] {
        assert_eq!(job.status, JobStatus::Partial, "a sweep whose evaluations errored did not succeed");
        let e = job.errors.iter().find(|e| e.policy_id.as_deref() == Some("ec2-ebs-volume-unencrypted")).unwrap();
        assert_eq!((e.arn.as_deref(), e.count), (Some(v.arn.as_str()), Some(1)));
        assert!(e.message.contains("AccessDenied"), "{}", e.message);
    }
    // A policy sweep over the stored state reports it the same way.
    let swept = f.engine.policy_sweep(&qrie_engine::PolicySweepRequest::default(), &NoProgress).await.unwrap();
    assert_eq!(swept.job.status, JobStatus::Partial);
    assert!(swept.job.errors.iter().any(|e| e.arn.as_deref() == Some(v.arn.as_str()) && e.count == Some(1)));
}

#[tokio::test]
async fn a_launched_policy_with_parameters_its_rule_refuses_is_a_job_error_not_silence() {
    let f = fixture().await;
    let t0 = Utc::now();
    f.cloud.set(A, Service::Ec2, vec![vol(A, "vol-1", false, t0)], true, t0);
    // Launching refuses the value...
    let bad = BTreeMap::from([("max_age_days".to_string(), serde_json::json!(-5))]);
    let refused = f
        .engine
        .launch_policy(
            "iam-user-access-key-too-old",
            LaunchOptions { params: bad.clone(), ..Default::default() },
            &NoProgress,
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(refused.contains("max_age_days") && refused.contains("1 to 3650"), "{refused}");
    // ...and one stored before the rule existed (or written around it) is reported by every sweep.
    let mut launched = f.engine.store.get_policy("ec2-ebs-volume-unencrypted").await.unwrap().unwrap();
    let read_at = launched.generation;
    launched.params = BTreeMap::from([("nonsense".to_string(), serde_json::json!(1))]);
    launched.generation += 1;
    assert!(f.engine.store.put_policy(launched, Some(read_at)).await.unwrap());
    let r = sweep(&f, ScanType::Bootstrap).await;
    assert_eq!(r.job.status, JobStatus::Partial);
    assert!(r.job.errors.iter().any(|e| e.message.contains("nonsense")), "{:?}", r.job.errors);
}

#[tokio::test]
async fn drift_counts_only_baselined_accounts_and_anti_entropy_sweeps() {
    let f = fixture().await;
    let t0 = Utc::now();
    f.cloud.set(A, Service::Ec2, vec![vol(A, "vol-1", true, t0)], true, t0);
    // Services restricted: not a full sweep, so no baseline yet.
    let r = sweep(&f, ScanType::AntiEntropy).await;
    assert!(r.result["BaselinedAccounts"].as_array().unwrap().is_empty());
    assert_eq!(r.result["Drift"]["UnbaselinedAccounts"].as_array().unwrap().len(), 2);

    let full = InventoryRequest { scan_type: ScanType::Bootstrap, ..Default::default() };
    let r = f.engine.inventory_sweep(&full, &NoProgress).await.unwrap();
    assert!(r.result["Drift"].is_null(), "bootstrap records no drift");
    assert_eq!(r.result["BaselinedAccounts"].as_array().unwrap().len(), 2);

    let t1 = t0 + Duration::seconds(1);
    f.cloud.set(A, Service::Ec2, vec![vol(A, "vol-1", false, t1), vol(A, "vol-9", true, t1)], true, t1);
    let r = sweep(&f, ScanType::AntiEntropy).await;
    let t = &r.result["DriftTotals"];
    assert_eq!(
        (t["MissedCreates"].as_u64(), t["MissedUpdates"].as_u64(), t["MissedOpens"].as_u64()),
        (Some(1), Some(1), Some(1))
    );
    let latest = f.engine.drift(5).await.unwrap();
    assert_eq!(latest.last_inventory_scan.unwrap().job_id, r.job.id);
}

#[tokio::test]
async fn a_queued_policy_sweep_runs_once_under_its_id() {
    let f = fixture().await;
    let t0 = Utc::now() - Duration::minutes(10);
    let v = vol(A, "vol-q", false, t0);
    f.cloud.set(A, Service::Ec2, vec![v.clone()], true, t0);
    sweep(&f, ScanType::Bootstrap).await;
    let req = qrie_engine::policies::bootstrap_of("ec2-ebs-volume-unencrypted");
    let queued = f.engine.queue_policy_sweep(&req, None).await.unwrap();
    assert_eq!(queued.status, JobStatus::Queued);
    assert_eq!(f.engine.store.get_job(&queued.id).await.unwrap().unwrap().status, JobStatus::Queued);

    let ran = f.engine.run_queued_policy_sweep(&queued.id, &req, None, &NoProgress).await.unwrap();
    assert_eq!(ran.job.id, queued.id);
    assert_eq!(ran.job.status, JobStatus::Succeeded);
    assert_eq!(ran.job.created_at, queued.created_at);
    assert_eq!(ran.job.counts["evaluations"], 1);
    // A second delivery of the same invoke sweeps nothing and answers the record.
    let again = f.engine.run_queued_policy_sweep(&queued.id, &req, None, &NoProgress).await.unwrap();
    assert_eq!(again.job.finished_at, ran.job.finished_at);
    assert!(again.result.is_null());
    // Unknown ids and unlaunched policies are errors, before anything is recorded.
    assert!(f.engine.run_queued_policy_sweep("pol-nope", &req, None, &NoProgress).await.is_err());
    let other = qrie_engine::policies::bootstrap_of("s3-bucket-versioning-disabled");
    assert!(matches!(
        f.engine.queue_policy_sweep(&other, None).await,
        Err(qrie_engine::EngineError::NotLaunched(_) | qrie_engine::EngineError::UnknownPolicy(_))
    ));
}

#[tokio::test]
async fn a_queued_inventory_sweep_runs_once_under_its_id_until_its_deadline() {
    let f = fixture().await;
    let t0 = Utc::now() - Duration::minutes(10);
    f.cloud.set(A, Service::Ec2, vec![vol(A, "vol-i", false, t0)], true, t0);
    let req = InventoryRequest { accounts: vec![A.into()], services: vec![Service::Ec2], ..Default::default() };
    let start_by = Utc::now() + Duration::minutes(30);
    let queued = f.engine.queue_inventory_sweep(&req, Some(start_by)).await.unwrap();
    assert_eq!((queued.status, queued.deadline), (JobStatus::Queued, Some(start_by)));
    assert_eq!(queued.target["Accounts"], serde_json::json!([A]));
    assert_eq!(f.engine.store.get_job(&queued.id).await.unwrap().unwrap(), queued);

    // The run's deadline (its invocation's) replaces the queue's.
    let run_by = Utc::now() + Duration::minutes(15);
    let ran = f.engine.run_queued_inventory_sweep(&queued.id, &req, Some(run_by), &NoProgress).await.unwrap();
    assert_eq!((ran.job.id.as_str(), ran.job.status), (queued.id.as_str(), JobStatus::Succeeded));
    assert_eq!(ran.job.deadline, Some(run_by));
    assert_eq!(ran.job.counts["resources.observed"], 1);
    let again = f.engine.run_queued_inventory_sweep(&queued.id, &req, Some(run_by), &NoProgress).await.unwrap();
    assert_eq!(again.job, ran.job, "delivered twice: answered as it stands");
    assert!(again.result.is_null());
    // A policy sweep's id is no inventory job; unknown and removed accounts fail before anything is queued.
    let policy_job = f.engine.queue_policy_sweep(&qrie_engine::PolicySweepRequest::default(), None).await.unwrap();
    assert!(f.engine.run_queued_inventory_sweep(&policy_job.id, &req, None, &NoProgress).await.is_err());
    let unknown = InventoryRequest { accounts: vec!["333333333333".into()], ..Default::default() };
    assert!(matches!(
        f.engine.queue_inventory_sweep(&unknown, None).await,
        Err(qrie_engine::EngineError::UnknownAccount(_))
    ));
}

/// A job as a function or process would have left it: queued or running,
/// with a deadline or not, its runner's lease running out at `lease_until`.
async fn put_job_left(
    f: &Fixture,
    status: JobStatus,
    deadline: Option<Timestamp>,
    lease_until: Option<Timestamp>,
) -> qrie_model::Job {
    let req = qrie_engine::PolicySweepRequest::default();
    let mut job = f.engine.queue_policy_sweep(&req, deadline).await.unwrap();
    if status == JobStatus::Running {
        job.status = JobStatus::Running;
        job.started_at = Some(Utc::now() - Duration::minutes(20));
        job.counts.insert("evaluations".into(), 7);
        job.lease = lease_until.map(|until| qrie_model::Lease { owner: "pid1-gone".into(), until });
    }
    f.engine.store.put_job(job.clone()).await.unwrap();
    job
}

#[tokio::test]
async fn jobs_nothing_runs_any_more_are_settled_when_listed_or_at_the_next_sweep() {
    let f = fixture().await;
    let past = Utc::now() - Duration::minutes(5);
    let soon = Some(Utc::now() + Duration::seconds(30));
    let lost_queued = put_job_left(&f, JobStatus::Queued, Some(past), None).await;
    let lost_running = put_job_left(&f, JobStatus::Running, Some(past), None).await;
    // Within the minute of grace after its deadline, a run may still be writing its end.
    let just_due = put_job_left(&f, JobStatus::Running, Some(Utc::now() - Duration::seconds(20)), None).await;
    let in_time = put_job_left(&f, JobStatus::Queued, Some(Utc::now() + Duration::minutes(5)), None).await;
    // Run by a local process whose heartbeat holds its lease: running, deadline or not.
    let local = put_job_left(&f, JobStatus::Running, None, soon).await;
    let lambda = put_job_left(&f, JobStatus::Running, Some(past), soon).await;
    // Its runner stopped renewing the lease (kill -9): not running any more.
    let killed = put_job_left(&f, JobStatus::Running, None, Some(Utc::now() - Duration::seconds(1))).await;
    // Left running by a qrie that kept no lease: nothing can say it runs.
    let leaseless = put_job_left(&f, JobStatus::Running, None, None).await;

    let page = f.engine.list_jobs(&Default::default(), &qrie_store::PageRequest::first(50)).await.unwrap();
    let status = |id: &str| page.items.iter().find(|j| j.id == id).unwrap().status;
    assert_eq!(status(&lost_queued.id), JobStatus::Failed);
    assert_eq!(status(&lost_running.id), JobStatus::Failed);
    assert_eq!(status(&just_due.id), JobStatus::Running);
    assert_eq!(status(&in_time.id), JobStatus::Queued);
    assert_eq!(status(&local.id), JobStatus::Running);
    assert_eq!(status(&lambda.id), JobStatus::Running, "the lease, not the deadline, says it runs");
    // Its runner stopped renewing its lease: interrupted, resumable from its plan.
    assert_eq!(status(&killed.id), JobStatus::Interrupted);
    assert_eq!(status(&leaseless.id), JobStatus::Failed);

    let failed = f.engine.store.get_job(&lost_queued.id).await.unwrap().unwrap();
    assert!(failed.finished_at.is_some());
    let why = &failed.errors.last().unwrap().message;
    assert!(why.starts_with("lost: queued at") && why.contains("maximum event age"), "{why}");
    let failed = f.engine.store.get_job(&lost_running.id).await.unwrap().unwrap();
    let why = &failed.errors.last().unwrap().message;
    assert!(why.starts_with("lost: running since") && why.contains("timed out or crashed"), "{why}");
    assert_eq!(failed.counts["evaluations"], 7, "what the run had saved is kept");
    let stopped = f.engine.store.get_job(&killed.id).await.unwrap().unwrap();
    assert_eq!(stopped.version, killed.version + 1, "written on the version read");
    // This one was stopped before it wrote a plan: resuming it says so and ends it.
    let why = f.engine.resume_sweep(&killed.id, 1, &NoProgress).await.unwrap_err().to_string();
    assert!(why.contains("before its plan was written"), "{why}");
    let ended = f.engine.store.get_job(&killed.id).await.unwrap().unwrap();
    assert_eq!((ended.status, ended.lease), (JobStatus::Failed, None));
    let failed = f.engine.store.get_job(&leaseless.id).await.unwrap().unwrap();
    assert!(failed.errors.last().unwrap().message.contains("without a lease"));

    // Showing one job settles it too.
    let later = put_job_left(&f, JobStatus::Queued, Some(past), None).await;
    assert_eq!(f.engine.get_job(&later.id).await.unwrap().unwrap().status, JobStatus::Failed);
    assert_eq!(f.engine.store.get_job(&later.id).await.unwrap().unwrap().status, JobStatus::Failed);
    assert!(f.engine.get_job("pol-nope").await.unwrap().is_none());

    // The next sweep settles what is abandoned by then, and nothing else.
    let before_sweep = put_job_left(&f, JobStatus::Running, Some(past), None).await;
    f.cloud.set(A, Service::Ec2, vec![], true, Utc::now());
    f.cloud.set(B, Service::Ec2, vec![], true, Utc::now());
    let report = sweep(&f, ScanType::Bootstrap).await;
    assert_eq!(report.job.deadline, None);
    assert_eq!(report.job.lease, None, "an ended job holds no lease");
    for (job, expected) in
        [(before_sweep, JobStatus::Failed), (local, JobStatus::Running), (in_time, JobStatus::Queued)]
    {
        assert_eq!(f.engine.store.get_job(&job.id).await.unwrap().unwrap().status, expected, "{}", job.id);
    }
    assert!(f.engine.fail_lost_jobs().await.unwrap().is_empty(), "nothing left to settle");
}

/// Job writes are conditional on the version read: a write on an older
/// version never lands, and interrupting a job that ended changes nothing.
/// (Runners that lose their job are in `qrie_engine::jobs`' own tests.)
#[tokio::test]
async fn job_writes_land_only_on_the_version_read() {
    let f = fixture().await;
    f.cloud.set(A, Service::Ec2, vec![], true, Utc::now());
    let report = sweep(&f, ScanType::Bootstrap).await;
    let job = report.job;
    assert!(job.version >= 2, "started and ended: {}", job.version);
    // A reader settles on the version it read; an older version never wins.
    let mut stale = job.clone();
    stale.status = JobStatus::Interrupted;
    assert!(!f.engine.store.put_job_if(stale.clone(), Some(job.version - 1)).await.unwrap());
    assert_eq!(f.engine.store.get_job(&job.id).await.unwrap().unwrap(), job);
    // Interrupting a job that ended changes nothing.
    assert_eq!(f.engine.interrupt_job(&job.id).await.unwrap().unwrap(), job);
}

/// Reproduction 4: scope is never decided from data that could not be read.
/// Tags that failed to read are not "untagged": an `include_tags` scope does
/// not resolve the finding as out of scope, an `exclude_tags` scope does not
/// open one on an excluded resource; a region that failed to read does not
/// decide a region scope. Each is an evaluation error, the finding untouched.
#[tokio::test]
async fn scope_is_not_decided_from_unreadable_tags_or_region() {
    use qrie_engine::policies::PolicyUpdate;
    use qrie_model::{Scope, LOCATION_KEY, TAGS_KEY};
    let f = fixture().await;
    let t0 = Utc::now();
    let tagged = |id: &str, env: &str, at: Timestamp| {
        let mut v = vol(A, id, false, at);
        v.tags = BTreeMap::from([("env".to_string(), env.to_string())]);
        v.rehash();
        v
    };
    let unreadable = |mut v: Resource, key: &str| {
        v.tags = if key == TAGS_KEY { BTreeMap::new() } else { v.tags };
        v.collection_errors.insert(key.to_string(), "AccessDenied".to_string());
        v.rehash();
        v
    };
    let scope = |s: Scope| PolicyUpdate { scope: Some(s), ..Default::default() };
    let include_prod = Scope { include_tags: vec!["env=prod".parse().unwrap()], ..Default::default() };
    f.engine.update_policy("ec2-ebs-volume-unencrypted", scope(include_prod), &NoProgress).await.unwrap();
    let prod = tagged("vol-1", "prod", t0);
    f.cloud.set(A, Service::Ec2, vec![prod.clone()], true, t0);
    sweep(&f, ScanType::Bootstrap).await;
    assert_eq!(finding_state(&f, &prod.arn).await, Some((FindingState::Active, None)));

    let t1 = t0 + Duration::seconds(1);
    f.cloud.set(A, Service::Ec2, vec![unreadable(tagged("vol-1", "prod", t1), TAGS_KEY)], true, t1);
    let r = sweep(&f, ScanType::Bootstrap).await;
    assert_eq!(finding_state(&f, &prod.arn).await, Some((FindingState::Active, None)), "not OUT_OF_SCOPE");
    assert!(r.result["EvaluationErrors"][0]["Reason"].as_str().unwrap().contains("tags"), "{}", r.result);

    let exclude_dev = Scope { exclude_tags: vec!["env=dev".parse().unwrap()], ..Default::default() };
    f.engine.update_policy("ec2-ebs-volume-unencrypted", scope(exclude_dev), &NoProgress).await.unwrap();
    let t2 = t1 + Duration::seconds(1);
    let dev = unreadable(tagged("vol-2", "dev", t2), TAGS_KEY);
    f.cloud.set(A, Service::Ec2, vec![dev.clone()], true, t2);
    sweep(&f, ScanType::Bootstrap).await;
    assert_eq!(finding_state(&f, &dev.arn).await, None, "no finding opened on a possibly excluded volume");

    let only_west = Scope { include_regions: vec!["us-west-2".into()], ..Default::default() };
    f.engine.update_policy("ec2-ebs-volume-unencrypted", scope(only_west), &NoProgress).await.unwrap();
    let t3 = t2 + Duration::seconds(1);
    let lost = unreadable(tagged("vol-3", "prod", t3), LOCATION_KEY);
    f.cloud.set(A, Service::Ec2, vec![lost.clone()], true, t3);
    let r = sweep(&f, ScanType::Bootstrap).await;
    assert_eq!(finding_state(&f, &lost.arn).await, None);
    assert!(r.result["EvaluationErrors"][0]["Reason"].as_str().unwrap().contains("region"), "{}", r.result);
}

/// The daily sweep closes what a suspension's or deletion's own listing may
/// have missed (an index that lags on DynamoDB): an ACTIVE finding of a
/// suspended or deleted policy is resolved with the policy's reason.
#[tokio::test]
async fn the_policy_sweep_closes_findings_of_inactive_policies() {
    use qrie_engine::PolicySweepRequest;
    use qrie_store::FindingWrite;
    let f = fixture().await;
    let t0 = Utc::now();
    let v = vol(A, "vol-1", false, t0);
    f.cloud.set(A, Service::Ec2, vec![v.clone()], true, t0);
    sweep(&f, ScanType::Bootstrap).await;
    let open = f.engine.store.get_finding(&v.arn, "ec2-ebs-volume-unencrypted").await.unwrap().unwrap();
    f.engine.suspend_policy("ec2-ebs-volume-unencrypted").await.unwrap();
    // As if the suspension's listing had not seen it yet.
    let straggler = qrie_model::Finding { version: open.version + 2, ..open.clone() };
    let mut deleted = straggler.clone();
    deleted.policy = "ec2-sg-open-ssh".into();
    deleted.version = 1;
    f.engine
        .store
        .write_findings(vec![FindingWrite::unchecked(straggler), FindingWrite::unchecked(deleted)])
        .await
        .unwrap();
    f.engine.launch_policy("ec2-ami-public", LaunchOptions::default(), &NoProgress).await.unwrap();
    let req = PolicySweepRequest { policy_id: None, scan_type: ScanType::AntiEntropy };
    let r = f.engine.policy_sweep(&req, &NoProgress).await.unwrap();
    assert_eq!(r.job.counts["findings.closed_inactive_policy"], 2);
    assert_eq!(finding_state(&f, &v.arn).await, Some((FindingState::Resolved, Some(ResolvedReason::PolicySuspended))));
    let gone = f.engine.store.get_finding(&v.arn, "ec2-sg-open-ssh").await.unwrap().unwrap();
    assert_eq!((gone.state, gone.resolved_reason), (FindingState::Resolved, Some(ResolvedReason::PolicyDeleted)));
}

/// Reproduction 9: a flapping finding keeps its first and latest transitions
/// inline (its item stays small) and every transition in its log, read a
/// page at a time.
#[tokio::test]
async fn a_flapping_finding_stays_small_and_keeps_its_whole_log() {
    let f = fixture().await;
    let t0 = Utc::now() - Duration::minutes(10);
    const FLIPS: usize = 60;
    for i in 0..FLIPS {
        let at = t0 + Duration::seconds(i as i64);
        f.cloud.set(A, Service::Ec2, vec![vol(A, "vol-1", i % 2 == 1, at)], true, at);
        sweep(&f, ScanType::Bootstrap).await;
    }
    let arn = vol(A, "vol-1", false, t0).arn;
    let finding = f.engine.store.get_finding(&arn, "ec2-ebs-volume-unencrypted").await.unwrap().unwrap();
    assert_eq!(finding.transition_count(), FLIPS as u64);
    assert_eq!(finding.history.len(), qrie_model::HISTORY_KEPT);
    assert_eq!(finding.history[0].kind, qrie_model::TransitionKind::Opened);

    let all = f.engine.finding_history(&arn, "ec2-ebs-volume-unencrypted", 0, 1000).await.unwrap().unwrap();
    assert_eq!((all.total, all.transitions.len(), all.next_since_ms), (FLIPS as u64, FLIPS, None));
    assert_eq!(all.transitions[0], finding.history[0]);
    assert_eq!(all.transitions.last(), finding.history.last());
    let mut paged = Vec::new();
    let mut since = 0;
    loop {
        let page = f.engine.finding_history(&arn, "ec2-ebs-volume-unencrypted", since, 25).await.unwrap().unwrap();
        assert!(page.transitions.len() <= 25);
        paged.extend(page.transitions);
        match page.next_since_ms {
            Some(next) => since = next,
            None => break,
        }
    }
    assert_eq!(paged, all.transitions, "the pages add up to the whole log");
    assert!(f.engine.finding_history(&arn, "no-such-policy", 0, 10).await.unwrap().is_none());
}

/// The simulated cloud, except that after its first `answer` listings it
/// never answers again: a process killed in the middle of a sweep.
struct Stalling {
    inner: qrie_engine::sim::SimCloud,
    answer: std::sync::atomic::AtomicUsize,
    stalled: std::sync::atomic::AtomicUsize,
}

#[async_trait]
impl Cloud for Stalling {
    async fn enabled_regions(&self, account: &Account) -> Result<Vec<String>, CloudError> {
        self.inner.enabled_regions(account).await
    }

    async fn list(&self, account: &Account, unit: &SweepUnit) -> Result<Listing, CloudError> {
        use std::sync::atomic::Ordering::SeqCst;
        if self.answer.fetch_update(SeqCst, SeqCst, |n| n.checked_sub(1)).is_err() {
            self.stalled.fetch_add(1, SeqCst);
            futures::future::pending::<()>().await;
        }
        self.inner.list(account, unit).await
    }

    async fn describe(&self, account: &Account, arn: &str) -> Result<Described, CloudError> {
        self.inner.describe(account, arn).await
    }
}

/// Resources (ARN, configuration hash, deleted) and findings (ARN, policy, state).
type StoreState = (Vec<(String, String, bool)>, Vec<(String, String, String)>);

/// What a sweep leaves in a store, for comparing two: every resource (ARN,
/// configuration hash, deleted or not) and every finding (ARN, policy, state).
async fn store_state(engine: &Engine) -> StoreState {
    use qrie_store::{FindingFilter, FindingSort, PageRequest, ResourceFilter};
    let mut resources = Vec::new();
    let filter = ResourceFilter { include_deleted: true, ..Default::default() };
    let mut page = PageRequest::first(1000);
    loop {
        let p = engine.store.list_resources(&filter, &page).await.unwrap();
        resources.extend(p.items.into_iter().map(|r| (r.arn, r.config_hash, r.deleted_at.is_some())));
        match p.next_token {
            Some(t) => page.next_token = Some(t),
            None => break,
        }
    }
    let mut findings = Vec::new();
    let mut page = PageRequest::first(1000);
    loop {
        let p = engine.store.list_findings(&FindingFilter::default(), FindingSort::Key, &page).await.unwrap();
        findings.extend(p.items.into_iter().map(|f| (f.arn, f.policy, f.state.as_str().to_string())));
        match p.next_token {
            Some(t) => page.next_token = Some(t),
            None => break,
        }
    }
    resources.sort();
    findings.sort();
    (resources, findings)
}

/// A sweep stopped dead a third of the way (its process killed: nothing of
/// it runs, nothing is cleaned up) is interrupted once its lease runs out,
/// and resuming it runs only the units it had not finished — those it held
/// when it stopped included — to the very store, counts and drift a sweep
/// that never stopped makes, drift recorded once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sweep_killed_midway_resumes_to_what_a_clean_sweep_makes() {
    use qrie_engine::sim::{swept_estate, SimCloud, SimSpec};
    use qrie_engine::summary::DRIFT_INVENTORY_SERIES;
    use std::sync::atomic::Ordering::SeqCst;
    let spec = SimSpec { seed: 21, accounts: 4, resources_per_account: 120, created_at: Utc::now() };
    let mut setups = Vec::new();
    for name in ["killed", "clean"] {
        let dir = tempfile::tempdir().unwrap();
        let store = qrie_store::open(&format!("sqlite:{}", dir.path().join(format!("{name}.db")).display())).unwrap();
        let (engine, estate) = swept_estate(store, spec.clone()).await.unwrap();
        // Changes no event told of: the anti-entropy sweep finds them.
        assert_eq!(estate.write().unwrap().apply_changes(150, Some(5)).len(), 150);
        setups.push((dir, engine, estate));
    }
    // No grace window: every change counts as missed, so drift is compared too.
    let req = InventoryRequest {
        scan_type: ScanType::AntiEntropy,
        workers: 2,
        drift_grace: Some(Duration::zero()),
        ..Default::default()
    };
    let clean = setups[1].1.inventory_sweep(&req, &NoProgress).await.unwrap();
    let units = clean.result["Units"].as_u64().unwrap() as usize;
    assert!(units >= 12, "{units} units");

    let (_, engine, estate) = &setups[0];
    let stalling =
        Arc::new(Stalling { inner: SimCloud::new(estate.clone()), answer: (units / 3).into(), stalled: 0.into() });
    let dying = Engine::new(engine.store.clone(), stalling.clone());
    let sweep = tokio::spawn(async move { dying.inventory_sweep(&req, &NoProgress).await });
    // Both workers stuck in a listing: every unit listed before is processed.
    while stalling.stalled.load(SeqCst) < 2 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    sweep.abort();
    assert!(sweep.await.unwrap_err().is_cancelled());

    let jobs = engine.list_jobs(&Default::default(), &qrie_store::PageRequest::first(10)).await.unwrap().items;
    let job = jobs.iter().find(|j| j.scan_type == ScanType::AntiEntropy).unwrap().clone();
    assert_eq!(job.status, JobStatus::Running, "its lease has not run out yet");
    let refused = engine.resume_sweep(&job.id, 2, &NoProgress).await.unwrap_err().to_string();
    assert!(refused.contains("is running"), "{refused}");

    // Its lease runs out (as 45 seconds after the kill): interrupted, not running.
    let mut stored = engine.store.get_job(&job.id).await.unwrap().unwrap();
    stored.lease.as_mut().unwrap().until = Utc::now() - Duration::seconds(1);
    engine.store.put_job(stored).await.unwrap();
    let listed = engine.list_jobs(&Default::default(), &qrie_store::PageRequest::first(10)).await.unwrap().items;
    let interrupted = listed.iter().find(|j| j.id == job.id).unwrap();
    assert_eq!(interrupted.status, JobStatus::Interrupted);
    assert!(interrupted.finished_at.is_none());
    assert_eq!(engine.interrupted_sweeps().await.unwrap().len(), 1);

    let resumed = engine.resume_sweep(&job.id, 2, &NoProgress).await.unwrap();
    assert_eq!(resumed.job.id, job.id);
    assert_eq!(resumed.job.status, clean.job.status);
    assert_eq!(resumed.job.progress_done, units as u64);
    for name in ["resources.observed", "resources.created", "resources.updated", "resources.deleted"] {
        assert_eq!(resumed.job.counts.get(name), clean.job.counts.get(name), "{name}");
    }
    assert_eq!(resumed.result["DriftTotals"], clean.result["DriftTotals"]);
    assert!(clean.result["DriftTotals"]["MissedUpdates"].as_u64().unwrap() > 0, "{}", clean.result["DriftTotals"]);
    let (resumed_state, clean_state) = (store_state(engine).await, store_state(&setups[1].1).await);
    let only = |a: &[(String, String, String)], b: &[(String, String, String)]| {
        a.iter().filter(|x| !b.contains(x)).cloned().collect::<Vec<_>>()
    };
    let (r, c) = (&resumed_state.1, &clean_state.1);
    assert_eq!((only(r, c), only(c, r)), (vec![], vec![]), "findings only after the resume / only after the clean run");
    // The same resources, deleted or not. (Their configurations carry the
    // times the two estates' changes were made: each store is compared with
    // its own estate instead.)
    let arns = |s: &StoreState| s.0.iter().map(|(arn, _, deleted)| (arn.clone(), *deleted)).collect::<Vec<_>>();
    assert_eq!(arns(&resumed_state), arns(&clean_state));
    for ((_, engine, estate), state) in setups.iter().zip([&resumed_state, &clean_state]) {
        let estate = estate.read().unwrap();
        let mut live: Vec<(String, String, bool)> = estate
            .iter()
            .filter(|r| !qrie_model::has_ended(r))
            .map(|r| (r.arn.clone(), r.config_hash.clone(), false))
            .collect();
        live.sort();
        let stored: Vec<_> = state.0.iter().filter(|r| !r.2).cloned().collect();
        assert_eq!(stored, live, "{} holds its estate as it is", engine.store.location());
    }
    let recorded = engine.store.list_history(DRIFT_INVENTORY_SERIES, 0, 100).await.unwrap();
    assert_eq!(recorded.iter().filter(|(_, v)| v["JobId"] == job.id.as_str()).count(), 1);
    assert!(engine.interrupted_sweeps().await.unwrap().is_empty());
    let again = engine.resume_sweep(&job.id, 2, &NoProgress).await.unwrap_err().to_string();
    assert!(again.contains("has ended"), "{again}");
}

/// A sweep fanned out over a queue that delivers every message twice, whose
/// worker is killed in the middle of one unit (its message delivered again
/// once the worker's invocation ended) and one of whose units fails every
/// time: the unit is retried, then failed with its reason, and the sweep —
/// finalised once, by the worker that ended the last unit — ends `partial`
/// with exactly what a local sweep with the same failing unit makes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sweep_fanned_out_over_a_queue_ends_once_with_what_a_local_sweep_makes() {
    use qrie_engine::fanout::{FanOut, UnitAnswer, UnitMessage};
    use qrie_engine::sim::{swept_estate, FaultyCloud, SimCloud, SimSpec};
    use qrie_engine::summary::DRIFT_INVENTORY_SERIES;
    let spec = SimSpec { seed: 33, accounts: 3, resources_per_account: 60, created_at: Utc::now() };
    let mut setups = Vec::new();
    for name in ["queue", "local"] {
        let dir = tempfile::tempdir().unwrap();
        let store = qrie_store::open(&format!("sqlite:{}", dir.path().join(format!("{name}.db")).display())).unwrap();
        let (engine, estate) = swept_estate(store, spec.clone()).await.unwrap();
        assert_eq!(estate.write().unwrap().apply_changes(60, Some(9)).len(), 60);
        setups.push((dir, engine, estate));
    }
    let accounts = setups[0].1.store.list_accounts().await.unwrap();
    let (a, b) = (&accounts[0], &accounts[1]);
    let failing = SweepUnit { account_id: a.account_id.clone(), service: Service::S3, region: None };
    let hanging = SweepUnit { account_id: b.account_id.clone(), service: Service::Iam, region: None };
    let faulty =
        |estate| Arc::new(FaultyCloud::new(SimCloud::new(estate), Some(failing.clone()), Some(hanging.clone())));
    let req = InventoryRequest {
        scan_type: ScanType::AntiEntropy,
        drift_grace: Some(Duration::zero()),
        ..Default::default()
    };
    let local = faulty(setups[1].2.clone());
    local.hung.store(true, std::sync::atomic::Ordering::SeqCst);
    let local = Engine::new(setups[1].1.store.clone(), local);
    let local = local.inventory_sweep(&req, &NoProgress).await.unwrap();
    assert_eq!(local.job.status, JobStatus::Partial);

    let engine = Engine::new(setups[0].1.store.clone(), faulty(setups[0].2.clone()));
    let digests = |engine: &Engine| {
        let (store, account) = (engine.store.clone(), failing.account_id.clone());
        async move {
            let d = store.resource_digests(&account, Service::S3, None).await.unwrap();
            d.into_iter().map(|d| (d.arn, d.deleted)).collect::<Vec<_>>()
        }
    };
    let failing_before = digests(&engine).await;
    assert!(!failing_before.is_empty());
    let FanOut::Queued { job, messages } = engine.fan_out_inventory_sweep(&req, None).await.unwrap() else {
        panic!("nothing to queue")
    };
    assert_eq!(messages.len() as u64, local.result["Units"].as_u64().unwrap());
    let stored = engine.store.get_job(&job.id).await.unwrap().unwrap();
    assert_eq!((stored.status, stored.lease.unwrap().owner.as_str()), (JobStatus::Running, "queue"));
    // Every message delivered twice, in the order sent.
    let mut queue: std::collections::VecDeque<UnitMessage> =
        messages.iter().flat_map(|m| [m.clone(), m.clone()]).collect();
    let (mut finalised, mut retries, mut killed) = (Vec::new(), 0, 0);
    let key = |u: &SweepUnit| format!("{}/{}/{}", u.account_id, u.service, u.region.as_deref().unwrap_or("global"));
    while let Some(message) = queue.pop_front() {
        // An invocation's timeout: its claim on the unit ends with it.
        let deadline = Utc::now() + Duration::seconds(5);
        let worker = format!("worker-{}", queue.len());
        let run = engine.run_unit_message(&message, &worker, deadline);
        let Ok(answer) = tokio::time::timeout(std::time::Duration::from_secs(5), run).await else {
            // The invocation timed out: its message comes back after the visibility timeout.
            assert_eq!(message.unit, key(&hanging));
            killed += 1;
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            queue.push_back(message);
            continue;
        };
        match answer.unwrap() {
            UnitAnswer::Ended { finalised: Some(report) } => finalised.push(*report),
            UnitAnswer::Ended { finalised: None } | UnitAnswer::Skipped(_) => {}
            UnitAnswer::Retry(why) => {
                assert_eq!(message.unit, key(&failing));
                assert!(why.contains("AccessDenied"), "{why}");
                retries += 1;
                queue.push_back(message);
            }
        }
    }
    assert_eq!((killed, retries), (1, 2), "killed once; retried until its last attempt");
    assert_eq!(finalised.len(), 1, "finalised exactly once");
    let report = finalised.pop().unwrap();
    assert_eq!((report.job.id.as_str(), report.job.status), (job.id.as_str(), JobStatus::Partial));
    let why = report.job.errors.iter().find(|e| e.account_id.as_deref() == Some(&a.account_id)).unwrap();
    assert!(why.message.starts_with("failed 3 times, last: ") && why.message.contains("an SCP"), "{why:?}");
    assert_eq!(report.job.errors.len(), local.job.errors.len(), "{:?}", report.job.errors);
    for name in ["resources.observed", "resources.created", "resources.updated", "resources.deleted", "findings.opened"]
    {
        assert_eq!(report.job.counts.get(name), local.job.counts.get(name), "{name}");
    }
    assert_eq!(report.result["DriftTotals"], local.result["DriftTotals"]);
    assert!(local.result["DriftTotals"]["MissedUpdates"].as_u64().unwrap() > 0);
    let (q, l) = (store_state(&engine).await, store_state(&setups[1].1).await);
    assert_eq!(q.1, l.1, "the same findings in the same states");
    let arns = |s: &StoreState| s.0.iter().map(|(arn, _, deleted)| (arn.clone(), *deleted)).collect::<Vec<_>>();
    assert_eq!(arns(&q), arns(&l));
    assert_eq!(digests(&engine).await, failing_before, "the failed unit's buckets are as they were, none deleted");
    let recorded = engine.store.list_history(DRIFT_INVENTORY_SERIES, 0, 100).await.unwrap();
    assert_eq!(recorded.iter().filter(|(_, v)| v["JobId"] == job.id.as_str()).count(), 1, "drift recorded once");
    // A message delivered after the end changes nothing.
    let late = engine.run_unit_message(&messages[0], "late", Utc::now()).await.unwrap();
    assert!(matches!(late, UnitAnswer::Skipped(_)), "{late:?}");
}

/// A progress that dies (as its process would, killed) once `after` units
/// have ended.
struct DiesAfter(u64);

impl qrie_engine::Progress for DiesAfter {
    fn advance(&self, done: u64, _: &str) {
        assert!(done < self.0, "killed after {done} units");
    }
}

/// A launch's bootstrap policy sweep killed after two of its units (one
/// account each) is interrupted, and resumed runs only the other units: the
/// findings are those of a launch that never stopped, counted once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_sweep_killed_midway_resumes_to_what_a_clean_sweep_makes() {
    let policy = "s3-bucket-versioning-disabled";
    let setups = relaunched_estates(policy).await;
    let bootstrap = qrie_engine::policies::bootstrap_of(policy);
    let clean = setups[1].1.policy_sweep(&bootstrap, &NoProgress).await.unwrap();
    assert_eq!(clean.result["Units"], 5, "one unit per account (one service)");
    assert!(clean.job.counts["findings.opened"] > 0);

    let engine = Arc::new(Engine::new(setups[0].1.store.clone(), setups[0].1.cloud.clone()));
    let dying = engine.clone();
    let req = bootstrap.clone();
    let killed = tokio::spawn(async move { dying.policy_sweep(&req, &DiesAfter(2)).await });
    assert!(killed.await.unwrap_err().is_panic());
    let jobs = engine.list_jobs(&Default::default(), &qrie_store::PageRequest::first(5)).await.unwrap().items;
    let job = jobs.into_iter().find(|j| j.kind == qrie_model::JobKind::PolicySweep).unwrap();
    assert_eq!(job.status, JobStatus::Running);
    // Its lease runs out: interrupted (resumable), not failed.
    let mut stored = engine.store.get_job(&job.id).await.unwrap().unwrap();
    stored.lease.as_mut().unwrap().until = Utc::now() - Duration::seconds(1);
    engine.store.put_job(stored).await.unwrap();
    assert_eq!(engine.interrupted_sweeps().await.unwrap().iter().map(|j| &j.id).collect::<Vec<_>>(), [&job.id]);

    let resumed = engine.resume_sweep(&job.id, 0, &NoProgress).await.unwrap();
    assert_eq!((resumed.job.id.as_str(), resumed.job.status), (job.id.as_str(), clean.job.status));
    for name in ["evaluations", "findings.opened", "findings.resolved"] {
        assert_eq!(resumed.job.counts.get(name), clean.job.counts.get(name), "{name}");
    }
    let (k, c) = (store_state(&engine).await, store_state(&setups[1].1).await);
    assert_eq!(k.1, c.1, "the same findings in the same states");
}

/// Runs `run` until `stop` holds (checked between its polls), then drops it
/// where it stands — as a process killed there would stop. `None` if it
/// was stopped, else what it answered.
async fn run_until<F, S, C>(run: F, mut stop: S) -> Option<F::Output>
where
    F: std::future::Future,
    S: FnMut() -> C,
    C: std::future::Future<Output = bool>,
{
    let mut run = std::pin::pin!(run);
    loop {
        let polled = std::future::poll_fn(|cx| std::task::Poll::Ready(run.as_mut().poll(cx))).await;
        if let std::task::Poll::Ready(out) = polled {
            return Some(out);
        }
        if stop().await {
            return None;
        }
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
}

/// Two stores of the same swept estate, each with `policy` deleted and its
/// launch recorded (its bootstrap sweep not run yet).
async fn relaunched_estates(policy: &str) -> Vec<(tempfile::TempDir, Engine)> {
    use qrie_engine::sim::{swept_estate, SimSpec};
    let spec = SimSpec { seed: 5, accounts: 5, resources_per_account: 80, created_at: Utc::now() };
    let mut setups = Vec::new();
    for name in ["one", "other"] {
        let dir = tempfile::tempdir().unwrap();
        let store = qrie_store::open(&format!("sqlite:{}", dir.path().join(format!("{name}.db")).display())).unwrap();
        let (engine, _) = swept_estate(store, spec.clone()).await.unwrap();
        engine.delete_policy(policy).await.unwrap();
        engine.record_launch(policy, LaunchOptions::default()).await.unwrap();
        setups.push((dir, engine));
    }
    setups
}

/// A launch's bootstrap fanned out over a queue, one message per account's
/// partition, every message delivered twice and the first worker stopped
/// mid-unit after some of its writes (its invocation timed out: its claim
/// lapses with it, and the message comes back): finalised once, with the
/// findings and counts of the bootstrap run in one process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_sweep_fanned_out_over_a_queue_ends_once_with_what_a_local_sweep_makes() {
    use qrie_engine::fanout::{FanOut, UnitAnswer, UnitMessage};
    let policy = "s3-bucket-versioning-disabled";
    let setups = relaunched_estates(policy).await;
    let bootstrap = qrie_engine::policies::bootstrap_of(policy);
    let local = setups[1].1.policy_sweep(&bootstrap, &NoProgress).await.unwrap();
    assert!(local.job.counts["findings.opened"] > 0);

    let engine = &setups[0].1;
    let FanOut::Queued { job, messages } = engine.fan_out_policy_sweep(&bootstrap, None).await.unwrap() else {
        panic!("nothing to queue")
    };
    assert_eq!(messages.len(), 5, "one unit per account (one service)");
    assert_eq!(engine.store.get_job(&job.id).await.unwrap().unwrap().lease.unwrap().owner, "queue");
    let mut queue: std::collections::VecDeque<UnitMessage> =
        messages.iter().flat_map(|m| [m.clone(), m.clone()]).collect();
    let (mut finalised, mut stopped) = (Vec::new(), false);
    while let Some(message) = queue.pop_front() {
        let deadline = Utc::now() + Duration::milliseconds(300);
        let worker = format!("worker-{}", queue.len());
        let run = engine.run_unit_message(&message, &worker, deadline);
        let answer = if stopped {
            run.await
        } else {
            // The first invocation stops once it has written a finding.
            stopped = true;
            let opened = || async { !engine.active_findings_of(policy).await.unwrap().is_empty() };
            match run_until(run, opened).await {
                Some(answer) => panic!("the unit ended before it was stopped: {answer:?}"),
                None => {
                    // It had claimed its unit, which no other worker takes
                    // before the claim lapses with the invocation.
                    let early = engine.run_unit_message(&message, "early", Utc::now()).await.unwrap();
                    assert!(matches!(&early, UnitAnswer::Skipped(why) if why.contains("held by worker-")), "{early:?}");
                    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
                    queue.push_back(message);
                    continue;
                }
            }
        };
        match answer.unwrap() {
            UnitAnswer::Ended { finalised: Some(report) } => finalised.push(*report),
            UnitAnswer::Ended { finalised: None } | UnitAnswer::Skipped(_) => {}
            UnitAnswer::Retry(why) => panic!("a policy unit is not given back: {why}"),
        }
    }
    assert_eq!(finalised.len(), 1, "finalised exactly once");
    let report = finalised.pop().unwrap();
    assert_eq!((report.job.id.as_str(), report.job.status), (job.id.as_str(), local.job.status));
    for name in ["evaluations", "findings.opened", "findings.resolved"] {
        assert_eq!(report.job.counts.get(name), local.job.counts.get(name), "{name}");
    }
    let (q, l) = (store_state(engine).await, store_state(&setups[1].1).await);
    assert_eq!(q.1, l.1, "the same findings in the same states");
    let late = engine.run_unit_message(&messages[0], "late", Utc::now()).await.unwrap();
    assert!(matches!(late, UnitAnswer::Skipped(_)), "{late:?}");
}

/// Every transition a sweep writes is told once, by the write that makes it:
/// an opening, a resolve, a reopening; a sweep that changes nothing tells
/// nothing, and a refresh is not a transition.
#[tokio::test]
async fn each_transition_puts_one_notice_in_the_outbox() {
    use qrie_model::notice::{OutboxEntry, OUTBOX};
    use qrie_model::TransitionKind;
    let (f, v, t0) = with_open_finding().await;
    let notices = || async {
        let entries = f.engine.store.kv_list(OUTBOX).await.unwrap();
        entries.into_iter().map(|(_, e)| serde_json::from_value::<OutboxEntry>(e).unwrap().notice).collect::<Vec<_>>()
    };
    let told = notices().await;
    assert_eq!(told.len(), 1);
    assert_eq!((told[0].kind, told[0].arn.as_str()), (TransitionKind::Opened, v.arn.as_str()));
    assert_eq!(told[0].trigger.detected_by, qrie_model::DetectedBy::Bootstrap);
    assert_eq!(told[0].id, format!("{}-1", qrie_model::finding_uid(&v.arn, "ec2-ebs-volume-unencrypted")));

    // Seen again unchanged: refreshed, nothing told.
    let t1 = t0 + Duration::minutes(1);
    f.cloud.set(A, Service::Ec2, vec![vol(A, "vol-1", false, t1)], true, t1);
    sweep(&f, ScanType::AntiEntropy).await;
    assert_eq!(notices().await.len(), 1);

    // Encrypted: resolved; then unencrypted again: reopened.
    let t2 = t0 + Duration::minutes(2);
    f.cloud.set(A, Service::Ec2, vec![vol(A, "vol-1", true, t2)], true, t2);
    sweep(&f, ScanType::AntiEntropy).await;
    let t3 = t0 + Duration::minutes(3);
    f.cloud.set(A, Service::Ec2, vec![vol(A, "vol-1", false, t3)], true, t3);
    sweep(&f, ScanType::AntiEntropy).await;
    let mut told = notices().await;
    told.sort_by_key(|n| n.id.clone());
    let kinds: Vec<TransitionKind> = told.iter().map(|n| n.kind).collect();
    assert_eq!(kinds, vec![TransitionKind::Opened, TransitionKind::Resolved, TransitionKind::Reopened]);
    assert_eq!(told[1].reason, Some(ResolvedReason::Compliant));
    let finding = f.engine.store.get_finding(&v.arn, "ec2-ebs-volume-unencrypted").await.unwrap().unwrap();
    assert_eq!(finding.transition_count(), 3, "one notice per transition");
}
