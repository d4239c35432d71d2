//! Builds resources in the shapes the AWS collectors store (DESIGN.md §3,
//! docs/resources.md): configuration keyed by the API call, AWS field names.
//! Each builder takes the choices that matter to policies as arguments, so the
//! generator and the change simulator share them.

use chrono::Duration;
use qrie_model::ids::{pseudo_arn, GLOBAL_REGION};
use qrie_model::{Resource, Service, Timestamp};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};
use std::collections::BTreeMap;

pub const ALL_USERS: &str = "http://acs.amazonaws.com/groups/global/AllUsers";

/// AWS's own time format in API responses.
pub fn aws_time(t: Timestamp) -> String {
    t.format("%Y-%m-%dT%H:%M:%S.000Z").to_string()
}

/// The credential report's time format.
pub fn report_time(t: Timestamp) -> String {
    t.format("%Y-%m-%dT%H:%M:%S+00:00").to_string()
}

pub fn hex_id(rng: &mut ChaCha8Rng, len: usize) -> String {
    (0..len).map(|_| char::from_digit(rng.random_range(0..16), 16).unwrap_or('0')).collect()
}

fn upper_id(rng: &mut ChaCha8Rng, len: usize) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    (0..len).map(|_| A[rng.random_range(0..A.len())] as char).collect()
}

fn tag_set(tags: &BTreeMap<String, String>) -> Value {
    Value::Array(tags.iter().map(|(k, v)| json!({"Key": k, "Value": v})).collect())
}

#[allow(clippy::too_many_arguments)]
fn resource(
    arn: String,
    account: &str,
    region: &str,
    service: Service,
    rtype: &str,
    name: &str,
    tags: BTreeMap<String, String>,
    config: Value,
    at: Timestamp,
) -> Resource {
    Resource::new(arn, account, region, service, rtype, name, tags, config, BTreeMap::new(), at)
}

/// Block Public Access settings: all four on, or none configured.
pub fn bpa(all_on: bool) -> Value {
    if all_on {
        json!({"BlockPublicAcls": true, "IgnorePublicAcls": true, "BlockPublicPolicy": true, "RestrictPublicBuckets": true})
    } else {
        Value::Null
    }
}

pub fn s3_account_bpa(account: &str, all_on: bool, at: Timestamp) -> Resource {
    resource(
        pseudo_arn::s3_account_public_access_block(account),
        account,
        GLOBAL_REGION,
        Service::S3,
        "AWS::S3::AccountPublicAccessBlock",
        "account-public-access-block",
        BTreeMap::new(),
        json!({"PublicAccessBlock": bpa(all_on)}),
        at,
    )
}

pub fn s3_acl(owner_id: &str, public_read: bool) -> Value {
    let mut grants = vec![json!({
        "Grantee": {"Type": "CanonicalUser", "ID": owner_id, "DisplayName": "owner"},
        "Permission": "FULL_CONTROL"
    })];
    if public_read {
        grants.push(json!({"Grantee": {"Type": "Group", "URI": ALL_USERS}, "Permission": "READ"}));
    }
    json!({"Owner": {"ID": owner_id, "DisplayName": "owner"}, "Grants": grants})
}

/// What makes a bucket pass or fail the catalog's S3 policies.
#[derive(Debug, Clone)]
pub struct BucketSpec {
    pub name: String,
    pub region: String,
    pub public_read_acl: bool,
    pub bucket_bpa: bool,
    pub versioning: Option<&'static str>,
    pub encrypted: bool,
    pub logging: bool,
    pub tags: BTreeMap<String, String>,
}

pub fn s3_bucket(account: &str, owner_id: &str, b: &BucketSpec, at: Timestamp) -> Resource {
    let location = if b.region == "us-east-1" { Value::Null } else { json!(b.region) };
    let versioning = match b.versioning {
        Some(status) => json!({"Status": status, "MFADelete": "Disabled"}),
        None => json!({}),
    };
    let encryption = if b.encrypted {
        json!({"ServerSideEncryptionConfiguration": {"Rules": [
            {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": format!("arn:aws:kms:{}:{account}:alias/aws/s3", b.region)}, "BucketKeyEnabled": true}
        ]}})
    } else {
        Value::Null
    };
    let logging = if b.logging {
        json!({"LoggingEnabled": {"TargetBucket": format!("{account}-access-logs"), "TargetPrefix": format!("{}/", b.name)}})
    } else {
        json!({})
    };
    let config = json!({
        "Location": {"LocationConstraint": location},
        "Acl": s3_acl(owner_id, b.public_read_acl),
        "Policy": Value::Null,
        "PolicyStatus": Value::Null,
        "PublicAccessBlock": bpa(b.bucket_bpa),
        "Encryption": encryption,
        "Versioning": versioning,
        "Logging": logging,
        "OwnershipControls": if b.public_read_acl { Value::Null } else {
            json!({"OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}})
        },
        "Lifecycle": Value::Null,
        "ObjectLock": Value::Null,
        "Website": Value::Null,
        "Replication": Value::Null,
        "Tags": if b.tags.is_empty() { Value::Null } else { json!({"TagSet": tag_set(&b.tags)}) },
    });
    resource(
        format!("arn:aws:s3:::{}", b.name),
        account,
        &b.region,
        Service::S3,
        "AWS::S3::Bucket",
        &b.name,
        b.tags.clone(),
        config,
        at,
    )
}

pub fn ec2_account_settings(account: &str, region: &str, ebs_default: bool, at: Timestamp) -> Resource {
    resource(
        pseudo_arn::ec2_account_settings(account, region),
        account,
        region,
        Service::Ec2,
        "AWS::EC2::AccountSettings",
        "account-settings",
        BTreeMap::new(),
        json!({"EbsEncryptionByDefault": ebs_default, "InstanceMetadataDefaults": {}}),
        at,
    )
}

/// One ingress permission from anywhere (IPv4 and, when asked, IPv6) to a TCP port.
pub fn open_permission(port: u16, ipv6: bool) -> Value {
    json!({
        "IpProtocol": "tcp", "FromPort": port, "ToPort": port,
        "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": "anywhere"}],
        "Ipv6Ranges": if ipv6 { json!([{"CidrIpv6": "::/0"}]) } else { json!([]) },
        "PrefixListIds": [], "UserIdGroupPairs": []
    })
}

fn private_permission(port: u16) -> Value {
    json!({
        "IpProtocol": "tcp", "FromPort": port, "ToPort": port,
        "IpRanges": [{"CidrIp": "10.0.0.0/8", "Description": "internal"}],
        "Ipv6Ranges": [], "PrefixListIds": [], "UserIdGroupPairs": []
    })
}

pub struct SecurityGroupSpec {
    pub id: String,
    pub name: String,
    pub vpc_id: String,
    /// Ports open to the internet.
    pub open_ports: Vec<u16>,
    pub tags: BTreeMap<String, String>,
}

pub fn security_group(account: &str, region: &str, sg: &SecurityGroupSpec, at: Timestamp) -> Resource {
    let mut perms = vec![json!({
        "IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
        "IpRanges": [{"CidrIp": "0.0.0.0/0"}], "Ipv6Ranges": [{"CidrIpv6": "::/0"}],
        "PrefixListIds": [], "UserIdGroupPairs": []
    })];
    perms.push(private_permission(22));
    perms.extend(sg.open_ports.iter().map(|p| open_permission(*p, *p == 3389)));
    let config = json!({"SecurityGroup": {
        "GroupId": sg.id, "GroupName": sg.name, "Description": format!("{} security group", sg.name),
        "VpcId": sg.vpc_id, "OwnerId": account,
        "IpPermissions": perms,
        "IpPermissionsEgress": [{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}], "Ipv6Ranges": [], "PrefixListIds": [], "UserIdGroupPairs": []}],
        "Tags": tag_set(&sg.tags),
    }});
    resource(
        format!("arn:aws:ec2:{region}:{account}:security-group/{}", sg.id),
        account,
        region,
        Service::Ec2,
        "AWS::EC2::SecurityGroup",
        &sg.name,
        sg.tags.clone(),
        config,
        at,
    )
}

pub struct InstanceSpec {
    pub id: String,
    pub name: String,
    pub imds_required: bool,
    pub public_ip: Option<String>,
    pub security_group: (String, String),
    pub volume_id: String,
    pub subnet_id: String,
    pub vpc_id: String,
    pub launched: Timestamp,
    pub tags: BTreeMap<String, String>,
}

pub fn instance(account: &str, region: &str, i: &InstanceSpec, at: Timestamp) -> Resource {
    let mut inst = json!({
        "InstanceId": i.id, "ImageId": "ami-0c02fb55956c7d316", "InstanceType": "t3.micro",
        "LaunchTime": aws_time(i.launched), "State": {"Code": 16, "Name": "running"},
        "Placement": {"AvailabilityZone": format!("{region}a"), "Tenancy": "default"},
        "PrivateIpAddress": "10.0.1.17", "SubnetId": i.subnet_id, "VpcId": i.vpc_id,
        "SecurityGroups": [{"GroupId": i.security_group.0, "GroupName": i.security_group.1}],
        "BlockDeviceMappings": [{"DeviceName": "/dev/xvda", "Ebs": {"VolumeId": i.volume_id, "Status": "attached", "DeleteOnTermination": true}}],
        "MetadataOptions": {"State": "applied", "HttpTokens": if i.imds_required { "required" } else { "optional" },
            "HttpPutResponseHopLimit": 2, "HttpEndpoint": "enabled", "HttpProtocolIpv6": "disabled", "InstanceMetadataTags": "disabled"},
        "Tags": tag_set(&i.tags),
    });
    if let Some(ip) = &i.public_ip {
        inst["PublicIpAddress"] = json!(ip);
    }
    resource(
        format!("arn:aws:ec2:{region}:{account}:instance/{}", i.id),
        account,
        region,
        Service::Ec2,
        "AWS::EC2::Instance",
        &i.name,
        i.tags.clone(),
        json!({"Instance": inst, "UserData": Value::Null}),
        at,
    )
}

pub fn volume(
    account: &str,
    region: &str,
    id: &str,
    encrypted: bool,
    attached_to: Option<&str>,
    created: Timestamp,
    at: Timestamp,
) -> Resource {
    let attachments = match attached_to {
        Some(i) => {
            json!([{"InstanceId": i, "Device": "/dev/xvda", "State": "attached", "VolumeId": id, "DeleteOnTermination": true}])
        }
        None => json!([]),
    };
    let mut v = json!({
        "VolumeId": id, "Size": 8, "VolumeType": "gp3", "AvailabilityZone": format!("{region}a"),
        "State": if attached_to.is_some() { "in-use" } else { "available" },
        "CreateTime": aws_time(created), "Encrypted": encrypted, "Attachments": attachments,
    });
    if encrypted {
        v["KmsKeyId"] = json!(format!("arn:aws:kms:{region}:{account}:key/{}", uuid::Uuid::nil()));
    }
    resource(
        format!("arn:aws:ec2:{region}:{account}:volume/{id}"),
        account,
        region,
        Service::Ec2,
        "AWS::EC2::Volume",
        id,
        BTreeMap::new(),
        json!({"Volume": v}),
        at,
    )
}

/// An access key slot of a credential report row.
pub struct KeySlot {
    pub active: bool,
    pub last_rotated: Timestamp,
}

pub struct UserSpec {
    pub name: String,
    pub user_id: String,
    pub created: Timestamp,
    pub console: bool,
    pub mfa: bool,
    pub keys: Vec<KeySlot>,
}

pub fn credential_report_row(account: &str, u: &UserSpec) -> Value {
    let mut row = json!({
        "user": u.name, "arn": format!("arn:aws:iam::{account}:user/{}", u.name),
        "user_creation_time": report_time(u.created),
        "password_enabled": if u.console { "true" } else { "false" },
        "password_last_used": if u.console { report_time(u.created + Duration::days(3)) } else { "N/A".into() },
        "password_last_changed": if u.console { report_time(u.created) } else { "N/A".into() },
        "password_next_rotation": "N/A",
        "mfa_active": if u.mfa { "true" } else { "false" },
        "cert_1_active": "false", "cert_1_last_rotated": "N/A", "cert_2_active": "false", "cert_2_last_rotated": "N/A",
    });
    for n in 1..=2 {
        let slot = u.keys.get(n - 1);
        row[format!("access_key_{n}_active")] = json!(if slot.is_some_and(|k| k.active) { "true" } else { "false" });
        row[format!("access_key_{n}_last_rotated")] =
            json!(slot.map_or("N/A".to_string(), |k| report_time(k.last_rotated)));
        row[format!("access_key_{n}_last_used_date")] = json!("N/A");
        row[format!("access_key_{n}_last_used_region")] = json!("N/A");
        row[format!("access_key_{n}_last_used_service")] = json!("N/A");
    }
    row
}

pub fn iam_user(account: &str, u: &UserSpec, at: Timestamp) -> Resource {
    let arn = format!("arn:aws:iam::{account}:user/{}", u.name);
    let config = json!({
        "User": {
            "Path": "/", "UserName": u.name, "UserId": u.user_id, "Arn": arn, "CreateDate": aws_time(u.created),
            "UserPolicyList": [], "GroupList": ["developers"],
            "AttachedManagedPolicies": [{"PolicyName": "ReadOnlyAccess", "PolicyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}],
            "Tags": [],
        },
        "CredentialReport": credential_report_row(account, u),
    });
    resource(arn, account, GLOBAL_REGION, Service::Iam, "AWS::IAM::User", &u.name, BTreeMap::new(), config, at)
}

pub fn iam_root(account: &str, mfa: bool, created: Timestamp, at: Timestamp) -> Resource {
    let config = json!({
        "AccountSummary": {
            "AccountMFAEnabled": if mfa { 1 } else { 0 }, "AccountAccessKeysPresent": 0,
            "AccountSigningCertificatesPresent": 0, "Users": 0, "Groups": 1, "Roles": 4, "Policies": 3, "MFADevices": 1,
            "MFADevicesInUse": 1,
        },
        "CredentialReport": {
            "user": "<root_account>", "arn": format!("arn:aws:iam::{account}:root"),
            "user_creation_time": report_time(created), "password_enabled": "not_supported",
            "password_last_used": report_time(created + Duration::days(1)), "mfa_active": if mfa { "true" } else { "false" },
            "access_key_1_active": "false", "access_key_1_last_rotated": "N/A",
            "access_key_2_active": "false", "access_key_2_last_rotated": "N/A",
        },
    });
    resource(
        pseudo_arn::iam_root(account),
        account,
        GLOBAL_REGION,
        Service::Iam,
        "AWS::IAM::RootUser",
        "root",
        BTreeMap::new(),
        config,
        at,
    )
}

pub fn password_policy(account: &str, strong: bool, at: Timestamp) -> Resource {
    let policy = if strong {
        json!({"MinimumPasswordLength": 14, "RequireSymbols": true, "RequireNumbers": true, "RequireUppercaseCharacters": true,
               "RequireLowercaseCharacters": true, "AllowUsersToChangePassword": true, "ExpirePasswords": true,
               "MaxPasswordAge": 90, "PasswordReusePrevention": 24, "HardExpiry": false})
    } else {
        Value::Null
    };
    resource(
        pseudo_arn::iam_password_policy(account),
        account,
        GLOBAL_REGION,
        Service::Iam,
        "AWS::IAM::AccountPasswordPolicy",
        "account-password-policy",
        BTreeMap::new(),
        json!({"PasswordPolicy": policy}),
        at,
    )
}

/// A user id / access key id in AWS's style (`AIDA…`).
pub fn iam_id(rng: &mut ChaCha8Rng, prefix: &str) -> String {
    format!("{prefix}{}", upper_id(rng, 16))
}
