//! Compliance posture: each control of a framework, judged by the launched
//! policies mapped to it and their active findings.

use qrie_model::FindingState;
use qrie_policies::frameworks::{self, Framework};
use qrie_store::{FindingFilter, FindingGroup};
use serde::Serialize;
use std::collections::HashMap;

use crate::{Engine, EngineError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ControlState {
    /// Every mapped policy is active and none has an active finding.
    Passing,
    /// Some active mapped policy has active findings no suppression covers.
    Failing,
    /// No policy mapped to it is active (or none exists: a manual control).
    NotEvaluated,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ControlPosture {
    pub control_id: String,
    pub title: String,
    pub section: Option<String>,
    pub automated: Option<bool>,
    pub state: ControlState,
    /// Mapped policies that are launched and active.
    pub active_policies: Vec<String>,
    /// Mapped policies that are not active (so the control is only partly checked).
    pub inactive_policies: Vec<String>,
    /// Active findings of its policies that no suppression rule covers.
    pub active_findings: u64,
    /// Active findings of its policies that suppression rules cover: they
    /// do not fail the control, and are shown apart.
    pub suppressed_findings: u64,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CompliancePosture {
    pub framework: String,
    pub name: String,
    pub version: String,
    pub passing: u64,
    pub failing: u64,
    pub not_evaluated: u64,
    pub controls: Vec<ControlPosture>,
}

/// The framework with this id, or an error listing the known ones.
pub(crate) fn framework_named(id: &str) -> Result<&'static Framework, EngineError> {
    frameworks::framework(id).ok_or_else(|| {
        let known: Vec<&str> = frameworks::frameworks().iter().map(|f| f.id.as_str()).collect();
        EngineError::Invalid(qrie_model::ValidationError::Parameter {
            name: "framework".into(),
            reason: format!("unknown framework {id:?}; known: {}", known.join(", ")),
        })
    })
}

impl Engine {
    /// Posture for one framework, or (`None`) for every framework.
    pub async fn compliance(&self, framework: Option<&str>) -> Result<Vec<CompliancePosture>, EngineError> {
        let selected: Vec<&Framework> = match framework {
            Some(id) => vec![framework_named(id)?],
            None => frameworks::frameworks().iter().collect(),
        };
        let active: std::collections::HashSet<String> =
            self.store.list_policies().await?.into_iter().filter(|p| p.is_active()).map(|p| p.policy_id).collect();
        let removed = self.removed_account_ids().await?;
        let filter =
            FindingFilter { state: Some(FindingState::Active), exclude_accounts: removed, ..Default::default() };
        let mut findings: HashMap<String, u64> =
            self.store.count_findings(&filter, Some(FindingGroup::Policy)).await?.into_iter().collect();
        let mut suppressed: HashMap<String, u64> = HashMap::new();
        let suppressor = self.suppressor(crate::Engine::now()).await?;
        for (f, _) in self.suppressed_active(&suppressor).await? {
            *suppressed.entry(f.policy.clone()).or_default() += 1;
            if let Some(n) = findings.get_mut(&f.policy) {
                *n = n.saturating_sub(1);
            }
        }

        Ok(selected
            .into_iter()
            .map(|fw| {
                let controls: Vec<ControlPosture> = fw
                    .controls
                    .iter()
                    .map(|c| {
                        let (on, off): (Vec<String>, Vec<String>) = frameworks::policies_for_control(&fw.id, &c.id)
                            .into_iter()
                            .map(|p| p.id.to_string())
                            .partition(|id| active.contains(id));
                        let sum = |counts: &HashMap<String, u64>| -> u64 {
                            on.iter().map(|id| counts.get(id).copied().unwrap_or(0)).sum()
                        };
                        let count = sum(&findings);
                        let suppressed_findings = sum(&suppressed);
                        let state = match (on.is_empty(), count) {
                            (true, _) => ControlState::NotEvaluated,
                            (false, 0) => ControlState::Passing,
                            (false, _) => ControlState::Failing,
                        };
                        ControlPosture {
                            control_id: c.id.clone(),
                            title: c.title.clone(),
                            section: c.section.clone(),
                            automated: c.automated,
                            state,
                            active_policies: on,
                            inactive_policies: off,
                            active_findings: count,
                            suppressed_findings,
                        }
                    })
                    .collect();
                let n = |s: ControlState| controls.iter().filter(|c| c.state == s).count() as u64;
                CompliancePosture {
                    framework: fw.id.clone(),
                    name: fw.name.clone(),
                    version: fw.version.clone(),
                    passing: n(ControlState::Passing),
                    failing: n(ControlState::Failing),
                    not_evaluated: n(ControlState::NotEvaluated),
                    controls,
                }
            })
            .collect())
    }
}
