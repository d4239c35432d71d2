//! `iam-root-hardware-mfa-disabled`: the root user's MFA is a virtual (app)
//! device, or there is none.

use qrie_model::{
    ComplianceRef, EvalContext, MissingData, PolicyDef, Remediation, Resource, Service, Severity, Verdict,
};
use serde_json::{json, Value};

use crate::config::{described, required};

pub static POLICY: PolicyDef = PolicyDef {
    id: "iam-root-hardware-mfa-disabled",
    title: "Root user has no hardware MFA",
    description: "The root user's MFA is a virtual (authenticator app) device assigned to the root user in \
        ListVirtualMFADevices, or the root user has no MFA at all. A virtual device lives on a phone or a laptop \
        that is backed up, synced and carried around; the credentials of the most powerful principal of the \
        account belong on a dedicated FIDO security key or hardware TOTP token kept in a safe place.",
    service: Service::Iam,
    resource_type: "AWS::IAM::RootUser",
    category: "identity",
    severity: Severity::of(70),
    remediation: Remediation {
        steps: &[
            "Obtain a FIDO2 security key or a hardware TOTP token (ideally two, one as a backup).",
            "Sign in as the root user, open Security credentials and assign the hardware device(s).",
            "Remove the virtual MFA device named in the evidence, and delete it.",
            "Store the devices in a safe place and document who can reach them.",
        ],
        cli: "# Hardware MFA is assigned while signed in as root in the console. Afterwards, remove the\n\
              # virtual device (as root, or with a principal allowed to manage it):\n\
              aws iam deactivate-mfa-device --serial-number arn:aws:iam::ACCOUNT:mfa/root-account-mfa-device\n\
              aws iam delete-virtual-mfa-device --serial-number arn:aws:iam::ACCOUNT:mfa/root-account-mfa-device\n\
              aws iam list-virtual-mfa-devices --assignment-status Assigned",
        console: "Sign in as the root user > account name (top right) > Security credentials > Multi-factor \
                  authentication (MFA) > Assign MFA device > Security key or Hardware TOTP token",
        iac: r#"# Root MFA cannot be set by infrastructure as code; this AWS Config managed
# rule keeps checking it.
resource "aws_config_config_rule" "root_hardware_mfa" {
  name = "root-account-hardware-mfa-enabled"
  source {
    owner             = "AWS"
    source_identifier = "ROOT_ACCOUNT_HARDWARE_MFA_ENABLED"
  }
}"#,
    },
    compliance: &[
        ComplianceRef { framework: "cis-aws-3.0", controls: &["1.6"] },
        ComplianceRef { framework: "nist-800-53-r5", controls: &["IA-2(1)"] },
    ],
    params: &[],
    related: None,
    evaluate,
};

/// Whether a ListVirtualMFADevices item is assigned to this account's root
/// user. Only the assignment counts: a device merely *named*
/// `root-account-mfa-device` (the console's default name) may be unassigned or
/// assigned to a user.
fn assigned_to_root(device: &Value, account: &str) -> bool {
    let Some(arn) = device.pointer("/User/Arn").and_then(Value::as_str) else { return false };
    // arn:PARTITION:iam::ACCOUNT:root, in any partition.
    let parts: Vec<&str> = arn.split(':').collect();
    parts.len() == 6 && parts[0] == "arn" && parts[2] == "iam" && parts[4] == account && parts[5] == "root"
}

fn evaluate(r: &Resource, _: &EvalContext) -> Result<Verdict, MissingData> {
    let summary = described(r, "AccountSummary")?;
    let enabled = required(summary, "AccountSummary", "AccountMFAEnabled", Value::as_i64)?;
    if enabled != 1 {
        return Ok(Verdict::Fail(json!({"Path": "AccountSummary.AccountMFAEnabled", "Value": enabled})));
    }
    let devices = r.field("VirtualMFADevices")?;
    let devices = devices
        .as_array()
        .ok_or_else(|| MissingData(format!("VirtualMFADevices has an unexpected shape: {devices}")))?;
    let virtual_root: Vec<Value> = devices
        .iter()
        .enumerate()
        .filter(|(_, d)| assigned_to_root(d, &r.account_id))
        .map(|(i, d)| json!({"Path": format!("VirtualMFADevices[{i}]"), "SerialNumber": d["SerialNumber"]}))
        .collect();
    if virtual_root.is_empty() {
        // MFA is on and it is not a virtual device: a security key or hardware token.
        return Ok(Verdict::Pass);
    }
    Ok(Verdict::Fail(json!({"VirtualMFADevices": virtual_root})))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iam::fixtures::*;
    use crate::testing::*;

    fn device(serial: &str, user_arn: Option<&str>) -> Value {
        let mut d = json!({"SerialNumber": format!("arn:aws:iam::{ACCOUNT}:mfa/{serial}"), "EnableDate": "2024-04-08T10:21:10Z"});
        if let Some(arn) = user_arn {
            d["User"] = json!({"Arn": arn, "UserId": ACCOUNT});
        }
        d
    }

    #[test]
    fn golden_cases() {
        let root_arn = format!("arn:aws:iam::{ACCOUNT}:root");
        let user_arn = format!("arn:aws:iam::{ACCOUNT}:user/alice");
        let cases: Vec<(&str, Resource, &str)> = vec![
            ("MFA on, no virtual device", root(json!({})), "pass"),
            (
                "virtual device for root",
                root(json!({"VirtualMFADevices": [device("root-account-mfa-device", Some(&root_arn))]})),
                "fail",
            ),
            (
                "another user's virtual device",
                root(json!({"VirtualMFADevices": [device("alice", Some(&user_arn))]})),
                "pass",
            ),
            // Tricky: the console's default root device name, but unassigned or assigned to a user.
            (
                "root-named device, unassigned",
                root(json!({"VirtualMFADevices": [device("root-account-mfa-device", None)]})),
                "pass",
            ),
            (
                "root-named device, assigned to a user",
                root(json!({"VirtualMFADevices": [device("root-account-mfa-device", Some(&user_arn))]})),
                "pass",
            ),
            (
                "another account's root",
                root(json!({"VirtualMFADevices": [device("x", Some("arn:aws:iam::999999999999:root"))]})),
                "pass",
            ),
            (
                "GovCloud partition",
                root(json!({"VirtualMFADevices": [device("x", Some(&format!("arn:aws-us-gov:iam::{ACCOUNT}:root")))]})),
                "fail",
            ),
            ("no MFA at all", root(json!({"AccountSummary": summary(json!({"AccountMFAEnabled": 0}))})), "fail"),
            ("devices unreadable", unreadable(root(json!({})), "VirtualMFADevices"), "error"),
            ("devices not a list", root(json!({"VirtualMFADevices": null})), "error"),
            ("summary unreadable", unreadable(root(json!({})), "AccountSummary"), "error"),
        ];
        for (name, r, expected) in cases {
            let v = run(&POLICY, &r);
            assert_eq!(v.name(), expected, "{name}: {v:?}");
        }
    }

    #[test]
    fn evidence_names_the_device() {
        let root_arn = format!("arn:aws:iam::{ACCOUNT}:root");
        let devices = json!([
            device("alice", Some("arn:aws:iam::123456789012:user/alice")),
            device("root-account-mfa-device", Some(&root_arn))
        ]);
        let e = evidence(run(&POLICY, &root(json!({"VirtualMFADevices": devices}))));
        assert_eq!(
            e,
            json!({"VirtualMFADevices": [{"Path": "VirtualMFADevices[1]",
            "SerialNumber": format!("arn:aws:iam::{ACCOUNT}:mfa/root-account-mfa-device")}]})
        );
        let e = evidence(run(&POLICY, &root(json!({"AccountSummary": summary(json!({"AccountMFAEnabled": 0}))}))));
        assert_eq!(e, json!({"Path": "AccountSummary.AccountMFAEnabled", "Value": 0}));
    }

    #[test]
    fn recorded_virtual_devices() {
        // Account 644160558196: test_mfa_device2 is root's; a device named root-account-mfa-device belongs
        // to a user; one device is unassigned.
        let devices =
            recorded("iam.ListVirtualMFADevices", "test_account_virtual_mfa__iam.ListVirtualMFADevices_1.json")
                ["VirtualMFADevices"]
                .clone();
        let mut r = root(json!({"VirtualMFADevices": devices}));
        r.account_id = "644160558196".into();
        let e = evidence(run(&POLICY, &r));
        assert_eq!(
            e["VirtualMFADevices"],
            json!([{"Path": "VirtualMFADevices[1]",
            "SerialNumber": "arn:aws:iam::644160558196:mfa/test_mfa_device2"}])
        );
        // Seen from another account, none of them is its root's.
        r.account_id = ACCOUNT.into();
        assert_eq!(run(&POLICY, &r), Verdict::Pass);
    }
}
