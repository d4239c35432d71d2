//! A local DynamoDB for tests and trials: moto's server (`moto[server]`, from
//! the venv `scripts/setup-python` makes) on a free loopback port, stopped
//! when dropped. A missing moto is a failure with the fix, never a skip.
//!
//! The server runs under a small shell that stops it when its standard input
//! closes, which happens when the `Moto` is dropped *or* when the test process
//! exits however it exits: a [`shared`](Moto::shared) server in a static (never
//! dropped) does not outlive its tests.

use aws_config::{BehaviorVersion, Region};
use aws_sdk_dynamodb::config::Credentials;
use aws_sdk_dynamodb::Client;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The credentials and region a client of the emulator uses (moto accepts any).
pub const REGION: &str = "us-east-1";
pub const ACCESS_KEY: &str = "testing";

/// Runs `$0 "$@"` until standard input closes, then stops it.
const WATCHDOG: &str = r#""$0" "$@" & pid=$!; read _; kill "$pid"; wait "$pid""#;

pub struct Moto {
    child: Child,
    /// Closing it stops the server.
    lifeline: Option<ChildStdin>,
    port: u16,
    /// `http://127.0.0.1:PORT`
    pub endpoint: String,
}

impl Moto {
    /// The moto_server of the repository's venv, or `QRIE_MOTO_SERVER`.
    pub fn binary() -> PathBuf {
        std::env::var_os("QRIE_MOTO_SERVER")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/moto_server"))
    }

    /// Starts a server and waits until it answers. Panics (with the fix) if moto is missing.
    pub fn start() -> Moto {
        let bin = Self::binary();
        assert!(
            bin.exists(),
            "moto is not installed: {} is missing. Run scripts/setup-python (it pins moto[server]) and retry.",
            bin.display()
        );
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
        let mut child = Command::new("sh")
            .args(["-c", WATCHDOG])
            .arg(&bin)
            .args(["-p", &port.to_string(), "-H", "127.0.0.1"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("could not start {}: {e}", bin.display()));
        let lifeline = child.stdin.take();
        let moto = Moto { child, lifeline, port, endpoint: format!("http://127.0.0.1:{port}") };
        let deadline = Instant::now() + Duration::from_secs(60);
        while moto.http("GET", "/moto-api/").is_none() {
            assert!(Instant::now() < deadline, "moto_server did not answer on port {port} within 60 s");
            std::thread::sleep(Duration::from_millis(100));
        }
        moto
    }

    /// One server for the whole test process, started on first use.
    pub fn shared() -> &'static Moto {
        static SHARED: OnceLock<Moto> = OnceLock::new();
        SHARED.get_or_init(Moto::start)
    }

    /// The store URL of this emulator with tables under `prefix`.
    pub fn store_url(&self, prefix: &str) -> String {
        format!("dynamodb://?endpoint={}&prefix={prefix}&region={REGION}", self.endpoint)
    }

    /// The environment a process needs to reach the emulator (fixed test credentials).
    pub fn env() -> [(&'static str, &'static str); 3] {
        [("AWS_ACCESS_KEY_ID", ACCESS_KEY), ("AWS_SECRET_ACCESS_KEY", ACCESS_KEY), ("AWS_REGION", REGION)]
    }

    /// A client of the emulator; `customize` may add interceptors and the like.
    pub async fn client_with(
        &self,
        customize: impl FnOnce(aws_sdk_dynamodb::config::Builder) -> aws_sdk_dynamodb::config::Builder,
    ) -> Client {
        let shared = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(REGION))
            .endpoint_url(&self.endpoint)
            .credentials_provider(Credentials::new(ACCESS_KEY, ACCESS_KEY, None, None, "moto"))
            .load()
            .await;
        Client::from_conf(customize(aws_sdk_dynamodb::config::Builder::from(&shared)).build())
    }

    pub async fn client(&self) -> Client {
        self.client_with(|b| b).await
    }

    /// Wipes every table.
    pub fn reset(&self) {
        assert_eq!(self.http("POST", "/moto-api/reset"), Some(200), "moto reset failed");
    }

    /// One plain HTTP/1.0 request; the status code, or `None` if nothing answered.
    fn http(&self, method: &str, path: &str) -> Option<u16> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
        write!(s, "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n").ok()?;
        let mut out = String::new();
        s.read_to_string(&mut out).ok()?;
        out.split_whitespace().nth(1)?.parse().ok()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        drop(self.lifeline.take());
        let _ = self.child.wait();
    }
}
