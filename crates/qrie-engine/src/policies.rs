//! Policy management: launch (with a bootstrap sweep), update (re-sweep when
//! what decides verdicts changed), suspend and delete (resolve the policy's
//! findings). The seeds' warnings apply: a launch scans everything in scope; a
//! suspension purges findings.

use qrie_model::audit::AuditAction;
use qrie_model::{
    history_series, Account, DetectedBy, Finding, FindingState, LaunchedPolicy, PolicyDef, PolicyStatus,
    ResolvedReason, ScanType, Scope, Severity, Transition, TransitionKind, Trigger,
};
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};

use crate::archive::{ArchiveReport, ArchiveSelection, ArchiveSink};
use crate::commit::commit;
use crate::evaluate::{close_findings, FindingIndex, Tally};
use crate::jobs::{JobReport, Progress};
use crate::{summary, Engine, EngineError, PolicySweepRequest};
use qrie_store::PolicyFence;

/// What an operator sets when launching.
#[derive(Debug, Clone, Default)]
pub struct LaunchOptions {
    pub scope: Scope,
    pub severity: Option<Severity>,
    pub remediation: Option<String>,
    pub params: BTreeMap<String, Value>,
}

/// A change to a launched policy; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct PolicyUpdate {
    pub scope: Option<Scope>,
    /// `Some(None)` clears the override.
    pub severity: Option<Option<Severity>>,
    pub remediation: Option<Option<String>>,
    pub params: Option<BTreeMap<String, Value>>,
}

/// Which policies to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyListing {
    Active,
    Paused,
    Suspended,
    /// Every policy of the catalog, with its launch status.
    Available,
    /// The catalog, plus launched ids the catalog no longer has.
    All,
}

impl std::str::FromStr for PolicyListing {
    type Err = qrie_model::ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "active" => Ok(PolicyListing::Active),
            "paused" => Ok(PolicyListing::Paused),
            "suspended" => Ok(PolicyListing::Suspended),
            "available" => Ok(PolicyListing::Available),
            "all" => Ok(PolicyListing::All),
            _ => Err(qrie_model::ValidationError::Choice {
                what: "policy status",
                value: s.into(),
                expected: "active, paused, suspended, available, all",
            }),
        }
    }
}

/// One row of `policies list`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyView {
    pub policy_id: String,
    /// `active`, `suspended`, `available` (not launched) or `unknown` (launched,
    /// but not in this catalog).
    pub status: String,
    pub definition: Option<&'static PolicyDef>,
    pub launched: Option<LaunchedPolicy>,
    pub effective_severity: Option<Severity>,
    /// Active findings no suppression rule covers.
    pub active_findings: u64,
    /// Active findings a suppression rule covers (counted apart).
    pub suppressed_findings: u64,
}

/// The outcome of a suspension or deletion.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Purge {
    pub policy_id: String,
    pub resolved: u64,
    pub reason: ResolvedReason,
}

impl Engine {
    pub async fn list_policies(&self, which: PolicyListing) -> Result<Vec<PolicyView>, EngineError> {
        let launched: HashMap<String, LaunchedPolicy> =
            self.store.list_policies().await?.into_iter().map(|p| (p.policy_id.clone(), p)).collect();
        let counts: HashMap<String, u64> = self
            .store
            .count_findings(
                &qrie_store::FindingFilter { state: Some(FindingState::Active), ..Default::default() },
                Some(qrie_store::FindingGroup::Policy),
            )
            .await?
            .into_iter()
            .collect();
        let suppressed = self.suppressed_counts(Engine::now()).await?.by_policy;
        let n_suppressed = |id: &str| suppressed.get(id).copied().unwrap_or(0);
        let view = |id: &str, def: Option<&'static PolicyDef>| {
            let l = launched.get(id).cloned();
            let status = match (&l, def) {
                (_, None) => "unknown",
                (Some(l), _) => l.status.as_str(),
                (None, _) => "available",
            };
            PolicyView {
                policy_id: id.to_string(),
                status: status.to_string(),
                definition: def,
                effective_severity: def.map(|d| l.as_ref().map_or(d.severity, |l| l.effective_severity(d))),
                launched: l,
                active_findings: counts.get(id).copied().unwrap_or(0).saturating_sub(n_suppressed(id)),
                suppressed_findings: n_suppressed(id),
            }
        };
        let mut rows: Vec<PolicyView> = qrie_policies::catalog().iter().map(|d| view(d.id, Some(d))).collect();
        if which == PolicyListing::All {
            let mut orphans: Vec<&String> = launched.keys().filter(|id| qrie_policies::get(id).is_none()).collect();
            orphans.sort();
            rows.extend(orphans.into_iter().map(|id| view(id, None)));
        }
        rows.retain(|r| match which {
            PolicyListing::Active => r.status == "active",
            PolicyListing::Paused => r.status == "paused",
            PolicyListing::Suspended => r.status == "suspended",
            PolicyListing::Available | PolicyListing::All => true,
        });
        Ok(rows)
    }

    /// Launches (or re-launches a suspended) policy, then runs its bootstrap
    /// sweep over everything in scope.
    pub async fn launch_policy(
        &self,
        policy_id: &str,
        opts: LaunchOptions,
        progress: &dyn Progress,
    ) -> Result<(LaunchedPolicy, JobReport), EngineError> {
        let launched = self.record_launch(policy_id, opts).await?;
        let report = self.policy_sweep(&bootstrap_of(policy_id), progress).await?;
        Ok((launched, report))
    }

    /// The first half of a launch: checks and saves the policy as active. The
    /// caller owes it its bootstrap sweep ([`bootstrap_of`]), which may run
    /// elsewhere (the API in Lambda hands it to the scanner function).
    pub async fn record_launch(&self, policy_id: &str, opts: LaunchOptions) -> Result<LaunchedPolicy, EngineError> {
        let def = qrie_policies::get(policy_id).ok_or_else(|| EngineError::UnknownPolicy(policy_id.into()))?;
        opts.scope.validate()?;
        def.resolve_params(&opts.params)?;
        if let Some(text) = &opts.remediation {
            qrie_model::text::check_len("the remediation", text, qrie_model::text::limits::REMEDIATION)?;
        }
        let now = Engine::now();
        let existing = self.store.get_policy(policy_id).await?;
        match existing.as_ref().map(|e| e.status) {
            Some(PolicyStatus::Active) => return Err(EngineError::AlreadyActive(policy_id.into())),
            Some(PolicyStatus::Paused) => return Err(EngineError::Paused(policy_id.into())),
            _ => {}
        }
        let read_at = existing.as_ref().map(|e| e.generation);
        let launched = LaunchedPolicy {
            policy_id: policy_id.to_string(),
            status: PolicyStatus::Active,
            scope: opts.scope,
            severity: opts.severity,
            remediation: opts.remediation,
            params: opts.params,
            created_at: existing.map_or(now, |e| e.created_at),
            updated_at: now,
            generation: LaunchedPolicy::next_generation(read_at, now),
        };
        self.save_policy(launched.clone(), read_at).await?;
        self.audit(now, &self.actor, AuditAction::PolicyLaunch, policy_id, json!({"Policy": launched})).await?;
        Ok(launched)
    }

    /// Changes a launched policy. A change of scope, parameters or severity
    /// re-runs its sweep, which resolves what left the scope (OUT_OF_SCOPE) and
    /// opens what entered it.
    pub async fn update_policy(
        &self,
        policy_id: &str,
        update: PolicyUpdate,
        progress: &dyn Progress,
    ) -> Result<(LaunchedPolicy, Option<JobReport>), EngineError> {
        let (p, resweep) = self.record_update(policy_id, update).await?;
        let report = match resweep {
            Some(req) => Some(self.policy_sweep(&req, progress).await?),
            None => None,
        };
        Ok((p, report))
    }

    /// The first half of an update: checks and saves the change, and answers
    /// the sweep it calls for (a change of what decides verdicts, on an active
    /// policy), which the caller owes the policy.
    pub async fn record_update(
        &self,
        policy_id: &str,
        update: PolicyUpdate,
    ) -> Result<(LaunchedPolicy, Option<PolicySweepRequest>), EngineError> {
        let def = qrie_policies::get(policy_id).ok_or_else(|| EngineError::UnknownPolicy(policy_id.into()))?;
        let mut p =
            self.store.get_policy(policy_id).await?.ok_or_else(|| EngineError::NotLaunched(policy_id.into()))?;
        let before = p.clone();
        let mut resweep = false;
        if let Some(scope) = update.scope {
            scope.validate()?;
            resweep |= scope != p.scope;
            p.scope = scope;
        }
        if let Some(params) = update.params {
            def.resolve_params(&params)?;
            resweep |= params != p.params;
            p.params = params;
        }
        if let Some(severity) = update.severity {
            resweep |= severity != p.severity;
            p.severity = severity;
        }
        if let Some(Some(text)) = &update.remediation {
            qrie_model::text::check_len("the remediation", text, qrie_model::text::limits::REMEDIATION)?;
        }
        if let Some(remediation) = update.remediation {
            p.remediation = remediation;
        }
        let read_at = p.generation;
        p.updated_at = Engine::now();
        p.generation = LaunchedPolicy::next_generation(Some(read_at), p.updated_at);
        self.save_policy(p.clone(), Some(read_at)).await?;
        let details = json!({"Before": before, "After": p});
        self.audit(p.updated_at, &self.actor, AuditAction::PolicyUpdate, policy_id, details).await?;
        let sweep = (resweep && p.is_active()).then(|| bootstrap_of(policy_id));
        Ok((p, sweep))
    }

    /// The findings a suspension or deletion would resolve (for an archive).
    pub async fn active_findings_of(&self, policy_id: &str) -> Result<Vec<Finding>, EngineError> {
        Ok(self.store.findings_for_policy(policy_id, Some(FindingState::Active)).await?)
    }

    /// Suspends a policy and resolves its active findings (POLICY_SUSPENDED).
    /// The suspension moves the policy's generation on first, so no sweep or
    /// event that loaded it earlier can reopen what it resolves.
    pub async fn suspend_policy(&self, policy_id: &str) -> Result<Purge, EngineError> {
        let mut p = self.launched(policy_id).await?;
        let read_at = p.generation;
        p.status = PolicyStatus::Suspended;
        p.updated_at = Engine::now();
        p.generation = LaunchedPolicy::next_generation(Some(read_at), p.updated_at);
        let fence = PolicyFence::Generation(p.generation);
        let at = p.updated_at;
        self.save_policy(p, Some(read_at)).await?;
        let purge = self.purge(policy_id, ResolvedReason::PolicySuspended, fence).await?;
        self.audit(at, &self.actor, AuditAction::PolicySuspend, policy_id, json!({"Resolved": purge.resolved})).await?;
        Ok(purge)
    }

    /// Pauses an active policy: events and sweeps skip it and its findings
    /// keep their state (shown as paused) until [`resume_policy`](Self::resume_policy).
    /// The generation moves on, so an evaluation that loaded the policy
    /// before cannot write its findings after.
    pub async fn pause_policy(&self, policy_id: &str) -> Result<LaunchedPolicy, EngineError> {
        self.set_paused(policy_id, true).await
    }

    /// Resumes a paused policy and answers the sweep it owes: everything in
    /// scope, re-evaluated (a bootstrap of that policy), which the caller runs.
    pub async fn resume_policy(&self, policy_id: &str) -> Result<(LaunchedPolicy, PolicySweepRequest), EngineError> {
        let p = self.set_paused(policy_id, false).await?;
        Ok((p, bootstrap_of(policy_id)))
    }

    async fn set_paused(&self, policy_id: &str, pause: bool) -> Result<LaunchedPolicy, EngineError> {
        let mut p = self.launched(policy_id).await?;
        let (from, to, action, marker) = if pause {
            (PolicyStatus::Active, PolicyStatus::Paused, AuditAction::PolicyPause, TransitionKind::Paused)
        } else {
            (PolicyStatus::Paused, PolicyStatus::Active, AuditAction::PolicyResume, TransitionKind::Resumed)
        };
        if p.status != from {
            return Err(match (pause, p.status) {
                (true, PolicyStatus::Paused) => EngineError::Paused(policy_id.into()),
                (true, _) => EngineError::Conflict(format!(
                    "policy {policy_id:?} is {}: only an active policy can be paused",
                    p.status.as_str()
                )),
                (false, _) => EngineError::NotPaused(policy_id.into()),
            });
        }
        let read_at = p.generation;
        p.status = to;
        p.updated_at = Engine::now();
        p.generation = LaunchedPolicy::next_generation(Some(read_at), p.updated_at);
        self.save_policy(p.clone(), Some(read_at)).await?;
        // Each of its active findings says so in its history.
        let t = Transition { at: p.updated_at, kind: marker, reason: None, trigger: Trigger::operator(&self.actor) };
        let value = serde_json::to_value(&t).map_err(|e| EngineError::Conflict(e.to_string()))?;
        let findings = self.active_findings_of(policy_id).await?;
        let points = findings
            .iter()
            .map(|f| (history_series(&f.arn, &f.policy), t.at.timestamp_millis(), value.clone()))
            .collect();
        self.store.append_history_many(points).await?;
        let details = json!({"ActiveFindings": findings.len()});
        self.audit(p.updated_at, &self.actor, action, policy_id, details).await?;
        Ok(p)
    }

    /// Deletes a launched policy and resolves its active findings (POLICY_DELETED).
    pub async fn delete_policy(&self, policy_id: &str) -> Result<Purge, EngineError> {
        let p = self.launched(policy_id).await?;
        if !self.store.delete_policy(policy_id, p.generation).await? {
            return Err(EngineError::PolicyChanged(policy_id.into()));
        }
        let purge = self.purge(policy_id, ResolvedReason::PolicyDeleted, PolicyFence::Absent).await?;
        let details = json!({"Policy": p, "Resolved": purge.resolved});
        self.audit(Engine::now(), &self.actor, AuditAction::PolicyDelete, policy_id, details).await?;
        Ok(purge)
    }

    /// Deletes a launched policy (its active findings resolved, as
    /// [`delete_policy`](Self::delete_policy)), then archives every finding it
    /// has to `sink` and hard-deletes them. If the archive cannot be stored,
    /// the policy stays deleted and its findings stay, resolved.
    pub async fn delete_policy_purging(
        &self,
        policy_id: &str,
        sink: &dyn ArchiveSink,
        progress: &dyn Progress,
    ) -> Result<(Purge, ArchiveReport), EngineError> {
        let purge = self.delete_policy(policy_id).await?;
        let selection = ArchiveSelection { policy: Some(policy_id.to_string()), ..Default::default() };
        match self.archive_findings(&selection, sink, false, progress).await {
            Ok(report) => Ok((purge, report)),
            Err(EngineError::Archive(why)) => Err(EngineError::Archive(format!(
                "{why}. Policy {policy_id:?} is deleted; its findings are resolved and kept: \
                 `qrie findings archive --policy {policy_id}` archives and purges them"
            ))),
            Err(e) => Err(e),
        }
    }

    /// Writes a policy on the condition that it is still at the generation
    /// it was read at (`None`: not launched), and invalidates the dashboard.
    async fn save_policy(&self, policy: LaunchedPolicy, read_at: Option<u64>) -> Result<(), EngineError> {
        let id = policy.policy_id.clone();
        if !self.store.put_policy(policy, read_at).await? {
            return Err(EngineError::PolicyChanged(id));
        }
        summary::invalidate(&*self.store).await?;
        Ok(())
    }

    async fn launched(&self, policy_id: &str) -> Result<LaunchedPolicy, EngineError> {
        if let Some(p) = self.store.get_policy(policy_id).await? {
            return Ok(p);
        }
        Err(match qrie_policies::get(policy_id) {
            Some(_) => EngineError::NotLaunched(policy_id.into()),
            None => EngineError::UnknownPolicy(policy_id.into()),
        })
    }

    /// Resolves the policy's active findings for `reason`, each write fenced
    /// on the policy state that called for it (a relaunch in between wins).
    pub(crate) async fn purge(
        &self,
        policy_id: &str,
        reason: ResolvedReason,
        fence: PolicyFence,
    ) -> Result<Purge, EngineError> {
        let accounts: HashMap<String, Account> =
            self.store.list_accounts().await?.into_iter().map(|a| (a.account_id.clone(), a)).collect();
        let active = self.active_findings_of(policy_id).await?;
        let mut tally = Tally::default();
        let trigger = Trigger::new(DetectedBy::Operator);
        for chunk in active.chunks(1000) {
            let decisions = close_findings(chunk, reason, fence, &accounts);
            let mut index: FindingIndex =
                chunk.iter().map(|f| ((f.arn.clone(), f.policy.clone()), f.clone())).collect();
            commit(&*self.store, decisions, &mut index, &trigger, None, &mut tally).await?;
        }
        summary::invalidate(&*self.store).await?;
        Ok(Purge { policy_id: policy_id.to_string(), resolved: tally.total(|t| t.resolved), reason })
    }
}

/// The sweep a launch owes its policy: everything in scope, as a bootstrap
/// (no drift is measured against a policy that was not there).
pub fn bootstrap_of(policy_id: &str) -> PolicySweepRequest {
    PolicySweepRequest { policy_id: Some(policy_id.to_string()), scan_type: ScanType::Bootstrap }
}
