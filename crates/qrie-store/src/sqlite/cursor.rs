//! Keyset pagination and its opaque tokens.
//!
//! A token ([`crate::token`]) carries the list's tag and the sort key of the
//! last item. The next page is `WHERE (keys) > (last key)` in the
//! list's order, so pages stay stable and cheap however deep the walk goes.
//! The tag ties a token to one list and sort; any other token is refused.

use rusqlite::types::Value;
use rusqlite::{params_from_iter, Connection};
use serde::de::DeserializeOwned;
use serde_json::Value as Json;

use super::query::{from_doc, Where};
use super::Res;
use crate::{token, Page, PageRequest, StoreError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Int,
    Text,
}

/// A list's sort: SQL expressions compared as one tuple, all ascending or all
/// descending. Mixed directions are expressed by negating integer columns
/// (`-severity`), which the schema indexes as such.
pub(super) struct Order {
    pub(super) tag: &'static str,
    pub(super) keys: &'static [(&'static str, Kind)],
    pub(super) descending: bool,
}

fn encode(order: &Order, key: &[Value]) -> Option<String> {
    let k = key
        .iter()
        .map(|v| match v {
            Value::Integer(i) => Some(Json::from(*i)),
            Value::Text(s) => Some(Json::from(s.as_str())),
            _ => None,
        })
        .collect::<Option<Vec<_>>>()?;
    Some(token::encode(order.tag, k))
}

fn decode(order: &Order, token: &str) -> Result<Vec<Value>, StoreError> {
    let k = token::decode(order.tag, token)?;
    if k.len() != order.keys.len() {
        return Err(StoreError::InvalidToken);
    }
    k.iter()
        .zip(order.keys)
        .map(|(v, (_, kind))| match (kind, v) {
            (Kind::Int, Json::Number(n)) => n.as_i64().map(Value::Integer),
            (Kind::Text, Json::String(s)) => Some(Value::Text(s.clone())),
            _ => None,
        })
        .collect::<Option<Vec<_>>>()
        .ok_or(StoreError::InvalidToken)
}

/// One page of `table`'s documents matching `filter` in `order`.
pub(super) fn page<T: DeserializeOwned>(
    conn: &Connection,
    table: &'static str,
    filter: Where,
    order: &Order,
    request: &PageRequest,
) -> Res<Page<T>> {
    let limit = request.effective_limit();
    let (sql, params) = page_query(table, filter, order, request)?;
    let keys = order.keys.len();
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params_from_iter(&params))?;
    let mut items = Vec::with_capacity(limit);
    let mut last_key = Vec::new();
    let mut more = false;
    while let Some(row) = rows.next()? {
        if items.len() == limit {
            more = true;
            break;
        }
        let key: Vec<Value> = (1..=keys).map(|i| row.get(i)).collect::<Result<_, _>>()?;
        let doc: String = row.get(0)?;
        items.push(from_doc(describe(table, &key), &doc)?);
        last_key = key;
    }
    let next_token = if more {
        Some(encode(order, &last_key).ok_or_else(|| StoreError::Decode {
            key: describe(table, &last_key),
            reason: "sort key of an unexpected type".into(),
        })?)
    } else {
        None
    };
    Ok(Page { items, next_token })
}

/// The statement of a page and its parameters: `doc` then the sort keys,
/// one row more than the limit (which tells whether another page follows).
pub(super) fn page_query(
    table: &'static str,
    mut filter: Where,
    order: &Order,
    request: &PageRequest,
) -> Res<(String, Vec<Value>)> {
    let exprs: Vec<&str> = order.keys.iter().map(|(e, _)| *e).collect();
    let tuple = format!("({})", exprs.join(", "));
    if let Some(token) = &request.next_token {
        let after = decode(order, token)?;
        let marks = vec!["?"; after.len()].join(", ");
        let cmp = if order.descending { "<" } else { ">" };
        // The same bound on the leading key alone, which is implied: SQLite
        // seeks an index with a row-value comparison only when its first
        // element is a plain column, but seeks on a scalar bound also when the
        // key is an indexed expression (`-severity`). Without it a deep page
        // scans every entry before it.
        filter.push(format!("{} {cmp}= ?", exprs[0]), [after[0].clone()]);
        filter.push(format!("{tuple} {cmp} ({marks})"), after);
    }
    let dir = if order.descending { " DESC" } else { "" };
    let order_by: Vec<String> = exprs.iter().map(|e| format!("{e}{dir}")).collect();
    let limit = request.effective_limit();
    let sql = format!(
        "SELECT doc, {} FROM {table}{} ORDER BY {} LIMIT ?",
        exprs.join(", "),
        filter.sql(),
        order_by.join(", ")
    );
    let mut params = filter.params;
    params.push(Value::Integer(i64::try_from(limit + 1).unwrap_or(i64::MAX)));
    Ok((sql, params))
}

fn describe(table: &str, key: &[Value]) -> String {
    let parts: Vec<String> = key
        .iter()
        .map(|v| match v {
            Value::Integer(i) => i.to_string(),
            Value::Text(s) => s.clone(),
            other => format!("{other:?}"),
        })
        .collect();
    format!("{table}/{}", parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;

    const A: Order = Order { tag: "a", keys: &[("x", Kind::Int), ("y", Kind::Text)], descending: false };
    const B: Order = Order { tag: "b", keys: &[("x", Kind::Int), ("y", Kind::Text)], descending: false };

    #[test]
    fn tokens_round_trip_and_are_bound_to_their_list() {
        let key = vec![Value::Integer(-42), Value::Text("arn:aws:s3:::a\"b'%_".into())];
        let token = encode(&A, &key).unwrap();
        assert!(!token.contains('=') && !token.contains('+') && !token.contains('/'), "{token}");
        assert_eq!(decode(&A, &token).unwrap(), key);
        assert!(matches!(decode(&B, &token), Err(StoreError::InvalidToken)));
    }

    #[test]
    fn malformed_tokens_are_invalid() {
        let wrong_types = URL_SAFE_NO_PAD.encode(br#"{"l":"a","k":["1",2]}"#);
        let wrong_arity = URL_SAFE_NO_PAD.encode(br#"{"l":"a","k":[1]}"#);
        for t in ["", "!!!", "e30", &wrong_types, &wrong_arity] {
            assert!(matches!(decode(&A, t), Err(StoreError::InvalidToken)), "{t}");
        }
    }
}
