//! `iam-user-credentials-unused`: a console password or an active access key
//! has not been used for more than `max_unused_days`.

use qrie_model::{
    ComplianceRef, EvalContext, MissingData, ParamDef, ParamRule, ParamValue, PolicyDef, Remediation, Resource,
    Service, Severity, Timestamp, Verdict,
};
use serde_json::{json, Value};

use super::report::{self, age_days};

const MAX_UNUSED_DAYS: &str = "max_unused_days";

pub static POLICY: PolicyDef = PolicyDef {
    id: "iam-user-credentials-unused",
    title: "User credentials unused for too long",
    description: "The user's console password, or one of their active access keys, has not been used for more \
        than max_unused_days (45 by default), according to the credential report. A credential that was never \
        used counts from when it was set (the password's last change, the key's creation), so a new one is not \
        reported before it had a chance to be used. Unused credentials belong to people who left or to \
        forgotten automation; nobody would notice if someone else used them.",
    service: Service::Iam,
    resource_type: "AWS::IAM::User",
    category: "identity",
    severity: Severity::of(50),
    remediation: Remediation {
        steps: &[
            "Confirm with the owner that the credential named in the evidence is no longer needed.",
            "Deactivate an unused access key (delete it after a quiet period); delete an unused console password \
             (the login profile).",
            "If the user has no credentials left and no purpose, delete the user.",
        ],
        cli: "aws iam update-access-key --user-name USER --access-key-id AKIAEXAMPLE --status Inactive\n\
              aws iam delete-login-profile --user-name USER",
        console: "IAM > Users > USER > Security credentials > Console sign-in > Manage console access > Disable; \
                  Access keys > Actions > Deactivate",
        iac: r#"# AWS Config managed rule: users whose credentials went unused for 45 days.
resource "aws_config_config_rule" "unused_credentials" {
  name = "iam-user-unused-credentials-check"
  source {
    owner             = "AWS"
    source_identifier = "IAM_USER_UNUSED_CREDENTIALS_CHECK"
  }
  input_parameters = jsonencode({ maxCredentialUsageAge = "45" })
}"#,
    },
    compliance: &[
        ComplianceRef { framework: "cis-aws-3.0", controls: &["1.12"] },
        ComplianceRef { framework: "nist-800-53-r5", controls: &["AC-2(3)"] },
        ComplianceRef { framework: "pci-dss-4.0", controls: &["8.2.6"] },
    ],
    params: &[ParamDef {
        name: MAX_UNUSED_DAYS,
        description: "The longest a password or active access key may go unused, in whole days.",
        default: ParamValue::Int(45),
        rule: ParamRule::Range(1, 3650),
    }],
    related: None,
    evaluate,
};

/// One credential of a row: whether it is enabled, its "last used" column and
/// the column of when it was set, used when it was never used.
struct Credential {
    name: &'static str,
    enabled: &'static str,
    last_used: &'static str,
    set_at: &'static str,
}

const CREDENTIALS: &[Credential] = &[
    Credential {
        name: "password",
        enabled: "password_enabled",
        last_used: "password_last_used",
        set_at: "password_last_changed",
    },
    Credential {
        name: "access_key_1",
        enabled: "access_key_1_active",
        last_used: "access_key_1_last_used_date",
        set_at: "access_key_1_last_rotated",
    },
    Credential {
        name: "access_key_2",
        enabled: "access_key_2_active",
        last_used: "access_key_2_last_used_date",
        set_at: "access_key_2_last_rotated",
    },
];

/// When the credential was last used, or set if it never was, and the column
/// that says so.
fn idle_since(row: &Value, c: &Credential) -> Result<(Timestamp, &'static str), MissingData> {
    // no_information: a password not used since IAM began tracking (October 2014).
    if let Some(t) = report::time(row, c.last_used, &["N/A", "no_information"])? {
        return Ok((t, c.last_used));
    }
    match report::time(row, c.set_at, &["N/A"])? {
        Some(t) => Ok((t, c.set_at)),
        None => Err(MissingData(format!("CredentialReport.{} of an enabled credential is N/A", c.set_at))),
    }
}

fn evaluate(r: &Resource, ctx: &EvalContext) -> Result<Verdict, MissingData> {
    let max = ctx.params.int(MAX_UNUSED_DAYS)?;
    if max < 0 {
        return Err(MissingData(format!("parameter {MAX_UNUSED_DAYS} must not be negative, got {max}")));
    }
    let row = report::row(r)?;
    let mut idle = Vec::new();
    let mut undecided = None;
    for c in CREDENTIALS {
        let decided = report::flag(row, c.enabled).and_then(|enabled| {
            if !enabled {
                return Ok(());
            }
            let (since, column) = idle_since(row, c)?;
            let days = age_days(since, ctx.now);
            if days > max {
                idle.push(json!({"Credential": c.name, "Path": format!("CredentialReport.{column}"),
                                 "Value": row[column], "IdleDays": days}));
            }
            Ok(())
        });
        if let Err(e) = decided {
            undecided = undecided.or(Some(e));
        }
    }
    // One credential known to be idle decides, whatever the others say.
    if !idle.is_empty() {
        return Ok(Verdict::Fail(json!({"Idle": idle, "MaxUnusedDays": max})));
    }
    undecided.map_or(Ok(Verdict::Pass), Err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iam::fixtures::*;
    use crate::testing::*;
    use chrono::{TimeZone, Utc};

    fn with(row: Value) -> Resource {
        user(user_item("alice", json!({})), user_row("alice", row))
    }

    fn password(last_used: &str, changed: &str) -> Value {
        json!({"password_enabled": "true", "password_last_used": last_used, "password_last_changed": changed})
    }

    fn key(last_used: &str, rotated: &str) -> Value {
        json!({"access_key_1_active": "true", "access_key_1_last_used_date": last_used,
               "access_key_1_last_rotated": rotated})
    }

    #[test]
    fn golden_cases() {
        let (d10, d45, d46, d400) = (days_ago(10), days_ago(45), days_ago(46), days_ago(400));
        let cases: Vec<(&str, Resource, Value, &str)> = vec![
            ("no credentials", with(json!({})), json!({}), "pass"),
            ("password used recently", with(password(&d10, &d400)), json!({}), "pass"),
            ("password used at the limit", with(password(&d45, &d400)), json!({}), "pass"),
            ("password idle a day too long", with(password(&d46, &d400)), json!({}), "fail"),
            // Tricky: never used, but set only 10 days ago; and never used since 2014.
            ("new password, never used", with(password("no_information", &d10)), json!({}), "pass"),
            ("old password, never used", with(password("no_information", &d400)), json!({}), "fail"),
            ("key used recently", with(key(&d10, &d400)), json!({}), "pass"),
            ("key never used, old", with(key("N/A", &d400)), json!({}), "fail"),
            ("key never used, new", with(key("N/A", &d10)), json!({}), "pass"),
            (
                "inactive idle key",
                with(json!({"access_key_2_active": "false", "access_key_2_last_rotated": d400})),
                json!({}),
                "pass",
            ),
            ("looser limit", with(key("N/A", &d46)), json!({"max_unused_days": 90}), "pass"),
            ("key never used, rotation N/A", with(key("N/A", "N/A")), json!({}), "error"),
            (
                "idle key beats a garbled password",
                with({
                    let mut r = key("N/A", &d400);
                    r["password_enabled"] = json!("maybe");
                    r
                }),
                json!({}),
                "fail",
            ),
            ("garbled last used", with(key("last week", &d400)), json!({}), "error"),
            ("not in the report yet", user(user_item("bob", json!({})), Value::Null), json!({}), "error"),
            ("negative limit", with(json!({})), json!({"max_unused_days": -5}), "error"),
        ];
        for (name, r, params, expected) in cases {
            let v = run_with(&POLICY, &r, &[], params, now());
            assert_eq!(v.name(), expected, "{name}: {v:?}");
        }
        let e = evidence(run(&POLICY, &with(password("no_information", &d400))));
        assert_eq!(
            e,
            json!({"MaxUnusedDays": 45, "Idle": [{"Credential": "password",
            "Path": "CredentialReport.password_last_changed", "Value": d400, "IdleDays": 400}]})
        );
    }

    #[test]
    fn recorded_credential_report() {
        let users = recorded_users("test_iam_user_unused_keys__iam.GetCredentialReport_2.json");
        let at = Utc.with_ymd_and_hms(2016, 11, 25, 14, 30, 42).unwrap();
        // charmworld, Hazmat, kapilt: keys from 2012–2015 never used; kaleb: password and key set in July, never
        // used. rome, syracuse and tyre used their keys that day.
        assert_eq!(failing_users(&POLICY, &users, json!({}), at), ["charmworld", "Hazmat", "kaleb", "kapilt"]);
        // With a 150-day limit kaleb's 142-day-old credentials are fine.
        assert_eq!(
            failing_users(&POLICY, &users, json!({"max_unused_days": 150}), at),
            ["charmworld", "Hazmat", "kapilt"]
        );
    }
}
