//! Slack messages (Block Kit) for notices. Resource names, tags and policy
//! ids can be chosen by whoever owns a resource, so every text is escaped as
//! Slack's mrkdwn requires (`&`, `<`, `>`): a name cannot make a link or a
//! mention.

use qrie_model::notice::{Notice, Summary};
use qrie_model::{SeverityLabel, TransitionKind};
use serde_json::{json, Value};

/// Escapes text for Slack's mrkdwn. The messages also set `verbatim`, so
/// that Slack does not turn bare names into links or mentions.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

fn headline(n: &Notice) -> String {
    let label = n.severity.label();
    let marker = match label {
        SeverityLabel::Critical | SeverityLabel::High => ":red_circle:",
        SeverityLabel::Medium => ":large_orange_circle:",
        SeverityLabel::Low | SeverityLabel::Informational => ":white_circle:",
    };
    let what = match n.kind {
        TransitionKind::Opened => "Finding opened",
        TransitionKind::Reopened => "Finding reopened",
        TransitionKind::Resolved => "Finding resolved",
        other => other.as_str(),
    };
    let title = qrie_policies::get(&n.policy).map_or(n.policy.as_str(), |p| p.title);
    format!("{marker} *{what}* ({} {}): {}", label.as_str().to_uppercase(), n.severity.value(), escape(title))
}

/// The message for one notice: a headline, the resource and where it is,
/// and a link to the finding's page when the UI's address is known.
pub fn message(n: &Notice, public_url: Option<&str>) -> Value {
    let headline = headline(n);
    // A backtick in a name would close the code span.
    let arn = escape(&n.arn).replace('`', "'");
    let mut fields = vec![
        json!({"type": "mrkdwn", "text": format!("*Resource*\n`{arn}`")}),
        json!({"type": "mrkdwn", "text": format!("*Policy*\n{}", escape(&n.policy))}),
        json!({"type": "mrkdwn", "text": format!("*Account*\n{}", escape(&n.account_id))}),
        json!({"type": "mrkdwn", "text": format!("*Region*\n{}", escape(&n.region))}),
    ];
    if let Some(reason) = n.reason {
        fields.push(json!({"type": "mrkdwn", "text": format!("*Reason*\n{}", reason.as_str())}));
    }
    let mut blocks = vec![
        json!({"type": "section", "text": {"type": "mrkdwn", "text": headline}}),
        json!({"type": "section", "fields": fields}),
    ];
    if let Some(base) = public_url {
        let link = qrie_export::finding_page(base, &n.arn, &n.policy);
        blocks.push(json!({"type": "actions", "elements": [
            {"type": "button", "text": {"type": "plain_text", "text": "Open in qrie"}, "url": link}
        ]}));
    }
    blocks.push(json!({"type": "context", "elements": [
        {"type": "mrkdwn", "text": format!("qrie notice `{}`", escape(&n.id))}
    ]}));
    // `text` is what notifications and screen readers show.
    json!({"text": headline, "blocks": verbatim(blocks)})
}

/// One message for a whole bootstrap sweep: how many transitions of which
/// severities, in how many accounts, the policies with the most.
pub fn summary(s: &Summary, public_url: Option<&str>) -> Value {
    let counts = |m: &std::collections::BTreeMap<String, u64>| {
        m.iter().map(|(k, v)| format!("{v} {}", escape(k))).collect::<Vec<_>>().join(", ")
    };
    let headline = format!(
        ":mag: *Bootstrap sweep{}*: {} finding transition(s) in {} account(s)",
        s.job_id.as_deref().map(|j| format!(" {}", escape(j))).unwrap_or_default(),
        s.notices,
        s.accounts
    );
    let top = s.top_policies.iter().map(|(p, n)| format!("{n} {}", escape(p))).collect::<Vec<_>>().join("\n");
    let mut blocks = vec![
        json!({"type": "section", "text": {"type": "mrkdwn", "text": headline}}),
        json!({"type": "section", "fields": [
            {"type": "mrkdwn", "text": format!("*By severity*\n{}", counts(&s.by_severity))},
            {"type": "mrkdwn", "text": format!("*By transition*\n{}", counts(&s.by_kind))},
            {"type": "mrkdwn", "text": format!("*Top policies*\n{top}")},
        ]}),
    ];
    if let Some(base) = public_url {
        blocks.push(json!({"type": "actions", "elements": [
            {"type": "button", "text": {"type": "plain_text", "text": "Open findings"},
             "url": format!("{}/findings", base.trim_end_matches('/'))}
        ]}));
    }
    json!({"text": headline, "blocks": verbatim(blocks)})
}

/// Every mrkdwn text object of the blocks marked `verbatim`.
fn verbatim(mut blocks: Vec<Value>) -> Vec<Value> {
    fn mark(v: &mut Value) {
        match v {
            Value::Object(o) => {
                if o.get("type").and_then(Value::as_str) == Some("mrkdwn") {
                    o.insert("verbatim".into(), Value::Bool(true));
                }
                o.values_mut().for_each(mark);
            }
            Value::Array(a) => a.iter_mut().for_each(mark),
            _ => {}
        }
    }
    blocks.iter_mut().for_each(mark);
    blocks
}
