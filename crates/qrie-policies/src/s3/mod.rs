//! S3 policies: buckets and the account's Block Public Access.

mod block_public_access;
pub(crate) mod bucket_public_read_acl;
pub(crate) mod bucket_versioning_disabled;
