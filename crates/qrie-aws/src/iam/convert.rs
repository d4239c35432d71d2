//! IAM SDK outputs → the AWS JSON shapes of docs/resources.md: the items of
//! GetAccountAuthorizationDetails with their policy documents decoded, and the
//! account-level answers (password policy, account summary, MFA devices,
//! server certificates, Access Analyzer analyzers).

use aws_sdk_iam::types::{
    AttachedPermissionsBoundary, AttachedPolicy, GroupDetail, InstanceProfile, ManagedPolicyDetail, PasswordPolicy,
    PolicyDetail, PolicyVersion, RoleDetail, ServerCertificateMetadata, Tag, UserDetail, VirtualMfaDevice,
};
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::collections::BTreeMap;

use crate::json::{b, list, n, obj, req, s, time};

/// A policy document as IAM returns it: a URL-encoded JSON string (real IAM),
/// or plain JSON (some emulators). Stored parsed; a document that does not
/// decode is kept as the string it was, so the policies that read it answer
/// Error (they cannot parse it) rather than a verdict on a guess.
pub fn document(raw: &str) -> Value {
    let text = if raw.trim_start().starts_with('{') {
        Cow::Borrowed(raw)
    } else {
        match percent_encoding::percent_decode_str(raw).decode_utf8() {
            Ok(t) => t,
            Err(_) => return Value::String(raw.to_string()),
        }
    };
    serde_json::from_str(&text).unwrap_or_else(|_| Value::String(raw.to_string()))
}

fn inline(p: &PolicyDetail) -> Value {
    obj([("PolicyName", s(p.policy_name())), ("PolicyDocument", p.policy_document().map(document))])
}

fn attached(p: &AttachedPolicy) -> Value {
    obj([("PolicyName", s(p.policy_name())), ("PolicyArn", s(p.policy_arn()))])
}

fn boundary(p: &AttachedPermissionsBoundary) -> Value {
    obj([
        ("PermissionsBoundaryType", s(p.permissions_boundary_type().map(|t| t.as_str()))),
        ("PermissionsBoundaryArn", s(p.permissions_boundary_arn())),
    ])
}

fn instance_profile(p: &InstanceProfile) -> Value {
    obj([
        ("Path", req(p.path())),
        ("InstanceProfileName", req(p.instance_profile_name())),
        ("InstanceProfileId", req(p.instance_profile_id())),
        ("Arn", req(p.arn())),
        ("CreateDate", time(Some(p.create_date()))),
    ])
}

/// `[{"Key", "Value"}]` and the tag map qrie keeps beside the configuration.
pub fn tags(t: &[Tag]) -> (Value, BTreeMap<String, String>) {
    crate::json::tags(t.iter().map(|t| (t.key(), t.value())))
}

/// A UserDetailList item; its tags go to the resource's tag map too.
pub fn user(u: &UserDetail) -> (Value, BTreeMap<String, String>) {
    let (tag_list, tag_map) = tags(u.tags());
    let item = obj([
        ("Path", s(u.path())),
        ("UserName", s(u.user_name())),
        ("UserId", s(u.user_id())),
        ("Arn", s(u.arn())),
        ("CreateDate", time(u.create_date())),
        ("UserPolicyList", list(u.user_policy_list(), inline)),
        ("GroupList", list(u.group_list(), |g| Value::String(g.clone()))),
        ("AttachedManagedPolicies", list(u.attached_managed_policies(), attached)),
        ("PermissionsBoundary", u.permissions_boundary().map(boundary)),
        ("Tags", Some(tag_list)),
    ]);
    (item, tag_map)
}

pub fn group(g: &GroupDetail) -> Value {
    obj([
        ("Path", s(g.path())),
        ("GroupName", s(g.group_name())),
        ("GroupId", s(g.group_id())),
        ("Arn", s(g.arn())),
        ("CreateDate", time(g.create_date())),
        ("GroupPolicyList", list(g.group_policy_list(), inline)),
        ("AttachedManagedPolicies", list(g.attached_managed_policies(), attached)),
    ])
}

pub fn role(r: &RoleDetail) -> (Value, BTreeMap<String, String>) {
    let (tag_list, tag_map) = tags(r.tags());
    let last_used =
        r.role_last_used().map(|l| obj([("LastUsedDate", time(l.last_used_date())), ("Region", s(l.region()))]));
    let item = obj([
        ("Path", s(r.path())),
        ("RoleName", s(r.role_name())),
        ("RoleId", s(r.role_id())),
        ("Arn", s(r.arn())),
        ("CreateDate", time(r.create_date())),
        ("AssumeRolePolicyDocument", r.assume_role_policy_document().map(document)),
        ("InstanceProfileList", list(r.instance_profile_list(), instance_profile)),
        ("RolePolicyList", list(r.role_policy_list(), inline)),
        ("AttachedManagedPolicies", list(r.attached_managed_policies(), attached)),
        ("PermissionsBoundary", r.permissions_boundary().map(boundary)),
        ("Tags", Some(tag_list)),
        ("RoleLastUsed", last_used),
    ]);
    (item, tag_map)
}

fn version(v: &PolicyVersion) -> Value {
    obj([
        ("Document", v.document().map(document)),
        ("VersionId", s(v.version_id())),
        ("IsDefaultVersion", Some(Value::Bool(v.is_default_version()))),
        ("CreateDate", time(v.create_date())),
    ])
}

/// A customer-managed policy with its versions (GetAccountAuthorizationDetails
/// returns every version; the policies read the default one).
pub fn managed_policy(p: &ManagedPolicyDetail) -> Value {
    obj([
        ("PolicyName", s(p.policy_name())),
        ("PolicyId", s(p.policy_id())),
        ("Arn", s(p.arn())),
        ("Path", s(p.path())),
        ("DefaultVersionId", s(p.default_version_id())),
        ("AttachmentCount", n(p.attachment_count())),
        ("PermissionsBoundaryUsageCount", n(p.permissions_boundary_usage_count())),
        ("IsAttachable", Some(Value::Bool(p.is_attachable()))),
        ("Description", s(p.description())),
        ("CreateDate", time(p.create_date())),
        ("UpdateDate", time(p.update_date())),
        ("PolicyVersionList", list(p.policy_version_list(), version)),
    ])
}

pub fn password_policy(p: &PasswordPolicy) -> Value {
    obj([
        ("MinimumPasswordLength", n(p.minimum_password_length())),
        ("RequireSymbols", b(Some(p.require_symbols()))),
        ("RequireNumbers", b(Some(p.require_numbers()))),
        ("RequireUppercaseCharacters", b(Some(p.require_uppercase_characters()))),
        ("RequireLowercaseCharacters", b(Some(p.require_lowercase_characters()))),
        ("AllowUsersToChangePassword", b(Some(p.allow_users_to_change_password()))),
        ("ExpirePasswords", b(Some(p.expire_passwords()))),
        ("MaxPasswordAge", n(p.max_password_age())),
        ("PasswordReusePrevention", n(p.password_reuse_prevention())),
        ("HardExpiry", b(p.hard_expiry())),
    ])
}

/// GetAccountSummary's SummaryMap, keyed by AWS's names (`AccountMFAEnabled`…).
pub fn account_summary(map: Option<&std::collections::HashMap<aws_sdk_iam::types::SummaryKeyType, i32>>) -> Value {
    let sorted: BTreeMap<&str, i32> = map.into_iter().flatten().map(|(k, v)| (k.as_str(), *v)).collect();
    Value::Object(sorted.into_iter().map(|(k, v)| (k.to_string(), Value::from(v))).collect::<Map<_, _>>())
}

/// A virtual MFA device: who holds it and since when. Never the seed or the QR
/// code (ListVirtualMFADevices does not return them, and qrie would not keep them).
pub fn virtual_mfa_device(d: &VirtualMfaDevice) -> Value {
    let user =
        d.user().map(|u| obj([("UserName", req(u.user_name())), ("UserId", req(u.user_id())), ("Arn", req(u.arn()))]));
    obj([("SerialNumber", req(d.serial_number())), ("User", user), ("EnableDate", time(d.enable_date()))])
}

pub fn server_certificate(m: &ServerCertificateMetadata) -> Value {
    obj([
        ("Path", req(m.path())),
        ("ServerCertificateName", req(m.server_certificate_name())),
        ("ServerCertificateId", req(m.server_certificate_id())),
        ("Arn", req(m.arn())),
        ("UploadDate", time(m.upload_date())),
        ("Expiration", time(m.expiration())),
    ])
}

/// A ListAnalyzers item, in Access Analyzer's own (camelCase) field names.
pub fn analyzer(a: &aws_sdk_accessanalyzer::types::AnalyzerSummary) -> Value {
    obj([
        ("arn", req(a.arn())),
        ("name", req(a.name())),
        ("type", req(a.r#type().as_str())),
        ("status", req(a.status().as_str())),
        ("createdAt", time(Some(a.created_at()))),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn documents_decode_from_url_encoding_and_plain_json() {
        let want = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]});
        let encoded = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22%2A%22%2C%22Resource%22%3A%22%2A%22%7D%5D%7D";
        assert_eq!(document(encoded), want);
        assert_eq!(document(&want.to_string()), want);
        // Undecodable stays a string: the policies then answer Error, never a guess.
        assert_eq!(document("%7Bnot json"), json!("%7Bnot json"));
        assert_eq!(document("%FF%FE"), json!("%FF%FE"));
    }

    /// Every document of the recorded dump (boto had decoded them), URL-encoded
    /// as IAM sends them on the wire, decodes back to the same JSON.
    #[test]
    fn every_document_of_the_recorded_dump_round_trips() {
        let dir = std::env::var("QRIE_TESTDATA")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|_| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata"));
        let path = dir.join("aws-responses/iam-GetAccountAuthorizationDetails/cloudsplaining_example_996ef75a.json");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let dump: Value = serde_json::from_str(&text).expect("dump");
        let mut docs = Vec::new();
        for (list, inline_key) in [
            ("UserDetailList", "UserPolicyList"),
            ("GroupDetailList", "GroupPolicyList"),
            ("RoleDetailList", "RolePolicyList"),
        ] {
            for item in dump[list].as_array().expect(list) {
                docs.extend(item.get("AssumeRolePolicyDocument").cloned());
                for p in item.get(inline_key).and_then(Value::as_array).into_iter().flatten() {
                    docs.push(p["PolicyDocument"].clone());
                }
            }
        }
        for p in dump["Policies"].as_array().expect("Policies") {
            for v in p["PolicyVersionList"].as_array().expect("versions") {
                docs.push(v["Document"].clone());
            }
        }
        assert!(docs.len() > 50, "{}", docs.len());
        for doc in docs {
            let wire =
                percent_encoding::utf8_percent_encode(&doc.to_string(), percent_encoding::NON_ALPHANUMERIC).to_string();
            assert_eq!(document(&wire), doc);
        }
    }
}
