//! EC2 (not yet).
use crate::cloud::{Clients, Found};
use qrie_engine::CloudError;
use qrie_model::{Resource, Timestamp};

pub(crate) async fn list(_c: &Clients, _a: &str, region: &str, _at: Timestamp) -> Result<Found, CloudError> {
    Err(CloudError::Other(format!("EC2 collector not built yet ({region})")))
}

pub(crate) async fn describe(
    _c: &Clients,
    _a: &str,
    arn: &str,
    _at: Timestamp,
) -> Result<Option<Resource>, CloudError> {
    Err(CloudError::UnknownResource(arn.to_string()))
}
