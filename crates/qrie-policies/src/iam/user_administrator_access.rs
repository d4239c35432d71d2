//! `iam-user-administrator-access`: AdministratorAccess is attached to the user.

use qrie_model::{
    ComplianceRef, EvalContext, MissingData, PolicyDef, Remediation, Resource, Service, Severity, Verdict,
};

use super::administrator_access::{self, USER};

pub static POLICY: PolicyDef = PolicyDef {
    id: "iam-user-administrator-access",
    title: "AdministratorAccess attached to an IAM user",
    description: "The AWS managed policy AdministratorAccess is attached directly to the user. Whoever holds the user's password or access keys can do anything in the account, permanently; administrators should assume a role (or use IAM Identity Center) for the moments they need it.",
    service: Service::Iam,
    resource_type: "AWS::IAM::User",
    category: "identity",
    severity: Severity::of(80),
    remediation: Remediation {
        steps: &[
            "Decide what the user actually needs, and grant it through a group or, better, a role the user assumes.",
            "If the user must administer the account, give them a role with AdministratorAccess that requires MFA to assume, instead of the attachment.",
            "Detach AdministratorAccess from the user.",
        ],
        cli: "aws iam detach-user-policy --user-name USER --policy-arn arn:aws:iam::aws:policy/AdministratorAccess",
        console: "IAM > Users > USER > Permissions > AdministratorAccess > Remove",
        iac: r#"# Administrators assume a role that requires MFA instead of holding the policy.
resource "aws_iam_role" "admin" {
  name = "admin"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { AWS = "arn:aws:iam::${data.aws_caller_identity.current.account_id}:root" }
      Action    = "sts:AssumeRole"
      Condition = { Bool = { "aws:MultiFactorAuthPresent" = "true" } }
    }]
  })
}

resource "aws_iam_role_policy_attachment" "admin" {
  role       = aws_iam_role.admin.name
  policy_arn = "arn:aws:iam::aws:policy/AdministratorAccess"
}"#,
    },
    compliance: &[
        ComplianceRef { framework: "nist-800-53-r5", controls: &["AC-6", "AC-6(5)"] },
        ComplianceRef { framework: "pci-dss-4.0", controls: &["7.2.1", "7.2.2"] },
    ],
    params: &[],
    related: None,
    evaluate,
};

fn evaluate(r: &Resource, _: &EvalContext) -> Result<Verdict, MissingData> {
    administrator_access::evaluate(r, &USER)
}
