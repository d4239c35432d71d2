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

    /// Recomputes `config_hash` after the configuration, tags or errors changed.
    pub fn rehash(&mut self) {
        self.config_hash = config_hash(&self.configuration, &self.tags, &self.collection_errors);
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

/// SHA-256 over the canonical JSON of what was observed (serde_json maps are
/// sorted, so equal content hashes equally).
pub fn config_hash(
    configuration: &Value,
    tags: &BTreeMap<String, String>,
    errors: &BTreeMap<String, String>,
) -> String {
    let mut h = Sha256::new();
    h.update(serde_json::to_vec(configuration).unwrap_or_default());
    h.update(b"\x00");
    h.update(serde_json::to_vec(tags).unwrap_or_default());
    h.update(b"\x00");
    h.update(serde_json::to_vec(errors).unwrap_or_default());
    hex::encode(&h.finalize()[..16])
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
}
