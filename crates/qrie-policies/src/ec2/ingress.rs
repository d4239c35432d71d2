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
    #[cfg_attr(not(test), allow(dead_code))] // No UDP policy yet; tests keep the distinction honest.
    Udp,
}

impl Protocol {
    fn name(self) -> &'static str {
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

    fn carried_by(self, ip_protocol: &str) -> bool {
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
fn internet_sources(permission: &Value, path: &str) -> Vec<(String, String)> {
    [("IpRanges", "CidrIp"), ("Ipv6Ranges", "CidrIpv6")]
        .into_iter()
        .flat_map(|(list, key)| {
            let ranges = permission.get(list).and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
            ranges.iter().enumerate().filter_map(move |(j, range)| {
                let cidr = range.get(key)?.as_str()?;
                is_whole_internet(cidr).then(|| (format!("{path}.{list}[{j}]"), cidr.to_string()))
            })
        })
        .collect()
}

/// Fails a security group whose ingress lets `protocol`/`port` in from anywhere.
/// One complete matching permission decides; an incomplete permission that
/// might match makes the verdict `Error` only if nothing else matched.
pub(crate) fn evaluate(r: &Resource, protocol: Protocol, port: u16) -> Result<Verdict, MissingData> {
    let group = described(r, "SecurityGroup")?;
    let permissions = required(group, "SecurityGroup", "IpPermissions", Value::as_array)?;
    let mut matches = Vec::new();
    let mut undecided = None;
    for (i, permission) in permissions.iter().enumerate() {
        let path = format!("SecurityGroup.IpPermissions[{i}]");
        let sources = internet_sources(permission, &path);
        if sources.is_empty() {
            continue;
        }
        match covers(permission, &path, protocol, port) {
            Ok(true) => matches.extend(sources.into_iter().map(|(p, cidr)| (p, cidr, permission))),
            Ok(false) => {}
            Err(e) => undecided = undecided.or(Some(e)),
        }
    }
    let Some((path, source, rule)) = matches.first() else {
        return match undecided {
            Some(e) => Err(e),
            None => Ok(Verdict::Pass),
        };
    };
    let mut evidence = json!({
        "Path": path,
        "Source": source,
        "Rule": rule,
        "Protocol": protocol.name(),
        "Port": port,
    });
    if matches.len() > 1 {
        evidence["AlsoMatched"] = matches[1..].iter().map(|(p, _, _)| json!(p)).collect();
    }
    Ok(Verdict::Fail(evidence))
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
