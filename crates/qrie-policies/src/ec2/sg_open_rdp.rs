//! `ec2-sg-open-rdp`: Remote Desktop (TCP 3389) reachable from anywhere on the
//! internet.

use qrie_model::{
    ComplianceRef, EvalContext, MissingData, PolicyDef, Remediation, Resource, Service, Severity, Verdict,
};

use super::ingress::{self, Protocol};

pub static POLICY: PolicyDef = PolicyDef {
    id: "ec2-sg-open-rdp",
    title: "Security group allows RDP from the internet",
    description: "An ingress rule of the security group lets TCP port 3389 in from 0.0.0.0/0 or ::/0, directly, \
        through a port range, or through an all-traffic rule. Internet-facing Remote Desktop is a common way in \
        for ransomware operators: password spraying and RDP vulnerabilities such as BlueKeep.",
    service: Service::Ec2,
    resource_type: "AWS::EC2::SecurityGroup",
    category: "network-exposure",
    severity: Severity::of(80),
    remediation: Remediation {
        steps: &[
            "Find out who needs Remote Desktop to the attached instances. Prefer Fleet Manager Remote Desktop \
             (AWS Systems Manager) or an EC2 Instance Connect Endpoint, which need no port open to the internet.",
            "Remove the rule named in the evidence (for a port range or all-traffic rule, replace it with rules for \
             the ports that must be open).",
            "If RDP must stay reachable, allow it only from known administrator networks (specific CIDRs or a \
             managed prefix list), ideally through a VPN.",
        ],
        cli: "aws ec2 revoke-security-group-ingress --group-id sg-XXXXXXXX \
              --ip-permissions 'IpProtocol=tcp,FromPort=3389,ToPort=3389,IpRanges=[{CidrIp=0.0.0.0/0}]'\n\
              aws ec2 revoke-security-group-ingress --group-id sg-XXXXXXXX \
              --ip-permissions 'IpProtocol=tcp,FromPort=3389,ToPort=3389,Ipv6Ranges=[{CidrIpv6=::/0}]'",
        console: "Amazon EC2 > Network & Security > Security Groups > GROUP > Inbound rules > Edit inbound rules: \
                  delete the rule with source 0.0.0.0/0 or ::/0 that covers port 3389 > Save rules",
        iac: r#"# RDP only from the administrators' network, never 0.0.0.0/0 or ::/0.
resource "aws_vpc_security_group_ingress_rule" "rdp_admin" {
  security_group_id = aws_security_group.this.id
  description       = "RDP from the admin network"
  ip_protocol       = "tcp"
  from_port         = 3389
  to_port           = 3389
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
    ingress::evaluate(r, Protocol::Tcp, 3389)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;
    use serde_json::json;

    #[test]
    fn recorded_security_groups() {
        let cases: &[(&str, &[&str])] = &[
            // Of the 20 groups open to SSH here, only the one with tcp/0-65535 also exposes RDP.
            ("test_security_group_self_reference__ec2.DescribeSecurityGroups_2.json", &["sg-8a4b64f7"]),
            // tcp/1234-4321 from 0.0.0.0/0 covers 3389; the SSH-open group does not.
            ("test_only_ports_and_cidr_ingress__ec2.DescribeSecurityGroups_1.json", &["sg-02a60363e2b087ff8"]),
            ("ec2_security_group_filter_multi_enis__ec2.DescribeSecurityGroups_1.json", &["sg-08866faa10e9a51ef"]),
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
        assert_eq!(failing_groups_in_all_recordings(&POLICY), (8, 351));
    }

    #[test]
    fn ssh_alone_does_not_fail_rdp() {
        let ssh = sg_with(json!([permission("tcp", Some((22, 22)), &["0.0.0.0/0"], &["::/0"])]));
        assert_eq!(run(&POLICY, &ssh), Verdict::Pass);
        let rdp = sg_with(json!([permission("tcp", Some((3389, 3389)), &[], &["::/0"])]));
        assert_eq!(evidence(run(&POLICY, &rdp))["Path"], "SecurityGroup.IpPermissions[0].Ipv6Ranges[0]");
    }
}
