//! `s3-bucket-access-logging-disabled`: requests to the bucket are not logged.

use qrie_model::{
    ComplianceRef, EvalContext, MissingData, PolicyDef, Remediation, Resource, Service, Severity, Verdict,
};
use serde_json::json;

pub static POLICY: PolicyDef = PolicyDef {
    id: "s3-bucket-access-logging-disabled",
    title: "S3 bucket server access logging is not enabled",
    description: "Server access logging is off, so there is no record of the requests made to the bucket (who \
        read, wrote or deleted which object, from where) beyond what CloudTrail data events capture, if they are \
        enabled. Investigating an exposure or a deletion then starts without evidence.",
    service: Service::S3,
    resource_type: "AWS::S3::Bucket",
    category: "logging",
    severity: Severity::of(35),
    remediation: Remediation {
        steps: &[
            "Choose (or create) a dedicated log bucket in the same region, with Object Ownership \
             BucketOwnerEnforced and a bucket policy that allows the logging.s3.amazonaws.com service to write.",
            "Enable server access logging on this bucket with that target and a prefix naming the bucket.",
            "Alternatively, or in addition, enable CloudTrail S3 data events for the bucket.",
        ],
        cli: "aws s3api put-bucket-logging --bucket BUCKET --bucket-logging-status \
              '{\"LoggingEnabled\":{\"TargetBucket\":\"LOG_BUCKET\",\"TargetPrefix\":\"BUCKET/\"}}'",
        console: "Amazon S3 > Buckets > BUCKET > Properties > Server access logging > Edit > Enable > choose the \
                  destination bucket > Save changes",
        iac: r#"resource "aws_s3_bucket_logging" "this" {
  bucket        = aws_s3_bucket.this.id
  target_bucket = aws_s3_bucket.logs.id
  target_prefix = "${aws_s3_bucket.this.id}/"
}"#,
    },
    compliance: &[
        ComplianceRef { framework: "nist-800-53-r5", controls: &["AU-2", "AU-3", "AU-12"] },
        ComplianceRef { framework: "pci-dss-4.0", controls: &["10.2.1"] },
        ComplianceRef { framework: "hipaa", controls: &["164.312(b)"] },
        ComplianceRef { framework: "cmmc-2.0", controls: &["AU.L2-3.3.1"] },
    ],
    params: &[],
    related: None,
    evaluate,
};

fn evaluate(r: &Resource, _: &EvalContext) -> Result<Verdict, MissingData> {
    let logging = r.field("Logging")?;
    if logging.get("LoggingEnabled").is_some_and(|l| l["TargetBucket"].is_string()) {
        return Ok(Verdict::Pass);
    }
    Ok(Verdict::Fail(json!({"Path": "Logging.LoggingEnabled", "Value": logging.get("LoggingEnabled")})))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;
    use qrie_model::Verdict;

    #[test]
    fn golden_cases() {
        let cases = [
            ("enabled", json!({"LoggingEnabled": {"TargetBucket": "logs", "TargetPrefix": "b/"}}), "pass"),
            ("off", json!({}), "fail"),
            ("no target", json!({"LoggingEnabled": {}}), "fail"),
        ];
        for (name, logging, expected) in cases {
            assert_eq!(run(&POLICY, &bucket("b", json!({"Logging": logging}))).name(), expected, "{name}");
        }
        assert_eq!(
            evidence(run(&POLICY, &bucket("b", json!({})))),
            json!({"Path": "Logging.LoggingEnabled", "Value": null})
        );
        assert!(error_reason(run(&POLICY, &unreadable(bucket("b", json!({})), "Logging"))).contains("AccessDenied"));
    }

    #[test]
    fn recorded_responses() {
        let op = "s3.GetBucketLogging";
        let files = recorded_files(op);
        let passing = files
            .iter()
            .filter(|f| run(&POLICY, &bucket("b", json!({"Logging": recorded(op, f)}))) == Verdict::Pass)
            .count();
        // 7 of the 12 recordings have logging on.
        assert_eq!((passing, files.len()), (7, 12));
    }
}
