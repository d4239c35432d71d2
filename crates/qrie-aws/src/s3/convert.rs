//! S3 SDK outputs → the AWS JSON shapes of docs/resources.md (the shapes the
//! S3 policies read and the simulated estate builds).

use aws_sdk_s3::operation::{
    get_bucket_acl::GetBucketAclOutput, get_bucket_encryption::GetBucketEncryptionOutput,
    get_bucket_lifecycle_configuration::GetBucketLifecycleConfigurationOutput,
    get_bucket_logging::GetBucketLoggingOutput, get_bucket_ownership_controls::GetBucketOwnershipControlsOutput,
    get_bucket_policy_status::GetBucketPolicyStatusOutput, get_bucket_replication::GetBucketReplicationOutput,
    get_bucket_versioning::GetBucketVersioningOutput, get_bucket_website::GetBucketWebsiteOutput,
    get_object_lock_configuration::GetObjectLockConfigurationOutput,
};
use aws_sdk_s3::types::{Grant, LifecycleRule, ReplicationRule};
use serde_json::{json, Value};

use crate::json::{b, list, n, obj, req, s};

/// `{"LocationConstraint": ...}`; us-east-1 is `null`, as GetBucketLocation says it.
pub fn location(region: &str) -> Value {
    let constraint = if region.is_empty() || region == "us-east-1" { Value::Null } else { json!(region) };
    json!({ "LocationConstraint": constraint })
}

/// The region a LocationConstraint names (empty: us-east-1; `EU`: the legacy eu-west-1).
pub fn region_of(constraint: Option<&str>) -> String {
    match constraint {
        None | Some("") => "us-east-1".to_string(),
        Some("EU") => "eu-west-1".to_string(),
        Some(r) => r.to_string(),
    }
}

/// Block Public Access, from S3's or S3 Control's (identically shaped) settings.
pub fn public_access_block(
    acls: Option<bool>,
    ignore: Option<bool>,
    policy: Option<bool>,
    restrict: Option<bool>,
) -> Value {
    obj([
        ("BlockPublicAcls", b(acls)),
        ("IgnorePublicAcls", b(ignore)),
        ("BlockPublicPolicy", b(policy)),
        ("RestrictPublicBuckets", b(restrict)),
    ])
}

fn grant(g: &Grant) -> Value {
    let grantee = g.grantee().map(|e| {
        obj([
            ("Type", req(e.r#type().as_str())),
            ("ID", s(e.id())),
            ("URI", s(e.uri())),
            ("DisplayName", s(e.display_name())),
            ("EmailAddress", s(e.email_address())),
        ])
    });
    obj([("Grantee", grantee), ("Permission", s(g.permission().map(|p| p.as_str())))])
}

pub fn acl(o: GetBucketAclOutput) -> Value {
    let owner = o.owner().map(|w| obj([("ID", s(w.id())), ("DisplayName", s(w.display_name()))]));
    obj([("Owner", owner), ("Grants", list(o.grants(), grant))])
}

pub fn policy_status(o: GetBucketPolicyStatusOutput) -> Value {
    o.policy_status().map(|p| obj([("IsPublic", b(p.is_public()))])).unwrap_or(Value::Null)
}

pub fn encryption(o: GetBucketEncryptionOutput) -> Value {
    let Some(config) = o.server_side_encryption_configuration() else { return Value::Null };
    let rules = list(config.rules(), |r| {
        let default = r.apply_server_side_encryption_by_default().map(|d| {
            obj([("SSEAlgorithm", req(d.sse_algorithm().as_str())), ("KMSMasterKeyID", s(d.kms_master_key_id()))])
        });
        obj([("ApplyServerSideEncryptionByDefault", default), ("BucketKeyEnabled", b(r.bucket_key_enabled()))])
    });
    json!({ "ServerSideEncryptionConfiguration": obj([("Rules", rules)]) })
}

/// `{}` for a bucket whose versioning was never enabled, as AWS answers.
pub fn versioning(o: GetBucketVersioningOutput) -> Value {
    obj([("Status", s(o.status().map(|v| v.as_str()))), ("MFADelete", s(o.mfa_delete().map(|v| v.as_str())))])
}

pub fn logging(o: GetBucketLoggingOutput) -> Value {
    let enabled = o
        .logging_enabled()
        .map(|l| obj([("TargetBucket", req(l.target_bucket())), ("TargetPrefix", req(l.target_prefix()))]));
    obj([("LoggingEnabled", enabled)])
}

pub fn ownership_controls(o: GetBucketOwnershipControlsOutput) -> Value {
    let Some(c) = o.ownership_controls() else { return Value::Null };
    let rules = list(c.rules(), |r| obj([("ObjectOwnership", req(r.object_ownership().as_str()))]));
    json!({ "OwnershipControls": obj([("Rules", rules)]) })
}

fn lifecycle_rule(r: &LifecycleRule) -> Value {
    let filter = r.filter().map(|f| {
        obj([
            ("Prefix", s(f.prefix())),
            ("Tag", f.tag().map(|t| obj([("Key", req(t.key())), ("Value", req(t.value()))]))),
            ("ObjectSizeGreaterThan", n(f.object_size_greater_than())),
            ("ObjectSizeLessThan", n(f.object_size_less_than())),
            ("And", f.and().map(|a| obj([("Prefix", s(a.prefix()))]))),
        ])
    });
    let expiration = r.expiration().map(|e| {
        obj([
            ("Days", n(e.days())),
            ("Date", crate::json::time(e.date())),
            ("ExpiredObjectDeleteMarker", b(e.expired_object_delete_marker())),
        ])
    });
    let transitions = list(r.transitions(), |t| {
        obj([("Days", n(t.days())), ("StorageClass", s(t.storage_class().map(|c| c.as_str())))])
    });
    obj([
        ("ID", s(r.id())),
        ("Status", req(r.status().as_str())),
        ("Filter", filter),
        ("Expiration", expiration),
        ("Transitions", if r.transitions().is_empty() { None } else { transitions }),
        (
            "NoncurrentVersionExpiration",
            r.noncurrent_version_expiration().map(|e| obj([("NoncurrentDays", n(e.noncurrent_days()))])),
        ),
        (
            "AbortIncompleteMultipartUpload",
            r.abort_incomplete_multipart_upload().map(|a| obj([("DaysAfterInitiation", n(a.days_after_initiation()))])),
        ),
    ])
}

pub fn lifecycle(o: GetBucketLifecycleConfigurationOutput) -> Value {
    obj([("Rules", list(o.rules(), lifecycle_rule))])
}

pub fn object_lock(o: GetObjectLockConfigurationOutput) -> Value {
    let Some(c) = o.object_lock_configuration() else { return Value::Null };
    let rule = c.rule().map(|r| {
        let retention = r
            .default_retention()
            .map(|d| obj([("Mode", s(d.mode().map(|m| m.as_str()))), ("Days", n(d.days())), ("Years", n(d.years()))]));
        obj([("DefaultRetention", retention)])
    });
    json!({ "ObjectLockConfiguration": obj([
        ("ObjectLockEnabled", s(c.object_lock_enabled().map(|e| e.as_str()))),
        ("Rule", rule),
    ]) })
}

pub fn website(o: GetBucketWebsiteOutput) -> Value {
    obj([
        ("IndexDocument", o.index_document().map(|d| obj([("Suffix", req(d.suffix()))]))),
        ("ErrorDocument", o.error_document().map(|d| obj([("Key", req(d.key()))]))),
        (
            "RedirectAllRequestsTo",
            o.redirect_all_requests_to()
                .map(|r| obj([("HostName", req(r.host_name())), ("Protocol", s(r.protocol().map(|p| p.as_str())))])),
        ),
    ])
}

fn replication_rule(r: &ReplicationRule) -> Value {
    let destination = r.destination().map(|d| {
        obj([
            ("Bucket", req(d.bucket())),
            ("Account", s(d.account())),
            ("StorageClass", s(d.storage_class().map(|c| c.as_str()))),
        ])
    });
    obj([
        ("ID", s(r.id())),
        ("Priority", n(r.priority())),
        ("Status", req(r.status().as_str())),
        ("Destination", destination),
    ])
}

pub fn replication(o: GetBucketReplicationOutput) -> Value {
    let Some(c) = o.replication_configuration() else { return Value::Null };
    json!({ "ReplicationConfiguration": obj([("Role", req(c.role())), ("Rules", list(c.rules(), replication_rule))]) })
}
