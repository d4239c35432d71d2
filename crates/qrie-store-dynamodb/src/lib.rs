//! qrie's DynamoDB backend: the store traits of [`qrie_store`] on the tables
//! of the AWS deployment. The AWS SDK stays out of `qrie-store`; this crate is
//! the only one that links `aws-sdk-dynamodb`.
//!
//! Tables (each name behind an optional prefix; [`schema`] defines them):
//!
//! | table | key | indexes |
//! |---|---|---|
//! | `qrie_resources` | `AccountService` + `ARN` | `ByArn` (`ARN`) |
//! | `qrie_findings` | `ARN` + `Policy` | `ByAccountService` (`AccountService` + `ARN`), `ByPolicy` (`Policy` + `ARN`) |
//! | `qrie_policies` | `PolicyId` | |
//! | `qrie_accounts` | `AccountId` | |
//! | `qrie_jobs` | `Id` | `ByCreated` (`JobsPartition` + `Created`, newest first) |
//! | `qrie_summary` | `Partition` + `Key`, TTL on `ExpireAfter` | summaries, locks, history, the resource-partition catalog |
//! | `qrie_kv` | `Namespace` + `Key` | |
//!
//! How the store's rules map onto DynamoDB:
//! - **Observation order**: each resource write is a conditional `PutItem`
//!   (`ObservedAt <= :new`); a refused condition is [`WriteOutcome::Stale`](qrie_store::WriteOutcome).
//! - **Lists** are keyset-paginated: the token ([`qrie_store::token`]) carries
//!   the last item's sort key; filters are applied here, so every page but the
//!   last holds exactly `limit` items.
//! - **Findings** are written by `TransactWriteItems` ([`transact`]): each put
//!   conditional on the version its writer read, with a `ConditionCheck` on the
//!   launched policy's `Generation` (the policy fence).
//! - **Launched policies** are written and deleted conditionally on their `Generation`.
//! - **Unconditional bulk writes** (key-value, deletions of a purge) go through
//!   `BatchWriteItem`, retrying unprocessed items with a bounded backoff.
//! - **Reads through an index are eventually consistent** on AWS (`get_resource`,
//!   findings by policy or account); reads by table key are strongly consistent.
//!   docs/architecture.md lists which reads the engine decides from and why
//!   each is safe.

mod accounts;
mod batch;
mod docs;
mod emulator;
mod error;
mod findings;
mod item;
mod jobs;
mod kv;
mod options;
mod policies;
mod query;
mod read;
mod resources;
pub mod schema;
mod summary;
mod transact;

pub use emulator::Moto;
pub use options::DynamoOptions;

use aws_sdk_dynamodb::Client;
use qrie_store::{Located, Result, Store};
use std::collections::HashSet;
use std::fmt;
use std::sync::{Arc, Mutex};

use schema::Tables;

/// The DynamoDB store. Cheap to clone; clones share one client.
#[derive(Clone)]
pub struct DynamoStore {
    inner: Arc<Inner>,
}

struct Inner {
    client: Client,
    tables: Tables,
    location: String,
    /// Resource partitions (`AccountService`) this process knows are in the catalog.
    known_partitions: Mutex<HashSet<String>>,
}

impl DynamoStore {
    /// A store over `client`, its tables named with `prefix`. Nothing is
    /// checked or created: see [`init`](Self::init).
    pub fn new(client: Client, prefix: &str) -> Self {
        let tables = Tables::new(prefix);
        let location = format!("dynamodb tables {}*", tables.prefix());
        DynamoStore {
            inner: Arc::new(Inner { client, tables, location, known_partitions: Mutex::new(HashSet::new()) }),
        }
    }

    /// Opens the store a `dynamodb://[?endpoint=URL&prefix=P&region=R]` URL
    /// names, with credentials from the standard AWS chain. The tables must
    /// exist ([`init`](Self::init) or the deployment template creates them).
    pub async fn open(url: &str) -> Result<Self> {
        let options = DynamoOptions::parse(url)?;
        let client = options.client().await;
        Ok(Self::new(client, &options.prefix))
    }

    /// Creates the tables, their indexes and the summary TTL where missing,
    /// and waits until they are active. Idempotent; an existing table with
    /// another key schema is refused.
    pub async fn init(&self) -> Result<()> {
        schema::create_all(&self.inner.client, &self.inner.tables).await
    }

    pub(crate) fn client(&self) -> &Client {
        &self.inner.client
    }

    pub(crate) fn tables(&self) -> &Tables {
        &self.inner.tables
    }
}

/// Opens a DynamoDB store URL as the engine's `Store`.
pub async fn open(url: &str) -> Result<Arc<dyn Store>> {
    Ok(Arc::new(DynamoStore::open(url).await?))
}

impl Located for DynamoStore {
    fn location(&self) -> String {
        self.inner.location.clone()
    }
}

impl fmt::Debug for DynamoStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DynamoStore").field("location", &self.inner.location).finish()
    }
}
