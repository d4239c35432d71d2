//! `iam-root-access-key-present`: the root user has an access key.

use qrie_model::{
    ComplianceRef, EvalContext, MissingData, PolicyDef, Remediation, Resource, Service, Severity, Verdict,
};
use serde_json::{json, Value};

use crate::config::{described, required};

pub static POLICY: PolicyDef = PolicyDef {
    id: "iam-root-access-key-present",
    title: "Root user has access keys",
    description: "GetAccountSummary reports AccountAccessKeysPresent for the root user. A root access key is \
        a permanent credential with unrestricted power over the account that no IAM policy, permissions boundary \
        or SCP-free management account can limit; once it leaks, the account is lost. Nothing needs root keys.",
    service: Service::Iam,
    resource_type: "AWS::IAM::RootUser",
    category: "identity",
    severity: Severity::of(95),
    remediation: Remediation {
        steps: &[
            "Find out whether the key is used: access_key_N_last_used_date and _service in the credential \
             report's <root_account> row, and CloudTrail events whose userIdentity type is Root.",
            "Move whatever uses it to an IAM role or user with only the permissions it needs.",
            "Sign in as the root user, deactivate the key, watch for failures, then delete it.",
        ],
        cli: "# Root keys are deleted while signed in as root; with the root key itself as credentials:\n\
              aws iam list-access-keys\n\
              aws iam update-access-key --access-key-id AKIAROOTKEY --status Inactive\n\
              aws iam delete-access-key --access-key-id AKIAROOTKEY\n\
              aws iam get-account-summary --query 'SummaryMap.AccountAccessKeysPresent'",
        console: "Sign in as the root user > account name (top right) > Security credentials > Access keys > \
                  Actions > Deactivate, then Actions > Delete",
        iac: r#"# Root access keys cannot be managed as code; this AWS Config managed rule
# keeps checking that none exist.
resource "aws_config_config_rule" "root_access_key" {
  name = "iam-root-access-key-check"
  source {
    owner             = "AWS"
    source_identifier = "IAM_ROOT_ACCESS_KEY_CHECK"
  }
}"#,
    },
    compliance: &[
        ComplianceRef { framework: "cis-aws-3.0", controls: &["1.4"] },
        ComplianceRef { framework: "nist-800-53-r5", controls: &["AC-6(2)", "IA-2"] },
    ],
    params: &[],
    related: None,
    evaluate,
};

/// The account summary is current when collected; the credential report may be
/// up to four hours old, so the summary decides.
fn evaluate(r: &Resource, _: &EvalContext) -> Result<Verdict, MissingData> {
    let summary = described(r, "AccountSummary")?;
    let present = required(summary, "AccountSummary", "AccountAccessKeysPresent", Value::as_i64)?;
    if present == 0 {
        return Ok(Verdict::Pass);
    }
    Ok(Verdict::Fail(json!({"Path": "AccountSummary.AccountAccessKeysPresent", "Value": present})))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iam::fixtures::*;
    use crate::testing::*;

    #[test]
    fn golden_cases() {
        let with = |v: Value| root(json!({"AccountSummary": summary(json!({"AccountAccessKeysPresent": v}))}));
        assert_eq!(run(&POLICY, &with(json!(0))), Verdict::Pass);
        assert_eq!(
            run(&POLICY, &with(json!(1))),
            Verdict::Fail(json!({"Path": "AccountSummary.AccountAccessKeysPresent", "Value": 1}))
        );
        // Tricky: the credential report row still shows a key deleted since it was generated.
        let stale = root(json!({"CredentialReport": root_row(json!({"access_key_1_active": "true",
            "access_key_1_last_rotated": "2020-01-01T00:00:00+00:00"}))}));
        assert_eq!(run(&POLICY, &stale), Verdict::Pass);
        for (name, r) in [
            ("summary unreadable", unreadable(root(json!({})), "AccountSummary")),
            ("attribute absent", root(json!({"AccountSummary": {"Users": 1}}))),
            ("attribute a string", with(json!("0"))),
        ] {
            assert_eq!(run(&POLICY, &r).name(), "error", "{name}");
        }
    }

    #[test]
    fn recorded_summaries() {
        // The three recorded accounts have no root keys; the same summaries with one do fail.
        for f in recorded_files("iam.GetAccountSummary") {
            let mut s = recorded("iam.GetAccountSummary", &f)["SummaryMap"].clone();
            assert_eq!(run(&POLICY, &root(json!({"AccountSummary": s.clone()}))), Verdict::Pass, "{f}");
            s["AccountAccessKeysPresent"] = json!(1);
            assert_eq!(run(&POLICY, &root(json!({"AccountSummary": s}))).name(), "fail", "{f}");
        }
    }
}
