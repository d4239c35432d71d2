//! `qrie policies list|show|launch|update|suspend|delete`.

use anyhow::{bail, Context, Result};
use qrie_engine::policies::{LaunchOptions, PolicyListing, PolicyUpdate};
use qrie_model::Severity;
use serde_json::Value;
use std::collections::BTreeMap;

use super::jobs::print_report;
use crate::cli::{DeleteArgs, OverrideArgs, PoliciesCmd, PolicyStatusArg, PurgeArgs};
use crate::confirm::{confirm, confirm_typed};
use crate::context::Ctx;
use crate::output::{self, Format};
use crate::progress::Bar;

pub async fn run(ctx: &Ctx, format: Format, cmd: PoliciesCmd) -> Result<()> {
    let engine = ctx.engine();
    match cmd {
        PoliciesCmd::List { status } => {
            let which = match status {
                PolicyStatusArg::Active => PolicyListing::Active,
                PolicyStatusArg::Paused => PolicyListing::Paused,
                PolicyStatusArg::Suspended => PolicyListing::Suspended,
                PolicyStatusArg::Available => PolicyListing::Available,
                PolicyStatusArg::All => PolicyListing::All,
            };
            let rows = engine.list_policies(which).await?;
            output::list(format, &["POLICY", "STATUS", "SERVICE", "SEVERITY", "ACTIVE FINDINGS", "TITLE"], &rows, |p| {
                vec![
                    p.policy_id.clone(),
                    p.status.clone(),
                    p.definition.map(|d| d.service.to_string()).unwrap_or_default(),
                    p.effective_severity.map(|s| format!("{} {}", s, s.label())).unwrap_or_default(),
                    output::findings_count(p.active_findings, p.suppressed_findings),
                    p.definition.map(|d| d.title.to_string()).unwrap_or_default(),
                ]
            })
        }
        PoliciesCmd::Show { policy_id } => {
            let rows = engine.list_policies(PolicyListing::All).await?;
            let Some(p) = rows.into_iter().find(|p| p.policy_id == policy_id) else {
                return Err(qrie_engine::EngineError::UnknownPolicy(policy_id).into());
            };
            output::document(format, &p, || {
                let mut s = format!("{} [{}]\n", p.policy_id, p.status);
                if let Some(d) = p.definition {
                    s += &format!("{}\n\n{}\n\n", d.title, d.description);
                    s += &format!(
                        "service {}  type {}  category {}  severity {}\n",
                        d.service,
                        d.resource_type,
                        d.category,
                        p.effective_severity.unwrap_or(d.severity)
                    );
                    s += "remediation:\n";
                    for step in d.remediation.steps {
                        s += &format!("  - {step}\n");
                    }
                    s += &format!("  cli: {}\n  console: {}\n", d.remediation.cli, d.remediation.console);
                    for c in d.compliance {
                        s += &format!("compliance {}: {}\n", c.framework, c.controls.join(", "));
                    }
                    for param in d.params {
                        s +=
                            &format!("parameter {} (default {:?}): {}\n", param.name, param.default, param.description);
                    }
                }
                if let Some(l) = &p.launched {
                    s += &format!(
                        "launched {}; scope {}\n",
                        output::time(&l.created_at),
                        serde_json::to_string(&l.scope).unwrap_or_default()
                    );
                }
                s +=
                    &format!("active findings: {}\n", output::findings_count(p.active_findings, p.suppressed_findings));
                s
            })
        }
        PoliciesCmd::Launch { policy_id, scope, overrides } => {
            let opts = LaunchOptions {
                scope: scope.to_scope()?,
                severity: severity(&overrides)?,
                remediation: overrides.remediation.clone(),
                params: params(&overrides)?,
            };
            eprintln!("launching {policy_id}: every resource in scope is scanned now (a bootstrap sweep)");
            let (_, report) = engine.launch_policy(&policy_id, opts, &Bar::new("launch")).await?;
            print_report(format, &report)
        }
        PoliciesCmd::Update { policy_id, scope, clear_scope, overrides, clear_severity } => {
            let update = PolicyUpdate {
                scope: if clear_scope {
                    Some(Default::default())
                } else if scope.is_empty() {
                    None
                } else {
                    Some(scope.to_scope()?)
                },
                severity: if clear_severity { Some(None) } else { severity(&overrides)?.map(Some) },
                remediation: overrides.remediation.clone().map(Some),
                params: if overrides.params.is_empty() { None } else { Some(params(&overrides)?) },
            };
            let (p, report) = engine.update_policy(&policy_id, update, &Bar::new("update")).await?;
            match report {
                Some(r) => print_report(format, &r),
                None => output::document(format, &p, || format!("updated {policy_id} (no re-scan needed)\n")),
            }
        }
        PoliciesCmd::Pause { policy_id } => {
            let p = engine.pause_policy(&policy_id).await?;
            let held = engine.active_findings_of(&policy_id).await?.len();
            output::document(format, &p, || {
                format!("paused {policy_id}: not evaluated until resumed; its {held} active finding(s) are kept\n")
            })
        }
        PoliciesCmd::Resume { policy_id } => {
            let (_, sweep) = engine.resume_policy(&policy_id).await?;
            eprintln!("resumed {policy_id}: every resource in scope is evaluated again");
            let report = engine.policy_sweep(&sweep, &Bar::new("resume")).await?;
            print_report(format, &report)
        }
        PoliciesCmd::Suspend(args) => purge(ctx, format, args, false).await,
        PoliciesCmd::Delete(args) if args.purge => delete_purging(ctx, format, args).await,
        PoliciesCmd::Delete(args) => purge(ctx, format, args.common, true).await,
    }
}

/// Deletes the policy, then archives and hard-deletes every finding of it.
async fn delete_purging(ctx: &Ctx, format: Format, args: DeleteArgs) -> Result<()> {
    let engine = ctx.engine();
    let id = &args.common.policy_id;
    if args.common.archive.is_some() {
        bail!("--archive FILE keeps a JSON copy of the active findings; with --purge every finding is archived to --archive-to instead");
    }
    engine.store.get_policy(id).await?.ok_or_else(|| match qrie_policies::get(id) {
        Some(_) => qrie_engine::EngineError::NotLaunched(id.clone()),
        None => qrie_engine::EngineError::UnknownPolicy(id.clone()),
    })?;
    let sink = ctx.required_archive_sink(args.archive.archive_to.as_deref()).await?;
    let all = engine.store.findings_for_policy(id, None).await?;
    let active = all.iter().filter(|f| f.is_active()).count();
    confirm_typed(
        &format!(
            "deleting {id} resolves its {active} active finding(s), archives all {} of its findings with their \
             history to {}, and then deletes them from the store for good",
            all.len(),
            sink.describe()
        ),
        id,
        args.common.yes,
    )?;
    let (purge, report) = engine.delete_policy_purging(id, &*sink, &Bar::new("purge")).await?;
    let out = serde_json::json!({"Policy": purge, "Archive": report});
    output::document(format, &out, || {
        format!(
            "deleted {id}: {} finding(s) resolved; {} archived to {}; {} purged{}\n",
            purge.resolved,
            report.archived,
            report.location.as_deref().unwrap_or("(nothing to archive)"),
            report.purged,
            kept_note(report.kept_changed),
        )
    })
}

/// Says how many archived findings changed meanwhile and were kept.
pub fn kept_note(kept: u64) -> String {
    if kept == 0 {
        String::new()
    } else {
        format!("; {kept} kept (changed after they were archived: archive again to purge them)")
    }
}

async fn purge(ctx: &Ctx, format: Format, args: PurgeArgs, delete: bool) -> Result<()> {
    let engine = ctx.engine();
    if qrie_policies::get(&args.policy_id).is_none() && engine.store.get_policy(&args.policy_id).await?.is_none() {
        return Err(qrie_engine::EngineError::UnknownPolicy(args.policy_id).into());
    }
    let active = engine.active_findings_of(&args.policy_id).await?;
    let verb = if delete { "Deleting" } else { "Suspending" };
    confirm(
        &format!(
            "{verb} {} resolves its {} active finding(s) ({}); they cannot be re-opened except by launching it again{}",
            args.policy_id,
            active.len(),
            if delete { "POLICY_DELETED" } else { "POLICY_SUSPENDED" },
            if args.archive.is_some() { "" } else { " (use --archive FILE to keep a copy)" }
        ),
        args.yes,
    )?;
    if let Some(path) = &args.archive {
        let json = serde_json::to_vec_pretty(&active)?;
        std::fs::write(path, json).with_context(|| format!("writing archive {}", path.display()))?;
        eprintln!("archived {} finding(s) to {}", active.len(), path.display());
    }
    let purge = if delete {
        engine.delete_policy(&args.policy_id).await?
    } else {
        engine.suspend_policy(&args.policy_id).await?
    };
    output::document(format, &purge, || {
        format!(
            "{} {}: {} finding(s) resolved ({})\n",
            if delete { "deleted" } else { "suspended" },
            purge.policy_id,
            purge.resolved,
            purge.reason
        )
    })
}

fn severity(o: &OverrideArgs) -> Result<Option<Severity>> {
    Ok(o.severity.map(Severity::new).transpose()?)
}

/// `NAME=VALUE` pairs; a value that parses as JSON (30, true, "x") is taken as
/// such, anything else as a string.
fn params(o: &OverrideArgs) -> Result<BTreeMap<String, Value>> {
    let mut out = BTreeMap::new();
    for p in &o.params {
        let Some((name, value)) = p.split_once('=') else {
            bail!("invalid --param {p:?}: expected NAME=VALUE");
        };
        if name.trim().is_empty() {
            bail!("invalid --param {p:?}: the name is empty");
        }
        let value = serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.to_string()));
        out.insert(name.trim().to_string(), value);
    }
    Ok(out)
}
