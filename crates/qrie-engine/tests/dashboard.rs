//! The dashboard's counts against a tally of the stored findings and
//! resources, on a file store (several connections, the counts concurrent)
//! and in memory (one connection the concurrent reads share).

use qrie_engine::sim::SimSpec;
use qrie_engine::Engine;
use qrie_model::{Finding, FindingState, SeverityLabel};
use qrie_store::sqlite::SqliteStore;
use qrie_store::{FindingFilter, FindingSort, PageRequest, ResourceFilter, ResourceGroup, Store};
use std::cmp::Reverse;
use std::collections::BTreeMap;
use std::sync::Arc;

/// A demo estate of three accounts swept with the default policies, a third
/// of its active findings resolved, and its last account removed.
async fn estate(store: Arc<dyn Store>) -> Engine {
    let spec = SimSpec { seed: 11, accounts: 3, resources_per_account: 60, created_at: chrono::Utc::now() };
    let (engine, estate) = qrie_engine::sim::swept_estate(store.clone(), spec).await.unwrap();
    let last = estate.read().unwrap().accounts()[2].account_id.clone();
    let resolved: Vec<qrie_store::FindingWrite> = all_findings(&*store)
        .await
        .into_iter()
        .filter(Finding::is_active)
        .step_by(3)
        .map(|mut f| {
            f.state = FindingState::Resolved;
            f.version += 1;
            qrie_store::FindingWrite::unchecked(f)
        })
        .collect();
    assert!(resolved.len() > 5, "the estate must have findings to resolve");
    store.write_findings(resolved).await.unwrap();
    engine.remove_account(&last).await.unwrap();
    engine
}

async fn all_findings(store: &dyn Store) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut page = PageRequest::first(500);
    loop {
        let p = store.list_findings(&FindingFilter::default(), FindingSort::Key, &page).await.unwrap();
        out.extend(p.items);
        match p.next_token {
            Some(t) => page.next_token = Some(t),
            None => return out,
        }
    }
}

fn tally<'a>(keys: impl Iterator<Item = String> + 'a) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    for k in keys {
        *m.entry(k).or_default() += 1;
    }
    m
}

async fn dashboard_matches_a_tally_of_the_store(store: Arc<dyn Store>) {
    let engine = estate(store.clone()).await;
    let d = engine.compute_dashboard().await.unwrap();

    let removed: Vec<String> =
        store.list_accounts().await.unwrap().into_iter().filter(|a| !a.is_active()).map(|a| a.account_id).collect();
    assert_eq!(removed.len(), 1);
    let findings: Vec<Finding> =
        all_findings(&*store).await.into_iter().filter(|f| !removed.contains(&f.account_id)).collect();
    let active: Vec<&Finding> = findings.iter().filter(|f| f.is_active()).collect();
    assert!(active.iter().map(|f| &f.account_id).collect::<std::collections::HashSet<_>>().len() == 2);

    assert_eq!(d.findings.active, active.len() as u64);
    assert_eq!(d.findings.resolved, findings.iter().filter(|f| !f.is_active()).count() as u64);
    assert!(d.findings.resolved > 0);
    let mut by_severity: BTreeMap<String, u64> = SeverityLabel::ALL.iter().map(|l| (l.to_string(), 0)).collect();
    for f in &active {
        *by_severity.get_mut(&f.severity.label().to_string()).unwrap() += 1;
    }
    assert_eq!(d.findings.by_severity, by_severity);
    assert_eq!(d.findings.by_service, tally(active.iter().map(|f| f.service().to_string())));
    assert_eq!(d.findings.by_account, tally(active.iter().map(|f| f.account_id.clone())));
    let mut top: Vec<(String, u64)> = tally(active.iter().map(|f| f.policy.clone())).into_iter().collect();
    top.sort_by_key(|(id, n)| (Reverse(*n), id.clone()));
    top.truncate(10);
    assert_eq!(d.findings.top_policies, top);

    let live = ResourceFilter { exclude_accounts: removed.clone(), ..Default::default() };
    let resources = store.count_resources(&live, Some(ResourceGroup::Account)).await.unwrap();
    assert_eq!(d.resources, resources.iter().map(|r| r.1).sum::<u64>());
    assert_eq!(resources.len(), 2, "the removed account's resources are left out");
    let by_service = store.count_resources(&live, Some(ResourceGroup::Service)).await.unwrap();
    assert_eq!(d.resources_by_service, by_service.into_iter().collect());
    assert_eq!(d.accounts, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_on_a_file_store() {
    dashboard_matches_a_tally_of_the_store(Arc::new(SqliteStore::open_temporary().unwrap())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_in_memory() {
    dashboard_matches_a_tally_of_the_store(Arc::new(SqliteStore::open_in_memory().unwrap())).await;
}

/// A recompute that started before an invalidation is not cached as fresh:
/// the next reader computes again instead of serving pre-change counts for
/// an hour.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recompute_overtaken_by_an_invalidation_is_not_cached_as_fresh() {
    use qrie_engine::summary::{cached, invalidate};
    use std::sync::Arc;
    use tokio::sync::Notify;
    let dir = tempfile::tempdir().unwrap();
    let store = qrie_store::open(&format!("sqlite:{}", dir.path().join("c.db").display())).unwrap();
    let (started, go) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
    let slow = {
        let (store, started, go) = (store.clone(), started.clone(), go.clone());
        tokio::spawn(async move {
            cached(&*store, "cache:test", || async {
                started.notify_one();
                go.notified().await;
                Ok::<_, qrie_engine::EngineError>(1u64)
            })
            .await
            .unwrap()
        })
    };
    started.notified().await;
    invalidate(&*store).await.unwrap();
    go.notify_one();
    assert_eq!(slow.await.unwrap().value, 1);
    let next = cached(&*store, "cache:test", || async { Ok::<_, qrie_engine::EngineError>(2u64) }).await.unwrap();
    assert_eq!((next.value, next.cached), (2, false), "recomputed, not the pre-invalidation value");
    let again = cached(&*store, "cache:test", || async { Ok::<_, qrie_engine::EngineError>(3u64) }).await.unwrap();
    assert_eq!((again.value, again.cached), (2, true), "fresh now");
}

/// An export walks every page: each finding the filters select exactly once,
/// a page per chunk after the header, removed accounts left out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exports_stream_every_selected_finding_once_across_pages() {
    use futures::StreamExt;
    use qrie_engine::export::ExportQuery;
    use qrie_engine::suppressions::SuppressedFilter;
    use qrie_export::{ExportContext, ExportFormat, Exporter};

    let store: Arc<dyn Store> = Arc::new(SqliteStore::open_temporary().unwrap());
    let spec = SimSpec { seed: 5, accounts: 3, resources_per_account: 700, created_at: chrono::Utc::now() };
    let (engine, estate) = qrie_engine::sim::swept_estate(store.clone(), spec).await.unwrap();
    let removed = estate.read().unwrap().accounts()[2].account_id.clone();
    engine.remove_account(&removed).await.unwrap();
    let expected: Vec<Finding> = all_findings(&*store).await.into_iter().filter(|f| f.account_id != removed).collect();
    assert!(expected.len() > 2000, "more than two pages: {}", expected.len());

    let query = ExportQuery {
        filter: FindingFilter { exclude_accounts: engine.removed_account_ids().await.unwrap(), ..Default::default() },
        sort: FindingSort::SeverityDesc,
        suppressed: SuppressedFilter::All,
    };
    let exporter = Exporter::new(ExportFormat::Csv, ExportContext::default());
    let chunks: Vec<_> = engine.export_findings(query.clone(), exporter).collect().await;
    let chunks: Vec<_> = chunks.into_iter().map(Result::unwrap).collect();
    assert_eq!(chunks[0].records, 0, "the header comes first, alone");
    assert!(chunks.len() >= 4, "a chunk per page: {}", chunks.len());
    assert!(chunks.iter().all(|c| c.records <= 1000));
    let text: String = chunks.iter().map(|c| String::from_utf8(c.bytes.clone()).unwrap()).collect();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), expected.len());
    assert_eq!(chunks.iter().map(|c| c.records).sum::<u64>(), expected.len() as u64);
    let exported: std::collections::HashSet<(String, String)> =
        rows.iter().map(|r| (r[0].to_string(), r[1].to_string())).collect();
    let want: std::collections::HashSet<(String, String)> =
        expected.iter().map(|f| (qrie_model::text::csv_cell(&f.arn).into_owned(), f.policy.clone())).collect();
    assert_eq!(exported, want, "every finding once");
    let severities: Vec<u8> = rows.iter().map(|r| r[2].parse().unwrap()).collect();
    assert!(severities.windows(2).all(|w| w[0] >= w[1]), "in the order asked for");

    // Compliance: a record per active finding of an active mapped policy × control.
    let framework = "cis-aws-3.0";
    let per_policy = |policy: &str| {
        qrie_policies::get(policy).map_or(0, |d| {
            d.compliance.iter().filter(|c| c.framework == framework).map(|c| c.controls.len()).sum::<usize>()
        })
    };
    let want: usize = expected.iter().filter(|f| f.is_active()).map(|f| per_policy(&f.policy)).sum();
    assert!(want > 0);
    let chunks: Vec<_> = engine.export_compliance(framework, ExportContext::default()).await.unwrap().collect().await;
    let lines: Vec<serde_json::Value> = chunks
        .into_iter()
        .flat_map(|c| String::from_utf8(c.unwrap().bytes).unwrap().lines().map(str::to_string).collect::<Vec<_>>())
        .map(|l| serde_json::from_str(&l).unwrap())
        .collect();
    assert_eq!(lines.len(), want);
    assert!(lines.iter().all(|l| l["class_uid"] == 2003 && l["compliance"]["status"] == "Fail"));
    let err = engine.export_compliance("cis-9", ExportContext::default()).await.err().expect("unknown framework");
    assert!(err.to_string().contains("cis-aws-3.0"), "{err}");
}
