//! `ec2-instance-imdsv2-not-required`: the instance metadata service still
//! answers IMDSv1 requests, which need no session token.

use qrie_model::{
    ComplianceRef, EvalContext, MissingData, PolicyDef, Remediation, Resource, Service, Severity, Verdict,
};
use serde_json::{json, Value};

use crate::config::described;

pub static POLICY: PolicyDef = PolicyDef {
    id: "ec2-instance-imdsv2-not-required",
    title: "EC2 instance does not require IMDSv2",
    description: "The instance metadata service is enabled and does not require session tokens (HttpTokens is \
        not \"required\"), so it still answers IMDSv1 requests. A server-side request forgery or an open proxy in \
        any application on the instance can then read the instance role's temporary credentials.",
    service: Service::Ec2,
    resource_type: "AWS::EC2::Instance",
    category: "instance-hardening",
    severity: Severity::of(60),
    remediation: Remediation {
        steps: &[
            "Check that the software on the instance uses IMDSv2: AWS SDKs and the CLI released since late 2019 do; \
             the instance's MetadataNoToken CloudWatch metric counts the IMDSv1 calls still made.",
            "Require session tokens on the instance (HttpTokens required).",
            "Require IMDSv2 for new instances too: in launch templates, AMIs (ImdsSupport v2.0) and the account's \
             per-region instance metadata defaults.",
        ],
        cli: "aws ec2 modify-instance-metadata-options --instance-id i-XXXXXXXX --http-tokens required \
              --http-endpoint enabled\n\
              aws ec2 modify-instance-metadata-defaults --http-tokens required --region REGION",
        console: "Amazon EC2 > Instances > INSTANCE > Actions > Instance settings > Modify instance metadata options \
                  > IMDSv2: Required > Save",
        iac: r#"resource "aws_instance" "this" {
  # ...
  metadata_options {
    http_endpoint = "enabled"
    http_tokens   = "required"
  }
}"#,
    },
    compliance: &[
        ComplianceRef { framework: "cis-aws-3.0", controls: &["5.6"] },
        ComplianceRef { framework: "nist-800-53-r5", controls: &["AC-3", "AC-6"] },
        ComplianceRef { framework: "cmmc-2.0", controls: &["CM.L2-3.4.2"] },
    ],
    params: &[],
    related: None,
    evaluate,
};

/// What EC2 applies when the launch did not say otherwise (AMIs flagged
/// `ImdsSupport: v2.0` and account defaults aside, which show up in the
/// instance's own MetadataOptions).
const DEFAULT_HTTP_TOKENS: &str = "optional";
const DEFAULT_HTTP_ENDPOINT: &str = "enabled";

fn evaluate(r: &Resource, _: &EvalContext) -> Result<Verdict, MissingData> {
    let instance = described(r, "Instance")?;
    // A terminated instance stays in DescribeInstances for about an hour; it
    // runs nothing and cannot be modified.
    if instance["State"]["Name"] == "terminated" {
        return Ok(Verdict::NotApplicable);
    }
    // MetadataOptions came with IMDSv2 (November 2019) and DescribeInstances has
    // returned it for every instance since. A record without it (or without one
    // of its fields) describes an instance under EC2's defaults: before IMDSv2
    // existed, every metadata request was an IMDSv1 request. So absence means
    // "optional" and "enabled", and the evidence says the value was assumed.
    let options = instance.get("MetadataOptions").unwrap_or(&Value::Null);
    let setting = |key: &str, default: &'static str| -> (Value, String) {
        let recorded = options.get(key).cloned().unwrap_or(Value::Null);
        let effective = recorded.as_str().unwrap_or(default).to_string();
        (recorded, effective)
    };
    let (tokens, effective_tokens) = setting("HttpTokens", DEFAULT_HTTP_TOKENS);
    let (_, effective_endpoint) = setting("HttpEndpoint", DEFAULT_HTTP_ENDPOINT);
    if effective_tokens == "required" || effective_endpoint == "disabled" {
        return Ok(Verdict::Pass);
    }
    Ok(Verdict::Fail(json!({
        "Path": "Instance.MetadataOptions.HttpTokens",
        "Value": tokens,
        "Effective": effective_tokens,
        "HttpEndpoint": effective_endpoint,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;

    /// One instance of a recorded DescribeInstances response.
    fn recorded_instance(file: &str, id: &str) -> Resource {
        let data = recorded("ec2.DescribeInstances", file);
        let found = data["Reservations"]
            .as_array()
            .expect("Reservations")
            .iter()
            .flat_map(|r| r["Instances"].as_array().expect("Instances"))
            .find(|i| i["InstanceId"] == id)
            .unwrap_or_else(|| panic!("{id} not in {file}"));
        instance(found.clone())
    }

    fn with_options(state: &str, options: Value) -> Resource {
        instance(json!({"InstanceId": "i-0123456789abcdef0", "State": {"Code": 16, "Name": state},
                        "MetadataOptions": options}))
    }

    fn instance_null() -> Resource {
        let mut r = with_options("running", json!({}));
        r.configuration["Instance"] = Value::Null;
        r
    }

    #[test]
    fn golden_cases() {
        let opts = |tokens: &str, endpoint: &str| {
            json!({"State": "applied", "HttpTokens": tokens, "HttpEndpoint": endpoint,
                                                         "HttpPutResponseHopLimit": 2})
        };
        let cases = [
            ("required", with_options("running", opts("required", "enabled")), "pass"),
            ("optional", with_options("running", opts("optional", "enabled")), "fail"),
            ("stopped instances are restarted one day", with_options("stopped", opts("optional", "enabled")), "fail"),
            ("endpoint disabled", with_options("running", opts("optional", "disabled")), "pass"),
            ("terminated", with_options("terminated", opts("optional", "enabled")), "not-applicable"),
            (
                "no MetadataOptions: AWS defaults",
                instance(json!({"InstanceId": "i-1", "State": {"Name": "running"}})),
                "fail",
            ),
            ("no HttpTokens: default optional", with_options("running", json!({"HttpEndpoint": "enabled"})), "fail"),
            ("no HttpEndpoint: default enabled", with_options("running", json!({"HttpTokens": "required"})), "pass"),
            ("instance null", instance_null(), "error"),
            (
                "instance unreadable",
                unreadable(with_options("running", opts("required", "enabled")), "Instance"),
                "error",
            ),
        ];
        for (name, r, expected) in cases {
            let v = run(&POLICY, &r);
            assert_eq!(v.name(), expected, "{name}: {v:?}");
        }
    }

    #[test]
    fn evidence_says_when_the_value_was_assumed() {
        let e = evidence(run(
            &POLICY,
            &with_options("running", json!({"HttpTokens": "optional", "HttpEndpoint": "enabled"})),
        ));
        assert_eq!(
            e,
            json!({"Path": "Instance.MetadataOptions.HttpTokens", "Value": "optional", "Effective": "optional",
                   "HttpEndpoint": "enabled"})
        );
        let e = evidence(run(&POLICY, &instance(json!({"InstanceId": "i-1", "State": {"Name": "running"}}))));
        assert_eq!(e["Value"], Value::Null);
        assert_eq!(e["Effective"], "optional");
    }

    #[test]
    fn recorded_instances() {
        let cases = [
            ("ec2_igw_subnet__ec2.DescribeInstances_1.json", "i-07b1657fdb879c149", "fail"),
            ("test_ec2_ssm_inventory_filter__ec2.DescribeInstances_1.json", "i-069d5df3524c95b06", "pass"),
            ("ec2_image_metadata_filter__ec2.DescribeInstances_1.json", "i-0074c3be9f6a78da8", "not-applicable"),
            // Recorded before IMDSv2 existed: no MetadataOptions at all.
            ("test_asg_tag__ec2.DescribeInstances_1.json", "i-242dd4f9", "fail"),
        ];
        for (file, id, expected) in cases {
            let v = run(&POLICY, &recorded_instance(file, id));
            assert_eq!(v.name(), expected, "{file} {id}: {v:?}");
        }
    }

    #[test]
    fn every_recorded_instance_is_decided() {
        let mut counts = std::collections::BTreeMap::new();
        for file in recorded_files("ec2.DescribeInstances") {
            let data = recorded("ec2.DescribeInstances", &file);
            for reservation in data["Reservations"].as_array().expect("Reservations") {
                for i in reservation["Instances"].as_array().expect("Instances") {
                    *counts.entry(run(&POLICY, &instance(i.clone())).name()).or_insert(0) += 1;
                }
            }
        }
        // 278 instances in 141 recordings: 38 terminated, 10 requiring IMDSv2.
        let expected = std::collections::BTreeMap::from([("fail", 230), ("not-applicable", 38), ("pass", 10)]);
        assert_eq!(counts, expected);
    }
}
