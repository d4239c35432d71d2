//! The audit log (`qrie_model::audit`): recorded by every management
//! operation, read back by time range, actor and action.

use chrono::{Datelike, Months, TimeZone};
use qrie_model::audit::{audit_series, AuditAction, AuditEntry};
use qrie_model::Timestamp;
use serde_json::Value;

use crate::{Engine, EngineError};

/// What to read from the audit log.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// From this time (default: 30 days before `until`).
    pub since: Option<Timestamp>,
    /// Up to this time (default: now).
    pub until: Option<Timestamp>,
    /// Entries of this actor only (exact).
    pub actor: Option<String>,
    pub action: Option<AuditAction>,
    /// Entries about this target only (a rule or policy id).
    pub target: Option<String>,
    /// At most this many, newest first (1..=1000; default 100).
    pub limit: Option<usize>,
}

/// The longest span one query reads: 13 months of series.
const MAX_MONTHS: u32 = 13;

impl Engine {
    /// Appends one entry to the month's series.
    pub async fn audit(
        &self,
        at: Timestamp,
        actor: &str,
        action: AuditAction,
        target: &str,
        details: Value,
    ) -> Result<(), EngineError> {
        let entry = AuditEntry { at, actor: actor.to_string(), action, target: target.to_string(), details };
        let value = serde_json::to_value(&entry).map_err(|e| EngineError::Conflict(e.to_string()))?;
        self.store.append_history(&audit_series(at), at.timestamp_millis(), value).await?;
        Ok(())
    }

    /// Entries matching `q`, newest first.
    pub async fn audit_log(&self, q: &AuditQuery, now: Timestamp) -> Result<Vec<AuditEntry>, EngineError> {
        let until = q.until.unwrap_or(now);
        let since = q.since.unwrap_or(until - chrono::Duration::days(30));
        if since > until {
            return Err(invalid("since", "must not be later than until"));
        }
        let limit = q.limit.unwrap_or(100);
        if !(1..=1000).contains(&limit) {
            return Err(invalid("limit", "must be from 1 to 1000"));
        }
        let months = month_starts(since, until);
        if months.len() > MAX_MONTHS as usize {
            return Err(invalid("since", "a query spans at most 13 months"));
        }
        let mut out = Vec::new();
        // Newest month first; inside a month the series is oldest first.
        for month in months.into_iter().rev() {
            let points = self.store.list_history(&audit_series(month), since.timestamp_millis(), usize::MAX).await?;
            let mut entries: Vec<AuditEntry> = points
                .into_iter()
                .filter(|(ms, _)| *ms <= until.timestamp_millis())
                .filter_map(|(_, v)| serde_json::from_value(v).ok())
                .filter(|e: &AuditEntry| {
                    q.actor.as_ref().is_none_or(|a| *a == e.actor)
                        && q.action.is_none_or(|a| a == e.action)
                        && q.target.as_ref().is_none_or(|t| *t == e.target)
                })
                .collect();
            entries.reverse();
            out.extend(entries);
            if out.len() >= limit {
                break;
            }
        }
        out.truncate(limit);
        Ok(out)
    }
}

fn invalid(name: &str, reason: &str) -> EngineError {
    EngineError::Invalid(qrie_model::ValidationError::Parameter { name: name.into(), reason: reason.into() })
}

/// The first instant of every month from `since`'s to `until`'s, oldest first.
fn month_starts(since: Timestamp, until: Timestamp) -> Vec<Timestamp> {
    let start = |t: Timestamp| chrono::Utc.with_ymd_and_hms(t.year(), t.month(), 1, 0, 0, 0).single();
    let (Some(mut m), Some(last)) = (start(since), start(until)) else { return Vec::new() };
    let mut out = Vec::new();
    while m <= last && out.len() <= MAX_MONTHS as usize {
        out.push(m);
        match m.checked_add_months(Months::new(1)) {
            Some(next) => m = next,
            None => break,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_cover_the_range_and_stop_beyond_thirteen() {
        let t = |y, m, d| chrono::Utc.with_ymd_and_hms(y, m, d, 5, 0, 0).unwrap();
        let months = month_starts(t(2026, 11, 20), t(2027, 1, 2));
        let names: Vec<String> = months.iter().map(|m| audit_series(*m)).collect();
        assert_eq!(names, ["audit:2026-11", "audit:2026-12", "audit:2027-01"]);
        assert_eq!(month_starts(t(2020, 1, 1), t(2027, 1, 1)).len(), MAX_MONTHS as usize + 1);
    }
}
