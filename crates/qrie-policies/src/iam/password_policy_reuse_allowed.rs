//! `iam-password-policy-reuse-allowed`: the password policy remembers fewer
//! than `min_remembered` previous passwords.

use qrie_model::{
    ComplianceRef, EvalContext, MissingData, ParamDef, ParamRule, ParamValue, Params, PolicyDef, Remediation, Resource,
    Service, Severity, Verdict,
};
use serde_json::{json, Value};

use super::password_policy::{self, limit, optional_int, Shortfall};

const MIN_REMEMBERED: &str = "min_remembered";

pub static POLICY: PolicyDef = PolicyDef {
    id: "iam-password-policy-reuse-allowed",
    title: "Password policy allows password reuse",
    description: "The account password policy's PasswordReusePrevention is unset or below min_remembered (24 by \
        default), or there is no password policy. Users then cycle back to old passwords, including ones that \
        have leaked.",
    service: Service::Iam,
    resource_type: "AWS::IAM::AccountPasswordPolicy",
    category: "identity",
    severity: Severity::of(40),
    remediation: Remediation {
        steps: &[
            "Read the current policy first: update-account-password-policy replaces the whole policy, and any \
             setting you omit goes back to its default.",
            "Set password reuse prevention to 24 (the maximum), repeating every other setting you keep.",
        ],
        cli: "aws iam get-account-password-policy\n\
              aws iam update-account-password-policy --password-reuse-prevention 24 --minimum-password-length 14 \
              --require-symbols --require-numbers --require-uppercase-characters --require-lowercase-characters \
              --allow-users-to-change-password --max-password-age 90",
        console: "IAM > Account settings > Password policy > Edit > Custom > Prevent password reuse: 24 > Save \
                  changes",
        iac: r#"resource "aws_iam_account_password_policy" "this" {
  password_reuse_prevention      = 24
  minimum_password_length        = 14
  require_symbols                = true
  require_numbers                = true
  require_uppercase_characters   = true
  require_lowercase_characters   = true
  allow_users_to_change_password = true
}"#,
    },
    compliance: &[
        ComplianceRef { framework: "cis-aws-3.0", controls: &["1.9"] },
        ComplianceRef { framework: "nist-800-53-r5", controls: &["IA-5(1)"] },
        ComplianceRef { framework: "pci-dss-4.0", controls: &["8.3.7"] },
    ],
    params: &[ParamDef {
        name: MIN_REMEMBERED,
        description: "How many previous passwords the policy must forbid reusing (IAM allows 1 to 24).",
        default: ParamValue::Int(24),
        rule: ParamRule::Range(1, 24),
    }],
    related: None,
    evaluate,
};

fn check(policy: &Value, params: &Params) -> Result<Vec<Shortfall>, MissingData> {
    let min = limit(params, MIN_REMEMBERED)?;
    // IAM omits PasswordReusePrevention when reuse is not prevented at all.
    let remembered = optional_int(policy, "PasswordReusePrevention")?;
    if remembered.unwrap_or(0) >= min {
        return Ok(vec![]);
    }
    Ok(vec![Shortfall {
        key: "PasswordReusePrevention",
        actual: json!(remembered),
        required: json!(format!(">= {min}")),
    }])
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
            ("24", strong(json!({})), json!({}), "pass"),
            ("5", strong(json!({"PasswordReusePrevention": 5})), json!({}), "fail"),
            ("unset (absent)", strong(json!({"PasswordReusePrevention": null})), json!({}), "fail"),
            ("no policy", Value::Null, json!({}), "fail"),
            (
                "5 with a limit of 5",
                strong(json!({"PasswordReusePrevention": 5})),
                json!({"min_remembered": 5}),
                "pass",
            ),
            // A limit of 0 (no reuse prevention required) is outside what IAM
            // allows (1 to 24) and refused: suspend the policy instead.
            ("unset, limit 0", strong(json!({"PasswordReusePrevention": null})), json!({"min_remembered": 0}), "error"),
            ("a string", strong(json!({"PasswordReusePrevention": "24"})), json!({}), "error"),
        ];
        for (name, policy, params, expected) in cases {
            let v = run_with(&POLICY, &account(policy), &[], params, now());
            assert_eq!(v.name(), expected, "{name}: {v:?}");
        }
        assert_eq!(
            evidence(run(&POLICY, &account(strong(json!({"PasswordReusePrevention": null}))))),
            json!({"Unmet": [{"Path": "PasswordPolicy.PasswordReusePrevention", "Value": null, "Required": ">= 24"}]})
        );
    }

    #[test]
    fn recorded_policies() {
        // None of the recorded policies prevents reuse.
        for (name, r) in recorded_accounts() {
            assert_eq!(run(&POLICY, &r).name(), "fail", "{name}");
        }
    }
}
