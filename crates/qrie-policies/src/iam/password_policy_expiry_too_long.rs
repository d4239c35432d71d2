//! `iam-password-policy-expiry-too-long`: passwords never expire, or expire
//! after more than `max_age_days`.

use qrie_model::{
    ComplianceRef, EvalContext, MissingData, ParamDef, ParamRule, ParamValue, Params, PolicyDef, Remediation, Resource,
    Service, Severity, Verdict,
};
use serde_json::{json, Value};

use super::password_policy::{self, limit, optional_int, setting, Shortfall};

const MAX_AGE_DAYS: &str = "max_age_days";

pub static POLICY: PolicyDef = PolicyDef {
    id: "iam-password-policy-expiry-too-long",
    title: "Password policy lets passwords live too long",
    description: "The account password policy does not expire passwords (ExpirePasswords false), or its \
        MaxPasswordAge exceeds max_age_days (90 by default), or there is no password policy. PCI DSS requires \
        changing passwords every 90 days where they are the only factor; NIST SP 800-63B advises against \
        periodic changes when MFA and breached-password checks are in place, hence the low severity. Prefer \
        MFA for every console user, and launch this policy where a framework demands rotation.",
    service: Service::Iam,
    resource_type: "AWS::IAM::AccountPasswordPolicy",
    category: "identity",
    severity: Severity::of(30),
    remediation: Remediation {
        steps: &[
            "Read the current policy first: update-account-password-policy replaces the whole policy, and any \
             setting you omit goes back to its default.",
            "Set the maximum password age to 90 days or less, repeating every other setting you keep.",
        ],
        cli: "aws iam get-account-password-policy\n\
              aws iam update-account-password-policy --max-password-age 90 --minimum-password-length 14 \
              --password-reuse-prevention 24 --require-symbols --require-numbers --require-uppercase-characters \
              --require-lowercase-characters --allow-users-to-change-password",
        console: "IAM > Account settings > Password policy > Edit > Custom > Turn on password expiration: 90 days > \
                  Save changes",
        iac: r#"resource "aws_iam_account_password_policy" "this" {
  max_password_age               = 90
  minimum_password_length        = 14
  password_reuse_prevention      = 24
  require_symbols                = true
  require_numbers                = true
  require_uppercase_characters   = true
  require_lowercase_characters   = true
  allow_users_to_change_password = true
}"#,
    },
    compliance: &[
        ComplianceRef { framework: "nist-800-53-r5", controls: &["IA-5(1)"] },
        ComplianceRef { framework: "pci-dss-4.0", controls: &["8.3.9"] },
    ],
    params: &[ParamDef {
        name: MAX_AGE_DAYS,
        description: "The longest a password may stay valid, in days.",
        default: ParamValue::Int(90),
        rule: ParamRule::Range(1, 1095),
    }],
    related: None,
    evaluate,
};

fn check(policy: &Value, params: &Params) -> Result<Vec<Shortfall>, MissingData> {
    let max = limit(params, MAX_AGE_DAYS)?;
    let required = json!(format!("<= {max}"));
    if !setting(policy, "ExpirePasswords", Value::as_bool)? {
        return Ok(vec![Shortfall { key: "ExpirePasswords", actual: json!(false), required: json!(true) }]);
    }
    match optional_int(policy, "MaxPasswordAge")? {
        Some(age) if age <= max => Ok(vec![]),
        // ExpirePasswords without an age contradicts itself: IAM always returns both.
        None => Err(MissingData("PasswordPolicy.MaxPasswordAge is absent although ExpirePasswords is true".into())),
        Some(age) => Ok(vec![Shortfall { key: "MaxPasswordAge", actual: json!(age), required }]),
    }
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
        let never = json!({"ExpirePasswords": false, "MaxPasswordAge": null});
        let cases: Vec<(&str, Value, Value, &str)> = vec![
            ("90 days", strong(json!({})), json!({}), "pass"),
            ("30 days", strong(json!({"MaxPasswordAge": 30})), json!({}), "pass"),
            ("91 days", strong(json!({"MaxPasswordAge": 91})), json!({}), "fail"),
            ("never", strong(never.clone()), json!({}), "fail"),
            ("no policy", Value::Null, json!({}), "fail"),
            (
                "365 days with a 365-day limit",
                strong(json!({"MaxPasswordAge": 365})),
                json!({"max_age_days": 365}),
                "pass",
            ),
            ("expiry without an age", strong(json!({"MaxPasswordAge": null})), json!({}), "error"),
            ("ExpirePasswords absent", strong(json!({"ExpirePasswords": null})), json!({}), "error"),
        ];
        for (name, policy, params, expected) in cases {
            let v = run_with(&POLICY, &account(policy), &[], params, now());
            assert_eq!(v.name(), expected, "{name}: {v:?}");
        }
        assert_eq!(
            evidence(run(&POLICY, &account(strong(json!({"MaxPasswordAge": 180}))))),
            json!({"Unmet": [{"Path": "PasswordPolicy.MaxPasswordAge", "Value": 180, "Required": "<= 90"}]})
        );
        assert_eq!(
            evidence(run(&POLICY, &account(strong(never))))["Unmet"][0]["Path"],
            "PasswordPolicy.ExpirePasswords"
        );
    }

    #[test]
    fn recorded_policies() {
        // None of the recorded policies expires passwords.
        for (name, r) in recorded_accounts() {
            assert_eq!(run(&POLICY, &r).name(), "fail", "{name}");
        }
    }
}
