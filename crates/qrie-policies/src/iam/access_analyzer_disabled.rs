//! `iam-access-analyzer-disabled`: no active IAM Access Analyzer (external
//! access) in a region. CIS AWS Foundations v3.0.0 1.20.
//!
//! The resource is the regional pseudo-resource `AWS::AccessAnalyzer::AccountAnalyzers`
//! (`pseudo_arn::access_analyzers(account, region)`), whose configuration is
//! `{"Analyzers": [<ListAnalyzers items>]}`. An analyzer of type `ACCOUNT` or
//! `ORGANIZATION` with status `ACTIVE` passes the region; unused-access
//! analyzers (`ACCOUNT_UNUSED_ACCESS`, `ORGANIZATION_UNUSED_ACCESS`) do not
//! look for external access, so they do not count.

use qrie_model::{
    ComplianceRef, EvalContext, MissingData, PolicyDef, Remediation, Resource, Service, Severity, Verdict,
};
use serde_json::{json, Value};

use crate::config::required;

pub static POLICY: PolicyDef = PolicyDef {
    id: "iam-access-analyzer-disabled",
    title: "IAM Access Analyzer not enabled in the region",
    description: "No IAM Access Analyzer for external access (account or organization zone of trust) is active \
        in the region. Access Analyzer continuously reports buckets, roles, keys, queues and other resources \
        shared outside the account or organization; without one in every region, such sharing goes unnoticed.",
    service: Service::Iam,
    resource_type: "AWS::AccessAnalyzer::AccountAnalyzers",
    category: "identity",
    severity: Severity::of(40),
    remediation: Remediation {
        steps: &[
            "In each region, create an analyzer with the account (or, from the organization's delegated \
             administrator, the organization) as its zone of trust.",
            "If an analyzer exists but is not ACTIVE, check its status reason (a FAILED organization analyzer \
             usually lacks trusted access) and recreate it.",
            "Review and archive its findings, and route new ones to Security Hub or EventBridge.",
        ],
        cli: "aws accessanalyzer create-analyzer --analyzer-name account-analyzer --type ACCOUNT --region REGION",
        console: "IAM > Access analyzer > Analyzer settings > Create analyzer > Zone of trust: current account > \
                  Create analyzer",
        iac: r#"resource "aws_accessanalyzer_analyzer" "account" {
  analyzer_name = "account-analyzer"
  type          = "ACCOUNT"
}"#,
    },
    compliance: &[
        ComplianceRef { framework: "cis-aws-3.0", controls: &["1.20"] },
        ComplianceRef { framework: "nist-800-53-r5", controls: &["AC-6", "SI-4"] },
    ],
    params: &[],
    related: None,
    evaluate,
};

/// Analyzer types that look for external access.
const EXTERNAL_ACCESS_TYPES: &[&str] = &["ACCOUNT", "ORGANIZATION"];

fn evaluate(r: &Resource, _: &EvalContext) -> Result<Verdict, MissingData> {
    let analyzers = r.field("Analyzers")?;
    let analyzers =
        analyzers.as_array().ok_or_else(|| MissingData(format!("Analyzers has an unexpected shape: {analyzers}")))?;
    let mut seen = Vec::new();
    for (i, a) in analyzers.iter().enumerate() {
        let path = format!("Analyzers[{i}]");
        let kind = required(a, &path, "type", Value::as_str)?;
        let status = required(a, &path, "status", Value::as_str)?;
        if status == "ACTIVE" && EXTERNAL_ACCESS_TYPES.contains(&kind) {
            return Ok(Verdict::Pass);
        }
        seen.push(json!({"Path": path, "Name": a.get("name"), "Type": kind, "Status": status}));
    }
    let reason = if seen.is_empty() {
        format!("no analyzer in {}", r.region)
    } else {
        format!("no ACTIVE ACCOUNT or ORGANIZATION analyzer in {}", r.region)
    };
    Ok(Verdict::Fail(json!({"Region": r.region, "Reason": reason, "Analyzers": seen})))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;
    use qrie_model::ids::pseudo_arn;
    use std::collections::BTreeMap;

    fn analyzers(list: Value) -> Resource {
        Resource::new(
            pseudo_arn::access_analyzers(ACCOUNT, REGION),
            ACCOUNT,
            REGION,
            Service::Iam,
            "AWS::AccessAnalyzer::AccountAnalyzers",
            "account-analyzers",
            BTreeMap::new(),
            json!({"Analyzers": list}),
            BTreeMap::new(),
            now(),
        )
    }

    fn analyzer(name: &str, kind: &str, status: &str) -> Value {
        json!({"arn": format!("arn:aws:access-analyzer:{REGION}:{ACCOUNT}:analyzer/{name}"), "name": name,
               "type": kind, "status": status, "createdAt": "2024-01-02T03:04:05+00:00", "tags": {}})
    }

    #[test]
    fn golden_cases() {
        let cases: Vec<(&str, Value, &str)> = vec![
            ("one active account analyzer", json!([analyzer("a", "ACCOUNT", "ACTIVE")]), "pass"),
            ("organization analyzer", json!([analyzer("o", "ORGANIZATION", "ACTIVE")]), "pass"),
            ("none", json!([]), "fail"),
            ("still creating", json!([analyzer("a", "ACCOUNT", "CREATING")]), "fail"),
            ("failed", json!([analyzer("o", "ORGANIZATION", "FAILED")]), "fail"),
            ("disabled", json!([analyzer("a", "ACCOUNT", "DISABLED")]), "fail"),
            // Tricky: an unused-access analyzer does not look for external access.
            ("unused access only", json!([analyzer("u", "ACCOUNT_UNUSED_ACCESS", "ACTIVE")]), "fail"),
            (
                "a failed one beside an active one",
                json!([analyzer("o", "ORGANIZATION", "FAILED"), analyzer("a", "ACCOUNT", "ACTIVE")]),
                "pass",
            ),
            ("status absent", json!([{"name": "a", "type": "ACCOUNT"}]), "error"),
            ("garbled", json!({"name": "a"}), "error"),
            ("null", Value::Null, "error"),
        ];
        for (name, list, expected) in cases {
            let v = run(&POLICY, &analyzers(list));
            assert_eq!(v.name(), expected, "{name}: {v:?}");
        }
        let v = run(&POLICY, &unreadable(analyzers(json!([])), "Analyzers"));
        assert!(error_reason(v).contains("AccessDenied"));
        let mut nothing = analyzers(json!([]));
        nothing.configuration = json!({});
        assert_eq!(run(&POLICY, &nothing).name(), "error");
    }

    #[test]
    fn evidence() {
        let e = crate::testing::evidence(run(
            &POLICY,
            &analyzers(json!([analyzer("u", "ACCOUNT_UNUSED_ACCESS", "ACTIVE"), analyzer("a", "ACCOUNT", "DISABLED")])),
        ));
        assert_eq!(
            e,
            json!({"Region": REGION, "Reason": format!("no ACTIVE ACCOUNT or ORGANIZATION analyzer in {REGION}"),
                   "Analyzers": [
                       {"Path": "Analyzers[0]", "Name": "u", "Type": "ACCOUNT_UNUSED_ACCESS", "Status": "ACTIVE"},
                       {"Path": "Analyzers[1]", "Name": "a", "Type": "ACCOUNT", "Status": "DISABLED"}]})
        );
        let e = crate::testing::evidence(run(&POLICY, &analyzers(json!([]))));
        assert_eq!(e["Reason"], format!("no analyzer in {REGION}"));
    }

    #[test]
    fn maps_cis_1_20() {
        let ids: Vec<&str> =
            crate::frameworks::policies_for_control("cis-aws-3.0", "1.20").iter().map(|p| p.id).collect();
        assert_eq!(ids, ["iam-access-analyzer-disabled"]);
    }
}
