//! `iam-user-access-key-too-old`: an active access key has not been rotated
//! within `max_age_days`.

use qrie_model::{
    ComplianceRef, EvalContext, MissingData, ParamDef, ParamRule, ParamValue, PolicyDef, Remediation, Resource,
    Service, Severity, Timestamp, Verdict,
};
use serde_json::{json, Value};

use super::report::{age_days, parse_time};
use crate::config::{described, required};

const MAX_AGE_DAYS: &str = "max_age_days";

pub static POLICY: PolicyDef = PolicyDef {
    id: "iam-user-access-key-too-old",
    title: "IAM user access key not rotated",
    description: "An active access key of the user was last rotated (created) more than max_age_days ago, \
        according to the IAM credential report. Long-lived keys end up in laptops, CI systems and repositories; \
        the older a key, the more places it may have leaked to, and it works until someone turns it off.",
    service: Service::Iam,
    resource_type: "AWS::IAM::User",
    category: "identity",
    severity: Severity::of(50),
    remediation: Remediation {
        steps: &[
            "Find where the key is used: access_key_N_last_used_* in the credential report, and CloudTrail events \
             by access key id.",
            "Create a second access key for the user and roll it out to every consumer of the old one.",
            "Deactivate the old key, watch for failures for a while, then delete it.",
            "Better: replace long-lived user keys with IAM roles (instance profiles, IAM Roles Anywhere, IAM \
             Identity Center) so that there is nothing to rotate.",
        ],
        cli: "aws iam list-access-keys --user-name USER\n\
              aws iam create-access-key --user-name USER\n\
              aws iam update-access-key --user-name USER --access-key-id AKIAOLDKEY --status Inactive\n\
              aws iam delete-access-key --user-name USER --access-key-id AKIAOLDKEY",
        console: "IAM > Users > USER > Security credentials > Access keys > Create access key; then, on the old key, \
                  Actions > Deactivate, and later Actions > Delete",
        iac: r#"# Keys are rotated operationally; this AWS Config managed rule flags stale ones.
resource "aws_config_config_rule" "access_keys_rotated" {
  name = "access-keys-rotated"
  source {
    owner             = "AWS"
    source_identifier = "ACCESS_KEYS_ROTATED"
  }
  input_parameters = jsonencode({ maxAccessKeyAge = "90" })
}"#,
    },
    compliance: &[
        ComplianceRef { framework: "cis-aws-3.0", controls: &["1.14"] },
        ComplianceRef { framework: "nist-800-53-r5", controls: &["IA-5"] },
    ],
    params: &[ParamDef {
        name: MAX_AGE_DAYS,
        description: "The oldest an active access key may be, in whole days since it was last rotated.",
        default: ParamValue::Int(90),
        rule: ParamRule::Range(1, 3650),
    }],
    related: None,
    evaluate,
};

enum Slot {
    Inactive,
    Active { path: String, last_rotated: String, age: i64 },
}

/// One access key slot (1 or 2) of a credential report row.
fn read_slot(row: &Value, n: u8, now: Timestamp) -> Result<Slot, MissingData> {
    let active_key = format!("access_key_{n}_active");
    let active = required(row, "CredentialReport", &active_key, Value::as_str)?;
    // Real reports say "true"/"false"; some hand-edited ones shout.
    if active.eq_ignore_ascii_case("false") {
        return Ok(Slot::Inactive);
    }
    if !active.eq_ignore_ascii_case("true") {
        return Err(MissingData(format!("CredentialReport.{active_key} is neither true nor false: {active:?}")));
    }
    let key = format!("access_key_{n}_last_rotated");
    let path = format!("CredentialReport.{key}");
    let last_rotated = required(row, "CredentialReport", &key, Value::as_str)?;
    // "N/A" on an active key contradicts itself; like any other non-time it leaves the age unknown.
    let at = parse_time(last_rotated)
        .ok_or_else(|| MissingData(format!("{path} of an active key is not a time: {last_rotated:?}")))?;
    Ok(Slot::Active { path, last_rotated: last_rotated.to_string(), age: age_days(at, now) })
}

fn evaluate(r: &Resource, ctx: &EvalContext) -> Result<Verdict, MissingData> {
    let max_age = ctx.params.int(MAX_AGE_DAYS)?;
    if max_age < 0 {
        return Err(MissingData(format!("parameter {MAX_AGE_DAYS} must not be negative, got {max_age}")));
    }
    let row = r.field("CredentialReport")?;
    if row.is_null() {
        return without_report_row(r, ctx.now, max_age);
    }
    let mut too_old = Vec::new();
    let mut undecided = None;
    for n in [1, 2] {
        match read_slot(row, n, ctx.now) {
            Ok(Slot::Active { path, last_rotated, age }) if age > max_age => {
                too_old.push(json!({"Slot": n, "Path": path, "LastRotated": last_rotated, "AgeDays": age}));
            }
            Ok(_) => {}
            Err(e) => undecided = undecided.or(Some(e)),
        }
    }
    // One key known to be too old decides, whatever the other slot says.
    if !too_old.is_empty() {
        return Ok(Verdict::Fail(json!({"Keys": too_old, "MaxAgeDays": max_age})));
    }
    undecided.map_or(Ok(Verdict::Pass), Err)
}

/// A user created after the credential report was generated has no row in it
/// yet. No key can be older than its user, so a user younger than the limit
/// passes; for an older one the keys' ages are unknown.
fn without_report_row(r: &Resource, now: Timestamp, max_age: i64) -> Result<Verdict, MissingData> {
    let created = required(described(r, "User")?, "User", "CreateDate", Value::as_str)?;
    let at = parse_time(created).ok_or_else(|| MissingData(format!("User.CreateDate is not a time: {created:?}")))?;
    if age_days(at, now) <= max_age {
        return Ok(Verdict::Pass);
    }
    Err(MissingData("the user has no credential report row yet, and is older than any key may be".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;
    use chrono::{TimeZone, Utc};

    /// A credential report row with these two key slots as (active, last_rotated).
    fn row(slot1: (&str, &str), slot2: (&str, &str)) -> Value {
        let mut row = json!({
            "user": "alice", "arn": "arn:aws:iam::123456789012:user/alice",
            "user_creation_time": "2024-01-02T03:04:05+00:00", "password_enabled": "false",
            "password_last_used": "N/A", "password_last_changed": "N/A", "password_next_rotation": "N/A",
            "mfa_active": "false", "cert_1_active": "false", "cert_1_last_rotated": "N/A",
            "cert_2_active": "false", "cert_2_last_rotated": "N/A",
        });
        for (n, (active, rotated)) in [(1, slot1), (2, slot2)] {
            row[format!("access_key_{n}_active")] = json!(active);
            row[format!("access_key_{n}_last_rotated")] = json!(rotated);
            row[format!("access_key_{n}_last_used_date")] = json!("N/A");
        }
        row
    }

    fn user(row: Value) -> Resource {
        iam_user("alice", "2024-01-02T03:04:05Z", row)
    }

    /// `days` whole days before [`now`], as the credential report writes it.
    fn days_ago(days: i64) -> String {
        (now() - chrono::Duration::days(days)).format("%Y-%m-%dT%H:%M:%S+00:00").to_string()
    }

    #[test]
    fn golden_cases() {
        let none = ("false", "N/A");
        let d10 = days_ago(10);
        let d90 = days_ago(90);
        let d91 = days_ago(91);
        let d400 = days_ago(400);
        let cases: Vec<(&str, Resource, Value, &str)> = vec![
            ("no keys", user(row(none, none)), json!({}), "pass"),
            ("young key", user(row(("true", &d10), none)), json!({}), "pass"),
            ("exactly the limit", user(row(("true", &d90), none)), json!({}), "pass"),
            ("one day over", user(row(("true", &d91), none)), json!({}), "fail"),
            ("old key in slot 2", user(row(("true", &d10), ("true", &d400))), json!({}), "fail"),
            ("old but inactive", user(row(("false", &d400), none)), json!({}), "pass"),
            ("override loosens", user(row(("true", &d91), none)), json!({"max_age_days": 365}), "pass"),
            ("override tightens", user(row(("true", &d10), none)), json!({"max_age_days": 7}), "fail"),
            (
                "limit 1 fails any key two days old",
                user(row(("true", &days_ago(2)), none)),
                json!({"max_age_days": 1}),
                "fail",
            ),
            ("limit 0 is refused", user(row(("true", &days_ago(1)), none)), json!({"max_age_days": 0}), "error"),
            ("negative limit", user(row(none, none)), json!({"max_age_days": -1}), "error"),
            ("N/A rotation on an inactive slot", user(row(none, ("false", "N/A"))), json!({}), "pass"),
            ("N/A rotation on an active key", user(row(("true", "N/A"), none)), json!({}), "error"),
            ("no_information", user(row(("true", "no_information"), none)), json!({}), "error"),
            ("not a time", user(row(("true", "2024-13-45"), none)), json!({}), "error"),
            ("old key beats an unknown one", user(row(("true", "N/A"), ("true", &d400))), json!({}), "fail"),
            ("unknown active flag", user(row(("maybe", &d10), none)), json!({}), "error"),
            (
                "rotated in the future (clock skew)",
                user(row(("true", "2099-01-01T00:00:00+00:00"), none)),
                json!({}),
                "pass",
            ),
            ("report unreadable", unreadable(user(row(none, none)), "CredentialReport"), json!({}), "error"),
            ("row without key columns", user(json!({"user": "alice"})), json!({}), "error"),
            ("not in the report yet, new user", iam_user("bob", &days_ago(3), Value::Null), json!({}), "pass"),
            (
                "not in the report yet, space-separated time",
                iam_user("bob", "2026-01-10 08:00:00+00:00", Value::Null),
                json!({}),
                "pass",
            ),
            (
                "not in the report yet, old user",
                iam_user("bob", "2020-01-01T00:00:00Z", Value::Null),
                json!({}),
                "error",
            ),
        ];
        for (name, r, params, expected) in cases {
            let v = run_with(&POLICY, &r, &[], params, now());
            assert_eq!(v.name(), expected, "{name}: {v:?}");
        }
    }

    #[test]
    fn evidence_lists_every_offending_key() {
        let (d91, d400) = (days_ago(91), days_ago(400));
        let e = evidence(run(&POLICY, &user(row(("true", &d91), ("true", &d400)))));
        assert_eq!(
            e,
            json!({"MaxAgeDays": 90, "Keys": [
                {"Slot": 1, "Path": "CredentialReport.access_key_1_last_rotated", "LastRotated": d91, "AgeDays": 91},
                {"Slot": 2, "Path": "CredentialReport.access_key_2_last_rotated", "LastRotated": d400, "AgeDays": 400},
            ]})
        );
        let reason = error_reason(run(&POLICY, &user(row(("true", "N/A"), ("false", "N/A")))));
        assert_eq!(reason, "CredentialReport.access_key_1_last_rotated of an active key is not a time: \"N/A\"");
    }

    /// The users of a recorded credential report (the root row is a different
    /// resource type), evaluated when the report was generated.
    fn recorded_verdicts(file: &str, at: Timestamp, params: Value) -> Vec<(String, Verdict)> {
        credential_report(file)
            .into_iter()
            .filter(|r| r["user"] != "<root_account>")
            .map(|r| {
                let name = r["user"].as_str().unwrap().to_string();
                let created = r["user_creation_time"].as_str().unwrap().to_string();
                let u = iam_user(&name, &created, r);
                let v = run_with(&POLICY, &u, &[], params.clone(), at);
                (name, v)
            })
            .collect()
    }

    fn failing(verdicts: &[(String, Verdict)]) -> Vec<&str> {
        for (name, v) in verdicts {
            assert!(matches!(v, Verdict::Pass | Verdict::Fail(_)), "{name}: {v:?}");
        }
        verdicts.iter().filter(|(_, v)| v.name() == "fail").map(|(n, _)| n.as_str()).collect()
    }

    #[test]
    fn recorded_credential_report() {
        let file = "test_iam_user_unused_keys__iam.GetCredentialReport_2.json";
        let generated = Utc.with_ymd_and_hms(2016, 11, 25, 14, 30, 42).unwrap();
        let verdicts = recorded_verdicts(file, generated, json!({}));
        assert_eq!(verdicts.len(), 7);
        // Keys from 2012, 2013, 2016-07-05 (142 days), 2015 and 2016-07-01 (147 days); rome and syracuse are new.
        assert_eq!(failing(&verdicts), ["charmworld", "Hazmat", "kaleb", "kapilt", "tyre"]);
        let kaleb = &verdicts.iter().find(|(n, _)| n == "kaleb").unwrap().1;
        assert_eq!(evidence(kaleb.clone())["Keys"][0]["AgeDays"], 142);
        // A 145-day limit lets kaleb's 142-day-old key pass but not tyre's 147-day-old one.
        let verdicts = recorded_verdicts(file, generated, json!({"max_age_days": 145}));
        assert_eq!(failing(&verdicts), ["charmworld", "Hazmat", "kapilt", "tyre"]);
    }

    #[test]
    fn recorded_report_with_two_active_keys() {
        let file = "test_account_credential_report__iam.GetCredentialReport_1.json";
        let generated = Utc.with_ymd_and_hms(2017, 2, 22, 23, 7, 48).unwrap();
        let verdicts = recorded_verdicts(file, generated, json!({}));
        let andrew = verdicts.iter().find(|(n, _)| n == "andrew").unwrap().1.clone();
        let slots: Vec<Value> =
            evidence(andrew)["Keys"].as_array().unwrap().iter().map(|k| k["Slot"].clone()).collect();
        assert_eq!(slots, [json!(1), json!(2)]);
        // Users without active keys (anthony, chrissy, jeff, matt, c7n-test, one christopher row) pass.
        assert_eq!(
            failing(&verdicts),
            [
                "andrew",
                "c7n-iam-test",
                "calvin",
                "christopher",
                "david",
                "Jennifer",
                "joshua",
                "kapil",
                "kit",
                "mandeep",
                "rob",
                "ryanwolfe",
                "scot",
                "steven"
            ]
        );
    }

    #[test]
    fn recorded_edge_cases() {
        // An inactive key with a rotation date, and an active key "rotated" in 2099.
        let verdicts = recorded_verdicts(
            "test_iam_user_credential_multi_delete_noop__iam.GetCredentialReport_1.json",
            Utc.with_ymd_and_hms(2021, 2, 4, 15, 24, 53).unwrap(),
            json!({}),
        );
        assert_eq!(verdicts, [("test1".to_string(), Verdict::Pass)]);
        // A hand-edited report in capitals: TRUE/FALSE.
        let verdicts = recorded_verdicts(
            "test_iam_user_credential_reverse_filter_delete__iam.GetCredentialReport_1.json",
            Utc.with_ymd_and_hms(2020, 4, 2, 16, 20, 57).unwrap(),
            json!({}),
        );
        assert_eq!(failing(&verdicts), ["zscholl"]);
    }
}
