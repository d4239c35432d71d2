//! IAM policies: the root user, the password policy, users, groups, roles,
//! customer-managed policies and server certificates.
//!
//! Shared pieces: `report` reads credential report rows and IAM times.

pub(crate) mod access_analyzer_disabled;
pub(crate) mod administrator_access;
pub(crate) mod documents;
#[cfg(test)]
pub(crate) mod fixtures;
pub(crate) mod full_admin;
pub(crate) mod password_policy;
pub(crate) mod privilege_escalation;
pub(crate) mod report;
pub(crate) mod trust;

pub(crate) mod group_administrator_access;
pub(crate) mod group_inline_policy_full_admin;
pub(crate) mod group_privilege_escalation;
pub(crate) mod managed_policy_full_admin;
pub(crate) mod managed_policy_privilege_escalation;
pub(crate) mod password_policy_expiry_too_long;
pub(crate) mod password_policy_reuse_allowed;
pub(crate) mod password_policy_too_short;
pub(crate) mod password_policy_weak_complexity;

pub(crate) mod role_administrator_access;
pub(crate) mod role_inline_policy_full_admin;
pub(crate) mod role_privilege_escalation;
pub(crate) mod role_trust_any_principal;
pub(crate) mod role_trust_cross_account_unconditioned;
pub(crate) mod root_access_key_present;
pub(crate) mod root_hardware_mfa_disabled;
pub(crate) mod root_mfa_disabled;
pub(crate) mod root_used_recently;
pub(crate) mod server_certificate_expired;
pub(crate) mod support_role_missing;
pub(crate) mod user_access_key_too_old;
pub(crate) mod user_administrator_access;
pub(crate) mod user_console_no_mfa;
pub(crate) mod user_credentials_unused;
pub(crate) mod user_direct_policies;
pub(crate) mod user_inline_policy_full_admin;
pub(crate) mod user_multiple_active_access_keys;
pub(crate) mod user_privilege_escalation;

/// This service's policies, in catalog order.
pub(crate) static POLICIES: &[&qrie_model::PolicyDef] = &[
    &root_mfa_disabled::POLICY,
    &user_access_key_too_old::POLICY,
    &root_hardware_mfa_disabled::POLICY,
    &root_access_key_present::POLICY,
    &root_used_recently::POLICY,
    &support_role_missing::POLICY,
    &password_policy_too_short::POLICY,
    &password_policy_reuse_allowed::POLICY,
    &password_policy_weak_complexity::POLICY,
    &password_policy_expiry_too_long::POLICY,
    &user_console_no_mfa::POLICY,
    &user_credentials_unused::POLICY,
    &user_multiple_active_access_keys::POLICY,
    &user_direct_policies::POLICY,
    &user_administrator_access::POLICY,
    &group_administrator_access::POLICY,
    &role_administrator_access::POLICY,
    &server_certificate_expired::POLICY,
    &managed_policy_full_admin::POLICY,
    &user_inline_policy_full_admin::POLICY,
    &group_inline_policy_full_admin::POLICY,
    &role_inline_policy_full_admin::POLICY,
    &role_trust_any_principal::POLICY,
    &role_trust_cross_account_unconditioned::POLICY,
    &user_privilege_escalation::POLICY,
    &group_privilege_escalation::POLICY,
    &role_privilege_escalation::POLICY,
    &managed_policy_privilege_escalation::POLICY,
    &access_analyzer_disabled::POLICY,
];
