//! Which resources a launched policy evaluates. The one implementation of scope.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use crate::ids::{validate_account_id, validate_org_unit, validate_region, GLOBAL_REGION};
use crate::ValidationError;

/// `KEY` (the tag is present) or `KEY=VALUE` (the tag has that value).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TagCondition {
    pub key: String,
    pub value: Option<String>,
}

impl TagCondition {
    pub fn matches(&self, tags: &BTreeMap<String, String>) -> bool {
        match (&self.value, tags.get(&self.key)) {
            (None, Some(_)) => true,
            (Some(want), Some(have)) => want == have,
            (_, None) => false,
        }
    }
}

impl FromStr for TagCondition {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (key, value) = match s.split_once('=') {
            Some((k, v)) => (k, Some(v.to_string())),
            None => (s, None),
        };
        if key.trim().is_empty() {
            return Err(ValidationError::TagCondition(s.to_string()));
        }
        crate::text::check_len("a tag key", key, crate::text::limits::TAG_KEY)?;
        if let Some(v) = &value {
            crate::text::check_len("a tag value", v, crate::text::limits::TAG_VALUE)?;
        }
        Ok(TagCondition { key: key.to_string(), value })
    }
}

impl fmt::Display for TagCondition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            Some(v) => write!(f, "{}={}", self.key, v),
            None => f.write_str(&self.key),
        }
    }
}

impl Serialize for TagCondition {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for TagCondition {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Include and exclude lists. An empty include list means "all"; any exclude
/// match removes a resource. Within one include list any entry may match
/// (accounts A or B; tag env=prod or tag team=x); across lists all must.
///
/// Region lists do not apply to global resources (IAM, account-wide settings:
/// region `global`), so that a region-scoped launch does not silently drop them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Scope {
    pub include_accounts: Vec<String>,
    pub exclude_accounts: Vec<String>,
    /// Organizations OU (or root) ids: an account is in an OU if the OU is
    /// anywhere on its path from the root.
    pub include_ous: Vec<String>,
    pub exclude_ous: Vec<String>,
    pub include_regions: Vec<String>,
    pub exclude_regions: Vec<String>,
    pub include_tags: Vec<TagCondition>,
    pub exclude_tags: Vec<TagCondition>,
}

/// Where an account sits: its id and its OU path from the root.
#[derive(Debug, Clone, Copy)]
pub struct AccountPlacement<'a> {
    pub account_id: &'a str,
    pub org_path: &'a [String],
}

impl Scope {
    pub fn is_everything(&self) -> bool {
        *self == Scope::default()
    }

    /// Rejects malformed ids, regions and tag conditions.
    pub fn validate(&self) -> Result<(), ValidationError> {
        for a in self.include_accounts.iter().chain(&self.exclude_accounts) {
            validate_account_id(a)?;
        }
        for ou in self.include_ous.iter().chain(&self.exclude_ous) {
            validate_org_unit(ou)?;
        }
        for r in self.include_regions.iter().chain(&self.exclude_regions) {
            validate_region(r)?;
        }
        for t in self.include_tags.iter().chain(&self.exclude_tags) {
            if t.key.trim().is_empty() {
                return Err(ValidationError::TagCondition(t.to_string()));
            }
            crate::text::check_len("a tag key", &t.key, crate::text::limits::TAG_KEY)?;
            if let Some(v) = &t.value {
                crate::text::check_len("a tag value", v, crate::text::limits::TAG_VALUE)?;
            }
        }
        let lists = [
            ("scope accounts", self.include_accounts.len() + self.exclude_accounts.len()),
            ("scope OUs", self.include_ous.len() + self.exclude_ous.len()),
            ("scope regions", self.include_regions.len() + self.exclude_regions.len()),
            ("scope tags", self.include_tags.len() + self.exclude_tags.len()),
        ];
        for (what, got) in lists {
            if got > crate::text::limits::SCOPE_LIST {
                return Err(ValidationError::TooMany { what, max: crate::text::limits::SCOPE_LIST, got });
            }
        }
        Ok(())
    }

    /// Whether an account as a whole can hold in-scope resources (tags and
    /// regions aside). Sweeps use it to skip accounts early.
    pub fn admits_account(&self, account: AccountPlacement<'_>) -> bool {
        let in_ou = |ous: &[String]| ous.iter().any(|ou| account.org_path.iter().any(|p| p == ou));
        (self.include_accounts.is_empty() || self.include_accounts.iter().any(|a| a == account.account_id))
            && !self.exclude_accounts.iter().any(|a| a == account.account_id)
            && (self.include_ous.is_empty() || in_ou(&self.include_ous))
            && !in_ou(&self.exclude_ous)
    }

    /// Whether a resource in this account, region and with these tags is in scope.
    /// Whether deciding membership reads the resource's tags.
    pub fn reads_tags(&self) -> bool {
        !self.include_tags.is_empty() || !self.exclude_tags.is_empty()
    }

    /// Whether deciding membership reads the resource's region.
    pub fn reads_region(&self) -> bool {
        !self.include_regions.is_empty() || !self.exclude_regions.is_empty()
    }

    pub fn contains(&self, account: AccountPlacement<'_>, region: &str, tags: &BTreeMap<String, String>) -> bool {
        let regional = region != GLOBAL_REGION;
        self.admits_account(account)
            && (!regional || self.include_regions.is_empty() || self.include_regions.iter().any(|r| r == region))
            && !(regional && self.exclude_regions.iter().any(|r| r == region))
            && (self.include_tags.is_empty() || self.include_tags.iter().any(|t| t.matches(tags)))
            && !self.exclude_tags.iter().any(|t| t.matches(tags))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "111111111111";
    const B: &str = "222222222222";

    fn placement<'a>(id: &'a str, path: &'a [String]) -> AccountPlacement<'a> {
        AccountPlacement { account_id: id, org_path: path }
    }

    fn tags(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
        kv.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn empty_scope_is_everything() {
        assert!(Scope::default().contains(placement(A, &[]), "us-east-1", &tags(&[])));
    }

    #[test]
    fn accounts_include_and_exclude() {
        let s = Scope { include_accounts: vec![A.into()], ..Default::default() };
        assert!(s.contains(placement(A, &[]), "us-east-1", &tags(&[])));
        assert!(!s.contains(placement(B, &[]), "us-east-1", &tags(&[])));
        let s = Scope { exclude_accounts: vec![A.into()], ..Default::default() };
        assert!(!s.contains(placement(A, &[]), "us-east-1", &tags(&[])));
        assert!(s.contains(placement(B, &[]), "us-east-1", &tags(&[])));
    }

    #[test]
    fn ou_anywhere_on_the_path() {
        let path = vec!["r-ab12".to_string(), "ou-ab12-prod0000".to_string(), "ou-ab12-team0000".to_string()];
        let s = Scope { include_ous: vec!["ou-ab12-prod0000".into()], ..Default::default() };
        assert!(s.contains(placement(A, &path), "us-east-1", &tags(&[])));
        assert!(!s.contains(placement(A, &path[..1]), "us-east-1", &tags(&[])));
        let s = Scope { exclude_ous: vec!["r-ab12".into()], ..Default::default() };
        assert!(!s.contains(placement(A, &path), "us-east-1", &tags(&[])));
    }

    #[test]
    fn regions_apply_to_regional_resources_only() {
        let s = Scope { include_regions: vec!["eu-west-1".into()], ..Default::default() };
        assert!(s.contains(placement(A, &[]), "eu-west-1", &tags(&[])));
        assert!(!s.contains(placement(A, &[]), "us-east-1", &tags(&[])));
        assert!(s.contains(placement(A, &[]), "global", &tags(&[])));
        let s = Scope { exclude_regions: vec!["us-east-1".into()], ..Default::default() };
        assert!(!s.contains(placement(A, &[]), "us-east-1", &tags(&[])));
        assert!(s.contains(placement(A, &[]), "global", &tags(&[])));
    }

    #[test]
    fn tag_conditions() {
        let s = Scope {
            include_tags: vec!["env=prod".parse().unwrap(), "critical".parse().unwrap()],
            exclude_tags: vec!["qrie:ignore".parse().unwrap()],
            ..Default::default()
        };
        let p = placement(A, &[]);
        assert!(s.contains(p, "us-east-1", &tags(&[("env", "prod")])));
        assert!(s.contains(p, "us-east-1", &tags(&[("critical", "")])));
        assert!(!s.contains(p, "us-east-1", &tags(&[("env", "dev")])));
        assert!(!s.contains(p, "us-east-1", &tags(&[("env", "prod"), ("qrie:ignore", "yes")])));
    }

    #[test]
    fn validation_names_the_bad_entry() {
        let s = Scope { include_accounts: vec!["1234".into()], ..Default::default() };
        assert_eq!(s.validate(), Err(ValidationError::AccountId("1234".into())));
        let s = Scope { exclude_regions: vec!["mars-1".into()], ..Default::default() };
        assert!(s.validate().is_err());
        assert!("=x".parse::<TagCondition>().is_err());
        assert!(serde_json::from_str::<Scope>(r#"{"IncludeTags": ["=v"]}"#).is_err());
    }

    #[test]
    fn serde_round_trip() {
        let s = Scope { include_tags: vec!["a=b".parse().unwrap()], ..Default::default() };
        let j = serde_json::to_string(&s).unwrap();
        assert!(j.contains(r#""IncludeTags":["a=b"]"#), "{j}");
        assert_eq!(serde_json::from_str::<Scope>(&j).unwrap(), s);
    }
}
