//! EC2: ids come from the request (changes to existing resources) or the response (new
//! resources), and are routed by prefix so that one table entry can name several kinds
//! (AttachVolume names a volume and an instance; CreateTags names anything).

use qrie_model::ids::pseudo_arn;
use qrie_model::Service;

use crate::route::{Ctx, Extracted};
use crate::types::Action;

pub(crate) const SOURCE: &str = "ec2.amazonaws.com";

/// id prefix → (resource type, ARN resource segment). Ids with other prefixes (vpc-, eni-…)
/// name resources qrie does not store and are ignored.
const KINDS: [(&str, &str, &str); 6] = [
    ("sg-", "AWS::EC2::SecurityGroup", "security-group"),
    ("i-", "AWS::EC2::Instance", "instance"),
    ("vol-", "AWS::EC2::Volume", "volume"),
    ("snap-", "AWS::EC2::Snapshot", "snapshot"),
    ("ami-", "AWS::EC2::Image", "image"),
    ("acl-", "AWS::EC2::NetworkAcl", "network-acl"),
];

#[derive(Clone, Copy)]
pub(crate) enum How {
    /// Ids at these `requestParameters` paths and these `responseElements` paths (all found).
    Ids(&'static [&'static str], &'static [&'static str], Action),
    /// The region's account settings (EBS encryption default, IMDS defaults, block public access).
    Settings,
}

use Action::{Deleted, Refresh};
use How::{Ids, Settings};

const NONE: &[&str] = &[];
const SG: &[&str] = &["groupId"];
const INSTANCES: &[&str] = &["instancesSet.items.instanceId", "instanceId"];
const PROFILE_ASSOC: &[&str] = &["iamInstanceProfileAssociation.instanceId"];

pub(crate) const RULES: &[(&str, How)] = &[
    // Security groups.
    ("CreateSecurityGroup", Ids(NONE, SG, Refresh)),
    ("DeleteSecurityGroup", Ids(SG, NONE, Deleted)),
    ("AuthorizeSecurityGroupIngress", Ids(SG, &["securityGroupRuleSet.items.groupId"], Refresh)),
    ("AuthorizeSecurityGroupEgress", Ids(SG, &["securityGroupRuleSet.items.groupId"], Refresh)),
    ("RevokeSecurityGroupIngress", Ids(SG, NONE, Refresh)),
    ("RevokeSecurityGroupEgress", Ids(SG, NONE, Refresh)),
    ("ModifySecurityGroupRules", Ids(SG, NONE, Refresh)),
    ("UpdateSecurityGroupRuleDescriptionsIngress", Ids(SG, NONE, Refresh)),
    ("UpdateSecurityGroupRuleDescriptionsEgress", Ids(SG, NONE, Refresh)),
    // Instances. A terminated instance stays visible for about an hour and the policies answer
    // not-applicable for it, so termination is a refresh; the sweep sees it gone later.
    ("RunInstances", Ids(NONE, INSTANCES, Refresh)),
    ("StartInstances", Ids(INSTANCES, NONE, Refresh)),
    ("StopInstances", Ids(INSTANCES, NONE, Refresh)),
    ("TerminateInstances", Ids(INSTANCES, NONE, Refresh)),
    ("ModifyInstanceAttribute", Ids(&["instanceId"], NONE, Refresh)),
    ("ModifyInstanceMetadataOptions", Ids(&["instanceId"], &["instanceId"], Refresh)),
    ("AssociateIamInstanceProfile", Ids(&["instanceId"], PROFILE_ASSOC, Refresh)),
    ("DisassociateIamInstanceProfile", Ids(NONE, PROFILE_ASSOC, Refresh)),
    ("ReplaceIamInstanceProfileAssociation", Ids(NONE, PROFILE_ASSOC, Refresh)),
    ("AssociateAddress", Ids(&["instanceId"], NONE, Refresh)),
    ("DisassociateAddress", Ids(&["instanceId"], NONE, Refresh)),
    ("ModifyNetworkInterfaceAttribute", Ids(&["groupSet.items.groupId", "attachment.instanceId"], NONE, Refresh)),
    // Volumes.
    ("CreateVolume", Ids(NONE, &["volumeId"], Refresh)),
    ("DeleteVolume", Ids(&["volumeId"], NONE, Deleted)),
    ("AttachVolume", Ids(&["volumeId", "instanceId"], NONE, Refresh)),
    ("DetachVolume", Ids(&["volumeId", "instanceId"], NONE, Refresh)),
    ("ModifyVolume", Ids(&["volumeId"], NONE, Refresh)),
    // Snapshots.
    ("CreateSnapshot", Ids(NONE, &["snapshotId"], Refresh)),
    ("CreateSnapshots", Ids(NONE, &["snapshotSet.items.snapshotId"], Refresh)),
    ("CopySnapshot", Ids(NONE, &["snapshotId"], Refresh)),
    ("DeleteSnapshot", Ids(&["snapshotId"], NONE, Deleted)),
    ("ModifySnapshotAttribute", Ids(&["snapshotId"], NONE, Refresh)),
    ("ResetSnapshotAttribute", Ids(&["snapshotId"], NONE, Refresh)),
    // Images.
    ("CreateImage", Ids(NONE, &["imageId"], Refresh)),
    ("CopyImage", Ids(NONE, &["imageId"], Refresh)),
    ("RegisterImage", Ids(NONE, &["imageId"], Refresh)),
    ("DeregisterImage", Ids(&["imageId"], NONE, Deleted)),
    ("ModifyImageAttribute", Ids(&["imageId"], NONE, Refresh)),
    ("ResetImageAttribute", Ids(&["imageId"], NONE, Refresh)),
    // Tags, on whatever the ids name.
    ("CreateTags", Ids(&["resourcesSet.items.resourceId", "resourceId"], NONE, Refresh)),
    ("DeleteTags", Ids(&["resourcesSet.items.resourceId", "resourceId"], NONE, Refresh)),
    // Network ACLs.
    ("CreateNetworkAcl", Ids(NONE, &["networkAcl.networkAclId"], Refresh)),
    ("DeleteNetworkAcl", Ids(&["networkAclId"], NONE, Deleted)),
    ("CreateNetworkAclEntry", Ids(&["networkAclId"], NONE, Refresh)),
    ("ReplaceNetworkAclEntry", Ids(&["networkAclId"], NONE, Refresh)),
    ("DeleteNetworkAclEntry", Ids(&["networkAclId"], NONE, Refresh)),
    ("ReplaceNetworkAclAssociation", Ids(&["networkAclId"], NONE, Refresh)),
    // Per-region account settings.
    ("EnableEbsEncryptionByDefault", Settings),
    ("DisableEbsEncryptionByDefault", Settings),
    ("ModifyEbsDefaultKmsKeyId", Settings),
    ("ResetEbsDefaultKmsKeyId", Settings),
    ("ModifyInstanceMetadataDefaults", Settings),
    ("EnableSnapshotBlockPublicAccess", Settings),
    ("DisableSnapshotBlockPublicAccess", Settings),
    ("EnableImageBlockPublicAccess", Settings),
    ("DisableImageBlockPublicAccess", Settings),
];

pub(crate) fn route(ctx: &Ctx) -> Option<Extracted> {
    let (_, how) = RULES.iter().find(|(name, _)| *name == ctx.name)?;
    if ctx.region.is_empty() {
        return Some(Err("an EC2 record without awsRegion".to_string()));
    }
    Some(Ok(match *how {
        Settings => {
            let arn = pseudo_arn::ec2_account_settings(ctx.account, ctx.region);
            vec![ctx.target(Service::Ec2, "AWS::EC2::AccountSettings", arn, ctx.region, Action::Refresh, None)]
        }
        Ids(request, response, action) => {
            let ids = request.iter().flat_map(|p| ctx.request(p)).chain(response.iter().flat_map(|p| ctx.response(p)));
            ids.filter_map(|id| by_prefix(ctx, id, action)).collect()
        }
    }))
}

/// A target for an EC2 id, if its prefix names a resource qrie stores.
fn by_prefix(ctx: &Ctx, id: String, action: Action) -> Option<crate::types::Target> {
    let (_, kind, segment) = KINDS.iter().find(|(prefix, _, _)| id.starts_with(prefix))?;
    let arn = format!("arn:aws:ec2:{}:{}:{segment}/{id}", ctx.region, ctx.account);
    Some(ctx.target(Service::Ec2, kind, arn, ctx.region, action, None))
}
