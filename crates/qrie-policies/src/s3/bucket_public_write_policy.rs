//! `s3-bucket-public-write-policy`: the bucket policy lets anyone write,
//! delete or change permissions, and Block Public Access does not neutralise it.

use qrie_model::{
    ComplianceRef, EvalContext, MissingData, PolicyDef, Remediation, Resource, Service, Severity, Verdict,
};

use super::block_public_access as bpa;
use super::exposure;
use crate::document::AccessLevel;

pub static POLICY: PolicyDef = PolicyDef {
    id: "s3-bucket-public-write-policy",
    title: "S3 bucket policy grants public write access",
    description: "A bucket policy statement allows actions that change the bucket or its objects (Put, Delete, \
        Restore, Replicate, ...) or its permissions (Put*Acl, Put*Policy, ...) to Principal \"*\" (or through \
        NotPrincipal), with no condition that limits the caller to known parties, no Deny that takes it back, and \
        RestrictPublicBuckets is off at both bucket and account level: anyone can plant, overwrite or delete data, \
        or take over the bucket's access. s3:Get* and s3:List* grants are read access, reported separately.",
    service: Service::S3,
    resource_type: "AWS::S3::Bucket",
    category: "data-exposure",
    severity: Severity::of(95),
    remediation: Remediation {
        steps: &[
            "Remove the statement named in the evidence, or replace Principal \"*\" with the principals that need \
             to write.",
            "Review the bucket for objects planted, overwritten or deleted while it was writable (versioning and \
             server access logs help).",
            "Turn on Block Public Access (RestrictPublicBuckets and BlockPublicPolicy) for the bucket and the \
             account.",
        ],
        cli: "aws s3api get-bucket-policy --bucket BUCKET --query Policy --output text > policy.json\n\
              # remove the public write statement from policy.json, then:\n\
              aws s3api put-bucket-policy --bucket BUCKET --policy file://policy.json\n\
              aws s3api put-public-access-block --bucket BUCKET --public-access-block-configuration \
              BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true",
        console: "Amazon S3 > Buckets > BUCKET > Permissions > Bucket policy > Edit: remove the public write \
                  statement > Save changes; then Permissions > Block public access (bucket settings) > Edit > \
                  Block all public access > Save changes",
        iac: r#"resource "aws_s3_bucket_public_access_block" "this" {
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
    exposure::evaluate_policy(r, ctx, &[AccessLevel::Write, AccessLevel::PermissionsManagement])
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;
    use crate::testing::*;
    use serde_json::{json, Value};

    fn public(action: Value) -> Value {
        json!([allow(json!("*"), action)])
    }

    #[test]
    fn golden_cases() {
        let none = Some(Value::Null);
        check(
            &POLICY,
            vec![
                ("no policy", bucket("b", json!({})), None, "pass"),
                ("PutObject", bucket_with_policy(public(json!("s3:PutObject")), Value::Null), none.clone(), "fail"),
                (
                    "DeleteObject",
                    bucket_with_policy(public(json!(["s3:DeleteObject"])), Value::Null),
                    none.clone(),
                    "fail",
                ),
                (
                    "PutBucketPolicy",
                    bucket_with_policy(public(json!("s3:PutBucketPolicy")), Value::Null),
                    none.clone(),
                    "fail",
                ),
                ("s3:*", bucket_with_policy(public(json!("s3:*")), Value::Null), none.clone(), "fail"),
                ("*", bucket_with_policy(public(json!("*")), Value::Null), none.clone(), "fail"),
                // s3:Get* is read, however broad.
                ("s3:Get*", bucket_with_policy(public(json!("s3:Get*")), Value::Null), none.clone(), "pass"),
                (
                    "s3:List*",
                    bucket_with_policy(public(json!(["s3:List*", "s3:GetObject"])), Value::Null),
                    none.clone(),
                    "pass",
                ),
                (
                    "NotAction that leaves writes",
                    bucket_with_policy(
                        json!([{"Effect": "Allow", "Principal": "*", "NotAction": "s3:DeleteBucket", "Resource": "*"}]),
                        Value::Null,
                    ),
                    none.clone(),
                    "fail",
                ),
                (
                    "s3:* with an unconditional Deny of every write",
                    bucket_with_policy(
                        json!([allow(json!("*"), json!(["s3:GetObject", "s3:PutObject"])),
                        {"Effect": "Deny", "Principal": "*", "Action": "s3:Put*", "Resource": "*"}]),
                        Value::Null,
                    ),
                    none.clone(),
                    "pass",
                ),
                (
                    "an account principal",
                    bucket_with_policy(
                        json!([allow(
                            json!({"AWS": format!("arn:aws:iam::{OTHER_ACCOUNT}:root")}),
                            json!("s3:PutObject")
                        )]),
                        Value::Null,
                    ),
                    none.clone(),
                    "pass",
                ),
                (
                    "limited by a private aws:SourceIp",
                    bucket_with_policy(
                        json!([with_condition(
                            allow(json!("*"), json!("s3:PutObject")),
                            json!({"IpAddress": {"aws:SourceIp": ["10.0.0.0/8"]}})
                        )]),
                        Value::Null,
                    ),
                    none.clone(),
                    "pass",
                ),
                (
                    "StringNotEquals names who is excluded",
                    bucket_with_policy(
                        json!([with_condition(
                            allow(json!("*"), json!("s3:PutObject")),
                            json!({"StringNotEquals": {"aws:SourceVpce": "vpce-1"}})
                        )]),
                        Value::Null,
                    ),
                    none.clone(),
                    "fail",
                ),
                (
                    "account RestrictPublicBuckets",
                    bucket_with_policy(public(json!("s3:PutObject")), Value::Null),
                    Some(bpa(false, false, false, true)),
                    "pass",
                ),
                (
                    "bucket BlockPublicPolicy only",
                    bucket_with_policy(public(json!("s3:PutObject")), bpa(false, false, true, false)),
                    none.clone(),
                    "fail",
                ),
                ("policy unreadable", unreadable(bucket("b", json!({})), "Policy"), none, "error"),
            ],
        );
    }

    #[test]
    fn recorded_public_put_object() {
        // A real policy: Allow PutObject to "*" whose only condition is on the
        // encryption header, which does not limit who may write.
        let file = "test_s3_no_encryption_statement__s3.GetBucketPolicy_3.json";
        let r = bucket("b", json!({"Policy": recorded("s3.GetBucketPolicy", file)["Policy"]}));
        let e = evidence(verdict(&POLICY, &r, Some(Value::Null)));
        assert_eq!(e["Path"], "Policy.Statement[0]");
        assert_eq!(e["Statement"]["Sid"], "RequiredEncryptedObject");
        assert_eq!(e["Reason"], "Principal * with no condition that limits the caller to known parties");
        assert_eq!(e["Access"], json!(["write"]));
        // Every other recorded policy passes.
        let failing: Vec<String> = recorded_files("s3.GetBucketPolicy")
            .into_iter()
            .filter(|f| {
                let r = bucket("b", json!({"Policy": recorded("s3.GetBucketPolicy", f)["Policy"]}));
                matches!(verdict(&POLICY, &r, Some(Value::Null)), Verdict::Fail(_))
            })
            .collect();
        assert_eq!(failing, [file]);
    }
}
