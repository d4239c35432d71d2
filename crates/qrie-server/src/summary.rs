//! `/api/summary/*` and `/api/compliance`: the dashboard (cached an hour, one
//! recompute at a time), resource and finding breakdowns, drift, posture.

use crate::json::Json;
use axum::extract::State;
use axum::http::Method;
use axum::routing::get;
use qrie_model::FindingState;
use qrie_store::{FindingFilter, FindingGroup, ResourceFilter, ResourceGroup};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;

use crate::auth::{Principal, Role};
use crate::extract::{removed_accounts, ApiPath, ApiQuery};
use crate::{ApiError, ApiResult, AppState, Routes};

pub(crate) fn routes(r: Routes) -> Routes {
    r.add("/summary/dashboard", &[Method::GET], get(dashboard))
        .add("/summary/resources", &[Method::GET], get(resources))
        .add("/summary/findings", &[Method::GET], get(findings))
        .add("/summary/drift", &[Method::GET], get(drift))
        .add("/compliance", &[Method::GET], get(compliance_all))
        .add("/compliance/{framework}", &[Method::GET], get(compliance_one))
}

async fn dashboard(State(state): State<AppState>, who: Principal) -> ApiResult<axum::response::Response> {
    use axum::response::IntoResponse;
    who.require(Role::Viewer)?;
    let d = state.dashboard.get(&state.engine).await?;
    Ok(([(axum::http::header::CONTENT_TYPE, "application/json")], d.json.clone()).into_response())
}

/// The dashboard as this process last read it, with the summaries'
/// generation it was read at. A request checks the generation (one counter
/// read) and answers from this copy while it is unchanged and younger than
/// [`COPY_FOR`]: readers never queue behind each other or behind a sweep's
/// writes for it. When the copy is out of date, one caller reads again (or
/// recomputes) while the others answer from the copy they have; callers
/// wait only when there is no copy yet, and then answer from the one read
/// (the engine's store lock does the same across processes).
#[derive(Default)]
pub struct DashboardCopy {
    gate: tokio::sync::Mutex<()>,
    last: std::sync::RwLock<Option<Copy>>,
}

struct Copy {
    generation: i64,
    read_at: std::time::Instant,
    value: Shared,
}

/// The dashboard read, and its JSON as the API answers it (serialised once
/// per read, not per request).
pub struct DashboardRead {
    pub value: qrie_engine::summary::Cached<qrie_engine::summary::Dashboard>,
    pub json: axum::body::Bytes,
}

/// How long a copy serves at an unchanged generation. Short: the copy may be
/// the stale one the engine answers while another process recomputes, and
/// the store's entry has its own expiry; this only spares re-reading it.
const COPY_FOR: std::time::Duration = std::time::Duration::from_secs(2);

type Shared = std::sync::Arc<DashboardRead>;

impl DashboardCopy {
    fn current(&self, generation: i64) -> Option<Shared> {
        let last = self.last.read().unwrap_or_else(|p| p.into_inner());
        last.as_ref().filter(|c| c.generation == generation && c.read_at.elapsed() < COPY_FOR).map(|c| c.value.clone())
    }

    fn any(&self) -> Option<Shared> {
        self.last.read().unwrap_or_else(|p| p.into_inner()).as_ref().map(|c| c.value.clone())
    }

    pub async fn get(&self, engine: &qrie_engine::Engine) -> Result<Shared, ApiError> {
        let generation = qrie_engine::summary::generation(&*engine.store).await?;
        if let Some(d) = self.current(generation) {
            return Ok(d);
        }
        // One caller reads again; the others answer from the copy they have
        // (one generation old at most) instead of queueing behind its
        // recompute. Only with no copy at all do they wait for it.
        let _one_at_a_time = match self.gate.try_lock() {
            Ok(gate) => gate,
            Err(_) => match self.any() {
                Some(d) => return Ok(d),
                None => self.gate.lock().await,
            },
        };
        if let Some(d) = self.current(generation) {
            return Ok(d);
        }
        let read = |value: qrie_engine::summary::Cached<qrie_engine::summary::Dashboard>| {
            let json = crate::json::to_vec(&value).map_err(ApiError::internal)?.into();
            Ok::<_, ApiError>(std::sync::Arc::new(DashboardRead { value, json }))
        };
        let fresh = engine.dashboard().await?;
        // Others are answered from the copy, which is cached for them.
        let kept = read(qrie_engine::summary::Cached { value: fresh.value.clone(), cached: true })?;
        // Stamped with the generation read before it: an invalidation since
        // makes the next request read again.
        let copy = Copy { generation, read_at: std::time::Instant::now(), value: kept };
        *self.last.write().unwrap_or_else(|p| p.into_inner()) = Some(copy);
        read(fresh)
    }
}

fn as_map(rows: Vec<(String, u64)>) -> BTreeMap<String, u64> {
    rows.into_iter().collect()
}

/// Resource counts by account, service, region and type (removed accounts left out).
async fn resources(State(state): State<AppState>, who: Principal) -> ApiResult<Json<Value>> {
    who.require(Role::Viewer)?;
    let store = &*state.engine.store;
    let f = ResourceFilter { exclude_accounts: removed_accounts(store).await?, ..Default::default() };
    let by = |g| store.count_resources(&f, Some(g));
    Ok(Json(json!({
        "Total": store.count_resources(&f, None).await?.into_iter().map(|r| r.1).sum::<u64>(),
        "ByAccount": as_map(by(ResourceGroup::Account).await?),
        "ByService": as_map(by(ResourceGroup::Service).await?),
        "ByRegion": as_map(by(ResourceGroup::Region).await?),
        "ByType": as_map(by(ResourceGroup::ResourceType).await?),
    })))
}

/// Active finding counts by severity score, policy, account, service and
/// region, and counts by state (removed accounts left out).
async fn findings(State(state): State<AppState>, who: Principal) -> ApiResult<Json<Value>> {
    who.require(Role::Viewer)?;
    let store = &*state.engine.store;
    let removed = removed_accounts(store).await?;
    let all = FindingFilter { exclude_accounts: removed.clone(), ..Default::default() };
    let active = FindingFilter { state: Some(FindingState::Active), exclude_accounts: removed, ..Default::default() };
    let by = |g| store.count_findings(&active, Some(g));
    Ok(Json(json!({
        "ByState": as_map(store.count_findings(&all, Some(FindingGroup::State)).await?),
        "ActiveBySeverity": as_map(by(FindingGroup::Severity).await?),
        "ActiveByPolicy": as_map(by(FindingGroup::Policy).await?),
        "ActiveByAccount": as_map(by(FindingGroup::Account).await?),
        "ActiveByService": as_map(by(FindingGroup::Service).await?),
        "ActiveByRegion": as_map(by(FindingGroup::Region).await?),
    })))
}

#[derive(Deserialize)]
pub struct DriftQuery {
    history: Option<usize>,
}

async fn drift(
    State(state): State<AppState>,
    who: Principal,
    ApiQuery(q): ApiQuery<DriftQuery>,
) -> ApiResult<Json<Value>> {
    who.require(Role::Viewer)?;
    let history = q.history.unwrap_or(10).min(1000);
    Ok(Json(serde_json::to_value(state.engine.drift(history).await?).map_err(ApiError::internal)?))
}

async fn compliance_all(State(state): State<AppState>, who: Principal) -> ApiResult<Json<Value>> {
    who.require(Role::Viewer)?;
    Ok(Json(json!({"Frameworks": state.engine.compliance(None).await?})))
}

async fn compliance_one(
    State(state): State<AppState>,
    who: Principal,
    ApiPath(framework): ApiPath<String>,
) -> ApiResult<Json<Value>> {
    who.require(Role::Viewer)?;
    let mut all = state.engine.compliance(Some(&framework)).await.map_err(|e| match e {
        // An unknown framework in the path is an unknown thing, not bad input.
        qrie_engine::EngineError::Invalid(v) => ApiError::not_found("unknown_framework", v.to_string()),
        e => e.into(),
    })?;
    match all.pop() {
        Some(p) => Ok(Json(serde_json::to_value(p).map_err(ApiError::internal)?)),
        None => Err(ApiError::not_found("unknown_framework", format!("no framework {framework:?}"))),
    }
}
