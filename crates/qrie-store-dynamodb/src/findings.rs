//! Findings, keyed by (ARN, Policy), with indexes by account-service and by policy.
//!
//! A list reads the narrowest source its filter allows (one resource's
//! findings, one policy's, one account's, else a Scan), filters and sorts
//! here, and resumes after the token's sort key. DynamoDB has no order across
//! partitions, so a page costs a read of everything its filter's source holds.

use async_trait::async_trait;
use qrie_model::{Finding, FindingState, Service};
use qrie_store::{
    FindingFilter, FindingGroup, FindingSort, FindingStore, FindingWrite, FindingWriteOutcome, Page, PageRequest,
    Result, StoreError,
};

use crate::batch::{write_all, Write};
use crate::error::sdk;
use crate::item::{doc, get_n, get_s, key, millis, n, s, to_doc, Item};
use crate::query::{self, project_query, project_scan, tally, SortKey};
use crate::read::{Pages, Source};
use crate::transact::at_version;
use crate::DynamoStore;
use futures::StreamExt;

/// The attributes filters, sorts and counts read.
const ROW: [&str; 10] = [
    "ARN",
    "Policy",
    "AccountId",
    "Service",
    "Region",
    "ResourceType",
    "Severity",
    "State",
    "LastEvaluated",
    "AccountService",
];

fn item_of(f: &Finding) -> Result<Item> {
    let mut item = key([("ARN", s(&f.arn)), ("Policy", s(&f.policy))]);
    item.extend([
        ("AccountService".to_string(), s(&f.account_service)),
        ("AccountId".to_string(), s(&f.account_id)),
        ("Service".to_string(), s(f.service())),
        ("Region".to_string(), s(&f.region)),
        ("ResourceType".to_string(), s(&f.resource_type)),
        ("Severity".to_string(), n(f.severity.value().into())),
        ("State".to_string(), s(f.state.as_str())),
        ("FirstSeen".to_string(), n(millis(f.first_seen))),
        ("LastEvaluated".to_string(), n(millis(f.last_evaluated))),
        ("Version".to_string(), n(f.version as i64)),
        ("Doc".to_string(), to_doc(format_args!("{} {}", f.arn, f.policy), f)?),
    ]);
    Ok(item)
}

fn row_matches(f: &FindingFilter, item: &Item) -> Result<bool> {
    let eq = |want: Option<&str>, name: &str| -> Result<bool> {
        Ok(match want {
            Some(w) => get_s(item, name)? == w,
            None => true,
        })
    };
    let account = get_s(item, "AccountId")?;
    Ok(eq(f.state.map(FindingState::as_str), "State")?
        && eq(f.policy.as_deref(), "Policy")?
        && eq(f.account_id.as_deref(), "AccountId")?
        && eq(f.service.map(Service::as_str), "Service")?
        && eq(f.region.as_deref(), "Region")?
        && eq(f.resource_type.as_deref(), "ResourceType")?
        && f.severity_min.map_or(Ok(true), |m| get_n(item, "Severity").map(|v| v >= i64::from(m)))?
        && eq(f.arn.as_deref(), "ARN")?
        && !f.exclude_accounts.iter().any(|a| a == account))
}

fn tag(sort: FindingSort) -> &'static str {
    match sort {
        FindingSort::Key => "f:key",
        FindingSort::SeverityDesc => "f:sev",
        FindingSort::LastEvaluatedDesc => "f:last",
        FindingSort::StoreOrder => "f:store",
    }
}

/// One ascending key per sort: the descending columns are negated.
fn sort_key(sort: FindingSort, item: &Item) -> Result<SortKey> {
    let first = match sort {
        FindingSort::Key | FindingSort::StoreOrder => 0,
        FindingSort::SeverityDesc => -get_n(item, "Severity")?,
        FindingSort::LastEvaluatedDesc => -get_n(item, "LastEvaluated")?,
    };
    Ok((first, vec![get_s(item, "ARN")?.to_string(), get_s(item, "Policy")?.to_string()]))
}

fn group_key(group: FindingGroup, item: &Item) -> Result<String> {
    let attribute = match group {
        FindingGroup::Policy => "Policy",
        FindingGroup::Account => "AccountId",
        FindingGroup::Service => "Service",
        FindingGroup::Region => "Region",
        FindingGroup::ResourceType => "ResourceType",
        FindingGroup::State => "State",
        FindingGroup::Severity => return Ok(get_n(item, "Severity")?.to_string()),
    };
    Ok(get_s(item, attribute)?.to_string())
}

impl DynamoStore {
    /// The narrowest Queries (or the Scan) that read every finding matching
    /// `f`, each with whether its start key needs `AccountService` (the
    /// ByAccountService index's key).
    fn finding_sources(&self, f: &FindingFilter, projection: Option<&[&str]>) -> Vec<(Source, bool)> {
        let table = &self.tables().findings;
        let query = |index: Option<&str>, condition: &str, values: Vec<(&str, &str)>| {
            let mut q = self.client().query().table_name(table).key_condition_expression(condition);
            q = match index {
                Some(index) => q.index_name(index),
                None => q.consistent_read(true),
            };
            for (k, v) in values {
                q = q.expression_attribute_values(k, s(v));
            }
            Source::Query(match projection {
                Some(p) => project_query(q, p),
                None => q,
            })
        };
        if let Some(arn) = &f.arn {
            vec![(query(None, "ARN = :a", vec![(":a", arn)]), false)]
        } else if let Some(policy) = &f.policy {
            vec![(query(Some("ByPolicy"), "Policy = :p", vec![(":p", policy)]), false)]
        } else if let Some(account) = &f.account_id {
            let services: Vec<Service> = f.service.map_or(Service::ALL.to_vec(), |s| vec![s]);
            services
                .into_iter()
                .map(|svc| {
                    let partition = qrie_model::ids::account_service(account, svc);
                    (query(Some("ByAccountService"), "AccountService = :p", vec![(":p", &partition)]), true)
                })
                .collect()
        } else {
            let scan = self.client().scan().table_name(table).consistent_read(true);
            vec![(
                Source::Scan(match projection {
                    Some(p) => project_scan(scan, p),
                    None => scan,
                }),
                false,
            )]
        }
    }

    /// A page of [`FindingSort::StoreOrder`]: each source in turn, resuming
    /// after the last finding returned (its token names the source and the
    /// finding's key).
    async fn findings_in_store_order(&self, f: &FindingFilter, page: &PageRequest) -> Result<Page<Finding>> {
        let table = &self.tables().findings;
        let limit = page.effective_limit();
        let tag = tag(FindingSort::StoreOrder);
        let (first_source, mut after) = match page.next_token.as_deref() {
            None => (0, None),
            Some(t) => {
                let (source, key) = query::decode(tag, t, 3)?;
                (usize::try_from(source).map_err(|_| StoreError::InvalidToken)?, Some(key))
            }
        };
        let sources = self.finding_sources(f, None);
        if first_source >= sources.len() {
            return Err(StoreError::InvalidToken);
        }
        let mut items: Vec<(usize, Item)> = Vec::with_capacity(limit);
        let mut more = false;
        'sources: for (index, (source, by_account_service)) in sources.into_iter().enumerate().skip(first_source) {
            let start = after.take().map(|k| {
                let mut start = key([("ARN", s(&k[0])), ("Policy", s(&k[1]))]);
                if by_account_service {
                    start.insert("AccountService".into(), s(&k[2]));
                }
                start
            });
            let limited = match source {
                Source::Query(q) => Source::Query(q.limit(limit as i32)),
                Source::Scan(q) => Source::Scan(q.limit(limit as i32)),
            };
            let mut pages = Pages::new(limited, table, start);
            while let Some(read) = pages.next().await? {
                for item in read {
                    if !row_matches(f, &item)? {
                        continue;
                    }
                    if items.len() == limit {
                        more = true;
                        break 'sources;
                    }
                    items.push((index, item));
                }
            }
        }
        let next_token = match (more, items.last()) {
            (true, Some((index, last))) => {
                let key = vec![
                    get_s(last, "ARN")?.to_string(),
                    get_s(last, "Policy")?.to_string(),
                    get_s(last, "AccountService")?.to_string(),
                ];
                Some(query::encode(tag, &(*index as i64, key)))
            }
            _ => None,
        };
        let findings = items.iter().map(|(_, item)| doc(item)).collect::<Result<Vec<Finding>>>()?;
        Ok(Page { items: findings, next_token })
    }

    /// The findings matching `f`, read from the narrowest source, with only
    /// `projection` (or whole items).
    async fn finding_rows(&self, f: &FindingFilter, projection: Option<&[&str]>) -> Result<Vec<Item>> {
        let table = &self.tables().findings;
        let sources = self.finding_sources(f, projection).into_iter().map(|(source, _)| source);
        let mut out = Vec::new();
        for source in sources {
            for item in Pages::new(source, table, None).collect().await? {
                if row_matches(f, &item)? {
                    out.push(item);
                }
            }
        }
        Ok(out)
    }

    async fn findings_where(&self, f: FindingFilter) -> Result<Vec<Finding>> {
        self.finding_rows(&f, None).await?.iter().map(doc).collect()
    }
}

#[async_trait]
impl FindingStore for DynamoStore {
    async fn write_findings(&self, writes: Vec<FindingWrite>) -> Result<Vec<FindingWriteOutcome>> {
        if let Some(w) = writes.iter().find(|w| w.finding.version == 0) {
            return Err(StoreError::Backend(format!(
                "finding {} {} written with version 0 (a write carries the version it will have)",
                w.finding.arn, w.finding.policy
            )));
        }
        let items = writes.iter().map(|w| item_of(&w.finding)).collect::<Result<Vec<_>>>()?;
        self.transact_findings(&writes, items).await
    }

    async fn get_finding(&self, arn: &str, policy: &str) -> Result<Option<Finding>> {
        let table = &self.tables().findings;
        let out = self
            .client()
            .get_item()
            .table_name(table)
            .set_key(Some(key([("ARN", s(arn)), ("Policy", s(policy))])))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk("GetItem", table, e))?;
        out.item.as_ref().map(doc).transpose()
    }

    async fn findings_for_resource(&self, arn: &str) -> Result<Vec<Finding>> {
        self.findings_where(FindingFilter { arn: Some(arn.to_string()), ..Default::default() }).await
    }

    async fn findings_for_policy(&self, policy: &str, state: Option<FindingState>) -> Result<Vec<Finding>> {
        self.findings_where(FindingFilter { policy: Some(policy.to_string()), state, ..Default::default() }).await
    }

    async fn list_findings(
        &self,
        filter: &FindingFilter,
        sort: FindingSort,
        page: &PageRequest,
    ) -> Result<Page<Finding>> {
        if sort == FindingSort::StoreOrder {
            return self.findings_in_store_order(filter, page).await;
        }
        let limit = page.effective_limit();
        let tag = tag(sort);
        let after = page.next_token.as_deref().map(|t| query::decode(tag, t, 2)).transpose()?;
        let mut keyed = self
            .finding_rows(filter, None)
            .await?
            .into_iter()
            .map(|item| Ok((sort_key(sort, &item)?, item)))
            .collect::<Result<Vec<_>>>()?;
        keyed.retain(|(k, _)| after.as_ref().is_none_or(|a| k > a));
        keyed.sort_by(|a, b| a.0.cmp(&b.0));
        let more = keyed.len() > limit;
        keyed.truncate(limit);
        let next_token = if more { keyed.last().map(|(k, _)| query::encode(tag, k)) } else { None };
        let items = keyed.iter().map(|(_, item)| doc(item)).collect::<Result<Vec<Finding>>>()?;
        Ok(Page { items, next_token })
    }

    /// One conditional DeleteItem per finding (a batch write cannot carry
    /// conditions), a few in flight at once, answers in input order.
    async fn delete_findings(&self, keys: Vec<(String, String, u64)>) -> Result<Vec<bool>> {
        let table = &self.tables().findings;
        let deletes = keys.into_iter().map(|(arn, policy, version)| async move {
            let out = self
                .client()
                .delete_item()
                .table_name(table)
                .set_key(Some(key([("ARN", s(&arn)), ("Policy", s(&policy))])))
                .condition_expression(at_version("Version", "ARN", version))
                .expression_attribute_values(":v", n(version as i64))
                .send()
                .await;
            match out {
                Ok(_) => Ok(true),
                Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => Ok(false),
                Err(e) => Err(sdk("DeleteItem", table, e)),
            }
        });
        futures::stream::iter(deletes).buffered(8).collect::<Vec<Result<bool>>>().await.into_iter().collect()
    }

    async fn count_findings(&self, filter: &FindingFilter, group: Option<FindingGroup>) -> Result<Vec<(String, u64)>> {
        let rows = self.finding_rows(filter, Some(&ROW)).await?;
        let keys = rows
            .iter()
            .map(|item| group.map_or(Ok(String::new()), |g| group_key(g, item)))
            .collect::<Result<Vec<_>>>()?;
        Ok(tally(keys, group.is_some()))
    }
}

/// Deletes every finding of an account (for a hard purge).
pub(crate) async fn purge(store: &DynamoStore, account_id: &str) -> Result<()> {
    let filter = FindingFilter { account_id: Some(account_id.to_string()), ..Default::default() };
    let rows = store.finding_rows(&filter, Some(&ROW)).await?;
    let deletes = rows
        .iter()
        .map(|item| Ok(Write::Delete(key([("ARN", s(get_s(item, "ARN")?)), ("Policy", s(get_s(item, "Policy")?))]))))
        .collect::<Result<Vec<_>>>()?;
    write_all(store.client(), &store.tables().findings, deletes).await
}
