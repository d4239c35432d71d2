//! The router on real CloudTrail records of the shared corpus: exact targets for S3, EC2 and
//! IAM write events, and the right skip for failed, read-only and refused ones.

mod common;

use common::route_file;
use qrie_events::{Action, Decision, Routed, SkipReason};

const INV: &str = "invictus-ir_aws_dataset/218007301253_CloudTrail_us-east-1_20230710T";
const PANTHER: &str = "panther-analysis/panther_cloudtrail_tests.records.jsonl";
const STRATUS: &str = "stratus-red-team-detonation-logs/aws.";

fn routed(file: &str, position: usize) -> Routed {
    let (_, r) = route_file(file).into_iter().nth(position).unwrap_or_else(|| panic!("{file}#{position}"));
    r
}

fn targets(file: &str, position: usize) -> (String, Vec<(String, &'static str, Action)>) {
    let r = routed(file, position);
    let name = r.event_name.clone().unwrap_or_default();
    match r.decision {
        Decision::Mapped { targets } => {
            (name, targets.into_iter().map(|t| (t.arn, t.resource_type, t.action)).collect())
        }
        other => panic!("{file}#{position} {name}: {other:?}"),
    }
}

fn expect(file: &str, position: usize, name: &str, want: &[(&str, &str, Action)]) {
    let (got_name, got) = targets(file, position);
    assert_eq!(got_name, name, "{file}#{position}");
    let want: Vec<(String, &str, Action)> = want.iter().map(|(a, t, x)| (a.to_string(), *t, *x)).collect();
    let got: Vec<(String, &str, Action)> = got.iter().map(|(a, t, x)| (a.clone(), *t, *x)).collect();
    assert_eq!(got, want, "{file}#{position} {name}");
}

use Action::{Deleted, Refresh};

#[test]
fn s3_write_events() {
    let f = format!("{INV}1205Z_UljXNp9xLp8nsAGc.json");
    let bucket = "arn:aws:s3:::stratus-red-team-ctes-bucket-qyxyekjbtk";
    expect(&f, 3, "PutBucketTagging", &[(bucket, "AWS::S3::Bucket", Refresh)]);
    expect(&f, 4, "PutBucketPolicy", &[(bucket, "AWS::S3::Bucket", Refresh)]);
    let f = format!("{INV}1230Z_lHgkh3VeI3XnjZSL.json");
    expect(
        &f,
        29,
        "DeleteBucketPolicy",
        &[("arn:aws:s3:::stratus-red-team-bdbp-lhfzvgcamn", "AWS::S3::Bucket", Refresh)],
    );
    let f = format!("{INV}1205Z_zs3JGxETHr59VpkX.json");
    expect(
        &f,
        178,
        "PutBucketLifecycle",
        &[("arn:aws:s3:::stratus-red-team-ctlr-bucket-zqfsvooxqj", "AWS::S3::Bucket", Refresh)],
    );
    let f = "cloud-custodian-cwe/event-cloud-trail-create-bucket.json";
    expect(f, 0, "CreateBucket", &[("arn:aws:s3:::custodian-create-bucket-v4", "AWS::S3::Bucket", Refresh)]);
    let f = "awsdocs/awsdocs_examples.records.jsonl";
    expect(f, 23, "DeleteBucket", &[("arn:aws:s3:::my-test-bucket-cross-account", "AWS::S3::Bucket", Deleted)]);
    expect(
        PANTHER,
        333,
        "PutBucketPublicAccessBlock",
        &[("arn:aws:s3:::corporate-documents", "AWS::S3::Bucket", Refresh)],
    );
    let r = routed(PANTHER, 344);
    assert_eq!(r.region.as_deref(), Some("us-east-1"));
    assert_eq!(r.account_id.as_deref(), Some("123456789012"));
}

#[test]
fn ec2_write_events() {
    let sg = "arn:aws:ec2:us-east-1:123837392027:security-group/sg-04cfb7a4712d75b00";
    let f = format!("{INV}1215Z_YMDRJwtmC82bUwAo.json");
    expect(&f, 88, "CreateSecurityGroup", &[(sg, "AWS::EC2::SecurityGroup", Refresh)]);
    expect(&f, 91, "AuthorizeSecurityGroupIngress", &[(sg, "AWS::EC2::SecurityGroup", Refresh)]);
    expect(&f, 140, "DeleteSecurityGroup", &[(sg, "AWS::EC2::SecurityGroup", Deleted)]);
    let ami = "arn:aws:ec2:us-east-1:123837392027:image/ami-0aa1d83d0b0985c86";
    expect(&f, 95, "CreateTags", &[(ami, "AWS::EC2::Image", Refresh)]);
    expect(&f, 97, "ModifyImageAttribute", &[(ami, "AWS::EC2::Image", Refresh)]);
    let snap = "arn:aws:ec2:us-east-1:123837392027:snapshot/snap-083d3b857c13988bc";
    expect(&f, 103, "ModifySnapshotAttribute", &[(snap, "AWS::EC2::Snapshot", Refresh)]);
    expect(&f, 153, "DeleteSnapshot", &[(snap, "AWS::EC2::Snapshot", Deleted)]);
    expect(
        &format!("{INV}1215Z_MifI13MOmOjRfXzJ.json"),
        28,
        "CreateSnapshot",
        &[(snap, "AWS::EC2::Snapshot", Refresh)],
    );
    expect(&format!("{INV}1215Z_P0WZuP2zvLW2RcUo.json"), 15, "RegisterImage", &[(ami, "AWS::EC2::Image", Refresh)]);
    let f = format!("{INV}1220Z_ovtmbuX3ENJ119uH.json");
    expect(
        &f,
        12,
        "DeleteVolume",
        &[("arn:aws:ec2:us-east-1:123837392027:volume/vol-0fc2e34e74650e145", "AWS::EC2::Volume", Deleted)],
    );
    expect(&f, 14, "DeregisterImage", &[(ami, "AWS::EC2::Image", Deleted)]);
    let f = format!("{INV}1210Z_QY5iPRtGUt0EpVaH.json");
    let instance = "arn:aws:ec2:us-east-1:123837392027:instance/i-0dbc91f429e48eeed";
    expect(&f, 56, "ModifyInstanceAttribute", &[(instance, "AWS::EC2::Instance", Refresh)]);
    let f = "cloud-custodian-cwe/event-cloud-trail-run-instance-creator-assumed.json";
    expect(
        f,
        0,
        "RunInstances",
        &[("arn:aws:ec2:us-east-1:644160558196:instance/i-0f7c711dc84bedda0", "AWS::EC2::Instance", Refresh)],
    );
    let f = "cloud-custodian-cwe/event-cloud-trail-create-volume.json";
    expect(
        f,
        0,
        "CreateVolume",
        &[("arn:aws:ec2:us-east-1:101010101111:volume/vol-97c02b3e", "AWS::EC2::Volume", Refresh)],
    );
    expect(
        PANTHER,
        208,
        "CreateNetworkAclEntry",
        &[("arn:aws:ec2:us-west-2:123456789012:network-acl/acl-1111", "AWS::EC2::NetworkAcl", Refresh)],
    );
    let settings = "arn:aws:ec2:us-east-1:123456789:account-settings";
    expect(PANTHER, 86, "DisableEbsEncryptionByDefault", &[(settings, "AWS::EC2::AccountSettings", Refresh)]);
    // Anonymised set: impossible region and mixed-case ids are kept as given, not rejected.
    let f = format!("{STRATUS}exfiltration.ec2-share-ami.json");
    expect(
        &f,
        0,
        "ModifyImageAttribute",
        &[("arn:aws:ec2:me-south-1r:118238665043:image/ami-de1fbCab6ccB03e6D", "AWS::EC2::Image", Refresh)],
    );
}

#[test]
fn run_instances_names_every_launched_instance() {
    let (_, got) = targets(PANTHER, 132);
    assert!(!got.is_empty());
    assert!(got.iter().all(|(arn, t, a)| arn.starts_with("arn:aws:ec2:us-west-2:123456789012:instance/i-")
        && *t == "AWS::EC2::Instance"
        && *a == Refresh));
}

#[test]
fn iam_write_events() {
    let f = format!("{STRATUS}persistence.iam-create-admin-user.json");
    let user = "arn:aws:iam::229654561268:user/malicious-iam-user";
    // AdministratorAccess is AWS-managed: the user changed, no account policy did.
    expect(&f, 0, "AttachUserPolicy", &[(user, "AWS::IAM::User", Refresh)]);
    expect(&f, 1, "CreateAccessKey", &[(user, "AWS::IAM::User", Refresh)]);
    expect(&f, 2, "CreateUser", &[(user, "AWS::IAM::User", Refresh)]);
    let r = routed(&f, 2);
    assert_eq!(r.region.as_deref(), Some("ap-isob-central-3r"));
    if let Decision::Mapped { targets } = r.decision {
        assert_eq!(targets[0].region, "global");
        assert_eq!(targets[0].name.as_deref(), Some("malicious-iam-user"));
    }
    let role = "arn:aws:iam::123837392027:role/stratus-red-team-usr-data-role";
    expect(&format!("{INV}1210Z_6CICdbJQM3beT7n3.json"), 73, "DeleteRole", &[(role, "AWS::IAM::Role", Deleted)]);
    expect(&format!("{INV}1215Z_Z8x5aqgtcXn5NEG9.json"), 24, "DetachRolePolicy", &[(role, "AWS::IAM::Role", Refresh)]);
    let policy = "arn:aws:iam::123837392027:policy/stratus-red-team-ec2lui-policy-pcccexdthk";
    expect(
        &format!("{INV}1210Z_6CICdbJQM3beT7n3.json"),
        53,
        "CreatePolicy",
        &[(policy, "AWS::IAM::ManagedPolicy", Refresh)],
    );
    expect(
        &format!("{INV}1210Z_6CICdbJQM3beT7n3.json"),
        187,
        "DeletePolicy",
        &[(policy, "AWS::IAM::ManagedPolicy", Deleted)],
    );
    let backdoor = "arn:aws:iam::123837392027:role/stratus-red-team-backdoor-r-role";
    expect(
        &format!("{INV}1230Z_9SJSsrxJ0ChF5VFb.json"),
        15,
        "UpdateAssumeRolePolicy",
        &[(backdoor, "AWS::IAM::Role", Refresh)],
    );
    let f = "awsdocs/awsdocs_examples.records.jsonl";
    let bob = "arn:aws:iam::123456789012:user/Bob";
    expect(
        f,
        14,
        "AddUserToGroup",
        &[(bob, "AWS::IAM::User", Refresh), ("arn:aws:iam::123456789012:group/admin", "AWS::IAM::Group", Refresh)],
    );
    // Root enabling its own MFA: CloudTrail writes userName "AWS ROOT USER".
    expect(f, 8, "EnableMFADevice", &[("arn:aws:iam::111122223333:root", "AWS::IAM::RootUser", Refresh)]);
    // Root creating an access key for itself names no user.
    expect(PANTHER, 442, "CreateAccessKey", &[("arn:aws:iam::493859302102:root", "AWS::IAM::RootUser", Refresh)]);
}

#[test]
fn root_console_login_refreshes_the_root_and_others_are_skipped() {
    let f = "awsdocs/awsdocs_examples.records.jsonl";
    expect(f, 5, "ConsoleLogin", &[("arn:aws:iam::111122223333:root", "AWS::IAM::RootUser", Refresh)]);
    let r = routed(&format!("{STRATUS}initial-access.console-login-without-mfa.json"), 0);
    assert_eq!(r.decision, Decision::Skipped { reason: SkipReason::ReadOnly });
}

#[test]
fn failed_calls_are_skipped_with_their_code() {
    for (file, position, code) in [
        (PANTHER, 322, "AccessDenied"),
        (PANTHER, 175, "LimitExceededException"),
        (PANTHER, 104, "Client.DryRunOperation"),
        (PANTHER, 210, "ValidationError"),
    ] {
        let r = routed(file, position);
        assert_eq!(
            r.decision,
            Decision::Skipped { reason: SkipReason::Failed { error_code: code.into() } },
            "{file}#{position}"
        );
    }
    let r = routed(&format!("{STRATUS}execution.ec2-launch-unusual-instances.json"), 0);
    let reason = SkipReason::Failed { error_code: "Client.UnauthorizedOperation".into() };
    assert_eq!(r.decision, Decision::Skipped { reason });
}

#[test]
fn read_only_calls_are_skipped() {
    let f = format!("{INV}1200Z_iLj9fb7yyUG9X4Bf.json");
    let mut read_only = 0;
    for (i, r) in route_file(&f) {
        let name = r.event_name.clone().unwrap();
        let failed = i.record.as_ref().unwrap().get("errorCode").is_some();
        if !failed && ["Describe", "List", "Get"].iter().any(|p| name.starts_with(p)) {
            assert_eq!(r.decision, Decision::Skipped { reason: SkipReason::ReadOnly }, "{name}");
            read_only += 1;
        }
    }
    assert!(read_only > 100, "{read_only}");
}

#[test]
fn scrubbed_eventbridge_sources_are_refused_as_forged() {
    // streamalert scrubbed `source` to "..." : not an AWS source, so not trusted.
    let routes = route_file("streamalert/streamalert_rule_tests.records.jsonl");
    let forged = routes.iter().filter(|(_, r)| matches!(&r.decision, Decision::Skipped { reason: SkipReason::ForgedSource { source } } if source == "...")).count();
    assert!(forged >= 3, "{forged}");
}
