//! Integrations: where notices of finding transitions go, and which ones.

use serde::{Deserialize, Serialize};

use crate::notice::Notice;
use crate::{DetectedBy, Timestamp, TransitionKind, ValidationError};

/// The store namespace (key-value) of integrations, by id.
pub const INTEGRATIONS: &str = "integrations";

/// One destination of notices.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Integration {
    pub id: String,
    pub channel: Channel,
    #[serde(default)]
    pub route: Route,
    pub created_at: Timestamp,
    pub created_by: String,
}

/// An integration as it may be shown to anyone allowed to see it: the
/// target without what authenticates, the secret by its name.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct IntegrationView {
    pub id: String,
    pub kind: &'static str,
    pub target: String,
    pub secret: Option<String>,
    pub route: Route,
    pub created_at: Timestamp,
    pub created_by: String,
}

impl Integration {
    pub fn view(&self) -> IntegrationView {
        let secret = match &self.channel {
            Channel::Webhook { secret, .. } => secret.as_ref().map(ToString::to_string),
            Channel::Slack { url } => Some(url.to_string()),
        };
        IntegrationView {
            id: self.id.clone(),
            kind: self.channel.kind(),
            target: self.channel.target(),
            secret,
            route: self.route.clone(),
            created_at: self.created_at,
            created_by: self.created_by.clone(),
        }
    }
}

/// Where notices are sent. Secrets are never stored: they are named, and read
/// where the dispatcher runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "Kind", rename_all = "kebab-case")]
pub enum Channel {
    /// A JSON POST to `url`, signed with HMAC-SHA256 when a secret is named.
    Webhook {
        #[serde(rename = "Url")]
        url: String,
        #[serde(rename = "Secret", default, skip_serializing_if = "Option::is_none")]
        secret: Option<SecretRef>,
    },
    /// A Slack incoming webhook, whose URL is itself the secret: named only.
    Slack {
        #[serde(rename = "Url")]
        url: SecretRef,
    },
}

impl Channel {
    pub fn kind(&self) -> &'static str {
        match self {
            Channel::Webhook { .. } => "webhook",
            Channel::Slack { .. } => "slack",
        }
    }

    /// Where it sends, as it may be shown: no secret, no URL query (tokens
    /// ride there), no credentials.
    pub fn target(&self) -> String {
        match self {
            Channel::Webhook { url, .. } => redact_url(url),
            Channel::Slack { url } => format!("Slack incoming webhook at {url}"),
        }
    }
}

/// A URL as it may be shown: its scheme and host. Many services put the
/// credential in the path (Slack, Teams, Discord hooks) or the query, so
/// neither is shown, nor user info.
pub fn redact_url(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = host.rsplit('@').next().unwrap_or(host);
    let more = if rest.len() > host.len() + 1 { "/…" } else { "/" };
    format!("{scheme}://{host}{more}")
}

/// A secret by name: `env:NAME`, an environment variable where the
/// dispatcher runs (on AWS, the function's; the stack can fill it from
/// Secrets Manager).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum SecretRef {
    Env(String),
}

impl std::str::FromStr for SecretRef {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || ValidationError::Parameter {
            name: "secret".into(),
            reason: format!("{s:?} is not a secret reference: env:NAME (the secret itself is never stored)"),
        };
        match s.split_once(':') {
            Some(("env", name)) if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') => {
                Ok(SecretRef::Env(name.to_string()))
            }
            _ => Err(bad()),
        }
    }
}

impl TryFrom<String> for SecretRef {
    type Error = ValidationError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<SecretRef> for String {
    fn from(r: SecretRef) -> String {
        r.to_string()
    }
}

impl std::fmt::Display for SecretRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SecretRef::Env(name) => write!(f, "env:{name}"),
        }
    }
}

/// Which notices an integration gets. Empty lists mean any.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Route {
    /// Only findings at least this severe.
    pub min_severity: Option<u8>,
    pub policies: Vec<String>,
    pub accounts: Vec<String>,
    pub kinds: Vec<TransitionKind>,
    /// Transitions made by bootstrap sweeps one by one too (a first scan of
    /// an account or policy opens everything it finds). Off: they are told
    /// in one summary per bootstrap sweep, once it has finished.
    pub include_bootstrap: bool,
}

impl Route {
    /// Whether the notice is sent on its own.
    pub fn matches(&self, n: &Notice) -> bool {
        self.selects(n) && (self.include_bootstrap || !is_bootstrap(n))
    }

    /// Whether the notice is told in its bootstrap sweep's summary instead.
    pub fn summarizes(&self, n: &Notice) -> bool {
        self.selects(n) && !self.include_bootstrap && is_bootstrap(n)
    }

    /// Whether the integration gets the notice at all, one way or the other.
    pub fn takes(&self, n: &Notice) -> bool {
        self.selects(n)
    }

    fn selects(&self, n: &Notice) -> bool {
        let any = |list: &[String], v: &str| list.is_empty() || list.iter().any(|x| x == v);
        self.min_severity.is_none_or(|m| n.severity.value() >= m)
            && any(&self.policies, &n.policy)
            && any(&self.accounts, &n.account_id)
            && (self.kinds.is_empty() || self.kinds.contains(&n.kind))
    }
}

fn is_bootstrap(n: &Notice) -> bool {
    n.trigger.detected_by == DetectedBy::Bootstrap
}

/// An integration id: 1 to 64 of letters, digits, `-` and `_`.
pub fn validate_id(id: &str) -> Result<(), ValidationError> {
    let ok = !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(ValidationError::Parameter {
            name: "id".into(),
            reason: format!("{id:?}: an integration id is 1 to 64 letters, digits, - and _"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_shown_without_what_authenticates() {
        assert_eq!(redact_url("https://hooks.example.com/T0/B0/abc?token=s3cret"), "https://hooks.example.com/…");
        assert_eq!(redact_url("https://user:pw@example.com/x"), "https://example.com/…");
        assert_eq!(redact_url("https://example.com/"), "https://example.com/");
    }

    #[test]
    fn secret_references_parse_and_print_back() {
        for s in ["env:QRIE_HOOK_SECRET", "env:a_1"] {
            assert_eq!(s.parse::<SecretRef>().unwrap().to_string(), s);
        }
        for bad in ["hunter2", "env:", "env:A B", "secretsmanager:arn:aws:secretsmanager:us-east-1:1:secret:x"] {
            assert!(bad.parse::<SecretRef>().is_err(), "{bad}");
        }
    }
}
