//! One read's outcome, and a resource's configuration assembled from many:
//! "absent is not unknown" lives here, once, for every collector.

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// What one Get*/Describe* call told about one configuration key.
pub(crate) enum Outcome<T> {
    Value(T),
    /// Read, and not configured (a not-found code the caller named): stored as `null`.
    Absent,
    /// The resource itself is gone (NoSuchBucket and kin).
    Gone,
    /// Could not be read: access denied, throttled, timed out, a server error.
    Failed(String),
}

/// A human message for a failed call: the AWS code and message when the service
/// answered, the error chain (timeout, connection, unparseable answer...) when
/// it did not. Never the raw response: its request id and date would change the
/// resource's hash on every sweep, and read as a missed update.
pub(crate) fn message<E: ProvideErrorMetadata + std::error::Error + 'static>(
    err: &SdkError<E, HttpResponse>,
) -> String {
    match (err.code(), err.message()) {
        (Some(code), Some(msg)) => format!("{code}: {msg}"),
        (Some(code), None) => code.to_string(),
        _ => {
            let mut chain = vec![err.to_string()];
            let mut source = std::error::Error::source(err);
            while let Some(e) = source {
                chain.push(e.to_string());
                source = e.source();
            }
            match err.raw_response() {
                Some(r) => format!("HTTP {}: {}", r.status().as_u16(), chain.join(": ")),
                None => chain.join(": "),
            }
        }
    }
}

/// Sorts a call's result: `absent` codes mean "not configured", `gone` codes mean
/// the resource no longer exists; every other error could not be read.
pub(crate) fn classify<T, E>(result: Result<T, SdkError<E, HttpResponse>>, absent: &[&str], gone: &[&str]) -> Outcome<T>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match result {
        Ok(v) => Outcome::Value(v),
        Err(e) => match e.code() {
            Some(code) if absent.contains(&code) => Outcome::Absent,
            Some(code) if gone.contains(&code) => Outcome::Gone,
            _ => Outcome::Failed(message(&e)),
        },
    }
}

/// A configuration being assembled key by key, with what could not be read.
#[derive(Default)]
pub(crate) struct Config {
    pub values: Map<String, Value>,
    pub errors: BTreeMap<String, String>,
    /// Some call said the resource is gone.
    pub gone: bool,
}

impl Config {
    /// Stores one call's outcome under `key`: its converted value, `null` when
    /// absent, or a collection error (the key then stays out of the configuration).
    pub fn put<T>(&mut self, key: &str, outcome: Outcome<T>, convert: impl FnOnce(T) -> Value) {
        match outcome {
            Outcome::Value(v) => {
                self.values.insert(key.to_string(), convert(v));
            }
            Outcome::Absent => {
                self.values.insert(key.to_string(), Value::Null);
            }
            Outcome::Gone => self.gone = true,
            Outcome::Failed(msg) => {
                self.errors.insert(key.to_string(), msg);
            }
        }
    }

    pub fn set(&mut self, key: &str, value: Value) {
        self.values.insert(key.to_string(), value);
    }

    pub fn into_parts(self) -> (Value, BTreeMap<String, String>) {
        (Value::Object(self.values), self.errors)
    }
}

/// Codes that mean "you may not read this".
const DENIED: [&str; 4] = ["AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError"];

/// A failed listing or describe call as the engine's error.
pub(crate) fn cloud_error<E: ProvideErrorMetadata + std::error::Error + 'static>(
    err: &SdkError<E, HttpResponse>,
) -> qrie_engine::CloudError {
    let msg = message(err);
    match err.code() {
        Some(code) if DENIED.contains(&code) => qrie_engine::CloudError::AccessDenied(msg),
        Some(code) if code.contains("Throttl") || code == "RequestLimitExceeded" || code == "SlowDown" => {
            qrie_engine::CloudError::Throttled(msg)
        }
        _ => qrie_engine::CloudError::Other(msg),
    }
}
