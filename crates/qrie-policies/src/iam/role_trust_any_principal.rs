//! `iam-role-trust-any-principal`: anyone can assume the role.

use qrie_model::{
    ComplianceRef, EvalContext, MissingData, PolicyDef, Remediation, Resource, Service, Severity, Verdict,
};
use serde_json::{json, Value};

use super::trust;
use crate::document::Effect;

pub static POLICY: PolicyDef = PolicyDef {
    id: "iam-role-trust-any-principal",
    title: "Role trust policy open to any principal",
    description: "A statement of the role's trust policy allows sts:AssumeRole to Principal \"*\" (or {\"AWS\": \
        \"*\"}, or everyone but a NotPrincipal list) with no condition limiting callers to known parties \
        (organization, account, source ARN...). Any AWS account in the world can then assume the role and \
        use its permissions.",
    service: Service::Iam,
    resource_type: "AWS::IAM::Role",
    category: "identity",
    severity: Severity::of(95),
    remediation: Remediation {
        steps: &[
            "Find out who is meant to assume the role (CloudTrail AssumeRole events for the role's ARN).",
            "Replace the \"*\" principal with those accounts or role ARNs, or add a condition such as \
             aws:PrincipalOrgID limiting it to your organization.",
            "For a third party, name its account and require sts:ExternalId.",
        ],
        cli: "aws iam get-role --role-name ROLE --query Role.AssumeRolePolicyDocument\n\
              aws iam update-assume-role-policy --role-name ROLE --policy-document file://trust.json",
        console: "IAM > Roles > ROLE > Trust relationships > Edit trust policy",
        iac: r#"resource "aws_iam_role" "app" {
  name = "app"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { AWS = "arn:aws:iam::111122223333:role/deployer" }
      Action    = "sts:AssumeRole"
    }]
  })
}"#,
    },
    compliance: &[
        ComplianceRef { framework: "nist-800-53-r5", controls: &["AC-3", "AC-6"] },
        ComplianceRef { framework: "pci-dss-4.0", controls: &["7.2.1"] },
    ],
    params: &[],
    related: None,
    evaluate,
};

fn evaluate(r: &Resource, _: &EvalContext) -> Result<Verdict, MissingData> {
    let doc = trust::document(r)?;
    // public_grants judges principals, restricting conditions and Denies that take the grant back.
    let open: Vec<Value> = doc
        .public_grants("sts")
        .into_iter()
        .filter(|m| doc.statements.iter().any(|s| s.index == m.index && s.effect == Effect::Allow && trust::assumes(s)))
        .map(|m| m.evidence())
        .collect();
    if open.is_empty() {
        return Ok(Verdict::Pass);
    }
    Ok(Verdict::Fail(json!({"Statements": open})))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iam::fixtures::*;
    use crate::testing::*;

    fn with_trust(statements: Value) -> Resource {
        role(json!({"RoleName": "r", "RoleId": "AROAX", "Path": "/", "Arn": format!("arn:aws:iam::{ACCOUNT}:role/r"),
                    "CreateDate": "2024-01-02 03:04:05+00:00", "RolePolicyList": [], "AttachedManagedPolicies": [],
                    "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": statements}}))
    }

    fn allow(principal: Value) -> Value {
        json!({"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"})
    }

    #[test]
    fn golden_cases() {
        let cases: Vec<(&str, Value, &str)> = vec![
            ("a service", json!([allow(json!({"Service": "lambda.amazonaws.com"}))]), "pass"),
            ("own account", json!([allow(json!({"AWS": format!("arn:aws:iam::{ACCOUNT}:root")}))]), "pass"),
            ("*", json!([allow(json!("*"))]), "fail"),
            ("AWS *", json!([allow(json!({"AWS": ["*"]}))]), "fail"),
            (
                "* limited to the organization",
                json!([{"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}}}]),
                "pass",
            ),
            // Tricky: an ExternalId alone does not make * safe: anyone who learns it can assume the role.
            (
                "* with only an ExternalId",
                json!([{"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"sts:ExternalId": "secret"}}}]),
                "fail",
            ),
            (
                "* but Deny *",
                json!([allow(json!("*")), {"Effect": "Deny", "Principal": "*", "Action": "sts:*"}]),
                "pass",
            ),
            (
                "NotPrincipal",
                json!([{"Effect": "Allow", "NotPrincipal": {"AWS": "arn:aws:iam::999999999999:root"},
                "Action": "sts:AssumeRole"}]),
                "fail",
            ),
            (
                "* for TagSession only",
                json!([{"Effect": "Allow", "Principal": "*", "Action": "sts:TagSession"}]),
                "pass",
            ),
            ("garbled", json!("x"), "error"),
        ];
        for (name, statements, expected) in cases {
            let v = run(&POLICY, &with_trust(statements));
            assert_eq!(v.name(), expected, "{name}: {v:?}");
        }
        let e = evidence(run(
            &POLICY,
            &with_trust(json!([allow(json!({"Service": "ec2.amazonaws.com"})), allow(json!("*"))])),
        ));
        assert_eq!(e["Statements"][0]["Path"], "Role.AssumeRolePolicyDocument.Statement[1]");
        assert_eq!(run(&POLICY, &unreadable(with_trust(json!([])), "Role")).name(), "error");
    }

    #[test]
    fn recorded_dump() {
        // No role of the lab account trusts everyone; every trust policy parses.
        for r in dump_resources().iter().filter(|r| r.resource_type == "AWS::IAM::Role") {
            assert_eq!(run(&POLICY, r), Verdict::Pass, "{}", r.name);
        }
    }
}
