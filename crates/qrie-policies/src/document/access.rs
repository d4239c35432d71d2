//! What kind of access an action grants: list, read, write or permissions
//! management (changing who may access what).
//!
//! A small verb table, not a catalog of every AWS action: an action is
//! classified by its name (after `service:`). Permissions management is checked
//! first (`s3:PutBucketPolicy` starts with `Put` but changes permissions), then
//! read and list; anything else is a write, so an unknown verb errs towards
//! "can change something". A wildcard pattern is classified by every action it
//! can match: `s3:Get*` is read only (not write), `s3:Put*` is write and
//! permissions management, `s3:*` and `*` are all four.

use super::pattern::{covers, intersects, Case};

/// One kind of access.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AccessLevel {
    /// `List*`: names of things (`s3:ListBucket`).
    List,
    /// `Get*`, `Describe*`, `Head*`…: contents and configuration.
    Read,
    /// Creating, changing, deleting, restoring, replicating…
    Write,
    /// Changing access itself: `Put*Acl`, `Put*Policy`, `Delete*Policy`,
    /// `Attach*Policy`, public access block and ownership settings…
    PermissionsManagement,
}

impl AccessLevel {
    pub const ALL: [AccessLevel; 4] =
        [AccessLevel::List, AccessLevel::Read, AccessLevel::Write, AccessLevel::PermissionsManagement];

    /// `list`, `read`, `write`, `permissions-management`: for evidence.
    pub fn name(self) -> &'static str {
        match self {
            AccessLevel::List => "list",
            AccessLevel::Read => "read",
            AccessLevel::Write => "write",
            AccessLevel::PermissionsManagement => "permissions-management",
        }
    }

    /// Write or permissions management: access that changes something.
    pub fn modifies(self) -> bool {
        matches!(self, AccessLevel::Write | AccessLevel::PermissionsManagement)
    }
}

/// Action-name patterns (without the service) that manage permissions.
const PERMISSIONS: &[&str] = &[
    "Put*Acl",
    "Put*Policy",
    "Delete*Policy",
    "Put*PublicAccessBlock",
    "Delete*PublicAccessBlock",
    "Put*OwnershipControls",
    "Delete*OwnershipControls",
    "Attach*Policy",
    "Detach*Policy",
    "Create*Policy",
    "Create*PolicyVersion",
    "Set*Policy",
    "Set*PolicyVersion",
    "Update*Policy",
    "Put*PermissionsBoundary",
    "Delete*PermissionsBoundary",
    "Add*Permission",
    "Remove*Permission",
    "Create*Grant",
    "Revoke*Grant",
    "Retire*Grant",
];

/// Read-only verbs.
const READ: &[&str] = &["Get*", "Describe*", "Head*", "View*", "BatchGet*"];

/// Listing verbs.
const LIST: &[&str] = &["List*"];

fn name_part(action: &str) -> &str {
    action.split_once(':').map_or(action, |(_, name)| name)
}

/// The access levels of everything the action pattern can match
/// (`s3:GetObject`, `s3:Get*`, `s3:*`, `*`).
pub fn classify(action: &str) -> Vec<AccessLevel> {
    let name = name_part(action);
    let any = |table: &[&str]| table.iter().any(|p| intersects(name, p, Case::Insensitive));
    let mut levels = Vec::new();
    if any(LIST) {
        levels.push(AccessLevel::List);
    }
    if any(READ) {
        levels.push(AccessLevel::Read);
    }
    // Write: the pattern can match a name no other row claims.
    let claimed = PERMISSIONS.iter().chain(READ).chain(LIST).any(|p| covers(p, name, Case::Insensitive));
    if !claimed {
        levels.push(AccessLevel::Write);
    }
    if any(PERMISSIONS) {
        levels.push(AccessLevel::PermissionsManagement);
    }
    levels
}

/// The access level of one concrete action (`s3:PutBucketPolicy`).
pub fn level_of(action: &str) -> AccessLevel {
    let name = name_part(action);
    let is = |table: &[&str]| table.iter().any(|p| covers(p, name, Case::Insensitive));
    if is(PERMISSIONS) {
        AccessLevel::PermissionsManagement
    } else if is(READ) {
        AccessLevel::Read
    } else if is(LIST) {
        AccessLevel::List
    } else {
        AccessLevel::Write
    }
}

#[cfg(test)]
mod tests {
    use super::AccessLevel::*;
    use super::*;

    #[test]
    fn concrete_actions() {
        for (action, level) in [
            ("s3:GetObject", Read),
            ("s3:getobject", Read),
            ("s3:GetBucketAcl", Read),
            ("s3:HeadBucket", Read),
            ("ec2:DescribeInstances", Read),
            ("s3:ListBucket", List),
            ("s3:PutObject", Write),
            ("s3:DeleteObject", Write),
            ("s3:RestoreObject", Write),
            ("s3:ReplicateObject", Write),
            ("s3:AbortMultipartUpload", Write),
            ("iam:CreateAccessKey", Write),
            ("s3:PutBucketAcl", PermissionsManagement),
            ("s3:PutObjectAcl", PermissionsManagement),
            ("s3:PutBucketPolicy", PermissionsManagement),
            ("s3:DeleteBucketPolicy", PermissionsManagement),
            ("s3:PutBucketPublicAccessBlock", PermissionsManagement),
            ("iam:AttachUserPolicy", PermissionsManagement),
            ("iam:PutRolePolicy", PermissionsManagement),
            ("iam:CreatePolicyVersion", PermissionsManagement),
            ("iam:SetDefaultPolicyVersion", PermissionsManagement),
            ("iam:UpdateAssumeRolePolicy", PermissionsManagement),
        ] {
            assert_eq!(level_of(action), level, "{action}");
            assert_eq!(classify(action), vec![level], "{action}");
        }
    }

    #[test]
    fn wildcards_classify_by_what_they_can_match() {
        assert_eq!(classify("s3:Get*"), vec![Read]);
        assert_eq!(classify("s3:List*"), vec![List]);
        assert_eq!(classify("s3:Put*"), vec![Write, PermissionsManagement]);
        assert_eq!(classify("s3:Delete*"), vec![Write, PermissionsManagement]);
        assert_eq!(classify("s3:*"), AccessLevel::ALL.to_vec());
        assert_eq!(classify("*"), AccessLevel::ALL.to_vec());
        assert_eq!(classify("s3:*Object"), vec![List, Read, Write]);
        assert_eq!(classify("s3:Put*Acl"), vec![PermissionsManagement]);
        assert!(!classify("s3:Get*").iter().any(|l| l.modifies()));
        assert!(classify("s3:*").iter().any(|l| l.modifies()));
    }
}
