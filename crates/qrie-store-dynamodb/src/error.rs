//! SDK errors as store errors, with the operation and table they came from.

use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use qrie_store::StoreError;
use std::error::Error;
use std::fmt::Debug;

/// `op` on `table` failed. A missing table says how to create it.
pub(crate) fn sdk<E, R>(op: &str, table: &str, e: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + Error + Send + Sync + 'static,
    R: Debug + Send + Sync + 'static,
{
    if e.code() == Some("ResourceNotFoundException") {
        return StoreError::Open {
            location: format!("dynamodb table {table}"),
            reason: "the table does not exist; create the tables with `qrie store init --store URL` \
                     (or deploy the stack that defines them)"
                .into(),
        };
    }
    StoreError::Backend(format!("dynamodb {op} on {table}: {}", DisplayErrorContext(e)))
}

/// An item this backend wrote no longer has the shape it writes.
pub(crate) fn decode(key: impl std::fmt::Display, reason: impl Into<String>) -> StoreError {
    StoreError::Decode { key: key.to_string(), reason: reason.into() }
}

/// A request this backend built was refused by the SDK before it was sent.
pub(crate) fn build(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(format!("dynamodb request {what} could not be built: {e}"))
}
