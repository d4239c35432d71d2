//! `Condition` blocks, and which of them restrict *who* can use a grant.
//!
//! A statement's conditions are ANDed, so one condition that limits the caller
//! to known parties is enough to make a grant to `*` non-public. This follows
//! S3's own definition of a public policy ("The meaning of public"), with the
//! choices below made explicit:
//!
//! - **Keys that identify the caller or its network** ([`RESTRICTING_KEYS`]):
//!   `aws:SourceVpce`, `aws:SourceVpc`, `aws:SourceIp`, `aws:PrincipalOrgID`,
//!   `aws:PrincipalOrgPaths`, `aws:PrincipalAccount`, `aws:PrincipalArn`,
//!   `aws:SourceAccount`, `aws:SourceArn`, `aws:SourceOwner`, `aws:userid`,
//!   `s3:DataAccessPointAccount`, `s3:DataAccessPointArn`. Anything else
//!   (`aws:Referer`, `aws:SecureTransport`, `s3:x-amz-acl`, …) does not limit
//!   who may call: `aws:Referer` is set by the caller.
//! - **Operators that require a match**: `StringEquals`, `StringEqualsIgnoreCase`,
//!   `StringLike`, `ArnEquals`, `ArnLike` and, for `aws:SourceIp`, `IpAddress`.
//!   `ForAnyValue:` keeps the meaning (an absent key fails it). `ForAllValues:`
//!   and `…IfExists` do **not** restrict: both are true when the key is absent,
//!   as it is for an anonymous caller. Negated operators (`StringNotEquals`,
//!   `NotIpAddress`, …) in an Allow do not restrict either: they name who is
//!   *excluded*, everyone else gets in.
//! - **Fixed values only**: a value with a wildcard or a policy variable
//!   (`${aws:username}`) is not fixed, except an ARN whose account field is fixed
//!   (`arn:aws:iam::111122223333:role/*` is that account), an `aws:userid` whose
//!   unique id before `:` is fixed (`AROAEXAMPLE:*`), and an
//!   `aws:PrincipalOrgPaths` whose organization id is fixed.
//! - **`aws:SourceIp`** restricts when *every* CIDR is private or small:
//!   inside RFC 1918 (`10/8`, `172.16/12`, `192.168/16`), loopback, link-local,
//!   shared address space (`100.64/10`), IPv6 unique-local (`fc00::/7`),
//!   link-local and loopback; or a public range of at most
//!   [`MAX_PUBLIC_IPV4_ADDRESSES`] IPv4 addresses (prefix `/24` or longer) or
//!   an IPv6 prefix of `/48` or longer (one site). `0.0.0.0/0`, `::/0` and
//!   any wider public range are the internet, not a restriction.
//!
//! The mirror image, a **Deny with a negated condition** (`Deny *` unless
//! `StringNotEquals aws:SourceVpce vpce-1`), restricts every grant it covers to
//! that endpoint; see [`Condition::restricts_through_deny`].

use serde_json::Value;
use std::net::{Ipv4Addr, Ipv6Addr};

use super::pattern::has_wildcard;

/// Condition keys whose fixed values limit who can make the request.
pub const RESTRICTING_KEYS: &[&str] = &[
    "aws:SourceVpce",
    "aws:SourceVpc",
    "aws:SourceIp",
    "aws:PrincipalOrgID",
    "aws:PrincipalOrgPaths",
    "aws:PrincipalAccount",
    "aws:PrincipalArn",
    "aws:SourceAccount",
    "aws:SourceArn",
    "aws:SourceOwner",
    "aws:userid",
    "s3:DataAccessPointAccount",
    "s3:DataAccessPointArn",
];

/// The largest public IPv4 range (in addresses) `aws:SourceIp` may name and
/// still count as a restriction: a `/24`.
pub const MAX_PUBLIC_IPV4_ADDRESSES: u32 = 256;

/// The shortest public IPv6 prefix that still counts as a restriction (one site).
pub const MIN_PUBLIC_IPV6_PREFIX: u8 = 48;

/// `ForAnyValue:` / `ForAllValues:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetQualifier {
    ForAnyValue,
    ForAllValues,
}

/// One operator-key pair of a `Condition` block, e.g.
/// `"StringEquals": {"aws:SourceVpce": ["vpce-1a2b3c4d"]}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// The operator as written: `ForAnyValue:StringLikeIfExists`.
    pub operator: String,
    /// Without qualifier and `IfExists`: `StringLike`.
    pub base_operator: String,
    pub qualifier: Option<SetQualifier>,
    pub if_exists: bool,
    /// The key as written (keys compare case-insensitively).
    pub key: String,
    /// The values, as strings (`true`, `3600` for booleans and numbers).
    pub values: Vec<String>,
    /// JSON path, e.g. `Policy.Statement[0].Condition.StringEquals["aws:SourceVpce"]`.
    pub path: String,
}

const POSITIVE_STRING_OPERATORS: &[&str] = &["StringEquals", "StringEqualsIgnoreCase", "StringLike"];
const POSITIVE_ARN_OPERATORS: &[&str] = &["ArnEquals", "ArnLike"];
const NEGATED_STRING_OPERATORS: &[&str] = &["StringNotEquals", "StringNotEqualsIgnoreCase", "StringNotLike"];
const NEGATED_ARN_OPERATORS: &[&str] = &["ArnNotEquals", "ArnNotLike"];

/// `parent.key`, or `parent["key"]` when the key is not a plain identifier.
pub(crate) fn child_path(parent: &str, key: &str) -> String {
    if !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        format!("{parent}.{key}")
    } else {
        format!("{parent}[{}]", Value::String(key.to_string()))
    }
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Parses a statement's `Condition` value (`path` is where it sits).
pub(crate) fn parse_conditions(block: &Value, path: &str) -> Result<Vec<Condition>, String> {
    let Some(operators) = block.as_object() else {
        return Err(format!("{path} is not an object: {block}"));
    };
    let mut out = Vec::new();
    for (operator, keys) in operators {
        let op_path = child_path(path, operator);
        let Some(keys) = keys.as_object() else {
            return Err(format!("{op_path} is not an object: {keys}"));
        };
        let (qualifier, rest) = if let Some(r) = strip_prefix_ci(operator, "ForAnyValue:") {
            (Some(SetQualifier::ForAnyValue), r)
        } else if let Some(r) = strip_prefix_ci(operator, "ForAllValues:") {
            (Some(SetQualifier::ForAllValues), r)
        } else {
            (None, operator.as_str())
        };
        let (base, if_exists) = match rest.len().checked_sub("IfExists".len()) {
            Some(cut) if rest.is_char_boundary(cut) && rest[cut..].eq_ignore_ascii_case("IfExists") => {
                (&rest[..cut], true)
            }
            _ => (rest, false),
        };
        for (key, values) in keys {
            let key_path = child_path(&op_path, key);
            let values: Vec<String> = match values {
                Value::Array(items) => items.iter().map(scalar).collect::<Option<_>>(),
                v => scalar(v).map(|s| vec![s]),
            }
            .ok_or_else(|| format!("{key_path} has an unexpected value: {values}"))?;
            out.push(Condition {
                operator: operator.clone(),
                base_operator: base.to_string(),
                qualifier,
                if_exists,
                key: key.clone(),
                values,
                path: key_path,
            });
        }
    }
    Ok(out)
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    (s.len() >= prefix.len() && s.is_char_boundary(prefix.len()) && s[..prefix.len()].eq_ignore_ascii_case(prefix))
        .then(|| &s[prefix.len()..])
}

fn one_of(s: &str, list: &[&str]) -> bool {
    list.iter().any(|x| x.eq_ignore_ascii_case(s))
}

impl Condition {
    /// Whether the key is `key` (case-insensitive, as IAM compares keys).
    pub fn is_key(&self, key: &str) -> bool {
        self.key.eq_ignore_ascii_case(key)
    }

    fn restricting_key(&self) -> bool {
        one_of(&self.key, RESTRICTING_KEYS)
    }

    fn all_values_fixed(&self) -> bool {
        !self.values.is_empty() && self.values.iter().all(|v| fixed_value(&self.key, v))
    }

    /// In an **Allow**: whether this condition limits the grant to known
    /// parties (see the module documentation for the rules).
    pub fn restricts_caller(&self) -> bool {
        if !self.restricting_key() || self.if_exists || self.qualifier == Some(SetQualifier::ForAllValues) {
            return false;
        }
        let operator_ok = if self.is_key("aws:SourceIp") {
            self.base_operator.eq_ignore_ascii_case("IpAddress")
        } else {
            one_of(&self.base_operator, POSITIVE_STRING_OPERATORS)
                || one_of(&self.base_operator, POSITIVE_ARN_OPERATORS)
        };
        operator_ok && self.all_values_fixed()
    }

    /// In a **Deny** that is this condition alone: whether the Deny shuts out
    /// everyone but known parties (`StringNotEquals aws:SourceVpce vpce-1`
    /// denies every request not through that endpoint, including anonymous
    /// ones, whose key is absent: negated operators are true on an absent key,
    /// with or without `IfExists`). `ForAnyValue:` negations are false on an
    /// absent key, so they do not.
    pub fn restricts_through_deny(&self) -> bool {
        if !self.restricting_key() || self.qualifier == Some(SetQualifier::ForAnyValue) {
            return false;
        }
        let operator_ok = if self.is_key("aws:SourceIp") {
            self.base_operator.eq_ignore_ascii_case("NotIpAddress")
        } else {
            one_of(&self.base_operator, NEGATED_STRING_OPERATORS) || one_of(&self.base_operator, NEGATED_ARN_OPERATORS)
        };
        operator_ok && self.all_values_fixed()
    }

    /// The 12-digit account ids this condition names, when its key names
    /// accounts (`aws:PrincipalAccount`, `aws:SourceAccount`, `aws:SourceOwner`,
    /// `s3:DataAccessPointAccount`) or ARNs (`aws:PrincipalArn`,
    /// `aws:SourceArn`, `s3:DataAccessPointArn`).
    pub fn named_accounts(&self) -> Vec<String> {
        let account_keys =
            ["aws:PrincipalAccount", "aws:SourceAccount", "aws:SourceOwner", "s3:DataAccessPointAccount"];
        let arn_keys = ["aws:PrincipalArn", "aws:SourceArn", "s3:DataAccessPointArn"];
        let mut out: Vec<String> = if one_of(&self.key, &account_keys) {
            self.values.iter().filter(|v| is_account_id(v)).cloned().collect()
        } else if one_of(&self.key, &arn_keys) {
            self.values.iter().filter_map(|v| arn_account(v)).filter(|a| is_account_id(a)).map(str::to_string).collect()
        } else {
            Vec::new()
        };
        out.dedup();
        out
    }
}

/// Whether `s` is a 12-digit AWS account id.
pub fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// The account field of an ARN (`arn:PARTITION:SERVICE:REGION:ACCOUNT:…`).
pub fn arn_account(arn: &str) -> Option<&str> {
    let mut parts = arn.splitn(6, ':');
    (parts.next()? == "arn").then_some(())?;
    parts.nth(3)
}

fn fixed_value(key: &str, value: &str) -> bool {
    if value.is_empty() || value.contains("${") {
        return false;
    }
    if key.eq_ignore_ascii_case("aws:SourceIp") {
        return small_or_private_cidr(value);
    }
    if !has_wildcard(value) {
        return true;
    }
    if one_of(key, &["aws:PrincipalArn", "aws:SourceArn", "s3:DataAccessPointArn"]) {
        // Wildcards after a fixed account still mean that one account.
        let prefix: Vec<&str> = value.splitn(6, ':').collect();
        return prefix.len() == 6
            && prefix[0] == "arn"
            && prefix[..5].iter().all(|p| !has_wildcard(p))
            && is_account_id(prefix[4]);
    }
    if key.eq_ignore_ascii_case("aws:userid") {
        return value.split_once(':').is_some_and(|(id, _)| !id.is_empty() && !has_wildcard(id));
    }
    if key.eq_ignore_ascii_case("aws:PrincipalOrgPaths") {
        return value.split_once('/').is_some_and(|(org, _)| org.starts_with("o-") && !has_wildcard(org));
    }
    false
}

/// Whether a CIDR (or single address) is private, or small enough to be a
/// fixed set of known hosts (see the module documentation).
pub fn small_or_private_cidr(cidr: &str) -> bool {
    let (addr, prefix) = match cidr.split_once('/') {
        Some((a, p)) => (a, p.parse::<u8>().ok()),
        None => (cidr, None),
    };
    if let Ok(ip) = addr.parse::<Ipv4Addr>() {
        let prefix = match prefix {
            Some(p) if p <= 32 => p,
            Some(_) => return false,
            None if !cidr.contains('/') => 32,
            None => return false,
        };
        let private: [(Ipv4Addr, u8); 5] = [
            (Ipv4Addr::new(10, 0, 0, 0), 8),
            (Ipv4Addr::new(172, 16, 0, 0), 12),
            (Ipv4Addr::new(192, 168, 0, 0), 16),
            (Ipv4Addr::new(100, 64, 0, 0), 10),
            (Ipv4Addr::new(127, 0, 0, 0), 8),
        ];
        let link_local = (Ipv4Addr::new(169, 254, 0, 0), 16);
        let inside = |(net, len): (Ipv4Addr, u8)| {
            prefix >= len && (u32::from(ip) ^ u32::from(net)) >> (32 - u32::from(len)) == 0
        };
        let size = 1u64 << (32 - u32::from(prefix));
        return private.into_iter().chain([link_local]).any(inside) || size <= u64::from(MAX_PUBLIC_IPV4_ADDRESSES);
    }
    if let Ok(ip) = addr.parse::<Ipv6Addr>() {
        let prefix = match prefix {
            Some(p) if p <= 128 => p,
            Some(_) => return false,
            None if !cidr.contains('/') => 128,
            None => return false,
        };
        let bits = u128::from(ip);
        let inside = |net: u128, len: u8| prefix >= len && (bits ^ net) >> (128 - u32::from(len)) == 0;
        return inside(0xfc00 << 112, 7)
            || inside(0xfe80 << 112, 10)
            || (prefix == 128 && ip.is_loopback())
            || prefix >= MIN_PUBLIC_IPV6_PREFIX;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn one(block: Value) -> Condition {
        let mut c = parse_conditions(&block, "S.Condition").unwrap();
        assert_eq!(c.len(), 1);
        c.pop().unwrap()
    }

    #[test]
    fn parsing_operators_keys_and_values() {
        let c = one(json!({"ForAnyValue:StringLikeIfExists": {"aws:SourceVpce": ["vpce-1", "vpce-2"]}}));
        assert_eq!(c.base_operator, "StringLike");
        assert_eq!(c.qualifier, Some(SetQualifier::ForAnyValue));
        assert!(c.if_exists);
        assert_eq!(c.values, ["vpce-1", "vpce-2"]);
        assert_eq!(c.path, r#"S.Condition["ForAnyValue:StringLikeIfExists"]["aws:SourceVpce"]"#);
        let c = one(json!({"Bool": {"aws:SecureTransport": false}}));
        assert_eq!((c.base_operator.as_str(), c.values.as_slice()), ("Bool", &["false".to_string()][..]));
        assert_eq!(c.path, r#"S.Condition.Bool["aws:SecureTransport"]"#);
        assert!(parse_conditions(&json!({"StringEquals": "x"}), "S.Condition").is_err());
        assert!(parse_conditions(&json!({"StringEquals": {"k": {"a": 1}}}), "S.Condition").is_err());
        assert!(parse_conditions(&json!(["x"]), "S.Condition").is_err());
    }

    #[test]
    fn which_conditions_restrict_the_caller_in_an_allow() {
        for (block, restricts) in [
            (json!({"StringEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}}), true),
            (json!({"StringEquals": {"AWS:SOURCEVPCE": "vpce-1a2b3c4d"}}), true),
            (json!({"StringEquals": {"aws:SourceVpc": "vpc-111bbb22"}}), true),
            (json!({"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}), true),
            (json!({"StringEquals": {"aws:PrincipalAccount": ["111122223333"]}}), true),
            (json!({"StringEquals": {"aws:SourceAccount": "111122223333"}}), true),
            (json!({"ArnLike": {"aws:SourceArn": "arn:aws:cloudtrail:us-east-1:111122223333:trail/*"}}), true),
            (json!({"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/admin"}}), false),
            (json!({"StringLike": {"aws:userid": "AROAEXAMPLEID:*"}}), true),
            (json!({"StringLike": {"aws:userid": "*"}}), false),
            (json!({"StringEquals": {"s3:DataAccessPointAccount": "644160558196"}}), true),
            (json!({"ForAnyValue:StringEquals": {"aws:SourceVpce": "vpce-1"}}), true),
            // True for a request without the key, e.g. an anonymous one.
            (json!({"ForAllValues:StringEquals": {"aws:SourceVpce": "vpce-1"}}), false),
            (json!({"StringEqualsIfExists": {"aws:SourceVpce": "vpce-1"}}), false),
            // Names who is excluded; everyone else is in.
            (json!({"StringNotEquals": {"aws:SourceVpce": "vpce-1"}}), false),
            (json!({"StringLike": {"aws:PrincipalOrgID": "o-*"}}), false),
            (json!({"StringEquals": {"aws:PrincipalOrgID": "${aws:PrincipalTag/org}"}}), false),
            (json!({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}), true),
            (json!({"IpAddress": {"aws:SourceIp": ["192.168.1.0/24", "203.0.113.7/32"]}}), true),
            (json!({"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}}), false),
            (json!({"IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "0.0.0.0/0"]}}), false),
            (json!({"IpAddress": {"aws:SourceIp": "54.0.0.0/8"}}), false),
            (json!({"IpAddress": {"aws:SourceIp": "::/0"}}), false),
            (json!({"IpAddress": {"aws:SourceIp": "2001:db8:1234::/48"}}), true),
            (json!({"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}), false),
            (json!({"StringEquals": {"aws:Referer": "https://example.com/"}}), false),
            (json!({"Bool": {"aws:SecureTransport": "true"}}), false),
            (json!({"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}}), false),
        ] {
            assert_eq!(one(block.clone()).restricts_caller(), restricts, "{block}");
        }
    }

    #[test]
    fn which_deny_conditions_restrict_the_caller() {
        for (block, restricts) in [
            (json!({"StringNotEquals": {"aws:SourceVpce": "vpce-1"}}), true),
            (json!({"StringNotEqualsIfExists": {"aws:SourceVpce": "vpce-1"}}), true),
            (json!({"ForAnyValue:StringNotEquals": {"aws:SourceVpce": "vpce-1"}}), false),
            (json!({"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}), true),
            (json!({"NotIpAddress": {"aws:SourceIp": "0.0.0.0/0"}}), false),
            (json!({"StringNotEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}), true),
            (json!({"StringEquals": {"aws:SourceVpce": "vpce-1"}}), false),
            (json!({"Bool": {"aws:SecureTransport": "false"}}), false),
        ] {
            assert_eq!(one(block.clone()).restricts_through_deny(), restricts, "{block}");
        }
    }

    #[test]
    fn cidrs() {
        for (cidr, ok) in [
            ("10.1.2.0/24", true),
            ("172.16.0.0/12", true),
            ("172.32.0.0/12", false),
            ("192.168.0.0/16", true),
            ("100.64.0.0/10", true),
            ("203.0.113.0/24", true),
            ("203.0.113.0/23", false),
            ("203.0.113.9", true),
            ("0.0.0.0/0", false),
            ("8.0.0.0/7", false),
            ("fd00::/8", true),
            ("2001:db8::/32", false),
            ("::/0", false),
            ("garbage", false),
            ("10.0.0.0/33", false),
        ] {
            assert_eq!(small_or_private_cidr(cidr), ok, "{cidr}");
        }
    }

    #[test]
    fn accounts_named_by_conditions() {
        let c = one(json!({"StringEquals": {"aws:PrincipalAccount": ["111122223333", "o-x"]}}));
        assert_eq!(c.named_accounts(), ["111122223333"]);
        let c = one(json!({"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::444455556666:role/*"}}));
        assert_eq!(c.named_accounts(), ["444455556666"]);
        let c = one(json!({"StringEquals": {"aws:SourceVpce": "vpce-1"}}));
        assert!(c.named_accounts().is_empty());
        assert_eq!(arn_account("arn:aws:iam::123456789012:root"), Some("123456789012"));
        assert_eq!(arn_account("arn:aws:s3:::bucket"), Some(""));
        assert_eq!(arn_account("123456789012"), None);
    }
}
