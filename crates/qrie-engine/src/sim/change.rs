//! Simulated changes: what operators and attackers do to an estate between
//! sweeps, each with the CloudTrail record AWS would write for it. Sent to the
//! event path, the records let qrie catch the change in seconds; dropped
//! (`--silent`), the change is what an anti-entropy sweep must catch as drift.

use chrono::Utc;
use qrie_model::{Resource, Service, Timestamp};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;

use super::estate::{SimAccount, SimEstate};
use super::generate::{self as g, AclKind, BucketPolicyKind, BucketSpec, EncryptionKind, UserSpec, ALL_USERS};

/// A CloudTrail record as an EventBridge rule delivers it (to SQS, or to a
/// function): the envelope around it, with `id` as the event's id.
pub fn eventbridge_envelope(id: &str, record: &Value) -> Value {
    let service = record["eventSource"].as_str().unwrap_or_default().trim_end_matches(".amazonaws.com");
    json!({
        "version": "0",
        "id": id,
        "detail-type": "AWS API Call via CloudTrail",
        "source": format!("aws.{service}"),
        "account": record["recipientAccountId"],
        "time": record["eventTime"],
        "region": record["awsRegion"],
        "resources": [],
        "detail": record,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ChangeKind {
    OpenBucketAcl,
    CloseBucketAcl,
    SuspendVersioning,
    EnableVersioning,
    OpenSecurityGroupPort,
    RevokeSecurityGroupPort,
    MakeImdsOptional,
    RequireImdsV2,
    CreateVolume,
    DeleteVolume,
    CreateBucket,
    DeleteBucket,
    CreateUser,
    DeleteUser,
    DeactivateAccessKey,
}

const KINDS: [ChangeKind; 15] = [
    ChangeKind::OpenBucketAcl,
    ChangeKind::CloseBucketAcl,
    ChangeKind::SuspendVersioning,
    ChangeKind::EnableVersioning,
    ChangeKind::OpenSecurityGroupPort,
    ChangeKind::RevokeSecurityGroupPort,
    ChangeKind::MakeImdsOptional,
    ChangeKind::RequireImdsV2,
    ChangeKind::CreateVolume,
    ChangeKind::DeleteVolume,
    ChangeKind::CreateBucket,
    ChangeKind::DeleteBucket,
    ChangeKind::CreateUser,
    ChangeKind::DeleteUser,
    ChangeKind::DeactivateAccessKey,
];

/// One change made to the estate.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AppliedChange {
    pub kind: ChangeKind,
    pub account_id: String,
    #[serde(rename = "ARN")]
    pub arn: String,
    pub description: String,
    /// The CloudTrail record of the API call that made the change.
    pub record: Value,
}

impl SimEstate {
    /// Applies `count` random changes. Without a seed, each batch continues
    /// from the estate's serial, so successive batches differ but replaying a
    /// store gives the same estate.
    pub fn apply_changes(&mut self, count: usize, seed: Option<u64>) -> Vec<AppliedChange> {
        let seed = seed.unwrap_or(self.spec.seed ^ self.serial.wrapping_mul(0x2545_F491_4F6C_DD1D));
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut applied = Vec::with_capacity(count);
        let mut attempts = 0;
        while applied.len() < count && attempts < count * 20 + 20 {
            attempts += 1;
            let kind = KINDS[rng.random_range(0..KINDS.len())];
            if let Some(change) = self.apply_one(kind, &mut rng) {
                self.serial += 1;
                applied.push(change);
            }
        }
        applied
    }

    /// Applies one change of this kind to a random eligible resource; `None`
    /// when nothing is eligible.
    pub fn apply_one(&mut self, kind: ChangeKind, rng: &mut ChaCha8Rng) -> Option<AppliedChange> {
        if self.accounts().is_empty() {
            return None;
        }
        let now = Utc::now();
        match kind {
            ChangeKind::OpenBucketAcl => self.modify(
                rng,
                "AWS::S3::Bucket",
                |r| !public_acl(r) && r.configuration["PublicAccessBlock"].is_null(),
                |r, a| {
                    r.configuration["Acl"] = g::s3_acl(&a.owner_id, AclKind::PublicRead);
                    r.configuration["OwnershipControls"] = Value::Null;
                    (
                        "made public-read through its ACL".into(),
                        s3_event("PutBucketAcl", a, r, json!({"x-amz-acl": ["public-read"], "acl": ""})),
                    )
                },
            ),
            ChangeKind::CloseBucketAcl => self.modify(rng, "AWS::S3::Bucket", public_acl, |r, a| {
                r.configuration["Acl"] = g::s3_acl(&a.owner_id, AclKind::Private);
                (
                    "ACL set back to private".into(),
                    s3_event("PutBucketAcl", a, r, json!({"x-amz-acl": ["private"], "acl": ""})),
                )
            }),
            ChangeKind::SuspendVersioning => self.modify(
                rng,
                "AWS::S3::Bucket",
                |r| versioning(r) == Some("Enabled"),
                |r, a| {
                    r.configuration["Versioning"] = json!({"Status": "Suspended", "MFADelete": "Disabled"});
                    ("versioning suspended".into(), versioning_event(a, r, "Suspended"))
                },
            ),
            ChangeKind::EnableVersioning => self.modify(
                rng,
                "AWS::S3::Bucket",
                |r| versioning(r) != Some("Enabled"),
                |r, a| {
                    r.configuration["Versioning"] = json!({"Status": "Enabled", "MFADelete": "Disabled"});
                    ("versioning enabled".into(), versioning_event(a, r, "Enabled"))
                },
            ),
            ChangeKind::OpenSecurityGroupPort => {
                let port = [22u16, 3389][rng.random_range(0..2)];
                self.modify(
                    rng,
                    "AWS::EC2::SecurityGroup",
                    |r| open_ports(r).is_empty(),
                    move |r, a| {
                        if let Some(perms) = r.configuration["SecurityGroup"]["IpPermissions"].as_array_mut() {
                            perms.push(g::open_permission(port, false));
                        }
                        (
                            format!("port {port} opened to 0.0.0.0/0"),
                            sg_event("AuthorizeSecurityGroupIngress", a, r, port, now),
                        )
                    },
                )
            }
            ChangeKind::RevokeSecurityGroupPort => self.modify(
                rng,
                "AWS::EC2::SecurityGroup",
                |r| !open_ports(r).is_empty(),
                move |r, a| {
                    let port = open_ports(r)[0];
                    if let Some(perms) = r.configuration["SecurityGroup"]["IpPermissions"].as_array_mut() {
                        perms.retain(|p| !(is_open(p) && p["FromPort"] == json!(port)));
                    }
                    (
                        format!("port {port} closed to the internet"),
                        sg_event("RevokeSecurityGroupIngress", a, r, port, now),
                    )
                },
            ),
            ChangeKind::MakeImdsOptional => self.modify(
                rng,
                "AWS::EC2::Instance",
                |r| http_tokens(r) == Some("required"),
                |r, a| {
                    r.configuration["Instance"]["MetadataOptions"]["HttpTokens"] = json!("optional");
                    ("IMDSv1 allowed again (HttpTokens optional)".into(), imds_event(a, r, "optional"))
                },
            ),
            ChangeKind::RequireImdsV2 => self.modify(
                rng,
                "AWS::EC2::Instance",
                |r| http_tokens(r) == Some("optional"),
                |r, a| {
                    r.configuration["Instance"]["MetadataOptions"]["HttpTokens"] = json!("required");
                    ("IMDSv2 required (HttpTokens required)".into(), imds_event(a, r, "required"))
                },
            ),
            ChangeKind::DeleteVolume => self.delete(
                rng,
                "AWS::EC2::Volume",
                |r| r.configuration["Volume"]["State"] == "available",
                |r, a| {
                    let id = r.name.clone();
                    ec2_event("DeleteVolume", a, &r.region, json!({"volumeId": id}), json!({"_return": true}))
                },
            ),
            ChangeKind::DeleteBucket => {
                self.delete(rng, "AWS::S3::Bucket", |_| true, |r, a| s3_event("DeleteBucket", a, r, json!({})))
            }
            ChangeKind::DeleteUser => self.delete(
                rng,
                "AWS::IAM::User",
                |_| true,
                |r, a| iam_event("DeleteUser", a, json!({"userName": r.name}), Value::Null),
            ),
            ChangeKind::DeactivateAccessKey => self.modify(
                rng,
                "AWS::IAM::User",
                |r| active_key_slot(r).is_some(),
                |r, a| {
                    let slot = active_key_slot(r).unwrap_or(1);
                    r.configuration["CredentialReport"][format!("access_key_{slot}_active")] = json!("false");
                    let key_id = format!(
                        "AKIA{}",
                        &r.name.to_uppercase().chars().chain(std::iter::repeat('X')).take(16).collect::<String>()
                    );
                    let record = iam_event(
                        "UpdateAccessKey",
                        a,
                        json!({"userName": r.name, "accessKeyId": key_id, "status": "Inactive"}),
                        Value::Null,
                    );
                    (format!("access key {slot} deactivated"), record)
                },
            ),
            ChangeKind::CreateVolume => self.create_new(rng, |estate, rng, a| {
                let region = a.regions[rng.random_range(0..a.regions.len())].clone();
                let id = format!("vol-{}", g::hex_id(rng, 17));
                let encrypted = rng.random_bool(0.5);
                let r = g::volume(&a.account_id, &region, &id, encrypted, None, now, now);
                let record = ec2_event(
                    "CreateVolume",
                    a,
                    &region,
                    json!({"size": 8, "zone": format!("{region}a"), "volumeType": "gp3", "encrypted": encrypted}),
                    json!({"volumeId": id, "size": "8", "zone": format!("{region}a"), "status": "creating",
                           "createTime": now.timestamp_millis(), "volumeType": "gp3", "encrypted": encrypted}),
                );
                let _ = estate;
                (r, format!("volume created ({})", if encrypted { "encrypted" } else { "unencrypted" }), record)
            }),
            ChangeKind::CreateBucket => self.create_new(rng, |estate, rng, a| {
                let region = a.regions[rng.random_range(0..a.regions.len())].clone();
                let b = BucketSpec {
                    name: format!("{}-new-{}-{}", a.name, &a.account_id[8..], estate.serial),
                    region: region.clone(),
                    acl: AclKind::Private,
                    bucket_bpa: true,
                    policy: BucketPolicyKind::None,
                    versioning: None,
                    mfa_delete: false,
                    encryption: EncryptionKind::SseS3,
                    logging: false,
                    ownership_enforced: true,
                    lifecycle: false,
                    object_lock: false,
                    tags: BTreeMap::new(),
                };
                let r = g::s3_bucket(&a.account_id, &a.owner_id, &b, now);
                let mut record = s3_event("CreateBucket", a, &r, json!({}));
                if region != "us-east-1" {
                    record["requestParameters"]["CreateBucketConfiguration"] = json!({"LocationConstraint": region});
                }
                (r, "bucket created (versioning off)".into(), record)
            }),
            ChangeKind::CreateUser => self.create_new(rng, |estate, rng, a| {
                let u = UserSpec {
                    name: format!("contractor{}", estate.serial),
                    user_id: g::iam_id(rng, "AIDA"),
                    created: now,
                    console: false,
                    mfa: false,
                    keys: Vec::new(),
                    password_last_used: None,
                    attached: Vec::new(),
                    inline: None,
                };
                let r = g::iam_user(&a.account_id, &u, now);
                let response = json!({"user": {"userName": u.name, "path": "/", "userId": u.user_id,
                    "arn": r.arn, "createDate": now.format("%b %-d, %Y %-I:%M:%S %p").to_string()}});
                (r, "IAM user created".into(), iam_event("CreateUser", a, json!({"userName": u.name}), response))
            }),
        }
    }

    fn pick(
        &self,
        rng: &mut ChaCha8Rng,
        rtype: &str,
        eligible: impl Fn(&Resource) -> bool,
    ) -> Option<(Resource, SimAccount)> {
        // A few random draws find an eligible resource of a large estate in
        // constant time; the list of all eligible ones is the fallback (and
        // picks as uniformly).
        let arns = self.arns_of_type(rtype);
        if arns.is_empty() {
            return None;
        }
        let drawn = (0..32).map(|_| &arns[rng.random_range(0..arns.len())]).find_map(|arn| {
            let r = self.get(arn)?;
            eligible(r).then_some(r)
        });
        let r = match drawn {
            Some(r) => r.clone(),
            None => {
                let candidates: Vec<&Resource> =
                    arns.iter().filter_map(|a| self.get(a)).filter(|r| eligible(r)).collect();
                if candidates.is_empty() {
                    return None;
                }
                candidates[rng.random_range(0..candidates.len())].clone()
            }
        };
        let a = self.account(&r.account_id)?.clone();
        Some((r, a))
    }

    fn modify(
        &mut self,
        rng: &mut ChaCha8Rng,
        rtype: &str,
        eligible: impl Fn(&Resource) -> bool,
        change: impl FnOnce(&mut Resource, &SimAccount) -> (String, Value),
    ) -> Option<AppliedChange> {
        let (mut r, a) = self.pick(rng, rtype, eligible)?;
        let (what, mut record) = change(&mut r, &a);
        stamp(&mut record, rng);
        let applied = AppliedChange {
            kind: kind_of(&record),
            account_id: a.account_id.clone(),
            arn: r.arn.clone(),
            description: format!("{} {}: {what}", type_label(&r), r.name),
            record,
        };
        self.upsert(r);
        Some(applied)
    }

    fn delete(
        &mut self,
        rng: &mut ChaCha8Rng,
        rtype: &str,
        eligible: impl Fn(&Resource) -> bool,
        event: impl FnOnce(&Resource, &SimAccount) -> Value,
    ) -> Option<AppliedChange> {
        let (r, a) = self.pick(rng, rtype, eligible)?;
        let mut record = event(&r, &a);
        stamp(&mut record, rng);
        self.remove(&r.arn);
        Some(AppliedChange {
            kind: kind_of(&record),
            account_id: a.account_id.clone(),
            arn: r.arn.clone(),
            description: format!("{} {}: deleted", type_label(&r), r.name),
            record,
        })
    }

    fn create_new(
        &mut self,
        rng: &mut ChaCha8Rng,
        build: impl FnOnce(&SimEstate, &mut ChaCha8Rng, &SimAccount) -> (Resource, String, Value),
    ) -> Option<AppliedChange> {
        let a = self.accounts()[rng.random_range(0..self.accounts().len())].clone();
        let (r, what, mut record) = build(self, rng, &a);
        stamp(&mut record, rng);
        let applied = AppliedChange {
            kind: kind_of(&record),
            account_id: a.account_id.clone(),
            arn: r.arn.clone(),
            description: format!("{} {}: {what}", type_label(&r), r.name),
            record,
        };
        self.upsert(r);
        Some(applied)
    }
}

fn kind_of(record: &Value) -> ChangeKind {
    let name = record["eventName"].as_str().unwrap_or_default();
    let params = &record["requestParameters"];
    match name {
        "PutBucketAcl" if params["x-amz-acl"][0] == "public-read" => ChangeKind::OpenBucketAcl,
        "PutBucketAcl" => ChangeKind::CloseBucketAcl,
        "PutBucketVersioning" if params["VersioningConfiguration"]["Status"] == "Suspended" => {
            ChangeKind::SuspendVersioning
        }
        "PutBucketVersioning" => ChangeKind::EnableVersioning,
        "AuthorizeSecurityGroupIngress" => ChangeKind::OpenSecurityGroupPort,
        "RevokeSecurityGroupIngress" => ChangeKind::RevokeSecurityGroupPort,
        "ModifyInstanceMetadataOptions"
            if params["ModifyInstanceMetadataOptionsRequest"]["HttpTokens"] == "optional" =>
        {
            ChangeKind::MakeImdsOptional
        }
        "ModifyInstanceMetadataOptions" => ChangeKind::RequireImdsV2,
        "CreateVolume" => ChangeKind::CreateVolume,
        "DeleteVolume" => ChangeKind::DeleteVolume,
        "CreateBucket" => ChangeKind::CreateBucket,
        "DeleteBucket" => ChangeKind::DeleteBucket,
        "CreateUser" => ChangeKind::CreateUser,
        "DeleteUser" => ChangeKind::DeleteUser,
        _ => ChangeKind::DeactivateAccessKey,
    }
}

fn type_label(r: &Resource) -> &'static str {
    match r.resource_type.as_str() {
        "AWS::S3::Bucket" => "bucket",
        "AWS::EC2::SecurityGroup" => "security group",
        "AWS::EC2::Instance" => "instance",
        "AWS::EC2::Volume" => "volume",
        "AWS::IAM::User" => "user",
        _ => "resource",
    }
}

fn public_acl(r: &Resource) -> bool {
    r.configuration["Acl"]["Grants"].as_array().is_some_and(|gs| gs.iter().any(|g| g["Grantee"]["URI"] == ALL_USERS))
}

fn versioning(r: &Resource) -> Option<&str> {
    r.configuration["Versioning"]["Status"].as_str()
}

fn is_open(p: &Value) -> bool {
    p["IpRanges"].as_array().is_some_and(|rs| rs.iter().any(|r| r["CidrIp"] == "0.0.0.0/0"))
}

/// Admin ports (22, 3389) this group opens to the internet.
fn open_ports(r: &Resource) -> Vec<u16> {
    r.configuration["SecurityGroup"]["IpPermissions"]
        .as_array()
        .map(|ps| {
            ps.iter()
                .filter(|p| is_open(p))
                .filter_map(|p| p["FromPort"].as_u64().map(|x| x as u16))
                .filter(|p| *p == 22 || *p == 3389)
                .collect()
        })
        .unwrap_or_default()
}

fn http_tokens(r: &Resource) -> Option<&str> {
    r.configuration["Instance"]["MetadataOptions"]["HttpTokens"].as_str()
}

fn active_key_slot(r: &Resource) -> Option<u8> {
    (1..=2).find(|n| r.configuration["CredentialReport"][format!("access_key_{n}_active")] == "true")
}

/// Fills the fields every CloudTrail record has.
fn record(a: &SimAccount, source: &str, name: &str, region: &str, request: Value, response: Value) -> Value {
    json!({
        "eventVersion": "1.09",
        "userIdentity": {
            "type": "AssumedRole",
            "principalId": "AROAQRIESIMULATED0001:ops-engineer",
            "arn": format!("arn:aws:sts::{}:assumed-role/Operator/ops-engineer", a.account_id),
            "accountId": a.account_id,
            "accessKeyId": "ASIAQRIESIMULATED001",
            "sessionContext": {
                "sessionIssuer": {"type": "Role", "principalId": "AROAQRIESIMULATED0001",
                    "arn": format!("arn:aws:iam::{}:role/Operator", a.account_id), "accountId": a.account_id, "userName": "Operator"},
                "attributes": {"creationDate": aws_z(Utc::now()), "mfaAuthenticated": "false"}
            }
        },
        "eventTime": aws_z(Utc::now()),
        "eventSource": source,
        "eventName": name,
        "awsRegion": region,
        "sourceIPAddress": "203.0.113.24",
        "userAgent": "aws-cli/2.15.30 md/Botocore#1.34.30",
        "requestParameters": request,
        "responseElements": response,
        "readOnly": false,
        "eventType": "AwsApiCall",
        "managementEvent": true,
        "recipientAccountId": a.account_id,
        "eventCategory": "Management",
    })
}

/// Random but seed-determined ids: the record is reproducible from the seed.
fn stamp(record: &mut Value, rng: &mut ChaCha8Rng) {
    let id = uuid::Builder::from_random_bytes(rng.random()).into_uuid();
    record["eventID"] = json!(id.to_string());
    record["requestID"] = json!(g::hex_id(rng, 16).to_uppercase());
}

fn aws_z(t: Timestamp) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// S3 bucket-level calls: successful ones carry `responseElements: null`.
fn s3_event(name: &str, a: &SimAccount, bucket: &Resource, extra: Value) -> Value {
    let mut request =
        json!({"bucketName": bucket.name, "Host": format!("{}.s3.{}.amazonaws.com", bucket.name, bucket.region)});
    if let (Some(req), Some(more)) = (request.as_object_mut(), extra.as_object()) {
        req.extend(more.clone());
    }
    record(a, "s3.amazonaws.com", name, &bucket.region, request, Value::Null)
}

fn versioning_event(a: &SimAccount, bucket: &Resource, status: &str) -> Value {
    s3_event(
        "PutBucketVersioning",
        a,
        bucket,
        json!({"versioning": "", "VersioningConfiguration": {"Status": status, "xmlns": "http://s3.amazonaws.com/doc/2006-03-01/"}}),
    )
}

fn ec2_event(name: &str, a: &SimAccount, region: &str, request: Value, response: Value) -> Value {
    let mut response = response;
    if let Some(obj) = response.as_object_mut() {
        obj.insert("requestId".into(), json!(uuid::Uuid::nil().to_string()));
    }
    record(a, "ec2.amazonaws.com", name, region, request, response)
}

fn sg_event(name: &str, a: &SimAccount, sg: &Resource, port: u16, _now: Timestamp) -> Value {
    let group_id = sg.configuration["SecurityGroup"]["GroupId"].clone();
    ec2_event(
        name,
        a,
        &sg.region,
        json!({"groupId": group_id, "ipPermissions": {"items": [{
            "ipProtocol": "tcp", "fromPort": port, "toPort": port, "groups": {},
            "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0"}]}, "ipv6Ranges": {}, "prefixListIds": {}
        }]}}),
        json!({"_return": true}),
    )
}

fn imds_event(a: &SimAccount, instance: &Resource, tokens: &str) -> Value {
    let id = instance.configuration["Instance"]["InstanceId"].clone();
    ec2_event(
        "ModifyInstanceMetadataOptions",
        a,
        &instance.region,
        json!({"ModifyInstanceMetadataOptionsRequest": {"InstanceId": id, "HttpTokens": tokens}}),
        json!({"ModifyInstanceMetadataOptionsResponse": {"instanceId": id,
            "instanceMetadataOptions": {"state": "pending", "httpTokens": tokens, "httpPutResponseHopLimit": 2, "httpEndpoint": "enabled"}}}),
    )
}

/// IAM is global; CloudTrail delivers its events from us-east-1.
fn iam_event(name: &str, a: &SimAccount, request: Value, response: Value) -> Value {
    record(a, "iam.amazonaws.com", name, "us-east-1", request, response)
}

impl ChangeKind {
    pub fn service(self) -> Service {
        match self {
            ChangeKind::OpenBucketAcl
            | ChangeKind::CloseBucketAcl
            | ChangeKind::SuspendVersioning
            | ChangeKind::EnableVersioning
            | ChangeKind::CreateBucket
            | ChangeKind::DeleteBucket => Service::S3,
            ChangeKind::CreateUser | ChangeKind::DeleteUser | ChangeKind::DeactivateAccessKey => Service::Iam,
            _ => Service::Ec2,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::SimSpec;

    fn estate() -> SimEstate {
        SimEstate::generate(SimSpec { seed: 5, accounts: 2, resources_per_account: 60, created_at: Utc::now() })
    }

    #[test]
    fn every_kind_changes_the_estate_and_has_its_record() {
        let mut e = estate();
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for kind in KINDS {
            let before: BTreeMap<String, String> = e.iter().map(|r| (r.arn.clone(), r.config_hash.clone())).collect();
            let c = e.apply_one(kind, &mut rng).unwrap_or_else(|| panic!("{kind:?} found nothing to change"));
            assert_eq!(c.kind, kind);
            let after = e.get(&c.arn).map(|r| r.config_hash.clone());
            assert_ne!(before.get(&c.arn).cloned(), after, "{kind:?} left {} as it was", c.arn);
            assert_eq!(c.record["recipientAccountId"], json!(c.account_id));
            assert!(c.record["eventName"].is_string() && c.record["eventID"].is_string());
            assert!(c.record.get("errorCode").is_none());
        }
    }

    #[test]
    fn batches_are_reproducible_from_a_seed() {
        let (mut a, mut b) = (estate(), estate());
        let ca: Vec<_> = a.apply_changes(10, Some(42)).into_iter().map(|c| (c.arn, c.description)).collect();
        let cb: Vec<_> = b.apply_changes(10, Some(42)).into_iter().map(|c| (c.arn, c.description)).collect();
        assert_eq!(ca.len(), 10);
        assert_eq!(ca, cb);
    }
}
