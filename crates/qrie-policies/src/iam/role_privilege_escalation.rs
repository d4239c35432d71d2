//! `iam-role-privilege-escalation`: the role's permissions allow privilege escalation.

use qrie_model::{EvalContext, MissingData, PolicyDef, Remediation, Resource, Service, Severity, Verdict};

use super::privilege_escalation::{self, ROLE};

pub static POLICY: PolicyDef = PolicyDef {
    id: "iam-role-privilege-escalation",
    title: "IAM role can escalate privileges",
    description: "The role's inline and attached policies, taken together (a Deny in any of them removes an action), allow a known privilege-escalation combination: whoever assumes the role, or compromises a workload running as it, can grant itself or take over more permissions than the role was given, up to administrator. Evidence names each combination (e.g. iam:PassRole with lambda:CreateFunction and \
        lambda:InvokeFunction, or iam:CreatePolicyVersion) and the statement that grants each of its actions.",
    service: Service::Iam,
    resource_type: "AWS::IAM::Role",
    category: "identity",
    severity: Severity::of(75),
    remediation: Remediation {
        steps: &[
            "Review the role's inline and attached policies, and who can assume it, against the reported combinations.",
            privilege_escalation::STEP_LIMIT,
            privilege_escalation::STEP_BOUNDARY,
            privilege_escalation::STEP_LAST_ACCESSED,
        ],
        cli: "aws iam list-attached-role-policies --role-name ROLE\n\
              aws iam list-role-policies --role-name ROLE\n\
              aws iam detach-role-policy --role-name ROLE --policy-arn POLICY_ARN",
        console: "IAM > Roles > ROLE > Permissions > select the policy granting the reported actions > Remove",
        iac: privilege_escalation::IAC,
    },
    compliance: privilege_escalation::COMPLIANCE,
    params: &[],
    related: Some(privilege_escalation::DEPENDENCY),
    evaluate,
};

fn evaluate(r: &Resource, ctx: &EvalContext) -> Result<Verdict, MissingData> {
    privilege_escalation::evaluate(r, ctx, &ROLE)
}
