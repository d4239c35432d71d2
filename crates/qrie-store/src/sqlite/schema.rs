//! The schema and its migrations, versioned by `PRAGMA user_version`.
//!
//! Migration `i` takes the database from version `i` to `i + 1`. Append new
//! migrations; never edit a released one.

use rusqlite::{Connection, TransactionBehavior};

use super::{Fail, Res};
use crate::StoreError;

const MIGRATIONS: &[&str] = &[
    // 1: the foundation schema.
    r#"
CREATE TABLE resources (
    arn             TEXT    NOT NULL PRIMARY KEY,
    account_service TEXT    NOT NULL,
    account_id      TEXT    NOT NULL,
    service         TEXT    NOT NULL,
    region          TEXT    NOT NULL,
    resource_type   TEXT    NOT NULL,
    name            TEXT    NOT NULL,
    config_hash     TEXT    NOT NULL,
    -- ms since the epoch of the latest observation, present or gone
    observed_at     INTEGER NOT NULL,
    deleted         INTEGER NOT NULL,
    doc             TEXT    NOT NULL
);
CREATE INDEX resources_by_account_service ON resources (account_service, arn);
CREATE INDEX resources_by_account ON resources (account_id);

CREATE TABLE findings (
    arn             TEXT    NOT NULL,
    policy          TEXT    NOT NULL,
    account_service TEXT    NOT NULL,
    account_id      TEXT    NOT NULL,
    service         TEXT    NOT NULL,
    region          TEXT    NOT NULL,
    resource_type   TEXT    NOT NULL,
    severity        INTEGER NOT NULL,
    state           TEXT    NOT NULL,
    first_seen      INTEGER NOT NULL,
    last_evaluated  INTEGER NOT NULL,
    doc             TEXT    NOT NULL,
    PRIMARY KEY (arn, policy)
);
CREATE INDEX findings_by_policy_state ON findings (policy, state);
CREATE INDEX findings_by_account_service ON findings (account_service);
CREATE INDEX findings_by_state_severity ON findings (state, severity);
CREATE INDEX findings_by_account ON findings (account_id);
-- The descending list orders are keyset-paginated on these exact expressions.
CREATE INDEX findings_by_severity_desc ON findings (-severity, arn, policy);
CREATE INDEX findings_by_last_evaluated_desc ON findings (-last_evaluated, arn, policy);

CREATE TABLE policies (
    policy_id TEXT NOT NULL PRIMARY KEY,
    doc       TEXT NOT NULL
);

CREATE TABLE accounts (
    account_id TEXT NOT NULL PRIMARY KEY,
    doc        TEXT NOT NULL
);

CREATE TABLE jobs (
    id         TEXT    NOT NULL PRIMARY KEY,
    kind       TEXT    NOT NULL,
    status     TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    doc        TEXT    NOT NULL
);
CREATE INDEX jobs_newest_first ON jobs (created_at DESC, id DESC);

CREATE TABLE summaries (
    key TEXT NOT NULL PRIMARY KEY,
    doc TEXT NOT NULL
);

CREATE TABLE locks (
    name       TEXT    NOT NULL PRIMARY KEY,
    holder     TEXT    NOT NULL,
    expires_at INTEGER NOT NULL
);

CREATE TABLE history (
    seq          INTEGER PRIMARY KEY,
    series       TEXT    NOT NULL,
    timestamp_ms INTEGER NOT NULL,
    value        TEXT    NOT NULL
);
CREATE INDEX history_by_series ON history (series, timestamp_ms, seq);

CREATE TABLE kv (
    namespace TEXT NOT NULL,
    key       TEXT NOT NULL,
    value     TEXT NOT NULL,
    PRIMARY KEY (namespace, key)
) WITHOUT ROWID;
"#,
    // 2: indexes for lists and summaries at a million findings (docs/performance.md).
    //
    // Without ANALYZE statistics SQLite takes any index with an equality match
    // as cheaper than scanning in order, then sorts what it found: a findings
    // page filtered by state alone sorted three quarters of the table. So every
    // index that leads with a list filter continues with a list order (the
    // page is read in index order and stops at the limit), and the equality-
    // only indexes that invited those sorts are gone. `state` sits last in the
    // account and policy indexes so that their lists work for any state.
    // Summaries count from covering indexes instead of reading the rows.
    r#"
DROP INDEX findings_by_policy_state;
DROP INDEX findings_by_account;
DROP INDEX findings_by_state_severity;
DROP INDEX findings_by_account_service;
CREATE INDEX findings_by_state_severity_desc ON findings (state, -severity, arn, policy);
CREATE INDEX findings_by_state_last_evaluated_desc ON findings (state, -last_evaluated, arn, policy);
CREATE INDEX findings_by_state_key ON findings (state, arn, policy);
CREATE INDEX findings_by_account_severity_desc ON findings (account_id, -severity, arn, policy, state);
CREATE INDEX findings_by_policy_state_severity_desc ON findings (policy, state, -severity, arn);
CREATE INDEX findings_rollup ON findings (state, severity, account_id, service, policy);
-- Led by a column no resource list filters on, so that it serves counts
-- (a scan of a covering index) and never displaces the list order index.
CREATE INDEX resources_rollup ON resources (account_service, deleted, service, account_id, region, resource_type);
"#,
    // 3: optimistic concurrency. A finding's version, which every write is
    // conditional on (findings stored before read as version 1, as their
    // documents do).
    r#"
ALTER TABLE findings ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
"#,
    // 4: versioned key-value entries (a sweep's plan units, written
    // conditionally by the workers that take and finish them).
    r#"
ALTER TABLE kv ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
"#,
];

/// The schema version this build writes.
pub(super) const CURRENT_VERSION: i64 = MIGRATIONS.len() as i64;

/// Checks that the database is a qrie store this build understands, switches
/// a file to WAL, and applies pending migrations. Reading the schema here is
/// what makes a foreign or corrupt file fail at open rather than at first use.
pub(super) fn prepare(conn: &mut Connection, location: &str, is_file: bool) -> Res<()> {
    // IMMEDIATE: of several processes opening the same new file, one checks and
    // migrates while the others wait (busy timeout), then find it migrated. The
    // check reads the version and the table list in that one transaction, so it
    // never sees another process's migration half done.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let version = check(&tx, location)?;
    if version < CURRENT_VERSION {
        for sql in MIGRATIONS.iter().skip(usize::try_from(version).unwrap_or(0)) {
            tx.execute_batch(sql)?;
        }
        tx.pragma_update(None, "user_version", CURRENT_VERSION)?;
    }
    tx.commit()?;
    if is_file {
        switch_to_wal(conn)?;
    }
    Ok(())
}

/// Switches a file to WAL (after the check, so a foreign file is never
/// rewritten). Two processes switching at once can be told "busy" without
/// waiting; the switch is retried for a few seconds.
fn switch_to_wal(conn: &Connection) -> Res<()> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let attempt = conn.query_row("PRAGMA journal_mode", [], |r| r.get::<_, String>(0)).and_then(|mode| {
            if mode.eq_ignore_ascii_case("wal") {
                Ok(mode)
            } else {
                conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0))
            }
        });
        match attempt {
            Ok(_) => return Ok(()),
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// The schema version, if this is a database qrie may use.
fn check(conn: &Connection, location: &str) -> Res<i64> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version > CURRENT_VERSION {
        return Err(refuse(
            location,
            format!(
                "its schema version {version} was written by a newer qrie (this build knows up to {CURRENT_VERSION}); \
             upgrade qrie to open it"
            ),
        ));
    }
    if version < 0 {
        return Err(refuse(location, format!("it has schema version {version}, which qrie never writes")));
    }
    if version == 0 {
        let mut stmt = conn.prepare(
            "SELECT name FROM sqlite_schema WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' \
             ORDER BY name",
        )?;
        let foreign = stmt.query_map([], |r| r.get::<_, String>(0))?.collect::<Result<Vec<_>, _>>()?;
        if !foreign.is_empty() {
            return Err(refuse(
                location,
                format!(
                    "not a qrie store: it is a SQLite database that already holds other tables ({})",
                    foreign.join(", ")
                ),
            ));
        }
    }
    Ok(version)
}

fn refuse(location: &str, reason: String) -> Fail {
    Fail::Store(StoreError::Corrupt { location: location.to_string(), reason })
}
