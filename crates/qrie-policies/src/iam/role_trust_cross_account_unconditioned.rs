//! `iam-role-trust-cross-account-unconditioned`: another account may assume
//! the role without an external id or MFA.

use qrie_model::{
    ComplianceRef, EvalContext, MissingData, ParamDef, ParamRule, ParamValue, PolicyDef, Remediation, Resource,
    Service, Severity, Verdict,
};
use serde_json::{json, Value};

use super::trust;

const TRUSTED_ACCOUNTS: &str = "trusted_accounts";

pub static POLICY: PolicyDef = PolicyDef {
    id: "iam-role-trust-cross-account-unconditioned",
    title: "Cross-account role trust without ExternalId or MFA",
    description: "The role's trust policy lets a principal of another account assume it, with no sts:ExternalId \
        condition (which protects a role meant for a third-party service from the confused-deputy problem) and \
        no MFA condition (aws:MultiFactorAuthPresent or aws:MultiFactorAuthAge, for people). Accounts listed \
        in trusted_accounts (e.g. your organization's management or security account) are not reported.",
    service: Service::Iam,
    resource_type: "AWS::IAM::Role",
    category: "identity",
    severity: Severity::of(60),
    remediation: Remediation {
        steps: &[
            "Confirm that the other account named in the evidence should be able to assume the role.",
            "For a third-party service, add the sts:ExternalId condition with the value the vendor gave you.",
            "For people in another account, require MFA (aws:MultiFactorAuthPresent true).",
            "If the account is one of your own and trusted, list it in the policy's trusted_accounts parameter.",
        ],
        cli: "aws iam get-role --role-name ROLE --query Role.AssumeRolePolicyDocument\n\
              aws iam update-assume-role-policy --role-name ROLE --policy-document file://trust.json",
        console: "IAM > Roles > ROLE > Trust relationships > Edit trust policy",
        iac: r#"resource "aws_iam_role" "vendor" {
  name = "vendor-integration"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { AWS = "arn:aws:iam::111122223333:root" }
      Action    = "sts:AssumeRole"
      Condition = { StringEquals = { "sts:ExternalId" = var.vendor_external_id } }
    }]
  })
}"#,
    },
    compliance: &[
        ComplianceRef { framework: "nist-800-53-r5", controls: &["AC-3", "AC-20"] },
        ComplianceRef { framework: "pci-dss-4.0", controls: &["8.4.2"] },
    ],
    params: &[ParamDef {
        name: TRUSTED_ACCOUNTS,
        description: "Comma-separated 12-digit account ids whose principals may assume roles without conditions.",
        default: ParamValue::Text(""),
        rule: ParamRule::AccountIds,
    }],
    related: None,
    evaluate,
};

/// Conditions that make a cross-account trust acceptable.
const GUARDS: &[&str] = &["sts:ExternalId", "aws:MultiFactorAuthPresent", "aws:MultiFactorAuthAge"];

fn evaluate(r: &Resource, ctx: &EvalContext) -> Result<Verdict, MissingData> {
    let trusted: Vec<&str> =
        ctx.params.text(TRUSTED_ACCOUNTS)?.split(',').map(str::trim).filter(|a| !a.is_empty()).collect();
    let doc = trust::document(r)?;
    let mut found: Vec<Value> = Vec::new();
    for c in doc.cross_account_principals(&r.account_id) {
        if trusted.contains(&c.account.as_str()) {
            continue;
        }
        let Some(s) = doc.statements.iter().find(|s| s.path == c.grant.path) else { continue };
        if !trust::assumes(s) || GUARDS.iter().any(|k| s.conditions_on(k).next().is_some()) {
            continue;
        }
        found.push(json!({"Account": c.account, "Via": c.via, "Path": c.grant.path, "Statement": c.grant.statement}));
    }
    if found.is_empty() {
        return Ok(Verdict::Pass);
    }
    Ok(Verdict::Fail(json!({"CrossAccount": found})))
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

    fn allow(principal: &str, condition: Value) -> Value {
        let mut s = json!({"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "sts:AssumeRole"});
        if !condition.is_null() {
            s["Condition"] = condition;
        }
        s
    }

    #[test]
    fn golden_cases() {
        let other = "arn:aws:iam::999999999999:root";
        let own = format!("arn:aws:iam::{ACCOUNT}:role/admin");
        let cases: Vec<(&str, Value, Value, &str)> = vec![
            ("own account", json!([allow(&own, Value::Null)]), json!({}), "pass"),
            ("other account, bare", json!([allow(other, Value::Null)]), json!({}), "fail"),
            (
                "other account's role",
                json!([allow("arn:aws:iam::999999999999:role/ci", Value::Null)]),
                json!({}),
                "fail",
            ),
            ("account id form", json!([allow("999999999999", Value::Null)]), json!({}), "fail"),
            (
                "with ExternalId",
                json!([allow(other, json!({"StringEquals": {"sts:ExternalId": "abc"}}))]),
                json!({}),
                "pass",
            ),
            (
                "with MFA",
                json!([allow(other, json!({"Bool": {"aws:MultiFactorAuthPresent": "true"}}))]),
                json!({}),
                "pass",
            ),
            // Tricky: a condition on something else does not count.
            (
                "with a source IP only",
                json!([allow(other, json!({"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}))]),
                json!({}),
                "fail",
            ),
            (
                "trusted account",
                json!([allow(other, Value::Null)]),
                json!({"trusted_accounts": "111111111111, 999999999999"}),
                "pass",
            ),
            (
                "a service",
                json!([{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]),
                json!({}),
                "pass",
            ),
            ("garbled", json!("x"), json!({}), "error"),
        ];
        for (name, statements, params, expected) in cases {
            let v = run_with(&POLICY, &with_trust(statements), &[], params, now());
            assert_eq!(v.name(), expected, "{name}: {v:?}");
        }
        let e = evidence(run(&POLICY, &with_trust(json!([allow(&own, Value::Null), allow(other, Value::Null)]))));
        assert_eq!(e["CrossAccount"][0]["Account"], "999999999999");
        assert_eq!(e["CrossAccount"][0]["Path"], "Role.AssumeRolePolicyDocument.Statement[1]");
    }

    #[test]
    fn recorded_dump() {
        let mut failing = Vec::new();
        for r in dump_resources().iter().filter(|r| r.resource_type == "AWS::IAM::Role") {
            let mut r = r.clone();
            r.account_id = "200611803367".into();
            match run(&POLICY, &r) {
                Verdict::Fail(_) => failing.push(r.name.clone()),
                Verdict::Pass => {}
                other => panic!("{}: {other:?}", r.name),
            }
        }
        // Both trust the organization's management account 072528804237, without conditions.
        assert_eq!(failing, ["OrganizationAccountAccessRole", "stacksets-exec-b5520cb2730c2f54b523d6375a319abb"]);
    }
}
