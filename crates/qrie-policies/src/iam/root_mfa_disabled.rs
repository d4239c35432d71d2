//! `iam-root-mfa-disabled`: the root user signs in with a password alone.

use qrie_model::{
    ComplianceRef, EvalContext, MissingData, PolicyDef, Remediation, Resource, Service, Severity, Verdict,
};
use serde_json::{json, Value};

use crate::config::{described, required};

pub static POLICY: PolicyDef = PolicyDef {
    id: "iam-root-mfa-disabled",
    title: "Root user has no MFA",
    description: "The account's root user has no multi-factor authentication device (GetAccountSummary reports \
        AccountMFAEnabled 0). Root can do everything in the account, including closing it and changing its \
        contact details, and no policy can restrict it; a phished or reused password is enough to take it over.",
    service: Service::Iam,
    resource_type: "AWS::IAM::RootUser",
    category: "identity",
    severity: Severity::of(95),
    remediation: Remediation {
        steps: &[
            "Sign in to the AWS Management Console as the root user (the account's email address and password).",
            "Open Security credentials and, under Multi-factor authentication (MFA), choose Assign MFA device.",
            "Prefer a FIDO security key or a hardware TOTP token, keep it in a safe place and document who can \
             reach it; register a second device as a backup.",
            "Keep the root user without access keys and use it only for the tasks that require it.",
        ],
        cli: "# Root MFA is assigned while signed in as root in the console (root should have no access keys).\n\
              # Verify the result (1 means enabled):\n\
              aws iam get-account-summary --query 'SummaryMap.AccountMFAEnabled'",
        console: "Sign in as the root user > account name (top right) > Security credentials > Multi-factor \
                  authentication (MFA) > Assign MFA device",
        iac: r#"# Root MFA cannot be set by infrastructure as code; this AWS Config managed
# rule keeps checking it.
resource "aws_config_config_rule" "root_mfa" {
  name = "root-account-mfa-enabled"
  source {
    owner             = "AWS"
    source_identifier = "ROOT_ACCOUNT_MFA_ENABLED"
  }
}"#,
    },
    compliance: &[
        ComplianceRef { framework: "cis-aws-3.0", controls: &["1.5"] },
        ComplianceRef { framework: "nist-800-53-r5", controls: &["IA-2(1)"] },
        ComplianceRef { framework: "pci-dss-4.0", controls: &["8.4.1"] },
    ],
    params: &[],
    related: None,
    evaluate,
};

fn evaluate(r: &Resource, _: &EvalContext) -> Result<Verdict, MissingData> {
    let summary = described(r, "AccountSummary")?;
    let enabled = required(summary, "AccountSummary", "AccountMFAEnabled", Value::as_i64)?;
    if enabled == 1 {
        return Ok(Verdict::Pass);
    }
    Ok(Verdict::Fail(json!({"Path": "AccountSummary.AccountMFAEnabled", "Value": enabled})))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;

    fn summary_with_mfa(enabled: Value) -> Value {
        let mut summary = recorded("iam.GetAccountSummary", "test_account_root_mfa__iam.GetAccountSummary_1.json")
            ["SummaryMap"]
            .clone();
        summary["AccountMFAEnabled"] = enabled;
        summary
    }

    #[test]
    fn golden_cases() {
        let cases = [
            ("enabled", root_user(summary_with_mfa(json!(1))), Some(Verdict::Pass)),
            (
                "disabled",
                root_user(summary_with_mfa(json!(0))),
                Some(Verdict::Fail(json!({"Path": "AccountSummary.AccountMFAEnabled", "Value": 0}))),
            ),
            ("summary unreadable", unreadable(root_user(summary_with_mfa(json!(1))), "AccountSummary"), None),
            ("summary null", root_user(Value::Null), None),
            ("attribute absent", root_user(json!({"Users": 5})), None),
            ("attribute not a number", root_user(summary_with_mfa(json!("1"))), None),
        ];
        for (name, r, expected) in cases {
            let v = run(&POLICY, &r);
            match expected {
                Some(expected) => assert_eq!(v, expected, "{name}"),
                None => assert_eq!(v.name(), "error", "{name}: {v:?}"),
            }
        }
    }

    #[test]
    fn recorded_summaries() {
        // The three recorded accounts all have root MFA.
        for file in recorded_files("iam.GetAccountSummary") {
            let r = root_user(recorded("iam.GetAccountSummary", &file)["SummaryMap"].clone());
            assert_eq!(run(&POLICY, &r), Verdict::Pass, "{file}");
        }
    }
}
