//! `s3-bucket-default-encryption-missing`: the bucket has no default
//! server-side encryption.

use qrie_model::{
    ComplianceRef, EvalContext, MissingData, PolicyDef, Remediation, Resource, Service, Severity, Verdict,
};
use serde_json::{json, Value};

pub static POLICY: PolicyDef = PolicyDef {
    id: "s3-bucket-default-encryption-missing",
    title: "S3 bucket has no default encryption",
    description: "GetBucketEncryption reports no default server-side encryption rule (or a rule without \
        ApplyServerSideEncryptionByDefault), so objects uploaded without encryption headers may be stored \
        unencrypted. Since January 2023 AWS applies SSE-S3 to every bucket and reports it, so on current data this \
        finds buckets whose configuration was read from an older snapshot, another partition or an S3-compatible \
        service; the stronger requirement is s3-bucket-default-encryption-not-kms.",
    service: Service::S3,
    resource_type: "AWS::S3::Bucket",
    category: "encryption",
    severity: Severity::of(50),
    remediation: Remediation {
        steps: &[
            "Set a default encryption rule on the bucket: SSE-KMS with a customer-managed key for sensitive data, \
             SSE-S3 at least.",
            "Enable S3 Bucket Keys with SSE-KMS to reduce KMS request costs.",
            "Re-encrypt existing objects if they may have been stored unencrypted (S3 Batch Operations copy).",
        ],
        cli: "aws s3api put-bucket-encryption --bucket BUCKET --server-side-encryption-configuration \
              '{\"Rules\":[{\"ApplyServerSideEncryptionByDefault\":{\"SSEAlgorithm\":\"aws:kms\",\
              \"KMSMasterKeyID\":\"KEY_ARN\"},\"BucketKeyEnabled\":true}]}'",
        console: "Amazon S3 > Buckets > BUCKET > Properties > Default encryption > Edit > Server-side encryption \
                  with AWS Key Management Service keys (SSE-KMS) > Save changes",
        iac: r#"resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  bucket = aws_s3_bucket.this.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.s3.arn
    }
    bucket_key_enabled = true
  }
}"#,
    },
    compliance: &[
        ComplianceRef { framework: "nist-800-53-r5", controls: &["SC-28", "SC-28(1)"] },
        ComplianceRef { framework: "pci-dss-4.0", controls: &["3.5.1"] },
        ComplianceRef { framework: "hipaa", controls: &["164.312(a)(2)(iv)"] },
        ComplianceRef { framework: "cmmc-2.0", controls: &["SC.L2-3.13.16"] },
    ],
    params: &[],
    related: None,
    evaluate,
};

/// The default-encryption rules of a bucket's `Encryption` entry with their
/// paths: `(path, SSEAlgorithm, KMSMasterKeyID)`; empty when there is none.
pub(crate) fn default_rules(encryption: &Value) -> Vec<(String, &Value, &Value)> {
    let base = "Encryption.ServerSideEncryptionConfiguration.Rules";
    encryption["ServerSideEncryptionConfiguration"]["Rules"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
        .filter_map(|(i, rule)| {
            let d = rule.get("ApplyServerSideEncryptionByDefault")?;
            Some((format!("{base}[{i}].ApplyServerSideEncryptionByDefault"), &d["SSEAlgorithm"], &d["KMSMasterKeyID"]))
        })
        .filter(|(_, algorithm, _)| algorithm.is_string())
        .collect()
}

fn evaluate(r: &Resource, _: &EvalContext) -> Result<Verdict, MissingData> {
    let encryption = r.field("Encryption")?;
    if !default_rules(encryption).is_empty() {
        return Ok(Verdict::Pass);
    }
    Ok(Verdict::Fail(json!({"Path": "Encryption", "Value": encryption,
                            "Reason": "no rule applies server-side encryption by default"})))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;

    #[test]
    fn golden_cases() {
        let rule = |algorithm: &str| json!({"ServerSideEncryptionConfiguration": {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": algorithm}}]}});
        let cases = [
            ("SSE-S3", rule("AES256"), "pass"),
            ("SSE-KMS", rule("aws:kms"), "pass"),
            ("not configured", Value::Null, "fail"),
            (
                "a rule without a default",
                json!({"ServerSideEncryptionConfiguration": {"Rules": [{"BucketKeyEnabled": true}]}}),
                "fail",
            ),
            ("no rules", json!({"ServerSideEncryptionConfiguration": {"Rules": []}}), "fail"),
        ];
        for (name, encryption, expected) in cases {
            assert_eq!(run(&POLICY, &bucket("b", json!({"Encryption": encryption}))).name(), expected, "{name}");
        }
        assert!(error_reason(run(&POLICY, &unreadable(bucket("b", json!({})), "Encryption"))).contains("AccessDenied"));
    }

    #[test]
    fn recorded_responses() {
        let op = "s3.GetBucketEncryption";
        let files = recorded_files(op);
        assert_eq!(files.len(), 15);
        // One recording has a rule with BucketKeyEnabled and no default encryption.
        let failing: Vec<&String> = files
            .iter()
            .filter(|f| run(&POLICY, &bucket("b", json!({"Encryption": recorded(op, f)}))) != Verdict::Pass)
            .collect();
        assert_eq!(
            failing,
            ["test_s3_filter_bucket_encryption_disabled_malformed_statement__s3.GetBucketEncryption_1.json"]
        );
    }
}
