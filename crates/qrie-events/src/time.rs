//! CloudTrail times in every format seen in delivered and re-shipped records: RFC 3339
//! (`2023-07-10T11:45:12Z`), the LookupEvents form with a space and an offset
//! (`2022-02-08 09:23:37+11:00`), naive space-separated times with or without fractions
//! (`2024-11-26 19:29:38.000000000`, taken as UTC) and epoch seconds or milliseconds.

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use serde_json::Value;

/// Parses a time value as CloudTrail and its re-shippers write it; `None` when unreadable.
pub fn parse_time(value: &Value) -> Option<DateTime<Utc>> {
    match value {
        Value::String(s) => parse_str(s.trim()),
        Value::Number(n) => n.as_i64().and_then(from_epoch),
        _ => None,
    }
}

fn parse_str(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    // RFC 3339 with a space instead of `T`.
    if let Ok(t) = DateTime::parse_from_rfc3339(&s.replacen(' ', "T", 1)) {
        return Some(t.with_timezone(&Utc));
    }
    for fmt in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.fZ"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(Utc.from_utc_datetime(&t));
        }
    }
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse().ok().and_then(from_epoch);
    }
    None
}

/// Epoch seconds, or milliseconds when the number is too large to be seconds in this era.
fn from_epoch(n: i64) -> Option<DateTime<Utc>> {
    if n > 100_000_000_000 {
        DateTime::from_timestamp_millis(n)
    } else {
        DateTime::from_timestamp(n, 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_format_seen() {
        let want = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        let cases = [
            (json!("2023-07-10T11:45:12Z"), want("2023-07-10T11:45:12Z")),
            (json!("2022-02-08 09:23:37+11:00"), want("2022-02-07T22:23:37Z")),
            (json!("2023-05-26 20:14:51"), want("2023-05-26T20:14:51Z")),
            (json!("2024-11-26 19:29:38.000000000"), want("2024-11-26T19:29:38Z")),
            (json!("2024-01-01 00:00:00.500"), want("2024-01-01T00:00:00.5Z")),
            (json!("2021-05-20 15:53:47Z"), want("2021-05-20T15:53:47Z")),
            (json!("2018-08-26T14:17:23.123Z"), want("2018-08-26T14:17:23.123Z")),
            (json!(1_600_000_000), want("2020-09-13T12:26:40Z")),
            (json!(1_600_000_000_123_i64), want("2020-09-13T12:26:40.123Z")),
            (json!("1600000000"), want("2020-09-13T12:26:40Z")),
        ];
        for (input, expected) in cases {
            assert_eq!(parse_time(&input), Some(expected), "{input}");
        }
        for bad in [json!("redacted"), json!("..."), json!(null), json!(""), json!(true)] {
            assert_eq!(parse_time(&bad), None, "{bad}");
        }
    }
}
