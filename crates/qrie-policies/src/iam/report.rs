//! Reading IAM's credential report rows and times, shared by the user and root
//! policies.
//!
//! The collector stores a row as an object keyed by the CSV's column names, with
//! the CSV's string values. Besides times, IAM writes `N/A` (no such credential,
//! or never used), `no_information` (not used since IAM began tracking, October
//! 2014) and `not_supported` (a column that does not apply, e.g. the root user's
//! password_enabled). Which of these mean "never" depends on the column, so the
//! readers below make the caller say what a non-time means.

use chrono::{DateTime, Utc};
use qrie_model::{MissingData, Resource, Timestamp};
use serde_json::Value;

use crate::config::required;

/// The credential report's times are RFC 3339 (`2016-11-25T14:21:05+00:00`);
/// GetAccountAuthorizationDetails dumps also use a space for the `T`.
pub(crate) fn parse_time(s: &str) -> Option<Timestamp> {
    DateTime::parse_from_rfc3339(s)
        .or_else(|_| DateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%:z"))
        .or_else(|_| DateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f%:z"))
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Whole days from `then` to `now` (negative if `then` is in the future).
pub(crate) fn age_days(then: Timestamp, now: Timestamp) -> i64 {
    (now - then).num_days()
}

/// The resource's credential report row. A user created after the report was
/// generated has none (`null`); callers that can decide without it check for
/// `null` themselves before calling this.
pub(crate) fn row(r: &Resource) -> Result<&Value, MissingData> {
    let row = r.field("CredentialReport")?;
    if row.is_object() {
        Ok(row)
    } else if row.is_null() {
        Err(MissingData("the credential report has no row for this principal yet".into()))
    } else {
        Err(MissingData(format!("CredentialReport has an unexpected shape: {row}")))
    }
}

/// A `true`/`false` column. Real reports write lowercase; hand-edited ones
/// shout, and anything else is not a decision.
pub(crate) fn flag(row: &Value, column: &str) -> Result<bool, MissingData> {
    let v = required(row, "CredentialReport", column, Value::as_str)?;
    if v.eq_ignore_ascii_case("true") {
        Ok(true)
    } else if v.eq_ignore_ascii_case("false") {
        Ok(false)
    } else {
        Err(MissingData(format!("CredentialReport.{column} is neither true nor false: {v:?}")))
    }
}

/// A time column; `never` lists the markers that mean "no such event" for this
/// column (they read as `None`). Any other non-time is unreadable.
pub(crate) fn time(row: &Value, column: &str, never: &[&str]) -> Result<Option<Timestamp>, MissingData> {
    let v = required(row, "CredentialReport", column, Value::as_str)?;
    if never.contains(&v) {
        return Ok(None);
    }
    parse_time(v).map(Some).ok_or_else(|| MissingData(format!("CredentialReport.{column} is not a time: {v:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    #[test]
    fn times_in_every_recorded_encoding() {
        let t = Utc.with_ymd_and_hms(2016, 11, 25, 14, 21, 5).unwrap();
        for s in ["2016-11-25T14:21:05+00:00", "2016-11-25T14:21:05Z", "2016-11-25 14:21:05+00:00"] {
            assert_eq!(parse_time(s), Some(t), "{s}");
        }
        assert_eq!(parse_time("2016-11-25 14:21:05.250000+00:00").unwrap().timestamp(), t.timestamp());
        assert_eq!(parse_time("N/A"), None);
        assert_eq!(parse_time("2016-13-25T14:21:05Z"), None);
    }

    #[test]
    fn flags_and_markers() {
        let row = json!({"a": "true", "b": "FALSE", "c": "not_supported", "t": "N/A", "u": "no_information",
                         "v": "2020-01-01T00:00:00+00:00", "w": "soon"});
        assert_eq!(flag(&row, "a"), Ok(true));
        assert_eq!(flag(&row, "b"), Ok(false));
        assert!(flag(&row, "c").unwrap_err().0.contains("neither true nor false"));
        assert!(flag(&row, "zz").unwrap_err().0.contains("absent"));
        assert_eq!(time(&row, "t", &["N/A"]), Ok(None));
        // A marker the caller did not accept is not silently "never".
        assert!(time(&row, "u", &["N/A"]).is_err());
        assert_eq!(time(&row, "u", &["N/A", "no_information"]), Ok(None));
        assert_eq!(time(&row, "v", &[]).unwrap().unwrap().timestamp(), 1_577_836_800);
        assert!(time(&row, "w", &["N/A"]).unwrap_err().0.contains("not a time: \"soon\""));
    }
}
