//! IAM policies: users and the root user.

pub(crate) mod root_mfa_disabled;
pub(crate) mod user_access_key_too_old;
