//! S3: bucket configuration calls name the bucket in `requestParameters.bucketName`; the
//! account's Block Public Access is an account-wide setting.

use qrie_model::ids::{pseudo_arn, GLOBAL_REGION};
use qrie_model::Service;

use crate::record::string_at;
use crate::route::{Ctx, Extracted};
use crate::types::Action;

pub(crate) const SOURCE: &str = "s3.amazonaws.com";

#[derive(Clone, Copy)]
pub(crate) enum How {
    Bucket(Action),
    AccountBlockPublicAccess,
}

use Action::{Deleted, Refresh};
use How::{AccountBlockPublicAccess as Account, Bucket};

/// CloudTrail event names (see `names.rs` for the few that differ from the S3 API).
pub(crate) const RULES: &[(&str, How)] = &[
    ("CreateBucket", Bucket(Refresh)),
    ("DeleteBucket", Bucket(Deleted)),
    ("PutBucketPolicy", Bucket(Refresh)),
    ("DeleteBucketPolicy", Bucket(Refresh)),
    ("PutBucketAcl", Bucket(Refresh)),
    ("PutBucketPublicAccessBlock", Bucket(Refresh)),
    ("DeleteBucketPublicAccessBlock", Bucket(Refresh)),
    ("PutBucketEncryption", Bucket(Refresh)),
    ("DeleteBucketEncryption", Bucket(Refresh)),
    ("PutBucketVersioning", Bucket(Refresh)),
    ("PutBucketLogging", Bucket(Refresh)),
    ("PutBucketOwnershipControls", Bucket(Refresh)),
    ("DeleteBucketOwnershipControls", Bucket(Refresh)),
    ("PutBucketLifecycle", Bucket(Refresh)),
    ("PutBucketLifecycleConfiguration", Bucket(Refresh)),
    ("DeleteBucketLifecycle", Bucket(Refresh)),
    ("PutBucketReplication", Bucket(Refresh)),
    ("DeleteBucketReplication", Bucket(Refresh)),
    ("PutBucketTagging", Bucket(Refresh)),
    ("DeleteBucketTagging", Bucket(Refresh)),
    ("PutBucketWebsite", Bucket(Refresh)),
    ("DeleteBucketWebsite", Bucket(Refresh)),
    ("PutObjectLockConfiguration", Bucket(Refresh)),
    ("PutAccountPublicAccessBlock", Account),
    ("DeleteAccountPublicAccessBlock", Account),
];

pub(crate) fn route(ctx: &Ctx) -> Option<Extracted> {
    let (_, how) = RULES.iter().find(|(name, _)| *name == ctx.name)?;
    Some(match *how {
        Bucket(action) => bucket(ctx, action),
        Account => {
            let arn = pseudo_arn::s3_account_public_access_block(ctx.account);
            let kind = "AWS::S3::AccountPublicAccessBlock";
            Ok(vec![ctx.target(Service::S3, kind, arn, GLOBAL_REGION, Action::AccountWide, None)])
        }
    })
}

fn bucket(ctx: &Ctx, action: Action) -> Extracted {
    // `resources` carries the bucket ARN when request parameters were trimmed (some re-shippers).
    let name = ctx.request("bucketName").into_iter().next().or_else(|| {
        let resources = ctx.rec.get("resources")?.as_array()?;
        resources
            .iter()
            .filter(|r| string_at(r, "type").as_deref() == Some("AWS::S3::Bucket"))
            .find_map(|r| string_at(r, "ARN")?.strip_prefix("arn:aws:s3:::").map(str::to_string))
    });
    let name = name.filter(|n| !n.is_empty()).ok_or("no requestParameters.bucketName")?;
    let arn = format!("arn:aws:s3:::{name}");
    Ok(vec![ctx.target(Service::S3, "AWS::S3::Bucket", arn, ctx.region, action, Some(name))])
}
