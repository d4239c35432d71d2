//! S3 policies: buckets and the account's Block Public Access.
//!
//! Whether a bucket is public is decided in one place, `exposure`, from the
//! ACL, the bucket policy (through `crate::document`), Object Ownership and
//! Block Public Access at both levels (`block_public_access`); the public
//! access policies only say which grants they are about.

pub(crate) mod account_block_public_access_off;
mod block_public_access;
pub(crate) mod bucket_access_logging_disabled;
pub(crate) mod bucket_acls_enabled;
pub(crate) mod bucket_authenticated_users_acl;
pub(crate) mod bucket_block_public_access_off;
pub(crate) mod bucket_default_encryption_missing;
pub(crate) mod bucket_default_encryption_not_kms;
pub(crate) mod bucket_insecure_transport_allowed;
pub(crate) mod bucket_lifecycle_missing;
pub(crate) mod bucket_mfa_delete_disabled;
pub(crate) mod bucket_object_lock_disabled;
pub(crate) mod bucket_policy_cross_account;
pub(crate) mod bucket_public_access_blocked_only_by_bpa;
pub(crate) mod bucket_public_read_acl;
pub(crate) mod bucket_public_read_policy;
pub(crate) mod bucket_public_write_acl;
pub(crate) mod bucket_public_write_policy;
pub(crate) mod bucket_versioning_disabled;
mod exposure;
#[cfg(test)]
mod fixtures;

/// This service's policies, in catalog order.
pub(crate) static POLICIES: &[&qrie_model::PolicyDef] = &[
    &bucket_public_read_acl::POLICY,
    &bucket_public_write_acl::POLICY,
    &bucket_authenticated_users_acl::POLICY,
    &bucket_public_read_policy::POLICY,
    &bucket_public_write_policy::POLICY,
    &bucket_public_access_blocked_only_by_bpa::POLICY,
    &bucket_policy_cross_account::POLICY,
    &account_block_public_access_off::POLICY,
    &bucket_block_public_access_off::POLICY,
    &bucket_insecure_transport_allowed::POLICY,
    &bucket_default_encryption_missing::POLICY,
    &bucket_default_encryption_not_kms::POLICY,
    &bucket_versioning_disabled::POLICY,
    &bucket_mfa_delete_disabled::POLICY,
    &bucket_access_logging_disabled::POLICY,
    &bucket_acls_enabled::POLICY,
    &bucket_lifecycle_missing::POLICY,
    &bucket_object_lock_disabled::POLICY,
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{account_bpa, bucket, now, run_with, unreadable};
    use qrie_model::Verdict;
    use serde_json::{json, Value};

    /// Every configuration key an S3 policy may read.
    const KEYS: [&str; 10] = [
        "Acl",
        "Policy",
        "PublicAccessBlock",
        "Encryption",
        "Versioning",
        "Logging",
        "OwnershipControls",
        "Lifecycle",
        "ObjectLock",
        "Location",
    ];

    #[test]
    fn no_s3_policy_passes_data_that_was_not_read() {
        for p in POLICIES {
            let (empty, account) = if p.resource_type == "AWS::S3::AccountPublicAccessBlock" {
                (account_bpa(Value::Null), None)
            } else {
                (bucket("b", json!({})), Some(account_bpa(Value::Null)))
            };
            let mut nothing = empty.clone();
            nothing.configuration = json!({});
            let mut denied = empty;
            for key in KEYS {
                denied = unreadable(denied, key);
            }
            for r in [nothing, denied] {
                // With and without the account's settings in the inventory.
                for related in [vec![], account.clone().into_iter().collect::<Vec<_>>()] {
                    let v = run_with(p, &r, &related, json!({}), now());
                    assert!(matches!(v, Verdict::Error(_)), "{}: {v:?} on {}", p.id, r.configuration);
                }
            }
        }
        // The account's settings unreadable.
        let r = unreadable(account_bpa(Value::Null), "PublicAccessBlock");
        let v = run_with(&account_block_public_access_off::POLICY, &r, &[], json!({}), now());
        assert!(matches!(v, Verdict::Error(e) if e.contains("AccessDenied")));
    }

    #[test]
    fn every_s3_policy_has_passing_and_failing_buckets() {
        // One private, fully hardened bucket passes every bucket policy; one
        // bucket with everything wrong fails every one but the latent-risk
        // policy (its public grants are not neutralised).
        let all_on = json!({"BlockPublicAcls": true, "IgnorePublicAcls": true, "BlockPublicPolicy": true,
                            "RestrictPublicBuckets": true});
        let hardened = bucket(
            "b",
            json!({
                "Policy": {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:*",
                    "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"], "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]},
                "PublicAccessBlock": all_on,
                "Encryption": {"ServerSideEncryptionConfiguration": {"Rules": [{"ApplyServerSideEncryptionByDefault":
                    {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "arn:aws:kms:us-east-1:123456789012:key/k"}}]}},
                "Versioning": {"Status": "Enabled", "MFADelete": "Enabled"},
                "Logging": {"LoggingEnabled": {"TargetBucket": "logs", "TargetPrefix": "b/"}},
                "OwnershipControls": {"OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}},
                "Lifecycle": {"Rules": [{"ID": "r", "Status": "Enabled", "Filter": {}, "Expiration": {"Days": 365}}]},
                "ObjectLock": {"ObjectLockConfiguration": {"ObjectLockEnabled": "Enabled"}},
            }),
        );
        let all_users = "http://acs.amazonaws.com/groups/global/AllUsers";
        let exposed = bucket(
            "b",
            json!({
                "Acl": crate::testing::acl(&[
                    json!({"Grantee": {"Type": "Group", "URI": all_users}, "Permission": "FULL_CONTROL"}),
                    json!({"Grantee": {"Type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"}, "Permission": "READ"}),
                ]),
                "Policy": {"Version": "2012-10-17", "Statement": [
                    {"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::b/*"},
                    {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}]},
                "Encryption": null,
                "OwnershipControls": null,
            }),
        );
        let account_all_on = account_bpa(json!({"BlockPublicAcls": true, "IgnorePublicAcls": true,
                                                "BlockPublicPolicy": true, "RestrictPublicBuckets": true}));
        for p in POLICIES.iter().filter(|p| p.resource_type == "AWS::S3::Bucket") {
            let pass = run_with(p, &hardened, std::slice::from_ref(&account_all_on), json!({}), now());
            assert_eq!(pass, Verdict::Pass, "{} on the hardened bucket", p.id);
            let fail = run_with(p, &exposed, &[account_bpa(Value::Null)], json!({}), now());
            let latent = p.id == bucket_public_access_blocked_only_by_bpa::POLICY.id;
            assert_eq!(fail.name(), if latent { "pass" } else { "fail" }, "{} on the exposed bucket: {fail:?}", p.id);
        }
        // The same exposed bucket behind account-level Block Public Access: no
        // longer public, but a latent risk.
        for p in POLICIES.iter().filter(|p| p.id.contains("public") && p.resource_type == "AWS::S3::Bucket") {
            let v = run_with(p, &exposed, std::slice::from_ref(&account_all_on), json!({}), now());
            let latent = p.id == bucket_public_access_blocked_only_by_bpa::POLICY.id;
            assert_eq!(v.name(), if latent { "fail" } else { "pass" }, "{} behind account BPA: {v:?}", p.id);
        }
    }
}
