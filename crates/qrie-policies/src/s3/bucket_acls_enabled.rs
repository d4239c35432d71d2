//! `s3-bucket-acls-enabled`: access control lists still govern access to the
//! bucket and its objects (Object Ownership is not BucketOwnerEnforced).

use qrie_model::{
    ComplianceRef, EvalContext, MissingData, PolicyDef, Remediation, Resource, Service, Severity, Verdict,
};
use serde_json::json;

use super::exposure::acls_disabled;

pub static POLICY: PolicyDef = PolicyDef {
    id: "s3-bucket-acls-enabled",
    title: "S3 bucket ACLs are not disabled",
    description: "Object Ownership is not BucketOwnerEnforced (or not configured, as on buckets created before \
        April 2023), so ACLs on the bucket and on every object still grant access, objects uploaded by other \
        accounts may belong to them, and access cannot be reviewed from policies alone. AWS recommends disabling \
        ACLs for all but a few legacy use cases.",
    service: Service::S3,
    resource_type: "AWS::S3::Bucket",
    category: "access-control",
    severity: Severity::of(30),
    remediation: Remediation {
        steps: &[
            "Review the bucket and object ACLs for grants that are still needed and move them into the bucket \
             policy.",
            "Set Object Ownership to BucketOwnerEnforced, which disables ACLs.",
        ],
        cli: "aws s3api put-bucket-ownership-controls --bucket BUCKET \
              --ownership-controls 'Rules=[{ObjectOwnership=BucketOwnerEnforced}]'",
        console: "Amazon S3 > Buckets > BUCKET > Permissions > Object Ownership > Edit > ACLs disabled \
                  (recommended) > Save changes",
        iac: r#"resource "aws_s3_bucket_ownership_controls" "this" {
  bucket = aws_s3_bucket.this.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}"#,
    },
    compliance: &[
        ComplianceRef { framework: "nist-800-53-r5", controls: &["AC-3", "AC-6"] },
        ComplianceRef { framework: "cmmc-2.0", controls: &["AC.L1-3.1.1"] },
    ],
    params: &[],
    related: None,
    evaluate,
};

fn evaluate(r: &Resource, _: &EvalContext) -> Result<Verdict, MissingData> {
    let ownership = r.field("OwnershipControls")?;
    if acls_disabled(ownership).is_some() {
        return Ok(Verdict::Pass);
    }
    let rule = &ownership["OwnershipControls"]["Rules"][0]["ObjectOwnership"];
    if rule.is_null() {
        return Ok(Verdict::Fail(json!({"Path": "OwnershipControls", "Value": ownership})));
    }
    Ok(Verdict::Fail(json!({"Path": "OwnershipControls.OwnershipControls.Rules[0].ObjectOwnership", "Value": rule})))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;
    use serde_json::Value;

    fn ownership(o: &str) -> Value {
        json!({"OwnershipControls": {"Rules": [{"ObjectOwnership": o}]}})
    }

    #[test]
    fn golden_cases() {
        let cases = [
            ("enforced", ownership("BucketOwnerEnforced"), "pass"),
            ("preferred", ownership("BucketOwnerPreferred"), "fail"),
            ("object writer", ownership("ObjectWriter"), "fail"),
            ("not configured", Value::Null, "fail"),
        ];
        for (name, o, expected) in cases {
            assert_eq!(run(&POLICY, &bucket("b", json!({"OwnershipControls": o}))).name(), expected, "{name}");
        }
        let e = evidence(run(&POLICY, &bucket("b", json!({"OwnershipControls": ownership("ObjectWriter")}))));
        assert_eq!(e["Value"], "ObjectWriter");
        assert_eq!(
            evidence(run(&POLICY, &bucket("b", json!({"OwnershipControls": null}))))["Path"],
            "OwnershipControls"
        );
        assert!(error_reason(run(&POLICY, &unreadable(bucket("b", json!({})), "OwnershipControls")))
            .contains("AccessDenied"));
    }

    #[test]
    fn recorded_responses() {
        let op = "s3.GetBucketOwnershipControls";
        let names: Vec<&str> = recorded_files(op)
            .iter()
            .map(|f| run(&POLICY, &bucket("b", json!({"OwnershipControls": recorded(op, f)}))).name())
            .collect();
        assert_eq!(names, ["fail", "pass"]);
    }
}
