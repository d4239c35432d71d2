//! `iam-managed-policy-privilege-escalation`: the customer-managed policy's permissions allow privilege escalation.

use qrie_model::{
    ComplianceRef, EvalContext, MissingData, PolicyDef, Remediation, Resource, Service, Severity, Verdict,
};

use super::privilege_escalation::{self, MANAGED_POLICY};

pub static POLICY: PolicyDef = PolicyDef {
    id: "iam-managed-policy-privilege-escalation",
    title: "Customer-managed policy allows privilege escalation",
    description: "The default version of the customer-managed policy allows, on its own, a known privilege-escalation combination: whoever it is attached to, now or later, can grant itself or take over more permissions than it was given, up to administrator. Evidence names each combination (e.g. iam:PassRole with lambda:CreateFunction and \
        lambda:InvokeFunction, or iam:CreatePolicyVersion) and the statement that grants each of its actions.",
    service: Service::Iam,
    resource_type: "AWS::IAM::ManagedPolicy",
    category: "identity",
    severity: Severity::of(70),
    remediation: Remediation {
        steps: &[
            "List the principals the policy is attached to, and which of the reported actions they use.",
            "Remove the actions of each reported combination, or limit them to resources that cannot raise \
             privileges (iam:PassRole to named, low-privilege roles with an iam:PassedToService condition; \
             iam:CreatePolicyVersion and iam:Attach*Policy to nobody outside the IAM administrators).",
            "Where the access is needed, keep it and add a permissions boundary so that whatever the principal \
             creates or changes cannot exceed it.",
            "Use IAM Access Analyzer policy validation and last-accessed data to find which of the actions are \
             actually used.",
        ],
        cli: "aws iam list-entities-for-policy --policy-arn POLICY_ARN\n\
              aws iam create-policy-version --policy-arn POLICY_ARN --policy-document file://least-privilege.json \
              --set-as-default",
        console: "IAM > Policies > POLICY > Permissions > Edit > remove the reported actions > Save changes",
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
    related: None,
    evaluate,
};

fn evaluate(r: &Resource, ctx: &EvalContext) -> Result<Verdict, MissingData> {
    privilege_escalation::evaluate(r, ctx, &MANAGED_POLICY)
}
