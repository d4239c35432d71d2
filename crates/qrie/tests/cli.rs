//! End to end through the built binary, as an operator would use it: each test
//! gets its own store file in a temporary directory.

use serde_json::Value;
use std::path::{Path, PathBuf};

mod common;
use common::Qrie;

/// The demo estate the CLI tests share (small, fixed seed).
trait Demo {
    fn demo(&self);
}

impl Demo for Qrie {
    fn demo(&self) {
        self.ok(&["demo", "--no-serve", "--accounts", "3", "--seed", "7", "--resources-per-account", "60"]);
    }
}

fn service_of(f: &Value) -> String {
    f["AccountService"].as_str().unwrap().rsplit('_').next().unwrap().to_string()
}

#[test]
fn demo_opens_findings_for_every_service_with_evidence() {
    let q = Qrie::new();
    q.demo();
    let findings = q.findings(&[]);
    assert!(!findings.is_empty());
    let mut services: Vec<String> = findings.iter().map(service_of).collect();
    services.sort();
    services.dedup();
    assert_eq!(services, ["ec2", "iam", "s3"]);
    let accounts: std::collections::BTreeSet<&str> =
        findings.iter().map(|f| f["AccountId"].as_str().unwrap()).collect();
    assert_eq!(accounts.len(), 3, "findings in all three accounts");
    for f in &findings {
        for field in ["ARN", "Policy", "AccountService", "Severity", "State", "FirstSeen", "LastEvaluated", "Evidence"]
        {
            assert!(!f[field].is_null(), "{field} missing in {f}");
        }
        assert_eq!(f["State"], "ACTIVE");
        assert!(
            f["Evidence"].is_object() && !f["Evidence"].as_object().unwrap().is_empty(),
            "evidence names the setting: {f}"
        );
        assert_eq!(f["DetectedBy"], "bootstrap");
    }
    // Most severe first by default.
    let severities: Vec<u64> = findings.iter().map(|f| f["Severity"].as_u64().unwrap()).collect();
    assert!(severities.windows(2).all(|w| w[0] >= w[1]));

    // The demo's example rules suppress some: counted apart, adding up.
    let dashboard = q.json(&["summary", "dashboard"]);
    let count = |k: &str| dashboard["Findings"][k].as_u64().unwrap();
    let suppressed = findings.iter().filter(|f| !f["Suppression"].is_null()).count() as u64;
    assert!(suppressed >= 2, "the example rules suppress findings");
    assert_eq!(count("Suppressed"), suppressed);
    assert_eq!(count("Active") + suppressed, findings.len() as u64);
    let sum =
        |k: &str| -> u64 { dashboard["Findings"][k].as_object().unwrap().values().map(|v| v.as_u64().unwrap()).sum() };
    assert_eq!(sum("BySeverity"), count("Active"));
    assert_eq!(sum("SuppressedBySeverity"), suppressed);
    let critical = findings.iter().filter(|f| f["Severity"].as_u64().unwrap() >= 90).count() as u64;
    let both = |k: &str| dashboard["Findings"][k]["critical"].as_u64().unwrap();
    assert_eq!(both("BySeverity") + both("SuppressedBySeverity"), critical);
    assert!(dashboard["Resources"].as_u64().unwrap() >= 180);

    // Table and CSV print the same findings: the unsuppressed ones by default.
    let csv = q.ok(&["findings", "list", "--format", "csv"]);
    assert_eq!(csv.lines().count() as u64, count("Active") + 1);
    assert!(q.ok(&["findings", "list"]).contains("SEVERITY"));
}

#[test]
fn suspend_resolves_exactly_that_policy_and_launch_recreates() {
    let q = Qrie::new();
    q.demo();
    let before = q.findings(&[]);
    let policy = "ec2-sg-open-ssh";
    let mine: Vec<&Value> = before.iter().filter(|f| f["Policy"] == policy).collect();
    assert!(!mine.is_empty(), "the demo has {policy} findings");
    let others = before.len() - mine.len();

    // Without --yes and without a terminal it refuses.
    let err = q.fails(&["policies", "suspend", policy]);
    assert!(err.contains("--yes"), "{err}");

    let archive = q.dir().join("archive.json");
    q.ok(&["policies", "suspend", policy, "--yes", "--archive", archive.to_str().unwrap()]);
    let archived: Vec<Value> = serde_json::from_slice(&std::fs::read(&archive).unwrap()).unwrap();
    assert_eq!(archived.len(), mine.len());

    let after = q.findings(&[]);
    assert_eq!(after.len(), others, "only {policy}'s findings resolved");
    assert!(after.iter().all(|f| f["Policy"] != policy));
    let resolved = q.findings(&["--state", "resolved", "--policy", policy]);
    assert_eq!(resolved.len(), mine.len());
    for f in &resolved {
        assert_eq!(f["ResolvedReason"], "POLICY_SUSPENDED");
        assert!(f["ResolvedAt"].is_string());
    }
    let status = q.json(&["policies", "list", "--status", "suspended"]);
    assert_eq!(status[0]["PolicyId"], policy);

    q.ok(&["policies", "launch", policy]);
    let relaunched = q.findings(&["--policy", policy]);
    assert_eq!(relaunched.len(), mine.len());
    for f in &relaunched {
        let old = mine.iter().find(|m| m["ARN"] == f["ARN"]).expect("same resources");
        assert_eq!(f["FirstSeen"], old["FirstSeen"], "reopened, not recreated from scratch");
        let kinds: Vec<&str> = f["History"].as_array().unwrap().iter().map(|h| h["Kind"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["opened", "resolved", "reopened"]);
    }

    q.ok(&["policies", "delete", policy, "--yes"]);
    let deleted = q.findings(&["--state", "resolved", "--policy", policy]);
    assert!(deleted.iter().all(|f| f["ResolvedReason"] == "POLICY_DELETED"));
    assert_eq!(q.findings(&[]).len(), others);
}

#[test]
fn scope_change_resolves_what_left_the_scope() {
    let q = Qrie::new();
    q.demo();
    let policy = "s3-bucket-versioning-disabled";
    let all = q.findings(&["--policy", policy]);
    let keep = all[0]["AccountId"].as_str().unwrap().to_string();
    q.ok(&["policies", "update", policy, "--accounts", &keep]);
    let active = q.findings(&["--policy", policy]);
    assert!(active.iter().all(|f| f["AccountId"] == keep.as_str()));
    let left = q.findings(&["--policy", policy, "--state", "resolved"]);
    assert_eq!(active.len() + left.len(), all.len());
    assert!(!left.is_empty() && left.iter().all(|f| f["ResolvedReason"] == "OUT_OF_SCOPE"));
    q.ok(&["policies", "update", policy, "--clear-scope"]);
    assert_eq!(q.findings(&["--policy", policy]).len(), all.len());
}

#[test]
fn silent_changes_are_caught_as_drift_by_anti_entropy_only() {
    let q = Qrie::new();
    q.demo();
    let drift = q.json(&["summary", "drift"]);
    assert!(drift["LastInventoryScan"].is_null(), "a bootstrap sweep records no drift");

    // Nothing changed: an anti-entropy sweep finds no drift.
    let clean = q.json(&["inventory", "generate", "--scan-type", "anti-entropy"]);
    let totals = &clean["Result"]["DriftTotals"];
    for k in ["MissedCreates", "MissedDeletes", "MissedUpdates", "MissedOpens", "MissedResolves"] {
        assert_eq!(totals[k], 0, "{k} in {totals}");
    }

    let before: Vec<Value> = q.findings(&["--state", "all"]);
    let changes = q.json(&["demo", "change", "--silent", "--count", "12", "--seed", "3"]);
    let changes = changes.as_array().unwrap();
    assert_eq!(changes.len(), 12);
    let mut changed: Vec<&str> = changes.iter().map(|c| c["ARN"].as_str().unwrap()).collect();
    changed.sort();
    changed.dedup();

    // A policy sweep alone does not see it: the inventory has not been re-read.
    let policy_sweep = q.json(&["scan", "policies", "--scan-type", "anti-entropy"]);
    assert_eq!(policy_sweep["Result"]["DriftTotals"]["MissedOpens"], 0);

    // The changes were made a moment ago: with no grace window for events in
    // flight, every one of them is a miss.
    let sweep = q.json(&["inventory", "generate", "--scan-type", "anti-entropy", "--drift-grace-minutes", "0"]);
    let t = &sweep["Result"]["DriftTotals"];
    let inventory_drift = t["MissedCreates"].as_u64().unwrap()
        + t["MissedDeletes"].as_u64().unwrap()
        + t["MissedUpdates"].as_u64().unwrap();
    assert_eq!(inventory_drift, changed.len() as u64, "every changed resource is drift: {t}");
    assert_eq!(sweep["Result"]["WithinGrace"], 0);

    // Findings drift is exactly the findings whose state the sweep changed.
    let after: Vec<Value> = q.findings(&["--state", "all"]);
    let state = |list: &[Value], arn: &str, policy: &str| {
        list.iter().find(|f| f["ARN"] == arn && f["Policy"] == policy).map(|f| f["State"].as_str().unwrap().to_string())
    };
    let (mut opened, mut resolved) = (0, 0);
    for f in &after {
        let (arn, policy) = (f["ARN"].as_str().unwrap(), f["Policy"].as_str().unwrap());
        match (state(&before, arn, policy).as_deref(), f["State"].as_str().unwrap()) {
            (None | Some("RESOLVED"), "ACTIVE") => opened += 1,
            (Some("ACTIVE"), "RESOLVED") => resolved += 1,
            _ => {}
        }
    }
    assert!(opened + resolved > 0, "these changes move findings");
    assert_eq!(t["MissedOpens"], opened);
    assert_eq!(t["MissedResolves"], resolved);
    for f in after.iter().filter(|f| {
        f["State"] == "ACTIVE" && state(&before, f["ARN"].as_str().unwrap(), f["Policy"].as_str().unwrap()).is_none()
    }) {
        assert_eq!(f["DetectedBy"], "anti-entropy");
    }

    let drift = q.json(&["summary", "drift"]);
    assert_eq!(drift["LastInventoryScan"]["JobId"], sweep["Job"]["Id"]);
    assert_eq!(drift["InventoryHistory"].as_array().unwrap().len(), 2);
    let text = q.ok(&["summary", "drift"]);
    assert!(text.contains("missed"), "{text}");
}

#[test]
fn new_account_is_flagged_and_left_out_of_drift() {
    let q = Qrie::new();
    q.demo();
    q.ok(&["accounts", "add", "123456789012", "--name", "new-team", "--region", "us-east-1"]);
    let accounts = q.json(&["accounts", "list"]);
    let new = accounts.as_array().unwrap().iter().find(|a| a["AccountId"] == "123456789012").unwrap();
    assert_eq!(new["Baselined"], false);
    assert!(accounts
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["AccountId"] != "123456789012")
        .all(|a| a["Baselined"] == true));
    assert!(q.ok(&["accounts", "list"]).contains("NOT BASELINED"));

    let sweep = q.json(&["inventory", "generate", "--scan-type", "anti-entropy"]);
    let unbaselined = sweep["Result"]["Drift"]["UnbaselinedAccounts"].as_array().unwrap();
    assert_eq!(unbaselined, &[Value::from("123456789012")]);
    assert!(sweep["Result"]["Drift"]["Rows"].as_array().unwrap().iter().all(|r| r["AccountId"] != "123456789012"));
    // This build cannot read a real account: the sweep says so and goes on.
    assert_eq!(sweep["Job"]["Status"], "partial");
    let errors = sweep["Job"]["Errors"].as_array().unwrap();
    assert!(errors.iter().all(|e| e["AccountId"] == "123456789012"));
    let dashboard = q.json(&["summary", "dashboard"]);
    assert_eq!(dashboard["UnbaselinedAccounts"], serde_json::json!(["123456789012"]));

    // Soft delete keeps its data and leaves default views.
    q.ok(&["accounts", "remove", "123456789012"]);
    assert!(q.json(&["accounts", "list"]).as_array().unwrap().iter().all(|a| a["AccountId"] != "123456789012"));
    assert!(q.json(&["accounts", "list", "--all"]).as_array().unwrap().iter().any(|a| a["Status"] == "removed"));
}

#[test]
fn bad_input_gets_a_clear_error() {
    let q = Qrie::new();
    q.demo();
    assert!(q.fails(&["policies", "suspend", "no-such-policy", "--yes"]).contains("unknown policy"));
    assert!(q.fails(&["policies", "launch", "no-such-policy"]).contains("unknown policy"));
    assert!(q.fails(&["findings", "list", "--policy", "nope"]).contains("unknown policy"));
    assert!(q.fails(&["policies", "launch", "ec2-sg-open-ssh"]).contains("already active"));
    let e = q.fails(&["policies", "update", "ec2-sg-open-ssh", "--accounts", "1234"]);
    assert!(e.contains("invalid account id") && e.contains("1234"), "{e}");
    assert!(q.fails(&["policies", "update", "ec2-sg-open-ssh", "--tags", "=x"]).contains("tag condition"));
    assert!(q.fails(&["policies", "update", "ec2-sg-open-ssh", "--regions", "mars"]).contains("invalid region"));
    assert!(q
        .fails(&["policies", "update", "iam-user-access-key-too-old", "--param", "max_age=3"])
        .contains("max_age_days"));
    let e = q.fails(&["policies", "update", "iam-user-access-key-too-old", "--param", "max_age_days=-5"]);
    assert!(e.contains("max_age_days") && e.contains("1 to 3650"), "{e}");
    let e = q.fails(&["policies", "update", "ec2-sg-open-high-risk-ports", "--param", "allowed_ports=<script>"]);
    assert!(e.contains("allowed_ports") && e.contains("not a port"), "{e}");
    assert!(q.fails(&["accounts", "scan", "999999999999"]).contains("unknown account"));
    assert!(q.fails(&["accounts", "add", "12345"]).contains("invalid account id"));
    assert!(q.fails(&["findings", "list", "--account", "999999999999"]).contains("unknown account"));
    let e = q.fails(&["inventory", "generate", "--account", "999999999999"]);
    assert!(e.contains("unknown account"), "{e}");
    assert!(q.fails(&["scan", "policies", "--scan-type", "weekly"]).contains("anti-entropy"));
    assert!(q.fails(&["demo", "--no-serve", "--seed", "8"]).contains("--reset"));

    let garbage = q.dir().join("garbage.db");
    std::fs::write(&garbage, vec![0x42u8; 8192]).unwrap();
    let stderr = Qrie::new().with_store(&format!("sqlite:{}", garbage.display())).fails(&["findings", "list"]);
    assert!(stderr.contains("corrupt") && stderr.contains("garbage.db"), "{stderr}");

    let stderr = Qrie::new().with_store("sqlite:/nonexistent-dir/x/qrie.db").fails(&["summary"]);
    assert!(stderr.contains("cannot open store"), "{stderr}");
}

#[test]
fn demo_change_prints_cloudtrail_records_and_demo_is_rerunnable() {
    let q = Qrie::new();
    q.demo();
    let out = q.ok(&["demo", "change", "--count", "3", "--seed", "1", "--print-records"]);
    let records: Vec<Value> = out.lines().map(|l| serde_json::from_str(l).expect("JSON lines")).collect();
    assert_eq!(records.len(), 3);
    for r in &records {
        assert!(r["eventSource"].as_str().unwrap().ends_with(".amazonaws.com"));
        assert_eq!(r["eventType"], "AwsApiCall");
        assert!(r["recipientAccountId"].is_string() && r["eventID"].is_string());
    }
    // The same demo again reuses the estate (with its changes) and is idempotent.
    let before = q.findings(&["--state", "all"]).len();
    q.demo();
    assert!(q.findings(&["--state", "all"]).len() >= before);
    q.ok(&["demo", "--no-serve", "--accounts", "2", "--seed", "9", "--resources-per-account", "20", "--reset"]);
    assert_eq!(q.json(&["accounts", "list"]).as_array().unwrap().len(), 2);
}

#[test]
fn changes_with_their_events_leave_no_drift() {
    let q = Qrie::new();
    q.demo();
    let before = q.findings(&["--state", "all"]);
    let result = q.json(&["demo", "change", "--count", "12", "--seed", "3"]);
    let stats = &result["Events"]["Stats"];
    assert_eq!(stats["Received"], 12);
    assert_eq!(stats["Mapped"], 12, "every simulated change is routed: {stats}");
    let after = q.findings(&["--state", "all"]);
    let moved = common::moved(&before, &after);
    assert!(!moved.is_empty(), "the events moved findings at once");
    assert_eq!(
        stats["FindingsOpened"].as_u64().unwrap() + stats["FindingsResolved"].as_u64().unwrap(),
        moved.len() as u64
    );
    for f in &moved {
        let last = f["History"].as_array().unwrap().last().unwrap();
        assert_eq!(last["Trigger"]["DetectedBy"], "event");
        assert!(last["Trigger"]["EventId"].is_string(), "the event is recorded on the transition: {last}");
    }
    // Nothing was missed: an anti-entropy sweep finds no drift.
    let sweep = q.json(&["inventory", "generate", "--scan-type", "anti-entropy"]);
    let t = &sweep["Result"]["DriftTotals"];
    for k in ["MissedCreates", "MissedDeletes", "MissedUpdates", "MissedOpens", "MissedResolves"] {
        assert_eq!(t[k], 0, "{k} in {t}");
    }
    let stats = q.json(&["events", "stats"]);
    assert_eq!(stats["Received"], 12);
}

#[test]
fn events_explain_and_ingest_real_cloudtrail() {
    let q = Qrie::new();
    q.demo();
    let testdata = std::env::var("QRIE_TESTDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata"));
    let dir = testdata.join("cloudtrail/invictus-ir_aws_dataset_gzipped_locally");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("test data missing at {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".json.gz"))
        .collect();
    files.sort();
    let file = files[0].to_str().unwrap().to_string();
    let out = q.ok(&["events", "explain", &file, "--format", "json"]);
    let lines: Vec<Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(!lines.is_empty());
    assert!(lines.iter().all(|l| l["Decision"].is_object() || l["Decision"].is_string()));
    let table = q.ok(&["events", "explain", &file]);
    assert!(table.contains("DECISION"));
    // Ingesting events of accounts qrie does not monitor changes no finding and says so.
    let before = q.findings(&["--state", "all"]).len();
    let report = q.json(&["events", "ingest", &file]);
    assert_eq!(report["Stats"]["Received"].as_u64().unwrap(), lines.len() as u64);
    assert_eq!(q.findings(&["--state", "all"]).len(), before);
    assert!(q.fails(&["events", "ingest", "/nonexistent/file.json"]).contains("/nonexistent/file.json"));
    let garbage = q.dir().join("garbage.json");
    std::fs::write(&garbage, "this is not json").unwrap();
    assert!(q.fails(&["events", "explain", garbage.to_str().unwrap()]).contains("garbage.json"));
}

#[test]
fn compliance_reports_every_control_of_a_framework() {
    let q = Qrie::new();
    q.demo();
    let cis = q.json(&["compliance", "cis-aws-3.0"]);
    let controls = cis["Controls"].as_array().unwrap();
    assert!(controls.len() >= 30, "CIS controls: {}", controls.len());
    let findings = q.findings(&[]);
    let of = |c: &Value, suppressed: bool| -> usize {
        c["ActivePolicies"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| findings.iter().filter(|f| &f["Policy"] == p && f["Suppression"].is_null() != suppressed).count())
            .sum()
    };
    for c in controls {
        // Suppressed findings are counted apart and do not fail a control.
        let count = of(c, false);
        assert_eq!(c["ActiveFindings"].as_u64().unwrap() as usize, count, "{c}");
        assert_eq!(c["SuppressedFindings"].as_u64().unwrap() as usize, of(c, true), "{c}");
        let expected = match (c["ActivePolicies"].as_array().unwrap().is_empty(), count) {
            (true, _) => "not-evaluated",
            (false, 0) => "passing",
            _ => "failing",
        };
        assert_eq!(c["State"], expected, "{c}");
    }
    let by_state = |s: &str| controls.iter().filter(|c| c["State"] == s).count() as u64;
    assert_eq!(cis["Failing"].as_u64().unwrap(), by_state("failing"));
    assert_eq!(cis["NotEvaluated"].as_u64().unwrap(), by_state("not-evaluated"));
    // Suspending the root MFA policy leaves its control unevaluated.
    q.ok(&["policies", "suspend", "iam-root-mfa-disabled", "--yes"]);
    let cis = q.json(&["compliance", "cis-aws-3.0"]);
    let c15 = cis["Controls"].as_array().unwrap().iter().find(|c| c["ControlId"] == "1.5").unwrap().clone();
    assert_eq!(c15["State"], "not-evaluated");
    assert!(q.fails(&["compliance", "iso-27001"]).contains("unknown framework"));
    assert!(q.ok(&["compliance"]).contains("pci-dss-4.0"));
}

#[test]
fn the_demo_shows_every_policy_and_exposure_is_judged_whole() {
    let q = Qrie::new();
    q.ok(&["demo", "--no-serve", "--seed", "42"]);
    let catalog = q.json(&["policies", "list", "--status", "available"]);
    let catalog = catalog.as_array().unwrap();
    assert!(catalog.len() >= 50, "{} policies", catalog.len());
    for p in catalog {
        let d = &p["Definition"];
        assert!(d["Severity"].is_u64() && d["Remediation"]["Steps"].as_array().is_some_and(|s| !s.is_empty()), "{p}");
        assert!(d["Compliance"].as_array().is_some_and(|c| !c.is_empty()), "{p}");
    }
    let findings = q.findings(&[]);
    let resources = q.json(&["inventory", "list"]);
    let resources = resources.as_array().unwrap();
    for p in catalog {
        let id = p["PolicyId"].as_str().unwrap();
        let rtype = &p["Definition"]["ResourceType"];
        let failing: std::collections::HashSet<&str> =
            findings.iter().filter(|f| f["Policy"] == id).map(|f| f["ARN"].as_str().unwrap()).collect();
        assert!(!failing.is_empty(), "{id}: no active finding in the demo");
        let passing =
            resources.iter().filter(|r| &r["ResourceType"] == rtype && !failing.contains(r["ARN"].as_str().unwrap()));
        assert!(passing.count() > 0, "{id}: no resource passes it in the demo");
    }

    // Buckets whose public statement is neutralised by Block Public Access, or
    // limited to a VPC endpoint, are not public.
    let active = |arn: &str, policy: &str| findings.iter().any(|f| f["ARN"] == arn && f["Policy"] == policy);
    let buckets: Vec<&Value> = resources.iter().filter(|r| r["ResourceType"] == "AWS::S3::Bucket").collect();
    let statements = |b: &Value| b["Configuration"]["Policy"]["Statement"].as_array().cloned().unwrap_or_default();
    let open_read = |s: &Value| s["Effect"] == "Allow" && s["Principal"] == "*" && s["Action"] == "s3:GetObject";
    let vpce: Vec<&&Value> = buckets
        .iter()
        .filter(|b| statements(b).iter().any(|s| s["Condition"]["StringEquals"]["aws:SourceVpce"].is_string()))
        .collect();
    assert!(!vpce.is_empty(), "the demo has VPC-endpoint-limited buckets");
    for b in &vpce {
        assert!(!active(b["ARN"].as_str().unwrap(), "s3-bucket-public-read-policy"), "{}", b["ARN"]);
    }
    let neutralised: Vec<&&Value> = buckets
        .iter()
        .filter(|b| {
            statements(b).iter().any(open_read)
                && b["Configuration"]["PublicAccessBlock"]["RestrictPublicBuckets"] == true
        })
        .collect();
    assert!(!neutralised.is_empty(), "the demo has public policies neutralised by Block Public Access");
    for b in &neutralised {
        let arn = b["ARN"].as_str().unwrap();
        assert!(!active(arn, "s3-bucket-public-read-policy"), "{arn} reported public");
        assert!(
            active(arn, "s3-bucket-public-access-blocked-only-by-bpa"),
            "{arn}: the latent risk is its own finding"
        );
    }
    let exposed: Vec<&&Value> = buckets
        .iter()
        .filter(|b| statements(b).iter().any(open_read) && b["Configuration"]["PublicAccessBlock"].is_null())
        .collect();
    assert!(!exposed.is_empty(), "the demo has buckets with a public policy and no bucket-level Block Public Access");
    let mut reported = 0;
    for b in &exposed {
        let arn = b["ARN"].as_str().unwrap();
        reported += usize::from(active(arn, "s3-bucket-public-read-policy"));
        let account_restricts = resources.iter().any(|r| {
            r["ResourceType"] == "AWS::S3::AccountPublicAccessBlock"
                && r["AccountId"] == b["AccountId"]
                && r["Configuration"]["PublicAccessBlock"]["RestrictPublicBuckets"] == true
        });
        assert_eq!(active(arn, "s3-bucket-public-read-policy"), !account_restricts, "{arn}");
    }
    assert!(reported > 0, "some truly public bucket is reported");

    let shown = q.json(&["inventory", "show", buckets[0]["ARN"].as_str().unwrap()]);
    assert_eq!(shown["Resource"]["ARN"], buckets[0]["ARN"]);
    assert!(q.fails(&["inventory", "show", "arn:aws:s3:::nope"]).contains("no resource"));
}

/// One HTTP/1.1 GET over a plain socket: the status line and headers.
fn http_get(addr: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).expect("connect to qrie");
    write!(s, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn demo_serves_the_ui_with_a_one_time_login_link() {
    use std::io::{BufRead, BufReader};
    let q = Qrie::new();
    let mut child = q
        .command(&["demo", "--accounts", "1", "--resources-per-account", "10", "--listen", "127.0.0.1:0"])
        .args(["--change-every", "0"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start qrie demo");
    let mut seen = String::new();
    let mut link = None;
    for line in BufReader::new(child.stderr.take().unwrap()).lines() {
        let line = line.unwrap();
        seen += &line;
        seen.push('\n');
        if let Some(at) = line.find("http://") {
            if line.contains("/login?link=") {
                link = Some(line[at + "http://".len()..].trim().to_string());
                break;
            }
        }
    }
    let Some(link) = link else {
        let _ = child.kill();
        panic!("no login link printed:\n{seen}");
    };
    let (addr, path) = link.split_at(link.find('/').unwrap());
    let first = http_get(addr, path);
    let second = http_get(addr, path);
    let page = http_get(addr, "/findings");
    let _ = child.kill();
    let _ = child.wait();
    assert!(first.starts_with("HTTP/1.1 303"), "{first}");
    assert!(first.to_ascii_lowercase().contains("set-cookie: qrie_session="), "{first}");
    assert!(second.starts_with("HTTP/1.1 401"), "the link works once: {second}");
    assert!(page.starts_with("HTTP/1.1 303") && page.contains("/login?next="), "pages need a login: {page}");
}

/// Resources (ARN, deleted) and findings (ARN, policy, state).
type StoreState = (Vec<(String, bool)>, Vec<(String, String, String)>);

/// What a store holds, for comparing two demo stores: resources (ARN,
/// deleted) and findings (ARN, policy, state), sorted. (Configurations carry
/// the times each demo was made at, so they differ between two.)
fn store_state(q: &Qrie) -> StoreState {
    let s = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let inventory = q.json(&["inventory", "list", "--include-deleted"]);
    let mut resources: Vec<_> =
        inventory.as_array().unwrap().iter().map(|r| (s(&r["ARN"]), !r["DeletedAt"].is_null())).collect();
    let mut findings: Vec<_> =
        q.findings(&["--state", "all"]).iter().map(|f| (s(&f["ARN"]), s(&f["Policy"]), s(&f["State"]))).collect();
    resources.sort();
    findings.sort();
    (resources, findings)
}

/// The check: `qrie inventory generate` killed (kill -9) a third of
/// the way through, then `qrie jobs resume`: the store ends exactly as a
/// sweep that never stopped leaves it — same resources, same findings and
/// states, nothing twice — and the drift is recorded once. Meanwhile the
/// job reads running while its lease holds, then interrupted, never running
/// forever.
#[test]
fn a_sweep_killed_a_third_of_the_way_resumes_to_what_a_clean_sweep_makes() {
    use std::time::{Duration, Instant};
    let demo = ["demo", "--no-serve", "--accounts", "40", "--resources-per-account", "500", "--seed", "5"];
    let (killed, clean) = (Qrie::new(), Qrie::new());
    for q in [&killed, &clean] {
        q.ok(&demo);
        q.ok(&["demo", "change", "--silent", "--count", "300", "--seed", "8"]);
    }
    let sweep = ["inventory", "generate", "--scan-type", "anti-entropy", "--drift-grace-minutes", "0"];
    let clean_sweep = clean.json(&sweep);
    assert_eq!(clean_sweep["Job"]["Status"], "succeeded");

    let mut child = killed
        .command(&sweep)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("qrie starts");
    let sweeping = |q: &Qrie| {
        let jobs = q.json(&["jobs", "list"]);
        jobs.as_array().unwrap().iter().find(|j| j["ScanType"] == "anti-entropy").cloned()
    };
    let job = loop {
        assert!(child.try_wait().unwrap().is_none(), "the sweep ended before a third of it was seen done");
        if let Some(j) = sweeping(&killed) {
            let (done, total) = (j["ProgressDone"].as_u64().unwrap(), j["ProgressTotal"].as_u64().unwrap());
            if total > 0 && done * 3 >= total {
                break j;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    child.kill().expect("kill -9");
    child.wait().unwrap();
    let id = job["Id"].as_str().unwrap().to_string();
    assert!(job["ProgressDone"].as_u64().unwrap() < job["ProgressTotal"].as_u64().unwrap());

    // Its lease still holds for a moment: running, and not to be resumed.
    let refused = killed.fails(&["jobs", "resume", &id]);
    assert!(refused.contains("is running") || refused.contains("interrupted"), "{refused}");
    // Within a minute it is interrupted, never left running.
    let since = Instant::now();
    while sweeping(&killed).unwrap()["Status"] != "interrupted" {
        assert!(since.elapsed() < Duration::from_secs(90), "still not interrupted: {:?}", sweeping(&killed));
        std::thread::sleep(Duration::from_millis(500));
    }

    let resumed = killed.json(&["jobs", "resume", &id]);
    assert_eq!(resumed["Job"]["Id"], id.as_str());
    assert_eq!(resumed["Job"]["Status"], "succeeded", "{}", resumed["Job"]);
    assert_eq!(resumed["Job"]["ProgressDone"], clean_sweep["Job"]["ProgressDone"]);
    assert_eq!(resumed["Result"]["Units"], clean_sweep["Result"]["Units"]);
    assert_eq!(store_state(&killed), store_state(&clean), "the resumed store is the clean run's");
    let drift = killed.json(&["summary", "drift"]);
    assert_eq!(drift["LastInventoryScan"]["JobId"], id.as_str());
    assert_eq!(drift["InventoryHistory"].as_array().unwrap().len(), 1, "drift recorded once");
    assert!(killed.fails(&["jobs", "resume", &id]).contains("has ended"));
    // And it holds the estate as it is: another sweep finds nothing missed.
    let again = killed.json(&sweep);
    for k in ["MissedCreates", "MissedDeletes", "MissedUpdates", "MissedOpens", "MissedResolves"] {
        assert_eq!(again["Result"]["DriftTotals"][k], 0, "{k}: {}", again["Result"]["DriftTotals"]);
    }
}

/// Names and event fields are chosen by whoever owns the resource or sends
/// the event: a table shows their escape sequences instead of running them,
/// and a CSV cell never starts a spreadsheet formula.
#[test]
fn hostile_names_reach_neither_terminal_nor_spreadsheet() {
    const TITLE: &str = "\u{1b}]0;PWNED\u{7}\u{1b}[31m";
    let q = Qrie::new();
    q.ok(&["demo", "--no-serve", "--accounts", "1", "--seed", "7", "--resources-per-account", "10"]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let arn = rt.block_on(async {
        let store = qrie_store::open(q.store_url()).unwrap();
        let page = store.list_resources(&Default::default(), &qrie_store::PageRequest::first(1)).await.unwrap();
        let mut r = page.items.into_iter().next().unwrap();
        r.name = format!("=HYPERLINK(\"http://evil.example\",\"x\"){TITLE}");
        r.tags.insert("Name".into(), "+3+3".into());
        r.tags.insert("cost".into(), "@SUM(1,1)".into());
        r.last_seen_at = chrono::Utc::now();
        r.rehash();
        store.put_resources(vec![r.clone()]).await.unwrap();
        r.arn
    });
    let csv = q.ok(&["--format", "csv", "inventory", "list"]);
    let line = csv.lines().find(|l| l.contains(&arn)).unwrap();
    assert!(line.contains("'=HYPERLINK"), "{line}");
    for cell in csv::Reader::from_reader(csv.as_bytes())
        .records()
        .map(Result::unwrap)
        .flat_map(|r| r.iter().map(String::from).collect::<Vec<_>>())
    {
        assert!(!cell.starts_with(['=', '+', '@']), "a formula cell: {cell}");
    }
    let table = q.ok(&["inventory", "list"]);
    assert!(!table.contains('\u{1b}') && !table.contains('\u{7}'), "an escape sequence reached the terminal");
    assert!(table.contains("\\x1b]0;PWNED\\x07"), "shown escaped: {table}");

    // An event's fields, explained.
    let record = serde_json::json!({"Records": [{
        "eventVersion": "1.08", "eventSource": "s3.amazonaws.com", "eventName": format!("PutBucketAcl{TITLE}"),
        "awsRegion": "us-east-1", "eventTime": "2026-01-05T10:00:00Z", "recipientAccountId": "123456789012",
        "eventID": "e1", "requestParameters": {"bucketName": format!("b{TITLE}")}
    }]});
    let file = q.dir().join("evil.json");
    std::fs::write(&file, record.to_string()).unwrap();
    let explained = q.ok(&["events", "explain", file.to_str().unwrap()]);
    assert!(!explained.contains('\u{1b}') && !explained.contains('\u{7}'), "{explained}");
    let stats = q.run(&["events", "stats"]);
    let shown = String::from_utf8_lossy(&stats.stdout);
    assert!(!shown.contains('\u{1b}'), "{shown}");
}

#[test]
fn suppressions_pause_and_audit_from_the_command_line() {
    let q = Qrie::new();
    q.demo();
    // The demo's two example rules, one expiring within 14 days.
    let rules = q.json(&["suppressions", "list"]);
    assert_eq!(rules.as_array().unwrap().len(), 2, "{rules}");
    assert_eq!(q.json(&["suppressions", "list", "--status", "expiring"]).as_array().unwrap().len(), 1);

    let policy = "ec2-sg-open-ssh";
    let mine = q.findings(&["--policy", policy, "--suppressed", "no"]);
    assert!(!mine.is_empty());
    let preview = q.json(&["suppressions", "preview", "--policy", policy]);
    assert_eq!(preview["Total"].as_u64().unwrap() as usize, q.findings(&["--policy", policy]).len());
    // A reason is required, and a policy must exist.
    let err = q.fails(&[
        "suppressions",
        "add",
        "--policy",
        policy,
        "--reason",
        "x",
        "--category",
        "by-design",
        "--owner",
        "me",
    ]);
    assert!(err.contains("reason"), "{err}");
    let err = q.fails(&[
        "suppressions",
        "add",
        "--policy",
        "nope",
        "--reason",
        "legit",
        "--category",
        "by-design",
        "--owner",
        "me",
    ]);
    assert!(err.contains("unknown policy"), "{err}");
    let added = q.json(&[
        "suppressions",
        "add",
        "--policy",
        policy,
        "--reason",
        "bastions, by design",
        "--category",
        "by-design",
        "--owner",
        "netops",
        "--expires",
        "30d",
    ]);
    let id = added["Rule"]["Id"].as_str().unwrap().to_string();
    assert!(added["Rule"]["CreatedBy"].as_str().unwrap().starts_with("cli:"));
    assert!(q.findings(&["--policy", policy, "--suppressed", "no"]).is_empty(), "hidden by default");
    let shown = q.findings(&["--policy", policy, "--suppressed", "yes"]);
    assert!(shown.len() >= mine.len() && shown.iter().all(|f| !f["Suppression"].is_null()));
    let table = q.ok(&["findings", "list", "--policy", policy, "--suppressed", "yes"]);
    assert!(table.contains(&format!("suppressed ({id})")), "{table}");
    assert!(q.ok(&["summary"]).contains("suppressed (counted apart)"));

    q.ok(&["suppressions", "edit", &id, "--reason", "bastions only, by design"]);
    q.ok(&["suppressions", "disable", &id]);
    assert_eq!(q.findings(&["--policy", policy, "--suppressed", "no"]).len(), mine.len(), "unsuppressed at once");
    assert!(q.fails(&["suppressions", "delete", &id]).contains("--yes"));
    q.ok(&["suppressions", "delete", &id, "--yes"]);
    assert_eq!(q.json(&["suppressions", "show", &id])["Rule"]["Status"], "deleted");

    // Pause keeps the findings; resume re-evaluates.
    q.ok(&["policies", "pause", policy]);
    assert_eq!(q.json(&["policies", "list", "--status", "paused"])[0]["PolicyId"], policy);
    let paused = q.findings(&["--policy", policy]);
    assert!(paused.iter().all(|f| f["PolicyPaused"] == true && f["State"] == "ACTIVE"));
    assert!(q.ok(&["findings", "list", "--policy", policy]).contains("paused"));
    assert!(q.fails(&["policies", "launch", policy]).contains("paused"));
    q.ok(&["policies", "resume", policy]);
    let resumed = q.findings(&["--policy", policy]);
    assert_eq!(resumed.len(), paused.len());
    assert!(resumed.iter().all(|f| f["PolicyPaused"] == false));

    let audit = q.json(&["audit", "--limit", "1000"]);
    let actions: Vec<&str> = audit.as_array().unwrap().iter().map(|e| e["Action"].as_str().unwrap()).collect();
    for a in [
        "suppression.create",
        "suppression.edit",
        "suppression.disable",
        "suppression.delete",
        "policy.pause",
        "policy.resume",
    ] {
        assert!(actions.contains(&a), "{a} in {actions:?}");
    }
    let by_me = q.json(&["audit", "--target", &id]);
    assert_eq!(by_me.as_array().unwrap().len(), 4, "{by_me}");
    assert!(q.fails(&["audit", "--action", "nope"]).contains("audit action"));
}

#[test]
fn archive_and_purge_from_the_command_line() {
    let q = Qrie::new();
    q.demo();
    let policy = "ec2-sg-open-ssh";
    let all = q.findings(&["--state", "all", "--policy", policy]).len() as u64;
    assert!(all > 0);

    // Without --yes and without a terminal it refuses, and deletes nothing.
    let err = q.fails(&["policies", "delete", policy, "--purge"]);
    assert!(err.contains("--yes"), "{err}");
    let err = q.fails(&["policies", "delete", policy, "--purge", "--yes", "--archive-to", "ftp://host/x"]);
    assert!(err.contains("expected a directory or s3://"), "{err}");
    let err = q.fails(&["policies", "delete", policy, "--purge", "--yes", "--archive-to", "s3://UPPER"]);
    assert!(err.contains("bucket name"), "{err}");
    assert_eq!(q.json(&["policies", "show", policy])["Status"], "active", "still launched");

    // By default the archive goes beside the SQLite store.
    let out = q.json(&["policies", "delete", policy, "--purge", "--yes"]);
    assert_eq!((out["Archive"]["Archived"].as_u64(), out["Archive"]["Purged"].as_u64()), (Some(all), Some(all)));
    let location = out["Archive"]["Location"].as_str().unwrap();
    assert!(std::path::Path::new(location).starts_with(q.dir().join("archive")), "{location}");
    assert!(q.findings(&["--state", "all", "--policy", policy]).is_empty());

    // Retention: a suspended policy's resolved findings, counted, then archived.
    let other = "s3-bucket-versioning-disabled";
    q.ok(&["policies", "suspend", other, "--yes"]);
    let resolved = q.findings(&["--state", "resolved", "--policy", other]).len() as u64;
    assert!(resolved > 0);
    let err = q.fails(&["findings", "archive", "--older-than", "5y"]);
    assert!(err.contains("unknown unit"), "{err}");
    let err = q.fails(&["findings", "archive", "--older-than", "soon"]);
    assert!(err.contains("not a duration"), "{err}");
    let dry = q.json(&["findings", "archive", "--older-than", "0d", "--policy", other, "--dry-run"]);
    assert_eq!((dry["Archived"].as_u64(), dry["Purged"].as_u64()), (Some(resolved), Some(0)));
    let none = q.json(&["findings", "archive", "--older-than", "30d", "--policy", other, "--yes"]);
    assert_eq!((none["Archived"].as_u64(), none["Location"].as_str()), (Some(0), None));
    let err = q.fails(&["findings", "archive", "--older-than", "0d", "--policy", other]);
    assert!(err.contains("--yes"), "{err}");
    let elsewhere = q.dir().join("retention");
    let done = q.json(&[
        "findings",
        "archive",
        "--older-than",
        "0d",
        "--policy",
        other,
        "--yes",
        "--archive-to",
        elsewhere.to_str().unwrap(),
    ]);
    assert_eq!((done["Archived"].as_u64(), done["Purged"].as_u64()), (Some(resolved), Some(resolved)));
    assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 1);
    assert!(q.findings(&["--state", "all", "--policy", other]).is_empty());

    // The audit log names the CLI user and the archives.
    let purges = q.json(&["audit", "--action", "findings.purge"]);
    let purges = purges.as_array().unwrap();
    assert_eq!(purges.len(), 2, "{purges:?}");
    // Named even where $USER is unset (as here): from the password database, else by uid.
    assert!(purges.iter().all(|e| {
        let actor = e["Actor"].as_str().unwrap();
        actor.starts_with("cli:") && actor != "cli:unknown" && actor.len() > 4
    }));
    assert!(purges.iter().any(|e| e["Target"].as_str().unwrap().starts_with(elsewhere.to_str().unwrap())));
}

/// Runs `scripts/validate-export KIND FILE` in the test venv (see scripts/setup-python).
fn validate_export(kind: &str, file: &Path) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = std::process::Command::new(root.join(".venv/bin/python"))
        .arg(root.join("scripts/validate-export"))
        .arg(kind)
        .arg(file)
        .output()
        .expect("run scripts/validate-export (scripts/setup-python makes the venv)");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{kind} export of {} is invalid:\n{text}", file.display());
    text
}

#[test]
fn findings_export_in_every_format_from_the_command_line() {
    let q = Qrie::new();
    q.demo();
    let all = q.findings(&["--state", "all", "--suppressed", "all"]).len();
    assert!(all > 0);

    let err = q.fails(&["findings", "export"]);
    assert!(err.contains("--format ocsf, asff, csv or jsonl"), "{err}");
    let err = q.fails(&["--format", "ocsf", "findings", "list"]);
    assert!(err.contains("qrie findings export"), "{err}");
    let err = q.fails(&["--format", "csv", "findings", "export", "--public-url", "ftp://x"]);
    assert!(err.contains("not a base URL"), "{err}");
    let missing = q.dir().join("no/such/dir/out.csv");
    let err = q.fails(&["--format", "csv", "findings", "export", "-o", missing.to_str().unwrap()]);
    assert!(err.contains("creating a file in"), "{err}");

    // OCSF to a file, with links; valid against the OCSF class definitions.
    let ocsf = q.dir().join("findings.ocsf.jsonl");
    let args =
        ["findings", "export", "--state", "all", "--suppressed", "all", "--public-url", "https://qrie.example.com/"];
    let mut with_output = vec!["--format", "ocsf"];
    with_output.extend(args);
    with_output.extend(["-o", ocsf.to_str().unwrap()]);
    q.ok(&with_output);
    assert!(validate_export("ocsf", &ocsf).contains(&format!("{all} valid records")));
    let first: Value = serde_json::from_str(std::fs::read_to_string(&ocsf).unwrap().lines().next().unwrap()).unwrap();
    assert!(first["finding_info"]["src_url"]
        .as_str()
        .unwrap()
        .starts_with("https://qrie.example.com/findings/detail?"));
    let leftovers: Vec<_> = std::fs::read_dir(q.dir())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".partial"))
        .collect();
    assert!(leftovers.is_empty(), "no partial file is left behind");

    // ASFF to standard output; valid for BatchImportFindings.
    let asff = q.ok(&["--format", "asff", "findings", "export", "--state", "all", "--suppressed", "all"]);
    let asff_file = q.dir().join("asff.jsonl");
    std::fs::write(&asff_file, &asff).unwrap();
    assert!(validate_export("asff", &asff_file).contains(&format!("{all} valid records")));

    // CSV with the list's filters: the same findings as the list.
    let account = q.findings(&[])[0]["AccountId"].as_str().unwrap().to_string();
    let listed = q.findings(&["--account", &account, "--suppressed", "no"]).len();
    let csv = q.ok(&["--format", "csv", "findings", "export", "--account", &account]);
    assert_eq!(csv.lines().count(), listed + 1, "a header and a row per finding");
    assert!(csv.lines().skip(1).all(|l| l.contains(&account)));

    // JSON Lines for lists too.
    let lines = q.ok(&["--format", "jsonl", "findings", "list", "--limit", "3"]);
    let items: Vec<Value> = lines.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(items.len(), 3);
    assert!(items.iter().all(|i| i["ARN"].is_string()), "each line is a finding");

    // Compliance findings of one framework.
    let err = q.fails(&["--format", "ocsf", "compliance"]);
    assert!(err.contains("name it"), "{err}");
    let compliance = q.dir().join("cis.jsonl");
    q.ok(&["--format", "ocsf", "compliance", "cis-aws-3.0", "-o", compliance.to_str().unwrap()]);
    let report = validate_export("ocsf", &compliance);
    assert!(!report.starts_with("0 valid"), "{report}");
}

/// Each request a receiver got: its head (lower-cased) and body.
type Received = std::sync::Arc<std::sync::Mutex<Vec<(String, String)>>>;

/// A webhook receiver on a loopback port: answers 200 and keeps each request.
fn webhook_receiver() -> (String, Received) {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let got = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let kept = got.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut head = String::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                head.push_str(&line.to_ascii_lowercase());
            }
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            kept.lock().unwrap().push((head, String::from_utf8_lossy(&body).to_string()));
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
        }
    });
    (url, got)
}

#[test]
fn integrations_and_notifications_from_the_command_line() {
    let q = Qrie::new();
    q.demo();
    let (url, got) = webhook_receiver();
    let secret = "QRIE_CLI_TEST_WEBHOOK_SECRET";

    let err = q.fails(&["integrations", "add", "webhook", "bad", "--url", "ftp://example.com/x"]);
    assert!(err.contains("https"), "{err}");
    let err = q.fails(&["integrations", "add", "webhook", "bad", "--url", "http://example.com/x"]);
    assert!(err.contains("loopback"), "{err}");
    let err = q.fails(&["integrations", "add", "webhook", "bad", "--url", &url, "--secret", "hunter2"]);
    assert!(err.contains("env:NAME"), "{err}");
    let secret_ref = format!("env:{secret}");
    q.ok(&["integrations", "add", "webhook", "hook", "--url", &url, "--secret", &secret_ref, "--on", "resolved"]);
    let err = q.fails(&["integrations", "add", "webhook", "hook", "--url", &url]);
    assert!(err.contains("exists"), "{err}");
    let listed = q.json(&["integrations", "list"]);
    assert_eq!(listed[0]["Id"], "hook");
    assert_eq!(listed[0]["Secret"], format!("env:{secret}"), "the secret is named, never shown");

    // A test notice goes straight out.
    let mut test = q.command(&["integrations", "test", "hook"]);
    assert!(test.env(secret, "s").output().unwrap().status.success());
    assert_eq!(got.lock().unwrap().len(), 1);
    assert!(got.lock().unwrap()[0].0.contains("x-qrie-delivery: test-"));

    // The demo's bootstrap openings are not routed here (`--on resolved`); a
    // suspension's resolves are, but the secret is not set where this
    // dispatcher runs: it leaves them pending, saying why, for one that can.
    let policy = "s3-bucket-versioning-disabled";
    let resolved = q.findings(&["--policy", policy]).len();
    assert!(resolved > 0);
    q.ok(&["policies", "suspend", policy, "--yes"]);
    let report = q.json(&["notifications", "dispatch"]);
    assert_eq!((report["Blocked"].as_u64(), report["Dead"].as_u64()), (Some(resolved as u64), Some(0)), "{report}");
    let failed = q.json(&["notifications", "list", "--failed"]);
    assert_eq!(failed.as_array().unwrap().len(), resolved);
    let hook = &failed[0]["Deliveries"]["hook"];
    assert_eq!(hook["Status"], "pending");
    assert!(hook["LastError"].as_str().unwrap().contains(secret), "{hook}");
    let table = q.ok(&["notifications", "list", "--failed"]);
    assert!(table.contains("pending") && table.contains(secret), "{table}");

    q.ok(&["notifications", "retry"]);
    let mut dispatch = q.command(&["notifications", "dispatch", "--format", "json"]);
    let out = dispatch.env(secret, "s3cret").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["Delivered"].as_u64(), Some(resolved as u64), "{report}");
    let got = got.lock().unwrap();
    assert_eq!(got.len(), 1 + resolved);
    assert!(got[1..]
        .iter()
        .all(|(head, body)| head.contains("x-qrie-signature: t=") && body.contains("finding.resolved")));
    drop(got);
    assert_eq!(q.json(&["notifications", "list"]).as_array().unwrap().len(), 0, "the outbox is empty");
    let audit = q.ok(&["audit", "--format", "json"]);
    assert!(audit.contains("integration.add") && audit.contains("notification.retry"), "{audit}");

    q.fails(&["integrations", "remove", "hook"]);
    q.ok(&["integrations", "remove", "hook", "--yes"]);
    assert_eq!(q.json(&["integrations", "list"]).as_array().unwrap().len(), 0);
}
