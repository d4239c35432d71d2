//! `s3-bucket-block-public-access-off`: the bucket's own Block Public Access
//! settings are not all on.

use qrie_model::{
    ComplianceRef, EvalContext, MissingData, ParamDef, ParamRule, ParamValue, PolicyDef, Remediation, Resource,
    Service, Severity, Verdict,
};
use serde_json::json;

use super::block_public_access::{self as bpa, settings_off};

pub static POLICY: PolicyDef = PolicyDef {
    id: "s3-bucket-block-public-access-off",
    title: "S3 bucket-level Block Public Access is not fully on",
    description: "One or more of the bucket's four Block Public Access settings is off, or none is configured. \
        By default (account_level_suffices) a bucket passes when all four account-level settings are on, since S3 \
        applies the union of both levels; set the parameter to false to require the bucket level as well, as AWS \
        Security Hub's S3.8 does.",
    service: Service::S3,
    resource_type: "AWS::S3::Bucket",
    category: "data-exposure",
    severity: Severity::of(50),
    remediation: Remediation {
        steps: &[
            "Confirm the bucket is not meant to be public.",
            "Turn on all four Block Public Access settings for the bucket.",
            "Prefer turning them on for the whole account as well.",
        ],
        cli: "aws s3api put-public-access-block --bucket BUCKET --public-access-block-configuration \
              BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true",
        console: "Amazon S3 > Buckets > BUCKET > Permissions > Block public access (bucket settings) > Edit > Block \
                  all public access > Save changes",
        iac: r#"resource "aws_s3_bucket_public_access_block" "this" {
  bucket                  = aws_s3_bucket.this.id
  block_public_acls       = true
  ignore_public_acls      = true
  block_public_policy     = true
  restrict_public_buckets = true
}"#,
    },
    compliance: &[
        ComplianceRef { framework: "cis-aws-3.0", controls: &["2.1.4"] },
        ComplianceRef { framework: "nist-800-53-r5", controls: &["AC-3", "SC-7"] },
        ComplianceRef { framework: "pci-dss-4.0", controls: &["1.4.4"] },
        ComplianceRef { framework: "cmmc-2.0", controls: &["AC.L1-3.1.22"] },
    ],
    params: &[ParamDef {
        name: "account_level_suffices",
        description: "Pass a bucket whose account has all four account-level settings on.",
        default: ParamValue::Bool(true),
        rule: ParamRule::Any,
    }],
    related: Some(bpa::DEPENDENCY),
    evaluate,
};

fn evaluate(r: &Resource, ctx: &EvalContext) -> Result<Verdict, MissingData> {
    let settings = r.field("PublicAccessBlock")?;
    let off = settings_off(settings, "PublicAccessBlock");
    if off.is_empty() {
        return Ok(Verdict::Pass);
    }
    let mut e = json!({"Path": if settings.is_null() { "PublicAccessBlock".to_string() } else { off[0].clone() },
                       "Off": off, "Value": settings});
    if ctx.params.bool("account_level_suffices")? {
        let account = bpa::account_settings(r, ctx)?;
        if settings_off(account, "PublicAccessBlock").is_empty() {
            return Ok(Verdict::Pass);
        }
        e["Account"] = account.clone();
    }
    Ok(Verdict::Fail(e))
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;
    use crate::testing::*;
    use serde_json::Value;

    #[test]
    fn golden_cases() {
        let with = |settings: Value| bucket("b", json!({"PublicAccessBlock": settings}));
        let all = bpa(true, true, true, true);
        check(
            &POLICY,
            vec![
                ("all on", with(all.clone()), None, "pass"),
                ("not configured", with(Value::Null), Some(Value::Null), "fail"),
                ("one off", with(bpa(true, true, true, false)), Some(bpa(true, true, true, false)), "fail"),
                // Pass through the account level, by default.
                ("not configured, account all on", with(Value::Null), Some(all.clone()), "pass"),
                // The union of partial settings is not judged: each level on its own.
                (
                    "complementary halves",
                    with(bpa(true, true, false, false)),
                    Some(bpa(false, false, true, true)),
                    "fail",
                ),
                ("not configured, account missing", with(Value::Null), None, "error"),
                ("unreadable", unreadable(bucket("b", json!({})), "PublicAccessBlock"), Some(all), "error"),
            ],
        );
        let r = with(Value::Null);
        let strict = run_with(
            &POLICY,
            &r,
            &[account_bpa(bpa(true, true, true, true))],
            json!({"account_level_suffices": false}),
            now(),
        );
        let e = evidence(strict);
        assert_eq!(e["Path"], "PublicAccessBlock");
        assert!(e.get("Account").is_none());
    }

    #[test]
    fn recorded_bucket_settings() {
        let op = "s3.GetPublicAccessBlock";
        let mut passing = 0;
        for file in recorded_files(op) {
            let r = bucket("b", json!({"PublicAccessBlock": recorded(op, &file)["PublicAccessBlockConfiguration"]}));
            match verdict(&POLICY, &r, Some(Value::Null)) {
                Verdict::Pass => passing += 1,
                Verdict::Fail(e) => assert!(!e["Off"].as_array().unwrap().is_empty()),
                other => panic!("{file}: {other:?}"),
            }
        }
        // Only test_s3_public_block_disable_all_1 has all four on.
        assert_eq!(passing, 1);
    }
}
