//! `ec2-account-imdsv2-default-not-required`: the region's instance metadata
//! defaults do not require IMDSv2 for new instances.

use qrie_model::{
    ComplianceRef, EvalContext, MissingData, PolicyDef, Remediation, Resource, Service, Severity, Verdict,
};
use serde_json::{json, Value};

pub static POLICY: PolicyDef = PolicyDef {
    id: "ec2-account-imdsv2-default-not-required",
    title: "Account default does not require IMDSv2",
    description: "The account's instance metadata defaults for this region do not set HttpTokens to required \
        (no defaults at all means AWS's own default, optional). Instances launched without explicit metadata \
        options, from AMIs not flagged for IMDSv2, then answer IMDSv1 requests, which a server-side request \
        forgery can use to steal the instance role's credentials.",
    service: Service::Ec2,
    resource_type: "AWS::EC2::AccountSettings",
    category: "instance-hardening",
    severity: Severity::of(40),
    remediation: Remediation {
        steps: &[
            "Set the region's instance metadata defaults to require session tokens (IMDSv2), with a hop limit of 2 \
             if containers on the instances call the metadata service.",
            "Repeat for every region in use; existing instances keep their settings (see \
             ec2-instance-imdsv2-not-required).",
        ],
        cli: "aws ec2 modify-instance-metadata-defaults --http-tokens required --http-put-response-hop-limit 2 \
              --region REGION",
        console: "Amazon EC2 > (region) > EC2 Dashboard > Account attributes > Data protection and security > IMDS \
                  defaults > Manage > Metadata version: V2 only (token required) > Update",
        iac: r#"# Terraform AWS provider 5.x; applies to the provider's region.
resource "aws_ec2_instance_metadata_defaults" "this" {
  http_tokens                 = "required"
  http_put_response_hop_limit = 2
}"#,
    },
    compliance: &[
        ComplianceRef { framework: "nist-800-53-r5", controls: &["AC-3", "AC-6", "CM-6"] },
        ComplianceRef { framework: "cmmc-2.0", controls: &["CM.L2-3.4.2"] },
    ],
    params: &[],
    related: None,
    evaluate,
};

fn evaluate(r: &Resource, _: &EvalContext) -> Result<Verdict, MissingData> {
    // GetInstanceMetadataDefaults: AccountLevel is null (stored as null) when no
    // default was ever set, and a field left unset is absent; both mean AWS's default.
    let tokens = match r.field("InstanceMetadataDefaults")? {
        Value::Null => &Value::Null,
        defaults @ Value::Object(_) => defaults.get("HttpTokens").unwrap_or(&Value::Null),
        other => return Err(MissingData(format!("InstanceMetadataDefaults has an unexpected shape: {other}"))),
    };
    if tokens == "required" {
        return Ok(Verdict::Pass);
    }
    Ok(Verdict::Fail(json!({"Path": "InstanceMetadataDefaults.HttpTokens", "Value": tokens,
                            "Effective": tokens.as_str().unwrap_or("optional")})))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;

    #[test]
    fn golden_cases() {
        let settings = |defaults: Value| {
            ec2_account_settings(json!({"EbsEncryptionByDefault": true, "InstanceMetadataDefaults": defaults}))
        };
        let cases = [
            ("required", settings(json!({"HttpTokens": "required", "HttpPutResponseHopLimit": 2})), "pass"),
            ("optional", settings(json!({"HttpTokens": "optional"})), "fail"),
            ("never set", settings(Value::Null), "fail"),
            ("only the hop limit set", settings(json!({"HttpPutResponseHopLimit": 2})), "fail"),
            ("unexpected shape", settings(json!("required")), "error"),
            (
                "unreadable",
                unreadable(settings(json!({"HttpTokens": "required"})), "InstanceMetadataDefaults"),
                "error",
            ),
        ];
        for (name, r, expected) in cases {
            let v = run(&POLICY, &r);
            assert_eq!(v.name(), expected, "{name}: {v:?}");
        }
        assert_eq!(
            evidence(run(&POLICY, &settings(Value::Null))),
            json!({"Path": "InstanceMetadataDefaults.HttpTokens", "Value": null, "Effective": "optional"})
        );
    }
}
