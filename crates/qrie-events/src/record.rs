//! Reading values out of CloudTrail records whatever their encoding: newer EC2 calls wrap
//! their parameters (`{"ModifySecurityGroupRulesRequest": {...}}`) and values
//! (`{"tag": 1, "content": "sg-…"}`), field case differs between wrapped and classic calls
//! (`InstanceId` / `instanceId`), and a one-element list is often an object, not an array.

use serde_json::{Map, Value};

/// Strips value wrappers (`{"tag", "content"}`) and request/response wrappers (an object whose
/// only key ends in `Request` or `Response`).
pub(crate) fn unwrap(mut value: &Value) -> &Value {
    loop {
        match value {
            Value::Object(obj) if obj.contains_key("content") && obj.contains_key("tag") => value = &obj["content"],
            Value::Object(obj) if obj.len() == 1 => match obj.iter().next() {
                Some((k, inner @ Value::Object(_))) if k.ends_with("Request") || k.ends_with("Response") => {
                    value = inner
                }
                _ => return value,
            },
            _ => return value,
        }
    }
}

/// A field of an object, exact name first, then ignoring ASCII case.
fn field<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.get(key).or_else(|| obj.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v))
}

/// Every string at a dotted path (`instancesSet.items.instanceId`), fanning out over arrays at
/// each step, so lists, one-element objects and wrapped values all read alike.
pub(crate) fn strings_at(root: &Value, path: &str) -> Vec<String> {
    let mut nodes = vec![root];
    for key in path.split('.') {
        nodes =
            nodes.into_iter().flat_map(elements).filter_map(|n| n.as_object().and_then(|o| field(o, key))).collect();
    }
    nodes.into_iter().flat_map(elements).filter_map(|v| v.as_str().map(str::to_string)).collect()
}

/// The first string at a path, if any.
pub(crate) fn string_at(root: &Value, path: &str) -> Option<String> {
    strings_at(root, path).into_iter().next()
}

/// A node as a list of unwrapped elements: an array's items, or the node itself.
fn elements(node: &Value) -> Vec<&Value> {
    match unwrap(node) {
        Value::Array(items) => items.iter().map(unwrap).collect(),
        other => vec![other],
    }
}

/// The last segment of an ARN's resource part: `arn:aws:iam::1:user/path/bob` → `bob`.
pub(crate) fn arn_name(arn: &str) -> Option<&str> {
    arn.rsplit(['/', ':']).next().filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_wrapped_and_classic_shapes_alike() {
        let wrapped = json!({"ModifySecurityGroupRulesRequest": {"GroupId": {"tag": 1, "content": "sg-1"}}});
        assert_eq!(strings_at(&wrapped, "groupId"), ["sg-1"]);
        let list = json!({"instancesSet": {"items": [{"instanceId": "i-1"}, {"instanceId": "i-2"}]}});
        assert_eq!(strings_at(&list, "instancesSet.items.instanceId"), ["i-1", "i-2"]);
        let single = json!({"instancesSet": {"items": {"instanceId": "i-3"}}});
        assert_eq!(strings_at(&single, "instancesSet.items.instanceId"), ["i-3"]);
        let content_list = json!({"X": {"InstanceId": [{"tag": 1, "content": "i-4"}, {"tag": 2, "content": "i-5"}]}});
        assert_eq!(strings_at(&content_list, "X.instanceId"), ["i-4", "i-5"]);
        assert!(strings_at(&json!(null), "a.b").is_empty());
        assert!(strings_at(&json!({"a": 3}), "a").is_empty());
    }

    #[test]
    fn arn_names() {
        assert_eq!(arn_name("arn:aws:iam::123456789012:user/path/bob"), Some("bob"));
        assert_eq!(arn_name("arn:aws:iam::123456789012:user/alice"), Some("alice"));
        assert_eq!(arn_name("arn:aws:iam::123456789012:user/"), None);
    }
}
