//! `iam-password-policy-weak-complexity`: the password policy does not require
//! every character class that the parameters ask for.

use qrie_model::{
    ComplianceRef, EvalContext, MissingData, ParamDef, ParamRule, ParamValue, Params, PolicyDef, Remediation, Resource,
    Service, Severity, Verdict,
};
use serde_json::{json, Value};

use super::password_policy::{self, setting, Shortfall};

/// Each character class: the parameter that asks for it and the policy setting
/// that enforces it.
const CLASSES: &[(&str, &str)] = &[
    ("require_uppercase", "RequireUppercaseCharacters"),
    ("require_lowercase", "RequireLowercaseCharacters"),
    ("require_numbers", "RequireNumbers"),
    ("require_symbols", "RequireSymbols"),
];

pub static POLICY: PolicyDef = PolicyDef {
    id: "iam-password-policy-weak-complexity",
    title: "Password policy does not require complexity",
    description: "The account password policy does not require uppercase letters, lowercase letters, numbers \
        and symbols (each requirement can be turned off by a parameter), or there is no password policy. \
        Character classes matter less than length, but together with it they put simple dictionary passwords \
        out of reach.",
    service: Service::Iam,
    resource_type: "AWS::IAM::AccountPasswordPolicy",
    category: "identity",
    severity: Severity::of(40),
    remediation: Remediation {
        steps: &[
            "Read the current policy first: update-account-password-policy replaces the whole policy, and any \
             setting you omit goes back to its default.",
            "Require uppercase letters, lowercase letters, numbers and symbols, repeating every other setting you \
             keep.",
        ],
        cli: "aws iam get-account-password-policy\n\
              aws iam update-account-password-policy --require-uppercase-characters --require-lowercase-characters \
              --require-numbers --require-symbols --minimum-password-length 14 --password-reuse-prevention 24 \
              --allow-users-to-change-password --max-password-age 90",
        console: "IAM > Account settings > Password policy > Edit > Custom > Password strength: tick all four \
                  character types > Save changes",
        iac: r#"resource "aws_iam_account_password_policy" "this" {
  require_uppercase_characters   = true
  require_lowercase_characters   = true
  require_numbers                = true
  require_symbols                = true
  minimum_password_length        = 14
  password_reuse_prevention      = 24
  allow_users_to_change_password = true
}"#,
    },
    compliance: &[
        ComplianceRef { framework: "nist-800-53-r5", controls: &["IA-5(1)"] },
        ComplianceRef { framework: "pci-dss-4.0", controls: &["8.3.6"] },
    ],
    params: &[
        ParamDef {
            name: "require_uppercase",
            description: "Whether the policy must require an uppercase letter.",
            default: ParamValue::Bool(true),
            rule: ParamRule::Any,
        },
        ParamDef {
            name: "require_lowercase",
            description: "Whether the policy must require a lowercase letter.",
            default: ParamValue::Bool(true),
            rule: ParamRule::Any,
        },
        ParamDef {
            name: "require_numbers",
            description: "Whether the policy must require a number.",
            default: ParamValue::Bool(true),
            rule: ParamRule::Any,
        },
        ParamDef {
            name: "require_symbols",
            description: "Whether the policy must require a symbol.",
            default: ParamValue::Bool(true),
            rule: ParamRule::Any,
        },
    ],
    related: None,
    evaluate,
};

fn check(policy: &Value, params: &Params) -> Result<Vec<Shortfall>, MissingData> {
    let mut unmet = Vec::new();
    for (param, key) in CLASSES {
        if params.bool(param)? && !setting(policy, key, Value::as_bool)? {
            unmet.push(Shortfall { key, actual: json!(false), required: json!(true) });
        }
    }
    Ok(unmet)
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
            ("all four", strong(json!({})), json!({}), "pass"),
            ("no symbols", strong(json!({"RequireSymbols": false})), json!({}), "fail"),
            (
                "no symbols, symbols not asked for",
                strong(json!({"RequireSymbols": false})),
                json!({"require_symbols": false}),
                "pass",
            ),
            ("no policy", Value::Null, json!({}), "fail"),
            ("setting absent", strong(json!({"RequireNumbers": null})), json!({}), "error"),
            // Tricky: an absent setting that no parameter asks for does not matter.
            (
                "absent but not asked for",
                strong(json!({"RequireNumbers": null})),
                json!({"require_numbers": false}),
                "pass",
            ),
            ("setting a string", strong(json!({"RequireUppercaseCharacters": "true"})), json!({}), "error"),
        ];
        for (name, policy, params, expected) in cases {
            let v = run_with(&POLICY, &account(policy), &[], params, now());
            assert_eq!(v.name(), expected, "{name}: {v:?}");
        }
    }

    #[test]
    fn recorded_policies() {
        // Policy 3 requires symbols and numbers but neither case; the others require nothing.
        let unmet: Vec<Value> = recorded_accounts()
            .iter()
            .take(3)
            .map(|(_, r)| {
                let e = evidence(run(&POLICY, r));
                e["Unmet"].as_array().unwrap().iter().map(|u| u["Path"].clone()).collect()
            })
            .collect();
        let all = json!([
            "PasswordPolicy.RequireUppercaseCharacters",
            "PasswordPolicy.RequireLowercaseCharacters",
            "PasswordPolicy.RequireNumbers",
            "PasswordPolicy.RequireSymbols"
        ]);
        let cases = json!(["PasswordPolicy.RequireUppercaseCharacters", "PasswordPolicy.RequireLowercaseCharacters"]);
        assert_eq!(unmet, [all.clone(), cases, all]);
    }
}
