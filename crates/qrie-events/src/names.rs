//! The event names the router maps, and the AWS API operation each one is checked against.
//!
//! CloudTrail mostly logs the API operation name. Known exceptions, checked by the test that
//! reads botocore's service models:
//! - S3 logs the bucket-level Block Public Access calls as `Put/DeleteBucketPublicAccessBlock`;
//!   the S3 API names them `Put/DeletePublicAccessBlock`.
//! - S3 logs the account-level Block Public Access calls under `s3.amazonaws.com` as
//!   `Put/DeleteAccountPublicAccessBlock`; they are S3 Control's `Put/DeletePublicAccessBlock`.
//! - `signin.amazonaws.com` `ConsoleLogin` is a sign-in, not an API operation: no SDK model
//!   has it, so it is the one name checked against nothing.

use qrie_model::Service;
use serde::Serialize;

use crate::route::SIGNIN;
use crate::{ec2, iam, s3};

/// An operation in botocore's models: `botocore/data/<model>/<version>/service-2.json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ApiOperation {
    pub model: &'static str,
    pub operation: &'static str,
}

/// (eventSource, eventName) → the API operation, where CloudTrail's name differs.
const ALIASES: [(&str, &str, &str, &str); 4] = [
    (s3::SOURCE, "PutBucketPublicAccessBlock", "s3", "PutPublicAccessBlock"),
    (s3::SOURCE, "DeleteBucketPublicAccessBlock", "s3", "DeletePublicAccessBlock"),
    (s3::SOURCE, "PutAccountPublicAccessBlock", "s3control", "PutPublicAccessBlock"),
    (s3::SOURCE, "DeleteAccountPublicAccessBlock", "s3control", "DeletePublicAccessBlock"),
];

/// Every (service, eventSource, eventName) the router maps, in table order.
pub fn mapped_event_names() -> Vec<(Service, &'static str, &'static str)> {
    let s3 = s3::RULES.iter().map(|(n, _)| (Service::S3, s3::SOURCE, *n));
    let ec2 = ec2::RULES.iter().map(|(n, _)| (Service::Ec2, ec2::SOURCE, *n));
    let iam = iam::RULES.iter().map(|(n, _)| (Service::Iam, iam::SOURCE, *n));
    s3.chain(ec2).chain(iam).chain([(Service::Iam, SIGNIN, "ConsoleLogin")]).collect()
}

/// The API operation a mapped CloudTrail event name corresponds to; `None` for names that are
/// not API operations (ConsoleLogin) or sources qrie does not map.
pub fn api_operation(event_source: &str, event_name: &'static str) -> Option<ApiOperation> {
    if let Some((_, _, model, operation)) = ALIASES.iter().find(|(s, n, _, _)| *s == event_source && *n == event_name) {
        return Some(ApiOperation { model, operation });
    }
    let model = match event_source {
        s if s == s3::SOURCE => "s3",
        s if s == ec2::SOURCE => "ec2",
        s if s == iam::SOURCE => "iam",
        _ => return None,
    };
    Some(ApiOperation { model, operation: event_name })
}
