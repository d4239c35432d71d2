//! Items: reading typed attributes, and the JSON document each item carries.
//!
//! Every record is stored whole as a JSON document (`Doc`), beside the
//! attributes its keys, indexes and filters need. Reads give back the document,
//! so what was written is what is read, at any precision.

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::DateTime;
use qrie_model::Timestamp;
use qrie_store::{Result, StoreError};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::HashMap;
use std::fmt::Display;

use crate::error::decode;

pub(crate) type Item = HashMap<String, AttributeValue>;

pub(crate) const DOC: &str = "Doc";

pub(crate) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub(crate) fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub(crate) fn millis(t: Timestamp) -> i64 {
    t.timestamp_millis()
}

pub(crate) fn from_millis(key: impl Display, ms: i64) -> Result<Timestamp> {
    DateTime::from_timestamp_millis(ms).ok_or_else(|| decode(key, format!("timestamp {ms} ms is out of range")))
}

/// A key of `(name, value)` pairs.
pub(crate) fn key<const N: usize>(parts: [(&str, AttributeValue); N]) -> Item {
    parts.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

pub(crate) fn get_s<'a>(item: &'a Item, name: &str) -> Result<&'a str> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Ok(v),
        other => Err(decode(describe(item), format!("attribute {name} is not a string: {other:?}"))),
    }
}

pub(crate) fn get_n(item: &Item, name: &str) -> Result<i64> {
    match item.get(name) {
        Some(AttributeValue::N(v)) => {
            v.parse().map_err(|_| decode(describe(item), format!("attribute {name} is not an integer: {v}")))
        }
        other => Err(decode(describe(item), format!("attribute {name} is not a number: {other:?}"))),
    }
}

pub(crate) fn get_bool(item: &Item, name: &str) -> Result<bool> {
    match item.get(name) {
        Some(AttributeValue::Bool(v)) => Ok(*v),
        other => Err(decode(describe(item), format!("attribute {name} is not a boolean: {other:?}"))),
    }
}

/// The record an item carries.
pub(crate) fn doc<T: DeserializeOwned>(item: &Item) -> Result<T> {
    let text = get_s(item, DOC)?;
    serde_json::from_str(text).map_err(|e| decode(describe(item), e.to_string()))
}

pub(crate) fn to_doc<T: Serialize>(key: impl Display, value: &T) -> Result<AttributeValue> {
    serde_json::to_string(value)
        .map(AttributeValue::S)
        .map_err(|e| StoreError::Backend(format!("record {key} could not be encoded: {e}")))
}

/// Names an item in errors by its string key attributes.
fn describe(item: &Item) -> String {
    let mut parts: Vec<String> =
        ["AccountService", "ARN", "Policy", "PolicyId", "AccountId", "Id", "Partition", "Namespace", "Key"]
            .iter()
            .filter_map(|k| match item.get(*k) {
                Some(AttributeValue::S(v)) => Some(format!("{k}={v}")),
                _ => None,
            })
            .collect();
    if parts.is_empty() {
        parts.push("item".into());
    }
    parts.join(" ")
}
