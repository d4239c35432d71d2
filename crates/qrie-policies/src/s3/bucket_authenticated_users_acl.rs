//! `s3-bucket-authenticated-users-acl`: the bucket ACL grants access to every
//! AWS account in the world (the AuthenticatedUsers group).

use qrie_model::{
    ComplianceRef, EvalContext, MissingData, PolicyDef, Remediation, Resource, Service, Severity, Verdict,
};

use super::block_public_access as bpa;
use super::exposure::{self, AUTHENTICATED_USERS};

pub static POLICY: PolicyDef = PolicyDef {
    id: "s3-bucket-authenticated-users-acl",
    title: "S3 bucket ACL grants access to any AWS account",
    description: "The bucket's access control list grants a permission to the AuthenticatedUsers group. Despite \
        its name, that group is anyone with an AWS account, in any organization, not the users of this account: \
        the grant is effectively public. S3 ignores it only when IgnorePublicAcls is on (bucket or account Block \
        Public Access) or ACLs are disabled (Object Ownership BucketOwnerEnforced).",
    service: Service::S3,
    resource_type: "AWS::S3::Bucket",
    category: "data-exposure",
    severity: Severity::of(85),
    remediation: Remediation {
        steps: &[
            "Remove the AuthenticatedUsers grant by setting the bucket ACL to private; grant the accounts that need \
             access by name in the bucket policy instead.",
            "Turn on Block Public Access for the bucket (all four settings).",
            "Disable ACLs by setting Object Ownership to BucketOwnerEnforced.",
        ],
        cli: "aws s3api put-bucket-acl --bucket BUCKET --acl private\n\
              aws s3api put-bucket-ownership-controls --bucket BUCKET \
              --ownership-controls 'Rules=[{ObjectOwnership=BucketOwnerEnforced}]'",
        console: "Amazon S3 > Buckets > BUCKET > Permissions > Access control list (ACL) > Edit: clear the \
                  Authenticated users group (anyone with an AWS account) boxes > Save changes",
        iac: r#"resource "aws_s3_bucket_ownership_controls" "this" {
  bucket = aws_s3_bucket.this.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}"#,
    },
    compliance: &[
        ComplianceRef { framework: "cis-aws-3.0", controls: &["2.1.4"] },
        ComplianceRef { framework: "nist-800-53-r5", controls: &["AC-3", "AC-6"] },
        ComplianceRef { framework: "pci-dss-4.0", controls: &["7.2.1"] },
        ComplianceRef { framework: "hipaa", controls: &["164.312(a)(1)"] },
        ComplianceRef { framework: "cmmc-2.0", controls: &["AC.L1-3.1.1"] },
    ],
    params: &[],
    related: Some(bpa::DEPENDENCY),
    evaluate,
};

fn evaluate(r: &Resource, ctx: &EvalContext) -> Result<Verdict, MissingData> {
    exposure::evaluate_acl(r, ctx, AUTHENTICATED_USERS, &[])
}

#[cfg(test)]
mod tests {
    use super::super::exposure::ALL_USERS;
    use super::super::fixtures::*;
    use super::*;
    use crate::testing::*;
    use serde_json::{json, Value};

    fn with_grant(permission: &str) -> Resource {
        bucket("b", json!({"Acl": acl(&[group_grant(AUTHENTICATED_USERS, permission)])}))
    }

    #[test]
    fn golden_cases() {
        let none = Some(Value::Null);
        check(
            &POLICY,
            vec![
                ("private", bucket("b", json!({})), none.clone(), "pass"),
                ("READ", with_grant("READ"), none.clone(), "fail"),
                ("READ_ACP only", with_grant("READ_ACP"), none.clone(), "fail"),
                ("FULL_CONTROL", with_grant("FULL_CONTROL"), none.clone(), "fail"),
                // AllUsers and the log delivery group are other grantees.
                ("AllUsers", bucket("b", json!({"Acl": acl(&[group_grant(ALL_USERS, "READ")])})), none.clone(), "pass"),
                (
                    "log delivery",
                    bucket(
                        "b",
                        json!({"Acl": acl(&[group_grant("http://acs.amazonaws.com/groups/s3/LogDelivery", "WRITE")])}),
                    ),
                    none.clone(),
                    "pass",
                ),
                ("account ignores public ACLs", with_grant("READ"), Some(bpa(false, true, false, false)), "pass"),
                ("BlockPublicAcls only", with_grant("READ"), Some(bpa(true, false, false, false)), "fail"),
                ("account settings unreadable", with_grant("READ"), None, "error"),
            ],
        );
    }

    #[test]
    fn recorded_acls() {
        // One real ACL grants READ to AuthenticatedUsers beside log delivery.
        let failing: Vec<(String, Value)> = recorded_files("s3.GetBucketAcl")
            .into_iter()
            .filter_map(|f| {
                let r = bucket("b", json!({"Acl": recorded("s3.GetBucketAcl", &f)}));
                match verdict(&POLICY, &r, Some(Value::Null)) {
                    Verdict::Pass => None,
                    Verdict::Fail(e) => Some((f, e["Path"].clone())),
                    other => panic!("{f}: {other:?}"),
                }
            })
            .collect();
        assert_eq!(failing, [("test_s3_normalize__s3.GetBucketAcl_1.json".to_string(), json!("Acl.Grants[0]"))]);
    }
}
