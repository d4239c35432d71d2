//! `ec2-ebs-encryption-by-default-disabled`: a region where new EBS volumes are
//! not encrypted unless their creator asks.

use qrie_model::{
    ComplianceRef, EvalContext, MissingData, PolicyDef, Remediation, Resource, Service, Severity, Verdict,
};
use serde_json::{json, Value};

pub static POLICY: PolicyDef = PolicyDef {
    id: "ec2-ebs-encryption-by-default-disabled",
    title: "EBS encryption by default is off in the region",
    description: "EBS encryption by default is turned off in this region of the account, so every volume and \
        snapshot copy created without an explicit encryption flag (by a console click, an old template, an Auto \
        Scaling group) is stored unencrypted. The setting is per region; turning it on costs nothing and does not \
        affect existing volumes.",
    service: Service::Ec2,
    resource_type: "AWS::EC2::AccountSettings",
    category: "encryption",
    severity: Severity::of(50),
    remediation: Remediation {
        steps: &[
            "Turn on EBS encryption by default in this region (and in every other region in use).",
            "Optionally choose a customer managed KMS key as the default instead of aws/ebs, and make sure the \
             roles and services that launch instances may use it.",
            "Existing unencrypted volumes stay unencrypted: see ec2-ebs-volume-unencrypted.",
        ],
        cli: "aws ec2 enable-ebs-encryption-by-default --region REGION\n\
              aws ec2 modify-ebs-default-kms-key-id --kms-key-id alias/ebs-default --region REGION",
        console: "Amazon EC2 > (region) > EC2 Dashboard > Account attributes > Data protection and security > \
                  Manage > EBS encryption: Enable > Update EBS encryption",
        iac: r#"# Applies to the provider's region; repeat per region.
resource "aws_ebs_encryption_by_default" "this" {
  enabled = true
}"#,
    },
    compliance: &[
        ComplianceRef { framework: "cis-aws-3.0", controls: &["2.2.1"] },
        ComplianceRef { framework: "nist-800-53-r5", controls: &["SC-28", "SC-28(1)"] },
        ComplianceRef { framework: "pci-dss-4.0", controls: &["3.5.1"] },
        ComplianceRef { framework: "hipaa", controls: &["164.312(a)(2)(iv)"] },
        ComplianceRef { framework: "cmmc-2.0", controls: &["SC.L2-3.13.16"] },
    ],
    params: &[],
    related: None,
    evaluate,
};

fn evaluate(r: &Resource, _: &EvalContext) -> Result<Verdict, MissingData> {
    // GetEbsEncryptionByDefault always answers a boolean.
    match r.field("EbsEncryptionByDefault")? {
        Value::Bool(true) => Ok(Verdict::Pass),
        Value::Bool(false) => Ok(Verdict::Fail(json!({"Path": "EbsEncryptionByDefault", "Value": false}))),
        other => Err(MissingData(format!("EbsEncryptionByDefault has an unexpected shape: {other}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;

    #[test]
    fn recorded_settings() {
        let cases = [
            ("test_account_disable_ebs_encrypt__ec2.GetEbsEncryptionByDefault_1.json", "pass"),
            ("test_account_disable_ebs_encrypt__ec2.GetEbsEncryptionByDefault_2.json", "fail"),
            ("test_account_ebs_encrypt__ec2.GetEbsEncryptionByDefault_1.json", "fail"),
            ("test_account_ebs_encrypt__ec2.GetEbsEncryptionByDefault_2.json", "pass"),
        ];
        for (file, expected) in cases {
            let data = recorded("ec2.GetEbsEncryptionByDefault", file);
            let r = ec2_account_settings(json!({"EbsEncryptionByDefault": data["EbsEncryptionByDefault"],
                                                "InstanceMetadataDefaults": null}));
            assert_eq!(run(&POLICY, &r).name(), expected, "{file}");
        }
    }

    #[test]
    fn evidence_and_missing_data() {
        let off = ec2_account_settings(json!({"EbsEncryptionByDefault": false}));
        assert_eq!(evidence(run(&POLICY, &off)), json!({"Path": "EbsEncryptionByDefault", "Value": false}));
        // The IMDS defaults being unreadable does not matter here.
        let on = unreadable(ec2_account_settings(json!({"EbsEncryptionByDefault": true})), "InstanceMetadataDefaults");
        assert_eq!(run(&POLICY, &on), Verdict::Pass);
        let denied =
            unreadable(ec2_account_settings(json!({"EbsEncryptionByDefault": true})), "EbsEncryptionByDefault");
        assert!(error_reason(run(&POLICY, &denied)).contains("AccessDenied"));
        let null = ec2_account_settings(json!({"EbsEncryptionByDefault": null}));
        assert!(error_reason(run(&POLICY, &null)).contains("unexpected shape"));
    }
}
