//! EC2, per region: security groups (with the network interfaces using each),
//! instances (with their user data), volumes, the account's own snapshots and
//! images (with who may use them), network ACLs, VPCs, and the region's
//! account settings (EBS encryption by default, instance metadata defaults).
//!
//! Listing and describing share one reader per resource kind: a describe is a
//! listing filtered to one id, where the kind's not-found code means "gone".
//! The kinds are listed concurrently (each is its own EC2 action with its own
//! rate limit); the per-resource calls within a kind are bounded by
//! `concurrency`. A kind whose listing failed makes the whole listing
//! incomplete (nothing is deleted), while the other kinds are still stored.

mod convert;
#[cfg(test)]
mod decode_tests;

use aws_sdk_ec2::types::{Filter, ImageAttributeName, InstanceAttributeName, SnapshotAttributeName};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use futures::stream::{self, StreamExt};
use qrie_engine::CloudError;
use qrie_model::ids::pseudo_arn;
use qrie_model::{Resource, Service, Timestamp};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};

use crate::cloud::{Clients, Found};
use crate::read::{self, classify, Config};

/// One region of one account, as the readers see it.
struct Cx<'a> {
    ec2: aws_sdk_ec2::Client,
    account: &'a str,
    region: &'a str,
    concurrency: usize,
    at: Timestamp,
}

impl Cx<'_> {
    fn arn(&self, segment: &str, id: &str) -> String {
        format!("arn:aws:ec2:{}:{}:{segment}/{id}", self.region, self.account)
    }

    #[allow(clippy::too_many_arguments)] // the identity of a resource, field by field
    fn resource(
        &self,
        segment: &str,
        id: &str,
        resource_type: &str,
        name: String,
        tags: BTreeMap<String, String>,
        config: Config,
    ) -> Resource {
        let (config, errors) = config.into_parts();
        Resource::new(
            self.arn(segment, id),
            self.account,
            self.region,
            Service::Ec2,
            resource_type,
            name,
            tags,
            config,
            errors,
            self.at,
        )
    }
}

/// What one reader found: resources, or the listing call's failure.
type Read = Result<Vec<Resource>, CloudError>;

/// Whether a failed call's code is one of `codes`.
fn has_code<E: ProvideErrorMetadata>(e: &SdkError<E, HttpResponse>, codes: &[&str]) -> bool {
    e.code().is_some_and(|c| codes.contains(&c))
}

/// A listing call's pages, or `Ok(None)` when a describe's id is gone
/// (`gone` codes), or the call's failure.
fn pages<T, E>(result: Result<Vec<T>, SdkError<E, HttpResponse>>, gone: &[&str]) -> Result<Option<Vec<T>>, CloudError>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match result {
        Ok(p) => Ok(Some(p)),
        Err(e) if has_code(&e, gone) => Ok(None),
        Err(e) => Err(read::cloud_error(&e)),
    }
}

pub(crate) async fn list(
    clients: &Clients,
    account: &str,
    region: &str,
    concurrency: usize,
    at: Timestamp,
) -> Result<Found, CloudError> {
    let cx = Cx { ec2: clients.ec2(region), account, region, concurrency: concurrency.max(1), at };
    let (groups, instances, volumes, snapshots, images, acls, vpcs) = tokio::join!(
        security_groups(&cx, None),
        instances(&cx, None),
        volumes(&cx, None),
        snapshots(&cx, None),
        images(&cx, None),
        network_acls(&cx, None),
        vpcs(&cx, None),
    );
    let mut found = Found::default();
    let mut failures = Vec::new();
    let kinds = [
        ("security groups", groups),
        ("instances", instances),
        ("volumes", volumes),
        ("snapshots", snapshots),
        ("images", images),
        ("network ACLs", acls),
        ("VPCs", vpcs),
    ];
    let total = kinds.len();
    for (what, read) in kinds {
        match read {
            Ok(mut resources) => found.resources.append(&mut resources),
            Err(e) => failures.push((what, e)),
        }
    }
    if failures.len() == total {
        // Nothing could be listed (the region is denied or unreachable): the
        // unit failed, as a failed bucket list fails S3's.
        return Err(failures.swap_remove(0).1);
    }
    found.errors = failures.into_iter().map(|(what, e)| format!("{region}: listing {what} failed: {e}")).collect();
    found.resources.sort_by(|a, b| a.arn.cmp(&b.arn));
    found.resources.push(account_settings(&cx).await);
    Ok(found)
}

/// One resource by ARN: `Ok(None)` when EC2 says it does not exist.
pub(crate) async fn describe(
    clients: &Clients,
    account: &str,
    arn: &str,
    at: Timestamp,
) -> Result<Option<Resource>, CloudError> {
    let unknown = || CloudError::UnknownResource(arn.to_string());
    // arn:aws:ec2:REGION:ACCOUNT:RESOURCE
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [_, _, _, region, _, resource] = parts.as_slice() else { return Err(unknown()) };
    if region.is_empty() {
        return Err(unknown());
    }
    let cx = Cx { ec2: clients.ec2(region), account, region, concurrency: 1, at };
    if arn == pseudo_arn::ec2_account_settings(account, region) {
        return Ok(Some(account_settings(&cx).await));
    }
    let Some((segment, id)) = resource.split_once('/').filter(|(_, id)| !id.is_empty() && !id.contains('/')) else {
        return Err(unknown());
    };
    let read = match segment {
        "security-group" => security_groups(&cx, Some(id)).await,
        "instance" => instances(&cx, Some(id)).await,
        "volume" => volumes(&cx, Some(id)).await,
        "snapshot" => snapshots(&cx, Some(id)).await,
        "image" => images(&cx, Some(id)).await,
        "network-acl" => network_acls(&cx, Some(id)).await,
        "vpc" => vpcs(&cx, Some(id)).await,
        _ => return Err(unknown()),
    }?;
    Ok(read.into_iter().find(|r| r.arn == arn))
}

fn one(id: Option<&str>) -> Option<Vec<String>> {
    id.map(|i| vec![i.to_string()])
}

/// Security groups with the network interfaces using each (one
/// DescribeNetworkInterfaces for the region, or for the one group described).
async fn security_groups(cx: &Cx<'_>, only: Option<&str>) -> Read {
    let out = cx.ec2.describe_security_groups().set_group_ids(one(only)).into_paginator().send().try_collect().await;
    let Some(pages) = pages(out, &["InvalidGroup.NotFound"])? else { return Ok(Vec::new()) };
    let mut interfaces = cx.ec2.describe_network_interfaces();
    if let Some(id) = only {
        interfaces = interfaces.filters(Filter::builder().name("group-id").values(id).build());
    }
    let interfaces = match interfaces.into_paginator().send().try_collect().await {
        Ok(pages) => Ok(interfaces_by_group(pages.iter().flat_map(|p| p.network_interfaces()))),
        Err(e) => Err(read::message(&e)),
    };
    Ok(pages
        .iter()
        .flat_map(|p| p.security_groups())
        .map(|g| {
            let id = g.group_id().unwrap_or_default();
            let mut c = Config::default();
            c.set("SecurityGroup", convert::security_group(g));
            match &interfaces {
                Ok(by_group) => c.set("NetworkInterfaces", Value::Array(by_group.get(id).cloned().unwrap_or_default())),
                Err(msg) => {
                    c.errors.insert("NetworkInterfaces".to_string(), msg.clone());
                }
            }
            let (_, tags) = convert::tags(&g.tags);
            let name = g.group_name().unwrap_or(id).to_string();
            cx.resource("security-group", id, "AWS::EC2::SecurityGroup", name, tags, c)
        })
        .collect())
}

/// The interfaces using each security group, by group id.
fn interfaces_by_group<'a>(
    interfaces: impl Iterator<Item = &'a aws_sdk_ec2::types::NetworkInterface>,
) -> HashMap<String, Vec<Value>> {
    let mut by_group: HashMap<String, Vec<Value>> = HashMap::new();
    for i in interfaces {
        for g in i.groups() {
            if let Some(id) = g.group_id() {
                by_group.entry(id.to_string()).or_default().push(convert::interface_using_group(i));
            }
        }
    }
    by_group
}

/// Instances, each with its user data (DescribeInstanceAttribute `userData`,
/// read because `ec2-instance-user-data-secrets` needs it). A terminated
/// instance runs nothing: its user data is not read and not stored.
async fn instances(cx: &Cx<'_>, only: Option<&str>) -> Read {
    let out = cx.ec2.describe_instances().set_instance_ids(one(only)).into_paginator().send().try_collect().await;
    let Some(pages) = pages(out, &["InvalidInstanceID.NotFound"])? else { return Ok(Vec::new()) };
    let items = pages
        .into_iter()
        .flat_map(|p| p.reservations.unwrap_or_default())
        .flat_map(|r| r.instances.unwrap_or_default());
    Ok(bounded(cx, items, instance).await)
}

/// Reads `items` with at most `cx.concurrency` at once; `None`s (gone meanwhile) are dropped.
async fn bounded<'a, T, F, Fut>(cx: &'a Cx<'a>, items: impl Iterator<Item = T>, read: F) -> Vec<Resource>
where
    F: Fn(&'a Cx<'a>, T) -> Fut,
    Fut: std::future::Future<Output = Option<Resource>>,
{
    stream::iter(items)
        .map(|i| read(cx, i))
        .buffer_unordered(cx.concurrency)
        .filter_map(|r| async move { r })
        .collect()
        .await
}

async fn instance<'a>(cx: &'a Cx<'a>, i: aws_sdk_ec2::types::Instance) -> Option<Resource> {
    let id = i.instance_id().unwrap_or_default();
    let mut c = Config::default();
    c.set("Instance", convert::instance(&i));
    let terminated = i.state().and_then(|s| s.name()).map(|n| n.as_str()) == Some("terminated");
    if !terminated {
        let out = cx.ec2.describe_instance_attribute().instance_id(id).attribute(InstanceAttributeName::UserData);
        let out = classify(out.send().await, &[], &["InvalidInstanceID.NotFound"]);
        c.put("UserData", out, |o| o.user_data().and_then(|u| u.value()).map_or(Value::Null, |v| json!(v)));
    }
    if c.gone {
        return None;
    }
    let (_, tags) = convert::tags(&i.tags);
    let name = convert::name_tag(&tags).unwrap_or_else(|| id.to_string());
    Some(cx.resource("instance", id, "AWS::EC2::Instance", name, tags, c))
}

async fn volumes(cx: &Cx<'_>, only: Option<&str>) -> Read {
    let out = cx.ec2.describe_volumes().set_volume_ids(one(only)).into_paginator().send().try_collect().await;
    let Some(pages) = pages(out, &["InvalidVolume.NotFound"])? else { return Ok(Vec::new()) };
    Ok(pages
        .iter()
        .flat_map(|p| p.volumes())
        .map(|v| {
            let id = v.volume_id().unwrap_or_default();
            let mut c = Config::default();
            c.set("Volume", convert::volume(v));
            let (_, tags) = convert::tags(&v.tags);
            let name = convert::name_tag(&tags).unwrap_or_else(|| id.to_string());
            cx.resource("volume", id, "AWS::EC2::Volume", name, tags, c)
        })
        .collect())
}

const SNAPSHOT_GONE: &[&str] = &["InvalidSnapshot.NotFound"];

/// The account's own snapshots (`OwnerIds=self`: not the public ones shared
/// with everybody), each with its createVolumePermission.
async fn snapshots(cx: &Cx<'_>, only: Option<&str>) -> Read {
    let list = cx.ec2.describe_snapshots().owner_ids("self").set_snapshot_ids(one(only));
    let Some(pages) = pages(list.into_paginator().send().try_collect().await, SNAPSHOT_GONE)? else {
        return Ok(Vec::new());
    };
    // `self` is the caller's account; the check keeps emulators that ignore
    // OwnerIds from passing off other owners' snapshots as the account's.
    let items = pages.into_iter().flat_map(|p| p.snapshots.unwrap_or_default());
    Ok(bounded(cx, items.filter(|s| s.owner_id() == Some(cx.account)), snapshot).await)
}

async fn snapshot<'a>(cx: &'a Cx<'a>, s: aws_sdk_ec2::types::Snapshot) -> Option<Resource> {
    let id = s.snapshot_id().unwrap_or_default();
    let mut c = Config::default();
    c.set("Snapshot", convert::snapshot(&s));
    let out =
        cx.ec2.describe_snapshot_attribute().snapshot_id(id).attribute(SnapshotAttributeName::CreateVolumePermission);
    c.put("CreateVolumePermissions", classify(out.send().await, &[], SNAPSHOT_GONE), |o| {
        Value::Array(o.create_volume_permissions().iter().map(convert::create_volume_permission).collect())
    });
    if c.gone {
        return None;
    }
    let (_, tags) = convert::tags(&s.tags);
    Some(cx.resource("snapshot", id, "AWS::EC2::Snapshot", id.to_string(), tags, c))
}

const IMAGE_GONE: &[&str] = &["InvalidAMIID.NotFound", "InvalidAMIID.Unavailable"];

/// The account's own AMIs (`Owners=self`), each with its launchPermission.
async fn images(cx: &Cx<'_>, only: Option<&str>) -> Read {
    let list = cx.ec2.describe_images().owners("self").set_image_ids(one(only));
    let Some(pages) = pages(list.into_paginator().send().try_collect().await, IMAGE_GONE)? else {
        return Ok(Vec::new());
    };
    let items = pages.into_iter().flat_map(|p| p.images.unwrap_or_default());
    Ok(bounded(cx, items.filter(|i| i.owner_id() == Some(cx.account)), image).await)
}

async fn image<'a>(cx: &'a Cx<'a>, i: aws_sdk_ec2::types::Image) -> Option<Resource> {
    let id = i.image_id().unwrap_or_default();
    let mut c = Config::default();
    c.set("Image", convert::image(&i));
    let out = cx.ec2.describe_image_attribute().image_id(id).attribute(ImageAttributeName::LaunchPermission);
    c.put("LaunchPermissions", classify(out.send().await, &[], IMAGE_GONE), |o| {
        Value::Array(o.launch_permissions().iter().map(convert::launch_permission).collect())
    });
    if c.gone {
        return None;
    }
    let (_, tags) = convert::tags(&i.tags);
    let name = i.name().unwrap_or(id).to_string();
    Some(cx.resource("image", id, "AWS::EC2::Image", name, tags, c))
}

async fn network_acls(cx: &Cx<'_>, only: Option<&str>) -> Read {
    let out = cx.ec2.describe_network_acls().set_network_acl_ids(one(only)).into_paginator().send().try_collect().await;
    // moto 5.2.5 answers an unknown ACL id with the route-table code; the
    // request names one ACL, so either code can only mean that ACL is gone.
    let gone = &["InvalidNetworkAclID.NotFound", "InvalidRouteTableID.NotFound"];
    let Some(pages) = pages(out, gone)? else { return Ok(Vec::new()) };
    Ok(pages
        .iter()
        .flat_map(|p| p.network_acls())
        .map(|a| {
            let id = a.network_acl_id().unwrap_or_default();
            let mut c = Config::default();
            c.set("NetworkAcl", convert::network_acl(a));
            let (_, tags) = convert::tags(&a.tags);
            let name = convert::name_tag(&tags).unwrap_or_else(|| id.to_string());
            cx.resource("network-acl", id, "AWS::EC2::NetworkAcl", name, tags, c)
        })
        .collect())
}

async fn vpcs(cx: &Cx<'_>, only: Option<&str>) -> Read {
    let out = cx.ec2.describe_vpcs().set_vpc_ids(one(only)).into_paginator().send().try_collect().await;
    let Some(pages) = pages(out, &["InvalidVpcID.NotFound"])? else { return Ok(Vec::new()) };
    Ok(pages
        .iter()
        .flat_map(|p| p.vpcs())
        .map(|v| {
            let id = v.vpc_id().unwrap_or_default();
            let mut c = Config::default();
            c.set("Vpc", convert::vpc(v));
            let (_, tags) = convert::tags(&v.tags);
            let name = convert::name_tag(&tags).unwrap_or_else(|| id.to_string());
            cx.resource("vpc", id, "AWS::EC2::VPC", name, tags, c)
        })
        .collect())
}

/// The region's account settings. Each call that fails (GetInstanceMetadataDefaults
/// is recent and not every endpoint has it) is a collection error on this resource.
async fn account_settings(cx: &Cx<'_>) -> Resource {
    let mut c = Config::default();
    let ebs = classify(cx.ec2.get_ebs_encryption_by_default().send().await, &[], &[]);
    c.put("EbsEncryptionByDefault", ebs, |o| o.ebs_encryption_by_default().map_or(Value::Null, Value::Bool));
    let imds = classify(cx.ec2.get_instance_metadata_defaults().send().await, &[], &[]);
    c.put("InstanceMetadataDefaults", imds, |o| o.account_level().map_or(Value::Null, convert::metadata_defaults));
    let (config, errors) = c.into_parts();
    Resource::new(
        pseudo_arn::ec2_account_settings(cx.account, cx.region),
        cx.account,
        cx.region,
        Service::Ec2,
        "AWS::EC2::AccountSettings",
        "account-settings",
        BTreeMap::new(),
        config,
        errors,
        cx.at,
    )
}
