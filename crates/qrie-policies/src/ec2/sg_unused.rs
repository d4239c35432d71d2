//! `ec2-sg-unused`: a security group that no network interface uses.

use qrie_model::{
    ComplianceRef, EvalContext, MissingData, PolicyDef, Remediation, Resource, Service, Severity, Verdict,
};
use serde_json::{json, Value};

use super::sg_default_has_rules::is_default_group;
use crate::config::described;

pub static POLICY: PolicyDef = PolicyDef {
    id: "ec2-sg-unused",
    title: "Security group is not used",
    description: "No network interface (instance, load balancer, Lambda function, endpoint, database…) uses the \
        security group. Unused groups pile up, make reviews slower and are one attachment away from applying rules \
        that nobody maintains any more. Default groups, which cannot be deleted, are not reported.",
    service: Service::Ec2,
    resource_type: "AWS::EC2::SecurityGroup",
    category: "hygiene",
    severity: Severity::of(20),
    remediation: Remediation {
        steps: &[
            "Check that nothing launches with the group: launch templates, Auto Scaling groups, CloudFormation or \
             Terraform code that references its id.",
            "Remove references to it from other groups' rules (a referenced group cannot be deleted).",
            "Delete the group.",
        ],
        cli: "aws ec2 describe-network-interfaces --filters Name=group-id,Values=sg-XXXXXXXX\n\
              aws ec2 delete-security-group --group-id sg-XXXXXXXX",
        console: "Amazon EC2 > Network & Security > Security Groups > GROUP > Actions > Delete security groups",
        iac: r#"# Remove the aws_security_group resource (and every reference to it) from the configuration:
# resource "aws_security_group" "legacy" { ... }"#,
    },
    compliance: &[
        ComplianceRef { framework: "nist-800-53-r5", controls: &["CM-2", "CM-7"] },
        ComplianceRef { framework: "pci-dss-4.0", controls: &["1.2.7"] },
    ],
    params: &[],
    related: None,
    evaluate,
};

fn evaluate(r: &Resource, _: &EvalContext) -> Result<Verdict, MissingData> {
    let group = described(r, "SecurityGroup")?;
    if is_default_group(group)? {
        return Ok(Verdict::NotApplicable);
    }
    // Collected by DescribeNetworkInterfaces filtered on the group; `null` or
    // absent means that call did not answer, which must not look unused.
    let interfaces = r.field("NetworkInterfaces")?;
    let interfaces = interfaces
        .as_array()
        .ok_or_else(|| MissingData(format!("NetworkInterfaces has an unexpected shape: {interfaces}")))?;
    if !interfaces.is_empty() {
        return Ok(Verdict::Pass);
    }
    Ok(Verdict::Fail(json!({"Path": "NetworkInterfaces", "Value": Value::Array(vec![])})))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;

    fn group(name: &str, interfaces: Option<Value>) -> Resource {
        let mut r = sg_with(json!([]));
        r.configuration["SecurityGroup"]["GroupName"] = json!(name);
        if let Some(i) = interfaces {
            r.configuration["NetworkInterfaces"] = i;
        }
        r
    }

    #[test]
    fn golden_cases() {
        let eni = json!({"NetworkInterfaceId": "eni-1", "InterfaceType": "interface",
                         "Attachment": {"InstanceId": "i-1"}});
        let lambda = json!({"NetworkInterfaceId": "eni-2", "InterfaceType": "lambda"});
        let cases = [
            ("unused", group("web", Some(json!([]))), "fail"),
            ("used by an instance", group("web", Some(json!([eni]))), "pass"),
            ("used by a detached Lambda interface", group("web", Some(json!([lambda]))), "pass"),
            ("unused default group cannot be deleted", group("default", Some(json!([]))), "not-applicable"),
            ("interfaces not collected", group("web", None), "error"),
            ("interfaces null", group("web", Some(Value::Null)), "error"),
        ];
        for (name, r, expected) in cases {
            let v = run(&POLICY, &r);
            assert_eq!(v.name(), expected, "{name}: {v:?}");
        }
        assert_eq!(
            evidence(run(&POLICY, &group("web", Some(json!([]))))),
            json!({"Path": "NetworkInterfaces", "Value": []})
        );
        let denied = unreadable(group("web", Some(json!([]))), "NetworkInterfaces");
        assert!(error_reason(run(&POLICY, &denied)).contains("NetworkInterfaces could not be read"));
    }
}
