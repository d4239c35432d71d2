//! IAM, once per account: users, groups, roles and customer-managed policies
//! from GetAccountAuthorizationDetails (every entity with its inline and
//! attached policies in one paginated call), the credential report, and the
//! account-level pseudo-resources — the root user, the password policy, and
//! one IAM Access Analyzer resource per region — plus server certificates.
//!
//! Calls per account: GetAccountAuthorizationDetails (1 per 1,000 entities),
//! Generate+GetCredentialReport (2, more while IAM builds a report),
//! GetAccountPasswordPolicy, GetAccountSummary, ListVirtualMFADevices,
//! ListEntitiesForPolicy (AWSSupportAccess), ListServerCertificates (1 each per
//! page), ListAnalyzers (1 per region). docs/performance.md has the figures.

mod convert;
mod report;

use aws_sdk_iam::types::{EntityType, GroupDetail, ManagedPolicyDetail, RoleDetail, UserDetail};
use futures::future::join_all;
use qrie_engine::CloudError;
use qrie_model::ids::{pseudo_arn, GLOBAL_REGION};
use qrie_model::{Resource, Service, Timestamp};
use serde_json::{json, Value};
use std::collections::BTreeMap;

use crate::cloud::{Clients, Found};
use crate::read::{self, classify, Config, Outcome};
use report::Rows;

/// Entities per GetAccountAuthorizationDetails page: IAM's maximum, so most
/// accounts take one call.
const PAGE: i32 = 1000;

/// Every entity kind qrie stores; AWS-managed policies are left out (they are
/// the same in every account, and the policies know the ones that matter by ARN).
const ENTITIES: [EntityType; 4] =
    [EntityType::User, EntityType::Group, EntityType::Role, EntityType::LocalManagedPolicy];

fn iam(c: &Clients) -> aws_sdk_iam::Client {
    let mut builder = aws_sdk_iam::config::Builder::from(c.sdk_config());
    for i in c.interceptors() {
        builder.push_interceptor(i);
    }
    aws_sdk_iam::Client::from_conf(builder.build())
}

fn access_analyzer(c: &Clients, region: &str) -> aws_sdk_accessanalyzer::Client {
    let mut builder = aws_sdk_accessanalyzer::config::Builder::from(c.sdk_config())
        .region(aws_config::Region::new(region.to_string()));
    for i in c.interceptors() {
        builder.push_interceptor(i);
    }
    aws_sdk_accessanalyzer::Client::from_conf(builder.build())
}

pub(crate) async fn list(
    clients: &Clients,
    account: &str,
    regions: &[String],
    at: Timestamp,
) -> Result<Found, CloudError> {
    let iam = iam(clients);
    let partition = partition(&clients.home_region());
    let (details, rows, root, password_policy, certificates, analyzers) = tokio::join!(
        authorization_details(&iam, &ENTITIES),
        report::fetch(&iam),
        root_parts(&iam, partition),
        password_policy(&iam, account, at),
        server_certificates(&iam, account, at),
        join_all(regions.iter().map(|r| analyzers(clients, account, r, at))),
    );
    let root = root_user(account, root, &rows, at);
    let mut found = Found::default();
    match details {
        Ok(d) => found.resources.extend(entities(account, &d, &rows, at)),
        Err(e) => found.errors.push(format!("GetAccountAuthorizationDetails: {}", read::message(&e))),
    }
    match certificates {
        Ok(certs) => found.resources.extend(certs),
        Err(e) => found.errors.push(format!("ListServerCertificates: {e}")),
    }
    found.resources.push(root);
    found.resources.push(password_policy);
    found.resources.extend(analyzers);
    found.resources.sort_by(|a, b| a.arn.cmp(&b.arn));
    Ok(found)
}

/// Which partition an account's home region is in (the AWS-managed policies' ARNs name it).
fn partition(region: &str) -> &'static str {
    if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else if region.starts_with("cn-") {
        "aws-cn"
    } else {
        "aws"
    }
}

#[derive(Default)]
struct Details {
    users: Vec<UserDetail>,
    groups: Vec<GroupDetail>,
    roles: Vec<RoleDetail>,
    policies: Vec<ManagedPolicyDetail>,
}

type IamError<E> =
    aws_smithy_runtime_api::client::result::SdkError<E, aws_smithy_runtime_api::client::orchestrator::HttpResponse>;
type DetailsError =
    IamError<aws_sdk_iam::operation::get_account_authorization_details::GetAccountAuthorizationDetailsError>;

/// Every page of GetAccountAuthorizationDetails for these entity kinds. Any
/// failed page fails the whole: a partial list would read as deletions.
async fn authorization_details(iam: &aws_sdk_iam::Client, kinds: &[EntityType]) -> Result<Details, DetailsError> {
    let mut d = Details::default();
    let mut marker = None;
    loop {
        let out = iam
            .get_account_authorization_details()
            .set_filter(Some(kinds.to_vec()))
            .max_items(PAGE)
            .set_marker(marker)
            .send()
            .await?;
        d.users.extend(out.user_detail_list().iter().cloned());
        d.groups.extend(out.group_detail_list().iter().cloned());
        d.roles.extend(out.role_detail_list().iter().cloned());
        d.policies.extend(out.policies().iter().cloned());
        marker = out.marker().filter(|_| out.is_truncated()).map(str::to_string);
        if marker.is_none() {
            return Ok(d);
        }
    }
}

/// A principal's credential report row: `null` when the report has none (a
/// principal created after the report, or moto's missing root row), a
/// collection error when the report could not be had.
fn report_row(rows: &Result<Rows, String>, arn: &str) -> Outcome<Value> {
    match rows {
        Ok(rows) => rows.get(arn).cloned().map_or(Outcome::Absent, Outcome::Value),
        Err(e) => Outcome::Failed(e.clone()),
    }
}

fn iam_resource(
    account: &str,
    arn: &str,
    resource_type: &str,
    name: &str,
    tags: BTreeMap<String, String>,
    c: Config,
    at: Timestamp,
) -> Resource {
    let (config, errors) = c.into_parts();
    Resource::new(arn, account, GLOBAL_REGION, Service::Iam, resource_type, name, tags, config, errors, at)
}

/// An entity's name; the last ARN segment when the answer leaves it out
/// (moto omits `PolicyName` from GetAccountAuthorizationDetails).
fn name_of<'a>(arn: &'a str, name: Option<&'a str>) -> &'a str {
    name.unwrap_or_else(|| arn.rsplit('/').next().unwrap_or(arn))
}

/// Users (with their report rows), groups, roles and customer-managed policies.
fn entities(account: &str, d: &Details, rows: &Result<Rows, String>, at: Timestamp) -> Vec<Resource> {
    let mut out = Vec::new();
    for u in &d.users {
        let Some(arn) = u.arn() else { continue };
        let name = name_of(arn, u.user_name());
        let (item, tags) = convert::user(u);
        let mut c = Config::default();
        c.set("User", item);
        c.put("CredentialReport", report_row(rows, arn), |v| v);
        out.push(iam_resource(account, arn, "AWS::IAM::User", name, tags, c, at));
    }
    for g in &d.groups {
        let Some(arn) = g.arn() else { continue };
        let name = name_of(arn, g.group_name());
        let mut c = Config::default();
        c.set("Group", convert::group(g));
        out.push(iam_resource(account, arn, "AWS::IAM::Group", name, BTreeMap::new(), c, at));
    }
    for r in &d.roles {
        let Some(arn) = r.arn() else { continue };
        let name = name_of(arn, r.role_name());
        let (item, tags) = convert::role(r);
        let mut c = Config::default();
        c.set("Role", item);
        out.push(iam_resource(account, arn, "AWS::IAM::Role", name, tags, c, at));
    }
    for p in &d.policies {
        let Some(arn) = p.arn() else { continue };
        let name = name_of(arn, p.policy_name());
        let mut c = Config::default();
        c.set("Policy", convert::managed_policy(p));
        out.push(iam_resource(account, arn, "AWS::IAM::ManagedPolicy", name, BTreeMap::new(), c, at));
    }
    out
}

fn outcome<T>(r: Result<T, String>) -> Outcome<T> {
    match r {
        Ok(v) => Outcome::Value(v),
        Err(e) => Outcome::Failed(e),
    }
}

/// What the root user's resource holds besides its credential report row.
struct RootParts {
    summary: Outcome<Value>,
    devices: Result<Vec<Value>, String>,
    support: Result<Value, String>,
}

async fn root_parts(iam: &aws_sdk_iam::Client, partition: &str) -> RootParts {
    let (summary, devices, support) =
        tokio::join!(iam.get_account_summary().send(), virtual_mfa_devices(iam), support_access(iam, partition));
    let summary = match classify(summary, &[], &[]) {
        Outcome::Value(o) => Outcome::Value(convert::account_summary(o.summary_map())),
        Outcome::Absent => Outcome::Absent,
        Outcome::Gone => Outcome::Gone,
        Outcome::Failed(e) => Outcome::Failed(e),
    };
    RootParts { summary, devices, support }
}

/// The root user: account summary, its credential report row, the virtual MFA
/// devices (a root device there means its MFA is not hardware), and who holds
/// AWSSupportAccess.
fn root_user(account: &str, parts: RootParts, rows: &Result<Rows, String>, at: Timestamp) -> Resource {
    let arn = pseudo_arn::iam_root(account);
    let mut c = Config::default();
    c.put("AccountSummary", parts.summary, |v| v);
    c.put("CredentialReport", report_row(rows, &arn), |v| v);
    c.put("VirtualMFADevices", outcome(parts.devices), Value::Array);
    c.put("SupportAccessEntities", outcome(parts.support), |v| v);
    iam_resource(account, &arn, "AWS::IAM::RootUser", "root", BTreeMap::new(), c, at)
}

async fn virtual_mfa_devices(iam: &aws_sdk_iam::Client) -> Result<Vec<Value>, String> {
    let mut devices = Vec::new();
    let mut marker = None;
    loop {
        let out = iam.list_virtual_mfa_devices().set_marker(marker).send().await.map_err(|e| read::message(&e))?;
        devices.extend(out.virtual_mfa_devices().iter().map(convert::virtual_mfa_device));
        marker = out.marker().filter(|_| out.is_truncated()).map(str::to_string);
        if marker.is_none() {
            return Ok(devices);
        }
    }
}

/// ListEntitiesForPolicy of the AWS-managed AWSSupportAccess policy (CIS 1.17).
async fn support_access(iam: &aws_sdk_iam::Client, partition: &str) -> Result<Value, String> {
    let policy = format!("arn:{partition}:iam::aws:policy/AWSSupportAccess");
    let (mut groups, mut users, mut roles) = (Vec::new(), Vec::new(), Vec::new());
    let mut marker = None;
    loop {
        let out = iam
            .list_entities_for_policy()
            .policy_arn(&policy)
            .set_marker(marker)
            .send()
            .await
            .map_err(|e| read::message(&e))?;
        groups
            .extend(out.policy_groups().iter().map(|g| json!({"GroupName": g.group_name(), "GroupId": g.group_id()})));
        users.extend(out.policy_users().iter().map(|u| json!({"UserName": u.user_name(), "UserId": u.user_id()})));
        roles.extend(out.policy_roles().iter().map(|r| json!({"RoleName": r.role_name(), "RoleId": r.role_id()})));
        marker = out.marker().filter(|_| out.is_truncated()).map(str::to_string);
        if marker.is_none() {
            return Ok(json!({"PolicyGroups": groups, "PolicyUsers": users, "PolicyRoles": roles}));
        }
    }
}

/// The account password policy; `null` when the account has none (NoSuchEntity).
async fn password_policy(iam: &aws_sdk_iam::Client, account: &str, at: Timestamp) -> Resource {
    let out = iam.get_account_password_policy().send().await;
    let mut c = Config::default();
    c.put("PasswordPolicy", classify(out, &["NoSuchEntity"], &[]), |o| {
        o.password_policy().map(convert::password_policy).unwrap_or(Value::Null)
    });
    let arn = pseudo_arn::iam_password_policy(account);
    iam_resource(account, &arn, "AWS::IAM::AccountPasswordPolicy", "account-password-policy", BTreeMap::new(), c, at)
}

fn certificate_resource(account: &str, m: &aws_sdk_iam::types::ServerCertificateMetadata, at: Timestamp) -> Resource {
    let mut c = Config::default();
    c.set("ServerCertificateMetadata", convert::server_certificate(m));
    iam_resource(account, m.arn(), "AWS::IAM::ServerCertificate", m.server_certificate_name(), BTreeMap::new(), c, at)
}

async fn server_certificates(iam: &aws_sdk_iam::Client, account: &str, at: Timestamp) -> Result<Vec<Resource>, String> {
    let mut out = Vec::new();
    let mut marker = None;
    loop {
        let page = iam.list_server_certificates().set_marker(marker).send().await.map_err(|e| read::message(&e))?;
        out.extend(page.server_certificate_metadata_list().iter().map(|m| certificate_resource(account, m, at)));
        marker = page.marker().filter(|_| page.is_truncated()).map(str::to_string);
        if marker.is_none() {
            return Ok(out);
        }
    }
}

/// One region's IAM Access Analyzer analyzers. A region where they cannot be
/// listed keeps its resource, with `Analyzers` as a collection error.
async fn analyzers(clients: &Clients, account: &str, region: &str, at: Timestamp) -> Resource {
    let client = access_analyzer(clients, region);
    let mut c = Config::default();
    let mut all = Vec::new();
    let mut token = None;
    let listed = loop {
        match client.list_analyzers().set_next_token(token).send().await {
            Ok(page) => {
                all.extend(page.analyzers().iter().map(convert::analyzer));
                token = page.next_token().map(str::to_string);
                if token.is_none() {
                    break Ok(Value::Array(std::mem::take(&mut all)));
                }
            }
            Err(e) => break Err(read::message(&e)),
        }
    };
    c.put("Analyzers", outcome(listed), |v| v);
    let (config, errors) = c.into_parts();
    Resource::new(
        pseudo_arn::access_analyzers(account, region),
        account,
        region,
        Service::Iam,
        "AWS::AccessAnalyzer::AccountAnalyzers",
        "account-analyzers",
        BTreeMap::new(),
        config,
        errors,
        at,
    )
}

/// What an IAM ARN names.
enum Target<'a> {
    Root,
    PasswordPolicy,
    Analyzers(&'a str),
    ServerCertificate(&'a str),
    Entity(EntityType),
}

fn target<'a>(account: &str, arn: &'a str) -> Option<Target<'a>> {
    if arn == pseudo_arn::iam_root(account) {
        return Some(Target::Root);
    }
    if arn == pseudo_arn::iam_password_policy(account) {
        return Some(Target::PasswordPolicy);
    }
    let parts: Vec<&'a str> = arn.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", _, "access-analyzer", region, a, "account-analyzers"] if *a == account => {
            Some(Target::Analyzers(region))
        }
        ["arn", _, "iam", "", a, resource] if *a == account => {
            let (kind, rest) = resource.split_once('/')?;
            match kind {
                "user" => Some(Target::Entity(EntityType::User)),
                "group" => Some(Target::Entity(EntityType::Group)),
                "role" => Some(Target::Entity(EntityType::Role)),
                "policy" => Some(Target::Entity(EntityType::LocalManagedPolicy)),
                // The name is the last segment; the path is not part of the call.
                "server-certificate" => rest.rsplit('/').next().map(Target::ServerCertificate),
                _ => None,
            }
        }
        _ => None,
    }
}

/// One IAM resource, for the event path: `None` when IAM says it does not
/// exist. Entities are read through GetAccountAuthorizationDetails filtered to
/// their kind, so they have exactly the shape a listing stores.
pub(crate) async fn describe(
    clients: &Clients,
    account: &str,
    arn: &str,
    at: Timestamp,
) -> Result<Option<Resource>, CloudError> {
    let Some(target) = target(account, arn) else { return Err(CloudError::UnknownResource(arn.to_string())) };
    let iam = iam(clients);
    match target {
        Target::Root => {
            let (rows, parts) = tokio::join!(report::fetch(&iam), root_parts(&iam, partition(&clients.home_region())));
            Ok(Some(root_user(account, parts, &rows, at)))
        }
        Target::PasswordPolicy => Ok(Some(password_policy(&iam, account, at).await)),
        Target::Analyzers(region) => Ok(Some(analyzers(clients, account, region, at).await)),
        Target::ServerCertificate(name) => {
            match classify(
                iam.get_server_certificate().server_certificate_name(name).send().await,
                &[],
                &["NoSuchEntity"],
            ) {
                Outcome::Value(out) => Ok(out
                    .server_certificate()
                    .and_then(|c| c.server_certificate_metadata())
                    .map(|m| certificate_resource(account, m, at))
                    .filter(|r| r.arn == arn)),
                Outcome::Gone | Outcome::Absent => Ok(None),
                Outcome::Failed(msg) => Err(CloudError::Other(msg)),
            }
        }
        Target::Entity(kind) => {
            let details =
                authorization_details(&iam, std::slice::from_ref(&kind)).await.map_err(|e| read::cloud_error(&e))?;
            let rows = if kind == EntityType::User { report::fetch(&iam).await } else { Ok(Rows::new()) };
            Ok(entities(account, &details, &rows, at).into_iter().find(|r| r.arn == arn))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_name_their_targets() {
        let a = "123456789012";
        assert!(matches!(target(a, "arn:aws:iam::123456789012:root"), Some(Target::Root)));
        assert!(matches!(target(a, "arn:aws:iam::123456789012:account-password-policy"), Some(Target::PasswordPolicy)));
        assert!(matches!(
            target(a, "arn:aws:access-analyzer:eu-west-1:123456789012:account-analyzers"),
            Some(Target::Analyzers("eu-west-1"))
        ));
        assert!(matches!(
            target(a, "arn:aws:iam::123456789012:user/team/alice"),
            Some(Target::Entity(EntityType::User))
        ));
        assert!(matches!(
            target(a, "arn:aws:iam::123456789012:policy/p"),
            Some(Target::Entity(EntityType::LocalManagedPolicy))
        ));
        assert!(matches!(
            target(a, "arn:aws:iam::123456789012:server-certificate/cloudfront/web"),
            Some(Target::ServerCertificate("web"))
        ));
        for other in [
            "arn:aws:iam::999999999999:user/alice",
            "arn:aws:iam::aws:policy/AdministratorAccess",
            "arn:aws:iam::123456789012:mfa/root",
            "arn:aws:s3:::bucket",
        ] {
            assert!(target(a, other).is_none(), "{other}");
        }
    }

    #[test]
    fn partitions() {
        assert_eq!(partition("us-east-1"), "aws");
        assert_eq!(partition("us-gov-west-1"), "aws-us-gov");
        assert_eq!(partition("cn-north-1"), "aws-cn");
    }
}
