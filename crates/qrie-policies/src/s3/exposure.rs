//! Whether a bucket is public, computed from everything that decides it:
//! the bucket ACL, the bucket policy, Object Ownership, and Block Public Access
//! at bucket and account level.
//!
//! - **ACL grants** to `AllUsers` (anyone) and `AuthenticatedUsers` (any AWS
//!   account) are public. They have no effect when `IgnorePublicAcls` is on at
//!   either level, or when Object Ownership is `BucketOwnerEnforced` (ACLs
//!   disabled). `BlockPublicAcls` only rejects *new* public ACLs: an existing
//!   grant stays in force.
//! - **Policy statements** are public when [`PolicyDocument::public_grants`]
//!   says so (`Principal *` with no condition limiting the caller to known
//!   parties: `aws:SourceVpce`, `aws:PrincipalOrgID`, a private `aws:SourceIp`…).
//!   They have no effect for anonymous and cross-account callers when
//!   `RestrictPublicBuckets` is on at either level. `BlockPublicPolicy` only
//!   rejects *new* public policies: an existing one stays in force.
//!
//! A public grant that only Block Public Access neutralises is not a public
//! bucket, but a latent risk: turning one setting off exposes it
//! (`s3-bucket-public-access-blocked-only-by-bpa`).

use qrie_model::{EvalContext, MissingData, Resource};
use serde_json::{json, Value};

use super::block_public_access::Levels;
use crate::config::required;
use crate::document::{AccessLevel, Match, PolicyDocument};

pub(crate) const ALL_USERS: &str = "http://acs.amazonaws.com/groups/global/AllUsers";
pub(crate) const AUTHENTICATED_USERS: &str = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers";

/// One ACL grant that matched, with its path (`Acl.Grants[1]`).
pub(crate) struct AclGrant<'a> {
    pub path: String,
    pub grant: &'a Value,
}

/// The bucket ACL's grants to the group `uri` whose permission is one of
/// `permissions` (empty: any).
pub(crate) fn acl_grants<'a>(
    r: &'a Resource,
    uri: &str,
    permissions: &[&str],
) -> Result<Vec<AclGrant<'a>>, MissingData> {
    let grants = required(r.field("Acl")?, "Acl", "Grants", Value::as_array)?;
    Ok(grants
        .iter()
        .enumerate()
        .filter(|(_, g)| g["Grantee"]["URI"] == uri)
        .filter(|(_, g)| permissions.is_empty() || g["Permission"].as_str().is_some_and(|p| permissions.contains(&p)))
        .map(|(i, grant)| AclGrant { path: format!("Acl.Grants[{i}]"), grant })
        .collect())
}

/// Why public ACL grants have no effect on this bucket, if they have none:
/// `IgnorePublicAcls` at either level, or ACLs disabled by Object Ownership.
pub(crate) fn acl_neutraliser(r: &Resource, ctx: &EvalContext) -> Result<Option<Value>, MissingData> {
    // Ownership first: readable and enforced decides alone.
    let ownership = r.field("OwnershipControls");
    if let Ok(v) = &ownership {
        if let Some(path) = acls_disabled(v) {
            return Ok(Some(json!({"Level": "bucket", "Path": path, "Value": "BucketOwnerEnforced"})));
        }
    }
    let levels = Levels::of(r, ctx);
    match levels.in_force("IgnorePublicAcls") {
        Ok(Some(by)) => Ok(Some(by)),
        Ok(None) => ownership.map(|_| None),
        Err(e) => Err(e),
    }
}

/// The path of the `BucketOwnerEnforced` rule, if ACLs are disabled.
pub(crate) fn acls_disabled(ownership: &Value) -> Option<String> {
    let rules = ownership["OwnershipControls"]["Rules"].as_array()?;
    rules
        .iter()
        .position(|rule| rule["ObjectOwnership"] == "BucketOwnerEnforced")
        .map(|i| format!("OwnershipControls.OwnershipControls.Rules[{i}].ObjectOwnership"))
}

/// The bucket policy, parsed; `None` when the bucket has none.
pub(crate) fn bucket_policy(r: &Resource) -> Result<Option<PolicyDocument>, MissingData> {
    Ok(PolicyDocument::parse_optional(r.field("Policy")?, "Policy")?)
}

/// The public statements of the bucket policy (see [`PolicyDocument::public_grants`]).
pub(crate) fn policy_public_grants(r: &Resource) -> Result<Vec<Match>, MissingData> {
    Ok(bucket_policy(r)?.map(|d| d.public_grants("s3")).unwrap_or_default())
}

/// Why a public bucket policy has no effect for the public, if it has none:
/// `RestrictPublicBuckets` at either level.
pub(crate) fn policy_neutraliser(r: &Resource, ctx: &EvalContext) -> Result<Option<Value>, MissingData> {
    Levels::of(r, ctx).in_force("RestrictPublicBuckets")
}

/// Evidence for a public policy finding: the first statement, the others'
/// paths, and Block Public Access as read.
pub(crate) fn policy_evidence(matches: &[&Match], r: &Resource, ctx: &EvalContext) -> Value {
    let mut e = matches[0].evidence();
    e["BlockPublicAccess"] = Levels::of(r, ctx).evidence();
    if matches.len() > 1 {
        e["AlsoMatched"] = matches[1..].iter().map(|m| json!(m.path)).collect();
    }
    e
}

/// Evidence for a public ACL finding: the first grant, the others' paths,
/// and Block Public Access as read.
pub(crate) fn acl_evidence(grants: &[AclGrant], r: &Resource, ctx: &EvalContext) -> Value {
    let mut e = json!({
        "Path": grants[0].path,
        "Grant": grants[0].grant,
        "BlockPublicAccess": Levels::of(r, ctx).evidence(),
    });
    if grants.len() > 1 {
        e["AlsoMatched"] = grants[1..].iter().map(|g| json!(g.path)).collect();
    }
    e
}

/// Evaluates an "ACL grants X to group Y" policy: grants to `uri` with one of
/// `permissions`, failing unless ACLs are ignored or disabled.
pub(crate) fn evaluate_acl(
    r: &Resource,
    ctx: &EvalContext,
    uri: &str,
    permissions: &[&str],
) -> Result<qrie_model::Verdict, MissingData> {
    let grants = acl_grants(r, uri, permissions)?;
    if grants.is_empty() || acl_neutraliser(r, ctx)?.is_some() {
        return Ok(qrie_model::Verdict::Pass);
    }
    Ok(qrie_model::Verdict::Fail(acl_evidence(&grants, r, ctx)))
}

/// Evaluates a "bucket policy gives the public X" policy: public statements
/// giving one of `levels`, failing unless `RestrictPublicBuckets` is in force.
pub(crate) fn evaluate_policy(
    r: &Resource,
    ctx: &EvalContext,
    levels: &[AccessLevel],
) -> Result<qrie_model::Verdict, MissingData> {
    let grants = policy_public_grants(r)?;
    let relevant: Vec<&Match> = grants.iter().filter(|m| m.access.iter().any(|l| levels.contains(l))).collect();
    if relevant.is_empty() || policy_neutraliser(r, ctx)?.is_some() {
        return Ok(qrie_model::Verdict::Pass);
    }
    Ok(qrie_model::Verdict::Fail(policy_evidence(&relevant, r, ctx)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;
    use qrie_model::{Params, Verdict};
    use std::collections::HashMap;

    fn with_ctx<T>(related: &[Resource], f: impl FnOnce(&EvalContext) -> T) -> T {
        let params = Params::default();
        let map: HashMap<String, Resource> = related.iter().map(|r| (r.arn.clone(), r.clone())).collect();
        f(&EvalContext { params: &params, now: now(), related: &map })
    }

    #[test]
    fn acl_neutralisers() {
        let enforced = json!({"OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}});
        let acct = [account_bpa(Value::Null)];
        // ACLs disabled decides even without the account settings.
        let r = bucket("b", json!({"OwnershipControls": enforced}));
        let by = with_ctx(&[], |ctx| acl_neutraliser(&r, ctx)).unwrap().unwrap();
        assert_eq!(by["Path"], "OwnershipControls.OwnershipControls.Rules[0].ObjectOwnership");
        // IgnorePublicAcls at the account level.
        let r = bucket("b", json!({}));
        let by = with_ctx(&[account_bpa(bpa(false, true, false, false))], |ctx| acl_neutraliser(&r, ctx));
        assert_eq!(by.unwrap().unwrap()["Level"], "account");
        // Nothing neutralises.
        assert_eq!(with_ctx(&acct, |ctx| acl_neutraliser(&r, ctx)), Ok(None));
        // Ownership unreadable and nothing else on: cannot tell.
        let r = unreadable(bucket("b", json!({})), "OwnershipControls");
        assert!(with_ctx(&acct, |ctx| acl_neutraliser(&r, ctx)).is_err());
    }

    #[test]
    fn policy_neutraliser_is_restrict_public_buckets_only() {
        let r = bucket("b", json!({"PublicAccessBlock": bpa(true, true, true, false)}));
        assert_eq!(with_ctx(&[account_bpa(bpa(true, true, true, false))], |ctx| policy_neutraliser(&r, ctx)), Ok(None));
        let by = with_ctx(&[account_bpa(bpa(false, false, false, true))], |ctx| policy_neutraliser(&r, ctx));
        assert_eq!(
            by.unwrap().unwrap(),
            json!({"Level": "account", "ARN": "arn:aws:s3::123456789012:account-public-access-block",
                   "Path": "PublicAccessBlock.RestrictPublicBuckets"})
        );
        assert!(with_ctx(&[], |ctx| policy_neutraliser(&r, ctx)).is_err());
    }

    #[test]
    fn malformed_policy_is_an_error() {
        let r = bucket("b", json!({"Policy": {"Statement": [{"Effect": "Sometimes"}]}}));
        let e = policy_public_grants(&r).err().unwrap();
        assert!(e.0.contains("policy document not understood"), "{e:?}");
        let v = with_ctx(&[], |ctx| evaluate_policy(&r, ctx, &AccessLevel::ALL)).unwrap_or_else(Verdict::from);
        assert!(matches!(v, Verdict::Error(_)));
    }
}
