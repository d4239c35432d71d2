//! Every event name in the routing tables is an operation of its service's AWS API, read from
//! botocore's service models (installed by `scripts/setup-python`), so a typo fails here
//! instead of never firing.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};

use qrie_events::{api_operation, mapped_event_names};

/// `QRIE_BOTOCORE_DATA`, else `<repo>/.venv/lib/python3*/site-packages/botocore/data`.
fn botocore_data() -> PathBuf {
    if let Some(dir) = std::env::var_os("QRIE_BOTOCORE_DATA") {
        return PathBuf::from(dir);
    }
    let lib = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/lib");
    let found = std::fs::read_dir(&lib).ok().and_then(|entries| {
        entries.filter_map(Result::ok).map(|e| e.path().join("site-packages/botocore/data")).find(|p| p.is_dir())
    });
    found.unwrap_or_else(|| {
        panic!(
            "botocore's service models not found under {} — run scripts/setup-python (or set QRIE_BOTOCORE_DATA)",
            lib.display()
        )
    })
}

/// The operation names of one botocore model (latest API version; plain or gzipped JSON).
fn operations(data: &Path, model: &str) -> BTreeSet<String> {
    let dir = data.join(model);
    let mut versions: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("no botocore model {model} at {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    versions.sort();
    let version = versions.last().unwrap_or_else(|| panic!("no API version of {model}"));
    let plain = version.join("service-2.json");
    let text = if plain.is_file() {
        std::fs::read_to_string(&plain).unwrap()
    } else {
        let gz = std::fs::read(version.join("service-2.json.gz")).expect("service-2.json(.gz)");
        let mut text = String::new();
        flate2::read::GzDecoder::new(&gz[..]).read_to_string(&mut text).unwrap();
        text
    };
    let model: serde_json::Value = serde_json::from_str(&text).unwrap();
    model["operations"].as_object().expect("operations").keys().cloned().collect()
}

/// Names that are not API operations, with why.
const NOT_API_OPERATIONS: [(&str, &str); 1] =
    [("ConsoleLogin", "signin.amazonaws.com: a console sign-in, logged by CloudTrail, in no SDK model")];

#[test]
fn every_mapped_event_name_is_an_aws_api_operation() {
    let data = botocore_data();
    let mut models: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    let mut unknown = Vec::new();
    let names = mapped_event_names();
    for (service, source, name) in &names {
        match api_operation(source, name) {
            Some(op) => {
                let ops = models.entry(op.model).or_insert_with(|| operations(&data, op.model));
                if !ops.contains(op.operation) {
                    unknown.push(format!("{service} {source} {name} → {}:{}", op.model, op.operation));
                }
            }
            None => assert!(
                NOT_API_OPERATIONS.iter().any(|(n, _)| n == name),
                "{source} {name} has no API operation and is not a documented exception"
            ),
        }
    }
    assert!(unknown.is_empty(), "event names that are not operations of their AWS API:\n{}", unknown.join("\n"));
    // The models were really read: each holds the operations qrie's collectors call.
    assert!(models["s3"].contains("GetBucketPolicy") && models["ec2"].contains("DescribeInstances"));
    assert!(
        models["s3control"].contains("GetPublicAccessBlock")
            && models["iam"].contains("GetAccountAuthorizationDetails")
    );
}

#[test]
fn the_tables_name_no_event_twice_and_cover_the_issue_lists() {
    let names = mapped_event_names();
    let mut seen = BTreeSet::new();
    for (_, source, name) in &names {
        assert!(seen.insert((*source, *name)), "{source} {name} is mapped twice");
    }
    let has = |source: &str, name: &str| seen.contains(&(source, name));
    for name in [
        "CreateBucket",
        "DeleteBucket",
        "PutBucketPolicy",
        "DeleteBucketPolicy",
        "PutBucketAcl",
        "PutBucketPublicAccessBlock",
        "DeleteBucketPublicAccessBlock",
        "PutAccountPublicAccessBlock",
        "DeleteAccountPublicAccessBlock",
        "PutBucketEncryption",
        "DeleteBucketEncryption",
        "PutBucketVersioning",
        "PutBucketLogging",
        "PutBucketOwnershipControls",
        "DeleteBucketOwnershipControls",
        "PutBucketLifecycle",
        "DeleteBucketLifecycle",
        "PutBucketReplication",
        "DeleteBucketReplication",
        "PutBucketTagging",
        "DeleteBucketTagging",
        "PutBucketWebsite",
        "DeleteBucketWebsite",
        "PutObjectLockConfiguration",
    ] {
        assert!(has("s3.amazonaws.com", name), "S3 {name}");
    }
    for name in [
        "CreateSecurityGroup",
        "DeleteSecurityGroup",
        "AuthorizeSecurityGroupIngress",
        "AuthorizeSecurityGroupEgress",
        "RevokeSecurityGroupIngress",
        "RevokeSecurityGroupEgress",
        "ModifySecurityGroupRules",
        "RunInstances",
        "StartInstances",
        "StopInstances",
        "TerminateInstances",
        "ModifyInstanceAttribute",
        "ModifyInstanceMetadataOptions",
        "AssociateIamInstanceProfile",
        "DisassociateIamInstanceProfile",
        "ReplaceIamInstanceProfileAssociation",
        "AssociateAddress",
        "DisassociateAddress",
        "ModifyNetworkInterfaceAttribute",
        "CreateVolume",
        "DeleteVolume",
        "AttachVolume",
        "DetachVolume",
        "CreateSnapshot",
        "CopySnapshot",
        "DeleteSnapshot",
        "ModifySnapshotAttribute",
        "ResetSnapshotAttribute",
        "CreateImage",
        "CopyImage",
        "RegisterImage",
        "DeregisterImage",
        "ModifyImageAttribute",
        "ResetImageAttribute",
        "EnableEbsEncryptionByDefault",
        "DisableEbsEncryptionByDefault",
        "ModifyInstanceMetadataDefaults",
        "EnableSnapshotBlockPublicAccess",
        "DisableSnapshotBlockPublicAccess",
        "EnableImageBlockPublicAccess",
        "DisableImageBlockPublicAccess",
        "CreateTags",
        "DeleteTags",
        "CreateNetworkAclEntry",
        "ReplaceNetworkAclEntry",
        "DeleteNetworkAclEntry",
    ] {
        assert!(has("ec2.amazonaws.com", name), "EC2 {name}");
    }
    for name in [
        "CreateUser",
        "DeleteUser",
        "UpdateUser",
        "CreateGroup",
        "DeleteGroup",
        "UpdateGroup",
        "CreateRole",
        "DeleteRole",
        "CreatePolicy",
        "DeletePolicy",
        "AttachUserPolicy",
        "DetachUserPolicy",
        "PutUserPolicy",
        "DeleteUserPolicy",
        "AttachGroupPolicy",
        "DetachGroupPolicy",
        "PutGroupPolicy",
        "DeleteGroupPolicy",
        "AttachRolePolicy",
        "DetachRolePolicy",
        "PutRolePolicy",
        "DeleteRolePolicy",
        "PutUserPermissionsBoundary",
        "DeleteUserPermissionsBoundary",
        "PutRolePermissionsBoundary",
        "DeleteRolePermissionsBoundary",
        "AddUserToGroup",
        "RemoveUserFromGroup",
        "CreateAccessKey",
        "UpdateAccessKey",
        "DeleteAccessKey",
        "CreateLoginProfile",
        "UpdateLoginProfile",
        "DeleteLoginProfile",
        "EnableMFADevice",
        "DeactivateMFADevice",
        "CreateVirtualMFADevice",
        "DeleteVirtualMFADevice",
        "UpdateAssumeRolePolicy",
        "CreatePolicyVersion",
        "DeletePolicyVersion",
        "SetDefaultPolicyVersion",
        "AddRoleToInstanceProfile",
        "RemoveRoleFromInstanceProfile",
        "UpdateAccountPasswordPolicy",
        "DeleteAccountPasswordPolicy",
        "UploadServerCertificate",
        "DeleteServerCertificate",
        "UpdateServerCertificate",
        "TagUser",
        "UntagUser",
        "TagRole",
        "UntagRole",
        "TagPolicy",
        "UntagPolicy",
    ] {
        assert!(has("iam.amazonaws.com", name), "IAM {name}");
    }
    assert!(has("signin.amazonaws.com", "ConsoleLogin"));
}
