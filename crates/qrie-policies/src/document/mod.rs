//! IAM and S3 policy documents, understood once.
//!
//! Bucket policies, identity policies (inline and managed) and role trust
//! policies share one grammar; this module parses it and answers the questions
//! policies ask, so that no policy reimplements wildcard matching, principal
//! forms or condition semantics.
//!
//! # Parsing
//! [`PolicyDocument::parse`] takes the document as stored: a JSON object (S3
//! bucket policies, GetAccountAuthorizationDetails via the SDK), a JSON string
//! (GetBucketPolicy, GetPolicyVersion) or a URL-encoded JSON string (the raw IAM
//! API: `%7B%22Version%22…`), plus the JSON path where it sits
//! (`Policy`, `User.UserPolicyList[0].PolicyDocument`), which every piece of
//! evidence starts with. It understands:
//! - `Statement` as one object or a list (paths `Policy.Statement` or
//!   `Policy.Statement[2]`);
//! - `Effect` (`Allow`/`Deny`);
//! - `Principal` / `NotPrincipal` in all forms ([`Principal`]): `"*"`,
//!   `{"AWS": "*"}`, `{"AWS": [..]}`, account ids, `arn:aws:iam::ACCT:root`,
//!   user/role/assumed-role ARNs, `{"Service": ..}`, `{"Federated": ..}`,
//!   `{"CanonicalUser": ..}`; no `Principal` at all is an identity policy's
//!   statement ([`Statement::principals`] is `None`);
//! - `Action` / `NotAction`, `Resource` / `NotResource` as a string or list with
//!   `*` and `?` wildcards ([`PatternSet`]); actions compare
//!   case-insensitively, resources case-sensitively;
//! - `Condition` blocks ([`Condition`]).
//!
//! A malformed document is a [`DocumentError`], which converts into
//! `MissingData`, so a policy that cannot read a document answers `Error`.
//!
//! # Questions
//! - [`PolicyDocument::grants`]: the Allow statements that grant an action
//!   (optionally on a resource), not overridden by an unconditional Deny for
//!   everyone. For "does anything grant `*:*`", see [`PolicyDocument::grants_all`].
//! - [`PolicyDocument::public_grants`]: Allow statements open to anyone
//!   (`*`, `{"AWS": "*"}`, or `NotPrincipal`) that no condition limits to known
//!   parties (VPC endpoint, organization, account, private or small IP range…:
//!   the rules are in [`condition`]), and that no Deny shuts out; each with the
//!   access levels ([`AccessLevel`]) it gives, so that public *read* and public
//!   *write* are separate questions.
//! - [`PolicyDocument::cross_account_principals`]: other accounts an Allow
//!   statement names, directly or through a condition.
//! - [`classify`] / [`level_of`]: list, read, write or permissions management
//!   (`s3:Get*` is read, not write; `s3:*` and `*` are everything).
//!
//! Every answer is a [`Match`] with its evidence: the statement index, its JSON
//! path, the statement itself, and why it matched.
//!
//! # Example
//! ```
//! use qrie_policies::document::PolicyDocument;
//! use serde_json::json;
//!
//! let policy = json!({"Statement": [
//!     {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"},
//!     {"Effect": "Allow", "Principal": "*", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::b/*",
//!      "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-0a1b2c3d"}}}
//! ]});
//! let doc = PolicyDocument::parse(&policy, "Policy").unwrap();
//! let public = doc.public_grants("s3");
//! // Only the unconditioned read is public; the write is limited to one VPC endpoint.
//! assert_eq!(public.len(), 1);
//! assert!(public[0].access.iter().all(|level| !level.modifies()));
//! assert_eq!(public[0].evidence()["Path"], "Policy.Statement[0]");
//! ```

pub mod access;
pub mod condition;
pub mod pattern;

pub use access::{classify, level_of, AccessLevel};
pub use condition::{Condition, SetQualifier};
pub use pattern::Case;

use qrie_model::MissingData;
use serde_json::{json, Value};

use condition::{arn_account, child_path, is_account_id, parse_conditions};

/// A document that could not be understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentError(pub String);

impl std::fmt::Display for DocumentError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<DocumentError> for MissingData {
    fn from(e: DocumentError) -> Self {
        MissingData(format!("policy document not understood: {}", e.0))
    }
}

/// `Allow` or `Deny`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Allow,
    Deny,
}

/// One principal of a `Principal` or `NotPrincipal` element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// `"*"` or `{"AWS": "*"}`: anyone, authenticated or not.
    Anyone,
    /// An account: `123456789012` or `arn:aws:iam::123456789012:root`.
    Account(String),
    /// A user, role, assumed-role session or other IAM ARN, with its account.
    Arn { arn: String, account: String },
    /// `{"Service": "cloudtrail.amazonaws.com"}`.
    Service(String),
    /// `{"Federated": "cognito-identity.amazonaws.com"}` or a SAML/OIDC provider ARN.
    Federated(String),
    /// `{"CanonicalUser": "79a5…"}` (S3: another account or a CloudFront OAI).
    CanonicalUser(String),
    /// An unrecognised `AWS` value: a unique id (`AIDA…`, `AROA…`) left behind
    /// when the principal was deleted, or something unexpected.
    Other(String),
}

impl Principal {
    fn parse_aws(value: &str) -> Principal {
        if value == "*" {
            return Principal::Anyone;
        }
        if is_account_id(value) {
            return Principal::Account(value.to_string());
        }
        if let Some(account) = arn_account(value).filter(|a| is_account_id(a)) {
            let resource = value.splitn(6, ':').nth(5).unwrap_or("");
            return if resource == "root" {
                Principal::Account(account.to_string())
            } else {
                Principal::Arn { arn: value.to_string(), account: account.to_string() }
            };
        }
        Principal::Other(value.to_string())
    }

    /// The account this principal belongs to, when it is an AWS principal with one.
    pub fn account(&self) -> Option<&str> {
        match self {
            Principal::Account(a) | Principal::Arn { account: a, .. } => Some(a),
            _ => None,
        }
    }

    /// As written in evidence: `*`, `AWS:arn:…`, `Service:…`.
    pub fn describe(&self) -> String {
        match self {
            Principal::Anyone => "*".to_string(),
            Principal::Account(a) => format!("AWS:{a}"),
            Principal::Arn { arn, .. } => format!("AWS:{arn}"),
            Principal::Service(s) => format!("Service:{s}"),
            Principal::Federated(s) => format!("Federated:{s}"),
            Principal::CanonicalUser(s) => format!("CanonicalUser:{s}"),
            Principal::Other(s) => format!("AWS:{s}"),
        }
    }
}

/// The `Action`/`NotAction` or `Resource`/`NotResource` of a statement: a list
/// of wildcard patterns, or its complement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternSet {
    pub patterns: Vec<String>,
    /// `NotAction`/`NotResource`: everything *except* the patterns.
    pub negated: bool,
    case: Case,
}

impl PatternSet {
    /// Every value.
    fn everything(case: Case) -> PatternSet {
        PatternSet { patterns: vec!["*".to_string()], negated: false, case }
    }

    /// Whether the set contains this concrete value.
    pub fn contains(&self, value: &str) -> bool {
        self.patterns.iter().any(|p| pattern::matches(p, value, self.case)) != self.negated
    }

    /// Whether the set contains *some* value the pattern matches (`s3:*Object`
    /// meets `["s3:Get*"]`). For a negated set this is "not every such value is
    /// excluded", judged pattern by pattern.
    pub fn meets(&self, pattern: &str) -> bool {
        if self.negated {
            !self.patterns.iter().any(|p| pattern::covers(p, pattern, self.case))
        } else {
            self.patterns.iter().any(|p| pattern::intersects(p, pattern, self.case))
        }
    }

    /// Whether the set contains *every* value the pattern matches (`["s3:*"]`
    /// covers `s3:Get*`).
    pub fn covers(&self, pattern: &str) -> bool {
        if self.negated {
            !self.patterns.iter().any(|p| pattern::intersects(p, pattern, self.case))
        } else {
            self.patterns.iter().any(|p| pattern::covers(p, pattern, self.case))
        }
    }

    /// Whether this set contains every value of `other`.
    pub fn covers_set(&self, other: &PatternSet) -> bool {
        match (self.negated, other.negated) {
            (_, false) => other.patterns.iter().all(|p| self.covers(p)),
            // A complement covers a complement when it excludes no more.
            (true, true) => {
                self.patterns.iter().all(|p| other.patterns.iter().any(|q| pattern::covers(q, p, self.case)))
            }
            (false, true) => self.patterns.iter().any(|p| p == "*"),
        }
    }
}

/// One statement of a document.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    /// Position in `Statement` (0 when `Statement` is a single object).
    pub index: usize,
    /// JSON path: `Policy.Statement[2]`, or `Policy.Statement` for a single object.
    pub path: String,
    /// The statement as written.
    pub raw: Value,
    pub sid: Option<String>,
    pub effect: Effect,
    /// `Principal` or `NotPrincipal`; `None` when the statement has neither (an
    /// identity policy: it applies to whoever the policy is attached to).
    pub principals: Option<Vec<Principal>>,
    /// The principals are a `NotPrincipal`: everyone *except* them.
    pub not_principal: bool,
    pub actions: PatternSet,
    /// `Resource` / `NotResource`; everything when absent (trust policies).
    pub resources: PatternSet,
    pub conditions: Vec<Condition>,
}

impl Statement {
    /// Whether the statement applies to anyone at all: `Principal` `*` or
    /// `{"AWS": "*"}`, or a `NotPrincipal` (everyone but the few it lists).
    /// `false` for identity-policy statements (no principal).
    pub fn applies_to_anyone(&self) -> bool {
        match &self.principals {
            Some(_) if self.not_principal => true,
            Some(ps) => ps.contains(&Principal::Anyone),
            None => false,
        }
    }

    /// Whether the statement applies to every caller: `*` principals, or an
    /// identity-policy statement (no `Principal`: whoever holds the policy).
    fn applies_to_every_caller(&self) -> bool {
        match &self.principals {
            None => true,
            Some(ps) => !self.not_principal && ps.contains(&Principal::Anyone),
        }
    }

    /// The conditions on this key (case-insensitive), e.g. `sts:ExternalId`.
    pub fn conditions_on<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a Condition> + 'a {
        self.conditions.iter().filter(move |c| c.is_key(key))
    }

    /// The first condition that limits this (Allow) statement to known parties.
    pub fn restricting_condition(&self) -> Option<&Condition> {
        self.conditions.iter().find(|c| c.restricts_caller())
    }

    /// The access levels of the actions this statement names within
    /// `service` (`s3`), or in all services for `*`. A `NotAction` statement
    /// may reach every level of the service unless it excludes the whole
    /// service.
    pub fn access_levels(&self, service: &str) -> Vec<AccessLevel> {
        let within = format!("{service}:*");
        let mut levels: Vec<AccessLevel> = if self.actions.negated {
            if self.actions.meets(&within) {
                AccessLevel::ALL.to_vec()
            } else {
                Vec::new()
            }
        } else {
            self.actions
                .patterns
                .iter()
                .filter(|p| service == "*" || pattern::intersects(p, &within, Case::Insensitive))
                .flat_map(|p| classify(p))
                .collect()
        };
        levels.sort();
        levels.dedup();
        levels
    }

    fn match_with(&self, reason: String, access: Vec<AccessLevel>) -> Match {
        Match { index: self.index, path: self.path.clone(), statement: self.raw.clone(), reason, access }
    }
}

/// A statement that answered a question, with its evidence.
#[derive(Debug, Clone, PartialEq)]
pub struct Match {
    /// Index of the statement in `Statement`.
    pub index: usize,
    /// JSON path of the statement, e.g. `Policy.Statement[2]`.
    pub path: String,
    /// The statement as written.
    pub statement: Value,
    /// Why it matched, e.g. "Principal * with no restricting condition".
    pub reason: String,
    /// The access levels it gives (filled by [`PolicyDocument::public_grants`]
    /// and [`PolicyDocument::grants`]; in order list, read, write, permissions).
    pub access: Vec<AccessLevel>,
}

impl Match {
    /// `{"Path", "Statement", "Reason", "Access"}`, ready for a `Verdict::Fail`.
    pub fn evidence(&self) -> Value {
        json!({
            "Path": self.path,
            "Statement": self.statement,
            "Reason": self.reason,
            "Access": self.access.iter().map(|l| l.name()).collect::<Vec<_>>(),
        })
    }
}

/// Another account named by an Allow statement.
#[derive(Debug, Clone, PartialEq)]
pub struct CrossAccount {
    /// The 12-digit account id.
    pub account: String,
    /// How it is named: `AWS:arn:aws:iam::…:root`, or the condition's path.
    pub via: String,
    pub grant: Match,
}

/// A parsed policy document.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyDocument {
    /// Where the document sits, e.g. `Policy`.
    pub path: String,
    pub statements: Vec<Statement>,
}

/// Decodes `%XX` escapes (RFC 3986; `+` is left alone).
pub fn percent_decode(s: &str) -> Result<String, DocumentError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| DocumentError(format!("bad percent escape at byte {i}")))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|e| DocumentError(format!("URL-decoded text is not UTF-8: {e}")))
}

fn string_or_list(v: &Value, path: &str) -> Result<Vec<String>, DocumentError> {
    match v {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) => items
            .iter()
            .map(|i| i.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| DocumentError(format!("{path} is not a list of strings: {v}"))),
        _ => Err(DocumentError(format!("{path} is neither a string nor a list: {v}"))),
    }
}

fn parse_principals(v: &Value, path: &str) -> Result<Vec<Principal>, DocumentError> {
    if v == "*" {
        return Ok(vec![Principal::Anyone]);
    }
    let Some(map) = v.as_object() else {
        // A bare ARN or account id (older bucket policies).
        if let Some(s) = v.as_str() {
            return Ok(vec![Principal::parse_aws(s)]);
        }
        return Err(DocumentError(format!("{path} has an unexpected shape: {v}")));
    };
    let mut out = Vec::new();
    for (kind, values) in map {
        let values = string_or_list(values, &child_path(path, kind))?;
        for value in values {
            out.push(match kind.as_str() {
                "AWS" => Principal::parse_aws(&value),
                "Service" => Principal::Service(value),
                "Federated" => Principal::Federated(value),
                "CanonicalUser" => Principal::CanonicalUser(value),
                other => return Err(DocumentError(format!("{path}: unknown principal type {other}"))),
            });
        }
    }
    Ok(out)
}

fn pattern_set(
    stmt: &Value,
    path: &str,
    key: &str,
    not_key: &str,
    case: Case,
    required: bool,
) -> Result<PatternSet, DocumentError> {
    match (stmt.get(key), stmt.get(not_key)) {
        (Some(_), Some(_)) => Err(DocumentError(format!("{path} has both {key} and {not_key}"))),
        (Some(v), None) => {
            Ok(PatternSet { patterns: string_or_list(v, &child_path(path, key))?, negated: false, case })
        }
        (None, Some(v)) => {
            Ok(PatternSet { patterns: string_or_list(v, &child_path(path, not_key))?, negated: true, case })
        }
        (None, None) if required => Err(DocumentError(format!("{path} has neither {key} nor {not_key}"))),
        (None, None) => Ok(PatternSet::everything(case)),
    }
}

fn parse_statement(v: &Value, index: usize, path: String) -> Result<Statement, DocumentError> {
    if !v.is_object() {
        return Err(DocumentError(format!("{path} is not an object: {v}")));
    }
    let effect = match v.get("Effect").and_then(Value::as_str) {
        Some("Allow") => Effect::Allow,
        Some("Deny") => Effect::Deny,
        other => return Err(DocumentError(format!("{path}.Effect is {other:?}, not Allow or Deny"))),
    };
    let (principals, not_principal) = match (v.get("Principal"), v.get("NotPrincipal")) {
        (Some(_), Some(_)) => return Err(DocumentError(format!("{path} has both Principal and NotPrincipal"))),
        (Some(p), None) => (Some(parse_principals(p, &format!("{path}.Principal"))?), false),
        (None, Some(p)) => (Some(parse_principals(p, &format!("{path}.NotPrincipal"))?), true),
        (None, None) => (None, false),
    };
    let conditions = match v.get("Condition") {
        None | Some(Value::Null) => Vec::new(),
        Some(c) => parse_conditions(c, &format!("{path}.Condition")).map_err(DocumentError)?,
    };
    Ok(Statement {
        index,
        sid: v.get("Sid").and_then(Value::as_str).map(str::to_string),
        effect,
        principals,
        not_principal,
        actions: pattern_set(v, &path, "Action", "NotAction", Case::Insensitive, true)?,
        resources: pattern_set(v, &path, "Resource", "NotResource", Case::Sensitive, false)?,
        conditions,
        raw: v.clone(),
        path,
    })
}

impl PolicyDocument {
    /// Parses a document: a JSON object, a JSON string, or a URL-encoded JSON
    /// string. `path` is where it sits in the configuration (`Policy`).
    pub fn parse(value: &Value, path: &str) -> Result<PolicyDocument, DocumentError> {
        let owned;
        let doc = match value {
            Value::String(s) => {
                let text = if s.trim_start().starts_with('{') { s.clone() } else { percent_decode(s)? };
                owned = serde_json::from_str::<Value>(&text)
                    .map_err(|e| DocumentError(format!("{path} is not a JSON document: {e}")))?;
                &owned
            }
            v => v,
        };
        if !doc.is_object() {
            return Err(DocumentError(format!("{path} is not a policy document: {doc}")));
        }
        let statement_path = format!("{path}.Statement");
        let statements = match doc.get("Statement") {
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, s)| parse_statement(s, i, format!("{statement_path}[{i}]")))
                .collect::<Result<Vec<_>, _>>()?,
            Some(s @ Value::Object(_)) => vec![parse_statement(s, 0, statement_path)?],
            None => Vec::new(),
            Some(other) => return Err(DocumentError(format!("{statement_path} has an unexpected shape: {other}"))),
        };
        Ok(PolicyDocument { path: path.to_string(), statements })
    }

    /// Parses a stored, possibly absent document: `null` (no policy) is `None`.
    pub fn parse_optional(value: &Value, path: &str) -> Result<Option<PolicyDocument>, DocumentError> {
        if value.is_null() {
            Ok(None)
        } else {
            PolicyDocument::parse(value, path).map(Some)
        }
    }

    fn allows(&self) -> impl Iterator<Item = &Statement> {
        self.statements.iter().filter(|s| s.effect == Effect::Allow)
    }

    /// The Deny statement that takes away `actions` on `resources` from every
    /// caller unconditionally, if any.
    fn unconditional_deny(&self, actions: &[String], resources: &PatternSet) -> Option<&Statement> {
        self.statements.iter().find(|d| {
            d.effect == Effect::Deny
                && d.applies_to_every_caller()
                && d.conditions.is_empty()
                && actions.iter().all(|a| d.actions.covers(a))
                && d.resources.covers_set(resources)
        })
    }

    /// A Deny for every caller whose only condition is a negated restriction
    /// (`StringNotEquals aws:SourceVpce vpce-1`), covering these actions: it
    /// limits the grant to the named parties.
    fn restricting_deny(&self, actions: &[String], resources: &PatternSet) -> Option<(&Statement, &Condition)> {
        self.statements.iter().find_map(|d| {
            let [c] = d.conditions.as_slice() else { return None };
            (d.effect == Effect::Deny
                && d.applies_to_every_caller()
                && c.restricts_through_deny()
                && actions.iter().all(|a| d.actions.covers(a))
                && d.resources.covers_set(resources))
            .then_some((d, c))
        })
    }

    /// The actions of `s` that meet the query `action`, as patterns to test
    /// Denies against: the statement's own patterns when it lists them, else
    /// the query itself.
    fn granted_patterns(s: &Statement, action: &str) -> Vec<String> {
        if s.actions.negated {
            vec![action.to_string()]
        } else {
            s.actions.patterns.iter().filter(|p| pattern::intersects(p, action, Case::Insensitive)).cloned().collect()
        }
    }

    /// The Allow statements that grant `action` (a concrete action or a
    /// pattern: a statement matches if it grants *some* action the pattern
    /// matches) on `resource` (a concrete ARN; `None`: any resource), and that
    /// no unconditional Deny for every caller takes back. Principals and
    /// conditions are not judged here: ask [`Statement::applies_to_anyone`],
    /// [`Statement::restricting_condition`] or use [`Self::public_grants`].
    pub fn grants(&self, action: &str, resource: Option<&str>) -> Vec<Match> {
        self.allows()
            .filter(|s| s.actions.meets(action) && resource.is_none_or(|r| s.resources.contains(r)))
            .filter(|s| {
                let resources = match resource {
                    Some(r) => PatternSet { patterns: vec![r.to_string()], negated: false, case: Case::Sensitive },
                    None => s.resources.clone(),
                };
                // Taken back if a Deny covers the question, or every pattern that answers it.
                self.unconditional_deny(&[action.to_string()], &resources).is_none()
                    && self.unconditional_deny(&Self::granted_patterns(s, action), &resources).is_none()
            })
            .map(|s| {
                let how = if s.actions.negated { "NotAction" } else { "Action" };
                let access = if s.actions.negated {
                    classify(action)
                } else {
                    let mut l: Vec<_> = Self::granted_patterns(s, action).iter().flat_map(|p| classify(p)).collect();
                    l.sort();
                    l.dedup();
                    l
                };
                s.match_with(format!("{how} grants {action}"), access)
            })
            .collect()
    }

    /// Allow statements that grant every action on every resource (`*:*`):
    /// `Action: "*"` (or a `NotAction` that excludes nothing) with
    /// `Resource: "*"`, not taken back by an unconditional Deny.
    pub fn grants_all(&self) -> Vec<Match> {
        self.allows()
            // Every action has a service prefix, so `*:*` is everything too.
            .filter(|s| s.actions.covers("*:*") && s.resources.covers("*"))
            .filter(|s| self.unconditional_deny(&["*:*".to_string()], &s.resources).is_none())
            .map(|s| s.match_with("Action * on Resource *".to_string(), AccessLevel::ALL.to_vec()))
            .collect()
    }

    /// Allow statements open to anyone that nothing limits to known parties,
    /// with the access levels they give within `service` (`s3`; `*` for all).
    ///
    /// A statement counts when its principal is `*` / `{"AWS": "*"}` (or it is
    /// an Allow with `NotPrincipal`), no condition restricts the caller (see
    /// [`condition`]), and no Deny takes its actions back, either
    /// unconditionally or for everyone outside known parties (`Deny *` with
    /// `StringNotEquals aws:SourceVpce`). Actions an unconditional Deny covers
    /// are left out of the access levels: `Allow s3:*` with `Deny s3:Put*`,
    /// `s3:Delete*` still gives read. Statements that give nothing within the
    /// service are left out.
    pub fn public_grants(&self, service: &str) -> Vec<Match> {
        let mut out = Vec::new();
        for s in self.allows().filter(|s| s.applies_to_anyone()) {
            if s.restricting_condition().is_some() {
                continue;
            }
            let patterns: Vec<String> =
                if s.actions.negated { vec![format!("{service}:*")] } else { s.actions.patterns.clone() };
            if self.restricting_deny(&patterns, &s.resources).is_some() {
                continue;
            }
            // What remains after unconditional Denies, pattern by pattern.
            let mut access: Vec<AccessLevel> = if s.actions.negated {
                if self.unconditional_deny(&patterns, &s.resources).is_some() {
                    Vec::new()
                } else {
                    s.access_levels(service)
                }
            } else {
                let within = format!("{service}:*");
                s.actions
                    .patterns
                    .iter()
                    .filter(|p| service == "*" || pattern::intersects(p, &within, Case::Insensitive))
                    .filter(|p| self.unconditional_deny(std::slice::from_ref(p), &s.resources).is_none())
                    .flat_map(|p| classify(p))
                    .collect()
            };
            access.sort();
            access.dedup();
            if access.is_empty() {
                continue;
            }
            let who =
                if s.not_principal { "NotPrincipal (everyone except the listed principals)" } else { "Principal *" };
            let reason = if s.conditions.is_empty() {
                format!("{who} with no condition")
            } else {
                format!("{who} with no condition that limits the caller to known parties")
            };
            out.push(s.match_with(reason, access));
        }
        out
    }

    /// The other accounts Allow statements name: AWS principals of an account
    /// other than `own_account`, and accounts named by a restricting condition
    /// on a `*` principal (`aws:PrincipalAccount`, `aws:SourceAccount`,
    /// `aws:PrincipalArn`…). Not reported: `*` without such a condition (that
    /// is public, see [`Self::public_grants`]), service principals, canonical
    /// users and unique ids (their account is not in the document), and
    /// organizations (`aws:PrincipalOrgID` is the caller's own organization
    /// more often than not).
    pub fn cross_account_principals(&self, own_account: &str) -> Vec<CrossAccount> {
        let mut out = Vec::new();
        for s in self.allows() {
            if s.not_principal {
                continue;
            }
            let Some(principals) = &s.principals else { continue };
            let access = s.access_levels("*");
            for p in principals {
                if let Some(account) = p.account().filter(|a| *a != own_account) {
                    out.push(CrossAccount {
                        account: account.to_string(),
                        via: p.describe(),
                        grant: s
                            .match_with(format!("Principal {} is in account {account}", p.describe()), access.clone()),
                    });
                }
            }
            if principals.contains(&Principal::Anyone) {
                for c in s.conditions.iter().filter(|c| c.restricts_caller()) {
                    for account in c.named_accounts().into_iter().filter(|a| a != own_account) {
                        out.push(CrossAccount {
                            via: c.path.clone(),
                            grant: s.match_with(format!("{} names account {account}", c.key), access.clone()),
                            account,
                        });
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests;
