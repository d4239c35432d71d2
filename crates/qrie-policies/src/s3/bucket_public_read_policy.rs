//! `s3-bucket-public-read-policy`: the bucket policy lets anyone read or list
//! the bucket, and Block Public Access does not neutralise it.

use qrie_model::{
    ComplianceRef, EvalContext, MissingData, PolicyDef, Remediation, Resource, Service, Severity, Verdict,
};

use super::block_public_access as bpa;
use super::exposure;
use crate::document::AccessLevel;

pub static POLICY: PolicyDef = PolicyDef {
    id: "s3-bucket-public-read-policy",
    title: "S3 bucket policy grants public read access",
    description: "A bucket policy statement allows Get, List or Head actions to Principal \"*\" (or through \
        NotPrincipal) with no condition that limits the caller to known parties (VPC endpoint, VPC, organization, \
        account, source ARN, private or small IP range), no Deny that takes it back, and RestrictPublicBuckets is \
        off at both bucket and account level, so anyone on the internet can read the data. A statement limited by \
        aws:SourceVpce or aws:PrincipalOrgID is not public; one whose only condition is aws:Referer, \
        aws:SecureTransport or an ...IfExists operator is.",
    service: Service::S3,
    resource_type: "AWS::S3::Bucket",
    category: "data-exposure",
    severity: Severity::of(90),
    remediation: Remediation {
        steps: &[
            "Confirm the data is not meant to be public; serve public content through CloudFront with origin access \
             control rather than a public bucket policy.",
            "Remove the statement named in the evidence, or replace Principal \"*\" with the principals that need \
             access, or add a condition such as aws:SourceVpce or aws:PrincipalOrgID.",
            "Turn on Block Public Access (RestrictPublicBuckets and BlockPublicPolicy) for the bucket, and for the \
             account if no bucket needs public access.",
        ],
        cli: "aws s3api get-bucket-policy --bucket BUCKET --query Policy --output text > policy.json\n\
              # edit policy.json, then:\n\
              aws s3api put-bucket-policy --bucket BUCKET --policy file://policy.json\n\
              aws s3api put-public-access-block --bucket BUCKET --public-access-block-configuration \
              BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true",
        console: "Amazon S3 > Buckets > BUCKET > Permissions > Bucket policy > Edit: remove or restrict the public \
                  statement > Save changes; then Permissions > Block public access (bucket settings) > Edit > \
                  Block all public access > Save changes",
        iac: r#"data "aws_iam_policy_document" "bucket" {
  statement {
    sid       = "ReadThroughOurEndpointOnly"
    actions   = ["s3:GetObject"]
    resources = ["${aws_s3_bucket.this.arn}/*"]
    principals {
      type        = "AWS"
      identifiers = ["*"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceVpce"
      values   = [aws_vpc_endpoint.s3.id]
    }
  }
}

resource "aws_s3_bucket_policy" "this" {
  bucket = aws_s3_bucket.this.id
  policy = data.aws_iam_policy_document.bucket.json
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
        ComplianceRef { framework: "hipaa", controls: &["164.312(a)(1)"] },
        ComplianceRef { framework: "cmmc-2.0", controls: &["AC.L1-3.1.1", "AC.L1-3.1.22"] },
    ],
    params: &[],
    related: Some(bpa::DEPENDENCY),
    evaluate,
};

fn evaluate(r: &Resource, ctx: &EvalContext) -> Result<Verdict, MissingData> {
    exposure::evaluate_policy(r, ctx, &[AccessLevel::List, AccessLevel::Read])
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;
    use crate::testing::*;
    use serde_json::{json, Value};

    fn public(action: &str) -> Value {
        json!([allow(json!("*"), json!(action))])
    }

    #[test]
    fn golden_cases() {
        let none = Some(Value::Null);
        let vpce = json!({"StringEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}});
        check(
            &POLICY,
            vec![
                ("no policy", bucket("b", json!({})), None, "pass"),
                (
                    "Principal * GetObject",
                    bucket_with_policy(public("s3:GetObject"), Value::Null),
                    none.clone(),
                    "fail",
                ),
                (
                    "AWS * ListBucket",
                    bucket_with_policy(json!([allow(json!({"AWS": "*"}), json!("s3:ListBucket"))]), Value::Null),
                    none.clone(),
                    "fail",
                ),
                ("Principal * s3:*", bucket_with_policy(public("s3:*"), Value::Null), none.clone(), "fail"),
                // Write-only grants are the write policy's.
                (
                    "Principal * PutObject",
                    bucket_with_policy(public("s3:PutObject"), Value::Null),
                    none.clone(),
                    "pass",
                ),
                (
                    "one account",
                    bucket_with_policy(
                        json!([allow(json!({"AWS": OTHER_ACCOUNT}), json!("s3:GetObject"))]),
                        Value::Null,
                    ),
                    none.clone(),
                    "pass",
                ),
                (
                    "limited by aws:SourceVpce",
                    bucket_with_policy(
                        json!([with_condition(allow(json!("*"), json!("s3:GetObject")), vpce)]),
                        Value::Null,
                    ),
                    none.clone(),
                    "pass",
                ),
                (
                    "limited by aws:PrincipalOrgID",
                    bucket_with_policy(
                        json!([with_condition(
                            allow(json!({"AWS": "*"}), json!("s3:Get*")),
                            json!({"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}})
                        )]),
                        Value::Null,
                    ),
                    none.clone(),
                    "pass",
                ),
                (
                    "aws:SourceIp 0.0.0.0/0 is the internet",
                    bucket_with_policy(
                        json!([with_condition(
                            allow(json!("*"), json!("s3:GetObject")),
                            json!({"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}})
                        )]),
                        Value::Null,
                    ),
                    none.clone(),
                    "fail",
                ),
                (
                    "aws:Referer is set by the caller",
                    bucket_with_policy(
                        json!([with_condition(
                            allow(json!("*"), json!("s3:GetObject")),
                            json!({"StringLike": {"aws:Referer": "https://example.com/*"}})
                        )]),
                        Value::Null,
                    ),
                    none.clone(),
                    "fail",
                ),
                (
                    "StringEqualsIfExists does not restrict",
                    bucket_with_policy(
                        json!([with_condition(
                            allow(json!("*"), json!("s3:GetObject")),
                            json!({"StringEqualsIfExists": {"aws:SourceVpce": "vpce-1"}})
                        )]),
                        Value::Null,
                    ),
                    none.clone(),
                    "fail",
                ),
                (
                    "Deny outside the endpoint",
                    bucket_with_policy(
                        json!([allow(json!("*"), json!("s3:GetObject")),
                        {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"],
                         "Condition": {"StringNotEquals": {"aws:SourceVpce": "vpce-1"}}}]),
                        Value::Null,
                    ),
                    none.clone(),
                    "pass",
                ),
                // Block Public Access.
                (
                    "bucket RestrictPublicBuckets",
                    bucket_with_policy(public("s3:GetObject"), bpa(false, false, false, true)),
                    None,
                    "pass",
                ),
                (
                    "account RestrictPublicBuckets",
                    bucket_with_policy(public("s3:GetObject"), Value::Null),
                    Some(bpa(false, false, false, true)),
                    "pass",
                ),
                // BlockPublicPolicy rejects new public policies; the existing one is in force.
                (
                    "BlockPublicPolicy only",
                    bucket_with_policy(public("s3:GetObject"), bpa(true, true, true, false)),
                    Some(bpa(true, true, true, false)),
                    "fail",
                ),
                (
                    "account settings not in the inventory",
                    bucket_with_policy(public("s3:GetObject"), Value::Null),
                    None,
                    "error",
                ),
                ("policy unreadable", unreadable(bucket("b", json!({})), "Policy"), none.clone(), "error"),
                ("policy not understood", bucket("b", json!({"Policy": "{not json"})), none, "error"),
            ],
        );
    }

    #[test]
    fn evidence_names_the_statement() {
        let statements = json!([
            allow(json!({"AWS": OTHER_ACCOUNT}), json!("s3:*")),
            {"Sid": "Public", "Effect": "Allow", "Principal": "*", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "arn:aws:s3:::b/*"},
            allow(json!("*"), json!("s3:ListBucket")),
        ]);
        let e = evidence(verdict(&POLICY, &bucket_with_policy(statements, Value::Null), Some(Value::Null)));
        assert_eq!(e["Path"], "Policy.Statement[1]");
        assert_eq!(e["Statement"]["Sid"], "Public");
        assert_eq!(e["Reason"], "Principal * with no condition");
        assert_eq!(e["Access"], json!(["read", "write"]));
        assert_eq!(e["AlsoMatched"], json!(["Policy.Statement[2]"]));
        assert_eq!(e["BlockPublicAccess"], json!({"Bucket": null, "Account": null}));
    }

    #[test]
    fn recorded_bucket_policies() {
        // GetBucketPolicy returns the document as a string; the collector
        // parses it, but a string must work too.
        let mut failing = Vec::new();
        for file in recorded_files("s3.GetBucketPolicy") {
            let text = recorded("s3.GetBucketPolicy", &file)["Policy"].clone();
            let parsed: Value = serde_json::from_str(text.as_str().unwrap()).unwrap();
            for policy in [text, parsed] {
                let r = bucket("b", json!({"Policy": policy}));
                match verdict(&POLICY, &r, Some(Value::Null)) {
                    Verdict::Pass => {}
                    Verdict::Fail(_) => failing.push(file.clone()),
                    other => panic!("{file}: {other:?}"),
                }
            }
        }
        // None grants public read: the access-point policies are limited by
        // s3:DataAccessPointAccount, the Deny-only ones grant nothing, and the
        // public PutObject statement is write.
        assert!(failing.is_empty(), "{failing:?}");
    }
}
