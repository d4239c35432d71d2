//! Seeds EC2 in moto through the SDK: per (account, region) a compliant and a
//! misconfigured variant of each kind the policies read. Returns the ids moto
//! gave, so that tests can name the ARNs they expect.

use aws_config::{Region, SdkConfig};
use aws_sdk_ec2::types::{
    Filter, HttpTokensState, InstanceMetadataOptionsRequest, InstanceType, IpPermission, IpRange, LaunchPermission,
    LaunchPermissionModifications, OperationType, PermissionGroup, PortRange, RuleAction, SnapshotAttributeName,
};
use base64::Engine as _;

pub fn ec2(config: &SdkConfig, region: &str) -> aws_sdk_ec2::Client {
    aws_sdk_ec2::Client::from_conf(
        aws_sdk_ec2::config::Builder::from(config).region(Region::new(region.to_string())).build(),
    )
}

/// A user-data script that hard-codes an AWS secret key.
pub const LEAKY_USER_DATA: &str =
    "#!/bin/bash\nexport AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYQRIESEEDKEY\n";
/// A user-data script that fetches its secret at boot.
pub const CLEAN_USER_DATA: &str = "#!/bin/bash\nyum install -y nginx\n";

/// What moto created in one account and region (ids it chose).
#[derive(Debug, Clone, Default)]
pub struct Seeded {
    pub account: String,
    pub region: String,
    pub default_vpc: String,
    pub default_group: String,
    pub default_acl: String,
    /// Ingress 22/tcp from 0.0.0.0/0; used by the exposed instance.
    pub ssh_group: String,
    /// Ingress 443/tcp from 10.0.0.0/8 only; used by the private instance.
    pub private_group: String,
    /// No ingress, used by nothing.
    pub unused_group: String,
    /// Public IP, IMDSv1 allowed, a secret in its user data, behind `ssh_group`.
    pub exposed_instance: String,
    /// Private subnet, IMDSv2 required, clean user data, behind `private_group`.
    pub private_instance: String,
    /// Root volumes moto created for the two instances (unencrypted).
    pub root_volumes: Vec<String>,
    pub encrypted_volume: String,
    pub unencrypted_volume: String,
    /// Encrypted, not shared.
    pub private_snapshot: String,
    /// Unencrypted and restorable by anyone.
    pub public_snapshot: String,
    pub private_image: String,
    pub public_image: String,
    /// The snapshots moto made to back the two images (unencrypted).
    pub image_snapshots: Vec<String>,
    /// Custom network ACL admitting RDP from anywhere.
    pub rdp_acl: String,
}

impl Seeded {
    pub fn arn(&self, segment: &str, id: &str) -> String {
        format!("arn:aws:ec2:{}:{}:{segment}/{id}", self.region, self.account)
    }

    pub fn settings_arn(&self) -> String {
        format!("arn:aws:ec2:{}:{}:account-settings", self.region, self.account)
    }
}

fn filter(name: &str, value: &str) -> Filter {
    Filter::builder().name(name).values(value).build()
}

fn anywhere(port: i32) -> IpPermission {
    IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(port)
        .to_port(port)
        .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
        .build()
}

async fn group(ec2: &aws_sdk_ec2::Client, name: &str, vpc: &str, ingress: Option<IpPermission>) -> String {
    let id = ec2
        .create_security_group()
        .group_name(name)
        .description(format!("{name} group"))
        .vpc_id(vpc)
        .send()
        .await
        .unwrap_or_else(|e| panic!("create group {name}: {e:?}"))
        .group_id()
        .expect("group id")
        .to_string();
    if let Some(p) = ingress {
        ec2.authorize_security_group_ingress().group_id(&id).ip_permissions(p).send().await.expect("ingress");
    }
    id
}

async fn image(ec2: &aws_sdk_ec2::Client, name: &str) -> String {
    ec2.register_image().name(name).send().await.expect("register image").image_id().expect("ami").to_string()
}

#[allow(clippy::too_many_arguments)] // one argument per setting the policies read
async fn instance(
    ec2: &aws_sdk_ec2::Client,
    ami: &str,
    subnet: &str,
    group: &str,
    tokens: HttpTokensState,
    user_data: &str,
) -> String {
    let out = ec2
        .run_instances()
        .image_id(ami)
        .min_count(1)
        .max_count(1)
        .instance_type(InstanceType::T3Micro)
        .subnet_id(subnet)
        .security_group_ids(group)
        .metadata_options(InstanceMetadataOptionsRequest::builder().http_tokens(tokens).build())
        .user_data(base64::engine::general_purpose::STANDARD.encode(user_data))
        .send()
        .await
        .expect("run instance");
    out.instances()[0].instance_id().expect("instance id").to_string()
}

async fn volume(ec2: &aws_sdk_ec2::Client, az: &str, encrypted: bool) -> String {
    let out = ec2.create_volume().availability_zone(az).size(8).encrypted(encrypted).send().await.expect("volume");
    out.volume_id().expect("volume id").to_string()
}

async fn snapshot(ec2: &aws_sdk_ec2::Client, volume: &str) -> String {
    let out = ec2.create_snapshot().volume_id(volume).send().await.expect("snapshot");
    out.snapshot_id().expect("snapshot id").to_string()
}

/// Seeds one account and region. `ebs_default`: turn EBS encryption by default on.
pub async fn ec2_region(config: &SdkConfig, account: &str, region: &str, ebs_default: bool) -> Seeded {
    let ec2 = ec2(config, region);
    let az = format!("{region}a");
    let vpcs = ec2.describe_vpcs().filters(filter("is-default", "true")).send().await.expect("default vpc");
    let vpc = vpcs.vpcs()[0].vpc_id().expect("vpc id").to_string();
    let groups = ec2
        .describe_security_groups()
        .filters(filter("vpc-id", &vpc))
        .filters(filter("group-name", "default"))
        .send()
        .await
        .expect("default group");
    let acls =
        ec2.describe_network_acls().filters(filter("vpc-id", &vpc)).filters(filter("default", "true")).send().await;
    let public_subnet = ec2
        .describe_subnets()
        .filters(filter("vpc-id", &vpc))
        .filters(filter("availability-zone", &az))
        .send()
        .await
        .expect("default subnet")
        .subnets()[0]
        .subnet_id()
        .expect("subnet id")
        .to_string();
    let private_subnet = ec2
        .create_subnet()
        .vpc_id(&vpc)
        .cidr_block("172.31.200.0/24")
        .availability_zone(&az)
        .send()
        .await
        .expect("private subnet")
        .subnet()
        .and_then(|s| s.subnet_id())
        .expect("subnet id")
        .to_string();

    let mut s = Seeded {
        account: account.to_string(),
        region: region.to_string(),
        default_group: groups.security_groups()[0].group_id().expect("sg").to_string(),
        default_acl: acls.expect("default acl").network_acls()[0].network_acl_id().expect("acl").to_string(),
        ssh_group: group(&ec2, "ssh-open", &vpc, Some(anywhere(22))).await,
        private_group: group(
            &ec2,
            "private",
            &vpc,
            Some(
                IpPermission::builder()
                    .ip_protocol("tcp")
                    .from_port(443)
                    .to_port(443)
                    .ip_ranges(IpRange::builder().cidr_ip("10.0.0.0/8").build())
                    .build(),
            ),
        )
        .await,
        unused_group: group(&ec2, "unused", &vpc, None).await,
        default_vpc: vpc.clone(),
        ..Default::default()
    };
    s.private_image = image(&ec2, "private-ami").await;
    s.public_image = image(&ec2, "public-ami").await;
    ec2.modify_image_attribute()
        .image_id(&s.public_image)
        .launch_permission(
            LaunchPermissionModifications::builder()
                .add(LaunchPermission::builder().group(PermissionGroup::All).build())
                .build(),
        )
        .send()
        .await
        .expect("public ami");
    let images =
        ec2.describe_images().image_ids(&s.private_image).image_ids(&s.public_image).send().await.expect("images");
    s.image_snapshots = images
        .images()
        .iter()
        .flat_map(|i| i.block_device_mappings())
        .filter_map(|m| m.ebs().and_then(|e| e.snapshot_id()).map(str::to_string))
        .collect();
    s.exposed_instance =
        instance(&ec2, &s.private_image, &public_subnet, &s.ssh_group, HttpTokensState::Optional, LEAKY_USER_DATA)
            .await;
    s.private_instance =
        instance(&ec2, &s.private_image, &private_subnet, &s.private_group, HttpTokensState::Required, CLEAN_USER_DATA)
            .await;
    let described = ec2
        .describe_instances()
        .instance_ids(&s.exposed_instance)
        .instance_ids(&s.private_instance)
        .send()
        .await
        .expect("instances");
    s.root_volumes = described
        .reservations()
        .iter()
        .flat_map(|r| r.instances())
        .flat_map(|i| i.block_device_mappings())
        .filter_map(|m| m.ebs().and_then(|e| e.volume_id()).map(str::to_string))
        .collect();
    s.encrypted_volume = volume(&ec2, &az, true).await;
    s.unencrypted_volume = volume(&ec2, &az, false).await;
    s.private_snapshot = snapshot(&ec2, &s.encrypted_volume).await;
    s.public_snapshot = snapshot(&ec2, &s.unencrypted_volume).await;
    // The OperationType/GroupNames form: moto 5.2.5 ignores the CreateVolumePermission one.
    ec2.modify_snapshot_attribute()
        .snapshot_id(&s.public_snapshot)
        .attribute(SnapshotAttributeName::CreateVolumePermission)
        .operation_type(OperationType::Add)
        .group_names("all")
        .send()
        .await
        .expect("public snapshot");
    s.rdp_acl = ec2
        .create_network_acl()
        .vpc_id(&vpc)
        .send()
        .await
        .expect("acl")
        .network_acl()
        .and_then(|a| a.network_acl_id())
        .expect("acl id")
        .to_string();
    ec2.create_network_acl_entry()
        .network_acl_id(&s.rdp_acl)
        .rule_number(100)
        .protocol("6")
        .rule_action(RuleAction::Allow)
        .egress(false)
        .cidr_block("0.0.0.0/0")
        .port_range(PortRange::builder().from(3389).to(3389).build())
        .send()
        .await
        .expect("acl entry");
    if ebs_default {
        ec2.enable_ebs_encryption_by_default().send().await.expect("ebs default");
    }
    s
}

/// The (ARN, policy) pairs the catalog fails for what [`ec2_region`] seeded:
/// every misconfiguration above, and what moto's default VPC holds as AWS
/// creates it (a default group with rules, a default ACL admitting everything).
pub fn expected_ec2_failures(s: &Seeded, ebs_default: bool) -> Vec<(String, String)> {
    let sg = |id: &str| s.arn("security-group", id);
    let mut out = vec![
        (sg(&s.default_group), "ec2-sg-default-has-rules"),
        (s.arn("network-acl", &s.default_acl), "ec2-nacl-open-admin-ports"),
        (sg(&s.ssh_group), "ec2-sg-open-ssh"),
        (sg(&s.unused_group), "ec2-sg-unused"),
        (s.arn("instance", &s.exposed_instance), "ec2-instance-public-ip"),
        (s.arn("instance", &s.exposed_instance), "ec2-instance-imdsv2-not-required"),
        (s.arn("instance", &s.exposed_instance), "ec2-instance-user-data-secrets"),
        (s.arn("instance", &s.exposed_instance), "ec2-instance-exposed-high-risk-port"),
        (s.arn("volume", &s.unencrypted_volume), "ec2-ebs-volume-unencrypted"),
        (s.arn("snapshot", &s.public_snapshot), "ec2-snapshot-unencrypted"),
        (s.arn("snapshot", &s.public_snapshot), "ec2-snapshot-public"),
        (s.arn("image", &s.public_image), "ec2-ami-public"),
        (s.arn("network-acl", &s.rdp_acl), "ec2-nacl-open-admin-ports"),
    ];
    let mut owned: Vec<(String, String)> = out.drain(..).map(|(a, p)| (a, p.to_string())).collect();
    owned.extend(s.image_snapshots.iter().map(|v| (s.arn("snapshot", v), "ec2-snapshot-unencrypted".to_string())));
    owned.extend(s.root_volumes.iter().map(|v| (s.arn("volume", v), "ec2-ebs-volume-unencrypted".to_string())));
    if !ebs_default {
        owned.push((s.settings_arn(), "ec2-ebs-encryption-by-default-disabled".to_string()));
    }
    owned
}
