//! S3 policies: buckets and the account's Block Public Access.

mod block_public_access;
pub(crate) mod bucket_public_read_acl;
pub(crate) mod bucket_versioning_disabled;

/// This service's policies, in catalog order.
pub(crate) static POLICIES: &[&qrie_model::PolicyDef] =
    &[&bucket_public_read_acl::POLICY, &bucket_versioning_disabled::POLICY];
