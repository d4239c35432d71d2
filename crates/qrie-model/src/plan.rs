//! A sweep's plan (DESIGN.md §9, "Sweeps are plans"): one unit per
//! (account, service, region), each with its own state. The unit is the unit
//! of retry, resumption and failure.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{Lease, Service};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UnitState {
    /// Not taken yet, or given back to be taken again.
    Queued,
    /// Taken by a worker, under its lease.
    Running,
    /// Listed completely and processed.
    Done,
    /// Processed, but its listing was incomplete: nothing was marked deleted.
    Incomplete,
    /// Given up on (its listing failed, or its workers stopped too often).
    Failed,
}

impl UnitState {
    pub fn as_str(self) -> &'static str {
        match self {
            UnitState::Queued => "queued",
            UnitState::Running => "running",
            UnitState::Done => "done",
            UnitState::Incomplete => "incomplete",
            UnitState::Failed => "failed",
        }
    }

    /// Nothing more will be done to the unit.
    pub fn is_finished(self) -> bool {
        matches!(self, UnitState::Done | UnitState::Incomplete | UnitState::Failed)
    }
}

/// One unit of a plan and what became of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PlanUnit {
    pub account_id: String,
    pub service: Service,
    /// `None` for global services (S3's bucket list, IAM).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    pub state: UnitState,
    /// Times a worker took it.
    pub attempts: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease: Option<Lease>,
    /// Why it failed or is incomplete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// What its worker did (counts, drift, tallies), for the sweep's end.
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub result: Value,
}

impl PlanUnit {
    pub fn queued(account_id: &str, service: Service, region: Option<&str>) -> PlanUnit {
        PlanUnit {
            account_id: account_id.to_string(),
            service,
            region: region.map(str::to_string),
            state: UnitState::Queued,
            attempts: 0,
            lease: None,
            reason: None,
            result: Value::Null,
        }
    }

    /// The unit's key in its plan: `account/service/region` (`global` for none).
    pub fn key(&self) -> String {
        format!("{}/{}/{}", self.account_id, self.service, self.region.as_deref().unwrap_or("global"))
    }
}
