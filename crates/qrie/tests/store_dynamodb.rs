//! The binary on DynamoDB (moto's server): `qrie store init`, then the same
//! demo as on SQLite must give the same findings.

use qrie_store_dynamodb::Moto;
use serde_json::Value;
use std::collections::BTreeSet;
use std::process::{Command, Output};

fn qrie(store: &str, dir: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_qrie"))
        .arg("--store")
        .arg(store)
        .args(args)
        .env_remove("QRIE_STORE")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ENDPOINT_URL")
        .envs(Moto::env())
        .current_dir(dir)
        .output()
        .expect("run qrie")
}

fn ok(store: &str, dir: &std::path::Path, args: &[&str]) -> String {
    let out = qrie(store, dir, args);
    assert!(
        out.status.success(),
        "qrie --store {store} {args:?} failed:\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

fn fails(store: &str, dir: &std::path::Path, args: &[&str]) -> String {
    let out = qrie(store, dir, args);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!out.status.success(), "qrie --store {store} {args:?} should have failed");
    assert!(stderr.contains("error:") && !stderr.contains("panicked"), "{stderr}");
    stderr
}

/// Evidence with its timestamps masked: the two demos generate their estates
/// seconds apart, and the simulated credential dates follow the generation time.
fn without_times(v: &Value) -> Value {
    match v {
        Value::String(s) if chrono::DateTime::parse_from_rfc3339(s).is_ok() => Value::from("<time>"),
        Value::Array(items) => Value::Array(items.iter().map(without_times).collect()),
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), without_times(v))).collect()),
        other => other.clone(),
    }
}

/// What must agree between backends: everything but the times of this run.
fn findings(store: &str, dir: &std::path::Path) -> BTreeSet<String> {
    let out = ok(store, dir, &["findings", "list", "--state", "all", "--format", "json"]);
    let list: Vec<Value> = serde_json::from_str(&out).expect("a JSON array");
    list.iter()
        .map(|f| {
            let kept = serde_json::json!({
                "ARN": f["ARN"], "Policy": f["Policy"], "State": f["State"], "Severity": f["Severity"],
                "AccountService": f["AccountService"], "Region": f["Region"], "Evidence": without_times(&f["Evidence"]),
                "ResolvedReason": f["ResolvedReason"], "DetectedBy": f["DetectedBy"],
            });
            kept.to_string()
        })
        .collect()
}

#[test]
fn demo_on_dynamodb_gives_the_same_findings_as_on_sqlite() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let dynamo = moto.store_url("e2e_");
    let sqlite = format!("sqlite:{}", dir.path().join("qrie.db").display());

    let before_init = fails(&dynamo, dir.path(), &["findings", "list"]);
    assert!(before_init.contains("qrie store init"), "a missing table says how to create it: {before_init}");

    for store in [&dynamo, &sqlite] {
        let first = ok(store, dir.path(), &["store", "init"]);
        assert!(first.contains("store ready"), "{first}");
        // Idempotent: a second init finds everything in place.
        ok(store, dir.path(), &["store", "init", "--format", "json"]);
        ok(store, dir.path(), &["demo", "--no-serve", "--accounts", "2", "--seed", "7"]);
    }
    let on_dynamo = findings(&dynamo, dir.path());
    let on_sqlite = findings(&sqlite, dir.path());
    assert!(on_sqlite.len() > 20, "the demo opens findings: {}", on_sqlite.len());
    let only_dynamo: Vec<&String> = on_dynamo.difference(&on_sqlite).collect();
    let only_sqlite: Vec<&String> = on_sqlite.difference(&on_dynamo).collect();
    assert!(
        only_dynamo.is_empty() && only_sqlite.is_empty(),
        "both backends must hold the same findings ({} on DynamoDB, {} on SQLite)\nonly on DynamoDB: {only_dynamo:#?}\nonly on SQLite: {only_sqlite:#?}",
        on_dynamo.len(),
        on_sqlite.len()
    );

    let inventory = |store: &str| {
        let out = ok(store, dir.path(), &["inventory", "list", "--format", "json"]);
        serde_json::from_str::<Vec<Value>>(&out).expect("a JSON array").len()
    };
    assert_eq!(inventory(&dynamo), inventory(&sqlite));
}

#[test]
fn bad_dynamodb_urls_are_refused_with_the_reason() {
    let dir = tempfile::tempdir().expect("temp dir");
    for (url, says) in [
        ("dynamodb://?prefix=a%20b", "may only hold"),
        ("dynamodb://?tables=x", "unknown parameter"),
        ("dynamodb://?endpoint=localhost:8000", "not an http"),
    ] {
        let stderr = fails(url, dir.path(), &["store", "init"]);
        assert!(stderr.contains(says), "{url}: {stderr}");
    }
}
