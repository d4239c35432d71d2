//! The AWS Security Finding Format (ASFF) that `BatchImportFindings` takes:
//! every required field, Security Hub's length limits, the default product
//! of a custom integration, and the lifecycle said the way Security Hub
//! reads it (`Compliance.Status`, `Workflow.Status`, `RecordState` ARCHIVED
//! once resolved). The tests check records against botocore's model of
//! `AwsSecurityFinding`.

use qrie_model::SeverityLabel;
use serde_json::{json, Value};
use std::collections::BTreeMap;

use crate::text::{partition, truncate};
use crate::{ExportContext, PolicyText, Record};

pub const SCHEMA_VERSION: &str = "2018-10-08";

/// Security Hub's limits (its ASFF syntax reference): longer values fail the
/// whole finding, so they are cut.
const TITLE_MAX: usize = 256;
const DESCRIPTION_MAX: usize = 1024;
const RECOMMENDATION_MAX: usize = 512;
const RELATED_REQUIREMENTS_MAX: usize = 32;

/// The product of a custom integration in the finding's own account: Security
/// Hub takes findings of the default product only from the account they are
/// about (`AwsAccountId`), in that region.
pub fn product_arn(partition: &str, region: &str, account: &str) -> String {
    format!("arn:{partition}:securityhub:{region}:{account}:product/{account}/default")
}

/// ASFF's resource type for a CloudFormation-style type (`AWS::EC2::Instance`
/// is `AwsEc2Instance`); `Other` for a type that is not one.
pub fn resource_type(t: &str) -> String {
    let parts: Vec<&str> = t.split("::").collect();
    if parts.len() != 3 || parts.iter().any(|p| p.is_empty() || !p.chars().all(|c| c.is_ascii_alphanumeric())) {
        return "Other".into();
    }
    parts
        .iter()
        .map(|p| {
            // Acronyms (`AWS`, `EC2`, `IAM`, `VPC`) become `Aws`, `Ec2`, `Iam`, `Vpc`.
            if p.chars().all(|c| !c.is_ascii_lowercase()) {
                let mut s = p.to_ascii_lowercase();
                s[..1].make_ascii_uppercase();
                s
            } else {
                p.to_string()
            }
        })
        .collect()
}

fn severity_label(label: SeverityLabel) -> &'static str {
    match label {
        SeverityLabel::Critical => "CRITICAL",
        SeverityLabel::High => "HIGH",
        SeverityLabel::Medium => "MEDIUM",
        SeverityLabel::Low => "LOW",
        SeverityLabel::Informational => "INFORMATIONAL",
    }
}

/// The finding types (ASFF's `namespace/category/classifier` taxonomy): best
/// practices always, and the industry standard of each mapped framework.
fn types(text: &PolicyText) -> Vec<String> {
    let mut out = vec!["Software and Configuration Checks/AWS Security Best Practices".to_string()];
    for (fw, _) in &text.compliance {
        let standard = match fw.id.as_str() {
            "cis-aws-3.0" => "CIS AWS Foundations Benchmark",
            "pci-dss-4.0" => "PCI-DSS",
            "nist-800-53-r5" => "NIST 800-53 Controls",
            "hipaa" => "HIPAA Controls",
            _ => continue,
        };
        let t = format!("Software and Configuration Checks/Industry and Regulatory Standards/{standard}");
        if !out.contains(&t) {
            out.push(t);
        }
    }
    out
}

/// One `AwsSecurityFinding`.
pub fn finding(r: Record<'_>, text: &PolicyText, ctx: &ExportContext) -> Value {
    let f = r.finding;
    let partition = partition(&f.arn);
    let region = ctx.region_of(f);
    let active = f.is_active();
    let time = |t: &qrie_model::Timestamp| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let mut product_fields = BTreeMap::from([
        ("qrie/Policy".to_string(), f.policy.clone()),
        ("qrie/SeverityScore".to_string(), f.severity.value().to_string()),
        ("qrie/DetectedBy".to_string(), f.detected_by.as_str().to_string()),
        ("qrie/State".to_string(), f.state.as_str().to_string()),
    ]);
    if let Some(reason) = f.resolved_reason.filter(|_| !active) {
        product_fields.insert("qrie/ResolvedReason".into(), reason.as_str().into());
    }
    if let Some(s) = r.suppression {
        product_fields.insert("qrie/SuppressedBy".into(), s.rule_id.clone());
        product_fields.insert("qrie/SuppressionCategory".into(), s.category.label().into());
    }
    let requirements: Vec<String> = text
        .compliance
        .iter()
        .map(|(fw, control)| format!("{} {}/{control}", fw.name, fw.version))
        .take(RELATED_REQUIREMENTS_MAX)
        .collect();
    let mut compliance = json!({ "Status": if active { "FAILED" } else { "PASSED" } });
    if !requirements.is_empty() {
        compliance["RelatedRequirements"] = json!(requirements);
    }
    let workflow = match (active, r.suppression) {
        (false, _) => "RESOLVED",
        (true, Some(_)) => "SUPPRESSED",
        (true, None) => "NEW",
    };
    let description = if text.description.trim().is_empty() { &text.title } else { &text.description };
    let mut out = json!({
        "SchemaVersion": SCHEMA_VERSION,
        "Id": f.uid(),
        "ProductArn": product_arn(partition, region, &f.account_id),
        "ProductName": "qrie",
        "CompanyName": "qrie",
        "Region": region,
        "GeneratorId": format!("qrie/{}", f.policy),
        "AwsAccountId": f.account_id,
        "Types": types(text),
        "FirstObservedAt": time(&f.first_seen),
        "LastObservedAt": time(&f.last_evaluated),
        "CreatedAt": time(&f.first_seen),
        "UpdatedAt": time(&f.last_evaluated),
        "Severity": { "Label": severity_label(f.severity.label()), "Original": f.severity.value().to_string() },
        "Title": truncate(&text.title, TITLE_MAX),
        "Description": truncate(description, DESCRIPTION_MAX),
        "ProductFields": product_fields,
        "Resources": [{
            "Type": resource_type(&f.resource_type),
            "Id": f.arn,
            "Partition": partition,
            "Region": region,
        }],
        "Compliance": compliance,
        "Workflow": { "Status": workflow },
        "RecordState": if active { "ACTIVE" } else { "ARCHIVED" },
    });
    if !text.remediation.is_empty() {
        out["Remediation"] = json!({ "Recommendation": { "Text": truncate(&text.remediation, RECOMMENDATION_MAX) } });
    }
    if let Some(url) = ctx.finding_url(f) {
        out["SourceUrl"] = json!(url);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_types_follow_security_hub_names() {
        assert_eq!(resource_type("AWS::S3::Bucket"), "AwsS3Bucket");
        assert_eq!(resource_type("AWS::EC2::Instance"), "AwsEc2Instance");
        assert_eq!(resource_type("AWS::EC2::SecurityGroup"), "AwsEc2SecurityGroup");
        assert_eq!(resource_type("AWS::IAM::AccessKey"), "AwsIamAccessKey");
        assert_eq!(resource_type("AWS::EC2::VPC"), "AwsEc2Vpc");
        assert_eq!(resource_type("qrie::Account"), "Other");
        assert_eq!(resource_type("AWS::S3::"), "Other");
    }

    #[test]
    fn the_default_product_is_in_the_findings_own_account_and_region() {
        assert_eq!(
            product_arn("aws", "eu-west-1", "123456789012"),
            "arn:aws:securityhub:eu-west-1:123456789012:product/123456789012/default"
        );
    }
}
