//! `ec2-ebs-volume-unencrypted`: an EBS volume stores its data unencrypted.

use qrie_model::{
    ComplianceRef, EvalContext, MissingData, PolicyDef, Remediation, Resource, Service, Severity, Verdict,
};
use serde_json::{json, Value};

use crate::config::{described, required};

pub static POLICY: PolicyDef = PolicyDef {
    id: "ec2-ebs-volume-unencrypted",
    title: "EBS volume is not encrypted",
    description: "The volume is not encrypted at rest, and neither are its snapshots or the volumes created \
        from them. Anyone who obtains a snapshot (a mistaken share, a compromised backup account) reads the data, \
        and key-based access control and revocation through KMS do not apply.",
    service: Service::Ec2,
    resource_type: "AWS::EC2::Volume",
    category: "encryption",
    severity: Severity::of(60),
    remediation: Remediation {
        steps: &[
            "A volume cannot be encrypted in place. Create a snapshot of it.",
            "Copy the snapshot with encryption enabled, choosing the KMS key.",
            "Create a volume from the encrypted copy in the same Availability Zone; stop the instance, detach the \
             old volume, attach the new one under the same device name and start the instance.",
            "Once the workload is verified, delete the unencrypted volume and snapshot.",
            "Turn on EBS encryption by default in every region, so that new volumes are encrypted.",
        ],
        cli: "aws ec2 create-snapshot --volume-id vol-XXXXXXXX --description 'before encryption'\n\
              aws ec2 copy-snapshot --source-region REGION --source-snapshot-id snap-XXXXXXXX --encrypted \
              --kms-key-id alias/aws/ebs\n\
              aws ec2 create-volume --snapshot-id snap-YYYYYYYY --availability-zone AZ --volume-type gp3\n\
              aws ec2 enable-ebs-encryption-by-default --region REGION",
        console: "Amazon EC2 > Elastic Block Store > Volumes > VOLUME > Actions > Create snapshot; then Snapshots > \
                  SNAPSHOT > Actions > Copy snapshot > Encrypt this snapshot; then Actions > Create volume from \
                  snapshot. Default: EC2 Dashboard > Account attributes > Data protection and security > Manage > \
                  Always encrypt new EBS volumes",
        iac: r#"resource "aws_ebs_encryption_by_default" "this" {
  enabled = true
}

resource "aws_ebs_volume" "data" {
  availability_zone = "us-east-1a"
  size              = 100
  type              = "gp3"
  encrypted         = true
  kms_key_id        = aws_kms_key.ebs.arn
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
    // DescribeVolumes always returns Encrypted; without it the volume is unknown, not compliant.
    if required(described(r, "Volume")?, "Volume", "Encrypted", Value::as_bool)? {
        return Ok(Verdict::Pass);
    }
    Ok(Verdict::Fail(json!({"Path": "Volume.Encrypted", "Value": false})))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;

    fn verdicts(file: &str) -> Vec<(String, Verdict)> {
        let data = recorded("ec2.DescribeVolumes", file);
        let volumes = data["Volumes"].as_array().expect("Volumes");
        volumes
            .iter()
            .map(|v| (v["VolumeId"].as_str().unwrap().to_string(), run(&POLICY, &volume(v.clone()))))
            .collect()
    }

    #[test]
    fn recorded_volumes() {
        let fail = Verdict::Fail(json!({"Path": "Volume.Encrypted", "Value": false}));
        // An unencrypted gp2 volume beside two encrypted with the AWS-managed key.
        assert_eq!(
            verdicts("test_ebs_aws_managed_kms_keys__ec2.DescribeVolumes_1.json"),
            [
                ("vol-37e189b7".to_string(), fail.clone()),
                ("vol-cc3fc645".to_string(), Verdict::Pass),
                ("vol-14a3cd9d".to_string(), Verdict::Pass),
            ]
        );
        assert_eq!(
            verdicts("test_ebs_volume_snapshots_filter__ec2.DescribeVolumes_1.json"),
            [("vol-0c7930681fe5a17db".to_string(), Verdict::Pass), ("vol-0706f8e126ff74d3a".to_string(), fail)]
        );
        // 74 volumes in 40 recordings, 60 of them unencrypted; none undecided.
        let all: Vec<Verdict> =
            recorded_files("ec2.DescribeVolumes").iter().flat_map(|f| verdicts(f)).map(|(_, v)| v).collect();
        assert_eq!(all.len(), 74);
        assert_eq!(all.iter().filter(|v| v.name() == "fail").count(), 60);
        assert_eq!(all.iter().filter(|v| v.name() == "pass").count(), 14);
    }

    #[test]
    fn missing_data_is_an_error() {
        let v = volume(json!({"VolumeId": "vol-1", "Size": 8, "State": "available"}));
        assert_eq!(error_reason(run(&POLICY, &v)), "Volume.Encrypted is absent");
        let v = unreadable(volume(json!({"VolumeId": "vol-1", "Encrypted": true})), "Volume");
        assert!(error_reason(run(&POLICY, &v)).contains("Volume could not be read"));
    }
}
