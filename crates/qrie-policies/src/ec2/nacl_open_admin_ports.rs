//! `ec2-nacl-open-admin-ports`: a network ACL admits SSH or RDP from the whole
//! internet.
//!
//! Network ACLs are evaluated in rule-number order and the first rule that
//! matches the packet decides. For traffic from an arbitrary internet address to
//! a port, the rules that matter are the ingress rules for that protocol and
//! port whose source is the whole address space of the family (`0.0.0.0/0` or
//! `::/0`): the lowest-numbered one decides (ALLOW admits, DENY blocks). Rules
//! for narrower sources neither admit the whole internet nor block it, so they
//! are passed over.

use qrie_model::{
    ComplianceRef, EvalContext, MissingData, PolicyDef, Remediation, Resource, Service, Severity, Verdict,
};
use serde_json::{json, Value};

use super::ingress::{RiskyPort, REMOTE_ADMIN_PORTS};
use crate::config::{described, required};

pub static POLICY: PolicyDef = PolicyDef {
    id: "ec2-nacl-open-admin-ports",
    title: "Network ACL allows SSH or RDP from the internet",
    description: "An inbound rule of the network ACL allows TCP port 22 (SSH) or 3389 (RDP) from 0.0.0.0/0 or \
        ::/0, and no lower-numbered rule denies it, so the ACL does not stop internet traffic to remote \
        administration ports of the subnets it is associated with. Security groups remain the last line; CIS asks \
        that the subnet boundary block these ports too. The evidence names the deciding rule.",
    service: Service::Ec2,
    resource_type: "AWS::EC2::NetworkAcl",
    category: "network-exposure",
    severity: Severity::of(60),
    remediation: Remediation {
        steps: &[
            "Add an inbound DENY rule for TCP 22 and 3389 from 0.0.0.0/0 (and ::/0) with a rule number lower than \
             the allowing rule in the evidence, or narrow the allowing rule to known administrator CIDRs.",
            "Keep the return traffic working: outbound rules must still allow ephemeral ports to clients.",
            "Administer instances through Systems Manager Session Manager or an EC2 Instance Connect Endpoint.",
        ],
        cli: "aws ec2 create-network-acl-entry --network-acl-id acl-XXXXXXXX --ingress --rule-number 50 \
              --protocol tcp --port-range From=22,To=22 --cidr-block 0.0.0.0/0 --rule-action deny\n\
              aws ec2 create-network-acl-entry --network-acl-id acl-XXXXXXXX --ingress --rule-number 51 \
              --protocol tcp --port-range From=3389,To=3389 --cidr-block 0.0.0.0/0 --rule-action deny",
        console: "VPC > Security > Network ACLs > ACL > Inbound rules > Edit inbound rules > Add new rule: rule \
                  number lower than the allowing rule, Custom TCP, port 22 (then 3389), source 0.0.0.0/0, Deny > \
                  Save changes",
        iac: r#"resource "aws_network_acl_rule" "deny_ssh" {
  network_acl_id = aws_network_acl.public.id
  rule_number    = 50
  egress         = false
  protocol       = "tcp"
  rule_action    = "deny"
  cidr_block     = "0.0.0.0/0"
  from_port      = 22
  to_port        = 22
}"#,
    },
    compliance: &[
        ComplianceRef { framework: "cis-aws-3.0", controls: &["5.1"] },
        ComplianceRef { framework: "nist-800-53-r5", controls: &["AC-4", "CM-7", "SC-7"] },
        ComplianceRef { framework: "pci-dss-4.0", controls: &["1.3.1", "1.4.2"] },
        ComplianceRef { framework: "cmmc-2.0", controls: &["SC.L1-3.13.1", "AC.L2-3.1.12"] },
    ],
    params: &[],
    related: None,
    evaluate,
};

/// One ingress entry, read: its rule number, action, and whether it carries
/// `port`/tcp from the whole address space of the family whose CIDR key is `cidr_key`.
fn decides(entry: &Value, path: &str, port: RiskyPort, cidr_key: &str) -> Result<Option<(i64, bool)>, MissingData> {
    let Some(cidr) = entry.get(cidr_key).and_then(Value::as_str) else { return Ok(None) };
    if cidr.split_once('/').map(|(_, len)| len.trim()) != Some("0") {
        return Ok(None);
    }
    let protocol = required(entry, path, "Protocol", Value::as_str)?;
    if !port.protocol.carried_by(protocol) {
        return Ok(None);
    }
    if protocol != "-1" {
        let range = required(entry, path, "PortRange", Value::as_object)?;
        let bound = |k: &str| {
            range.get(k).and_then(Value::as_i64).ok_or_else(|| MissingData(format!("{path}.PortRange.{k} is absent")))
        };
        if !(bound("From")?..=bound("To")?).contains(&i64::from(port.port)) {
            return Ok(None);
        }
    }
    let number = required(entry, path, "RuleNumber", Value::as_i64)?;
    let allow = match required(entry, path, "RuleAction", Value::as_str)? {
        "allow" => true,
        "deny" => false,
        other => return Err(MissingData(format!("{path}.RuleAction is {other:?}"))),
    };
    Ok(Some((number, allow)))
}

fn evaluate(r: &Resource, _: &EvalContext) -> Result<Verdict, MissingData> {
    let acl = described(r, "NetworkAcl")?;
    let entries = required(acl, "NetworkAcl", "Entries", Value::as_array)?;
    let mut admitted = Vec::new();
    for port in REMOTE_ADMIN_PORTS {
        for cidr_key in ["CidrBlock", "Ipv6CidrBlock"] {
            // The lowest-numbered matching ingress rule decides.
            let mut first: Option<(i64, bool, usize)> = None;
            for (i, entry) in entries.iter().enumerate() {
                let path = format!("NetworkAcl.Entries[{i}]");
                if required(entry, &path, "Egress", Value::as_bool)? {
                    continue;
                }
                if let Some((number, allow)) = decides(entry, &path, *port, cidr_key)? {
                    if first.is_none_or(|(n, _, _)| number < n) {
                        first = Some((number, allow, i));
                    }
                }
            }
            if let Some((number, true, i)) = first {
                admitted.push(
                    json!({"Port": port.port, "Service": port.service, "Path": format!("NetworkAcl.Entries[{i}]"),
                                     "RuleNumber": number, "Rule": entries[i]}),
                );
            }
        }
    }
    if admitted.is_empty() {
        return Ok(Verdict::Pass);
    }
    Ok(Verdict::Fail(json!({"Admitted": admitted})))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;

    fn entry(number: i64, protocol: &str, action: &str, egress: bool, cidr: &str, ports: Option<(i64, i64)>) -> Value {
        let mut e = json!({"RuleNumber": number, "Protocol": protocol, "RuleAction": action, "Egress": egress});
        e[if cidr.contains(':') { "Ipv6CidrBlock" } else { "CidrBlock" }] = json!(cidr);
        if let Some((from, to)) = ports {
            e["PortRange"] = json!({"From": from, "To": to});
        }
        e
    }

    /// The entries AWS puts in every ACL: the final `*` deny rules, both directions.
    fn final_denies() -> Vec<Value> {
        vec![
            entry(32767, "-1", "deny", false, "0.0.0.0/0", None),
            entry(32767, "-1", "deny", true, "0.0.0.0/0", None),
            entry(32768, "-1", "deny", false, "::/0", None),
        ]
    }

    fn acl(mut entries: Vec<Value>) -> Resource {
        entries.extend(final_denies());
        network_acl(json!({"NetworkAclId": "acl-0abc", "VpcId": "vpc-1", "IsDefault": false, "Entries": entries}))
    }

    fn ports(r: &Resource) -> Vec<u64> {
        match run(&POLICY, r) {
            Verdict::Pass => vec![],
            Verdict::Fail(e) => e["Admitted"].as_array().unwrap().iter().map(|a| a["Port"].as_u64().unwrap()).collect(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn rule_order_decides() {
        let all_in = entry(100, "-1", "allow", false, "0.0.0.0/0", None);
        let ssh_in = entry(100, "6", "allow", false, "0.0.0.0/0", Some((22, 22)));
        let cases: Vec<(&str, Vec<Value>, Vec<u64>)> = vec![
            // The default ACL as AWS creates it: everything in.
            ("default ACL allows all", vec![all_in.clone()], vec![22, 3389]),
            ("only the final deny", vec![], vec![]),
            ("ssh only", vec![ssh_in.clone()], vec![22]),
            (
                "a range covering 3389",
                vec![entry(100, "6", "allow", false, "0.0.0.0/0", Some((1024, 65535)))],
                vec![3389],
            ),
            (
                "deny at a lower number blocks",
                vec![entry(90, "6", "deny", false, "0.0.0.0/0", Some((22, 22))), all_in.clone()],
                vec![3389],
            ),
            // Entries are not sorted in DescribeNetworkAcls answers.
            (
                "deny listed after, numbered lower",
                vec![all_in.clone(), entry(50, "-1", "deny", false, "0.0.0.0/0", None)],
                vec![],
            ),
            (
                "deny at a higher number is too late",
                vec![ssh_in.clone(), entry(110, "6", "deny", false, "0.0.0.0/0", Some((22, 22)))],
                vec![22],
            ),
            // A deny of part of the internet does not block the rest of it.
            (
                "narrow deny does not block",
                vec![entry(90, "6", "deny", false, "198.51.100.0/24", Some((22, 22))), ssh_in.clone()],
                vec![22],
            ),
            (
                "narrow allow does not admit the internet",
                vec![entry(100, "6", "allow", false, "203.0.113.0/24", Some((22, 22)))],
                vec![],
            ),
            ("egress rules do not admit", vec![entry(100, "-1", "allow", true, "0.0.0.0/0", None)], vec![]),
            ("udp is not ssh", vec![entry(100, "17", "allow", false, "0.0.0.0/0", Some((0, 65535)))], vec![]),
            ("IPv6 ::/0", vec![entry(100, "6", "allow", false, "::/0", Some((3389, 3389)))], vec![3389]),
            // An IPv4 deny does not block IPv6 traffic.
            (
                "ipv4 deny, ipv6 allow",
                vec![entry(90, "-1", "deny", false, "0.0.0.0/0", None), entry(100, "-1", "allow", false, "::/0", None)],
                vec![22, 3389],
            ),
        ];
        for (name, entries, expected) in cases {
            assert_eq!(ports(&acl(entries)), expected, "{name}");
        }
    }

    #[test]
    fn evidence_names_the_deciding_rule() {
        let ssh_in = entry(120, "6", "allow", false, "0.0.0.0/0", Some((22, 22)));
        let r = acl(vec![entry(200, "-1", "allow", false, "0.0.0.0/0", None), ssh_in.clone()]);
        let e = evidence(run(&POLICY, &r));
        assert_eq!(
            e["Admitted"][0],
            json!({"Port": 22, "Service": "SSH", "Path": "NetworkAcl.Entries[1]", "RuleNumber": 120, "Rule": ssh_in})
        );
        assert_eq!(e["Admitted"][1]["Path"], "NetworkAcl.Entries[0]");
        assert_eq!(e["Admitted"][1]["Port"], 3389);
    }

    #[test]
    fn incomplete_entries_are_errors() {
        let mut no_range = entry(100, "6", "allow", false, "0.0.0.0/0", None);
        assert_eq!(
            error_reason(run(&POLICY, &acl(vec![no_range.clone()]))),
            "NetworkAcl.Entries[0].PortRange is absent"
        );
        no_range["PortRange"] = json!({"From": 22});
        assert_eq!(error_reason(run(&POLICY, &acl(vec![no_range]))), "NetworkAcl.Entries[0].PortRange.To is absent");
        let no_egress = json!({"RuleNumber": 100, "Protocol": "-1", "RuleAction": "allow", "CidrBlock": "0.0.0.0/0"});
        assert_eq!(error_reason(run(&POLICY, &acl(vec![no_egress]))), "NetworkAcl.Entries[0].Egress is absent");
        let mut r = acl(vec![]);
        r.configuration["NetworkAcl"].as_object_mut().unwrap().remove("Entries");
        assert_eq!(error_reason(run(&POLICY, &r)), "NetworkAcl.Entries is absent");
        assert!(error_reason(run(&POLICY, &unreadable(acl(vec![]), "NetworkAcl"))).contains("AccessDenied"));
    }
}
