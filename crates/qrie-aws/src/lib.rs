//! qrie's AWS collectors: the engine's [`Cloud`](qrie_engine::Cloud) trait on the
//! official AWS SDK for Rust.
//!
//! [`AwsCloud`] reads each customer account through `sts:AssumeRole` into the
//! account's `role_arn` (or [`DEFAULT_ROLE_NAME`] when the record names none), and
//! the account it runs in with the ambient credentials. Each service has one
//! module (`s3`, `ec2`, `iam`) that owns its listing and its `describe`; the
//! conversions from the SDK's output structs to AWS's JSON field names
//! (docs/resources.md) sit beside each in `convert.rs`.
//!
//! What every collector keeps: "absent is not unknown" — a not-configured answer
//! (`NoSuchBucketPolicy` and kin) is an explicit JSON `null`, anything that could
//! not be read (access denied, throttled, timed out, a server error) goes to the
//! resource's `collection_errors`, so policies answer `Error`, never `Pass`; a
//! listing call that failed fails the whole listing, so the engine deletes
//! nothing. API calls and throttles are counted per operation by an interceptor
//! ([`calls::CallLog`]) into the listing.

pub mod archive;
pub mod calls;
mod cloud;
mod ec2;
mod iam;
mod json;
mod organizations;
mod read;
mod s3;
pub mod sqs;
pub mod units_queue;

pub use cloud::{AwsCloud, AwsOptions, DEFAULT_ROLE_NAME};
