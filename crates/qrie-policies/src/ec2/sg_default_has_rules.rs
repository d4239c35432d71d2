//! `ec2-sg-default-has-rules`: the default security group of a VPC has inbound
//! or outbound rules.

use qrie_model::{
    ComplianceRef, EvalContext, MissingData, PolicyDef, Remediation, Resource, Service, Severity, Verdict,
};
use serde_json::{json, Value};

use crate::config::{described, required};

pub static POLICY: PolicyDef = PolicyDef {
    id: "ec2-sg-default-has-rules",
    title: "Default security group does not restrict all traffic",
    description: "The VPC's default security group has inbound or outbound rules. Every network interface launched \
        without an explicit security group lands in it, so its rules silently apply to resources nobody meant to \
        expose; as created by AWS it also lets every member talk to every other member on all ports. CIS asks for \
        a default group with no rules at all, so that the least-privilege groups are always chosen on purpose.",
    service: Service::Ec2,
    resource_type: "AWS::EC2::SecurityGroup",
    category: "network-exposure",
    severity: Severity::of(50),
    remediation: Remediation {
        steps: &[
            "Find the network interfaces in the default group (the NetworkInterfaces of this resource) and move \
             each to a purpose-built security group.",
            "Delete every inbound and outbound rule of the default group; the group itself cannot be deleted.",
            "With Terraform, manage the group with aws_default_security_group and no ingress or egress blocks so \
             that the rules stay removed.",
        ],
        cli: "aws ec2 revoke-security-group-ingress --group-id sg-DEFAULT \
              --ip-permissions 'IpProtocol=-1,UserIdGroupPairs=[{GroupId=sg-DEFAULT}]'\n\
              aws ec2 revoke-security-group-egress --group-id sg-DEFAULT \
              --ip-permissions 'IpProtocol=-1,IpRanges=[{CidrIp=0.0.0.0/0}]'",
        console: "VPC > Security > Security groups > the group named default > Inbound rules > Edit inbound rules > \
                  Delete every rule > Save rules; then the same on Outbound rules",
        iac: r#"# Adopts the VPC's default group and removes all of its rules.
resource "aws_default_security_group" "default" {
  vpc_id = aws_vpc.main.id
}"#,
    },
    compliance: &[
        ComplianceRef { framework: "cis-aws-3.0", controls: &["5.4"] },
        ComplianceRef { framework: "nist-800-53-r5", controls: &["AC-4", "SC-7", "CM-7"] },
        ComplianceRef { framework: "pci-dss-4.0", controls: &["1.2.1", "1.3.1"] },
        ComplianceRef { framework: "cmmc-2.0", controls: &["SC.L1-3.13.1", "SC.L2-3.13.6"] },
    ],
    params: &[],
    related: None,
    evaluate,
};

/// AWS names the default group of every VPC `default`, and no other group may take that name.
pub(crate) fn is_default_group(group: &Value) -> Result<bool, MissingData> {
    Ok(required(group, "SecurityGroup", "GroupName", Value::as_str)? == "default")
}

fn evaluate(r: &Resource, _: &EvalContext) -> Result<Verdict, MissingData> {
    let group = described(r, "SecurityGroup")?;
    if !is_default_group(group)? {
        return Ok(Verdict::NotApplicable);
    }
    let mut rules = Vec::new();
    for list in ["IpPermissions", "IpPermissionsEgress"] {
        let permissions = required(group, "SecurityGroup", list, Value::as_array)?;
        rules.extend(
            permissions
                .iter()
                .enumerate()
                .map(|(i, p)| json!({"Path": format!("SecurityGroup.{list}[{i}]"), "Rule": p})),
        );
    }
    if rules.is_empty() {
        return Ok(Verdict::Pass);
    }
    Ok(Verdict::Fail(json!({"GroupName": "default", "Rules": rules})))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;

    fn group(name: &str, ingress: Value, egress: Value) -> Resource {
        security_group(json!({"GroupId": "sg-0aaa", "GroupName": name, "VpcId": "vpc-1", "OwnerId": ACCOUNT,
                              "Description": "default VPC security group",
                              "IpPermissions": ingress, "IpPermissionsEgress": egress}))
    }

    #[test]
    fn golden_cases() {
        let self_ref = json!({"IpProtocol": "-1", "IpRanges": [], "Ipv6Ranges": [], "PrefixListIds": [],
                              "UserIdGroupPairs": [{"GroupId": "sg-0aaa", "UserId": ACCOUNT}]});
        let all_out = permission("-1", None, &["0.0.0.0/0"], &[]);
        let cases = [
            ("as AWS creates it", group("default", json!([self_ref]), json!([all_out])), "fail"),
            ("egress only", group("default", json!([]), json!([all_out])), "fail"),
            ("ingress only", group("default", json!([self_ref]), json!([])), "fail"),
            ("no rules", group("default", json!([]), json!([])), "pass"),
            // Only the group AWS names "default" is the default group.
            ("another group with rules", group("default-web", json!([self_ref]), json!([all_out])), "not-applicable"),
            ("egress not collected", group("default", json!([]), Value::Null), "error"),
        ];
        for (name, r, expected) in cases {
            let v = run(&POLICY, &r);
            assert_eq!(v.name(), expected, "{name}: {v:?}");
        }
        let e = evidence(run(&POLICY, &group("default", json!([]), json!([all_out]))));
        assert_eq!(
            e,
            json!({"GroupName": "default", "Rules": [{"Path": "SecurityGroup.IpPermissionsEgress[0]", "Rule": all_out}]})
        );
    }

    #[test]
    fn recorded_default_groups() {
        // 93 default groups among 351, every one still with the rules AWS created it with.
        let mut verdicts = std::collections::BTreeMap::new();
        for file in recorded_files("ec2.DescribeSecurityGroups") {
            let data = recorded("ec2.DescribeSecurityGroups", &file);
            for g in data["SecurityGroups"].as_array().unwrap() {
                *verdicts.entry(run(&POLICY, &security_group(g.clone())).name()).or_insert(0) += 1;
            }
        }
        assert_eq!(verdicts, std::collections::BTreeMap::from([("fail", 93), ("not-applicable", 258)]));
    }
}
