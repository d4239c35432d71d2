//! Policy definitions (code) and launched policies (operator decisions).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

use crate::resource::MissingData;
use crate::{Resource, Scope, Service, Severity, Timestamp, ValidationError, Verdict};

/// How to fix a failing resource.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Remediation {
    pub steps: &'static [&'static str],
    pub cli: &'static str,
    pub console: &'static str,
    /// A Terraform or CloudFormation snippet.
    pub iac: &'static str,
}

/// Controls of one compliance framework that a policy helps satisfy.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ComplianceRef {
    pub framework: &'static str,
    pub controls: &'static [&'static str],
}

/// The default value of a policy parameter; its variant is also the type an
/// override must have.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(untagged)]
pub enum ParamValue {
    Int(i64),
    Bool(bool),
    Text(&'static str),
}

impl ParamValue {
    fn to_json(self) -> Value {
        match self {
            ParamValue::Int(i) => Value::from(i),
            ParamValue::Bool(b) => Value::from(b),
            ParamValue::Text(s) => Value::from(s),
        }
    }

    fn accepts(self, v: &Value) -> bool {
        match self {
            ParamValue::Int(_) => v.is_i64(),
            ParamValue::Bool(_) => v.is_boolean(),
            ParamValue::Text(_) => v.is_string(),
        }
    }

    fn type_name(self) -> &'static str {
        match self {
            ParamValue::Int(_) => "an integer",
            ParamValue::Bool(_) => "true or false",
            ParamValue::Text(_) => "a string",
        }
    }
}

/// What values of a parameter are allowed beyond its type: checked when a
/// policy is launched or updated (CLI, API and UI all go through
/// [`PolicyDef::resolve_params`]), so a value that would make every
/// evaluation error is refused up front instead of switching the policy off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamRule {
    /// Any value of the type (text up to [`MAX_TEXT_PARAM`] characters).
    Any,
    /// An integer from the first to the second, inclusive.
    Range(i64, i64),
    /// Comma-separated port numbers (1 to 65535); empty for none.
    Ports,
    /// Comma-separated 12-digit AWS account ids; empty for none.
    AccountIds,
}

/// The longest text parameter.
pub const MAX_TEXT_PARAM: usize = 2_000;

impl ParamRule {
    /// Why `v` (already of the right type) is not allowed.
    fn check(self, v: &Value) -> Result<(), String> {
        if let Some(t) = v.as_str() {
            if t.chars().count() > MAX_TEXT_PARAM {
                return Err(format!("at most {MAX_TEXT_PARAM} characters"));
            }
        }
        let items = || v.as_str().unwrap_or_default().split(',').map(str::trim).filter(|s| !s.is_empty());
        match self {
            ParamRule::Any => Ok(()),
            ParamRule::Range(lo, hi) => match v.as_i64() {
                Some(i) if (lo..=hi).contains(&i) => Ok(()),
                _ => Err(format!("expected {lo} to {hi}, got {v}")),
            },
            ParamRule::Ports => match items().find(|p| !p.parse::<u16>().is_ok_and(|p| p > 0)) {
                Some(bad) => Err(format!("{bad:?} is not a port (1 to 65535); expected comma-separated ports")),
                None => Ok(()),
            },
            ParamRule::AccountIds => match items().find(|a| a.len() != 12 || !a.bytes().all(|b| b.is_ascii_digit())) {
                Some(bad) => Err(format!("{bad:?} is not a 12-digit account id; expected comma-separated ids")),
                None => Ok(()),
            },
        }
    }

    /// The rule as people read it, for `policies show` and the pages.
    pub fn describe(self) -> Option<String> {
        match self {
            ParamRule::Any => None,
            ParamRule::Range(lo, hi) => Some(format!("{lo} to {hi}")),
            ParamRule::Ports => Some("comma-separated ports, 1 to 65535".into()),
            ParamRule::AccountIds => Some("comma-separated 12-digit account ids".into()),
        }
    }
}

impl Serialize for ParamRule {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.describe().serialize(s)
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ParamDef {
    pub name: &'static str,
    pub description: &'static str,
    pub default: ParamValue,
    /// Shown as `Allowed` (null when any value of the type is).
    #[serde(rename = "Allowed")]
    pub rule: ParamRule,
}

impl ParamDef {
    /// A value for this parameter typed as text (a form field), read as the
    /// parameter's own type: `30` is a number for an integer parameter and
    /// text for a text one.
    pub fn parse(&self, raw: &str) -> Result<Value, ValidationError> {
        let raw = raw.trim();
        let parsed = match self.default {
            ParamValue::Int(_) => raw.parse::<i64>().ok().map(Value::from),
            ParamValue::Bool(_) => raw.parse::<bool>().ok().map(Value::from),
            ParamValue::Text(_) => Some(Value::from(raw)),
        };
        let value = parsed.ok_or_else(|| ValidationError::Parameter {
            name: self.name.to_string(),
            reason: format!("expected {}, got {raw:?}", self.default.type_name()),
        })?;
        self.check(&value)?;
        Ok(value)
    }

    /// Whether `value` is of this parameter's type and within its rule.
    pub fn check(&self, value: &Value) -> Result<(), ValidationError> {
        let reason = if !self.default.accepts(value) {
            format!("expected {}, got {value}", self.default.type_name())
        } else if let Err(why) = self.rule.check(value) {
            why
        } else {
            return Ok(());
        };
        Err(ValidationError::Parameter { name: self.name.to_string(), reason })
    }

    /// The default, as [`parse`](Self::parse) reads it back.
    pub fn default_text(&self) -> String {
        match self.default {
            ParamValue::Int(i) => i.to_string(),
            ParamValue::Bool(b) => b.to_string(),
            ParamValue::Text(t) => t.to_string(),
        }
    }
}

/// The evaluation function of a policy. `Err(MissingData)` becomes
/// [`Verdict::Error`], so a policy can use `?` on [`Resource::field`].
pub type EvaluateFn = fn(&Resource, &EvalContext) -> Result<Verdict, MissingData>;

/// ARNs of other resources an evaluation needs (e.g. the account's Block Public
/// Access for a bucket). The engine fetches them before calling `evaluate`, which
/// keeps evaluation pure.
pub type RelatedFn = fn(&Resource) -> Vec<String>;

/// What a policy reads besides the resource it evaluates: the declared
/// dependency that lets the engine re-evaluate a resource when one of these
/// changes (an event on a security group re-evaluates the instances using it).
#[derive(Clone, Copy)]
pub struct Dependency {
    /// The resource types of what it reads.
    pub types: &'static [&'static str],
    /// The ARNs it reads for one resource (each of one of `types`).
    pub arns: RelatedFn,
}

/// A built-in policy: metadata beside its logic.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyDef {
    #[serde(rename = "PolicyId")]
    pub id: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    pub service: Service,
    pub resource_type: &'static str,
    pub category: &'static str,
    pub severity: Severity,
    pub remediation: Remediation,
    pub compliance: &'static [ComplianceRef],
    pub params: &'static [ParamDef],
    #[serde(skip)]
    pub related: Option<Dependency>,
    #[serde(skip)]
    pub evaluate: EvaluateFn,
}

impl std::fmt::Debug for PolicyDef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PolicyDef").field("id", &self.id).finish_non_exhaustive()
    }
}

impl PolicyDef {
    /// Merges a launched policy's overrides over the defaults, rejecting unknown
    /// names and values of the wrong type.
    pub fn resolve_params(&self, overrides: &BTreeMap<String, Value>) -> Result<Params, ValidationError> {
        let mut values: BTreeMap<String, Value> =
            self.params.iter().map(|p| (p.name.to_string(), p.default.to_json())).collect();
        for (name, value) in overrides {
            let def = self.params.iter().find(|p| p.name == name).ok_or_else(|| ValidationError::Parameter {
                name: name.clone(),
                reason: if self.params.is_empty() {
                    format!("policy {} takes no parameters", self.id)
                } else {
                    let known: Vec<_> = self.params.iter().map(|p| p.name).collect();
                    format!("policy {} has parameters {}", self.id, known.join(", "))
                },
            })?;
            def.check(value)?;
            values.insert(name.clone(), value.clone());
        }
        Ok(Params(values))
    }

    /// The ARNs this policy needs besides the resource itself.
    pub fn related_arns(&self, resource: &Resource) -> Vec<String> {
        self.related.map(|d| (d.arns)(resource)).unwrap_or_default()
    }

    /// Whether a change to a resource of this type can change this policy's
    /// verdicts on other resources.
    pub fn depends_on(&self, resource_type: &str) -> bool {
        self.related.is_some_and(|d| d.types.contains(&resource_type))
    }

    pub fn run(&self, resource: &Resource, ctx: &EvalContext) -> Verdict {
        (self.evaluate)(resource, ctx).unwrap_or_else(Verdict::from)
    }
}

/// Resolved parameter values (defaults with overrides applied).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Params(pub BTreeMap<String, Value>);

impl Params {
    /// An integer parameter. Params are validated against the definition when
    /// resolved, so a missing one is a catalog bug and reported as missing data.
    pub fn int(&self, name: &str) -> Result<i64, MissingData> {
        self.0.get(name).and_then(Value::as_i64).ok_or_else(|| MissingData(format!("parameter {name} is not set")))
    }

    pub fn bool(&self, name: &str) -> Result<bool, MissingData> {
        self.0.get(name).and_then(Value::as_bool).ok_or_else(|| MissingData(format!("parameter {name} is not set")))
    }

    pub fn text(&self, name: &str) -> Result<&str, MissingData> {
        self.0.get(name).and_then(Value::as_str).ok_or_else(|| MissingData(format!("parameter {name} is not set")))
    }
}

/// Everything an evaluation may read besides the resource itself.
pub struct EvalContext<'a> {
    pub params: &'a Params,
    pub now: Timestamp,
    pub related: &'a dyn RelatedLookup,
}

impl EvalContext<'_> {
    /// A related resource, if it is in the inventory and not deleted.
    pub fn related(&self, arn: &str) -> Option<&Resource> {
        self.related.lookup(arn).filter(|r| !r.is_deleted())
    }
}

/// Where related resources come from (prefetched by the engine).
pub trait RelatedLookup {
    fn lookup(&self, arn: &str) -> Option<&Resource>;
}

impl RelatedLookup for HashMap<String, Resource> {
    fn lookup(&self, arn: &str) -> Option<&Resource> {
        self.get(arn)
    }
}

/// For evaluations that need no related resources.
pub struct NoRelated;

impl RelatedLookup for NoRelated {
    fn lookup(&self, _: &str) -> Option<&Resource> {
        None
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PolicyStatus {
    Active,
    /// Not evaluated (events and sweeps skip it); its findings keep their
    /// state, shown as paused, until it is resumed.
    Paused,
    /// Not evaluated; its findings were resolved (POLICY_SUSPENDED).
    Suspended,
}

impl PolicyStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyStatus::Active => "active",
            PolicyStatus::Paused => "paused",
            PolicyStatus::Suspended => "suspended",
        }
    }
}

/// An operator's decision to run a built-in policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LaunchedPolicy {
    pub policy_id: String,
    pub status: PolicyStatus,
    #[serde(default)]
    pub scope: Scope,
    #[serde(default)]
    pub severity: Option<Severity>,
    #[serde(default)]
    pub remediation: Option<String>,
    #[serde(default)]
    pub params: BTreeMap<String, Value>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Bumped by every change that alters verdicts or the policy's state
    /// (launch, suspension, scope, parameters, severity). A finding write
    /// decided under an older generation is refused by the store (a policy
    /// fence), so a sweep or event that loaded the policy earlier can never
    /// undo a suspension or a scope change. Unique across a delete and a
    /// relaunch: it starts from the launch time in milliseconds.
    #[serde(default = "first_generation")]
    pub generation: u64,
}

/// What a policy stored before generations existed reads as.
fn first_generation() -> u64 {
    1
}

impl LaunchedPolicy {
    /// The generation after `previous` (none: a first launch) at `now`:
    /// strictly greater than the previous one, and never reused after a
    /// deletion because it follows the clock.
    pub fn next_generation(previous: Option<u64>, now: Timestamp) -> u64 {
        let clock = u64::try_from(now.timestamp_millis()).unwrap_or(0);
        previous.map_or(clock, |p| (p + 1).max(clock))
    }

    pub fn effective_severity(&self, def: &PolicyDef) -> Severity {
        self.severity.unwrap_or(def.severity)
    }

    pub fn is_active(&self) -> bool {
        self.status == PolicyStatus::Active
    }

    /// Whether its findings stay as they are (active, or paused): only a
    /// suspended or deleted policy's findings are resolved.
    pub fn keeps_findings(&self) -> bool {
        matches!(self.status, PolicyStatus::Active | PolicyStatus::Paused)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn never(_: &Resource, _: &EvalContext) -> Result<Verdict, MissingData> {
        Ok(Verdict::Pass)
    }

    static DEF: PolicyDef = PolicyDef {
        id: "test-policy",
        title: "t",
        description: "d",
        service: Service::Iam,
        resource_type: "AWS::IAM::User",
        category: "c",
        severity: Severity::of(50),
        remediation: Remediation { steps: &[], cli: "", console: "", iac: "" },
        compliance: &[],
        params: &[ParamDef {
            name: "max_age_days",
            description: "",
            default: ParamValue::Int(90),
            rule: ParamRule::Range(1, 3650),
        }],
        related: None,
        evaluate: never,
    };

    #[test]
    fn params_default_and_override() {
        assert_eq!(DEF.resolve_params(&BTreeMap::new()).unwrap().int("max_age_days"), Ok(90));
        let o = BTreeMap::from([("max_age_days".to_string(), json!(30))]);
        assert_eq!(DEF.resolve_params(&o).unwrap().int("max_age_days"), Ok(30));
    }

    #[test]
    fn a_param_typed_in_a_form_is_read_as_its_type() {
        let int =
            ParamDef { name: "max_age_days", description: "", default: ParamValue::Int(90), rule: ParamRule::Any };
        let text = ParamDef { name: "suffix", description: "", default: ParamValue::Text("x"), rule: ParamRule::Any };
        let flag = ParamDef { name: "strict", description: "", default: ParamValue::Bool(false), rule: ParamRule::Any };
        assert_eq!(int.parse(" 30 "), Ok(Value::from(30)));
        assert_eq!(text.parse("30"), Ok(Value::from("30")));
        assert_eq!(flag.parse("true"), Ok(Value::from(true)));
        let e = int.parse("thirty").unwrap_err().to_string();
        assert!(e.contains("max_age_days") && e.contains("an integer") && e.contains("thirty"), "{e}");
        assert!(flag.parse("yes").is_err());
        assert_eq!(int.parse(&int.default_text()), Ok(Value::from(90)));
    }

    #[test]
    fn params_reject_unknown_names_and_wrong_types() {
        let o = BTreeMap::from([("max_age".to_string(), json!(30))]);
        let e = DEF.resolve_params(&o).unwrap_err().to_string();
        assert!(e.contains("max_age_days"), "{e}");
        let o = BTreeMap::from([("max_age_days".to_string(), json!("30"))]);
        assert!(DEF.resolve_params(&o).unwrap_err().to_string().contains("integer"));
    }

    #[test]
    fn params_outside_their_rule_are_refused_naming_the_parameter() {
        for bad in [json!(-5), json!(0), json!(3651)] {
            let o = BTreeMap::from([("max_age_days".to_string(), bad.clone())]);
            let e = DEF.resolve_params(&o).unwrap_err().to_string();
            assert!(e.contains("max_age_days") && e.contains("1 to 3650"), "{bad}: {e}");
        }
        let o = BTreeMap::from([("max_age_days".to_string(), json!(3650))]);
        assert!(DEF.resolve_params(&o).is_ok());
        let ports =
            ParamDef { name: "allowed_ports", description: "", default: ParamValue::Text(""), rule: ParamRule::Ports };
        assert!(ports.check(&json!("22, 3389")).is_ok() && ports.check(&json!("")).is_ok());
        for bad in ["<script>alert(1)</script>", "0", "65536", "22;23", "-1"] {
            let e = ports.check(&json!(bad)).unwrap_err().to_string();
            assert!(e.contains("allowed_ports") && e.contains("not a port"), "{bad}: {e}");
        }
        assert!(ports.parse("70000").is_err(), "form input is checked the same way");
        let ids =
            ParamDef { name: "trusted", description: "", default: ParamValue::Text(""), rule: ParamRule::AccountIds };
        assert!(ids.check(&json!("123456789012,210987654321")).is_ok());
        for bad in ["12345678901", "1234567890123", "12345678901x", "*"] {
            assert!(ids.check(&json!(bad)).unwrap_err().to_string().contains("12-digit"), "{bad}");
        }
        let long = "1,".repeat(MAX_TEXT_PARAM);
        assert!(ports.check(&json!(long)).unwrap_err().to_string().contains("characters"));
    }
}
