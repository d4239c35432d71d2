//! `s3-bucket-versioning-disabled`: overwritten or deleted objects cannot be
//! recovered.

use qrie_model::{
    ComplianceRef, EvalContext, MissingData, PolicyDef, Remediation, Resource, Service, Severity, Verdict,
};
use serde_json::{json, Value};

pub static POLICY: PolicyDef = PolicyDef {
    id: "s3-bucket-versioning-disabled",
    title: "S3 bucket versioning is not enabled",
    description: "Versioning is off (never enabled, or suspended), so an object that is overwritten or deleted, \
        by mistake, by a faulty job or by ransomware, is gone. Versioning keeps every version of every object and \
        is also a prerequisite for replication, MFA delete and Object Lock.",
    service: Service::S3,
    resource_type: "AWS::S3::Bucket",
    category: "resilience",
    severity: Severity::of(40),
    remediation: Remediation {
        steps: &[
            "Enable versioning on the bucket.",
            "Add a lifecycle rule that expires noncurrent versions after a retention period, so that storage costs \
             stay bounded.",
            "For critical data, consider MFA delete or S3 Object Lock on top of versioning.",
        ],
        cli: "aws s3api put-bucket-versioning --bucket BUCKET --versioning-configuration Status=Enabled",
        console: "Amazon S3 > Buckets > BUCKET > Properties > Bucket Versioning > Edit > Enable > Save changes",
        iac: r#"resource "aws_s3_bucket_versioning" "this" {
  bucket = aws_s3_bucket.this.id
  versioning_configuration {
    status = "Enabled"
  }
}"#,
    },
    compliance: &[ComplianceRef { framework: "nist-800-53-r5", controls: &["CP-9", "CP-10", "SI-12"] }],
    params: &[],
    related: None,
    evaluate,
};

fn evaluate(r: &Resource, _: &EvalContext) -> Result<Verdict, MissingData> {
    // GetBucketVersioning returns no Status at all for a bucket that never had
    // versioning, and "Suspended" once it was turned off: both fail.
    let status = r.field("Versioning")?.get("Status").unwrap_or(&Value::Null);
    if status == "Enabled" {
        return Ok(Verdict::Pass);
    }
    Ok(Verdict::Fail(json!({"Path": "Versioning.Status", "Value": status})))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;

    #[test]
    fn golden_cases() {
        let cases = [
            ("enabled", json!({"Status": "Enabled", "MFADelete": "Disabled"}), Some(Verdict::Pass)),
            ("never enabled", json!({}), Some(Verdict::Fail(json!({"Path": "Versioning.Status", "Value": null})))),
            (
                "suspended",
                json!({"Status": "Suspended", "MFADelete": "Disabled"}),
                Some(Verdict::Fail(json!({"Path": "Versioning.Status", "Value": "Suspended"}))),
            ),
        ];
        for (name, versioning, expected) in cases {
            let v = run(&POLICY, &bucket("b", json!({"Versioning": versioning})));
            assert_eq!(Some(v), expected, "{name}");
        }
        let v = run(&POLICY, &unreadable(bucket("b", json!({})), "Versioning"));
        assert!(error_reason(v).contains("Versioning could not be read"));
    }

    #[test]
    fn recorded_responses() {
        let op = "s3.GetBucketVersioning";
        let verdict = |file: &str| run(&POLICY, &bucket("b", json!({"Versioning": recorded(op, file)})));
        assert_eq!(verdict("test_s3_normalize__s3.GetBucketVersioning_1.json"), Verdict::Pass);
        assert_eq!(
            evidence(verdict("test_s3_enable_versioning__s3.GetBucketVersioning_14.json"))["Value"],
            "Suspended"
        );
        assert_eq!(evidence(verdict("test_s3_enable_versioning__s3.GetBucketVersioning_1.json"))["Value"], Value::Null);
        // Across all 33 recordings: 11 have versioning enabled, 21 never had it, 1 is suspended.
        let files = recorded_files(op);
        assert_eq!(files.len(), 33);
        let passes = files.iter().filter(|f| verdict(f) == Verdict::Pass).count();
        assert_eq!(passes, 11);
    }
}
