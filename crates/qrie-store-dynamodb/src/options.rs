//! The store URL: `dynamodb://[?endpoint=URL&prefix=P&region=R]`.

use aws_config::{BehaviorVersion, Region};
use aws_sdk_dynamodb::Client;
use qrie_store::{Result, StoreError};

/// Where the tables are and what they are called.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DynamoOptions {
    /// Another endpoint than AWS's (an emulator); `None` for AWS.
    pub endpoint: Option<String>,
    /// Prepended to every table name (`qa_` gives `qa_qrie_resources`).
    pub prefix: String,
    /// The region; `None` takes it from the AWS environment or profile.
    pub region: Option<String>,
}

/// DynamoDB table names are `[A-Za-z0-9_.-]{3,255}`; the longest qrie name is
/// `qrie_resources` (14), which leaves this much for a prefix.
const MAX_PREFIX: usize = 255 - 14;

impl DynamoOptions {
    pub fn parse(url: &str) -> Result<Self> {
        let bad = |reason: String| StoreError::Url { url: url.to_string(), reason };
        let rest = url
            .trim()
            .strip_prefix("dynamodb:")
            .ok_or_else(|| bad("expected dynamodb://[?endpoint=URL&prefix=P&region=R]".into()))?;
        let rest = rest.strip_prefix("//").unwrap_or(rest);
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        if !path.is_empty() {
            return Err(bad(format!(
                "unexpected {path:?} before the '?': tables are named by prefix=, the endpoint by endpoint="
            )));
        }
        let mut options = DynamoOptions::default();
        let mut seen = std::collections::HashSet::new();
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            if !seen.insert(key.to_string()) {
                return Err(bad(format!("parameter {key:?} is given twice")));
            }
            let value = value.to_string();
            match key.as_ref() {
                "endpoint" => options.endpoint = Some(check_endpoint(&value).map_err(bad)?),
                "prefix" => options.prefix = check_prefix(&value).map_err(bad)?,
                "region" => options.region = Some(check_region(&value).map_err(bad)?),
                other => return Err(bad(format!("unknown parameter {other:?}; expected endpoint, prefix or region"))),
            }
        }
        Ok(options)
    }

    /// A client over the standard AWS configuration chain, with this URL's
    /// endpoint and region.
    pub async fn client(&self) -> Client {
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(region) = &self.region {
            loader = loader.region(Region::new(region.clone()));
        }
        if let Some(endpoint) = &self.endpoint {
            loader = loader.endpoint_url(endpoint);
        }
        Client::new(&loader.load().await)
    }
}

fn check_endpoint(value: &str) -> std::result::Result<String, String> {
    let scheme_ok = value.starts_with("http://") || value.starts_with("https://");
    let host = value.split_once("://").map_or("", |(_, h)| h);
    if !scheme_ok || host.is_empty() || host.starts_with('/') {
        return Err(format!("endpoint {value:?} is not an http:// or https:// URL with a host"));
    }
    Ok(value.to_string())
}

fn check_prefix(value: &str) -> std::result::Result<String, String> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
    if !value.chars().all(allowed) {
        return Err(format!("prefix {value:?} may only hold letters, digits, '_', '-' and '.' (table name rules)"));
    }
    if value.len() > MAX_PREFIX {
        return Err(format!(
            "prefix is {} characters; table names allow at most {MAX_PREFIX} before qrie's",
            value.len()
        ));
    }
    Ok(value.to_string())
}

fn check_region(value: &str) -> std::result::Result<String, String> {
    let ok = !value.is_empty() && value.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !ok {
        return Err(format!("region {value:?} is not a region name like eu-west-1"));
    }
    Ok(value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_parameter() {
        let o = DynamoOptions::parse("dynamodb://?endpoint=http%3A%2F%2F127.0.0.1%3A5000&prefix=qa_&region=eu-west-1")
            .unwrap();
        assert_eq!(o.endpoint.as_deref(), Some("http://127.0.0.1:5000"));
        assert_eq!(o.prefix, "qa_");
        assert_eq!(o.region.as_deref(), Some("eu-west-1"));
        // An unencoded endpoint works too: it holds no '&'.
        let o = DynamoOptions::parse("dynamodb://?endpoint=http://localhost:8000&prefix=x").unwrap();
        assert_eq!(o.endpoint.as_deref(), Some("http://localhost:8000"));
        assert_eq!(DynamoOptions::parse("dynamodb://").unwrap(), DynamoOptions::default());
        assert_eq!(DynamoOptions::parse("dynamodb:").unwrap(), DynamoOptions::default());
    }

    #[test]
    fn refuses_what_it_cannot_use_with_a_reason() {
        for (url, says) in [
            ("sqlite:x.db", "expected dynamodb://"),
            ("dynamodb://tables?prefix=x", "before the '?'"),
            ("dynamodb://?prefix=a b", "may only hold"),
            ("dynamodb://?prefix=x&prefix=y", "given twice"),
            ("dynamodb://?endpoint=localhost:8000", "not an http"),
            ("dynamodb://?endpoint=http://", "not an http"),
            ("dynamodb://?region=EU%20WEST", "not a region"),
            ("dynamodb://?table=x", "unknown parameter"),
        ] {
            match DynamoOptions::parse(url) {
                Err(StoreError::Url { reason, .. }) => assert!(reason.contains(says), "{url}: {reason}"),
                other => panic!("{url}: expected a URL error, got {other:?}"),
            }
        }
        let long = format!("dynamodb://?prefix={}", "p".repeat(MAX_PREFIX + 1));
        assert!(matches!(DynamoOptions::parse(&long), Err(StoreError::Url { .. })));
    }
}
