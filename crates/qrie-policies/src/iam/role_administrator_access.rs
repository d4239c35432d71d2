//! `iam-role-administrator-access`: AdministratorAccess is attached to the role.

use qrie_model::{
    ComplianceRef, EvalContext, MissingData, PolicyDef, Remediation, Resource, Service, Severity, Verdict,
};

use super::administrator_access::{self, ROLE};

pub static POLICY: PolicyDef = PolicyDef {
    id: "iam-role-administrator-access",
    title: "AdministratorAccess attached to an IAM role",
    description: "The AWS managed policy AdministratorAccess is attached to the role. Anyone and anything its trust policy admits (people, services, other accounts, instances it is attached to) can do anything in the account. Some admin roles exist by design (an IAM Identity Center administrator permission set, OrganizationAccountAccessRole); check that their trust is as narrow as intended, and give workloads only what they need.",
    service: Service::Iam,
    resource_type: "AWS::IAM::Role",
    category: "identity",
    severity: Severity::of(60),
    remediation: Remediation {
        steps: &[
            "Read the role's trust policy: who can assume it, and under which conditions (MFA, external id, source).",
            "For a workload role, replace AdministratorAccess with a policy granting what the workload uses (IAM Access Analyzer can generate one from CloudTrail).",
            "For a human administrator role, keep the trust to named principals and require MFA.",
        ],
        cli: "aws iam get-role --role-name ROLE --query Role.AssumeRolePolicyDocument\n\
              aws iam attach-role-policy --role-name ROLE --policy-arn arn:aws:iam::ACCOUNT:policy/least-privilege\n\
              aws iam detach-role-policy --role-name ROLE --policy-arn arn:aws:iam::aws:policy/AdministratorAccess",
        console: "IAM > Roles > ROLE > Permissions > AdministratorAccess > Remove",
        iac: r#"# A workload role with the permissions it uses, not AdministratorAccess.
resource "aws_iam_role_policy_attachment" "app" {
  role       = aws_iam_role.app.name
  policy_arn = aws_iam_policy.app_least_privilege.arn
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
    administrator_access::evaluate(r, &ROLE)
}
