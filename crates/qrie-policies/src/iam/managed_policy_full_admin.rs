//! `iam-managed-policy-full-admin`: a customer-managed policy grants `*:*`.

use qrie_model::{
    ComplianceRef, EvalContext, MissingData, PolicyDef, Remediation, Resource, Service, Severity, Verdict,
};

use super::{documents, full_admin};

pub static POLICY: PolicyDef = PolicyDef {
    id: "iam-managed-policy-full-admin",
    title: "Customer-managed policy grants *:*",
    description: "The default version of the customer-managed policy allows every action on every resource \
        (Action \"*\" on Resource \"*\"). Whoever it is attached to, now or later, is a full administrator, \
        including of IAM itself; such grants should be the AWS managed AdministratorAccess on a few, \
        well-guarded roles, not a custom policy that looks harmless in a list.",
    service: Service::Iam,
    resource_type: "AWS::IAM::ManagedPolicy",
    category: "identity",
    severity: Severity::of(80),
    remediation: Remediation {
        steps: &[
            "List the principals the policy is attached to, and find which actions they use (IAM last accessed \
             data, or IAM Access Analyzer policy generation from CloudTrail).",
            "Create a new policy version granting only those actions and resources, and make it the default.",
            "Delete the old versions, so that nobody can switch back to the *:* one.",
        ],
        cli: "aws iam list-entities-for-policy --policy-arn POLICY_ARN\n\
              aws iam create-policy-version --policy-arn POLICY_ARN --policy-document file://least-privilege.json \
              --set-as-default\n\
              aws iam delete-policy-version --policy-arn POLICY_ARN --version-id v1",
        console: "IAM > Policies > POLICY > Permissions > Edit > replace the statement with Action \"*\" and \
                  Resource \"*\" > Save changes",
        iac: r#"resource "aws_iam_policy" "app" {
  name = "app"
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect   = "Allow"
      Action   = ["s3:GetObject", "s3:PutObject"]
      Resource = "arn:aws:s3:::app-bucket/*"
    }]
  })
}"#,
    },
    compliance: &[
        ComplianceRef { framework: "cis-aws-3.0", controls: &["1.16"] },
        ComplianceRef { framework: "nist-800-53-r5", controls: &["AC-6"] },
        ComplianceRef { framework: "pci-dss-4.0", controls: &["7.2.1", "7.2.2"] },
    ],
    params: &[],
    related: None,
    evaluate,
};

fn evaluate(r: &Resource, _: &EvalContext) -> Result<Verdict, MissingData> {
    full_admin::verdict(&[documents::default_version(r)?])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iam::fixtures::*;
    use crate::testing::*;
    use serde_json::{json, Value};

    fn policy(versions: Value, default: &str) -> Resource {
        managed_policy(json!({"PolicyName": "p", "PolicyId": "ANPAEXAMPLE", "Path": "/",
            "Arn": format!("arn:aws:iam::{ACCOUNT}:policy/p"), "DefaultVersionId": default, "AttachmentCount": 1,
            "IsAttachable": true, "CreateDate": "2024-01-01 00:00:00+00:00", "UpdateDate": "2024-01-01 00:00:00+00:00",
            "PolicyVersionList": versions}))
    }

    fn version(id: &str, default: bool, statements: Value) -> Value {
        json!({"VersionId": id, "IsDefaultVersion": default,
               "Document": {"Version": "2012-10-17", "Statement": statements}})
    }

    fn one(statements: Value) -> Resource {
        policy(json!([version("v1", true, statements)]), "v1")
    }

    #[test]
    fn golden_cases() {
        let star = json!({"Effect": "Allow", "Action": "*", "Resource": "*"});
        let cases: Vec<(&str, Resource, &str)> = vec![
            ("Action * Resource *", one(json!([star])), "fail"),
            ("single statement object", one(star.clone()), "fail"),
            (
                "*:* in a list",
                one(json!([{"Effect": "Allow", "Action": ["s3:GetObject", "*:*"], "Resource": ["*"]}])),
                "fail",
            ),
            (
                "with an MFA condition",
                one(json!([{"Effect": "Allow", "Action": "*", "Resource": "*",
                "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}}])),
                "fail",
            ),
            ("s3:* only", one(json!([{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}])), "pass"),
            (
                "* on one bucket",
                one(json!([{"Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3:::b/*"}])),
                "pass",
            ),
            // Tricky: NotAction excluding IAM is not *:* (the escalation policies judge it).
            ("NotAction iam:*", one(json!([{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}])), "pass"),
            ("taken back by a Deny *", one(json!([star, {"Effect": "Deny", "Action": "*", "Resource": "*"}])), "pass"),
            ("Deny of IAM only", one(json!([star, {"Effect": "Deny", "Action": "iam:*", "Resource": "*"}])), "fail"),
            ("Deny *:* *", one(json!([{"Effect": "Deny", "Action": "*", "Resource": "*"}])), "pass"),
            // Tricky: only the default version counts.
            (
                "*:* in an old version",
                policy(
                    json!([
                        version("v1", false, json!([star])),
                        version("v2", true, json!([{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]))
                    ]),
                    "v2",
                ),
                "pass",
            ),
            (
                "*:* in the default version",
                policy(json!([version("v1", false, json!([])), version("v2", true, json!([star]))]), "v2"),
                "fail",
            ),
            ("no default version", policy(json!([version("v1", false, json!([star]))]), "v9"), "error"),
            ("garbled document", one(json!("nope")), "error"),
            ("policy unreadable", unreadable(one(json!([])), "Policy"), "error"),
        ];
        for (name, r, expected) in cases {
            let v = run(&POLICY, &r);
            assert_eq!(v.name(), expected, "{name}: {v:?}");
        }
        let e = evidence(run(
            &POLICY,
            &policy(
                json!([
                    version("v1", false, json!([])),
                    version(
                        "v2",
                        true,
                        json!([
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}, star])
                    )
                ]),
                "v2",
            ),
        ));
        assert_eq!(e["Statements"][0]["Path"], "Policy.PolicyVersionList[1].Document.Statement[1]");
        assert_eq!(e["Statements"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn recorded_dump() {
        // Three of the lab account's 44 customer-managed policies grant *:*; deny-all only denies, and
        // fn4-exploitableNotAction's NotAction excludes part of IAM.
        let mut failing = Vec::new();
        for r in dump_resources().iter().filter(|r| r.resource_type == "AWS::IAM::ManagedPolicy") {
            match run(&POLICY, r) {
                Verdict::Fail(_) => failing.push(r.name.clone()),
                Verdict::Pass => {}
                other => panic!("{}: {other:?}", r.name),
            }
        }
        assert_eq!(
            failing,
            ["privesc-high-priv-service-policy", "fp2-allow-all", "privesc-AssumeRole-high-priv-policy"]
        );
    }
}
