//! Privilege escalation: permissions that let a principal give itself (or a
//! principal it controls) more permissions than it has. One evaluator for
//! users, groups, roles and customer-managed policies.
//!
//! # What a principal is allowed
//! Every identity policy of the principal, parsed with `crate::document` and
//! judged together, so that a combination split across two policies counts and
//! a Deny in one policy takes back an Allow in another:
//! - its inline policies (`UserPolicyList`, `GroupPolicyList`, `RolePolicyList`);
//! - its attached customer-managed policies, read from the inventory through
//!   `related` (their default version only). One missing from the inventory is
//!   missing data: the verdict is `Error`, never `Pass`;
//! - its attached AWS-managed policies known to grant escalation
//!   ([`AWS_MANAGED`]: AdministratorAccess and IAMFullAccess). Other AWS-managed
//!   policies are not expanded (their documents are not in the inventory):
//!   PowerUserAccess, for one, excludes IAM but still allows
//!   `lambda:UpdateFunctionCode` or `ssm:SendCommand`, which this evaluator
//!   does not see through it.
//!
//! A customer-managed policy on its own (`AWS::IAM::ManagedPolicy`) is judged by
//! its default version alone: whoever it is attached to can escalate.
//!
//! Not expanded: a user's groups (each group is judged itself), permission
//! boundaries, SCPs and session policies (they can only narrow what is
//! reported). Conditions do not excuse a grant (whoever meets them can
//! escalate); only an unconditional Deny takes an action back. One exception:
//! an Allow whose `DateLessThan` / `DateLessThanEquals` on `aws:TokenIssueTime`
//! or `aws:CurrentTime` lies in the past can never apply again, and is ignored.
//!
//! # The combinations
//! [`COMBINATIONS`] is a table (after Rhino Security Labs' list, as extended by
//! cloudsplaining): each entry names a way to escalate and the actions that must
//! all be allowed, each requirement being one action among alternatives. IAM
//! actions must reach a resource where they matter: a policy of the principal's
//! own account for `iam:CreatePolicyVersion` (AWS-managed policies cannot be
//! changed, so `arn:aws:iam::aws:policy/*` does not count), a role for
//! `iam:PassRole`, and, for `iam:CreateAccessKey` / `iam:CreateLoginProfile` /
//! `iam:UpdateLoginProfile`, some user other than the principal itself (not only
//! its own ARN or `${aws:username}`).

use qrie_model::{EvalContext, MissingData, Resource, Timestamp, Verdict};
use serde_json::{json, Value};

use super::documents::{self, Inline};
use crate::config::{described, required};
use crate::document::pattern::{intersects, Case};
use crate::document::{Effect, Match, PolicyDocument, Statement};

// Remediation and compliance shared by the four privilege-escalation policies
// (user, group, role, managed policy); each adds its own first step, CLI and
// console path.
pub(crate) const STEP_LIMIT: &str =
    "Remove the actions of each reported combination, or limit them to resources that cannot raise \
             privileges (iam:PassRole to named, low-privilege roles with an iam:PassedToService condition; \
             iam:CreatePolicyVersion and iam:Attach*Policy to nobody outside the IAM administrators).";
pub(crate) const STEP_BOUNDARY: &str =
    "Where the access is needed, keep it and add a permissions boundary so that whatever the principal \
             creates or changes cannot exceed it.";
pub(crate) const STEP_LAST_ACCESSED: &str =
    "Use IAM Access Analyzer policy validation and last-accessed data to find which of the actions are \
             actually used.";
pub(crate) const IAC: &str = r#"# Pass only one named role, and only to Lambda.
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
}"#;
pub(crate) const COMPLIANCE: &[qrie_model::ComplianceRef] = &[
    qrie_model::ComplianceRef { framework: "nist-800-53-r5", controls: &["AC-6", "AC-6(1)"] },
    qrie_model::ComplianceRef { framework: "pci-dss-4.0", controls: &["7.2.1", "7.2.2"] },
    qrie_model::ComplianceRef { framework: "hipaa", controls: &["164.308(a)(4)(ii)(B)"] },
    qrie_model::ComplianceRef { framework: "cmmc-2.0", controls: &["AC.L2-3.1.5", "AC.L2-3.1.7"] },
];

/// Which resources an action must be able to reach to matter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    /// Anything (service actions: `lambda:CreateFunction`).
    Any,
    /// IAM resources of this kind in the principal's own account
    /// (`policy`: `arn:aws:iam::ACCOUNT:policy/*`).
    Own(&'static str),
    /// A user other than the principal itself.
    OtherUser,
}

/// One action and where it must reach.
#[derive(Debug)]
pub(crate) struct Need {
    pub action: &'static str,
    pub target: Target,
}

const fn any(action: &'static str) -> Need {
    Need { action, target: Target::Any }
}

const fn own(action: &'static str, kind: &'static str) -> Need {
    Need { action, target: Target::Own(kind) }
}

const fn other_user(action: &'static str) -> Need {
    Need { action, target: Target::OtherUser }
}

const PASS_ROLE: &[Need] = &[own("iam:PassRole", "role")];

/// A way to escalate.
#[derive(Debug)]
pub(crate) struct Combination {
    pub name: &'static str,
    pub explanation: &'static str,
    /// Every requirement must be met; a requirement is met by any one of its actions.
    pub requires: &'static [&'static [Need]],
}

/// The escalation table.
pub(crate) static COMBINATIONS: &[Combination] = &[
    Combination {
        name: "CreateNewPolicyVersion",
        explanation: "Write a new default version of a customer-managed policy the principal holds, granting anything.",
        requires: &[&[own("iam:CreatePolicyVersion", "policy")]],
    },
    Combination {
        name: "SetExistingDefaultPolicyVersion",
        explanation: "Make an older, more permissive version of a customer-managed policy the default.",
        requires: &[&[own("iam:SetDefaultPolicyVersion", "policy")]],
    },
    Combination {
        name: "CreateAccessKey",
        explanation: "Create an access key for another (more privileged) user and act as them.",
        requires: &[&[other_user("iam:CreateAccessKey")]],
    },
    Combination {
        name: "CreateLoginProfile",
        explanation: "Give another user a console password and sign in as them.",
        requires: &[&[other_user("iam:CreateLoginProfile")]],
    },
    Combination {
        name: "UpdateLoginProfile",
        explanation: "Change another user's console password and sign in as them.",
        requires: &[&[other_user("iam:UpdateLoginProfile")]],
    },
    Combination {
        name: "AttachUserPolicy",
        explanation: "Attach any managed policy (AdministratorAccess) to a user, itself included.",
        requires: &[&[own("iam:AttachUserPolicy", "user")]],
    },
    Combination {
        name: "AttachGroupPolicy",
        explanation: "Attach any managed policy to a group the principal is (or can be put) in.",
        requires: &[&[own("iam:AttachGroupPolicy", "group")]],
    },
    Combination {
        name: "AttachRolePolicy",
        explanation: "Attach any managed policy to a role the principal is or can assume.",
        requires: &[&[own("iam:AttachRolePolicy", "role")]],
    },
    Combination {
        name: "PutUserPolicy",
        explanation: "Write an inline policy granting anything on a user, itself included.",
        requires: &[&[own("iam:PutUserPolicy", "user")]],
    },
    Combination {
        name: "PutGroupPolicy",
        explanation: "Write an inline policy granting anything on a group the principal is in.",
        requires: &[&[own("iam:PutGroupPolicy", "group")]],
    },
    Combination {
        name: "PutRolePolicy",
        explanation: "Write an inline policy granting anything on a role the principal is or can assume.",
        requires: &[&[own("iam:PutRolePolicy", "role")]],
    },
    Combination {
        name: "AddUserToGroup",
        explanation: "Add a user (itself) to a more privileged group.",
        requires: &[&[own("iam:AddUserToGroup", "group")]],
    },
    Combination {
        name: "UpdateAssumeRolePolicy",
        explanation: "Rewrite a privileged role's trust policy to trust the principal, then assume the role.",
        requires: &[&[own("iam:UpdateAssumeRolePolicy", "role")], &[any("sts:AssumeRole")]],
    },
    Combination {
        name: "PassRoleToNewEC2Instance",
        explanation: "Launch an instance with an existing privileged instance profile and use its credentials.",
        requires: &[PASS_ROLE, &[any("ec2:RunInstances")]],
    },
    Combination {
        name: "PassRoleToNewLambdaThenInvoke",
        explanation: "Create a Lambda function running as a privileged role, then invoke it (directly or through \
                      an event source mapping).",
        requires: &[
            PASS_ROLE,
            &[any("lambda:CreateFunction")],
            &[any("lambda:InvokeFunction"), any("lambda:CreateEventSourceMapping")],
        ],
    },
    Combination {
        name: "EditExistingLambdaFunctionWithRole",
        explanation: "Replace the code of an existing Lambda function and run as its role.",
        requires: &[&[any("lambda:UpdateFunctionCode")]],
    },
    Combination {
        name: "PassRoleToNewGlueDevEndpoint",
        explanation: "Create a Glue development endpoint with a privileged role and use its credentials over SSH.",
        requires: &[PASS_ROLE, &[any("glue:CreateDevEndpoint")]],
    },
    Combination {
        name: "UpdateExistingGlueDevEndpoint",
        explanation: "Add an SSH key to an existing Glue development endpoint and use its role's credentials.",
        requires: &[&[any("glue:UpdateDevEndpoint")]],
    },
    Combination {
        name: "PassRoleToCloudFormation",
        explanation: "Create a CloudFormation stack running as a privileged role, creating whatever it may.",
        requires: &[PASS_ROLE, &[any("cloudformation:CreateStack")]],
    },
    Combination {
        name: "UpdateExistingCloudFormationStack",
        explanation: "Update a stack whose service role is privileged, making it create what the principal wants.",
        requires: &[&[any("cloudformation:UpdateStack")]],
    },
    Combination {
        name: "PassRoleToNewDataPipeline",
        explanation: "Create a Data Pipeline running as a privileged role, with a definition that runs any command.",
        requires: &[PASS_ROLE, &[any("datapipeline:CreatePipeline")], &[any("datapipeline:PutPipelineDefinition")]],
    },
    Combination {
        name: "PassRoleToNewCodeBuildProject",
        explanation: "Create a CodeBuild project running as a privileged role, then start a build.",
        requires: &[
            PASS_ROLE,
            &[any("codebuild:CreateProject")],
            &[any("codebuild:StartBuild"), any("codebuild:StartBuildBatch")],
        ],
    },
    Combination {
        name: "PassRoleToNewSageMakerNotebook",
        explanation: "Create a SageMaker notebook instance with a privileged role and open it.",
        requires: &[
            PASS_ROLE,
            &[any("sagemaker:CreateNotebookInstance")],
            &[any("sagemaker:CreatePresignedNotebookInstanceUrl")],
        ],
    },
    Combination {
        name: "AccessExistingSageMakerNotebook",
        explanation: "Open an existing SageMaker notebook and run code as its role.",
        requires: &[&[any("sagemaker:CreatePresignedNotebookInstanceUrl")]],
    },
    Combination {
        name: "PassRoleToNewSageMakerTrainingJob",
        explanation: "Run a SageMaker training job with a privileged role and the principal's own container.",
        requires: &[PASS_ROLE, &[any("sagemaker:CreateTrainingJob")]],
    },
    Combination {
        name: "PassRoleToNewSageMakerProcessingJob",
        explanation: "Run a SageMaker processing job with a privileged role and the principal's own container.",
        requires: &[PASS_ROLE, &[any("sagemaker:CreateProcessingJob")]],
    },
    Combination {
        name: "SSMSendCommand",
        explanation: "Run commands on managed instances and use their instance roles' credentials.",
        requires: &[&[any("ssm:SendCommand")]],
    },
    Combination {
        name: "SSMStartSession",
        explanation: "Open a shell on managed instances and use their instance roles' credentials.",
        requires: &[&[any("ssm:StartSession")]],
    },
    Combination {
        name: "EC2InstanceConnect",
        explanation: "Push an SSH key to instances and use their instance roles' credentials.",
        requires: &[&[
            any("ec2-instance-connect:SendSSHPublicKey"),
            any("ec2-instance-connect:SendSerialConsoleSSHPublicKey"),
        ]],
    },
];

/// AWS-managed policies known to grant escalation, with what they grant that
/// matters here. Any other AWS-managed policy is not expanded.
pub(crate) static AWS_MANAGED: &[(&str, &str)] = &[
    (
        "AdministratorAccess",
        r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}"#,
    ),
    (
        "IAMFullAccess",
        r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:*", "Resource": "*"}]}"#,
    ),
];

/// Where a kind of subject keeps its policies.
pub(crate) struct Subject {
    /// The configuration key (`User`), root of every path.
    pub key: &'static str,
    /// Its inline policies; `None` for a managed policy (its own document is judged).
    pub inline: Option<&'static Inline>,
}

pub(crate) const USER: Subject = Subject { key: "User", inline: Some(&documents::USER) };
pub(crate) const GROUP: Subject = Subject { key: "Group", inline: Some(&documents::GROUP) };
pub(crate) const ROLE: Subject = Subject { key: "Role", inline: Some(&documents::ROLE) };
pub(crate) const MANAGED_POLICY: Subject = Subject { key: "Policy", inline: None };

/// `arn:PARTITION:iam::aws:policy/...`: managed by AWS, not in the inventory.
fn is_aws_managed(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    parts.len() == 6 && parts[0] == "arn" && parts[2] == "iam" && parts[4] == "aws" && parts[5].starts_with("policy/")
}

/// The ARNs of the customer-managed policies attached to a user, group or role
/// (`AttachedManagedPolicies[].PolicyArn`, AWS-managed ones left out).
/// What the privilege-escalation policies of principals read besides the
/// principal: its attached customer-managed policies.
pub(crate) const DEPENDENCY: qrie_model::Dependency =
    qrie_model::Dependency { types: &["AWS::IAM::ManagedPolicy"], arns: related };

pub(crate) fn related(r: &Resource) -> Vec<String> {
    let key = r.resource_type.rsplit("::").next().unwrap_or_default();
    r.configuration
        .get(key)
        .and_then(|item| item.get("AttachedManagedPolicies"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|a| a.get("PolicyArn").and_then(Value::as_str))
        .filter(|arn| !is_aws_managed(arn))
        .map(str::to_string)
        .collect()
}

/// Every document that applies to the subject, each parsed at its own path.
fn documents(r: &Resource, ctx: &EvalContext, subject: &Subject) -> Result<Vec<PolicyDocument>, MissingData> {
    let Some(inline) = subject.inline else { return Ok(vec![documents::default_version(r)?]) };
    let key = subject.key;
    let mut docs = documents::inline(r, inline)?;
    let item = described(r, key)?;
    let attached = required(item, key, "AttachedManagedPolicies", Value::as_array)?;
    for (i, a) in attached.iter().enumerate() {
        let path = format!("{key}.AttachedManagedPolicies[{i}]");
        let arn = required(a, &path, "PolicyArn", Value::as_str)?;
        if is_aws_managed(arn) {
            let name = arn.rsplit('/').next().unwrap_or_default();
            let known = AWS_MANAGED.iter().find(|(n, _)| *n == name && arn.ends_with(&format!(":policy/{n}")));
            if let Some((_, doc)) = known {
                let doc: Value = serde_json::from_str(doc).expect("the AWS-managed table holds JSON");
                docs.push(PolicyDocument::parse(&doc, &format!("{path}.AwsManaged"))?);
            }
            continue;
        }
        let policy = ctx
            .related(arn)
            .ok_or_else(|| MissingData(format!("{path}: the attached policy {arn} is not in the inventory")))?;
        docs.push(documents::default_version_at(policy, &format!("{path}.Policy"))?);
    }
    Ok(docs)
}

/// Who is asking: to tell a resource of the principal's own account, and the
/// principal itself, from the rest.
struct Principal<'a> {
    partition: &'a str,
    account: &'a str,
    /// The user's own ARN (`None` for groups, roles and managed policies).
    self_arn: Option<&'a str>,
}

impl Principal<'_> {
    fn own(&self, kind: &str) -> String {
        format!("arn:{}:iam::{}:{kind}/*", self.partition, self.account)
    }

    /// Whether a resource pattern names the principal itself.
    fn is_self(&self, pattern: &str) -> bool {
        pattern.to_ascii_lowercase().contains("${aws:username}") || self.self_arn == Some(pattern)
    }

    /// Whether the statement's resources reach where `target` says.
    fn reaches(&self, s: &Statement, target: Target) -> bool {
        match target {
            Target::Any => true,
            Target::Own(kind) => s.resources.meets(&self.own(kind)),
            Target::OtherUser => {
                let users = self.own("user");
                if s.resources.negated {
                    return s.resources.meets(&users);
                }
                s.resources.patterns.iter().any(|p| !self.is_self(p) && intersects(p, &users, Case::Sensitive))
            }
        }
    }
}

/// The Allow statements of `merged` that grant `need`, where it matters.
fn granting(merged: &PolicyDocument, principal: &Principal, need: &Need) -> Vec<Match> {
    merged
        .grants(need.action, None)
        .into_iter()
        .filter(|m| {
            merged.statements.iter().find(|s| s.path == m.path).is_some_and(|s| principal.reaches(s, need.target))
        })
        .collect()
}

/// Whether the statement can no longer apply: a condition that only holds
/// before a moment already past (`DateLessThan aws:TokenIssueTime 2020-01-01`).
/// Dates not in RFC 3339 or `YYYY-MM-DD` form are not judged.
fn expired(s: &Statement, now: Timestamp) -> bool {
    let parse = |v: &str| {
        chrono::DateTime::parse_from_rfc3339(v).map(|t| t.with_timezone(&chrono::Utc)).ok().or_else(|| {
            chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d").ok().map(|d| d.and_time(Default::default()).and_utc())
        })
    };
    s.conditions.iter().any(|c| {
        matches!(c.base_operator.as_str(), "DateLessThan" | "DateLessThanEquals")
            && !c.if_exists
            && (c.is_key("aws:TokenIssueTime") || c.is_key("aws:CurrentTime"))
            && !c.values.is_empty()
            && c.values.iter().all(|v| parse(v).is_some_and(|t| t < now))
    })
}

pub(crate) fn evaluate(r: &Resource, ctx: &EvalContext, subject: &Subject) -> Result<Verdict, MissingData> {
    let docs = documents(r, ctx, subject)?;
    // One document of every statement, so that a Deny anywhere takes back an Allow anywhere.
    let statements = docs
        .into_iter()
        .flat_map(|d| d.statements)
        .filter(|s| s.effect == Effect::Deny || !expired(s, ctx.now))
        .collect();
    let merged = PolicyDocument { path: subject.key.to_string(), statements };
    let mut parts = r.arn.splitn(6, ':');
    let partition = parts.nth(1).filter(|p| !p.is_empty()).unwrap_or("aws");
    let account = parts.nth(2).filter(|a| !a.is_empty() && *a != "aws").unwrap_or(&r.account_id);
    let principal = Principal { partition, account, self_arn: (subject.key == "User").then_some(r.arn.as_str()) };

    let mut found = Vec::new();
    'combinations: for c in COMBINATIONS {
        let mut actions = Vec::new();
        for alternatives in c.requires {
            let hit = alternatives.iter().find_map(|need| {
                let grants = granting(&merged, &principal, need);
                (!grants.is_empty()).then_some((need.action, grants))
            });
            let Some((action, grants)) = hit else { continue 'combinations };
            actions.push(json!({
                "Action": action,
                "GrantedBy": grants.iter().map(|m| json!({"Path": m.path, "Statement": m.statement})).collect::<Vec<_>>(),
            }));
        }
        found.push(json!({"Name": c.name, "Explanation": c.explanation, "Actions": actions}));
    }
    if found.is_empty() {
        return Ok(Verdict::Pass);
    }
    Ok(Verdict::Fail(json!({"Combinations": found})))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iam::fixtures::*;
    use crate::iam::{
        group_privilege_escalation, managed_policy_privilege_escalation, role_privilege_escalation,
        user_privilege_escalation,
    };
    use crate::testing::*;
    use qrie_model::PolicyDef;

    /// A policy, where its principal kind keeps its inline policies, and a
    /// builder of that kind from (inline policies, attachments).
    type Kind = (&'static PolicyDef, &'static str, fn(Value, Value) -> Resource);

    fn kinds() -> Vec<Kind> {
        vec![
            (&user_privilege_escalation::POLICY, "User.UserPolicyList", |l, a| {
                user(user_item("alice", json!({"UserPolicyList": l, "AttachedManagedPolicies": a})), Value::Null)
            }),
            (&group_privilege_escalation::POLICY, "Group.GroupPolicyList", |l, a| {
                group(json!({"GroupName": "g", "GroupId": "AGPAX", "Path": "/",
                             "Arn": format!("arn:aws:iam::{ACCOUNT}:group/g"), "CreateDate": "2024-01-02 03:04:05+00:00",
                             "GroupPolicyList": l, "AttachedManagedPolicies": a}))
            }),
            (&role_privilege_escalation::POLICY, "Role.RolePolicyList", |l, a| {
                role(
                    json!({"RoleName": "r", "RoleId": "AROAX", "Path": "/", "Arn": format!("arn:aws:iam::{ACCOUNT}:role/r"),
                            "CreateDate": "2024-01-02 03:04:05+00:00", "RolePolicyList": l, "AttachedManagedPolicies": a,
                            "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": []}}),
                )
            }),
        ]
    }

    fn inline(name: &str, statements: Value) -> Value {
        json!({"PolicyName": name, "PolicyDocument": {"Version": "2012-10-17", "Statement": statements}})
    }

    fn allow(actions: Value, resource: Value) -> Value {
        json!({"Effect": "Allow", "Action": actions, "Resource": resource})
    }

    fn deny(actions: Value, resource: Value) -> Value {
        json!({"Effect": "Deny", "Action": actions, "Resource": resource})
    }

    /// A customer-managed policy whose default version holds these statements.
    fn customer_policy(name: &str, statements: Value) -> Resource {
        managed_policy(json!({"PolicyName": name, "PolicyId": "ANPAEXAMPLE", "Path": "/",
            "Arn": format!("arn:aws:iam::{ACCOUNT}:policy/{name}"), "DefaultVersionId": "v2", "AttachmentCount": 1,
            "IsAttachable": true, "CreateDate": "2024-01-01 00:00:00+00:00", "UpdateDate": "2024-01-01 00:00:00+00:00",
            "PolicyVersionList": [
                {"VersionId": "v1", "IsDefaultVersion": false,
                 "Document": {"Version": "2012-10-17", "Statement": [allow(json!("*"), json!("*"))]}},
                {"VersionId": "v2", "IsDefaultVersion": true,
                 "Document": {"Version": "2012-10-17", "Statement": statements}}]}))
    }

    fn attachment(arn: &str) -> Value {
        json!({"PolicyName": arn.rsplit('/').next().unwrap(), "PolicyArn": arn})
    }

    fn customer_arn(name: &str) -> String {
        format!("arn:aws:iam::{ACCOUNT}:policy/{name}")
    }

    fn names(v: Verdict) -> Vec<String> {
        evidence(v)["Combinations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["Name"].as_str().unwrap().to_string())
            .collect()
    }

    #[test]
    fn golden_cases_inline() {
        let me = format!("arn:aws:iam::{ACCOUNT}:user/alice");
        for (policy, list, build) in kinds() {
            let one = |statements: Value| build(json!([inline("p", statements)]), json!([]));
            let cases: Vec<(&str, Resource, &str)> = vec![
                ("no policies", build(json!([]), json!([])), "pass"),
                ("read only", one(json!([allow(json!(["iam:Get*", "iam:List*", "s3:Get*"]), json!("*"))])), "pass"),
                ("CreatePolicyVersion", one(json!([allow(json!("iam:CreatePolicyVersion"), json!("*"))])), "fail"),
                ("iam:*", one(json!([allow(json!("iam:*"), json!("*"))])), "fail"),
                ("PassRole alone", one(json!([allow(json!("iam:PassRole"), json!("*"))])), "pass"),
                (
                    "PassRole + CreateFunction without a way to invoke",
                    one(json!([allow(json!(["iam:PassRole", "lambda:CreateFunction"]), json!("*"))])),
                    "pass",
                ),
                (
                    "PassRole + CreateFunction + CreateEventSourceMapping",
                    one(json!([allow(
                        json!(["iam:PassRole", "lambda:CreateFunction", "lambda:CreateEventSourceMapping"]),
                        json!("*")
                    )])),
                    "fail",
                ),
                // Tricky: the combination is split across two policies.
                (
                    "PassRole and RunInstances in two policies",
                    build(
                        json!([
                            inline("a", json!([allow(json!("iam:PassRole"), json!("*"))])),
                            inline("b", json!([allow(json!("ec2:RunInstances"), json!("*"))]))
                        ]),
                        json!([]),
                    ),
                    "fail",
                ),
                // Tricky: a Deny in another policy takes the Allow back.
                (
                    "Allow iam:* denied by another policy",
                    build(
                        json!([
                            inline("a", json!([allow(json!("iam:*"), json!("*"))])),
                            inline("b", json!([deny(json!("*"), json!("*"))]))
                        ]),
                        json!([]),
                    ),
                    "pass",
                ),
                (
                    "a conditional Deny does not take it back",
                    one(json!([allow(json!("iam:AttachUserPolicy"), json!("*")),
                               {"Effect": "Deny", "Action": "iam:*", "Resource": "*",
                                "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "false"}}}])),
                    "fail",
                ),
                // Tricky: AWS-managed policies cannot be changed.
                (
                    "CreatePolicyVersion on AWS-managed policies only",
                    one(json!([allow(json!("iam:CreatePolicyVersion"), json!("arn:aws:iam::aws:policy/*"))])),
                    "pass",
                ),
                (
                    "CreatePolicyVersion on any account's policies",
                    one(json!([allow(json!("iam:CreatePolicyVersion"), json!("arn:aws:iam::*:policy/team-*"))])),
                    "fail",
                ),
                (
                    "CreatePolicyVersion in another account",
                    one(json!([allow(json!("iam:CreatePolicyVersion"), json!("arn:aws:iam::210987654321:policy/*"))])),
                    "pass",
                ),
                // Tricky: a user managing its own keys is not escalation.
                (
                    "CreateAccessKey on ${aws:username}",
                    one(json!([allow(
                        json!(["iam:CreateAccessKey", "iam:UpdateLoginProfile"]),
                        json!("arn:aws:iam::*:user/${aws:username}")
                    )])),
                    "pass",
                ),
                (
                    "CreateAccessKey on every user",
                    one(json!([allow(json!("iam:CreateAccessKey"), json!("*"))])),
                    "fail",
                ),
                (
                    "NotAction leaving PassRole and RunInstances",
                    one(json!([{"Effect": "Allow", "NotAction": ["iam:Create*", "iam:Attach*", "iam:Put*"],
                                "Resource": "*"}])),
                    "fail",
                ),
                // Tricky: conditions do not excuse a grant...
                (
                    "condition still satisfiable",
                    one(json!([{"Effect": "Allow", "Action": "iam:PutUserPolicy", "Resource": "*",
                                "Condition": {"DateGreaterThan": {"aws:TokenIssueTime": "2020-01-01T00:00:01Z"}}}])),
                    "fail",
                ),
                // ...unless they can never hold again.
                (
                    "condition expired",
                    one(json!([{"Effect": "Allow", "Action": "iam:PutUserPolicy", "Resource": "*",
                                "Condition": {"DateLessThan": {"aws:TokenIssueTime": "2020-01-01T00:00:01Z"}}}])),
                    "pass",
                ),
                (
                    "condition not yet expired",
                    one(json!([{"Effect": "Allow", "Action": "iam:PutUserPolicy", "Resource": "*",
                                "Condition": {"DateLessThan": {"aws:CurrentTime": "2099-01-01"}}}])),
                    "fail",
                ),
                ("document absent", build(json!([{"PolicyName": "x"}]), json!([])), "error"),
                ("attachments absent", build(json!([]), Value::Null), "error"),
            ];
            for (name, r, expected) in cases {
                let v = run(policy, &r);
                assert_eq!(v.name(), expected, "{}: {name}: {v:?}", policy.id);
            }
            let key = list.split('.').next().unwrap();
            assert_eq!(run(policy, &unreadable(build(json!([]), json!([])), key)).name(), "error");
            // Only the user itself is "self": for a group or role, CreateAccessKey on alice is on another user.
            let on_alice = one(json!([allow(json!("iam:CreateAccessKey"), json!(me))]));
            assert_eq!(run(policy, &on_alice).name(), if key == "User" { "pass" } else { "fail" }, "{}", policy.id);
        }
    }

    #[test]
    fn evidence_names_each_action_and_its_statement() {
        for (policy, list, build) in kinds() {
            let r = build(
                json!([
                    inline("read", json!([allow(json!("s3:GetObject"), json!("*"))])),
                    inline(
                        "pass",
                        json!([allow(json!("iam:PassRole"), json!(format!("arn:aws:iam::{ACCOUNT}:role/app")))])
                    ),
                    inline(
                        "lambda",
                        json!([
                            allow(json!("ec2:Describe*"), json!("*")),
                            allow(json!(["lambda:CreateFunction", "lambda:Invoke*"]), json!("*"))
                        ])
                    )
                ]),
                json!([]),
            );
            let e = evidence(run(policy, &r));
            assert_eq!(
                e["Combinations"],
                json!([{
                    "Name": "PassRoleToNewLambdaThenInvoke",
                    "Explanation": e["Combinations"][0]["Explanation"],
                    "Actions": [
                        {"Action": "iam:PassRole", "GrantedBy": [{"Path": format!("{list}[1].PolicyDocument.Statement[0]"),
                            "Statement": allow(json!("iam:PassRole"), json!(format!("arn:aws:iam::{ACCOUNT}:role/app")))}]},
                        {"Action": "lambda:CreateFunction", "GrantedBy": [{"Path": format!("{list}[2].PolicyDocument.Statement[1]"),
                            "Statement": allow(json!(["lambda:CreateFunction", "lambda:Invoke*"]), json!("*"))}]},
                        {"Action": "lambda:InvokeFunction", "GrantedBy": [{"Path": format!("{list}[2].PolicyDocument.Statement[1]"),
                            "Statement": allow(json!(["lambda:CreateFunction", "lambda:Invoke*"]), json!("*"))}]},
                    ]
                }]),
                "{}",
                policy.id
            );
        }
    }

    #[test]
    fn attached_policies() {
        let escalate = customer_policy("escalate", json!([allow(json!("iam:SetDefaultPolicyVersion"), json!("*"))]));
        let deny_iam = customer_policy("deny-iam", json!([deny(json!("iam:*"), json!("*"))]));
        let harmless = customer_policy("harmless", json!([allow(json!("s3:GetObject"), json!("*"))]));
        let inventory = [escalate, deny_iam, harmless];
        let aws = |name: &str| attachment(&format!("arn:aws:iam::aws:policy/{name}"));
        for (policy, list, build) in kinds() {
            let key = list.split('.').next().unwrap();
            let cases: Vec<(&str, Value, Value, &str)> = vec![
                ("customer policy that escalates", json!([]), json!([attachment(&customer_arn("escalate"))]), "fail"),
                ("harmless customer policy", json!([]), json!([attachment(&customer_arn("harmless"))]), "pass"),
                // Tricky: the only escalating version is not the default.
                ("old versions do not count", json!([]), json!([attachment(&customer_arn("harmless"))]), "pass"),
                (
                    "Deny in an attached policy takes back an inline Allow",
                    json!([inline("a", json!([allow(json!("iam:AttachRolePolicy"), json!("*"))]))]),
                    json!([attachment(&customer_arn("deny-iam"))]),
                    "pass",
                ),
                (
                    "inline Allow with an unrelated attached policy",
                    json!([inline("a", json!([allow(json!("iam:AttachRolePolicy"), json!("*"))]))]),
                    json!([attachment(&customer_arn("harmless"))]),
                    "fail",
                ),
                // Unreadable data never passes.
                (
                    "attached policy not in the inventory",
                    json!([]),
                    json!([attachment(&customer_arn("gone"))]),
                    "error",
                ),
                ("AdministratorAccess", json!([]), json!([aws("AdministratorAccess")]), "fail"),
                ("IAMFullAccess", json!([]), json!([aws("IAMFullAccess")]), "fail"),
                ("ReadOnlyAccess is not expanded", json!([]), json!([aws("ReadOnlyAccess")]), "pass"),
                ("PowerUserAccess is not expanded", json!([]), json!([aws("PowerUserAccess")]), "pass"),
                (
                    "job-function policy named like a known one",
                    json!([]),
                    json!([aws("job-function/AdministratorAccess")]),
                    "pass",
                ),
                (
                    "AdministratorAccess under Deny *",
                    json!([inline("d", json!([deny(json!("*"), json!("*"))]))]),
                    json!([aws("AdministratorAccess")]),
                    "pass",
                ),
                ("attachment without an ARN", json!([]), json!([{"PolicyName": "x"}]), "error"),
            ];
            for (name, inline_list, attached, expected) in cases {
                let v = run_with(policy, &build(inline_list, attached), &inventory, json!({}), now());
                assert_eq!(v.name(), expected, "{}: {name}: {v:?}", policy.id);
            }
            let unreadable_policy = unreadable(customer_policy("escalate", json!([])), "Policy");
            let r = build(json!([]), json!([attachment(&customer_arn("escalate"))]));
            assert_eq!(run_with(policy, &r, &[unreadable_policy], json!({}), now()).name(), "error", "{}", policy.id);

            let r = build(json!([]), json!([attachment(&customer_arn("escalate")), aws("AdministratorAccess")]));
            let e = evidence(run_with(policy, &r, &inventory, json!({}), now()));
            let first = &e["Combinations"][0];
            assert_eq!(first["Name"], "CreateNewPolicyVersion", "{}", policy.id);
            assert_eq!(
                first["Actions"][0]["GrantedBy"][0]["Path"],
                format!("{key}.AttachedManagedPolicies[1].AwsManaged.Statement[0]")
            );
            let set = e["Combinations"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["Name"] == "SetExistingDefaultPolicyVersion")
                .unwrap();
            assert_eq!(
                set["Actions"][0]["GrantedBy"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|g| g["Path"].as_str().unwrap())
                    .collect::<Vec<_>>(),
                [
                    format!("{key}.AttachedManagedPolicies[0].Policy.PolicyVersionList[1].Document.Statement[0]"),
                    format!("{key}.AttachedManagedPolicies[1].AwsManaged.Statement[0]"),
                ]
            );
        }
    }

    #[test]
    fn related_names_the_customer_managed_policies() {
        let (_, _, build) = kinds()[2];
        let r = build(
            json!([]),
            json!([
                attachment("arn:aws:iam::aws:policy/AdministratorAccess"),
                attachment(&customer_arn("a")),
                attachment("arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"),
                attachment(&customer_arn("b")),
            ]),
        );
        assert_eq!(related(&r), [customer_arn("a"), customer_arn("b")]);
        for (policy, _, build) in kinds() {
            let r = build(json!([]), json!([attachment(&customer_arn("a"))]));
            assert_eq!(policy.related_arns(&r), [customer_arn("a")], "{}", policy.id);
        }
        assert!(managed_policy_privilege_escalation::POLICY.related.is_none());
    }

    #[test]
    fn managed_policy_default_version() {
        let p = &managed_policy_privilege_escalation::POLICY;
        let cases = [
            ("escalates", customer_policy("p", json!([allow(json!("iam:AddUserToGroup"), json!("*"))])), "fail"),
            // Tricky: v1 (not the default) grants *:*.
            ("only an old version escalates", customer_policy("p", json!([allow(json!("s3:*"), json!("*"))])), "pass"),
            (
                "${aws:username} is whoever holds it",
                customer_policy(
                    "p",
                    json!([allow(json!("iam:CreateAccessKey"), json!("arn:aws:iam::*:user/${aws:username}"))]),
                ),
                "pass",
            ),
            ("unreadable", unreadable(customer_policy("p", json!([])), "Policy"), "error"),
        ];
        for (name, r, expected) in cases {
            let v = run(p, &r);
            assert_eq!(v.name(), expected, "{name}: {v:?}");
        }
        assert_eq!(
            names(run(p, &customer_policy("p", json!([allow(json!("iam:AddUserToGroup"), json!("*"))])))),
            ["AddUserToGroup"]
        );
    }

    /// Every entity of the recorded dump under every privilege-escalation
    /// policy (attached customer-managed policies resolved from the dump
    /// itself): the names that fail. Nothing may end in `Error`.
    fn dump_failures() -> Vec<String> {
        let resources = dump_resources();
        let policies: [&PolicyDef; 4] = [
            &user_privilege_escalation::POLICY,
            &group_privilege_escalation::POLICY,
            &role_privilege_escalation::POLICY,
            &managed_policy_privilege_escalation::POLICY,
        ];
        let mut failing = Vec::new();
        for p in policies {
            let of_kind: Vec<&Resource> = resources.iter().filter(|r| r.resource_type == p.resource_type).collect();
            assert!(!of_kind.is_empty(), "{}", p.resource_type);
            for r in of_kind {
                match run_with(p, r, &resources, json!({}), now()) {
                    Verdict::Fail(_) => {
                        failing.push(format!("{}/{}", p.resource_type.rsplit("::").next().unwrap(), r.name))
                    }
                    Verdict::Pass => {}
                    other => panic!("{}: {other:?}", r.name),
                }
            }
        }
        failing.sort();
        failing
    }

    #[test]
    fn recorded_dump() {
        let failing = dump_failures();
        // Every privesc* and fn* (cloudsplaining's false negatives) user, role and policy fails; no fp* (false
        // positive) user or role does. Exceptions, each for a reason:
        let passing_privesc = [
            // Its permissions come from privesc-sre-group, which fails itself (groups are not expanded).
            "User/privesc-sre-user",
            // The AssumeRole chain's links hold no policies: they escalate through trust policies, judged elsewhere.
            "User/privesc-AssumeRole-start-user",
            "Role/privesc-AssumeRole-starting-role",
            "Role/privesc-AssumeRole-intermediate-role",
            "Role/privesc-permissive-role-trust",
            // Targets of privesc8 and privesc11 (the users attach or put policies on them): no policies of their own.
            "Group/privesc8-AttachGroupPolicy-group",
            "Group/privesc11-PutGroupPolicy-group",
            // Each holds half of fn1's combination; the user and role holding both fail.
            "ManagedPolicy/fn1-passrole-star",
            "ManagedPolicy/fn1-privesc3-partial",
        ];
        let others_failing = [
            // AdministratorAccess (a known AWS-managed policy).
            "Role/AWS-QuickSetup-StackSet-Local-ExecutionRole",
            "Role/AWSReservedSSO_AdministratorAccess_dc6414f7f2ab04fc",
            "Role/OrganizationAccountAccessRole",
            "Role/stacksets-exec-b5520cb2730c2f54b523d6375a319abb",
            // *:* on its own; fp2's user and role pass because deny-all is attached beside it.
            "ManagedPolicy/fp2-allow-all",
        ];
        let mut expected: Vec<String> = dump_resources()
            .iter()
            .map(|r| format!("{}/{}", r.resource_type.rsplit("::").next().unwrap(), r.name))
            .filter(|n| {
                let name = n.split_once('/').unwrap().1;
                (name.starts_with("privesc") || name.starts_with("fn")) && !passing_privesc.contains(&n.as_str())
            })
            .chain(others_failing.iter().map(|n| n.to_string()))
            .collect();
        expected.sort();
        assert_eq!(failing, expected);
        assert_eq!(failing.len(), 113);
        for fp in [
            "fp1-allow-and-deny",
            "fp2-allow-and-deny-multiple-policies",
            "fp3-deny-iam",
            "fp4-nonExploitableResourceConstraint",
            "fp5-nonExploitableConditionConstraint",
        ] {
            for kind in ["User", "Role"] {
                assert!(!failing.contains(&format!("{kind}/{fp}-{}", kind.to_lowercase())), "{kind} {fp}");
            }
        }
    }

    #[test]
    fn recorded_dump_evidence() {
        let resources = dump_resources();
        let find = |name: &str| resources.iter().find(|r| r.name == name).unwrap();
        let run_dump = |p: &PolicyDef, name: &str| run_with(p, find(name), &resources, json!({}), now());
        // fn1: iam:PassRole from one attached policy, ec2:RunInstances from the other.
        let e = evidence(run_dump(&user_privilege_escalation::POLICY, "fn1-privesc3-partial-user"));
        assert_eq!(e["Combinations"].as_array().unwrap().len(), 1);
        assert_eq!(e["Combinations"][0]["Name"], "PassRoleToNewEC2Instance");
        let paths: Vec<&str> = e["Combinations"][0]["Actions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["GrantedBy"][0]["Path"].as_str().unwrap())
            .collect();
        assert_eq!(
            paths,
            [
                "User.AttachedManagedPolicies[0].Policy.PolicyVersionList[0].Document.Statement[0]",
                "User.AttachedManagedPolicies[1].Policy.PolicyVersionList[0].Document.Statement[0]",
            ]
        );
        assert_eq!(
            names(run_dump(&role_privilege_escalation::POLICY, "privesc14-UpdatingAssumeRolePolicy-role")),
            ["UpdateAssumeRolePolicy"]
        );
        assert_eq!(
            names(run_dump(&user_privilege_escalation::POLICY, "privesc4-CreateAccessKey-user")),
            ["CreateAccessKey"]
        );
        // Without the dump's policies in the inventory, a user holding them is not judged.
        let v = run(&user_privilege_escalation::POLICY, find("privesc4-CreateAccessKey-user"));
        assert!(error_reason(v).contains("privesc4-CreateAccessKey is not in the inventory"));
    }
}
