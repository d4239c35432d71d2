//! `s3-account-block-public-access-off`: the account-level S3 Block Public
//! Access settings are not all on.

use qrie_model::{
    ComplianceRef, EvalContext, MissingData, PolicyDef, Remediation, Resource, Service, Severity, Verdict,
};
use serde_json::{json, Value};

use super::block_public_access::SETTINGS;
use crate::config::required;

pub static POLICY: PolicyDef = PolicyDef {
    id: "s3-account-block-public-access-off",
    title: "S3 account-level Block Public Access is not fully on",
    description: "One or more of the four account-level S3 Block Public Access settings (BlockPublicAcls, \
        IgnorePublicAcls, BlockPublicPolicy, RestrictPublicBuckets) is off, or none is configured. The account \
        level applies to every bucket, present and future, and is the one switch that keeps a mistaken bucket \
        policy or ACL from making data public.",
    service: Service::S3,
    resource_type: "AWS::S3::AccountPublicAccessBlock",
    category: "data-exposure",
    severity: Severity::of(70),
    remediation: Remediation {
        steps: &[
            "Check whether any bucket in the account must be public (a static website, public datasets); serve \
             such content through CloudFront with origin access control instead where possible.",
            "Turn on all four Block Public Access settings for the account.",
            "In an organization, enforce it with a service control policy that denies s3:PutAccountPublicAccessBlock.",
        ],
        cli: "aws s3control put-public-access-block --account-id ACCOUNT_ID --public-access-block-configuration \
              BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true",
        console: "Amazon S3 > Block Public Access settings for this account > Edit > Block all public access > \
                  Save changes",
        iac: r#"resource "aws_s3_account_public_access_block" "this" {
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
        ComplianceRef { framework: "hipaa", controls: &["164.312(a)(1)"] },
        ComplianceRef { framework: "cmmc-2.0", controls: &["AC.L1-3.1.22"] },
    ],
    params: &[],
    related: None,
    evaluate,
};

fn evaluate(r: &Resource, _: &EvalContext) -> Result<Verdict, MissingData> {
    let settings = r.field("PublicAccessBlock")?;
    if settings.is_null() {
        return Ok(Verdict::Fail(json!({"Path": "PublicAccessBlock", "Value": null,
                                       "Off": SETTINGS.map(|s| format!("PublicAccessBlock.{s}"))})));
    }
    let mut off = Vec::new();
    for s in SETTINGS {
        // AWS always returns all four; one missing is a record we cannot judge.
        if !required(settings, "PublicAccessBlock", s, Value::as_bool)? {
            off.push(format!("PublicAccessBlock.{s}"));
        }
    }
    if off.is_empty() {
        return Ok(Verdict::Pass);
    }
    Ok(Verdict::Fail(json!({"Path": off[0], "Off": off, "Value": settings})))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;

    #[test]
    fn golden_cases() {
        let cases = [
            ("all on", bpa(true, true, true, true), "pass"),
            ("not configured", Value::Null, "fail"),
            ("all off", bpa(false, false, false, false), "fail"),
            ("RestrictPublicBuckets off", bpa(true, true, true, false), "fail"),
            ("a setting missing", json!({"BlockPublicAcls": true}), "error"),
        ];
        for (name, settings, expected) in cases {
            assert_eq!(run(&POLICY, &account_bpa(settings)).name(), expected, "{name}");
        }
        let v = run(&POLICY, &unreadable(account_bpa(Value::Null), "PublicAccessBlock"));
        assert!(error_reason(v).contains("AccessDenied"));
    }

    #[test]
    fn evidence_lists_what_is_off() {
        let e = evidence(run(&POLICY, &account_bpa(bpa(true, false, true, false))));
        assert_eq!(e["Path"], "PublicAccessBlock.IgnorePublicAcls");
        assert_eq!(e["Off"], json!(["PublicAccessBlock.IgnorePublicAcls", "PublicAccessBlock.RestrictPublicBuckets"]));
        let e = evidence(run(&POLICY, &account_bpa(Value::Null)));
        assert_eq!(e["Value"], Value::Null);
        assert_eq!(e["Off"].as_array().unwrap().len(), 4);
    }

    #[test]
    fn recorded_account_settings() {
        let op = "s3-control.GetPublicAccessBlock";
        for file in recorded_files(op) {
            let settings = recorded(op, &file)["PublicAccessBlockConfiguration"].clone();
            // Both recordings block ACLs but leave RestrictPublicBuckets off.
            let e = evidence(run(&POLICY, &account_bpa(settings)));
            assert!(e["Off"].as_array().unwrap().contains(&json!("PublicAccessBlock.RestrictPublicBuckets")), "{file}");
        }
    }
}
