//! `qrie jobs`, and how every command that runs a sweep reports it.

use anyhow::{bail, Result};
use qrie_engine::JobReport;
use qrie_model::Job;
use qrie_store::{JobFilter, PageRequest};
use serde_json::Value;
use std::fmt::Write;

use crate::cli::JobsCmd;
use crate::context::Ctx;
use crate::output::{self, Format};
use crate::progress::Bar;

pub async fn run(ctx: &Ctx, format: Format, cmd: JobsCmd) -> Result<()> {
    match cmd {
        JobsCmd::List { limit } => {
            let page = ctx.engine().list_jobs(&JobFilter::default(), &PageRequest::first(limit)).await?;
            output::list(
                format,
                &["JOB", "KIND", "SCAN TYPE", "STATUS", "PROGRESS", "ERRORS", "STARTED", "FINISHED"],
                &page.items,
                |j| {
                    vec![
                        j.id.clone(),
                        j.kind.as_str().into(),
                        j.scan_type.to_string(),
                        j.status.as_str().into(),
                        format!("{}/{}", j.progress_done, j.progress_total),
                        j.error_count().to_string(),
                        output::opt_time(&j.started_at),
                        output::opt_time(&j.finished_at),
                    ]
                },
            )
        }
        JobsCmd::Resume { job_id, workers } => {
            let (engine, _) = ctx.engine_with_cloud().await?;
            let bar = Bar::new("resume");
            let workers = workers.map_or(0, |n| n as usize);
            let resumed = engine.resume_sweep(&job_id, workers, &bar);
            let report = super::sweeps::until_ctrl_c(&engine, &bar, resumed).await?;
            print_report(format, &report)
        }
        JobsCmd::Show { job_id } => {
            let Some(job) = ctx.engine().get_job(&job_id).await? else {
                bail!("unknown job {job_id:?}: `qrie jobs list` lists recent jobs");
            };
            output::document(format, &job, || job_text(&job))
        }
    }
}

/// Prints the report of a sweep a command just ran.
pub fn print_report(format: Format, report: &JobReport) -> Result<()> {
    output::document(format, report, || {
        let mut s = job_text(&report.job);
        if let Some(d) = report.result.get("DriftTotals").filter(|d| !d.is_null()) {
            let _ = writeln!(s, "drift (missed by events): {}", totals_line(d));
        } else if report.job.scan_type == qrie_model::ScanType::Bootstrap {
            let _ = writeln!(s, "drift: not recorded (bootstrap sweeps establish the baseline)");
        }
        if let Some(accounts) = report.result.get("BaselinedAccounts").and_then(Value::as_array) {
            if !accounts.is_empty() {
                let ids: Vec<&str> = accounts.iter().filter_map(Value::as_str).collect();
                let _ = writeln!(s, "baselined: {}", ids.join(", "));
            }
        }
        s
    })
}

fn totals_line(d: &Value) -> String {
    let obj = d.as_object().map(|o| o.iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(", "));
    obj.unwrap_or_default()
}

fn job_text(job: &Job) -> String {
    let mut s = String::new();
    let took = match (job.started_at, job.finished_at) {
        (Some(a), Some(b)) => format!(" in {:.1}s", (b - a).num_milliseconds() as f64 / 1000.0),
        _ => String::new(),
    };
    let _ = writeln!(s, "job {} ({}, {}): {}{took}", job.id, job.kind.as_str(), job.scan_type, job.status.as_str());
    let _ = writeln!(s, "progress: {}/{}", job.progress_done, job.progress_total);
    for (k, v) in job.counts.iter().filter(|(_, v)| **v > 0) {
        let _ = writeln!(s, "  {k}: {v}");
    }
    if !job.errors.is_empty() {
        let _ = writeln!(s, "errors ({}):", job.error_count());
        for e in &job.errors {
            let place = [&e.account_id, &e.service, &e.region, &e.policy_id]
                .iter()
                .filter_map(|x| x.as_deref())
                .collect::<Vec<_>>()
                .join("/");
            match (&e.arn, e.count) {
                (Some(arn), Some(n)) => {
                    let _ = writeln!(s, "  {place}: {n} evaluation(s) ended in an error, first {arn}: {}", e.message);
                }
                _ => {
                    let _ = writeln!(s, "  {place}: {}", e.message);
                }
            }
        }
    }
    s
}
