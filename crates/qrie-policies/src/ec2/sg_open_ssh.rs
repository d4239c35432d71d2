//! `ec2-sg-open-ssh`: SSH (TCP 22) reachable from anywhere on the internet.

use qrie_model::{
    ComplianceRef, EvalContext, MissingData, PolicyDef, Remediation, Resource, Service, Severity, Verdict,
};

use super::ingress::{self, Protocol};

pub static POLICY: PolicyDef = PolicyDef {
    id: "ec2-sg-open-ssh",
    title: "Security group allows SSH from the internet",
    description: "An ingress rule of the security group lets TCP port 22 in from 0.0.0.0/0 or ::/0, directly, \
        through a port range, or through an all-traffic rule. Anything the group is attached to is exposed to \
        internet-wide SSH brute-forcing and to exploits of the SSH server.",
    service: Service::Ec2,
    resource_type: "AWS::EC2::SecurityGroup",
    category: "network-exposure",
    severity: Severity::of(80),
    remediation: Remediation {
        steps: &[
            "Find out who needs SSH to the attached instances. Prefer AWS Systems Manager Session Manager or an EC2 \
             Instance Connect Endpoint, which need no inbound port at all.",
            "Remove the rule named in the evidence (for a port range or all-traffic rule, replace it with rules for \
             the ports that must be open).",
            "If SSH must stay reachable, allow it only from known administrator networks (specific CIDRs or a \
             managed prefix list).",
        ],
        cli: "aws ec2 revoke-security-group-ingress --group-id sg-XXXXXXXX \
              --ip-permissions 'IpProtocol=tcp,FromPort=22,ToPort=22,IpRanges=[{CidrIp=0.0.0.0/0}]'\n\
              aws ec2 revoke-security-group-ingress --group-id sg-XXXXXXXX \
              --ip-permissions 'IpProtocol=tcp,FromPort=22,ToPort=22,Ipv6Ranges=[{CidrIpv6=::/0}]'",
        console: "Amazon EC2 > Network & Security > Security Groups > GROUP > Inbound rules > Edit inbound rules: \
                  delete the rule with source 0.0.0.0/0 or ::/0 that covers port 22 > Save rules",
        iac: r#"# SSH only from the administrators' network, never 0.0.0.0/0 or ::/0.
resource "aws_vpc_security_group_ingress_rule" "ssh_admin" {
  security_group_id = aws_security_group.this.id
  description       = "SSH from the admin network"
  ip_protocol       = "tcp"
  from_port         = 22
  to_port           = 22
  cidr_ipv4         = "203.0.113.0/24"
}"#,
    },
    compliance: &[
        ComplianceRef { framework: "cis-aws-3.0", controls: &["5.2", "5.3"] },
        ComplianceRef { framework: "nist-800-53-r5", controls: &["AC-4", "CM-7", "SC-7"] },
        ComplianceRef { framework: "pci-dss-4.0", controls: &["1.3.1"] },
        ComplianceRef { framework: "cmmc-2.0", controls: &["SC.L1-3.13.1", "AC.L2-3.1.12"] },
    ],
    params: &[],
    related: None,
    evaluate,
};

fn evaluate(r: &Resource, _: &EvalContext) -> Result<Verdict, MissingData> {
    ingress::evaluate(r, Protocol::Tcp, 22)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;
    use serde_json::json;

    #[test]
    fn recorded_security_groups() {
        let cases: &[(&str, &[&str])] = &[
            // 42 groups: 19 with tcp/22 from 0.0.0.0/0, one (sg-8a4b64f7) with tcp/0-65535 from 0.0.0.0/0.
            (
                "test_security_group_self_reference__ec2.DescribeSecurityGroups_2.json",
                &[
                    "sg-0026997c",
                    "sg-0b3d3377",
                    "sg-3d78bc42",
                    "sg-45131239",
                    "sg-5be15a24",
                    "sg-5fd5dd21",
                    "sg-6c269910",
                    "sg-854645f9",
                    "sg-8735b1f8",
                    "sg-8a4b64f7",
                    "sg-926a56e8",
                    "sg-b8dd6dc7",
                    "sg-bdbfb7c1",
                    "sg-c67c7dba",
                    "sg-d037b3af",
                    "sg-dc1312a0",
                    "sg-deafbda2",
                    "sg-e281699e",
                    "sg-f7117688",
                    "sg-fc46c983",
                ],
            ),
            // 19 groups; sg-02a60363e2b087ff8 opens 1234-4321 to the world and 0-62000 only to 10.2.0.0/16.
            ("test_only_ports_and_cidr_ingress__ec2.DescribeSecurityGroups_1.json", &["sg-0d40e803b8b644e79"]),
            // All traffic from 0.0.0.0/0 beside all traffic from 10.0.0.0/16.
            ("ec2_security_group_filter_multi_enis__ec2.DescribeSecurityGroups_1.json", &["sg-08866faa10e9a51ef"]),
            // All traffic from 0.0.0.0/0 beside tcp/60000-62000 from 0.0.0.0/0.
            (
                "test_security_group_reference_egress_filter__ec2.DescribeSecurityGroups_1.json",
                &["sg-065fad86f90aae701"],
            ),
        ];
        for (file, expected) in cases {
            assert_eq!(failing_groups(&POLICY, file), *expected, "{file}");
        }
    }

    #[test]
    fn every_recorded_group_is_decided() {
        // 351 groups in 115 successful recordings (tcp, -1, udp and icmp rules).
        assert_eq!(failing_groups_in_all_recordings(&POLICY), (84, 351));
    }

    #[test]
    fn evidence_of_an_all_traffic_rule() {
        let r = sg_with(json!([
            permission("tcp", Some((443, 443)), &["0.0.0.0/0"], &[]),
            permission("-1", None, &[], &["::/0"])
        ]));
        let e = evidence(run(&POLICY, &r));
        assert_eq!(e["Path"], "SecurityGroup.IpPermissions[1].Ipv6Ranges[0]");
        assert_eq!(e["Rule"]["IpProtocol"], "-1");
        assert_eq!(e["Port"], 22);
    }
}
