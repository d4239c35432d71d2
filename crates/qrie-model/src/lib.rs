//! qrie's domain: the types every other crate speaks, and the pure rules that
//! must exist exactly once.
//!
//! - [`Resource`] is one observed cloud resource (full configuration, observation
//!   time, what could not be read). [`ResourceRef`] is the key part of it.
//! - [`PolicyDef`] is a built-in policy (code); [`LaunchedPolicy`] is an operator's
//!   decision to run it with a [`Scope`], overrides and a status.
//! - Evaluating a resource gives a [`Verdict`]; [`lifecycle::apply`] turns a verdict
//!   (or a deletion, suspension, scope change) into a [`Finding`] change. Every
//!   trigger — sweep, event, policy management — goes through that one function.
//! - [`Account`], [`ScanType`], [`Job`] and the drift records describe sweeps.
//!
//! No I/O here and no AWS SDK: this crate compiles in seconds and is tested in
//! isolation.

pub mod account;
pub mod audit;
pub mod error;
pub mod finding;
pub mod ids;
pub mod integration;
pub mod job;
pub mod lifecycle;
pub mod notice;
pub mod plan;
pub mod policy;
pub mod resource;
pub mod scope;
pub mod severity;
pub mod suppression;
pub mod text;
pub mod verdict;

pub use account::{Account, AccountSource, AccountStatus};
pub use error::ValidationError;
pub use finding::{
    finding_uid, history_series, DetectedBy, Finding, FindingState, ResolvedReason, Transition, TransitionKind,
    Trigger, HISTORY_KEPT,
};
pub use ids::{validate_account_id, validate_region, Service};
pub use job::{
    finding_drift_totals, InventoryDrift, InventoryDriftRow, Job, JobError, JobKind, JobStatus, Lease, PolicyDrift,
    PolicyDriftRow, ScanType,
};
pub use lifecycle::{Effect, Outcome, Subject};
pub use plan::{PlanUnit, UnitState};
pub use policy::{
    ComplianceRef, Dependency, EvalContext, LaunchedPolicy, NoRelated, ParamDef, ParamRule, ParamValue, Params,
    PolicyDef, PolicyStatus, RelatedLookup, Remediation,
};
pub use resource::{
    changed_at, comparable_hashes, has_ended, MissingData, Resource, ResourceRef, CHANGE_TIMES, LOCATION_KEY, TAGS_KEY,
    VOLATILE_FIELDS,
};
pub use scope::{AccountPlacement, Scope, TagCondition};
pub use severity::{Severity, SeverityLabel};
pub use verdict::Verdict;

/// All times in qrie are UTC instants.
pub type Timestamp = chrono::DateTime<chrono::Utc>;
