//! The one page shell: header with navigation, the "inventory sweep running"
//! indicator, the signed-in role and logout, then the page's main content.

use axum::http::StatusCode;
use axum::response::Html;
use maud::{html, Markup, DOCTYPE};
use qrie_model::{JobKind, JobStatus};
use qrie_store::{JobFilter, PageRequest};

use super::{UiResult, Viewer};
use crate::AppState;

/// The section a page belongs to, highlighted in the navigation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    Dashboard,
    Findings,
    Inventory,
    Policies,
    Suppressions,
    Audit,
    Accounts,
    Jobs,
    Docs,
    None,
}

const SECTIONS: [(Nav, &str, &str); 9] = [
    (Nav::Dashboard, "/", "Dashboard"),
    (Nav::Findings, "/findings", "Findings"),
    (Nav::Inventory, "/inventory", "Inventory"),
    (Nav::Policies, "/policies", "Policies"),
    (Nav::Suppressions, "/suppressions", "Suppressions"),
    (Nav::Audit, "/audit", "Audit"),
    (Nav::Accounts, "/accounts", "Accounts"),
    (Nav::Jobs, "/jobs", "Jobs"),
    (Nav::Docs, "/docs", "Docs"),
];

/// A running (or interrupted) inventory sweep, for the header indicator.
pub struct RunningSweep {
    pub job_id: String,
    pub status: JobStatus,
    pub done: u64,
    pub total: u64,
}

/// The running inventory sweep, else the newest interrupted one (a sweep
/// whose runner stopped is shown so within a minute, never as running).
async fn running_sweep(state: &AppState) -> UiResult<Option<RunningSweep>> {
    for status in [JobStatus::Running, JobStatus::Interrupted] {
        let filter = JobFilter { kind: Some(JobKind::Inventory), status: Some(status) };
        let page = state.engine.store.list_jobs(&filter, &PageRequest::first(1)).await?;
        let Some(listed) = page.items.into_iter().next() else { continue };
        // Settled as every reader settles it (its lease may have run out).
        let Some(j) = state.engine.get_job(&listed.id).await? else { continue };
        if matches!(j.status, JobStatus::Running | JobStatus::Interrupted) {
            return Ok(Some(RunningSweep {
                job_id: j.id,
                status: j.status,
                done: j.progress_done,
                total: j.progress_total,
            }));
        }
    }
    Ok(None)
}

/// Renders a page for a signed-in caller.
pub async fn page(state: &AppState, viewer: &Viewer, nav: Nav, title: &str, body: Markup) -> UiResult<Html<String>> {
    let sweep = running_sweep(state).await?;
    Ok(Html(shell(title, nav, Some(viewer), sweep.as_ref(), body).into_string()))
}

/// A page for anyone (login, errors): no indicator, no logout.
pub fn public_page(title: &str, body: Markup) -> Html<String> {
    Html(shell(title, Nav::None, None, None, body).into_string())
}

pub fn error_page(status: StatusCode, title: &str, message: &str) -> Html<String> {
    public_page(
        title,
        html! {
            h1 { (title) }
            p.error role="alert" { (message) }
            p.muted { "HTTP " (status.as_u16()) }
            p { a href="/" { "Back to the dashboard" } }
        },
    )
}

fn indicator(sweep: Option<&RunningSweep>) -> Markup {
    // Always present (hidden when idle) so that the script can show it when a
    // sweep starts; without the script it is right as of the page load.
    html! {
        a #sweep-indicator .indicator href=(sweep.map_or("/jobs".to_string(), |s| format!("/jobs/{}", super::widgets::path_segment(&s.job_id))))
            hidden[sweep.is_none()] aria-live="polite" {
            span.pulse aria-hidden="true" {}
            span #sweep-indicator-text {
                @if let Some(s) = sweep {
                    "Inventory sweep " (s.status.as_str()) ": " (s.done) " of " (s.total)
                } @else {
                    "Inventory sweep running"
                }
            }
        }
    }
}

fn shell(title: &str, nav: Nav, viewer: Option<&Viewer>, sweep: Option<&RunningSweep>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · qrie" }
                link rel="stylesheet" href=(super::assets::CSS_PATH);
                script src=(super::assets::JS_PATH) defer {}
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    a.brand href="/" { "qrie" }
                    nav aria-label="Main" {
                        ul {
                            @for (section, href, label) in SECTIONS {
                                li {
                                    @if section == nav {
                                        a href=(href) aria-current="page" { (label) }
                                    } @else {
                                        a href=(href) { (label) }
                                    }
                                }
                            }
                        }
                    }
                    @if let Some(v) = viewer {
                        (indicator(sweep))
                        div.who {
                            span.role { "Signed in as " (v.who.role.as_str()) }
                            form method="post" action="/logout" {
                                input type="hidden" name="csrf" value=(v.csrf);
                                button.link type="submit" { "Log out" }
                            }
                        }
                    }
                }
                main #main tabindex="-1" { (body) }
                footer.bottom {
                    p { "qrie · " a href="/docs" { "documentation" } " · " a href="/api/openapi.json" { "API" } }
                }
            }
        }
    }
}
