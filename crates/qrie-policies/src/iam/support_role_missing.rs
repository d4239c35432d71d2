//! `iam-support-role-missing`: no IAM role may act on AWS Support cases.

use qrie_model::{
    ComplianceRef, EvalContext, MissingData, PolicyDef, Remediation, Resource, Service, Severity, Verdict,
};
use serde_json::{json, Value};

use crate::config::{described, required};

pub static POLICY: PolicyDef = PolicyDef {
    id: "iam-support-role-missing",
    title: "No IAM role for AWS Support",
    description: "No role has the AWS managed policy AWSSupportAccess attached (ListEntitiesForPolicy returns \
        no PolicyRoles). During an incident, someone must be able to open and follow AWS Support cases without \
        the root user; users or groups holding the policy do not count, because access should be granted by \
        assuming a role.",
    service: Service::Iam,
    resource_type: "AWS::IAM::RootUser",
    category: "identity",
    severity: Severity::of(20),
    remediation: Remediation {
        steps: &[
            "Create a role that your incident responders can assume (trusting your account or your identity \
             provider).",
            "Attach the AWS managed policy arn:aws:iam::aws:policy/AWSSupportAccess to it.",
        ],
        cli: "aws iam create-role --role-name aws-support --assume-role-policy-document \
              '{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"arn:aws:iam::ACCOUNT:root\"},\"Action\":\"sts:AssumeRole\"}]}'\n\
              aws iam attach-role-policy --role-name aws-support --policy-arn arn:aws:iam::aws:policy/AWSSupportAccess",
        console: "IAM > Roles > Create role > AWS account (this account) > Permissions: AWSSupportAccess > Role \
                  name: aws-support > Create role",
        iac: r#"resource "aws_iam_role" "support" {
  name = "aws-support"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { AWS = "arn:aws:iam::${data.aws_caller_identity.current.account_id}:root" }
      Action    = "sts:AssumeRole"
    }]
  })
}

resource "aws_iam_role_policy_attachment" "support" {
  role       = aws_iam_role.support.name
  policy_arn = "arn:aws:iam::aws:policy/AWSSupportAccess"
}"#,
    },
    compliance: &[ComplianceRef { framework: "cis-aws-3.0", controls: &["1.17"] }],
    params: &[],
    related: None,
    evaluate,
};

fn evaluate(r: &Resource, _: &EvalContext) -> Result<Verdict, MissingData> {
    let entities = described(r, "SupportAccessEntities")?;
    let roles = required(entities, "SupportAccessEntities", "PolicyRoles", Value::as_array)?;
    if !roles.is_empty() {
        return Ok(Verdict::Pass);
    }
    // Who does hold it, for context: a user or group holding it still leaves the role missing.
    Ok(Verdict::Fail(json!({
        "Path": "SupportAccessEntities.PolicyRoles", "Value": [],
        "PolicyUsers": entities.get("PolicyUsers"), "PolicyGroups": entities.get("PolicyGroups"),
    })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iam::fixtures::*;
    use crate::testing::*;

    fn with(entities: Value) -> Resource {
        root(json!({"SupportAccessEntities": entities}))
    }

    #[test]
    fn golden_cases() {
        assert_eq!(run(&POLICY, &root(json!({}))), Verdict::Pass);
        let nobody = json!({"PolicyGroups": [], "PolicyUsers": [], "PolicyRoles": []});
        assert_eq!(
            evidence(run(&POLICY, &with(nobody))),
            json!({"Path": "SupportAccessEntities.PolicyRoles", "Value": [], "PolicyUsers": [], "PolicyGroups": []})
        );
        // Tricky: a user holds AWSSupportAccess, no role does.
        let user_only = json!({"PolicyGroups": [], "PolicyUsers": [{"UserName": "ops", "UserId": "AIDAX"}],
                               "PolicyRoles": []});
        assert_eq!(evidence(run(&POLICY, &with(user_only)))["PolicyUsers"][0]["UserName"], "ops");
        for (name, r) in [
            ("unreadable", unreadable(root(json!({})), "SupportAccessEntities")),
            ("null", with(Value::Null)),
            ("roles absent", with(json!({"PolicyUsers": []}))),
        ] {
            assert_eq!(run(&POLICY, &r).name(), "error", "{name}");
        }
    }
}
