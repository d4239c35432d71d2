//! Organizations discovery against moto: member accounts with their OU paths,
//! added (not baselined) or updated by the engine, and picked up by the weekly
//! anti-entropy sweep before it lists anything.

mod common;

use aws_sdk_organizations::types::{CreateAccountState, OrganizationFeatureSet};
use common::{Moto, ACCOUNT_A};
use qrie_engine::accounts::NewAccount;
use qrie_engine::{Cloud, Engine, InventoryRequest, NoProgress};
use qrie_model::{AccountSource, ScanType};
use std::sync::Arc;

struct Org {
    root: String,
    prod: String,
    member: String,
}

/// A's organization: Root → Workloads → Prod, one member account in Prod.
async fn organization(moto: &Moto) -> Org {
    let org = aws_sdk_organizations::Client::new(&moto.sdk_config().await);
    org.create_organization().feature_set(OrganizationFeatureSet::All).send().await.expect("organization");
    let roots = org.list_roots().send().await.expect("roots");
    let root = roots.roots()[0].id().expect("root id").to_string();
    let ou = |parent: String, name: &'static str| {
        let org = org.clone();
        async move {
            let out = org.create_organizational_unit().parent_id(parent).name(name).send().await.expect("ou");
            out.organizational_unit().and_then(|u| u.id()).expect("ou id").to_string()
        }
    };
    let workloads = ou(root.clone(), "Workloads").await;
    let prod = ou(workloads, "Prod").await;
    let member = create_account(&org, "payments-prod").await;
    org.move_account()
        .account_id(&member)
        .source_parent_id(&root)
        .destination_parent_id(&prod)
        .send()
        .await
        .expect("move");
    Org { root, prod, member }
}

/// A new member account, in the root.
async fn create_account(org: &aws_sdk_organizations::Client, name: &str) -> String {
    let created = org.create_account().account_name(name).email(format!("{name}@example.com")).send().await;
    let status = created.expect("create account").create_account_status().cloned().expect("status");
    assert_eq!(status.state(), Some(&CreateAccountState::Succeeded));
    status.account_id().expect("account id").to_string()
}

#[tokio::test]
async fn discovery_reads_accounts_with_their_ou_paths() {
    let moto = Moto::start();
    let cloud = moto.cloud(&["us-east-1"]).await;
    assert_eq!(cloud.discover_accounts().await.expect("no organization is not an error"), None);

    let org = organization(&moto).await;
    let found = cloud.discover_accounts().await.expect("discover").expect("an organization");
    let member = found.iter().find(|a| a.account_id == org.member).expect("member listed");
    assert_eq!(member.name, "payments-prod");
    assert_eq!(member.status, "ACTIVE");
    assert_eq!(member.org_path.len(), 3);
    assert_eq!(member.org_path[0], org.root);
    assert_eq!(member.org_path[2], org.prod);
    assert_eq!(member.org_path_names, ["Root", "Workloads", "Prod"]);
    let management = found.iter().find(|a| a.account_id == ACCOUNT_A).expect("management account listed");
    assert_eq!(management.org_path, std::slice::from_ref(&org.root));
}

#[tokio::test]
async fn the_weekly_sweep_discovers_new_accounts_first() {
    let moto = Moto::start();
    let org = organization(&moto).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let store = qrie_store::open(&format!("sqlite:{}", dir.path().join("q.db").display())).expect("store");
    let engine = Engine::new(store, Arc::new(moto.cloud(&["us-east-1"]).await));
    let a = NewAccount {
        account_id: ACCOUNT_A.into(),
        name: Some("management".into()),
        role_arn: None,
        external_id: None,
        regions: vec![],
        org_path: vec![],
        source: AccountSource::Manual,
    };
    engine.add_account(a).await.expect("add");

    // Neither a bootstrap sweep nor a weekly one before any discovery (qrie
    // is not running with an organization yet) reads Organizations.
    let bootstrap = InventoryRequest { scan_type: ScanType::Bootstrap, ..Default::default() };
    let weekly = InventoryRequest { scan_type: ScanType::AntiEntropy, ..Default::default() };
    for req in [&bootstrap, &weekly] {
        let r = engine.inventory_sweep(req, &NoProgress).await.expect("sweep");
        assert!(r.result["Discovery"].is_null(), "{}", r.result["Discovery"]);
    }
    assert_eq!(engine.list_accounts(false).await.expect("accounts").len(), 1);

    // `qrie accounts discover` opts in.
    let d = engine.discover_accounts().await.expect("discover").expect("organization");
    assert_eq!(d.added.iter().map(|a| a.account_id.as_str()).collect::<Vec<_>>(), [org.member.as_str()]);
    assert_eq!(d.updated.iter().map(|a| a.account_id.as_str()).collect::<Vec<_>>(), [ACCOUNT_A], "A gains its path");

    // A later account is picked up by the weekly sweep before it lists anything.
    let client = aws_sdk_organizations::Client::new(&moto.sdk_config().await);
    let later = create_account(&client, "analytics").await;
    let r = engine.inventory_sweep(&weekly, &NoProgress).await.expect("sweep");
    assert_eq!(r.result["Discovery"]["Added"], serde_json::json!([later]), "{}", r.result);
    assert_eq!(r.result["Discovery"]["Updated"], serde_json::json!([]));
    // Swept in the same job, and left out of drift until baselined.
    let unbaselined = r.result["Drift"]["UnbaselinedAccounts"].as_array().expect("unbaselined").clone();
    assert!(unbaselined.contains(&serde_json::json!(later)) && unbaselined.contains(&serde_json::json!(org.member)));
    assert!(r.job.target["Accounts"].as_array().expect("accounts").iter().any(|a| a == later.as_str()));
    assert_eq!(engine.account(&later).await.expect("later").org_path, std::slice::from_ref(&org.root));

    let member = engine.account(&org.member).await.expect("member stored");
    assert_eq!(member.source, AccountSource::Organizations);
    assert_eq!(member.name, "payments-prod");
    assert_eq!(member.org_path.last(), Some(&org.prod));
    let management = engine.account(ACCOUNT_A).await.expect("A");
    assert_eq!((management.source, management.name.as_str()), (AccountSource::Manual, "management"));
    assert_eq!(management.org_path, std::slice::from_ref(&org.root));

    // Nothing new: a second discovery changes nothing.
    let d = engine.discover_accounts().await.expect("discover").expect("organization");
    assert!(!d.changed(), "{d:?}");
    assert_eq!(d.unchanged, 3);
    assert_eq!(d.paths[&org.member], "Root/Workloads/Prod");

    // A removed account stays removed.
    engine.remove_account(&org.member).await.expect("remove");
    let d = engine.discover_accounts().await.expect("discover").expect("organization");
    assert_eq!(d.skipped_removed, std::slice::from_ref(&org.member));
}
