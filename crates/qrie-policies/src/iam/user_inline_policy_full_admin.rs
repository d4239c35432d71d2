//! `iam-user-inline-policy-full-admin`: an inline policy of the user grants `*:*`.

use qrie_model::{EvalContext, MissingData, PolicyDef, Remediation, Resource, Service, Severity, Verdict};

use super::{documents, full_admin};

pub static POLICY: PolicyDef = PolicyDef {
    id: "iam-user-inline-policy-full-admin",
    title: "Inline policy of an IAM user grants *:*",
    description:
        "An inline policy of the user allows every action on every resource (Action \"*\" on Resource \"*\"), \
        making it a full administrator through a grant that is invisible in the list of managed policies and \
        cannot be reused or reviewed centrally.",
    service: Service::Iam,
    resource_type: "AWS::IAM::User",
    category: "identity",
    severity: Severity::of(80),
    remediation: Remediation {
        steps: &[
            "Find which actions the user actually uses (IAM last accessed data, or IAM Access Analyzer policy \
             generation from CloudTrail).",
            full_admin::STEP_REPLACE_INLINE,
            full_admin::STEP_DELETE_INLINE,
        ],
        cli: "aws iam delete-user-policy --user-name USER --policy-name POLICY_NAME",
        console: "IAM > Users > USER > Permissions > POLICY_NAME > Remove",
        iac: r#"resource "aws_iam_user_policy" "app" {
  user  = aws_iam_user.app.name
  name  = "app"
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = ["s3:GetObject"], Resource = "arn:aws:s3:::app-bucket/*" }]
  })
}"#,
    },
    compliance: full_admin::INLINE_COMPLIANCE,
    params: &[],
    related: None,
    evaluate,
};

fn evaluate(r: &Resource, _: &EvalContext) -> Result<Verdict, MissingData> {
    full_admin::verdict(&documents::inline(r, &documents::USER)?)
}
