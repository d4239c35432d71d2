//! `ec2-sg-open-all-ports`: a security group lets every port in from anywhere
//! on the internet (all traffic, or TCP/UDP over the whole port range).

use qrie_model::{
    ComplianceRef, EvalContext, MissingData, PolicyDef, Remediation, Resource, Service, Severity, Verdict,
};

use super::ingress;

pub static POLICY: PolicyDef = PolicyDef {
    id: "ec2-sg-open-all-ports",
    title: "Security group allows all ports from the internet",
    description: "An ingress rule of the security group lets every port in from 0.0.0.0/0 or ::/0: an all-traffic \
        rule (protocol -1) or a TCP or UDP rule over the whole port range. Every service on the attached instances, \
        including the ones never meant to be public (databases, admin consoles, debug ports), faces the internet.",
    service: Service::Ec2,
    resource_type: "AWS::EC2::SecurityGroup",
    category: "network-exposure",
    severity: Severity::of(85),
    remediation: Remediation {
        steps: &[
            "List the ports the attached workloads actually serve to the internet (often only 443).",
            "Add ingress rules for exactly those ports, then remove the rule named in the evidence.",
            "Reach everything else through private networking: a load balancer, a VPN, Systems Manager Session \
             Manager or an EC2 Instance Connect Endpoint.",
        ],
        cli: "aws ec2 authorize-security-group-ingress --group-id sg-XXXXXXXX --protocol tcp --port 443 \
              --cidr 0.0.0.0/0\n\
              aws ec2 revoke-security-group-ingress --group-id sg-XXXXXXXX \
              --ip-permissions 'IpProtocol=-1,IpRanges=[{CidrIp=0.0.0.0/0}]'",
        console: "Amazon EC2 > Network & Security > Security Groups > GROUP > Inbound rules > Edit inbound rules: \
                  replace the All traffic (or 0-65535) rule from 0.0.0.0/0 or ::/0 with rules for the needed ports \
                  > Save rules",
        iac: r#"# One rule per port that must be public; never ip_protocol = "-1" from anywhere.
resource "aws_vpc_security_group_ingress_rule" "https" {
  security_group_id = aws_security_group.this.id
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}"#,
    },
    compliance: &[
        // An all-ports rule opens 22 and 3389 too, which is what CIS 5.2/5.3 look for.
        ComplianceRef { framework: "cis-aws-3.0", controls: &["5.2", "5.3"] },
        ComplianceRef { framework: "nist-800-53-r5", controls: &["AC-4", "CM-7", "SC-7"] },
        ComplianceRef { framework: "pci-dss-4.0", controls: &["1.3.1", "1.4.2"] },
        ComplianceRef { framework: "cmmc-2.0", controls: &["SC.L1-3.13.1", "CM.L2-3.4.7"] },
    ],
    params: &[],
    related: None,
    evaluate,
};

fn evaluate(r: &Resource, _: &EvalContext) -> Result<Verdict, MissingData> {
    ingress::evaluate_all_ports(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;
    use serde_json::json;

    #[test]
    fn golden_cases() {
        let any4 = &["0.0.0.0/0"][..];
        let none = &[][..];
        let cases = [
            ("all traffic", json!([permission("-1", None, any4, none)]), "fail"),
            ("all traffic over IPv6", json!([permission("-1", None, none, &["::/0"])]), "fail"),
            ("tcp 0-65535", json!([permission("tcp", Some((0, 65535)), any4, none)]), "fail"),
            ("udp 1-65535 (port 0 is reserved)", json!([permission("17", Some((1, 65535)), any4, none)]), "fail"),
            ("tcp 2-65535 is not all", json!([permission("tcp", Some((2, 65535)), any4, none)]), "pass"),
            ("tcp 0-65534 is not all", json!([permission("tcp", Some((0, 65534)), any4, none)]), "pass"),
            ("a wide range is not all", json!([permission("tcp", Some((1024, 65535)), any4, none)]), "pass"),
            ("icmp all types", json!([permission("icmp", Some((-1, -1)), any4, none)]), "pass"),
            ("all traffic from the VPC", json!([permission("-1", None, &["10.0.0.0/16"], none)]), "pass"),
            (
                "open tcp rule without ports",
                json!([{"IpProtocol": "tcp", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]),
                "error",
            ),
            ("no ingress", json!([]), "pass"),
        ];
        for (name, permissions, expected) in cases {
            let v = run(&POLICY, &sg_with(permissions));
            assert_eq!(v.name(), expected, "{name}: {v:?}");
        }
    }

    #[test]
    fn evidence_names_the_rule() {
        let rule = permission("-1", None, &["10.0.0.0/8", "0.0.0.0/0"], &[]);
        let e =
            evidence(run(&POLICY, &sg_with(json!([permission("tcp", Some((443, 443)), &["0.0.0.0/0"], &[]), rule]))));
        assert_eq!(
            e,
            json!({"Path": "SecurityGroup.IpPermissions[1].IpRanges[1]", "Source": "0.0.0.0/0", "Rule": rule})
        );
    }

    #[test]
    fn recorded_security_groups() {
        let cases: &[(&str, &[&str])] = &[
            // tcp/0-65535 from 0.0.0.0/0 among 20 SSH-only groups.
            ("test_security_group_self_reference__ec2.DescribeSecurityGroups_2.json", &["sg-8a4b64f7"]),
            // 1234-4321 from the world and 0-62000 from 10.2.0.0/16: neither is all ports from anywhere.
            ("test_only_ports_and_cidr_ingress__ec2.DescribeSecurityGroups_1.json", &[]),
            ("ec2_security_group_filter_multi_enis__ec2.DescribeSecurityGroups_1.json", &["sg-08866faa10e9a51ef"]),
        ];
        for (file, expected) in cases {
            assert_eq!(failing_groups(&POLICY, file), *expected, "{file}");
        }
        assert_eq!(failing_groups_in_all_recordings(&POLICY), (7, 351));
    }
}
