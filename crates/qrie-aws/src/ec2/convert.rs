//! EC2 SDK outputs → the AWS JSON shapes of docs/resources.md: botocore's field
//! names (what `aws ec2 describe-*` prints), the shapes the EC2 policies read
//! and the simulated estate builds.
//!
//! As botocore does, a member is written when the answer had it: an empty list
//! AWS sent (`<groupSet/>`) is `[]`, a list it left out stays out (the policies
//! read a missing `IpPermissions` or `SecurityGroups` as "not collected").

use aws_sdk_ec2::types::{
    BlockDeviceMapping, CreateVolumePermission, GroupIdentifier, Image, Instance, InstanceMetadataDefaultsResponse,
    InstanceNetworkInterface, InstanceNetworkInterfaceAssociation, IpPermission, LaunchPermission, NetworkAcl,
    NetworkAclEntry, NetworkInterface, OperatorResponse, ProductCode, Snapshot, StateReason, Tag, Volume, Vpc,
};
use serde_json::Value;
use std::collections::BTreeMap;

use crate::json::{b, list, n, obj, s, time};

/// A list field written only when the answer had it.
fn some_list<T>(items: &Option<Vec<T>>, f: impl Fn(&T) -> Value) -> Option<Value> {
    items.as_ref().and_then(|v| list(v, f))
}

/// `Tags` as AWS writes it, and the tag map qrie keeps beside the configuration.
pub fn tags(tags: &Option<Vec<Tag>>) -> (Option<Value>, BTreeMap<String, String>) {
    match tags {
        None => (None, BTreeMap::new()),
        Some(t) => {
            let (set, map) = crate::json::tags(t.iter().map(|t| (t.key().unwrap_or(""), t.value().unwrap_or(""))));
            (Some(set), map)
        }
    }
}

/// The `Name` tag, which the console shows as the resource's name.
pub fn name_tag(tags: &BTreeMap<String, String>) -> Option<String> {
    tags.get("Name").filter(|n| !n.is_empty()).cloned()
}

/// Who manages the resource (`Operator`: a service acting for the account).
fn operator(o: &OperatorResponse) -> Value {
    obj([("Managed", b(o.managed())), ("Principal", s(o.principal()))])
}

fn group_identifier(g: &GroupIdentifier) -> Value {
    obj([("GroupName", s(g.group_name())), ("GroupId", s(g.group_id()))])
}

fn product_code(p: &ProductCode) -> Value {
    obj([("ProductCodeId", s(p.product_code_id())), ("ProductCodeType", s(p.product_code_type().map(|t| t.as_str())))])
}

fn state_reason(r: &StateReason) -> Value {
    obj([("Code", s(r.code())), ("Message", s(r.message()))])
}

fn ip_permission(p: &IpPermission) -> Value {
    obj([
        ("FromPort", n(p.from_port())),
        ("IpProtocol", s(p.ip_protocol())),
        (
            "IpRanges",
            some_list(&p.ip_ranges, |r| obj([("CidrIp", s(r.cidr_ip())), ("Description", s(r.description()))])),
        ),
        (
            "Ipv6Ranges",
            some_list(&p.ipv6_ranges, |r| obj([("CidrIpv6", s(r.cidr_ipv6())), ("Description", s(r.description()))])),
        ),
        (
            "PrefixListIds",
            some_list(&p.prefix_list_ids, |l| {
                obj([("Description", s(l.description())), ("PrefixListId", s(l.prefix_list_id()))])
            }),
        ),
        ("ToPort", n(p.to_port())),
        (
            "UserIdGroupPairs",
            some_list(&p.user_id_group_pairs, |g| {
                obj([
                    ("Description", s(g.description())),
                    ("GroupId", s(g.group_id())),
                    ("GroupName", s(g.group_name())),
                    ("PeeringStatus", s(g.peering_status())),
                    ("UserId", s(g.user_id())),
                    ("VpcId", s(g.vpc_id())),
                    ("VpcPeeringConnectionId", s(g.vpc_peering_connection_id())),
                ])
            }),
        ),
    ])
}

/// A DescribeSecurityGroups item.
pub fn security_group(g: &aws_sdk_ec2::types::SecurityGroup) -> Value {
    obj([
        ("Description", s(g.description())),
        ("GroupName", s(g.group_name())),
        ("IpPermissions", some_list(&g.ip_permissions, ip_permission)),
        ("OwnerId", s(g.owner_id())),
        ("GroupId", s(g.group_id())),
        ("IpPermissionsEgress", some_list(&g.ip_permissions_egress, ip_permission)),
        ("Tags", tags(&g.tags).0),
        ("VpcId", s(g.vpc_id())),
        ("SecurityGroupArn", s(g.security_group_arn())),
    ])
}

/// What a security group's entry in `NetworkInterfaces` keeps of a
/// DescribeNetworkInterfaces item: who uses the group.
pub fn interface_using_group(i: &NetworkInterface) -> Value {
    let attachment = i.attachment().map(|a| {
        obj([
            ("AttachmentId", s(a.attachment_id())),
            ("InstanceId", s(a.instance_id())),
            ("InstanceOwnerId", s(a.instance_owner_id())),
            ("Status", s(a.status().map(|v| v.as_str()))),
        ])
    });
    obj([
        ("NetworkInterfaceId", s(i.network_interface_id())),
        ("InterfaceType", s(i.interface_type().map(|v| v.as_str()))),
        ("Status", s(i.status().map(|v| v.as_str()))),
        ("Description", s(i.description())),
        ("RequesterId", s(i.requester_id())),
        ("RequesterManaged", b(i.requester_managed())),
        ("Attachment", attachment),
    ])
}

fn association(a: &InstanceNetworkInterfaceAssociation) -> Value {
    obj([
        ("CarrierIp", s(a.carrier_ip())),
        ("CustomerOwnedIp", s(a.customer_owned_ip())),
        ("IpOwnerId", s(a.ip_owner_id())),
        ("PublicDnsName", s(a.public_dns_name())),
        ("PublicIp", s(a.public_ip())),
    ])
}

fn instance_interface(i: &InstanceNetworkInterface) -> Value {
    let attachment = i.attachment().map(|a| {
        obj([
            ("AttachTime", time(a.attach_time())),
            ("AttachmentId", s(a.attachment_id())),
            ("DeleteOnTermination", b(a.delete_on_termination())),
            ("DeviceIndex", n(a.device_index())),
            ("Status", s(a.status().map(|v| v.as_str()))),
            ("NetworkCardIndex", n(a.network_card_index())),
        ])
    });
    obj([
        ("Association", i.association().map(association)),
        ("Attachment", attachment),
        ("Description", s(i.description())),
        ("Groups", some_list(&i.groups, group_identifier)),
        (
            "Ipv6Addresses",
            some_list(&i.ipv6_addresses, |a| {
                obj([("Ipv6Address", s(a.ipv6_address())), ("IsPrimaryIpv6", b(a.is_primary_ipv6()))])
            }),
        ),
        ("MacAddress", s(i.mac_address())),
        ("NetworkInterfaceId", s(i.network_interface_id())),
        ("OwnerId", s(i.owner_id())),
        ("PrivateDnsName", s(i.private_dns_name())),
        ("PrivateIpAddress", s(i.private_ip_address())),
        (
            "PrivateIpAddresses",
            some_list(&i.private_ip_addresses, |p| {
                obj([
                    ("Association", p.association().map(association)),
                    ("Primary", b(p.primary())),
                    ("PrivateDnsName", s(p.private_dns_name())),
                    ("PrivateIpAddress", s(p.private_ip_address())),
                ])
            }),
        ),
        ("SourceDestCheck", b(i.source_dest_check())),
        ("Status", s(i.status().map(|v| v.as_str()))),
        ("SubnetId", s(i.subnet_id())),
        ("VpcId", s(i.vpc_id())),
        ("InterfaceType", s(i.interface_type())),
        ("Operator", i.operator().map(operator)),
    ])
}

/// A DescribeInstances item (`Reservations[].Instances[]`).
pub fn instance(i: &Instance) -> Value {
    let placement = i.placement().map(|p| {
        obj([
            ("AvailabilityZoneId", s(p.availability_zone_id())),
            ("AvailabilityZone", s(p.availability_zone())),
            ("Affinity", s(p.affinity())),
            ("GroupName", s(p.group_name())),
            ("PartitionNumber", n(p.partition_number())),
            ("HostId", s(p.host_id())),
            ("Tenancy", s(p.tenancy().map(|t| t.as_str()))),
        ])
    });
    let block_devices = some_list(&i.block_device_mappings, |m| {
        let ebs = m.ebs().map(|e| {
            obj([
                ("AttachTime", time(e.attach_time())),
                ("DeleteOnTermination", b(e.delete_on_termination())),
                ("Status", s(e.status().map(|v| v.as_str()))),
                ("VolumeId", s(e.volume_id())),
                ("EbsCardIndex", n(e.ebs_card_index())),
            ])
        });
        obj([("DeviceName", s(m.device_name())), ("Ebs", ebs)])
    });
    let metadata = i.metadata_options().map(|m| {
        obj([
            ("State", s(m.state().map(|v| v.as_str()))),
            ("HttpTokens", s(m.http_tokens().map(|v| v.as_str()))),
            ("HttpPutResponseHopLimit", n(m.http_put_response_hop_limit())),
            ("HttpEndpoint", s(m.http_endpoint().map(|v| v.as_str()))),
            ("HttpProtocolIpv6", s(m.http_protocol_ipv6().map(|v| v.as_str()))),
            ("InstanceMetadataTags", s(m.instance_metadata_tags().map(|v| v.as_str()))),
        ])
    });
    obj([
        ("AmiLaunchIndex", n(i.ami_launch_index())),
        ("ImageId", s(i.image_id())),
        ("InstanceId", s(i.instance_id())),
        ("InstanceType", s(i.instance_type().map(|v| v.as_str()))),
        ("KernelId", s(i.kernel_id())),
        ("KeyName", s(i.key_name())),
        ("LaunchTime", time(i.launch_time())),
        ("Monitoring", i.monitoring().map(|m| obj([("State", s(m.state().map(|v| v.as_str())))]))),
        ("Placement", placement),
        ("Platform", s(i.platform().map(|v| v.as_str()))),
        ("PrivateDnsName", s(i.private_dns_name())),
        ("PrivateIpAddress", s(i.private_ip_address())),
        ("ProductCodes", some_list(&i.product_codes, product_code)),
        ("PublicDnsName", s(i.public_dns_name())),
        ("PublicIpAddress", s(i.public_ip_address())),
        ("RamdiskId", s(i.ramdisk_id())),
        ("State", i.state().map(|st| obj([("Code", n(st.code())), ("Name", s(st.name().map(|v| v.as_str())))]))),
        ("StateTransitionReason", s(i.state_transition_reason())),
        ("SubnetId", s(i.subnet_id())),
        ("VpcId", s(i.vpc_id())),
        ("Architecture", s(i.architecture().map(|v| v.as_str()))),
        ("BlockDeviceMappings", block_devices),
        ("ClientToken", s(i.client_token())),
        ("EbsOptimized", b(i.ebs_optimized())),
        ("EnaSupport", b(i.ena_support())),
        ("Hypervisor", s(i.hypervisor().map(|v| v.as_str()))),
        ("IamInstanceProfile", i.iam_instance_profile().map(|p| obj([("Arn", s(p.arn())), ("Id", s(p.id()))]))),
        ("InstanceLifecycle", s(i.instance_lifecycle().map(|v| v.as_str()))),
        ("NetworkInterfaces", some_list(&i.network_interfaces, instance_interface)),
        ("OutpostArn", s(i.outpost_arn())),
        ("RootDeviceName", s(i.root_device_name())),
        ("RootDeviceType", s(i.root_device_type().map(|v| v.as_str()))),
        ("SecurityGroups", some_list(&i.security_groups, group_identifier)),
        ("SourceDestCheck", b(i.source_dest_check())),
        ("SpotInstanceRequestId", s(i.spot_instance_request_id())),
        ("SriovNetSupport", s(i.sriov_net_support())),
        ("StateReason", i.state_reason().map(state_reason)),
        ("Tags", tags(&i.tags).0),
        ("VirtualizationType", s(i.virtualization_type().map(|v| v.as_str()))),
        (
            "CpuOptions",
            i.cpu_options()
                .map(|c| obj([("CoreCount", n(c.core_count())), ("ThreadsPerCore", n(c.threads_per_core()))])),
        ),
        (
            "CapacityReservationSpecification",
            i.capacity_reservation_specification().map(|c| {
                let target = c.capacity_reservation_target().map(|t| {
                    obj([
                        ("CapacityReservationId", s(t.capacity_reservation_id())),
                        ("CapacityReservationResourceGroupArn", s(t.capacity_reservation_resource_group_arn())),
                    ])
                });
                obj([
                    ("CapacityReservationPreference", s(c.capacity_reservation_preference().map(|v| v.as_str()))),
                    ("CapacityReservationTarget", target),
                ])
            }),
        ),
        ("HibernationOptions", i.hibernation_options().map(|h| obj([("Configured", b(h.configured()))]))),
        ("MetadataOptions", metadata),
        ("EnclaveOptions", i.enclave_options().map(|e| obj([("Enabled", b(e.enabled()))]))),
        ("BootMode", s(i.boot_mode().map(|v| v.as_str()))),
        ("PlatformDetails", s(i.platform_details())),
        ("UsageOperation", s(i.usage_operation())),
        ("UsageOperationUpdateTime", time(i.usage_operation_update_time())),
        ("Ipv6Address", s(i.ipv6_address())),
        ("CurrentInstanceBootMode", s(i.current_instance_boot_mode().map(|v| v.as_str()))),
        (
            "MaintenanceOptions",
            i.maintenance_options().map(|m| {
                obj([
                    ("AutoRecovery", s(m.auto_recovery().map(|v| v.as_str()))),
                    ("RebootMigration", s(m.reboot_migration().map(|v| v.as_str()))),
                ])
            }),
        ),
        (
            "NetworkPerformanceOptions",
            i.network_performance_options()
                .map(|o| obj([("BandwidthWeighting", s(o.bandwidth_weighting().map(|v| v.as_str())))])),
        ),
        ("Operator", i.operator().map(operator)),
        (
            "PrivateDnsNameOptions",
            i.private_dns_name_options().map(|o| {
                obj([
                    ("HostnameType", s(o.hostname_type().map(|v| v.as_str()))),
                    ("EnableResourceNameDnsARecord", b(o.enable_resource_name_dns_a_record())),
                    ("EnableResourceNameDnsAAAARecord", b(o.enable_resource_name_dns_aaaa_record())),
                ])
            }),
        ),
    ])
}

/// A DescribeVolumes item.
pub fn volume(v: &Volume) -> Value {
    let attachments = some_list(&v.attachments, |a| {
        obj([
            ("AttachTime", time(a.attach_time())),
            ("Device", s(a.device())),
            ("InstanceId", s(a.instance_id())),
            ("State", s(a.state().map(|v| v.as_str()))),
            ("VolumeId", s(a.volume_id())),
            ("DeleteOnTermination", b(a.delete_on_termination())),
        ])
    });
    obj([
        ("Attachments", attachments),
        ("AvailabilityZone", s(v.availability_zone())),
        ("AvailabilityZoneId", s(v.availability_zone_id())),
        ("CreateTime", time(v.create_time())),
        ("Encrypted", b(v.encrypted())),
        ("KmsKeyId", s(v.kms_key_id())),
        ("OutpostArn", s(v.outpost_arn())),
        ("Size", n(v.size())),
        ("SnapshotId", s(v.snapshot_id())),
        ("State", s(v.state().map(|v| v.as_str()))),
        ("VolumeId", s(v.volume_id())),
        ("Iops", n(v.iops())),
        ("Tags", tags(&v.tags).0),
        ("VolumeType", s(v.volume_type().map(|v| v.as_str()))),
        ("FastRestored", b(v.fast_restored())),
        ("MultiAttachEnabled", b(v.multi_attach_enabled())),
        ("Throughput", n(v.throughput())),
        ("SseType", s(v.sse_type().map(|v| v.as_str()))),
        ("Operator", v.operator().map(operator)),
    ])
}

/// A DescribeSnapshots item.
pub fn snapshot(v: &Snapshot) -> Value {
    obj([
        ("DataEncryptionKeyId", s(v.data_encryption_key_id())),
        ("Description", s(v.description())),
        ("Encrypted", b(v.encrypted())),
        ("KmsKeyId", s(v.kms_key_id())),
        ("OwnerId", s(v.owner_id())),
        ("Progress", s(v.progress())),
        ("SnapshotId", s(v.snapshot_id())),
        ("StartTime", time(v.start_time())),
        ("State", s(v.state().map(|v| v.as_str()))),
        ("StateMessage", s(v.state_message())),
        ("VolumeId", s(v.volume_id())),
        ("VolumeSize", n(v.volume_size())),
        ("OwnerAlias", s(v.owner_alias())),
        ("OutpostArn", s(v.outpost_arn())),
        ("Tags", tags(&v.tags).0),
        ("StorageTier", s(v.storage_tier().map(|v| v.as_str()))),
        ("RestoreExpiryTime", time(v.restore_expiry_time())),
        ("SseType", s(v.sse_type().map(|v| v.as_str()))),
    ])
}

/// DescribeSnapshotAttribute `createVolumePermission` (`{"Group": "all"}` = public).
pub fn create_volume_permission(p: &CreateVolumePermission) -> Value {
    obj([("Group", s(p.group().map(|g| g.as_str()))), ("UserId", s(p.user_id()))])
}

/// DescribeImageAttribute `launchPermission`.
pub fn launch_permission(p: &LaunchPermission) -> Value {
    obj([
        ("Group", s(p.group().map(|g| g.as_str()))),
        ("UserId", s(p.user_id())),
        ("OrganizationArn", s(p.organization_arn())),
        ("OrganizationalUnitArn", s(p.organizational_unit_arn())),
    ])
}

fn image_block_device(m: &BlockDeviceMapping) -> Value {
    let ebs = m.ebs().map(|e| {
        obj([
            ("DeleteOnTermination", b(e.delete_on_termination())),
            ("Iops", n(e.iops())),
            ("SnapshotId", s(e.snapshot_id())),
            ("VolumeSize", n(e.volume_size())),
            ("VolumeType", s(e.volume_type().map(|v| v.as_str()))),
            ("KmsKeyId", s(e.kms_key_id())),
            ("Throughput", n(e.throughput())),
            ("Encrypted", b(e.encrypted())),
        ])
    });
    obj([
        ("DeviceName", s(m.device_name())),
        ("VirtualName", s(m.virtual_name())),
        ("Ebs", ebs),
        ("NoDevice", s(m.no_device())),
    ])
}

/// A DescribeImages item.
pub fn image(i: &Image) -> Value {
    obj([
        ("Architecture", s(i.architecture().map(|v| v.as_str()))),
        ("CreationDate", s(i.creation_date())),
        ("ImageId", s(i.image_id())),
        ("ImageLocation", s(i.image_location())),
        ("ImageType", s(i.image_type().map(|v| v.as_str()))),
        ("Public", b(i.public())),
        ("KernelId", s(i.kernel_id())),
        ("OwnerId", s(i.owner_id())),
        ("Platform", s(i.platform().map(|v| v.as_str()))),
        ("PlatformDetails", s(i.platform_details())),
        ("UsageOperation", s(i.usage_operation())),
        ("ProductCodes", some_list(&i.product_codes, product_code)),
        ("RamdiskId", s(i.ramdisk_id())),
        ("State", s(i.state().map(|v| v.as_str()))),
        ("BlockDeviceMappings", some_list(&i.block_device_mappings, image_block_device)),
        ("Description", s(i.description())),
        ("EnaSupport", b(i.ena_support())),
        ("Hypervisor", s(i.hypervisor().map(|v| v.as_str()))),
        ("ImageOwnerAlias", s(i.image_owner_alias())),
        ("Name", s(i.name())),
        ("RootDeviceName", s(i.root_device_name())),
        ("RootDeviceType", s(i.root_device_type().map(|v| v.as_str()))),
        ("SriovNetSupport", s(i.sriov_net_support())),
        ("StateReason", i.state_reason().map(state_reason)),
        ("Tags", tags(&i.tags).0),
        ("VirtualizationType", s(i.virtualization_type().map(|v| v.as_str()))),
        ("BootMode", s(i.boot_mode().map(|v| v.as_str()))),
        ("TpmSupport", s(i.tpm_support().map(|v| v.as_str()))),
        ("DeprecationTime", s(i.deprecation_time())),
        ("ImdsSupport", s(i.imds_support().map(|v| v.as_str()))),
        ("SourceInstanceId", s(i.source_instance_id())),
        ("DeregistrationProtection", s(i.deregistration_protection())),
        ("LastLaunchedTime", s(i.last_launched_time())),
    ])
}

fn acl_entry(e: &NetworkAclEntry) -> Value {
    obj([
        ("CidrBlock", s(e.cidr_block())),
        ("Egress", b(e.egress())),
        ("IcmpTypeCode", e.icmp_type_code().map(|c| obj([("Code", n(c.code())), ("Type", n(c.r#type()))]))),
        ("Ipv6CidrBlock", s(e.ipv6_cidr_block())),
        ("PortRange", e.port_range().map(|p| obj([("From", n(p.from())), ("To", n(p.to()))]))),
        ("Protocol", s(e.protocol())),
        ("RuleAction", s(e.rule_action().map(|v| v.as_str()))),
        ("RuleNumber", n(e.rule_number())),
    ])
}

/// A DescribeNetworkAcls item.
pub fn network_acl(a: &NetworkAcl) -> Value {
    let associations = some_list(&a.associations, |x| {
        obj([
            ("NetworkAclAssociationId", s(x.network_acl_association_id())),
            ("NetworkAclId", s(x.network_acl_id())),
            ("SubnetId", s(x.subnet_id())),
        ])
    });
    obj([
        ("Associations", associations),
        ("Entries", some_list(&a.entries, acl_entry)),
        ("IsDefault", b(a.is_default())),
        ("NetworkAclId", s(a.network_acl_id())),
        ("Tags", tags(&a.tags).0),
        ("VpcId", s(a.vpc_id())),
        ("OwnerId", s(a.owner_id())),
    ])
}

/// A DescribeVpcs item.
pub fn vpc(v: &Vpc) -> Value {
    let cidrs = some_list(&v.cidr_block_association_set, |c| {
        let state = c
            .cidr_block_state()
            .map(|st| obj([("State", s(st.state().map(|x| x.as_str()))), ("StatusMessage", s(st.status_message()))]));
        obj([("AssociationId", s(c.association_id())), ("CidrBlock", s(c.cidr_block())), ("CidrBlockState", state)])
    });
    let ipv6 = some_list(&v.ipv6_cidr_block_association_set, |c| {
        obj([("AssociationId", s(c.association_id())), ("Ipv6CidrBlock", s(c.ipv6_cidr_block()))])
    });
    obj([
        ("CidrBlock", s(v.cidr_block())),
        ("DhcpOptionsId", s(v.dhcp_options_id())),
        ("State", s(v.state().map(|x| x.as_str()))),
        ("VpcId", s(v.vpc_id())),
        ("OwnerId", s(v.owner_id())),
        ("InstanceTenancy", s(v.instance_tenancy().map(|x| x.as_str()))),
        ("Ipv6CidrBlockAssociationSet", ipv6),
        ("CidrBlockAssociationSet", cidrs),
        ("IsDefault", b(v.is_default())),
        ("Tags", tags(&v.tags).0),
    ])
}

/// GetInstanceMetadataDefaults' `AccountLevel` (absent when no default was ever set).
pub fn metadata_defaults(d: &InstanceMetadataDefaultsResponse) -> Value {
    obj([
        ("HttpTokens", s(d.http_tokens().map(|v| v.as_str()))),
        ("HttpPutResponseHopLimit", n(d.http_put_response_hop_limit())),
        ("HttpEndpoint", s(d.http_endpoint().map(|v| v.as_str()))),
        ("InstanceMetadataTags", s(d.instance_metadata_tags().map(|v| v.as_str()))),
        ("ManagedBy", s(d.managed_by().map(|v| v.as_str()))),
        ("ManagedExceptionMessage", s(d.managed_exception_message())),
        ("HttpTokensEnforced", s(d.http_tokens_enforced().map(|v| v.as_str()))),
    ])
}
