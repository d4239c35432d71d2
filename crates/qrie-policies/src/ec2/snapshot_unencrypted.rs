//! `ec2-snapshot-unencrypted`: an EBS snapshot stored unencrypted.

use qrie_model::{
    ComplianceRef, EvalContext, MissingData, PolicyDef, Remediation, Resource, Service, Severity, Verdict,
};
use serde_json::{json, Value};

use crate::config::{described, required};

pub static POLICY: PolicyDef = PolicyDef {
    id: "ec2-snapshot-unencrypted",
    title: "EBS snapshot is not encrypted",
    description: "The snapshot is not encrypted, nor will be the volumes restored from it. A snapshot is the \
        easiest copy of a disk to move: one share or copy to another account exposes the whole volume, with no KMS \
        key policy to stop it.",
    service: Service::Ec2,
    resource_type: "AWS::EC2::Snapshot",
    category: "encryption",
    severity: Severity::of(50),
    remediation: Remediation {
        steps: &[
            "Copy the snapshot with encryption on (choose a KMS key); the copy is encrypted.",
            "Point backups, AMIs and automation at the encrypted copy, then delete the unencrypted snapshot.",
            "Turn on EBS encryption by default so that new volumes, and so their snapshots, are encrypted.",
        ],
        cli: "aws ec2 copy-snapshot --source-region REGION --source-snapshot-id snap-XXXXXXXX --encrypted \
              --kms-key-id alias/aws/ebs\n\
              aws ec2 delete-snapshot --snapshot-id snap-XXXXXXXX",
        console: "Amazon EC2 > Elastic Block Store > Snapshots > SNAPSHOT > Actions > Copy snapshot > Encrypt this \
                  snapshot > Copy snapshot",
        iac: r#"resource "aws_ebs_snapshot_copy" "encrypted" {
  source_snapshot_id = "snap-XXXXXXXX"
  source_region      = "us-east-1"
  encrypted          = true
  kms_key_id         = aws_kms_key.ebs.arn
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

fn evaluate(r: &Resource, _: &EvalContext) -> Result<Verdict, MissingData> {
    if required(described(r, "Snapshot")?, "Snapshot", "Encrypted", Value::as_bool)? {
        return Ok(Verdict::Pass);
    }
    Ok(Verdict::Fail(json!({"Path": "Snapshot.Encrypted", "Value": false})))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;

    #[test]
    fn recorded_snapshots() {
        let data = recorded("ec2.DescribeSnapshots", "test_ebs_ami_snapshot_filter__ec2.DescribeSnapshots_1.json");
        let verdicts: Vec<(String, &str)> = data["Snapshots"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (s["SnapshotId"].as_str().unwrap().to_string(), run(&POLICY, &snapshot(s.clone(), json!([]))).name())
            })
            .collect();
        assert_eq!(
            verdicts,
            [
                ("snap-7fc4f06d".to_string(), "pass"),
                ("snap-4090d8aa".to_string(), "fail"),
                ("snap-ab987f23".to_string(), "fail")
            ]
        );
        // 64 snapshots in 32 recordings.
        let mut counts = std::collections::BTreeMap::new();
        for file in recorded_files("ec2.DescribeSnapshots") {
            for s in recorded("ec2.DescribeSnapshots", &file)["Snapshots"].as_array().unwrap() {
                *counts.entry(run(&POLICY, &snapshot(s.clone(), json!([]))).name()).or_insert(0) += 1;
            }
        }
        assert_eq!(counts, std::collections::BTreeMap::from([("fail", 48), ("pass", 16)]));
    }

    #[test]
    fn evidence_and_missing_data() {
        let r = snapshot(json!({"SnapshotId": "snap-1", "Encrypted": false}), json!([]));
        assert_eq!(evidence(run(&POLICY, &r)), json!({"Path": "Snapshot.Encrypted", "Value": false}));
        // The permissions do not matter to encryption.
        let r = snapshot(json!({"SnapshotId": "snap-1", "Encrypted": true}), Value::Null);
        assert_eq!(run(&POLICY, &r), Verdict::Pass);
        let r = snapshot(json!({"SnapshotId": "snap-1"}), json!([]));
        assert_eq!(error_reason(run(&POLICY, &r)), "Snapshot.Encrypted is absent");
    }
}
