//! IAM (not yet).
use crate::cloud::{Clients, Found};
use qrie_engine::CloudError;
use qrie_model::{Resource, Timestamp};

pub(crate) async fn list(_c: &Clients, _a: &str, _regions: &[String], _at: Timestamp) -> Result<Found, CloudError> {
    Err(CloudError::Other("IAM collector not built yet".to_string()))
}

pub(crate) async fn describe(
    _c: &Clients,
    _a: &str,
    arn: &str,
    _at: Timestamp,
) -> Result<Option<Resource>, CloudError> {
    Err(CloudError::UnknownResource(arn.to_string()))
}
