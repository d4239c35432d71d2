//! `iam-user-console-no-mfa`: a user who can sign in to the console has no MFA.

use qrie_model::{
    ComplianceRef, EvalContext, MissingData, PolicyDef, Remediation, Resource, Service, Severity, Verdict,
};
use serde_json::json;

use super::report;

pub static POLICY: PolicyDef = PolicyDef {
    id: "iam-user-console-no-mfa",
    title: "Console user has no MFA",
    description: "The user has a console password (password_enabled in the credential report) and no MFA device \
        (mfa_active false). Anyone who phishes, guesses or finds the password in another site's breach signs in \
        with the user's permissions.",
    service: Service::Iam,
    resource_type: "AWS::IAM::User",
    category: "identity",
    severity: Severity::of(70),
    remediation: Remediation {
        steps: &[
            "Ask the user to assign an MFA device (a FIDO security key or passkey, or an authenticator app) to \
             their IAM user.",
            "Until they do, require MFA by policy: deny everything except managing one's own MFA device when \
             aws:MultiFactorAuthPresent is false.",
            "If the user does not need the console, delete their login profile instead.",
        ],
        cli: "aws iam create-virtual-mfa-device --virtual-mfa-device-name USER --outfile qr.png --bootstrap-method QRCodePNG\n\
              aws iam enable-mfa-device --user-name USER --serial-number arn:aws:iam::ACCOUNT:mfa/USER \
              --authentication-code1 123456 --authentication-code2 789012\n\
              # or, for a user who does not need the console:\n\
              aws iam delete-login-profile --user-name USER",
        console: "IAM > Users > USER > Security credentials > Multi-factor authentication (MFA) > Assign MFA device",
        iac: r#"# Deny everything but self-service MFA setup until the user signs in with MFA.
resource "aws_iam_group_policy" "require_mfa" {
  group = aws_iam_group.console_users.name
  name  = "require-mfa"
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "DenyWithoutMFA"
      Effect    = "Deny"
      NotAction = ["iam:CreateVirtualMFADevice", "iam:EnableMFADevice", "iam:ListMFADevices",
                   "iam:ResyncMFADevice", "iam:GetUser", "iam:ChangePassword", "sts:GetSessionToken"]
      Resource  = "*"
      Condition = { BoolIfExists = { "aws:MultiFactorAuthPresent" = "false" } }
    }]
  })
}"#,
    },
    compliance: &[
        ComplianceRef { framework: "cis-aws-3.0", controls: &["1.10"] },
        ComplianceRef { framework: "nist-800-53-r5", controls: &["IA-2(1)", "IA-2(2)"] },
        ComplianceRef { framework: "pci-dss-4.0", controls: &["8.4.2"] },
    ],
    params: &[],
    related: None,
    evaluate,
};

/// A user created after the credential report was generated has no row: whether
/// they have a password is unknown until the next report, so that is an error.
fn evaluate(r: &Resource, _: &EvalContext) -> Result<Verdict, MissingData> {
    let row = report::row(r)?;
    if !report::flag(row, "password_enabled")? {
        return Ok(Verdict::Pass);
    }
    if report::flag(row, "mfa_active")? {
        return Ok(Verdict::Pass);
    }
    Ok(Verdict::Fail(json!({
        "Path": "CredentialReport.mfa_active", "Value": row["mfa_active"],
        "PasswordEnabled": {"Path": "CredentialReport.password_enabled", "Value": row["password_enabled"]},
        "PasswordLastUsed": row.get("password_last_used"),
    })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iam::fixtures::*;
    use crate::testing::*;
    use chrono::{TimeZone, Utc};
    use serde_json::Value;

    fn with(row: Value) -> Resource {
        user(user_item("alice", json!({})), user_row("alice", row))
    }

    #[test]
    fn golden_cases() {
        let cases: Vec<(&str, Resource, &str)> = vec![
            ("password and MFA", with(json!({"password_enabled": "true", "mfa_active": "true"})), "pass"),
            ("password, no MFA", with(json!({"password_enabled": "true", "mfa_active": "false"})), "fail"),
            // Tricky: an API-only user needs no MFA for this policy, even with active keys.
            (
                "keys only",
                with(json!({"access_key_1_active": "true", "access_key_1_last_rotated": days_ago(3)})),
                "pass",
            ),
            ("shouting report", with(json!({"password_enabled": "TRUE", "mfa_active": "FALSE"})), "fail"),
            ("MFA flag garbled", with(json!({"password_enabled": "true", "mfa_active": "yes"})), "error"),
            ("password flag garbled", with(json!({"password_enabled": "not_supported"})), "error"),
            ("not in the report yet", user(user_item("bob", json!({})), Value::Null), "error"),
            ("report unreadable", unreadable(with(json!({})), "CredentialReport"), "error"),
        ];
        for (name, r, expected) in cases {
            let v = run(&POLICY, &r);
            assert_eq!(v.name(), expected, "{name}: {v:?}");
        }
        let e =
            evidence(run(&POLICY, &with(json!({"password_enabled": "true", "password_last_used": "no_information"}))));
        assert_eq!(
            e,
            json!({"Path": "CredentialReport.mfa_active", "Value": "false",
                   "PasswordEnabled": {"Path": "CredentialReport.password_enabled", "Value": "true"},
                   "PasswordLastUsed": "no_information"})
        );
    }

    #[test]
    fn recorded_credential_report() {
        let users = recorded_users("test_account_credential_report__iam.GetCredentialReport_1.json");
        let at = Utc.with_ymd_and_hms(2017, 2, 22, 23, 7, 48).unwrap();
        // The report lists christopher twice (a deleted and a re-created user).
        assert_eq!(
            failing_users(&POLICY, &users, json!({}), at),
            ["andrew", "christopher", "christopher", "jeff", "Jennifer", "kapil", "kit", "scot", "steven"]
        );
    }
}
