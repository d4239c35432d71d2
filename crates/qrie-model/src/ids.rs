//! Identifiers: services, account ids, regions and the pseudo-ARNs qrie gives to
//! account-level settings so that findings keep the ARN + Policy key.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

use crate::ValidationError;

/// The AWS services qrie inventories.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Service {
    S3,
    Ec2,
    Iam,
}

impl Service {
    pub const ALL: [Service; 3] = [Service::S3, Service::Ec2, Service::Iam];

    pub fn as_str(self) -> &'static str {
        match self {
            Service::S3 => "s3",
            Service::Ec2 => "ec2",
            Service::Iam => "iam",
        }
    }

    /// Services listed once per account rather than once per region. S3's
    /// ListBuckets is global (each bucket then carries its own region) and IAM
    /// has no regions at all.
    pub fn is_global(self) -> bool {
        matches!(self, Service::S3 | Service::Iam)
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Service {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "s3" => Ok(Service::S3),
            "ec2" => Ok(Service::Ec2),
            "iam" => Ok(Service::Iam),
            _ => Err(ValidationError::Service(s.to_string())),
        }
    }
}

/// The region recorded for resources that have none (IAM, account-wide settings).
pub const GLOBAL_REGION: &str = "global";

/// An AWS account id is exactly 12 ASCII digits.
pub fn validate_account_id(id: &str) -> Result<(), ValidationError> {
    if id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(ValidationError::AccountId(id.to_string()))
    }
}

/// A region name: lowercase letters and digits in dash-separated parts, such as
/// `us-east-1` or `us-gov-west-1`. Also accepts qrie's `global`.
pub fn validate_region(region: &str) -> Result<(), ValidationError> {
    let parts: Vec<&str> = region.split('-').collect();
    let well_formed = region == GLOBAL_REGION
        || (parts.len() >= 3
            && parts.iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()))
            && parts.last().is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit())));
    if well_formed {
        Ok(())
    } else {
        Err(ValidationError::Region(region.to_string()))
    }
}

/// An Organizations OU id (`ou-abcd-12345678`) or root id (`r-abcd`).
pub fn validate_org_unit(id: &str) -> Result<(), ValidationError> {
    let alnum = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    let ok = match id.split('-').collect::<Vec<_>>().as_slice() {
        ["ou", root, ou] => alnum(root) && alnum(ou),
        ["r", root] => alnum(root),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(ValidationError::OrgUnit(id.to_string()))
    }
}

/// `<account-id>_<service>`, the partition key of resources and a findings index.
pub fn account_service(account_id: &str, service: Service) -> String {
    format!("{account_id}_{service}")
}

/// Pseudo-ARNs for account-level settings. They are stable and documented in
/// docs/resources.md; nothing in AWS has these ARNs.
pub mod pseudo_arn {
    /// The account's S3 Block Public Access settings (S3 Control).
    pub fn s3_account_public_access_block(account_id: &str) -> String {
        format!("arn:aws:s3::{account_id}:account-public-access-block")
    }
    /// Per-region EC2 account settings: EBS encryption by default, IMDS defaults.
    pub fn ec2_account_settings(account_id: &str, region: &str) -> String {
        format!("arn:aws:ec2:{region}:{account_id}:account-settings")
    }
    /// The root user (credential report row, account summary).
    pub fn iam_root(account_id: &str) -> String {
        format!("arn:aws:iam::{account_id}:root")
    }
    /// The IAM Access Analyzer analyzers of one region (ListAnalyzers).
    pub fn access_analyzers(account_id: &str, region: &str) -> String {
        format!("arn:aws:access-analyzer:{region}:{account_id}:account-analyzers")
    }
    /// The account password policy.
    pub fn iam_password_policy(account_id: &str) -> String {
        format!("arn:aws:iam::{account_id}:account-password-policy")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_ids() {
        assert!(validate_account_id("123412341234").is_ok());
        for bad in ["12341234123", "1234123412345", "12341234123a", "", "１２３４１２３４１２３４"] {
            assert!(validate_account_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn regions() {
        for good in ["us-east-1", "eu-west-2", "us-gov-west-1", "ap-southeast-3", "global"] {
            assert!(validate_region(good).is_ok(), "{good}");
        }
        for bad in ["us-east", "US-EAST-1", "us east 1", "", "us--1", "us-east-x"] {
            assert!(validate_region(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn org_units() {
        assert!(validate_org_unit("ou-ab12-34cd56ef").is_ok());
        assert!(validate_org_unit("r-ab12").is_ok());
        for bad in ["ou-ab12", "ou--x", "x-ab12", "OU-AB12-CD", ""] {
            assert!(validate_org_unit(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn services_parse_and_print() {
        for s in Service::ALL {
            assert_eq!(s.as_str().parse::<Service>().unwrap(), s);
        }
        assert!("rds".parse::<Service>().is_err());
    }
}
