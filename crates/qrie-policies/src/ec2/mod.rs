//! EC2 policies: security groups, instances, volumes.

pub(crate) mod ebs_volume_unencrypted;
mod ingress;
pub(crate) mod instance_imdsv2_not_required;
pub(crate) mod sg_open_rdp;
pub(crate) mod sg_open_ssh;

/// This service's policies, in catalog order.
pub(crate) static POLICIES: &[&qrie_model::PolicyDef] = &[
    &sg_open_ssh::POLICY,
    &sg_open_rdp::POLICY,
    &ebs_volume_unencrypted::POLICY,
    &instance_imdsv2_not_required::POLICY,
];
