//! `ec2-snapshot-public`: an EBS snapshot that every AWS account may restore.

use qrie_model::{
    ComplianceRef, EvalContext, MissingData, PolicyDef, Remediation, Resource, Service, Severity, Verdict,
};
use serde_json::json;

use super::sharing::public_grants;
use crate::config::described;

pub static POLICY: PolicyDef = PolicyDef {
    id: "ec2-snapshot-public",
    title: "EBS snapshot is public",
    description: "The snapshot's create-volume permissions include the group all: any AWS account can create a \
        volume from it and read every block of the disk, including deleted files, keys and database files. Public \
        snapshots are searched for continuously. (Encrypted snapshots cannot be made public.)",
    service: Service::Ec2,
    resource_type: "AWS::EC2::Snapshot",
    category: "data-exposure",
    severity: Severity::of(90),
    remediation: Remediation {
        steps: &[
            "Remove the public permission from the snapshot now; share it with specific account ids if it must be \
             shared.",
            "Assume the contents were copied: rotate the credentials and keys that were on the disk.",
            "Turn on block public access for EBS snapshots in every region.",
        ],
        cli: "aws ec2 modify-snapshot-attribute --snapshot-id snap-XXXXXXXX --attribute createVolumePermission \
              --operation-type remove --group-names all\n\
              aws ec2 enable-snapshot-block-public-access --state block-all-sharing --region REGION",
        console: "Amazon EC2 > Elastic Block Store > Snapshots > SNAPSHOT > Actions > Snapshot settings > Modify \
                  permissions > Private > Save changes",
        iac: r#"# Share with named accounts only (never "all"), and block public sharing per region.
resource "aws_snapshot_create_volume_permission" "partner" {
  snapshot_id = aws_ebs_snapshot.this.id
  account_id  = "111122223333"
}

resource "aws_ebs_snapshot_block_public_access" "this" {
  state = "block-all-sharing"
}"#,
    },
    compliance: &[
        ComplianceRef { framework: "nist-800-53-r5", controls: &["AC-3", "AC-4", "AC-6", "AC-21", "SC-7"] },
        ComplianceRef { framework: "pci-dss-4.0", controls: &["1.4.4", "7.2.1"] },
        ComplianceRef { framework: "hipaa", controls: &["164.312(a)(1)"] },
        ComplianceRef { framework: "cmmc-2.0", controls: &["AC.L1-3.1.1", "AC.L1-3.1.22"] },
    ],
    params: &[],
    related: None,
    evaluate,
};

fn evaluate(r: &Resource, _: &EvalContext) -> Result<Verdict, MissingData> {
    described(r, "Snapshot")?;
    let grants = public_grants(r, "CreateVolumePermissions")?;
    if grants.is_empty() {
        return Ok(Verdict::Pass);
    }
    Ok(Verdict::Fail(json!({"PublicPermissions": grants})))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;
    use serde_json::Value;

    /// The snapshots of a recorded DescribeSnapshots response with the recorded
    /// DescribeSnapshotAttribute answers of the same test, by snapshot id.
    fn recorded_snapshots(test: &str, attribute_files: &[&str]) -> Vec<Resource> {
        let data = recorded("ec2.DescribeSnapshots", &format!("{test}__ec2.DescribeSnapshots_1.json"));
        let attributes: Vec<Value> = attribute_files
            .iter()
            .map(|n| {
                recorded("ec2.DescribeSnapshotAttribute", &format!("{test}__ec2.DescribeSnapshotAttribute_{n}.json"))
            })
            .collect();
        data["Snapshots"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                let permissions = attributes
                    .iter()
                    .find(|a| a["SnapshotId"] == s["SnapshotId"])
                    .map(|a| a["CreateVolumePermissions"].clone())
                    .unwrap_or(Value::Null);
                snapshot(s.clone(), permissions)
            })
            .collect()
    }

    #[test]
    fn recorded_cross_account_snapshots() {
        // Four snapshots: private, shared with two accounts, public, shared with one.
        let verdicts: Vec<(String, &str)> = recorded_snapshots("test_ebs_cross_account", &["1", "2", "3", "4"])
            .iter()
            .map(|r| (r.name.clone(), run(&POLICY, r).name()))
            .collect();
        assert_eq!(
            verdicts,
            [
                ("snap-07459fee".to_string(), "pass"),
                ("snap-7f9496cf".to_string(), "pass"),
                ("snap-af0eb71b".to_string(), "fail"),
                ("snap-08d7898add8b041a9".to_string(), "pass"),
            ]
        );
        let public = &recorded_snapshots("test_ebs_cross_account", &["3"])[2];
        assert_eq!(
            evidence(run(&POLICY, public)),
            json!({"PublicPermissions": [{"Path": "CreateVolumePermissions[0]", "Permission": {"Group": "all"}}]})
        );
    }

    #[test]
    fn golden_cases_and_missing_data() {
        let item = json!({"SnapshotId": "snap-1", "Encrypted": false, "OwnerId": ACCOUNT, "State": "completed"});
        let cases = [
            ("private", snapshot(item.clone(), json!([])), "pass"),
            ("shared with an account", snapshot(item.clone(), json!([{"UserId": "111122223333"}])), "pass"),
            (
                "public among accounts",
                snapshot(item.clone(), json!([{"UserId": "111122223333"}, {"Group": "all"}])),
                "fail",
            ),
            ("permissions not read", snapshot(item.clone(), Value::Null), "error"),
            (
                "permissions unreadable",
                unreadable(snapshot(item.clone(), json!([])), "CreateVolumePermissions"),
                "error",
            ),
            ("snapshot unreadable", unreadable(snapshot(item, json!([])), "Snapshot"), "error"),
        ];
        for (name, r, expected) in cases {
            let v = run(&POLICY, &r);
            assert_eq!(v.name(), expected, "{name}: {v:?}");
        }
    }
}
