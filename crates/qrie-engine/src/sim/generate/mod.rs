//! Builds resources in the shapes the AWS collectors store (DESIGN.md §3,
//! docs/resources.md): configuration keyed by the API call, AWS field names.
//! Each builder takes the choices that matter to policies as arguments, so the
//! generator and the change simulator share them.

mod ec2;
pub mod iam;
mod s3;

pub use ec2::{default_security_group, image, network_acl, snapshot, user_data};
pub use iam::{group, managed_policy, role, server_certificate, RoleTrust};

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

pub(crate) fn tag_set(tags: &BTreeMap<String, String>) -> Value {
    Value::Array(tags.iter().map(|(k, v)| json!({"Key": k, "Value": v})).collect())
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn resource(
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

pub use s3::{s3_acl, s3_bucket, AclKind, BucketPolicyKind, BucketSpec, EncryptionKind};

pub fn ec2_account_settings(
    account: &str,
    region: &str,
    ebs_default: bool,
    imds_required: bool,
    at: Timestamp,
) -> Resource {
    let imds = if imds_required {
        json!({"HttpTokens": "required", "HttpPutResponseHopLimit": 2, "HttpEndpoint": "enabled", "InstanceMetadataTags": "disabled"})
    } else {
        json!({})
    };
    resource(
        pseudo_arn::ec2_account_settings(account, region),
        account,
        region,
        Service::Ec2,
        "AWS::EC2::AccountSettings",
        "account-settings",
        BTreeMap::new(),
        json!({"EbsEncryptionByDefault": ebs_default, "InstanceMetadataDefaults": imds}),
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
    /// All traffic (protocol -1) from anywhere.
    pub all_traffic: bool,
    /// Network interfaces using the group: (interface id, instance id).
    pub interfaces: Vec<(String, String)>,
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
    if sg.all_traffic {
        perms.push(json!({"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}], "Ipv6Ranges": [], "PrefixListIds": [], "UserIdGroupPairs": []}));
    }
    let interfaces: Vec<Value> = sg
        .interfaces
        .iter()
        .map(|(eni, instance)| json!({"NetworkInterfaceId": eni, "InterfaceType": "interface", "Status": "in-use", "Attachment": {"InstanceId": instance, "Status": "attached"}}))
        .collect();
    let config = json!({"SecurityGroup": {
        "GroupId": sg.id, "GroupName": sg.name, "Description": format!("{} security group", sg.name),
        "VpcId": sg.vpc_id, "OwnerId": account,
        "IpPermissions": perms,
        "IpPermissionsEgress": [{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}], "Ipv6Ranges": [], "PrefixListIds": [], "UserIdGroupPairs": []}],
        "Tags": tag_set(&sg.tags),
    }, "NetworkInterfaces": interfaces});
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
    pub user_data: Value,
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
        json!({"Instance": inst, "UserData": i.user_data}),
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
    /// Console password last used this long ago (None: never).
    pub password_last_used: Option<Timestamp>,
    /// Managed policies attached to the user directly (not through a group).
    pub attached: Vec<&'static str>,
    pub inline: Option<Value>,
}

pub fn credential_report_row(account: &str, u: &UserSpec) -> Value {
    let mut row = json!({
        "user": u.name, "arn": format!("arn:aws:iam::{account}:user/{}", u.name),
        "user_creation_time": report_time(u.created),
        "password_enabled": if u.console { "true" } else { "false" },
        "password_last_used": match (u.console, u.password_last_used) {
            (true, Some(t)) => report_time(t),
            (true, None) => "no_information".to_string(),
            (false, _) => "N/A".to_string(),
        },
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
            "UserPolicyList": u.inline.iter().map(|d| json!({"PolicyName": format!("{}-inline", u.name), "PolicyDocument": d})).collect::<Vec<_>>(),
            "GroupList": ["developers"],
            "AttachedManagedPolicies": u.attached.iter().map(|a| json!({"PolicyName": a.rsplit('/').next().unwrap_or(a), "PolicyArn": a})).collect::<Vec<_>>(),
            "Tags": [],
        },
        "CredentialReport": credential_report_row(account, u),
    });
    resource(arn, account, GLOBAL_REGION, Service::Iam, "AWS::IAM::User", &u.name, BTreeMap::new(), config, at)
}

/// How the root user is protected and used.
pub struct RootSpec {
    pub mfa: bool,
    /// The MFA is a virtual device (not hardware).
    pub virtual_mfa: bool,
    pub access_key: bool,
    pub last_used: Timestamp,
    /// Roles with AWSSupportAccess attached.
    pub support_roles: Vec<String>,
}

pub fn iam_root(account: &str, root: &RootSpec, created: Timestamp, at: Timestamp) -> Resource {
    let mfa = root.mfa;
    let virtual_devices: Vec<Value> = if root.mfa && root.virtual_mfa {
        vec![json!({"SerialNumber": format!("arn:aws:iam::{account}:mfa/root-account-mfa-device"),
                    "User": {"Arn": format!("arn:aws:iam::{account}:root"), "UserId": account}, "EnableDate": aws_time(created)})]
    } else {
        Vec::new()
    };
    let config = json!({
        "AccountSummary": {
            "AccountMFAEnabled": if mfa { 1 } else { 0 }, "AccountAccessKeysPresent": if root.access_key { 1 } else { 0 },
            "AccountSigningCertificatesPresent": 0, "Users": 0, "Groups": 1, "Roles": 4, "Policies": 3, "MFADevices": 1,
            "MFADevicesInUse": 1,
        },
        "CredentialReport": {
            "user": "<root_account>", "arn": format!("arn:aws:iam::{account}:root"),
            "user_creation_time": report_time(created), "password_enabled": "not_supported",
            "password_last_used": report_time(root.last_used), "mfa_active": if mfa { "true" } else { "false" },
            "access_key_1_active": if root.access_key { "true" } else { "false" },
            "access_key_1_last_rotated": if root.access_key { report_time(created) } else { "N/A".into() },
            "access_key_1_last_used_date": if root.access_key { report_time(root.last_used) } else { "N/A".into() },
            "access_key_1_last_used_region": if root.access_key { "us-east-1" } else { "N/A" },
            "access_key_1_last_used_service": if root.access_key { "s3" } else { "N/A" },
            "access_key_2_last_used_date": "N/A", "access_key_2_last_used_region": "N/A", "access_key_2_last_used_service": "N/A",
            "password_last_changed": "not_supported", "password_next_rotation": "not_supported",
            "cert_1_active": "false", "cert_1_last_rotated": "N/A", "cert_2_active": "false", "cert_2_last_rotated": "N/A",
            "access_key_2_active": "false", "access_key_2_last_rotated": "N/A",
        },
        "VirtualMFADevices": virtual_devices,
        "SupportAccessEntities": {"PolicyGroups": [], "PolicyUsers": [],
            "PolicyRoles": root.support_roles.iter().map(|r| json!({"RoleName": r, "RoleId": format!("AROA{}", r.to_uppercase())})).collect::<Vec<_>>()},
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

/// `Some(true)` a policy meeting CIS, `Some(false)` a weak one, `None` no policy.
pub fn password_policy(account: &str, strength: Option<bool>, at: Timestamp) -> Resource {
    let policy = if strength == Some(false) {
        json!({"MinimumPasswordLength": 8, "RequireSymbols": false, "RequireNumbers": true, "RequireUppercaseCharacters": true,
               "RequireLowercaseCharacters": true, "AllowUsersToChangePassword": true, "ExpirePasswords": false,
               "HardExpiry": false})
    } else if strength == Some(true) {
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
