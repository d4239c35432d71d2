//! EC2 resources beyond the basics in `mod.rs`: default security groups,
//! network ACLs, snapshots, images, user data.

use base64::Engine as _;
use qrie_model::{Resource, Service, Timestamp};
use serde_json::{json, Value};
use std::collections::BTreeMap;

use super::{aws_time, resource};

/// A VPC's default security group: as AWS creates it (all traffic from itself,
/// all out) unless `cleaned`, which leaves it without rules as CIS asks.
pub fn default_security_group(
    account: &str,
    region: &str,
    id: &str,
    vpc_id: &str,
    cleaned: bool,
    at: Timestamp,
) -> Resource {
    let (ingress, egress) = if cleaned {
        (json!([]), json!([]))
    } else {
        (
            json!([{"IpProtocol": "-1", "IpRanges": [], "Ipv6Ranges": [], "PrefixListIds": [],
                    "UserIdGroupPairs": [{"GroupId": id, "UserId": account}]}]),
            json!([{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}], "Ipv6Ranges": [], "PrefixListIds": [], "UserIdGroupPairs": []}]),
        )
    };
    let config = json!({
        "SecurityGroup": {"GroupId": id, "GroupName": "default", "Description": "default VPC security group",
            "VpcId": vpc_id, "OwnerId": account, "IpPermissions": ingress, "IpPermissionsEgress": egress, "Tags": []},
        "NetworkInterfaces": [],
    });
    resource(
        format!("arn:aws:ec2:{region}:{account}:security-group/{id}"),
        account,
        region,
        Service::Ec2,
        "AWS::EC2::SecurityGroup",
        "default",
        BTreeMap::new(),
        config,
        at,
    )
}

/// A VPC's network ACL: the default one admits everything (rule 100); a
/// hardened one denies SSH and RDP from anywhere before that.
pub fn network_acl(account: &str, region: &str, id: &str, vpc_id: &str, hardened: bool, at: Timestamp) -> Resource {
    let rule = |n: u32, action: &str, egress: bool, ports: Option<(u16, u16)>| {
        let mut e = json!({"RuleNumber": n, "Protocol": if ports.is_some() { "6" } else { "-1" }, "RuleAction": action,
                           "Egress": egress, "CidrBlock": "0.0.0.0/0"});
        if let Some((from, to)) = ports {
            e["PortRange"] = json!({"From": from, "To": to});
        }
        e
    };
    let mut entries = Vec::new();
    if hardened {
        entries.push(rule(50, "deny", false, Some((22, 22))));
        entries.push(rule(60, "deny", false, Some((3389, 3389))));
    }
    entries.extend([
        rule(100, "allow", false, None),
        rule(100, "allow", true, None),
        rule(32767, "deny", false, None),
        rule(32767, "deny", true, None),
    ]);
    let config = json!({"NetworkAcl": {"NetworkAclId": id, "VpcId": vpc_id, "IsDefault": true, "OwnerId": account,
        "Entries": entries, "Associations": [], "Tags": []}});
    resource(
        format!("arn:aws:ec2:{region}:{account}:network-acl/{id}"),
        account,
        region,
        Service::Ec2,
        "AWS::EC2::NetworkAcl",
        id,
        BTreeMap::new(),
        config,
        at,
    )
}

/// `public`: restorable by anyone (`CreateVolumePermissions: [{"Group": "all"}]`).
#[allow(clippy::too_many_arguments)] // one argument per attribute a policy reads
pub fn snapshot(
    account: &str,
    region: &str,
    id: &str,
    volume_id: &str,
    encrypted: bool,
    public: bool,
    created: Timestamp,
    at: Timestamp,
) -> Resource {
    let permissions = if public { json!([{"Group": "all"}]) } else { json!([]) };
    let config = json!({
        "Snapshot": {"SnapshotId": id, "VolumeId": volume_id, "VolumeSize": 8, "State": "completed", "Progress": "100%",
            "StartTime": aws_time(created), "OwnerId": account, "Encrypted": encrypted, "Description": "nightly backup",
            "StorageTier": "standard"},
        "CreateVolumePermissions": permissions,
    });
    resource(
        format!("arn:aws:ec2:{region}:{account}:snapshot/{id}"),
        account,
        region,
        Service::Ec2,
        "AWS::EC2::Snapshot",
        id,
        BTreeMap::new(),
        config,
        at,
    )
}

pub fn image(
    account: &str,
    region: &str,
    id: &str,
    name: &str,
    public: bool,
    created: Timestamp,
    at: Timestamp,
) -> Resource {
    let config = json!({
        "Image": {"ImageId": id, "Name": name, "OwnerId": account, "Public": public, "State": "available",
            "CreationDate": aws_time(created), "Architecture": "x86_64", "ImageType": "machine", "RootDeviceType": "ebs",
            "VirtualizationType": "hvm", "PlatformDetails": "Linux/UNIX"},
        "LaunchPermissions": if public { json!([{"Group": "all"}]) } else { json!([]) },
    });
    resource(
        format!("arn:aws:ec2:{region}:{account}:image/{id}"),
        account,
        region,
        Service::Ec2,
        "AWS::EC2::Image",
        name,
        BTreeMap::new(),
        config,
        at,
    )
}

/// Base64 user data: a bootstrap script, with a hard-coded secret when asked.
pub fn user_data(with_secret: bool) -> Value {
    let script = if with_secret {
        "#!/bin/bash\nexport AWS_ACCESS_KEY_ID=AKIAQRIESIMULATED7XY\nexport AWS_SECRET_ACCESS_KEY=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\n/opt/app/start.sh\n"
    } else {
        "#!/bin/bash\nyum install -y nginx\nexport DB_PASSWORD=${DB_PASSWORD}\nsystemctl enable --now nginx\n"
    };
    json!(base64::engine::general_purpose::STANDARD.encode(script))
}
