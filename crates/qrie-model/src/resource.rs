//! Observed resources.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

use crate::ids::account_service;
use crate::{Service, Timestamp};

/// The identity of a resource: enough to key findings and route work.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ResourceRef {
    #[serde(rename = "ARN")]
    pub arn: String,
    pub account_id: String,
    pub region: String,
    pub service: Service,
    pub resource_type: String,
}

impl ResourceRef {
    pub fn account_service(&self) -> String {
        account_service(&self.account_id, self.service)
    }
}

/// One resource as a collector observed it.
///
/// `configuration` holds everything that was read, keyed by the API call it came
/// from, with AWS's own field names. A key whose value is JSON `null` means "read,
/// and not configured" (e.g. `NoSuchBucketPolicy`); a key listed in
/// `collection_errors` means "could not be read" — policies must treat the two
/// differently (see [`Resource::field`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Resource {
    #[serde(rename = "ARN")]
    pub arn: String,
    pub account_id: String,
    pub region: String,
    pub service: Service,
    pub resource_type: String,
    pub name: String,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    pub configuration: Value,
    pub config_hash: String,
    #[serde(default)]
    pub collection_errors: BTreeMap<String, String>,
    /// When this state was observed. Stores order writes by it.
    pub last_seen_at: Timestamp,
    /// Set when the resource was observed gone; the row stays for history.
    #[serde(default)]
    pub deleted_at: Option<Timestamp>,
}

/// The collection-error key of a failed tag read.
pub const TAGS_KEY: &str = "Tags";
/// The collection-error key of a failed region read (GetBucketLocation).
pub const LOCATION_KEY: &str = "Location";

/// A policy asked for data that is not there to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingData(pub String);

impl Resource {
    /// Builds a resource and computes its configuration hash.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        arn: impl Into<String>,
        account_id: impl Into<String>,
        region: impl Into<String>,
        service: Service,
        resource_type: impl Into<String>,
        name: impl Into<String>,
        tags: BTreeMap<String, String>,
        configuration: Value,
        collection_errors: BTreeMap<String, String>,
        observed_at: Timestamp,
    ) -> Self {
        let mut r = Resource {
            arn: arn.into(),
            account_id: account_id.into(),
            region: region.into(),
            service,
            resource_type: resource_type.into(),
            name: name.into(),
            tags,
            configuration,
            config_hash: String::new(),
            collection_errors,
            last_seen_at: observed_at,
            deleted_at: None,
        };
        r.rehash();
        r
    }

    /// The same resource, its hash recomputed.
    pub fn rehashed(mut self) -> Self {
        self.rehash();
        self
    }

    /// Recomputes `config_hash` after the configuration, tags or errors changed.
    pub fn rehash(&mut self) {
        self.config_hash = config_hash(&self.resource_type, &self.configuration, &self.tags, &self.collection_errors);
    }

    pub fn reference(&self) -> ResourceRef {
        ResourceRef {
            arn: self.arn.clone(),
            account_id: self.account_id.clone(),
            region: self.region.clone(),
            service: self.service,
            resource_type: self.resource_type.clone(),
        }
    }

    pub fn account_service(&self) -> String {
        account_service(&self.account_id, self.service)
    }

    /// Why the resource's tags are not known, if they could not be read
    /// (a failed tag read leaves `tags` empty, which is not "untagged").
    pub fn tags_unknown(&self) -> Option<&str> {
        self.collection_errors.get(TAGS_KEY).map(String::as_str)
    }

    /// Why the resource's region is not known, if it could not be read (a
    /// bucket whose GetBucketLocation failed is filed under the home region).
    pub fn region_unknown(&self) -> Option<&str> {
        self.collection_errors.get(LOCATION_KEY).map(String::as_str)
    }

    pub fn is_deleted(&self) -> bool {
        self.deleted_at.is_some()
    }

    /// The time of the latest observation, present or gone.
    pub fn observed_at(&self) -> Timestamp {
        self.deleted_at.map_or(self.last_seen_at, |d| d.max(self.last_seen_at))
    }

    /// A top-level configuration entry that a policy depends on.
    ///
    /// `Ok(Value::Null)` means it was read and is not configured. An entry that
    /// could not be read, or was never collected, is an error: a policy that
    /// needs it must not pass.
    pub fn field(&self, key: &str) -> Result<&Value, MissingData> {
        if let Some(err) = self.collection_errors.get(key) {
            return Err(MissingData(format!("{key} could not be read: {err}")));
        }
        self.configuration.get(key).ok_or_else(|| MissingData(format!("{key} was not collected")))
    }
}

/// Fields AWS changes by itself, with no API call anyone could send an event
/// for (last-used times, lifecycle progress, who uses a security group): left
/// out of the change hash, so that an anti-entropy sweep counts as a missed
/// update only what an event should have caught. Per resource type, as paths
/// from the configuration's root (docs/resources.md lists them).
pub const VOLATILE_FIELDS: &[(&str, &[&str])] = &[
    ("AWS::IAM::Role", &["Role", "RoleLastUsed"]),
    ("AWS::IAM::User", &["CredentialReport", "password_last_used"]),
    ("AWS::IAM::User", &["CredentialReport", "access_key_1_last_used_date"]),
    ("AWS::IAM::User", &["CredentialReport", "access_key_1_last_used_region"]),
    ("AWS::IAM::User", &["CredentialReport", "access_key_1_last_used_service"]),
    ("AWS::IAM::User", &["CredentialReport", "access_key_2_last_used_date"]),
    ("AWS::IAM::User", &["CredentialReport", "access_key_2_last_used_region"]),
    ("AWS::IAM::User", &["CredentialReport", "access_key_2_last_used_service"]),
    ("AWS::IAM::RootUser", &["CredentialReport", "password_last_used"]),
    ("AWS::IAM::RootUser", &["CredentialReport", "access_key_1_last_used_date"]),
    ("AWS::IAM::RootUser", &["CredentialReport", "access_key_1_last_used_region"]),
    ("AWS::IAM::RootUser", &["CredentialReport", "access_key_1_last_used_service"]),
    ("AWS::IAM::RootUser", &["CredentialReport", "access_key_2_last_used_date"]),
    ("AWS::IAM::RootUser", &["CredentialReport", "access_key_2_last_used_region"]),
    ("AWS::IAM::RootUser", &["CredentialReport", "access_key_2_last_used_service"]),
    ("AWS::EC2::Instance", &["Instance", "State"]),
    ("AWS::EC2::Instance", &["Instance", "StateTransitionReason"]),
    ("AWS::EC2::Instance", &["Instance", "StateReason"]),
    ("AWS::EC2::Snapshot", &["Snapshot", "Progress"]),
    ("AWS::EC2::Snapshot", &["Snapshot", "State"]),
    ("AWS::EC2::SecurityGroup", &["NetworkInterfaces"]),
];

/// Where AWS dates a resource's creation or last change, per resource type
/// (paths from the configuration's root): what the drift grace window reads.
pub const CHANGE_TIMES: &[(&str, &[&str])] = &[
    ("AWS::EC2::Instance", &["Instance", "LaunchTime"]),
    ("AWS::EC2::Volume", &["Volume", "CreateTime"]),
    ("AWS::EC2::Snapshot", &["Snapshot", "StartTime"]),
    ("AWS::EC2::Image", &["Image", "CreationDate"]),
    ("AWS::IAM::User", &["User", "CreateDate"]),
    ("AWS::IAM::Role", &["Role", "CreateDate"]),
    ("AWS::IAM::Group", &["Group", "CreateDate"]),
    ("AWS::IAM::ManagedPolicy", &["Policy", "CreateDate"]),
    ("AWS::IAM::ManagedPolicy", &["Policy", "UpdateDate"]),
];

/// The latest creation or change time AWS records for the resource, if its
/// type has one ([`CHANGE_TIMES`]).
pub fn changed_at(resource: &Resource) -> Option<Timestamp> {
    CHANGE_TIMES
        .iter()
        .filter(|(t, _)| *t == resource.resource_type)
        .filter_map(|(_, path)| {
            let value = path.iter().try_fold(&resource.configuration, |v, key| v.get(*key))?;
            chrono::DateTime::parse_from_rfc3339(value.as_str()?).ok().map(|t| t.with_timezone(&chrono::Utc))
        })
        .max()
}

/// The version of the change hash, its prefix: a stored hash of another
/// version says nothing about a change (see [`comparable_hashes`]).
const HASH_VERSION: &str = "2:";

/// Whether two hashes were computed the same way, so that their difference
/// means the configuration changed.
pub fn comparable_hashes(stored: &str, fresh: &str) -> bool {
    stored.starts_with(HASH_VERSION) == fresh.starts_with(HASH_VERSION)
}

/// The change hash of a configuration (SHA-256 over canonical JSON: serde_json
/// maps are sorted, so equal content hashes equally): everything read except the type's
/// [`VOLATILE_FIELDS`], the tags, and which reads failed (not the error's
/// text, which carries request ids and timings).
pub fn config_hash(
    resource_type: &str,
    configuration: &Value,
    tags: &BTreeMap<String, String>,
    errors: &BTreeMap<String, String>,
) -> String {
    let mut stable = configuration.clone();
    for (_, path) in VOLATILE_FIELDS.iter().filter(|(t, _)| *t == resource_type) {
        if let Some((last, parents)) = path.split_last() {
            let parent = parents.iter().try_fold(&mut stable, |v, key| v.get_mut(*key));
            if let Some(Value::Object(map)) = parent {
                map.remove(*last);
            }
        }
    }
    let mut h = Sha256::new();
    h.update(serde_json::to_vec(&stable).unwrap_or_default());
    h.update(b"\x00");
    h.update(serde_json::to_vec(tags).unwrap_or_default());
    h.update(b"\x00");
    h.update(serde_json::to_vec(&errors.keys().collect::<Vec<_>>()).unwrap_or_default());
    format!("{HASH_VERSION}{}", hex::encode(&h.finalize()[..16]))
}

/// Whether the resource has ended in a way AWS still shows for a while: an
/// EC2 instance `terminated` is listed for about an hour, then vanishes. It
/// is gone from the moment it terminated (so the event that terminated it
/// records the deletion, and its disappearance later is no missed delete).
pub fn has_ended(resource: &Resource) -> bool {
    resource.resource_type == "AWS::EC2::Instance"
        && resource.configuration.pointer("/Instance/State/Name").and_then(Value::as_str) == Some("terminated")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn bucket(config: Value, errors: &[(&str, &str)]) -> Resource {
        Resource::new(
            "arn:aws:s3:::b",
            "123412341234",
            "us-east-1",
            Service::S3,
            "AWS::S3::Bucket",
            "b",
            BTreeMap::new(),
            config,
            errors.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            chrono::Utc::now(),
        )
    }

    #[test]
    fn absent_is_not_unknown() {
        let r = bucket(json!({"Policy": null}), &[("Acl", "AccessDenied")]);
        assert_eq!(r.field("Policy"), Ok(&Value::Null));
        assert!(r.field("Acl").unwrap_err().0.contains("AccessDenied"));
        assert!(r.field("Versioning").unwrap_err().0.contains("not collected"));
    }

    #[test]
    fn hash_follows_content_not_key_order() {
        let a = bucket(json!({"A": 1, "B": {"x": 1, "y": 2}}), &[]);
        let b = bucket(serde_json::from_str(r#"{"B": {"y": 2, "x": 1}, "A": 1}"#).unwrap(), &[]);
        let c = bucket(json!({"A": 2, "B": {"x": 1, "y": 2}}), &[]);
        assert_eq!(a.config_hash, b.config_hash);
        assert_ne!(a.config_hash, c.config_hash);
        let d = bucket(json!({"A": 1, "B": {"x": 1, "y": 2}}), &[("Acl", "AccessDenied")]);
        assert_ne!(a.config_hash, d.config_hash);
    }

    fn of_type(resource_type: &str, config: Value) -> Resource {
        Resource { resource_type: resource_type.into(), ..bucket(config, &[]) }.rehashed()
    }

    #[test]
    fn volatile_fields_and_error_text_do_not_change_the_hash() {
        let role = |last: &str, path: &str| {
            of_type("AWS::IAM::Role", json!({"Role": {"Path": path, "RoleLastUsed": {"LastUsedDate": last}}}))
        };
        assert_eq!(role("2026-01-01", "/").config_hash, role("2026-02-02", "/").config_hash);
        assert_ne!(role("2026-01-01", "/").config_hash, role("2026-01-01", "/x/").config_hash);
        let instance = |state: &str| of_type("AWS::EC2::Instance", json!({"Instance": {"State": {"Name": state}}}));
        assert_eq!(instance("running").config_hash, instance("stopped").config_hash);
        // Volatile for its own type only.
        let other = |state: &str| of_type("AWS::EC2::Volume", json!({"Instance": {"State": {"Name": state}}}));
        assert_ne!(other("running").config_hash, other("stopped").config_hash);
        let a = bucket(json!({}), &[("Acl", "AccessDenied (request id 1)")]);
        let b = bucket(json!({}), &[("Acl", "AccessDenied (request id 2)")]);
        assert_eq!(a.config_hash, b.config_hash, "which read failed counts, not its message");
        assert!(a.config_hash.starts_with("2:"));
        assert!(comparable_hashes(&a.config_hash, &b.config_hash));
        assert!(!comparable_hashes("8c0a0cf5bf07ea0619ebc01e4a079211", &a.config_hash), "a hash of before v2");
    }

    #[test]
    fn a_terminated_instance_has_ended() {
        let instance = |state: &str| of_type("AWS::EC2::Instance", json!({"Instance": {"State": {"Name": state}}}));
        assert!(has_ended(&instance("terminated")));
        assert!(!has_ended(&instance("shutting-down")));
        assert!(!has_ended(&instance("stopped")));
    }
}
