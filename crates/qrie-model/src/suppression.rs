//! Suppression rules: an operator's accountable decision that some findings
//! are accepted (a reason, a category, an owner, an expiry).
//!
//! A suppression never changes a finding: the finding keeps being evaluated
//! and keeps its lifecycle state. Whether it is suppressed is derived when it
//! is read, from the rules in effect at that moment ([`SuppressionRule::in_effect`]),
//! so a rule that expires, is disabled or deleted stops suppressing at once
//! and nothing stale is left behind. The one implementation of matching is
//! [`SuppressionScope::matches`].

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use crate::ids::{validate_account_id, validate_org_unit, validate_region};
use crate::text::{check_len, limits};
use crate::{AccountPlacement, TagCondition, Timestamp, ValidationError};

/// Why findings are accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SuppressionCategory {
    AcceptedRisk,
    FalsePositive,
    CompensatingControl,
    ByDesign,
}

impl SuppressionCategory {
    pub const ALL: [SuppressionCategory; 4] = [
        SuppressionCategory::AcceptedRisk,
        SuppressionCategory::FalsePositive,
        SuppressionCategory::CompensatingControl,
        SuppressionCategory::ByDesign,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SuppressionCategory::AcceptedRisk => "accepted-risk",
            SuppressionCategory::FalsePositive => "false-positive",
            SuppressionCategory::CompensatingControl => "compensating-control",
            SuppressionCategory::ByDesign => "by-design",
        }
    }

    /// As people read it.
    pub fn label(self) -> &'static str {
        match self {
            SuppressionCategory::AcceptedRisk => "Accepted risk",
            SuppressionCategory::FalsePositive => "False positive",
            SuppressionCategory::CompensatingControl => "Compensating control",
            SuppressionCategory::ByDesign => "By design",
        }
    }
}

impl fmt::Display for SuppressionCategory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SuppressionCategory {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase().replace(['_', ' '], "-");
        SuppressionCategory::ALL.into_iter().find(|c| c.as_str() == wanted).ok_or_else(|| ValidationError::Choice {
            what: "suppression category",
            value: s.into(),
            expected: "accepted-risk, false-positive, compensating-control, by-design",
        })
    }
}

/// One finding: its resource and policy.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FindingKey {
    #[serde(rename = "ARN")]
    pub arn: String,
    pub policy: String,
}

/// Which findings a rule suppresses. Every field given must match (an empty
/// list or `None` matches anything); within a list any entry may match,
/// except tags, which must all match. Regions are compared as written, so a
/// rule for `us-east-1` does not cover global resources (region `global`,
/// which can be listed too).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct SuppressionScope {
    pub policies: Vec<String>,
    pub accounts: Vec<String>,
    /// An account is in an OU if the OU is anywhere on its path from the root.
    pub ous: Vec<String>,
    pub regions: Vec<String>,
    /// A resource ARN, exact or a glob (`*` any run of characters, `?` one).
    #[serde(rename = "ARN")]
    pub arn: Option<String>,
    /// All must match the resource's tags.
    pub tags: Vec<TagCondition>,
    /// Exactly one finding.
    pub finding: Option<FindingKey>,
}

/// What a finding is matched on.
#[derive(Debug, Clone, Copy)]
pub struct SuppressionSubject<'a> {
    pub arn: &'a str,
    pub policy: &'a str,
    pub account: AccountPlacement<'a>,
    pub region: &'a str,
    /// The resource's tags (empty when the rule reads none: see [`SuppressionScope::reads_tags`]).
    pub tags: &'a BTreeMap<String, String>,
}

/// The longest ARN pattern.
const MAX_ARN: usize = 2048;

/// The scope as people read it: `policies: a, b; accounts: 1, 2; ARN: x`.
impl std::fmt::Display for SuppressionScope {
    fn fmt(&self, out: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        fn joined<T: ToString>(items: &[T]) -> String {
            items.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
        }
        let finding = self.finding.as_ref().map(|f| format!("{} / {}", f.arn, f.policy));
        let parts = [
            ("policies", joined(&self.policies)),
            ("accounts", joined(&self.accounts)),
            ("OUs", joined(&self.ous)),
            ("regions", joined(&self.regions)),
            ("tags (all)", joined(&self.tags)),
            ("ARN", self.arn.clone().unwrap_or_default()),
            ("finding", finding.unwrap_or_default()),
        ];
        let shown: Vec<String> =
            parts.into_iter().filter(|(_, v)| !v.is_empty()).map(|(name, v)| format!("{name}: {v}")).collect();
        out.write_str(&shown.join("; "))
    }
}

impl SuppressionScope {
    /// Rejects malformed ids and a rule that would match every finding (a
    /// rule must say what it accepts).
    pub fn validate(&self) -> Result<(), ValidationError> {
        for a in &self.accounts {
            validate_account_id(a)?;
        }
        for ou in &self.ous {
            validate_org_unit(ou)?;
        }
        for r in &self.regions {
            if r != crate::ids::GLOBAL_REGION {
                validate_region(r)?;
            }
        }
        for p in &self.policies {
            check_len("a policy id", p, 200)?;
            if p.trim().is_empty() {
                return Err(ValidationError::Parameter { name: "policies".into(), reason: "empty policy id".into() });
            }
        }
        if let Some(arn) = &self.arn {
            check_len("the ARN pattern", arn, MAX_ARN)?;
            if arn.trim().is_empty() {
                return Err(ValidationError::Parameter { name: "arn".into(), reason: "empty ARN pattern".into() });
            }
        }
        if let Some(f) = &self.finding {
            check_len("the finding's ARN", &f.arn, MAX_ARN)?;
            if f.arn.is_empty() || f.policy.is_empty() {
                return Err(ValidationError::Parameter {
                    name: "finding".into(),
                    reason: "a finding is named by its resource ARN and its policy".into(),
                });
            }
        }
        for t in &self.tags {
            if t.key.trim().is_empty() {
                return Err(ValidationError::TagCondition(t.to_string()));
            }
            check_len("a tag key", &t.key, limits::TAG_KEY)?;
            if let Some(v) = &t.value {
                check_len("a tag value", v, limits::TAG_VALUE)?;
            }
        }
        let lists = [
            ("rule policies", self.policies.len()),
            ("rule accounts", self.accounts.len()),
            ("rule OUs", self.ous.len()),
            ("rule regions", self.regions.len()),
            ("rule tags", self.tags.len()),
        ];
        for (what, got) in lists {
            if got > limits::SCOPE_LIST {
                return Err(ValidationError::TooMany { what, max: limits::SCOPE_LIST, got });
            }
        }
        if self.is_everything() {
            return Err(ValidationError::Parameter {
                name: "scope".into(),
                reason:
                    "a rule must name what it suppresses: policies, accounts, OUs, regions, an ARN, tags or a finding"
                        .into(),
            });
        }
        Ok(())
    }

    pub fn is_everything(&self) -> bool {
        *self == SuppressionScope::default()
    }

    /// Whether matching reads the resource's tags (so a reader fetches them).
    pub fn reads_tags(&self) -> bool {
        !self.tags.is_empty()
    }

    /// The ARN a rule names exactly (no glob), if any: a reader can then
    /// look up just that resource's findings.
    pub fn exact_arn(&self) -> Option<&str> {
        self.finding.as_ref().map(|f| f.arn.as_str()).or(self.arn.as_deref().filter(|a| !a.contains(['*', '?'])))
    }

    pub fn matches(&self, s: &SuppressionSubject<'_>) -> bool {
        let any = |list: &[String], v: &str| list.is_empty() || list.iter().any(|x| x == v);
        any(&self.policies, s.policy)
            && any(&self.accounts, s.account.account_id)
            && (self.ous.is_empty() || self.ous.iter().any(|ou| s.account.org_path.contains(ou)))
            && any(&self.regions, s.region)
            && self.arn.as_deref().is_none_or(|p| glob_matches(p, s.arn))
            && self.tags.iter().all(|t| t.matches(s.tags))
            && self.finding.as_ref().is_none_or(|f| f.arn == s.arn && f.policy == s.policy)
    }
}

/// `*` matches any run of characters (none too), `?` exactly one; everything
/// else matches itself. Iterative with one backtrack point, so a hostile
/// pattern costs at most pattern × text steps.
pub fn glob_matches(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || (p[pi] != '*' && p[pi] == t[ti])) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// The shortest and longest reason.
pub const REASON_MIN: usize = 3;
pub const REASON_MAX: usize = 1_000;
/// The longest owner.
pub const OWNER_MAX: usize = 256;

/// A stored rule. `revision` is the store entry's version, for conditional writes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SuppressionRule {
    pub id: String,
    pub scope: SuppressionScope,
    pub reason: String,
    pub category: SuppressionCategory,
    pub owner: String,
    pub created_by: String,
    pub created_at: Timestamp,
    pub updated_by: String,
    pub updated_at: Timestamp,
    /// Since when the rule suppresses what it does now: its creation, or the
    /// last edit of its scope, or its last re-enabling.
    pub in_effect_since: Timestamp,
    #[serde(default)]
    pub expires_at: Option<Timestamp>,
    pub enabled: bool,
    #[serde(default)]
    pub deleted_at: Option<Timestamp>,
    #[serde(default)]
    pub deleted_by: Option<String>,
    /// Set once the rule's expiry has been noticed and recorded (the audit
    /// entry and the unsuppression of its findings), so that happens once.
    #[serde(default)]
    pub expiry_recorded: bool,
    #[serde(skip)]
    pub revision: u64,
}

/// Where a rule stands at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleStatus {
    Active,
    Disabled,
    Expired,
    Deleted,
}

impl RuleStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RuleStatus::Active => "active",
            RuleStatus::Disabled => "disabled",
            RuleStatus::Expired => "expired",
            RuleStatus::Deleted => "deleted",
        }
    }
}

impl fmt::Display for RuleStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl SuppressionRule {
    pub fn status(&self, now: Timestamp) -> RuleStatus {
        if self.deleted_at.is_some() {
            RuleStatus::Deleted
        } else if !self.enabled {
            RuleStatus::Disabled
        } else if self.expires_at.is_some_and(|x| x <= now) {
            RuleStatus::Expired
        } else {
            RuleStatus::Active
        }
    }

    /// Whether the rule suppresses anything at `now`.
    pub fn in_effect(&self, now: Timestamp) -> bool {
        self.status(now) == RuleStatus::Active
    }

    /// The overlay this rule puts on a finding first seen at `first_seen`.
    pub fn overlay(&self, first_seen: Timestamp) -> Suppression {
        Suppression {
            rule_id: self.id.clone(),
            category: self.category,
            since: self.in_effect_since.max(first_seen),
            until: self.expires_at,
        }
    }
}

/// Checks the free-text fields of a rule.
pub fn validate_text(reason: &str, owner: &str) -> Result<(), ValidationError> {
    let n = reason.trim().chars().count();
    if n < REASON_MIN {
        return Err(ValidationError::Parameter {
            name: "reason".into(),
            reason: format!(
                "a reason is required: at least {REASON_MIN} characters saying why these findings are accepted"
            ),
        });
    }
    check_len("the reason", reason, REASON_MAX)?;
    if owner.trim().is_empty() {
        return Err(ValidationError::Parameter {
            name: "owner".into(),
            reason: "an owner is required: who answers for this rule".into(),
        });
    }
    check_len("the owner", owner, OWNER_MAX)
}

/// A finding's suppression, derived when it is read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Suppression {
    pub rule_id: String,
    pub category: SuppressionCategory,
    pub since: Timestamp,
    /// When the rule expires (`None`: it does not).
    pub until: Option<Timestamp>,
}

/// Of several rules matching one finding, the one that holds longest (no
/// expiry first, then the latest expiry, then the lowest id): what the
/// finding shows.
pub fn strongest<'a>(rules: impl IntoIterator<Item = &'a SuppressionRule>) -> Option<&'a SuppressionRule> {
    rules.into_iter().min_by(|a, b| {
        let until = |r: &SuppressionRule| r.expires_at.map_or(i64::MAX, |x| x.timestamp_millis());
        until(b).cmp(&until(a)).then_with(|| a.id.cmp(&b.id))
    })
}

/// A duration as an operator writes it: a count and a unit, `m`, `h`, `d` or
/// `w` (`30d`, `12h`, `2w`, `0d`). `None` when `s` is not of that form; an
/// error when it is but cannot be (an unknown unit, more than ten years).
pub fn parse_duration(s: &str) -> Option<Result<chrono::Duration, String>> {
    let s = s.trim();
    let (i, unit) = s.char_indices().last()?;
    let n = s[..i].parse::<i64>().ok()?;
    let minutes = match unit {
        'm' => 1,
        'h' => 60,
        'd' => 60 * 24,
        'w' => 60 * 24 * 7,
        _ => return Some(Err(format!("unknown unit in {s:?}: expected m, h, d or w (e.g. 30d)"))),
    };
    let total = n.saturating_mul(minutes);
    if !(0..=10 * 365 * 24 * 60).contains(&total) {
        return Some(Err(format!("{s:?} is not between zero and ten years")));
    }
    Some(Ok(chrono::Duration::minutes(total)))
}

/// An expiry as an operator writes it: a duration from `now` (`30d`, `12h`,
/// `2w`, `90m`; see [`parse_duration`]), a date (`2027-01-31`, meaning 00:00
/// UTC that day) or an RFC 3339 time. It must be in the future.
pub fn parse_expiry(s: &str, now: Timestamp) -> Result<Timestamp, ValidationError> {
    let s = s.trim();
    let bad = |reason: String| ValidationError::Parameter { name: "expires".into(), reason };
    let at = if let Some(d) = parse_duration(s) {
        now + d.map_err(bad)?
    } else if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        d.and_hms_opt(0, 0, 0).map(|t| t.and_utc()).ok_or_else(|| bad(format!("invalid date {s:?}")))?
    } else if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        t.with_timezone(&chrono::Utc)
    } else {
        return Err(bad(format!(
            "{s:?} is neither a duration (30d, 12h, 2w), a date (2027-01-31) nor an RFC 3339 time"
        )));
    };
    if at <= now {
        return Err(bad(format!("{s:?} is in the past: an expiry must be later than now")));
    }
    Ok(at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    const A: &str = "111111111111";
    const B: &str = "222222222222";

    fn now() -> Timestamp {
        chrono::Utc.with_ymd_and_hms(2026, 12, 4, 12, 0, 0).unwrap()
    }

    fn check(
        scope: &SuppressionScope,
        arn: &str,
        policy: &str,
        account: &str,
        region: &str,
        tags: &[(&str, &str)],
    ) -> bool {
        let path = vec!["r-ab12".to_string(), "ou-ab12-prod0000".to_string()];
        let tags: BTreeMap<String, String> = tags.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let subject = SuppressionSubject {
            arn,
            policy,
            account: AccountPlacement { account_id: account, org_path: if account == A { &path } else { &[] } },
            region,
            tags: &tags,
        };
        scope.matches(&subject)
    }

    const BUCKET: &str = "arn:aws:s3:::logs-prod";

    #[test]
    fn every_scope_field_narrows_the_match() {
        let s = |f: fn(&mut SuppressionScope)| {
            let mut s = SuppressionScope::default();
            f(&mut s);
            s
        };
        let policies = s(|s| s.policies = vec!["p1".into(), "p2".into()]);
        assert!(check(&policies, BUCKET, "p2", A, "us-east-1", &[]));
        assert!(!check(&policies, BUCKET, "p3", A, "us-east-1", &[]));
        let accounts = s(|s| s.accounts = vec![B.into()]);
        assert!(
            check(&accounts, BUCKET, "p", B, "us-east-1", &[]) && !check(&accounts, BUCKET, "p", A, "us-east-1", &[])
        );
        let ous = s(|s| s.ous = vec!["ou-ab12-prod0000".into()]);
        assert!(check(&ous, BUCKET, "p", A, "us-east-1", &[]) && !check(&ous, BUCKET, "p", B, "us-east-1", &[]));
        let regions = s(|s| s.regions = vec!["eu-west-1".into()]);
        assert!(check(&regions, BUCKET, "p", A, "eu-west-1", &[]));
        assert!(!check(&regions, BUCKET, "p", A, "us-east-1", &[]));
        assert!(!check(&regions, BUCKET, "p", A, "global", &[]), "a regional rule does not cover global resources");
        let exact = s(|s| s.arn = Some(BUCKET.into()));
        assert!(check(&exact, BUCKET, "p", A, "us-east-1", &[]));
        assert!(!check(&exact, "arn:aws:s3:::logs-prod2", "p", A, "us-east-1", &[]));
        let glob = s(|s| s.arn = Some("arn:aws:s3:::logs-*".into()));
        assert!(check(&glob, BUCKET, "p", A, "us-east-1", &[]));
        assert!(!check(&glob, "arn:aws:s3:::data-prod", "p", A, "us-east-1", &[]));
        let tags = s(|s| s.tags = vec!["env=prod".parse().unwrap(), "owner".parse().unwrap()]);
        assert!(check(&tags, BUCKET, "p", A, "us-east-1", &[("env", "prod"), ("owner", "x")]));
        assert!(!check(&tags, BUCKET, "p", A, "us-east-1", &[("env", "prod")]), "all tags must match");
        assert!(!check(&tags, BUCKET, "p", A, "us-east-1", &[("env", "dev"), ("owner", "x")]));
        let one = s(|s| s.finding = Some(FindingKey { arn: BUCKET.into(), policy: "p1".into() }));
        assert!(check(&one, BUCKET, "p1", A, "us-east-1", &[]));
        assert!(
            !check(&one, BUCKET, "p2", A, "us-east-1", &[])
                && !check(&one, "arn:aws:s3:::x", "p1", A, "us-east-1", &[])
        );
        let both = s(|s| {
            s.policies = vec!["p1".into()];
            s.accounts = vec![A.into()];
        });
        assert!(check(&both, BUCKET, "p1", A, "us-east-1", &[]) && !check(&both, BUCKET, "p1", B, "us-east-1", &[]));
    }

    #[test]
    fn globs_match_whole_strings_and_resist_backtracking() {
        assert!(glob_matches("a*c", "abbbc") && glob_matches("a*c", "ac") && glob_matches("a?c", "abc"));
        assert!(!glob_matches("a?c", "ac") && !glob_matches("a*c", "abcd") && !glob_matches("abc", "abcd"));
        assert!(
            glob_matches("*", "")
                && glob_matches("**", "x")
                && glob_matches("*:role/admin-*", "arn:aws:iam::1:role/admin-x")
        );
        let hostile = "*a".repeat(500);
        assert!(!glob_matches(&hostile, &"a".repeat(400)));
    }

    #[test]
    fn a_rule_must_name_something_and_its_ids_must_be_well_formed() {
        assert!(SuppressionScope::default().validate().unwrap_err().to_string().contains("must name"));
        let bad = SuppressionScope { accounts: vec!["123".into()], ..Default::default() };
        assert!(bad.validate().is_err());
        let bad = SuppressionScope { regions: vec!["moon-1".into()], ..Default::default() };
        assert!(bad.validate().is_err());
        let ok = SuppressionScope { regions: vec!["global".into()], ..Default::default() };
        assert!(ok.validate().is_ok());
        let long = SuppressionScope { arn: Some("a".repeat(MAX_ARN + 1)), ..Default::default() };
        assert!(long.validate().unwrap_err().to_string().contains("too long"));
    }

    #[test]
    fn reason_and_owner_are_required() {
        assert!(validate_text("ok", "me").unwrap_err().to_string().contains("at least 3"));
        assert!(validate_text("  a  ", "me").is_err());
        assert!(validate_text("fine reason", " ").unwrap_err().to_string().contains("owner"));
        assert!(validate_text(&"x".repeat(REASON_MAX + 1), "me").unwrap_err().to_string().contains("too long"));
        assert!(validate_text("fine reason", "secops").is_ok());
    }

    fn rule(id: &str, expires_at: Option<Timestamp>) -> SuppressionRule {
        SuppressionRule {
            id: id.into(),
            scope: SuppressionScope { policies: vec!["p".into()], ..Default::default() },
            reason: "because".into(),
            category: SuppressionCategory::AcceptedRisk,
            owner: "secops".into(),
            created_by: "t".into(),
            created_at: now(),
            updated_by: "t".into(),
            updated_at: now(),
            in_effect_since: now(),
            expires_at,
            enabled: true,
            deleted_at: None,
            deleted_by: None,
            expiry_recorded: false,
            revision: 1,
        }
    }

    #[test]
    fn status_follows_the_clock_and_the_flags() {
        let later = now() + chrono::Duration::days(1);
        let r = rule("a", Some(later));
        assert_eq!(r.status(now()), RuleStatus::Active);
        assert_eq!(r.status(later), RuleStatus::Expired, "expired at the instant");
        let disabled = SuppressionRule { enabled: false, ..r.clone() };
        assert_eq!(disabled.status(now()), RuleStatus::Disabled);
        let deleted = SuppressionRule { deleted_at: Some(now()), ..r };
        assert_eq!(deleted.status(now()), RuleStatus::Deleted);
    }

    #[test]
    fn the_longest_holding_rule_is_shown() {
        let soon = rule("a", Some(now() + chrono::Duration::days(1)));
        let later = rule("b", Some(now() + chrono::Duration::days(9)));
        let never = rule("c", None);
        assert_eq!(strongest([&soon, &later]).unwrap().id, "b");
        assert_eq!(strongest([&soon, &never, &later]).unwrap().id, "c");
        assert_eq!(strongest([&rule("z", None), &rule("y", None)]).unwrap().id, "y");
        assert!(strongest(std::iter::empty()).is_none());
        let first_seen = now() + chrono::Duration::hours(1);
        assert_eq!(never.overlay(first_seen).since, first_seen, "suppressed since it existed, at the earliest");
    }

    #[test]
    fn expiries_parse_as_durations_dates_and_times() {
        assert_eq!(parse_expiry("30d", now()).unwrap(), now() + chrono::Duration::days(30));
        assert_eq!(parse_expiry("2w", now()).unwrap(), now() + chrono::Duration::days(14));
        assert_eq!(parse_expiry("12h", now()).unwrap(), now() + chrono::Duration::hours(12));
        assert_eq!(
            parse_expiry("2027-01-31", now()).unwrap(),
            chrono::Utc.with_ymd_and_hms(2027, 1, 31, 0, 0, 0).unwrap()
        );
        assert_eq!(
            parse_expiry("2027-01-31T10:00:00+02:00", now()).unwrap(),
            chrono::Utc.with_ymd_and_hms(2027, 1, 31, 8, 0, 0).unwrap()
        );
        for bad in ["2020-01-01", "0d", "-3d", "5y", "soon", "", "99999999999d"] {
            assert!(parse_expiry(bad, now()).is_err(), "{bad}");
        }
        // A scope reads as people write it.
        let scope = SuppressionScope {
            policies: vec!["a".into(), "b".into()],
            regions: vec!["eu-west-1".into()],
            arn: Some("arn:aws:s3:::logs-*".into()),
            ..Default::default()
        };
        assert_eq!(scope.to_string(), "policies: a, b; regions: eu-west-1; ARN: arn:aws:s3:::logs-*");
        assert_eq!(SuppressionScope::default().to_string(), "");
        // Durations alone (retention) may be zero.
        assert_eq!(parse_duration("0d"), Some(Ok(chrono::Duration::zero())));
        assert_eq!(parse_duration("90d"), Some(Ok(chrono::Duration::days(90))));
        assert!(matches!(parse_duration("5y"), Some(Err(_))));
        assert!(matches!(parse_duration("-1d"), Some(Err(_))));
        assert_eq!(parse_duration("2027-01-31"), None);
    }

    #[test]
    fn categories_parse_in_every_usual_spelling() {
        for s in ["accepted-risk", "accepted_risk", "Accepted Risk"] {
            assert_eq!(s.parse::<SuppressionCategory>().unwrap(), SuppressionCategory::AcceptedRisk);
        }
        assert!("risky".parse::<SuppressionCategory>().unwrap_err().to_string().contains("by-design"));
    }
}
