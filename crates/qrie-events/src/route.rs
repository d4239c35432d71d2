//! Guards and dispatch: one [`Incoming`] → one [`Routed`]. The service modules own their
//! tables; this module decides whether a record may reach them at all.

use qrie_model::ids::{pseudo_arn, GLOBAL_REGION};
use qrie_model::Service;
use serde_json::Value;

use crate::decode::text;
use crate::record::{arn_name, strings_at};
use crate::time::parse_time;
use crate::types::{Action, Decision, Incoming, Routed, SkipReason, Target};
use crate::{ec2, iam, s3};

/// EventBridge detail-types that carry a CloudTrail record. CloudTrail puts console sign-ins
/// on the bus under their own detail-type; a root sign-in must still reach the root policy.
const CLOUDTRAIL_DETAIL_TYPES: [&str; 2] = ["AWS API Call via CloudTrail", "AWS Console Sign In via CloudTrail"];

/// Name prefixes of read-only calls, used only when a record lacks `readOnly`.
const READ_PREFIXES: [&str; 8] = ["Get", "List", "Describe", "Head", "Lookup", "Search", "BatchGet", "Check"];

pub(crate) const SIGNIN: &str = "signin.amazonaws.com";

/// Routes one decoded record. Never panics, whatever the record holds.
pub fn route(incoming: &Incoming) -> Routed {
    let rec = incoming.record.as_ref().ok().filter(|r| r.is_object());
    let get = |key: &str| rec.and_then(|r| text(r.get(key)));
    let account_id = get("recipientAccountId")
        .or_else(|| rec.and_then(|r| text(r.pointer("/userIdentity/accountId"))))
        .or_else(|| incoming.bus.as_ref().and_then(|b| b.account.clone()));
    let mut routed = Routed {
        position: incoming.position,
        event_id: get("eventID"),
        event_time: rec.and_then(|r| r.get("eventTime")).and_then(parse_time),
        event_source: get("eventSource"),
        event_name: get("eventName"),
        account_id,
        region: get("awsRegion"),
        decision: Decision::Unmapped,
    };
    routed.decision = match decide(incoming, &routed) {
        Ok(decision) => decision,
        Err(reason) => Decision::Skipped { reason },
    };
    routed
}

fn decide(incoming: &Incoming, routed: &Routed) -> Result<Decision, SkipReason> {
    if let Some(bus) = &incoming.bus {
        if !bus.source.starts_with("aws.") {
            return Err(SkipReason::ForgedSource { source: bus.source.clone() });
        }
        if !CLOUDTRAIL_DETAIL_TYPES.contains(&bus.detail_type.as_str()) {
            return Err(SkipReason::NotAnApiCall { detail_type: bus.detail_type.clone() });
        }
    }
    let malformed = |why: &str| SkipReason::Malformed { why: why.to_string() };
    let rec = match &incoming.record {
        Ok(rec @ Value::Object(_)) => rec,
        Ok(_) => return Err(malformed("the record is not a JSON object")),
        Err(why) => return Err(malformed(why)),
    };
    let (Some(source), Some(name)) = (routed.event_source.as_deref(), routed.event_name.as_deref()) else {
        return Err(malformed("the record has no eventSource or eventName"));
    };
    if !aws_source(source) || !aws_event_name(name) {
        return Err(malformed("eventSource or eventName is not of the shape AWS uses"));
    }
    if let Some(code) = text(rec.get("errorCode")).filter(|c| !c.is_empty()) {
        return Err(SkipReason::Failed { error_code: code });
    }
    if source == SIGNIN && name == "ConsoleLogin" {
        return console_login(rec, routed);
    }
    if is_read_only(rec, name) {
        return Err(SkipReason::ReadOnly);
    }
    let Some(account) = routed.account_id.as_deref() else {
        return Err(malformed("the record has no recipientAccountId or userIdentity.accountId"));
    };
    let ctx = Ctx { rec, name, account, region: routed.region.as_deref().unwrap_or_default() };
    let table_answer = match source {
        "s3.amazonaws.com" => s3::route(&ctx),
        "ec2.amazonaws.com" => ec2::route(&ctx),
        "iam.amazonaws.com" => iam::route(&ctx),
        _ => None,
    };
    match table_answer {
        None => Ok(Decision::Unmapped),
        Some(Err(why)) => Err(SkipReason::Unresolvable { why }),
        Some(Ok(targets)) if targets.is_empty() => {
            Err(SkipReason::Unresolvable { why: format!("{name} names no resource qrie stores") })
        }
        Some(Ok(targets)) => Ok(Decision::Mapped { targets: dedup(targets) }),
    }
}

/// The longest eventSource or eventName accepted (AWS's are far shorter).
pub const MAX_NAME_LEN: usize = 128;

/// `service.amazonaws.com` (lowercase labels of letters, digits and dashes).
/// Anything else did not come from AWS, and must not reach counters or
/// tables keyed by it.
pub fn aws_source(s: &str) -> bool {
    s.len() <= MAX_NAME_LEN
        && s.strip_suffix(".amazonaws.com").is_some_and(|service| {
            !service.is_empty()
                && service.split('.').all(|label| {
                    !label.is_empty()
                        && label.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                })
        })
}

/// An identifier: a letter, then letters, digits or `_` (`PutBucketAcl`,
/// `CreateFunction20150331`).
pub fn aws_event_name(s: &str) -> bool {
    s.len() <= MAX_NAME_LEN
        && s.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// A root sign-in feeds the root-usage policy; a failed sign-in reports `Failure` without an
/// `errorCode`; anyone else's sign-in changes no configuration (skipped as read-only).
fn console_login(rec: &Value, routed: &Routed) -> Result<Decision, SkipReason> {
    if rec.pointer("/responseElements/ConsoleLogin").and_then(Value::as_str) == Some("Failure") {
        let code = text(rec.get("errorMessage")).unwrap_or_else(|| "Failure".to_string());
        return Err(SkipReason::Failed { error_code: code });
    }
    if rec.pointer("/userIdentity/type").and_then(Value::as_str) != Some("Root") {
        return Err(SkipReason::ReadOnly);
    }
    let Some(account) = routed.account_id.as_deref() else {
        return Err(SkipReason::Malformed { why: "a root sign-in without an account id".to_string() });
    };
    let ctx = Ctx { rec, name: "ConsoleLogin", account, region: "" };
    Ok(Decision::Mapped { targets: vec![ctx.root(Action::Refresh)] })
}

fn is_read_only(rec: &Value, name: &str) -> bool {
    match rec.get("readOnly") {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => READ_PREFIXES.iter().any(|p| name.starts_with(p)),
    }
}

fn dedup(targets: Vec<Target>) -> Vec<Target> {
    let mut out: Vec<Target> = Vec::with_capacity(targets.len());
    for t in targets {
        if !out.iter().any(|o| o.arn == t.arn && o.action == t.action) {
            out.push(t);
        }
    }
    out
}

/// What a service table's extractor sees, and the target builders shared by all of them.
pub(crate) struct Ctx<'a> {
    pub rec: &'a Value,
    pub name: &'a str,
    pub account: &'a str,
    /// `awsRegion`, possibly empty or (in anonymised sets) not a real region: kept as given.
    pub region: &'a str,
}

/// What a table answers for a name it knows: targets, or why the record names none.
pub(crate) type Extracted = Result<Vec<Target>, String>;

impl Ctx<'_> {
    pub fn request(&self, path: &str) -> Vec<String> {
        self.rec.get("requestParameters").map(|r| strings_at(r, path)).unwrap_or_default()
    }

    pub fn response(&self, path: &str) -> Vec<String> {
        self.rec.get("responseElements").map(|r| strings_at(r, path)).unwrap_or_default()
    }

    fn identity_type(&self) -> Option<&str> {
        self.rec.pointer("/userIdentity/type").and_then(Value::as_str)
    }

    pub fn acting_as_root(&self) -> bool {
        self.identity_type() == Some("Root")
    }

    /// The IAM user who made the call, for calls where a user acts on itself.
    pub fn acting_user(&self) -> Option<String> {
        if self.identity_type() != Some("IAMUser") {
            return None;
        }
        let id = self.rec.get("userIdentity")?;
        text(id.get("userName"))
            .or_else(|| id.get("arn").and_then(Value::as_str).and_then(arn_name).map(str::to_string))
    }

    pub fn target(
        &self,
        service: Service,
        resource_type: &'static str,
        arn: String,
        region: &str,
        action: Action,
        name: Option<String>,
    ) -> Target {
        Target {
            arn,
            account_id: self.account.to_string(),
            region: region.to_string(),
            service,
            resource_type,
            action,
            name,
        }
    }

    pub fn root(&self, action: Action) -> Target {
        let arn = pseudo_arn::iam_root(self.account);
        self.target(Service::Iam, "AWS::IAM::RootUser", arn, GLOBAL_REGION, action, None)
    }
}
