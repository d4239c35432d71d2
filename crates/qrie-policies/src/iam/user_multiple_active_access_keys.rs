//! `iam-user-multiple-active-access-keys`: both access keys of a user are active.

use qrie_model::{
    ComplianceRef, EvalContext, MissingData, PolicyDef, Remediation, Resource, Service, Severity, Verdict,
};
use serde_json::json;

use super::report;

pub static POLICY: PolicyDef = PolicyDef {
    id: "iam-user-multiple-active-access-keys",
    title: "User has two active access keys",
    description: "Both access key slots of the user are active in the credential report. Two keys are meant for \
        the short overlap of a rotation; left active, the old key keeps working wherever it was copied, and \
        nobody knows which consumer uses which.",
    service: Service::Iam,
    resource_type: "AWS::IAM::User",
    category: "identity",
    severity: Severity::of(30),
    remediation: Remediation {
        steps: &[
            "Compare access_key_1_last_used_date and access_key_2_last_used_date in the credential report to find \
             the key still in use.",
            "Move any remaining consumer of the other key to the one kept, then deactivate the other and, after a \
             quiet period, delete it.",
        ],
        cli: "aws iam list-access-keys --user-name USER\n\
              aws iam get-access-key-last-used --access-key-id AKIAEXAMPLE\n\
              aws iam update-access-key --user-name USER --access-key-id AKIAEXAMPLE --status Inactive\n\
              aws iam delete-access-key --user-name USER --access-key-id AKIAEXAMPLE",
        console: "IAM > Users > USER > Security credentials > Access keys > the unused key > Actions > Deactivate",
        iac: r#"# Keep exactly one key per user in code; remove the second block after a rotation.
resource "aws_iam_access_key" "current" {
  user   = aws_iam_user.this.name
  status = "Active"
}"#,
    },
    compliance: &[
        ComplianceRef { framework: "cis-aws-3.0", controls: &["1.13"] },
        ComplianceRef { framework: "nist-800-53-r5", controls: &["IA-5"] },
    ],
    params: &[],
    related: None,
    evaluate,
};

fn evaluate(r: &Resource, _: &EvalContext) -> Result<Verdict, MissingData> {
    let row = report::row(r)?;
    let mut active = Vec::new();
    for n in [1, 2] {
        let column = format!("access_key_{n}_active");
        if report::flag(row, &column)? {
            active.push(json!({"Path": format!("CredentialReport.{column}"), "Value": row[&column],
                "LastRotated": row.get(format!("access_key_{n}_last_rotated")),
                "LastUsed": row.get(format!("access_key_{n}_last_used_date"))}));
        }
    }
    if active.len() < 2 {
        return Ok(Verdict::Pass);
    }
    Ok(Verdict::Fail(json!({"ActiveKeys": active})))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iam::fixtures::*;
    use crate::testing::*;
    use chrono::{TimeZone, Utc};
    use serde_json::Value;

    fn with(k1: &str, k2: &str) -> Resource {
        user(
            user_item("alice", json!({})),
            user_row("alice", json!({"access_key_1_active": k1, "access_key_2_active": k2})),
        )
    }

    #[test]
    fn golden_cases() {
        let cases: Vec<(&str, Resource, &str)> = vec![
            ("none", with("false", "false"), "pass"),
            ("one", with("true", "false"), "pass"),
            ("only slot 2", with("false", "true"), "pass"),
            ("two", with("true", "true"), "fail"),
            ("two, shouting", with("TRUE", "True"), "fail"),
            ("garbled", with("true", "maybe"), "error"),
            ("not in the report yet", user(user_item("bob", json!({})), Value::Null), "error"),
            ("report unreadable", unreadable(with("false", "false"), "CredentialReport"), "error"),
        ];
        for (name, r, expected) in cases {
            let v = run(&POLICY, &r);
            assert_eq!(v.name(), expected, "{name}: {v:?}");
        }
        let e = evidence(run(&POLICY, &with("true", "true")));
        assert_eq!(
            e["ActiveKeys"][1],
            json!({"Path": "CredentialReport.access_key_2_active", "Value": "true",
                                               "LastRotated": "N/A", "LastUsed": "N/A"})
        );
    }

    #[test]
    fn recorded_credential_reports() {
        let at = Utc.with_ymd_and_hms(2017, 2, 22, 23, 7, 48).unwrap();
        let users = recorded_users("test_account_credential_report__iam.GetCredentialReport_1.json");
        assert_eq!(failing_users(&POLICY, &users, json!({}), at), ["andrew", "kit"]);
        // Tricky: an inactive key with a rotation date beside an active one.
        let users = recorded_users("test_iam_user_credential_multi_delete_noop__iam.GetCredentialReport_1.json");
        assert!(failing_users(&POLICY, &users, json!({}), at).is_empty());
        let users = recorded_users("test_iam_user_credential_reverse_filter_delete__iam.GetCredentialReport_1.json");
        assert_eq!(failing_users(&POLICY, &users, json!({}), at), ["zscholl"]);
    }
}
