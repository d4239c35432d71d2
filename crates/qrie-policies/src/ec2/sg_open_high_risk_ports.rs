//! `ec2-sg-open-high-risk-ports`: a security group lets one of the high-risk
//! service ports of [`ingress::HIGH_RISK_PORTS`] (databases, caches, file
//! sharing, directory, cleartext protocols) in from anywhere on the internet.
//! One policy over the table: the evidence names every exposed port and service.

use qrie_model::{
    ComplianceRef, EvalContext, MissingData, ParamDef, ParamRule, ParamValue, PolicyDef, Remediation, Resource,
    Service, Severity, Verdict,
};
use serde_json::json;

use super::ingress::{self, Families, RiskyPort};
use crate::config::described;

pub static POLICY: PolicyDef = PolicyDef {
    id: "ec2-sg-open-high-risk-ports",
    title: "Security group allows high-risk ports from the internet",
    description: "An ingress rule of the security group lets a high-risk service port in from 0.0.0.0/0 or ::/0: \
        databases (SQL Server 1433, Oracle 1521, MySQL 3306, PostgreSQL 5432, MongoDB 27017, Cassandra), caches \
        (Redis 6379, Memcached 11211), FTP 20/21, Telnet 23, SMB/CIFS 139/445, NetBIOS, NFS, Kafka 9092, \
        Elasticsearch/Kibana 9200/9300/5601, LDAP 389/636, Kerberos 88, VNC, SNMP and the Docker API. These \
        services are scanned for continuously, many answer without authentication by default, and several are \
        abused for data theft, ransomware or amplification attacks. The evidence lists each exposed port with its \
        service and rule.",
    service: Service::Ec2,
    resource_type: "AWS::EC2::SecurityGroup",
    category: "network-exposure",
    severity: Severity::of(75),
    remediation: Remediation {
        steps: &[
            "For each port in the evidence, find the clients that need the service; they are almost never the whole \
             internet.",
            "Replace the rule with one whose source is the clients' security group, VPC CIDR or a managed prefix \
             list, or remove it.",
            "Serve anything that must be public through a load balancer or an API layer, never the data store \
             itself.",
        ],
        cli: "aws ec2 revoke-security-group-ingress --group-id sg-XXXXXXXX \
              --ip-permissions 'IpProtocol=tcp,FromPort=3306,ToPort=3306,IpRanges=[{CidrIp=0.0.0.0/0}]'\n\
              aws ec2 authorize-security-group-ingress --group-id sg-XXXXXXXX \
              --ip-permissions 'IpProtocol=tcp,FromPort=3306,ToPort=3306,UserIdGroupPairs=[{GroupId=sg-APPTIER}]'",
        console: "Amazon EC2 > Network & Security > Security Groups > GROUP > Inbound rules > Edit inbound rules: \
                  change the source of the rule in the evidence from 0.0.0.0/0 or ::/0 to the clients' security \
                  group > Save rules",
        iac: r#"# The database is reachable from the application tier only.
resource "aws_vpc_security_group_ingress_rule" "mysql_from_app" {
  security_group_id            = aws_security_group.db.id
  ip_protocol                  = "tcp"
  from_port                    = 3306
  to_port                      = 3306
  referenced_security_group_id = aws_security_group.app.id
}"#,
    },
    compliance: &[
        ComplianceRef { framework: "nist-800-53-r5", controls: &["AC-4", "CM-7", "SC-7"] },
        ComplianceRef { framework: "pci-dss-4.0", controls: &["1.2.5", "1.3.1", "1.4.2"] },
        ComplianceRef { framework: "cmmc-2.0", controls: &["SC.L1-3.13.1", "CM.L2-3.4.7"] },
    ],
    params: &[ParamDef {
        name: "allowed_ports",
        description: "Comma-separated ports of the table that may be open to the internet in this scope (e.g. \
            \"25\" for a mail relay); empty reports them all.",
        default: ParamValue::Text(""),
        rule: ParamRule::Ports,
    }],
    related: None,
    evaluate,
};

/// The table without the ports a launched policy allows.
pub(crate) fn ports_to_check(allowed: &str) -> Result<Vec<RiskyPort>, MissingData> {
    let allowed: Vec<u16> = allowed
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().map_err(|_| MissingData(format!("parameter allowed_ports: {s:?} is not a port"))))
        .collect::<Result<_, _>>()?;
    Ok(ingress::HIGH_RISK_PORTS.iter().copied().filter(|p| !allowed.contains(&p.port)).collect())
}

fn evaluate(r: &Resource, ctx: &EvalContext) -> Result<Verdict, MissingData> {
    let ports = ports_to_check(ctx.params.text("allowed_ports")?)?;
    let group = described(r, "SecurityGroup")?;
    let exposed = ingress::exposed_ports(group, "SecurityGroup", Families::BOTH, &ports)?;
    if exposed.is_empty() {
        return Ok(Verdict::Pass);
    }
    Ok(Verdict::Fail(json!({"ExposedPorts": exposed})))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;
    use serde_json::Value;

    fn exposed(permissions: Value) -> Vec<(u64, String)> {
        match run(&POLICY, &sg_with(permissions)) {
            Verdict::Pass => vec![],
            Verdict::Fail(e) => e["ExposedPorts"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| (p["Port"].as_u64().unwrap(), p["Protocol"].as_str().unwrap().to_string()))
                .collect(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn golden_cases() {
        let any4 = &["0.0.0.0/0"][..];
        let any6 = &["::/0"][..];
        let none = &[][..];
        let t = |p: u64| (p, "tcp".to_string());
        let u = |p: u64| (p, "udp".to_string());
        assert_eq!(exposed(json!([permission("tcp", Some((3306, 3306)), any4, none)])), [t(3306)]);
        assert_eq!(exposed(json!([permission("tcp", Some((6379, 6379)), none, any6)])), [t(6379)]);
        // One range, several services.
        assert_eq!(exposed(json!([permission("tcp", Some((5432, 5601)), any4, none)])), [t(5432), t(5601)]);
        assert_eq!(exposed(json!([permission("6", Some((20, 23)), any4, none)])), [t(20), t(21), t(23)]);
        // UDP rules expose only the UDP services.
        assert_eq!(exposed(json!([permission("udp", Some((11211, 11211)), any4, none)])), [u(11211)]);
        assert_eq!(exposed(json!([permission("udp", Some((3306, 3306)), any4, none)])), []);
        // SSH and RDP have their own policies; web ports are not high-risk.
        assert_eq!(exposed(json!([permission("tcp", Some((22, 22)), any4, any6)])), []);
        assert_eq!(
            exposed(json!([
                permission("tcp", Some((80, 80)), any4, none),
                permission("tcp", Some((443, 443)), any4, none)
            ])),
            []
        );
        // Private sources.
        assert_eq!(exposed(json!([permission("tcp", Some((3306, 3306)), &["10.0.0.0/8"], &["fd00::/8"])])), []);
        // All traffic exposes the whole table.
        assert_eq!(exposed(json!([permission("-1", None, any4, none)])).len(), ingress::HIGH_RISK_PORTS.len());
    }

    #[test]
    fn evidence_names_port_service_and_rule() {
        let e = evidence(run(
            &POLICY,
            &sg_with(json!([
                permission("tcp", Some((443, 443)), &["0.0.0.0/0"], &[]),
                permission("tcp", Some((27017, 27017)), &["10.0.0.0/8"], &["::/0"])
            ])),
        ));
        assert_eq!(
            e,
            json!({"ExposedPorts": [{"Port": 27017, "Protocol": "tcp", "Service": "MongoDB",
                                     "Path": "SecurityGroup.IpPermissions[1].Ipv6Ranges[0]", "Source": "::/0"}]})
        );
    }

    #[test]
    fn allowed_ports_parameter() {
        let smtp = sg_with(json!([permission("tcp", Some((25, 25)), &["0.0.0.0/0"], &[])]));
        assert_eq!(run(&POLICY, &smtp).name(), "fail");
        let allow = |v: &str| run_with(&POLICY, &smtp, &[], json!({"allowed_ports": v}), now());
        assert_eq!(allow("25"), Verdict::Pass);
        assert_eq!(allow(" 3306, 25 "), Verdict::Pass);
        assert_eq!(allow("3306").name(), "fail");
        assert!(error_reason(allow("smtp")).starts_with("invalid parameter \"allowed_ports\": \"smtp\" is not a port"));
        // The evaluation itself still refuses what launching would have.
        assert!(ports_to_check("25,smtp").is_err());
    }

    #[test]
    fn incomplete_rules_and_unreadable_groups_are_errors() {
        let broken = json!({"IpProtocol": "tcp", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]});
        assert_eq!(
            error_reason(run(&POLICY, &sg_with(json!([broken])))),
            "SecurityGroup.IpPermissions[0].FromPort is absent"
        );
        // A complete match still decides.
        let open = permission("tcp", Some((1433, 1433)), &["0.0.0.0/0"], &[]);
        assert_eq!(run(&POLICY, &sg_with(json!([broken, open]))).name(), "fail");
        let unread = unreadable(sg_with(json!([])), "SecurityGroup");
        assert!(error_reason(run(&POLICY, &unread)).contains("AccessDenied"));
    }

    #[test]
    fn recorded_security_groups() {
        let cases: &[(&str, &[&str])] = &[
            ("test_security_group_self_reference__ec2.DescribeSecurityGroups_2.json", &["sg-8a4b64f7"]),
            ("test_only_ports_and_cidr_ingress__ec2.DescribeSecurityGroups_1.json", &["sg-02a60363e2b087ff8"]),
        ];
        for (file, expected) in cases {
            assert_eq!(failing_groups(&POLICY, file), *expected, "{file}");
        }
        assert_eq!(failing_groups_in_all_recordings(&POLICY), (9, 351));
    }
}
