//! The UI in a real browser: headless Chromium driven over WebDriver
//! (chromedriver) against the server on a loopback port, over a temporary
//! SQLite store with a small simulated estate.
//!
//! Needs Debian's `chromium` and `chromium-driver` (scripts/test installs
//! them). Without them this test fails, saying so: it is not skipped.

mod common;

use common::*;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use std::net::TcpListener as StdListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

/// chromedriver on a free loopback port, stopped when dropped.
struct Driver {
    child: Child,
    port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn start_driver() -> Driver {
    for path in [CHROMEDRIVER, CHROMIUM] {
        assert!(
            Path::new(path).exists(),
            "{path} is missing: the browser tests need Debian's chromium and chromium-driver; \
             run scripts/test (it installs them), or apt-get install -y chromium chromium-driver"
        );
    }
    let port = free_port();
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting chromedriver");
    let driver = Driver { child, port };
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "chromedriver did not listen on port {port}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    driver
}

async fn browser(driver: &Driver, profile: &Path) -> Client {
    let args = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1280,900",
    ];
    let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    all.push(format!("--user-data-dir={}", profile.display()));
    let caps = json!({"goog:chromeOptions": {"binary": CHROMIUM, "args": all}});
    let serde_json::Value::Object(caps) = caps else { unreachable!() };
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .expect("a WebDriver session in headless Chromium")
}

async fn text_of(c: &Client, css: &str) -> String {
    c.find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("no {css}: {e}")).text().await.unwrap()
}

/// Waits for a click's navigation to reach a page whose path starts with `path`.
async fn wait_path(c: &Client, path: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let url = c.current_url().await.unwrap();
        if url.path().starts_with(path) {
            return;
        }
        if Instant::now() > deadline {
            let main = c.find(Locator::Css("body")).await.unwrap().text().await.unwrap_or_default();
            panic!("expected {path}, still at {url}:\n{main}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// With `QRIE_UI_SCREENSHOTS=DIR`, keeps a PNG of the page (to look at the UI).
async fn keep_screenshot(c: &Client, name: &str) {
    if let Some(dir) = std::env::var_os("QRIE_UI_SCREENSHOTS") {
        let png = c.screenshot().await.unwrap();
        std::fs::write(Path::new(&dir).join(format!("{name}.png")), png).unwrap();
    }
}

async fn wait_for_path_exact(c: &Client, path: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while c.current_url().await.unwrap().path() != path {
        assert!(Instant::now() < deadline, "never reached {path}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Reloads `url` until its main content contains `want` (background jobs).
async fn wait_for_text(c: &Client, url: &str, want: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        c.goto(url).await.unwrap();
        let main = text_of(c, "main").await;
        if main.contains(want) {
            return main;
        }
        assert!(Instant::now() < deadline, "{url} never showed {want:?}; it shows:\n{main}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ui_in_headless_chromium() {
    let driver = start_driver().await;
    let w = world().await;
    let (evil, _) = plant_markup(&w.state).await;
    // A launched policy to launch again from the pages.
    let (top, findings_before) = busiest_policy(&w.state).await;
    w.state.engine.delete_policy(&top).await.unwrap();

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(qrie_server::serve(listener, w.state.clone(), async {
        let _ = stopped.await;
    }));

    let profile = tempfile::tempdir().unwrap();
    let c = browser(&driver, profile.path()).await;
    run(&c, &base, &w, &evil, &top, findings_before).await;
    let _ = c.close().await;
    let _ = stop.send(());
    let _ = server.await;
}

async fn run(c: &Client, base: &str, w: &World, evil: &qrie_model::Resource, top: &str, findings_before: u64) {
    // Logged out: the login page, then back to the page asked for.
    c.goto(&format!("{base}/findings")).await.unwrap();
    assert!(c.current_url().await.unwrap().path().starts_with("/login"));
    c.find(Locator::Css("#token")).await.unwrap().send_keys(&w.admin).await.unwrap();
    c.find(Locator::Css("form button[type=submit]")).await.unwrap().click().await.unwrap();
    wait_path(c, "/findings").await;

    // Every page, through the navigation.
    for (link, heading) in [
        ("Dashboard", "Dashboard"),
        ("Findings", "Findings"),
        ("Inventory", "Inventory"),
        ("Policies", "Policies"),
        ("Accounts", "Accounts"),
        ("Jobs", "Jobs"),
        ("Docs", "Documentation"),
    ] {
        c.find(Locator::Css("nav[aria-label=Main]"))
            .await
            .unwrap()
            .find(Locator::LinkText(link))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        assert_eq!(text_of(c, "main h1").await, heading, "the {link} page");
        keep_screenshot(c, link).await;
    }
    c.find(Locator::LinkText("Getting started")).await.unwrap().click().await.unwrap();
    wait_for_path_exact(c, "/docs/onboarding").await;
    assert!(text_of(c, "main").await.contains("How to tell it finished"));
    c.goto(base).await.unwrap();
    assert!(c.find_all(Locator::Css("main svg.chart")).await.unwrap().len() >= 4, "the dashboard's charts");

    // Filter findings by account with the form.
    let account = w.state.engine.list_accounts(false).await.unwrap()[0].account.account_id.clone();
    c.goto(&format!("{base}/findings")).await.unwrap();
    c.find(Locator::Css("#f-account")).await.unwrap().select_by_value(&account).await.unwrap();
    c.find(Locator::Css("form.filters button[type=submit]")).await.unwrap().click().await.unwrap();
    wait_path(c, "/findings").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let url = c.current_url().await.unwrap();
    assert!(url.query().unwrap_or_default().contains(&format!("account={account}")), "{url}");
    let rows = c.find_all(Locator::Css("main tbody tr")).await.unwrap();
    assert!(!rows.is_empty());
    for r in rows {
        assert!(r.text().await.unwrap().contains(&account), "a row of another account");
    }

    // Launch a policy from its form: the browser lands on the launch's job.
    c.goto(&format!("{base}/policies/{top}/launch")).await.unwrap();
    assert!(text_of(c, "main").await.contains("A launch scans everything in scope"));
    c.find(Locator::Css("#f-remediation")).await.unwrap().send_keys("Ask the platform team first.").await.unwrap();
    c.find(Locator::Css("main form button[type=submit]")).await.unwrap().click().await.unwrap();
    wait_path(c, "/jobs/").await;
    let job_url = c.current_url().await.unwrap().to_string();
    assert!(job_url.contains("/jobs/"), "{job_url}");
    wait_for_text(c, &job_url, "succeeded").await;
    let findings_url = format!("{base}/findings?policy={top}&limit=1000");
    c.goto(&findings_url).await.unwrap();
    let rows = c.find_all(Locator::Css("main tbody tr a[href^='/findings/detail']")).await.unwrap();
    assert_eq!(rows.len() as u64, findings_before, "the launch opened the policy's findings");

    // Suspend it through its confirmation; its findings resolve.
    c.goto(&format!("{base}/policies/{top}")).await.unwrap();
    c.find(Locator::LinkText("Suspend")).await.unwrap().click().await.unwrap();
    wait_path(c, &format!("/policies/{top}/suspend")).await;
    let warning = text_of(c, "main .warning").await;
    assert!(warning.contains(&format!("resolves its {findings_before} active findings now")), "{warning}");
    c.find(Locator::Css("main form button.danger")).await.unwrap().click().await.unwrap();
    wait_for_path_exact(c, &format!("/policies/{top}")).await;
    assert!(text_of(c, "main").await.contains("suspended"));
    c.goto(&findings_url).await.unwrap();
    assert!(text_of(c, "main tbody").await.contains("Nothing to show."));
    c.goto(&format!("{findings_url}&state=resolved")).await.unwrap();
    assert!(text_of(c, "main tbody").await.contains("POLICY_SUSPENDED"));

    // Markup in a name and a tag is text, and nothing ran.
    let resource_url = format!(
        "{base}/inventory/resource?arn={}",
        serde_urlencoded::to_string([("a", &evil.arn)]).unwrap()[2..].to_owned()
    );
    for url in [resource_url.clone(), format!("{base}/inventory?search=evil-bucket")] {
        c.goto(&url).await.unwrap();
        let ran = c.execute("return typeof window.__qrie_xss", vec![]).await.unwrap();
        assert_eq!(ran, json!("undefined"), "{url}: the planted script ran");
        assert!(c.get_alert_text().await.is_err(), "{url}: an alert is open");
        assert_eq!(c.find_all(Locator::Css("main img")).await.unwrap().len(), 0, "{url}: an <img> was injected");
    }
    c.goto(&resource_url).await.unwrap();
    assert_eq!(text_of(c, "main h1").await, EVIL_NAME, "the name is shown as text");
    assert!(text_of(c, "main").await.contains(EVIL_TAG), "the tag is shown as text");

    triage(c, base, w, top).await;

    // Log out: pages need a login again.
    c.find(Locator::Css("form[action='/logout'] button")).await.unwrap().click().await.unwrap();
    wait_path(c, "/login").await;
    c.goto(&format!("{base}/accounts")).await.unwrap();
    assert!(c.current_url().await.unwrap().path().starts_with("/login"));
}

/// The policies with active findings other than `except`, busiest first.
async fn policies_with_findings(w: &World, except: &str) -> Vec<(String, u64)> {
    let filter = qrie_store::FindingFilter { state: Some(qrie_model::FindingState::Active), ..Default::default() };
    let mut rows = w.state.engine.store.count_findings(&filter, Some(qrie_store::FindingGroup::Policy)).await.unwrap();
    rows.retain(|(p, _)| p != except);
    rows.sort_by_key(|r| std::cmp::Reverse(r.1));
    rows
}

async fn submit(c: &Client, css: &str) {
    c.find(Locator::Css(css)).await.unwrap().click().await.unwrap();
}

/// Submits a form whose answer redirects back to the page it is on: the
/// path alone cannot tell the new page from the old, so this waits until the
/// old document is gone (its root element stale) and the path is `path`.
async fn submit_and_reload(c: &Client, css: &str, path: &str) {
    let old = c.find(Locator::Css("html")).await.unwrap();
    submit(c, css).await;
    let deadline = Instant::now() + Duration::from_secs(15);
    while old.text().await.is_ok() {
        assert!(Instant::now() < deadline, "the page never reloaded after submitting {css}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    wait_for_path_exact(c, path).await;
}

async fn fill(c: &Client, css: &str, text: &str) {
    let field = c.find(Locator::Css(css)).await.unwrap();
    field.clear().await.unwrap();
    field.send_keys(text).await.unwrap();
}

/// Suppress one finding from its page and a filtered list in bulk, each with
/// its preview; the suppressions page; disable; pause and resume a policy.
async fn triage(c: &Client, base: &str, w: &World, except: &str) {
    let store = &*w.state.engine.store;
    let policies = policies_with_findings(w, except).await;
    assert!(policies.len() >= 2, "two policies with findings: {policies:?}");
    let (one_policy, bulk) = (&policies[0].0, &policies[1]);
    let filter = qrie_store::FindingFilter {
        state: Some(qrie_model::FindingState::Active),
        policy: Some(one_policy.clone()),
        ..Default::default()
    };
    let page = qrie_store::PageRequest::first(1);
    let one = store.list_findings(&filter, qrie_store::FindingSort::Key, &page).await.unwrap().items.remove(0);

    // From the finding's page: the form for that finding, its preview shown.
    c.goto(&format!(
        "{base}/findings/detail?{}",
        serde_urlencoded::to_string([("arn", &one.arn), ("policy", &one.policy)]).unwrap()
    ))
    .await
    .unwrap();
    c.find(Locator::LinkText("Suppress…")).await.unwrap().click().await.unwrap();
    wait_path(c, "/suppressions/new").await;
    assert!(text_of(c, "main .preview-total").await.starts_with("1 active finding"), "{}", text_of(c, "main").await);
    // The reason is required: the browser does not send the form without it.
    fill(c, "#f-owner", "secops").await;
    submit(c, "main form button[value=save]").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(c.current_url().await.unwrap().path(), "/suppressions/new", "saved without a reason");
    assert!(w.state.engine.suppression_rules().await.unwrap().is_empty());
    fill(c, "#f-reason", "Behind the VPN; accepted by the CISO").await;
    submit(c, "main form button[value=save]").await;
    wait_path(c, "/suppressions/sup-").await;
    let rule_page = text_of(c, "main").await;
    assert!(rule_page.contains("Behind the VPN; accepted by the CISO") && rule_page.contains("secops"), "{rule_page}");
    let listed = format!("{base}/findings?policy={one_policy}&limit=1000");
    c.goto(&listed).await.unwrap();
    assert!(!text_of(c, "main tbody").await.contains(&one.arn), "a suppressed finding is hidden by default");
    c.goto(&format!("{listed}&suppressed=yes")).await.unwrap();
    let shown = text_of(c, "main tbody").await;
    assert!(shown.contains(&one.arn) && shown.contains("suppressed"), "{shown}");

    // In bulk, from a filtered list: preview first, then save with an expiry.
    let bulk_url = format!("{base}/findings?policy={}&limit=1000", bulk.0);
    c.goto(&bulk_url).await.unwrap();
    c.find(Locator::LinkText("Suppress these…")).await.unwrap().click().await.unwrap();
    wait_path(c, "/suppressions/new").await;
    assert_eq!(
        c.find(Locator::Css("#f-policies")).await.unwrap().prop("value").await.unwrap().as_deref(),
        Some(bulk.0.as_str())
    );
    fill(c, "#f-reason", "Legacy estate, decommission planned").await;
    fill(c, "#f-owner", "platform").await;
    fill(c, "#f-expires", "10d").await;
    submit_and_reload(c, "main form button[value=preview]", "/suppressions/new").await;
    let total = text_of(c, "main .preview-total").await;
    assert!(total.starts_with(&format!("{} active finding", bulk.1)), "{total}");
    assert_eq!(w.state.engine.suppression_rules().await.unwrap().len(), 1, "a preview saves nothing");
    submit(c, "main form button[value=save]").await;
    wait_path(c, "/suppressions/sup-").await;
    let bulk_rule = c.current_url().await.unwrap().path().to_string();
    c.goto(&bulk_url).await.unwrap();
    assert!(text_of(c, "main tbody").await.contains("Nothing to show."));

    // The suppressions page: the ten-day rule is expiring, the other active.
    c.goto(&format!("{base}/suppressions")).await.unwrap();
    assert!(text_of(c, "section[aria-labelledby=h-expiring]").await.contains("Legacy estate"));
    assert!(text_of(c, "section[aria-labelledby=h-active]").await.contains("Behind the VPN"));
    keep_screenshot(c, "suppressions").await;

    // Disable: the findings come back at once.
    c.goto(&format!("{base}{bulk_rule}")).await.unwrap();
    submit_and_reload(c, "form[action$='/disable'] button", &bulk_rule).await;
    c.goto(&bulk_url).await.unwrap();
    let rows = c.find_all(Locator::Css("main tbody tr a[href^='/findings/detail']")).await.unwrap();
    assert_eq!(rows.len() as u64, bulk.1, "disabling unsuppressed them");
    c.goto(&format!("{base}/audit")).await.unwrap();
    let audit = text_of(c, "main tbody").await;
    assert!(audit.contains("suppression.disable") && audit.contains("suppression.create"), "{audit}");

    // Pause and resume the bulk policy from its page.
    c.goto(&format!("{base}/policies/{}", bulk.0)).await.unwrap();
    submit_and_reload(c, "form[action$='/pause'] button", &format!("/policies/{}", bulk.0)).await;
    assert!(text_of(c, "main").await.contains("paused (not evaluated; findings kept)"));
    c.goto(&bulk_url).await.unwrap();
    assert!(text_of(c, "main tbody").await.contains("paused"));
    c.goto(&format!("{base}/policies/{}", bulk.0)).await.unwrap();
    submit(c, "form[action$='/resume'] button").await;
    wait_path(c, "/jobs/").await;
    let job_url = c.current_url().await.unwrap().to_string();
    wait_for_text(c, &job_url, "succeeded").await;
    let status = w.state.engine.store.get_policy(&bulk.0).await.unwrap().unwrap().status;
    assert_eq!(status, qrie_model::PolicyStatus::Active);
}
