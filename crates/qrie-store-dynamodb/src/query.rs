//! Pieces every list shares: projections, page tokens, grouped counts.

use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::operation::scan::builders::ScanFluentBuilder;
use qrie_store::{token, StoreError};
use serde_json::Value;
use std::cmp::Reverse;
use std::collections::BTreeMap;

/// Reads only `names` (through placeholders: `Name` and others are reserved words).
pub(crate) fn project_query(q: QueryFluentBuilder, names: &[&str]) -> QueryFluentBuilder {
    let mut q = q.projection_expression(placeholders(names));
    for (i, n) in names.iter().enumerate() {
        q = q.expression_attribute_names(format!("#p{i}"), *n);
    }
    q
}

pub(crate) fn project_scan(q: ScanFluentBuilder, names: &[&str]) -> ScanFluentBuilder {
    let mut q = q.projection_expression(placeholders(names));
    for (i, n) in names.iter().enumerate() {
        q = q.expression_attribute_names(format!("#p{i}"), *n);
    }
    q
}

fn placeholders(names: &[&str]) -> String {
    (0..names.len()).map(|i| format!("#p{i}")).collect::<Vec<_>>().join(", ")
}

/// A list's sort key: an integer, then strings.
pub(crate) type SortKey = (i64, Vec<String>);

/// The token resuming list `tag` after `key`.
pub(crate) fn encode(tag: &str, key: &SortKey) -> String {
    let mut k = vec![Value::from(key.0)];
    k.extend(key.1.iter().map(|s| Value::from(s.as_str())));
    token::encode(tag, k)
}

/// The sort key a token of list `tag` carries; `strings` is the list's arity after the integer.
pub(crate) fn decode(tag: &str, token: &str, strings: usize) -> Result<SortKey, StoreError> {
    let k = token::decode(tag, token)?;
    if k.len() != strings + 1 {
        return Err(StoreError::InvalidToken);
    }
    let int = k[0].as_i64().ok_or(StoreError::InvalidToken)?;
    let rest = k[1..].iter().map(|v| v.as_str().map(str::to_string)).collect::<Option<Vec<_>>>();
    Ok((int, rest.ok_or(StoreError::InvalidToken)?))
}

/// Counts per key, largest first then by key; or the single total `("", n)`.
pub(crate) fn tally(keys: impl IntoIterator<Item = String>, grouped: bool) -> Vec<(String, u64)> {
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    let mut total = 0;
    for k in keys {
        total += 1;
        if grouped {
            *counts.entry(k).or_default() += 1;
        }
    }
    if !grouped {
        return vec![(String::new(), total)];
    }
    let mut out: Vec<(String, u64)> = counts.into_iter().collect();
    out.sort_by(|a, b| (Reverse(a.1), &a.0).cmp(&(Reverse(b.1), &b.0)));
    out
}

/// ASCII case-insensitive substring, as SQLite's LIKE and the conformance suite read `search`.
pub(crate) fn contains_ignore_ascii_case(haystack: &str, needle: &str) -> bool {
    haystack.to_ascii_lowercase().contains(&needle.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_check_arity_and_types() {
        let key = (-90, vec!["arn:aws:s3:::b".to_string(), "p".to_string()]);
        let t = encode("f:sev", &key);
        assert_eq!(decode("f:sev", &t, 2).unwrap(), key);
        assert!(matches!(decode("f:sev", &t, 1), Err(StoreError::InvalidToken)));
        assert!(matches!(decode("f:key", &t, 2), Err(StoreError::InvalidToken)));
        let wrong = token::encode("f:sev", vec![Value::from("x"), Value::from("a"), Value::from("b")]);
        assert!(matches!(decode("f:sev", &wrong, 2), Err(StoreError::InvalidToken)));
    }

    #[test]
    fn tally_orders_by_count_then_key() {
        let keys = ["b", "a", "b", "c", "a"].map(String::from);
        assert_eq!(tally(keys.clone(), true), vec![("a".into(), 2), ("b".into(), 2), ("c".into(), 1)]);
        assert_eq!(tally(keys, false), vec![(String::new(), 5)]);
        assert!(tally(Vec::new(), true).is_empty());
    }
}
