//! `ec2-ami-public`: an AMI of the account that every AWS account may launch.

use qrie_model::{
    ComplianceRef, EvalContext, MissingData, PolicyDef, Remediation, Resource, Service, Severity, Verdict,
};
use serde_json::{json, Value};

use super::sharing::public_grants;
use crate::config::{described, required};

pub static POLICY: PolicyDef = PolicyDef {
    id: "ec2-ami-public",
    title: "AMI is public",
    description: "The image is public (DescribeImages Public is true, or its launch permissions include the group \
        all): any AWS account can launch it and read its snapshots' contents, often configuration files, keys and \
        credentials baked into the image. Images owned by other accounts (AWS, Marketplace) are not reported.",
    service: Service::Ec2,
    resource_type: "AWS::EC2::Image",
    category: "data-exposure",
    severity: Severity::of(75),
    remediation: Remediation {
        steps: &[
            "Make the image private; share it with specific account ids or the organization if it must be shared.",
            "If the image may contain secrets, rotate them.",
            "Turn on block public access for AMIs in every region.",
        ],
        cli: "aws ec2 modify-image-attribute --image-id ami-XXXXXXXX \
              --launch-permission 'Remove=[{Group=all}]'\n\
              aws ec2 enable-image-block-public-access --image-block-public-access-state block-new-sharing \
              --region REGION",
        console: "Amazon EC2 > Images > AMIs > IMAGE > Actions > Edit AMI permissions > AMI availability: Private > \
                  Save changes",
        iac: r#"# Share with a named account instead of making the image public.
resource "aws_ami_launch_permission" "partner" {
  image_id   = aws_ami.this.id
  account_id = "111122223333"
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
    let image = described(r, "Image")?;
    if image.get("OwnerId").and_then(Value::as_str).is_some_and(|owner| owner != r.account_id) {
        return Ok(Verdict::NotApplicable);
    }
    let mut public = public_grants(r, "LaunchPermissions")?;
    // DescribeImages' own flag covers the case of launch permissions read before a change.
    if required(image, "Image", "Public", Value::as_bool)? {
        public.insert(0, json!({"Path": "Image.Public", "Value": true}));
    }
    if public.is_empty() {
        return Ok(Verdict::Pass);
    }
    Ok(Verdict::Fail(json!({"Public": public})))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;

    fn owned(item: Value, permissions: Value) -> Resource {
        let mut r = image(item, permissions);
        if let Some(owner) = r.configuration["Image"]["OwnerId"].as_str() {
            r.account_id = owner.to_string();
        }
        r
    }

    #[test]
    fn recorded_images() {
        // Launch permissions recorded in the same tests: public, then shared with an OU only.
        let item = &recorded("ec2.DescribeImages", "test_ami_remove_perms__ec2.DescribeImages_1.json")["Images"][0];
        let public = recorded("ec2.DescribeImageAttribute", "test_ami_set_perms__ec2.DescribeImageAttribute_1.json");
        let shared = recorded("ec2.DescribeImageAttribute", "test_ami_set_perms__ec2.DescribeImageAttribute_2.json");
        let e = evidence(run(&POLICY, &owned(item.clone(), public["LaunchPermissions"].clone())));
        assert_eq!(e, json!({"Public": [{"Path": "LaunchPermissions[0]", "Permission": {"Group": "all"}}]}));
        assert_eq!(run(&POLICY, &owned(item.clone(), shared["LaunchPermissions"].clone())), Verdict::Pass);
        // Every recorded image (44) with no launch permissions: the 12 flagged Public fail when the account owns them.
        let mut counts = std::collections::BTreeMap::new();
        for file in recorded_files("ec2.DescribeImages") {
            for i in recorded("ec2.DescribeImages", &file)["Images"].as_array().unwrap() {
                *counts.entry(run(&POLICY, &owned(i.clone(), json!([]))).name()).or_insert(0) += 1;
            }
        }
        assert_eq!(counts, std::collections::BTreeMap::from([("fail", 12), ("pass", 32)]));
        // Amazon's public images seen from another account are not this account's exposure.
        let amazon = recorded("ec2.DescribeImages", "test_ami_sse__ec2.DescribeImages_1.json")["Images"][0].clone();
        assert_eq!(run(&POLICY, &image(amazon, json!([]))), Verdict::NotApplicable);
    }

    #[test]
    fn golden_cases() {
        let item =
            |public: bool| json!({"ImageId": "ami-1", "OwnerId": ACCOUNT, "Public": public, "State": "available"});
        let cases = [
            ("private", image(item(false), json!([])), "pass"),
            (
                "shared with an account and an org",
                image(
                    item(false),
                    json!([{"UserId": "111122223333"}, {"OrganizationArn": "arn:aws:organizations::111122223333:organization/o-abc"}]),
                ),
                "pass",
            ),
            ("Public flag", image(item(true), json!([])), "fail"),
            ("group all", image(item(false), json!([{"Group": "all"}])), "fail"),
            ("permissions not read", image(item(false), Value::Null), "error"),
            ("no Public flag", image(json!({"ImageId": "ami-1", "OwnerId": ACCOUNT}), json!([])), "error"),
        ];
        for (name, r, expected) in cases {
            let v = run(&POLICY, &r);
            assert_eq!(v.name(), expected, "{name}: {v:?}");
        }
    }
}
