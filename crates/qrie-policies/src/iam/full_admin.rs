//! Policies granting `*:*` (every action on every resource): one evaluator for
//! customer-managed policies and the inline policies of users, groups and roles.
//!
//! What counts is `crate::document`'s `grants_all`: an Allow of `Action: "*"`
//! (or `*:*`, or a `NotAction` that excludes nothing) on `Resource: "*"` that no
//! unconditional Deny in the same document takes back. A `NotAction` that
//! excludes something (`NotAction: "iam:*"`) is not `*:*`; what it still grants
//! is judged by the privilege-escalation policies. Conditions do not excuse a
//! `*:*` grant: whoever meets them is an administrator.

use qrie_model::{MissingData, Verdict};
use serde_json::{json, Value};

use crate::document::PolicyDocument;

// Shared by the user, group and role inline-policy `*:*` policies; each keeps
// its own first step, CLI, console path and IaC.
pub(crate) const STEP_REPLACE_INLINE: &str =
    "Replace the inline policy named in the evidence with a managed policy granting only those actions.";
pub(crate) const STEP_DELETE_INLINE: &str = "Delete the inline policy.";
pub(crate) const INLINE_COMPLIANCE: &[qrie_model::ComplianceRef] = &[
    qrie_model::ComplianceRef { framework: "cis-aws-3.0", controls: &["1.16"] },
    qrie_model::ComplianceRef { framework: "nist-800-53-r5", controls: &["AC-6"] },
    qrie_model::ComplianceRef { framework: "pci-dss-4.0", controls: &["7.2.1", "7.2.2"] },
];

pub(crate) fn verdict(docs: &[PolicyDocument]) -> Result<Verdict, MissingData> {
    let grants: Vec<Value> = docs.iter().flat_map(|d| d.grants_all()).map(|m| m.evidence()).collect();
    if grants.is_empty() {
        return Ok(Verdict::Pass);
    }
    Ok(Verdict::Fail(json!({"Statements": grants})))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iam::fixtures::*;
    use crate::iam::{group_inline_policy_full_admin, role_inline_policy_full_admin, user_inline_policy_full_admin};
    use crate::testing::*;
    use qrie_model::{PolicyDef, Resource};

    /// A policy, where its principal kind keeps what it judges, and a builder of that kind.
    type Kind = (&'static PolicyDef, &'static str, fn(Value) -> Resource);

    fn kinds() -> Vec<Kind> {
        vec![
            (&user_inline_policy_full_admin::POLICY, "User.UserPolicyList", |l| {
                user(user_item("alice", json!({"UserPolicyList": l})), Value::Null)
            }),
            (&group_inline_policy_full_admin::POLICY, "Group.GroupPolicyList", |l| {
                group(
                    json!({"GroupName": "g", "GroupId": "AGPAX", "Path": "/", "Arn": format!("arn:aws:iam::{ACCOUNT}:group/g"),
                             "CreateDate": "2024-01-02 03:04:05+00:00", "GroupPolicyList": l, "AttachedManagedPolicies": []}),
                )
            }),
            (&role_inline_policy_full_admin::POLICY, "Role.RolePolicyList", |l| {
                role(
                    json!({"RoleName": "r", "RoleId": "AROAX", "Path": "/", "Arn": format!("arn:aws:iam::{ACCOUNT}:role/r"),
                            "CreateDate": "2024-01-02 03:04:05+00:00", "RolePolicyList": l, "AttachedManagedPolicies": [],
                            "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": []}}),
                )
            }),
        ]
    }

    fn inline(name: &str, statements: Value) -> Value {
        json!({"PolicyName": name, "PolicyDocument": {"Version": "2012-10-17", "Statement": statements}})
    }

    #[test]
    fn golden_cases() {
        let star = json!({"Effect": "Allow", "Action": "*", "Resource": "*"});
        let read = json!({"Effect": "Allow", "Action": "s3:Get*", "Resource": "*"});
        for (policy, list, build) in kinds() {
            let cases: Vec<(&str, Value, &str)> = vec![
                ("no inline policies", json!([]), "pass"),
                ("read only", json!([inline("read", json!([read]))]), "pass"),
                (
                    "*:* in the second policy",
                    json!([inline("read", json!([read])), inline("admin", json!([star]))]),
                    "fail",
                ),
                // Tricky: an IAM console export keeps documents URL-encoded strings; the parser decodes them.
                (
                    "URL-encoded document",
                    json!([{"PolicyName": "admin", "PolicyDocument":
                    "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22%2A%22%2C%22Resource%22%3A%22%2A%22%7D%5D%7D"}]),
                    "fail",
                ),
                (
                    "NotAction excluding nothing but one service",
                    json!([inline("x", json!([{"Effect": "Allow", "NotAction": "s3:*", "Resource": "*"}]))]),
                    "pass",
                ),
                ("document absent", json!([{"PolicyName": "x"}]), "error"),
                ("list garbled", json!("x"), "error"),
            ];
            for (name, list_value, expected) in cases {
                let v = run(policy, &build(list_value));
                assert_eq!(v.name(), expected, "{}: {name}: {v:?}", policy.id);
            }
            let e = evidence(run(
                policy,
                &build(json!([inline("read", json!([read])), inline("admin", json!([read, star]))])),
            ));
            assert_eq!(e["Statements"][0]["Path"], format!("{list}[1].PolicyDocument.Statement[1]"), "{}", policy.id);
            let key = list.split('.').next().unwrap();
            assert_eq!(run(policy, &unreadable(build(json!([])), key)).name(), "error");
        }
    }

    #[test]
    fn recorded_dump() {
        // No user, group or role of the lab account has a *:* inline policy (its admins use managed policies);
        // every document in it must parse.
        let resources = dump_resources();
        for (policy, list, _) in kinds() {
            let kind = format!("AWS::IAM::{}", list.split('.').next().unwrap());
            let n = resources
                .iter()
                .filter(|r| r.resource_type == kind)
                .inspect(|r| {
                    assert_eq!(run(policy, r), Verdict::Pass, "{}: {}", policy.id, r.name);
                })
                .count();
            assert!(n > 0, "{kind}");
        }
        // The same evaluator does catch such a grant in a recorded role.
        let mut r = resources.into_iter().find(|r| r.name == "OrganizationAccountAccessRole").unwrap();
        r.configuration["Role"]["RolePolicyList"] =
            json!([inline("admin", json!([{"Effect": "Allow", "Action": "*", "Resource": "*"}]))]);
        assert_eq!(run(&role_inline_policy_full_admin::POLICY, &r).name(), "fail");
    }
}
