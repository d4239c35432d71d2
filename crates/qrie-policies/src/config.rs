//! Reading inside a configuration entry.
//!
//! `Resource::field` tells "not configured" from "could not be read" for a whole
//! entry. Inside an entry that was read, a field AWS always returns can still be
//! absent (a truncated or hand-made record); a policy must not decide on it, so
//! these helpers turn that into `MissingData` as well, naming the JSON path.

use qrie_model::{MissingData, Resource};
use serde_json::Value;

/// A configuration entry that describes the resource itself (a DescribeX item,
/// an account summary). Unlike optional settings it is never "not configured",
/// so `null` or a non-object is missing data too.
pub(crate) fn described<'a>(r: &'a Resource, key: &str) -> Result<&'a Value, MissingData> {
    let v = r.field(key)?;
    if v.is_object() {
        Ok(v)
    } else {
        Err(MissingData(format!("{key} is empty: {v}")))
    }
}

/// `parent[key]` converted by `as_type` (e.g. `Value::as_array`). `parent_path`
/// is where `parent` sits in the configuration, for the error message.
pub(crate) fn required<'a, T>(
    parent: &'a Value,
    parent_path: &str,
    key: &str,
    as_type: fn(&'a Value) -> Option<T>,
) -> Result<T, MissingData> {
    match parent.get(key) {
        None | Some(Value::Null) => Err(MissingData(format!("{parent_path}.{key} is absent"))),
        Some(v) => as_type(v).ok_or_else(|| MissingData(format!("{parent_path}.{key} has an unexpected shape: {v}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_description_must_be_an_object() {
        let r = crate::testing::volume(json!({"VolumeId": "vol-1"}));
        assert!(described(&r, "Volume").is_ok());
        let mut r = r;
        r.configuration["Volume"] = Value::Null;
        assert_eq!(described(&r, "Volume").unwrap_err().0, "Volume is empty: null");
        assert!(described(&r, "Nope").unwrap_err().0.contains("not collected"));
    }

    #[test]
    fn absent_null_and_mistyped_fields_are_missing_data() {
        let v = json!({"A": [1], "B": null, "C": "x"});
        assert_eq!(required(&v, "Top", "A", Value::as_array).unwrap().len(), 1);
        assert_eq!(required(&v, "Top", "B", Value::as_array).unwrap_err().0, "Top.B is absent");
        assert_eq!(required(&v, "Top", "Z", Value::as_array).unwrap_err().0, "Top.Z is absent");
        assert!(required(&v, "Top", "C", Value::as_array).unwrap_err().0.contains("unexpected shape: \"x\""));
        // A parent that is not an object has no fields.
        assert!(required(&Value::Null, "Top", "A", Value::as_array).is_err());
    }
}
