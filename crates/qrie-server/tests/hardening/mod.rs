//! Hostile clients and hostile input (issue 13): slow connections, sign-in
//! abuse, open redirects, proxies. Part of the `api` test binary.

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, Method, Request, StatusCode};
use qrie_server::listen::Limits;
use qrie_server::ServerConfig;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::*;

/// A real listener serving `w`, stopped when the sender is dropped.
async fn listening(w: &World) -> (SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(qrie_server::serve(listener, w.state.clone(), async {
        let _ = stopped.await;
    }));
    (addr, stop)
}

/// Opens a connection and sends half a request head, as a slow client does.
async fn half_open(addr: SocketAddr) -> TcpStream {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    s
}

/// Sends one whole request and returns the response's status line.
async fn status_line(addr: SocketAddr, path: &str, token: &str) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let head = format!("GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n");
    s.write_all(head.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.unwrap();
    String::from_utf8_lossy(&out).lines().next().unwrap_or_default().to_string()
}

/// Whether the server closed `s` (EOF or reset) within `within`.
async fn closed_by_server(s: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 512];
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue, // a 408 before closing
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_are_cut_off_and_do_not_hold_the_server() {
    let limits = Limits { header_timeout: Duration::from_secs(1), ..Limits::default() };
    let w = world_with(ServerConfig { limits, ..ServerConfig::default() }).await;
    let (addr, _stop) = listening(&w).await;
    let mut slow = Vec::new();
    for _ in 0..300 {
        slow.push(half_open(addr).await);
    }
    // Still answering, at once, while they hold on.
    let answer = tokio::time::timeout(Duration::from_secs(1), status_line(addr, "/api/accounts", &w.viewer)).await;
    assert_eq!(answer.expect("an authenticated request answers within a second"), "HTTP/1.1 200 OK");
    // Each slow client is cut off after the header timeout.
    for s in &mut slow {
        assert!(closed_by_server(s, Duration::from_secs(10)).await, "a half-sent request head is not held open");
    }
    for _ in 0..100 {
        if w.state.connections.open.load(Ordering::Relaxed) == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(w.state.connections.open.load(Ordering::Relaxed), 0);
    assert!(w.state.connections.accepted.load(Ordering::Relaxed) >= 301);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_past_the_cap_wait_instead_of_taking_descriptors() {
    let limits = Limits { header_timeout: Duration::from_secs(1), max_connections: 32, ..Limits::default() };
    let w = world_with(ServerConfig { limits, ..ServerConfig::default() }).await;
    let (addr, _stop) = listening(&w).await;
    let mut slow = Vec::new();
    let mut most = 0;
    for _ in 0..200 {
        slow.push(half_open(addr).await);
        most = most.max(w.state.connections.open.load(Ordering::Relaxed));
    }
    for _ in 0..20 {
        most = most.max(w.state.connections.open.load(Ordering::Relaxed));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(most <= 32, "{most} connections open at once past a cap of 32");
    assert!(most > 0);
    // As the slow ones time out the waiting ones are served: a real request
    // gets through once its turn comes.
    let answer = tokio::time::timeout(Duration::from_secs(30), status_line(addr, "/api/accounts", &w.viewer)).await;
    assert_eq!(answer.expect("served once slots free up"), "HTTP/1.1 200 OK");
}

fn form_post(body: &str, peer: &str) -> Request<Body> {
    let mut req = Request::builder()
        .method(Method::POST)
        .uri("/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body.to_string()))
        .unwrap();
    req.extensions_mut().insert(ConnectInfo(peer.parse::<SocketAddr>().unwrap()));
    req
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_next_is_a_path_on_this_site_or_home() {
    let w = world().await;
    let cases = [
        ("/%09/host/phish", "/"),
        ("/%0A/host", "/"),
        ("/%0D/host", "/"),
        ("/%0B/host", "/"),
        ("/%0C/host", "/"),
        ("/%7F/host", "/"),
        ("/%5Chost", "/"),
        ("/%5C%5Chost", "/"),
        ("//host", "/"),
        ("https://evil.example/", "/"),
        ("/%20/host", "/"),
        ("/%C3%A9", "/"),
        ("/findings?state=all", "/findings?state=all"),
    ];
    for (i, (next, expected)) in cases.iter().enumerate() {
        let body = format!("token={}&next={}", w.viewer, next.replace('?', "%3F").replace('=', "%3D"));
        let r = call(&w.app, form_post(&body, &format!("192.0.2.{}:5000", i + 1))).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "next={next}: {}", r.text);
        assert_eq!(r.headers[header::LOCATION], *expected, "next={next}");
        // The form shown for it keeps only what would be followed.
        let page = call(&w.app, req(Method::GET, &format!("/login?next={next}"), None, None)).await;
        assert_eq!(page.status, StatusCode::OK, "GET /login?next={next}");
        let shown = page.text.split("name=\"next\" value=\"").nth(1).unwrap().split('"').next().unwrap();
        assert_eq!(shown.replace("&amp;", "&"), *expected, "next={next}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_form_from_a_null_origin_is_refused() {
    let w = world().await;
    let post = |origin: Option<&str>, site: Option<&str>| {
        let mut req = form_post(&format!("token={}", w.admin), "192.0.2.1:5000");
        if let Some(o) = origin {
            req.headers_mut().insert(header::ORIGIN, o.parse().unwrap());
        }
        if let Some(s) = site {
            req.headers_mut().insert("sec-fetch-site", s.parse().unwrap());
        }
        req.headers_mut().insert(header::HOST, "127.0.0.1:8080".parse().unwrap());
        call(&w.app, req)
    };
    assert_eq!(post(Some("null"), None).await.status, StatusCode::FORBIDDEN);
    assert_eq!(post(Some("null"), Some("same-origin")).await.status, StatusCode::FORBIDDEN);
    assert_eq!(post(None, Some("none")).await.status, StatusCode::FORBIDDEN);
    assert_eq!(post(Some("http://127.0.0.1:8080"), Some("same-origin")).await.status, StatusCode::SEE_OTHER);
    assert_eq!(post(Some("http://127.0.0.1:8080"), None).await.status, StatusCode::SEE_OTHER);
    assert_eq!(post(None, None).await.status, StatusCode::SEE_OTHER, "curl and scripts send neither");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_logins_are_limited_per_client_address() {
    let w = world().await;
    let attacker = "198.51.100.9:40000";
    for i in 0..qrie_server::throttle::FAILURES_ALLOWED {
        let r = call(&w.app, form_post(&format!("token=qrie_00_guess{i}"), attacker)).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    // Held, even with the right token, through every way in.
    let r = call(&w.app, form_post(&format!("token={}", w.admin), attacker)).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = r.headers[header::RETRY_AFTER].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "Retry-After {wait}");
    let with_addr = |mut req: Request<Body>| {
        req.extensions_mut().insert(ConnectInfo(attacker.parse::<SocketAddr>().unwrap()));
        req
    };
    let api = call(&w.app, with_addr(req(Method::GET, "/api/accounts", Some(&w.admin), None))).await;
    assert_eq!(api.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(api.json["error"]["code"], "too_many_failed_logins");
    let session = serde_json::json!({"token": w.admin});
    let api = call(&w.app, with_addr(req(Method::POST, "/api/session", None, Some(session)))).await;
    assert_eq!(api.status, StatusCode::TOO_MANY_REQUESTS);
    // Another address is not affected.
    let r = call(&w.app, form_post(&format!("token={}", w.admin), "198.51.100.10:40000")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    // Bearer guesses count too.
    let other = "203.0.113.5:1";
    for _ in 0..qrie_server::throttle::FAILURES_ALLOWED {
        let mut r = req(Method::GET, "/api/accounts", Some("qrie_00_nope"), None);
        r.extensions_mut().insert(ConnectInfo(other.parse::<SocketAddr>().unwrap()));
        assert_eq!(call(&w.app, r).await.status, StatusCode::UNAUTHORIZED);
    }
    let mut r = req(Method::GET, "/api/accounts", Some(&w.viewer), None);
    r.extensions_mut().insert(ConnectInfo(other.parse::<SocketAddr>().unwrap()));
    assert_eq!(call(&w.app, r).await.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_trusted_proxy_cookies_are_secure_over_https_and_the_client_is_the_forwarded_one() {
    async fn login(w: &World, proto: Option<&str>, forwarded: &str) -> Reply {
        let mut req = form_post(&format!("token={}", w.viewer), "10.0.0.2:1000");
        if let Some(p) = proto {
            req.headers_mut().insert("x-forwarded-proto", p.parse().unwrap());
        }
        req.headers_mut().insert("x-forwarded-for", forwarded.parse().unwrap());
        call(&w.app, req).await
    }
    let cookie = |r: &Reply| r.headers[header::SET_COOKIE].to_str().unwrap().to_string();
    let trusted = world_with(ServerConfig { trust_proxy: true, ..ServerConfig::default() }).await;
    assert!(cookie(&login(&trusted, Some("https"), "192.0.2.1").await).ends_with("; Secure"));
    assert!(!cookie(&login(&trusted, Some("http"), "192.0.2.1").await).contains("Secure"));
    let untrusted = world().await;
    assert!(!cookie(&login(&untrusted, Some("https"), "192.0.2.1").await).contains("Secure"));
    let configured = world_with(ServerConfig { secure_cookies: true, ..ServerConfig::default() }).await;
    assert!(cookie(&login(&configured, None, "192.0.2.1").await).ends_with("; Secure"));

    // The limit holds the forwarded client, not the proxy every user shares.
    for _ in 0..qrie_server::throttle::FAILURES_ALLOWED {
        let mut req = form_post("token=qrie_00_bad", "10.0.0.2:1000");
        req.headers_mut().insert("x-forwarded-for", "1.2.3.4, 198.51.100.77".parse().unwrap());
        assert_eq!(call(&trusted.app, req).await.status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(login(&trusted, None, "6.6.6.6, 198.51.100.77").await.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(login(&trusted, None, "198.51.100.78").await.status, StatusCode::SEE_OTHER);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_policy_parameter_is_refused_and_evaluation_errors_surface() {
    let w = world().await;
    let send = |method: Method, uri: &str, body: serde_json::Value| {
        let r = req(method, uri, Some(&w.admin), Some(body));
        call(&w.app, r)
    };
    for (policy, params, named) in [
        ("iam-user-access-key-too-old", serde_json::json!({"max_age_days": -5}), "max_age_days"),
        ("ec2-sg-open-high-risk-ports", serde_json::json!({"allowed_ports": "<script>x</script>"}), "allowed_ports"),
        ("s3-bucket-policy-cross-account", serde_json::json!({"trusted_accounts": "123"}), "trusted_accounts"),
    ] {
        let r = send(Method::PUT, &format!("/api/policies/{policy}"), serde_json::json!({"params": params})).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{policy}: {}", r.text);
        assert_eq!(r.json["error"]["code"], "validation");
        assert!(r.json["error"]["message"].as_str().unwrap().contains(named), "{}", r.text);
    }

    // A resource whose stored data cannot be evaluated: the policy sweep
    // over it ends partial, naming it, and the dashboard lists the policy.
    let store = &w.state.engine.store;
    let page = store
        .list_resources(
            &qrie_store::ResourceFilter { resource_type: Some("AWS::EC2::Volume".into()), ..Default::default() },
            &qrie_store::PageRequest::first(1),
        )
        .await
        .unwrap();
    let mut broken = page.items.into_iter().next().expect("the estate has volumes");
    broken.configuration = serde_json::json!({"Volume": {}});
    broken.last_seen_at = chrono::Utc::now();
    broken.rehash();
    store.put_resources(vec![broken.clone()]).await.unwrap();
    let started = send(Method::POST, "/api/jobs", serde_json::json!({"kind": "policy-sweep"})).await;
    assert_eq!(started.status, StatusCode::ACCEPTED, "{}", started.text);
    let id = started.json["JobId"].as_str().unwrap().to_string();
    let job = loop {
        let r = call(&w.app, req(Method::GET, &format!("/api/jobs/{id}"), Some(&w.viewer), None)).await;
        if !matches!(r.json["Status"].as_str(), Some("running" | "queued")) {
            break r.json;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(job["Status"], "partial", "{job}");
    let errors = job["Errors"].as_array().unwrap();
    assert!(errors.iter().any(|e| e["ARN"] == broken.arn.as_str() && e["Count"].as_u64() >= Some(1)), "{job}");
    let dash = call(&w.app, req(Method::GET, "/api/summary/dashboard", Some(&w.viewer), None)).await;
    let erroring = dash.json["ErroringPolicies"].as_array().unwrap();
    assert!(erroring.iter().any(|e| e["JobId"] == id.as_str()), "{}", dash.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edited_page_tokens_unknown_parameters_and_huge_names_are_refused() {
    let w = world().await;
    let get = |uri: String| call(&w.app, req(Method::GET, &uri, Some(&w.viewer), None));
    let first = get("/api/findings?state=all&limit=2".into()).await;
    let token = first.json["NextToken"].as_str().expect("more than one page").to_string();
    let encode = |s: &str| s.replace('=', "%3D").replace('+', "%2B").replace('/', "%2F");
    assert_eq!(
        get(format!("/api/findings?state=all&limit=2&next_token={}", encode(&token))).await.status,
        StatusCode::OK
    );
    // The cursor edited (another position), its tag edited, or a bare store cursor: all 400.
    let (cursor, tag) = token.rsplit_once('.').unwrap();
    let forged_cursor = qrie_store::token::encode("findings", vec![serde_json::json!(0), serde_json::json!("x")]);
    let mut flipped = tag.as_bytes().to_vec();
    flipped[0] = if flipped[0] == b'A' { b'B' } else { b'A' };
    for bad in [
        format!("{forged_cursor}.{tag}"),
        format!("{cursor}.{}", String::from_utf8(flipped).unwrap()),
        cursor.to_string(),
        forged_cursor.clone(),
        format!("{cursor}."),
    ] {
        let r = get(format!("/api/findings?state=all&limit=2&next_token={}", encode(&bad))).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}: {}", r.text);
        assert_eq!(r.json["error"]["code"], "invalid_next_token");
    }
    // The pages take only sealed tokens too.
    let session =
        call(&w.app, req(Method::POST, "/api/session", None, Some(serde_json::json!({"token": w.viewer})))).await;
    let cookie = session.headers[header::SET_COOKIE].to_str().unwrap().split(';').next().unwrap().to_string();
    let page = |t: &str| {
        let r = Request::builder()
            .uri(format!("/findings?state=all&next_token={}", encode(t)))
            .header(header::COOKIE, &cookie)
            .body(Body::empty())
            .unwrap();
        call(&w.app, r)
    };
    assert_eq!(page(&forged_cursor).await.status, StatusCode::BAD_REQUEST);
    assert_eq!(page(&token).await.status, StatusCode::OK);

    let r = get("/api/findings?acount=123456789012".into()).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.json["error"]["code"], "unknown_query_parameter");
    assert!(r.json["error"]["message"].as_str().unwrap().contains("`acount`"), "{}", r.text);
    assert_eq!(get("/api/findings?severity_min=0&state=all".into()).await.status, StatusCode::OK);

    let long = "n".repeat(900_000);
    let body = serde_json::json!({"account_id": "123456789099", "name": long});
    let r = call(&w.app, req(Method::POST, "/api/accounts", Some(&w.admin), Some(body))).await;
    // Over the 1 MiB body limit it is 413; a name just over its own limit is a validation error.
    assert!(matches!(r.status, StatusCode::PAYLOAD_TOO_LARGE | StatusCode::BAD_REQUEST), "{}", r.status);
    let body = serde_json::json!({"account_id": "123456789099", "name": "n".repeat(257)});
    let r = call(&w.app, req(Method::POST, "/api/accounts", Some(&w.admin), Some(body))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.json["error"]["message"].as_str().unwrap().contains("at most 256"), "{}", r.text);
    let scope = serde_json::json!({"params": {}, "remediation": "r".repeat(10_001)});
    let r = call(&w.app, req(Method::PUT, "/api/policies/ec2-sg-open-ssh", Some(&w.admin), Some(scope))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
}
