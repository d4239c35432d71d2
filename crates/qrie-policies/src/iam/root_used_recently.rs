//! `iam-root-used-recently`: the root user signed in or its access keys were
//! used within the last `window_days`.

use qrie_model::{
    ComplianceRef, EvalContext, MissingData, ParamDef, ParamRule, ParamValue, PolicyDef, Remediation, Resource,
    Service, Severity, Verdict,
};
use serde_json::json;

use super::report::{self, age_days};

const WINDOW_DAYS: &str = "window_days";

pub static POLICY: PolicyDef = PolicyDef {
    id: "iam-root-used-recently",
    title: "Root user used recently",
    description: "The root user's password or one of its access keys was used within the last window_days, \
        according to the credential report's <root_account> row. A handful of tasks need root and happen rarely; \
        regular use means root is doing everyday work, where its unlimited power turns every mistake and every \
        stolen session into a catastrophe. The default window (30 days) is short enough that a legitimate root \
        task, such as assigning root MFA, stops being reported a month later.",
    service: Service::Iam,
    resource_type: "AWS::IAM::RootUser",
    category: "identity",
    severity: Severity::of(60),
    remediation: Remediation {
        steps: &[
            "Find out who used root and why: CloudTrail events whose userIdentity type is Root, around the time in \
             the evidence.",
            "If the task did not require root, give the person an IAM Identity Center permission set or an IAM role \
             for it, and agree that root is for the tasks that require it only.",
            "Alert on root use from now on (an EventBridge rule or CloudWatch metric filter on userIdentity.type = \
             Root), and delete any root access keys.",
        ],
        cli: "aws iam generate-credential-report\n\
              aws iam get-credential-report --query Content --output text | base64 -d | grep '<root_account>'\n\
              aws cloudtrail lookup-events --lookup-attributes AttributeKey=Username,AttributeValue=root",
        console: "CloudTrail > Event history > Lookup attributes: User name = root",
        iac: r#"# Alert on every use of the root user.
resource "aws_cloudwatch_event_rule" "root_activity" {
  name = "root-activity"
  event_pattern = jsonencode({
    detail = { userIdentity = { type = ["Root"] } }
  })
}"#,
    },
    compliance: &[
        ComplianceRef { framework: "cis-aws-3.0", controls: &["1.7"] },
        ComplianceRef { framework: "nist-800-53-r5", controls: &["AC-6(2)"] },
    ],
    params: &[ParamDef {
        name: WINDOW_DAYS,
        description: "How recent a use of the root user's password or access keys is reported, in whole days.",
        default: ParamValue::Int(30),
        rule: ParamRule::Range(1, 3650),
    }],
    related: None,
    evaluate,
};

/// The row's "last used" columns and the markers that mean "never used" in
/// each: `no_information` means not used since IAM began tracking (2014).
const USES: &[(&str, &[&str])] = &[
    ("password_last_used", &["N/A", "no_information"]),
    ("access_key_1_last_used_date", &["N/A"]),
    ("access_key_2_last_used_date", &["N/A"]),
];

fn evaluate(r: &Resource, ctx: &EvalContext) -> Result<Verdict, MissingData> {
    let window = ctx.params.int(WINDOW_DAYS)?;
    if window < 0 {
        return Err(MissingData(format!("parameter {WINDOW_DAYS} must not be negative, got {window}")));
    }
    let row = report::row(r)?;
    let mut recent = Vec::new();
    for (column, never) in USES {
        if let Some(at) = report::time(row, column, never)? {
            let age = age_days(at, ctx.now);
            if age <= window {
                recent
                    .push(json!({"Path": format!("CredentialReport.{column}"), "Value": row[column], "AgeDays": age}));
            }
        }
    }
    if recent.is_empty() {
        return Ok(Verdict::Pass);
    }
    Ok(Verdict::Fail(json!({"Uses": recent, "WindowDays": window})))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iam::fixtures::*;
    use crate::testing::*;
    use chrono::{TimeZone, Utc};
    use serde_json::Value;

    fn with_row(overrides: Value) -> Resource {
        root(json!({"CredentialReport": root_row(overrides)}))
    }

    #[test]
    fn golden_cases() {
        let cases: Vec<(&str, Resource, Value, &str)> = vec![
            ("last sign-in years ago", with_row(json!({})), json!({}), "pass"),
            ("signed in 3 days ago", with_row(json!({"password_last_used": days_ago(3)})), json!({}), "fail"),
            ("exactly the window", with_row(json!({"password_last_used": days_ago(30)})), json!({}), "fail"),
            ("a day past the window", with_row(json!({"password_last_used": days_ago(31)})), json!({}), "pass"),
            ("wider window", with_row(json!({"password_last_used": days_ago(31)})), json!({"window_days": 90}), "fail"),
            ("key used yesterday", with_row(json!({"access_key_2_last_used_date": days_ago(1)})), json!({}), "fail"),
            (
                "never used (no_information)",
                with_row(json!({"password_last_used": "no_information"})),
                json!({}),
                "pass",
            ),
            // Tricky: no_information is not a valid "never" for an access key column.
            (
                "key column with no_information",
                with_row(json!({"access_key_1_last_used_date": "no_information"})),
                json!({}),
                "error",
            ),
            ("garbled time", with_row(json!({"password_last_used": "yesterday"})), json!({}), "error"),
            ("no root row", root(json!({"CredentialReport": null})), json!({}), "error"),
            ("report unreadable", unreadable(root(json!({})), "CredentialReport"), json!({}), "error"),
            ("negative window", with_row(json!({})), json!({"window_days": -1}), "error"),
        ];
        for (name, r, params, expected) in cases {
            let v = run_with(&POLICY, &r, &[], params, now());
            assert_eq!(v.name(), expected, "{name}: {v:?}");
        }
    }

    #[test]
    fn evidence_names_each_recent_use() {
        let (d2, d5) = (days_ago(2), days_ago(5));
        let e = evidence(run(&POLICY, &with_row(json!({"password_last_used": d2, "access_key_1_last_used_date": d5}))));
        assert_eq!(
            e,
            json!({"WindowDays": 30, "Uses": [
                {"Path": "CredentialReport.password_last_used", "Value": d2, "AgeDays": 2},
                {"Path": "CredentialReport.access_key_1_last_used_date", "Value": d5, "AgeDays": 5},
            ]})
        );
    }

    #[test]
    fn recorded_root_rows() {
        let root_of = |file: &str| {
            let row = credential_report(file).into_iter().find(|r| r["user"] == "<root_account>").unwrap();
            root(json!({"CredentialReport": row}))
        };
        // Root signed in at 14:19 on the day the report was generated (14:30).
        let r = root_of("test_iam_user_unused_keys__iam.GetCredentialReport_2.json");
        let generated = Utc.with_ymd_and_hms(2016, 11, 25, 14, 30, 42).unwrap();
        let e = evidence(run_with(&POLICY, &r, &[], json!({}), generated));
        assert_eq!(e["Uses"][0]["Path"], "CredentialReport.password_last_used");
        assert_eq!(e["Uses"].as_array().unwrap().len(), 1, "the key was last used in 2015");
        // Never signed in since tracking began, no keys.
        let r = root_of("test_iam_user_credential_multi_delete_noop__iam.GetCredentialReport_1.json");
        assert_eq!(
            run_with(&POLICY, &r, &[], json!({}), Utc.with_ymd_and_hms(2021, 2, 4, 0, 0, 0).unwrap()),
            Verdict::Pass
        );
    }
}
