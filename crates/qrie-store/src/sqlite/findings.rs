//! Findings, keyed by (ARN, Policy).

use async_trait::async_trait;
use qrie_model::{Finding, FindingState};
use rusqlite::{params, TransactionBehavior};

use super::cursor::{self, Kind, Order};
use super::query::{self, millis, to_doc};
use super::SqliteStore;
use crate::{FindingFilter, FindingGroup, FindingSort, FindingStore, Page, PageRequest, Result};

const UPSERT: &str = "
INSERT INTO findings
    (arn, policy, account_service, account_id, service, region, resource_type, severity, state, first_seen,
     last_evaluated, doc)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
ON CONFLICT (arn, policy) DO UPDATE SET
    account_service = excluded.account_service,
    account_id = excluded.account_id,
    service = excluded.service,
    region = excluded.region,
    resource_type = excluded.resource_type,
    severity = excluded.severity,
    state = excluded.state,
    first_seen = excluded.first_seen,
    last_evaluated = excluded.last_evaluated,
    doc = excluded.doc";

fn order(sort: FindingSort) -> &'static Order {
    const KEY: Order = Order { tag: "f:key", keys: &[("arn", Kind::Text), ("policy", Kind::Text)], descending: false };
    // Negated so that one ascending tuple gives "most first, then by key"; the
    // schema indexes these expressions.
    const SEVERITY: Order = Order {
        tag: "f:sev",
        keys: &[("-severity", Kind::Int), ("arn", Kind::Text), ("policy", Kind::Text)],
        descending: false,
    };
    const LAST: Order = Order {
        tag: "f:last",
        keys: &[("-last_evaluated", Kind::Int), ("arn", Kind::Text), ("policy", Kind::Text)],
        descending: false,
    };
    match sort {
        FindingSort::Key => &KEY,
        FindingSort::SeverityDesc => &SEVERITY,
        FindingSort::LastEvaluatedDesc => &LAST,
    }
}

fn group_column(group: FindingGroup) -> &'static str {
    match group {
        FindingGroup::Policy => "policy",
        FindingGroup::Account => "account_id",
        FindingGroup::Service => "service",
        FindingGroup::Region => "region",
        FindingGroup::ResourceType => "resource_type",
        FindingGroup::State => "state",
        FindingGroup::Severity => "severity",
    }
}

/// The order of a resource's findings: the primary key's.
const BY_KEY: &str = "arn, policy";
/// The order of a policy's findings: its index's, so that SQLite reads them in
/// that index instead of scanning a whole state for the policy.
const BY_POLICY_INDEX: &str = "policy, state, -severity, arn";

impl SqliteStore {
    async fn select_findings(&self, filter: FindingFilter, order_by: &'static str) -> Result<Vec<Finding>> {
        let filter = query::finding_filter(&filter);
        self.run(move |conn| query::select_docs(conn, "findings", "arn || ' ' || policy", &filter, order_by)).await
    }
}

#[async_trait]
impl FindingStore for SqliteStore {
    async fn put_findings(&self, findings: Vec<Finding>) -> Result<()> {
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            {
                let mut stmt = tx.prepare_cached(UPSERT)?;
                for f in &findings {
                    let doc = to_doc(format_args!("{} {}", f.arn, f.policy), f)?;
                    stmt.execute(params![
                        f.arn,
                        f.policy,
                        f.account_service,
                        f.account_id,
                        f.service(),
                        f.region,
                        f.resource_type,
                        f.severity.value(),
                        f.state.as_str(),
                        millis(f.first_seen),
                        millis(f.last_evaluated),
                        doc,
                    ])?;
                }
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn get_finding(&self, arn: &str, policy: &str) -> Result<Option<Finding>> {
        let filter =
            FindingFilter { arn: Some(arn.to_string()), policy: Some(policy.to_string()), ..Default::default() };
        Ok(self.select_findings(filter, BY_KEY).await?.into_iter().next())
    }

    async fn findings_for_resource(&self, arn: &str) -> Result<Vec<Finding>> {
        self.select_findings(FindingFilter { arn: Some(arn.to_string()), ..Default::default() }, BY_KEY).await
    }

    async fn findings_for_policy(&self, policy: &str, state: Option<FindingState>) -> Result<Vec<Finding>> {
        let filter = FindingFilter { policy: Some(policy.to_string()), state, ..Default::default() };
        self.select_findings(filter, BY_POLICY_INDEX).await
    }

    async fn list_findings(
        &self,
        filter: &FindingFilter,
        sort: FindingSort,
        page: &PageRequest,
    ) -> Result<Page<Finding>> {
        let filter = query::finding_filter(filter);
        let page = page.clone();
        self.run(move |conn| cursor::page(conn, "findings", filter, order(sort), &page)).await
    }

    async fn count_findings(&self, filter: &FindingFilter, group: Option<FindingGroup>) -> Result<Vec<(String, u64)>> {
        let filter = query::finding_filter(filter);
        self.run(move |conn| query::count(conn, "findings", &filter, group.map(group_column))).await
    }

    async fn count_findings_each(
        &self,
        filter: &FindingFilter,
        groups: &[FindingGroup],
    ) -> Result<Vec<Vec<(String, u64)>>> {
        let filter = query::finding_filter(filter);
        let columns: Vec<&'static str> = groups.iter().map(|g| group_column(*g)).collect();
        self.run(move |conn| query::count_each(conn, "findings", &filter, &columns)).await
    }
}

#[cfg(test)]
mod tests {
    // What SQLite plans for the lists and counts the UI runs most. The planner
    // has no statistics (no ANALYZE), so an empty database plans as a store of
    // a million findings does; docs/performance.md has the timings behind it.
    use super::*;
    use crate::token;
    use rusqlite::{params_from_iter, Connection};
    use serde_json::json;

    fn store() -> Connection {
        let mut conn = Connection::open_in_memory().expect("sqlite");
        assert!(super::super::schema::prepare(&mut conn, ":memory:", false).is_ok(), "schema");
        conn
    }

    fn plan(conn: &Connection, sql: &str, params: &[rusqlite::types::Value]) -> String {
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).expect("explain");
        let rows = stmt.query_map(params_from_iter(params), |r| r.get::<_, String>(3)).expect("plan");
        rows.collect::<std::result::Result<Vec<_>, _>>().expect("plan rows").join("; ")
    }

    fn list_plan(conn: &Connection, filter: &FindingFilter, deep: bool) -> String {
        let next_token = deep.then(|| {
            token::encode("f:sev", vec![json!(-85), json!("arn:aws:ec2:us-east-1:1:instance/i-1"), json!("p")])
        });
        let request = PageRequest { limit: 100, next_token };
        let (sql, params) =
            cursor::page_query("findings", query::finding_filter(filter), order(FindingSort::SeverityDesc), &request)
                .unwrap_or_else(|_| panic!("page query"));
        plan(conn, &sql, &params)
    }

    #[test]
    fn lists_are_read_in_the_order_of_the_most_selective_index() {
        let conn = store();
        let active = FindingFilter { state: Some(FindingState::Active), ..Default::default() };
        let cases = [
            (active.clone(), "findings_by_state_severity_desc (state=? AND <expr>>?)"),
            (FindingFilter::default(), "findings_by_severity_desc (<expr>>?)"),
            (
                FindingFilter { account_id: Some("123456789012".into()), ..active.clone() },
                "findings_by_account_severity_desc (account_id=? AND <expr>>?)",
            ),
            (
                FindingFilter { account_id: Some("123456789012".into()), ..Default::default() },
                "findings_by_account_severity_desc (account_id=? AND <expr>>?)",
            ),
            (
                FindingFilter { policy: Some("p".into()), ..active.clone() },
                "findings_by_policy_state_severity_desc (policy=? AND state=? AND <expr>>?)",
            ),
        ];
        for (filter, index) in cases {
            let deep = list_plan(&conn, &filter, true);
            assert!(deep.contains(index), "{filter:?}: {deep}");
            let first = list_plan(&conn, &filter, false);
            assert!(!first.contains("TEMP B-TREE") && !deep.contains("TEMP B-TREE"), "{filter:?}: {first} / {deep}");
        }
    }

    #[test]
    fn dashboard_counts_are_one_pass_over_a_covering_index() {
        let conn = store();
        let filter = query::finding_filter(&FindingFilter {
            state: Some(FindingState::Active),
            exclude_accounts: vec!["123456789012".into()],
            ..Default::default()
        });
        let groups = [FindingGroup::Severity, FindingGroup::Policy, FindingGroup::Service, FindingGroup::Account];
        let columns: Vec<&str> = groups.iter().map(|g| group_column(*g)).collect();
        let p = plan(&conn, &query::count_each_sql("findings", &filter, &columns), &filter.params);
        assert_eq!(p, "SEARCH findings USING COVERING INDEX findings_rollup (state=?)");
    }
}
