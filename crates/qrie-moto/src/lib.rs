//! moto's server (`moto[server]`, from the venv `scripts/setup-python` makes)
//! for tests and trials: started on a free loopback port, reset on demand,
//! stopped when dropped. A missing moto is a failure with the fix, never a skip.
//! DynamoDB requests are served one at a time (`serial_dynamodb.py`): moto's
//! transactions are not safe beside concurrent requests, DynamoDB's are.
//!
//! The server runs under a small shell that stops it when its standard input
//! closes, which happens when the [`MotoServer`] is dropped *or* when the
//! owning process exits however it exits: a [`shared`](MotoServer::shared)
//! server in a static (never dropped) does not outlive its tests.
//!
//! Only the process lives here; each crate builds the SDK clients it needs
//! on [`MotoServer::endpoint`], so this crate needs no AWS SDK.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The region and the (any) credentials clients of the emulator use.
pub const REGION: &str = "us-east-1";
pub const ACCESS_KEY: &str = "testing";

/// Runs `$0 "$@"` until standard input closes, then stops it.
const WATCHDOG: &str = r#""$0" "$@" & pid=$!; read _; kill "$pid"; wait "$pid""#;

/// moto's settings for qrie's tests: AWS managed policies exist (e.g.
/// AdministratorAccess), and no preloaded AMIs and snapshots (moto would list
/// ~1,300 of them as the account's own, as it ignores `OwnerIds`).
const SETTINGS: [(&str, &str); 2] =
    [("MOTO_IAM_LOAD_MANAGED_POLICIES", "true"), ("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")];

pub struct MotoServer {
    child: Child,
    /// Closing it stops the server.
    lifeline: Option<ChildStdin>,
    pub port: u16,
    /// `http://127.0.0.1:PORT`
    pub endpoint: String,
}

impl MotoServer {
    /// The Python of the repository's venv (where moto is installed), or `QRIE_MOTO_PYTHON`.
    pub fn python() -> PathBuf {
        std::env::var_os("QRIE_MOTO_PYTHON")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python"))
    }

    /// moto's server with DynamoDB requests served one at a time (the script says why).
    fn script() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("serial_dynamodb.py")
    }

    /// Starts a server and waits until it answers. Panics (with the fix) if
    /// moto is missing or does not answer within a minute.
    pub fn start() -> MotoServer {
        let bin = Self::python();
        assert!(
            bin.exists() && bin.with_file_name("moto_server").exists(),
            "moto is not installed: {} is missing. Run scripts/setup-python (it pins moto[server]) and retry.",
            bin.with_file_name("moto_server").display()
        );
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
        let mut child = Command::new("sh")
            .args(["-c", WATCHDOG])
            .arg(&bin)
            .arg(Self::script())
            .args(["-p", &port.to_string(), "-H", "127.0.0.1"])
            .envs(SETTINGS)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("could not start {}: {e}", bin.display()));
        let lifeline = child.stdin.take();
        let moto = MotoServer { child, lifeline, port, endpoint: format!("http://127.0.0.1:{port}") };
        let deadline = Instant::now() + Duration::from_secs(60);
        while moto.http("GET", "/moto-api/") != Some(200) {
            assert!(Instant::now() < deadline, "moto_server did not answer on port {port} within 60 s");
            std::thread::sleep(Duration::from_millis(100));
        }
        moto
    }

    /// One server for the whole test process, started on first use.
    pub fn shared() -> &'static MotoServer {
        static SHARED: OnceLock<MotoServer> = OnceLock::new();
        SHARED.get_or_init(MotoServer::start)
    }

    /// The environment a child process needs to reach this server with fixed
    /// test credentials (and nothing from the developer's own AWS setup).
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY.into()),
            ("AWS_SECRET_ACCESS_KEY", ACCESS_KEY.into()),
            ("AWS_REGION", REGION.into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ]
    }

    /// Wipes every account's state.
    pub fn reset(&self) {
        assert_eq!(self.http("POST", "/moto-api/reset"), Some(200), "moto reset failed");
    }

    /// From now on, every request must be signed by an IAM user's access key
    /// and is allowed only as that user's policies allow (moto's IAM
    /// enforcement, off by default). For a test that needs AWS to deny.
    pub fn enforce_iam(&self) {
        assert_eq!(self.http_with("POST", "/moto-api/reset-auth", "0"), Some(200), "moto reset-auth failed");
    }

    /// One plain HTTP/1.0 request; the status code, or `None` if nothing answered.
    pub fn http(&self, method: &str, path: &str) -> Option<u16> {
        self.http_with(method, path, "")
    }

    fn http_with(&self, method: &str, path: &str, body: &str) -> Option<u16> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
        let length = body.len();
        write!(s, "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: {length}\r\n\r\n{body}").ok()?;
        let mut out = String::new();
        s.read_to_string(&mut out).ok()?;
        out.split_whitespace().nth(1)?.parse().ok()
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        drop(self.lifeline.take());
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_answers_resets_and_stops_when_dropped() {
        let moto = MotoServer::start();
        assert_eq!(moto.http("GET", "/moto-api/"), Some(200));
        moto.reset();
        let port = moto.port;
        drop(moto);
        // The watchdog killed the server: nothing listens there any more.
        assert!(TcpStream::connect(("127.0.0.1", port)).is_err(), "moto still answers on {port}");
    }
}
