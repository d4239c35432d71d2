//! Who may use a snapshot or an image: CreateVolumePermissions and
//! LaunchPermissions, where the group `all` means every AWS account.

use qrie_model::{MissingData, Resource};
use serde_json::{json, Value};

/// The entries of the permission list `key` that grant every AWS account, as
/// evidence. The list is required: `null` or absent means it was not read, and a
/// snapshot whose sharing is unknown must not pass.
pub(crate) fn public_grants(r: &Resource, key: &str) -> Result<Vec<Value>, MissingData> {
    let list = r.field(key)?;
    let list = list.as_array().ok_or_else(|| MissingData(format!("{key} has an unexpected shape: {list}")))?;
    Ok(list
        .iter()
        .enumerate()
        .filter(|(_, p)| p.get("Group").and_then(Value::as_str) == Some("all"))
        .map(|(i, p)| json!({"Path": format!("{key}[{i}]"), "Permission": p}))
        .collect())
}
