//! Building AWS-shaped JSON from SDK structs. botocore omits absent members
//! rather than writing `null`, and the stored shapes follow it, so optional
//! fields are left out.

use serde_json::{Map, Value};

/// An object of the present fields only.
pub(crate) fn obj<const N: usize>(fields: [(&str, Option<Value>); N]) -> Value {
    let map: Map<String, Value> = fields.into_iter().filter_map(|(k, v)| v.map(|v| (k.to_string(), v))).collect();
    Value::Object(map)
}

/// An optional string field.
pub(crate) fn s(v: Option<&str>) -> Option<Value> {
    v.map(|v| Value::String(v.to_string()))
}

/// A required string field.
pub(crate) fn req(v: &str) -> Option<Value> {
    Some(Value::String(v.to_string()))
}

pub(crate) fn b(v: Option<bool>) -> Option<Value> {
    v.map(Value::Bool)
}

pub(crate) fn n<T: Into<serde_json::Number>>(v: Option<T>) -> Option<Value> {
    v.map(|v| Value::Number(v.into()))
}

/// An SDK timestamp in AWS's response format (`2024-01-31T12:00:00Z`).
pub(crate) fn time(v: Option<&aws_smithy_types::DateTime>) -> Option<Value> {
    v.and_then(|t| t.fmt(aws_smithy_types::date_time::Format::DateTime).ok()).map(Value::String)
}

/// A list field, converted item by item (an empty list stays `[]`, as AWS sends it).
pub(crate) fn list<T>(items: &[T], f: impl Fn(&T) -> Value) -> Option<Value> {
    Some(Value::Array(items.iter().map(f).collect()))
}

/// `[{"Key": .., "Value": ..}]` and the tag map qrie keeps beside it.
pub(crate) fn tags<'a>(
    pairs: impl Iterator<Item = (&'a str, &'a str)>,
) -> (Value, std::collections::BTreeMap<String, String>) {
    let mut map = std::collections::BTreeMap::new();
    let set = pairs
        .map(|(k, v)| {
            map.insert(k.to_string(), v.to_string());
            obj([("Key", req(k)), ("Value", req(v))])
        })
        .collect();
    (Value::Array(set), map)
}
