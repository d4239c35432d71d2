//! `qrie summary [dashboard|drift]`.

use anyhow::Result;
use qrie_engine::summary::Dashboard;
use std::fmt::Write;

use crate::cli::{SummaryArgs, SummaryKind};
use crate::context::Ctx;
use crate::output::{self, Format};

pub async fn run(ctx: &Ctx, format: Format, args: SummaryArgs) -> Result<()> {
    let engine = ctx.engine();
    match args.kind {
        SummaryKind::Dashboard => {
            let d = if args.fresh { engine.compute_dashboard().await? } else { engine.dashboard().await?.value };
            output::document(format, &d, || dashboard_text(&d))
        }
        SummaryKind::Drift => {
            let d = engine.drift(10).await?;
            output::document(format, &d, || {
                let mut s = String::new();
                match &d.last_inventory_scan {
                    Some(i) => {
                        let (c, del, u) = i.totals();
                        let (o, r) = qrie_model::finding_drift_totals(&i.findings);
                        let _ = writeln!(
                            s,
                            "last anti-entropy inventory sweep ({}, job {}):",
                            ms(i.timestamp_ms),
                            i.job_id
                        );
                        let _ = writeln!(s, "  missed creates {c}, missed deletes {del}, missed updates {u}; findings opened {o}, resolved {r}");
                        let grace: u64 = i.rows.iter().map(|r| r.within_grace).sum();
                        let timed: u64 = i.findings.iter().map(|r| r.time_based).sum();
                        if grace + timed > 0 {
                            let _ = writeln!(
                                s,
                                "  not missed: {grace} change(s) within the grace window (events may be on the way), \
                                 {timed} finding change(s) made by time"
                            );
                        }
                        for row in i.rows.iter().filter(|r| r.missed_creates + r.missed_deletes + r.missed_updates > 0)
                        {
                            let _ = writeln!(
                                s,
                                "  {} {} {}: +{} -{} ~{}",
                                row.account_id,
                                row.service,
                                row.region,
                                row.missed_creates,
                                row.missed_deletes,
                                row.missed_updates
                            );
                        }
                        if !i.unbaselined_accounts.is_empty() {
                            let _ =
                                writeln!(s, "  not counted (no baseline yet): {}", i.unbaselined_accounts.join(", "));
                        }
                    }
                    None => s.push_str("no anti-entropy inventory sweep yet\n"),
                }
                match &d.last_policy_scan {
                    Some(p) => {
                        let (o, r) = qrie_model::finding_drift_totals(&p.rows);
                        let _ = writeln!(
                            s,
                            "last anti-entropy policy sweep ({}, job {}): missed opens {o}, missed resolves {r}",
                            ms(p.timestamp_ms),
                            p.job_id
                        );
                        for row in &p.rows {
                            let _ = writeln!(
                                s,
                                "  {}: opened {}, resolved {}{}",
                                row.policy_id,
                                row.missed_opens,
                                row.missed_resolves,
                                if row.time_based > 0 {
                                    format!(" ({} more made by time)", row.time_based)
                                } else {
                                    String::new()
                                }
                            );
                        }
                    }
                    None => s.push_str("no anti-entropy policy sweep yet\n"),
                }
                s
            })
        }
    }
}

fn ms(ts: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ts).map(|t| output::time(&t)).unwrap_or_default()
}

pub fn dashboard_text(d: &Dashboard) -> String {
    let mut s = String::new();
    let services: Vec<String> = d.resources_by_service.iter().map(|(k, v)| format!("{k} {v}")).collect();
    let _ = writeln!(s, "resources  {} ({})", d.resources, services.join(", "));
    let _ = writeln!(s, "accounts   {}", d.accounts);
    if !d.unbaselined_accounts.is_empty() {
        let _ = writeln!(s, "           not baselined yet: {}", d.unbaselined_accounts.join(", "));
    }
    let _ = writeln!(
        s,
        "findings   {} active, {} suppressed (counted apart), {} resolved",
        d.findings.active, d.findings.suppressed, d.findings.resolved
    );
    for label in qrie_model::SeverityLabel::ALL {
        let n = d.findings.by_severity.get(label.as_str()).copied().unwrap_or(0);
        let _ = writeln!(s, "  {:<14}{n}", label.as_str());
    }
    if !d.findings.top_policies.is_empty() {
        let _ = writeln!(s, "top failing policies:");
        for (p, n) in &d.findings.top_policies {
            let _ = writeln!(s, "  {n:>6}  {p}");
        }
    }
    if !d.erroring_policies.is_empty() {
        let _ = writeln!(s, "policies erroring in the latest sweeps (their findings are not being decided):");
        for e in &d.erroring_policies {
            let _ = writeln!(s, "  {:>6}  {}  (job {}: {})", e.errors, e.policy_id, e.job_id, e.reason);
        }
    }
    s
}
