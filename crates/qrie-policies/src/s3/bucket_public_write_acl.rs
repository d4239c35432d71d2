//! `s3-bucket-public-write-acl`: the bucket ACL lets anyone on the internet
//! write, overwrite or delete objects, or change the ACL itself.

use qrie_model::{
    ComplianceRef, EvalContext, MissingData, PolicyDef, Remediation, Resource, Service, Severity, Verdict,
};

use super::block_public_access as bpa;
use super::exposure::{self, ALL_USERS};

pub static POLICY: PolicyDef = PolicyDef {
    id: "s3-bucket-public-write-acl",
    title: "S3 bucket ACL grants public write access",
    description: "The bucket's access control list grants WRITE, WRITE_ACP or FULL_CONTROL to the AllUsers group \
        (everyone, unauthenticated), and neither IgnorePublicAcls (bucket or account Block Public Access) nor \
        disabled ACLs (Object Ownership BucketOwnerEnforced) neutralises it. Anyone can then upload, overwrite or \
        delete objects (and pay-per-request costs accrue to you), or with WRITE_ACP rewrite the ACL itself.",
    service: Service::S3,
    resource_type: "AWS::S3::Bucket",
    category: "data-exposure",
    severity: Severity::of(95),
    remediation: Remediation {
        steps: &[
            "Remove the AllUsers grant by setting the bucket ACL to private.",
            "Review the bucket's objects for content planted or altered while it was writable.",
            "Turn on Block Public Access for the bucket (all four settings), and for the account if no bucket needs \
             public access.",
            "Disable ACLs by setting Object Ownership to BucketOwnerEnforced.",
        ],
        cli: "aws s3api put-bucket-acl --bucket BUCKET --acl private\n\
              aws s3api put-public-access-block --bucket BUCKET --public-access-block-configuration \
              BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true\n\
              aws s3api put-bucket-ownership-controls --bucket BUCKET \
              --ownership-controls 'Rules=[{ObjectOwnership=BucketOwnerEnforced}]'",
        console: "Amazon S3 > Buckets > BUCKET > Permissions > Access control list (ACL) > Edit: clear every \
                  Everyone (public access) box > Save changes; then Permissions > Object Ownership > Edit > ACLs \
                  disabled > Save changes",
        iac: r#"resource "aws_s3_bucket_ownership_controls" "this" {
  bucket = aws_s3_bucket.this.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  bucket                  = aws_s3_bucket.this.id
  block_public_acls       = true
  ignore_public_acls      = true
  block_public_policy     = true
  restrict_public_buckets = true
}"#,
    },
    compliance: &[
        ComplianceRef { framework: "cis-aws-3.0", controls: &["2.1.4"] },
        ComplianceRef { framework: "nist-800-53-r5", controls: &["AC-3", "AC-6", "SC-7"] },
        ComplianceRef { framework: "pci-dss-4.0", controls: &["1.4.4", "7.2.1"] },
        ComplianceRef { framework: "hipaa", controls: &["164.312(a)(1)", "164.312(c)(1)"] },
        ComplianceRef { framework: "cmmc-2.0", controls: &["AC.L1-3.1.1", "AC.L1-3.1.22"] },
    ],
    params: &[],
    related: Some(bpa::DEPENDENCY),
    evaluate,
};

fn evaluate(r: &Resource, ctx: &EvalContext) -> Result<Verdict, MissingData> {
    exposure::evaluate_acl(r, ctx, ALL_USERS, &["WRITE", "WRITE_ACP", "FULL_CONTROL"])
}

#[cfg(test)]
mod tests {
    use super::super::exposure::AUTHENTICATED_USERS;
    use super::super::fixtures::*;
    use super::*;
    use crate::testing::*;
    use serde_json::{json, Value};

    fn with_grant(permission: &str, bucket_bpa: Value) -> Resource {
        bucket("b", json!({"Acl": acl(&[group_grant(ALL_USERS, permission)]), "PublicAccessBlock": bucket_bpa}))
    }

    #[test]
    fn golden_cases() {
        let none = Some(Value::Null);
        check(
            &POLICY,
            vec![
                ("private", bucket("b", json!({})), none.clone(), "pass"),
                ("AllUsers WRITE", with_grant("WRITE", Value::Null), none.clone(), "fail"),
                ("AllUsers WRITE_ACP", with_grant("WRITE_ACP", Value::Null), none.clone(), "fail"),
                ("AllUsers FULL_CONTROL", with_grant("FULL_CONTROL", Value::Null), none.clone(), "fail"),
                // Read is another policy's.
                ("AllUsers READ", with_grant("READ", Value::Null), none.clone(), "pass"),
                ("AllUsers READ_ACP", with_grant("READ_ACP", Value::Null), none.clone(), "pass"),
                (
                    "AuthenticatedUsers WRITE",
                    bucket("b", json!({"Acl": acl(&[group_grant(AUTHENTICATED_USERS, "WRITE")])})),
                    none.clone(),
                    "pass",
                ),
                ("bucket ignores public ACLs", with_grant("WRITE", bpa(false, true, false, false)), None, "pass"),
                (
                    "account ignores public ACLs",
                    with_grant("WRITE", Value::Null),
                    Some(bpa(false, true, false, false)),
                    "pass",
                ),
                // BlockPublicAcls rejects new public ACLs only.
                ("blocks but does not ignore", with_grant("WRITE", bpa(true, false, true, true)), none.clone(), "fail"),
                (
                    "ACLs disabled by Object Ownership",
                    bucket(
                        "b",
                        json!({"Acl": acl(&[group_grant(ALL_USERS, "WRITE")]),
                        "OwnershipControls": {"OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}}}),
                    ),
                    None,
                    "pass",
                ),
                ("account settings not in the inventory", with_grant("WRITE", Value::Null), None, "error"),
                ("ACL unreadable", unreadable(bucket("b", json!({})), "Acl"), none, "error"),
            ],
        );
    }

    #[test]
    fn evidence_names_the_grant() {
        let r = bucket("b", json!({"Acl": acl(&[group_grant(ALL_USERS, "READ"), group_grant(ALL_USERS, "WRITE")])}));
        let e = evidence(verdict(&POLICY, &r, Some(Value::Null)));
        assert_eq!(e["Path"], "Acl.Grants[2]");
        assert_eq!(e["Grant"]["Permission"], "WRITE");
        assert_eq!(e["BlockPublicAccess"], json!({"Bucket": null, "Account": null}));
    }

    #[test]
    fn recorded_acls() {
        // Three real ACLs grant WRITE to AllUsers (Custodian's global-grants tests).
        let failing: Vec<String> = recorded_files("s3.GetBucketAcl")
            .into_iter()
            .filter(|f| {
                let r = bucket("b", json!({"Acl": recorded("s3.GetBucketAcl", f)}));
                match verdict(&POLICY, &r, Some(Value::Null)) {
                    Verdict::Pass => false,
                    Verdict::Fail(e) => {
                        assert_eq!(e["Grant"]["Permission"], "WRITE", "{f}");
                        true
                    }
                    other => panic!("{f}: {other:?}"),
                }
            })
            .collect();
        assert_eq!(
            failing,
            [
                "test_s3_global_grants_filter__s3.GetBucketAcl_3.json",
                "test_s3_global_grants_filter__s3.GetBucketAcl_7.json",
                "test_s3_grants__s3.GetBucketAcl_1.json",
            ]
        );
        // The same ACL with IgnorePublicAcls on the account passes.
        let r = bucket("b", json!({"Acl": recorded("s3.GetBucketAcl", "test_s3_grants__s3.GetBucketAcl_1.json")}));
        assert_eq!(verdict(&POLICY, &r, Some(bpa(true, true, true, true))), Verdict::Pass);
    }
}
