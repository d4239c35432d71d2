//! Tables of one document per key (launched policies, accounts, jobs).

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use qrie_store::Result;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::sdk;
use crate::item::{doc, get_s, key, s, to_doc, Item, DOC};
use crate::read::{Pages, Source};
use crate::DynamoStore;

impl DynamoStore {
    pub(crate) async fn get_doc<T: DeserializeOwned>(&self, table: &str, hash: &str, id: &str) -> Result<Option<T>> {
        let out = self
            .client()
            .get_item()
            .table_name(table)
            .set_key(Some(key([(hash, s(id))])))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk("GetItem", table, e))?;
        out.item.as_ref().map(doc).transpose()
    }

    /// Every document, ordered by key.
    pub(crate) async fn all_docs<T: DeserializeOwned>(&self, table: &str, hash: &str) -> Result<Vec<T>> {
        let scan = self.client().scan().table_name(table).consistent_read(true);
        let mut items = Pages::new(Source::Scan(scan), table, None).collect().await?;
        let mut keyed = items.drain(..).map(|i| Ok((get_s(&i, hash)?.to_string(), i))).collect::<Result<Vec<_>>>()?;
        keyed.sort_by(|a, b| a.0.cmp(&b.0));
        keyed.iter().map(|(_, i)| doc(i)).collect()
    }

    /// Writes a document under `id`, with `extra` attributes beside it.
    pub(crate) async fn put_doc<T: Serialize>(
        &self,
        table: &str,
        hash: &str,
        id: &str,
        value: &T,
        extra: Vec<(&str, AttributeValue)>,
    ) -> Result<()> {
        let item = doc_item(hash, id, value, extra)?;
        self.client()
            .put_item()
            .table_name(table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| sdk("PutItem", table, e))?;
        Ok(())
    }

    /// Writes a document under `id` if its stored numeric `counter` attribute
    /// is `expected` (`None`: no document is stored). Returns whether it was
    /// written.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn put_doc_if<T: Serialize>(
        &self,
        table: &str,
        hash: &str,
        id: &str,
        value: &T,
        extra: Vec<(&str, AttributeValue)>,
        counter: &str,
        expected: Option<u64>,
    ) -> Result<bool> {
        let item = doc_item(hash, id, value, extra)?;
        let mut request = self.client().put_item().table_name(table).set_item(Some(item));
        request = match expected {
            None => request.condition_expression(format!("attribute_not_exists({hash})")),
            Some(v) => request
                .condition_expression(crate::transact::at_version(counter, hash, v))
                .expression_attribute_values(":v", crate::item::n(v as i64)),
        };
        match request.send().await {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_conditional_check_failed_exception()) => Ok(false),
            Err(e) => Err(sdk("PutItem", table, e)),
        }
    }

    /// Returns whether it existed.
    pub(crate) async fn delete_doc(&self, table: &str, hash: &str, id: &str) -> Result<bool> {
        let out = self
            .client()
            .delete_item()
            .table_name(table)
            .set_key(Some(key([(hash, s(id))])))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(|e| sdk("DeleteItem", table, e))?;
        Ok(out.attributes.is_some_and(|a| !a.is_empty()))
    }
}

/// The item of a document under `id`, with `extra` attributes beside it.
fn doc_item<T: Serialize>(hash: &str, id: &str, value: &T, extra: Vec<(&str, AttributeValue)>) -> Result<Item> {
    let mut item: Item = key([(hash, s(id)), (DOC, to_doc(id, value)?)]);
    item.extend(extra.into_iter().map(|(k, v)| (k.to_string(), v)));
    Ok(item)
}
