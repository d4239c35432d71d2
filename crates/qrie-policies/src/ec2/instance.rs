//! Reading an `AWS::EC2::Instance`: its state, addresses and security groups,
//! shared by the instance policies.

use qrie_model::{MissingData, Resource};
use serde_json::Value;

use crate::config::{described, required};

/// The DescribeInstances item, or `None` for a terminated instance: it stays in
/// DescribeInstances for about an hour, runs nothing and cannot be modified.
pub(crate) fn live(r: &Resource) -> Result<Option<&Value>, MissingData> {
    let instance = described(r, "Instance")?;
    let state = required(instance, "Instance", "State", Value::as_object)?;
    Ok((state.get("Name").and_then(Value::as_str) != Some("terminated")).then_some(instance))
}

/// The public IPv4 address, if any (absent when the instance has none).
pub(crate) fn public_ipv4(instance: &Value) -> Option<&str> {
    instance.get("PublicIpAddress").and_then(Value::as_str).filter(|a| !a.is_empty())
}

/// The instance's IPv6 addresses with their JSON paths. VPC IPv6 addresses are
/// globally unique; whether one is reachable depends on the subnet's route to an
/// internet gateway, which the instance description does not show, so they are
/// treated like a public IPv4 address.
pub(crate) fn ipv6_addresses(instance: &Value) -> Vec<(String, &str)> {
    let mut found = Vec::new();
    if let Some(a) = instance.get("Ipv6Address").and_then(Value::as_str) {
        found.push(("Instance.Ipv6Address".to_string(), a));
    }
    let interfaces = instance.get("NetworkInterfaces").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    for (i, eni) in interfaces.iter().enumerate() {
        let addresses = eni.get("Ipv6Addresses").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
        for (j, a) in addresses.iter().enumerate() {
            if let Some(a) = a.get("Ipv6Address").and_then(Value::as_str) {
                if !found.iter().any(|(_, seen)| *seen == a) {
                    found.push((format!("Instance.NetworkInterfaces[{i}].Ipv6Addresses[{j}].Ipv6Address"), a));
                }
            }
        }
    }
    found
}

/// The ids of the instance's security groups (`Instance.SecurityGroups[].GroupId`).
pub(crate) fn group_ids(instance: &Value) -> Result<Vec<&str>, MissingData> {
    let groups = required(instance, "Instance", "SecurityGroups", Value::as_array)?;
    groups
        .iter()
        .enumerate()
        .map(|(i, g)| required(g, &format!("Instance.SecurityGroups[{i}]"), "GroupId", Value::as_str))
        .collect()
}

/// The ARN of a security group of the instance's account and region.
pub(crate) fn group_arn(r: &Resource, group_id: &str) -> String {
    format!("arn:aws:ec2:{}:{}:security-group/{group_id}", r.region, r.account_id)
}
