//! Suppression rules (`qrie_model::suppression`): stored in the key-value
//! space (namespace [`RULES_NS`], one entry per rule, written only on the
//! version it was read at), audited on every change, and applied to findings
//! when they are read through a [`Suppressor`]: the overlay is derived from
//! the rules in effect at that moment, never copied into findings.

use qrie_model::audit::{AuditAction, SYSTEM_ACTOR};
use qrie_model::suppression::{
    strongest, validate_text, RuleStatus, Suppression, SuppressionCategory, SuppressionRule, SuppressionScope,
    SuppressionSubject,
};
use qrie_model::{
    history_series, AccountPlacement, Finding, FindingState, Timestamp, Transition, TransitionKind, Trigger,
};
use qrie_store::{FindingFilter, FindingSort, PageRequest, Store};
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, HashSet};

use crate::{summary, Engine, EngineError};

pub const RULES_NS: &str = "suppressions";

/// A new rule as an operator writes it.
#[derive(Debug, Clone)]
pub struct RuleDraft {
    pub scope: SuppressionScope,
    pub reason: String,
    pub category: SuppressionCategory,
    pub owner: String,
    pub expires_at: Option<Timestamp>,
}

/// A change to a rule; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct RuleEdit {
    pub scope: Option<SuppressionScope>,
    pub reason: Option<String>,
    pub category: Option<SuppressionCategory>,
    pub owner: Option<String>,
    /// `Some(None)` removes the expiry.
    pub expires_at: Option<Option<Timestamp>>,
}

impl RuleEdit {
    pub fn is_empty(&self) -> bool {
        self.scope.is_none()
            && self.reason.is_none()
            && self.category.is_none()
            && self.owner.is_none()
            && self.expires_at.is_none()
    }
}

/// What a rule would suppress now.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Preview {
    /// Active findings it matches.
    pub total: u64,
    /// Of those, how many no other rule in effect suppresses already.
    pub newly_suppressed: u64,
    pub by_policy: BTreeMap<String, u64>,
    pub by_account: BTreeMap<String, u64>,
    /// The first matches (most severe first).
    pub findings: Vec<Finding>,
}

/// Rows a preview lists.
pub const PREVIEW_ROWS: usize = 50;

/// The rules in effect at one moment, with what matching needs to know of
/// accounts: applies overlays to findings as they are read.
#[derive(Debug, Clone, Default)]
pub struct Suppressor {
    rules: Vec<SuppressionRule>,
    org_paths: HashMap<String, Vec<String>>,
    /// Removed accounts, whose findings no count includes.
    removed: HashSet<String>,
}

impl Suppressor {
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    pub fn rules(&self) -> &[SuppressionRule] {
        &self.rules
    }

    /// Whether matching reads resource tags (so readers fetch them).
    pub fn reads_tags(&self) -> bool {
        self.rules.iter().any(|r| r.scope.reads_tags())
    }

    /// When the first rule in effect expires: until then, what this
    /// suppressor decided stays true (unless a rule is changed).
    pub fn valid_until(&self) -> Option<Timestamp> {
        self.rules.iter().filter_map(|r| r.expires_at).min()
    }

    /// The overlay on `f`, given its resource's tags.
    pub fn overlay(&self, f: &Finding, tags: &BTreeMap<String, String>) -> Option<Suppression> {
        let no_path = Vec::new();
        let subject = SuppressionSubject {
            arn: &f.arn,
            policy: &f.policy,
            account: AccountPlacement {
                account_id: &f.account_id,
                org_path: self.org_paths.get(&f.account_id).unwrap_or(&no_path),
            },
            region: &f.region,
            tags,
        };
        strongest(self.rules.iter().filter(|r| r.scope.matches(&subject))).map(|r| r.overlay(f.first_seen))
    }

    /// The overlays on `findings`, in order, reading their resources' tags
    /// from the store when a rule needs them.
    pub async fn overlays(
        &self,
        store: &dyn Store,
        findings: &[Finding],
    ) -> Result<Vec<Option<Suppression>>, EngineError> {
        if self.rules.is_empty() {
            return Ok(vec![None; findings.len()]);
        }
        let tags = tags_of(store, findings, self.reads_tags()).await?;
        Ok(self.overlays_given(findings, &tags))
    }

    /// The overlays on `findings`, in order, given their resources' tags
    /// (read once by [`tags_of`] for several suppressors over the same findings).
    pub fn overlays_given(
        &self,
        findings: &[Finding],
        tags: &HashMap<String, BTreeMap<String, String>>,
    ) -> Vec<Option<Suppression>> {
        let none = BTreeMap::new();
        findings.iter().map(|f| self.overlay(f, tags.get(&f.arn).unwrap_or(&none))).collect()
    }
}

/// The tags of the findings' resources by ARN, read from the store only when
/// `needed` (some rule scopes on tags).
pub async fn tags_of(
    store: &dyn Store,
    findings: &[Finding],
    needed: bool,
) -> Result<HashMap<String, BTreeMap<String, String>>, EngineError> {
    if !needed {
        return Ok(HashMap::new());
    }
    let arns: Vec<String> = findings.iter().map(|f| f.arn.clone()).collect::<HashSet<_>>().into_iter().collect();
    let mut out = HashMap::new();
    for chunk in arns.chunks(100) {
        for r in store.get_resources(chunk.to_vec()).await? {
            out.insert(r.arn, r.tags);
        }
    }
    Ok(out)
}

fn not_found(id: &str) -> EngineError {
    EngineError::UnknownRule(id.to_string())
}

fn changed(id: &str) -> EngineError {
    EngineError::Conflict(format!(
        "suppression rule {id} was changed by someone else meanwhile; look at it again and retry"
    ))
}

fn decode(id: &str, v: Value, revision: u64) -> Result<SuppressionRule, EngineError> {
    let mut r: SuppressionRule = serde_json::from_value(v).map_err(|e| {
        EngineError::Store(qrie_store::StoreError::Decode { key: format!("{RULES_NS}/{id}"), reason: e.to_string() })
    })?;
    r.revision = revision;
    Ok(r)
}

fn encode(r: &SuppressionRule) -> Value {
    serde_json::to_value(r).expect("a rule serializes")
}

fn new_id() -> String {
    format!("sup-{}", &uuid::Uuid::new_v4().simple().to_string()[..12])
}

impl Engine {
    /// Every stored rule (deleted ones included), ordered by id.
    pub async fn suppression_rules(&self) -> Result<Vec<SuppressionRule>, EngineError> {
        self.store.kv_list_versioned(RULES_NS).await?.into_iter().map(|(k, v, rev)| decode(&k, v, rev)).collect()
    }

    pub async fn suppression_rule(&self, id: &str) -> Result<SuppressionRule, EngineError> {
        match self.store.kv_get_versioned(RULES_NS, id).await? {
            Some((v, rev)) => decode(id, v, rev),
            None => Err(not_found(id)),
        }
    }

    /// The rules in effect at `now`, ready to apply.
    pub async fn suppressor(&self, now: Timestamp) -> Result<Suppressor, EngineError> {
        let rules: Vec<SuppressionRule> =
            self.suppression_rules().await?.into_iter().filter(|r| r.in_effect(now)).collect();
        Self::suppressor_of(self, rules).await
    }

    async fn suppressor_of(&self, rules: Vec<SuppressionRule>) -> Result<Suppressor, EngineError> {
        // One read of the accounts serves OU matching and the removed ones.
        let accounts = if rules.is_empty() { Vec::new() } else { self.store.list_accounts().await? };
        let removed = accounts.iter().filter(|a| !a.is_active()).map(|a| a.account_id.clone()).collect();
        let org_paths = accounts.into_iter().map(|a| (a.account_id, a.org_path)).collect();
        Ok(Suppressor { rules, org_paths, removed })
    }

    /// Stores a new rule and records it in the audit log.
    pub async fn add_suppression(&self, draft: RuleDraft, now: Timestamp) -> Result<SuppressionRule, EngineError> {
        let actor: &str = &self.actor;
        draft.scope.validate()?;
        validate_text(&draft.reason, &draft.owner)?;
        if draft.expires_at.is_some_and(|x| x <= now) {
            return Err(EngineError::Invalid(qrie_model::ValidationError::Parameter {
                name: "expires".into(),
                reason: "the expiry is in the past".into(),
            }));
        }
        self.check_rule_policies(&draft.scope).await?;
        let mut rule = SuppressionRule {
            id: new_id(),
            scope: draft.scope,
            reason: draft.reason.trim().to_string(),
            category: draft.category,
            owner: draft.owner.trim().to_string(),
            created_by: actor.to_string(),
            created_at: now,
            updated_by: actor.to_string(),
            updated_at: now,
            in_effect_since: now,
            expires_at: draft.expires_at,
            enabled: true,
            deleted_at: None,
            deleted_by: None,
            expiry_recorded: false,
            revision: 0,
        };
        if !self.store.kv_put_if(RULES_NS, &rule.id, encode(&rule), None).await? {
            return Err(changed(&rule.id));
        }
        rule.revision = 1;
        self.audit(now, actor, AuditAction::SuppressionCreate, &rule.id, json!({"Rule": rule})).await?;
        summary::invalidate(&*self.store).await?;
        Ok(rule)
    }

    /// A policy a rule names must exist (in the catalog or launched): a typo
    /// would otherwise suppress nothing, silently.
    async fn check_rule_policies(&self, scope: &SuppressionScope) -> Result<(), EngineError> {
        let named = scope.policies.iter().chain(scope.finding.iter().map(|f| &f.policy));
        for p in named {
            if qrie_policies::get(p).is_none() && self.store.get_policy(p).await?.is_none() {
                return Err(EngineError::UnknownPolicy(p.clone()));
            }
        }
        Ok(())
    }

    /// Changes a rule, on the condition that it is still at `expected`
    /// (the revision the editor saw; `None`: whatever is stored now). The
    /// audit entry holds the rule before and after.
    pub async fn edit_suppression(
        &self,
        id: &str,
        edit: RuleEdit,
        expected: Option<u64>,
        now: Timestamp,
    ) -> Result<SuppressionRule, EngineError> {
        if edit.is_empty() {
            return Err(EngineError::Invalid(qrie_model::ValidationError::Parameter {
                name: "edit".into(),
                reason: "nothing to change: give a new scope, reason, category, owner or expiry".into(),
            }));
        }
        self.change_rule(id, expected, now, AuditAction::SuppressionEdit, |rule| {
            if let Some(scope) = edit.scope.clone() {
                scope.validate()?;
                if scope != rule.scope {
                    rule.in_effect_since = now;
                }
                rule.scope = scope;
            }
            if let Some(reason) = &edit.reason {
                rule.reason = reason.trim().to_string();
            }
            if let Some(owner) = &edit.owner {
                rule.owner = owner.trim().to_string();
            }
            if let Some(c) = edit.category {
                rule.category = c;
            }
            if let Some(x) = edit.expires_at {
                if x.is_some_and(|x| x <= now) {
                    return Err(qrie_model::ValidationError::Parameter {
                        name: "expires".into(),
                        reason: "the expiry is in the past".into(),
                    });
                }
                rule.expires_at = x;
                rule.expiry_recorded = false;
            }
            validate_text(&rule.reason, &rule.owner)
        })
        .await
    }

    /// Disables (`false`) or re-enables a rule. Its findings are unsuppressed
    /// at once on disabling (each gets an `unsuppressed` entry in its history).
    pub async fn set_suppression_enabled(
        &self,
        id: &str,
        enabled: bool,
        expected: Option<u64>,
        now: Timestamp,
    ) -> Result<SuppressionRule, EngineError> {
        let action = if enabled { AuditAction::SuppressionEnable } else { AuditAction::SuppressionDisable };
        self.change_rule(id, expected, now, action, |rule| {
            if rule.enabled != enabled {
                rule.enabled = enabled;
                if enabled {
                    rule.in_effect_since = now;
                }
            }
            Ok(())
        })
        .await
    }

    /// Deletes a rule softly: it stops suppressing at once and stays in the
    /// store (and the audit log) as deleted.
    pub async fn delete_suppression(&self, id: &str, now: Timestamp) -> Result<SuppressionRule, EngineError> {
        let actor: &str = &self.actor;
        self.change_rule(id, None, now, AuditAction::SuppressionDelete, |rule| {
            rule.deleted_at.get_or_insert(now);
            rule.deleted_by.get_or_insert_with(|| actor.to_string());
            Ok(())
        })
        .await
    }

    /// Reads the rule, applies `change`, writes it back on the revision read
    /// (or `expected`), records the audit entry and, for the findings the
    /// rule stopped suppressing, an `unsuppressed` history entry each.
    async fn change_rule(
        &self,
        id: &str,
        expected: Option<u64>,
        now: Timestamp,
        action: AuditAction,
        change: impl FnOnce(&mut SuppressionRule) -> Result<(), qrie_model::ValidationError>,
    ) -> Result<SuppressionRule, EngineError> {
        let actor: &str = &self.actor;
        let before = self.suppression_rule(id).await?;
        if expected.is_some_and(|e| e != before.revision) {
            return Err(changed(id));
        }
        if before.deleted_at.is_some() {
            return Err(EngineError::Conflict(format!("suppression rule {id} is deleted; create a new one")));
        }
        let mut after = before.clone();
        change(&mut after)?;
        if let Some(scope) = Some(&after.scope).filter(|s| **s != before.scope) {
            self.check_rule_policies(scope).await?;
        }
        after.updated_by = actor.to_string();
        after.updated_at = now;
        if !self.store.kv_put_if(RULES_NS, id, encode(&after), Some(before.revision)).await? {
            return Err(changed(id));
        }
        after.revision = before.revision + 1;
        self.audit(now, actor, action, id, json!({"Before": before, "After": after})).await?;
        self.record_unsuppressed(&before, &after, now, actor).await?;
        summary::invalidate(&*self.store).await?;
        Ok(after)
    }

    /// Appends `unsuppressed` to the history of each active finding `before`
    /// suppressed and `after` no longer does (none when it still suppresses
    /// them), so the change is an event on the finding an alert can follow.
    async fn record_unsuppressed(
        &self,
        before: &SuppressionRule,
        after: &SuppressionRule,
        now: Timestamp,
        actor: &str,
    ) -> Result<u64, EngineError> {
        if !before.in_effect(now) {
            return Ok(0);
        }
        let was = self.suppressor_of(vec![before.clone()]).await?;
        let still = self.suppressor_of(if after.in_effect(now) { vec![after.clone()] } else { Vec::new() }).await?;
        let others = {
            let mut s = self.suppressor(now).await?;
            s.rules.retain(|r| r.id != before.id);
            s
        };
        let candidates = self.candidates(std::slice::from_ref(before), Some(FindingState::Active)).await?;
        let reads_tags = was.reads_tags() || still.reads_tags() || others.reads_tags();
        let tags = tags_of(&*self.store, &candidates, reads_tags).await?;
        let (was_on, still_on, other_on) = (
            was.overlays_given(&candidates, &tags),
            still.overlays_given(&candidates, &tags),
            others.overlays_given(&candidates, &tags),
        );
        let mut points = Vec::new();
        for (i, f) in candidates.iter().enumerate() {
            if was_on[i].is_some() && still_on[i].is_none() && other_on[i].is_none() {
                let t = Transition {
                    at: now,
                    kind: TransitionKind::Unsuppressed,
                    reason: None,
                    trigger: Trigger { rule_id: Some(before.id.clone()), ..Trigger::operator(actor) },
                };
                let value = serde_json::to_value(&t).map_err(|e| EngineError::Conflict(e.to_string()))?;
                points.push((history_series(&f.arn, &f.policy), now.timestamp_millis(), value));
            }
        }
        let n = points.len() as u64;
        self.store.append_history_many(points).await?;
        Ok(n)
    }

    /// Records, once per rule, the expiry of every rule that expired by
    /// `now` and is not recorded yet: an audit entry by `qrie` and the
    /// unsuppression of its findings. Expiry itself needs none of this (a
    /// rule past its expiry suppresses nothing when read); this makes it an
    /// event. Run by the scheduler's tick and by dashboard recomputes; the
    /// conditional write makes concurrent runs record it once.
    pub async fn record_expiries(&self, now: Timestamp) -> Result<Vec<String>, EngineError> {
        let mut recorded = Vec::new();
        for rule in self.suppression_rules().await? {
            if rule.status(now) != RuleStatus::Expired || rule.expiry_recorded {
                continue;
            }
            let mut marked = rule.clone();
            marked.expiry_recorded = true;
            if !self.store.kv_put_if(RULES_NS, &rule.id, encode(&marked), Some(rule.revision)).await? {
                continue; // someone else recorded it or changed the rule
            }
            let active_before = SuppressionRule { expires_at: None, ..rule.clone() };
            let n = self.record_unsuppressed(&active_before, &marked, now, SYSTEM_ACTOR).await?;
            let details = json!({"ExpiredAt": rule.expires_at, "Unsuppressed": n});
            self.audit(now, SYSTEM_ACTOR, AuditAction::SuppressionExpire, &rule.id, details).await?;
            recorded.push(rule.id);
        }
        if !recorded.is_empty() {
            summary::invalidate(&*self.store).await?;
        }
        Ok(recorded)
    }

    /// What a rule with `scope` would suppress now.
    pub async fn preview_suppression(&self, scope: &SuppressionScope, now: Timestamp) -> Result<Preview, EngineError> {
        scope.validate()?;
        self.check_rule_policies(scope).await?;
        let probe = SuppressionRule {
            id: "preview".into(),
            scope: scope.clone(),
            reason: String::new(),
            category: SuppressionCategory::AcceptedRisk,
            owner: String::new(),
            created_by: String::new(),
            created_at: now,
            updated_by: String::new(),
            updated_at: now,
            in_effect_since: now,
            expires_at: None,
            enabled: true,
            deleted_at: None,
            deleted_by: None,
            expiry_recorded: false,
            revision: 0,
        };
        let candidates = self.candidates(std::slice::from_ref(&probe), Some(FindingState::Active)).await?;
        let this = self.suppressor_of(vec![probe]).await?;
        let existing = self.suppressor(now).await?;
        let tags = tags_of(&*self.store, &candidates, this.reads_tags() || existing.reads_tags()).await?;
        let (mine, theirs) = (this.overlays_given(&candidates, &tags), existing.overlays_given(&candidates, &tags));
        let mut preview = Preview {
            total: 0,
            newly_suppressed: 0,
            by_policy: BTreeMap::new(),
            by_account: BTreeMap::new(),
            findings: Vec::new(),
        };
        let mut matched: Vec<Finding> = Vec::new();
        for (i, f) in candidates.into_iter().enumerate() {
            if mine[i].is_none() {
                continue;
            }
            preview.total += 1;
            preview.newly_suppressed += u64::from(theirs[i].is_none());
            *preview.by_policy.entry(f.policy.clone()).or_default() += 1;
            *preview.by_account.entry(f.account_id.clone()).or_default() += 1;
            matched.push(f);
        }
        matched.sort_by(|a, b| b.severity.cmp(&a.severity).then_with(|| (&a.arn, &a.policy).cmp(&(&b.arn, &b.policy))));
        matched.truncate(PREVIEW_ROWS);
        preview.findings = matched;
        Ok(preview)
    }

    /// Active findings suppressed now, each with its overlay: what the
    /// dashboard and compliance posture count apart.
    pub async fn suppressed_active(&self, s: &Suppressor) -> Result<Vec<(Finding, Suppression)>, EngineError> {
        if s.is_empty() {
            return Ok(Vec::new());
        }
        let mut candidates = self.candidates(&s.rules, Some(FindingState::Active)).await?;
        candidates.retain(|f| !s.removed.contains(&f.account_id));
        let overlays = s.overlays(&*self.store, &candidates).await?;
        Ok(candidates.into_iter().zip(overlays).filter_map(|(f, o)| o.map(|o| (f, o))).collect())
    }

    /// How many active findings are suppressed now, by policy, account and
    /// severity label: what listings subtract from their active counts and
    /// show apart.
    pub async fn suppressed_counts(&self, now: Timestamp) -> Result<SuppressedCounts, EngineError> {
        let suppressor = self.suppressor(now).await?;
        let mut counts = SuppressedCounts::default();
        for (f, _) in self.suppressed_active(&suppressor).await? {
            counts.total += 1;
            *counts.by_policy.entry(f.policy.clone()).or_default() += 1;
            *counts.by_account.entry(f.account_id.clone()).or_default() += 1;
            *counts.by_severity.entry(f.severity.label().to_string()).or_default() += 1;
        }
        Ok(counts)
    }

    /// Findings (in `state`) that some of `rules` may match: only the named
    /// findings, resources or policies when every rule names them, else
    /// every finding of the state. Matching itself is the caller's.
    pub(crate) async fn candidates(
        &self,
        rules: &[SuppressionRule],
        state: Option<FindingState>,
    ) -> Result<Vec<Finding>, EngineError> {
        let store = &*self.store;
        let narrow = rules.iter().all(|r| r.scope.exact_arn().is_some() || !r.scope.policies.is_empty());
        let mut out = Vec::new();
        if narrow {
            let mut seen = HashSet::new();
            for r in rules {
                let found = match r.scope.exact_arn() {
                    Some(arn) => store.findings_for_resource(arn).await?,
                    None => {
                        let mut all = Vec::new();
                        for p in &r.scope.policies {
                            all.extend(store.findings_for_policy(p, state).await?);
                        }
                        all
                    }
                };
                for f in found {
                    if state.is_none_or(|s| s == f.state) && seen.insert((f.arn.clone(), f.policy.clone())) {
                        out.push(f);
                    }
                }
            }
            return Ok(out);
        }
        let filter = FindingFilter { state, ..Default::default() };
        let mut page = PageRequest::first(qrie_store::MAX_PAGE_SIZE);
        loop {
            let p = store.list_findings(&filter, FindingSort::Key, &page).await?;
            out.extend(p.items);
            match p.next_token {
                Some(t) => page.next_token = Some(t),
                None => return Ok(out),
            }
        }
    }
}

/// Which findings a list shows by their suppression.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SuppressedFilter {
    /// Findings no rule suppresses (the default of every view).
    #[default]
    No,
    Yes,
    All,
}

impl std::str::FromStr for SuppressedFilter {
    type Err = qrie_model::ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "no" | "false" => Ok(SuppressedFilter::No),
            "yes" | "true" => Ok(SuppressedFilter::Yes),
            "all" => Ok(SuppressedFilter::All),
            _ => Err(qrie_model::ValidationError::Choice {
                what: "suppressed filter",
                value: s.into(),
                expected: "no, yes, all",
            }),
        }
    }
}

/// A finding as lists show it: with its suppression overlay and whether its
/// policy is paused (both derived when read).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct FindingView {
    #[serde(flatten)]
    pub finding: Finding,
    pub suppression: Option<Suppression>,
    pub policy_paused: bool,
}

/// Active findings suppressed now, counted (see [`Engine::suppressed_counts`]).
#[derive(Debug, Clone, Default)]
pub struct SuppressedCounts {
    pub total: u64,
    pub by_policy: HashMap<String, u64>,
    pub by_account: HashMap<String, u64>,
    pub by_severity: HashMap<String, u64>,
}

/// One finding as its page shows it: the overlay, the rule behind it, and
/// the launched policy (paused or not).
#[derive(Debug, Clone)]
pub struct FindingDetail {
    pub view: FindingView,
    pub rule: Option<SuppressionRule>,
    pub launched: Option<qrie_model::LaunchedPolicy>,
}

impl Engine {
    /// The finding on `arn` for `policy` with its overlay as of `now`; `None`
    /// when there is no such finding.
    pub async fn finding_detail(
        &self,
        arn: &str,
        policy: &str,
        now: Timestamp,
    ) -> Result<Option<FindingDetail>, EngineError> {
        let Some(f) = self.store.get_finding(arn, policy).await? else { return Ok(None) };
        let launched = self.store.get_policy(policy).await?;
        let suppressor = self.suppressor(now).await?;
        let suppression = suppressor.overlays(&*self.store, std::slice::from_ref(&f)).await?.pop().flatten();
        let rule = match &suppression {
            Some(s) => Some(self.suppression_rule(&s.rule_id).await?),
            None => None,
        };
        let policy_paused = launched.as_ref().is_some_and(|p| p.status == qrie_model::PolicyStatus::Paused);
        Ok(Some(FindingDetail { view: FindingView { finding: f, suppression, policy_paused }, rule, launched }))
    }
}

/// The most findings one list request examines while filtering by
/// suppression: a page can come back short (with a token to go on) rather
/// than one request reading the whole store.
pub const SCAN_MAX: usize = 5_000;

impl Engine {
    /// A page of findings with their overlays, filtered by suppression.
    /// Store pages are read only as large as what is still missing, so the
    /// returned token resumes exactly after the last finding examined.
    pub async fn list_finding_views(
        &self,
        filter: &FindingFilter,
        sort: FindingSort,
        page: &PageRequest,
        which: SuppressedFilter,
        now: Timestamp,
    ) -> Result<qrie_store::Page<FindingView>, EngineError> {
        let suppressor = self.suppressor(now).await?;
        let paused: HashSet<String> = self
            .store
            .list_policies()
            .await?
            .into_iter()
            .filter(|p| p.status == qrie_model::PolicyStatus::Paused)
            .map(|p| p.policy_id)
            .collect();
        let limit = page.effective_limit();
        let mut request = page.clone();
        let mut items = Vec::new();
        let mut examined = 0;
        loop {
            request.limit = limit - items.len();
            let p = self.store.list_findings(filter, sort, &request).await?;
            examined += p.items.len();
            let overlays = suppressor.overlays(&*self.store, &p.items).await?;
            for (f, suppression) in p.items.into_iter().zip(overlays) {
                let keep = match which {
                    SuppressedFilter::All => true,
                    SuppressedFilter::Yes => suppression.is_some(),
                    SuppressedFilter::No => suppression.is_none(),
                };
                if keep {
                    let policy_paused = paused.contains(&f.policy);
                    items.push(FindingView { finding: f, suppression, policy_paused });
                }
            }
            match p.next_token {
                Some(t) if items.len() < limit && examined < SCAN_MAX => request.next_token = Some(t),
                next_token => return Ok(qrie_store::Page { items, next_token }),
            }
        }
    }
}

/// Rules expiring within this many days are listed as expiring.
pub const EXPIRING_DAYS: i64 = 14;

/// A rule as lists show it: with its status now.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RuleView {
    #[serde(flatten)]
    pub rule: SuppressionRule,
    pub revision: u64,
    pub status: RuleStatus,
    /// In effect and expiring within [`EXPIRING_DAYS`].
    pub expiring_soon: bool,
}

impl RuleView {
    pub fn of(rule: SuppressionRule, now: Timestamp) -> Self {
        let status = rule.status(now);
        let expiring_soon = status == RuleStatus::Active
            && rule.expires_at.is_some_and(|x| x <= now + chrono::Duration::days(EXPIRING_DAYS));
        RuleView { revision: rule.revision, rule, status, expiring_soon }
    }
}

/// Which rules a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleListing {
    /// In effect now (the default).
    Active,
    Expiring,
    Expired,
    Disabled,
    Deleted,
    All,
}

impl std::str::FromStr for RuleListing {
    type Err = qrie_model::ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "active" => RuleListing::Active,
            "expiring" => RuleListing::Expiring,
            "expired" => RuleListing::Expired,
            "disabled" => RuleListing::Disabled,
            "deleted" => RuleListing::Deleted,
            "all" => RuleListing::All,
            _ => {
                return Err(qrie_model::ValidationError::Choice {
                    what: "rule status",
                    value: s.into(),
                    expected: "active, expiring, expired, disabled, deleted, all",
                })
            }
        })
    }
}

impl RuleListing {
    pub fn admits(self, v: &RuleView) -> bool {
        match self {
            RuleListing::Active => v.status == RuleStatus::Active,
            RuleListing::Expiring => v.expiring_soon,
            RuleListing::Expired => v.status == RuleStatus::Expired,
            RuleListing::Disabled => v.status == RuleStatus::Disabled,
            RuleListing::Deleted => v.status == RuleStatus::Deleted,
            RuleListing::All => true,
        }
    }
}

/// The rules of a listing, newest first.
impl Engine {
    /// The rules of a listing, newest first.
    pub async fn rule_views(&self, which: RuleListing, now: Timestamp) -> Result<Vec<RuleView>, EngineError> {
        let mut rows: Vec<RuleView> = self
            .suppression_rules()
            .await?
            .into_iter()
            .map(|r| RuleView::of(r, now))
            .filter(|v| which.admits(v))
            .collect();
        rows.sort_by(|a, b| b.rule.created_at.cmp(&a.rule.created_at).then_with(|| a.rule.id.cmp(&b.rule.id)));
        Ok(rows)
    }
}
