//! `s3-bucket-lifecycle-missing`: the bucket has no enabled lifecycle rule.

use qrie_model::{
    ComplianceRef, EvalContext, MissingData, PolicyDef, Remediation, Resource, Service, Severity, Verdict,
};
use serde_json::json;

pub static POLICY: PolicyDef = PolicyDef {
    id: "s3-bucket-lifecycle-missing",
    title: "S3 bucket has no lifecycle configuration",
    description: "The bucket has no lifecycle configuration, or none of its rules is enabled, so objects (and, \
        with versioning, every noncurrent version and incomplete multipart upload) are kept forever: data outlives \
        its retention period, and storage costs only grow.",
    service: Service::S3,
    resource_type: "AWS::S3::Bucket",
    category: "data-retention",
    severity: Severity::of(15),
    remediation: Remediation {
        steps: &[
            "Decide the bucket's retention period from its data classification.",
            "Add lifecycle rules that expire objects (and noncurrent versions) after that period, transition \
             colder data to cheaper storage classes, and abort incomplete multipart uploads.",
        ],
        cli: "aws s3api put-bucket-lifecycle-configuration --bucket BUCKET --lifecycle-configuration \
              '{\"Rules\":[{\"ID\":\"retention\",\"Status\":\"Enabled\",\"Filter\":{},\
              \"NoncurrentVersionExpiration\":{\"NoncurrentDays\":90},\
              \"AbortIncompleteMultipartUpload\":{\"DaysAfterInitiation\":7}}]}'",
        console: "Amazon S3 > Buckets > BUCKET > Management > Lifecycle rules > Create lifecycle rule",
        iac: r#"resource "aws_s3_bucket_lifecycle_configuration" "this" {
  bucket = aws_s3_bucket.this.id
  rule {
    id     = "retention"
    status = "Enabled"
    filter {}
    noncurrent_version_expiration {
      noncurrent_days = 90
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }
}"#,
    },
    compliance: &[ComplianceRef { framework: "nist-800-53-r5", controls: &["SI-12"] }],
    params: &[],
    related: None,
    evaluate,
};

fn evaluate(r: &Resource, _: &EvalContext) -> Result<Verdict, MissingData> {
    let lifecycle = r.field("Lifecycle")?;
    let rules = lifecycle["Rules"].as_array().map(Vec::as_slice).unwrap_or_default();
    if rules.iter().any(|rule| rule["Status"] == "Enabled") {
        return Ok(Verdict::Pass);
    }
    if lifecycle.is_null() || rules.is_empty() {
        return Ok(Verdict::Fail(json!({"Path": "Lifecycle", "Value": lifecycle})));
    }
    Ok(Verdict::Fail(json!({"Path": "Lifecycle.Rules", "Value": rules, "Reason": "no rule is enabled"})))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;
    use serde_json::Value;

    #[test]
    fn golden_cases() {
        let rule = |status: &str| json!({"ID": "r", "Status": status, "Filter": {}, "Expiration": {"Days": 365}});
        let cases = [
            ("an enabled rule", json!({"Rules": [rule("Disabled"), rule("Enabled")]}), "pass"),
            ("not configured", Value::Null, "fail"),
            ("only disabled rules", json!({"Rules": [rule("Disabled")]}), "fail"),
            ("no rules", json!({"Rules": []}), "fail"),
        ];
        for (name, lifecycle, expected) in cases {
            assert_eq!(run(&POLICY, &bucket("b", json!({"Lifecycle": lifecycle}))).name(), expected, "{name}");
        }
        let e = evidence(run(&POLICY, &bucket("b", json!({"Lifecycle": {"Rules": [rule("Disabled")]}}))));
        assert_eq!(e["Path"], "Lifecycle.Rules");
        assert!(error_reason(run(&POLICY, &unreadable(bucket("b", json!({})), "Lifecycle"))).contains("AccessDenied"));
    }
}
