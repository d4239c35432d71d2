//! `iam-group-privilege-escalation`: the group's permissions allow privilege escalation.

use qrie_model::{EvalContext, MissingData, PolicyDef, Remediation, Resource, Service, Severity, Verdict};

use super::privilege_escalation::{self, GROUP};

pub static POLICY: PolicyDef = PolicyDef {
    id: "iam-group-privilege-escalation",
    title: "IAM group members can escalate privileges",
    description: "The group's inline and attached policies, taken together (a Deny in any of them removes an action), allow a known privilege-escalation combination: every member can grant itself, or take over, more permissions than it was given, up to administrator. Evidence names each combination (e.g. iam:PassRole with lambda:CreateFunction and \
        lambda:InvokeFunction, or iam:CreatePolicyVersion) and the statement that grants each of its actions.",
    service: Service::Iam,
    resource_type: "AWS::IAM::Group",
    category: "identity",
    severity: Severity::of(75),
    remediation: Remediation {
        steps: &[
            "Review the group's inline and attached policies, and its members, against the reported combinations.",
            privilege_escalation::STEP_LIMIT,
            privilege_escalation::STEP_BOUNDARY,
            privilege_escalation::STEP_LAST_ACCESSED,
        ],
        cli: "aws iam list-attached-group-policies --group-name GROUP\n\
              aws iam list-group-policies --group-name GROUP\n\
              aws iam detach-group-policy --group-name GROUP --policy-arn POLICY_ARN",
        console: "IAM > User groups > GROUP > Permissions > select the policy granting the reported actions > Remove",
        iac: privilege_escalation::IAC,
    },
    compliance: privilege_escalation::COMPLIANCE,
    params: &[],
    related: Some(privilege_escalation::DEPENDENCY),
    evaluate,
};

fn evaluate(r: &Resource, ctx: &EvalContext) -> Result<Verdict, MissingData> {
    privilege_escalation::evaluate(r, ctx, &GROUP)
}
