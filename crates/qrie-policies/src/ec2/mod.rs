//! EC2 policies: security groups, instances, volumes, snapshots, images,
//! network ACLs and the per-region account settings.

pub(crate) mod account_imdsv2_default_not_required;
pub(crate) mod ami_public;
pub(crate) mod ebs_encryption_by_default_disabled;
pub(crate) mod ebs_volume_unencrypted;
mod ingress;
mod instance;
pub(crate) mod instance_exposed_high_risk_port;
pub(crate) mod instance_imdsv2_not_required;
pub(crate) mod instance_public_ip;
pub(crate) mod instance_user_data_secrets;
pub(crate) mod nacl_open_admin_ports;
pub(crate) mod sg_default_has_rules;
pub(crate) mod sg_open_all_ports;
pub(crate) mod sg_open_high_risk_ports;
pub(crate) mod sg_open_rdp;
pub(crate) mod sg_open_ssh;
pub(crate) mod sg_unused;
mod sharing;
pub(crate) mod snapshot_public;
pub(crate) mod snapshot_unencrypted;

/// This service's policies, in catalog order.
pub(crate) static POLICIES: &[&qrie_model::PolicyDef] = &[
    &sg_open_ssh::POLICY,
    &sg_open_rdp::POLICY,
    &ebs_volume_unencrypted::POLICY,
    &instance_imdsv2_not_required::POLICY,
    &sg_open_all_ports::POLICY,
    &sg_open_high_risk_ports::POLICY,
    &sg_default_has_rules::POLICY,
    &sg_unused::POLICY,
    &nacl_open_admin_ports::POLICY,
    &instance_public_ip::POLICY,
    &instance_exposed_high_risk_port::POLICY,
    &instance_user_data_secrets::POLICY,
    &ebs_encryption_by_default_disabled::POLICY,
    &snapshot_unencrypted::POLICY,
    &snapshot_public::POLICY,
    &ami_public::POLICY,
    &account_imdsv2_default_not_required::POLICY,
];
