//! S3 Block Public Access, at bucket and account level. S3 applies the union
//! of the two: a setting turned on at either level is in force for the bucket,
//! which is why bucket policies about public access need the account's settings
//! as a related resource.

use qrie_model::ids::pseudo_arn;
use qrie_model::{EvalContext, MissingData, Resource};
use serde_json::Value;

/// The ARN of the account-level settings that apply to this bucket.
pub(crate) fn account_arn(bucket: &Resource) -> String {
    pseudo_arn::s3_account_public_access_block(&bucket.account_id)
}

/// `related` for policies that need the account-level settings.
pub(crate) fn related(bucket: &Resource) -> Vec<String> {
    vec![account_arn(bucket)]
}

/// The account's `PublicAccessBlock` (`null` when not configured). Missing from
/// the inventory, or unreadable, is missing data: the account settings may be
/// exactly what makes the bucket private.
pub(crate) fn account_settings<'a>(bucket: &Resource, ctx: &'a EvalContext) -> Result<&'a Value, MissingData> {
    let arn = account_arn(bucket);
    let account = ctx.related(&arn).ok_or_else(|| {
        MissingData(format!("the account's S3 Block Public Access settings ({arn}) are not in the inventory"))
    })?;
    account.field("PublicAccessBlock")
}

/// Whether S3 ignores public ACL grants under these settings. `null` (not
/// configured) does not; neither does a setting that is absent, so an
/// unexpected shape errs towards reporting the grant rather than hiding it.
pub(crate) fn ignores_public_acls(settings: &Value) -> bool {
    settings.get("IgnorePublicAcls").and_then(Value::as_bool).unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{bpa, recorded};
    use serde_json::json;

    #[test]
    fn only_ignore_public_acls_neutralises_acl_grants() {
        // Recorded GetPublicAccessBlock responses; the collector stores the
        // inner PublicAccessBlockConfiguration.
        let cases = [
            ("test_s3_public_block_disable_all__s3.GetPublicAccessBlock_1.json", true),
            ("test_s3_public_block_disable_all__s3.GetPublicAccessBlock_2.json", false),
            // BlockPublicAcls only stops new public ACLs; existing ones still apply.
            ("test_s3_check_public_block__s3.GetPublicAccessBlock_2.json", false),
            ("test_s3_public_block_disable_one__s3.GetPublicAccessBlock_1.json", true),
        ];
        for (file, ignores) in cases {
            let settings = &recorded("s3.GetPublicAccessBlock", file)["PublicAccessBlockConfiguration"];
            assert!(settings.is_object(), "{file}");
            assert_eq!(ignores_public_acls(settings), ignores, "{file}");
        }
        assert!(!ignores_public_acls(&Value::Null));
        assert!(!ignores_public_acls(&json!({"BlockPublicAcls": true})));
        assert!(ignores_public_acls(&bpa(false, true, false, false)));
    }
}
