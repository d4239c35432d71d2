//! The S3 collector against moto: two accounts, two regions, the exact
//! configuration fields the policies read, and the findings they give.

mod common;

use common::seed::{self, LOCKED_BUCKET, OPEN_BUCKET, PUBLIC_POLICY_BUCKET};
use common::{
    account, errors_besides_moto_versioning, fail_call, failing, verdicts, Moto, ACCOUNT_A, ACCOUNT_B, ROLE_B,
};
use qrie_engine::{Cloud, CloudError, Described, Listing, SweepUnit};
use qrie_model::{Resource, Service, Verdict};
use serde_json::json;
use std::collections::BTreeSet;

const ALL_USERS: &str = "http://acs.amazonaws.com/groups/global/AllUsers";

fn s3_unit(account_id: &str) -> SweepUnit {
    SweepUnit { account_id: account_id.to_string(), service: Service::S3, region: None }
}

fn by_arn<'a>(listing: &'a Listing, arn: &str) -> &'a Resource {
    listing.resources.iter().find(|r| r.arn == arn).unwrap_or_else(|| panic!("{arn} not listed"))
}

async fn seeded(moto: &Moto) {
    seed::s3_account_a(&moto.sdk_config().await).await;
    seed::s3_account_b(&moto.sdk_config_in(ROLE_B).await, ACCOUNT_B).await;
}

#[tokio::test]
async fn lists_buckets_of_two_accounts_in_aws_shapes() {
    let moto = Moto::start();
    seeded(&moto).await;
    let cloud = moto.cloud(&["us-east-1", "eu-west-1"]).await;

    let a = cloud.list(&account(ACCOUNT_A, None), &s3_unit(ACCOUNT_A)).await.expect("list A");
    assert!(a.complete && a.errors.is_empty(), "{:?}", a.errors);
    let arns: BTreeSet<&str> = a.resources.iter().map(|r| r.arn.as_str()).collect();
    let bpa_a = format!("arn:aws:s3::{ACCOUNT_A}:account-public-access-block");
    let expected = BTreeSet::from([
        "arn:aws:s3:::a-access-logs",
        "arn:aws:s3:::a-locked-bucket",
        "arn:aws:s3:::a-open-bucket",
        bpa_a.as_str(),
    ]);
    assert_eq!(arns, expected, "account A holds exactly its own buckets");

    let open = by_arn(&a, &format!("arn:aws:s3:::{OPEN_BUCKET}"));
    assert!(errors_besides_moto_versioning(open).is_empty(), "{:?}", open.collection_errors);
    assert_eq!(open.region, "us-east-1");
    let c = &open.configuration;
    assert_eq!(c["Location"], json!({"LocationConstraint": null}));
    let grants = c["Acl"]["Grants"].as_array().expect("grants");
    assert!(
        grants.iter().any(|g| g["Grantee"] == json!({"Type": "Group", "URI": ALL_USERS}) && g["Permission"] == "READ"),
        "AllUsers READ grant in {grants:?}"
    );
    assert_eq!(c["Acl"]["Grants"][0]["Grantee"]["Type"], "CanonicalUser");
    assert!(c["Acl"]["Owner"]["ID"].is_string());
    // Absent is not unknown: read and not configured is an explicit null.
    for key in [
        "Policy",
        "PolicyStatus",
        "PublicAccessBlock",
        "Encryption",
        "Lifecycle",
        "ObjectLock",
        "Website",
        "Replication",
        "Tags",
    ] {
        assert_eq!(c.get(key), Some(&json!(null)), "{key} of the open bucket");
    }
    assert_eq!(c["Logging"], json!({}));

    let locked = by_arn(&a, &format!("arn:aws:s3:::{LOCKED_BUCKET}"));
    assert!(errors_besides_moto_versioning(locked).is_empty(), "{:?}", locked.collection_errors);
    assert_eq!(locked.region, "eu-west-1");
    assert_eq!(locked.tags.get("env").map(String::as_str), Some("prod"));
    let c = &locked.configuration;
    assert_eq!(c["Location"], json!({"LocationConstraint": "eu-west-1"}));
    assert_eq!(
        c["PublicAccessBlock"],
        json!({"BlockPublicAcls": true, "IgnorePublicAcls": true, "BlockPublicPolicy": true, "RestrictPublicBuckets": true})
    );
    assert_eq!(c["Policy"]["Statement"][0]["Condition"], json!({"Bool": {"aws:SecureTransport": "false"}}));
    assert_eq!(c["PolicyStatus"], json!({"IsPublic": false}));
    let sse = &c["Encryption"]["ServerSideEncryptionConfiguration"]["Rules"][0]["ApplyServerSideEncryptionByDefault"];
    assert_eq!(
        sse,
        &json!({"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "arn:aws:kms:eu-west-1:123456789012:alias/data"})
    );
    assert_eq!(c["Logging"], json!({"LoggingEnabled": {"TargetBucket": seed::LOG_BUCKET, "TargetPrefix": "locked/"}}));
    assert_eq!(
        c["OwnershipControls"],
        json!({"OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}})
    );
    assert_eq!(c["Lifecycle"]["Rules"][0]["NoncurrentVersionExpiration"], json!({"NoncurrentDays": 90}));
    assert_eq!(c["ObjectLock"]["ObjectLockConfiguration"]["ObjectLockEnabled"], "Enabled");
    assert_eq!(c["Tags"], json!({"TagSet": [{"Key": "env", "Value": "prod"}]}));

    assert_eq!(by_arn(&a, &bpa_a).configuration, json!({"PublicAccessBlock": null}));

    // Every call counted, by operation: one bucket list, one of each Get* per bucket.
    assert_eq!(a.api_calls.get("S3:ListBuckets"), Some(&1), "{:?}", a.api_calls);
    assert_eq!(a.api_calls.get("S3:GetBucketAcl"), Some(&3));
    assert_eq!(a.api_calls.get("S3:GetBucketTagging"), Some(&3));
    assert_eq!(a.api_calls.get("S3Control:GetPublicAccessBlock"), Some(&1));
    assert_eq!(a.throttles, 0);
    // 3 buckets × 14 (13 Get* + GetBucketLocation: moto sends no BucketRegion) + ListBuckets + S3 Control.
    assert_eq!(a.api_calls.values().sum::<u64>(), 3 * 14 + 2, "{:?}", a.api_calls);

    let b = cloud.list(&account(ACCOUNT_B, Some(ROLE_B)), &s3_unit(ACCOUNT_B)).await.expect("list B");
    let arns: BTreeSet<&str> = b.resources.iter().map(|r| r.arn.as_str()).collect();
    let bpa_b = format!("arn:aws:s3::{ACCOUNT_B}:account-public-access-block");
    assert_eq!(arns, BTreeSet::from(["arn:aws:s3:::b-public-policy", bpa_b.as_str()]));
    let public = by_arn(&b, &format!("arn:aws:s3:::{PUBLIC_POLICY_BUCKET}"));
    assert_eq!(public.configuration["Policy"]["Statement"][0]["Principal"], "*");
    assert_eq!(public.account_id, ACCOUNT_B);
    assert_eq!(by_arn(&b, &bpa_b).configuration["PublicAccessBlock"]["BlockPublicPolicy"], true);

    let mut all = a.resources.clone();
    all.extend(b.resources.clone());
    let expected: BTreeSet<(String, String)> =
        common::expected_s3_failures().iter().map(|(a, p)| (a.to_string(), p.to_string())).collect();
    assert_eq!(failing(&all), expected);
}

#[tokio::test]
async fn unreadable_settings_are_collection_errors_and_policies_answer_error() {
    let moto = Moto::start();
    seed::s3_account_a(&moto.sdk_config().await).await;
    let cloud = moto
        .cloud_with(
            &["us-east-1"],
            vec![
                fail_call("GetBucketPolicy", OPEN_BUCKET, 403, "AccessDenied"),
                fail_call("GetBucketEncryption", OPEN_BUCKET, 500, "InternalError"),
            ],
        )
        .await;
    let a = cloud.list(&account(ACCOUNT_A, None), &s3_unit(ACCOUNT_A)).await.expect("list");
    assert!(a.complete, "one bucket's unreadable setting does not make the listing incomplete");
    let open = by_arn(&a, &format!("arn:aws:s3:::{OPEN_BUCKET}"));
    assert!(open.collection_errors["Policy"].starts_with("AccessDenied"), "{:?}", open.collection_errors);
    assert!(open.collection_errors["Encryption"].contains("InternalError"), "{:?}", open.collection_errors);
    assert!(open.configuration.get("Policy").is_none() && open.configuration.get("Encryption").is_none());
    let verdicts: std::collections::BTreeMap<String, Verdict> = verdicts(open, &a.resources).into_iter().collect();
    for id in ["s3-bucket-public-read-policy", "s3-bucket-public-write-policy", "s3-bucket-default-encryption-missing"]
    {
        assert!(matches!(verdicts[id], Verdict::Error(_)), "{id}: {:?}", verdicts[id]);
    }
    // The other bucket read cleanly.
    assert!(errors_besides_moto_versioning(by_arn(&a, &format!("arn:aws:s3:::{LOCKED_BUCKET}"))).is_empty());
}

#[tokio::test]
async fn a_failed_bucket_list_fails_the_listing() {
    let moto = Moto::start();
    seed::s3_account_a(&moto.sdk_config().await).await;
    let cloud = moto.cloud_with(&["us-east-1"], vec![fail_call("ListBuckets", "", 403, "AccessDenied")]).await;
    match cloud.list(&account(ACCOUNT_A, None), &s3_unit(ACCOUNT_A)).await {
        Err(CloudError::AccessDenied(msg)) => assert!(msg.contains("AccessDenied"), "{msg}"),
        other => panic!("expected AccessDenied, got {other:?}"),
    }
}

#[tokio::test]
async fn describe_tells_present_gone_and_error_apart() {
    let moto = Moto::start();
    seed::s3_account_a(&moto.sdk_config().await).await;
    let cloud = moto.cloud(&["us-east-1"]).await;
    let a = account(ACCOUNT_A, None);

    match cloud.describe(&a, &format!("arn:aws:s3:::{LOCKED_BUCKET}")).await.expect("describe") {
        Described::Present(r) => {
            assert_eq!(r.region, "eu-west-1");
            assert_eq!(r.configuration["Location"], json!({"LocationConstraint": "eu-west-1"}));
            assert_eq!(
                r.configuration["OwnershipControls"]["OwnershipControls"]["Rules"][0]["ObjectOwnership"],
                "BucketOwnerEnforced"
            );
            assert!(errors_besides_moto_versioning(&r).is_empty(), "{:?}", r.collection_errors);
        }
        Described::Gone { .. } => panic!("the locked bucket exists"),
    }
    let bpa = format!("arn:aws:s3::{ACCOUNT_A}:account-public-access-block");
    assert!(matches!(cloud.describe(&a, &bpa).await, Ok(Described::Present(_))));
    assert!(matches!(cloud.describe(&a, "arn:aws:s3:::never-created").await, Ok(Described::Gone { .. })));

    let failing = moto.cloud_with(&["us-east-1"], vec![fail_call("GetBucketLocation", "", 500, "InternalError")]).await;
    match failing.describe(&a, &format!("arn:aws:s3:::{OPEN_BUCKET}")).await {
        Ok(Described::Present(r)) => assert!(r.collection_errors.contains_key("Location"), "{:?}", r.collection_errors),
        other => panic!("an unreadable location is an error on a present bucket, got {other:?}"),
    }
    assert!(matches!(cloud.describe(&a, "arn:aws:s3:::bucket/key").await, Err(CloudError::UnknownResource(_))));
}
