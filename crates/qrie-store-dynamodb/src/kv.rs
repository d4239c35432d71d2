//! Small named JSON documents in `qrie_kv`, keyed by (Namespace, Key).

use async_trait::async_trait;
use qrie_store::{KvStore, Result};
use serde_json::Value;
use std::collections::BTreeMap;

use crate::batch::{write_all, Write};
use crate::error::{decode, sdk};
use crate::item::{get_n, get_s, key, n, s, to_doc, Item};
use crate::query::project_query;
use crate::read::{Pages, Source};
use crate::DynamoStore;
use futures::StreamExt;

const VALUE: &str = "Value";

pub(crate) fn item_of(namespace: &str, k: &str, value: &Value) -> Result<Item> {
    let mut item = key([("Namespace", s(namespace)), ("Key", s(k))]);
    item.insert(VALUE.into(), to_doc(format_args!("{namespace}/{k}"), value)?);
    Ok(item)
}

/// An entry's version: written by `kv_put_if`; entries without it read as 1.
const VERSION: &str = "Version";

fn version_of(item: &Item) -> Result<u64> {
    if item.contains_key(VERSION) {
        Ok(get_n(item, VERSION)? as u64)
    } else {
        Ok(1)
    }
}

fn value_of(namespace: &str, item: &Item) -> Result<(String, Value)> {
    let k = get_s(item, "Key")?.to_string();
    let value = serde_json::from_str(get_s(item, VALUE)?)
        .map_err(|e| decode(format_args!("{namespace}/{k}"), e.to_string()))?;
    Ok((k, value))
}

impl DynamoStore {
    fn namespace_query(&self, namespace: &str) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
        self.client()
            .query()
            .table_name(&self.tables().kv)
            .consistent_read(true)
            .key_condition_expression("#ns = :ns")
            .expression_attribute_names("#ns", "Namespace")
            .expression_attribute_values(":ns", s(namespace))
    }
}

#[async_trait]
impl KvStore for DynamoStore {
    async fn kv_get(&self, namespace: &str, k: &str) -> Result<Option<Value>> {
        let table = &self.tables().kv;
        let out = self
            .client()
            .get_item()
            .table_name(table)
            .set_key(Some(key([("Namespace", s(namespace)), ("Key", s(k))])))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk("GetItem", table, e))?;
        out.item.as_ref().map(|i| value_of(namespace, i).map(|(_, v)| v)).transpose()
    }

    async fn kv_put(&self, namespace: &str, k: &str, value: Value) -> Result<()> {
        let table = &self.tables().kv;
        self.client()
            .put_item()
            .table_name(table)
            .set_item(Some(item_of(namespace, k, &value)?))
            .send()
            .await
            .map_err(|e| sdk("PutItem", table, e))?;
        Ok(())
    }

    async fn kv_put_many(&self, namespace: &str, entries: Vec<(String, Value)>) -> Result<()> {
        // One write per key in a batch: the last of the same key wins.
        let last: BTreeMap<String, Value> = entries.into_iter().collect();
        let writes = last.iter().map(|(k, v)| item_of(namespace, k, v).map(Write::Put)).collect::<Result<Vec<_>>>()?;
        write_all(self.client(), &self.tables().kv, writes).await
    }

    async fn kv_put_entries(&self, entries: Vec<(String, String, Value)>) -> Result<()> {
        // One write per key in a batch: the last of the same key wins.
        let last: BTreeMap<(String, String), Value> = entries.into_iter().map(|(ns, k, v)| ((ns, k), v)).collect();
        let writes = last.iter().map(|((ns, k), v)| item_of(ns, k, v).map(Write::Put)).collect::<Result<Vec<_>>>()?;
        write_all(self.client(), &self.tables().kv, writes).await
    }

    async fn kv_delete_if(&self, namespace: &str, k: &str, expected: Value) -> Result<bool> {
        let table = &self.tables().kv;
        // Values are stored as their serialisation, so equal values are equal strings.
        let text = to_doc(format_args!("{namespace}/{k}"), &expected)?;
        let out = self
            .client()
            .delete_item()
            .table_name(table)
            .set_key(Some(key([("Namespace", s(namespace)), ("Key", s(k))])))
            .condition_expression("#v = :v")
            .expression_attribute_names("#v", VALUE)
            .expression_attribute_values(":v", text)
            .send()
            .await;
        match out {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => Ok(false),
            Err(e) => Err(sdk("DeleteItem", table, e)),
        }
    }

    async fn kv_list(&self, namespace: &str) -> Result<Vec<(String, Value)>> {
        let table = &self.tables().kv;
        // A Query returns its partition in key order.
        let items = Pages::new(Source::Query(self.namespace_query(namespace)), table, None).collect().await?;
        items.iter().map(|i| value_of(namespace, i)).collect()
    }

    async fn kv_clear(&self, namespace: &str) -> Result<()> {
        let table = &self.tables().kv;
        let q = project_query(self.namespace_query(namespace), &["Namespace", "Key"]);
        let keys = Pages::new(Source::Query(q), table, None).collect().await?;
        write_all(self.client(), table, keys.into_iter().map(Write::Delete).collect()).await
    }

    async fn kv_get_versioned(&self, namespace: &str, k: &str) -> Result<Option<(Value, u64)>> {
        let table = &self.tables().kv;
        let out = self
            .client()
            .get_item()
            .table_name(table)
            .set_key(Some(key([("Namespace", s(namespace)), ("Key", s(k))])))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk("GetItem", table, e))?;
        out.item.as_ref().map(|i| Ok((value_of(namespace, i)?.1, version_of(i)?))).transpose()
    }

    async fn kv_list_versioned(&self, namespace: &str) -> Result<Vec<(String, Value, u64)>> {
        let table = &self.tables().kv;
        let items = Pages::new(Source::Query(self.namespace_query(namespace)), table, None).collect().await?;
        items
            .iter()
            .map(|i| {
                let (k, v) = value_of(namespace, i)?;
                Ok((k, v, version_of(i)?))
            })
            .collect()
    }

    async fn kv_page_versioned(
        &self,
        namespace: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, Value, u64)>> {
        let table = &self.tables().kv;
        // The last key read is the exclusive start key of the next page.
        let start = after.map(|k| key([("Namespace", s(namespace)), ("Key", s(k))]));
        let query = self.namespace_query(namespace).limit(limit.clamp(1, 1000) as i32);
        let mut pages = Pages::new(Source::Query(query), table, start);
        let mut out = Vec::new();
        while out.len() < limit {
            let Some(page) = pages.next().await? else { break };
            for i in &page {
                let (k, v) = value_of(namespace, i)?;
                out.push((k, v, version_of(i)?));
            }
        }
        out.truncate(limit);
        Ok(out)
    }

    async fn kv_put_if(&self, namespace: &str, k: &str, value: Value, expected: Option<u64>) -> Result<bool> {
        let table = &self.tables().kv;
        let mut item = item_of(namespace, k, &value)?;
        item.insert(VERSION.into(), n(expected.map_or(1, |v| v as i64 + 1)));
        let mut request = self.client().put_item().table_name(table).set_item(Some(item));
        request = match expected {
            None => request.condition_expression("attribute_not_exists(#k)").expression_attribute_names("#k", "Key"),
            // Version 1 also matches an entry written plainly (no Version):
            // only that condition names the key attribute, and DynamoDB
            // refuses a name the expression does not use.
            Some(1) => request
                .condition_expression(crate::transact::at_version(VERSION, "#k", 1))
                .expression_attribute_names("#k", "Key")
                .expression_attribute_values(":v", n(1)),
            Some(v) => request
                .condition_expression(crate::transact::at_version(VERSION, "#k", v))
                .expression_attribute_values(":v", n(v as i64)),
        };
        match request.send().await {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_conditional_check_failed_exception()) => Ok(false),
            Err(e) => Err(sdk("PutItem", table, e)),
        }
    }

    async fn counter_add(&self, namespace: &str, name: &str, delta: i64) -> Result<i64> {
        let table = &self.tables().kv;
        let out = self
            .client()
            .update_item()
            .table_name(table)
            .set_key(Some(key([("Namespace", s(format!("{COUNTERS}{namespace}"))), ("Key", s(name))])))
            .update_expression("ADD #c :d")
            .expression_attribute_names("#c", COUNT)
            .expression_attribute_values(":d", n(delta))
            // ALL_NEW, not UPDATED_NEW: adding 0 (a read of the counter)
            // updates nothing, and UPDATED_NEW may then return no value.
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
            .send()
            .await
            .map_err(|e| sdk("UpdateItem", table, e))?;
        out.attributes.as_ref().map_or(Ok(0), |a| get_n(a, COUNT))
    }

    async fn counters_add(&self, namespace: &str, deltas: Vec<(String, i64)>) -> Result<()> {
        let table = &self.tables().kv;
        let namespace = format!("{COUNTERS}{namespace}");
        // One UpdateItem ADD per counter: atomic on DynamoDB's side, so
        // concurrent functions never lose a count; a few in flight at once.
        let updates = deltas.into_iter().filter(|(_, d)| *d != 0).map(|(k, delta)| {
            let request = self
                .client()
                .update_item()
                .table_name(table)
                .set_key(Some(key([("Namespace", s(&namespace)), ("Key", s(k))])))
                .update_expression("ADD #c :d")
                .expression_attribute_names("#c", COUNT)
                .expression_attribute_values(":d", n(delta));
            async move { request.send().await.map_err(|e| sdk("UpdateItem", table, e)).map(|_| ()) }
        });
        let mut results = futures::stream::iter(updates).buffer_unordered(8);
        while let Some(r) = results.next().await {
            r?;
        }
        Ok(())
    }

    async fn counters(&self, namespace: &str) -> Result<Vec<(String, i64)>> {
        let table = &self.tables().kv;
        let namespace = format!("{COUNTERS}{namespace}");
        let items = Pages::new(Source::Query(self.namespace_query(&namespace)), table, None).collect().await?;
        items.iter().map(|i| Ok((get_s(i, "Key")?.to_string(), get_n(i, COUNT)?))).collect()
    }
}

/// Counters live in their own namespaces (see the SQLite backend), each an
/// item whose number attribute `Count` is added to with `ADD`.
const COUNTERS: &str = "#counters/";
const COUNT: &str = "Count";
