//! Every export format read back the way its consumers read it: OCSF against
//! the OCSF 1.5.0 class definitions, ASFF against botocore's model of
//! `BatchImportFindings`, CSV through Python's csv module. The validators
//! are `scripts/validate-export` in the venv that `scripts/setup-python` makes.

use chrono::{TimeZone, Utc};
use qrie_export::{ocsf, ExportContext, ExportFormat, Exporter, PolicyText, Record};
use qrie_model::suppression::{Suppression, SuppressionCategory};
use qrie_model::{
    DetectedBy, Finding, FindingState, ResolvedReason, Severity, Timestamp, Transition, TransitionKind, Trigger,
};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs the validator; a missing venv is a failure (scripts/test makes it).
fn validate(kind: &str, path: &Path) -> (bool, String) {
    let python = root().join(".venv/bin/python");
    assert!(python.exists(), "{} is missing: run scripts/setup-python", python.display());
    let out = Command::new(python)
        .arg(root().join("scripts/validate-export"))
        .arg(kind)
        .arg(path)
        .output()
        .expect("run scripts/validate-export");
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

fn at(day: u32, hour: u32) -> Timestamp {
    Utc.with_ymd_and_hms(2026, 11, day, hour, 0, 0).single().expect("time")
}

fn transition(kind: TransitionKind, when: Timestamp, reason: Option<ResolvedReason>) -> Transition {
    Transition { at: when, kind, reason, trigger: Trigger::new(DetectedBy::AntiEntropy) }
}

fn policy_for(resource_type: &str) -> &'static qrie_model::PolicyDef {
    qrie_policies::for_resource_type(resource_type)
        .find(|p| !p.compliance.is_empty())
        .unwrap_or_else(|| panic!("a catalog policy for {resource_type} with compliance mappings"))
}

fn finding(arn: &str, policy: &str, resource_type: &str, region: &str, history: Vec<Transition>) -> Finding {
    let last = history.last().expect("history").clone();
    let active = last.kind != TransitionKind::Resolved;
    Finding {
        arn: arn.into(),
        policy: policy.into(),
        account_service: "111122223333_s3".into(),
        account_id: "111122223333".into(),
        region: region.into(),
        resource_type: resource_type.into(),
        severity: Severity::new(75).expect("severity"),
        state: if active { FindingState::Active } else { FindingState::Resolved },
        first_seen: history[0].at,
        last_evaluated: at(20, 12),
        evidence: json!({"GetBucketPolicyStatus": {"IsPublic": true}, "Note": "=1+1"}),
        resolved_at: (!active).then_some(last.at),
        resolved_reason: last.reason,
        detected_by: DetectedBy::AntiEntropy,
        transitions: history.len() as u64,
        history,
        version: 3,
    }
}

/// Five findings covering each state an export reports.
fn findings() -> Vec<(Finding, Option<Suppression>)> {
    let s3 = policy_for("AWS::S3::Bucket").id;
    let iam = policy_for("AWS::IAM::User").id;
    let opened = |d| vec![transition(TransitionKind::Opened, at(d, 1), None)];
    let suppression = Suppression {
        rule_id: "sup-1".into(),
        category: SuppressionCategory::AcceptedRisk,
        since: at(3, 0),
        until: None,
    };
    vec![
        // An identifier a spreadsheet would run as a formula (a name chosen
        // by whoever owns the resource can end up in any text cell).
        (finding("=HYPERLINK(\"http://x\",\"y\")", s3, "AWS::S3::Bucket", "us-east-1", opened(1)), None),
        (
            finding(
                "arn:aws:s3:::reopened",
                s3,
                "AWS::S3::Bucket",
                "eu-west-1",
                vec![
                    transition(TransitionKind::Opened, at(1, 1), None),
                    transition(TransitionKind::Resolved, at(2, 1), Some(ResolvedReason::Compliant)),
                    transition(TransitionKind::Reopened, at(4, 1), None),
                ],
            ),
            None,
        ),
        (
            finding(
                "arn:aws:iam::111122223333:user/alice",
                iam,
                "AWS::IAM::User",
                "global",
                vec![
                    transition(TransitionKind::Opened, at(1, 1), None),
                    transition(TransitionKind::Resolved, at(5, 1), Some(ResolvedReason::Compliant)),
                ],
            ),
            None,
        ),
        (finding("arn:aws:s3:::accepted", s3, "AWS::S3::Bucket", "us-east-1", opened(2)), Some(suppression)),
        (finding("arn:aws:s3:::custom", "custom.acme-owner-tag", "AWS::S3::Bucket", "us-east-1", opened(2)), None),
    ]
}

fn context() -> ExportContext {
    ExportContext {
        product_version: "0.1.0".into(),
        ui_url: Some("https://qrie.example.com/".into()),
        home_region: "eu-central-1".into(),
    }
}

/// The export of `findings()` in `format`, written to a file.
fn export(format: ExportFormat, dir: &Path) -> (PathBuf, Vec<u8>) {
    let mut exporter = Exporter::new(format, context());
    let mut out = Vec::new();
    exporter.begin(&mut out).expect("begin");
    for (f, s) in &findings() {
        exporter.write(Record { finding: f, suppression: s.as_ref(), policy_paused: false }, &mut out).expect("write");
    }
    let path = dir.join(format.file_name());
    std::fs::write(&path, &out).expect("write file");
    (path, out)
}

fn lines(bytes: &[u8]) -> Vec<Value> {
    String::from_utf8(bytes.to_vec())
        .expect("utf-8")
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON document per line"))
        .collect()
}

#[test]
fn ocsf_detection_findings_are_valid_and_follow_the_lifecycle() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (path, bytes) = export(ExportFormat::Ocsf, dir.path());
    let (ok, report) = validate("ocsf", &path);
    assert!(ok, "OCSF schema validation failed:\n{report}");
    assert!(report.contains("5 valid records"), "{report}");

    let records = lines(&bytes);
    let field = |k: &str| records.iter().map(|r| r[k].clone()).collect::<Vec<_>>();
    assert_eq!(field("class_uid"), vec![json!(2004); 5]);
    // Opened once: Create; reopened: Update; resolved: Close.
    assert_eq!(field("activity_id"), vec![json!(1), json!(2), json!(3), json!(1), json!(1)]);
    assert_eq!(field("type_uid"), vec![json!(200401), json!(200402), json!(200403), json!(200401), json!(200401)]);
    assert_eq!(field("status"), vec![json!("New"), json!("New"), json!("Resolved"), json!("Suppressed"), json!("New")]);
    assert_eq!(records[2]["status_detail"], "COMPLIANT");
    assert!(records[3]["status_detail"].as_str().is_some_and(|d| d.contains("sup-1")), "{}", records[3]);
    assert_eq!(records[0]["severity_id"], 4, "75 is high");
    // The uid is stable per (resource, policy) and differs between findings.
    let all = findings();
    for (r, (f, _)) in records.iter().zip(&all) {
        assert_eq!(r["finding_info"]["uid"], qrie_model::finding_uid(&f.arn, &f.policy));
        assert_eq!(r["cloud"]["account"]["uid"], "111122223333");
        assert_eq!(r["resources"][0]["uid"], f.arn.as_str());
    }
    let again = lines(&export(ExportFormat::Ocsf, dir.path()).1);
    assert_eq!(again, records, "the same state exports the same records");
    // A global resource has no region; compliance mappings are kept.
    assert!(records[2]["cloud"].get("region").is_none());
    assert!(records[0]["unmapped"]["compliance"].as_array().is_some_and(|c| !c.is_empty()));
    assert!(records[0]["finding_info"]["src_url"]
        .as_str()
        .is_some_and(|u| u.starts_with("https://qrie.example.com/findings/detail?arn=%3DHYPERLINK")));
    // A policy the catalog does not have is still exported, under its id.
    assert_eq!(records[4]["finding_info"]["title"], "custom.acme-owner-tag");
}

#[test]
fn the_ocsf_validator_rejects_what_the_schema_does_not_allow() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_, bytes) = export(ExportFormat::Ocsf, dir.path());
    let mut record = lines(&bytes).remove(0);
    record.as_object_mut().expect("object").remove("finding_info");
    record["severity_id"] = json!(42);
    record["not_an_ocsf_attribute"] = json!(1);
    let path = dir.path().join("broken.jsonl");
    std::fs::write(&path, serde_json::to_string(&record).expect("json") + "\n").expect("write");
    let (ok, report) = validate("ocsf", &path);
    assert!(!ok, "a broken record passed:\n{report}");
    for expected in ["finding_info", "42", "not_an_ocsf_attribute"] {
        assert!(report.contains(expected), "the report names {expected}:\n{report}");
    }
}

#[test]
fn ocsf_compliance_findings_are_valid() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut out = Vec::new();
    for (f, s) in &findings()[..3] {
        let text = PolicyText::of(&f.policy);
        for (framework, control) in &text.compliance {
            let record = Record { finding: f, suppression: s.as_ref(), policy_paused: false };
            qrie_export::json_line(&ocsf::compliance_finding(record, &text, framework, control, &context()), &mut out)
                .expect("line");
        }
    }
    let path = dir.path().join("compliance.jsonl");
    std::fs::write(&path, &out).expect("write");
    let (ok, report) = validate("ocsf", &path);
    assert!(ok, "OCSF schema validation failed:\n{report}");
    let records = lines(&out);
    assert!(records.len() >= 3, "every mapped control is a record");
    assert!(records.iter().all(|r| r["class_uid"] == 2003));
    let resolved: Vec<&Value> =
        records.iter().filter(|r| r["resources"][0]["uid"] == "arn:aws:iam::111122223333:user/alice").collect();
    assert!(!resolved.is_empty() && resolved.iter().all(|r| r["compliance"]["status"] == "Pass"));
    assert!(records.iter().filter(|r| r["activity_id"] != 3).all(|r| r["compliance"]["status"] == "Fail"));
    let uids: std::collections::HashSet<&Value> = records.iter().map(|r| &r["finding_info"]["uid"]).collect();
    assert_eq!(uids.len(), records.len(), "one uid per finding × control");
}

#[test]
fn asff_findings_are_valid_for_batch_import_findings() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (path, bytes) = export(ExportFormat::Asff, dir.path());
    let (ok, report) = validate("asff", &path);
    assert!(ok, "botocore rejected the ASFF:\n{report}");
    let records = lines(&bytes);
    let field = |p: &str| records.iter().map(|r| r.pointer(p).cloned().unwrap_or(Value::Null)).collect::<Vec<_>>();
    assert_eq!(
        field("/RecordState"),
        vec![json!("ACTIVE"), json!("ACTIVE"), json!("ARCHIVED"), json!("ACTIVE"), json!("ACTIVE")]
    );
    assert_eq!(
        field("/Workflow/Status"),
        vec![json!("NEW"), json!("NEW"), json!("RESOLVED"), json!("SUPPRESSED"), json!("NEW")]
    );
    assert_eq!(
        field("/Compliance/Status"),
        vec![json!("FAILED"), json!("FAILED"), json!("PASSED"), json!("FAILED"), json!("FAILED")]
    );
    assert_eq!(records[0]["Severity"]["Label"], "HIGH");
    assert_eq!(records[0]["Resources"][0]["Type"], "AwsS3Bucket");
    // The default product of the finding's own account, in its region; a
    // global resource is filed in the home region.
    assert_eq!(records[1]["ProductArn"], "arn:aws:securityhub:eu-west-1:111122223333:product/111122223333/default");
    assert_eq!(records[2]["ProductArn"], "arn:aws:securityhub:eu-central-1:111122223333:product/111122223333/default");
    assert_eq!(records[2]["Resources"][0]["Region"], "eu-central-1");
    assert!(records[0]["Compliance"]["RelatedRequirements"].as_array().is_some_and(|r| !r.is_empty()));
    let all = findings();
    for (r, (f, _)) in records.iter().zip(&all) {
        assert_eq!(r["Id"], qrie_model::finding_uid(&f.arn, &f.policy), "the same id as OCSF's uid");
    }
}

#[test]
fn csv_round_trips_through_python_and_defuses_formulas() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (path, _) = export(ExportFormat::Csv, dir.path());
    let (ok, report) = validate("csv", &path);
    assert!(ok, "{report}");
    let rows: Vec<Vec<String>> = serde_json::from_str(report.trim()).expect("rows as JSON");
    assert_eq!(rows.len(), 6, "a header and five rows");
    assert_eq!(rows[0], qrie_export::CSV_HEADERS);
    let all = findings();
    for (row, (f, s)) in rows[1..].iter().zip(&all) {
        assert_eq!(row.len(), qrie_export::CSV_HEADERS.len());
        let expected_arn = if f.arn.starts_with('=') { format!("'{}", f.arn) } else { f.arn.clone() };
        assert_eq!(row[0], expected_arn);
        assert_eq!(row[1], f.policy);
        assert_eq!(row[4], f.state.as_str());
        assert_eq!(row[12], s.as_ref().map(|s| s.rule_id.clone()).unwrap_or_default());
    }
    // Defused, with the quotes inside it intact through RFC 4180 quoting.
    assert_eq!(rows[1][0], "'=HYPERLINK(\"http://x\",\"y\")");
}

#[test]
fn jsonl_is_the_api_shape() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_, bytes) = export(ExportFormat::Jsonl, dir.path());
    let records = lines(&bytes);
    let all = findings();
    for (r, (f, s)) in records.iter().zip(&all) {
        let back: Finding = serde_json::from_value(r.clone()).expect("a finding document");
        assert_eq!(&back, f);
        assert_eq!(r["Suppression"].is_null(), s.is_none());
    }
}

#[test]
fn formats_parse_from_their_names() {
    for f in ExportFormat::ALL {
        assert_eq!(f.as_str().parse::<ExportFormat>().expect("parse"), f);
    }
    let err = "xml".parse::<ExportFormat>().expect_err("xml is not a format").to_string();
    assert!(err.contains("ocsf, asff, csv, jsonl"), "{err}");
}
