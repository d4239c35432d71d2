//! `/jobs`: running and past sweeps with their progress; `/jobs/{id}`: one.

use axum::extract::{Path, State};
use axum::response::Html;
use axum::routing::get;
use axum::Router;
use maud::{html, Markup};
use qrie_model::{Job, JobStatus};
use qrie_store::JobFilter;
use serde::Deserialize;

use super::layout::{page, Nav};
use super::widgets::{facts, json_block, opt_time, pager, path_segment, table, time};
use super::{PageQuery, UiError, UiResult, Viewer};
use crate::extract::page_request;
use crate::AppState;

pub fn routes(r: Router<AppState>) -> Router<AppState> {
    r.route("/jobs", get(list)).route("/jobs/{id}", get(show))
}

const PAGE_SIZE: usize = 50;

fn progress(j: &Job) -> Markup {
    html! {
        progress max=(j.progress_total.max(1)) value=(j.progress_done) aria-label=(format!("progress of job {}", j.id)) {}
        " " span.progress-text { (j.progress_done) " of " (j.progress_total) " · " (j.status.as_str()) }
    }
}

fn row(j: &Job) -> Markup {
    html! {
        tr {
            td { a href=(format!("/jobs/{}", path_segment(&j.id))) { (j.kind.as_str()) } }
            td { (j.scan_type.as_str()) }
            td { (progress(j)) }
            td.num { (j.error_count()) }
            td { (time(&j.created_at)) }
            td { (opt_time(j.finished_at.as_ref())) }
        }
    }
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    next_token: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    PageQuery(q): PageQuery<ListQuery>,
) -> UiResult<Html<String>> {
    // No job shows running that nothing runs any more.
    state.engine.fail_lost_jobs().await?;
    let store = &*state.engine.store;
    let running = store
        .list_jobs(
            &JobFilter { kind: None, status: Some(JobStatus::Running) },
            &page_request(&state, Some(PAGE_SIZE), None).await?,
        )
        .await?;
    let past = store
        .list_jobs(&JobFilter::default(), &page_request(&state, Some(PAGE_SIZE), q.next_token.clone()).await?)
        .await?;
    let next = crate::extract::next_token(&state, past.next_token.clone()).await?;
    let headers = ["Job", "Scan type", "Progress", "Errors", "Created", "Finished"];
    let body = html! {
        h1 { "Jobs" }
        p.muted { "Every sweep is a job: inventory sweeps read the accounts; policy sweeps re-evaluate the stored inventory." }
        h2 { "Running" }
        (table("Running jobs", &headers, running.items.iter().map(row).collect()))
        h2 { "All jobs, newest first" }
        (table("All jobs", &headers, past.items.iter().map(row).collect()))
        (pager("/jobs", &[], q.next_token.as_deref(), next.as_deref()))
    };
    page(&state, &viewer, Nav::Jobs, "Jobs", body).await
}

async fn show(State(state): State<AppState>, viewer: Viewer, Path(id): Path<String>) -> UiResult<Html<String>> {
    let Some(j) = state.engine.get_job(&id).await? else {
        return Err(UiError::not_found(format!("No job {id}.")));
    };
    let running = matches!(j.status, JobStatus::Running | JobStatus::Queued);
    let body = html! {
        p.muted { a href="/jobs" { "Jobs" } " / " (j.id) }
        h1 { (j.kind.as_str()) " job" }
        div #job-progress data-job-id=(j.id) data-running=(running) { (progress(&j)) }
        @if running { p.muted { "Running. Reload the page to see its progress (it updates by itself with JavaScript)." } }
        @if j.status == JobStatus::Interrupted {
            p.warning role="status" {
                "Interrupted: whoever ran it stopped (killed, crashed or timed out) before it ended. Its finished units are kept; "
                code { "qrie jobs resume " (j.id) } " runs the rest (the next " code { "qrie serve" } " resumes it by itself)."
            }
        }
        (facts(vec![
            ("Status", html! { (j.status.as_str()) }),
            ("Scan type", html! { (j.scan_type.as_str()) }),
            ("Created", time(&j.created_at)),
            ("Started", opt_time(j.started_at.as_ref())),
            ("Finished", opt_time(j.finished_at.as_ref())),
        ]))
        h2 { "Counts" }
        (table("Counts", &["Counter", "Value"], j.counts.iter().map(|(k, v)| html! { tr { td { (k) } td.num { (v) } } }).collect()))
        h2 { "Errors" }
        (table("Errors", &["Account", "Service", "Region", "Policy", "Times", "Resource (first)", "Message"], j.errors.iter().map(|e| html! {
            tr {
                td { (e.account_id.as_deref().unwrap_or("")) }
                td { (e.service.as_deref().unwrap_or("")) }
                td { (e.region.as_deref().unwrap_or("")) }
                td { (e.policy_id.as_deref().unwrap_or("")) }
                td.num { (e.times()) }
                td {
                    @if let Some(arn) = &e.arn {
                        a href=(super::widgets::resource_href(arn)) { (arn) }
                    }
                }
                td { (e.message) }
            }
        }).collect()))
        h2 { "Target" }
        (json_block("target", &j.target))
    };
    page(&state, &viewer, Nav::Jobs, "Job", body).await
}
