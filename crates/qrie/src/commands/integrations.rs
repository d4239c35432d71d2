//! `qrie integrations add|list|test|remove` and `qrie notifications list|dispatch|retry`.

use anyhow::{anyhow, Result};
use qrie_engine::notify::Sender;
use qrie_model::integration::{Channel, Integration, Route, SecretRef};
use qrie_model::notice::OutboxEntry;
use qrie_model::TransitionKind;
use serde_json::json;

use crate::cli::{AddIntegration, IntegrationsCmd, NotificationsCmd, RouteArgs, TransitionArg};
use crate::confirm::confirm;
use crate::context::{cli_actor, Ctx};
use crate::output::{self, Format};

pub async fn run(ctx: &Ctx, format: Format, cmd: IntegrationsCmd) -> Result<()> {
    let engine = ctx.engine();
    match cmd {
        IntegrationsCmd::Add(add) => {
            let (id, channel, route) = match add {
                AddIntegration::Webhook { id, url, secret, route } => {
                    let secret = secret.map(|s| s.parse::<SecretRef>()).transpose()?;
                    (id, Channel::Webhook { url, secret }, route)
                }
                AddIntegration::Slack { id, url_from, route } => (id, Channel::Slack { url: url_from.parse()? }, route),
            };
            let integration = Integration {
                id,
                channel,
                route: route_of(route),
                created_at: qrie_engine::Engine::now(),
                created_by: cli_actor(),
            };
            engine.add_integration(integration.clone()).await?;
            output::document(format, &shown(&integration), || {
                format!(
                    "added {} ({} to {}); `qrie integrations test {}` sends a test notice\n",
                    integration.id,
                    integration.channel.kind(),
                    integration.channel.target(),
                    integration.id
                )
            })
        }
        IntegrationsCmd::List => {
            let all = engine.integrations().await?;
            let shown: Vec<serde_json::Value> = all.iter().map(shown).collect();
            output::list(format, &["ID", "KIND", "TARGET", "ROUTE", "CREATED BY"], &shown, |v| {
                vec![
                    v["Id"].as_str().unwrap_or_default().to_string(),
                    v["Kind"].as_str().unwrap_or_default().to_string(),
                    v["Target"].as_str().unwrap_or_default().to_string(),
                    v["RouteText"].as_str().unwrap_or_default().to_string(),
                    v["CreatedBy"].as_str().unwrap_or_default().to_string(),
                ]
            })
        }
        IntegrationsCmd::Test { id } => {
            let all = engine.integrations().await?;
            let integration = all
                .iter()
                .find(|i| i.id == id)
                .ok_or_else(|| anyhow!("no integration {id:?}: `qrie integrations list` lists them"))?;
            let senders = qrie_notify::Senders::new(None).map_err(|e| anyhow!(e))?;
            let notice = qrie_notify::test_notice(&cli_actor());
            match senders.send(integration, &notice).await {
                Ok(()) => output::document(format, &json!({ "Sent": true, "Notice": notice }), || {
                    format!("sent test notice {} to {}\n", notice.id, integration.channel.target())
                }),
                Err(e) => Err(anyhow!("the test notice was not delivered: {}", e.message)),
            }
        }
        IntegrationsCmd::Remove { id, yes } => {
            confirm(&format!("integration {id} will be removed; notices not yet delivered to it will not be"), yes)?;
            let removed = engine.remove_integration(&id).await?;
            output::document(format, &shown(&removed), || format!("removed {id}\n"))
        }
    }
}

pub async fn notifications(ctx: &Ctx, format: Format, cmd: NotificationsCmd) -> Result<()> {
    let engine = ctx.engine();
    match cmd {
        NotificationsCmd::List { failed } => {
            let entries = engine.outbox(failed).await?;
            output::list(format, &["NOTICE", "AT", "KIND", "POLICY", "RESOURCE", "DELIVERIES"], &entries, |e| {
                let n = &e.notice;
                vec![
                    n.id.clone(),
                    output::time(&n.at),
                    n.kind.as_str().to_string(),
                    n.policy.clone(),
                    n.arn.clone(),
                    deliveries_text(e),
                ]
            })
        }
        NotificationsCmd::Dispatch { links } => {
            let senders = qrie_notify::Senders::new(links.public_url).map_err(|e| anyhow!(e))?;
            let report = engine.dispatch_notices(&senders).await?;
            output::document(format, &report, || {
                format!(
                    "{} notice(s) examined: {} delivered, {} failing (tried again later), {} dead, {} complete\n",
                    report.examined, report.delivered, report.failed, report.dead, report.completed
                )
            })
        }
        NotificationsCmd::Retry { notice } => {
            let revived = engine.retry_dead(notice.as_deref()).await?;
            output::document(format, &json!({ "Revived": revived }), || {
                format!("{revived} dead delivery(ies) pending again: the next dispatch sends them\n")
            })
        }
    }
}

fn route_of(r: RouteArgs) -> Route {
    Route {
        min_severity: r.min_severity,
        policies: r.policies,
        accounts: r.accounts,
        kinds: r
            .on
            .into_iter()
            .map(|t| match t {
                TransitionArg::Opened => TransitionKind::Opened,
                TransitionArg::Reopened => TransitionKind::Reopened,
                TransitionArg::Resolved => TransitionKind::Resolved,
            })
            .collect(),
        include_bootstrap: r.include_bootstrap,
    }
}

/// An integration as it may be shown, with its route in words for tables.
fn shown(i: &Integration) -> serde_json::Value {
    let mut v = serde_json::to_value(i.view()).unwrap_or_default();
    v["RouteText"] = json!(route_text(&i.route));
    v
}

fn route_text(r: &Route) -> String {
    let mut parts = Vec::new();
    if let Some(m) = r.min_severity {
        parts.push(format!("severity >= {m}"));
    }
    if !r.policies.is_empty() {
        parts.push(format!("policy {}", r.policies.join("|")));
    }
    if !r.accounts.is_empty() {
        parts.push(format!("account {}", r.accounts.join("|")));
    }
    if !r.kinds.is_empty() {
        parts.push(format!("on {}", r.kinds.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(",")));
    }
    if r.include_bootstrap {
        parts.push("bootstrap too".into());
    }
    if parts.is_empty() {
        "everything".into()
    } else {
        parts.join(", ")
    }
}

fn deliveries_text(e: &OutboxEntry) -> String {
    if e.deliveries.is_empty() {
        return "pending".into();
    }
    e.deliveries
        .iter()
        .map(|(id, d)| {
            let mut s = format!("{id}: {} ({} attempt(s))", d.status.as_str(), d.attempts);
            if let Some(err) = &d.last_error {
                s += &format!(" {err}");
            }
            if let Some(next) = &d.next_attempt_at {
                s += &format!(", next {}", output::time(next));
            }
            s
        })
        .collect::<Vec<_>>()
        .join("; ")
}
