//! Shared by the integration tests: a small simulated estate in a temporary
//! SQLite store with the default policies launched and one inventory sweep
//! done, a router over it, and one token per role.
#![allow(dead_code)]

use axum::body::Body;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use qrie_engine::sim::{SimCloud, SimEstate, SimSpec};
use qrie_engine::{Cloud, CloudError, Described, Engine, Listing, OrgAccount, SweepUnit};
use qrie_server::auth::{self, Role};
use qrie_server::{router, AppState, ServerConfig};
use serde_json::Value;
use std::sync::{Arc, RwLock};
use tower::ServiceExt;

pub struct World {
    pub _dir: tempfile::TempDir,
    pub state: AppState,
    pub app: Router,
    pub estate: Arc<RwLock<SimEstate>>,
    pub viewer: String,
    pub operator: String,
    pub admin: String,
}

pub async fn world_with(config: ServerConfig) -> World {
    let dir = tempfile::tempdir().unwrap();
    let store = qrie_store::open(&format!("sqlite:{}", dir.path().join("t.db").display())).unwrap();
    let spec = SimSpec { seed: 7, accounts: 2, resources_per_account: 40, created_at: chrono::Utc::now() };
    let (engine, estate) = qrie_engine::sim::swept_estate(store.clone(), spec).await.unwrap();
    let tok = |r| {
        let store = store.clone();
        async move { auth::create_token(&*store, r, None).await.unwrap().token }
    };
    let (viewer, operator, admin) = (tok(Role::Viewer).await, tok(Role::Operator).await, tok(Role::Admin).await);
    let state = AppState::new(engine, config);
    World { _dir: dir, app: router(state.clone()), state, estate, viewer, operator, admin }
}

pub async fn world() -> World {
    world_with(ServerConfig::default()).await
}

/// The simulated estate as if it were in an AWS organization whose member
/// accounts are `members`: discovery answers them, sweeps read the estate.
pub struct InOrganization {
    pub sim: SimCloud,
    pub members: Vec<OrgAccount>,
}

#[async_trait::async_trait]
impl Cloud for InOrganization {
    async fn enabled_regions(&self, account: &qrie_model::Account) -> Result<Vec<String>, CloudError> {
        self.sim.enabled_regions(account).await
    }

    async fn list(&self, account: &qrie_model::Account, unit: &SweepUnit) -> Result<Listing, CloudError> {
        self.sim.list(account, unit).await
    }

    async fn describe(&self, account: &qrie_model::Account, arn: &str) -> Result<Described, CloudError> {
        self.sim.describe(account, arn).await
    }

    async fn discover_accounts(&self) -> Result<Option<Vec<OrgAccount>>, CloudError> {
        Ok(Some(self.members.clone()))
    }
}

/// `w` with its engine's cloud in an organization of `members` (same store,
/// same tokens).
pub fn in_organization(w: World, members: Vec<OrgAccount>) -> World {
    let cloud = InOrganization { sim: SimCloud::new(w.estate.clone()), members };
    let engine = Engine::new(w.state.engine.store.clone(), Arc::new(cloud));
    let state = AppState::new(engine, (*w.state.config).clone());
    World { app: router(state.clone()), state, ..w }
}

/// A member account as Organizations describes it.
pub fn member(account_id: &str, name: &str, status: &str, ou: &str) -> OrgAccount {
    OrgAccount {
        account_id: account_id.into(),
        name: name.into(),
        status: status.into(),
        org_path: vec!["r-ab12".into(), ou.into()],
        org_path_names: vec!["Root".into(), "Workloads".into()],
    }
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
    pub json: Value,
}

pub async fn call(app: &Router, req: Request<Body>) -> Reply {
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8_lossy(&bytes).to_string();
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Reply { status, headers, text, json }
}

pub fn req(method: Method, uri: &str, token: Option<&str>, body: Option<Value>) -> Request<Body> {
    let mut b = Request::builder().method(method).uri(uri);
    if let Some(t) = token {
        b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    match body {
        Some(v) => b.header(header::CONTENT_TYPE, "application/json").body(Body::from(v.to_string())).unwrap(),
        None => b.body(Body::empty()).unwrap(),
    }
}

/// A name and a tag value that would run script if a page ever put them in
/// its markup unescaped: each sets `window.__qrie_xss`.
pub const EVIL_NAME: &str = "<script>window.__qrie_xss=1</script>evil-bucket";
pub const EVIL_TAG: &str = "\"><img src=x onerror=\"window.__qrie_xss=2\">";

/// Renames a resource that has an active finding to [`EVIL_NAME`] and tags
/// it with [`EVIL_TAG`]; returns it with the policy of that finding.
pub async fn plant_markup(state: &AppState) -> (qrie_model::Resource, String) {
    let store = &state.engine.store;
    let filter = qrie_store::FindingFilter { state: Some(qrie_model::FindingState::Active), ..Default::default() };
    let page = store
        .list_findings(&filter, qrie_store::FindingSort::SeverityDesc, &qrie_store::PageRequest::first(1))
        .await
        .unwrap();
    let f = page.items.into_iter().next().expect("the demo estate has active findings");
    let mut r = store.get_resource(&f.arn).await.unwrap().unwrap();
    r.name = EVIL_NAME.to_string();
    r.tags.insert("owner".into(), EVIL_TAG.into());
    r.last_seen_at = chrono::Utc::now();
    r.rehash();
    store.put_resources(vec![r.clone()]).await.unwrap();
    (r, f.policy)
}

/// The policy with the most active findings.
pub async fn busiest_policy(state: &AppState) -> (String, u64) {
    let filter = qrie_store::FindingFilter { state: Some(qrie_model::FindingState::Active), ..Default::default() };
    let rows = state.engine.store.count_findings(&filter, Some(qrie_store::FindingGroup::Policy)).await.unwrap();
    rows.into_iter().max_by_key(|r| r.1).unwrap()
}
