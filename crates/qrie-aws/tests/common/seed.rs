//! Seeds moto through the SDK clients themselves: compliant and misconfigured
//! resources in two accounts and two regions.

use aws_config::{Region, SdkConfig};
use aws_sdk_s3::types::{
    BucketCannedAcl, BucketLifecycleConfiguration, BucketLocationConstraint, BucketLoggingStatus,
    BucketVersioningStatus, CreateBucketConfiguration, ExpirationStatus, LifecycleRule, LifecycleRuleFilter,
    LoggingEnabled, NoncurrentVersionExpiration, ObjectOwnership, OwnershipControls, OwnershipControlsRule,
    PublicAccessBlockConfiguration, ServerSideEncryption, ServerSideEncryptionByDefault,
    ServerSideEncryptionConfiguration, ServerSideEncryptionRule, Tag, Tagging, VersioningConfiguration,
};

/// Account A, us-east-1: readable by anyone through its ACL; nothing else set.
pub const OPEN_BUCKET: &str = "a-open-bucket";
/// Account A, eu-west-1: everything a careful owner sets.
pub const LOCKED_BUCKET: &str = "a-locked-bucket";
/// Account A, eu-west-1: where the locked bucket logs (moto, like S3, wants a
/// same-region target the log delivery group may write to).
pub const LOG_BUCKET: &str = "a-access-logs";
/// Account B, eu-west-1: a bucket policy that lets anyone read objects.
pub const PUBLIC_POLICY_BUCKET: &str = "b-public-policy";

pub fn s3(config: &SdkConfig, region: &str) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(config)
            .region(Region::new(region.to_string()))
            .force_path_style(true)
            .build(),
    )
}

fn all_blocked() -> PublicAccessBlockConfiguration {
    PublicAccessBlockConfiguration::builder()
        .block_public_acls(true)
        .ignore_public_acls(true)
        .block_public_policy(true)
        .restrict_public_buckets(true)
        .build()
}

async fn create(s3: &aws_sdk_s3::Client, name: &str, region: &str, object_lock: bool) {
    let mut req = s3.create_bucket().bucket(name).object_lock_enabled_for_bucket(object_lock);
    if region != "us-east-1" {
        req = req.create_bucket_configuration(
            CreateBucketConfiguration::builder().location_constraint(BucketLocationConstraint::from(region)).build(),
        );
    }
    req.send().await.unwrap_or_else(|e| panic!("create {name}: {e:?}"));
}

async fn suspend_versioning(s3: &aws_sdk_s3::Client, bucket: &str) {
    s3.put_bucket_versioning()
        .bucket(bucket)
        .versioning_configuration(VersioningConfiguration::builder().status(BucketVersioningStatus::Suspended).build())
        .send()
        .await
        .expect("versioning");
}

/// Account A (the ambient account): an open bucket and a locked-down one; no
/// account-level Block Public Access.
pub async fn s3_account_a(config: &SdkConfig) {
    let s3e = s3(config, "us-east-1");
    create(&s3e, OPEN_BUCKET, "us-east-1", false).await;
    s3e.put_bucket_acl().bucket(OPEN_BUCKET).acl(BucketCannedAcl::PublicRead).send().await.expect("acl");
    // Suspended, not never-enabled: moto answers GetBucketVersioning of a
    // never-versioned bucket with an XML root the SDK rejects (real S3 sends an
    // empty VersioningConfiguration); both fail the versioning policy alike.
    suspend_versioning(&s3e, OPEN_BUCKET).await;

    let s3w = s3(config, "eu-west-1");
    let b = LOCKED_BUCKET;
    create(&s3w, b, "eu-west-1", true).await;
    create(&s3w, LOG_BUCKET, "eu-west-1", false).await;
    s3w.put_bucket_acl()
        .bucket(LOG_BUCKET)
        .acl(BucketCannedAcl::from("log-delivery-write"))
        .send()
        .await
        .expect("log acl");
    suspend_versioning(&s3w, LOG_BUCKET).await;
    s3w.put_public_access_block().bucket(b).public_access_block_configuration(all_blocked()).send().await.expect("pab");
    let kms = ServerSideEncryptionByDefault::builder()
        .sse_algorithm(ServerSideEncryption::AwsKms)
        .kms_master_key_id("arn:aws:kms:eu-west-1:123456789012:alias/data")
        .build()
        .expect("sse");
    let rule = ServerSideEncryptionRule::builder()
        .apply_server_side_encryption_by_default(kms)
        .bucket_key_enabled(true)
        .build();
    s3w.put_bucket_encryption()
        .bucket(b)
        .server_side_encryption_configuration(
            ServerSideEncryptionConfiguration::builder().rules(rule).build().expect("sse"),
        )
        .send()
        .await
        .expect("encryption");
    s3w.put_bucket_versioning()
        .bucket(b)
        .versioning_configuration(VersioningConfiguration::builder().status(BucketVersioningStatus::Enabled).build())
        .send()
        .await
        .expect("versioning");
    let logging =
        LoggingEnabled::builder().target_bucket(LOG_BUCKET).target_prefix("locked/").build().expect("logging");
    s3w.put_bucket_logging()
        .bucket(b)
        .bucket_logging_status(BucketLoggingStatus::builder().logging_enabled(logging).build())
        .send()
        .await
        .expect("logging");
    let ownership =
        OwnershipControlsRule::builder().object_ownership(ObjectOwnership::BucketOwnerEnforced).build().expect("rule");
    s3w.put_bucket_ownership_controls()
        .bucket(b)
        .ownership_controls(OwnershipControls::builder().rules(ownership).build().expect("ownership"))
        .send()
        .await
        .expect("ownership");
    let lifecycle = LifecycleRule::builder()
        .id("expire-old-versions")
        .status(ExpirationStatus::Enabled)
        .filter(LifecycleRuleFilter::builder().prefix("").build())
        .noncurrent_version_expiration(NoncurrentVersionExpiration::builder().noncurrent_days(90).build())
        .build()
        .expect("lifecycle");
    s3w.put_bucket_lifecycle_configuration()
        .bucket(b)
        .lifecycle_configuration(BucketLifecycleConfiguration::builder().rules(lifecycle).build().expect("lifecycle"))
        .send()
        .await
        .expect("lifecycle");
    let tag = Tag::builder().key("env").value("prod").build().expect("tag");
    s3w.put_bucket_tagging()
        .bucket(b)
        .tagging(Tagging::builder().tag_set(tag).build().expect("tagging"))
        .send()
        .await
        .expect("tagging");
    let policy = serde_json::json!({"Version": "2012-10-17", "Statement": [{
        "Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
        "Resource": [format!("arn:aws:s3:::{b}"), format!("arn:aws:s3:::{b}/*")],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]});
    s3w.put_bucket_policy().bucket(b).policy(policy.to_string()).send().await.expect("policy");
}

/// Account B (through AssumeRole): a bucket with a public-read policy, and the
/// account's Block Public Access all on.
pub async fn s3_account_b(config: &SdkConfig, account_id: &str) {
    let s3w = s3(config, "eu-west-1");
    let b = PUBLIC_POLICY_BUCKET;
    create(&s3w, b, "eu-west-1", false).await;
    let policy = serde_json::json!({"Version": "2012-10-17", "Statement": [{
        "Sid": "PublicRead", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
        "Resource": format!("arn:aws:s3:::{b}/*")}]});
    s3w.put_bucket_policy().bucket(b).policy(policy.to_string()).send().await.expect("policy");
    suspend_versioning(&s3w, b).await;
    let control = aws_sdk_s3control::Client::from_conf(
        aws_sdk_s3control::config::Builder::from(config)
            .endpoint_resolver(FixedEndpoint(config.endpoint_url().expect("moto url").to_string()))
            .build(),
    );
    let pab = aws_sdk_s3control::types::PublicAccessBlockConfiguration::builder()
        .block_public_acls(true)
        .ignore_public_acls(true)
        .block_public_policy(true)
        .restrict_public_buckets(true)
        .build();
    control
        .put_public_access_block()
        .account_id(account_id)
        .public_access_block_configuration(pab)
        .send()
        .await
        .expect("account pab");
}

#[derive(Debug)]
struct FixedEndpoint(String);

impl aws_sdk_s3control::config::endpoint::ResolveEndpoint for FixedEndpoint {
    fn resolve_endpoint<'a>(
        &'a self,
        _: &'a aws_sdk_s3control::config::endpoint::Params,
    ) -> aws_sdk_s3control::config::endpoint::EndpointFuture<'a> {
        aws_sdk_s3control::config::endpoint::EndpointFuture::ready(Ok(aws_smithy_types::endpoint::Endpoint::builder()
            .url(self.0.clone())
            .build()))
    }
}
