//! `iam-user-privilege-escalation`: the user's permissions allow privilege escalation.

use qrie_model::{
    ComplianceRef, EvalContext, MissingData, PolicyDef, Remediation, Resource, Service, Severity, Verdict,
};

use super::privilege_escalation::{self, USER};

pub static POLICY: PolicyDef = PolicyDef {
    id: "iam-user-privilege-escalation",
    title: "IAM user can escalate privileges",
    description: "The user's inline and attached policies, taken together (a Deny in any of them removes an action), allow a known privilege-escalation combination: with them the user can grant itself, or take over, more permissions than it was given, up to administrator. Evidence names each combination (e.g. iam:PassRole with lambda:CreateFunction and \
        lambda:InvokeFunction, or iam:CreatePolicyVersion) and the statement that grants each of its actions.",
    service: Service::Iam,
    resource_type: "AWS::IAM::User",
    category: "identity",
    severity: Severity::of(75),
    remediation: Remediation {
        steps: &[
            "Review the user's inline and attached policies against the reported combinations.",
            "Remove the actions of each reported combination, or limit them to resources that cannot raise \
             privileges (iam:PassRole to named, low-privilege roles with an iam:PassedToService condition; \
             iam:CreatePolicyVersion and iam:Attach*Policy to nobody outside the IAM administrators).",
            "Where the access is needed, keep it and add a permissions boundary so that whatever the principal \
             creates or changes cannot exceed it.",
            "Use IAM Access Analyzer policy validation and last-accessed data to find which of the actions are \
             actually used.",
        ],
        cli: "aws iam list-attached-user-policies --user-name USER\n\
              aws iam list-user-policies --user-name USER\n\
              aws iam detach-user-policy --user-name USER --policy-arn POLICY_ARN",
        console: "IAM > Users > USER > Permissions > select the policy granting the reported actions > Remove",
        iac: r#"# Pass only one named role, and only to Lambda.
resource "aws_iam_policy" "deployer" {
  name = "deployer"
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Action    = "iam:PassRole"
      Resource  = "arn:aws:iam::123456789012:role/app-lambda"
      Condition = { StringEquals = { "iam:PassedToService" = "lambda.amazonaws.com" } }
    }]
  })
}"#,
    },
    compliance: &[
        ComplianceRef { framework: "nist-800-53-r5", controls: &["AC-6", "AC-6(1)"] },
        ComplianceRef { framework: "pci-dss-4.0", controls: &["7.2.1", "7.2.2"] },
        ComplianceRef { framework: "hipaa", controls: &["164.308(a)(4)(ii)(B)"] },
        ComplianceRef { framework: "cmmc-2.0", controls: &["AC.L2-3.1.5", "AC.L2-3.1.7"] },
    ],
    params: &[],
    related: Some(privilege_escalation::related),
    evaluate,
};

fn evaluate(r: &Resource, ctx: &EvalContext) -> Result<Verdict, MissingData> {
    privilege_escalation::evaluate(r, ctx, &USER)
}
