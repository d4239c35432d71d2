//! IAM: requests name users, groups, roles and server certificates by name (the path is
//! unknown from the event, so targets carry `name` for the engine to resolve a pathed ARN);
//! managed policies by ARN. A user acting on itself may name no user at all.

use qrie_model::ids::{pseudo_arn, GLOBAL_REGION};
use qrie_model::Service;

use crate::record::arn_name;
use crate::route::{Ctx, Extracted};
use crate::types::{Action, Target};

pub(crate) const SOURCE: &str = "iam.amazonaws.com";

/// Named IAM resources: resource type and ARN segment.
#[derive(Clone, Copy)]
pub(crate) enum Kind {
    User,
    Group,
    Role,
    ServerCertificate,
}

impl Kind {
    fn parts(self) -> (&'static str, &'static str) {
        match self {
            Kind::User => ("AWS::IAM::User", "user"),
            Kind::Group => ("AWS::IAM::Group", "group"),
            Kind::Role => ("AWS::IAM::Role", "role"),
            Kind::ServerCertificate => ("AWS::IAM::ServerCertificate", "server-certificate"),
        }
    }
}

/// One resource a call touches; a table entry lists one or more.
#[derive(Clone, Copy)]
pub(crate) enum Part {
    /// The resource named by this request parameter.
    Named(Kind, &'static str, Action),
    /// The resource named by this response path (created resources the request names differently).
    Created(Kind, &'static str),
    /// Renamed when the second parameter is present: the old name is gone, the new one appears.
    Renamed(Kind, &'static str, &'static str),
    /// `userName`, or the caller when it acts on itself (an IAM user, or root).
    SelfUser,
    /// The customer-managed policy at this request (or response) path. AWS-managed policies
    /// (`arn:aws:iam::aws:policy/…`) are not account resources and are left out.
    Policy(&'static str, Action),
    CreatedPolicy(&'static str),
    /// Attaching or detaching `AWSSupportAccess` changes the root's "support role" check.
    SupportPolicyRoot,
    /// A virtual MFA device created or deleted by or for root.
    RootMfa,
    PasswordPolicy,
}

use Action::{Deleted, Refresh};
use Kind::{Group, Role, ServerCertificate as Cert, User};
use Part::*;

const ROOT_USER_NAME: &str = "AWS ROOT USER";
const ROOT_MFA: &str = "root-account-mfa-device";

const USER: Part = Named(User, "userName", Refresh);
const GROUP: Part = Named(Group, "groupName", Refresh);
const ROLE: Part = Named(Role, "roleName", Refresh);
const CERT: Part = Named(Cert, "serverCertificateName", Refresh);
const POLICY: Part = Policy("policyArn", Refresh);

pub(crate) const RULES: &[(&str, &[Part])] = &[
    // Users.
    ("CreateUser", &[USER]),
    ("DeleteUser", &[Named(User, "userName", Deleted)]),
    ("UpdateUser", &[Renamed(User, "userName", "newUserName")]),
    ("TagUser", &[USER]),
    ("UntagUser", &[USER]),
    ("AttachUserPolicy", &[USER, POLICY, SupportPolicyRoot]),
    ("DetachUserPolicy", &[USER, POLICY, SupportPolicyRoot]),
    ("PutUserPolicy", &[USER]),
    ("DeleteUserPolicy", &[USER]),
    ("PutUserPermissionsBoundary", &[USER]),
    ("DeleteUserPermissionsBoundary", &[USER]),
    ("AddUserToGroup", &[USER, GROUP]),
    ("RemoveUserFromGroup", &[USER, GROUP]),
    // Credentials: the credential report row of the user (or root) changes.
    ("CreateAccessKey", &[SelfUser]),
    ("UpdateAccessKey", &[SelfUser]),
    ("DeleteAccessKey", &[SelfUser]),
    ("CreateLoginProfile", &[SelfUser]),
    ("UpdateLoginProfile", &[SelfUser]),
    ("DeleteLoginProfile", &[SelfUser]),
    ("ChangePassword", &[SelfUser]),
    ("EnableMFADevice", &[SelfUser]),
    ("DeactivateMFADevice", &[SelfUser]),
    ("ResyncMFADevice", &[SelfUser]),
    ("CreateVirtualMFADevice", &[RootMfa]),
    ("DeleteVirtualMFADevice", &[RootMfa]),
    ("UploadSigningCertificate", &[SelfUser]),
    ("UpdateSigningCertificate", &[SelfUser]),
    ("DeleteSigningCertificate", &[SelfUser]),
    // Groups.
    ("CreateGroup", &[GROUP]),
    ("DeleteGroup", &[Named(Group, "groupName", Deleted)]),
    ("UpdateGroup", &[Renamed(Group, "groupName", "newGroupName")]),
    ("AttachGroupPolicy", &[GROUP, POLICY, SupportPolicyRoot]),
    ("DetachGroupPolicy", &[GROUP, POLICY, SupportPolicyRoot]),
    ("PutGroupPolicy", &[GROUP]),
    ("DeleteGroupPolicy", &[GROUP]),
    // Roles.
    ("CreateRole", &[ROLE]),
    ("DeleteRole", &[Named(Role, "roleName", Deleted)]),
    ("CreateServiceLinkedRole", &[Created(Role, "role.roleName")]),
    // Deletion of a service-linked role is only submitted here; the re-read tells the outcome.
    ("DeleteServiceLinkedRole", &[ROLE]),
    ("UpdateRole", &[ROLE]),
    ("UpdateRoleDescription", &[ROLE]),
    ("UpdateAssumeRolePolicy", &[ROLE]),
    ("TagRole", &[ROLE]),
    ("UntagRole", &[ROLE]),
    ("AttachRolePolicy", &[ROLE, POLICY, SupportPolicyRoot]),
    ("DetachRolePolicy", &[ROLE, POLICY, SupportPolicyRoot]),
    ("PutRolePolicy", &[ROLE]),
    ("DeleteRolePolicy", &[ROLE]),
    ("PutRolePermissionsBoundary", &[ROLE]),
    ("DeleteRolePermissionsBoundary", &[ROLE]),
    ("AddRoleToInstanceProfile", &[ROLE]),
    ("RemoveRoleFromInstanceProfile", &[ROLE]),
    // Customer-managed policies.
    ("CreatePolicy", &[CreatedPolicy("policy.arn")]),
    ("DeletePolicy", &[Policy("policyArn", Deleted)]),
    ("CreatePolicyVersion", &[POLICY]),
    ("DeletePolicyVersion", &[POLICY]),
    ("SetDefaultPolicyVersion", &[POLICY]),
    ("TagPolicy", &[POLICY]),
    ("UntagPolicy", &[POLICY]),
    // Account password policy.
    ("UpdateAccountPasswordPolicy", &[PasswordPolicy]),
    ("DeleteAccountPasswordPolicy", &[PasswordPolicy]),
    // Server certificates.
    ("UploadServerCertificate", &[CERT]),
    ("DeleteServerCertificate", &[Named(Cert, "serverCertificateName", Deleted)]),
    ("UpdateServerCertificate", &[Renamed(Cert, "serverCertificateName", "newServerCertificateName")]),
    ("TagServerCertificate", &[CERT]),
    ("UntagServerCertificate", &[CERT]),
];

pub(crate) fn route(ctx: &Ctx) -> Option<Extracted> {
    let (_, parts) = RULES.iter().find(|(name, _)| *name == ctx.name)?;
    let mut targets = Vec::new();
    for part in *parts {
        targets.extend(resolve(ctx, *part));
    }
    Some(Ok(targets))
}

/// The targets of one part. A part that finds nothing yields none; when a whole record yields
/// none the router reports it unresolvable.
fn resolve(ctx: &Ctx, part: Part) -> Vec<Target> {
    let first = |values: Vec<String>| values.into_iter().find(|v| !v.is_empty());
    match part {
        Named(kind, param, action) => {
            first(ctx.request(param)).map(|n| named(ctx, kind, n, action)).into_iter().collect()
        }
        Created(kind, path) => first(ctx.response(path)).map(|n| named(ctx, kind, n, Refresh)).into_iter().collect(),
        Renamed(kind, old, new) => match (first(ctx.request(old)), first(ctx.request(new))) {
            (Some(old), Some(new)) => vec![named(ctx, kind, old, Deleted), named(ctx, kind, new, Refresh)],
            (Some(old), None) => vec![named(ctx, kind, old, Refresh)],
            _ => vec![],
        },
        SelfUser => {
            // CloudTrail writes root's own MFA calls with the user name `AWS ROOT USER` (IAM user
            // names cannot hold spaces) and root's device serial `…:mfa/root-account-mfa-device`.
            let user = first(ctx.request("userName"));
            let root_device = first(ctx.request("serialNumber")).as_deref().and_then(arn_name) == Some(ROOT_MFA);
            match user.filter(|u| u != ROOT_USER_NAME && !root_device).or_else(|| ctx.acting_user()) {
                Some(user) if !root_device => vec![named(ctx, User, user, Refresh)],
                _ if root_device || ctx.acting_as_root() => vec![ctx.root(Refresh)],
                _ => vec![],
            }
        }
        Policy(param, action) => {
            first(ctx.request(param)).and_then(|arn| policy(ctx, arn, action)).into_iter().collect()
        }
        CreatedPolicy(path) => {
            first(ctx.response(path)).and_then(|arn| policy(ctx, arn, Refresh)).into_iter().collect()
        }
        SupportPolicyRoot => {
            let support = first(ctx.request("policyArn")).is_some_and(|a| a.ends_with(":policy/AWSSupportAccess"));
            if support {
                vec![ctx.root(Refresh)]
            } else {
                vec![]
            }
        }
        RootMfa => {
            let device = first(ctx.request("virtualMFADeviceName")).or_else(|| first(ctx.request("serialNumber")));
            let roots = device.as_deref().and_then(arn_name) == Some(ROOT_MFA);
            if ctx.acting_as_root() || roots {
                vec![ctx.root(Refresh)]
            } else {
                vec![]
            }
        }
        PasswordPolicy => {
            let arn = pseudo_arn::iam_password_policy(ctx.account);
            vec![ctx.target(Service::Iam, "AWS::IAM::AccountPasswordPolicy", arn, GLOBAL_REGION, Refresh, None)]
        }
    }
}

fn named(ctx: &Ctx, kind: Kind, name: String, action: Action) -> Target {
    let (resource_type, segment) = kind.parts();
    let arn = format!("arn:aws:iam::{}:{segment}/{name}", ctx.account);
    ctx.target(Service::Iam, resource_type, arn, GLOBAL_REGION, action, Some(name))
}

fn policy(ctx: &Ctx, arn: String, action: Action) -> Option<Target> {
    if arn.contains("::aws:policy/") || !arn.contains(":policy/") {
        return None;
    }
    let name = arn_name(&arn).map(str::to_string);
    Some(ctx.target(Service::Iam, "AWS::IAM::ManagedPolicy", arn, GLOBAL_REGION, action, name))
}
