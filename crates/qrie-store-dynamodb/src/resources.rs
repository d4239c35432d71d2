//! Resources: conditional writes ordered by observation time, and lists in
//! (AccountService, ARN) order across partitions.
//!
//! A Scan has no order, so lists walk the partitions one by one, in order,
//! each as a Query (which is ordered by ARN). The partitions that exist are
//! kept in a catalog item of the summary table, added to before a partition's
//! first write; this process remembers which it has added.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use futures::StreamExt;
use qrie_model::{ids, Resource, Service, Timestamp};
use qrie_store::{
    Page, PageRequest, ResourceDigest, ResourceFilter, ResourceGroup, ResourceStore, Result, StoreError, WriteOutcome,
};
use std::collections::{BTreeSet, HashMap};

use crate::error::sdk;
use crate::item::{doc, from_millis, get_bool, get_n, get_s, key, millis, n, s, to_doc, Item};
use crate::query::{self, contains_ignore_ascii_case, project_query, tally};
use crate::read::{Pages, Source};
use crate::DynamoStore;

const TAG: &str = "r";
/// Conditional writes in flight at once.
const PARALLEL: usize = 16;
/// Attempts of a deletion that lost a race with another writer.
const MARK_ATTEMPTS: usize = 5;

const CATALOG_PARTITION: &str = "meta";
const CATALOG_KEY: &str = "resource-partitions";
const CATALOG_SET: &str = "Partitions";

/// The attributes filters and counts read.
const ROW: [&str; 8] = ["AccountService", "ARN", "AccountId", "Service", "Region", "ResourceType", "Name", "Deleted"];

/// Written unless the stored row was observed later.
const NOT_OLDER: &str = "attribute_not_exists(ObservedAt) OR ObservedAt <= :t";

fn item_of(r: &Resource) -> Result<Item> {
    let mut item = key([("AccountService", s(r.account_service())), ("ARN", s(&r.arn))]);
    item.extend([
        ("AccountId".to_string(), s(&r.account_id)),
        ("Service".to_string(), s(r.service.as_str())),
        ("Region".to_string(), s(&r.region)),
        ("ResourceType".to_string(), s(&r.resource_type)),
        ("Name".to_string(), s(&r.name)),
        ("ConfigHash".to_string(), s(&r.config_hash)),
        ("ObservedAt".to_string(), n(millis(r.observed_at()))),
        ("Deleted".to_string(), AttributeValue::Bool(r.is_deleted())),
        ("Doc".to_string(), to_doc(&r.arn, r)?),
    ]);
    Ok(item)
}

fn row_matches(f: &ResourceFilter, item: &Item) -> Result<bool> {
    let eq = |want: &Option<String>, name: &str| -> Result<bool> {
        Ok(match want {
            Some(w) => get_s(item, name)? == w,
            None => true,
        })
    };
    let account = get_s(item, "AccountId")?;
    let search = match f.search.as_deref() {
        Some(needle) => {
            contains_ignore_ascii_case(get_s(item, "Name")?, needle)
                || contains_ignore_ascii_case(get_s(item, "ARN")?, needle)
        }
        None => true,
    };
    Ok(eq(&f.account_id, "AccountId")?
        && f.service.is_none_or(|svc| get_s(item, "Service").is_ok_and(|v| v == svc.as_str()))
        && eq(&f.region, "Region")?
        && eq(&f.resource_type, "ResourceType")?
        && search
        && (f.include_deleted || !get_bool(item, "Deleted")?)
        && !f.exclude_accounts.iter().any(|a| a == account))
}

fn group_attribute(group: ResourceGroup) -> &'static str {
    match group {
        ResourceGroup::Account => "AccountId",
        ResourceGroup::Service => "Service",
        ResourceGroup::Region => "Region",
        ResourceGroup::ResourceType => "ResourceType",
    }
}

impl DynamoStore {
    /// Adds the partitions this process has not added yet to the catalog.
    async fn register_partitions(&self, partitions: impl Iterator<Item = String>) -> Result<()> {
        let new: BTreeSet<String> = {
            let known = self.inner.known_partitions.lock().unwrap_or_else(|e| e.into_inner());
            partitions.filter(|p| !known.contains(p)).collect()
        };
        if new.is_empty() {
            return Ok(());
        }
        let table = &self.tables().summary;
        self.client()
            .update_item()
            .table_name(table)
            .set_key(Some(key([("Partition", s(CATALOG_PARTITION)), ("Key", s(CATALOG_KEY))])))
            .update_expression("ADD #set :new")
            .expression_attribute_names("#set", CATALOG_SET)
            .expression_attribute_values(":new", AttributeValue::Ss(new.iter().cloned().collect()))
            .send()
            .await
            .map_err(|e| sdk("UpdateItem", table, e))?;
        self.inner.known_partitions.lock().unwrap_or_else(|e| e.into_inner()).extend(new);
        Ok(())
    }

    /// The partitions a filter can match, in order.
    async fn partitions(&self, f: &ResourceFilter) -> Result<Vec<String>> {
        let table = &self.tables().summary;
        let out = self
            .client()
            .get_item()
            .table_name(table)
            .set_key(Some(key([("Partition", s(CATALOG_PARTITION)), ("Key", s(CATALOG_KEY))])))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk("GetItem", table, e))?;
        let all = match out.item.as_ref().and_then(|i| i.get(CATALOG_SET)) {
            Some(AttributeValue::Ss(set)) => set.clone(),
            _ => Vec::new(),
        };
        let mut wanted: Vec<String> = all
            .into_iter()
            .filter(|p| {
                let Some((account, service)) = p.rsplit_once('_') else { return false };
                f.account_id.as_deref().is_none_or(|a| a == account)
                    && f.service.is_none_or(|s| s.as_str() == service)
                    && !f.exclude_accounts.iter().any(|a| a == account)
            })
            .collect();
        wanted.sort();
        Ok(wanted)
    }

    fn partition_query(&self, partition: &str) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
        self.client()
            .query()
            .table_name(&self.tables().resources)
            .key_condition_expression("AccountService = :p")
            .expression_attribute_values(":p", s(partition))
            .consistent_read(true)
    }

    /// Conditional put of one resource.
    async fn put_if_newer(&self, r: &Resource, condition: &str, values: Vec<(&str, AttributeValue)>) -> Result<bool> {
        let table = &self.tables().resources;
        let mut request =
            self.client().put_item().table_name(table).set_item(Some(item_of(r)?)).condition_expression(condition);
        for (k, v) in values {
            request = request.expression_attribute_values(k, v);
        }
        match request.send().await {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_conditional_check_failed_exception()) => Ok(false),
            Err(e) => Err(sdk("PutItem", table, e)),
        }
    }

    async fn write(&self, r: &Resource) -> Result<WriteOutcome> {
        let written = self.put_if_newer(r, NOT_OLDER, vec![(":t", n(millis(r.observed_at())))]).await?;
        Ok(if written { WriteOutcome::Written } else { WriteOutcome::Stale })
    }

    /// The stored rows of `arn`, the latest observation first. The `ByArn`
    /// index says which partitions hold the ARN (a bucket name can move
    /// between accounts); each row is then read from the table itself with a
    /// consistent read, so what was just written is what is read (an index
    /// lags its table).
    async fn rows_of(&self, arn: &str) -> Result<Vec<Item>> {
        let table = &self.tables().resources;
        let q = project_query(
            self.client()
                .query()
                .table_name(table)
                .index_name("ByArn")
                .key_condition_expression("ARN = :a")
                .expression_attribute_values(":a", s(arn)),
            &["AccountService", "ARN"],
        );
        let keys = Pages::new(Source::Query(q), table, None).collect().await?;
        let mut rows = Vec::with_capacity(keys.len());
        for k in &keys {
            if let Some(row) = self.consistent_row(get_s(k, "AccountService")?, arn).await? {
                rows.push(row);
            }
        }
        // A bucket name can move between accounts: the resource is the live
        // row (its owner's now), else the latest tombstone.
        rows.sort_by_key(|i| {
            let live = !get_bool(i, "Deleted").unwrap_or(false);
            std::cmp::Reverse((live, get_n(i, "ObservedAt").unwrap_or(i64::MIN)))
        });
        Ok(rows)
    }

    async fn consistent_row(&self, partition: &str, arn: &str) -> Result<Option<Item>> {
        let table = &self.tables().resources;
        let out = self
            .client()
            .get_item()
            .table_name(table)
            .set_key(Some(key([("AccountService", s(partition)), ("ARN", s(arn))])))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk("GetItem", table, e))?;
        Ok(out.item)
    }

    /// Marks one resource deleted: read, check the order, then write on the
    /// condition that the row is still the one read (re-read on a lost race).
    async fn mark_one(&self, account_id: &str, arn: &str, observed_at: Timestamp) -> Result<WriteOutcome> {
        // The account's own row: another account's row of a moved bucket name is not touched.
        let prefix = format!("{account_id}_");
        let mut rows = self.rows_of(arn).await?.into_iter();
        let own = rows.find(|r| get_s(r, "AccountService").is_ok_and(|p| p.starts_with(&prefix)));
        let Some(mut row) = own else { return Ok(WriteOutcome::Missing) };
        for _ in 0..MARK_ATTEMPTS {
            let stored_at = get_n(&row, "ObservedAt")?;
            // The deletion must be at least as new as the stored observation.
            if stored_at > millis(observed_at) {
                return Ok(WriteOutcome::Stale);
            }
            let mut resource: Resource = doc(&row)?;
            resource.deleted_at = Some(observed_at);
            if self.put_if_newer(&resource, "ObservedAt = :seen", vec![(":seen", n(stored_at))]).await? {
                return Ok(WriteOutcome::Written);
            }
            let partition = get_s(&row, "AccountService")?.to_string();
            match self.consistent_row(&partition, arn).await? {
                Some(fresh) => row = fresh,
                None => return Ok(WriteOutcome::Missing),
            }
        }
        Err(StoreError::Backend(format!(
            "marking {arn} deleted lost {MARK_ATTEMPTS} races with other writers; retry the sweep"
        )))
    }

    /// Runs `op` on each input, inputs with the same key one after the other
    /// in input order (so a batch sees its own earlier writes), distinct keys
    /// concurrently. One outcome per input, in order.
    async fn per_key<'a, T, F, Fut>(&'a self, keys: Vec<String>, inputs: &'a [T], op: F) -> Result<Vec<WriteOutcome>>
    where
        F: Fn(&'a T) -> Fut,
        Fut: std::future::Future<Output = Result<WriteOutcome>>,
    {
        let mut groups: Vec<Vec<usize>> = Vec::new();
        let mut by_key: HashMap<String, usize> = HashMap::new();
        for (i, k) in keys.into_iter().enumerate() {
            let g = *by_key.entry(k).or_insert_with(|| {
                groups.push(Vec::new());
                groups.len() - 1
            });
            groups[g].push(i);
        }
        let op = &op;
        let mut results = futures::stream::iter(groups.into_iter().map(|group| async move {
            let mut out = Vec::with_capacity(group.len());
            for i in group {
                out.push((i, op(&inputs[i]).await?));
            }
            Ok::<_, StoreError>(out)
        }))
        .buffer_unordered(PARALLEL);
        let mut outcomes = vec![WriteOutcome::Missing; inputs.len()];
        while let Some(group) = results.next().await {
            for (i, outcome) in group? {
                outcomes[i] = outcome;
            }
        }
        Ok(outcomes)
    }
}

#[async_trait]
impl ResourceStore for DynamoStore {
    async fn put_resources(&self, resources: Vec<Resource>) -> Result<Vec<WriteOutcome>> {
        self.register_partitions(resources.iter().map(Resource::account_service)).await?;
        let keys = resources.iter().map(|r| format!("{}\n{}", r.account_service(), r.arn)).collect();
        self.per_key(keys, &resources, |r| self.write(r)).await
    }

    async fn mark_deleted(
        &self,
        account_id: &str,
        arns: Vec<String>,
        observed_at: Timestamp,
    ) -> Result<Vec<WriteOutcome>> {
        self.per_key(arns.clone(), &arns, |arn| self.mark_one(account_id, arn, observed_at)).await
    }

    async fn get_resource(&self, arn: &str) -> Result<Option<Resource>> {
        self.rows_of(arn).await?.first().map(doc).transpose()
    }

    async fn get_resources(&self, arns: Vec<String>) -> Result<Vec<Resource>> {
        let unique: BTreeSet<String> = arns.into_iter().collect();
        let mut lookups =
            futures::stream::iter(unique.into_iter().map(|arn| async move { self.get_resource(&arn).await }))
                .buffer_unordered(PARALLEL);
        let mut out = Vec::new();
        while let Some(found) = lookups.next().await {
            out.extend(found?);
        }
        Ok(out)
    }

    async fn list_resources(&self, filter: &ResourceFilter, page: &PageRequest) -> Result<Page<Resource>> {
        let limit = page.effective_limit();
        let after = match &page.next_token {
            Some(t) => match query::decode(TAG, t, 2)? {
                (0, k) => Some((k[0].clone(), k[1].clone())),
                _ => return Err(StoreError::InvalidToken),
            },
            None => None,
        };
        let table = &self.tables().resources;
        // Read a little past the page: one more match says whether another page follows.
        let read_limit = i32::try_from((limit + 1).clamp(50, 1000)).unwrap_or(1000);
        let mut items: Vec<Item> = Vec::with_capacity(limit);
        let mut more = false;
        'partitions: for partition in self.partitions(filter).await? {
            let start = match &after {
                Some((p, _)) if partition < *p => continue,
                Some((p, arn)) if partition == *p => {
                    Some(key([("AccountService", s(p.as_str())), ("ARN", s(arn.as_str()))]))
                }
                _ => None,
            };
            let mut pages = Pages::new(Source::Query(self.partition_query(&partition).limit(read_limit)), table, start);
            while let Some(page) = pages.next().await? {
                for item in page {
                    if !row_matches(filter, &item)? {
                        continue;
                    }
                    if items.len() == limit {
                        more = true;
                        break 'partitions;
                    }
                    items.push(item);
                }
            }
        }
        let next_token = match (more, items.last()) {
            (true, Some(last)) => Some(query::encode(
                TAG,
                &(0, vec![get_s(last, "AccountService")?.to_string(), get_s(last, "ARN")?.to_string()]),
            )),
            _ => None,
        };
        let items = items.iter().map(doc).collect::<Result<Vec<Resource>>>()?;
        Ok(Page { items, next_token })
    }

    async fn count_resources(
        &self,
        filter: &ResourceFilter,
        group: Option<ResourceGroup>,
    ) -> Result<Vec<(String, u64)>> {
        let table = &self.tables().resources;
        let mut keys = Vec::new();
        for partition in self.partitions(filter).await? {
            let q = project_query(self.partition_query(&partition), &ROW);
            let mut pages = Pages::new(Source::Query(q), table, None);
            while let Some(page) = pages.next().await? {
                for item in page {
                    if row_matches(filter, &item)? {
                        let k = match group {
                            Some(g) => get_s(&item, group_attribute(g))?.to_string(),
                            None => String::new(),
                        };
                        keys.push(k);
                    }
                }
            }
        }
        Ok(tally(keys, group.is_some()))
    }

    async fn resource_digests(
        &self,
        account_id: &str,
        service: Service,
        region: Option<&str>,
    ) -> Result<Vec<ResourceDigest>> {
        let table = &self.tables().resources;
        let partition = ids::account_service(account_id, service);
        let q =
            project_query(self.partition_query(&partition), &["ARN", "Region", "ConfigHash", "ObservedAt", "Deleted"]);
        let mut out = Vec::new();
        for item in Pages::new(Source::Query(q), table, None).collect().await? {
            let item_region = get_s(&item, "Region")?;
            if region.is_some_and(|r| r != item_region) {
                continue;
            }
            let arn = get_s(&item, "ARN")?.to_string();
            let observed_at = from_millis(&arn, get_n(&item, "ObservedAt")?)?;
            out.push(ResourceDigest {
                region: item_region.to_string(),
                config_hash: get_s(&item, "ConfigHash")?.to_string(),
                observed_at,
                deleted: get_bool(&item, "Deleted")?,
                arn,
            });
        }
        Ok(out)
    }
}

/// Deletes every resource of an account (for a hard purge). The catalog keeps
/// its partitions: an empty partition costs one Query per list, while removing
/// it could hide a concurrent writer's rows.
pub(crate) async fn purge(store: &DynamoStore, account_id: &str) -> Result<()> {
    let table = &store.tables().resources;
    for service in Service::ALL {
        let partition = ids::account_service(account_id, service);
        let q = project_query(store.partition_query(&partition), &["AccountService", "ARN"]);
        let keys = Pages::new(Source::Query(q), table, None).collect().await?;
        let deletes = keys.into_iter().map(crate::batch::Write::Delete).collect();
        crate::batch::write_all(store.client(), table, deletes).await?;
    }
    Ok(())
}
