//! `s3-bucket-insecure-transport-allowed`: the bucket policy does not deny
//! requests made over plain HTTP.

use qrie_model::{
    ComplianceRef, EvalContext, MissingData, PolicyDef, Remediation, Resource, Service, Severity, Verdict,
};
use serde_json::{json, Value};

use super::exposure;
use crate::document::{Effect, Statement};

pub static POLICY: PolicyDef = PolicyDef {
    id: "s3-bucket-insecure-transport-allowed",
    title: "S3 bucket policy does not deny plain-HTTP requests",
    description: "The bucket policy has no Deny statement for every principal, conditioned only on \
        aws:SecureTransport being false, that covers s3:* (or at least reading, writing and deleting objects) on \
        the bucket's objects. Without it, requests over unencrypted HTTP are accepted and data and credentials-\
        signed requests can be read or altered in transit. A Deny limited to s3:GetObject, or one conditioned on \
        aws:SecureTransport true, does not count.",
    service: Service::S3,
    resource_type: "AWS::S3::Bucket",
    category: "encryption",
    severity: Severity::of(50),
    remediation: Remediation {
        steps: &[
            "Add a statement to the bucket policy that denies s3:* to Principal \"*\" on the bucket and its \
             objects when aws:SecureTransport is false.",
            "Optionally also deny requests with s3:TlsVersion below 1.2.",
        ],
        cli: "aws s3api put-bucket-policy --bucket BUCKET --policy '{\"Version\":\"2012-10-17\",\"Statement\":[{\
              \"Sid\":\"DenyInsecureTransport\",\"Effect\":\"Deny\",\"Principal\":\"*\",\"Action\":\"s3:*\",\
              \"Resource\":[\"arn:aws:s3:::BUCKET\",\"arn:aws:s3:::BUCKET/*\"],\
              \"Condition\":{\"Bool\":{\"aws:SecureTransport\":\"false\"}}}]}'\n\
              # merge the statement into the existing policy if the bucket already has one",
        console: "Amazon S3 > Buckets > BUCKET > Permissions > Bucket policy > Edit: add a Deny statement for \
                  s3:* with the condition Bool aws:SecureTransport false > Save changes",
        iac: r#"data "aws_iam_policy_document" "bucket" {
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.this.arn, "${aws_s3_bucket.this.arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "this" {
  bucket = aws_s3_bucket.this.id
  policy = data.aws_iam_policy_document.bucket.json
}"#,
    },
    compliance: &[
        ComplianceRef { framework: "cis-aws-3.0", controls: &["2.1.1"] },
        ComplianceRef { framework: "nist-800-53-r5", controls: &["SC-8", "SC-8(1)"] },
        ComplianceRef { framework: "pci-dss-4.0", controls: &["4.2.1"] },
        ComplianceRef { framework: "hipaa", controls: &["164.312(e)(1)", "164.312(e)(2)(ii)"] },
        ComplianceRef { framework: "cmmc-2.0", controls: &["SC.L2-3.13.8"] },
    ],
    params: &[],
    related: None,
    evaluate,
};

/// The object actions a Deny must cover when it does not cover `s3:*`.
const OBJECT_ACTIONS: [&str; 3] = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"];

/// Why a statement is not a deny of insecure transport (`None`: it is one).
fn shortfall(s: &Statement, objects: &str) -> Option<&'static str> {
    if s.effect != Effect::Deny {
        return Some("not a Deny");
    }
    let everyone = s.applies_to_anyone() && !s.not_principal;
    if !everyone {
        return Some("does not apply to every principal");
    }
    let [c] = s.conditions.as_slice() else {
        return Some("has conditions besides aws:SecureTransport");
    };
    let insecure = c.is_key("aws:SecureTransport")
        && c.qualifier.is_none()
        && c.base_operator.eq_ignore_ascii_case("Bool")
        && c.values.iter().map(|v| v.to_ascii_lowercase()).eq(["false".to_string()]);
    if !insecure {
        return Some("is not conditioned on aws:SecureTransport false");
    }
    if !(s.actions.covers("s3:*") || OBJECT_ACTIONS.iter().all(|a| s.actions.covers(a))) {
        return Some("does not cover s3:* or every object read, write and delete");
    }
    if !s.resources.contains(objects) {
        return Some("does not cover the bucket's objects");
    }
    None
}

fn evaluate(r: &Resource, _: &EvalContext) -> Result<Verdict, MissingData> {
    let Some(doc) = exposure::bucket_policy(r)? else {
        return Ok(Verdict::Fail(json!({"Path": "Policy", "Value": null, "Reason": "the bucket has no policy"})));
    };
    // Any object key: a Deny on `arn:aws:s3:::b/*` covers it, one on a prefix does not.
    let objects = format!("arn:aws:s3:::{}/qrie-any-object-key", r.name);
    let mut near_misses: Vec<Value> = Vec::new();
    for s in &doc.statements {
        match shortfall(s, &objects) {
            None => return Ok(Verdict::Pass),
            Some(why) if s.conditions_on("aws:SecureTransport").next().is_some() => {
                near_misses
                    .push(json!({"Path": s.path, "Statement": s.raw, "Reason": format!("this statement {why}")}));
            }
            Some(_) => {}
        }
    }
    let mut e = json!({"Path": "Policy.Statement", "Reason": "no statement denies requests where aws:SecureTransport is false"});
    if !near_misses.is_empty() {
        e["NearMisses"] = Value::from(near_misses);
    }
    Ok(Verdict::Fail(e))
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;
    use crate::testing::*;

    fn deny(principal: Value, action: Value, resource: Value, condition: Value) -> Value {
        json!({"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": principal, "Action": action,
               "Resource": resource, "Condition": condition})
    }

    fn insecure() -> Value {
        json!({"Bool": {"aws:SecureTransport": "false"}})
    }

    fn both() -> Value {
        json!(["arn:aws:s3:::b", "arn:aws:s3:::b/*"])
    }

    #[test]
    fn golden_cases() {
        let with = |statements: Value| bucket_with_policy(statements, Value::Null);
        check(
            &POLICY,
            vec![
                (
                    "the standard statement",
                    with(json!([deny(json!("*"), json!("s3:*"), both(), insecure())])),
                    None,
                    "pass",
                ),
                (
                    "AWS *, boolean false",
                    with(json!([deny(
                        json!({"AWS": "*"}),
                        json!("s3:*"),
                        both(),
                        json!({"Bool": {"aws:SecureTransport": false}})
                    )])),
                    None,
                    "pass",
                ),
                (
                    "object actions",
                    with(json!([deny(
                        json!("*"),
                        json!(["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]),
                        json!("arn:aws:s3:::b/*"),
                        insecure()
                    )])),
                    None,
                    "pass",
                ),
                ("Action *", with(json!([deny(json!("*"), json!("*"), json!("*"), insecure())])), None, "pass"),
                ("no policy", bucket("b", json!({})), None, "fail"),
                (
                    "GetObject only",
                    with(json!([deny(json!("*"), json!("s3:GetObject"), both(), insecure())])),
                    None,
                    "fail",
                ),
                (
                    "SecureTransport true",
                    with(json!([deny(
                        json!("*"),
                        json!("s3:*"),
                        both(),
                        json!({"Bool": {"aws:SecureTransport": "true"}})
                    )])),
                    None,
                    "fail",
                ),
                (
                    "NotPrincipal exempts some callers",
                    with(json!([{"Effect": "Deny", "NotPrincipal": {"AWS": OTHER_ACCOUNT}, "Action": "s3:*",
                                 "Resource": both(), "Condition": insecure()}])),
                    None,
                    "fail",
                ),
                (
                    "one account only",
                    with(json!([deny(json!({"AWS": OTHER_ACCOUNT}), json!("s3:*"), both(), insecure())])),
                    None,
                    "fail",
                ),
                (
                    "an Allow",
                    with(
                        json!([{"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": both(), "Condition": insecure()}]),
                    ),
                    None,
                    "fail",
                ),
                (
                    "a prefix only",
                    with(json!([deny(json!("*"), json!("s3:*"), json!("arn:aws:s3:::b/logs/*"), insecure())])),
                    None,
                    "fail",
                ),
                (
                    "an extra condition narrows the Deny",
                    with(json!([deny(
                        json!("*"),
                        json!("s3:*"),
                        both(),
                        json!({"Bool": {"aws:SecureTransport": "false"}, "StringEquals": {"aws:SourceVpce": "vpce-1"}})
                    )])),
                    None,
                    "fail",
                ),
                ("policy unreadable", unreadable(bucket("b", json!({})), "Policy"), None, "error"),
            ],
        );
    }

    #[test]
    fn evidence_explains_near_misses() {
        let r = bucket_with_policy(
            json!([
                allow(json!("*"), json!("s3:GetObject")),
                deny(json!("*"), json!("s3:GetObject"), both(), insecure())
            ]),
            Value::Null,
        );
        let e = evidence(run(&POLICY, &r));
        assert_eq!(e["NearMisses"][0]["Path"], "Policy.Statement[1]");
        assert_eq!(
            e["NearMisses"][0]["Reason"],
            "this statement does not cover s3:* or every object read, write and delete"
        );
        let e = evidence(run(&POLICY, &bucket("b", json!({}))));
        assert_eq!(e, json!({"Path": "Policy", "Value": null, "Reason": "the bucket has no policy"}));
    }

    #[test]
    fn recorded_bucket_policies() {
        // Two recordings condition a Deny on aws:SecureTransport, neither right:
        // one denies only s3:GetObject, the other denies when transport IS secure.
        let mut near = Vec::new();
        for file in recorded_files("s3.GetBucketPolicy") {
            let r = bucket("custodian-policy-test", json!({"Policy": recorded("s3.GetBucketPolicy", &file)["Policy"]}));
            let e = evidence(run(&POLICY, &r));
            if let Some(n) = e.get("NearMisses") {
                near.push((file, n[0]["Reason"].as_str().unwrap().to_string()));
            }
        }
        assert_eq!(
            near,
            [
                (
                    "test_s3_policy_statements__s3.GetBucketPolicy_1.json".to_string(),
                    "this statement is not conditioned on aws:SecureTransport false".to_string()
                ),
                (
                    "test_s3_set_statements_add_remove__s3.GetBucketPolicy_2.json".to_string(),
                    "this statement does not cover s3:* or every object read, write and delete".to_string()
                ),
            ]
        );
    }
}
