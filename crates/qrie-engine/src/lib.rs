//! qrie's engine: everything that changes state, written against traits only
//! (a [`qrie_store::Store`] and a [`Cloud`]), so it runs the same on SQLite with
//! the simulated estate and on DynamoDB with AWS.
//!
//! - [`Engine::inventory_sweep`] observes (Cloud) → stores → evaluates, and
//!   measures drift on anti-entropy sweeps; a sweep is a plan of units
//!   (`plan`), resumable ([`Engine::resume_sweep`]), run by a
//!   local worker pool or fanned out over a queue ([`fanout`]).
//! - [`Engine::policy_sweep`] re-evaluates the stored inventory.
//! - [`policies`] and [`accounts`] are the management operations (launch,
//!   suspend, delete, scope changes; add, remove, baseline).
//! - [`summary`] computes the dashboard and the drift panel, cached with a TTL
//!   and a lock.
//! - [`sim`] is the simulated estate behind `qrie demo` and the tests.
//!
//! Every verdict reaches findings through [`evaluate`] (decisions) and
//! [`commit`] (which applies `qrie_model::lifecycle` — the one implementation
//! of the finding lifecycle — and writes on the finding's version and the
//! policy's generation, re-deciding on conflict).

pub mod accounts;
pub mod archive;
pub mod audit;
pub mod cloud;
pub mod commit;
pub mod compliance;
pub mod evaluate;
pub mod events;
pub mod export;
pub mod fanout;
pub mod history;
mod inventory;
pub mod jobs;
pub mod memory;
pub mod notify;
mod plan;
pub mod policies;
mod policy_sweep;
mod references;
pub mod sim;
pub mod summary;
pub mod suppressions;
pub mod unmapped;

pub use cloud::{Cloud, CloudError, CloudRouter, Described, Listing, OrgAccount, SweepUnit};
pub use inventory::{workers, InventoryRequest, DEFAULT_DRIFT_GRACE_MINUTES};
pub use jobs::{JobReport, NoProgress, Progress};
pub use policy_sweep::PolicySweepRequest;

use qrie_store::{Store, StoreError};
use std::sync::Arc;

/// Errors an operator can act on.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Invalid(#[from] qrie_model::ValidationError),
    #[error("unknown policy {0:?}: `qrie policies list --status available` lists the catalog")]
    UnknownPolicy(String),
    #[error("policy {0:?} is not launched: `qrie policies launch {0}` launches it")]
    NotLaunched(String),
    #[error("policy {0:?} is already active: use `qrie policies update` to change it")]
    AlreadyActive(String),
    #[error("unknown account {0:?}: `qrie accounts list` lists the accounts")]
    UnknownAccount(String),
    #[error("account {0} already exists")]
    AccountExists(String),
    #[error("account {0} is removed: add it again to monitor it")]
    AccountRemoved(String),
    #[error("no simulated estate in this store: run `qrie demo` first")]
    NoEstate,
    #[error("{0}")]
    Conflict(String),
    #[error("policy {0:?} was changed by someone else meanwhile; look at it again and retry")]
    PolicyChanged(String),
    #[error("no suppression rule {0:?}: `qrie suppressions list --status all` lists them")]
    UnknownRule(String),
    #[error("policy {0:?} is paused: `qrie policies resume {0}` resumes it")]
    Paused(String),
    #[error("policy {0:?} is not paused (only a paused policy can be resumed)")]
    NotPaused(String),
    /// The archive could not be written or stored: nothing was purged.
    #[error("the archive could not be stored, so nothing was purged: {0}")]
    Archive(String),
    #[error("export: {0}")]
    Export(String),
    #[error("no integration {0:?}: `qrie integrations list` lists them")]
    UnknownIntegration(String),
}

/// The engine over one store and one cloud.
#[derive(Clone)]
pub struct Engine {
    pub store: Arc<dyn Store>,
    pub cloud: Arc<dyn Cloud>,
    /// Who the management operations are done for, as the audit log names
    /// them: [`SYSTEM_ACTOR`](qrie_model::audit::SYSTEM_ACTOR) unless set
    /// with [`acting_as`](Self::acting_as).
    actor: Arc<str>,
}

impl Engine {
    pub fn new(store: Arc<dyn Store>, cloud: Arc<dyn Cloud>) -> Self {
        Engine { store, cloud, actor: Arc::from(qrie_model::audit::SYSTEM_ACTOR) }
    }

    /// The same engine, acting for `actor` (`token:<name>`, `cli:<user>`).
    pub fn acting_as(&self, actor: &str) -> Engine {
        Engine { actor: Arc::from(actor), ..self.clone() }
    }

    pub fn actor(&self) -> &str {
        &self.actor
    }

    pub fn now() -> qrie_model::Timestamp {
        chrono::Utc::now()
    }
}
