//! Archive before purge, on both backends: deleting a policy with purge when
//! the destination cannot be written purges nothing; archiving writes every
//! selected finding with its whole log, then deletes exactly those that did
//! not change meanwhile (a change forced between the archive and the delete);
//! retention selects by resolution time; the audit log says where it went.

use async_trait::async_trait;
use qrie_engine::archive::{ArchiveSelection, ArchiveSink, DirSink};
use qrie_engine::audit::AuditQuery;
use qrie_engine::{Engine, EngineError, NoProgress};
use qrie_model::audit::AuditAction;
use qrie_model::{history_series, Finding, FindingState};
use qrie_store::{FindingWrite, Store};
use serde_json::Value;
use std::io::BufRead;
use std::path::Path;
use std::sync::Arc;

/// A destination that, while it stores the archive, lets an "event" change
/// one of the archived findings: the race between archive and delete.
struct RacingSink<'a> {
    inner: DirSink,
    store: &'a dyn Store,
    changed: Finding,
}

#[async_trait]
impl ArchiveSink for RacingSink<'_> {
    async fn store(&self, name: &str, local: &Path) -> Result<String, String> {
        let mut f = self.changed.clone();
        f.version += 1;
        f.evidence = serde_json::json!({"changed": "while the archive was stored"});
        let write = FindingWrite::unchecked(f);
        self.store.write_findings(vec![write]).await.map_err(|e| e.to_string())?;
        self.inner.store(name, local).await
    }
    fn describe(&self) -> String {
        self.inner.describe()
    }
}

fn lines_of(path: &Path) -> Vec<Value> {
    let gz = flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap());
    std::io::BufReader::new(gz).lines().map(|l| serde_json::from_str(&l.unwrap()).unwrap()).collect()
}

async fn of_policy(store: &dyn Store, policy: &str) -> Vec<Finding> {
    store.findings_for_policy(policy, None).await.unwrap()
}

pub(super) async fn scenario(store: Arc<dyn Store>) {
    let spec =
        qrie_engine::sim::SimSpec { seed: 15, accounts: 2, resources_per_account: 30, created_at: chrono::Utc::now() };
    let (engine, _estate) = qrie_engine::sim::swept_estate(store.clone(), spec).await.unwrap();
    let engine = engine.acting_as("token:root");
    let active = super::all_active(&*store).await;
    let mut policies: Vec<(String, usize)> = Vec::new();
    for f in &active {
        match policies.iter_mut().find(|(p, _)| *p == f.policy) {
            Some((_, n)) => *n += 1,
            None => policies.push((f.policy.clone(), 1)),
        }
    }
    policies.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
    let top = policies[0].0.clone();
    let held = of_policy(&*store, &top).await;
    assert!(held.len() >= 3, "the policy must have findings to archive: {}", held.len());

    // --- A destination that cannot be written: the policy is deleted (its
    // findings resolved), nothing is purged, and the error says what to do.
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("a-file");
    std::fs::write(&blocker, b"not a directory").unwrap();
    let unwritable = DirSink::new(blocker.join("archive"));
    let err = engine.delete_policy_purging(&top, &unwritable, &NoProgress).await.unwrap_err();
    assert!(matches!(err, EngineError::Archive(_)), "{err}");
    assert!(err.to_string().contains(&format!("qrie findings archive --policy {top}")), "{err}");
    let kept = of_policy(&*store, &top).await;
    assert_eq!(kept.len(), held.len(), "nothing purged");
    assert!(kept.iter().all(|f| f.state == FindingState::Resolved), "deleting the policy resolved them");
    assert!(!store.list_history(&history_series(&kept[0].arn, &top), 0, 10).await.unwrap().is_empty());
    let purges = AuditQuery { action: Some(AuditAction::FindingsPurge), ..Default::default() };
    assert!(engine.audit_log(&purges, Engine::now()).await.unwrap().is_empty(), "no purge recorded");

    // --- Retention selects by resolution time; a dry run only counts.
    let selection = ArchiveSelection { policy: Some(top.clone()), ..Default::default() };
    let recent =
        ArchiveSelection { resolved_before: Some(Engine::now() - chrono::Duration::days(1)), ..selection.clone() };
    let nothing = engine.archive_findings(&recent, &unwritable, false, &NoProgress).await.unwrap();
    assert_eq!((nothing.archived, nothing.purged, nothing.location.clone()), (0, 0, None));
    let dry = engine.archive_findings(&selection, &unwritable, true, &NoProgress).await.unwrap();
    assert_eq!((dry.archived, dry.purged, dry.dry_run), (held.len() as u64, 0, true));
    assert_eq!(of_policy(&*store, &top).await.len(), held.len());

    // --- Archive, with one finding changed between the archive and the delete.
    let target = dir.path().join("archive");
    let changed = kept[0].clone();
    let racing = RacingSink { inner: DirSink::new(&target), store: &*store, changed: changed.clone() };
    let report = engine.archive_findings(&selection, &racing, false, &NoProgress).await.unwrap();
    assert_eq!((report.archived, report.purged, report.kept_changed), (held.len() as u64, held.len() as u64 - 1, 1));
    let location = report.location.clone().unwrap();
    let files: Vec<_> = std::fs::read_dir(&target).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(files.len(), 1, "one archive, no partial file left: {files:?}");
    assert_eq!(files[0].display().to_string(), location);
    let name = files[0].file_name().unwrap().to_string_lossy().to_string();
    assert!(name.starts_with(&format!("policy-{top}-")) && name.ends_with(".jsonl.gz"), "{name}");

    // Every archived line is a finding as it was read, with its whole log.
    let lines = lines_of(&files[0]);
    assert_eq!(lines.len(), held.len());
    for line in &lines {
        let f: Finding = serde_json::from_value(line["Finding"].clone()).unwrap();
        assert_eq!(f.state, FindingState::Resolved);
        let history = line["History"].as_array().unwrap();
        assert_eq!(history.len() as u64, f.transition_count(), "{} {}", f.arn, f.policy);
        assert_eq!(history.last().unwrap()["Kind"], "resolved", "the log ends with the resolution");
    }

    // The store keeps only the finding that changed, and its log.
    let left = of_policy(&*store, &top).await;
    assert_eq!(left.len(), 1);
    assert_eq!((&left[0].arn, left[0].version), (&changed.arn, changed.version + 1));
    assert!(!store.list_history(&history_series(&changed.arn, &top), 0, 10).await.unwrap().is_empty());
    let purged = held.iter().find(|f| f.arn != changed.arn).unwrap();
    assert!(store.list_history(&history_series(&purged.arn, &top), i64::MIN, 10).await.unwrap().is_empty());

    // The audit log says who archived and purged what, and where it went.
    let trail = engine.audit_log(&AuditQuery::default(), Engine::now()).await.unwrap();
    let purge = trail.iter().find(|e| e.action == AuditAction::FindingsPurge).unwrap();
    let archive = trail.iter().find(|e| e.action == AuditAction::FindingsArchive).unwrap();
    assert_eq!((purge.actor.as_str(), archive.actor.as_str()), ("token:root", "token:root"));
    assert_eq!(archive.details["Location"], location.as_str());
    assert_eq!(archive.details["Findings"], held.len() as u64);
    assert_eq!(purge.details["Purged"], held.len() as u64 - 1);
    assert_eq!(purge.details["KeptChanged"], 1);
    assert!(trail.iter().any(|e| e.action == AuditAction::PolicyDelete && e.target == top));
    println!("{}: archive scenario passed ({} findings)", store.location(), held.len());
}
