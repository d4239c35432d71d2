//! `qrie findings list|show`.

use anyhow::{bail, Result};
use qrie_engine::archive::ArchiveSelection;
use qrie_engine::export::ExportQuery;
use qrie_engine::suppressions::{FindingView, SuppressedFilter};
use qrie_export::Exporter;
use qrie_model::{Finding, FindingState};
use qrie_store::{FindingFilter, FindingSort, PageRequest};
use serde_json::json;

use super::sweeps::services;
use crate::cli::{FindingQueryArgs, FindingsCmd, SortArg, StateArg, SuppressedArg};
use crate::confirm::confirm;
use crate::context::Ctx;
use crate::output::{self, Format};
use crate::progress::Bar;

pub async fn run(ctx: &Ctx, format: Format, cmd: FindingsCmd) -> Result<()> {
    match cmd {
        FindingsCmd::List { query, limit } => {
            let ExportQuery { filter, sort, suppressed: which } =
                query_of(ctx, query, FindingSort::SeverityDesc).await?;
            let items = collect(ctx, &filter, sort, which, limit).await?;
            output::list(
                format,
                &["SEVERITY", "STATE", "POLICY", "ACCOUNT", "REGION", "RESOURCE", "FIRST SEEN", "LAST EVALUATED"],
                &items,
                |v| {
                    let f = &v.finding;
                    vec![
                        format!("{} {}", f.severity, f.severity.label()),
                        state_text(v),
                        f.policy.clone(),
                        f.account_id.clone(),
                        f.region.clone(),
                        f.arn.clone(),
                        output::time(&f.first_seen),
                        output::time(&f.last_evaluated),
                    ]
                },
            )
        }
        FindingsCmd::Export { query, to } => {
            let Some(export) = format.export() else {
                bail!(
                    "`qrie findings export` needs --format ocsf, asff, csv or jsonl (before or after the subcommand)"
                );
            };
            let query = query_of(ctx, query, FindingSort::StoreOrder).await?;
            let exporter = Exporter::new(export, super::export::context(ctx, &to));
            let records = super::export::write(ctx.engine().export_findings(query, exporter), &to, "export").await?;
            if let Some(path) = &to.output {
                eprintln!("exported {records} finding(s) to {}", path.display());
            }
            Ok(())
        }
        FindingsCmd::Archive { older_than, policy, account, archive, dry_run, yes } => {
            let engine = ctx.engine();
            let selection = ArchiveSelection {
                policy,
                account_id: account,
                resolved_before: Some(qrie_engine::Engine::now() - older_than),
            };
            let sink = ctx.required_archive_sink(archive.archive_to.as_deref()).await?;
            let counted = engine.archive_findings(&selection, &*sink, true, &qrie_engine::NoProgress).await?;
            if !dry_run && counted.archived > 0 {
                confirm(
                    &format!(
                        "{} resolved finding(s) will be archived to {} and then deleted from the store",
                        counted.archived,
                        sink.describe()
                    ),
                    yes,
                )?;
            }
            let report = if dry_run || counted.archived == 0 {
                counted
            } else {
                engine.archive_findings(&selection, &*sink, false, &Bar::new("archive")).await?
            };
            output::document(format, &report, || match (&report.location, report.dry_run) {
                (_, true) => format!("would archive and purge {} resolved finding(s)\n", report.archived),
                (None, _) => "no resolved finding is that old: nothing archived\n".to_string(),
                (Some(at), _) => format!(
                    "archived {} finding(s) to {at}; {} purged{}\n",
                    report.archived,
                    report.purged,
                    super::policies::kept_note(report.kept_changed)
                ),
            })
        }
        FindingsCmd::Show { arn, policy } => {
            let Some(detail) = ctx.engine().finding_detail(&arn, &policy, qrie_engine::Engine::now()).await? else {
                bail!("no finding for resource {arn:?} and policy {policy:?}: `qrie findings list --state all` lists them");
            };
            let def = qrie_policies::get(&policy);
            let FindingView { finding: f, suppression, policy_paused: paused } = detail.view;
            let doc = json!({
                "Finding": f,
                "Suppression": suppression,
                "PolicyPaused": paused,
                "Policy": def,
                "Resource": ctx.store.get_resource(&arn).await?,
            });
            output::document(format, &doc, || {
                let mut s = show_text(&f, def);
                if let Some(sup) = &suppression {
                    s += &format!(
                        "suppressed by {} ({}) since {}{}\n",
                        sup.rule_id,
                        sup.category.label(),
                        output::time(&sup.since),
                        sup.until.map(|u| format!(" until {}", output::time(&u))).unwrap_or_default()
                    );
                }
                if paused {
                    s += "its policy is paused: not evaluated until resumed\n";
                }
                s
            })
        }
    }
}

/// The store query the filters ask for, checked: naming a policy or an
/// account that does not exist is a mistake to report, not an empty list.
async fn query_of(ctx: &Ctx, q: FindingQueryArgs, default_sort: FindingSort) -> Result<ExportQuery> {
    if let Some(p) = &q.policy {
        if qrie_policies::get(p).is_none() && ctx.store.get_policy(p).await?.is_none() {
            return Err(qrie_engine::EngineError::UnknownPolicy(p.clone()).into());
        }
    }
    if let Some(a) = &q.account {
        qrie_model::validate_account_id(a)?;
        if ctx.store.get_account(a).await?.is_none() {
            return Err(qrie_engine::EngineError::UnknownAccount(a.clone()).into());
        }
    }
    if let Some(r) = &q.region {
        qrie_model::validate_region(r)?;
    }
    let exclude_accounts = if q.include_removed { Vec::new() } else { ctx.engine().removed_account_ids().await? };
    let filter = FindingFilter {
        state: match q.state {
            StateArg::Active => Some(FindingState::Active),
            StateArg::Resolved => Some(FindingState::Resolved),
            StateArg::All => None,
        },
        policy: q.policy,
        account_id: q.account,
        service: q.service.and_then(|s| services(s).first().copied()),
        region: q.region,
        severity_min: q.severity_min,
        exclude_accounts,
        ..Default::default()
    };
    let sort = match q.sort {
        None => default_sort,
        Some(SortArg::Severity) => FindingSort::SeverityDesc,
        Some(SortArg::Recent) => FindingSort::LastEvaluatedDesc,
        Some(SortArg::Arn) => FindingSort::Key,
    };
    let suppressed = match q.suppressed {
        SuppressedArg::No => SuppressedFilter::No,
        SuppressedArg::Yes => SuppressedFilter::Yes,
        SuppressedArg::All => SuppressedFilter::All,
    };
    Ok(ExportQuery { filter, sort, suppressed })
}

/// The state with what is derived beside it: suppressed, paused.
fn state_text(v: &FindingView) -> String {
    let mut s = v.finding.state.as_str().to_string();
    if let Some(sup) = &v.suppression {
        s += &format!(" suppressed ({})", sup.rule_id);
    }
    if v.policy_paused {
        s += " paused";
    }
    s
}

/// Walks the pages until `limit` findings (or all of them).
async fn collect(
    ctx: &Ctx,
    filter: &FindingFilter,
    sort: FindingSort,
    which: SuppressedFilter,
    limit: Option<usize>,
) -> Result<Vec<FindingView>> {
    let engine = ctx.engine();
    let now = qrie_engine::Engine::now();
    let mut items = Vec::new();
    let mut page = PageRequest::first(1000);
    loop {
        if let Some(l) = limit {
            page.limit = (l - items.len()).min(1000);
        }
        let p = engine.list_finding_views(filter, sort, &page, which, now).await?;
        items.extend(p.items);
        match p.next_token {
            Some(t) if limit.is_none_or(|l| items.len() < l) => page.next_token = Some(t),
            _ => break,
        }
    }
    Ok(items)
}

fn show_text(f: &Finding, def: Option<&qrie_model::PolicyDef>) -> String {
    let mut s = format!("{} — {}\n", f.policy, def.map_or("", |d| d.title));
    s += &format!("resource  {}\naccount   {}  region {}  type {}\n", f.arn, f.account_id, f.region, f.resource_type);
    s += &format!("state     {}", f.state.as_str());
    if let (Some(at), Some(why)) = (f.resolved_at, f.resolved_reason) {
        s += &format!(" ({why} at {})", output::time(&at));
    }
    s += &format!(
        "\nseverity  {} {}\nfirst seen {}  last evaluated {}  detected by {}\n",
        f.severity,
        f.severity.label(),
        output::time(&f.first_seen),
        output::time(&f.last_evaluated),
        f.detected_by.as_str()
    );
    s += &format!("evidence:\n{}\n", serde_json::to_string_pretty(&f.evidence).unwrap_or_default());
    if let Some(d) = def {
        s += "remediation:\n";
        for step in d.remediation.steps {
            s += &format!("  - {step}\n");
        }
        s += &format!("  cli: {}\n", d.remediation.cli);
    }
    s += "history:\n";
    for t in &f.history {
        s += &format!(
            "  {} {:?}{} by {}\n",
            output::time(&t.at),
            t.kind,
            t.reason.map(|r| format!(" ({r})")).unwrap_or_default(),
            t.trigger.detected_by.as_str()
        );
    }
    s
}
