//! The built binary as an operator runs it, for the end-to-end tests: a store
//! in a temporary directory of its own, and an environment that knows nothing
//! of this machine's AWS setup — only, when a test gives one, an emulator's
//! endpoint (moto) and fixed test credentials.
#![allow(dead_code)] // each test binary uses a different part of this module

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

pub struct Qrie {
    dir: tempfile::TempDir,
    store: String,
    /// `AWS_ENDPOINT_URL`, if AWS calls should reach an emulator.
    endpoint: Option<String>,
}

impl Qrie {
    /// Over a SQLite store in a fresh temporary directory.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = format!("sqlite:{}", dir.path().join("qrie.db").display());
        Qrie { dir, store, endpoint: None }
    }

    /// With AWS calls going to `endpoint` (an emulator).
    pub fn with_aws(mut self, endpoint: &str) -> Self {
        self.endpoint = Some(endpoint.to_string());
        self
    }

    /// Over the store at `url` instead (e.g. `dynamodb://...`).
    pub fn with_store(mut self, url: &str) -> Self {
        self.store = url.to_string();
        self
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The `--store` URL the commands get.
    pub fn store_url(&self) -> &str {
        &self.store
    }

    /// `qrie --store URL ARGS`, not yet run.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_qrie"));
        c.arg("--store")
            .arg(&self.store)
            .args(args)
            .env_remove("QRIE_STORE")
            .env_remove("AWS_PROFILE")
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_CONFIG_FILE", self.dir().join("no-config"))
            .env("AWS_SHARED_CREDENTIALS_FILE", self.dir().join("no-credentials"))
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .current_dir(self.dir());
        match &self.endpoint {
            Some(url) => c.env("AWS_ENDPOINT_URL", url),
            None => c.env_remove("AWS_ENDPOINT_URL"),
        };
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run qrie")
    }

    /// Runs a command that must succeed and returns its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "qrie --store {} {args:?} failed:\nstdout: {}\nstderr: {}",
            self.store,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8 output")
    }

    /// Runs a command with `--format json` that must succeed; its output.
    pub fn json(&self, args: &[&str]) -> Value {
        let mut with_format = args.to_vec();
        with_format.extend(["--format", "json"]);
        let out = self.ok(&with_format);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("qrie {args:?} printed invalid JSON ({e}):\n{out}"))
    }

    /// Runs a command that must fail cleanly and returns its stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(!out.status.success(), "qrie --store {} {args:?} should have failed; stderr: {stderr}", self.store);
        assert!(!stderr.contains("panicked"), "qrie {args:?} panicked: {stderr}");
        assert!(stderr.contains("error:"), "qrie {args:?} gave no error message: {stderr}");
        stderr
    }

    /// `findings list EXTRA...` as JSON.
    /// `findings list` as JSON; suppressed findings included unless `extra`
    /// says otherwise (the demo suppresses some).
    pub fn findings(&self, extra: &[&str]) -> Vec<Value> {
        let mut args = vec!["findings", "list"];
        args.extend(extra);
        if !extra.contains(&"--suppressed") {
            args.extend(["--suppressed", "all"]);
        }
        self.json(&args).as_array().expect("a JSON array").clone()
    }
}

/// The findings of `after` whose state differs from `before` (new ones count
/// when active), matched by (ARN, policy).
pub fn moved<'a>(before: &[Value], after: &'a [Value]) -> Vec<&'a Value> {
    after
        .iter()
        .filter(|f| {
            let old = before.iter().find(|b| b["ARN"] == f["ARN"] && b["Policy"] == f["Policy"]);
            old.map(|o| o["State"] != f["State"]).unwrap_or(f["State"] == "ACTIVE")
        })
        .collect()
}
