//! Findings, keyed by (ARN, Policy).

use async_trait::async_trait;
use qrie_model::notice::{OutboxEntry, OUTBOX};
use qrie_model::{Finding, FindingState};
use rusqlite::{params, TransactionBehavior};

use super::cursor::{self, Kind, Order};
use super::query::{self, millis, to_doc};
use super::Fail;
use super::SqliteStore;
use crate::{
    FindingFilter, FindingGroup, FindingSort, FindingStore, FindingWrite, FindingWriteOutcome, Page, PageRequest,
    PolicyFence, Result, StoreError,
};
use std::collections::HashMap;

/// A finding no one has stored yet.
const INSERT: &str = "
INSERT INTO findings
    (arn, policy, account_service, account_id, service, region, resource_type, severity, state, first_seen,
     last_evaluated, doc, version)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
ON CONFLICT (arn, policy) DO NOTHING";

/// A finding at the version the writer read (?14).
const UPDATE: &str = "
UPDATE findings SET
    account_service = ?3, account_id = ?4, service = ?5, region = ?6, resource_type = ?7, severity = ?8,
    state = ?9, first_seen = ?10, last_evaluated = ?11, doc = ?12, version = ?13
WHERE arn = ?1 AND policy = ?2 AND version = ?14";

/// A refresh (the finding evaluated again, still failing): only the columns
/// a refresh changes, so that only the indexes on `last_evaluated` are
/// rewritten, not all twelve. Matches nothing when any other column differs
/// (a transition), and [`UPDATE`] then writes the finding.
const REFRESH: &str = "
UPDATE findings SET last_evaluated = ?11, doc = ?12, version = ?13
WHERE arn = ?1 AND policy = ?2 AND version = ?14
  AND account_service = ?3 AND account_id = ?4 AND service = ?5 AND region = ?6 AND resource_type = ?7
  AND severity = ?8 AND state = ?9 AND first_seen = ?10";

/// The stored generation of a launched policy (documents from before
/// generations read as 1, as the model does).
const POLICY_GENERATION: &str =
    "SELECT COALESCE(json_extract(doc, '$.Generation'), 1) FROM policies WHERE policy_id = ?1";

pub(super) fn policy_generation(conn: &rusqlite::Connection, policy_id: &str) -> rusqlite::Result<Option<u64>> {
    use rusqlite::OptionalExtension;
    conn.prepare_cached(POLICY_GENERATION)?
        .query_row([policy_id], |r| r.get::<_, i64>(0))
        .optional()
        .map(|g| g.map(|g| u64::try_from(g).unwrap_or(0)))
}

fn fence_holds(
    conn: &rusqlite::Connection,
    cache: &mut HashMap<String, Option<u64>>,
    policy_id: &str,
    fence: PolicyFence,
) -> rusqlite::Result<bool> {
    if fence == PolicyFence::Unchecked {
        return Ok(true);
    }
    let generation = match cache.get(policy_id) {
        Some(g) => *g,
        None => {
            let g = policy_generation(conn, policy_id)?;
            cache.insert(policy_id.to_string(), g);
            g
        }
    };
    Ok(match fence {
        PolicyFence::Generation(want) => generation == Some(want),
        PolicyFence::Absent => generation.is_none(),
        PolicyFence::Unchecked => true,
    })
}

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
        // Key order is already paged by a seek on the primary key.
        FindingSort::Key | FindingSort::StoreOrder => &KEY,
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
    async fn write_findings(&self, writes: Vec<FindingWrite>) -> Result<Vec<FindingWriteOutcome>> {
        self.run(move |conn| {
            // One IMMEDIATE transaction: the version and fence checks and the
            // writes happen with no other writer in between.
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let mut outcomes = Vec::with_capacity(writes.len());
            {
                let mut fences = HashMap::new();
                let mut insert = tx.prepare_cached(INSERT)?;
                let mut update = tx.prepare_cached(UPDATE)?;
                let mut refresh = tx.prepare_cached(REFRESH)?;
                for w in &writes {
                    let f = &w.finding;
                    if f.version == 0 {
                        return Err(Fail::Store(StoreError::Backend(format!(
                            "finding {} {} written with version 0 (a write carries the version it will have)",
                            f.arn, f.policy
                        ))));
                    }
                    if !fence_holds(&tx, &mut fences, &f.policy, w.fence)? {
                        outcomes.push(FindingWriteOutcome::Fenced);
                        continue;
                    }
                    let doc = to_doc(format_args!("{} {}", f.arn, f.policy), f)?;
                    let version = i64::try_from(f.version).unwrap_or(i64::MAX);
                    let values = params![
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
                        version,
                    ];
                    let changed = match w.expected_version() {
                        0 => insert.execute(values)?,
                        expected => {
                            let expected = i64::try_from(expected).unwrap_or(i64::MAX);
                            let mut all: Vec<&dyn rusqlite::ToSql> = values.to_vec();
                            all.push(&expected);
                            match refresh.execute(all.as_slice())? {
                                0 => update.execute(all.as_slice())?,
                                n => n,
                            }
                        }
                    };
                    if changed != 1 {
                        outcomes.push(FindingWriteOutcome::Conflict);
                        continue;
                    }
                    if let Some(notice) = &w.notice {
                        let entry = OutboxEntry { notice: notice.clone(), deliveries: Default::default() };
                        let value = entry.to_value().map_err(|e| {
                            Fail::Store(StoreError::Backend(format!("encoding notice {}: {e}", notice.id)))
                        })?;
                        super::kv::put(&tx, OUTBOX, &notice.outbox_key(), &value)?;
                    }
                    outcomes.push(FindingWriteOutcome::Written);
                }
            }
            tx.commit()?;
            Ok(outcomes)
        })
        .await
    }

    async fn get_finding(&self, arn: &str, policy: &str) -> Result<Option<Finding>> {
        let filter =
            FindingFilter { arn: Some(arn.to_string()), policy: Some(policy.to_string()), ..Default::default() };
        Ok(self.select_findings(filter, BY_KEY).await?.into_iter().next())
    }

    async fn findings_for_resources(&self, arns: Vec<String>) -> Result<Vec<Finding>> {
        self.run(move |conn| {
            let mut out = Vec::new();
            for chunk in arns.chunks(super::resources::IN_CHUNK) {
                let mut filter = query::Where::default();
                let marks = vec!["?"; chunk.len()].join(", ");
                filter.push(format!("arn IN ({marks})"), chunk.iter().map(|a| rusqlite::types::Value::Text(a.clone())));
                out.extend(query::select_docs::<Finding>(conn, "findings", "arn || ' ' || policy", &filter, BY_KEY)?);
            }
            Ok(out)
        })
        .await
    }

    async fn findings_for_resource(&self, arn: &str) -> Result<Vec<Finding>> {
        self.select_findings(FindingFilter { arn: Some(arn.to_string()), ..Default::default() }, BY_KEY).await
    }

    async fn findings_for_policy(&self, policy: &str, state: Option<FindingState>) -> Result<Vec<Finding>> {
        let filter = FindingFilter { policy: Some(policy.to_string()), state, ..Default::default() };
        self.select_findings(filter, BY_POLICY_INDEX).await
    }

    async fn delete_findings(&self, keys: Vec<(String, String, u64)>) -> Result<Vec<bool>> {
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let mut deleted = Vec::with_capacity(keys.len());
            {
                let mut delete =
                    tx.prepare_cached("DELETE FROM findings WHERE arn = ?1 AND policy = ?2 AND version = ?3")?;
                for (arn, policy, version) in &keys {
                    let version = i64::try_from(*version).unwrap_or(i64::MAX);
                    deleted.push(delete.execute(params![arn, policy, version])? == 1);
                }
            }
            tx.commit()?;
            Ok(deleted)
        })
        .await
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
