//! The IAM collector against moto: two accounts (the second through
//! AssumeRole), the exact findings of a real inventory sweep through the
//! engine, absent-versus-unknown, injected failures, and describe.

mod common;
mod iam_seed;

use common::{Moto, ACCOUNT_A, ACCOUNT_B, ROLE_B};
use qrie_engine::accounts::NewAccount;
use qrie_engine::policies::LaunchOptions;
use qrie_engine::{Cloud, Described, Engine, InventoryRequest, NoProgress, SweepUnit};
use qrie_model::ids::pseudo_arn;
use qrie_model::{AccountSource, FindingState, Resource, ScanType, Service};
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::Arc;

fn unit(account: &str) -> SweepUnit {
    SweepUnit { account_id: account.to_string(), service: Service::Iam, region: None }
}

fn find<'a>(resources: &'a [Resource], arn: &str) -> &'a Resource {
    resources.iter().find(|r| r.arn == arn).unwrap_or_else(|| panic!("{arn} not listed"))
}

fn iam_policies() -> Vec<&'static str> {
    qrie_policies::catalog().iter().filter(|p| p.service == Service::Iam).map(|p| p.id).collect()
}

fn a(arn: &str) -> String {
    arn.replace("A:", &format!("{ACCOUNT_A}:"))
}

/// What the seeds get wrong, and what moto's defaults get wrong in both
/// accounts (no root MFA; B has no password policy). Everything else passes
/// or, where moto cannot answer, is an evaluation error (asserted apart).
fn expected() -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for account in [ACCOUNT_A, ACCOUNT_B] {
        out.insert((pseudo_arn::iam_root(account), "iam-root-mfa-disabled".to_string()));
        out.insert((pseudo_arn::iam_root(account), "iam-root-hardware-mfa-disabled".to_string()));
    }
    let b_password = pseudo_arn::iam_password_policy(ACCOUNT_B);
    for p in [
        "iam-password-policy-too-short",
        "iam-password-policy-reuse-allowed",
        "iam-password-policy-weak-complexity",
        "iam-password-policy-expiry-too-long",
    ] {
        out.insert((b_password.clone(), p.to_string()));
    }
    let rows = [
        ("arn:aws:iam::A:user/alice", "iam-user-console-no-mfa"),
        ("arn:aws:iam::A:user/bob", "iam-user-multiple-active-access-keys"),
        ("arn:aws:iam::A:user/carol", "iam-user-administrator-access"),
        ("arn:aws:iam::A:user/carol", "iam-user-direct-policies"),
        ("arn:aws:iam::A:user/carol", "iam-user-privilege-escalation"),
        ("arn:aws:iam::A:group/admins", "iam-group-inline-policy-full-admin"),
        ("arn:aws:iam::A:group/admins", "iam-group-privilege-escalation"),
        ("arn:aws:iam::A:role/ci-deploy", "iam-role-trust-cross-account-unconditioned"),
        ("arn:aws:iam::A:policy/escalate", "iam-managed-policy-privilege-escalation"),
    ];
    for (arn, p) in rows {
        out.insert((a(arn), p.to_string()));
    }
    let b = |arn: &str| arn.replace("B:", &format!("{ACCOUNT_B}:"));
    for (arn, p) in [
        (pseudo_arn::iam_root(ACCOUNT_B), "iam-support-role-missing"),
        (b("arn:aws:iam::B:role/open-role"), "iam-role-trust-any-principal"),
        (b("arn:aws:iam::B:policy/full-admin"), "iam-managed-policy-full-admin"),
        (b("arn:aws:iam::B:policy/full-admin"), "iam-managed-policy-privilege-escalation"),
        (b("arn:aws:iam::B:server-certificate/legacy-web"), "iam-server-certificate-expired"),
    ] {
        out.insert((arn, p.to_string()));
    }
    out
}

async fn seeded() -> Moto {
    let moto = Moto::start();
    iam_seed::iam_account_a(&moto.sdk_config().await).await;
    iam_seed::iam_account_b(&moto.sdk_config_in(ROLE_B).await).await;
    moto
}

#[tokio::test]
async fn listing_stores_the_shapes_the_policies_read() {
    let moto = seeded().await;
    let cloud = moto.cloud(&["us-east-1", "eu-west-1"]).await;
    let listing = cloud.list(&common::account(ACCOUNT_A, None), &unit(ACCOUNT_A)).await.expect("listing");
    assert!(listing.complete, "{:?}", listing.errors);
    let r = &listing.resources;

    let alice = find(r, &a("arn:aws:iam::A:user/alice"));
    assert_eq!(alice.resource_type, "AWS::IAM::User");
    assert_eq!(alice.region, "global");
    assert_eq!(alice.configuration["User"]["UserName"], "alice");
    assert_eq!(alice.configuration["CredentialReport"]["password_enabled"], "true");
    assert_eq!(alice.configuration["CredentialReport"]["mfa_active"], "false");
    assert!(alice.collection_errors.is_empty(), "{:?}", alice.collection_errors);

    // Inline documents are decoded JSON, exactly as seeded.
    let admins = find(r, &a("arn:aws:iam::A:group/admins"));
    let doc = &admins.configuration["Group"]["GroupPolicyList"][0]["PolicyDocument"];
    assert_eq!(doc["Statement"][0]["Action"], "*", "{doc}");
    let role = find(r, &a("arn:aws:iam::A:role/partner-audit"));
    let trust = &role.configuration["Role"]["AssumeRolePolicyDocument"];
    assert_eq!(trust["Statement"][0]["Condition"]["StringEquals"]["sts:ExternalId"], "partner-7f3a", "{trust}");
    let policy = find(r, &a("arn:aws:iam::A:policy/escalate"));
    let versions = policy.configuration["Policy"]["PolicyVersionList"].as_array().expect("versions");
    assert_eq!(versions.len(), 1);
    assert_eq!(versions[0]["IsDefaultVersion"], true);
    assert_eq!(versions[0]["Document"]["Statement"][0]["Action"][0], "iam:PassRole");
    // AWS-managed policies are not this account's resources.
    assert!(!r.iter().any(|x| x.arn.contains(":aws:policy/")));

    // The root: moto's report has no <root_account> row: read, absent, null.
    let root = find(r, &pseudo_arn::iam_root(ACCOUNT_A));
    assert_eq!(root.configuration["CredentialReport"], Value::Null);
    assert_eq!(root.configuration["AccountSummary"]["AccountMFAEnabled"], 0);
    assert_eq!(root.configuration["VirtualMFADevices"], serde_json::json!([]));
    assert_eq!(root.configuration["SupportAccessEntities"]["PolicyRoles"][0]["RoleName"], "aws-support");
    assert!(root.collection_errors.is_empty(), "{:?}", root.collection_errors);

    let password = find(r, &pseudo_arn::iam_password_policy(ACCOUNT_A));
    assert_eq!(password.configuration["PasswordPolicy"]["MinimumPasswordLength"], 14);

    // moto has no Access Analyzer: each region's resource is kept, with the
    // analyzers as a collection error (the policy then answers Error, not Pass).
    for region in ["us-east-1", "eu-west-1"] {
        let analyzers = find(r, &pseudo_arn::access_analyzers(ACCOUNT_A, region));
        assert_eq!(analyzers.region, region);
        assert!(analyzers.configuration.get("Analyzers").is_none());
        assert!(analyzers.collection_errors.contains_key("Analyzers"), "{:?}", analyzers.collection_errors);
    }

    // Account B, through AssumeRole: its own entities only.
    let b = cloud.list(&common::account(ACCOUNT_B, Some(ROLE_B)), &unit(ACCOUNT_B)).await.expect("listing B");
    assert!(b.complete, "{:?}", b.errors);
    assert!(b.resources.iter().all(|x| x.account_id == ACCOUNT_B && !x.arn.contains(ACCOUNT_A)));
    let none = find(&b.resources, &pseudo_arn::iam_password_policy(ACCOUNT_B));
    assert_eq!(none.configuration["PasswordPolicy"], Value::Null, "no policy is an explicit null");
    assert!(none.collection_errors.is_empty());
    let cert = find(&b.resources, &format!("arn:aws:iam::{ACCOUNT_B}:server-certificate/legacy-web"));
    assert!(cert.configuration["ServerCertificateMetadata"]["Expiration"].is_string());

    // Calls per account (docs/performance.md): one of each, one Access Analyzer
    // call per region, and the credential report generated twice (moto, like
    // IAM for a first report, answers STARTED before COMPLETE).
    let want: std::collections::BTreeMap<String, u64> = [
        ("AccessAnalyzer:ListAnalyzers", 2),
        ("IAM:GenerateCredentialReport", 2),
        ("IAM:GetAccountAuthorizationDetails", 1),
        ("IAM:GetAccountPasswordPolicy", 1),
        ("IAM:GetAccountSummary", 1),
        ("IAM:GetCredentialReport", 1),
        ("IAM:ListEntitiesForPolicy", 1),
        ("IAM:ListServerCertificates", 1),
        ("IAM:ListVirtualMFADevices", 1),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(listing.api_calls, want);
    // A report IAM already has is not generated again.
    let again = cloud.list(&common::account(ACCOUNT_A, None), &unit(ACCOUNT_A)).await.expect("listing");
    assert_eq!(again.api_calls.get("IAM:GenerateCredentialReport"), Some(&1));
}

#[tokio::test]
async fn a_sweep_finds_exactly_the_seeded_misconfigurations() {
    let moto = seeded().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let store = qrie_store::open(&format!("sqlite:{}", dir.path().join("q.db").display())).expect("store");
    let engine = Engine::new(store, Arc::new(moto.cloud(&["us-east-1"]).await));
    for (id, role) in [(ACCOUNT_A, None), (ACCOUNT_B, Some(ROLE_B))] {
        let new = NewAccount {
            account_id: id.into(),
            name: None,
            role_arn: role.map(str::to_string),
            external_id: None,
            regions: vec!["us-east-1".into()],
            org_path: vec![],
            source: AccountSource::Manual,
        };
        engine.add_account(new).await.expect("add account");
    }
    for id in iam_policies() {
        engine.launch_policy(id, LaunchOptions::default(), &NoProgress).await.expect("launch");
    }
    let req = InventoryRequest { services: vec![Service::Iam], scan_type: ScanType::Bootstrap, ..Default::default() };
    let report = engine.inventory_sweep(&req, &NoProgress).await.expect("sweep");
    // Every read went through; the job lists the two policies that could not
    // decide (what moto cannot answer, below), once each, in both accounts.
    let job_errors: BTreeSet<(Option<&str>, u64)> =
        report.job.errors.iter().map(|e| (e.policy_id.as_deref(), e.times())).collect();
    let want_job_errors =
        BTreeSet::from([(Some("iam-access-analyzer-disabled"), 2), (Some("iam-root-used-recently"), 2)]);
    assert_eq!(job_errors, want_job_errors, "{:?}", report.job.errors);
    assert!(report.job.errors.iter().all(|e| e.account_id.is_none()), "no collection error: {:?}", report.job.errors);

    let mut active = BTreeSet::new();
    for id in iam_policies() {
        for f in engine.store.findings_for_policy(id, Some(FindingState::Active)).await.expect("findings") {
            active.insert((f.arn, f.policy));
        }
    }
    let want = expected();
    let missing: Vec<_> = want.difference(&active).collect();
    let extra: Vec<_> = active.difference(&want).collect();
    assert!(missing.is_empty() && extra.is_empty(), "missing {missing:#?}\nunexpected {extra:#?}");

    // What moto cannot answer is an evaluation error in both accounts, never a pass.
    let errors: BTreeSet<(String, String)> = report.result["EvaluationErrors"]
        .as_array()
        .expect("EvaluationErrors")
        .iter()
        .map(|e| (e["ARN"].as_str().unwrap().to_string(), e["Policy"].as_str().unwrap().to_string()))
        .collect();
    let mut want_errors = BTreeSet::new();
    for account in [ACCOUNT_A, ACCOUNT_B] {
        want_errors.insert((pseudo_arn::iam_root(account), "iam-root-used-recently".to_string()));
        want_errors
            .insert((pseudo_arn::access_analyzers(account, "us-east-1"), "iam-access-analyzer-disabled".to_string()));
    }
    assert_eq!(errors, want_errors);

    // A user deleted out of band: the next sweep resolves its findings.
    let iam = iam_seed::iam(&moto.sdk_config().await);
    iam.delete_login_profile().user_name("alice").send().await.expect("delete login");
    iam.delete_user().user_name("alice").send().await.expect("delete user");
    engine.inventory_sweep(&req, &NoProgress).await.expect("sweep");
    let alice = engine.store.get_finding(&a("arn:aws:iam::A:user/alice"), "iam-user-console-no-mfa").await;
    let alice = alice.expect("finding").expect("kept");
    assert_eq!(alice.state, FindingState::Resolved);
}

#[tokio::test]
async fn unreadable_answers_are_errors_and_a_failed_listing_is_incomplete() {
    let moto = seeded().await;
    let account = common::account(ACCOUNT_A, None);
    let denied = common::fail_call("GetAccountPasswordPolicy", "", 403, "AccessDenied");
    let cloud = moto.cloud_with(&["us-east-1"], vec![denied]).await;
    let listing = cloud.list(&account, &unit(ACCOUNT_A)).await.expect("listing");
    assert!(listing.complete, "{:?}", listing.errors);
    let password = find(&listing.resources, &pseudo_arn::iam_password_policy(ACCOUNT_A));
    assert!(password.configuration.get("PasswordPolicy").is_none());
    assert!(password.collection_errors.contains_key("PasswordPolicy"), "{:?}", password.collection_errors);
    for def in qrie_policies::for_resource_type("AWS::IAM::AccountPasswordPolicy") {
        let verdicts = common::verdicts(password, &[]);
        let (_, v) = verdicts.iter().find(|(id, _)| id == def.id).expect("verdict");
        assert!(matches!(v, qrie_model::Verdict::Error(_)), "{}: {v:?}", def.id);
    }

    let report_fails = common::fail_call("GetCredentialReport", "", 500, "ServiceFailure");
    let cloud = moto.cloud_with(&["us-east-1"], vec![report_fails]).await;
    let listing = cloud.list(&account, &unit(ACCOUNT_A)).await.expect("listing");
    let bob = find(&listing.resources, &a("arn:aws:iam::A:user/bob"));
    assert!(bob.collection_errors.contains_key("CredentialReport"), "{:?}", bob.collection_errors);
    assert!(bob.configuration.get("User").is_some());

    let gaad = common::fail_call("GetAccountAuthorizationDetails", "", 500, "ServiceFailure");
    let cloud = moto.cloud_with(&["us-east-1"], vec![gaad]).await;
    let listing = cloud.list(&account, &unit(ACCOUNT_A)).await.expect("listing");
    assert!(!listing.complete, "a failed entity listing must not read as deletions");
    assert!(listing.errors[0].starts_with("GetAccountAuthorizationDetails"), "{:?}", listing.errors);
    assert!(!listing.resources.iter().any(|r| r.resource_type == "AWS::IAM::User"));
    // The account-level settings are still read.
    find(&listing.resources, &pseudo_arn::iam_root(ACCOUNT_A));
}

#[tokio::test]
async fn describe_answers_present_gone_or_error() {
    let moto = seeded().await;
    let cloud = moto.cloud(&["us-east-1"]).await;
    let account = common::account(ACCOUNT_A, None);
    let listing = cloud.list(&account, &unit(ACCOUNT_A)).await.expect("listing");
    for arn in [
        a("arn:aws:iam::A:user/alice"),
        a("arn:aws:iam::A:role/ci-deploy"),
        a("arn:aws:iam::A:group/admins"),
        a("arn:aws:iam::A:policy/escalate"),
        pseudo_arn::iam_root(ACCOUNT_A),
        pseudo_arn::iam_password_policy(ACCOUNT_A),
    ] {
        let listed = find(&listing.resources, &arn);
        match cloud.describe(&account, &arn).await.expect("describe") {
            Described::Present(r) => {
                assert_eq!(r.configuration, listed.configuration, "{arn}: describe and list agree");
                assert_eq!(r.resource_type, listed.resource_type);
            }
            Described::Gone { .. } => panic!("{arn} is there"),
        }
    }
    let b = common::account(ACCOUNT_B, Some(ROLE_B));
    let cert = format!("arn:aws:iam::{ACCOUNT_B}:server-certificate/legacy-web");
    assert!(matches!(cloud.describe(&b, &cert).await, Ok(Described::Present(_))));

    for gone in [
        a("arn:aws:iam::A:user/nobody"),
        a("arn:aws:iam::A:role/nobody"),
        a("arn:aws:iam::A:group/nobody"),
        a("arn:aws:iam::A:policy/nobody"),
        a("arn:aws:iam::A:server-certificate/nobody"),
    ] {
        assert!(matches!(cloud.describe(&account, &gone).await, Ok(Described::Gone { .. })), "{gone}");
    }
    // An error is not "gone".
    let denied = common::fail_call("GetAccountAuthorizationDetails", "", 403, "AccessDenied");
    let cloud = moto.cloud_with(&["us-east-1"], vec![denied]).await;
    assert!(cloud.describe(&account, &a("arn:aws:iam::A:user/alice")).await.is_err());
    assert!(cloud.describe(&account, &a("arn:aws:iam::A:mfa/alice")).await.is_err());
}
