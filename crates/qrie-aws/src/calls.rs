//! Counting API calls and throttles per operation. An interceptor on every
//! client of one listing sees each attempt (retries included: they are calls
//! the account's rate limit pays for), so no call site can forget to count.

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::FinalizerInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::{HttpResponse, Metadata};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

#[derive(Debug, Default)]
struct Counts {
    calls: BTreeMap<String, u64>,
    throttles: u64,
}

/// Shared by the clients of one listing; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct CallLog(Arc<Mutex<Counts>>);

impl CallLog {
    /// Calls by `Service:Operation` (e.g. `S3:GetBucketAcl`), and throttles met.
    pub fn snapshot(&self) -> (BTreeMap<String, u64>, u64) {
        let c = self.0.lock().unwrap_or_else(|p| p.into_inner());
        (c.calls.clone(), c.throttles)
    }
}

/// Error codes AWS uses for "slow down", across the query, JSON and REST-XML protocols.
const THROTTLE_CODES: [&str; 6] = [
    "Throttling",
    "ThrottlingException",
    "RequestLimitExceeded",
    "SlowDown",
    "TooManyRequestsException",
    "RequestThrottled",
];

fn is_throttle(response: &HttpResponse) -> bool {
    let status = response.status().as_u16();
    if status == 429 {
        return true;
    }
    // IAM throttles with HTTP 400, S3 and EC2 with 503: the code in the body decides.
    if status < 400 {
        return false;
    }
    let body = response.body().bytes().map(String::from_utf8_lossy).unwrap_or_default();
    THROTTLE_CODES.iter().any(|code| body.contains(&format!(">{code}<")) || body.contains(&format!("\"{code}\"")))
}

impl Intercept for CallLog {
    fn name(&self) -> &'static str {
        "qrie-call-log"
    }

    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let op = cfg
            .load::<Metadata>()
            .map(|m| format!("{}:{}", m.service().replace(' ', ""), m.name()))
            .unwrap_or_else(|| "unknown".to_string());
        let throttled = context.response().is_some_and(is_throttle);
        let mut c = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *c.calls.entry(op).or_default() += 1;
        if throttled {
            c.throttles += 1;
        }
        Ok(())
    }
}
