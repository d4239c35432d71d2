//! `ec2-instance-exposed-high-risk-port`: an instance that is addressable from
//! the internet AND whose security groups let a remote-administration or
//! high-risk service port in from anywhere. Either alone is a weaker finding
//! (`ec2-instance-public-ip`, the security-group policies); together they mean
//! the port is reachable now.

use qrie_model::{
    ComplianceRef, EvalContext, MissingData, PolicyDef, Remediation, Resource, Service, Severity, Verdict,
};
use serde_json::{json, Value};

use super::ingress::{self, Families};
use super::instance;
use crate::config::described;

pub static POLICY: PolicyDef = PolicyDef {
    id: "ec2-instance-exposed-high-risk-port",
    title: "EC2 instance reachable from the internet on a risky port",
    description: "The instance has a public IPv4 address (or an IPv6 address) and one of its security groups \
        lets SSH, RDP or a high-risk service port (databases, caches, SMB, FTP, Telnet, Kafka, Elasticsearch, \
        LDAP…) in from 0.0.0.0/0 (or ::/0 for IPv6). Unlike a finding on the security group alone, this one is \
        about a machine that anybody on the internet can connect to on that port today. The evidence names the \
        address, each exposed port with its service, and the group and rule that open it.",
    service: Service::Ec2,
    resource_type: "AWS::EC2::Instance",
    category: "network-exposure",
    severity: Severity::of(85),
    remediation: Remediation {
        steps: &[
            "Close the port: remove or narrow the security-group rule named in the evidence (source the clients' \
             security group or a known CIDR instead of 0.0.0.0/0 or ::/0).",
            "Administer the instance through Systems Manager Session Manager or an EC2 Instance Connect Endpoint \
             instead of SSH or RDP from the internet.",
            "If the instance need not be addressable from the internet, remove its public address (move it to a \
             private subnet behind a load balancer or NAT gateway).",
        ],
        cli: "aws ec2 revoke-security-group-ingress --group-id sg-XXXXXXXX \
              --ip-permissions 'IpProtocol=tcp,FromPort=PORT,ToPort=PORT,IpRanges=[{CidrIp=0.0.0.0/0}]'\n\
              aws ec2 modify-instance-attribute --instance-id i-XXXXXXXX --groups sg-RESTRICTED",
        console: "Amazon EC2 > Instances > INSTANCE > Security > Security groups > GROUP > Inbound rules > Edit \
                  inbound rules: remove the rule in the evidence > Save rules",
        iac: r#"resource "aws_instance" "app" {
  # ...
  associate_public_ip_address = false
  vpc_security_group_ids      = [aws_security_group.app_private.id]
}"#,
    },
    compliance: &[
        ComplianceRef { framework: "nist-800-53-r5", controls: &["AC-4", "CM-7", "SC-7"] },
        ComplianceRef { framework: "pci-dss-4.0", controls: &["1.3.1", "1.4.2", "1.4.4"] },
        ComplianceRef { framework: "cmmc-2.0", controls: &["SC.L1-3.13.1", "SC.L2-3.13.6", "AC.L2-3.1.12"] },
    ],
    params: &[],
    related: Some(qrie_model::Dependency { types: &["AWS::EC2::SecurityGroup"], arns: related }),
    evaluate,
};

/// The instance's security groups. An instance that cannot be read names none;
/// `evaluate` then reports the missing data itself.
fn related(r: &Resource) -> Vec<String> {
    let Ok(i) = described(r, "Instance") else { return vec![] };
    instance::group_ids(i).unwrap_or_default().into_iter().map(|id| instance::group_arn(r, id)).collect()
}

fn evaluate(r: &Resource, ctx: &EvalContext) -> Result<Verdict, MissingData> {
    let Some(i) = instance::live(r)? else { return Ok(Verdict::NotApplicable) };
    let mut addresses = Vec::new();
    if let Some(a) = instance::public_ipv4(i) {
        addresses.push(json!({"Path": "Instance.PublicIpAddress", "Value": a}));
    }
    let ipv6 = instance::ipv6_addresses(i);
    addresses.extend(ipv6.iter().map(|(path, a)| json!({"Path": path, "Value": a})));
    let families = Families { ipv4: instance::public_ipv4(i).is_some(), ipv6: !ipv6.is_empty() };
    if !families.ipv4 && !families.ipv6 {
        return Ok(Verdict::Pass);
    }
    let ports: Vec<_> = ingress::REMOTE_ADMIN_PORTS.iter().chain(ingress::HIGH_RISK_PORTS).copied().collect();
    let mut exposed: Vec<Value> = Vec::new();
    for id in instance::group_ids(i)? {
        let arn = instance::group_arn(r, id);
        let group = ctx
            .related(&arn)
            .ok_or_else(|| MissingData(format!("security group {arn} of the instance is not in the inventory")))?;
        for mut port in ingress::exposed_ports(described(group, "SecurityGroup")?, "SecurityGroup", families, &ports)? {
            // Security groups add up: a port another group already opens is listed once.
            if exposed.iter().any(|e| e["Port"] == port["Port"] && e["Protocol"] == port["Protocol"]) {
                continue;
            }
            port["SecurityGroup"] = json!(arn);
            exposed.push(port);
        }
    }
    if exposed.is_empty() {
        return Ok(Verdict::Pass);
    }
    Ok(Verdict::Fail(json!({"Addresses": addresses, "ExposedPorts": exposed})))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;

    const WEB: &str = "sg-0000000000000web1";
    const DB: &str = "sg-00000000000000db1";

    fn group(id: &str, permissions: Value) -> Resource {
        let mut g = sg_with(permissions);
        g.configuration["SecurityGroup"]["GroupId"] = json!(id);
        g.arn = format!("arn:aws:ec2:{REGION}:{ACCOUNT}:security-group/{id}");
        g
    }

    fn vm(public_ip: Option<&str>, ipv6: Option<&str>, groups: &[&str]) -> Resource {
        let mut item = json!({"InstanceId": "i-0abc", "State": {"Code": 16, "Name": "running"},
                              "PrivateIpAddress": "10.0.1.5",
                              "SecurityGroups": groups.iter().map(|g| json!({"GroupId": g, "GroupName": g})).collect::<Vec<_>>(),
                              "NetworkInterfaces": [{"NetworkInterfaceId": "eni-1", "Ipv6Addresses":
                                  ipv6.map(|a| vec![json!({"Ipv6Address": a})]).unwrap_or_default()}]});
        if let Some(ip) = public_ip {
            item["PublicIpAddress"] = json!(ip);
        }
        instance(item)
    }

    fn groups() -> Vec<Resource> {
        vec![
            group(
                WEB,
                json!([
                    permission("tcp", Some((443, 443)), &["0.0.0.0/0"], &["::/0"]),
                    permission("tcp", Some((22, 22)), &["10.0.0.0/8"], &[])
                ]),
            ),
            group(
                DB,
                json!([
                    permission("tcp", Some((5432, 5432)), &["0.0.0.0/0"], &[]),
                    permission("tcp", Some((6379, 6379)), &[], &["::/0"])
                ]),
            ),
        ]
    }

    fn verdict(r: &Resource, available: &[Resource]) -> Verdict {
        run_with(&POLICY, r, available, json!({}), now())
    }

    #[test]
    fn related_names_the_instance_groups() {
        assert_eq!(
            POLICY.related_arns(&vm(None, None, &[WEB, DB])),
            [
                format!("arn:aws:ec2:{REGION}:{ACCOUNT}:security-group/{WEB}"),
                format!("arn:aws:ec2:{REGION}:{ACCOUNT}:security-group/{DB}")
            ]
        );
        assert!(POLICY.related_arns(&unreadable(vm(None, None, &[WEB]), "Instance")).is_empty());
    }

    #[test]
    fn golden_cases() {
        let all = groups();
        let cases = [
            ("public IPv4 and a database port open to 0.0.0.0/0", vm(Some("54.1.2.3"), None, &[WEB, DB]), "fail"),
            ("same groups, no public address", vm(None, None, &[WEB, DB]), "pass"),
            ("public address, web group only", vm(Some("54.1.2.3"), None, &[WEB]), "pass"),
            // Redis is open to ::/0 only: reachable over IPv6, not over IPv4.
            ("IPv6 address and a ::/0 rule", vm(None, Some("2600:1f18::5"), &[DB]), "fail"),
            ("no groups at all", vm(Some("54.1.2.3"), None, &[]), "pass"),
        ];
        for (name, r, expected) in cases {
            let v = verdict(&r, &all);
            assert_eq!(v.name(), expected, "{name}: {v:?}");
        }
        let ports = |r: &Resource| -> Vec<u64> {
            evidence(verdict(r, &all))["ExposedPorts"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["Port"].as_u64().unwrap())
                .collect()
        };
        assert_eq!(ports(&vm(Some("54.1.2.3"), None, &[DB])), [5432]);
        assert_eq!(ports(&vm(None, Some("2600:1f18::5"), &[DB])), [6379]);
        assert_eq!(ports(&vm(Some("54.1.2.3"), Some("2600:1f18::5"), &[DB])), [5432, 6379]);
    }

    #[test]
    fn evidence_names_address_port_group_and_rule() {
        let e = evidence(verdict(&vm(Some("54.1.2.3"), None, &[WEB, DB]), &groups()));
        assert_eq!(
            e,
            json!({
                "Addresses": [{"Path": "Instance.PublicIpAddress", "Value": "54.1.2.3"}],
                "ExposedPorts": [{"Port": 5432, "Protocol": "tcp", "Service": "PostgreSQL",
                                  "Path": "SecurityGroup.IpPermissions[0].IpRanges[0]", "Source": "0.0.0.0/0",
                                  "SecurityGroup": format!("arn:aws:ec2:{REGION}:{ACCOUNT}:security-group/{DB}")}]
            })
        );
        // SSH open in two groups is listed once, with the first group.
        let ssh = |id| group(id, json!([permission("tcp", Some((22, 22)), &["0.0.0.0/0"], &[])]));
        let e = evidence(verdict(&vm(Some("54.1.2.3"), None, &[WEB, DB]), &[ssh(WEB), ssh(DB)]));
        assert_eq!(e["ExposedPorts"].as_array().unwrap().len(), 1);
        assert_eq!(e["ExposedPorts"][0]["Service"], "SSH");
        assert!(e["ExposedPorts"][0]["SecurityGroup"].as_str().unwrap().ends_with(WEB));
    }

    #[test]
    fn missing_groups_are_errors() {
        let r = vm(Some("54.1.2.3"), None, &[WEB, DB]);
        let reason = error_reason(verdict(&r, &groups()[..1]));
        assert_eq!(reason, format!("security group arn:aws:ec2:{REGION}:{ACCOUNT}:security-group/{DB} of the instance is not in the inventory"));
        let denied = vec![groups()[0].clone(), unreadable(groups()[1].clone(), "SecurityGroup")];
        assert!(error_reason(verdict(&r, &denied)).contains("SecurityGroup could not be read"));
        let mut no_groups = vm(Some("54.1.2.3"), None, &[]);
        no_groups.configuration["Instance"].as_object_mut().unwrap().remove("SecurityGroups");
        assert_eq!(error_reason(verdict(&no_groups, &[])), "Instance.SecurityGroups is absent");
        // Without a public address the groups need not be read at all.
        assert_eq!(verdict(&vm(None, None, &[WEB, DB]), &[]), Verdict::Pass);
    }

    #[test]
    fn recorded_instance_with_its_recorded_group() {
        // The public instance of this recording sits in the default group, which
        // the test gives SSH from anywhere: the recording's own rules are not recorded.
        let data = recorded("ec2.DescribeInstances", "ec2_igw_subnet__ec2.DescribeInstances_1.json");
        let items: Vec<Value> = data["Reservations"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|r| r["Instances"].as_array().unwrap().clone())
            .collect();
        let default = group("sg-00e9d5f50c9013d15", json!([permission("tcp", Some((22, 22)), &["0.0.0.0/0"], &[])]));
        let example = group("sg-0d80b64eab206a948", json!([permission("tcp", Some((22, 22)), &["0.0.0.0/0"], &[])]));
        let failing: Vec<&str> = items
            .iter()
            .filter(|i| verdict(&instance((*i).clone()), &[default.clone(), example.clone()]).name() == "fail")
            .map(|i| i["InstanceId"].as_str().unwrap())
            .collect();
        assert_eq!(failing, ["i-05799f38ad9df4c34"]);
    }
}
