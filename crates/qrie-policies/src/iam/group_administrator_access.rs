//! `iam-group-administrator-access`: AdministratorAccess is attached to the group.

use qrie_model::{
    ComplianceRef, EvalContext, MissingData, PolicyDef, Remediation, Resource, Service, Severity, Verdict,
};

use super::administrator_access::{self, GROUP};

pub static POLICY: PolicyDef = PolicyDef {
    id: "iam-group-administrator-access",
    title: "AdministratorAccess attached to an IAM group",
    description: "The AWS managed policy AdministratorAccess is attached to the group, so every member, present and future, can do anything in the account with their long-lived credentials. Group membership is easy to grant and rarely reviewed.",
    service: Service::Iam,
    resource_type: "AWS::IAM::Group",
    category: "identity",
    severity: Severity::of(80),
    remediation: Remediation {
        steps: &[
            "Review the members of the group (the evidence names the attachment; list members with get-group).",
            "Give administrators a role with AdministratorAccess that requires MFA to assume, and let the group grant only sts:AssumeRole on it.",
            "Detach AdministratorAccess from the group.",
        ],
        cli: "aws iam get-group --group-name GROUP\n\
              aws iam detach-group-policy --group-name GROUP --policy-arn arn:aws:iam::aws:policy/AdministratorAccess",
        console: "IAM > User groups > GROUP > Permissions > AdministratorAccess > Remove",
        iac: r#"# The group may only assume the admin role, which requires MFA.
resource "aws_iam_group_policy" "assume_admin" {
  group = aws_iam_group.admins.name
  name  = "assume-admin"
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = "sts:AssumeRole", Resource = aws_iam_role.admin.arn }]
  })
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
    administrator_access::evaluate(r, &GROUP)
}
