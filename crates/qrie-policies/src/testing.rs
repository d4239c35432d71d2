//! Test helpers: AWS-shaped resources in a line or two, the recorded AWS
//! responses under `shared/testdata`, and running a policy the way the engine
//! does (related resources looked up by the ARNs the policy declares).

use chrono::{TimeZone, Utc};
use qrie_model::ids::{pseudo_arn, GLOBAL_REGION};
use qrie_model::{EvalContext, PolicyDef, Resource, Service, Timestamp, Verdict};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

pub const ACCOUNT: &str = "123456789012";
pub const REGION: &str = "us-east-1";

/// The evaluation time of every test unless it says otherwise.
pub fn now() -> Timestamp {
    Utc.with_ymd_and_hms(2026, 1, 15, 12, 0, 0).unwrap()
}

/// A resource of `resource_type` with this configuration; service and region
/// follow from the type the way the collectors set them.
pub fn resource(resource_type: &str, arn: &str, name: &str, configuration: Value) -> Resource {
    let service = match resource_type.split("::").nth(1) {
        Some("S3") => Service::S3,
        Some("EC2") => Service::Ec2,
        // IAM Access Analyzer lists are stored under IAM, one per region.
        Some("IAM") | Some("AccessAnalyzer") => Service::Iam,
        _ => panic!("no service for resource type {resource_type}"),
    };
    let global = (service == Service::Iam && resource_type != "AWS::AccessAnalyzer::AccountAnalyzers")
        || resource_type == "AWS::S3::AccountPublicAccessBlock";
    let region = if global { GLOBAL_REGION } else { REGION };
    Resource::new(
        arn,
        ACCOUNT,
        region,
        service,
        resource_type,
        name,
        BTreeMap::new(),
        configuration,
        BTreeMap::new(),
        now(),
    )
}

/// The same resource, with `key` recorded as unreadable (and so not in its configuration).
pub fn unreadable(mut r: Resource, key: &str) -> Resource {
    if let Some(config) = r.configuration.as_object_mut() {
        config.remove(key);
    }
    r.collection_errors.insert(key.to_string(), "AccessDenied: Access Denied".to_string());
    r.rehash();
    r
}

/// Block Public Access with all four settings as given.
pub fn bpa(block_acls: bool, ignore_acls: bool, block_policy: bool, restrict_buckets: bool) -> Value {
    json!({"BlockPublicAcls": block_acls, "IgnorePublicAcls": ignore_acls,
           "BlockPublicPolicy": block_policy, "RestrictPublicBuckets": restrict_buckets})
}

/// An ACL: the owner's FULL_CONTROL grant followed by `extra` grants.
pub fn acl(extra: &[Value]) -> Value {
    let owner =
        json!({"ID": "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be", "DisplayName": "owner"});
    let mut grants = vec![json!({"Grantee": {"Type": "CanonicalUser", "ID": owner["ID"], "DisplayName": "owner"},
                                 "Permission": "FULL_CONTROL"})];
    grants.extend_from_slice(extra);
    json!({"Owner": owner, "Grants": grants})
}

/// A grant to a group such as AllUsers.
pub fn group_grant(uri: &str, permission: &str) -> Value {
    json!({"Grantee": {"Type": "Group", "URI": uri}, "Permission": permission})
}

/// A private, unremarkable bucket, with `overrides` replacing top-level keys.
pub fn bucket(name: &str, overrides: Value) -> Resource {
    let mut config = json!({
        "Location": {"LocationConstraint": null},
        "Acl": acl(&[]),
        "Policy": null,
        "PolicyStatus": null,
        "PublicAccessBlock": null,
        "Encryption": {"ServerSideEncryptionConfiguration": {"Rules": [
            {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": false}]}},
        "Versioning": {},
        "Logging": {},
        "OwnershipControls": {"OwnershipControls": {"Rules": [{"ObjectOwnership": "ObjectWriter"}]}},
        "Lifecycle": null,
        "ObjectLock": null,
        "Website": null,
        "Replication": null,
        "Tags": null,
    });
    for (k, v) in overrides.as_object().expect("overrides are an object") {
        config[k] = v.clone();
    }
    resource("AWS::S3::Bucket", &format!("arn:aws:s3:::{name}"), name, config)
}

/// The account's S3 Block Public Access settings (`null`: not configured).
pub fn account_bpa(settings: Value) -> Resource {
    resource(
        "AWS::S3::AccountPublicAccessBlock",
        &pseudo_arn::s3_account_public_access_block(ACCOUNT),
        "account-public-access-block",
        json!({"PublicAccessBlock": settings}),
    )
}

/// A security group from one DescribeSecurityGroups item.
pub fn security_group(item: Value) -> Resource {
    let id = item["GroupId"].as_str().expect("GroupId").to_string();
    let name = item["GroupName"].as_str().unwrap_or(&id).to_string();
    resource(
        "AWS::EC2::SecurityGroup",
        &format!("arn:aws:ec2:{REGION}:{ACCOUNT}:security-group/{id}"),
        &name,
        json!({"SecurityGroup": item}),
    )
}

/// A security group whose only ingress permissions are `permissions`.
pub fn sg_with(permissions: Value) -> Resource {
    security_group(json!({
        "GroupId": "sg-0123456789abcdef0", "GroupName": "web", "Description": "web", "VpcId": "vpc-0a1b2c3d",
        "OwnerId": ACCOUNT, "IpPermissions": permissions,
        "IpPermissionsEgress": [{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}], "Ipv6Ranges": [],
                                 "PrefixListIds": [], "UserIdGroupPairs": []}],
    }))
}

/// One ingress permission (ports omitted when `None`, as AWS does for `-1`).
pub fn permission(protocol: &str, ports: Option<(i64, i64)>, ipv4: &[&str], ipv6: &[&str]) -> Value {
    let mut p = json!({
        "IpProtocol": protocol,
        "IpRanges": ipv4.iter().map(|c| json!({"CidrIp": c})).collect::<Vec<_>>(),
        "Ipv6Ranges": ipv6.iter().map(|c| json!({"CidrIpv6": c})).collect::<Vec<_>>(),
        "PrefixListIds": [], "UserIdGroupPairs": [],
    });
    if let Some((from, to)) = ports {
        p["FromPort"] = json!(from);
        p["ToPort"] = json!(to);
    }
    p
}

/// An instance from one DescribeInstances item.
pub fn instance(item: Value) -> Resource {
    let id = item["InstanceId"].as_str().expect("InstanceId").to_string();
    resource(
        "AWS::EC2::Instance",
        &format!("arn:aws:ec2:{REGION}:{ACCOUNT}:instance/{id}"),
        &id,
        json!({"Instance": item, "UserData": null}),
    )
}

/// A volume from one DescribeVolumes item.
pub fn volume(item: Value) -> Resource {
    let id = item["VolumeId"].as_str().expect("VolumeId").to_string();
    resource("AWS::EC2::Volume", &format!("arn:aws:ec2:{REGION}:{ACCOUNT}:volume/{id}"), &id, json!({"Volume": item}))
}

/// An IAM user whose credential report row is `row` (`null`: not in the report yet).
pub fn iam_user(name: &str, created: &str, row: Value) -> Resource {
    let arn = format!("arn:aws:iam::{ACCOUNT}:user/{name}");
    let user = json!({"Path": "/", "UserName": name, "UserId": "AIDAEXAMPLEUSERID0001", "Arn": arn,
                      "CreateDate": created, "UserPolicyList": [], "GroupList": [], "AttachedManagedPolicies": [],
                      "Tags": []});
    resource("AWS::IAM::User", &arn, name, json!({"User": user, "CredentialReport": row}))
}

/// The root user with this account summary (a GetAccountSummary SummaryMap).
pub fn root_user(summary: Value) -> Resource {
    resource(
        "AWS::IAM::RootUser",
        &pseudo_arn::iam_root(ACCOUNT),
        "root",
        json!({"AccountSummary": summary, "CredentialReport": null}),
    )
}

/// Runs a policy with default parameters, no related resources, at [`now`].
pub fn run(def: &PolicyDef, r: &Resource) -> Verdict {
    run_with(def, r, &[], json!({}), now())
}

/// Runs a policy as the engine does: parameters resolved against the
/// definition (a value its rule refuses, which launching would refuse too,
/// is an error verdict here), and only those `available` resources the policy asked for (by
/// `related`) visible to it.
pub fn run_with(def: &PolicyDef, r: &Resource, available: &[Resource], overrides: Value, at: Timestamp) -> Verdict {
    let overrides: BTreeMap<String, Value> = serde_json::from_value(overrides).expect("overrides are an object");
    let params = match def.resolve_params(&overrides) {
        Ok(params) => params,
        Err(refused) => return Verdict::Error(refused.to_string()),
    };
    let wanted = def.related_arns(r);
    let related: HashMap<String, Resource> =
        available.iter().filter(|a| wanted.contains(&a.arn)).map(|a| (a.arn.clone(), a.clone())).collect();
    def.run(r, &EvalContext { params: &params, now: at, related: &related })
}

/// The evidence of a `Fail`; panics on any other verdict.
pub fn evidence(v: Verdict) -> Value {
    match v {
        Verdict::Fail(e) => e,
        other => panic!("expected Fail, got {other:?}"),
    }
}

/// The reason of an `Error`; panics on any other verdict.
pub fn error_reason(v: Verdict) -> String {
    match v {
        Verdict::Error(e) => e,
        other => panic!("expected Error, got {other:?}"),
    }
}

/// `shared/testdata`: `$QRIE_TESTDATA`, or beside the checkout. Absent data
/// fails the test: these tests must not silently test nothing.
pub fn testdata_dir() -> PathBuf {
    let dir = std::env::var_os("QRIE_TESTDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata"));
    assert!(dir.is_dir(), "test data not found at {} (set QRIE_TESTDATA to shared/testdata)", dir.display());
    dir
}

fn placebo_dir(operation: &str) -> PathBuf {
    testdata_dir().join("aws-responses/cloud-custodian-placebo").join(operation)
}

fn read_response(operation: &str, file: &str) -> Value {
    let path = placebo_dir(operation).join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The parsed data of a recorded successful response, e.g.
/// `recorded("ec2.DescribeSecurityGroups", "test_x__ec2.DescribeSecurityGroups_1.json")`,
/// without `ResponseMetadata` (as the collectors store it).
pub fn recorded(operation: &str, file: &str) -> Value {
    let mut response = read_response(operation, file);
    assert_eq!(response["status_code"], 200, "{operation}/{file} is not a successful response");
    let mut data = response["data"].take();
    if let Some(d) = data.as_object_mut() {
        d.remove("ResponseMetadata");
    }
    data
}

/// The names of the recorded successful responses of one operation, sorted.
pub fn recorded_files(operation: &str) -> Vec<String> {
    let dir = placebo_dir(operation);
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json") && read_response(operation, n)["status_code"] == 200)
        .collect();
    names.sort();
    assert!(!names.is_empty(), "no recorded responses in {}", dir.display());
    names
}

/// The rows of a recorded GetCredentialReport as objects keyed by column name,
/// which is how the IAM collector stores a user's row. (Recorded reports have no
/// quoted fields; a row of the wrong width fails loudly.)
pub fn credential_report(file: &str) -> Vec<Value> {
    let data = recorded("iam.GetCredentialReport", file);
    let content = data["Content"].as_str().expect("Content is the CSV text");
    let mut lines = content.lines().filter(|l| !l.is_empty());
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    lines
        .map(|line| {
            let cells: Vec<&str> = line.split(',').collect();
            assert_eq!(cells.len(), header.len(), "{file}: {line}");
            Value::Object(header.iter().zip(cells).map(|(h, c)| (h.to_string(), json!(c))).collect())
        })
        .collect()
}

/// Evaluates every security group of a recorded DescribeSecurityGroups response
/// and returns the ids of those that fail, sorted. Every other group must pass:
/// real data must never leave a port policy undecided.
pub fn failing_groups(def: &PolicyDef, file: &str) -> Vec<String> {
    let data = recorded("ec2.DescribeSecurityGroups", file);
    let groups = data["SecurityGroups"].as_array().expect("SecurityGroups");
    assert!(!groups.is_empty(), "{file} has no groups");
    let mut failing = Vec::new();
    for g in groups {
        let v = run(def, &security_group(g.clone()));
        match v {
            Verdict::Fail(_) => failing.push(g["GroupId"].as_str().unwrap().to_string()),
            Verdict::Pass => {}
            other => panic!("{file} {}: {other:?}", g["GroupId"]),
        }
    }
    failing.sort();
    failing
}

/// Runs a port policy over every group of every recorded DescribeSecurityGroups
/// response: (groups failing, groups in all). No group may end in `Error`.
pub fn failing_groups_in_all_recordings(def: &PolicyDef) -> (usize, usize) {
    let mut failing = 0;
    let mut total = 0;
    for file in recorded_files("ec2.DescribeSecurityGroups") {
        failing += failing_groups(def, &file).len();
        total += recorded("ec2.DescribeSecurityGroups", &file)["SecurityGroups"].as_array().unwrap().len();
    }
    (failing, total)
}

/// The per-region EC2 account settings with this configuration.
pub fn ec2_account_settings(configuration: Value) -> Resource {
    resource(
        "AWS::EC2::AccountSettings",
        &pseudo_arn::ec2_account_settings(ACCOUNT, REGION),
        "ec2-account-settings",
        configuration,
    )
}

/// A snapshot from one DescribeSnapshots item and its CreateVolumePermissions.
pub fn snapshot(item: Value, permissions: Value) -> Resource {
    let id = item["SnapshotId"].as_str().expect("SnapshotId").to_string();
    resource(
        "AWS::EC2::Snapshot",
        &format!("arn:aws:ec2:{REGION}:{ACCOUNT}:snapshot/{id}"),
        &id,
        json!({"Snapshot": item, "CreateVolumePermissions": permissions}),
    )
}

/// An AMI from one DescribeImages item and its LaunchPermissions.
pub fn image(item: Value, permissions: Value) -> Resource {
    let id = item["ImageId"].as_str().expect("ImageId").to_string();
    resource(
        "AWS::EC2::Image",
        &format!("arn:aws:ec2:{REGION}:{ACCOUNT}:image/{id}"),
        &id,
        json!({"Image": item, "LaunchPermissions": permissions}),
    )
}

/// A network ACL from one DescribeNetworkAcls item.
pub fn network_acl(item: Value) -> Resource {
    let id = item["NetworkAclId"].as_str().expect("NetworkAclId").to_string();
    resource(
        "AWS::EC2::NetworkAcl",
        &format!("arn:aws:ec2:{REGION}:{ACCOUNT}:network-acl/{id}"),
        &id,
        json!({"NetworkAcl": item}),
    )
}

/// Every instance of every recorded DescribeInstances response.
pub fn recorded_instances() -> Vec<Value> {
    recorded_files("ec2.DescribeInstances")
        .iter()
        .flat_map(|f| {
            let data = recorded("ec2.DescribeInstances", f);
            let reservations = data["Reservations"].as_array().expect("Reservations").clone();
            reservations.into_iter().flat_map(|r| r["Instances"].as_array().expect("Instances").clone())
        })
        .collect()
}
