//! `iam-user-direct-policies`: the user has policies of their own instead of
//! getting permissions from groups or roles.

use qrie_model::{
    ComplianceRef, EvalContext, MissingData, PolicyDef, Remediation, Resource, Service, Severity, Verdict,
};
use serde_json::{json, Value};

use crate::config::{described, required};

pub static POLICY: PolicyDef = PolicyDef {
    id: "iam-user-direct-policies",
    title: "User has policies attached directly",
    description: "The user has managed policies attached (AttachedManagedPolicies) or inline policies \
        (UserPolicyList) of their own. Permissions granted user by user drift apart, are forgotten when people \
        change jobs, and cannot be reviewed per role; grant them through groups (or, better, roles).",
    service: Service::Iam,
    resource_type: "AWS::IAM::User",
    category: "identity",
    severity: Severity::of(30),
    remediation: Remediation {
        steps: &[
            "Create (or pick) a group for the user's job function and give it the permissions named in the \
             evidence.",
            "Add the user to the group.",
            "Detach the managed policies from the user and delete their inline policies.",
        ],
        cli: "aws iam add-user-to-group --group-name GROUP --user-name USER\n\
              aws iam detach-user-policy --user-name USER --policy-arn POLICY_ARN\n\
              aws iam delete-user-policy --user-name USER --policy-name INLINE_POLICY",
        console: "IAM > Users > USER > Permissions > select the policy > Remove; then IAM > User groups > GROUP > \
                  Users > Add users",
        iac: r#"resource "aws_iam_group_policy_attachment" "developers" {
  group      = aws_iam_group.developers.name
  policy_arn = aws_iam_policy.developer.arn
}

resource "aws_iam_user_group_membership" "alice" {
  user   = aws_iam_user.alice.name
  groups = [aws_iam_group.developers.name]
}"#,
    },
    compliance: &[
        ComplianceRef { framework: "cis-aws-3.0", controls: &["1.15"] },
        ComplianceRef { framework: "nist-800-53-r5", controls: &["AC-2", "AC-6"] },
    ],
    params: &[],
    related: None,
    evaluate,
};

fn evaluate(r: &Resource, _: &EvalContext) -> Result<Verdict, MissingData> {
    let user = described(r, "User")?;
    let attached = required(user, "User", "AttachedManagedPolicies", Value::as_array)?;
    // GetAccountAuthorizationDetails omits UserPolicyList for users without
    // inline policies (every user of the recorded dump), so absent is empty.
    let inline = match user.get("UserPolicyList") {
        None => &[][..],
        Some(v) => {
            v.as_array().ok_or_else(|| MissingData(format!("User.UserPolicyList has an unexpected shape: {v}")))?
        }
    };
    let mut policies: Vec<Value> = attached
        .iter()
        .enumerate()
        .map(|(i, p)| json!({"Path": format!("User.AttachedManagedPolicies[{i}]"), "PolicyArn": p.get("PolicyArn")}))
        .collect();
    policies.extend(
        inline
            .iter()
            .enumerate()
            .map(|(i, p)| json!({"Path": format!("User.UserPolicyList[{i}]"), "PolicyName": p.get("PolicyName")})),
    );
    if policies.is_empty() {
        return Ok(Verdict::Pass);
    }
    Ok(Verdict::Fail(json!({"Policies": policies})))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iam::fixtures::*;
    use crate::testing::*;

    fn with(overrides: Value) -> Resource {
        user(user_item("alice", overrides), user_row("alice", json!({})))
    }

    #[test]
    fn golden_cases() {
        let admin =
            json!([{"PolicyName": "AdministratorAccess", "PolicyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}]);
        let inline = json!([{"PolicyName": "s3", "PolicyDocument": {"Version": "2012-10-17", "Statement": []}}]);
        let cases: Vec<(&str, Resource, &str)> = vec![
            ("groups only", with(json!({"GroupList": ["developers"]})), "pass"),
            ("attached", with(json!({"AttachedManagedPolicies": admin})), "fail"),
            ("inline", with(json!({"UserPolicyList": inline})), "fail"),
            // Tricky: the dump's shape, without UserPolicyList at all.
            (
                "inline list absent",
                user(
                    {
                        let mut u = user_item("alice", json!({}));
                        u.as_object_mut().unwrap().remove("UserPolicyList");
                        u
                    },
                    Value::Null,
                ),
                "pass",
            ),
            ("inline list garbled", with(json!({"UserPolicyList": "none"})), "error"),
            ("attached absent", with(json!({"AttachedManagedPolicies": null})), "error"),
            ("user unreadable", unreadable(with(json!({})), "User"), "error"),
        ];
        for (name, r, expected) in cases {
            let v = run(&POLICY, &r);
            assert_eq!(v.name(), expected, "{name}: {v:?}");
        }
        let e = evidence(run(&POLICY, &with(json!({"AttachedManagedPolicies": admin, "UserPolicyList": inline}))));
        assert_eq!(
            e,
            json!({"Policies": [
                {"Path": "User.AttachedManagedPolicies[0]", "PolicyArn": "arn:aws:iam::aws:policy/AdministratorAccess"},
                {"Path": "User.UserPolicyList[0]", "PolicyName": "s3"},
            ]})
        );
    }

    #[test]
    fn recorded_dump() {
        // Every user of the lab account has policies of their own except the two that get them from a group
        // or by assuming a role.
        let mut passing = Vec::new();
        let mut failing = 0;
        for r in dump_resources().iter().filter(|r| r.resource_type == "AWS::IAM::User") {
            match run(&POLICY, r) {
                Verdict::Pass => passing.push(r.name.clone()),
                Verdict::Fail(_) => failing += 1,
                other => panic!("{}: {other:?}", r.name),
            }
        }
        assert_eq!(passing, ["privesc-AssumeRole-start-user", "privesc-sre-user"]);
        assert_eq!(failing, 39);
    }
}
