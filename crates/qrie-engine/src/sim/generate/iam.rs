//! IAM resources beyond users and the root: roles, groups, customer-managed
//! policies and server certificates, as GetAccountAuthorizationDetails and
//! ListServerCertificates give them (policy documents already decoded).

use qrie_model::ids::GLOBAL_REGION;
use qrie_model::{Resource, Service, Timestamp};
use serde_json::{json, Value};
use std::collections::BTreeMap;

use super::{aws_time, resource};

pub const ADMINISTRATOR_ACCESS: &str = "arn:aws:iam::aws:policy/AdministratorAccess";
pub const READ_ONLY_ACCESS: &str = "arn:aws:iam::aws:policy/ReadOnlyAccess";
pub const SUPPORT_ACCESS: &str = "arn:aws:iam::aws:policy/AWSSupportAccess";

/// Who may assume a role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleTrust {
    Service(&'static str),
    /// Another account, with or without an `sts:ExternalId` condition.
    Account {
        account_id: String,
        external_id: bool,
    },
    /// `Principal: {"AWS": "*"}` with no condition: anyone who can sign a request.
    Anyone,
}

fn trust_document(trust: &RoleTrust) -> Value {
    let statement = match trust {
        RoleTrust::Service(service) => {
            json!({"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"})
        }
        RoleTrust::Account { account_id, external_id } => {
            let mut s = json!({"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{account_id}:root")}, "Action": "sts:AssumeRole"});
            if *external_id {
                s["Condition"] = json!({"StringEquals": {"sts:ExternalId": "qrie-partner-7f3a"}});
            }
            s
        }
        RoleTrust::Anyone => json!({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}),
    };
    json!({"Version": "2012-10-17", "Statement": [statement]})
}

fn attached(arns: &[&str]) -> Value {
    Value::Array(
        arns.iter().map(|a| json!({"PolicyName": a.rsplit('/').next().unwrap_or(a), "PolicyArn": a})).collect(),
    )
}

#[allow(clippy::too_many_arguments)] // one argument per attribute a policy reads
pub fn role(
    account: &str,
    name: &str,
    role_id: &str,
    trust: &RoleTrust,
    managed: &[&str],
    inline: Option<Value>,
    created: Timestamp,
    at: Timestamp,
) -> Resource {
    let arn = format!("arn:aws:iam::{account}:role/{name}");
    let inline: Vec<Value> =
        inline.map(|doc| json!({"PolicyName": format!("{name}-inline"), "PolicyDocument": doc})).into_iter().collect();
    let config = json!({"Role": {
        "Path": "/", "RoleName": name, "RoleId": role_id, "Arn": arn, "CreateDate": aws_time(created),
        "AssumeRolePolicyDocument": trust_document(trust), "RolePolicyList": inline,
        "AttachedManagedPolicies": attached(managed), "InstanceProfileList": [], "Tags": [],
        "RoleLastUsed": {"LastUsedDate": aws_time(at), "Region": "us-east-1"},
    }});
    resource(arn, account, GLOBAL_REGION, Service::Iam, "AWS::IAM::Role", name, BTreeMap::new(), config, at)
}

pub fn group(
    account: &str,
    name: &str,
    group_id: &str,
    managed: &[&str],
    inline: Option<Value>,
    created: Timestamp,
    at: Timestamp,
) -> Resource {
    let arn = format!("arn:aws:iam::{account}:group/{name}");
    let inline: Vec<Value> =
        inline.map(|doc| json!({"PolicyName": format!("{name}-inline"), "PolicyDocument": doc})).into_iter().collect();
    let config = json!({"Group": {
        "Path": "/", "GroupName": name, "GroupId": group_id, "Arn": arn, "CreateDate": aws_time(created),
        "GroupPolicyList": inline, "AttachedManagedPolicies": attached(managed),
    }});
    resource(arn, account, GLOBAL_REGION, Service::Iam, "AWS::IAM::Group", name, BTreeMap::new(), config, at)
}

pub fn managed_policy(
    account: &str,
    name: &str,
    policy_id: &str,
    document: Value,
    attachments: u32,
    created: Timestamp,
    at: Timestamp,
) -> Resource {
    let arn = format!("arn:aws:iam::{account}:policy/{name}");
    let config = json!({"Policy": {
        "PolicyName": name, "PolicyId": policy_id, "Arn": arn, "Path": "/", "DefaultVersionId": "v1",
        "AttachmentCount": attachments, "PermissionsBoundaryUsageCount": 0, "IsAttachable": true,
        "CreateDate": aws_time(created), "UpdateDate": aws_time(created),
        "PolicyVersionList": [{"Document": document, "VersionId": "v1", "IsDefaultVersion": true, "CreateDate": aws_time(created)}],
    }});
    resource(arn, account, GLOBAL_REGION, Service::Iam, "AWS::IAM::ManagedPolicy", name, BTreeMap::new(), config, at)
}

pub fn server_certificate(
    account: &str,
    name: &str,
    cert_id: &str,
    uploaded: Timestamp,
    expires: Timestamp,
    at: Timestamp,
) -> Resource {
    let arn = format!("arn:aws:iam::{account}:server-certificate/{name}");
    let config = json!({"ServerCertificateMetadata": {
        "Path": "/", "ServerCertificateName": name, "ServerCertificateId": cert_id, "Arn": arn,
        "UploadDate": aws_time(uploaded), "Expiration": aws_time(expires),
    }});
    resource(
        arn,
        account,
        GLOBAL_REGION,
        Service::Iam,
        "AWS::IAM::ServerCertificate",
        name,
        BTreeMap::new(),
        config,
        at,
    )
}

/// Policy documents the estate uses: harmless, full admin, and one that lets
/// its holder escalate (pass a role to a new Lambda function).
pub fn document(kind: &str) -> Value {
    let statement = match kind {
        "admin" => json!([{"Effect": "Allow", "Action": "*", "Resource": "*"}]),
        "escalation" => json!([
            {"Effect": "Allow", "Action": ["iam:PassRole"], "Resource": "*"},
            {"Effect": "Allow", "Action": ["lambda:CreateFunction", "lambda:InvokeFunction"], "Resource": "*"}
        ]),
        _ => {
            json!([{"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"], "Resource": ["arn:aws:s3:::reports", "arn:aws:s3:::reports/*"]}])
        }
    };
    json!({"Version": "2012-10-17", "Statement": statement})
}

/// A region's IAM Access Analyzer analyzers: one account analyzer, or none.
pub fn access_analyzers(account: &str, region: &str, active: bool, at: Timestamp) -> Resource {
    let analyzers = if active {
        json!([{"arn": format!("arn:aws:access-analyzer:{region}:{account}:analyzer/account-analyzer"),
                "name": "account-analyzer", "type": "ACCOUNT", "status": "ACTIVE", "createdAt": aws_time(at)}])
    } else {
        json!([])
    };
    resource(
        qrie_model::ids::pseudo_arn::access_analyzers(account, region),
        account,
        region,
        Service::Iam,
        "AWS::AccessAnalyzer::AccountAnalyzers",
        "account-analyzers",
        BTreeMap::new(),
        json!({"Analyzers": analyzers}),
        at,
    )
}
