//! Validation errors for input that enters the domain (ids, scopes, severities).

/// Bad input, described so that an operator can fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    #[error("invalid account id {0:?}: expected 12 digits")]
    AccountId(String),
    #[error("invalid region {0:?}: expected a region name such as us-east-1")]
    Region(String),
    #[error("invalid organizational unit id {0:?}: expected ou-xxxx-xxxxxxxx or a root id r-xxxx")]
    OrgUnit(String),
    #[error("invalid tag condition {0:?}: expected KEY or KEY=VALUE with a non-empty key")]
    TagCondition(String),
    #[error("invalid severity {0}: expected a number from 0 to 100")]
    Severity(i64),
    #[error("unknown service {0:?}: expected one of s3, ec2, iam")]
    Service(String),
    #[error("unknown {what} {value:?}: expected one of {expected}")]
    Choice { what: &'static str, value: String, expected: &'static str },
    #[error("invalid parameter {name:?}: {reason}")]
    Parameter { name: String, reason: String },
    #[error("{what} is too long: {got} characters, at most {max}")]
    TooLong { what: &'static str, max: usize, got: usize },
    #[error("too many {what}: {got}, at most {max}")]
    TooMany { what: &'static str, max: usize, got: usize },
}
