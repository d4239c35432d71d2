//! The CSV export's columns: what a spreadsheet needs to sort and filter.

use qrie_model::text::csv_cell;

use crate::Record;

pub const CSV_HEADERS: [&str; 13] = [
    "ARN",
    "Policy",
    "Severity",
    "SeverityLabel",
    "State",
    "ResolvedReason",
    "AccountId",
    "Region",
    "Service",
    "ResourceType",
    "FirstSeen",
    "LastEvaluated",
    "SuppressedBy",
];

/// A cell a spreadsheet would run as a formula is defused: names and tags are
/// chosen by whoever owns the resource. Quoting (RFC 4180) is the writer's.
fn cell(s: &str) -> String {
    csv_cell(s).into_owned()
}

pub fn row(r: Record<'_>) -> [String; 13] {
    let f = r.finding;
    [
        cell(&f.arn),
        cell(&f.policy),
        f.severity.value().to_string(),
        f.severity.label().to_string(),
        f.state.as_str().to_string(),
        f.resolved_reason.map(|r| r.as_str().to_string()).unwrap_or_default(),
        cell(&f.account_id),
        cell(&f.region),
        cell(f.service()),
        cell(&f.resource_type),
        f.first_seen.to_rfc3339(),
        f.last_evaluated.to_rfc3339(),
        r.suppression.map(|s| cell(&s.rule_id)).unwrap_or_default(),
    ]
}
