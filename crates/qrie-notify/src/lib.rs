//! The senders behind the engine's outbox dispatcher
//! ([`qrie_engine::notify`]): one per channel kind.
//!
//! A webhook is a JSON POST:
//!
//! ```text
//! POST <url>
//! Content-Type: application/json
//! User-Agent: qrie/<version>
//! X-Qrie-Delivery: <notice id>            the idempotency key: the same for every attempt
//! X-Qrie-Integration: <integration id>
//! X-Qrie-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>   (with a secret)
//!
//! {"Id": "<notice id>", "Type": "finding.opened", "Notice": {...}, "FindingUrl": "..."}
//! ```
//!
//! A Slack integration POSTs a Block Kit message ([`slack::message`]) to the
//! incoming webhook URL its secret reference names, with the same headers
//! and no signature (the URL is the secret).
//!
//! A 2xx answer is a delivery; 408, 429, 5xx and network errors are tried
//! again later; any other answer is a refusal that retrying cannot mend.

use async_trait::async_trait;
use hmac::{Hmac, KeyInit, Mac};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Request, StatusCode};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use qrie_engine::notify::{SendError, Sender};
use qrie_model::integration::{Channel, Integration, SecretRef};
use qrie_model::notice::{Notice, Summary};
use serde_json::json;
use sha2::Sha256;
use std::sync::Arc;
use std::time::Duration;

pub mod slack;

/// How long one send may take.
const TIMEOUT: Duration = Duration::from_secs(10);
/// The most of a refusal's body kept as its error.
const ERROR_BODY: usize = 300;

type Https = hyper_rustls::HttpsConnector<HttpConnector>;

/// Sends over every channel kind qrie has.
pub struct Senders {
    client: Client<Https, Full<Bytes>>,
    /// The web UI's address, for links to findings.
    public_url: Option<String>,
}

impl Senders {
    pub fn new(public_url: Option<String>) -> Result<Self, String> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(provider)
            .map_err(|e| format!("TLS roots: {e}"))?
            .https_or_http()
            .enable_http1()
            .build();
        Ok(Senders { client: Client::builder(TokioExecutor::new()).build(https), public_url })
    }

    /// Sends `id` over the integration's channel: a webhook gets `doc`
    /// (signed when it names a secret), Slack the message `slack` makes.
    async fn deliver(
        &self,
        integration: &Integration,
        id: &str,
        doc: serde_json::Value,
        slack: impl FnOnce() -> serde_json::Value,
    ) -> Result<(), SendError> {
        let encode = |v: &serde_json::Value| {
            serde_json::to_vec(v).map_err(|e| SendError::permanent(format!("encoding {id}: {e}")))
        };
        match &integration.channel {
            Channel::Webhook { url, secret } => {
                let body = encode(&doc)?;
                let signature = match secret {
                    Some(s) => Some(signature(&resolve(s)?, chrono::Utc::now().timestamp(), &body)),
                    None => None,
                };
                self.post(integration, url, body, signature, id).await
            }
            Channel::Slack { url } => self.post(integration, &slack_url(url)?, encode(&slack())?, None, id).await,
        }
    }

    /// POSTs `body` (JSON), with the delivery headers and the signature if any.
    async fn post(
        &self,
        integration: &Integration,
        url: &str,
        body: Vec<u8>,
        signature: Option<String>,
        delivery_id: &str,
    ) -> Result<(), SendError> {
        let mut request = Request::post(url)
            .header("content-type", "application/json")
            .header("user-agent", concat!("qrie/", env!("CARGO_PKG_VERSION")))
            .header("x-qrie-delivery", delivery_id)
            .header("x-qrie-integration", &integration.id);
        if let Some(signature) = signature {
            request = request.header("x-qrie-signature", signature);
        }
        let request = request
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| SendError::permanent(format!("the request: {e}")))?;
        let response = match tokio::time::timeout(TIMEOUT, self.client.request(request)).await {
            Err(_) => return Err(SendError::retry(format!("no answer within {} s", TIMEOUT.as_secs()))),
            Ok(Err(e)) => return Err(SendError::retry(format!("sending: {e}"))),
            Ok(Ok(r)) => r,
        };
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let text = match tokio::time::timeout(Duration::from_secs(2), response.into_body().collect()).await {
            Ok(Ok(b)) => String::from_utf8_lossy(&b.to_bytes()).chars().take(ERROR_BODY).collect(),
            _ => String::new(),
        };
        let message = format!("{status}: {}", text.trim());
        if retryable(status) {
            Err(SendError::retry(message))
        } else {
            Err(SendError::permanent(message))
        }
    }
}

#[async_trait]
impl Sender for Senders {
    fn can_send(&self, integration: &Integration) -> Result<(), String> {
        let secret = match &integration.channel {
            Channel::Webhook { secret, .. } => secret.as_ref(),
            Channel::Slack { url } => Some(url),
        };
        match secret.map(resolve) {
            Some(Err(e)) => Err(e.message),
            _ => Ok(()),
        }
    }

    async fn send(&self, integration: &Integration, notice: &Notice) -> Result<(), SendError> {
        let base = self.public_url.as_deref();
        let message = || slack::message(notice, base);
        self.deliver(integration, &notice.id, payload(notice, base), message).await
    }

    async fn send_summary(&self, integration: &Integration, summary: &Summary) -> Result<(), SendError> {
        let doc = json!({ "Id": summary.id, "Type": "summary.bootstrap", "Summary": summary });
        let message = || slack::summary(summary, self.public_url.as_deref());
        self.deliver(integration, &summary.id, doc, message).await
    }
}

/// The Slack incoming webhook URL a reference names, checked.
fn slack_url(url: &SecretRef) -> Result<String, SendError> {
    let url =
        String::from_utf8(resolve(url)?).map_err(|_| SendError::permanent("the Slack webhook URL is not text"))?;
    if qrie_engine::notify::validate_url(&url).is_err() {
        return Err(SendError::permanent("the Slack webhook URL is not an https URL"));
    }
    Ok(url)
}

/// A notice about no real finding, marked as a test (`qrie integrations test`).
pub fn test_notice(actor: &str) -> Notice {
    let now = chrono::Utc::now();
    Notice {
        id: format!("test-{}", now.timestamp_millis()),
        at: now,
        kind: qrie_model::TransitionKind::Opened,
        arn: "arn:aws:s3:::qrie-test-notice".into(),
        policy: "qrie-test".into(),
        account_id: "000000000000".into(),
        region: "us-east-1".into(),
        resource_type: "AWS::S3::Bucket".into(),
        severity: qrie_model::Severity::of(50),
        reason: None,
        trigger: qrie_model::Trigger {
            actor: Some(actor.to_string()),
            ..qrie_model::Trigger::new(qrie_model::DetectedBy::Operator)
        },
    }
}

fn retryable(status: StatusCode) -> bool {
    status == StatusCode::REQUEST_TIMEOUT || status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
}

/// The JSON a webhook receives.
pub fn payload(notice: &Notice, public_url: Option<&str>) -> serde_json::Value {
    let mut body = json!({
        "Id": notice.id,
        "Type": format!("finding.{}", notice.kind.as_str()),
        "Notice": notice,
    });
    if let Some(base) = public_url {
        body["FindingUrl"] = json!(qrie_export::finding_page(base, &notice.arn, &notice.policy));
    }
    body
}

/// `t=<unix seconds>,v1=<hex HMAC-SHA256(key, "<t>.<body>")>`: a receiver
/// recomputes it over the raw body and refuses old timestamps (replays).
pub fn signature(key: &[u8], unix_seconds: i64, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC takes any key"));
    mac.update(format!("{unix_seconds}.").as_bytes());
    mac.update(body);
    format!("t={unix_seconds},v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// The secret a reference names, where the dispatcher runs.
fn resolve(secret: &SecretRef) -> Result<Vec<u8>, SendError> {
    match secret {
        SecretRef::Env(name) => match std::env::var(name) {
            Ok(v) if !v.is_empty() => Ok(v.into_bytes()),
            _ => Err(SendError::permanent(format!(
                "the secret env:{name} is not set where this dispatcher runs: another one, or this one once it is set, sends it"
            ))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hmac_sha256_over_time_and_body() {
        // RFC 4231 test case 2's key and data, framed as qrie frames them.
        let sig = signature(b"Jefe", 0, b"what do ya want for nothing?");
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"0.what do ya want for nothing?");
        assert_eq!(sig, format!("t=0,v1={}", hex::encode(mac.finalize().into_bytes())));
        assert_ne!(signature(b"Jefe", 1, b"x"), signature(b"Jefe", 2, b"x"), "the time is signed");
    }

    #[test]
    fn only_answers_worth_retrying_are_retried() {
        for (code, retry) in
            [(500, true), (503, true), (429, true), (408, true), (400, false), (404, false), (410, false)]
        {
            assert_eq!(retryable(StatusCode::from_u16(code).unwrap()), retry, "{code}");
        }
    }
}
