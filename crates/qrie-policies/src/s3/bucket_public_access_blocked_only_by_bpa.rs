//! `s3-bucket-public-access-blocked-only-by-bpa`: the bucket's policy or ACL
//! is public, and only Block Public Access keeps it private (a latent risk).

use qrie_model::{
    ComplianceRef, EvalContext, MissingData, PolicyDef, Remediation, Resource, Service, Severity, Verdict,
};
use serde_json::{json, Value};

use super::block_public_access::{self as bpa, Levels};
use super::exposure::{self, ALL_USERS, AUTHENTICATED_USERS};

pub static POLICY: PolicyDef = PolicyDef {
    id: "s3-bucket-public-access-blocked-only-by-bpa",
    title: "S3 bucket is public but for Block Public Access",
    description: "The bucket policy has a public statement (Principal \"*\" with no condition limiting the caller to \
        known parties) that RestrictPublicBuckets neutralises, or the ACL grants to AllUsers or AuthenticatedUsers \
        and IgnorePublicAcls neutralises it. The bucket is not public today, so the public-access policies pass; \
        but one Block Public Access setting, at bucket or account level, is all that stands between the data and \
        the internet, and turning it off (for an unrelated bucket, at account level) exposes it at once.",
    service: Service::S3,
    resource_type: "AWS::S3::Bucket",
    category: "data-exposure",
    severity: Severity::of(30),
    remediation: Remediation {
        steps: &[
            "Remove the public statement or grant named in the evidence, so that the bucket is private by its own \
             configuration and Block Public Access is a second line of defence.",
            "If the statement is meant for callers inside your network or organization, add the condition that \
             says so (aws:SourceVpce, aws:PrincipalOrgID).",
            "Keep Block Public Access on at both bucket and account level.",
        ],
        cli: "aws s3api get-bucket-policy --bucket BUCKET --query Policy --output text > policy.json\n\
              # remove the public statement from policy.json, then:\n\
              aws s3api put-bucket-policy --bucket BUCKET --policy file://policy.json\n\
              aws s3api put-bucket-acl --bucket BUCKET --acl private",
        console: "Amazon S3 > Buckets > BUCKET > Permissions > Bucket policy > Edit: remove or restrict the public \
                  statement > Save changes; Permissions > Access control list (ACL) > Edit: clear the Everyone and \
                  Authenticated users boxes > Save changes",
        iac: r#"resource "aws_s3_bucket_acl" "this" {
  bucket = aws_s3_bucket.this.id
  acl    = "private"
}"#,
    },
    compliance: &[
        ComplianceRef { framework: "nist-800-53-r5", controls: &["AC-3", "AC-6"] },
        ComplianceRef { framework: "cmmc-2.0", controls: &["AC.L1-3.1.22"] },
    ],
    params: &[],
    related: Some(bpa::DEPENDENCY),
    evaluate,
};

fn evaluate(r: &Resource, ctx: &EvalContext) -> Result<Verdict, MissingData> {
    let mut latent: Vec<Value> = Vec::new();
    let statements = exposure::policy_public_grants(r)?;
    if !statements.is_empty() {
        if let Some(by) = exposure::policy_neutraliser(r, ctx)? {
            latent.extend(statements.iter().map(|m| {
                let mut e = m.evidence();
                e["NeutralisedBy"] = by.clone();
                e
            }));
        }
    }
    let mut grants = exposure::acl_grants(r, ALL_USERS, &[])?;
    grants.extend(exposure::acl_grants(r, AUTHENTICATED_USERS, &[])?);
    if !grants.is_empty() {
        // Only IgnorePublicAcls is Block Public Access; ACLs disabled by Object
        // Ownership are the bucket's own configuration, not a latent risk.
        let ownership = r.field("OwnershipControls")?;
        if exposure::acls_disabled(ownership).is_none() {
            if let Some(by) = Levels::of(r, ctx).in_force("IgnorePublicAcls")? {
                latent.extend(
                    grants.iter().map(|g| json!({"Path": g.path, "Grant": g.grant, "NeutralisedBy": by.clone()})),
                );
            }
        }
    }
    if latent.is_empty() {
        return Ok(Verdict::Pass);
    }
    let mut e = latent[0].clone();
    e["BlockPublicAccess"] = Levels::of(r, ctx).evidence();
    if latent.len() > 1 {
        e["AlsoMatched"] = latent[1..].iter().map(|l| l["Path"].clone()).collect();
    }
    Ok(Verdict::Fail(e))
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;
    use crate::testing::*;

    fn public_policy(bucket_bpa: Value) -> Resource {
        bucket_with_policy(json!([allow(json!("*"), json!("s3:GetObject"))]), bucket_bpa)
    }

    #[test]
    fn golden_cases() {
        let none = Some(Value::Null);
        let restrict = bpa(false, false, false, true);
        let ignore = bpa(false, true, false, false);
        let public_acl = |bucket_bpa: Value| {
            bucket("b", json!({"Acl": acl(&[group_grant(ALL_USERS, "READ")]), "PublicAccessBlock": bucket_bpa}))
        };
        check(
            &POLICY,
            vec![
                ("private", bucket("b", json!({})), None, "pass"),
                (
                    "private, all BPA on",
                    bucket("b", json!({"PublicAccessBlock": bpa(true, true, true, true)})),
                    None,
                    "pass",
                ),
                // Public today: the public-access policies report it, not this one.
                ("public policy, no BPA", public_policy(Value::Null), none.clone(), "pass"),
                ("public policy, bucket RestrictPublicBuckets", public_policy(restrict.clone()), None, "fail"),
                (
                    "public policy, account RestrictPublicBuckets",
                    public_policy(Value::Null),
                    Some(restrict.clone()),
                    "fail",
                ),
                // BlockPublicPolicy does not neutralise an existing policy.
                (
                    "public policy, BlockPublicPolicy only",
                    public_policy(bpa(true, true, true, false)),
                    none.clone(),
                    "pass",
                ),
                (
                    "policy limited by aws:SourceVpce",
                    bucket_with_policy(
                        json!([with_condition(
                            allow(json!("*"), json!("s3:GetObject")),
                            json!({"StringEquals": {"aws:SourceVpce": "vpce-1"}})
                        )]),
                        restrict.clone(),
                    ),
                    None,
                    "pass",
                ),
                ("public ACL, IgnorePublicAcls", public_acl(ignore.clone()), None, "fail"),
                ("public ACL, account IgnorePublicAcls", public_acl(Value::Null), Some(ignore), "fail"),
                (
                    "AuthenticatedUsers grant, IgnorePublicAcls",
                    bucket(
                        "b",
                        json!({"Acl": acl(&[group_grant(AUTHENTICATED_USERS, "READ")]), "PublicAccessBlock": bpa(true, true, true, true)}),
                    ),
                    None,
                    "fail",
                ),
                (
                    "public ACL but ACLs disabled",
                    bucket(
                        "b",
                        json!({"Acl": acl(&[group_grant(ALL_USERS, "READ")]), "PublicAccessBlock": bpa(true, true, true, true),
                        "OwnershipControls": {"OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}}}),
                    ),
                    None,
                    "pass",
                ),
                ("public policy, account settings missing", public_policy(Value::Null), None, "error"),
                ("policy unreadable", unreadable(bucket("b", json!({})), "Policy"), none.clone(), "error"),
                ("ACL unreadable", unreadable(bucket("b", json!({})), "Acl"), none, "error"),
            ],
        );
    }

    #[test]
    fn evidence_names_the_statement_and_the_setting() {
        let r = bucket(
            "b",
            json!({"Policy": policy(json!([allow(json!({"AWS": "*"}), json!("s3:GetObject"))])),
                   "Acl": acl(&[group_grant(ALL_USERS, "READ")]), "PublicAccessBlock": bpa(false, true, false, true)}),
        );
        let e = evidence(verdict(&POLICY, &r, Some(Value::Null)));
        assert_eq!(e["Path"], "Policy.Statement[0]");
        assert_eq!(e["NeutralisedBy"], json!({"Level": "bucket", "Path": "PublicAccessBlock.RestrictPublicBuckets"}));
        assert_eq!(e["AlsoMatched"], json!(["Acl.Grants[1]"]));
    }
}
