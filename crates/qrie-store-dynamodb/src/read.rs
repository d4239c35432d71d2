//! Reading a Query or Scan page by page, resuming from an exclusive start key.

use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::operation::scan::builders::ScanFluentBuilder;
use qrie_store::Result;

use crate::error::sdk;
use crate::item::Item;

pub(crate) enum Source {
    Query(QueryFluentBuilder),
    Scan(ScanFluentBuilder),
}

/// The pages of one Query or Scan.
pub(crate) struct Pages {
    source: Source,
    table: String,
    next: Option<Item>,
    done: bool,
}

impl Pages {
    /// From the start, or after `start` (the key of the last item read).
    pub(crate) fn new(source: Source, table: &str, start: Option<Item>) -> Self {
        Pages { source, table: table.to_string(), next: start, done: false }
    }

    /// The next page, or `None` after the last. A page may be empty and still
    /// not be the last (DynamoDB stops at 1 MB or `Limit` read).
    pub(crate) async fn next(&mut self) -> Result<Option<Vec<Item>>> {
        if self.done {
            return Ok(None);
        }
        let start = self.next.take();
        let (items, last) = match &self.source {
            Source::Query(q) => {
                let out =
                    q.clone().set_exclusive_start_key(start).send().await.map_err(|e| sdk("Query", &self.table, e))?;
                (out.items.unwrap_or_default(), out.last_evaluated_key)
            }
            Source::Scan(q) => {
                let out =
                    q.clone().set_exclusive_start_key(start).send().await.map_err(|e| sdk("Scan", &self.table, e))?;
                (out.items.unwrap_or_default(), out.last_evaluated_key)
            }
        };
        self.done = last.as_ref().is_none_or(|k| k.is_empty());
        self.next = last;
        Ok(Some(items))
    }

    /// Every remaining item.
    pub(crate) async fn collect(mut self) -> Result<Vec<Item>> {
        let mut out = Vec::new();
        while let Some(page) = self.next().await? {
            out.extend(page);
        }
        Ok(out)
    }
}
