//! Test fixtures shared by the IAM policies: credential report rows, the root
//! user with all its entries, and the recorded GetAccountAuthorizationDetails
//! dump turned into the resources the IAM collector stores.

use qrie_model::ids::pseudo_arn;
use qrie_model::{Resource, Timestamp};
use serde_json::{json, Value};

use crate::testing::{now, resource, testdata_dir, ACCOUNT};

/// `days` whole days before the test clock, as the credential report writes times.
pub fn days_ago(days: i64) -> String {
    report_time(now() - chrono::Duration::days(days))
}

pub fn report_time(t: Timestamp) -> String {
    t.format("%Y-%m-%dT%H:%M:%S+00:00").to_string()
}

/// A user's credential report row without a password, MFA, keys or
/// certificates; `overrides` replaces columns.
pub fn user_row(name: &str, overrides: Value) -> Value {
    let mut row = json!({
        "user": name, "arn": format!("arn:aws:iam::{ACCOUNT}:user/{name}"),
        "user_creation_time": "2024-01-02T03:04:05+00:00", "password_enabled": "false",
        "password_last_used": "N/A", "password_last_changed": "N/A", "password_next_rotation": "N/A",
        "mfa_active": "false",
        "access_key_1_active": "false", "access_key_1_last_rotated": "N/A", "access_key_1_last_used_date": "N/A",
        "access_key_1_last_used_region": "N/A", "access_key_1_last_used_service": "N/A",
        "access_key_2_active": "false", "access_key_2_last_rotated": "N/A", "access_key_2_last_used_date": "N/A",
        "access_key_2_last_used_region": "N/A", "access_key_2_last_used_service": "N/A",
        "cert_1_active": "false", "cert_1_last_rotated": "N/A", "cert_2_active": "false", "cert_2_last_rotated": "N/A",
    });
    for (k, v) in overrides.as_object().expect("overrides are an object") {
        assert!(row.get(k).is_some(), "{k} is not a credential report column");
        row[k] = v.clone();
    }
    row
}

/// The `<root_account>` row: MFA on, no keys, password last used long ago.
pub fn root_row(overrides: Value) -> Value {
    let mut row = user_row(
        "<root_account>",
        json!({
            "arn": pseudo_arn::iam_root(ACCOUNT), "password_enabled": "not_supported",
            "password_last_used": "2019-05-01T10:00:00+00:00", "password_last_changed": "not_supported",
            "password_next_rotation": "not_supported", "mfa_active": "true",
        }),
    );
    for (k, v) in overrides.as_object().expect("overrides are an object") {
        row[k] = v.clone();
    }
    row
}

/// A GetAccountSummary SummaryMap with root MFA on and no root keys.
pub fn summary(overrides: Value) -> Value {
    let mut s = json!({"AccountMFAEnabled": 1, "AccountAccessKeysPresent": 0, "Users": 3, "Roles": 4,
                       "MFADevices": 1, "MFADevicesInUse": 1, "ServerCertificates": 0});
    for (k, v) in overrides.as_object().expect("overrides are an object") {
        s[k] = v.clone();
    }
    s
}

/// The root user with every entry the IAM collector stores; `overrides`
/// replaces top-level keys.
pub fn root(overrides: Value) -> Resource {
    let mut config = json!({
        "AccountSummary": summary(json!({})),
        "CredentialReport": root_row(json!({})),
        "VirtualMFADevices": [],
        "SupportAccessEntities": {"PolicyGroups": [], "PolicyUsers": [],
                                  "PolicyRoles": [{"RoleName": "aws-support", "RoleId": "AROAEXAMPLESUPPORT01"}]},
    });
    for (k, v) in overrides.as_object().expect("overrides are an object") {
        config[k] = v.clone();
    }
    resource("AWS::IAM::RootUser", &pseudo_arn::iam_root(ACCOUNT), "root", config)
}

/// A user with this GetAccountAuthorizationDetails item and credential report row.
pub fn user(item: Value, row: Value) -> Resource {
    let arn = item["Arn"].as_str().expect("Arn").to_string();
    let name = item["UserName"].as_str().expect("UserName").to_string();
    resource("AWS::IAM::User", &arn, &name, json!({"User": item, "CredentialReport": row}))
}

/// A minimal UserDetailList item; `overrides` replaces keys.
pub fn user_item(name: &str, overrides: Value) -> Value {
    let mut item = json!({"Path": "/", "UserName": name, "UserId": "AIDAEXAMPLEUSERID0001",
                          "Arn": format!("arn:aws:iam::{ACCOUNT}:user/{name}"), "CreateDate": "2024-01-02 03:04:05+00:00",
                          "UserPolicyList": [], "GroupList": [], "AttachedManagedPolicies": [], "Tags": []});
    for (k, v) in overrides.as_object().expect("overrides are an object") {
        item[k] = v.clone();
    }
    item
}

pub fn group(item: Value) -> Resource {
    let arn = item["Arn"].as_str().expect("Arn").to_string();
    let name = item["GroupName"].as_str().expect("GroupName").to_string();
    resource("AWS::IAM::Group", &arn, &name, json!({"Group": item}))
}

pub fn role(item: Value) -> Resource {
    let arn = item["Arn"].as_str().expect("Arn").to_string();
    let name = item["RoleName"].as_str().expect("RoleName").to_string();
    resource("AWS::IAM::Role", &arn, &name, json!({"Role": item}))
}

pub fn managed_policy(item: Value) -> Resource {
    let arn = item["Arn"].as_str().expect("Arn").to_string();
    let name = item["PolicyName"].as_str().expect("PolicyName").to_string();
    resource("AWS::IAM::ManagedPolicy", &arn, &name, json!({"Policy": item}))
}

/// The real GetAccountAuthorizationDetails dump of a lab account (cloudsplaining).
pub fn dump() -> Value {
    let path =
        testdata_dir().join("aws-responses/iam-GetAccountAuthorizationDetails/cloudsplaining_example_996ef75a.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The dump's entities as stored resources: users (without credential report
/// rows), groups, roles, and customer-managed policies (the AWS-managed ones in
/// the dump are not resources qrie stores).
pub fn dump_resources() -> Vec<Resource> {
    let d = dump();
    let list = |k: &str| d[k].as_array().unwrap_or_else(|| panic!("{k}")).clone();
    let mut out: Vec<Resource> = list("UserDetailList").into_iter().map(|u| user(u, Value::Null)).collect();
    out.extend(list("GroupDetailList").into_iter().map(group));
    out.extend(list("RoleDetailList").into_iter().map(role));
    out.extend(
        list("Policies")
            .into_iter()
            .filter(|p| !p["Arn"].as_str().unwrap().starts_with("arn:aws:iam::aws:"))
            .map(managed_policy),
    );
    out
}

/// Each non-root row of a recorded credential report as a user resource.
pub fn recorded_users(file: &str) -> Vec<(String, Resource)> {
    crate::testing::credential_report(file)
        .into_iter()
        .filter(|r| r["user"] != "<root_account>")
        .map(|r| {
            let name = r["user"].as_str().unwrap().to_string();
            let item = user_item(&name, json!({"CreateDate": r["user_creation_time"]}));
            (name, user(item, r))
        })
        .collect()
}

/// The users of `users` that fail `def` at `at` with `params`; every other
/// user must pass (recorded data never leaves these policies undecided).
pub fn failing_users(
    def: &qrie_model::PolicyDef,
    users: &[(String, Resource)],
    params: Value,
    at: Timestamp,
) -> Vec<String> {
    let mut failing = Vec::new();
    for (name, r) in users {
        match crate::testing::run_with(def, r, &[], params.clone(), at) {
            qrie_model::Verdict::Fail(_) => failing.push(name.clone()),
            qrie_model::Verdict::Pass => {}
            other => panic!("{name}: {other:?}"),
        }
    }
    failing
}
