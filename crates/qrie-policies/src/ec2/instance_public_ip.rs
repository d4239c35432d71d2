//! `ec2-instance-public-ip`: an instance has a public IPv4 address.

use qrie_model::{
    ComplianceRef, EvalContext, MissingData, PolicyDef, Remediation, Resource, Service, Severity, Verdict,
};
use serde_json::json;

use super::instance;

pub static POLICY: PolicyDef = PolicyDef {
    id: "ec2-instance-public-ip",
    title: "EC2 instance has a public IP address",
    description: "The instance has a public IPv4 address (auto-assigned or an Elastic IP), so a single security \
        group mistake exposes it to the internet directly. Instances that serve the internet are better placed in \
        private subnets behind a load balancer, with outbound access through a NAT gateway. Whether the instance \
        is actually reachable on a dangerous port is ec2-instance-exposed-high-risk-port's question.",
    service: Service::Ec2,
    resource_type: "AWS::EC2::Instance",
    category: "network-exposure",
    severity: Severity::of(45),
    remediation: Remediation {
        steps: &[
            "Decide whether the instance must be addressed from the internet at all. If not, move it to a private \
             subnet (launch a replacement from an AMI of it) and give it outbound access through a NAT gateway.",
            "If it serves the internet, put a load balancer in front of it and move the instance to a private \
             subnet.",
            "Release an associated Elastic IP address, and turn off auto-assign public IPv4 on the subnet.",
        ],
        cli: "aws ec2 disassociate-address --association-id eipassoc-XXXXXXXX\n\
              aws ec2 modify-subnet-attribute --subnet-id subnet-XXXXXXXX --no-map-public-ip-on-launch",
        console: "Amazon EC2 > Network & Security > Elastic IPs > ADDRESS > Actions > Disassociate Elastic IP \
                  address; VPC > Subnets > SUBNET > Actions > Edit subnet settings > clear Enable auto-assign public \
                  IPv4 address",
        iac: r#"resource "aws_instance" "app" {
  # ...
  subnet_id                   = aws_subnet.private.id
  associate_public_ip_address = false
}"#,
    },
    compliance: &[
        ComplianceRef { framework: "nist-800-53-r5", controls: &["AC-4", "SC-7"] },
        ComplianceRef { framework: "pci-dss-4.0", controls: &["1.4.4"] },
        ComplianceRef { framework: "cmmc-2.0", controls: &["SC.L1-3.13.5"] },
    ],
    params: &[],
    related: None,
    evaluate,
};

fn evaluate(r: &Resource, _: &EvalContext) -> Result<Verdict, MissingData> {
    let Some(i) = instance::live(r)? else { return Ok(Verdict::NotApplicable) };
    // DescribeInstances leaves PublicIpAddress out when there is none.
    Ok(match instance::public_ipv4(i) {
        Some(address) => Verdict::Fail(json!({"Path": "Instance.PublicIpAddress", "Value": address})),
        None => Verdict::Pass,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;
    use serde_json::Value;

    #[test]
    fn golden_cases() {
        let i = |extra: Value| {
            let mut item = json!({"InstanceId": "i-0abc", "State": {"Code": 16, "Name": "running"},
                                  "PrivateIpAddress": "10.0.1.5"});
            for (k, v) in extra.as_object().unwrap() {
                item[k] = v.clone();
            }
            instance(item)
        };
        let cases = [
            ("public address", i(json!({"PublicIpAddress": "3.83.45.205"})), "fail"),
            ("private only", i(json!({})), "pass"),
            (
                "stopped instances keep Elastic IPs",
                i(json!({"PublicIpAddress": "3.3.3.3", "State": {"Name": "stopped"}})),
                "fail",
            ),
            ("terminated", i(json!({"PublicIpAddress": "3.3.3.3", "State": {"Name": "terminated"}})), "not-applicable"),
            ("no state", instance(json!({"InstanceId": "i-0abc"})), "error"),
        ];
        for (name, r, expected) in cases {
            let v = run(&POLICY, &r);
            assert_eq!(v.name(), expected, "{name}: {v:?}");
        }
        let e = evidence(run(&POLICY, &i(json!({"PublicIpAddress": "3.83.45.205"}))));
        assert_eq!(e, json!({"Path": "Instance.PublicIpAddress", "Value": "3.83.45.205"}));
    }

    #[test]
    fn recorded_public_addresses() {
        let data = recorded("ec2.DescribeInstances", "ec2_igw_subnet__ec2.DescribeInstances_1.json");
        let mut failing = Vec::new();
        for reservation in data["Reservations"].as_array().unwrap() {
            for item in reservation["Instances"].as_array().unwrap() {
                if run(&POLICY, &instance(item.clone())).name() == "fail" {
                    failing.push(item["InstanceId"].as_str().unwrap().to_string());
                }
            }
        }
        assert_eq!(failing, ["i-05799f38ad9df4c34"]);
        // 278 recorded instances; two hand-trimmed recordings have no State, which is not a pass.
        let mut counts = std::collections::BTreeMap::new();
        for item in recorded_instances() {
            *counts.entry(run(&POLICY, &instance(item)).name()).or_insert(0) += 1;
        }
        assert_eq!(
            counts,
            std::collections::BTreeMap::from([("error", 2), ("fail", 98), ("not-applicable", 38), ("pass", 140)])
        );
    }
}
