//! `iam-password-policy-too-short`: the password policy allows passwords
//! shorter than `min_length`.

use qrie_model::{
    ComplianceRef, EvalContext, MissingData, ParamDef, ParamRule, ParamValue, Params, PolicyDef, Remediation, Resource,
    Service, Severity, Verdict,
};
use serde_json::{json, Value};

use super::password_policy::{self, limit, setting, Shortfall};

const MIN_LENGTH: &str = "min_length";

pub static POLICY: PolicyDef = PolicyDef {
    id: "iam-password-policy-too-short",
    title: "Password policy allows short passwords",
    description: "The account password policy's MinimumPasswordLength is below min_length (14 by default), or \
        the account has no password policy (IAM then accepts 8 characters). Length is what makes a password \
        resist guessing and cracking.",
    service: Service::Iam,
    resource_type: "AWS::IAM::AccountPasswordPolicy",
    category: "identity",
    severity: Severity::of(50),
    remediation: Remediation {
        steps: &[
            "Read the current policy first: update-account-password-policy replaces the whole policy, and any \
             setting you omit goes back to its default.",
            "Set the minimum length to at least 14, repeating every other setting you keep.",
            "Better still, move people to IAM Identity Center or federation, so that IAM users have no passwords.",
        ],
        cli: "aws iam get-account-password-policy\n\
              aws iam update-account-password-policy --minimum-password-length 14 --password-reuse-prevention 24 \
              --require-symbols --require-numbers --require-uppercase-characters --require-lowercase-characters \
              --allow-users-to-change-password --max-password-age 90",
        console: "IAM > Account settings > Password policy > Edit > Custom > Enforce minimum password length: 14 \
                  > Save changes",
        iac: r#"resource "aws_iam_account_password_policy" "this" {
  minimum_password_length        = 14
  password_reuse_prevention      = 24
  require_symbols                = true
  require_numbers                = true
  require_uppercase_characters   = true
  require_lowercase_characters   = true
  allow_users_to_change_password = true
  max_password_age               = 90
}"#,
    },
    compliance: &[
        ComplianceRef { framework: "cis-aws-3.0", controls: &["1.8"] },
        ComplianceRef { framework: "nist-800-53-r5", controls: &["IA-5(1)"] },
        ComplianceRef { framework: "pci-dss-4.0", controls: &["8.3.6"] },
    ],
    params: &[ParamDef {
        name: MIN_LENGTH,
        description: "The shortest password the policy may allow, in characters.",
        default: ParamValue::Int(14),
        rule: ParamRule::Range(6, 128),
    }],
    related: None,
    evaluate,
};

fn check(policy: &Value, params: &Params) -> Result<Vec<Shortfall>, MissingData> {
    let min = limit(params, MIN_LENGTH)?;
    let actual = setting(policy, "MinimumPasswordLength", Value::as_i64)?;
    if actual >= min {
        return Ok(vec![]);
    }
    Ok(vec![Shortfall { key: "MinimumPasswordLength", actual: json!(actual), required: json!(format!(">= {min}")) }])
}

fn evaluate(r: &Resource, ctx: &EvalContext) -> Result<Verdict, MissingData> {
    password_policy::evaluate(r, ctx, check)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iam::password_policy::test_support::*;
    use crate::testing::*;

    #[test]
    fn golden_cases() {
        let cases: Vec<(&str, Value, Value, &str)> = vec![
            ("14", strong(json!({})), json!({}), "pass"),
            ("128", strong(json!({"MinimumPasswordLength": 128})), json!({}), "pass"),
            ("13", strong(json!({"MinimumPasswordLength": 13})), json!({}), "fail"),
            ("no policy", Value::Null, json!({}), "fail"),
            ("13 with a looser limit", strong(json!({"MinimumPasswordLength": 13})), json!({"min_length": 12}), "pass"),
            ("14 with a stricter limit", strong(json!({})), json!({"min_length": 16}), "fail"),
            ("length absent", strong(json!({"MinimumPasswordLength": null})), json!({}), "error"),
            ("length a string", strong(json!({"MinimumPasswordLength": "14"})), json!({}), "error"),
            ("negative limit", strong(json!({})), json!({"min_length": -1}), "error"),
        ];
        for (name, policy, params, expected) in cases {
            let v = run_with(&POLICY, &account(policy), &[], params, now());
            assert_eq!(v.name(), expected, "{name}: {v:?}");
        }
        assert_eq!(
            evidence(run(&POLICY, &account(strong(json!({"MinimumPasswordLength": 8}))))),
            json!({"Unmet": [{"Path": "PasswordPolicy.MinimumPasswordLength", "Value": 8, "Required": ">= 14"}]})
        );
    }

    #[test]
    fn recorded_policies() {
        // Lengths 10, 12 and 12, and no policy: all too short for 14; 12 is enough for a limit of 12.
        for (name, r) in recorded_accounts() {
            assert_eq!(run(&POLICY, &r).name(), "fail", "{name}");
        }
        let verdicts: Vec<&str> = recorded_accounts()
            .iter()
            .map(|(_, r)| run_with(&POLICY, r, &[], json!({"min_length": 12}), now()).name())
            .collect();
        assert_eq!(verdicts, ["fail", "pass", "pass", "fail"]);
    }
}
