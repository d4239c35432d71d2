//! S3 buckets in the shape of the S3 collector: one configuration key per Get*
//! call, `null` for "not configured".

use qrie_model::{Resource, Service, Timestamp};
use serde_json::{json, Value};
use std::collections::BTreeMap;

use super::{bpa, resource, tag_set, ALL_USERS};

const AUTHENTICATED_USERS: &str = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AclKind {
    Private,
    PublicRead,
    PublicWrite,
    AuthenticatedRead,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BucketPolicyKind {
    None,
    DenyInsecureTransport,
    /// Anyone may read objects.
    PublicRead,
    /// Anyone may upload objects.
    PublicWrite,
    /// `Principal: "*"`, but only through one VPC endpoint: not public.
    PublicReadFromVpce,
    /// Another account may read and write.
    CrossAccount(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncryptionKind {
    None,
    SseS3,
    Kms,
}

/// What makes a bucket pass or fail the catalog's S3 policies.
#[derive(Debug, Clone)]
pub struct BucketSpec {
    pub name: String,
    pub region: String,
    pub acl: AclKind,
    pub bucket_bpa: bool,
    pub policy: BucketPolicyKind,
    pub versioning: Option<&'static str>,
    pub mfa_delete: bool,
    pub encryption: EncryptionKind,
    pub logging: bool,
    pub ownership_enforced: bool,
    pub lifecycle: bool,
    pub object_lock: bool,
    pub tags: BTreeMap<String, String>,
}

pub fn s3_acl(owner_id: &str, kind: AclKind) -> Value {
    let mut grants = vec![json!({
        "Grantee": {"Type": "CanonicalUser", "ID": owner_id, "DisplayName": "owner"},
        "Permission": "FULL_CONTROL"
    })];
    let group =
        |uri: &str, permission: &str| json!({"Grantee": {"Type": "Group", "URI": uri}, "Permission": permission});
    match kind {
        AclKind::Private => {}
        AclKind::PublicRead => grants.push(group(ALL_USERS, "READ")),
        AclKind::PublicWrite => {
            grants.push(group(ALL_USERS, "READ"));
            grants.push(group(ALL_USERS, "WRITE"));
        }
        AclKind::AuthenticatedRead => grants.push(group(AUTHENTICATED_USERS, "READ")),
    }
    json!({"Owner": {"ID": owner_id, "DisplayName": "owner"}, "Grants": grants})
}

fn bucket_policy(name: &str, kind: &BucketPolicyKind) -> Value {
    let bucket = format!("arn:aws:s3:::{name}");
    let objects = format!("arn:aws:s3:::{name}/*");
    let deny_http = json!({
        "Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
        "Resource": [bucket, objects], "Condition": {"Bool": {"aws:SecureTransport": "false"}}
    });
    let statements = match kind {
        BucketPolicyKind::None => return Value::Null,
        BucketPolicyKind::DenyInsecureTransport => vec![deny_http],
        BucketPolicyKind::PublicRead => vec![
            json!({"Sid": "PublicRead", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": objects}),
            deny_http,
        ],
        BucketPolicyKind::PublicWrite => vec![json!(
            {"Sid": "DropBox", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": ["s3:PutObject"], "Resource": objects}
        )],
        BucketPolicyKind::PublicReadFromVpce => vec![json!({
            "Sid": "ReadThroughEndpoint", "Effect": "Allow", "Principal": "*", "Action": ["s3:GetObject", "s3:ListBucket"],
            "Resource": [bucket, objects], "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-0a1b2c3d4e5f60718"}}
        })],
        BucketPolicyKind::CrossAccount(other) => vec![json!({
            "Sid": "PartnerAccess", "Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{other}:root")},
            "Action": ["s3:GetObject", "s3:PutObject"], "Resource": objects
        })],
    };
    json!({"Version": "2012-10-17", "Statement": statements})
}

pub fn s3_bucket(account: &str, owner_id: &str, b: &BucketSpec, at: Timestamp) -> Resource {
    let location = if b.region == "us-east-1" { Value::Null } else { json!(b.region) };
    let versioning = match b.versioning {
        Some(status) => json!({"Status": status, "MFADelete": if b.mfa_delete { "Enabled" } else { "Disabled" }}),
        None => json!({}),
    };
    let default = match b.encryption {
        EncryptionKind::None => Value::Null,
        EncryptionKind::SseS3 => json!({"SSEAlgorithm": "AES256"}),
        EncryptionKind::Kms => {
            json!({"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": format!("arn:aws:kms:{}:{account}:alias/data", b.region)})
        }
    };
    let encryption = if default.is_null() {
        Value::Null
    } else {
        json!({"ServerSideEncryptionConfiguration": {"Rules": [{"ApplyServerSideEncryptionByDefault": default, "BucketKeyEnabled": b.encryption == EncryptionKind::Kms}]}})
    };
    let policy = bucket_policy(&b.name, &b.policy);
    let policy_status = if policy.is_null() {
        Value::Null
    } else {
        json!({"IsPublic": matches!(b.policy, BucketPolicyKind::PublicRead | BucketPolicyKind::PublicWrite)})
    };
    let config = json!({
        "Location": {"LocationConstraint": location},
        "Acl": s3_acl(owner_id, b.acl),
        "Policy": policy,
        "PolicyStatus": policy_status,
        "PublicAccessBlock": bpa(b.bucket_bpa),
        "Encryption": encryption,
        "Versioning": versioning,
        "Logging": if b.logging {
            json!({"LoggingEnabled": {"TargetBucket": format!("{account}-access-logs"), "TargetPrefix": format!("{}/", b.name)}})
        } else {
            json!({})
        },
        "OwnershipControls": if b.ownership_enforced {
            json!({"OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}})
        } else {
            json!({"OwnershipControls": {"Rules": [{"ObjectOwnership": "ObjectWriter"}]}})
        },
        "Lifecycle": if b.lifecycle {
            json!({"Rules": [{"ID": "expire-old-versions", "Status": "Enabled", "Filter": {"Prefix": ""},
                "NoncurrentVersionExpiration": {"NoncurrentDays": 90}}]})
        } else {
            Value::Null
        },
        "ObjectLock": if b.object_lock {
            json!({"ObjectLockConfiguration": {"ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 30}}}})
        } else {
            Value::Null
        },
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
