//! Resources: conditional writes ordered by observation time.

use async_trait::async_trait;
use qrie_model::{Resource, Service, Timestamp};
use rusqlite::types::Value;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use super::cursor::{self, Kind, Order};
use super::query::{self, from_doc, from_millis, millis, to_doc, Where};
use super::{Res, SqliteStore};
use crate::{Page, PageRequest, ResourceDigest, ResourceFilter, ResourceGroup, ResourceStore, Result, WriteOutcome};

const ORDER: Order =
    Order { tag: "r", keys: &[("account_service", Kind::Text), ("arn", Kind::Text)], descending: false };

/// SQLite's default limit on bound parameters is 32766; stay far below it.
pub(super) const IN_CHUNK: usize = 500;

/// Insert, or overwrite a row observed no later than this write. `changes() == 0`
/// afterwards means the stored row was newer.
const UPSERT: &str = "
INSERT INTO resources
    (arn, account_service, account_id, service, region, resource_type, name, config_hash, observed_at, deleted, doc)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
ON CONFLICT (arn) DO UPDATE SET
    account_service = excluded.account_service,
    account_id = excluded.account_id,
    service = excluded.service,
    region = excluded.region,
    resource_type = excluded.resource_type,
    name = excluded.name,
    config_hash = excluded.config_hash,
    observed_at = excluded.observed_at,
    deleted = excluded.deleted,
    doc = excluded.doc
WHERE resources.observed_at <= excluded.observed_at";

fn write(conn: &Connection, r: &Resource) -> Res<WriteOutcome> {
    let doc = to_doc(&r.arn, r)?;
    let changed = conn.prepare_cached(UPSERT)?.execute(params![
        r.arn,
        r.account_service(),
        r.account_id,
        r.service.as_str(),
        r.region,
        r.resource_type,
        r.name,
        r.config_hash,
        millis(r.observed_at()),
        r.is_deleted(),
        doc,
    ])?;
    Ok(if changed == 0 { WriteOutcome::Stale } else { WriteOutcome::Written })
}

fn mark_one(conn: &Connection, account_id: &str, arn: &str, observed_at: Timestamp) -> Res<WriteOutcome> {
    // One row per ARN here: a row another account holds now is not this one's.
    let row: Option<(i64, String)> = conn
        .prepare_cached("SELECT observed_at, doc FROM resources WHERE arn = ?1 AND account_id = ?2")?
        .query_row([arn, account_id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let Some((stored_at, doc)) = row else { return Ok(WriteOutcome::Missing) };
    // Checked here rather than left to the upsert: the deletion must be at least
    // as new as the stored observation, not merely the merged resource.
    if stored_at > millis(observed_at) {
        return Ok(WriteOutcome::Stale);
    }
    let mut resource: Resource = from_doc(arn, &doc)?;
    resource.deleted_at = Some(observed_at);
    write(conn, &resource)
}

fn group_column(group: ResourceGroup) -> &'static str {
    match group {
        ResourceGroup::Account => "account_id",
        ResourceGroup::Service => "service",
        ResourceGroup::Region => "region",
        ResourceGroup::ResourceType => "resource_type",
    }
}

#[async_trait]
impl ResourceStore for SqliteStore {
    async fn put_resources(&self, resources: Vec<Resource>) -> Result<Vec<WriteOutcome>> {
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let outcomes = resources.iter().map(|r| write(&tx, r)).collect::<Res<Vec<_>>>()?;
            tx.commit()?;
            Ok(outcomes)
        })
        .await
    }

    async fn mark_deleted(
        &self,
        account_id: &str,
        arns: Vec<String>,
        observed_at: Timestamp,
    ) -> Result<Vec<WriteOutcome>> {
        let account_id = account_id.to_string();
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let outcomes =
                arns.iter().map(|arn| mark_one(&tx, &account_id, arn, observed_at)).collect::<Res<Vec<_>>>()?;
            tx.commit()?;
            Ok(outcomes)
        })
        .await
    }

    async fn get_resource(&self, arn: &str) -> Result<Option<Resource>> {
        let arn = arn.to_string();
        self.run(move |conn| query::get_doc(conn, "SELECT doc FROM resources WHERE arn = ?1", &arn)).await
    }

    async fn get_resources(&self, arns: Vec<String>) -> Result<Vec<Resource>> {
        self.run(move |conn| {
            let mut out = Vec::new();
            for chunk in arns.chunks(IN_CHUNK) {
                let mut filter = Where::default();
                let marks = vec!["?"; chunk.len()].join(", ");
                filter.push(format!("arn IN ({marks})"), chunk.iter().map(|a| Value::Text(a.clone())));
                out.extend(query::select_docs::<Resource>(conn, "resources", "arn", &filter, "arn")?);
            }
            Ok(out)
        })
        .await
    }

    async fn list_resources(&self, filter: &ResourceFilter, page: &PageRequest) -> Result<Page<Resource>> {
        let filter = query::resource_filter(filter);
        let page = page.clone();
        self.run(move |conn| cursor::page(conn, "resources", filter, &ORDER, &page)).await
    }

    async fn count_resources(
        &self,
        filter: &ResourceFilter,
        group: Option<ResourceGroup>,
    ) -> Result<Vec<(String, u64)>> {
        let filter = query::resource_filter(filter);
        self.run(move |conn| query::count(conn, "resources", &filter, group.map(group_column))).await
    }

    async fn resource_digests(
        &self,
        account_id: &str,
        service: Service,
        region: Option<&str>,
    ) -> Result<Vec<ResourceDigest>> {
        let account_service = qrie_model::ids::account_service(account_id, service);
        let region = region.map(str::to_string);
        self.run(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT arn, region, config_hash, observed_at, deleted FROM resources
                 WHERE account_service = ?1 AND (?2 IS NULL OR region = ?2) ORDER BY arn",
            )?;
            let rows = stmt.query_map(params![account_service, region], |r| {
                Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?, r.get::<_, i64>(3)?, r.get(4)?))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (arn, region, config_hash, observed_ms, deleted) = row?;
                let observed_at = from_millis(&arn, observed_ms)?;
                out.push(ResourceDigest { arn, region, config_hash, observed_at, deleted });
            }
            Ok(out)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    // The filters are exercised end to end by the conformance suite; this only
    // pins that user text never reaches the SQL.
    use super::*;

    #[test]
    fn filter_values_are_parameters() {
        let hostile = "x' OR '1'='1";
        let f = ResourceFilter {
            account_id: Some(hostile.into()),
            search: Some(hostile.into()),
            exclude_accounts: vec![hostile.into()],
            ..Default::default()
        };
        let w = query::resource_filter(&f);
        assert!(!w.sql().contains(hostile), "{}", w.sql());
        assert_eq!(w.params.len(), 4);
    }

    #[test]
    fn counts_scan_the_covering_rollup_index() {
        // No statistics: an empty database plans as a large one does.
        let mut conn = rusqlite::Connection::open_in_memory().expect("sqlite");
        assert!(super::super::schema::prepare(&mut conn, ":memory:", false).is_ok(), "schema");
        let live = ResourceFilter { exclude_accounts: vec!["123456789012".into()], ..Default::default() };
        for group in [ResourceGroup::Account, ResourceGroup::Service, ResourceGroup::ResourceType] {
            let w = query::resource_filter(&live);
            let sql = format!("EXPLAIN QUERY PLAN {}", query::count_sql("resources", &w, Some(group_column(group))));
            let mut stmt = conn.prepare(&sql).expect("explain");
            let plan: Vec<String> = stmt
                .query_map(rusqlite::params_from_iter(&w.params), |r| r.get(3))
                .expect("plan")
                .collect::<Result<_, _>>()
                .expect("plan rows");
            assert_eq!(plan[0], "SCAN resources USING COVERING INDEX resources_rollup", "{group:?}: {plan:?}");
        }
    }
}
