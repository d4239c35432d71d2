//! The tables, their keys and indexes, and `init`, which creates them.
//!
//! Every table is on-demand (PAY_PER_REQUEST) and every index projects all
//! attributes, so a list can be served from an index alone. The deployment
//! template must define the same keys and indexes (docs/deploy.md).

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, CreateGlobalSecondaryIndexAction, GlobalSecondaryIndex,
    GlobalSecondaryIndexUpdate, KeySchemaElement, KeyType, Projection, ProjectionType, ScalarAttributeType,
    TableStatus, TimeToLiveSpecification, TimeToLiveStatus,
};
use aws_sdk_dynamodb::Client;
use qrie_store::{Result, StoreError};
use std::time::Duration;

use crate::error::{build, sdk};

/// The summary table's TTL attribute (epoch seconds).
pub const TTL_ATTRIBUTE: &str = "ExpireAfter";

/// One table: its base name, key (hash, optional range) and indexes.
#[derive(Debug, Clone, Copy)]
pub struct TableDef {
    pub base: &'static str,
    pub hash: &'static str,
    pub range: Option<&'static str>,
    pub indexes: &'static [IndexDef],
    pub ttl: Option<&'static str>,
}

#[derive(Debug, Clone, Copy)]
pub struct IndexDef {
    pub name: &'static str,
    pub hash: &'static str,
    pub range: Option<&'static str>,
}

pub const RESOURCES: TableDef = TableDef {
    base: "qrie_resources",
    hash: "AccountService",
    range: Some("ARN"),
    indexes: &[IndexDef { name: "ByArn", hash: "ARN", range: None }],
    ttl: None,
};
pub const FINDINGS: TableDef = TableDef {
    base: "qrie_findings",
    hash: "ARN",
    range: Some("Policy"),
    indexes: &[
        IndexDef { name: "ByAccountService", hash: "AccountService", range: Some("ARN") },
        IndexDef { name: "ByPolicy", hash: "Policy", range: Some("ARN") },
    ],
    ttl: None,
};
pub const POLICIES: TableDef =
    TableDef { base: "qrie_policies", hash: "PolicyId", range: None, indexes: &[], ttl: None };
pub const ACCOUNTS: TableDef =
    TableDef { base: "qrie_accounts", hash: "AccountId", range: None, indexes: &[], ttl: None };
pub const JOBS: TableDef = TableDef {
    base: "qrie_jobs",
    hash: "Id",
    range: None,
    indexes: &[IndexDef { name: "ByCreated", hash: "JobsPartition", range: Some("Created") }],
    ttl: None,
};
pub const SUMMARY: TableDef =
    TableDef { base: "qrie_summary", hash: "Partition", range: Some("Key"), indexes: &[], ttl: Some(TTL_ATTRIBUTE) };
pub const KV: TableDef = TableDef { base: "qrie_kv", hash: "Namespace", range: Some("Key"), indexes: &[], ttl: None };

pub const ALL: [TableDef; 7] = [RESOURCES, FINDINGS, POLICIES, ACCOUNTS, JOBS, SUMMARY, KV];

/// The full table names under one prefix.
#[derive(Debug, Clone)]
pub struct Tables {
    prefix: String,
    pub(crate) resources: String,
    pub(crate) findings: String,
    pub(crate) policies: String,
    pub(crate) accounts: String,
    pub(crate) jobs: String,
    pub(crate) summary: String,
    pub(crate) kv: String,
}

impl Tables {
    pub fn new(prefix: &str) -> Self {
        let name = |t: TableDef| format!("{prefix}{}", t.base);
        Tables {
            prefix: prefix.to_string(),
            resources: name(RESOURCES),
            findings: name(FINDINGS),
            policies: name(POLICIES),
            accounts: name(ACCOUNTS),
            jobs: name(JOBS),
            summary: name(SUMMARY),
            kv: name(KV),
        }
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }
}

/// How long `init` waits for a table and its indexes to become active.
const ACTIVE_TIMEOUT: Duration = Duration::from_secs(300);

pub(crate) async fn create_all(client: &Client, tables: &Tables) -> Result<()> {
    for def in ALL {
        let name = format!("{}{}", tables.prefix(), def.base);
        create(client, &name, def).await?;
        wait_active(client, &name).await?;
        add_missing_indexes(client, &name, def).await?;
        if let Some(attribute) = def.ttl {
            enable_ttl(client, &name, attribute).await?;
        }
    }
    Ok(())
}

fn key_schema(hash: &str, range: Option<&str>) -> Result<Vec<KeySchemaElement>> {
    let mut out = vec![KeySchemaElement::builder()
        .attribute_name(hash)
        .key_type(KeyType::Hash)
        .build()
        .map_err(|e| build("key schema", e))?];
    if let Some(range) = range {
        out.push(
            KeySchemaElement::builder()
                .attribute_name(range)
                .key_type(KeyType::Range)
                .build()
                .map_err(|e| build("key schema", e))?,
        );
    }
    Ok(out)
}

/// Creates `name` unless it exists; an existing table must have `def`'s key.
async fn create(client: &Client, name: &str, def: TableDef) -> Result<()> {
    match client.describe_table().table_name(name).send().await {
        Ok(out) => return check_key(name, def, out.table.and_then(|t| t.key_schema).unwrap_or_default()),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_not_found_exception()) => {}
        Err(e) => return Err(sdk("DescribeTable", name, e)),
    }
    // Every key attribute of the table and its indexes is a string.
    let mut attributes: Vec<&str> = vec![def.hash];
    attributes.extend(def.range);
    for index in def.indexes {
        attributes.push(index.hash);
        attributes.extend(index.range);
    }
    attributes.sort_unstable();
    attributes.dedup();
    let mut request = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .set_key_schema(Some(key_schema(def.hash, def.range)?));
    for a in attributes {
        request = request.attribute_definitions(attribute(a)?);
    }
    for index in def.indexes {
        request = request.global_secondary_indexes(index_of(index)?);
    }
    match request.send().await {
        Ok(_) => Ok(()),
        // Another `init` created it meanwhile.
        Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_in_use_exception()) => Ok(()),
        Err(e) => Err(sdk("CreateTable", name, e)),
    }
}

fn index_of(index: &IndexDef) -> Result<GlobalSecondaryIndex> {
    GlobalSecondaryIndex::builder()
        .index_name(index.name)
        .set_key_schema(Some(key_schema(index.hash, index.range)?))
        .projection(Projection::builder().projection_type(ProjectionType::All).build())
        .build()
        .map_err(|e| build("index", e))
}

fn attribute(name: &str) -> Result<AttributeDefinition> {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .map_err(|e| build("attribute definition", e))
}

/// Adds the indexes a table made by an older qrie lacks, one at a time (as
/// DynamoDB requires), each waited for until active.
async fn add_missing_indexes(client: &Client, name: &str, def: TableDef) -> Result<()> {
    let out = client.describe_table().table_name(name).send().await.map_err(|e| sdk("DescribeTable", name, e))?;
    let have: Vec<String> = out
        .table
        .and_then(|t| t.global_secondary_indexes)
        .unwrap_or_default()
        .iter()
        .filter_map(|i| i.index_name().map(str::to_string))
        .collect();
    for index in def.indexes.iter().filter(|i| !have.iter().any(|h| h == i.name)) {
        let create = CreateGlobalSecondaryIndexAction::builder()
            .index_name(index.name)
            .set_key_schema(Some(key_schema(index.hash, index.range)?))
            .projection(Projection::builder().projection_type(ProjectionType::All).build())
            .build()
            .map_err(|e| build("index", e))?;
        let mut request = client
            .update_table()
            .table_name(name)
            .global_secondary_index_updates(GlobalSecondaryIndexUpdate::builder().create(create).build());
        for a in std::iter::once(index.hash).chain(index.range) {
            request = request.attribute_definitions(attribute(a)?);
        }
        request.send().await.map_err(|e| sdk("UpdateTable", name, e))?;
        wait_active(client, name).await?;
    }
    Ok(())
}

fn check_key(name: &str, def: TableDef, have: Vec<KeySchemaElement>) -> Result<()> {
    let want = key_schema(def.hash, def.range)?;
    let names = |k: &[KeySchemaElement]| {
        k.iter().map(|e| format!("{} ({})", e.attribute_name(), e.key_type().as_str())).collect::<Vec<_>>()
    };
    if names(&have) != names(&want) {
        return Err(StoreError::Corrupt {
            location: format!("dynamodb table {name}"),
            reason: format!(
                "it exists with key {:?}, qrie needs {:?}; use another prefix or remove the table",
                names(&have),
                names(&want)
            ),
        });
    }
    Ok(())
}

async fn wait_active(client: &Client, name: &str) -> Result<()> {
    let deadline = tokio::time::Instant::now() + ACTIVE_TIMEOUT;
    loop {
        let out = client.describe_table().table_name(name).send().await.map_err(|e| sdk("DescribeTable", name, e))?;
        let Some(table) = out.table else {
            return Err(StoreError::Backend(format!("dynamodb DescribeTable on {name} answered no table")));
        };
        let indexes_active = table
            .global_secondary_indexes
            .unwrap_or_default()
            .iter()
            .all(|i| i.index_status().is_none_or(|s| s.as_str() == "ACTIVE"));
        if table.table_status == Some(TableStatus::Active) && indexes_active {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(StoreError::Backend(format!(
                "dynamodb table {name} is not active after {} s",
                ACTIVE_TIMEOUT.as_secs()
            )));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn enable_ttl(client: &Client, name: &str, attribute: &str) -> Result<()> {
    let out =
        client.describe_time_to_live().table_name(name).send().await.map_err(|e| sdk("DescribeTimeToLive", name, e))?;
    let status = out.time_to_live_description.as_ref().and_then(|d| d.time_to_live_status.clone());
    if matches!(status, Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)) {
        return Ok(());
    }
    let spec = TimeToLiveSpecification::builder()
        .enabled(true)
        .attribute_name(attribute)
        .build()
        .map_err(|e| build("time to live", e))?;
    client
        .update_time_to_live()
        .table_name(name)
        .time_to_live_specification(spec)
        .send()
        .await
        .map_err(|e| sdk("UpdateTimeToLive", name, e))?;
    Ok(())
}
