//! S3: the account's buckets (one global ListBuckets, then each bucket's
//! settings from its own region) and the account's Block Public Access (S3 Control).

mod convert;

use aws_sdk_s3control::config::endpoint::{Endpoint, EndpointFuture, Params, ResolveEndpoint};
use futures::stream::{self, StreamExt};
use qrie_engine::CloudError;
use qrie_model::ids::{pseudo_arn, GLOBAL_REGION};
use qrie_model::{Resource, Service, Timestamp};
use serde_json::Value;
use std::collections::BTreeMap;

use crate::cloud::{Clients, Found};
use crate::read::{self, classify, Config, Outcome};

/// The bucket no longer exists (deleted while the listing ran, or before a describe).
const GONE: &[&str] = &["NoSuchBucket"];

/// S3 Control at a fixed URL: see `Clients::s3control`.
#[derive(Debug)]
pub(crate) struct FixedS3ControlEndpoint(pub String);

impl ResolveEndpoint for FixedS3ControlEndpoint {
    fn resolve_endpoint<'a>(&'a self, _params: &'a Params) -> EndpointFuture<'a> {
        EndpointFuture::ready(Ok(Endpoint::builder().url(self.0.clone()).build()))
    }
}

pub(crate) async fn list(
    clients: &Clients,
    account: &str,
    concurrency: usize,
    at: Timestamp,
) -> Result<Found, CloudError> {
    let buckets = list_buckets(clients).await?;
    let mut resources: Vec<Resource> = stream::iter(buckets)
        .map(|(name, region)| read_bucket(clients, account, name, region, at))
        .buffer_unordered(concurrency.max(1))
        .filter_map(|r| async move { r })
        .collect()
        .await;
    resources.sort_by(|a, b| a.arn.cmp(&b.arn));
    resources.push(account_public_access_block(clients, account, at).await);
    Ok(Found { resources, errors: Vec::new() })
}

/// Every bucket with its region when ListBuckets says it (`BucketRegion`), which
/// saves a GetBucketLocation per bucket.
async fn list_buckets(clients: &Clients) -> Result<Vec<(String, Option<String>)>, CloudError> {
    let s3 = clients.s3(&clients.home_region());
    let mut buckets = Vec::new();
    let mut token = None;
    loop {
        let out = s3.list_buckets().set_continuation_token(token).send().await.map_err(|e| read::cloud_error(&e))?;
        for b in out.buckets() {
            if let Some(name) = b.name() {
                buckets.push((name.to_string(), b.bucket_region().map(str::to_string)));
            }
        }
        token = out.continuation_token().map(str::to_string);
        if token.is_none() {
            return Ok(buckets);
        }
    }
}

/// One bucket's whole configuration; `None` when S3 says it no longer exists.
async fn read_bucket(
    clients: &Clients,
    account: &str,
    name: String,
    region: Option<String>,
    at: Timestamp,
) -> Option<Resource> {
    let mut c = Config::default();
    let region = match region {
        Some(region) => {
            c.set(qrie_model::LOCATION_KEY, convert::location(&region));
            region
        }
        None => {
            let out = classify(
                clients.s3(&clients.home_region()).get_bucket_location().bucket(&name).send().await,
                &[],
                GONE,
            );
            let region = match &out {
                Outcome::Value(o) => convert::region_of(o.location_constraint().map(|l| l.as_str())),
                _ => clients.home_region(),
            };
            c.put(qrie_model::LOCATION_KEY, out, |_| convert::location(&region));
            region
        }
    };
    let s3 = clients.s3(&region);
    let n = name.as_str();
    // One call at a time within a bucket: concurrency is across buckets, bounded.
    c.put("Acl", classify(s3.get_bucket_acl().bucket(n).send().await, &[], GONE), convert::acl);
    let policy = classify(s3.get_bucket_policy().bucket(n).send().await, &["NoSuchBucketPolicy"], GONE);
    c.put("Policy", parse_policy(policy), |v| v);
    let status = s3.get_bucket_policy_status().bucket(n).send().await;
    c.put("PolicyStatus", classify(status, &["NoSuchBucketPolicy"], GONE), convert::policy_status);
    let pab = s3.get_public_access_block().bucket(n).send().await;
    c.put("PublicAccessBlock", classify(pab, &["NoSuchPublicAccessBlockConfiguration"], GONE), |o| {
        o.public_access_block_configuration()
            .map(|p| {
                convert::public_access_block(
                    p.block_public_acls(),
                    p.ignore_public_acls(),
                    p.block_public_policy(),
                    p.restrict_public_buckets(),
                )
            })
            .unwrap_or(Value::Null)
    });
    let enc = s3.get_bucket_encryption().bucket(n).send().await;
    c.put("Encryption", classify(enc, &["ServerSideEncryptionConfigurationNotFoundError"], GONE), convert::encryption);
    c.put("Versioning", classify(s3.get_bucket_versioning().bucket(n).send().await, &[], GONE), convert::versioning);
    c.put("Logging", classify(s3.get_bucket_logging().bucket(n).send().await, &[], GONE), convert::logging);
    let own = s3.get_bucket_ownership_controls().bucket(n).send().await;
    c.put("OwnershipControls", classify(own, &["OwnershipControlsNotFoundError"], GONE), convert::ownership_controls);
    let life = s3.get_bucket_lifecycle_configuration().bucket(n).send().await;
    c.put("Lifecycle", classify(life, &["NoSuchLifecycleConfiguration"], GONE), convert::lifecycle);
    let lock = s3.get_object_lock_configuration().bucket(n).send().await;
    c.put("ObjectLock", classify(lock, &["ObjectLockConfigurationNotFoundError"], GONE), convert::object_lock);
    let web = s3.get_bucket_website().bucket(n).send().await;
    c.put("Website", classify(web, &["NoSuchWebsiteConfiguration"], GONE), convert::website);
    let repl = s3.get_bucket_replication().bucket(n).send().await;
    c.put("Replication", classify(repl, &["ReplicationConfigurationNotFoundError"], GONE), convert::replication);
    let mut tags = BTreeMap::new();
    let tagging = classify(s3.get_bucket_tagging().bucket(n).send().await, &["NoSuchTagSet"], GONE);
    c.put(qrie_model::TAGS_KEY, tagging, |o| {
        let (set, map) = crate::json::tags(o.tag_set().iter().map(|t| (t.key(), t.value())));
        tags = map;
        serde_json::json!({ "TagSet": set })
    });
    if c.gone {
        return None;
    }
    let (config, errors) = c.into_parts();
    Some(Resource::new(
        format!("arn:aws:s3:::{name}"),
        account,
        region,
        Service::S3,
        "AWS::S3::Bucket",
        name,
        tags,
        config,
        errors,
        at,
    ))
}

/// The policy document is a JSON string; stored parsed. A document that does
/// not parse could not be read, as far as the policies are concerned.
fn parse_policy(out: Outcome<aws_sdk_s3::operation::get_bucket_policy::GetBucketPolicyOutput>) -> Outcome<Value> {
    match out {
        Outcome::Value(o) => match serde_json::from_str(o.policy().unwrap_or_default()) {
            Ok(v) => Outcome::Value(v),
            Err(e) => Outcome::Failed(format!("the bucket policy is not valid JSON: {e}")),
        },
        Outcome::Absent => Outcome::Absent,
        Outcome::Gone => Outcome::Gone,
        Outcome::Failed(m) => Outcome::Failed(m),
    }
}

/// The account-wide Block Public Access (S3 Control): `null` when never set.
async fn account_public_access_block(clients: &Clients, account: &str, at: Timestamp) -> Resource {
    let out = clients.s3control().get_public_access_block().account_id(account).send().await;
    let mut c = Config::default();
    c.put("PublicAccessBlock", classify(out, &["NoSuchPublicAccessBlockConfiguration"], &[]), |o| {
        o.public_access_block_configuration()
            .map(|p| {
                convert::public_access_block(
                    p.block_public_acls(),
                    p.ignore_public_acls(),
                    p.block_public_policy(),
                    p.restrict_public_buckets(),
                )
            })
            .unwrap_or(Value::Null)
    });
    let (config, errors) = c.into_parts();
    Resource::new(
        pseudo_arn::s3_account_public_access_block(account),
        account,
        GLOBAL_REGION,
        Service::S3,
        "AWS::S3::AccountPublicAccessBlock",
        "account-public-access-block",
        BTreeMap::new(),
        config,
        errors,
        at,
    )
}

/// A bucket (`arn:aws:s3:::NAME`) or the account's Block Public Access.
pub(crate) async fn describe(
    clients: &Clients,
    account: &str,
    arn: &str,
    at: Timestamp,
) -> Result<Option<Resource>, CloudError> {
    if arn == pseudo_arn::s3_account_public_access_block(account) {
        return Ok(Some(account_public_access_block(clients, account, at).await));
    }
    let name = arn.strip_prefix("arn:aws:s3:::").filter(|n| !n.is_empty() && !n.contains('/'));
    let Some(name) = name else { return Err(CloudError::UnknownResource(arn.to_string())) };
    Ok(read_bucket(clients, account, name.to_string(), None, at).await)
}
