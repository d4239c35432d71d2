//! `s3-bucket-mfa-delete-disabled`: deleting object versions or suspending
//! versioning does not require MFA.

use qrie_model::{
    ComplianceRef, EvalContext, MissingData, PolicyDef, Remediation, Resource, Service, Severity, Verdict,
};
use serde_json::{json, Value};

pub static POLICY: PolicyDef = PolicyDef {
    id: "s3-bucket-mfa-delete-disabled",
    title: "S3 bucket MFA delete is not enabled",
    description: "MFA delete is off (or versioning itself is off), so whoever holds credentials with \
        s3:DeleteObjectVersion or s3:PutBucketVersioning can permanently delete object versions or suspend \
        versioning without a second factor. MFA delete can only be enabled by the root user with its MFA device.",
    service: Service::S3,
    resource_type: "AWS::S3::Bucket",
    category: "resilience",
    severity: Severity::of(30),
    remediation: Remediation {
        steps: &[
            "Sign in with the root user's credentials and its MFA device (MFA delete cannot be set otherwise).",
            "Enable versioning with MFA delete through the AWS CLI; the console cannot set it.",
            "Where root use is not practical, protect versions with S3 Object Lock instead.",
        ],
        cli: "aws s3api put-bucket-versioning --bucket BUCKET \
              --versioning-configuration Status=Enabled,MFADelete=Enabled \
              --mfa 'arn:aws:iam::ACCOUNT_ID:mfa/root-account-mfa-device 123456'",
        console: "Amazon S3 > Buckets > BUCKET > Properties > Bucket Versioning shows Multi-factor authentication \
                  (MFA) delete; it can only be enabled with the AWS CLI or API as the root user",
        iac: r#"resource "aws_s3_bucket_versioning" "this" {
  bucket = aws_s3_bucket.this.id
  mfa    = "arn:aws:iam::123456789012:mfa/root-account-mfa-device 123456"
  versioning_configuration {
    status     = "Enabled"
    mfa_delete = "Enabled"
  }
}"#,
    },
    compliance: &[
        ComplianceRef { framework: "cis-aws-3.0", controls: &["2.1.2"] },
        ComplianceRef { framework: "nist-800-53-r5", controls: &["CP-9", "AC-3"] },
        ComplianceRef { framework: "hipaa", controls: &["164.312(c)(1)"] },
    ],
    params: &[],
    related: None,
    evaluate,
};

fn evaluate(r: &Resource, _: &EvalContext) -> Result<Verdict, MissingData> {
    let versioning = r.field("Versioning")?;
    // Absent until MFA delete was ever configured.
    let mfa = versioning.get("MFADelete").unwrap_or(&Value::Null);
    if mfa == "Enabled" {
        return Ok(Verdict::Pass);
    }
    Ok(Verdict::Fail(json!({"Path": "Versioning.MFADelete", "Value": mfa, "Versioning": versioning})))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;

    #[test]
    fn golden_cases() {
        let cases = [
            ("enabled", json!({"Status": "Enabled", "MFADelete": "Enabled"}), "pass"),
            ("disabled", json!({"Status": "Enabled", "MFADelete": "Disabled"}), "fail"),
            ("never configured", json!({}), "fail"),
            ("versioning suspended", json!({"Status": "Suspended", "MFADelete": "Disabled"}), "fail"),
        ];
        for (name, versioning, expected) in cases {
            assert_eq!(run(&POLICY, &bucket("b", json!({"Versioning": versioning}))).name(), expected, "{name}");
        }
        let e =
            evidence(run(&POLICY, &bucket("b", json!({"Versioning": {"Status": "Enabled", "MFADelete": "Disabled"}}))));
        assert_eq!((e["Path"].as_str(), &e["Value"]), (Some("Versioning.MFADelete"), &json!("Disabled")));
        assert!(error_reason(run(&POLICY, &unreadable(bucket("b", json!({})), "Versioning"))).contains("AccessDenied"));
    }

    #[test]
    fn recorded_responses() {
        // None of the 33 recordings has MFA delete on.
        let op = "s3.GetBucketVersioning";
        for file in recorded_files(op) {
            let v = run(&POLICY, &bucket("b", json!({"Versioning": recorded(op, &file)})));
            assert_eq!(v.name(), "fail", "{file}");
        }
    }
}
