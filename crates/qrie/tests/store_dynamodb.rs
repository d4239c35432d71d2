//! The binary on DynamoDB (moto's server): `qrie store init`, then the same
//! demo as on SQLite must give the same findings.

mod common;
use common::Qrie;
use qrie_store_dynamodb::Moto;
use serde_json::Value;
use std::collections::BTreeSet;

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
fn findings(q: &Qrie) -> BTreeSet<String> {
    q.findings(&["--state", "all"])
        .iter()
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
    let dynamo = Qrie::new().with_store(&moto.store_url("e2e_"));
    let sqlite = Qrie::new();

    let before_init = dynamo.fails(&["findings", "list"]);
    assert!(before_init.contains("qrie store init"), "a missing table says how to create it: {before_init}");

    for q in [&dynamo, &sqlite] {
        let first = q.ok(&["store", "init"]);
        assert!(first.contains("store ready"), "{first}");
        // Idempotent: a second init finds everything in place.
        q.ok(&["store", "init", "--format", "json"]);
        q.ok(&["demo", "--no-serve", "--accounts", "2", "--seed", "7"]);
    }
    let on_dynamo = findings(&dynamo);
    let on_sqlite = findings(&sqlite);
    assert!(on_sqlite.len() > 20, "the demo opens findings: {}", on_sqlite.len());
    let only_dynamo: Vec<&String> = on_dynamo.difference(&on_sqlite).collect();
    let only_sqlite: Vec<&String> = on_sqlite.difference(&on_dynamo).collect();
    assert!(
        only_dynamo.is_empty() && only_sqlite.is_empty(),
        "both backends must hold the same findings ({} on DynamoDB, {} on SQLite)\nonly on DynamoDB: {only_dynamo:#?}\nonly on SQLite: {only_sqlite:#?}",
        on_dynamo.len(),
        on_sqlite.len()
    );

    let inventory = |q: &Qrie| q.json(&["inventory", "list"]).as_array().expect("a JSON array").len();
    assert_eq!(inventory(&dynamo), inventory(&sqlite));
}

#[test]
fn bad_dynamodb_urls_are_refused_with_the_reason() {
    for (url, says) in [
        ("dynamodb://?prefix=a%20b", "may only hold"),
        ("dynamodb://?tables=x", "unknown parameter"),
        ("dynamodb://?endpoint=localhost:8000", "not an http"),
    ] {
        let stderr = Qrie::new().with_store(url).fails(&["store", "init"]);
        assert!(stderr.contains(says), "{url}: {stderr}");
    }
}
