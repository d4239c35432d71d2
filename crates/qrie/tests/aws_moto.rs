//! Issue 4's "done when", as a new user would try it, through the built
//! binary against a moto server: `qrie accounts add` two accounts,
//! `qrie inventory generate --scan-type bootstrap`, `qrie scan policies`, and
//! `qrie findings list` shows the misconfigurations that were seeded (S3, IAM,
//! EC2) and the ones moto's own defaults carry, nothing else.

mod common;
use common::Qrie;
use qrie_moto::MotoServer;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

const ACCOUNT_A: &str = "123456789012";
const ACCOUNT_B: &str = "222222222222";

fn venv(bin: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin").join(bin)
}

fn seed(moto: &MotoServer) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/moto_seed.py");
    let out = Command::new(venv("python")).arg(&script).args([&moto.endpoint, ACCOUNT_B]).output().expect("run python");
    assert!(out.status.success(), "seeding failed: {}", String::from_utf8_lossy(&out.stderr));
}

/// (policy, ARN) of every finding a new user should see, per account: the
/// seeded public bucket, `*:*` policy and world-open SSH group (unused, too);
/// and what moto's defaults carry, as AWS's do — the root without MFA, EBS
/// encryption by default off, the default VPC's security group (rules that
/// admit its own members) and network ACL (all traffic allowed). The EC2 ids
/// are moto's random ones, found by name in the inventory.
fn expected(q: &Qrie) -> BTreeSet<(String, String)> {
    let inventory = q.json(&["inventory", "list", "--service", "ec2"]);
    let ec2 = inventory.as_array().expect("resources");
    let arn_where = |account: &str, kind: &str, key: &str, field: &str, value: Value| -> String {
        let found: Vec<&Value> = ec2
            .iter()
            .filter(|r| r["AccountId"] == account && r["ResourceType"] == kind)
            .filter(|r| r["Configuration"][key][field] == value)
            .collect();
        assert_eq!(found.len(), 1, "one {kind} with {field} = {value} in {account}");
        found[0]["ARN"].as_str().expect("ARN").to_string()
    };
    let mut out = BTreeSet::new();
    for (account, prefix) in [(ACCOUNT_A, "a"), (ACCOUNT_B, "b")] {
        let mut add = |policy: &str, arn: String| {
            out.insert((policy.to_string(), arn));
        };
        let bucket = format!("arn:aws:s3:::{prefix}-public-bucket");
        for p in [
            "s3-bucket-public-read-acl",
            "s3-bucket-acls-enabled",
            "s3-bucket-block-public-access-off",
            "s3-bucket-access-logging-disabled",
            "s3-bucket-default-encryption-missing",
            "s3-bucket-default-encryption-not-kms",
            "s3-bucket-insecure-transport-allowed",
            "s3-bucket-lifecycle-missing",
            "s3-bucket-object-lock-disabled",
        ] {
            add(p, bucket.clone());
        }
        add("s3-account-block-public-access-off", format!("arn:aws:s3::{account}:account-public-access-block"));
        let policy = format!("arn:aws:iam::{account}:policy/{prefix}-full-admin");
        add("iam-managed-policy-full-admin", policy.clone());
        add("iam-managed-policy-privilege-escalation", policy);
        let root = format!("arn:aws:iam::{account}:root");
        add("iam-root-mfa-disabled", root.clone());
        add("iam-root-hardware-mfa-disabled", root);
        let sg = "AWS::EC2::SecurityGroup";
        let ssh = arn_where(account, sg, "SecurityGroup", "GroupName", Value::from(format!("{prefix}-ssh")));
        add("ec2-sg-open-ssh", ssh.clone());
        add("ec2-sg-unused", ssh);
        add("ec2-sg-default-has-rules", arn_where(account, sg, "SecurityGroup", "GroupName", Value::from("default")));
        let nacl = arn_where(account, "AWS::EC2::NetworkAcl", "NetworkAcl", "IsDefault", Value::Bool(true));
        add("ec2-nacl-open-admin-ports", nacl);
        add("ec2-ebs-encryption-by-default-disabled", format!("arn:aws:ec2:us-east-1:{account}:account-settings"));
    }
    out
}

#[test]
fn done_when_a_new_user_monitors_two_accounts_in_moto() {
    let moto = MotoServer::start();
    seed(&moto);
    let q = Qrie::new().with_aws(&moto.endpoint);

    let added = q.ok(&["accounts", "add", ACCOUNT_A, "--name", "qop", "--region", "us-east-1"]);
    assert!(added.contains("launched the"), "the first account launches the catalog: {added}");
    let role = format!("arn:aws:iam::{ACCOUNT_B}:role/qrie-read");
    q.ok(&["accounts", "add", ACCOUNT_B, "--role-arn", &role, "--external-id", "x-1", "--region", "us-east-1"]);

    let report = q.json(&["inventory", "generate", "--scan-type", "bootstrap"]);
    assert_eq!(report["Result"]["BaselinedAccounts"].as_array().map(Vec::len), Some(2), "{report:#}");
    let calls = &report["Job"]["Counts"];
    assert!(calls["api_calls.IAM:GetAccountAuthorizationDetails"].as_u64() == Some(2), "{calls:#}");
    q.ok(&["scan", "policies"]);

    let findings = q.json(&["findings", "list"]);
    let got: BTreeSet<(String, String)> = findings
        .as_array()
        .expect("a JSON array")
        .iter()
        .map(|f| (f["Policy"].as_str().unwrap().to_string(), f["ARN"].as_str().unwrap().to_string()))
        .collect();
    let want = expected(&q);
    let missing: Vec<_> = want.difference(&got).collect();
    let extra: Vec<_> = got.difference(&want).collect();
    assert!(missing.is_empty() && extra.is_empty(), "missing {missing:#?}\nunexpected {extra:#?}");

    let accounts = q.json(&["accounts", "list"]);
    for a in accounts.as_array().expect("accounts") {
        assert!(a["BaselinedAt"].is_string(), "{a}");
    }
}

/// An account added without `--region` is swept in every region enabled for
/// it (DescribeRegions as the account sees it), not only the home region:
/// the security groups seeded in us-east-1 and eu-west-1 are both found, and
/// `accounts list` shows the regions swept. `inventory generate --region`
/// filters those regions.
#[test]
fn an_account_added_without_regions_is_swept_in_every_enabled_region() {
    let moto = MotoServer::start();
    seed(&moto);
    let q = Qrie::new().with_aws(&moto.endpoint);
    q.ok(&["accounts", "add", ACCOUNT_A, "--name", "qop"]);
    let groups = |q: &Qrie| -> BTreeSet<(String, String)> {
        let inventory = q.json(&["inventory", "list", "--service", "ec2", "--type", "AWS::EC2::SecurityGroup"]);
        inventory
            .as_array()
            .expect("resources")
            .iter()
            .map(|r| (r["Region"].as_str().unwrap().to_string(), r["Name"].as_str().unwrap_or_default().to_string()))
            .collect()
    };

    q.json(&["inventory", "generate", "--service", "ec2", "--region", "eu-west-1"]);
    let found = groups(&q);
    assert!(found.iter().all(|(region, _)| region == "eu-west-1"), "--region filters: {found:?}");

    let report = q.json(&["inventory", "generate", "--service", "ec2"]);
    let found = groups(&q);
    for (region, name) in [("us-east-1", "a-ssh"), ("eu-west-1", "a-eu-web")] {
        assert!(found.iter().any(|(r, n)| r == region && n.contains(name)), "{region} {name} not found: {found:?}");
    }
    assert!(report["Result"]["Units"].as_u64().unwrap() > 2, "{:#}", report["Result"]);

    let accounts = q.json(&["accounts", "list"]);
    let enabled = accounts[0]["EnabledRegions"].as_array().expect("the regions read");
    for region in ["us-east-1", "eu-west-1"] {
        assert!(enabled.iter().any(|r| r == region), "{enabled:?}");
    }
    let table = q.ok(&["accounts", "list", "--format", "table"]);
    assert!(table.contains("all enabled ("), "{table}");
}
