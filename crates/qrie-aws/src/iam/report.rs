//! The credential report: generate (IAM builds it in the background, at most
//! once every 4 hours), wait for it within a bounded time, fetch it, and parse
//! the CSV into one row per principal, keyed by ARN, with the CSV's column
//! names and string values (what `qrie-policies` reads).

use serde_json::{Map, Value};
use std::collections::HashMap;
use std::time::Duration;

use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::read;

/// Rows by the `arn` column (`arn:aws:iam::ACCOUNT:root` for `<root_account>`).
pub(crate) type Rows = HashMap<String, Value>;

/// How long a listing waits for IAM to finish a report, and how often it asks.
/// A report of thousands of users takes seconds; past this the report is a
/// collection error for every user (their other settings are still stored).
const WAIT: Duration = Duration::from_secs(60);
const POLL: Duration = Duration::from_secs(2);

/// Generate, wait, fetch and parse. The error says what failed, for the
/// `CredentialReport` collection error of each principal.
pub(crate) async fn fetch(iam: &aws_sdk_iam::Client) -> Result<Rows, String> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let state = iam.generate_credential_report().send().await.map_err(|e| read::message(&e))?;
        let complete = state.state().is_some_and(|s| s.as_str() == "COMPLETE");
        if complete {
            match iam.get_credential_report().send().await {
                Ok(out) => {
                    let content = out.content().map(|b| b.as_ref()).unwrap_or_default();
                    return parse(content);
                }
                // Generated but not yet readable (or expired in between): ask again.
                Err(e) if matches!(e.code(), Some("ReportInProgress" | "ReportNotPresent" | "ReportExpired")) => {}
                Err(e) => return Err(read::message(&e)),
            }
        }
        if tokio::time::Instant::now() + POLL > deadline {
            return Err(format!("the credential report was not ready within {} s", WAIT.as_secs()));
        }
        tokio::time::sleep(POLL).await;
    }
}

/// The CSV as rows keyed by ARN. A malformed report is an error, never a
/// partial answer (a user missing from a half-read report would read as "no row").
pub(crate) fn parse(content: &[u8]) -> Result<Rows, String> {
    let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(content);
    let headers = reader.headers().map_err(|e| format!("credential report header: {e}"))?.clone();
    if !headers.iter().any(|h| h == "arn") {
        return Err(format!("credential report has no arn column: {headers:?}"));
    }
    let mut rows = Rows::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| format!("credential report line {}: {e}", i + 2))?;
        let row: Map<String, Value> =
            headers.iter().zip(record.iter()).map(|(h, v)| (h.to_string(), Value::String(v.to_string()))).collect();
        if let Some(Value::String(arn)) = row.get("arn") {
            rows.insert(arn.clone(), Value::Object(row.clone()));
        }
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn testdata(file: &str) -> Value {
        let dir = std::env::var("QRIE_TESTDATA")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|_| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata"));
        let path = dir.join("aws-responses/cloud-custodian-placebo/iam.GetCredentialReport").join(file);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        serde_json::from_str(&text).expect("json")
    }

    #[test]
    fn a_recorded_report_parses_into_rows_by_arn() {
        let recorded = testdata("test_account_credential_report__iam.GetCredentialReport_1.json");
        let content = recorded["data"]["Content"].as_str().expect("Content");
        let rows = parse(content.as_bytes()).expect("parses");
        // One row per principal (this recording repeats one user's line).
        let arns: std::collections::HashSet<&str> =
            content.lines().skip(1).filter_map(|l| l.split(',').nth(1)).collect();
        assert_eq!(rows.len(), arns.len());
        assert!(rows.len() > 10);
        let root = &rows["arn:aws:iam::644160558196:root"];
        assert_eq!(root["user"], "<root_account>");
        assert_eq!(root["password_enabled"], "not_supported");
        assert_eq!(root["mfa_active"], "true");
        let andrew = &rows["arn:aws:iam::644160558196:user/andrew"];
        assert_eq!(andrew["access_key_2_last_used_service"], "ec2");
        assert_eq!(andrew.as_object().map(Map::len), Some(22), "every column");
    }

    #[test]
    fn malformed_reports_are_errors() {
        assert!(parse(b"user,x\nbob,1\n").unwrap_err().contains("no arn column"));
        assert!(parse(b"user,arn\nbob,arn:aws:iam::1:user/bob,extra\n").unwrap_err().contains("line 2"));
        assert_eq!(parse(b"user,arn\n").map(|r| r.len()), Ok(0));
    }
}
