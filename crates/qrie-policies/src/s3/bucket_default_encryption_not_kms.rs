//! `s3-bucket-default-encryption-not-kms`: the bucket's default encryption is
//! not SSE-KMS (optionally: not with a customer-managed key).

use qrie_model::{
    ComplianceRef, EvalContext, MissingData, ParamDef, ParamRule, ParamValue, PolicyDef, Remediation, Resource,
    Service, Severity, Verdict,
};
use serde_json::{json, Value};

use super::bucket_default_encryption_missing::default_rules;

pub static POLICY: PolicyDef = PolicyDef {
    id: "s3-bucket-default-encryption-not-kms",
    title: "S3 bucket default encryption is not SSE-KMS",
    description: "The bucket's default encryption is SSE-S3 (AES256), which AWS applies to every bucket, or none \
        at all. SSE-S3 protects against lost disks but not against anyone allowed to read the object: with SSE-KMS \
        reading also needs kms:Decrypt on the key, whose policy is a second, audited gate. With \
        require_customer_managed_key, the AWS-managed key aws/s3 (or no key id, which means it) fails too.",
    service: Service::S3,
    resource_type: "AWS::S3::Bucket",
    category: "encryption",
    severity: Severity::of(25),
    remediation: Remediation {
        steps: &[
            "Create (or choose) a customer-managed KMS key whose key policy grants decrypt only to the principals \
             that read this bucket.",
            "Set the bucket's default encryption to SSE-KMS with that key and enable S3 Bucket Keys.",
            "Re-encrypt existing objects with S3 Batch Operations if they must be protected too.",
        ],
        cli: "aws s3api put-bucket-encryption --bucket BUCKET --server-side-encryption-configuration \
              '{\"Rules\":[{\"ApplyServerSideEncryptionByDefault\":{\"SSEAlgorithm\":\"aws:kms\",\
              \"KMSMasterKeyID\":\"KEY_ARN\"},\"BucketKeyEnabled\":true}]}'",
        console: "Amazon S3 > Buckets > BUCKET > Properties > Default encryption > Edit > Server-side encryption \
                  with AWS Key Management Service keys (SSE-KMS) > Choose from your AWS KMS keys > Save changes",
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
        ComplianceRef { framework: "nist-800-53-r5", controls: &["SC-12", "SC-28(1)"] },
        ComplianceRef { framework: "pci-dss-4.0", controls: &["3.5.1", "3.6.1"] },
        ComplianceRef { framework: "hipaa", controls: &["164.312(a)(2)(iv)"] },
        ComplianceRef { framework: "cmmc-2.0", controls: &["SC.L2-3.13.16"] },
    ],
    params: &[ParamDef {
        name: "require_customer_managed_key",
        description: "Also fail SSE-KMS with the AWS-managed key aws/s3 (or with no key id, which means aws/s3).",
        default: ParamValue::Bool(false),
        rule: ParamRule::Any,
    }],
    related: None,
    evaluate,
};

const KMS_ALGORITHMS: [&str; 2] = ["aws:kms", "aws:kms:dsse"];

fn aws_managed(key: &Value) -> bool {
    match key.as_str() {
        None => true,
        Some(k) => k == "alias/aws/s3" || k.ends_with(":alias/aws/s3"),
    }
}

fn evaluate(r: &Resource, ctx: &EvalContext) -> Result<Verdict, MissingData> {
    let encryption = r.field("Encryption")?;
    let rules = default_rules(encryption);
    let Some((path, algorithm, key)) = rules.first() else {
        return Ok(Verdict::Fail(json!({"Path": "Encryption", "Value": encryption,
                                       "Reason": "no default encryption at all"})));
    };
    if !KMS_ALGORITHMS.contains(&algorithm.as_str().unwrap_or("")) {
        return Ok(Verdict::Fail(json!({"Path": format!("{path}.SSEAlgorithm"), "Value": algorithm})));
    }
    if ctx.params.bool("require_customer_managed_key")? && aws_managed(key) {
        return Ok(Verdict::Fail(json!({"Path": format!("{path}.KMSMasterKeyID"), "Value": key,
                                       "Reason": "the AWS-managed key aws/s3, not a customer-managed key"})));
    }
    Ok(Verdict::Pass)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;

    fn rule(algorithm: &str, key: Option<&str>) -> Value {
        let mut d = json!({"SSEAlgorithm": algorithm});
        if let Some(k) = key {
            d["KMSMasterKeyID"] = json!(k);
        }
        json!({"ServerSideEncryptionConfiguration": {"Rules": [{"ApplyServerSideEncryptionByDefault": d, "BucketKeyEnabled": true}]}})
    }

    #[test]
    fn golden_cases() {
        let cmk = "arn:aws:kms:us-east-1:123456789012:key/2192ecc0-3991-4dac-b479-cc08bda8a4de";
        let cases = [
            ("SSE-KMS with a customer key", rule("aws:kms", Some(cmk)), "pass", "pass"),
            ("DSSE-KMS", rule("aws:kms:dsse", Some(cmk)), "pass", "pass"),
            ("SSE-KMS with aws/s3", rule("aws:kms", Some("alias/aws/s3")), "pass", "fail"),
            ("SSE-KMS without a key id", rule("aws:kms", None), "pass", "fail"),
            ("SSE-S3", rule("AES256", None), "fail", "fail"),
            ("none", Value::Null, "fail", "fail"),
        ];
        for (name, encryption, default, strict) in cases {
            let r = bucket("b", json!({"Encryption": encryption}));
            assert_eq!(run(&POLICY, &r).name(), default, "{name}");
            let v = run_with(&POLICY, &r, &[], json!({"require_customer_managed_key": true}), now());
            assert_eq!(v.name(), strict, "{name}, customer-managed key required");
        }
        let e = evidence(run(&POLICY, &bucket("b", json!({"Encryption": rule("AES256", None)}))));
        assert_eq!(
            e["Path"],
            "Encryption.ServerSideEncryptionConfiguration.Rules[0].ApplyServerSideEncryptionByDefault.SSEAlgorithm"
        );
        assert_eq!(e["Value"], "AES256");
        assert!(error_reason(run(&POLICY, &unreadable(bucket("b", json!({})), "Encryption"))).contains("AccessDenied"));
    }

    #[test]
    fn recorded_responses() {
        let op = "s3.GetBucketEncryption";
        let verdicts = |overrides: Value| -> usize {
            recorded_files(op)
                .iter()
                .filter(|f| {
                    let r = bucket("b", json!({"Encryption": recorded(op, f)}));
                    run_with(&POLICY, &r, &[], overrides.clone(), now()) == Verdict::Pass
                })
                .count()
        };
        // 8 of 15 recordings use SSE-KMS; 5 of them name a customer-managed key
        // (the others: alias/aws/s3, its ARN, and no key id).
        assert_eq!(verdicts(json!({})), 8);
        assert_eq!(verdicts(json!({"require_customer_managed_key": true})), 5);
    }
}
