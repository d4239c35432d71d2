//! The conformance suite on SQLite files, and what is particular to SQLite:
//! refusing files that are not (or not yet) qrie stores at open, durability
//! across reopening, and concurrent use from a multi-thread runtime.

#![cfg(feature = "sqlite")]

use chrono::{DateTime, Utc};
use qrie_model::{Finding, Resource, Service};
use qrie_store::sqlite::SqliteStore;
use qrie_store::{PageRequest, ResourceFilter, ResourceStore, Store, StoreError, WriteOutcome};
use serde_json::json;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

async fn fresh() -> Arc<dyn Store> {
    Arc::new(SqliteStore::open_temporary().expect("a temporary store"))
}

qrie_store::conformance_tests!(fresh());

qrie_store::conformance_tests!(mod in_memory => async {
    Arc::new(SqliteStore::open_in_memory().expect("an in-memory store")) as Arc<dyn Store>
});

#[tokio::test]
async fn run_all_gives_every_case_a_fresh_store() {
    let made = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = Arc::clone(&made);
    qrie_store::conformance::run_all(move || {
        counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        fresh()
    })
    .await;
    let cases = qrie_store::conformance::cases();
    assert_eq!(made.load(std::sync::atomic::Ordering::SeqCst), cases.len());
    assert!(cases.len() >= 20);
}

fn at(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(1_714_564_800_000 + ms).expect("a valid instant")
}

fn bucket(account: &str, name: &str) -> Resource {
    Resource::new(
        format!("arn:aws:s3:::{name}"),
        account,
        "us-east-1",
        Service::S3,
        "AWS::S3::Bucket",
        name,
        BTreeMap::new(),
        json!({"Versioning": {"Status": "Enabled"}}),
        BTreeMap::new(),
        at(0),
    )
}

fn temp_dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("a temporary directory")
}

fn raw(path: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(path).expect("a raw SQLite connection")
}

#[track_caller]
fn expect_corrupt(result: qrie_store::Result<impl std::fmt::Debug>, path: &Path, reason_has: &str) {
    match result {
        Err(e @ StoreError::Corrupt { .. }) => {
            let message = e.to_string();
            assert!(message.contains(&path.display().to_string()), "the message names the file: {message}");
            assert!(message.contains(reason_has), "the message says why ({reason_has:?}): {message}");
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

#[test]
fn a_file_that_is_not_sqlite_is_corrupt_at_open() {
    let dir = temp_dir();
    for (name, content) in [("big.db", "this is not a database\n".repeat(400)), ("small.db", "hello".to_string())] {
        let path = dir.path().join(name);
        std::fs::write(&path, &content).expect("write");
        expect_corrupt(SqliteStore::open(&path), &path, "not a database");
        expect_corrupt(qrie_store::open(&format!("sqlite:{}", path.display())).map(|_| ()), &path, "not a database");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), content, "a refused file is left untouched");
    }
}

#[test]
fn a_missing_directory_or_a_directory_is_an_open_error() {
    let dir = temp_dir();
    let missing = dir.path().join("no-such-dir").join("store.db");
    for path in [missing.clone(), dir.path().to_path_buf()] {
        match SqliteStore::open(&path) {
            Err(e @ StoreError::Open { .. }) => assert!(e.to_string().contains(&path.display().to_string()), "{e}"),
            other => panic!("expected Open for {}, got {other:?}", path.display()),
        }
    }
    assert!(!missing.parent().expect("a parent").exists(), "open does not create directories");
}

#[test]
fn a_store_from_a_newer_qrie_is_refused() {
    let dir = temp_dir();
    let path = dir.path().join("future.db");
    drop(SqliteStore::open(&path).expect("create"));
    let known: i64 = raw(&path).query_row("PRAGMA user_version", [], |r| r.get(0)).expect("version");
    assert!(known >= 1);
    raw(&path).pragma_update(None, "user_version", known + 1).expect("bump");
    expect_corrupt(SqliteStore::open(&path), &path, "newer qrie");
}

#[test]
fn a_foreign_sqlite_database_is_refused_and_left_alone() {
    let dir = temp_dir();
    let path = dir.path().join("crm.db");
    raw(&path)
        .execute_batch(
            "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO customers (name) VALUES ('x');",
        )
        .expect("a foreign database");
    expect_corrupt(SqliteStore::open(&path), &path, "not a qrie store");
    let conn = raw(&path);
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
        .expect("prepare")
        .query_map([], |r| r.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    assert_eq!(tables, vec!["customers"]);
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).expect("version");
    assert_eq!(version, 0);
}

#[test]
fn an_empty_file_becomes_a_store_in_wal_mode() {
    let dir = temp_dir();
    let path = dir.path().join("empty.db");
    std::fs::write(&path, b"").expect("an empty file");
    drop(SqliteStore::open(&path).expect("an empty file is an empty database"));
    let mode: String = raw(&path).query_row("PRAGMA journal_mode", [], |r| r.get(0)).expect("journal mode");
    assert_eq!(mode, "wal");
}

#[tokio::test]
async fn reopening_keeps_the_data() {
    let dir = temp_dir();
    let path = dir.path().join("qrie.db");
    let b = bucket("111111111111", "kept");
    {
        let store = qrie_store::open(&format!("sqlite:{}", path.display())).expect("open");
        assert_eq!(store.location(), path.display().to_string());
        assert_eq!(store.put_resources(vec![b.clone()]).await.expect("put"), vec![WriteOutcome::Written]);
        store.kv_put("sim", "state", json!({"n": 1})).await.expect("kv");
        store.append_history("drift", 5, json!(1)).await.expect("history");
    }
    for url in [format!("sqlite://{}", path.display()), path.display().to_string()] {
        let store = qrie_store::open(&url).expect("reopen");
        assert_eq!(store.get_resource(&b.arn).await.expect("get"), Some(b.clone()), "{url}");
        assert_eq!(store.kv_get("sim", "state").await.expect("kv"), Some(json!({"n": 1})));
        assert_eq!(store.list_history("drift", 0, 10).await.expect("history"), vec![(5, json!(1))]);
    }
}

#[test]
fn store_urls_are_checked() {
    for url in ["", "sqlite:", "dynamodb:qrie", "http://example.com/db"] {
        assert!(matches!(qrie_store::open(url), Err(StoreError::Url { .. })), "{url:?}");
    }
}

#[tokio::test]
async fn an_undecodable_row_is_a_decode_error_naming_it() {
    let dir = temp_dir();
    let path = dir.path().join("qrie.db");
    let store = SqliteStore::open(&path).expect("open");
    let b = bucket("111111111111", "mangled");
    store.put_resources(vec![b.clone()]).await.expect("put");
    raw(&path).execute("UPDATE resources SET doc = '{\"ARN\": 1}' WHERE arn = ?1", [&b.arn]).expect("mangle");
    for result in [
        store.get_resource(&b.arn).await.map(|_| ()),
        store.list_resources(&ResourceFilter::default(), &PageRequest::first(10)).await.map(|_| ()),
        store.mark_deleted(&b.account_id, vec![b.arn.clone()], at(10)).await.map(|_| ()),
    ] {
        match result {
            Err(StoreError::Decode { key, .. }) => assert!(key.contains(&b.arn), "{key}"),
            other => panic!("expected Decode, got {other:?}"),
        }
    }
}

#[test]
fn a_temporary_store_removes_its_files() {
    let store = SqliteStore::open_temporary().expect("temporary");
    let path = PathBuf::from(qrie_store::Located::location(&store));
    assert!(path.exists());
    let clone = store.clone();
    drop(store);
    assert!(path.exists(), "a clone keeps it alive");
    drop(clone);
    assert!(!path.exists(), "{} is removed with the last handle", path.display());
}

#[test]
fn concurrent_opens_of_a_new_file_both_succeed() {
    let dir = temp_dir();
    let path = dir.path().join("race.db");
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let path = path.clone();
            std::thread::spawn(move || SqliteStore::open(&path).map(drop))
        })
        .collect();
    for h in handles {
        h.join().expect("thread").expect("open");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_from_many_tasks_on_a_multi_thread_runtime_all_land() {
    let dir = temp_dir();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir.path().join("busy.db")).expect("open"));
    const TASKS: usize = 8;
    const BATCHES: usize = 10;
    const PER_BATCH: usize = 50;
    let tasks: Vec<_> = (0..TASKS)
        .map(|t| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                for b in 0..BATCHES {
                    let batch: Vec<Resource> =
                        (0..PER_BATCH).map(|i| bucket("111111111111", &format!("t{t}-b{b}-{i}"))).collect();
                    let findings: Vec<Finding> = batch.iter().map(finding_for).collect();
                    let outcomes = store.put_resources(batch).await.expect("put resources");
                    assert!(outcomes.iter().all(|o| *o == WriteOutcome::Written));
                    let writes = findings.into_iter().map(qrie_store::FindingWrite::unchecked).collect();
                    let written = store.write_findings(writes).await.expect("write findings");
                    assert!(written.iter().all(|o| *o == qrie_store::FindingWriteOutcome::Written));
                    store.kv_put("tasks", &format!("{t}-{b}"), json!(b)).await.expect("kv");
                    store.append_history("progress", (t * BATCHES + b) as i64, json!(t)).await.expect("history");
                    // Reads interleave with other tasks' writes.
                    store.count_resources(&ResourceFilter::default(), None).await.expect("count");
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("task");
    }
    let n = (TASKS * BATCHES * PER_BATCH) as u64;
    assert_eq!(store.count_resources(&ResourceFilter::default(), None).await.expect("count"), vec![(String::new(), n)]);
    assert_eq!(store.count_findings(&Default::default(), None).await.expect("count"), vec![(String::new(), n)]);
    assert_eq!(store.kv_list("tasks").await.expect("kv").len(), TASKS * BATCHES);
    assert_eq!(store.list_history("progress", 0, usize::MAX).await.expect("history").len(), TASKS * BATCHES);
}

fn finding_for(r: &Resource) -> Finding {
    Finding {
        arn: r.arn.clone(),
        policy: "s3-bucket-public".into(),
        account_service: r.account_service(),
        account_id: r.account_id.clone(),
        region: r.region.clone(),
        resource_type: r.resource_type.clone(),
        severity: qrie_model::Severity::of(90),
        state: qrie_model::FindingState::Active,
        first_seen: at(0),
        last_evaluated: at(0),
        evidence: json!({}),
        resolved_at: None,
        resolved_reason: None,
        detected_by: qrie_model::DetectedBy::Bootstrap,
        transitions: 0,
        history: Vec::new(),
        version: 1,
    }
}
