//! qrie's built-in policy catalog.
//!
//! A policy is a [`PolicyDef`]: its metadata (id, title, severity, remediation,
//! compliance references, parameters) beside its `evaluate` function, which reads
//! one stored [`Resource`](qrie_model::Resource) and returns a
//! [`Verdict`](qrie_model::Verdict). Evaluation is pure: anything else a policy
//! needs (the account's Block Public Access for a bucket, say) it names through
//! `related`, and the engine fetches it beforehand. The catalog is the static
//! [`catalog()`] slice; [`get`] and [`for_resource_type`] look it up.
//!
//! Policies are grouped by service (`s3`, `ec2`, `iam`), one file per policy,
//! named after the policy id without its service prefix. Evaluators shared by a
//! family of policies live beside them (e.g. `ec2::ingress`: one evaluator for
//! every "port open to the internet" policy).
//!
//! Two rules every policy keeps:
//! - data that could not be read never passes: read configuration with
//!   `Resource::field(..)?` (or the helpers in `config`), so that missing or
//!   unreadable data becomes `Verdict::Error`;
//! - evidence points at what decided the verdict (the grant, rule or attribute,
//!   with its JSON path), not at the policy's title.
//!
//! # Adding a policy
//! 1. Create `src/<service>/<id-without-service-prefix>.rs` (snake_case) with a
//!    `pub static POLICY: PolicyDef`, its `evaluate` function and a
//!    `#[cfg(test)] mod tests` holding its golden cases (pass, fail and the tricky
//!    ones; `crate::testing` builds AWS-shaped resources and loads the recorded
//!    AWS responses under `shared/testdata`).
//! 2. Declare the module in `src/<service>/mod.rs`.
//! 3. Add `&<module>::POLICY` to that service's `POLICIES` in `src/<service>/mod.rs`. The registry tests
//!    then check its id, metadata, remediation, compliance references and
//!    parameters, and that it never passes a resource whose data is missing.

use qrie_model::PolicyDef;

mod config;
pub mod docs;
pub mod document;
mod ec2;
pub mod frameworks;
mod iam;
mod s3;
#[cfg(test)]
mod testing;

/// Every built-in policy, service by service. Listing, documenting and
/// validating the catalog all start here, so there is no second list to keep in
/// sync; each service module owns its own `POLICIES` slice.
static CATALOG: std::sync::LazyLock<Vec<&'static PolicyDef>> =
    std::sync::LazyLock::new(|| [s3::POLICIES, ec2::POLICIES, iam::POLICIES].concat());

/// All built-in policies, in catalog order.
pub fn catalog() -> &'static [&'static PolicyDef] {
    &CATALOG
}

/// The policy with this id.
pub fn get(id: &str) -> Option<&'static PolicyDef> {
    CATALOG.iter().copied().find(|p| p.id == id)
}

/// The policies that evaluate resources of this type (e.g. `AWS::S3::Bucket`).
pub fn for_resource_type(resource_type: &str) -> impl Iterator<Item = &'static PolicyDef> {
    // Owned, so that the iterator does not borrow the caller's string.
    let resource_type = resource_type.to_owned();
    CATALOG.iter().copied().filter(move |p| p.resource_type == resource_type)
}

/// The policies `qrie demo` launches: all of them.
pub fn default_policy_ids() -> Vec<&'static str> {
    CATALOG.iter().map(|p| p.id).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing;
    use qrie_model::{ParamValue, Service, SeverityLabel, Verdict};
    use serde_json::json;
    use std::collections::{BTreeMap, HashSet};

    fn is_kebab(s: &str) -> bool {
        !s.is_empty()
            && s.split('-').all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()))
    }

    #[test]
    fn the_catalog_covers_every_service_and_keeps_its_ids() {
        assert!(catalog().len() >= 50, "{} policies", catalog().len());
        for service in Service::ALL {
            let n = catalog().iter().filter(|p| p.service == service).count();
            assert!(n >= 10, "{service}: only {n} policies");
        }
        // Ids are stable: operators launch and scope policies by id.
        for (id, severity) in [
            ("s3-bucket-public-read-acl", 90),
            ("s3-bucket-versioning-disabled", 40),
            ("ec2-sg-open-ssh", 80),
            ("ec2-sg-open-rdp", 80),
            ("ec2-ebs-volume-unencrypted", 60),
            ("ec2-instance-imdsv2-not-required", 60),
            ("iam-root-mfa-disabled", 95),
            ("iam-user-access-key-too-old", 50),
        ] {
            assert_eq!(get(id).map(|p| p.severity.value()), Some(severity), "{id}");
        }
    }

    #[test]
    fn ids_are_unique_kebab_case_and_start_with_their_service() {
        let mut seen = HashSet::new();
        for p in catalog() {
            assert!(seen.insert(p.id), "duplicate id {}", p.id);
            assert!(is_kebab(p.id), "{} is not lowercase kebab-case", p.id);
            assert!(p.id.starts_with(&format!("{}-", p.service)), "{} does not start with {}-", p.id, p.service);
        }
    }

    #[test]
    fn service_and_resource_type_agree() {
        // The types docs/resources.md documents, and the service each is stored under.
        let known_types = [
            ("AWS::S3::Bucket", Service::S3),
            ("AWS::S3::AccountPublicAccessBlock", Service::S3),
            ("AWS::EC2::SecurityGroup", Service::Ec2),
            ("AWS::EC2::Instance", Service::Ec2),
            ("AWS::EC2::Volume", Service::Ec2),
            ("AWS::EC2::Snapshot", Service::Ec2),
            ("AWS::EC2::Image", Service::Ec2),
            ("AWS::EC2::NetworkAcl", Service::Ec2),
            ("AWS::EC2::AccountSettings", Service::Ec2),
            ("AWS::IAM::User", Service::Iam),
            ("AWS::IAM::Group", Service::Iam),
            ("AWS::IAM::Role", Service::Iam),
            ("AWS::IAM::ManagedPolicy", Service::Iam),
            ("AWS::IAM::ServerCertificate", Service::Iam),
            ("AWS::IAM::RootUser", Service::Iam),
            ("AWS::IAM::AccountPasswordPolicy", Service::Iam),
            ("AWS::AccessAnalyzer::AccountAnalyzers", Service::Iam),
        ];
        for p in catalog() {
            let service = known_types.iter().find(|(t, _)| *t == p.resource_type).map(|(_, s)| *s);
            assert_eq!(
                service,
                Some(p.service),
                "{}: resource type {} unknown or of another service",
                p.id,
                p.resource_type
            );
        }
    }

    #[test]
    fn metadata_is_complete() {
        for p in catalog() {
            let id = p.id;
            for (what, text) in [("title", p.title), ("description", p.description)] {
                assert!(!text.trim().is_empty(), "{id}: empty {what}");
            }
            assert!(p.title.len() <= 60, "{id}: title too long for a table column");
            assert!(is_kebab(p.category), "{id}: category {:?} is not kebab-case", p.category);
            let r = &p.remediation;
            assert!(!r.steps.is_empty() && r.steps.iter().all(|s| !s.trim().is_empty()), "{id}: remediation steps");
            assert!(r.cli.contains("aws "), "{id}: the CLI remediation is an AWS CLI command");
            assert!(r.console.contains(" > "), "{id}: the console remediation is a navigation path");
            assert!(
                r.iac.contains("resource \"aws_") || r.iac.contains("AWS::"),
                "{id}: IaC is Terraform or CloudFormation"
            );
            // No stray indentation from string continuations.
            for text in [p.description, r.cli, r.console].into_iter().chain(r.steps.iter().copied()) {
                assert!(!text.contains("  "), "{id}: double space in {text:?}");
            }
        }
    }

    #[test]
    fn compliance_references_are_well_formed() {
        for p in catalog() {
            assert!(!p.compliance.is_empty(), "{}: no compliance reference", p.id);
            let mut cited = HashSet::new();
            for c in p.compliance {
                assert!(cited.insert(c.framework), "{}: {} cited twice", p.id, c.framework);
                assert!(!c.controls.is_empty(), "{}: {} without controls", p.id, c.framework);
                let framework = frameworks::framework(c.framework)
                    .unwrap_or_else(|| panic!("{}: unknown framework {}", p.id, c.framework));
                for control in c.controls {
                    assert!(
                        framework.control(control).is_some(),
                        "{}: {} has no control {control:?}",
                        p.id,
                        c.framework
                    );
                }
            }
        }
    }

    #[test]
    fn severities_are_sensible() {
        for p in catalog() {
            // A posture policy reports a weakness: not informational, and only
            // exposure of data or of the whole account is critical.
            assert_ne!(p.severity.label(), SeverityLabel::Informational, "{}", p.id);
            if p.severity.label() == SeverityLabel::Critical {
                assert!(matches!(p.category, "data-exposure" | "identity"), "{} is critical", p.id);
            }
        }
    }

    #[test]
    fn parameter_defaults_resolve() {
        for p in catalog() {
            let params = p.resolve_params(&BTreeMap::new()).unwrap_or_else(|e| panic!("{}: {e}", p.id));
            let mut names = HashSet::new();
            for d in p.params {
                assert!(names.insert(d.name), "{}: parameter {} twice", p.id, d.name);
                assert!(d.name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'), "{}: {}", p.id, d.name);
                assert!(!d.description.trim().is_empty(), "{}: {} undocumented", p.id, d.name);
                // Each default is allowed by its own rule (form input reads it back).
                d.parse(&d.default_text()).unwrap_or_else(|e| panic!("{}: default {e}", p.id));
                if matches!(d.default, ParamValue::Int(_)) {
                    assert!(matches!(d.rule, qrie_model::ParamRule::Range(..)), "{}: {} unbounded", p.id, d.name);
                }
                match d.default {
                    ParamValue::Int(v) => assert_eq!(params.int(d.name), Ok(v)),
                    ParamValue::Bool(v) => assert_eq!(params.bool(d.name), Ok(v)),
                    ParamValue::Text(v) => assert_eq!(params.text(d.name), Ok(v)),
                }
            }
        }
        assert_eq!(get("iam-user-access-key-too-old").unwrap().params[0].default, ParamValue::Int(90));
    }

    #[test]
    fn lookups() {
        for p in catalog() {
            assert!(std::ptr::eq(get(p.id).unwrap(), *p));
        }
        assert!(get("s3-no-such-policy").is_none());
        let sg: Vec<&str> = for_resource_type("AWS::EC2::SecurityGroup").map(|p| p.id).collect();
        assert!(sg.contains(&"ec2-sg-open-ssh") && sg.contains(&"ec2-sg-open-rdp"), "{sg:?}");
        assert!(for_resource_type("AWS::S3::Bucket").all(|p| p.resource_type == "AWS::S3::Bucket"));
        assert_eq!(for_resource_type("AWS::Lambda::Function").count(), 0);
        let by_type: usize = catalog()
            .iter()
            .map(|p| p.resource_type)
            .collect::<HashSet<_>>()
            .into_iter()
            .map(|t| for_resource_type(t).count())
            .sum();
        assert_eq!(by_type, catalog().len());
        assert_eq!(default_policy_ids(), catalog().iter().map(|p| p.id).collect::<Vec<_>>());
    }

    #[test]
    fn no_policy_passes_a_resource_whose_data_was_not_collected() {
        // Every policy, on a resource of its type whose configuration is empty
        // (nothing collected), and on one whose every entry was unreadable.
        for p in catalog() {
            let arn = format!("arn:aws:{}:us-east-1:123456789012:thing/x", p.service);
            let empty = testing::resource(p.resource_type, &arn, "x", json!({}));
            assert!(matches!(testing::run(p, &empty), Verdict::Error(_)), "{} on nothing", p.id);
            let mut denied = empty.clone();
            // Every configuration key docs/resources.md documents.
            for key in [
                "Location",
                "Acl",
                "Policy",
                "PolicyStatus",
                "PublicAccessBlock",
                "Encryption",
                "Versioning",
                "Logging",
                "OwnershipControls",
                "Lifecycle",
                "ObjectLock",
                "Website",
                "Replication",
                "Tags",
                "SecurityGroup",
                "NetworkInterfaces",
                "Instance",
                "UserData",
                "Volume",
                "Snapshot",
                "CreateVolumePermissions",
                "Image",
                "LaunchPermissions",
                "NetworkAcl",
                "EbsEncryptionByDefault",
                "InstanceMetadataDefaults",
                "User",
                "Group",
                "Role",
                "ServerCertificateMetadata",
                "AccountSummary",
                "CredentialReport",
                "VirtualMFADevices",
                "SupportAccessEntities",
                "PasswordPolicy",
                "Analyzers",
            ] {
                denied = testing::unreadable(denied, key);
            }
            let v = testing::run(p, &denied);
            assert!(matches!(&v, Verdict::Error(e) if e.contains("AccessDenied")), "{}: {v:?}", p.id);
        }
    }
}
