//! `s3-bucket-policy-cross-account`: the bucket policy grants access to
//! principals of other AWS accounts.

use qrie_model::{
    ComplianceRef, EvalContext, MissingData, ParamDef, ParamRule, ParamValue, PolicyDef, Remediation, Resource,
    Service, Severity, Verdict,
};
use serde_json::{json, Value};

use super::block_public_access as bpa;
use super::exposure;

pub static POLICY: PolicyDef = PolicyDef {
    id: "s3-bucket-policy-cross-account",
    title: "S3 bucket policy grants access to other accounts",
    description: "An Allow statement of the bucket policy names a principal of another AWS account (its root, a \
        role or a user), or grants Principal \"*\" limited by a condition to another account (aws:PrincipalAccount, \
        aws:SourceAccount, aws:PrincipalArn, s3:DataAccessPointAccount...). Accounts listed in the trusted_accounts \
        parameter are accepted. When the policy is also public and RestrictPublicBuckets is on, S3 blocks its \
        cross-account access, and the bucket passes.",
    service: Service::S3,
    resource_type: "AWS::S3::Bucket",
    category: "access-control",
    severity: Severity::of(50),
    remediation: Remediation {
        steps: &[
            "Confirm each account named in the evidence is one you trust to access this bucket, and that it needs \
             the actions granted.",
            "Remove statements for accounts that no longer need access, or narrow them to the actions and prefixes \
             needed.",
            "Add the accounts you do trust to the policy's trusted_accounts parameter so that they are not reported \
             again.",
        ],
        cli: "aws s3api get-bucket-policy --bucket BUCKET --query Policy --output text > policy.json\n\
              # remove or narrow the cross-account statements in policy.json, then:\n\
              aws s3api put-bucket-policy --bucket BUCKET --policy file://policy.json",
        console: "Amazon S3 > Buckets > BUCKET > Permissions > Bucket policy > Edit: remove or narrow the \
                  statements naming other accounts > Save changes; IAM > Access analyzer lists every bucket \
                  shared outside the account",
        iac: r#"data "aws_iam_policy_document" "bucket" {
  statement {
    actions   = ["s3:GetObject"]
    resources = ["${aws_s3_bucket.this.arn}/shared/*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:aws:iam::111122223333:role/reader"] # a trusted account's role, not its root
    }
  }
}

resource "aws_s3_bucket_policy" "this" {
  bucket = aws_s3_bucket.this.id
  policy = data.aws_iam_policy_document.bucket.json
}"#,
    },
    compliance: &[
        ComplianceRef { framework: "nist-800-53-r5", controls: &["AC-3", "AC-6", "AC-21"] },
        ComplianceRef { framework: "pci-dss-4.0", controls: &["7.2.1"] },
        ComplianceRef { framework: "hipaa", controls: &["164.312(a)(1)"] },
        ComplianceRef { framework: "cmmc-2.0", controls: &["AC.L1-3.1.1"] },
    ],
    params: &[ParamDef {
        name: "trusted_accounts",
        description: "Comma-separated account ids that may be granted access (e.g. your log archive account).",
        default: ParamValue::Text(""),
        rule: ParamRule::AccountIds,
    }],
    related: Some(bpa::DEPENDENCY),
    evaluate,
};

fn evaluate(r: &Resource, ctx: &EvalContext) -> Result<Verdict, MissingData> {
    let Some(doc) = exposure::bucket_policy(r)? else {
        return Ok(Verdict::Pass);
    };
    let trusted: Vec<&str> =
        ctx.params.text("trusted_accounts")?.split(',').map(str::trim).filter(|a| !a.is_empty()).collect();
    let foreign: Vec<_> = doc
        .cross_account_principals(&r.account_id)
        .into_iter()
        .filter(|c| !trusted.contains(&c.account.as_str()))
        .collect();
    if foreign.is_empty() {
        return Ok(Verdict::Pass);
    }
    // RestrictPublicBuckets blocks "public and cross-account access within any
    // public bucket policy": it matters only when the policy is public.
    if !doc.public_grants("s3").is_empty() && exposure::policy_neutraliser(r, ctx)?.is_some() {
        return Ok(Verdict::Pass);
    }
    let first = &foreign[0];
    let mut accounts: Vec<&str> = foreign.iter().map(|c| c.account.as_str()).collect();
    accounts.sort();
    accounts.dedup();
    let mut e = first.grant.evidence();
    e["Account"] = json!(first.account);
    e["Via"] = json!(first.via);
    e["Accounts"] = json!(accounts);
    let mut others: Vec<&str> = foreign[1..].iter().map(|c| c.grant.path.as_str()).collect();
    others.retain(|p| *p != first.grant.path);
    others.dedup();
    if !others.is_empty() {
        e["AlsoMatched"] = Value::from(others);
    }
    Ok(Verdict::Fail(e))
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;
    use crate::testing::*;

    fn foreign(principal: Value) -> Value {
        json!([allow(principal, json!("s3:GetObject"))])
    }

    #[test]
    fn golden_cases() {
        let none = Some(Value::Null);
        let other_root = format!("arn:aws:iam::{OTHER_ACCOUNT}:root");
        check(
            &POLICY,
            vec![
                ("no policy", bucket("b", json!({})), None, "pass"),
                (
                    "own account",
                    bucket_with_policy(
                        foreign(json!({"AWS": format!("arn:aws:iam::{ACCOUNT}:role/app")})),
                        Value::Null,
                    ),
                    None,
                    "pass",
                ),
                (
                    "another account's root",
                    bucket_with_policy(foreign(json!({"AWS": other_root})), Value::Null),
                    None,
                    "fail",
                ),
                (
                    "another account's id",
                    bucket_with_policy(foreign(json!({"AWS": [ACCOUNT, OTHER_ACCOUNT]})), Value::Null),
                    None,
                    "fail",
                ),
                (
                    "a service principal",
                    bucket_with_policy(foreign(json!({"Service": "logging.s3.amazonaws.com"})), Value::Null),
                    None,
                    "pass",
                ),
                // Public, not cross-account: the public policies report it.
                ("anyone", bucket_with_policy(foreign(json!("*")), Value::Null), None, "pass"),
                (
                    "anyone limited to another account",
                    bucket_with_policy(
                        json!([with_condition(
                            allow(json!("*"), json!("s3:GetObject")),
                            json!({"StringEquals": {"aws:PrincipalAccount": OTHER_ACCOUNT}})
                        )]),
                        Value::Null,
                    ),
                    None,
                    "fail",
                ),
                (
                    "a Deny for another account",
                    bucket_with_policy(
                        json!([{"Effect": "Deny", "Principal": {"AWS": OTHER_ACCOUNT}, "Action": "s3:*", "Resource": "*"}]),
                        Value::Null,
                    ),
                    None,
                    "pass",
                ),
                // Cross-account grants inside a public policy are blocked by RestrictPublicBuckets.
                (
                    "public policy, RestrictPublicBuckets",
                    bucket_with_policy(
                        json!([
                            allow(json!({"AWS": OTHER_ACCOUNT}), json!("s3:GetObject")),
                            allow(json!("*"), json!("s3:GetObject"))
                        ]),
                        Value::Null,
                    ),
                    Some(bpa(false, false, false, true)),
                    "pass",
                ),
                (
                    "public policy, no BPA",
                    bucket_with_policy(
                        json!([
                            allow(json!({"AWS": OTHER_ACCOUNT}), json!("s3:GetObject")),
                            allow(json!("*"), json!("s3:GetObject"))
                        ]),
                        Value::Null,
                    ),
                    none.clone(),
                    "fail",
                ),
                (
                    "public policy, account settings missing",
                    bucket_with_policy(
                        json!([
                            allow(json!({"AWS": OTHER_ACCOUNT}), json!("s3:GetObject")),
                            allow(json!("*"), json!("s3:GetObject"))
                        ]),
                        Value::Null,
                    ),
                    None,
                    "error",
                ),
                // A non-public policy is not affected by RestrictPublicBuckets.
                (
                    "RestrictPublicBuckets, non-public policy",
                    bucket_with_policy(foreign(json!({"AWS": OTHER_ACCOUNT})), bpa(true, true, true, true)),
                    None,
                    "fail",
                ),
                ("policy unreadable", unreadable(bucket("b", json!({})), "Policy"), None, "error"),
            ],
        );
    }

    #[test]
    fn trusted_accounts_are_accepted() {
        let r = bucket_with_policy(foreign(json!({"AWS": [OTHER_ACCOUNT, "444455556666"]})), Value::Null);
        let run = |trusted: &str| run_with(&POLICY, &r, &[], json!({"trusted_accounts": trusted}), now());
        assert_eq!(evidence(run("444455556666"))["Accounts"], json!([OTHER_ACCOUNT]));
        assert_eq!(run(&format!("{OTHER_ACCOUNT}, 444455556666")), Verdict::Pass);
        let e = evidence(run(""));
        assert_eq!(e["Accounts"], json!([OTHER_ACCOUNT, "444455556666"]));
        assert_eq!(e["Path"], "Policy.Statement[0]");
        assert_eq!(e["Via"], json!(format!("AWS:{OTHER_ACCOUNT}")));
    }

    #[test]
    fn recorded_cloudtrail_bucket_policy() {
        // A real CloudTrail bucket of account 619193117841 that two other
        // accounts deliver to.
        let file = "test_s3_encrypt_policy__s3.GetBucketPolicy_3.json";
        let mut r = bucket("hazmat-audit-logs", json!({"Policy": recorded("s3.GetBucketPolicy", file)["Policy"]}));
        r.account_id = "619193117841".to_string();
        let e = evidence(run(&POLICY, &r));
        assert_eq!(e["Accounts"], json!(["086441151436", "113285607260"]));
        assert_eq!(e["Statement"]["Sid"], "AWSCloudTrailAclCheck20131101");
        assert_eq!(e["AlsoMatched"], json!(["Policy.Statement[1]"]));
        assert_eq!(e["Access"], json!(["read"]));
        let v = run_with(&POLICY, &r, &[], json!({"trusted_accounts": "086441151436,113285607260"}), now());
        assert_eq!(v, Verdict::Pass);
    }
}
