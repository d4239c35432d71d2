//! The AWS managed policy AdministratorAccess attached to a user, group or
//! role: one evaluator for the three principal kinds.

use qrie_model::{MissingData, Resource, Verdict};
use serde_json::{json, Value};

use crate::config::{described, required};

/// Where a principal kind keeps its description in the configuration.
pub(crate) struct Principal {
    /// The configuration key and the root of every evidence path.
    pub key: &'static str,
}

pub(crate) const USER: Principal = Principal { key: "User" };
pub(crate) const GROUP: Principal = Principal { key: "Group" };
pub(crate) const ROLE: Principal = Principal { key: "Role" };

/// `arn:PARTITION:iam::aws:policy/AdministratorAccess`. Only the AWS managed
/// policy: a customer policy of the same name is judged by its document (the
/// `*:*` policies), and `arn:aws:iam::aws:policy/job-function/...` policies are
/// different ones.
fn is_administrator_access(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    parts.len() == 6
        && parts[0] == "arn"
        && parts[2] == "iam"
        && parts[3].is_empty()
        && parts[4] == "aws"
        && parts[5] == "policy/AdministratorAccess"
}

pub(crate) fn evaluate(r: &Resource, principal: &Principal) -> Result<Verdict, MissingData> {
    let key = principal.key;
    let item = described(r, key)?;
    let attached = required(item, key, "AttachedManagedPolicies", Value::as_array)?;
    let mut found = Vec::new();
    for (i, p) in attached.iter().enumerate() {
        let path = format!("{key}.AttachedManagedPolicies[{i}]");
        let arn = required(p, &path, "PolicyArn", Value::as_str)?;
        if is_administrator_access(arn) {
            found.push(json!({"Path": path, "PolicyArn": arn}));
        }
    }
    if found.is_empty() {
        return Ok(Verdict::Pass);
    }
    Ok(Verdict::Fail(json!({"Attachments": found})))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iam::fixtures::*;
    use crate::iam::{group_administrator_access, role_administrator_access, user_administrator_access};
    use crate::testing::*;
    use qrie_model::PolicyDef;

    const ADMIN: &str = "arn:aws:iam::aws:policy/AdministratorAccess";

    /// A policy, where its principal kind keeps what it judges, and a builder of that kind.
    type Kind = (&'static PolicyDef, &'static str, fn(Value) -> Resource);

    fn kinds() -> Vec<Kind> {
        vec![
            (&user_administrator_access::POLICY, "User", |a| {
                user(user_item("alice", json!({"AttachedManagedPolicies": a})), Value::Null)
            }),
            (&group_administrator_access::POLICY, "Group", |a| {
                group(json!({"GroupName": "admins", "GroupId": "AGPAEXAMPLE", "Path": "/",
                             "Arn": format!("arn:aws:iam::{ACCOUNT}:group/admins"),
                             "CreateDate": "2024-01-02 03:04:05+00:00", "GroupPolicyList": [],
                             "AttachedManagedPolicies": a}))
            }),
            (&role_administrator_access::POLICY, "Role", |a| {
                role(json!({"RoleName": "ops", "RoleId": "AROAEXAMPLE", "Path": "/",
                            "Arn": format!("arn:aws:iam::{ACCOUNT}:role/ops"),
                            "CreateDate": "2024-01-02 03:04:05+00:00", "RolePolicyList": [],
                            "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": []},
                            "AttachedManagedPolicies": a}))
            }),
        ]
    }

    fn attachment(name: &str, arn: &str) -> Value {
        json!({"PolicyName": name, "PolicyArn": arn})
    }

    #[test]
    fn golden_cases() {
        for (policy, key, build) in kinds() {
            let cases: Vec<(&str, Value, &str)> = vec![
                ("nothing attached", json!([]), "pass"),
                ("read-only", json!([attachment("ReadOnlyAccess", "arn:aws:iam::aws:policy/ReadOnlyAccess")]), "pass"),
                (
                    "AdministratorAccess",
                    json!([
                        attachment("ReadOnlyAccess", "arn:aws:iam::aws:policy/ReadOnlyAccess"),
                        attachment("AdministratorAccess", ADMIN)
                    ]),
                    "fail",
                ),
                // Tricky: same name, customer-managed; and a similarly named AWS policy.
                (
                    "customer policy named AdministratorAccess",
                    json!([attachment("AdministratorAccess", "arn:aws:iam::123456789012:policy/AdministratorAccess")]),
                    "pass",
                ),
                (
                    "job-function policy",
                    json!([attachment(
                        "SystemAdministrator",
                        "arn:aws:iam::aws:policy/job-function/SystemAdministrator"
                    )]),
                    "pass",
                ),
                ("attachment without an ARN", json!([{"PolicyName": "AdministratorAccess"}]), "error"),
                ("attachments garbled", json!("AdministratorAccess"), "error"),
            ];
            for (name, attached, expected) in cases {
                let v = run(policy, &build(attached));
                assert_eq!(v.name(), expected, "{}: {name}: {v:?}", policy.id);
            }
            let e = evidence(run(
                policy,
                &build(json!([
                    attachment("x", "arn:aws:iam::aws:policy/ReadOnlyAccess"),
                    attachment("AdministratorAccess", ADMIN)
                ])),
            ));
            assert_eq!(
                e,
                json!({"Attachments": [{"Path": format!("{key}.AttachedManagedPolicies[1]"), "PolicyArn": ADMIN}]}),
                "{}",
                policy.id
            );
            assert_eq!(run(policy, &unreadable(build(json!([])), key)).name(), "error", "{}", policy.id);
        }
    }

    #[test]
    fn recorded_dump() {
        let resources = dump_resources();
        let mut failing = Vec::new();
        for (policy, key, _) in kinds() {
            let kind = format!("AWS::IAM::{key}");
            for r in resources.iter().filter(|r| r.resource_type == kind) {
                match run(policy, r) {
                    Verdict::Fail(_) => failing.push(format!("{key}/{}", r.name)),
                    Verdict::Pass => {}
                    other => panic!("{}: {other:?}", r.name),
                }
            }
        }
        // In the lab account only roles hold AdministratorAccess: Identity Center's administrator permission set,
        // the Organizations access role and two StackSets execution roles.
        assert_eq!(
            failing,
            [
                "Role/AWS-QuickSetup-StackSet-Local-ExecutionRole",
                "Role/AWSReservedSSO_AdministratorAccess_dc6414f7f2ab04fc",
                "Role/OrganizationAccountAccessRole",
                "Role/stacksets-exec-b5520cb2730c2f54b523d6375a319abb",
            ]
        );
    }

    #[test]
    fn only_the_aws_managed_policy() {
        assert!(is_administrator_access("arn:aws:iam::aws:policy/AdministratorAccess"));
        assert!(is_administrator_access("arn:aws-us-gov:iam::aws:policy/AdministratorAccess"));
        for other in [
            "arn:aws:iam::123456789012:policy/AdministratorAccess",
            "arn:aws:iam::aws:policy/job-function/SystemAdministrator",
            "arn:aws:iam::aws:policy/AdministratorAccess-Amplify",
            "arn:aws:iam::aws:policy/administratoraccess",
            "AdministratorAccess",
        ] {
            assert!(!is_administrator_access(other), "{other}");
        }
    }
}
