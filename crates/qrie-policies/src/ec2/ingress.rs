//! Is a port reachable from the whole internet through a security group? The
//! one evaluator behind every "port open to the world" policy: each such policy
//! is a protocol and a port passed to [`evaluate`].
//!
//! A permission exposes the port when
//! - its protocol carries the traffic: `-1` (all traffic, no ports), or the
//!   protocol's name or IANA number (`tcp`/`6`, `udp`/`17`), and
//! - its port range covers the port (`FromPort..=ToPort`; `-1` has none), and
//! - one of its sources is the whole address space: an IPv4 or IPv6 CIDR with
//!   prefix length 0 (`0.0.0.0/0`, `::/0`).
//!
//! Managed prefix lists and security-group references are not expanded: their
//! contents are not part of the security group's description.

use qrie_model::{MissingData, Resource, Verdict};
use serde_json::{json, Value};

use crate::config::{described, required};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Protocol {
    Tcp,
    Udp,
}

impl Protocol {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        }
    }

    /// AWS accepts and echoes back the IANA protocol number as well as the name.
    fn number(self) -> &'static str {
        match self {
            Protocol::Tcp => "6",
            Protocol::Udp => "17",
        }
    }

    pub(crate) fn carried_by(self, ip_protocol: &str) -> bool {
        ip_protocol == "-1" || ip_protocol.eq_ignore_ascii_case(self.name()) || ip_protocol == self.number()
    }
}

/// A prefix length of 0 is the whole address space, however the address part is written.
fn is_whole_internet(cidr: &str) -> bool {
    cidr.split_once('/').is_some_and(|(_, len)| len.trim() == "0")
}

/// Whether `permission` (at `path`) lets `protocol`/`port` through; `Err` when
/// the permission is incomplete, e.g. a TCP rule without its port range.
fn covers(permission: &Value, path: &str, protocol: Protocol, port: u16) -> Result<bool, MissingData> {
    let ip_protocol = required(permission, path, "IpProtocol", Value::as_str)?;
    if !protocol.carried_by(ip_protocol) {
        return Ok(false);
    }
    if ip_protocol == "-1" {
        return Ok(true);
    }
    let from = required(permission, path, "FromPort", Value::as_i64)?;
    let to = required(permission, path, "ToPort", Value::as_i64)?;
    Ok((from..=to).contains(&i64::from(port)))
}

/// The sources of `permission` that are the whole internet, with their paths.
/// A list that is absent has no entries (older responses have no `Ipv6Ranges`).
fn internet_sources(permission: &Value, path: &str) -> Vec<(String, &'static str, String)> {
    [("IpRanges", "CidrIp"), ("Ipv6Ranges", "CidrIpv6")]
        .into_iter()
        .flat_map(|(list, key)| {
            let ranges = permission.get(list).and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
            ranges.iter().enumerate().filter_map(move |(j, range)| {
                let cidr = range.get(key)?.as_str()?;
                is_whole_internet(cidr).then(|| (format!("{path}.{list}[{j}]"), list, cidr.to_string()))
            })
        })
        .collect()
}

/// Which whole-internet sources count: a resource reachable only over IPv4 (an
/// instance with a public IPv4 address and no IPv6 address) is not exposed by a
/// `::/0` rule, and the other way round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Families {
    pub ipv4: bool,
    pub ipv6: bool,
}

impl Families {
    pub const BOTH: Families = Families { ipv4: true, ipv6: true };

    fn admits(self, list: &str) -> bool {
        match list {
            "IpRanges" => self.ipv4,
            _ => self.ipv6,
        }
    }
}

/// A whole-internet source of a permission that lets the traffic in question through.
pub(crate) struct Match<'a> {
    pub path: String,
    pub source: String,
    pub rule: &'a Value,
}

/// The ingress permissions of a DescribeSecurityGroups item (at `group_path`)
/// that `lets_in` and that have a whole-internet source of `families`. One
/// complete matching permission decides; an incomplete permission that might
/// match (`lets_in` errs) makes the answer `Err` only if nothing else matched.
pub(crate) fn matching<'a>(
    group: &'a Value,
    group_path: &str,
    families: Families,
    lets_in: impl Fn(&Value, &str) -> Result<bool, MissingData>,
) -> Result<Vec<Match<'a>>, MissingData> {
    let permissions = required(group, group_path, "IpPermissions", Value::as_array)?;
    let mut matches = Vec::new();
    let mut undecided = None;
    for (i, permission) in permissions.iter().enumerate() {
        let path = format!("{group_path}.IpPermissions[{i}]");
        let sources: Vec<_> =
            internet_sources(permission, &path).into_iter().filter(|(_, list, _)| families.admits(list)).collect();
        if sources.is_empty() {
            continue;
        }
        match lets_in(permission, &path) {
            Ok(true) => {
                matches.extend(sources.into_iter().map(|(path, _, source)| Match { path, source, rule: permission }))
            }
            Ok(false) => {}
            Err(e) => undecided = undecided.or(Some(e)),
        }
    }
    match undecided {
        Some(e) if matches.is_empty() => Err(e),
        _ => Ok(matches),
    }
}

/// The verdict for a list of matches: the first decides, the others are named.
fn verdict(matches: Vec<Match>, extra: Value) -> Verdict {
    let Some(first) = matches.first() else { return Verdict::Pass };
    let mut evidence = json!({"Path": first.path, "Source": first.source, "Rule": first.rule});
    for (k, v) in extra.as_object().into_iter().flatten() {
        evidence[k] = v.clone();
    }
    if matches.len() > 1 {
        evidence["AlsoMatched"] = matches[1..].iter().map(|m| json!(m.path)).collect();
    }
    Verdict::Fail(evidence)
}

/// Fails a security group whose ingress lets `protocol`/`port` in from anywhere.
pub(crate) fn evaluate(r: &Resource, protocol: Protocol, port: u16) -> Result<Verdict, MissingData> {
    let group = described(r, "SecurityGroup")?;
    let matches = matching(group, "SecurityGroup", Families::BOTH, |p, path| covers(p, path, protocol, port))?;
    Ok(verdict(matches, json!({"Protocol": protocol.name(), "Port": port})))
}

/// Whether `permission` opens every port: all traffic (`-1`), or TCP or UDP
/// over the whole port range. Port 0 is reserved and never used, so 1-65535 is
/// as good as 0-65535.
fn opens_all_ports(permission: &Value, path: &str) -> Result<bool, MissingData> {
    let ip_protocol = required(permission, path, "IpProtocol", Value::as_str)?;
    if ip_protocol == "-1" {
        return Ok(true);
    }
    if ![Protocol::Tcp, Protocol::Udp].iter().any(|p| p.carried_by(ip_protocol)) {
        return Ok(false);
    }
    let from = required(permission, path, "FromPort", Value::as_i64)?;
    let to = required(permission, path, "ToPort", Value::as_i64)?;
    Ok(from <= 1 && to >= 65535)
}

/// Fails a security group with an ingress rule that opens every port to anywhere.
pub(crate) fn evaluate_all_ports(r: &Resource) -> Result<Verdict, MissingData> {
    let group = described(r, "SecurityGroup")?;
    let matches = matching(group, "SecurityGroup", Families::BOTH, opens_all_ports)?;
    Ok(verdict(matches, json!({})))
}

/// A port that should never be reachable from the internet, and what usually listens on it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RiskyPort {
    pub port: u16,
    pub protocol: Protocol,
    pub service: &'static str,
}

const fn tcp(port: u16, service: &'static str) -> RiskyPort {
    RiskyPort { port, protocol: Protocol::Tcp, service }
}

const fn udp(port: u16, service: &'static str) -> RiskyPort {
    RiskyPort { port, protocol: Protocol::Udp, service }
}

/// Remote administration: each has its own security-group policy
/// (`ec2-sg-open-ssh`, `ec2-sg-open-rdp`) because CIS names them.
pub(crate) const REMOTE_ADMIN_PORTS: &[RiskyPort] = &[tcp(22, "SSH"), tcp(3389, "RDP")];

/// Services that are attacked as soon as they face the internet: databases,
/// caches, file sharing, directory and cleartext protocols, unauthenticated
/// admin APIs. SSH and RDP are in [`REMOTE_ADMIN_PORTS`].
pub(crate) const HIGH_RISK_PORTS: &[RiskyPort] = &[
    tcp(20, "FTP data"),
    tcp(21, "FTP"),
    tcp(23, "Telnet"),
    tcp(25, "SMTP"),
    tcp(88, "Kerberos"),
    udp(88, "Kerberos"),
    tcp(135, "Microsoft RPC"),
    udp(137, "NetBIOS name service"),
    udp(138, "NetBIOS datagram"),
    tcp(139, "SMB over NetBIOS"),
    udp(161, "SNMP"),
    tcp(389, "LDAP"),
    udp(389, "CLDAP"),
    tcp(445, "SMB/CIFS"),
    tcp(636, "LDAPS"),
    tcp(1433, "Microsoft SQL Server"),
    udp(1434, "SQL Server Browser"),
    tcp(1521, "Oracle Database"),
    tcp(2049, "NFS"),
    tcp(2375, "Docker API (plain)"),
    tcp(2376, "Docker API (TLS)"),
    tcp(3306, "MySQL/MariaDB"),
    tcp(5432, "PostgreSQL"),
    tcp(5601, "Kibana"),
    tcp(5900, "VNC"),
    tcp(5984, "CouchDB"),
    tcp(6379, "Redis"),
    tcp(7001, "Cassandra (TLS)"),
    tcp(8020, "Hadoop HDFS NameNode"),
    tcp(9042, "Cassandra CQL"),
    tcp(9092, "Kafka"),
    tcp(9200, "Elasticsearch/OpenSearch HTTP"),
    tcp(9300, "Elasticsearch transport"),
    tcp(11211, "Memcached"),
    udp(11211, "Memcached"),
    tcp(27017, "MongoDB"),
    tcp(27018, "MongoDB shard"),
];

/// The `ports` of a DescribeSecurityGroups item (at `group_path`) that its
/// ingress lets in from the internet (sources of `families`): one evidence
/// entry per exposed port, naming the service and the permission. One exposed
/// port decides; `Err` only when none is exposed by a complete permission but an
/// incomplete one might expose some.
pub(crate) fn exposed_ports(
    group: &Value,
    group_path: &str,
    families: Families,
    ports: &[RiskyPort],
) -> Result<Vec<Value>, MissingData> {
    let mut exposed = Vec::new();
    let mut undecided = None;
    for risky in ports {
        match matching(group, group_path, families, |p, path| covers(p, path, risky.protocol, risky.port)) {
            Ok(matches) => {
                if let Some(m) = matches.first() {
                    exposed.push(json!({"Port": risky.port, "Protocol": risky.protocol.name(),
                                        "Service": risky.service, "Path": m.path, "Source": m.source}));
                }
            }
            Err(e) => undecided = undecided.or(Some(e)),
        }
    }
    match undecided {
        Some(e) if exposed.is_empty() => Err(e),
        _ => Ok(exposed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{permission, sg_with, unreadable};

    fn verdict(permissions: Value, protocol: Protocol, port: u16) -> Verdict {
        evaluate(&sg_with(permissions), protocol, port).unwrap_or_else(Verdict::from)
    }

    #[test]
    fn which_permissions_expose_a_port() {
        let any4 = &["0.0.0.0/0"][..];
        let any6 = &["::/0"][..];
        let none = &[][..];
        let tcp = Protocol::Tcp;
        let group_reference = json!({"IpProtocol": "-1", "IpRanges": [], "Ipv6Ranges": [], "PrefixListIds": [],
                                     "UserIdGroupPairs": [{"GroupId": "sg-1", "UserId": "123456789012"}]});
        let ipv4_only_shape =
            json!({"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]});
        let (open4, private4) = (json!([{"CidrIp": "0.0.0.0/0"}]), json!([{"CidrIp": "10.0.0.0/8"}]));
        let cases = [
            ("tcp port exactly", permission("tcp", Some((22, 22)), any4, none), tcp, 22, "fail"),
            ("tcp other port", permission("tcp", Some((443, 443)), any4, none), tcp, 22, "pass"),
            ("IPv6 ::/0", permission("tcp", Some((22, 22)), none, any6), tcp, 22, "fail"),
            ("inside a range", permission("tcp", Some((1000, 4000)), any4, none), tcp, 3389, "fail"),
            ("range lower bound", permission("tcp", Some((3389, 4000)), any4, none), tcp, 3389, "fail"),
            ("range upper bound", permission("tcp", Some((1, 22)), any4, none), tcp, 22, "fail"),
            ("just outside a range", permission("tcp", Some((23, 3388)), any4, none), tcp, 22, "pass"),
            ("all traffic", permission("-1", None, any4, none), tcp, 22, "fail"),
            ("all traffic over IPv6", permission("-1", None, none, any6), tcp, 3389, "fail"),
            ("protocol number 6", permission("6", Some((22, 22)), any4, none), tcp, 22, "fail"),
            ("udp is not tcp", permission("udp", Some((22, 22)), any4, any6), tcp, 22, "pass"),
            ("protocol 17 is not tcp", permission("17", Some((0, 65535)), any4, none), tcp, 22, "pass"),
            ("udp when asked for udp", permission("udp", Some((53, 53)), any4, none), Protocol::Udp, 53, "fail"),
            ("icmp", permission("icmp", Some((-1, -1)), any4, any6), tcp, 22, "pass"),
            ("private CIDR", permission("tcp", Some((22, 22)), &["10.0.0.0/8"], &["fd00::/8"]), tcp, 22, "pass"),
            ("one host", permission("-1", None, &["203.0.113.7/32"], none), tcp, 22, "pass"),
            ("half the internet is not all", permission("tcp", Some((22, 22)), &["0.0.0.0/1"], none), tcp, 22, "pass"),
            ("group reference only", group_reference, tcp, 22, "pass"),
            ("no Ipv6Ranges key (older responses)", ipv4_only_shape, tcp, 22, "fail"),
            ("open tcp rule without ports", json!({"IpProtocol": "tcp", "IpRanges": open4}), tcp, 22, "error"),
            ("private tcp rule without ports", json!({"IpProtocol": "tcp", "IpRanges": private4}), tcp, 22, "pass"),
        ];
        for (name, p, protocol, port, expected) in cases {
            let v = verdict(json!([p]), protocol, port);
            assert_eq!(v.name(), expected, "{name}: {v:?}");
        }
    }

    #[test]
    fn a_complete_match_outweighs_an_incomplete_rule() {
        let broken = json!({"IpProtocol": "tcp", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]});
        let open = permission("tcp", Some((22, 22)), &["0.0.0.0/0"], &[]);
        assert_eq!(verdict(json!([broken, open]), Protocol::Tcp, 22).name(), "fail");
        let reason = match verdict(json!([broken]), Protocol::Tcp, 22) {
            Verdict::Error(e) => e,
            v => panic!("{v:?}"),
        };
        assert_eq!(reason, "SecurityGroup.IpPermissions[0].FromPort is absent");
    }

    #[test]
    fn evidence_points_at_the_permission_and_range() {
        let private = permission("tcp", Some((22, 22)), &["10.0.0.0/8"], &[]);
        let open = permission("tcp", Some((20, 30)), &["10.1.0.0/16", "0.0.0.0/0"], &["::/0"]);
        let v = verdict(json!([private, open]), Protocol::Tcp, 22);
        let Verdict::Fail(e) = v else { panic!("{v:?}") };
        assert_eq!(
            e,
            json!({
                "Path": "SecurityGroup.IpPermissions[1].IpRanges[1]",
                "Source": "0.0.0.0/0",
                "Rule": open,
                "Protocol": "tcp",
                "Port": 22,
                "AlsoMatched": ["SecurityGroup.IpPermissions[1].Ipv6Ranges[0]"],
            })
        );
    }

    #[test]
    fn unreadable_or_incomplete_groups_are_errors() {
        let unread = unreadable(sg_with(json!([])), "SecurityGroup");
        assert!(evaluate(&unread, Protocol::Tcp, 22).unwrap_err().0.contains("SecurityGroup could not be read"));
        let mut r = sg_with(json!([]));
        r.configuration["SecurityGroup"].as_object_mut().unwrap().remove("IpPermissions");
        assert_eq!(evaluate(&r, Protocol::Tcp, 22).unwrap_err().0, "SecurityGroup.IpPermissions is absent");
        // No ingress at all is a closed group.
        assert_eq!(verdict(json!([]), Protocol::Tcp, 22), Verdict::Pass);
    }
}
