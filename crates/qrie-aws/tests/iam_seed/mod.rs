//! Seeds IAM in moto through the SDK: in account A a careful setup with a few
//! deliberate mistakes, in account B the mistakes of a neglected account.
#![allow(dead_code)] // each test binary uses a different part of this module

use aws_config::SdkConfig;
use serde_json::json;

pub fn iam(config: &SdkConfig) -> aws_sdk_iam::Client {
    aws_sdk_iam::Client::new(config)
}

pub const ADMIN: &str = "arn:aws:iam::aws:policy/AdministratorAccess";
pub const SUPPORT: &str = "arn:aws:iam::aws:policy/AWSSupportAccess";

fn read_reports() -> String {
    json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"],
        "Resource": ["arn:aws:s3:::reports", "arn:aws:s3:::reports/*"]}]})
    .to_string()
}

fn full_admin() -> String {
    json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}).to_string()
}

/// Pass a role to a new Lambda function and run it: a classic escalation.
fn escalation() -> String {
    json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["iam:PassRole"], "Resource": "*"},
        {"Effect": "Allow", "Action": ["lambda:CreateFunction", "lambda:InvokeFunction"], "Resource": "*"}]})
    .to_string()
}

fn trust_service(service: &str) -> String {
    json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": service},
        "Action": "sts:AssumeRole"}]})
    .to_string()
}

fn trust_account(account: &str, external_id: Option<&str>) -> String {
    let mut s = json!({"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{account}:root")},
        "Action": "sts:AssumeRole"});
    if let Some(x) = external_id {
        s["Condition"] = json!({"StringEquals": {"sts:ExternalId": x}});
    }
    json!({"Version": "2012-10-17", "Statement": [s]}).to_string()
}

fn trust_anyone() -> String {
    json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"},
        "Action": "sts:AssumeRole"}]})
    .to_string()
}

async fn user(iam: &aws_sdk_iam::Client, name: &str) {
    iam.create_user().user_name(name).send().await.unwrap_or_else(|e| panic!("user {name}: {e:?}"));
}

async fn role(iam: &aws_sdk_iam::Client, name: &str, trust: String) {
    iam.create_role()
        .role_name(name)
        .assume_role_policy_document(trust)
        .send()
        .await
        .unwrap_or_else(|e| panic!("role {name}: {e:?}"));
}

async fn managed(iam: &aws_sdk_iam::Client, name: &str, document: String) -> String {
    let out = iam
        .create_policy()
        .policy_name(name)
        .policy_document(document)
        .send()
        .await
        .unwrap_or_else(|e| panic!("policy {name}: {e:?}"));
    out.policy().and_then(|p| p.arn()).expect("policy arn").to_string()
}

/// Account A:
/// - `alice` signs in to the console without MFA;
/// - `bob` has two active access keys;
/// - `carol` holds AdministratorAccess directly;
/// - `dave` is compliant: in group `readers` (inline read-only), no credentials;
/// - group `admins` grants `*:*` inline;
/// - role `ci-deploy` trusts another account without an external id;
/// - role `partner-audit` trusts another account with one (compliant);
/// - role `lambda-reports` (a service role with a read-only managed policy) and
///   role `aws-support` (AWSSupportAccess) are compliant;
/// - customer-managed `escalate` lets its holder escalate (attached to nobody);
/// - a password policy that meets every requirement.
pub async fn iam_account_a(config: &SdkConfig) {
    let iam = iam(config);
    for name in ["alice", "bob", "carol", "dave"] {
        user(&iam, name).await;
    }
    iam.create_login_profile().user_name("alice").password("Correct-Horse-42!").send().await.expect("login");
    for _ in 0..2 {
        iam.create_access_key().user_name("bob").send().await.expect("key");
    }
    iam.attach_user_policy().user_name("carol").policy_arn(ADMIN).send().await.expect("attach");
    iam.create_group().group_name("readers").send().await.expect("group");
    iam.put_group_policy()
        .group_name("readers")
        .policy_name("read-reports")
        .policy_document(read_reports())
        .send()
        .await
        .expect("group policy");
    iam.add_user_to_group().group_name("readers").user_name("dave").send().await.expect("membership");
    iam.create_group().group_name("admins").send().await.expect("group");
    iam.put_group_policy()
        .group_name("admins")
        .policy_name("everything")
        .policy_document(full_admin())
        .send()
        .await
        .expect("group policy");

    role(&iam, "ci-deploy", trust_account("999988887777", None)).await;
    role(&iam, "partner-audit", trust_account("999988887777", Some("partner-7f3a"))).await;
    role(&iam, "lambda-reports", trust_service("lambda.amazonaws.com")).await;
    let reports = managed(&iam, "reports-read", read_reports()).await;
    iam.attach_role_policy().role_name("lambda-reports").policy_arn(&reports).send().await.expect("attach");
    role(&iam, "aws-support", trust_account("123456789012", None)).await;
    iam.attach_role_policy().role_name("aws-support").policy_arn(SUPPORT).send().await.expect("attach");
    managed(&iam, "escalate", escalation()).await;

    iam.update_account_password_policy()
        .minimum_password_length(14)
        .require_symbols(true)
        .require_numbers(true)
        .require_uppercase_characters(true)
        .require_lowercase_characters(true)
        .allow_users_to_change_password(true)
        .max_password_age(90)
        .password_reuse_prevention(24)
        .send()
        .await
        .expect("password policy");
}

/// Account B: no password policy, no support role, a role anyone may assume,
/// a `*:*` customer-managed policy, and an expired server certificate (moto
/// reports every certificate as expired in 2012).
pub async fn iam_account_b(config: &SdkConfig) {
    let iam = iam(config);
    role(&iam, "open-role", trust_anyone()).await;
    managed(&iam, "full-admin", full_admin()).await;
    iam.upload_server_certificate()
        .server_certificate_name("legacy-web")
        .certificate_body("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----")
        .private_key("-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----")
        .send()
        .await
        .expect("server certificate");
}
