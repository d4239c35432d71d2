//! IAM policies: users and the root user.

pub(crate) mod root_mfa_disabled;
pub(crate) mod user_access_key_too_old;

/// This service's policies, in catalog order.
pub(crate) static POLICIES: &[&qrie_model::PolicyDef] = &[&root_mfa_disabled::POLICY, &user_access_key_too_old::POLICY];
