//! The EC2 collector against moto: two accounts (one through AssumeRole), two
//! regions, the shapes the policies read, the exact findings, failures that
//! must answer Error or delete nothing, describe, and the engine's sweeps and
//! event path.

mod common;

use base64::Engine as _;
use common::only::OnlyService;
use common::seed_ec2::{self, Seeded, CLEAN_USER_DATA, LEAKY_USER_DATA};
use common::{account, fail_call, failing, verdicts, Moto, ACCOUNT_A, ACCOUNT_B, ROLE_B};
use qrie_aws::AwsCloud;
use qrie_engine::accounts::NewAccount;
use qrie_engine::policies::LaunchOptions;
use qrie_engine::{
    Cloud, CloudError, Described, Engine, InventoryRequest, Listing, NoProgress, PolicySweepRequest, SweepUnit,
};
use qrie_model::{AccountSource, DetectedBy, FindingState, ResolvedReason, Resource, ScanType, Service, Verdict};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

const EAST: &str = "us-east-1";
const WEST: &str = "eu-west-1";

fn unit(account_id: &str, region: &str) -> SweepUnit {
    SweepUnit { account_id: account_id.to_string(), service: Service::Ec2, region: Some(region.to_string()) }
}

fn by_arn<'a>(listing: &'a Listing, arn: &str) -> &'a Resource {
    listing.resources.iter().find(|r| r.arn == arn).unwrap_or_else(|| panic!("{arn} not listed"))
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// Account A in both regions (EBS encryption by default on in eu-west-1 only),
/// account B in us-east-1.
async fn seeded(moto: &Moto) -> Vec<(Seeded, bool)> {
    let a = moto.sdk_config().await;
    let b = moto.sdk_config_in(ROLE_B).await;
    vec![
        (seed_ec2::ec2_region(&a, ACCOUNT_A, EAST, false).await, false),
        (seed_ec2::ec2_region(&a, ACCOUNT_A, WEST, true).await, true),
        (seed_ec2::ec2_region(&b, ACCOUNT_B, EAST, false).await, false),
    ]
}

/// Equal sets, or a message naming what is missing and what is extra.
fn assert_same(found: &BTreeSet<(String, String)>, expected: &BTreeSet<(String, String)>, what: &str) {
    let missing: Vec<_> = expected.difference(found).collect();
    let extra: Vec<_> = found.difference(expected).collect();
    assert!(missing.is_empty() && extra.is_empty(), "{what}: missing {missing:#?}\nextra {extra:#?}");
}

fn expected(seeds: &[(Seeded, bool)]) -> BTreeSet<(String, String)> {
    seeds.iter().flat_map(|(s, ebs)| seed_ec2::expected_ec2_failures(s, *ebs)).collect()
}

/// The calls one listing of a seeded region makes: one per listing action and
/// setting, one per live instance (user data), snapshot and image (permissions).
fn assert_call_budget(listing: &Listing, s: &Seeded) {
    let calls = &listing.api_calls;
    let once = [
        "DescribeSecurityGroups",
        "DescribeNetworkInterfaces",
        "DescribeInstances",
        "DescribeVolumes",
        "DescribeSnapshots",
        "DescribeImages",
        "DescribeNetworkAcls",
        "DescribeVpcs",
        "GetEbsEncryptionByDefault",
        "GetInstanceMetadataDefaults",
    ];
    for op in once {
        assert_eq!(calls.get(&format!("EC2:{op}")), Some(&1), "{op}: {calls:?}");
    }
    let snapshots = 2 + s.image_snapshots.len() as u64;
    for (op, n) in
        [("DescribeInstanceAttribute", 2), ("DescribeSnapshotAttribute", snapshots), ("DescribeImageAttribute", 2)]
    {
        assert_eq!(calls.get(&format!("EC2:{op}")), Some(&n), "{op}: {calls:?}");
    }
    assert_eq!(calls.values().sum::<u64>(), once.len() as u64 + 4 + snapshots, "{calls:?}");
    assert_eq!(listing.throttles, 0);
}

#[tokio::test]
async fn lists_ec2_of_two_accounts_and_regions_in_aws_shapes_with_exact_findings() {
    let moto = Moto::start();
    let seeds = seeded(&moto).await;
    let cloud = moto.cloud(&[EAST, WEST]).await;
    let mut all = Vec::new();
    for (s, ebs_default) in &seeds {
        let acct = if s.account == ACCOUNT_A { account(ACCOUNT_A, None) } else { account(ACCOUNT_B, Some(ROLE_B)) };
        let l = cloud.list(&acct, &unit(&s.account, &s.region)).await.expect("list");
        assert!(l.complete && l.errors.is_empty(), "{}/{}: {:?}", s.account, s.region, l.errors);
        assert_call_budget(&l, s);
        for r in &l.resources {
            assert_eq!(
                (r.account_id.as_str(), r.region.as_str()),
                (s.account.as_str(), s.region.as_str()),
                "{}",
                r.arn
            );
        }

        let ssh = by_arn(&l, &s.arn("security-group", &s.ssh_group));
        assert_eq!(ssh.name, "ssh-open");
        let perm = &ssh.configuration["SecurityGroup"]["IpPermissions"][0];
        assert_eq!(
            perm,
            &json!({"FromPort": 22, "IpProtocol": "tcp", "IpRanges": [{"CidrIp": "0.0.0.0/0"}], "Ipv6Ranges": [],
                    "PrefixListIds": [], "ToPort": 22, "UserIdGroupPairs": []})
        );
        let users = ssh.configuration["NetworkInterfaces"].as_array().expect("interfaces");
        assert_eq!(users.len(), 1, "{users:?}");
        assert_eq!(users[0]["Attachment"]["InstanceId"], json!(s.exposed_instance));
        assert_eq!(by_arn(&l, &s.arn("security-group", &s.unused_group)).configuration["NetworkInterfaces"], json!([]));

        let exposed = by_arn(&l, &s.arn("instance", &s.exposed_instance));
        let i = &exposed.configuration["Instance"];
        assert!(i["PublicIpAddress"].is_string(), "{i}");
        assert_eq!(i["MetadataOptions"]["HttpTokens"], "optional");
        assert_eq!(i["SecurityGroups"], json!([{"GroupName": "ssh-open", "GroupId": s.ssh_group}]));
        assert_eq!(exposed.configuration["UserData"], json!(b64(LEAKY_USER_DATA)));
        let private = by_arn(&l, &s.arn("instance", &s.private_instance));
        assert!(private.configuration["Instance"].get("PublicIpAddress").is_none());
        assert_eq!(private.configuration["Instance"]["MetadataOptions"]["HttpTokens"], "required");
        assert_eq!(private.configuration["UserData"], json!(b64(CLEAN_USER_DATA)));

        let public = by_arn(&l, &s.arn("snapshot", &s.public_snapshot));
        assert_eq!(public.configuration["CreateVolumePermissions"], json!([{"Group": "all"}]));
        assert_eq!(public.configuration["Snapshot"]["Encrypted"], false);
        let private = by_arn(&l, &s.arn("snapshot", &s.private_snapshot));
        assert_eq!(private.configuration["CreateVolumePermissions"], json!([]));
        assert_eq!(
            by_arn(&l, &s.arn("image", &s.public_image)).configuration["LaunchPermissions"],
            json!([{"Group": "all"}])
        );
        assert_eq!(by_arn(&l, &s.arn("image", &s.private_image)).configuration["LaunchPermissions"], json!([]));
        let vpc = by_arn(&l, &s.arn("vpc", &s.default_vpc));
        assert_eq!(
            (vpc.resource_type.as_str(), &vpc.configuration["Vpc"]["IsDefault"]),
            ("AWS::EC2::VPC", &json!(true))
        );

        // The settings moto cannot answer are collection errors: the policy
        // answers Error, never Pass.
        let settings = by_arn(&l, &s.settings_arn());
        assert_eq!(settings.configuration["EbsEncryptionByDefault"], json!(ebs_default));
        assert!(settings.configuration.get("InstanceMetadataDefaults").is_none());
        assert!(
            settings.collection_errors.contains_key("InstanceMetadataDefaults"),
            "{:?}",
            settings.collection_errors
        );
        let v: BTreeMap<String, Verdict> = verdicts(settings, &l.resources).into_iter().collect();
        assert!(matches!(v["ec2-account-imdsv2-default-not-required"], Verdict::Error(_)), "{v:?}");
        all.extend(l.resources);
    }
    assert_same(&failing(&all), &expected(&seeds), "failing");
}

#[tokio::test]
async fn unreadable_details_are_collection_errors_and_policies_answer_error() {
    let moto = Moto::start();
    let s = seed_ec2::ec2_region(&moto.sdk_config().await, ACCOUNT_A, EAST, false).await;
    let cloud = moto
        .cloud_with(
            &[EAST],
            vec![
                fail_call("DescribeSnapshotAttribute", "", 403, "UnauthorizedOperation"),
                fail_call("DescribeNetworkInterfaces", "", 500, "InternalError"),
            ],
        )
        .await;
    let l = cloud.list(&account(ACCOUNT_A, None), &unit(ACCOUNT_A, EAST)).await.expect("list");
    assert!(l.complete, "unreadable details of listed resources do not make the listing incomplete");
    let snap = by_arn(&l, &s.arn("snapshot", &s.public_snapshot));
    assert!(snap.collection_errors.contains_key("CreateVolumePermissions"), "{:?}", snap.collection_errors);
    let v: BTreeMap<String, Verdict> = verdicts(snap, &l.resources).into_iter().collect();
    assert!(matches!(v["ec2-snapshot-public"], Verdict::Error(_)), "{v:?}");
    let unused = by_arn(&l, &s.arn("security-group", &s.unused_group));
    assert!(unused.collection_errors.contains_key("NetworkInterfaces"), "{:?}", unused.collection_errors);
    let v: BTreeMap<String, Verdict> = verdicts(unused, &l.resources).into_iter().collect();
    assert!(matches!(v["ec2-sg-unused"], Verdict::Error(_)), "{v:?}");
}

#[tokio::test]
async fn a_failed_listing_is_incomplete_keeps_the_rest_and_all_failed_is_an_error() {
    let moto = Moto::start();
    let s = seed_ec2::ec2_region(&moto.sdk_config().await, ACCOUNT_A, EAST, false).await;
    let a = account(ACCOUNT_A, None);
    let cloud = moto.cloud_with(&[EAST], vec![fail_call("DescribeSecurityGroups", "", 500, "InternalError")]).await;
    let l = cloud.list(&a, &unit(ACCOUNT_A, EAST)).await.expect("partial listing");
    assert!(!l.complete);
    assert!(l.errors.len() == 1 && l.errors[0].contains("security groups"), "{:?}", l.errors);
    assert!(l.resources.iter().all(|r| r.resource_type != "AWS::EC2::SecurityGroup"));
    by_arn(&l, &s.arn("instance", &s.exposed_instance));

    let denied: Vec<_> = [
        "DescribeSecurityGroups",
        "DescribeInstances",
        "DescribeVolumes",
        "DescribeSnapshots",
        "DescribeImages",
        "DescribeNetworkAcls",
        "DescribeVpcs",
    ]
    .into_iter()
    .map(|op| fail_call(op, "", 500, "InternalError"))
    .collect();
    let cloud = moto.cloud_with(&[EAST], denied).await;
    assert!(cloud.list(&a, &unit(ACCOUNT_A, EAST)).await.is_err(), "nothing listed is a failed unit");
}

#[tokio::test]
async fn describe_tells_present_gone_and_error_apart() {
    let moto = Moto::start();
    let s = seed_ec2::ec2_region(&moto.sdk_config().await, ACCOUNT_A, EAST, false).await;
    let cloud = moto.cloud(&[EAST]).await;
    let a = account(ACCOUNT_A, None);
    let present = [
        s.arn("security-group", &s.ssh_group),
        s.arn("instance", &s.exposed_instance),
        s.arn("volume", &s.encrypted_volume),
        s.arn("snapshot", &s.public_snapshot),
        s.arn("image", &s.public_image),
        s.arn("network-acl", &s.rdp_acl),
        s.arn("vpc", &s.default_vpc),
        s.settings_arn(),
    ];
    let listed = cloud.list(&a, &unit(ACCOUNT_A, EAST)).await.expect("list");
    for arn in &present {
        match cloud.describe(&a, arn).await {
            Ok(Described::Present(r)) => {
                let from_list = by_arn(&listed, arn);
                assert_eq!(r.configuration, from_list.configuration, "{arn}: describe reads what the listing reads");
                assert_eq!(r.collection_errors, from_list.collection_errors, "{arn}");
            }
            other => panic!("{arn}: {other:?}"),
        }
    }
    let gone = [
        s.arn("security-group", "sg-0123456789abcdef0"),
        s.arn("instance", "i-0123456789abcdef0"),
        s.arn("volume", "vol-0123456789abcdef0"),
        s.arn("snapshot", "snap-0123456789abcdef0"),
        s.arn("image", "ami-0123456789abcdef0"),
        s.arn("network-acl", "acl-0123456789abcdef0"),
        s.arn("vpc", "vpc-0123456789abcdef0"),
    ];
    for arn in &gone {
        assert!(matches!(cloud.describe(&a, arn).await, Ok(Described::Gone { .. })), "{arn}");
    }
    let failing = moto.cloud_with(&[EAST], vec![fail_call("DescribeVolumes", "", 500, "InternalError")]).await;
    assert!(failing.describe(&a, &s.arn("volume", &s.encrypted_volume)).await.is_err());
    for bad in ["arn:aws:ec2:us-east-1:123456789012:subnet/subnet-1", "arn:aws:ec2::123456789012:instance/i-1"] {
        assert!(matches!(cloud.describe(&a, bad).await, Err(CloudError::UnknownResource(_))), "{bad}");
    }
}

async fn engine_over(cloud: AwsCloud, dir: &tempfile::TempDir) -> Engine {
    let store = qrie_store::open(&format!("sqlite:{}", dir.path().join("q.db").display())).expect("store");
    let engine = Engine::new(store, Arc::new(OnlyService(cloud, Service::Ec2)));
    for (id, role, regions) in [(ACCOUNT_A, None, vec![EAST, WEST]), (ACCOUNT_B, Some(ROLE_B), vec![EAST])] {
        let new = NewAccount {
            account_id: id.into(),
            name: None,
            role_arn: role.map(str::to_string),
            external_id: role.map(|_| "qrie-external-id".to_string()),
            regions: regions.into_iter().map(str::to_string).collect(),
            org_path: vec![],
            source: AccountSource::Manual,
        };
        engine.add_account(new).await.expect("add account");
    }
    for p in qrie_policies::catalog().iter().filter(|p| p.service == Service::Ec2) {
        engine.launch_policy(p.id, LaunchOptions::default(), &NoProgress).await.expect("launch");
    }
    engine
}

async fn active(engine: &Engine) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for p in qrie_policies::catalog().iter().filter(|p| p.service == Service::Ec2) {
        for f in engine.store.findings_for_policy(p.id, Some(FindingState::Active)).await.expect("findings") {
            out.insert((f.arn, f.policy));
        }
    }
    out
}

/// The CloudTrail record AWS writes for AuthorizeSecurityGroupIngress (the shape
/// of the recorded ones in ../shared/testdata/cloudtrail).
fn authorize_ingress_record(s: &Seeded, group: &str, port: i32) -> serde_json::Value {
    json!({
        "eventVersion": "1.08",
        "userIdentity": {"type": "IAMUser", "principalId": "AIDAEXAMPLE", "accountId": s.account,
                         "arn": format!("arn:aws:iam::{}:user/operator", s.account), "userName": "operator"},
        "eventTime": chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        "eventSource": "ec2.amazonaws.com",
        "eventName": "AuthorizeSecurityGroupIngress",
        "awsRegion": s.region,
        "sourceIPAddress": "192.0.2.10",
        "userAgent": "aws-cli/2.15.0",
        "requestParameters": {"groupId": group, "ipPermissions": {"items": [{
            "ipProtocol": "tcp", "fromPort": port, "toPort": port, "groups": {},
            "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0"}]}, "ipv6Ranges": {}, "prefixListIds": {}}]}},
        "responseElements": {"requestId": "5f2a", "_return": true, "securityGroupRuleSet": {"items": [{
            "groupOwnerId": s.account, "groupId": group, "securityGroupRuleId": "sgr-0a1b2c3d4e5f60718",
            "isEgress": false, "ipProtocol": "tcp", "fromPort": port, "toPort": port, "cidrIpv4": "0.0.0.0/0"}]}},
        "requestID": "5f2a",
        "eventID": "3b0c4a8e-2f61-4f0e-9d35-6a1f0c9e7d21",
        "readOnly": false,
        "eventType": "AwsApiCall",
        "managementEvent": true,
        "recipientAccountId": s.account,
        "eventCategory": "Management"
    })
}

#[tokio::test]
async fn sweeps_find_the_seeded_findings_keep_what_a_failed_listing_missed_resolve_deletions_and_take_events() {
    let moto = Moto::start();
    let seeds = seeded(&moto).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = engine_over(moto.cloud(&[EAST]).await, &dir).await;

    let bootstrap = InventoryRequest { scan_type: ScanType::Bootstrap, ..Default::default() };
    let r = engine.inventory_sweep(&bootstrap, &NoProgress).await.expect("sweep");
    assert_eq!(r.result["BaselinedAccounts"].as_array().map(Vec::len), Some(2), "{}", r.result);
    let expected = expected(&seeds);
    assert_same(&active(&engine).await, &expected, "after the bootstrap sweep");
    let sweep = PolicySweepRequest { policy_id: None, scan_type: ScanType::AntiEntropy };
    engine.policy_sweep(&sweep, &NoProgress).await.expect("policy sweep");
    assert_eq!(active(&engine).await, expected, "a policy sweep over an unchanged inventory changes nothing");
    // The metadata defaults moto cannot answer are an evaluation error on each
    // region's settings, never a pass (no finding is opened or resolved for them).
    let errors = r.result["EvaluationErrors"].to_string();
    for (s, _) in &seeds {
        assert!(errors.contains(&s.settings_arn()), "{errors}");
        let f = engine.store.get_finding(&s.settings_arn(), "ec2-account-imdsv2-default-not-required").await;
        assert!(f.expect("finding").is_none());
    }

    // Out of band, the unused group is deleted.
    let (s, _) = &seeds[0];
    let ec2 = seed_ec2::ec2(&moto.sdk_config().await, EAST);
    ec2.delete_security_group().group_id(&s.unused_group).send().await.expect("delete group");
    let unused_arn = s.arn("security-group", &s.unused_group);

    // A sweep whose security-group listing fails deletes nothing.
    let failing = moto.cloud_with(&[EAST], vec![fail_call("DescribeSecurityGroups", "", 500, "InternalError")]).await;
    let failing_engine = Engine::new(
        qrie_store::open(&format!("sqlite:{}", dir.path().join("q.db").display())).expect("store"),
        Arc::new(OnlyService(failing, Service::Ec2)),
    );
    failing_engine.inventory_sweep(&bootstrap, &NoProgress).await.expect("sweep");
    let unused = engine.store.get_finding(&unused_arn, "ec2-sg-unused").await.expect("finding").expect("exists");
    assert_eq!(unused.state, FindingState::Active, "a failed listing resolves nothing");
    assert!(engine.store.get_resource(&unused_arn).await.expect("resource").is_some_and(|r| r.deleted_at.is_none()));

    // A complete sweep sees it gone: its findings resolve as deleted.
    engine.inventory_sweep(&bootstrap, &NoProgress).await.expect("sweep");
    let unused = engine.store.get_finding(&unused_arn, "ec2-sg-unused").await.expect("finding").expect("exists");
    assert_eq!((unused.state, unused.resolved_reason), (FindingState::Resolved, Some(ResolvedReason::ResourceDeleted)));
    let mut remaining = expected.clone();
    remaining.remove(&(unused_arn.clone(), "ec2-sg-unused".to_string()));
    assert_eq!(active(&engine).await, remaining);

    // SSH opened to the world on the private group, then its CloudTrail record ingested.
    ec2.authorize_security_group_ingress()
        .group_id(&s.private_group)
        .ip_permissions(
            aws_sdk_ec2::types::IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(22)
                .to_port(22)
                .ip_ranges(aws_sdk_ec2::types::IpRange::builder().cidr_ip("0.0.0.0/0").build())
                .build(),
        )
        .send()
        .await
        .expect("authorize");
    let private_arn = s.arn("security-group", &s.private_group);
    let record = authorize_ingress_record(s, &s.private_group, 22);
    let routed = qrie_engine::events::route_record(0, record);
    let report = engine.ingest_events(&[routed]).await.expect("ingest");
    assert_eq!((report.stats.mapped, report.stats.refreshed, report.stats.errors), (1, 1, 0), "{report:?}");
    let f = engine.store.get_finding(&private_arn, "ec2-sg-open-ssh").await.expect("finding").expect("opened");
    assert_eq!((f.state, f.detected_by), (FindingState::Active, DetectedBy::Event));
    let last = f.history.last().expect("transition");
    assert_eq!(last.trigger.event_id.as_deref(), Some("3b0c4a8e-2f61-4f0e-9d35-6a1f0c9e7d21"));
    remaining.insert((private_arn, "ec2-sg-open-ssh".to_string()));
    assert_eq!(active(&engine).await, remaining, "the event opened exactly that finding");
}
