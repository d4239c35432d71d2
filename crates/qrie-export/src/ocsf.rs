//! OCSF 1.5.0 findings (https://schema.ocsf.io/1.5.0): Detection Finding
//! (class 2004) for each finding, Compliance Finding (class 2003) for each
//! finding × framework control. Both carry the `cloud` profile. The tests
//! validate them against the official class definitions
//! (`tests/ocsf-1.5.0.schema.json`, made by `scripts/ocsf-jsonschema.py`).

use qrie_model::{Finding, SeverityLabel, TransitionKind};
use qrie_policies::frameworks::Framework;
use serde_json::{json, Map, Value};

use crate::{ExportContext, PolicyText, Record};

pub const VERSION: &str = "1.5.0";
const CATEGORY_FINDINGS: u32 = 2;
pub const DETECTION_FINDING: u32 = 2004;
pub const COMPLIANCE_FINDING: u32 = 2003;

/// What happened to the finding, as OCSF's `activity_id` says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activity {
    Create = 1,
    Update = 2,
    Close = 3,
}

impl Activity {
    /// The activity a finding's current state reports: Close once resolved,
    /// Update once reopened, Create while it is in its first opening.
    pub fn of(f: &Finding) -> Activity {
        if !f.is_active() {
            Activity::Close
        } else if f.last_state_change().is_some_and(|t| t.kind == TransitionKind::Reopened) {
            Activity::Update
        } else {
            Activity::Create
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Activity::Create => "Create",
            Activity::Update => "Update",
            Activity::Close => "Close",
        }
    }
}

/// OCSF `severity_id` and its caption for a qrie severity band.
pub fn severity(label: SeverityLabel) -> (u8, &'static str) {
    match label {
        SeverityLabel::Informational => (1, "Informational"),
        SeverityLabel::Low => (2, "Low"),
        SeverityLabel::Medium => (3, "Medium"),
        SeverityLabel::High => (4, "High"),
        SeverityLabel::Critical => (5, "Critical"),
    }
}

/// The finding's status: New (active), Suppressed, Resolved; with its detail.
fn status(r: Record<'_>) -> (u8, &'static str, Option<String>) {
    let f = r.finding;
    if let Some(reason) = f.resolved_reason.filter(|_| !f.is_active()) {
        return (4, "Resolved", Some(reason.as_str().to_string()));
    }
    if !f.is_active() {
        return (4, "Resolved", None);
    }
    match r.suppression {
        Some(s) => (3, "Suppressed", Some(format!("suppressed by rule {} ({})", s.rule_id, s.category.label()))),
        None => (1, "New", None),
    }
}

fn millis(t: &qrie_model::Timestamp) -> i64 {
    t.timestamp_millis()
}

/// The attributes Detection and Compliance Findings share.
fn base(
    r: Record<'_>,
    text: &PolicyText,
    class: (u32, &str),
    activity: Activity,
    ctx: &ExportContext,
) -> Map<String, Value> {
    let f = r.finding;
    let (severity_id, severity_name) = severity(f.severity.label());
    let (status_id, status_name, status_detail) = status(r);
    let changed = f.last_state_change().map_or(f.last_evaluated, |t| t.at);
    let uid = f.uid();
    let mut finding_info = json!({
        "uid": uid,
        "title": text.title,
        "desc": text.description,
        "created_time": millis(&f.first_seen),
        "first_seen_time": millis(&f.first_seen),
        "last_seen_time": millis(&f.last_evaluated),
        "modified_time": millis(&changed),
        "analytic": { "uid": f.policy, "name": text.title, "type_id": 1, "type": "Rule" },
    });
    if !text.category.is_empty() {
        finding_info["types"] = json!([text.category]);
        finding_info["analytic"]["category"] = json!(text.category);
    }
    if let Some(url) = ctx.finding_url(f) {
        finding_info["src_url"] = json!(url);
    }
    let partition = crate::text::partition(&f.arn);
    let mut cloud = json!({
        "provider": "AWS",
        "cloud_partition": partition,
        "account": { "uid": f.account_id, "type_id": 10, "type": "AWS Account" },
    });
    let mut resource = json!({ "uid": f.arn, "type": f.resource_type, "cloud_partition": partition });
    if f.region != "global" && !f.region.is_empty() {
        cloud["region"] = json!(f.region);
        resource["region"] = json!(f.region);
    }
    let mut unmapped = json!({
        "policy": f.policy,
        "severity_score": f.severity.value(),
        "detected_by": f.detected_by.as_str(),
        "transitions": f.transition_count(),
    });
    if r.policy_paused {
        unmapped["policy_paused"] = json!(true);
    }
    let mut out = json!({
        "activity_id": activity as u8,
        "activity_name": activity.name(),
        "category_uid": CATEGORY_FINDINGS,
        "category_name": "Findings",
        "class_uid": class.0,
        "class_name": class.1,
        "type_uid": u64::from(class.0) * 100 + activity as u64,
        "type_name": format!("{}: {}", class.1, activity.name()),
        "severity_id": severity_id,
        "severity": severity_name,
        "status_id": status_id,
        "status": status_name,
        "time": millis(&changed),
        "start_time": millis(&f.first_seen),
        "message": text.title,
        "finding_info": finding_info,
        "metadata": {
            // One uid per state of the finding: the same state exported twice
            // is one event to a consumer that de-duplicates.
            "uid": format!("{uid}-{}", f.transition_count()),
            "version": VERSION,
            "profiles": ["cloud"],
            "product": { "name": "qrie", "vendor_name": "qrie", "version": ctx.product_version },
        },
        "cloud": cloud,
        "resources": [resource],
        "evidences": [{ "name": "configuration", "data": f.evidence }],
        "unmapped": unmapped,
    });
    if let Some(detail) = status_detail {
        out["status_detail"] = json!(detail);
    }
    if let Some(at) = f.resolved_at.filter(|_| !f.is_active()) {
        out["end_time"] = json!(millis(&at));
    }
    if !text.remediation.is_empty() {
        out["remediation"] = json!({ "desc": text.remediation });
    }
    match out {
        Value::Object(map) => map,
        _ => unreachable!("json! of an object literal is an object"),
    }
}

/// A Detection Finding for `r`; `activity` defaults to what its state reports.
pub fn detection_finding(r: Record<'_>, text: &PolicyText, activity: Option<Activity>, ctx: &ExportContext) -> Value {
    let activity = activity.unwrap_or_else(|| Activity::of(r.finding));
    let mut out = base(r, text, (DETECTION_FINDING, "Detection Finding"), activity, ctx);
    if !text.compliance.is_empty() {
        // Detection Finding has no compliance object: the mapping goes in `unmapped`.
        let refs: Vec<Value> =
            text.compliance.iter().map(|(fw, control)| json!({ "framework": fw.id, "control": control })).collect();
        if let Some(Value::Object(u)) = out.get_mut("unmapped") {
            u.insert("compliance".into(), Value::Array(refs));
        }
    }
    Value::Object(out)
}

/// A Compliance Finding for `r` judged against one control of `framework`:
/// the control fails while the finding is active (a suppressed finding says
/// so in its status), and passes once it is resolved.
pub fn compliance_finding(
    r: Record<'_>,
    text: &PolicyText,
    framework: &Framework,
    control: &str,
    ctx: &ExportContext,
) -> Value {
    let activity = Activity::of(r.finding);
    let mut out = base(r, text, (COMPLIANCE_FINDING, "Compliance Finding"), activity, ctx);
    let (status_id, status) = if r.finding.is_active() { (3, "Fail") } else { (1, "Pass") };
    let mut compliance = json!({
        "standards": [format!("{} {}", framework.name, framework.version)],
        "control": control,
        "requirements": [control],
        "status_id": status_id,
        "status": status,
    });
    if let Some(c) = framework.control(control) {
        compliance["desc"] = json!(c.title);
        if let Some(section) = &c.section {
            compliance["category"] = json!(section);
        }
    }
    out.insert("compliance".into(), compliance);
    // The control, not the finding, is the subject: one uid per pair.
    if let Some(Value::Object(info)) = out.get_mut("finding_info") {
        let uid = format!("{}-{}-{control}", r.finding.uid(), framework.id);
        info.insert("uid".into(), json!(uid));
    }
    if let Some(Value::Object(meta)) = out.get_mut("metadata") {
        let uid = format!("{}-{}-{control}-{}", r.finding.uid(), framework.id, r.finding.transition_count());
        meta.insert("uid".into(), json!(uid));
    }
    Value::Object(out)
}
