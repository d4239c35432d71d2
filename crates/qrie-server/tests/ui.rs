//! The web pages through the router, without a network: status, key
//! content, escaping, login and logout, CSRF on forms, roles.

mod common;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use common::*;
use qrie_server::auth;

/// A browser's view of the app: a session cookie once logged in.
struct Browser<'a> {
    w: &'a World,
    cookie: Option<String>,
}

impl<'a> Browser<'a> {
    fn new(w: &'a World) -> Self {
        Browser { w, cookie: None }
    }

    async fn login(w: &'a World, token: &str) -> Browser<'a> {
        let mut b = Browser::new(w);
        let r = b.post("/login", &[("token", token), ("next", "/findings")]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
        assert_eq!(r.headers[header::LOCATION], "/findings");
        let set = r.headers[header::SET_COOKIE].to_str().unwrap().to_string();
        assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict"), "{set}");
        b.cookie = Some(set.split(';').next().unwrap().to_string());
        b
    }

    fn request(&self, method: Method, uri: &str, body: Option<String>) -> Request<Body> {
        let mut r = Request::builder().method(method).uri(uri);
        if let Some(c) = &self.cookie {
            r = r.header(header::COOKIE, c);
        }
        match body {
            Some(b) => r.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded").body(Body::from(b)).unwrap(),
            None => r.body(Body::empty()).unwrap(),
        }
    }

    async fn get(&self, uri: &str) -> Reply {
        call(&self.w.app, self.request(Method::GET, uri, None)).await
    }

    /// A page that must render: 200, HTML, the shell around it.
    async fn page(&self, uri: &str) -> String {
        let r = self.get(uri).await;
        assert_eq!(r.status, StatusCode::OK, "{uri}: {}", r.text);
        assert!(r.headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/html"), "{uri}");
        assert!(r.text.contains("<nav aria-label=\"Main\">"), "{uri}: no navigation");
        assert!(r.text.contains("<main id=\"main\""), "{uri}: no main landmark");
        assert_eq!(r.headers[header::CACHE_CONTROL], "no-store", "{uri}");
        // Script only from files: every <script has a src.
        for (i, _) in r.text.match_indices("<script") {
            assert!(r.text[i..].starts_with("<script src=\"/assets/"), "{uri}: inline script at {i}");
        }
        r.text
    }

    async fn post(&self, uri: &str, fields: &[(&str, &str)]) -> Reply {
        let body = serde_urlencoded::to_string(fields).unwrap();
        call(&self.w.app, self.request(Method::POST, uri, Some(body))).await
    }

    /// Posts a form with the CSRF token the page at `from` carries.
    async fn submit(&self, from: &str, uri: &str, fields: &[(&str, &str)]) -> Reply {
        let page = self.page(from).await;
        let csrf = csrf_of(&page);
        let mut all = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        self.post(uri, &all).await
    }
}

fn csrf_of(page: &str) -> String {
    let at = page.find("name=\"csrf\" value=\"").expect("a form with a CSRF field") + 19;
    page[at..at + page[at..].find('"').unwrap()].to_string()
}

fn enc(s: &str) -> String {
    serde_urlencoded::to_string([("v", s)]).unwrap()[2..].to_string()
}

async fn wait_job(w: &World, id: &str) {
    for _ in 0..600 {
        let j = w.state.engine.store.get_job(id).await.unwrap().unwrap();
        if j.status.is_finished() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("job {id} did not finish");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logged_out_pages_redirect_to_login() {
    let w = world().await;
    let b = Browser::new(&w);
    for uri in ["/", "/findings?state=all", "/inventory", "/policies", "/accounts", "/jobs", "/docs"] {
        let r = b.get(uri).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{uri}");
        assert_eq!(r.headers[header::LOCATION].to_str().unwrap(), format!("/login?next={}", enc(uri)));
    }
    let login = b.get("/login").await;
    assert_eq!(login.status, StatusCode::OK);
    assert!(login.text.contains("<label for=\"token\">"));
    // An invalid token is refused with the form again; an open redirect is not followed.
    let r = b.post("/login", &[("token", "qrie_00_nope")]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.text.contains("not valid"));
    let r = b.post("/login", &[("token", &w.viewer), ("next", "//evil.example/")]).await;
    assert_eq!(r.headers[header::LOCATION], "/");
    // A form posted from another site is refused.
    let req = Request::builder()
        .method(Method::POST)
        .uri("/login")
        .header(header::HOST, "127.0.0.1:8080")
        .header(header::ORIGIN, "https://evil.example")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!("token={}", w.admin)))
        .unwrap();
    assert_eq!(call(&w.app, req).await.status, StatusCode::FORBIDDEN);
    let req = Request::builder()
        .method(Method::POST)
        .uri("/login")
        .header("sec-fetch-site", "cross-site")
        .header(header::ORIGIN, "null")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!("token={}", w.admin)))
        .unwrap();
    assert_eq!(call(&w.app, req).await.status, StatusCode::FORBIDDEN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_renders_its_content() {
    let w = world().await;
    let b = Browser::login(&w, &w.admin).await;
    let dash = b.page("/").await;
    for text in ["Active findings by severity", "Findings by state", "Top failing policies", "Drift", "<svg"] {
        assert!(dash.contains(text), "dashboard lacks {text}");
    }
    let (top, _) = busiest_policy(&w.state).await;
    assert!(dash.contains(&format!("href=\"/findings?policy={}\"", enc(&top))), "top policy links to its findings");

    let findings = b.page(&format!("/findings?policy={}", enc(&top))).await;
    assert!(findings.contains("Export CSV") && findings.contains("<label for=\"f-account\">"));
    let detail_href = findings.split("href=\"/findings/detail?").nth(1).unwrap().split('"').next().unwrap();
    let detail = b.page(&format!("/findings/detail?{}", detail_href.replace("&amp;", "&"))).await;
    for text in ["Evidence", "Remediation", "History", "/inventory/resource?arn="] {
        assert!(detail.contains(text), "finding detail lacks {text}");
    }
    let inventory = b.page("/inventory").await;
    assert!(inventory.contains("By account") && inventory.contains("By type"));
    let res_href = inventory.split("href=\"/inventory/resource?").nth(1).unwrap().split('"').next().unwrap();
    let resource = b.page(&format!("/inventory/resource?{}", res_href.replace("&amp;", "&"))).await;
    assert!(resource.contains("Configuration") && resource.contains("class=\"json\""));
    let policies = b.page("/policies").await;
    assert!(policies.contains(&top) && policies.contains("Suspend"));
    let policy = b.page(&format!("/policies/{top}")).await;
    assert!(policy.contains("Edit scope and overrides") && policy.contains("name=\"include_accounts\""));
    let accounts = b.page("/accounts").await;
    assert!(accounts.contains("Add an account") && accounts.contains("Scan now") && accounts.contains("Baselined"));
    assert!(accounts.contains("Discover accounts from AWS Organizations"), "an admin may discover");
    let jobs = b.page("/jobs").await;
    let job_href = jobs.split("href=\"/jobs/").nth(1).unwrap().split('"').next().unwrap();
    let job = b.page(&format!("/jobs/{job_href}")).await;
    assert!(job.contains("<progress") && job.contains("Counts"));
    let docs = b.page("/docs").await;
    for slug in ["onboarding", "policies", "accounts", "roadmap"] {
        assert!(docs.contains(&format!("/docs/{slug}")));
        b.page(&format!("/docs/{slug}")).await;
    }
    assert!(b.page("/docs/onboarding").await.contains("How to tell it finished"));
    // Errors are pages too.
    let r = b.get("/findings/detail?arn=nope&policy=nope").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.text.contains("No finding for resource"));
    let r = b.get("/no/such/page").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.text.contains("There is no page here"));
    let r = b.get("/findings?severity_min=500").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.text.starts_with("<!DOCTYPE html>"));
    // The assets.
    let css = b.get("/assets/qrie.css").await;
    assert!(css.headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/css"));
    let js = b.get("/assets/qrie.js").await;
    assert!(js.text.contains("textContent") && !js.text.contains("innerHTML"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn markup_in_names_and_tags_is_shown_as_text() {
    let w = world().await;
    let (r, policy) = plant_markup(&w.state).await;
    let b = Browser::login(&w, &w.viewer).await;
    let pages = [
        format!("/inventory/resource?arn={}", enc(&r.arn)),
        format!("/inventory?search={}", enc("evil-bucket")),
        format!("/findings/detail?arn={}&policy={}", enc(&r.arn), enc(&policy)),
    ];
    for uri in &pages {
        let page = b.page(uri).await;
        assert!(!page.contains("<script>window"), "{uri}: script tag in the markup");
        assert!(!page.contains("<img src=x"), "{uri}: img tag in the markup");
        assert!(page.contains("&lt;script&gt;window.__qrie_xss=1&lt;/script&gt;evil-bucket"), "{uri}: name not shown");
    }
    let detail = b.page(&pages[0]).await;
    assert!(detail.contains("&quot;&gt;&lt;img src=x onerror=&quot;window.__qrie_xss=2&quot;&gt;"), "tag not shown");
    let csp = b.get("/").await.headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap().to_string();
    assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"), "{csp}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forms_need_the_session_csrf_token() {
    let w = world().await;
    let b = Browser::login(&w, &w.admin).await;
    let add = [("account_id", "999988887777"), ("name", "new one")];
    let r = b.post("/accounts", &add).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "no token");
    assert!(r.text.contains("security token"));
    let mut wrong = vec![("csrf", "x".repeat(43))];
    wrong.extend(add.iter().map(|(k, v)| (*k, v.to_string())));
    let wrong: Vec<(&str, &str)> = wrong.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(b.post("/accounts", &wrong).await.status, StatusCode::FORBIDDEN, "wrong token");
    assert!(w.state.engine.store.get_account("999988887777").await.unwrap().is_none());
    let r = b.submit("/accounts", "/accounts", &add).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let page = b.page("/accounts").await;
    assert!(page.contains("999988887777") && page.contains("Not baselined"));
    // Bad input is a page with the engine's message.
    let r = b.submit("/accounts", "/accounts", &[("account_id", "12")]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.text.contains("12"));
    // Logout also needs it, then the session is over.
    assert_eq!(b.post("/logout", &[]).await.status, StatusCode::FORBIDDEN);
    let r = b.submit("/", "/logout", &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(b.get("/").await.status, StatusCode::SEE_OTHER, "the old cookie no longer works");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewers_get_403_on_admin_forms() {
    let w = world().await;
    let (top, _) = busiest_policy(&w.state).await;
    let v = Browser::login(&w, &w.viewer).await;
    let policies = v.page("/policies").await;
    assert!(!policies.contains("/suspend\""), "a viewer sees no suspend action");
    for uri in
        [format!("/policies/{top}/suspend"), format!("/policies/{top}/delete"), format!("/policies/{top}/launch")]
    {
        let r = v.get(&uri).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{uri}");
        assert!(r.text.contains("needs the admin role"), "{uri}: {}", r.text);
    }
    let r = v.submit("/policies", &format!("/policies/{top}/suspend"), &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(w.state.engine.store.get_policy(&top).await.unwrap().unwrap().is_active(), "nothing was suspended");
    let account = w.state.engine.list_accounts(false).await.unwrap()[0].account.account_id.clone();
    let r = v.submit("/accounts", &format!("/accounts/{account}/scan"), &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "scanning needs the operator role");
    let op = Browser::login(&w, &w.operator).await;
    let r = op.submit("/accounts", &format!("/accounts/{account}/scan"), &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let job = r.headers[header::LOCATION].to_str().unwrap().trim_start_matches("/jobs/").to_string();
    wait_job(&w, &job).await;
    assert!(op.page(&format!("/jobs/{job}")).await.contains("succeeded"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn launch_and_suspend_through_the_pages() {
    let w = world().await;
    let (top, before) = busiest_policy(&w.state).await;
    w.state.engine.delete_policy(&top).await.unwrap();
    let b = Browser::login(&w, &w.admin).await;
    let form = b.page(&format!("/policies/{top}/launch")).await;
    assert!(form.contains("A launch scans everything in scope"));
    let r = b.submit(&format!("/policies/{top}/launch"), &format!("/policies/{top}/launch"), &[("severity", "")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let to = r.headers[header::LOCATION].to_str().unwrap().to_string();
    assert!(to.starts_with("/jobs/"), "{to}");
    wait_job(&w, to.trim_start_matches("/jobs/")).await;
    let active = w.state.engine.active_findings_of(&top).await.unwrap().len() as u64;
    assert_eq!(active, before, "the launch found the same findings again");

    let confirm = b.page(&format!("/policies/{top}/suspend")).await;
    assert!(confirm.contains(&format!("resolves its {active} active findings now")), "the cost is stated");
    let r = b.submit(&format!("/policies/{top}/suspend"), &format!("/policies/{top}/suspend"), &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    assert!(w.state.engine.active_findings_of(&top).await.unwrap().is_empty());
    let resolved = b.page(&format!("/findings?policy={top}&state=resolved")).await;
    assert!(resolved.contains("POLICY_SUSPENDED"));
    let still = b.page(&format!("/findings?policy={top}")).await;
    assert!(still.contains("Nothing to show."));
    // Re-activating takes the browser to its sweep.
    let r = b.submit(&format!("/policies/{top}"), &format!("/policies/{top}/reactivate"), &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn findings_filter_and_csv_export() {
    let w = world().await;
    let (top, n) = busiest_policy(&w.state).await;
    let b = Browser::login(&w, &w.viewer).await;
    let page = b.page(&format!("/findings?policy={top}&limit=1000&account=&service=")).await;
    assert_eq!(page.matches("href=\"/findings/detail?").count() as u64, n, "only that policy's findings");
    let csv = b.get(&format!("/findings.csv?policy={top}")).await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/csv"));
    let lines: Vec<&str> = csv.text.lines().collect();
    assert!(lines[0].starts_with("ARN,Policy,Severity"));
    assert_eq!(lines.len() as u64, n + 1);
    assert!(lines[1..].iter().all(|l| l.contains(&top)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_time_login_link_works_once() {
    let w = world().await;
    let admin = auth::live_admin(&*w.state.engine.store).await.unwrap().unwrap();
    let secret = auth::create_login_link(&*w.state.engine.store, &admin.id).await.unwrap();
    let b = Browser::new(&w);
    let r = b.get(&format!("/login?link={secret}")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.headers[header::LOCATION], "/");
    let cookie = r.headers[header::SET_COOKIE].to_str().unwrap().split(';').next().unwrap().to_string();
    let logged = Browser { w: &w, cookie: Some(cookie) };
    assert!(logged.page("/").await.contains("Signed in as admin"));
    let again = b.get(&format!("/login?link={secret}")).await;
    assert_eq!(again.status, StatusCode::UNAUTHORIZED);
    assert!(again.text.contains("already used or has expired"));
    assert_eq!(b.get("/login?link=made-up").await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discover_accounts_through_the_page() {
    let w = world().await;
    let v = Browser::login(&w, &w.viewer).await;
    assert!(!v.page("/accounts").await.contains("Discover accounts"), "a viewer is not offered discovery");
    let r = v.submit("/accounts", "/accounts/discover", &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let b = Browser::login(&w, &w.admin).await;
    let r = b.post("/accounts/discover", &[("csrf", "forged")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "a form without its CSRF token is refused");
    // The simulated estate is in no organization: said so, nothing changed.
    let before = w.state.engine.store.list_accounts().await.unwrap();
    let r = b.submit("/accounts", "/accounts/discover", &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.text.contains("No AWS organization") && r.text.contains("Nothing was changed"), "{}", r.text);
    assert_eq!(w.state.engine.store.list_accounts().await.unwrap(), before);

    let sim = before[0].account_id.clone();
    w.state.engine.remove_account(&before[1].account_id).await.unwrap();
    let removed = before[1].account_id.clone();
    let w = in_organization(
        w,
        vec![
            member("444444444444", "<b>payments</b>", "ACTIVE", "ou-ab12-prod0001"),
            member(&removed, "gone", "ACTIVE", "ou-ab12-prod0001"),
            member(&sim, "kept", "ACTIVE", "ou-ab12-moved001"),
        ],
    );
    let b = Browser::login(&w, &w.admin).await;
    let r = b.submit("/accounts", "/accounts/discover", &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let section = |title: &str| {
        r.text.split(&format!("<h2>{title}</h2>")).nth(1).map(|s| s.split("<h2>").next().unwrap().to_string())
    };
    assert!(r.text.contains("<strong>1 added</strong>, 1 updated, 0 unchanged, 1 skipped."), "{}", r.text);
    let added = section("Added").expect("an Added section");
    assert!(
        added.contains("444444444444")
            && added.contains("&lt;b&gt;payments&lt;/b&gt;")
            && added.contains("Root/Workloads")
    );
    assert!(section("Updated").expect("an Updated section").contains(&sim));
    assert!(section("Skipped: removed").expect("a removed section").contains(&removed));
    assert!(b.page("/accounts").await.contains("444444444444"), "the new account is listed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policy_parameters_are_set_on_launch_and_edited_back_to_the_default() {
    let w = world().await;
    let id = "iam-user-credentials-unused";
    let (launch, show) = (format!("/policies/{id}/launch"), format!("/policies/{id}"));
    w.state.engine.delete_policy(id).await.unwrap();
    let b = Browser::login(&w, &w.admin).await;
    let form = b.page(&launch).await;
    assert!(form.contains("name=\"param.max_unused_days\""), "the launch form offers the parameter");
    assert!(form.contains("Empty keeps the default, 45."), "with its default");

    // A value of the wrong type is refused, naming the parameter; nothing is launched.
    let r = b.submit(&launch, &launch, &[("param.max_unused_days", "soon")]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.text.contains("max_unused_days") && r.text.contains("an integer"), "{}", r.text);
    assert!(w.state.engine.store.get_policy(id).await.unwrap().is_none());

    let r = b.submit(&launch, &launch, &[("param.max_unused_days", "30")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    wait_job(&w, r.headers[header::LOCATION].to_str().unwrap().trim_start_matches("/jobs/")).await;
    let stored = w.state.engine.store.get_policy(id).await.unwrap().expect("launched");
    assert_eq!(stored.params.get("max_unused_days"), Some(&serde_json::json!(30)));

    // The edit form shows the override; emptying the field returns to the default.
    let page = b.page(&show).await;
    assert!(page.contains("name=\"param.max_unused_days\" value=\"30\""), "the edit form shows 30");
    assert!(page.contains("Parameter overrides"), "the policy page lists the override");
    let r = b.submit(&show, &format!("/policies/{id}/edit"), &[("param.max_unused_days", "")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let stored = w.state.engine.store.get_policy(id).await.unwrap().expect("launched");
    assert!(stored.params.is_empty(), "{:?}", stored.params);
}

/// A sweep whose runner died (kill -9: its lease ran out) is shown as
/// interrupted — in the header of every page, on its job page with how to
/// resume it, and in /metrics — never as running.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sweep_whose_runner_died_is_shown_interrupted() {
    use qrie_model::{Job, JobKind, JobStatus, Lease, ScanType};
    let w = world().await;
    let at = chrono::Utc::now() - chrono::TimeDelta::minutes(3);
    let job = Job {
        id: "inv-20261203T100000Z-dead01".into(),
        kind: JobKind::Inventory,
        scan_type: ScanType::AntiEntropy,
        target: serde_json::Value::Null,
        status: JobStatus::Running,
        progress_done: 5,
        progress_total: 44,
        counts: Default::default(),
        errors: Vec::new(),
        created_at: at,
        started_at: Some(at),
        finished_at: None,
        deadline: None,
        version: 3,
        lease: Some(Lease { owner: "pid77-killed".into(), until: at + chrono::TimeDelta::seconds(45) }),
    };
    w.state.engine.store.put_job(job.clone()).await.unwrap();
    let b = Browser::login(&w, &w.admin).await;
    let dash = b.page("/").await;
    assert!(dash.contains("Inventory sweep interrupted: 5 of 44"), "header: {dash}");
    assert!(!dash.contains("Inventory sweep running: 5"), "{dash}");
    let page = b.page(&format!("/jobs/{}", job.id)).await;
    assert!(page.contains("5 of 44 · interrupted"), "{page}");
    assert!(page.contains(&format!("qrie jobs resume {}", job.id)), "{page}");
    assert!(page.contains("data-running=\"false\""), "the page does not poll (nor reload) forever");
    let m = call(&w.app, req(Method::GET, "/metrics", Some(&w.operator), None)).await;
    assert!(m.text.contains("qrie_jobs{status=\"interrupted\"} 1"), "{}", m.text);
    assert!(m.text.contains("qrie_jobs{status=\"running\"} 0"), "{}", m.text);
    let api = call(&w.app, req(Method::GET, &format!("/api/jobs/{}", job.id), Some(&w.viewer), None)).await;
    assert_eq!(api.json["Status"], "interrupted", "{}", api.text);
}

/// Suppression forms and policy pause: the CSRF token is required, viewers
/// read but cannot suppress or pause, operators can but cannot delete a
/// rule, admins can; the audit page names who did what.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suppressions_and_pause_enforce_csrf_and_roles() {
    let w = world().await;
    let (top, n) = busiest_policy(&w.state).await;
    let rule = [
        ("policies", top.as_str()),
        ("reason", "accepted for the test"),
        ("category", "accepted-risk"),
        ("owner", "secops"),
        ("intent", "save"),
    ];
    let op = Browser::login(&w, &w.operator).await;
    assert_eq!(op.post("/suppressions/new", &rule).await.status, StatusCode::FORBIDDEN, "no CSRF token");
    assert!(w.state.engine.suppression_rules().await.unwrap().is_empty());
    let viewer = Browser::login(&w, &w.viewer).await;
    assert!(viewer.page("/suppressions").await.contains("Suppressions"));
    assert!(!viewer.page("/suppressions").await.contains("New rule"), "a viewer gets no New rule button");
    let r = viewer.submit("/suppressions", "/suppressions/new", &rule).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    // A preview saves nothing and says what would be suppressed.
    let preview = [("policies", top.as_str()), ("intent", "preview")];
    let r = op.submit("/suppressions", "/suppressions/new", &preview).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text.contains(&format!("<strong>{n}</strong> active finding(s)")), "{}", r.text);
    assert!(w.state.engine.suppression_rules().await.unwrap().is_empty());
    // Without a reason the form comes back with the reason to give one.
    let no_reason: Vec<(&str, &str)> = rule.iter().copied().filter(|(k, _)| *k != "reason").collect();
    let r = op.submit("/suppressions", "/suppressions/new", &no_reason).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.text.contains("reason is required"), "{}", r.text);
    let r = op.submit("/suppressions", "/suppressions/new", &rule).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let at = r.headers[header::LOCATION].to_str().unwrap().to_string();
    let id = at.trim_start_matches("/suppressions/").to_string();
    let page = op.page(&at).await;
    assert!(page.contains("accepted for the test") && page.contains(&format!("<strong>{n}</strong> active finding")));
    assert!(!page.contains("Delete rule"), "an operator cannot delete a rule");
    let r = op.submit(&at, &format!("{at}/delete"), &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Disabling needs the token too.
    assert_eq!(op.post(&format!("{at}/disable"), &[]).await.status, StatusCode::FORBIDDEN);
    let r = op.submit(&at, &format!("{at}/disable"), &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let admin = Browser::login(&w, &w.admin).await;
    let r = admin.submit(&at, &format!("{at}/delete"), &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(w.state.engine.suppression_rule(&id).await.unwrap().deleted_at.is_some());
    // Pausing is an operator's; a viewer is refused, with or without the token.
    let r = viewer.submit("/policies", &format!("/policies/{top}/pause"), &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = op.submit(&format!("/policies/{top}"), &format!("/policies/{top}/pause"), &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let status = w.state.engine.store.get_policy(&top).await.unwrap().unwrap().status;
    assert_eq!(status, qrie_model::PolicyStatus::Paused);
    let audit = viewer.page("/audit").await;
    for needle in ["suppression.create", "suppression.disable", "suppression.delete", "policy.pause"] {
        assert!(audit.contains(needle), "{needle} in the audit page");
    }
    assert!(audit.contains("token:operator-") && audit.contains("token:admin-"), "the actors are named");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purge_needs_an_archive_the_typed_id_and_an_admin() {
    let w = world().await;
    let (top, _) = busiest_policy(&w.state).await;
    let confirm_page = format!("/policies/{top}/delete");
    let admin = Browser::login(&w, &w.admin).await;
    let page = admin.page(&confirm_page).await;
    assert!(page.contains("No archive destination is configured"), "{page}");
    assert!(!page.contains("/purge\""), "no purge form without an archive");

    let archive = tempfile::tempdir().unwrap();
    let state = w.state.clone().with_archive(std::sync::Arc::new(qrie_engine::archive::DirSink::new(archive.path())));
    let w = World { app: qrie_server::router(state.clone()), state, ..w };
    let admin = Browser::login(&w, &w.admin).await;
    let page = admin.page(&confirm_page).await;
    assert!(page.contains("Type the policy id to confirm") && page.contains(&format!("{top}/purge\"")), "{page}");
    let purge = format!("/policies/{top}/purge");
    assert_eq!(admin.post(&purge, &[("confirm", &top)]).await.status, StatusCode::FORBIDDEN, "no CSRF token");
    let op = Browser::login(&w, &w.operator).await;
    assert_eq!(op.submit("/policies", &purge, &[("confirm", &top)]).await.status, StatusCode::FORBIDDEN);
    for typed in ["", "wrong-id"] {
        let r = admin.submit(&confirm_page, &purge, &[("confirm", typed)]).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{typed:?}: {}", r.text);
        assert!(r.text.contains("confirmation_required") || r.text.contains("typed again"), "{}", r.text);
    }
    let held = w.state.engine.store.findings_for_policy(&top, None).await.unwrap().len();
    assert!(held > 0 && w.state.engine.store.get_policy(&top).await.unwrap().is_some(), "nothing done yet");
    let r = admin.submit(&confirm_page, &purge, &[("confirm", &top)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    assert_eq!(r.headers[header::LOCATION], "/audit");
    assert!(w.state.engine.store.findings_for_policy(&top, None).await.unwrap().is_empty());
    let audit = admin.page("/audit").await;
    assert!(audit.contains("findings.purge") && audit.contains(&archive.path().display().to_string()), "{audit}");
}
