//! `iam-managed-policy-privilege-escalation`: the customer-managed policy's permissions allow privilege escalation.

use qrie_model::{EvalContext, MissingData, PolicyDef, Remediation, Resource, Service, Severity, Verdict};

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
            privilege_escalation::STEP_LIMIT,
            privilege_escalation::STEP_BOUNDARY,
            privilege_escalation::STEP_LAST_ACCESSED,
        ],
        cli: "aws iam list-entities-for-policy --policy-arn POLICY_ARN\n\
              aws iam create-policy-version --policy-arn POLICY_ARN --policy-document file://least-privilege.json \
              --set-as-default",
        console: "IAM > Policies > POLICY > Permissions > Edit > remove the reported actions > Save changes",
        iac: privilege_escalation::IAC,
    },
    compliance: privilege_escalation::COMPLIANCE,
    params: &[],
    related: None,
    evaluate,
};

fn evaluate(r: &Resource, ctx: &EvalContext) -> Result<Verdict, MissingData> {
    privilege_escalation::evaluate(r, ctx, &MANAGED_POLICY)
}
