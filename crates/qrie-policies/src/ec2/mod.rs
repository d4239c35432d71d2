//! EC2 policies: security groups, instances, volumes.

pub(crate) mod ebs_volume_unencrypted;
mod ingress;
pub(crate) mod instance_imdsv2_not_required;
pub(crate) mod sg_open_rdp;
pub(crate) mod sg_open_ssh;
