//! The conformance suite every backend must pass.
//!
//! Each case is a `pub async fn(Arc<dyn Store>)` that gets a fresh, empty
//! store and panics on the first broken rule. A backend runs them all with
//! [`conformance_tests!`](crate::conformance_tests), one `#[test]` per case:
//!
//! ```no_run
//! use qrie_store::{sqlite::SqliteStore, Store};
//! use std::sync::Arc;
//!
//! async fn fresh() -> Arc<dyn Store> {
//!     Arc::new(SqliteStore::open_temporary().expect("a temporary store"))
//! }
//!
//! qrie_store::conformance_tests!(fresh());
//! # fn main() {}
//! ```
//!
//! or in one go with [`run_all`].
//!
//! Besides the trait docs, the suite pins down what callers rely on:
//! - every page before the last holds exactly `limit` items and the last has
//!   no `next_token` (a walk never ends on an empty page);
//! - ties sort by the list's key: findings by (ARN, Policy), jobs by id
//!   descending after `created_at`;
//! - observation and evaluation times are ordered at millisecond precision,
//!   while documents give back exactly what was written;
//! - `search` ignores ASCII case and treats `%`, `_` and `\` literally;
//! - grouped counts are ordered by count, then by key as text.

use chrono::{DateTime, Duration};
use qrie_model::{
    Account, AccountSource, AccountStatus, DetectedBy, Finding, FindingState, Job, JobError, JobKind, JobStatus,
    LaunchedPolicy, Lease, PolicyStatus, ResolvedReason, Resource, ScanType, Scope, Service, Severity, Timestamp,
    Transition, TransitionKind, Trigger,
};
use serde_json::{json, Value};
use std::cmp::Reverse;
use std::collections::BTreeMap;
use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::{
    FindingFilter, FindingGroup, FindingSort, FindingWrite, FindingWriteOutcome, JobFilter, Page, PageRequest,
    PolicyFence, ResourceDigest, ResourceFilter, ResourceGroup, Result, Store, StoreError, SummaryEntry, WriteOutcome,
};

/// Expands to one `#[test]` per conformance case, each running on a fresh
/// store from `$factory` (an expression of type `impl Future<Output =
/// Arc<dyn Store>>`, evaluated once per case) inside a current-thread tokio
/// runtime. The tests go in a module named `conformance`, or the one given:
/// `conformance_tests!(mod in_memory => fresh_in_memory());`.
#[macro_export]
macro_rules! conformance_tests {
    // The one list of cases; `run_all` reads it too.
    (@cases $mode:ident [$($arg:tt)*]) => {
        $crate::conformance_tests! {@$mode [$($arg)*]
            resource_round_trip,
            resource_observation_order,
            resource_deletion_is_not_undone_by_older_sweeps,
            resource_deletion_addresses_the_accounts_row,
            resource_bulk_writes_and_lookups,
            resource_pagination,
            resource_filters,
            resource_counts,
            resource_digests,
            finding_round_trip,
            finding_lists,
            finding_counts,
            finding_conditional_writes,
            finding_policy_fences,
            finding_notices_land_with_their_writes,
            finding_writes_under_contention,
            foreign_and_tampered_tokens,
            policies,
            accounts_and_purge,
            jobs,
            summaries,
            locks,
            locks_under_contention,
            history,
            kv,
            counters_under_contention,
            versioned_entries,
            claims_under_contention,
            job_conditional_writes,
        }
    };
    (@tests [$factory:expr] $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                $crate::conformance::block_on(async { $crate::conformance::$case($factory.await).await });
            }
        )*
    };
    (@table [] $($case:ident),* $(,)?) => {
        [$((stringify!($case), {
            fn case(store: ::std::sync::Arc<dyn $crate::Store>) -> $crate::conformance::CaseFuture {
                ::std::boxed::Box::pin($crate::conformance::$case(store))
            }
            case as $crate::conformance::Case
        })),*]
    };
    (mod $module:ident => $factory:expr) => {
        mod $module {
            #[allow(unused_imports)]
            use super::*;
            $crate::conformance_tests!(@cases tests [$factory]);
        }
    };
    ($factory:expr) => {
        $crate::conformance_tests!(mod conformance => $factory);
    };
}

pub type CaseFuture = Pin<Box<dyn Future<Output = ()>>>;
pub type Case = fn(Arc<dyn Store>) -> CaseFuture;

/// Every case, by name.
pub fn cases() -> Vec<(&'static str, Case)> {
    crate::conformance_tests!(@cases table []).to_vec()
}

/// Runs every case, each on a fresh store from `make`.
pub async fn run_all<F, Fut>(make: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<dyn Store>>,
{
    for (name, case) in cases() {
        eprintln!("conformance: {name}");
        case(make().await).await;
    }
}

/// What `#[tokio::test]` does, without asking the caller to depend on tokio's macros.
#[doc(hidden)]
pub fn block_on<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread tokio runtime for a conformance case")
        .block_on(future)
}

// ---------------------------------------------------------------------------
// Fixtures

const A1: &str = "111111111111";
const A2: &str = "222222222222";
const A3: &str = "333333333333";
/// Has resources and findings but no account row.
const A4: &str = "444444444444";

/// A fixed instant plus `secs`, with a sub-millisecond part that documents must keep.
fn at(secs: i64) -> Timestamp {
    DateTime::from_timestamp(1_714_564_800, 123_456_789).expect("a valid base instant") + Duration::seconds(secs)
}

fn resource(account: &str, service: Service, region: &str, resource_type: &str, name: &str, secs: i64) -> Resource {
    let arn = match service {
        Service::S3 => format!("arn:aws:s3:::{name}"),
        Service::Ec2 => {
            format!("arn:aws:ec2:{region}:{account}:{}/{name}", resource_type.rsplit("::").next().unwrap_or(""))
        }
        Service::Iam => format!("arn:aws:iam::{account}:user/{name}"),
    };
    let tags = BTreeMap::from([("Name".to_string(), name.to_string())]);
    Resource::new(
        arn,
        account,
        region,
        service,
        resource_type,
        name,
        tags,
        json!({"Describe": {"Name": name, "Region": region}}),
        BTreeMap::new(),
        at(secs),
    )
}

/// Two full accounts, a small one, one without an account row, names with
/// LIKE metacharacters, and some deleted rows.
fn estate() -> Vec<Resource> {
    let mut out = Vec::new();
    for (account, short) in [(A1, "a1"), (A2, "a2")] {
        for region in ["us-east-1", "eu-west-1"] {
            for n in 0..3 {
                out.push(resource(
                    account,
                    Service::S3,
                    region,
                    "AWS::S3::Bucket",
                    &format!("{short}-bucket-{region}-{n}"),
                    n,
                ));
            }
            for n in 0..2 {
                out.push(resource(
                    account,
                    Service::Ec2,
                    region,
                    "AWS::EC2::Instance",
                    &format!("i-{short}-{region}-{n}"),
                    n,
                ));
            }
            out.push(resource(
                account,
                Service::Ec2,
                region,
                "AWS::EC2::SecurityGroup",
                &format!("sg-{short}-{region}"),
                3,
            ));
        }
        for user in ["alice", "bob"] {
            out.push(resource(account, Service::Iam, "global", "AWS::IAM::User", &format!("{short}-{user}"), 4));
        }
    }
    out.push(resource(A1, Service::S3, "us-east-1", "AWS::S3::Bucket", "logs_100%_full", 5));
    out.push(resource(A1, Service::S3, "us-east-1", "AWS::S3::Bucket", "Mixed-CASE-Bucket", 5));
    out.push(resource(A1, Service::S3, "eu-west-1", "AWS::S3::Bucket", "back\\slash", 5));
    out.push(resource(A2, Service::Ec2, "us-east-1", "AWS::EC2::Instance", "under_score", 5));
    out.push(resource(A3, Service::S3, "us-east-1", "AWS::S3::Bucket", "a3-only-bucket", 6));
    out.push(resource(A4, Service::Iam, "global", "AWS::IAM::User", "a4-orphan", 6));
    for name in ["i-a1-eu-west-1-1", "a2-bucket-us-east-1-2"] {
        let r = out.iter_mut().find(|r| r.name == name).expect("fixture resource to delete");
        r.deleted_at = Some(at(50));
    }
    out
}

fn finding(r: &Resource, policy: &str, severity: u8, state: FindingState, last_secs: i64) -> Finding {
    let resolved = state == FindingState::Resolved;
    let opened = Transition {
        at: at(0),
        kind: TransitionKind::Opened,
        reason: None,
        trigger: Trigger::job(DetectedBy::Bootstrap, "job-1"),
    };
    let mut history = vec![opened];
    if resolved {
        history.push(Transition {
            at: at(last_secs),
            kind: TransitionKind::Resolved,
            reason: Some(ResolvedReason::Compliant),
            trigger: Trigger::new(DetectedBy::Event),
        });
    }
    Finding {
        arn: r.arn.clone(),
        policy: policy.to_string(),
        account_service: r.account_service(),
        account_id: r.account_id.clone(),
        region: r.region.clone(),
        resource_type: r.resource_type.clone(),
        severity: Severity::of(severity),
        state,
        first_seen: at(0),
        last_evaluated: at(last_secs),
        evidence: json!({"Path": "$.Describe.Name", "Value": r.name, "Note": "it's \"public\" <b>100%</b>"}),
        resolved_at: resolved.then(|| at(last_secs)),
        resolved_reason: resolved.then_some(ResolvedReason::Compliant),
        detected_by: DetectedBy::Bootstrap,
        transitions: 0,
        history,
        version: 1,
    }
}

/// Stores fixtures as first writes (version 1, no policy fence).
async fn put_findings(store: &Arc<dyn Store>, findings: Vec<Finding>) {
    let n = findings.len();
    let writes = findings.into_iter().map(FindingWrite::unchecked).collect();
    let outcomes = store.write_findings(writes).await.expect("write findings");
    assert_eq!(outcomes, vec![FindingWriteOutcome::Written; n]);
}

/// The next version of a stored finding, as a writer that read it would write it.
fn next(f: &Finding) -> Finding {
    Finding { version: f.version + 1, ..f.clone() }
}

fn write(finding: Finding, fence: PolicyFence) -> FindingWrite {
    FindingWrite { finding, fence, notice: None }
}

/// Findings on the estate with many ties in severity and evaluation time.
fn findings_of(resources: &[Resource]) -> Vec<Finding> {
    const SEVERITIES: [u8; 5] = [90, 40, 70, 40, 5];
    let mut out = Vec::new();
    for (i, r) in resources.iter().enumerate() {
        let policies: &[&str] = match r.service {
            Service::S3 => &["s3-bucket-public", "s3-bucket-unencrypted"],
            Service::Ec2 => &["ec2-imdsv1"],
            Service::Iam => &["iam-user-no-mfa", "iam_key_100%_old"],
        };
        for (j, policy) in policies.iter().enumerate() {
            let state = if (i + j) % 3 == 0 { FindingState::Resolved } else { FindingState::Active };
            out.push(finding(r, policy, SEVERITIES[(i + j) % 5], state, ((i * 7 + j) % 4) as i64 * 60));
        }
    }
    out
}

fn policy(id: &str, status: PolicyStatus) -> LaunchedPolicy {
    LaunchedPolicy {
        policy_id: id.to_string(),
        status,
        scope: Scope {
            include_accounts: vec![A1.to_string()],
            exclude_regions: vec!["eu-west-1".to_string()],
            include_tags: vec!["env=prod".parse().expect("a tag condition"), "team".parse().expect("a tag condition")],
            ..Scope::default()
        },
        severity: Some(Severity::of(95)),
        remediation: Some("Turn it off; don't \"leave\" it <on>".to_string()),
        params: BTreeMap::from([
            ("max_age_days".to_string(), json!(30)),
            ("nested".to_string(), json!({"list": [1, {"ü": "ß"}], "empty": {}})),
        ]),
        created_at: at(0),
        updated_at: at(10),
        generation: 5,
    }
}

fn account(id: &str, name: &str, status: AccountStatus) -> Account {
    let removed = status == AccountStatus::Removed;
    Account {
        account_id: id.to_string(),
        name: name.to_string(),
        status,
        role_arn: Some(format!("arn:aws:iam::{id}:role/qrie-reader")),
        external_id: Some("ext-'id'-%_".to_string()),
        regions: vec!["us-east-1".to_string(), "eu-west-1".to_string()],
        enabled_regions: Vec::new(),
        org_path: vec!["r-ab12".to_string(), "ou-ab12-34cd56ef".to_string()],
        source: AccountSource::Organizations,
        added_at: at(0),
        baselined_at: Some(at(100)),
        removed_at: removed.then(|| at(200)),
        revision: 1,
    }
}

fn job(id: &str, kind: JobKind, status: JobStatus, created_secs: i64) -> Job {
    Job {
        id: id.to_string(),
        kind,
        scan_type: if kind == JobKind::Inventory { ScanType::AntiEntropy } else { ScanType::Bootstrap },
        target: json!({"Accounts": [A1, A2], "Services": ["s3"], "Policy": null}),
        status,
        progress_done: 3,
        progress_total: 7,
        counts: BTreeMap::from([("resources".to_string(), 42), ("api_calls".to_string(), u64::MAX)]),
        errors: vec![JobError {
            account_id: Some(A2.to_string()),
            service: Some("s3".to_string()),
            region: Some("eu-west-1".to_string()),
            message: "AccessDenied: not authorized to perform s3:ListBuckets".to_string(),
            ..JobError::default()
        }],
        created_at: at(created_secs),
        started_at: Some(at(created_secs + 1)),
        finished_at: status.is_finished().then(|| at(created_secs + 9)),
        deadline: Some(at(created_secs + 900)),
        version: 1,
        lease: (status == JobStatus::Running)
            .then(|| Lease { owner: "qrie-serve@host/1234".into(), until: at(created_secs + 45) }),
    }
}

// ---------------------------------------------------------------------------
// Oracles: the rules restated plainly, to compare a backend's answers with.

fn resource_matches(f: &ResourceFilter, r: &Resource) -> bool {
    let eq = |want: &Option<String>, have: &str| want.as_deref().is_none_or(|w| w == have);
    let search = f.search.as_ref().is_none_or(|s| {
        let s = s.to_ascii_lowercase();
        r.name.to_ascii_lowercase().contains(&s) || r.arn.to_ascii_lowercase().contains(&s)
    });
    eq(&f.account_id, &r.account_id)
        && f.service.is_none_or(|s| s == r.service)
        && eq(&f.region, &r.region)
        && eq(&f.resource_type, &r.resource_type)
        && search
        && (f.include_deleted || !r.is_deleted())
        && !f.exclude_accounts.contains(&r.account_id)
}

fn resources_expected(all: &[Resource], f: &ResourceFilter) -> Vec<Resource> {
    let mut out: Vec<Resource> = all.iter().filter(|r| resource_matches(f, r)).cloned().collect();
    out.sort_by(|a, b| (a.account_service(), &a.arn).cmp(&(b.account_service(), &b.arn)));
    out
}

fn finding_matches(f: &FindingFilter, x: &Finding) -> bool {
    let eq = |want: &Option<String>, have: &str| want.as_deref().is_none_or(|w| w == have);
    f.state.is_none_or(|s| s == x.state)
        && eq(&f.policy, &x.policy)
        && eq(&f.account_id, &x.account_id)
        && f.service.is_none_or(|s| s.as_str() == x.service())
        && eq(&f.region, &x.region)
        && eq(&f.resource_type, &x.resource_type)
        && f.severity_min.is_none_or(|m| x.severity.value() >= m)
        && eq(&f.arn, &x.arn)
        && !f.exclude_accounts.contains(&x.account_id)
}

fn findings_expected(all: &[Finding], f: &FindingFilter, sort: FindingSort) -> Vec<Finding> {
    let mut out: Vec<Finding> = all.iter().filter(|x| finding_matches(f, x)).cloned().collect();
    match sort {
        // Any order: the walks that use it compare sets.
        FindingSort::Key | FindingSort::StoreOrder => out.sort_by(|a, b| (&a.arn, &a.policy).cmp(&(&b.arn, &b.policy))),
        FindingSort::SeverityDesc => {
            out.sort_by(|a, b| (Reverse(a.severity), &a.arn, &a.policy).cmp(&(Reverse(b.severity), &b.arn, &b.policy)))
        }
        FindingSort::LastEvaluatedDesc => out.sort_by(|a, b| {
            (Reverse(a.last_evaluated), &a.arn, &a.policy).cmp(&(Reverse(b.last_evaluated), &b.arn, &b.policy))
        }),
    }
    out
}

/// Counts per key, largest first, then by key.
fn tally(keys: impl IntoIterator<Item = String>) -> Vec<(String, u64)> {
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for k in keys {
        *counts.entry(k).or_default() += 1;
    }
    let mut out: Vec<(String, u64)> = counts.into_iter().collect();
    out.sort_by(|a, b| (Reverse(a.1), &a.0).cmp(&(Reverse(b.1), &b.0)));
    out
}

fn total(n: usize) -> Vec<(String, u64)> {
    vec![(String::new(), n as u64)]
}

fn resource_group_key(g: ResourceGroup, r: &Resource) -> String {
    match g {
        ResourceGroup::Account => r.account_id.clone(),
        ResourceGroup::Service => r.service.as_str().to_string(),
        ResourceGroup::Region => r.region.clone(),
        ResourceGroup::ResourceType => r.resource_type.clone(),
    }
}

fn finding_group_key(g: FindingGroup, x: &Finding) -> String {
    match g {
        FindingGroup::Policy => x.policy.clone(),
        FindingGroup::Account => x.account_id.clone(),
        FindingGroup::Service => x.service().to_string(),
        FindingGroup::Region => x.region.clone(),
        FindingGroup::ResourceType => x.resource_type.clone(),
        FindingGroup::State => x.state.as_str().to_string(),
        FindingGroup::Severity => x.severity.value().to_string(),
    }
}

const RESOURCE_GROUPS: [ResourceGroup; 4] =
    [ResourceGroup::Account, ResourceGroup::Service, ResourceGroup::Region, ResourceGroup::ResourceType];

const FINDING_GROUPS: [FindingGroup; 7] = [
    FindingGroup::Policy,
    FindingGroup::Account,
    FindingGroup::Service,
    FindingGroup::Region,
    FindingGroup::ResourceType,
    FindingGroup::State,
    FindingGroup::Severity,
];

const SORTS: [FindingSort; 3] = [FindingSort::Key, FindingSort::SeverityDesc, FindingSort::LastEvaluatedDesc];

fn resource_filter_set() -> Vec<ResourceFilter> {
    let f = ResourceFilter::default;
    vec![
        f(),
        ResourceFilter { include_deleted: true, ..f() },
        ResourceFilter { account_id: Some(A1.into()), ..f() },
        ResourceFilter { account_id: Some(A1.into()), include_deleted: true, ..f() },
        ResourceFilter { service: Some(Service::Ec2), region: Some("us-east-1".into()), ..f() },
        ResourceFilter { service: Some(Service::Iam), ..f() },
        ResourceFilter { region: Some("eu-west-1".into()), include_deleted: true, ..f() },
        ResourceFilter { resource_type: Some("AWS::EC2::SecurityGroup".into()), ..f() },
        ResourceFilter { search: Some("BUCKET".into()), ..f() },
        ResourceFilter { search: Some("%".into()), ..f() },
        ResourceFilter { search: Some("_".into()), ..f() },
        ResourceFilter { search: Some("\\".into()), ..f() },
        ResourceFilter { search: Some("'; DROP TABLE resources; --".into()), ..f() },
        ResourceFilter { search: Some(String::new()), ..f() },
        ResourceFilter { exclude_accounts: vec![A1.into(), A3.into()], ..f() },
        ResourceFilter {
            account_id: Some(A2.into()),
            service: Some(Service::S3),
            search: Some("us-east".into()),
            include_deleted: true,
            exclude_accounts: vec![A1.into()],
            ..f()
        },
        ResourceFilter { account_id: Some("999999999999".into()), ..f() },
    ]
}

fn finding_filter_set() -> Vec<FindingFilter> {
    let f = FindingFilter::default;
    vec![
        f(),
        FindingFilter { state: Some(FindingState::Active), ..f() },
        FindingFilter { state: Some(FindingState::Resolved), ..f() },
        FindingFilter { policy: Some("s3-bucket-public".into()), ..f() },
        FindingFilter { policy: Some("iam_key_100%_old".into()), ..f() },
        FindingFilter { policy: Some("iam_key_1000_old".into()), ..f() },
        FindingFilter { account_id: Some(A2.into()), ..f() },
        FindingFilter { service: Some(Service::Ec2), ..f() },
        FindingFilter { region: Some("eu-west-1".into()), ..f() },
        FindingFilter { resource_type: Some("AWS::IAM::User".into()), ..f() },
        FindingFilter { severity_min: Some(70), ..f() },
        FindingFilter { severity_min: Some(0), ..f() },
        FindingFilter { arn: Some("arn:aws:s3:::logs_100%_full".into()), ..f() },
        FindingFilter { exclude_accounts: vec![A1.into(), A4.into()], ..f() },
        FindingFilter {
            state: Some(FindingState::Active),
            service: Some(Service::S3),
            severity_min: Some(40),
            exclude_accounts: vec![A2.into()],
            ..f()
        },
    ]
}

// ---------------------------------------------------------------------------
// Helpers

/// Follows `next_token` to the end, checking the page contract on the way.
async fn walk<T, F, Fut>(limit: usize, mut fetch: F) -> Vec<T>
where
    F: FnMut(PageRequest) -> Fut,
    Fut: Future<Output = Result<Page<T>>>,
{
    let mut request = PageRequest::first(limit);
    let effective = request.effective_limit();
    let mut out = Vec::new();
    for _ in 0..100_000 {
        let page = fetch(request.clone()).await.expect("a page");
        match page.next_token {
            Some(token) => {
                assert_eq!(page.items.len(), effective, "a page before the last holds exactly `limit` items");
                out.extend(page.items);
                request = PageRequest { limit, next_token: Some(token) };
            }
            None => {
                assert!(page.items.len() <= effective, "a page holds at most `limit` items");
                out.extend(page.items);
                return out;
            }
        }
    }
    panic!("pagination did not end");
}

async fn walk_resources(store: &Arc<dyn Store>, filter: &ResourceFilter, limit: usize) -> Vec<Resource> {
    walk(limit, |p| {
        let store = Arc::clone(store);
        let filter = filter.clone();
        async move { store.list_resources(&filter, &p).await }
    })
    .await
}

async fn walk_findings(
    store: &Arc<dyn Store>,
    filter: &FindingFilter,
    sort: FindingSort,
    limit: usize,
) -> Vec<Finding> {
    walk(limit, |p| {
        let store = Arc::clone(store);
        let filter = filter.clone();
        async move { store.list_findings(&filter, sort, &p).await }
    })
    .await
}

async fn walk_jobs(store: &Arc<dyn Store>, filter: &JobFilter, limit: usize) -> Vec<Job> {
    walk(limit, |p| {
        let store = Arc::clone(store);
        let filter = filter.clone();
        async move { store.list_jobs(&filter, &p).await }
    })
    .await
}

fn token_of<T>(page: Page<T>) -> String {
    page.next_token.expect("the first page of a longer list has a token")
}

#[track_caller]
fn assert_invalid_token<T: Debug>(result: Result<T>, what: &str) {
    assert!(matches!(result, Err(StoreError::InvalidToken)), "{what}: expected InvalidToken, got {result:?}");
}

fn arns(resources: &[Resource]) -> Vec<&str> {
    resources.iter().map(|r| r.arn.as_str()).collect()
}

fn keys(findings: &[Finding]) -> Vec<(&str, &str)> {
    findings.iter().map(|f| (f.arn.as_str(), f.policy.as_str())).collect()
}

fn names_found(page: &Page<Resource>) -> Vec<&str> {
    let mut names: Vec<&str> = page.items.iter().map(|r| r.name.as_str()).collect();
    names.sort_unstable();
    names
}

async fn put_all(store: &Arc<dyn Store>, resources: Vec<Resource>) {
    let n = resources.len();
    let outcomes = store.put_resources(resources).await.expect("put resources");
    assert_eq!(outcomes, vec![WriteOutcome::Written; n]);
}

// ---------------------------------------------------------------------------
// Resources

pub async fn resource_round_trip(store: Arc<dyn Store>) {
    let tags = BTreeMap::from([
        ("env".to_string(), "prod".to_string()),
        ("owner".to_string(), "Zoë <script>alert(1)</script>".to_string()),
        ("100%".to_string(), "a_b \"quoted\" 'single'".to_string()),
    ]);
    let configuration = json!({
        "Acl": {"Grants": [{"Grantee": {"URI": "http://acs.amazonaws.com/groups/global/AllUsers"}, "Permission": "READ"}]},
        "Policy": {"Statement": [{"Effect": "Allow", "Principal": "*", "Condition": {"StringLike": {"aws:Referer": ["%_\\"]}}}]},
        "Website": null,
        "Unicode": "名前 ✓ émoji 🚀 \u{0} tab\there",
        "Quotes": "it's \"quoted\" `back` \\ slash",
        "Injection": "'; DROP TABLE resources; --",
        "Like": "100% _match_ \\%",
        "Html": "<script>alert('x')</script>",
        "Numbers": {"big": u64::MAX, "negative": i64::MIN, "float": 1.5, "tiny": 1e-300},
        "Empty": {},
        "EmptyList": [],
        "Deep": {"a": {"b": {"c": {"d": [1, [2, [3, {"e": true}]]]}}}}
    });
    let errors = BTreeMap::from([
        ("Logging".to_string(), "AccessDenied: not authorized".to_string()),
        ("Replication".to_string(), "Throttling: rate exceeded".to_string()),
    ]);
    let weird = Resource::new(
        "arn:aws:s3:::weird-bucket",
        A1,
        "us-east-1",
        Service::S3,
        "AWS::S3::Bucket",
        "we'ird \"bucket\" '; DROP TABLE resources; -- <script>",
        tags,
        configuration,
        errors,
        at(0),
    );
    let mut gone = resource(A2, Service::Ec2, "eu-west-1", "AWS::EC2::Instance", "i-gone", 1);
    gone.deleted_at = Some(at(2));
    put_all(&store, vec![weird.clone(), gone.clone()]).await;

    assert_eq!(store.get_resource(&weird.arn).await.expect("get"), Some(weird.clone()));
    assert_eq!(store.get_resource(&gone.arn).await.expect("get"), Some(gone.clone()));
    assert_eq!(store.get_resource("arn:aws:s3:::absent").await.expect("get"), None);

    let mut got = store
        .get_resources(vec![gone.arn.clone(), "arn:aws:s3:::absent".into(), weird.arn.clone()])
        .await
        .expect("get many");
    got.sort_by(|a, b| a.arn.cmp(&b.arn));
    assert_eq!(got, vec![gone.clone(), weird.clone()]);
    assert_eq!(store.get_resources(Vec::new()).await.expect("get none"), Vec::<Resource>::new());

    let listed = store.list_resources(&ResourceFilter::default(), &PageRequest::first(10)).await.expect("list");
    assert_eq!(listed.items, vec![weird.clone()], "a deleted row is left out by default");
    let search = ResourceFilter { search: Some("'; drop TABLE".into()), ..Default::default() };
    let found = store.list_resources(&search, &PageRequest::first(10)).await.expect("search");
    assert_eq!(found.items, vec![weird.clone()]);
    let all = ResourceFilter { include_deleted: true, ..Default::default() };
    assert_eq!(store.count_resources(&all, None).await.expect("count"), total(2));
}

pub async fn resource_observation_order(store: Arc<dyn Store>) {
    let with = |config: Value, secs: i64| {
        let mut r = resource(A1, Service::S3, "us-east-1", "AWS::S3::Bucket", "ordered", 0);
        r.configuration = config;
        r.last_seen_at = at(secs);
        r.rehash();
        r
    };
    let first = with(json!({"v": "first"}), 10);
    put_all(&store, vec![first.clone()]).await;

    let older = with(json!({"v": "older"}), 5);
    assert_eq!(store.put_resources(vec![older]).await.expect("put"), vec![WriteOutcome::Stale]);
    assert_eq!(
        store.get_resource(&first.arn).await.expect("get"),
        Some(first.clone()),
        "a stale write changes nothing"
    );

    let same_time = with(json!({"v": "same time"}), 10);
    assert_eq!(store.put_resources(vec![same_time.clone()]).await.expect("put"), vec![WriteOutcome::Written]);
    assert_eq!(store.get_resource(&first.arn).await.expect("get"), Some(same_time));

    let newer = with(json!({"v": "newer"}), 20);
    assert_eq!(store.put_resources(vec![newer.clone()]).await.expect("put"), vec![WriteOutcome::Written]);
    assert_eq!(store.get_resource(&first.arn).await.expect("get"), Some(newer));

    // Within one batch each write is checked against what the batch already wrote.
    let latest = with(json!({"v": "latest"}), 30);
    let between = with(json!({"v": "between"}), 25);
    let other = resource(A1, Service::S3, "us-east-1", "AWS::S3::Bucket", "other", 1);
    let outcomes = store.put_resources(vec![latest.clone(), between, other.clone()]).await.expect("put batch");
    assert_eq!(outcomes, vec![WriteOutcome::Written, WriteOutcome::Stale, WriteOutcome::Written]);
    assert_eq!(store.get_resource(&first.arn).await.expect("get"), Some(latest.clone()));
    assert_eq!(store.get_resource(&other.arn).await.expect("get"), Some(other));

    // A deletion record is ordered by its deletion time.
    let mut deleted_earlier = with(json!({"v": "latest"}), 10);
    deleted_earlier.deleted_at = Some(at(29));
    assert_eq!(store.put_resources(vec![deleted_earlier]).await.expect("put"), vec![WriteOutcome::Stale]);
    let mut deleted_later = with(json!({"v": "latest"}), 10);
    deleted_later.deleted_at = Some(at(31));
    assert_eq!(store.put_resources(vec![deleted_later.clone()]).await.expect("put"), vec![WriteOutcome::Written]);
    assert_eq!(store.get_resource(&first.arn).await.expect("get"), Some(deleted_later));
    assert_eq!(store.put_resources(Vec::new()).await.expect("put none"), Vec::new());
}

pub async fn resource_deletion_is_not_undone_by_older_sweeps(store: Arc<dyn Store>) {
    let bucket = resource(A1, Service::S3, "us-east-1", "AWS::S3::Bucket", "doomed", 10);
    let keep = resource(A1, Service::S3, "us-east-1", "AWS::S3::Bucket", "kept", 10);
    put_all(&store, vec![bucket.clone(), keep.clone()]).await;

    let outcomes =
        store.mark_deleted(A1, vec![bucket.arn.clone(), "arn:aws:s3:::never-seen".into()], at(20)).await.expect("mark");
    assert_eq!(outcomes, vec![WriteOutcome::Written, WriteOutcome::Missing]);
    let stored = store.get_resource(&bucket.arn).await.expect("get").expect("the row stays for history");
    assert_eq!(stored.deleted_at, Some(at(20)));
    assert_eq!(stored.last_seen_at, bucket.last_seen_at);
    assert_eq!(stored.configuration, bucket.configuration, "the last configuration is kept");
    assert_eq!(stored.config_hash, bucket.config_hash);
    assert_eq!(stored.tags, bucket.tags);

    // A sweep that listed the bucket before the deletion must not bring it back.
    let from_old_sweep = resource(A1, Service::S3, "us-east-1", "AWS::S3::Bucket", "doomed", 15);
    assert_eq!(store.put_resources(vec![from_old_sweep]).await.expect("put"), vec![WriteOutcome::Stale]);
    assert_eq!(store.get_resource(&bucket.arn).await.expect("get"), Some(stored.clone()));
    assert_eq!(
        store.mark_deleted(A1, vec![bucket.arn.clone()], at(12)).await.expect("mark"),
        vec![WriteOutcome::Stale]
    );

    let live = store.list_resources(&ResourceFilter::default(), &PageRequest::first(10)).await.expect("list");
    assert_eq!(live.items, vec![keep.clone()]);
    let everything = ResourceFilter { include_deleted: true, ..Default::default() };
    let all = store.list_resources(&everything, &PageRequest::first(10)).await.expect("list");
    assert_eq!(arns(&all.items), vec![bucket.arn.as_str(), keep.arn.as_str()]);
    assert_eq!(store.count_resources(&ResourceFilter::default(), None).await.expect("count"), total(1));
    let digests = store.resource_digests(A1, Service::S3, None).await.expect("digests");
    let flags: Vec<(&str, bool)> = digests.iter().map(|d| (d.arn.as_str(), d.deleted)).collect();
    assert_eq!(flags, vec![(bucket.arn.as_str(), true), (keep.arn.as_str(), false)]);

    // Deleting again at the same instant is not stale; re-creation later wins.
    assert_eq!(
        store.mark_deleted(A1, vec![bucket.arn.clone()], at(20)).await.expect("mark"),
        vec![WriteOutcome::Written]
    );
    let recreated = resource(A1, Service::S3, "us-east-1", "AWS::S3::Bucket", "doomed", 30);
    assert_eq!(store.put_resources(vec![recreated.clone()]).await.expect("put"), vec![WriteOutcome::Written]);
    assert_eq!(store.get_resource(&bucket.arn).await.expect("get"), Some(recreated));
    assert_eq!(store.mark_deleted(A1, Vec::new(), at(40)).await.expect("mark none"), Vec::new());
}

/// A bucket name that moved to another account: the old owner's sweep no
/// longer lists it and marks it deleted in its own account, which never
/// tombstones the new owner's row.
pub async fn resource_deletion_addresses_the_accounts_row(store: Arc<dyn Store>) {
    let old = resource(A1, Service::S3, "us-east-1", "AWS::S3::Bucket", "moved", 10);
    put_all(&store, vec![old.clone()]).await;
    let new = resource(A2, Service::S3, "us-east-1", "AWS::S3::Bucket", "moved", 20);
    assert_eq!(old.arn, new.arn);
    assert_eq!(store.put_resources(vec![new.clone()]).await.expect("put"), vec![WriteOutcome::Written]);
    let outcome = store.mark_deleted(A1, vec![old.arn.clone()], at(30)).await.expect("mark");
    assert!(matches!(outcome[0], WriteOutcome::Written | WriteOutcome::Missing), "{outcome:?}");
    assert_eq!(store.get_resource(&new.arn).await.expect("get"), Some(new.clone()), "the new owner's row is live");
    assert_eq!(store.get_resources(vec![new.arn.clone()]).await.expect("get"), vec![new.clone()]);
    assert_eq!(store.mark_deleted(A3, vec![new.arn.clone()], at(30)).await.expect("mark"), vec![WriteOutcome::Missing]);
    assert_eq!(store.mark_deleted(A2, vec![new.arn.clone()], at(30)).await.expect("mark"), vec![WriteOutcome::Written]);
    assert!(store.get_resource(&new.arn).await.expect("get").expect("kept").is_deleted());
}

pub async fn resource_bulk_writes_and_lookups(store: Arc<dyn Store>) {
    let many: Vec<Resource> = (0..1500)
        .map(|i| resource(A1, Service::Ec2, "us-east-1", "AWS::EC2::Instance", &format!("i-{i:05}"), i % 17))
        .collect();
    put_all(&store, many.clone()).await;

    let mut wanted: Vec<String> = many.iter().map(|r| r.arn.clone()).collect();
    wanted.extend((0..50).map(|i| format!("arn:aws:ec2:us-east-1:{A1}:instance/absent-{i}")));
    let mut got = store.get_resources(wanted).await.expect("get many");
    got.sort_by(|a, b| a.arn.cmp(&b.arn));
    assert_eq!(got, many, "a lookup larger than any parameter limit still finds every row once");

    let first = store.list_resources(&ResourceFilter::default(), &PageRequest::first(5000)).await.expect("list");
    assert_eq!(first.items.len(), crate::MAX_PAGE_SIZE, "limit is clamped to MAX_PAGE_SIZE");
    assert!(first.next_token.is_some());
    let zero = store.list_resources(&ResourceFilter::default(), &PageRequest::first(0)).await.expect("list");
    assert_eq!(zero.items.len(), 1, "limit 0 is clamped to 1");
    assert_eq!(walk_resources(&store, &ResourceFilter::default(), 1000).await, many);
    assert_eq!(store.count_resources(&ResourceFilter::default(), None).await.expect("count"), total(1500));

    let arns: Vec<String> = many.iter().map(|r| r.arn.clone()).collect();
    let outcomes = store.mark_deleted(A1, arns, at(100)).await.expect("mark");
    assert_eq!(outcomes, vec![WriteOutcome::Written; 1500]);
    assert_eq!(store.count_resources(&ResourceFilter::default(), None).await.expect("count"), total(0));
}

pub async fn resource_pagination(store: Arc<dyn Store>) {
    let empty = store.list_resources(&ResourceFilter::default(), &PageRequest::first(10)).await.expect("list");
    assert_eq!(empty, Page { items: Vec::new(), next_token: None });

    let all = estate();
    put_all(&store, all.clone()).await;
    for filter in resource_filter_set() {
        let expected = resources_expected(&all, &filter);
        for limit in [1, 2, 7, 1000] {
            let walked = walk_resources(&store, &filter, limit).await;
            assert_eq!(arns(&walked), arns(&expected), "limit {limit}, {filter:?}");
            assert_eq!(walked, expected, "limit {limit}, {filter:?}");
        }
    }
    // A walk resumes after its last item: a row written before that point
    // meanwhile neither shifts nor repeats what follows.
    let first = store.list_resources(&ResourceFilter::default(), &PageRequest::first(3)).await.expect("list");
    put_all(&store, vec![resource(A1, Service::Ec2, "eu-west-1", "AWS::EC2::Instance", "0-sorts-first", 9)]).await;
    let rest = walk(3, |p| {
        let store = Arc::clone(&store);
        let token = first.next_token.clone();
        async move {
            store
                .list_resources(&ResourceFilter::default(), &PageRequest { next_token: p.next_token.or(token), ..p })
                .await
        }
    })
    .await;
    let mut resumed = first.items.clone();
    resumed.extend(rest);
    assert_eq!(arns(&resumed), arns(&resources_expected(&all, &ResourceFilter::default())));
}

pub async fn resource_filters(store: Arc<dyn Store>) {
    let all = estate();
    put_all(&store, all.clone()).await;
    for filter in resource_filter_set() {
        let page = store.list_resources(&filter, &PageRequest::first(1000)).await.expect("list");
        assert_eq!(page.items, resources_expected(&all, &filter), "{filter:?}");
        assert_eq!(page.next_token, None);
    }
    // The oracle could share a misreading of LIKE; pin the metacharacters by hand.
    let search = |s: &str| ResourceFilter { search: Some(s.to_string()), ..Default::default() };
    let page = |f: ResourceFilter| {
        let store = Arc::clone(&store);
        async move { store.list_resources(&f, &PageRequest::first(1000)).await.expect("list") }
    };
    assert_eq!(names_found(&page(search("%")).await), vec!["logs_100%_full"]);
    assert_eq!(names_found(&page(search("_")).await), vec!["logs_100%_full", "under_score"]);
    assert_eq!(names_found(&page(search("0%_F")).await), vec!["logs_100%_full"]);
    assert_eq!(names_found(&page(search("\\")).await), vec!["back\\slash"]);
    assert_eq!(names_found(&page(search("mixed-case")).await), vec!["Mixed-CASE-Bucket"]);
    assert!(page(search("'; DROP TABLE resources; --")).await.items.is_empty());
    let by_type = ResourceFilter { resource_type: Some("AWS::EC2::SecurityGroup".into()), ..Default::default() };
    assert_eq!(page(by_type).await.items.len(), 4);
    let excluded = ResourceFilter { exclude_accounts: vec![A1.into(), A3.into(), A4.into()], ..Default::default() };
    assert!(page(excluded).await.items.iter().all(|r| r.account_id == A2));
    let deleted_too = ResourceFilter { include_deleted: true, ..Default::default() };
    assert_eq!(page(deleted_too).await.items.len(), page(ResourceFilter::default()).await.items.len() + 2);
}

pub async fn resource_counts(store: Arc<dyn Store>) {
    assert_eq!(store.count_resources(&ResourceFilter::default(), None).await.expect("count"), total(0));
    for group in RESOURCE_GROUPS {
        assert!(store.count_resources(&ResourceFilter::default(), Some(group)).await.expect("count").is_empty());
    }
    let all = estate();
    put_all(&store, all.clone()).await;
    for filter in resource_filter_set() {
        let matching = resources_expected(&all, &filter);
        let counted = store.count_resources(&filter, None).await.expect("count");
        assert_eq!(counted, total(matching.len()), "{filter:?}");
        for group in RESOURCE_GROUPS {
            let counted = store.count_resources(&filter, Some(group)).await.expect("count");
            let expected = tally(matching.iter().map(|r| resource_group_key(group, r)));
            assert_eq!(counted, expected, "{group:?}, {filter:?}");
        }
    }
    let by_service =
        store.count_resources(&ResourceFilter::default(), Some(ResourceGroup::Service)).await.expect("count");
    let services: Vec<&str> = by_service.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(services, vec!["s3", "ec2", "iam"]);
}

pub async fn resource_digests(store: Arc<dyn Store>) {
    let all = estate();
    put_all(&store, all.clone()).await;
    let cases = [
        (A1, Service::S3, Some("us-east-1")),
        (A1, Service::S3, None),
        (A1, Service::Ec2, Some("eu-west-1")),
        (A2, Service::S3, Some("us-east-1")),
        (A2, Service::Iam, None),
        (A2, Service::Iam, Some("global")),
        (A3, Service::Ec2, None),
        (A1, Service::S3, Some("ap-south-1")),
    ];
    let digest_key = |d: &ResourceDigest| {
        (d.arn.clone(), d.region.clone(), d.config_hash.clone(), d.observed_at.timestamp_millis(), d.deleted)
    };
    for (account, service, region) in cases {
        let mut got: Vec<_> =
            store.resource_digests(account, service, region).await.expect("digests").iter().map(digest_key).collect();
        got.sort();
        let mut expected: Vec<_> = all
            .iter()
            .filter(|r| r.account_id == account && r.service == service && region.is_none_or(|g| g == r.region))
            .map(|r| {
                (
                    r.arn.clone(),
                    r.region.clone(),
                    r.config_hash.clone(),
                    r.observed_at().timestamp_millis(),
                    r.is_deleted(),
                )
            })
            .collect();
        expected.sort();
        assert_eq!(got, expected, "{account} {service} {region:?}");
    }
    let ec2 = store.resource_digests(A1, Service::Ec2, Some("eu-west-1")).await.expect("digests");
    assert_eq!(ec2.iter().filter(|d| d.deleted).count(), 1, "deleted rows are included and flagged");
}

// ---------------------------------------------------------------------------
// Findings

pub async fn finding_round_trip(store: Arc<dyn Store>) {
    let bucket = resource(A1, Service::S3, "us-east-1", "AWS::S3::Bucket", "b", 0);
    let user = resource(A2, Service::Iam, "global", "AWS::IAM::User", "u", 0);
    let open = finding(&bucket, "s3-bucket-public", 90, FindingState::Active, 10);
    put_findings(&store, vec![open.clone()]).await;
    assert_eq!(store.get_finding(&bucket.arn, "s3-bucket-public").await.expect("get"), Some(open.clone()));
    assert_eq!(store.get_finding(&bucket.arn, "other").await.expect("get"), None);
    assert_eq!(store.get_finding("arn:aws:s3:::nope", "s3-bucket-public").await.expect("get"), None);

    // The same key is replaced, not duplicated.
    let mut resolved = next(&finding(&bucket, "s3-bucket-public", 70, FindingState::Resolved, 20));
    resolved.evidence = json!({"Statement": {"Sid": "'; DROP TABLE findings; --", "Principal": "*"}, "Ünïcode": "✓"});
    resolved.history.push(Transition {
        at: at(30),
        kind: TransitionKind::Reopened,
        reason: None,
        trigger: Trigger {
            event_id: Some("evt-1".into()),
            event_time: Some(at(29)),
            ..Trigger::new(DetectedBy::Event)
        },
    });
    let replaced = store.write_findings(vec![write(resolved.clone(), PolicyFence::Unchecked)]).await.expect("write");
    assert_eq!(replaced, vec![FindingWriteOutcome::Written]);
    assert_eq!(store.get_finding(&bucket.arn, "s3-bucket-public").await.expect("get"), Some(resolved.clone()));

    let other_policy = finding(&bucket, "s3-bucket-unencrypted", 40, FindingState::Active, 5);
    let other_resource = finding(&user, "s3-bucket-public", 40, FindingState::Active, 5);
    let user_finding = finding(&user, "iam-user-no-mfa", 50, FindingState::Resolved, 5);
    put_findings(&store, vec![other_policy.clone(), other_resource.clone(), user_finding.clone()]).await;
    put_findings(&store, Vec::new()).await;

    let mut for_bucket = store.findings_for_resource(&bucket.arn).await.expect("for resource");
    for_bucket.sort_by(|a, b| a.policy.cmp(&b.policy));
    assert_eq!(for_bucket, vec![resolved.clone(), other_policy.clone()]);
    assert!(store.findings_for_resource("arn:aws:s3:::nope").await.expect("for resource").is_empty());
    let arns = vec![bucket.arn.clone(), "arn:aws:s3:::nope".to_string(), user.arn.clone()];
    let mut for_both = store.findings_for_resources(arns).await.expect("for resources");
    for_both.sort_by(|a, b| (&a.arn, &a.policy).cmp(&(&b.arn, &b.policy)));
    let mut expected = vec![resolved.clone(), other_policy.clone(), other_resource.clone(), user_finding.clone()];
    expected.sort_by(|a, b| (&a.arn, &a.policy).cmp(&(&b.arn, &b.policy)));
    assert_eq!(for_both, expected);
    assert!(store.findings_for_resources(Vec::new()).await.expect("for none").is_empty());

    // A refresh (evaluated again, evidence and time only) lands on the version
    // read, like any write; a second writer from that version conflicts.
    let mut refreshed = next(&other_policy);
    refreshed.last_evaluated = at(40);
    refreshed.evidence = json!({"Refreshed": true});
    let outcome = store.write_findings(vec![write(refreshed.clone(), PolicyFence::Unchecked)]).await.expect("refresh");
    assert_eq!(outcome, vec![FindingWriteOutcome::Written]);
    let late =
        store.write_findings(vec![write(refreshed.clone(), PolicyFence::Unchecked)]).await.expect("late refresh");
    assert_eq!(late, vec![FindingWriteOutcome::Conflict], "the version moved on");
    assert_eq!(store.get_finding(&bucket.arn, "s3-bucket-unencrypted").await.expect("get"), Some(refreshed.clone()));

    let sorted = |mut v: Vec<Finding>| {
        v.sort_by(|a, b| (&a.arn, &a.policy).cmp(&(&b.arn, &b.policy)));
        v
    };
    let public = store.findings_for_policy("s3-bucket-public", None).await.expect("for policy");
    assert_eq!(sorted(public), sorted(vec![resolved.clone(), other_resource.clone()]));
    let active = store.findings_for_policy("s3-bucket-public", Some(FindingState::Active)).await.expect("for policy");
    assert_eq!(active, vec![other_resource.clone()]);
    let closed = store.findings_for_policy("s3-bucket-public", Some(FindingState::Resolved)).await.expect("for policy");
    assert_eq!(closed, vec![resolved.clone()]);
    assert!(store.findings_for_policy("s3-bucket-%", None).await.expect("for policy").is_empty(), "no wildcards");
    let all = FindingFilter::default();
    assert_eq!(store.count_findings(&all, None).await.expect("count"), total(4));
}

pub async fn finding_lists(store: Arc<dyn Store>) {
    for sort in SORTS {
        let empty = store.list_findings(&FindingFilter::default(), sort, &PageRequest::first(5)).await.expect("list");
        assert_eq!(empty, Page { items: Vec::new(), next_token: None });
    }
    let all = findings_of(&estate());
    put_findings(&store, all.clone()).await;
    for filter in finding_filter_set() {
        for sort in SORTS {
            let expected = findings_expected(&all, &filter, sort);
            for limit in [1, 3, 1000] {
                let walked = walk_findings(&store, &filter, sort, limit).await;
                assert_eq!(keys(&walked), keys(&expected), "{sort:?}, limit {limit}, {filter:?}");
                assert_eq!(walked, expected, "{sort:?}, limit {limit}, {filter:?}");
            }
        }
        // The backend's own order: the same findings, each once, in full pages.
        let expected = findings_expected(&all, &filter, FindingSort::Key);
        for limit in [1, 3, 1000] {
            let mut walked = walk_findings(&store, &filter, FindingSort::StoreOrder, limit).await;
            walked.sort_by(|a, b| (&a.arn, &a.policy).cmp(&(&b.arn, &b.policy)));
            assert_eq!(walked, expected, "store order, limit {limit}, {filter:?}");
        }
    }
    // The fixture must really exercise ties, or the tie-break goes untested.
    let by_severity = findings_expected(&all, &FindingFilter::default(), FindingSort::SeverityDesc);
    assert!(by_severity.windows(2).filter(|w| w[0].severity == w[1].severity).count() > 10);
    assert_eq!(by_severity.first().map(|f| f.severity.value()), Some(90));
    assert_eq!(by_severity.last().map(|f| f.severity.value()), Some(5));
    let page =
        store.list_findings(&FindingFilter::default(), FindingSort::LastEvaluatedDesc, &PageRequest::first(1)).await;
    assert_eq!(page.expect("list").items[0].last_evaluated, at(180), "most recently evaluated first");
}

pub async fn finding_counts(store: Arc<dyn Store>) {
    assert_eq!(store.count_findings(&FindingFilter::default(), None).await.expect("count"), total(0));
    assert!(store
        .count_findings(&FindingFilter::default(), Some(FindingGroup::State))
        .await
        .expect("count")
        .is_empty());
    let all = findings_of(&estate());
    put_findings(&store, all.clone()).await;
    for filter in finding_filter_set() {
        let matching: Vec<&Finding> = all.iter().filter(|x| finding_matches(&filter, x)).collect();
        assert_eq!(store.count_findings(&filter, None).await.expect("count"), total(matching.len()), "{filter:?}");
        let mut separately = Vec::new();
        for group in FINDING_GROUPS {
            let counted = store.count_findings(&filter, Some(group)).await.expect("count");
            assert_eq!(counted, tally(matching.iter().map(|x| finding_group_key(group, x))), "{group:?}, {filter:?}");
            separately.push(counted);
        }
        // All at once, and a few subsets in other orders: each list as if counted alone.
        assert_eq!(store.count_findings_each(&filter, &FINDING_GROUPS).await.expect("count each"), separately);
        for picks in [&[6, 0, 2, 1][..], &[1], &[5, 3, 4], &[]] {
            let groups: Vec<FindingGroup> = picks.iter().map(|&i| FINDING_GROUPS[i]).collect();
            let expected: Vec<_> = picks.iter().map(|&i| separately[i].clone()).collect();
            assert_eq!(
                store.count_findings_each(&filter, &groups).await.expect("count each"),
                expected,
                "{groups:?}, {filter:?}"
            );
        }
    }
    let f = FindingFilter::default();
    let key_set = |rows: Vec<(String, u64)>| {
        let mut k: Vec<String> = rows.into_iter().map(|(k, _)| k).collect();
        k.sort();
        k
    };
    assert_eq!(
        key_set(store.count_findings(&f, Some(FindingGroup::State)).await.expect("count")),
        ["ACTIVE", "RESOLVED"]
    );
    assert_eq!(
        key_set(store.count_findings(&f, Some(FindingGroup::Service)).await.expect("count")),
        ["ec2", "iam", "s3"]
    );
    assert_eq!(
        key_set(store.count_findings(&f, Some(FindingGroup::Severity)).await.expect("count")),
        ["40", "5", "70", "90"],
        "severity groups by the exact score, as a decimal string"
    );
}

// ---------------------------------------------------------------------------
// Tokens

pub async fn foreign_and_tampered_tokens(store: Arc<dyn Store>) {
    let resources = estate();
    put_all(&store, resources.clone()).await;
    put_findings(&store, findings_of(&resources)).await;
    for i in 0..5 {
        store.put_job(job(&format!("job-{i}"), JobKind::Inventory, JobStatus::Succeeded, i)).await.expect("put job");
    }
    let rf = ResourceFilter::default();
    let ff = FindingFilter::default();
    let jf = JobFilter::default();
    let first = PageRequest::first(2);
    let resource_token = token_of(store.list_resources(&rf, &first).await.expect("list"));
    let job_token = token_of(store.list_jobs(&jf, &first).await.expect("list"));
    let mut finding_tokens = Vec::new();
    for sort in SORTS {
        finding_tokens.push((sort, token_of(store.list_findings(&ff, sort, &first).await.expect("list"))));
    }

    let with = |t: &str| PageRequest { limit: 2, next_token: Some(t.to_string()) };
    // Each token works where it was issued...
    assert!(store.list_resources(&rf, &with(&resource_token)).await.is_ok());
    assert!(store.list_jobs(&jf, &with(&job_token)).await.is_ok());
    for (sort, t) in &finding_tokens {
        assert!(store.list_findings(&ff, *sort, &with(t)).await.is_ok());
    }
    // ...and nowhere else.
    assert_invalid_token(store.list_resources(&rf, &with(&job_token)).await, "job token on resources");
    assert_invalid_token(store.list_jobs(&jf, &with(&resource_token)).await, "resource token on jobs");
    for (sort, t) in &finding_tokens {
        assert_invalid_token(store.list_resources(&rf, &with(t)).await, "finding token on resources");
        assert_invalid_token(store.list_jobs(&jf, &with(t)).await, "finding token on jobs");
        for other in SORTS.iter().filter(|s| *s != sort) {
            assert_invalid_token(store.list_findings(&ff, *other, &with(t)).await, "token of another sort");
        }
    }
    assert_invalid_token(store.list_findings(&ff, FindingSort::Key, &with(&resource_token)).await, "resource token");

    let tampered = |t: &str| -> Vec<String> {
        vec![
            format!("x{t}"),
            t[..t.len() / 2].to_string(),
            t.chars().rev().collect(),
            format!("{t}!"),
            "not a token".to_string(),
            String::new(),
            "e30".to_string(),
            "%27%3B%20DROP".to_string(),
        ]
    };
    for bad in tampered(&resource_token) {
        assert_invalid_token(store.list_resources(&rf, &with(&bad)).await, &format!("resources {bad:?}"));
    }
    for bad in tampered(&job_token) {
        assert_invalid_token(store.list_jobs(&jf, &with(&bad)).await, &format!("jobs {bad:?}"));
    }
    for (sort, t) in &finding_tokens {
        for bad in tampered(t) {
            assert_invalid_token(store.list_findings(&ff, *sort, &with(&bad)).await, &format!("{sort:?} {bad:?}"));
        }
    }
}

// ---------------------------------------------------------------------------
// Policies, accounts, jobs

pub async fn policies(store: Arc<dyn Store>) {
    assert_eq!(store.get_policy("s3-bucket-public").await.expect("get"), None);
    assert!(store.list_policies().await.expect("list").is_empty());
    let ids = ["s3-bucket-public", "ec2-imdsv1", "iam_key_100%_old"];
    for id in ids {
        assert!(store.put_policy(policy(id, PolicyStatus::Active), None).await.expect("put"));
    }
    assert_eq!(
        store.get_policy("s3-bucket-public").await.expect("get"),
        Some(policy("s3-bucket-public", PolicyStatus::Active))
    );
    let listed: Vec<String> = store.list_policies().await.expect("list").into_iter().map(|p| p.policy_id).collect();
    assert_eq!(listed, vec!["ec2-imdsv1", "iam_key_100%_old", "s3-bucket-public"], "ordered by id");

    // Writes are conditional on the generation read: a first launch on none
    // stored, a change on the generation it was read at.
    let suspended =
        LaunchedPolicy { updated_at: at(99), generation: 6, ..policy("ec2-imdsv1", PolicyStatus::Suspended) };
    assert!(!store.put_policy(suspended.clone(), None).await.expect("put over a stored one"), "already stored");
    assert!(!store.put_policy(suspended.clone(), Some(4)).await.expect("put at a wrong generation"));
    assert_eq!(store.get_policy("ec2-imdsv1").await.expect("get"), Some(policy("ec2-imdsv1", PolicyStatus::Active)));
    assert!(store.put_policy(suspended.clone(), Some(5)).await.expect("put"));
    assert!(!store.put_policy(suspended.clone(), Some(5)).await.expect("put twice"), "the generation moved on");
    assert_eq!(store.get_policy("ec2-imdsv1").await.expect("get"), Some(suspended.clone()));
    let listed = store.list_policies().await.expect("list");
    assert_eq!(listed.len(), 3);
    assert_eq!(listed[0], suspended, "suspended policies are listed too");

    assert!(!store.delete_policy("ec2-imdsv1", 5).await.expect("delete at an old generation"));
    assert!(store.delete_policy("ec2-imdsv1", 6).await.expect("delete"));
    assert!(!store.delete_policy("ec2-imdsv1", 6).await.expect("delete again"));
    assert!(!store.delete_policy("iam_key_100%", 5).await.expect("delete unknown"), "no wildcards");
    assert_eq!(store.get_policy("ec2-imdsv1").await.expect("get"), None);
    assert_eq!(store.list_policies().await.expect("list").len(), 2);
}

pub async fn finding_conditional_writes(store: Arc<dyn Store>) {
    use FindingWriteOutcome::{Conflict, Written};
    let bucket = resource(A1, Service::S3, "us-east-1", "AWS::S3::Bucket", "b", 0);
    let v1 = finding(&bucket, "s3-bucket-public", 90, FindingState::Active, 10);
    let get = || store.get_finding(&bucket.arn, "s3-bucket-public");
    let unchecked = |f: &Finding| write(f.clone(), PolicyFence::Unchecked);

    // A first write lands only where none is stored.
    assert_eq!(store.write_findings(vec![unchecked(&v1)]).await.expect("write"), vec![Written]);
    let rival = Finding { evidence: json!({"rival": true}), ..v1.clone() };
    assert_eq!(store.write_findings(vec![unchecked(&rival)]).await.expect("write"), vec![Conflict]);
    assert_eq!(get().await.expect("get"), Some(v1.clone()), "a conflict writes nothing");

    // A change lands only on the version its writer read.
    let v2 = Finding { state: FindingState::Resolved, ..next(&v1) };
    let stale = Finding { evidence: json!({"late": true}), ..next(&v1) };
    assert_eq!(
        store.write_findings(vec![unchecked(&v2), unchecked(&stale)]).await.expect("write"),
        vec![Written, Conflict]
    );
    assert_eq!(get().await.expect("get"), Some(v2.clone()));
    let skipped = Finding { version: 9, ..v2.clone() };
    assert_eq!(store.write_findings(vec![unchecked(&skipped)]).await.expect("write"), vec![Conflict]);

    // Writes of one key in one call apply in order; others beside a conflict land.
    let v3 = next(&v2);
    let v4 = Finding { state: FindingState::Active, ..next(&v3) };
    let other = finding(&bucket, "s3-bucket-unencrypted", 40, FindingState::Active, 5);
    let outcomes =
        store.write_findings(vec![unchecked(&v3), unchecked(&rival), unchecked(&v4), unchecked(&other)]).await;
    assert_eq!(outcomes.expect("write"), vec![Written, Conflict, Written, Written]);
    assert_eq!(get().await.expect("get"), Some(v4.clone()));
    assert_eq!(store.get_finding(&bucket.arn, "s3-bucket-unencrypted").await.expect("get"), Some(other));
    assert_eq!(store.write_findings(Vec::new()).await.expect("write none"), Vec::new());

    // A version 0 write is a writer's bug, refused whole.
    let zero = Finding { version: 0, ..v1.clone() };
    assert!(store.write_findings(vec![unchecked(&zero)]).await.is_err());

    // Findings stored before versions existed read as version 1 (their
    // documents carry none) and are written on that condition.
    let mut legacy = serde_json::to_value(finding(&bucket, "legacy", 10, FindingState::Active, 1)).expect("json");
    legacy.as_object_mut().expect("object").remove("Version");
    let legacy: Finding = serde_json::from_value(legacy).expect("a finding without a version");
    assert_eq!(legacy.version, 1);

    // A hard delete lands only on the version its caller read; the others stay.
    let key = |f: &Finding, v: u64| (f.arn.clone(), f.policy.clone(), v);
    let deleted = store
        .delete_findings(vec![key(&v4, v4.version - 1), key(&v4, v4.version), key(&bucket_gone(&bucket), 1)])
        .await
        .expect("delete");
    assert_eq!(deleted, vec![false, true, false], "stale version kept, read version deleted, absent answered false");
    assert_eq!(get().await.expect("get"), None);
    let other = store.get_finding(&bucket.arn, "s3-bucket-unencrypted").await.expect("get").expect("untouched");
    assert_eq!(store.delete_findings(vec![key(&other, other.version)]).await.expect("delete"), vec![true]);
    assert_eq!(store.delete_findings(Vec::new()).await.expect("delete none"), Vec::<bool>::new());
    // A deleted finding can be written afresh.
    assert_eq!(store.write_findings(vec![unchecked(&v1)]).await.expect("write"), vec![Written]);
}

/// The outbox holds a write's notice exactly when the write lands: never for
/// a conflict or a fenced write, whatever else the call carries; a call of
/// more writes and notices than one DynamoDB transaction holds lands whole.
pub async fn finding_notices_land_with_their_writes(store: Arc<dyn Store>) {
    use qrie_model::notice::{Notice, OutboxEntry, OUTBOX};
    use FindingWriteOutcome::{Conflict, Fenced, Written};
    let telling = |f: &Finding, fence: PolicyFence| FindingWrite {
        finding: f.clone(),
        fence,
        notice: Some(Notice::of_latest(f).expect("the fixture's latest transition changes the state")),
    };
    let outbox = || async {
        let mut ids: Vec<String> = store
            .kv_list(OUTBOX)
            .await
            .expect("list the outbox")
            .into_iter()
            .map(|(_, v)| serde_json::from_value::<OutboxEntry>(v).expect("an outbox entry").notice.id)
            .collect();
        ids.sort();
        ids
    };
    assert!(store.put_policy(policy("s3-bucket-public", PolicyStatus::Active), None).await.expect("put"));
    let generation = store.get_policy("s3-bucket-public").await.expect("get").expect("launched").generation;
    let bucket = resource(A1, Service::S3, "us-east-1", "AWS::S3::Bucket", "b", 0);
    let v1 = finding(&bucket, "s3-bucket-public", 90, FindingState::Active, 10);
    let n1 = Notice::of_latest(&v1).expect("opened").id;

    let landed = store.write_findings(vec![telling(&v1, PolicyFence::Generation(generation))]).await;
    assert_eq!(landed.expect("write"), vec![Written]);
    assert_eq!(outbox().await, vec![n1.clone()]);

    // A rival's opening conflicts; a write under a stale generation is fenced:
    // neither tells, and the write beside them that lands does.
    let other = resource(A1, Service::S3, "us-east-1", "AWS::S3::Bucket", "c", 0);
    let o1 = finding(&other, "s3-bucket-public", 90, FindingState::Active, 10);
    let third = resource(A1, Service::S3, "us-east-1", "AWS::S3::Bucket", "d", 0);
    let stale = finding(&third, "s3-bucket-public", 90, FindingState::Active, 11);
    let outcomes = store
        .write_findings(vec![
            telling(&v1, PolicyFence::Unchecked),
            telling(&stale, PolicyFence::Generation(generation + 1)),
            telling(&o1, PolicyFence::Generation(generation)),
        ])
        .await;
    assert_eq!(outcomes.expect("write"), vec![Conflict, Fenced, Written]);
    let o1_id = Notice::of_latest(&o1).expect("opened").id;
    let mut expected = vec![n1.clone(), o1_id];
    expected.sort();
    assert_eq!(outbox().await, expected);

    // 150 openings with their notices: more actions than one transaction.
    let many: Vec<Finding> = (0..150)
        .map(|i| {
            let r = resource(A2, Service::S3, "us-east-1", "AWS::S3::Bucket", &format!("many-{i:03}"), 0);
            finding(&r, "s3-bucket-public", 50, FindingState::Active, 3)
        })
        .collect();
    let outcomes = store
        .write_findings(many.iter().map(|f| telling(f, PolicyFence::Generation(generation))).collect())
        .await
        .expect("write");
    assert!(outcomes.iter().all(|o| *o == Written));
    assert_eq!(outbox().await.len(), 152);
    // Writes with no notice add none.
    let refreshed = Finding { evidence: json!({"again": true}), ..next(&v1) };
    assert_eq!(store.write_findings(vec![write(refreshed, PolicyFence::Unchecked)]).await.expect("w"), vec![Written]);
    assert_eq!(outbox().await.len(), 152);
}

/// A finding on a key no one stored.
fn bucket_gone(bucket: &Resource) -> Finding {
    finding(bucket, "never-stored", 10, FindingState::Resolved, 1)
}

pub async fn finding_policy_fences(store: Arc<dyn Store>) {
    use FindingWriteOutcome::{Fenced, Written};
    let bucket = resource(A1, Service::S3, "us-east-1", "AWS::S3::Bucket", "b", 0);
    let launched = policy("s3-bucket-public", PolicyStatus::Active);
    assert!(store.put_policy(launched.clone(), None).await.expect("put"));
    let v1 = finding(&bucket, "s3-bucket-public", 90, FindingState::Active, 10);
    let get = || store.get_finding(&bucket.arn, "s3-bucket-public");

    // Decided under an older generation, or for a deleted policy: refused.
    for fence in [PolicyFence::Generation(4), PolicyFence::Generation(6), PolicyFence::Absent] {
        assert_eq!(store.write_findings(vec![write(v1.clone(), fence)]).await.expect("write"), vec![Fenced]);
    }
    assert_eq!(get().await.expect("get"), None, "a fenced write writes nothing");
    assert_eq!(
        store.write_findings(vec![write(v1.clone(), PolicyFence::Generation(5))]).await.expect("w"),
        vec![Written]
    );

    // A suspension moves the generation on: a sweep that read generation 5
    // can no longer reopen what the suspension resolved.
    let suspended = LaunchedPolicy { generation: 6, ..policy("s3-bucket-public", PolicyStatus::Suspended) };
    assert!(store.put_policy(suspended, Some(5)).await.expect("suspend"));
    let resolved = Finding { state: FindingState::Resolved, ..next(&v1) };
    let reopened = next(&v1);
    let outcomes = store
        .write_findings(vec![
            write(reopened, PolicyFence::Generation(5)),
            write(resolved.clone(), PolicyFence::Generation(6)),
        ])
        .await
        .expect("write");
    assert_eq!(outcomes, vec![Fenced, Written]);
    assert_eq!(get().await.expect("get"), Some(resolved.clone()));

    // Closing a deleted policy's findings holds only while it stays deleted;
    // fences of other policies in the same call are checked each on its own.
    let other = finding(&bucket, "ec2-imdsv1", 40, FindingState::Active, 5);
    assert!(store.delete_policy("s3-bucket-public", 6).await.expect("delete"));
    let closed = next(&resolved);
    let outcomes = store
        .write_findings(vec![
            write(closed.clone(), PolicyFence::Absent),
            write(other.clone(), PolicyFence::Generation(5)),
        ])
        .await
        .expect("write");
    assert_eq!(outcomes, vec![Written, Fenced], "ec2-imdsv1 is not launched");
    assert_eq!(get().await.expect("get"), Some(closed.clone()));
    assert!(store.put_policy(policy("s3-bucket-public", PolicyStatus::Active), None).await.expect("relaunch"));
    let late = next(&closed);
    assert_eq!(store.write_findings(vec![write(late, PolicyFence::Absent)]).await.expect("write"), vec![Fenced]);
}

/// Writers that each read, change and write one finding with retries on
/// conflict: every change lands, none is lost to another writer.
pub async fn finding_writes_under_contention(store: Arc<dyn Store>) {
    const WRITERS: usize = 8;
    const EACH: usize = 3;
    let bucket = resource(A1, Service::S3, "us-east-1", "AWS::S3::Bucket", "b", 0);
    let mut first = finding(&bucket, "s3-bucket-public", 90, FindingState::Active, 10);
    first.evidence = json!({"count": 0});
    put_findings(&store, vec![first]).await;
    let mut tasks = Vec::new();
    for _ in 0..WRITERS {
        let store = Arc::clone(&store);
        let arn = bucket.arn.clone();
        tasks.push(tokio::spawn(async move {
            let mut conflicts = 0;
            for _ in 0..EACH {
                loop {
                    let current = store.get_finding(&arn, "s3-bucket-public").await.expect("get").expect("stored");
                    let count = current.evidence["count"].as_u64().expect("a count");
                    let changed = Finding { evidence: json!({"count": count + 1}), ..next(&current) };
                    let outcome = store.write_findings(vec![write(changed, PolicyFence::Unchecked)]).await;
                    match outcome.expect("write")[0] {
                        FindingWriteOutcome::Written => break,
                        FindingWriteOutcome::Conflict => conflicts += 1,
                        FindingWriteOutcome::Fenced => panic!("no fence was asked for"),
                    }
                    tokio::task::yield_now().await;
                }
            }
            conflicts
        }));
    }
    for t in tasks {
        t.await.expect("writer");
    }
    let last = store.get_finding(&bucket.arn, "s3-bucket-public").await.expect("get").expect("stored");
    assert_eq!(last.evidence["count"], json!(WRITERS * EACH), "every writer's change landed once");
    assert_eq!(last.version, 1 + (WRITERS * EACH) as u64);
}

pub async fn accounts_and_purge(store: Arc<dyn Store>) {
    assert_eq!(store.get_account(A1).await.expect("get"), None);
    let a1 = account(A1, "prod", AccountStatus::Active);
    let a2 = account(A2, "staging 'quoted' ✓", AccountStatus::Active);
    let a3 = account(A3, "old", AccountStatus::Removed);
    for a in [&a3, &a1, &a2] {
        assert!(store.put_account(a.clone(), None).await.expect("put"));
    }
    assert_eq!(store.list_accounts().await.expect("list"), vec![a1.clone(), a2.clone(), a3.clone()], "ordered by id");
    // Writes are conditional on the revision read: a writer that read an
    // older revision (a sweep's baseline after a removal) writes nothing.
    let renamed = Account { name: "production".into(), revision: 2, ..a1.clone() };
    assert!(!store.put_account(renamed.clone(), None).await.expect("put over a stored one"));
    assert!(store.put_account(renamed.clone(), Some(1)).await.expect("put"));
    let late = Account { baselined_at: Some(at(500)), revision: 2, ..a1.clone() };
    assert!(!store.put_account(late, Some(1)).await.expect("put at an old revision"));
    assert_eq!(store.get_account(A1).await.expect("get"), Some(renamed));
    assert_eq!(store.get_account(A3).await.expect("get"), Some(a3.clone()));

    let resources = estate();
    let findings = findings_of(&resources);
    put_all(&store, resources.clone()).await;
    put_findings(&store, findings.clone()).await;

    assert!(store.purge_account(A1).await.expect("purge"));
    assert_eq!(store.get_account(A1).await.expect("get"), None);
    assert_eq!(store.list_accounts().await.expect("list"), vec![a2.clone(), a3.clone()]);
    let everything = ResourceFilter { include_deleted: true, ..Default::default() };
    let left = walk_resources(&store, &everything, 1000).await;
    let expected: Vec<Resource> =
        resources_expected(&resources, &everything).into_iter().filter(|r| r.account_id != A1).collect();
    assert_eq!(left, expected, "only the purged account's resources are gone");
    for r in resources.iter().filter(|r| r.account_id == A1) {
        assert_eq!(store.get_resource(&r.arn).await.expect("get"), None);
        assert!(store.findings_for_resource(&r.arn).await.expect("findings").is_empty());
    }
    let left = walk_findings(&store, &FindingFilter::default(), FindingSort::Key, 1000).await;
    let mut kept: Vec<Finding> = findings.iter().filter(|f| f.account_id != A1).cloned().collect();
    kept.sort_by(|a, b| (&a.arn, &a.policy).cmp(&(&b.arn, &b.policy)));
    assert_eq!(left, kept, "only the purged account's findings are gone");

    assert!(!store.purge_account(A1).await.expect("purge again"));
    // Data without an account row is purged all the same.
    assert!(!store.purge_account(A4).await.expect("purge orphan data"));
    let a4 = ResourceFilter { account_id: Some(A4.into()), include_deleted: true, ..Default::default() };
    assert_eq!(store.count_resources(&a4, None).await.expect("count"), total(0));
    let a4 = FindingFilter { account_id: Some(A4.into()), ..Default::default() };
    assert_eq!(store.count_findings(&a4, None).await.expect("count"), total(0));
    let a2 = ResourceFilter { account_id: Some(A2.into()), include_deleted: true, ..Default::default() };
    let a2_count = resources.iter().filter(|r| r.account_id == A2).count();
    assert_eq!(store.count_resources(&a2, None).await.expect("count"), total(a2_count));
}

pub async fn jobs(store: Arc<dyn Store>) {
    assert_eq!(store.get_job("job-1").await.expect("get"), None);
    let empty = store.list_jobs(&JobFilter::default(), &PageRequest::first(5)).await.expect("list");
    assert_eq!(empty, Page { items: Vec::new(), next_token: None });

    let statuses = [
        JobStatus::Queued,
        JobStatus::Running,
        JobStatus::Succeeded,
        JobStatus::Partial,
        JobStatus::Failed,
        JobStatus::Interrupted,
    ];
    let mut all: Vec<Job> = (0..14)
        .map(|i| {
            let kind = if i % 2 == 0 { JobKind::Inventory } else { JobKind::PolicySweep };
            // Several jobs share a creation time, so the id tie-break matters.
            job(&format!("job-{i:02}"), kind, statuses[i % 6], [0, 60, 60, 60, 120][i % 5])
        })
        .collect();
    for j in &all {
        store.put_job(j.clone()).await.expect("put");
    }
    assert_eq!(store.get_job("job-03").await.expect("get"), Some(all[3].clone()));

    // A job is written many times as it runs; the last write is what lists see.
    all[3] = Job { status: JobStatus::Succeeded, progress_done: 7, finished_at: Some(at(200)), ..all[3].clone() };
    store.put_job(all[3].clone()).await.expect("put");
    assert_eq!(store.get_job("job-03").await.expect("get"), Some(all[3].clone()));

    let filters = [
        JobFilter::default(),
        JobFilter { kind: Some(JobKind::Inventory), status: None },
        JobFilter { kind: None, status: Some(JobStatus::Succeeded) },
        JobFilter { kind: Some(JobKind::PolicySweep), status: Some(JobStatus::Succeeded) },
        JobFilter { kind: Some(JobKind::PolicySweep), status: Some(JobStatus::Queued) },
    ];
    for filter in filters {
        let mut expected: Vec<Job> = all
            .iter()
            .filter(|j| filter.kind.is_none_or(|k| k == j.kind) && filter.status.is_none_or(|s| s == j.status))
            .cloned()
            .collect();
        expected.sort_by(|a, b| (Reverse(a.created_at), Reverse(&a.id)).cmp(&(Reverse(b.created_at), Reverse(&b.id))));
        for limit in [1, 2, 5, 1000] {
            let walked = walk_jobs(&store, &filter, limit).await;
            let ids: Vec<&str> = walked.iter().map(|j| j.id.as_str()).collect();
            let want: Vec<&str> = expected.iter().map(|j| j.id.as_str()).collect();
            assert_eq!(ids, want, "newest first, limit {limit}, {filter:?}");
            assert_eq!(walked, expected);
        }
    }
    let newest = store.list_jobs(&JobFilter::default(), &PageRequest::first(1)).await.expect("list");
    assert_eq!(newest.items[0].created_at, at(120));
}

// ---------------------------------------------------------------------------
// Summaries, locks, history

fn entry(key: &str, value: Value) -> SummaryEntry {
    SummaryEntry { key: key.to_string(), value, computed_at: at(0), expires_at: Some(at(3600)) }
}

pub async fn summaries(store: Arc<dyn Store>) {
    assert_eq!(store.get_summary("dashboard").await.expect("get"), None);
    let first = entry("dashboard", json!({"Findings": {"critical": 3, "names": ["ü", "'; --"]}}));
    store.put_summary(first.clone()).await.expect("put");
    assert_eq!(store.get_summary("dashboard").await.expect("get"), Some(first));
    let second = SummaryEntry { expires_at: None, ..entry("dashboard", json!([1, 2, 3])) };
    store.put_summary(second.clone()).await.expect("put");
    assert_eq!(store.get_summary("dashboard").await.expect("get"), Some(second));

    let keys = ["dash:1", "dashboard:acct", "findings", "a%b", "a_c", "axb", "a\\d", "ünï:1", "xünï"];
    for k in keys {
        store.put_summary(entry(k, json!(k))).await.expect("put");
    }
    let present = |store: Arc<dyn Store>| async move {
        let mut out = Vec::new();
        for k in ["dashboard"].iter().chain(keys.iter()) {
            if store.get_summary(k).await.expect("get").is_some() {
                out.push(k.to_string());
            }
        }
        out
    };
    store.invalidate_summaries("dash").await.expect("invalidate");
    assert_eq!(present(Arc::clone(&store)).await, ["findings", "a%b", "a_c", "axb", "a\\d", "ünï:1", "xünï"]);
    store.invalidate_summaries("a%").await.expect("invalidate");
    assert_eq!(present(Arc::clone(&store)).await, ["findings", "a_c", "axb", "a\\d", "ünï:1", "xünï"], "% is literal");
    store.invalidate_summaries("a_").await.expect("invalidate");
    assert_eq!(present(Arc::clone(&store)).await, ["findings", "axb", "a\\d", "ünï:1", "xünï"], "_ is literal");
    store.invalidate_summaries("ünï").await.expect("invalidate");
    assert_eq!(present(Arc::clone(&store)).await, ["findings", "axb", "a\\d", "xünï"]);
    store.invalidate_summaries("nothing-matches").await.expect("invalidate");
    assert_eq!(present(Arc::clone(&store)).await.len(), 4);
    store.invalidate_summaries("").await.expect("invalidate");
    assert!(present(Arc::clone(&store)).await.is_empty(), "every key starts with the empty prefix");
}

pub async fn locks(store: Arc<dyn Store>) {
    let t = |s| at(s);
    assert!(store.try_lock("summary:dashboard", "h1", t(0), t(60)).await.expect("lock"));
    assert!(!store.try_lock("summary:dashboard", "h2", t(10), t(70)).await.expect("lock"), "held by another");
    assert!(store.try_lock("other", "h2", t(10), t(70)).await.expect("lock"), "locks are independent");
    assert!(store.try_lock("summary:dashboard", "h1", t(10), t(80)).await.expect("lock"), "the holder re-acquires");
    assert!(
        !store.try_lock("summary:dashboard", "h2", t(70), t(130)).await.expect("lock"),
        "the re-acquire extended it"
    );
    assert!(
        !store.try_lock("summary:dashboard", "h2", t(80), t(140)).await.expect("lock"),
        "not expired at its expiry"
    );
    assert!(store.try_lock("summary:dashboard", "h2", t(81), t(141)).await.expect("lock"), "taken once expired");
    assert!(!store.try_lock("summary:dashboard", "h1", t(90), t(150)).await.expect("lock"));

    store.release_lock("summary:dashboard", "h1").await.expect("release");
    assert!(
        !store.try_lock("summary:dashboard", "h3", t(91), t(151)).await.expect("lock"),
        "a non-holder cannot release"
    );
    store.release_lock("summary:dashboard", "h2").await.expect("release");
    assert!(store.try_lock("summary:dashboard", "h3", t(92), t(152)).await.expect("lock"), "free once released");
    store.release_lock("never-taken", "h1").await.expect("release of a free lock is fine");
}

pub async fn locks_under_contention(store: Arc<dyn Store>) {
    for round in 0..3 {
        let name = format!("race-{round}");
        let tasks: Vec<_> = (0..16)
            .map(|i| {
                let store = Arc::clone(&store);
                let name = name.clone();
                tokio::spawn(async move { store.try_lock(&name, &format!("holder-{i}"), at(0), at(60)).await })
            })
            .collect();
        let mut winners = 0;
        for task in tasks {
            if task.await.expect("task").expect("lock") {
                winners += 1;
            }
        }
        assert_eq!(winners, 1, "exactly one of the concurrent callers takes {name}");
    }
}

pub async fn history(store: Arc<dyn Store>) {
    assert!(store.list_history("drift", 0, 10).await.expect("list").is_empty());
    for (ts, v) in
        [(300, json!({"n": 3})), (100, json!({"n": 1})), (200, json!({"n": 2})), (200, json!("second at 200"))]
    {
        store.append_history("drift", ts, v).await.expect("append");
    }
    store.append_history("trend", 150, json!([1, "ü"])).await.expect("append");
    let all = store.list_history("drift", 0, 10).await.expect("list");
    assert_eq!(
        all,
        vec![(100, json!({"n": 1})), (200, json!({"n": 2})), (200, json!("second at 200")), (300, json!({"n": 3}))]
    );
    let since = store.list_history("drift", 200, 10).await.expect("list");
    assert_eq!(since.iter().map(|p| p.0).collect::<Vec<_>>(), vec![200, 200, 300], "since is inclusive");
    assert_eq!(store.list_history("drift", 0, 2).await.expect("list"), all[..2].to_vec(), "limit keeps the oldest");
    assert_eq!(store.list_history("drift", 301, 10).await.expect("list"), Vec::new());
    assert_eq!(store.list_history("drift", i64::MIN, usize::MAX).await.expect("list"), all);
    assert_eq!(store.list_history("trend", 0, 10).await.expect("list"), vec![(150, json!([1, "ü"]))]);
    assert!(store.list_history("dri%", 0, 10).await.expect("list").is_empty());

    // Many points of several series at once (30: more than one batch), in order within each.
    let many: Vec<(String, i64, Value)> =
        (0..30).map(|i| (format!("finding:arn:aws:s3:::b{} p", i % 2), 1000 + i, json!({"i": i}))).collect();
    store.append_history_many(many).await.expect("append many");
    store.append_history_many(Vec::new()).await.expect("append none");
    let even = store.list_history("finding:arn:aws:s3:::b0 p", 0, 100).await.expect("list");
    assert_eq!(even.iter().map(|p| p.0).collect::<Vec<_>>(), (0..30).step_by(2).map(|i| 1000 + i).collect::<Vec<_>>());
    assert_eq!(even[0].1, json!({"i": 0}));
    assert_eq!(store.list_history("finding:arn:aws:s3:::b1 p", 0, 100).await.expect("list").len(), 15);

    // Deleting series removes all their points and nothing of the others.
    store
        .delete_history(vec!["finding:arn:aws:s3:::b0 p".into(), "drift".into(), "never written".into()])
        .await
        .expect("delete");
    store.delete_history(Vec::new()).await.expect("delete none");
    assert!(store.list_history("finding:arn:aws:s3:::b0 p", i64::MIN, 100).await.expect("list").is_empty());
    assert!(store.list_history("drift", i64::MIN, 100).await.expect("list").is_empty());
    assert_eq!(store.list_history("finding:arn:aws:s3:::b1 p", 0, 100).await.expect("list").len(), 15);
    assert_eq!(store.list_history("trend", 0, 10).await.expect("list").len(), 1);
}

pub async fn kv(store: Arc<dyn Store>) {
    assert_eq!(store.kv_get("sim", "state").await.expect("get"), None);
    store.kv_put("sim", "state", json!({"Buckets": ["a", "b"], "Ünï": "'; DROP TABLE kv; --"})).await.expect("put");
    assert_eq!(
        store.kv_get("sim", "state").await.expect("get"),
        Some(json!({"Buckets": ["a", "b"], "Ünï": "'; DROP TABLE kv; --"}))
    );
    store.kv_put("sim", "state", json!(null)).await.expect("overwrite");
    assert_eq!(store.kv_get("sim", "state").await.expect("get"), Some(Value::Null), "a JSON null is a value");
    assert_eq!(store.kv_get("other", "state").await.expect("get"), None, "namespaces are isolated");

    let entries: Vec<(String, Value)> =
        ["zeta", "alpha", "mid_%"].iter().enumerate().map(|(i, k)| (k.to_string(), json!({"i": i}))).collect();
    store.kv_put_many("sim", entries).await.expect("put many");
    store.kv_put_many("other", vec![("alpha".into(), json!("other ns"))]).await.expect("put many");
    store.kv_put_many("sim", Vec::new()).await.expect("put none");
    let listed = store.kv_list("sim").await.expect("list");
    let keys: Vec<&str> = listed.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, vec!["alpha", "mid_%", "state", "zeta"], "ordered by key");
    assert_eq!(listed[0].1, json!({"i": 1}));
    assert_eq!(store.kv_list("other").await.expect("list"), vec![("alpha".to_string(), json!("other ns"))]);

    store.kv_clear("sim").await.expect("clear");
    assert!(store.kv_list("sim").await.expect("list").is_empty());
    assert_eq!(store.kv_get("sim", "alpha").await.expect("get"), None);
    assert_eq!(store.kv_list("other").await.expect("list").len(), 1, "clearing one namespace leaves the others");

    // Entries across namespaces in one call; the last of a key wins.
    let entries = vec![
        ("refs/sg-1".to_string(), "i-1".to_string(), json!(1)),
        ("refs/sg-1".to_string(), "i-2".to_string(), json!(1)),
        ("refs/sg-2".to_string(), "i-1".to_string(), json!(1)),
        ("refs/sg-2".to_string(), "i-1".to_string(), json!(2)),
    ];
    store.kv_put_entries(entries).await.expect("put entries");
    store.kv_put_entries(Vec::new()).await.expect("put no entries");
    assert_eq!(
        store.kv_list("refs/sg-1").await.expect("list"),
        vec![("i-1".into(), json!(1)), ("i-2".into(), json!(1))]
    );
    assert_eq!(store.kv_list("refs/sg-2").await.expect("list"), vec![("i-1".into(), json!(2))]);
    // Deleted only at the value read: a writer's newer value stays.
    assert!(!store.kv_delete_if("refs/sg-2", "i-1", json!(1)).await.expect("delete stale"), "value is 2 now");
    assert!(store.kv_delete_if("refs/sg-2", "i-1", json!(2)).await.expect("delete"));
    assert!(!store.kv_delete_if("refs/sg-2", "i-1", json!(2)).await.expect("delete twice"), "gone already");
    assert!(!store.kv_delete_if("refs/none", "x", json!(1)).await.expect("delete missing"));
    assert!(store.kv_list("refs/sg-2").await.expect("list").is_empty());
    assert_eq!(store.kv_list("refs/sg-1").await.expect("list").len(), 2, "other namespaces untouched");
}

/// Counters: created at 0, added to atomically by concurrent writers, kept
/// apart from documents of the same namespace.
pub async fn counters_under_contention(store: Arc<dyn Store>) {
    assert!(store.counters("events").await.expect("counters").is_empty());
    store.kv_put("events", "received", json!({"a": "document"})).await.expect("put");
    const WRITERS: i64 = 6;
    const EACH: i64 = 5;
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            for _ in 0..EACH {
                let deltas = vec![("received".to_string(), 2), (format!("writer/{w}"), 1), ("zero".to_string(), 0)];
                store.counters_add("events", deltas).await.expect("add");
                tokio::task::yield_now().await;
            }
        }));
    }
    for t in tasks {
        t.await.expect("writer");
    }
    let counters = store.counters("events").await.expect("counters");
    assert_eq!(counters[0], ("received".to_string(), 2 * WRITERS * EACH), "no count lost: {counters:?}");
    assert_eq!(counters.len() as i64, 1 + WRITERS + i64::from(counters.iter().any(|c| c.0 == "zero")));
    for (name, n) in &counters[1..] {
        if name.starts_with("writer/") {
            assert_eq!(*n, EACH);
        }
    }
    store.counters_add("events", vec![("received".into(), -10)]).await.expect("subtract");
    assert_eq!(store.counters("events").await.expect("counters")[0].1, 2 * WRITERS * EACH - 10);
    assert_eq!(store.kv_get("events", "received").await.expect("get"), Some(json!({"a": "document"})));
    assert!(store.counters("other").await.expect("counters").is_empty());
}

/// Versioned entries: conditional creates and updates, versions as read,
/// and a plain put that leaves its entry at version 1.
pub async fn versioned_entries(store: Arc<dyn Store>) {
    let ns = "#plan/j1";
    assert_eq!(store.kv_get_versioned(ns, "a").await.expect("get"), None);
    assert!(store.kv_put_if(ns, "a", json!({"n": 1}), None).await.expect("create"));
    assert!(!store.kv_put_if(ns, "a", json!({"n": 9}), None).await.expect("create twice"), "created once");
    assert_eq!(store.kv_get_versioned(ns, "a").await.expect("get"), Some((json!({"n": 1}), 1)));
    assert!(!store.kv_put_if(ns, "a", json!({"n": 9}), Some(2)).await.expect("stale"), "not at version 2");
    assert!(store.kv_put_if(ns, "a", json!({"n": 2}), Some(1)).await.expect("update"));
    assert!(!store.kv_put_if(ns, "a", json!({"n": 9}), Some(1)).await.expect("lost update"), "version 1 is gone");
    assert!(!store.kv_put_if(ns, "missing", json!({}), Some(1)).await.expect("missing"), "no entry to update");
    store.kv_put_many(ns, vec![("b".into(), json!("plain")), ("c".into(), json!("plain"))]).await.expect("many");
    assert!(store.kv_put_if(ns, "b", json!("taken"), Some(1)).await.expect("a plain entry is version 1"));
    let listed = store.kv_list_versioned(ns).await.expect("list");
    assert_eq!(
        listed,
        vec![
            ("a".to_string(), json!({"n": 2}), 2),
            ("b".to_string(), json!("taken"), 2),
            ("c".to_string(), json!("plain"), 1)
        ]
    );
    assert_eq!(store.kv_get(ns, "a").await.expect("plain get"), Some(json!({"n": 2})));
    store.kv_put(ns, "a", json!("overwritten")).await.expect("plain put");
    assert_eq!(store.kv_get_versioned(ns, "a").await.expect("get"), Some((json!("overwritten"), 1)));
    assert!(store.kv_list_versioned("#plan/other").await.expect("list").is_empty());
    assert_eq!(store.counter_add(ns, "finished", 1).await.expect("add"), 1);
    assert_eq!(store.counter_add(ns, "finished", 2).await.expect("add"), 3);
    assert_eq!(store.counter_add(ns, "finished", 0).await.expect("adding nothing reads it"), 3);
    assert_eq!(store.counters(ns).await.expect("counters"), vec![("finished".to_string(), 3)]);
    assert_eq!(store.counter_add("#plan/j2", "unset", 0).await.expect("adding nothing to none"), 0);
    assert_eq!(store.kv_list_versioned(ns).await.expect("list").len(), 3, "counters are not entries");

    // Read a page at a time: the same entries, in order, each once.
    let many = "#plan/paged";
    let entries: Vec<(String, Value)> = (0..25).map(|i| (format!("u{i:03}"), json!({"i": i}))).collect();
    store.kv_put_many(many, entries.clone()).await.expect("many");
    let mut paged = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = store.kv_page_versioned(many, after.as_deref(), 7).await.expect("page");
        assert!(page.len() <= 7);
        let Some(last) = page.last() else { break };
        after = Some(last.0.clone());
        paged.extend(page);
    }
    let expected: Vec<(String, Value, u64)> = entries.into_iter().map(|(k, v)| (k, v, 1)).collect();
    assert_eq!(paged, expected);
    let tail = store.kv_page_versioned(many, Some("u020"), 100).await.expect("tail");
    assert_eq!(tail.iter().map(|e| e.0.as_str()).collect::<Vec<_>>(), ["u021", "u022", "u023", "u024"]);
    assert!(store.kv_page_versioned("#plan/none", None, 10).await.expect("empty").is_empty());
}

/// Workers racing for one entry: exactly one conditional write from each
/// version wins; racing adders each see a different counter value.
pub async fn claims_under_contention(store: Arc<dyn Store>) {
    let ns = "#plan/race";
    store.kv_put_many(ns, vec![("unit".into(), json!({"by": null}))]).await.expect("plan");
    const WORKERS: usize = 6;
    let mut tasks = Vec::new();
    for w in 0..WORKERS {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            let claimed = store.kv_put_if(ns, "unit", json!({"by": w}), Some(1)).await.expect("claim");
            let seen = store.counter_add(ns, "finished", 1).await.expect("add");
            (claimed.then_some(w), seen)
        }));
    }
    let mut winners = Vec::new();
    let mut seen = Vec::new();
    for t in tasks {
        let (won, n) = t.await.expect("worker");
        winners.extend(won);
        seen.push(n);
    }
    assert_eq!(winners.len(), 1, "one claim of version 1 wins: {winners:?}");
    let stored = store.kv_get_versioned(ns, "unit").await.expect("get");
    assert_eq!(stored, Some((json!({"by": winners[0]}), 2)));
    seen.sort_unstable();
    assert_eq!(seen, (1..=WORKERS as i64).collect::<Vec<_>>(), "every adder saw its own count");
}

/// A job is created once, and updated only from the version its writer read.
pub async fn job_conditional_writes(store: Arc<dyn Store>) {
    let mut first = job("inv-cond", JobKind::Inventory, JobStatus::Running, 100);
    assert_eq!(first.version, 1);
    assert!(store.put_job_if(first.clone(), None).await.expect("create"));
    assert!(!store.put_job_if(first.clone(), None).await.expect("create twice"));
    let mut heartbeat = first.clone();
    heartbeat.version = 2;
    heartbeat.progress_done = 3;
    assert!(store.put_job_if(heartbeat.clone(), Some(1)).await.expect("update"));
    first.version = 2;
    first.status = JobStatus::Succeeded;
    assert!(!store.put_job_if(first, Some(1)).await.expect("stale update"), "written from a version read before");
    assert_eq!(store.get_job("inv-cond").await.expect("get"), Some(heartbeat.clone()));
    let listed = store
        .list_jobs(&JobFilter { kind: None, status: Some(JobStatus::Running) }, &PageRequest::first(10))
        .await
        .expect("list");
    assert_eq!(listed.items, vec![heartbeat]);
}
