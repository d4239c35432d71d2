//! `s3-bucket-object-lock-disabled`: objects can be deleted or overwritten
//! before any retention period (Object Lock is off).

use qrie_model::{
    ComplianceRef, EvalContext, MissingData, PolicyDef, Remediation, Resource, Service, Severity, Verdict,
};
use serde_json::json;

pub static POLICY: PolicyDef = PolicyDef {
    id: "s3-bucket-object-lock-disabled",
    title: "S3 bucket Object Lock is not enabled",
    description: "S3 Object Lock is not enabled, so nothing stops a principal with delete permissions (or \
        ransomware using its credentials) from destroying object versions before their retention period. Object \
        Lock (write-once-read-many) matters for backups, audit logs and records under retention rules; for other \
        buckets this is a low-severity hardening finding.",
    service: Service::S3,
    resource_type: "AWS::S3::Bucket",
    category: "resilience",
    severity: Severity::of(15),
    remediation: Remediation {
        steps: &[
            "Decide whether the bucket holds data that must be immutable for a period (backups, logs, records).",
            "Enable Object Lock on the bucket (versioning must be on) and set a default retention in governance or \
             compliance mode.",
        ],
        cli: "aws s3api put-object-lock-configuration --bucket BUCKET --object-lock-configuration \
              '{\"ObjectLockEnabled\":\"Enabled\",\"Rule\":{\"DefaultRetention\":{\"Mode\":\"GOVERNANCE\",\"Days\":30}}}'",
        console: "Amazon S3 > Buckets > BUCKET > Properties > Object Lock > Edit > Enable > set the default \
                  retention > Save changes",
        iac: r#"resource "aws_s3_bucket_object_lock_configuration" "this" {
  bucket = aws_s3_bucket.this.id
  rule {
    default_retention {
      mode = "GOVERNANCE"
      days = 30
    }
  }
}"#,
    },
    compliance: &[
        ComplianceRef { framework: "nist-800-53-r5", controls: &["CP-9", "SI-12"] },
        ComplianceRef { framework: "hipaa", controls: &["164.312(c)(1)"] },
    ],
    params: &[],
    related: None,
    evaluate,
};

fn evaluate(r: &Resource, _: &EvalContext) -> Result<Verdict, MissingData> {
    let lock = r.field("ObjectLock")?;
    let enabled = &lock["ObjectLockConfiguration"]["ObjectLockEnabled"];
    if enabled == "Enabled" {
        return Ok(Verdict::Pass);
    }
    if lock.is_null() {
        return Ok(Verdict::Fail(json!({"Path": "ObjectLock", "Value": null})));
    }
    Ok(Verdict::Fail(json!({"Path": "ObjectLock.ObjectLockConfiguration.ObjectLockEnabled", "Value": enabled})))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;
    use serde_json::Value;

    #[test]
    fn golden_cases() {
        let cases = [
            (
                "enabled with retention",
                json!({"ObjectLockConfiguration": {"ObjectLockEnabled": "Enabled",
                       "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 365}}}}),
                "pass",
            ),
            (
                "enabled without default retention",
                json!({"ObjectLockConfiguration": {"ObjectLockEnabled": "Enabled"}}),
                "pass",
            ),
            ("not configured", Value::Null, "fail"),
            ("configuration without the flag", json!({"ObjectLockConfiguration": {}}), "fail"),
        ];
        for (name, lock, expected) in cases {
            assert_eq!(run(&POLICY, &bucket("b", json!({"ObjectLock": lock}))).name(), expected, "{name}");
        }
        assert_eq!(evidence(run(&POLICY, &bucket("b", json!({})))), json!({"Path": "ObjectLock", "Value": null}));
        assert!(error_reason(run(&POLICY, &unreadable(bucket("b", json!({})), "ObjectLock"))).contains("AccessDenied"));
    }
}
