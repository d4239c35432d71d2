//! S3 Block Public Access, at bucket and account level. S3 applies the union
//! of the two: a setting turned on at either level is in force for the bucket,
//! which is why bucket policies about public access need the account's settings
//! as a related resource.

use qrie_model::ids::pseudo_arn;
use qrie_model::{EvalContext, MissingData, Resource};
use serde_json::{json, Value};

/// The ARN of the account-level settings that apply to this bucket.
pub(crate) fn account_arn(bucket: &Resource) -> String {
    pseudo_arn::s3_account_public_access_block(&bucket.account_id)
}

/// `related` for policies that need the account-level settings.
pub(crate) fn related(bucket: &Resource) -> Vec<String> {
    vec![account_arn(bucket)]
}

/// What the bucket exposure policies read besides the bucket.
pub(crate) const DEPENDENCY: qrie_model::Dependency =
    qrie_model::Dependency { types: &["AWS::S3::AccountPublicAccessBlock"], arns: related };

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

/// The four settings, in the order AWS lists them.
pub(crate) const SETTINGS: [&str; 4] =
    ["BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"];

/// Whether one setting is on in these settings (`null`, absent or not a
/// boolean: off, which errs towards reporting exposure).
pub(crate) fn is_on(settings: &Value, setting: &str) -> bool {
    settings.get(setting).and_then(Value::as_bool).unwrap_or(false)
}

/// The paths of the settings that are not on (all four for `null`).
pub(crate) fn settings_off(settings: &Value, path: &str) -> Vec<String> {
    SETTINGS.iter().filter(|s| !is_on(settings, s)).map(|s| format!("{path}.{s}")).collect()
}

/// Both levels of a bucket's Block Public Access, each as read (or why not).
/// S3 applies their union: a setting on at either level is in force.
pub(crate) struct Levels<'a> {
    pub bucket: Result<&'a Value, MissingData>,
    pub account: Result<&'a Value, MissingData>,
    account_arn: String,
}

impl<'a> Levels<'a> {
    pub(crate) fn of(bucket: &'a Resource, ctx: &'a EvalContext) -> Levels<'a> {
        Levels {
            bucket: bucket.field("PublicAccessBlock"),
            account: account_settings(bucket, ctx),
            account_arn: account_arn(bucket),
        }
    }

    /// Where `setting` is on: `Some(evidence)` naming the level and path,
    /// `None` when it is off at both. One readable level that has it on
    /// decides even if the other could not be read; off where readable and
    /// unreadable elsewhere is missing data.
    pub(crate) fn in_force(&self, setting: &str) -> Result<Option<Value>, MissingData> {
        if self.bucket.as_ref().is_ok_and(|v| is_on(v, setting)) {
            return Ok(Some(json!({"Level": "bucket", "Path": format!("PublicAccessBlock.{setting}")})));
        }
        if self.account.as_ref().is_ok_and(|v| is_on(v, setting)) {
            return Ok(Some(json!({"Level": "account", "ARN": self.account_arn,
                                  "Path": format!("PublicAccessBlock.{setting}")})));
        }
        if let Err(e) = &self.bucket {
            return Err(e.clone());
        }
        if let Err(e) = &self.account {
            return Err(e.clone());
        }
        Ok(None)
    }

    /// Both levels as read, for evidence (`null`: not configured).
    pub(crate) fn evidence(&self) -> Value {
        let show = |r: &Result<&Value, MissingData>| match r {
            Ok(v) => (*v).clone(),
            Err(e) => json!({"Unreadable": e.0}),
        };
        json!({"Bucket": show(&self.bucket), "Account": show(&self.account)})
    }
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
            assert_eq!(is_on(settings, "IgnorePublicAcls"), ignores, "{file}");
        }
        assert!(!is_on(&Value::Null, "IgnorePublicAcls"));
        assert!(!is_on(&json!({"BlockPublicAcls": true}), "IgnorePublicAcls"));
        assert!(is_on(&bpa(false, true, false, false), "IgnorePublicAcls"));
    }
}
