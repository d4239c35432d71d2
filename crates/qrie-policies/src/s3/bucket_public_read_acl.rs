//! `s3-bucket-public-read-acl`: the bucket ACL lets anyone on the internet list
//! (and, with FULL_CONTROL, also change) the bucket, and Block Public Access does
//! not neutralise it.

use qrie_model::{
    ComplianceRef, EvalContext, MissingData, PolicyDef, Remediation, Resource, Service, Severity, Verdict,
};

use super::block_public_access as bpa;
use super::exposure::{self, ALL_USERS};

pub static POLICY: PolicyDef = PolicyDef {
    id: "s3-bucket-public-read-acl",
    title: "S3 bucket ACL grants public read access",
    description: "The bucket's access control list grants READ or FULL_CONTROL to the AllUsers group (everyone, \
        unauthenticated), and neither the bucket's nor the account's Block Public Access setting IgnorePublicAcls \
        is on (and ACLs are not disabled by Object Ownership), so anyone on the internet can list the bucket's \
        objects. Grants to AuthenticatedUsers, log delivery and WRITE-only grants are left to other policies.",
    service: Service::S3,
    resource_type: "AWS::S3::Bucket",
    category: "data-exposure",
    severity: Severity::of(90),
    remediation: Remediation {
        steps: &[
            "Confirm the bucket is not meant to be public; public content is better served through CloudFront with \
             origin access control than through a public ACL.",
            "Remove the AllUsers grant by setting the bucket ACL to private.",
            "Turn on Block Public Access for the bucket (all four settings), and for the whole account if no bucket \
             in it needs public access.",
            "Disable ACLs altogether by setting Object Ownership to BucketOwnerEnforced, so that access is governed \
             by policies only.",
        ],
        cli: "aws s3api put-bucket-acl --bucket BUCKET --acl private\n\
              aws s3api put-public-access-block --bucket BUCKET --public-access-block-configuration \
              BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true\n\
              aws s3api put-bucket-ownership-controls --bucket BUCKET \
              --ownership-controls 'Rules=[{ObjectOwnership=BucketOwnerEnforced}]'",
        console: "Amazon S3 > Buckets > BUCKET > Permissions > Access control list (ACL) > Edit: clear the \
                  Everyone (public access) boxes > Save changes; then Permissions > Block public access (bucket \
                  settings) > Edit > Block all public access > Save changes",
        iac: r#"resource "aws_s3_bucket_public_access_block" "this" {
  bucket                  = aws_s3_bucket.this.id
  block_public_acls       = true
  ignore_public_acls      = true
  block_public_policy     = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "this" {
  bucket = aws_s3_bucket.this.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}"#,
    },
    compliance: &[
        ComplianceRef { framework: "cis-aws-3.0", controls: &["2.1.4"] },
        ComplianceRef { framework: "nist-800-53-r5", controls: &["AC-3", "AC-21", "SC-7"] },
        ComplianceRef { framework: "pci-dss-4.0", controls: &["1.4.4"] },
    ],
    params: &[],
    related: Some(bpa::DEPENDENCY),
    evaluate,
};

fn evaluate(r: &Resource, ctx: &EvalContext) -> Result<Verdict, MissingData> {
    exposure::evaluate_acl(r, ctx, ALL_USERS, &["READ", "FULL_CONTROL"])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;
    use serde_json::{json, Value};

    fn public_bucket(bucket_bpa: Value) -> Resource {
        bucket("public", json!({"Acl": acl(&[group_grant(ALL_USERS, "READ")]), "PublicAccessBlock": bucket_bpa}))
    }

    #[test]
    fn golden_cases() {
        let ignore_only = bpa(false, true, false, false);
        let block_only = bpa(true, false, true, true);
        let acct = |settings: Value| vec![account_bpa(settings)];
        let cases: Vec<(&str, Resource, Vec<Resource>, &str)> = vec![
            ("private bucket", bucket("b", json!({})), acct(Value::Null), "pass"),
            ("private bucket needs no account settings", bucket("b", json!({})), vec![], "pass"),
            ("AllUsers READ, no BPA anywhere", public_bucket(Value::Null), acct(Value::Null), "fail"),
            (
                "AllUsers FULL_CONTROL",
                bucket("b", json!({"Acl": acl(&[group_grant(ALL_USERS, "FULL_CONTROL")])})),
                acct(Value::Null),
                "fail",
            ),
            // WRITE-only and other groups are not public *read*.
            ("AllUsers WRITE", bucket("b", json!({"Acl": acl(&[group_grant(ALL_USERS, "WRITE")])})), vec![], "pass"),
            (
                "AuthenticatedUsers READ",
                bucket(
                    "b",
                    json!({"Acl": acl(&[group_grant("http://acs.amazonaws.com/groups/global/AuthenticatedUsers", "READ")])}),
                ),
                vec![],
                "pass",
            ),
            ("bucket BPA ignores public ACLs", public_bucket(ignore_only.clone()), vec![], "pass"),
            ("account BPA ignores public ACLs", public_bucket(Value::Null), acct(ignore_only.clone()), "pass"),
            // BlockPublicAcls stops new public ACLs only; the existing grant still applies.
            ("BPA blocks but does not ignore", public_bucket(block_only.clone()), acct(block_only), "fail"),
            (
                "ACLs disabled by Object Ownership",
                bucket(
                    "b",
                    json!({"Acl": acl(&[group_grant(ALL_USERS, "READ")]),
                           "OwnershipControls": {"OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}}}),
                ),
                vec![],
                "pass",
            ),
            (
                "Object Ownership unreadable, nothing else neutralises",
                unreadable(public_bucket(Value::Null), "OwnershipControls"),
                acct(Value::Null),
                "error",
            ),
            ("account BPA not in the inventory", public_bucket(Value::Null), vec![], "error"),
            (
                "account BPA unreadable",
                public_bucket(Value::Null),
                vec![unreadable(account_bpa(Value::Null), "PublicAccessBlock")],
                "error",
            ),
            // The bucket level could not be read, but the account level alone neutralises the grant.
            (
                "bucket BPA unreadable, account ignores",
                unreadable(public_bucket(Value::Null), "PublicAccessBlock"),
                acct(ignore_only),
                "pass",
            ),
            (
                "bucket BPA unreadable, account does not ignore",
                unreadable(public_bucket(Value::Null), "PublicAccessBlock"),
                acct(Value::Null),
                "error",
            ),
            ("ACL unreadable", unreadable(bucket("b", json!({})), "Acl"), acct(Value::Null), "error"),
            ("ACL without grants list", bucket("b", json!({"Acl": {"Owner": {}}})), vec![], "error"),
        ];
        for (name, r, related, expected) in cases {
            let v = run_with(&POLICY, &r, &related, json!({}), now());
            assert_eq!(v.name(), expected, "{name}: {v:?}");
        }
    }

    #[test]
    fn evidence_names_the_grant_its_path_and_both_bpa_levels() {
        let bucket_level = bpa(true, false, false, false);
        let r = bucket(
            "b",
            json!({"Acl": acl(&[group_grant(ALL_USERS, "READ"), group_grant(ALL_USERS, "FULL_CONTROL")]),
                   "PublicAccessBlock": bucket_level}),
        );
        let e = evidence(run_with(&POLICY, &r, &[account_bpa(Value::Null)], json!({}), now()));
        assert_eq!(e["Path"], "Acl.Grants[1]");
        assert_eq!(e["Grant"], group_grant(ALL_USERS, "READ"));
        assert_eq!(e["BlockPublicAccess"], json!({"Bucket": bucket_level, "Account": null}));
        assert_eq!(e["AlsoMatched"], json!(["Acl.Grants[2]"]));
    }

    #[test]
    fn error_says_what_is_missing() {
        let reason = error_reason(run(&POLICY, &public_bucket(Value::Null)));
        assert!(reason.contains("arn:aws:s3::123456789012:account-public-access-block"), "{reason}");
        let reason = error_reason(run(&POLICY, &unreadable(bucket("b", json!({})), "Acl")));
        assert!(reason.contains("Acl could not be read"), "{reason}");
    }

    #[test]
    fn recorded_acls() {
        // Real GetBucketAcl responses: none grants public read.
        for file in recorded_files("s3.GetBucketAcl") {
            let r = bucket("b", json!({"Acl": recorded("s3.GetBucketAcl", &file)}));
            assert_eq!(run(&POLICY, &r), Verdict::Pass, "{file}");
        }
        // A real ACL (owner + log delivery grants) with an AllUsers READ grant added.
        let mut acl = recorded("s3.GetBucketAcl", "test_s3_enable_logging__s3.GetBucketAcl_1.json");
        acl["Grants"].as_array_mut().unwrap().push(group_grant(ALL_USERS, "READ"));
        // The real account-level settings that block but do not ignore public ACLs.
        let account = recorded(
            "s3-control.GetPublicAccessBlock",
            "test_account_action_s3_public_block__s3-control.GetPublicAccessBlock_2.json",
        )["PublicAccessBlockConfiguration"]
            .clone();
        let r = bucket("b", json!({"Acl": acl}));
        let e = evidence(run_with(&POLICY, &r, &[account_bpa(account)], json!({}), now()));
        assert_eq!(e["Path"], "Acl.Grants[3]");
    }

    #[test]
    fn asks_for_the_account_settings_of_its_own_account() {
        let r = bucket("b", json!({}));
        assert_eq!(POLICY.related_arns(&r), vec!["arn:aws:s3::123456789012:account-public-access-block".to_string()]);
    }
}
