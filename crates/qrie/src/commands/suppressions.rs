//! `qrie suppressions add|list|show|edit|disable|enable|delete|preview` and `qrie audit`.

use anyhow::{bail, Result};
use qrie_engine::audit::AuditQuery;
use qrie_engine::suppressions::{Preview, RuleDraft, RuleEdit, RuleListing, RuleView};
use qrie_engine::Engine;
use qrie_model::suppression::parse_expiry;
use serde_json::json;

use crate::cli::{AuditArgs, RuleStatusArg, SuppressionsCmd};
use crate::confirm::confirm;
use crate::context::Ctx;
use crate::output::{self, Format};

pub async fn run(ctx: &Ctx, format: Format, cmd: SuppressionsCmd) -> Result<()> {
    let engine = ctx.engine();
    let now = Engine::now();
    match cmd {
        SuppressionsCmd::Add { scope, reason, category, owner, expires } => {
            let draft = RuleDraft {
                scope: scope.to_scope()?,
                reason,
                category: category.parse()?,
                owner,
                expires_at: expires.as_deref().map(|x| parse_expiry(x, now)).transpose()?,
            };
            let rule = engine.add_suppression(draft, now).await?;
            let preview = engine.preview_suppression(&rule.scope, now).await?;
            let view = RuleView::of(rule, now);
            output::document(format, &json!({"Rule": view, "Suppresses": preview}), || {
                format!("created {}\n{}", rule_text(&view), preview_text(&preview))
            })
        }
        SuppressionsCmd::List { status } => {
            let which = match status {
                RuleStatusArg::Active => RuleListing::Active,
                RuleStatusArg::Expiring => RuleListing::Expiring,
                RuleStatusArg::Expired => RuleListing::Expired,
                RuleStatusArg::Disabled => RuleListing::Disabled,
                RuleStatusArg::Deleted => RuleListing::Deleted,
                RuleStatusArg::All => RuleListing::All,
            };
            let rows = engine.rule_views(which, now).await?;
            output::list(format, &["RULE", "STATUS", "CATEGORY", "OWNER", "EXPIRES", "SCOPE", "REASON"], &rows, |v| {
                vec![
                    v.rule.id.clone(),
                    status_text(v),
                    v.rule.category.to_string(),
                    v.rule.owner.clone(),
                    v.rule.expires_at.map(|x| output::time(&x)).unwrap_or_else(|| "never".into()),
                    v.rule.scope.to_string(),
                    v.rule.reason.clone(),
                ]
            })
        }
        SuppressionsCmd::Show { id } => {
            let view = RuleView::of(engine.suppression_rule(&id).await?, now);
            let preview = engine.preview_suppression(&view.rule.scope, now).await?;
            output::document(format, &json!({"Rule": view, "Suppresses": preview}), || {
                format!("{}\n{}", rule_text(&view), preview_text(&preview))
            })
        }
        SuppressionsCmd::Edit { id, scope, reason, category, owner, expires, no_expiry } => {
            let edit = RuleEdit {
                scope: if scope.is_empty() { None } else { Some(scope.to_scope()?) },
                reason,
                category: category.as_deref().map(str::parse).transpose()?,
                owner,
                expires_at: if no_expiry {
                    Some(None)
                } else {
                    expires.as_deref().map(|x| parse_expiry(x, now).map(Some)).transpose()?
                },
            };
            let view = RuleView::of(engine.edit_suppression(&id, edit, None, now).await?, now);
            output::document(format, &view, || format!("updated {}", rule_text(&view)))
        }
        SuppressionsCmd::Disable { id } => {
            let view = RuleView::of(engine.set_suppression_enabled(&id, false, None, now).await?, now);
            output::document(format, &view, || {
                format!("disabled {}: its findings are no longer suppressed\n", view.rule.id)
            })
        }
        SuppressionsCmd::Enable { id } => {
            let view = RuleView::of(engine.set_suppression_enabled(&id, true, None, now).await?, now);
            output::document(format, &view, || format!("enabled {}", rule_text(&view)))
        }
        SuppressionsCmd::Delete { id, yes } => {
            let rule = engine.suppression_rule(&id).await?;
            let suppresses = engine.preview_suppression(&rule.scope, now).await?.total;
            confirm(
                &format!(
                    "Deleting {id} unsuppresses the {suppresses} active finding(s) it covers now; the rule is kept as deleted in the audit log"
                ),
                yes,
            )?;
            let view = RuleView::of(engine.delete_suppression(&id, now).await?, now);
            output::document(format, &view, || format!("deleted {}\n", view.rule.id))
        }
        SuppressionsCmd::Preview { scope } => {
            if scope.is_empty() {
                bail!("give the scope to preview: --policy, --accounts, --ous, --regions, --arn, --tags or --finding");
            }
            let preview = engine.preview_suppression(&scope.to_scope()?, now).await?;
            output::document(format, &preview, || preview_text(&preview))
        }
    }
}

pub async fn audit(ctx: &Ctx, format: Format, args: AuditArgs) -> Result<()> {
    let time =
        |name: &str, v: &Option<String>| v.as_deref().map(|v| qrie_model::audit::parse_time(name, v)).transpose();
    let q = AuditQuery {
        since: time("since", &args.since)?,
        until: time("until", &args.until)?,
        actor: args.actor,
        action: args.action.as_deref().map(str::parse).transpose()?,
        target: args.target,
        limit: Some(args.limit),
    };
    let entries = ctx.engine().audit_log(&q, Engine::now()).await?;
    output::list(format, &["TIME", "ACTOR", "ACTION", "TARGET", "DETAILS"], &entries, |e| {
        vec![
            e.at.format("%Y-%m-%d %H:%M:%S").to_string(),
            e.actor.clone(),
            e.action.to_string(),
            e.target.clone(),
            details_text(&e.details),
        ]
    })
}

/// The short particulars of an entry (counts and reasons, not whole rules).
fn details_text(d: &serde_json::Value) -> String {
    let Some(map) = d.as_object() else { return String::new() };
    map.iter()
        .filter(|(_, v)| !v.is_object())
        .map(|(k, v)| format!("{k}={}", v.as_str().map_or_else(|| v.to_string(), str::to_string)))
        .collect::<Vec<_>>()
        .join(" ")
}

fn status_text(v: &RuleView) -> String {
    if v.expiring_soon {
        format!("{} (expiring)", v.status)
    } else {
        v.status.to_string()
    }
}

/// A scope in one line, as the options that would give it.
fn rule_text(v: &RuleView) -> String {
    let r = &v.rule;
    format!(
        "{} [{}] {}\n  scope   {}\n  reason  {}\n  owner   {}  created by {} at {}\n  expires {}\n",
        r.id,
        status_text(v),
        r.category.label(),
        r.scope,
        r.reason,
        r.owner,
        r.created_by,
        output::time(&r.created_at),
        r.expires_at.map(|x| output::time(&x)).unwrap_or_else(|| "never".into()),
    )
}

fn preview_text(p: &Preview) -> String {
    let mut s = format!(
        "suppresses {} active finding(s) now ({} not suppressed by another rule)\n",
        p.total, p.newly_suppressed
    );
    for (policy, n) in &p.by_policy {
        s += &format!("  policy  {policy}: {n}\n");
    }
    for (account, n) in &p.by_account {
        s += &format!("  account {account}: {n}\n");
    }
    for f in &p.findings {
        s += &format!("  {} {} {} {}\n", f.severity, f.policy, f.account_id, f.arn);
    }
    s
}
