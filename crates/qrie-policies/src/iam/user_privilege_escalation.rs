//! `iam-user-privilege-escalation`: the user's permissions allow privilege escalation.

use qrie_model::{EvalContext, MissingData, PolicyDef, Remediation, Resource, Service, Severity, Verdict};

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
            privilege_escalation::STEP_LIMIT,
            privilege_escalation::STEP_BOUNDARY,
            privilege_escalation::STEP_LAST_ACCESSED,
        ],
        cli: "aws iam list-attached-user-policies --user-name USER\n\
              aws iam list-user-policies --user-name USER\n\
              aws iam detach-user-policy --user-name USER --policy-arn POLICY_ARN",
        console: "IAM > Users > USER > Permissions > select the policy granting the reported actions > Remove",
        iac: privilege_escalation::IAC,
    },
    compliance: privilege_escalation::COMPLIANCE,
    params: &[],
    related: Some(privilege_escalation::DEPENDENCY),
    evaluate,
};

fn evaluate(r: &Resource, ctx: &EvalContext) -> Result<Verdict, MissingData> {
    privilege_escalation::evaluate(r, ctx, &USER)
}
