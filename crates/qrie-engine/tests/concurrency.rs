//! Findings stay right while events, sweeps and operators race (the SQLite
//! half of `qrie_engine::sim::race`; the DynamoDB half runs on moto in
//! qrie-store-dynamodb). Several seeds: several interleavings.

use qrie_engine::sim::race::{self, RaceSpec};

async fn race_on_sqlite(seed: u64) {
    let dir = tempfile::tempdir().unwrap();
    let store = qrie_store::open(&format!("sqlite:{}", dir.path().join("race.db").display())).unwrap();
    let (engine, report) = race::run(store, RaceSpec::small(seed)).await.expect("the race runs");
    assert!(report.changes > 0, "changes went through the event path");
    let problems = race::violations(&engine).await.expect("checked");
    assert!(problems.is_empty(), "seed {seed} ({report:?}): {} problem(s):\n{}", problems.len(), problems.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn findings_stay_right_under_racing_writers_seed_1() {
    race_on_sqlite(1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn findings_stay_right_under_racing_writers_seed_2() {
    race_on_sqlite(2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn findings_stay_right_under_racing_writers_seed_3() {
    race_on_sqlite(3).await;
}

/// Changes whose CloudTrail records all went through the event path leave
/// nothing for the anti-entropy sweeps to catch: 0 missed opens and resolves
/// (dependents included: a security group opened re-evaluates the instances
/// using it), and 0 missed creates, deletes and updates.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_through_events_leave_no_drift() {
    use qrie_engine::sim::{swept_estate, SimSpec};
    use qrie_engine::{InventoryRequest, NoProgress, PolicySweepRequest};
    use qrie_model::ScanType;
    let dir = tempfile::tempdir().unwrap();
    let store = qrie_store::open(&format!("sqlite:{}", dir.path().join("d.db").display())).unwrap();
    let spec = SimSpec { seed: 11, accounts: 3, resources_per_account: 400, created_at: chrono::Utc::now() };
    let (engine, estate) = swept_estate(store, spec).await.unwrap();
    let changes = estate.write().unwrap().apply_changes(300, Some(5));
    assert_eq!(changes.len(), 300);
    let routed: Vec<_> =
        changes.iter().enumerate().map(|(i, c)| qrie_engine::events::route_record(i, c.record.clone())).collect();
    let report = engine.ingest_events(&routed).await.unwrap();
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert!(report.stats.findings_opened > 0 && report.stats.findings_resolved > 0, "{:?}", report.stats);

    let req = PolicySweepRequest { policy_id: None, scan_type: ScanType::AntiEntropy };
    let swept = engine.policy_sweep(&req, &NoProgress).await.unwrap();
    let totals = &swept.result["DriftTotals"];
    assert_eq!(
        (totals["MissedOpens"].as_u64(), totals["MissedResolves"].as_u64()),
        (Some(0), Some(0)),
        "policy sweep drift: {}",
        swept.result["Drift"]
    );
    let req = InventoryRequest { scan_type: ScanType::AntiEntropy, ..Default::default() };
    let swept = engine.inventory_sweep(&req, &NoProgress).await.unwrap();
    let totals = &swept.result["DriftTotals"];
    for kind in ["MissedCreates", "MissedDeletes", "MissedUpdates", "MissedOpens", "MissedResolves"] {
        assert_eq!(totals[kind].as_u64(), Some(0), "{kind}: {}", swept.result["Drift"]);
    }
}

mod gated {
    //! Deterministic interleavings: an inventory sweep held at its listings
    //! while an operator or an event acts, then let go.
    use async_trait::async_trait;
    use qrie_engine::policies::LaunchOptions;
    use qrie_engine::sim::{swept_estate, ChangeKind, SimCloud, SimEstate, SimSpec};
    use qrie_engine::{Cloud, CloudError, Described, Engine, InventoryRequest, Listing, NoProgress, SweepUnit};
    use qrie_model::{Account, DetectedBy, FindingState, ResolvedReason, ScanType, Service, TransitionKind};
    use rand::SeedableRng;
    use std::sync::{Arc, RwLock};
    use tokio::sync::{Notify, Semaphore};

    /// The simulated cloud, whose listings wait for the test; each lists the
    /// estate as it is when let go.
    struct Gated {
        inner: SimCloud,
        listing: Notify,
        release: Semaphore,
    }

    #[async_trait]
    impl Cloud for Gated {
        async fn enabled_regions(&self, account: &Account) -> Result<Vec<String>, CloudError> {
            self.inner.enabled_regions(account).await
        }

        async fn list(&self, account: &Account, unit: &SweepUnit) -> Result<Listing, CloudError> {
            self.listing.notify_one();
            self.release.acquire().await.expect("open").forget();
            self.inner.list(account, unit).await
        }

        async fn describe(&self, account: &Account, arn: &str) -> Result<Described, CloudError> {
            self.inner.describe(account, arn).await
        }
    }

    struct Fixture {
        _dir: tempfile::TempDir,
        engine: Engine,
        estate: Arc<RwLock<SimEstate>>,
        gated: Arc<Gated>,
        held: Engine,
    }

    async fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let store = qrie_store::open(&format!("sqlite:{}", dir.path().join("g.db").display())).unwrap();
        let spec = SimSpec { seed: 3, accounts: 2, resources_per_account: 60, created_at: chrono::Utc::now() };
        let (engine, estate) = swept_estate(store, spec).await.unwrap();
        let gated = Arc::new(Gated {
            inner: SimCloud::new(estate.clone()),
            listing: Notify::new(),
            release: Semaphore::new(0),
        });
        let held = Engine::new(engine.store.clone(), gated.clone());
        Fixture { _dir: dir, engine, estate, gated, held }
    }

    /// Starts an anti-entropy inventory sweep of `services` on the gated
    /// engine and returns once it is waiting at its first listing (its
    /// policies and findings already loaded).
    async fn hold_sweep(
        f: &Fixture,
        services: Vec<Service>,
    ) -> tokio::task::JoinHandle<Result<qrie_engine::JobReport, qrie_engine::EngineError>> {
        let held = f.held.clone();
        let sweep = tokio::spawn(async move {
            let req = InventoryRequest { services, scan_type: ScanType::AntiEntropy, ..Default::default() };
            held.inventory_sweep(&req, &NoProgress).await
        });
        f.gated.listing.notified().await;
        sweep
    }

    /// A volume created in the estate, unencrypted (the simulation picks
    /// encryption at random).
    fn unencrypted_volume(f: &Fixture) -> qrie_engine::sim::AppliedChange {
        (0..)
            .find_map(|seed| {
                let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
                let mut estate = f.estate.write().unwrap();
                let c = estate.apply_one(ChangeKind::CreateVolume, &mut rng).expect("a volume created");
                if c.description.contains("unencrypted") {
                    return Some(c);
                }
                estate.remove(&c.arn);
                None
            })
            .unwrap()
    }

    async fn policy_with_findings(engine: &Engine, service: &str) -> String {
        let views = engine.list_policies(qrie_engine::policies::PolicyListing::Active).await.unwrap();
        views
            .into_iter()
            .find(|v| v.active_findings > 3 && v.definition.is_some_and(|d| d.service.as_str() == service))
            .expect("a policy with findings")
            .policy_id
    }

    /// Reproduction 1: a suspension (or deletion) made while a sweep runs is
    /// not undone by the sweep that loaded the policy before it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn suspend_or_delete_during_a_sweep_stays_done() {
        for delete in [false, true] {
            let f = fixture().await;
            let policy = policy_with_findings(&f.engine, "s3").await;
            let before = f.engine.active_findings_of(&policy).await.unwrap();
            let sweep = hold_sweep(&f, vec![Service::S3]).await;
            let purge = if delete {
                f.engine.delete_policy(&policy).await.unwrap()
            } else {
                f.engine.suspend_policy(&policy).await.unwrap()
            };
            assert_eq!(purge.resolved, before.len() as u64);
            f.gated.release.add_permits(1000);
            let report = sweep.await.unwrap().unwrap();
            assert!(report.job.counts.get("findings.fenced").copied().unwrap_or(0) > 0, "{:?}", report.job.counts);
            let reason = if delete { ResolvedReason::PolicyDeleted } else { ResolvedReason::PolicySuspended };
            for old in before {
                let now = f.engine.store.get_finding(&old.arn, &policy).await.unwrap().unwrap();
                assert_eq!(now.state, FindingState::Resolved, "{} {policy} reopened by the sweep", old.arn);
                let last = now.history.last().unwrap();
                assert_eq!((last.kind, last.reason), (TransitionKind::Resolved, Some(reason)));
            }
        }
    }

    /// Reproduction 2: an event's open during a sweep stays the event's: the
    /// sweep that had read no finding does not open it again as anti-entropy
    /// (FirstSeen and DetectedBy kept) and reports no missed open.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_event_during_a_sweep_keeps_its_transition() {
        let f = fixture().await;
        let sweep = hold_sweep(&f, vec![Service::Ec2]).await;
        let change = unencrypted_volume(&f);
        let routed = vec![qrie_engine::events::route_record(0, change.record.clone())];
        f.engine.ingest_events(&routed).await.unwrap();
        let opened: Vec<_> = f.engine.store.findings_for_resource(&change.arn).await.unwrap();
        let opened: Vec<_> = opened.into_iter().filter(|x| x.is_active()).collect();
        assert!(!opened.is_empty(), "the new volume fails some policy");
        f.gated.release.add_permits(1000);
        let report = sweep.await.unwrap().unwrap();
        for before in opened {
            let after = f.engine.store.get_finding(&before.arn, &before.policy).await.unwrap().unwrap();
            assert_eq!(after.detected_by, DetectedBy::Event, "{}", before.policy);
            assert_eq!(after.first_seen, before.first_seen);
            assert_eq!(after.history, before.history, "only the event's open is in the history");
            assert!(after.last_evaluated >= before.last_evaluated);
        }
        let totals = &report.result["DriftTotals"];
        assert_eq!(totals["MissedOpens"].as_u64(), Some(0), "{}", report.result["Drift"]);
        assert_eq!(totals["MissedCreates"].as_u64(), Some(0), "{}", report.result["Drift"]);
    }

    /// A launch does not race itself: relaunching while a sweep holds the
    /// old generation leaves the findings the relaunch decided.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn relaunch_during_a_sweep_wins() {
        let f = fixture().await;
        let policy = policy_with_findings(&f.engine, "s3").await;
        let sweep = hold_sweep(&f, vec![Service::S3]).await;
        f.engine.suspend_policy(&policy).await.unwrap();
        f.engine.launch_policy(&policy, LaunchOptions::default(), &NoProgress).await.unwrap();
        let relaunched = f.engine.active_findings_of(&policy).await.unwrap();
        assert!(!relaunched.is_empty());
        f.gated.release.add_permits(1000);
        sweep.await.unwrap().unwrap();
        let problems = qrie_engine::sim::race::violations(&f.engine).await.unwrap();
        assert!(problems.is_empty(), "{problems:#?}");
        assert_eq!(f.engine.active_findings_of(&policy).await.unwrap().len(), relaunched.len());
    }

    /// Reproduction 7: a writer that changes a resource and writes no finding
    /// (an event deleting a volume that had none) between a sweep's read of
    /// the resource and its write: the sweep's open, decided from the copy it
    /// read, does not stay. No finding version can show this race.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_transition_decided_from_a_resource_changed_since_is_decided_again() {
        use qrie_engine::commit::{commit, Evaluator};
        use qrie_engine::evaluate::{evaluate_batch, load_active_policies, FindingIndex, RelatedCache, Tally};
        let f = fixture().await;
        // A new unencrypted volume, as a sweep lists it from the store.
        let change = unencrypted_volume(&f);
        let volume = f.estate.read().unwrap().get(&change.arn).cloned().expect("the volume is in the estate");
        f.engine.store.put_resources(vec![volume.clone()]).await.unwrap();
        let (policies, _) = load_active_policies(&*f.engine.store).await.unwrap();
        let policies: Vec<_> = policies.iter().collect();
        let accounts: std::collections::HashMap<String, Account> =
            f.engine.store.list_accounts().await.unwrap().into_iter().map(|a| (a.account_id.clone(), a)).collect();
        let mut related = RelatedCache::default();
        related.prefetch(&*f.engine.store, &policies, std::slice::from_ref(&volume)).await.unwrap();
        let mut index = FindingIndex::new();
        let mut tally = Tally::default();
        let now = chrono::Utc::now();
        let decisions =
            evaluate_batch(std::slice::from_ref(&volume), &policies, &accounts, &related, &index, now, &mut tally);
        let failing = decisions
            .iter()
            .filter(|d| matches!(d.outcome, qrie_model::lifecycle::Outcome::Evaluated(qrie_model::Verdict::Fail(_))))
            .count();
        assert!(failing > 0, "the unencrypted volume fails some policy");

        // The event: the volume is deleted; it had no finding, so none is written.
        f.engine.store.mark_deleted(&volume.account_id, vec![volume.arn.clone()], now).await.unwrap();

        let trigger = qrie_model::Trigger::job(qrie_model::DetectedBy::AntiEntropy, "sweep-1");
        let evaluator = Evaluator { policies: &policies, accounts: &accounts };
        commit(&*f.engine.store, decisions, &mut index, &trigger, Some(&evaluator), &mut tally).await.unwrap();
        let findings = f.engine.store.findings_for_resource(&volume.arn).await.unwrap();
        assert_eq!(findings.len(), failing, "the sweep's opens were written");
        for x in &findings {
            assert_eq!(x.state, FindingState::Resolved, "{}: the deletion stands", x.policy);
            assert_eq!(x.resolved_reason, Some(ResolvedReason::ResourceDeleted));
        }
        let opened = tally.total(|t| t.opened + t.reopened);
        let (resolved, drift) = (tally.total(|t| t.resolved), tally.total(|t| t.drift_opens + t.drift_resolves));
        assert_eq!((opened, resolved, drift), (0, 0, 0), "a correction is no change of the sweep's to report");
        assert_eq!(tally.total(|t| t.conflicts), failing as u64);
    }

    /// Reproduction 6: the baseline a sweep sets at its end is set on the
    /// account as stored then: a removal made while the sweep ran stays.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_removal_during_a_sweep_is_not_undone_by_its_baseline() {
        let f = fixture().await;
        let id = f.engine.store.list_accounts().await.unwrap()[0].account_id.clone();
        let a = f.engine.account(&id).await.unwrap();
        f.engine.remove_account(&id).await.unwrap();
        let back = qrie_engine::accounts::NewAccount {
            account_id: id.clone(),
            name: Some(a.name.clone()),
            role_arn: None,
            external_id: None,
            regions: a.regions.clone(),
            org_path: a.org_path.clone(),
            source: a.source,
        };
        f.engine.add_account(back).await.unwrap();
        assert!(!f.engine.account(&id).await.unwrap().is_baselined(), "added again: not baselined");
        let sweep = hold_sweep(&f, Vec::new()).await;
        f.engine.remove_account(&id).await.unwrap();
        f.gated.release.add_permits(1000);
        let report = sweep.await.unwrap().unwrap();
        let now = f.engine.account(&id).await.unwrap();
        assert!(!now.is_active(), "the removal stands");
        assert!(!now.is_baselined());
        assert!(!report.result["BaselinedAccounts"].to_string().contains(&id), "{}", report.result);
    }
}

mod drift {
    //! Reproduction 7: drift measures only what events should have caught.
    use chrono::{Duration, Utc};
    use qrie_engine::sim::{swept_estate, SimEstate, SimSpec};
    use qrie_engine::{Engine, InventoryRequest, NoProgress, PolicySweepRequest};
    use qrie_model::{Resource, ScanType};
    use serde_json::{json, Value};
    use std::sync::{Arc, RwLock};

    async fn estate() -> (tempfile::TempDir, Engine, Arc<RwLock<SimEstate>>) {
        let dir = tempfile::tempdir().unwrap();
        let store = qrie_store::open(&format!("sqlite:{}", dir.path().join("d.db").display())).unwrap();
        let spec = SimSpec { seed: 21, accounts: 2, resources_per_account: 80, created_at: Utc::now() };
        let (engine, estate) = swept_estate(store, spec).await.unwrap();
        (dir, engine, estate)
    }

    /// Changes the first resource of `kind` in the estate (no event sent).
    fn change(estate: &RwLock<SimEstate>, kind: &str, f: impl FnOnce(&mut Value)) -> Resource {
        let mut e = estate.write().unwrap();
        let mut r = e.iter().find(|r| r.resource_type == kind).expect("one of the kind").clone();
        f(&mut r.configuration);
        r.rehash();
        e.upsert(r.clone());
        r
    }

    async fn anti_entropy(engine: &Engine) -> Value {
        let req = InventoryRequest { scan_type: ScanType::AntiEntropy, ..Default::default() };
        engine.inventory_sweep(&req, &NoProgress).await.unwrap().result
    }

    /// What AWS changes by itself (last-used times, instance state, snapshot
    /// progress, who uses a security group) is no missed update; a real
    /// change beside it is.
    #[tokio::test]
    async fn volatile_fields_are_no_missed_updates() {
        let (_dir, engine, estate) = estate().await;
        change(&estate, "AWS::IAM::Role", |c| {
            c["Role"]["RoleLastUsed"]["LastUsedDate"] = json!("2031-01-01T00:00:00Z")
        });
        change(&estate, "AWS::EC2::Instance", |c| c["Instance"]["State"] = json!({"Code": 80, "Name": "stopped"}));
        change(&estate, "AWS::EC2::SecurityGroup", |c| {
            c["NetworkInterfaces"] = json!([{"NetworkInterfaceId": "eni-1"}])
        });
        change(&estate, "AWS::IAM::User", |c| {
            c["CredentialReport"]["password_last_used"] = json!("2031-01-01T00:00:00+00:00")
        });
        let r = anti_entropy(&engine).await;
        assert_eq!(r["DriftTotals"]["MissedUpdates"], 0, "{}", r["Drift"]);
        assert_eq!(r["Resources"]["Updated"], 0, "the changes are stored, not counted as updates");

        change(&estate, "AWS::IAM::Role", |c| c["Role"]["Path"] = json!("/changed/"));
        let r = anti_entropy(&engine).await;
        assert_eq!(r["DriftTotals"]["MissedUpdates"], 1, "{}", r["Drift"]);
    }

    /// A terminated instance is gone from the moment it terminated: its
    /// TerminateInstances event records the deletion, and its disappearance an
    /// hour later is no missed delete. Terminated silently, it is one.
    #[tokio::test]
    async fn terminations_are_deletions_when_aws_reports_them() {
        let (_dir, engine, estate) = estate().await;
        let instances: Vec<Resource> = estate
            .read()
            .unwrap()
            .iter()
            .filter(|r| r.resource_type == "AWS::EC2::Instance")
            .take(2)
            .cloned()
            .collect();
        let terminate = |r: &Resource| {
            let mut t = r.clone();
            t.configuration["Instance"]["State"] = json!({"Code": 48, "Name": "terminated"});
            t.rehash();
            estate.write().unwrap().upsert(t);
        };
        // The first with its event, the second silently.
        terminate(&instances[0]);
        let id = instances[0].arn.rsplit('/').next().unwrap();
        let record = json!({
            "eventVersion": "1.09", "eventID": "0c4a1f3e-0000-4000-8000-00000000a001", "eventTime": Utc::now().to_rfc3339(),
            "eventSource": "ec2.amazonaws.com", "eventName": "TerminateInstances", "awsRegion": instances[0].region,
            "eventType": "AwsApiCall", "readOnly": false, "recipientAccountId": instances[0].account_id,
            "userIdentity": {"type": "AssumedRole", "accountId": instances[0].account_id},
            "requestParameters": {"instancesSet": {"items": [{"instanceId": id}]}},
            "responseElements": {"instancesSet": {"items": [{"instanceId": id}]}}
        });
        let report = engine.ingest_events(&[qrie_engine::events::route_record(0, record)]).await.unwrap();
        assert_eq!(report.stats.deleted, 1, "{:?}", report);
        assert!(engine.store.get_resource(&instances[0].arn).await.unwrap().unwrap().is_deleted());
        terminate(&instances[1]);
        let r = anti_entropy(&engine).await;
        assert_eq!(r["DriftTotals"]["MissedDeletes"], 1, "only the silent one: {}", r["Drift"]);
        // An hour later AWS no longer lists them: nothing more is missed.
        for i in &instances {
            estate.write().unwrap().remove(&i.arn);
        }
        let r = anti_entropy(&engine).await;
        assert_eq!(r["DriftTotals"]["MissedDeletes"], 0, "{}", r["Drift"]);
    }

    /// An open that only time made (a key that grew older than the limit
    /// since the last evaluation, configuration unchanged) is counted as
    /// time-based, not as missed by events.
    #[tokio::test]
    async fn time_made_opens_are_time_based_not_missed() {
        let (_dir, engine, estate) = estate().await;
        let policy = "iam-user-access-key-too-old";
        let rotated = qrie_engine::sim::generate::report_time(Utc::now() - Duration::hours(91 * 24 + 12));
        let user = change(&estate, "AWS::IAM::User", |c| {
            let row = &mut c["CredentialReport"];
            row["access_key_1_active"] = json!("true");
            row["access_key_1_last_rotated"] = json!(rotated);
            row["access_key_2_active"] = json!("false");
        });
        // Stored as it is now, its finding as a pass two days ago decided it.
        let req = InventoryRequest { scan_type: ScanType::Bootstrap, ..Default::default() };
        engine.inventory_sweep(&req, &NoProgress).await.unwrap();
        let mut f = engine.store.get_finding(&user.arn, policy).await.unwrap().expect("the key is too old now");
        f.state = qrie_model::FindingState::Resolved;
        f.resolved_at = Some(Utc::now() - Duration::days(2));
        f.resolved_reason = Some(qrie_model::ResolvedReason::Compliant);
        f.last_evaluated = Utc::now() - Duration::days(2);
        f.history.push(qrie_model::Transition {
            at: Utc::now() - Duration::days(2),
            kind: qrie_model::TransitionKind::Resolved,
            reason: Some(qrie_model::ResolvedReason::Compliant),
            trigger: qrie_model::Trigger::new(qrie_model::DetectedBy::AntiEntropy),
        });
        f.version += 1;
        engine.store.write_findings(vec![qrie_store::FindingWrite::unchecked(f)]).await.unwrap();

        let req = PolicySweepRequest { policy_id: Some(policy.into()), scan_type: ScanType::AntiEntropy };
        let r = engine.policy_sweep(&req, &NoProgress).await.unwrap().result;
        assert_eq!(r["DriftTotals"]["MissedOpens"], 0, "{}", r["Drift"]);
        assert_eq!(r["TimeBased"], 1, "{}", r["Drift"]);
        assert!(engine.store.get_finding(&user.arn, policy).await.unwrap().unwrap().is_active());
    }

    /// A create AWS dates within the grace window before the listing is not
    /// counted as missed (its event may be on the way); past it, it is.
    #[tokio::test]
    async fn a_change_younger_than_the_grace_window_is_not_missed() {
        use rand::SeedableRng;
        let (_dir, engine, estate) = estate().await;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(4);
        estate.write().unwrap().apply_one(qrie_engine::sim::ChangeKind::CreateVolume, &mut rng).expect("created");
        let r = anti_entropy(&engine).await;
        assert_eq!((r["DriftTotals"]["MissedCreates"].as_u64(), r["WithinGrace"].as_u64()), (Some(0), Some(1)), "{r}");

        estate.write().unwrap().apply_one(qrie_engine::sim::ChangeKind::CreateVolume, &mut rng).expect("created");
        let req = InventoryRequest {
            scan_type: ScanType::AntiEntropy,
            drift_grace: Some(Duration::zero()),
            ..Default::default()
        };
        let r = engine.inventory_sweep(&req, &NoProgress).await.unwrap().result;
        assert_eq!((r["DriftTotals"]["MissedCreates"].as_u64(), r["WithinGrace"].as_u64()), (Some(1), Some(0)), "{r}");
    }
}
