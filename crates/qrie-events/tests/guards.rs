//! Guards and delivery shapes on hand-written fixtures, and event names the corpus lacks.

mod common;

use common::{decode_str, route_str};
use qrie_events::{decode, route, Action, Decision, DecodeError, Envelope, SkipReason, MAX_INPUT_BYTES};
use serde_json::json;

fn record(name: &str, source: &str, params: serde_json::Value, response: serde_json::Value) -> serde_json::Value {
    json!({
        "eventVersion": "1.08", "eventTime": "2024-05-01T10:00:00Z", "eventSource": source, "eventName": name,
        "awsRegion": "eu-west-1", "eventID": "e-1", "readOnly": false, "recipientAccountId": "111122223333",
        "userIdentity": {"type": "IAMUser", "accountId": "111122223333", "userName": "alice",
                         "arn": "arn:aws:iam::111122223333:user/team/alice"},
        "requestParameters": params, "responseElements": response
    })
}

fn eventbridge(source: &str, detail_type: &str, detail: serde_json::Value) -> String {
    json!({"version": "0", "id": "bus-1", "source": source, "detail-type": detail_type, "account": "111122223333",
           "region": "eu-west-1", "time": "2024-05-01T10:00:00Z", "detail": detail})
    .to_string()
}

/// (ARN, resource type, action) of each target.
type Expected = Vec<(String, &'static str, Action)>;

fn only_targets(input: &str) -> Expected {
    let routed = route_str(input);
    assert_eq!(routed.len(), 1);
    match &routed[0].decision {
        Decision::Mapped { targets } => targets.iter().map(|t| (t.arn.clone(), t.resource_type, t.action)).collect(),
        other => panic!("{other:?}"),
    }
}

fn sg_ingress() -> serde_json::Value {
    record(
        "AuthorizeSecurityGroupIngress",
        "ec2.amazonaws.com",
        json!({"groupId": "sg-0123"}),
        json!({"_return": true}),
    )
}

#[test]
fn forged_eventbridge_source_is_refused() {
    let input = eventbridge("custom.attacker", "AWS API Call via CloudTrail", sg_ingress());
    let r = &route_str(&input)[0];
    assert_eq!(r.decision, Decision::Skipped { reason: SkipReason::ForgedSource { source: "custom.attacker".into() } });
    // The same detail from AWS is routed.
    let input = eventbridge("aws.ec2", "AWS API Call via CloudTrail", sg_ingress());
    assert_eq!(
        only_targets(&input),
        [(
            "arn:aws:ec2:eu-west-1:111122223333:security-group/sg-0123".to_string(),
            "AWS::EC2::SecurityGroup",
            Action::Refresh
        )]
    );
}

#[test]
fn wrong_detail_type_is_refused() {
    let input = eventbridge("aws.ec2", "EC2 Instance State-change Notification", sg_ingress());
    let r = &route_str(&input)[0];
    let reason = SkipReason::NotAnApiCall { detail_type: "EC2 Instance State-change Notification".into() };
    assert_eq!(r.decision, Decision::Skipped { reason });
    assert_eq!(r.decision_label(), Some("not-an-api-call"));
}

trait Label {
    fn decision_label(&self) -> Option<&'static str>;
}
impl Label for qrie_events::Routed {
    fn decision_label(&self) -> Option<&'static str> {
        match &self.decision {
            Decision::Skipped { reason } => Some(reason.label()),
            _ => None,
        }
    }
}

#[test]
fn oversized_input_is_refused_with_a_clear_error() {
    let big = vec![b' '; MAX_INPUT_BYTES + 1];
    let err = decode(&big).unwrap_err();
    assert_eq!(err, DecodeError::TooLarge { size: MAX_INPUT_BYTES + 1, limit: MAX_INPUT_BYTES });
    assert!(err.to_string().contains("over the limit"), "{err}");
    // A gzip bomb: small compressed, too large decompressed.
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let chunk = vec![b' '; 1 << 20];
    for _ in 0..(MAX_INPUT_BYTES >> 20) + 1 {
        gz.write_all(&chunk).unwrap();
    }
    let bomb = gz.finish().unwrap();
    assert!(bomb.len() < MAX_INPUT_BYTES / 100);
    assert_eq!(decode(&bomb).unwrap_err(), DecodeError::DecompressedTooLarge { limit: MAX_INPUT_BYTES });
}

#[test]
fn whole_input_errors_and_bad_elements() {
    assert!(matches!(decode(b"hello world"), Err(DecodeError::NotJson(_))));
    assert!(matches!(decode(&[0x1f, 0x8b, 1, 2, 3]), Err(DecodeError::BadGzip(_))));
    assert_eq!(decode(b"  \n").unwrap(), vec![]);
    // One bad line among good JSON lines is kept as an error, not dropped.
    let good = sg_ingress().to_string();
    let items = decode_str(&format!("{good}\n{{broken\n{good}\n"));
    assert_eq!(items.len(), 3);
    assert!(items[1].record.as_ref().unwrap_err().contains("line 2"));
    let r = route(&items[1]);
    assert_eq!(r.decision_label(), Some("malformed"));
    // A log file with a non-object record.
    let items = decode_str(&format!(r#"{{"Records": [{good}, 42]}}"#));
    assert_eq!(items.iter().map(|i| i.record.is_ok()).collect::<Vec<_>>(), [true, false]);
    assert_eq!(items[1].envelope, Envelope::LogFile);
}

#[test]
fn gzip_and_plain_give_identical_results() {
    use std::io::Write;
    let plain = format!(
        r#"{{"Records": [{}, {}]}}"#,
        sg_ingress(),
        record("DeleteBucket", "s3.amazonaws.com", json!({"bucketName": "b"}), json!(null))
    );
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(plain.as_bytes()).unwrap();
    let a = decode(plain.as_bytes()).unwrap();
    let b = decode(&gz.finish().unwrap()).unwrap();
    assert_eq!(a, b);
    assert_eq!(a.len(), 2);
    assert_eq!(a.iter().map(route).collect::<Vec<_>>(), b.iter().map(route).collect::<Vec<_>>());
}

#[test]
fn queue_and_notification_wrappers() {
    let bus = eventbridge("aws.ec2", "AWS API Call via CloudTrail", sg_ingress());
    let bare = sg_ingress().to_string();
    let wrappers = [
        json!({"MessageId": "m", "Body": bus}).to_string(),
        json!({"messageId": "m", "body": bare}).to_string(),
        json!({"Records": [{"messageId": "m", "eventSource": "aws:sqs", "body": bus}, {"messageId": "n", "eventSource": "aws:sqs", "body": format!(r#"{{"Records": [{bare}]}}"#)}]}).to_string(),
        json!({"Type": "Notification", "MessageId": "m", "Message": bus}).to_string(),
        json!({"Body": json!({"Type": "Notification", "Message": bare}).to_string()}).to_string(),
    ];
    let want = (
        "arn:aws:ec2:eu-west-1:111122223333:security-group/sg-0123".to_string(),
        "AWS::EC2::SecurityGroup",
        Action::Refresh,
    );
    for input in wrappers {
        let items = decode_str(&input);
        assert!(!items.is_empty());
        for i in &items {
            assert_eq!(i.envelope, Envelope::Sqs, "{input}");
            match &route(i).decision {
                Decision::Mapped { targets } => {
                    assert_eq!((targets[0].arn.clone(), targets[0].resource_type, targets[0].action), want)
                }
                other => panic!("{input}: {other:?}"),
            }
        }
    }
    // EventBridge metadata survives the queue, so a forged event is still refused.
    let forged =
        json!({"Body": eventbridge("custom.attacker", "AWS API Call via CloudTrail", sg_ingress())}).to_string();
    let items = decode_str(&forged);
    assert_eq!(items[0].bus.as_ref().unwrap().source, "custom.attacker");
    assert_eq!(route(&items[0]).decision_label(), Some("forged-source"));
}

#[test]
fn lookup_events_items() {
    let item = json!({"EventId": "e-1", "EventName": "AuthorizeSecurityGroupIngress", "ReadOnly": "false",
                      "EventTime": "2024-05-01 12:00:00+02:00", "CloudTrailEvent": sg_ingress().to_string()});
    let items = decode_str(&item.to_string());
    assert_eq!(items[0].envelope, Envelope::LookupEvents);
    let r = route(&items[0]);
    assert_eq!(r.event_time.unwrap().to_rfc3339(), "2024-05-01T10:00:00+00:00");
    assert!(matches!(r.decision, Decision::Mapped { .. }));
    // The real plaso items: 6 records, read-only ones skipped.
    let routes = common::route_file("plaso/aws_cloudtrail_lookupevents.jsonl");
    assert_eq!(routes.len(), 6);
    assert!(routes.iter().any(|(_, r)| r.decision == Decision::Skipped { reason: SkipReason::ReadOnly }));
    assert!(routes.iter().any(|(_, r)| matches!(r.decision, Decision::Mapped { .. })));
}

#[test]
fn read_only_guess_applies_only_without_the_field() {
    let mut rec = record("DescribeInstances", "ec2.amazonaws.com", json!({}), json!(null));
    rec.as_object_mut().unwrap().remove("readOnly");
    assert_eq!(route_str(&rec.to_string())[0].decision, Decision::Skipped { reason: SkipReason::ReadOnly });
    let mut rec = sg_ingress();
    rec["readOnly"] = json!(true);
    assert_eq!(route_str(&rec.to_string())[0].decision, Decision::Skipped { reason: SkipReason::ReadOnly });
}

#[test]
fn names_the_corpus_lacks() {
    let acct = "111122223333";
    let ec2 = |n: &str, p, r| record(n, "ec2.amazonaws.com", p, r).to_string();
    let s3 = |n: &str, p| record(n, "s3.amazonaws.com", p, json!(null)).to_string();
    let iam = |n: &str, p, r| record(n, "iam.amazonaws.com", p, r).to_string();
    let t = |arn: String, ty: &'static str, a: Action| vec![(arn, ty, a)];
    let sg = |id: &str| format!("arn:aws:ec2:eu-west-1:{acct}:security-group/{id}");
    let inst = |id: &str| format!("arn:aws:ec2:eu-west-1:{acct}:instance/{id}");
    let cases: Vec<(String, Expected)> = vec![
        (
            ec2(
                "ModifySecurityGroupRules",
                json!({"ModifySecurityGroupRulesRequest": {"GroupId": {"tag": 1, "content": "sg-9"}, "SecurityGroupRule": {"tag": 1, "SecurityGroupRuleId": "sgr-1"}}}),
                json!({"ModifySecurityGroupRulesResponse": {"_return": true}}),
            ),
            t(sg("sg-9"), "AWS::EC2::SecurityGroup", Action::Refresh),
        ),
        (
            ec2(
                "ModifyInstanceMetadataOptions",
                json!({"ModifyInstanceMetadataOptionsRequest": {"InstanceId": "i-7", "HttpTokens": "required"}}),
                json!(null),
            ),
            t(inst("i-7"), "AWS::EC2::Instance", Action::Refresh),
        ),
        (
            ec2(
                "DisassociateIamInstanceProfile",
                json!({"DisassociateIamInstanceProfileRequest": {"AssociationId": "iip-assoc-1"}}),
                json!({"DisassociateIamInstanceProfileResponse": {"iamInstanceProfileAssociation": {"instanceId": "i-8", "state": "disassociating"}}}),
            ),
            t(inst("i-8"), "AWS::EC2::Instance", Action::Refresh),
        ),
        (
            ec2("AttachVolume", json!({"volumeId": "vol-1", "instanceId": "i-1", "device": "/dev/sdf"}), json!(null)),
            vec![
                (format!("arn:aws:ec2:eu-west-1:{acct}:volume/vol-1"), "AWS::EC2::Volume", Action::Refresh),
                (inst("i-1"), "AWS::EC2::Instance", Action::Refresh),
            ],
        ),
        (
            ec2(
                "DeleteTags",
                json!({"resourcesSet": {"items": [{"resourceId": "vpc-1"}, {"resourceId": "acl-2"}, {"resourceId": "snap-3"}]}}),
                json!(null),
            ),
            vec![
                (format!("arn:aws:ec2:eu-west-1:{acct}:network-acl/acl-2"), "AWS::EC2::NetworkAcl", Action::Refresh),
                (format!("arn:aws:ec2:eu-west-1:{acct}:snapshot/snap-3"), "AWS::EC2::Snapshot", Action::Refresh),
            ],
        ),
        (
            ec2(
                "EnableSnapshotBlockPublicAccess",
                json!({"EnableSnapshotBlockPublicAccessRequest": {"State": "block-all-sharing"}}),
                json!(null),
            ),
            t(format!("arn:aws:ec2:eu-west-1:{acct}:account-settings"), "AWS::EC2::AccountSettings", Action::Refresh),
        ),
        (
            s3("PutAccountPublicAccessBlock", json!({"PublicAccessBlockConfiguration": {"BlockPublicAcls": true}})),
            t(
                format!("arn:aws:s3::{acct}:account-public-access-block"),
                "AWS::S3::AccountPublicAccessBlock",
                Action::AccountWide,
            ),
        ),
        (
            s3(
                "PutBucketOwnershipControls",
                json!({"bucketName": "logs", "OwnershipControls": {"Rule": {"ObjectOwnership": "BucketOwnerEnforced"}}}),
            ),
            t("arn:aws:s3:::logs".into(), "AWS::S3::Bucket", Action::Refresh),
        ),
        // A user acting on itself: the user comes from userIdentity.
        (
            iam("CreateAccessKey", json!(null), json!({"accessKey": {"userName": "alice", "status": "Active"}})),
            t(format!("arn:aws:iam::{acct}:user/alice"), "AWS::IAM::User", Action::Refresh),
        ),
        (
            iam("UpdateUser", json!({"userName": "bob", "newUserName": "robert"}), json!(null)),
            vec![
                (format!("arn:aws:iam::{acct}:user/bob"), "AWS::IAM::User", Action::Deleted),
                (format!("arn:aws:iam::{acct}:user/robert"), "AWS::IAM::User", Action::Refresh),
            ],
        ),
        (
            iam(
                "AttachRolePolicy",
                json!({"roleName": "support", "policyArn": "arn:aws:iam::aws:policy/AWSSupportAccess"}),
                json!(null),
            ),
            vec![
                (format!("arn:aws:iam::{acct}:role/support"), "AWS::IAM::Role", Action::Refresh),
                (format!("arn:aws:iam::{acct}:root"), "AWS::IAM::RootUser", Action::Refresh),
            ],
        ),
        (
            iam(
                "AttachGroupPolicy",
                json!({"groupName": "ops", "policyArn": format!("arn:aws:iam::{acct}:policy/path/Ops")}),
                json!(null),
            ),
            vec![
                (format!("arn:aws:iam::{acct}:group/ops"), "AWS::IAM::Group", Action::Refresh),
                (format!("arn:aws:iam::{acct}:policy/path/Ops"), "AWS::IAM::ManagedPolicy", Action::Refresh),
            ],
        ),
        (
            iam("DeleteAccountPasswordPolicy", json!(null), json!(null)),
            t(
                format!("arn:aws:iam::{acct}:account-password-policy"),
                "AWS::IAM::AccountPasswordPolicy",
                Action::Refresh,
            ),
        ),
        (
            iam(
                "DeleteVirtualMFADevice",
                json!({"serialNumber": format!("arn:aws:iam::{acct}:mfa/root-account-mfa-device")}),
                json!(null),
            ),
            t(format!("arn:aws:iam::{acct}:root"), "AWS::IAM::RootUser", Action::Refresh),
        ),
        (
            iam("DeleteServerCertificate", json!({"serverCertificateName": "web"}), json!(null)),
            t(format!("arn:aws:iam::{acct}:server-certificate/web"), "AWS::IAM::ServerCertificate", Action::Deleted),
        ),
    ];
    for (input, want) in cases {
        assert_eq!(only_targets(&input), want, "{input}");
    }
    // A known write that names nothing qrie stores is skipped with why, not unmapped.
    let r = &route_str(&ec2("DisassociateAddress", json!({"associationId": "eipassoc-1"}), json!(null)))[0];
    assert_eq!(r.decision_label(), Some("unresolvable"));
    // The user acting on itself may be known only by its ARN.
    let mut rec = record("DeleteLoginProfile", "iam.amazonaws.com", json!({}), json!(null));
    rec["userIdentity"].as_object_mut().unwrap().remove("userName");
    assert_eq!(only_targets(&rec.to_string())[0].0, format!("arn:aws:iam::{acct}:user/alice"));
}

#[test]
fn routed_serialises_in_qrie_shape() {
    let r = &route_str(&sg_ingress().to_string())[0];
    let v = serde_json::to_value(r).unwrap();
    assert_eq!(v["Decision"], "mapped");
    assert_eq!(v["EventName"], "AuthorizeSecurityGroupIngress");
    assert_eq!(v["Targets"][0]["ResourceType"], "AWS::EC2::SecurityGroup");
    assert_eq!(v["Targets"][0]["Action"], "refresh");
    assert_eq!(v["Targets"][0]["Service"], "ec2");
    let failed = json!({"eventSource": "s3.amazonaws.com", "eventName": "PutBucketAcl", "errorCode": "AccessDenied"});
    let v = serde_json::to_value(&route_str(&failed.to_string())[0]).unwrap();
    assert_eq!(v["Decision"], "skipped");
    assert_eq!(v["Reason"], json!({"Kind": "failed", "ErrorCode": "AccessDenied"}));
    let env = serde_json::to_value(decode_str(&failed.to_string())[0].envelope).unwrap();
    assert_eq!(env, "bare");
}
