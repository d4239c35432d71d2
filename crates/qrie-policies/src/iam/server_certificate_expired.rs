//! `iam-server-certificate-expired`: an IAM server certificate has expired.

use qrie_model::{
    ComplianceRef, EvalContext, MissingData, PolicyDef, Remediation, Resource, Service, Severity, Verdict,
};
use serde_json::{json, Value};

use super::report::parse_time;
use crate::config::{described, required};

pub static POLICY: PolicyDef = PolicyDef {
    id: "iam-server-certificate-expired",
    title: "IAM server certificate expired",
    description: "The IAM server certificate's Expiration is in the past. An expired certificate still stored \
        in IAM can be deployed by mistake to a load balancer or CloudFront distribution, breaking clients or \
        teaching them to click through certificate warnings; it serves no purpose any more.",
    service: Service::Iam,
    resource_type: "AWS::IAM::ServerCertificate",
    category: "data-protection",
    severity: Severity::of(50),
    remediation: Remediation {
        steps: &[
            "Check that no load balancer listener or CloudFront distribution still uses the certificate.",
            "Delete the expired certificate from IAM.",
            "Prefer AWS Certificate Manager for new certificates: it renews them automatically.",
        ],
        cli: "aws iam list-server-certificates\n\
              aws iam delete-server-certificate --server-certificate-name CERTIFICATE_NAME",
        console: "IAM server certificates have no console page: use the AWS CLI; for ACM certificates, \
                  Certificate Manager > Certificates > CERTIFICATE > Delete",
        iac: r#"# Issue certificates with ACM, which renews them, instead of uploading them to IAM.
resource "aws_acm_certificate" "site" {
  domain_name       = "www.example.com"
  validation_method = "DNS"
  lifecycle {
    create_before_destroy = true
  }
}"#,
    },
    compliance: &[ComplianceRef { framework: "cis-aws-3.0", controls: &["1.19"] }],
    params: &[],
    related: None,
    evaluate,
};

fn evaluate(r: &Resource, ctx: &EvalContext) -> Result<Verdict, MissingData> {
    let meta = described(r, "ServerCertificateMetadata")?;
    let expiration = required(meta, "ServerCertificateMetadata", "Expiration", Value::as_str)?;
    let at = parse_time(expiration)
        .ok_or_else(|| MissingData(format!("ServerCertificateMetadata.Expiration is not a time: {expiration:?}")))?;
    if at > ctx.now {
        return Ok(Verdict::Pass);
    }
    Ok(Verdict::Fail(json!({
        "Path": "ServerCertificateMetadata.Expiration", "Value": expiration,
        "ExpiredDaysAgo": (ctx.now - at).num_days(),
    })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;

    fn cert(expiration: Value) -> Resource {
        let arn = format!("arn:aws:iam::{ACCOUNT}:server-certificate/web/site");
        resource(
            "AWS::IAM::ServerCertificate",
            &arn,
            "site",
            json!({"ServerCertificateMetadata": {"ServerCertificateName": "site", "ServerCertificateId": "ASCAEXAMPLE",
                   "Arn": arn, "Path": "/web/", "UploadDate": "2023-01-01T00:00:00Z", "Expiration": expiration}}),
        )
    }

    #[test]
    fn golden_cases() {
        // The test clock is 2026-01-15T12:00:00Z.
        let cases: Vec<(&str, Value, &str)> = vec![
            ("valid for a year", json!("2027-01-15T00:00:00Z"), "pass"),
            ("expired last year", json!("2025-01-15T00:00:00Z"), "fail"),
            ("expired this morning", json!("2026-01-15T11:59:59+00:00"), "fail"),
            ("expires tonight", json!("2026-01-15 23:00:00+00:00"), "pass"),
            // Tricky: the same instant in another time zone is already past.
            ("expired, offset time", json!("2026-01-15T13:30:00+02:00"), "fail"),
            ("not a time", json!("soon"), "error"),
            ("absent", Value::Null, "error"),
        ];
        for (name, expiration, expected) in cases {
            let v = run(&POLICY, &cert(expiration));
            assert_eq!(v.name(), expected, "{name}: {v:?}");
        }
        assert_eq!(
            evidence(run(&POLICY, &cert(json!("2025-01-15T12:00:00Z")))),
            json!({"Path": "ServerCertificateMetadata.Expiration", "Value": "2025-01-15T12:00:00Z", "ExpiredDaysAgo": 365})
        );
        assert_eq!(
            run(&POLICY, &unreadable(cert(json!("2027-01-01T00:00:00Z")), "ServerCertificateMetadata")).name(),
            "error"
        );
    }
}
