//! `docs/policies.md`, generated from the registry and the framework data so
//! that the reference can never disagree with the code. A test compares the
//! committed file with [`policies_markdown`] and fails when it is stale.

use qrie_model::{ParamValue, PolicyDef};
use std::fmt::Write;

use crate::frameworks::{self, Framework};

/// The command that rewrites `docs/policies.md`.
pub const REGENERATE: &str = "QRIE_UPDATE_DOCS=1 cargo test -p qrie-policies docs";

/// The policy reference in Markdown: every policy of the catalog, service by
/// service in catalog order, and how the catalog covers each framework.
pub fn policies_markdown() -> String {
    let catalog = crate::catalog();
    let mut services: Vec<qrie_model::Service> = Vec::new();
    for p in catalog {
        if !services.contains(&p.service) {
            services.push(p.service);
        }
    }
    let mut md = String::new();
    md.push_str("# Policies\n\n");
    let _ = writeln!(
        md,
        "<!-- Generated from the policy registry (qrie_policies::docs::policies_markdown); do not edit. \
         Regenerate with: {REGENERATE} -->\n"
    );
    let _ = writeln!(
        md,
        "{} built-in policies. Severity is a score from 0 to 100 with its label (critical 90+, high 70+, \
         medium 40+, low 10+); a launched policy may override it and the parameters.\n",
        catalog.len()
    );
    md.push_str("| Service | Policy | Title | Severity |\n|---|---|---|---|\n");
    for p in catalog {
        let _ = writeln!(
            md,
            "| {} | [`{}`](#{}) | {} | {} ({}) |",
            p.service.as_str(),
            p.id,
            p.id,
            p.title,
            p.severity.value(),
            p.severity.label().as_str()
        );
    }
    md.push('\n');
    coverage(&mut md);
    for service in services {
        let _ = writeln!(md, "## {}\n", service.as_str().to_uppercase());
        for p in catalog.iter().filter(|p| p.service == service) {
            policy(&mut md, p);
        }
    }
    md.truncate(md.trim_end().len());
    md.push('\n');
    md
}

fn policy(md: &mut String, p: &PolicyDef) {
    let _ = writeln!(md, "### {}\n", p.id);
    let _ = writeln!(md, "**{}**\n", p.title);
    let _ = writeln!(md, "| | |\n|---|---|");
    let _ = writeln!(md, "| Severity | {} ({}) |", p.severity.value(), p.severity.label().as_str());
    let _ = writeln!(md, "| Category | {} |", p.category);
    let _ = writeln!(md, "| Resource type | `{}` |\n", p.resource_type);
    let _ = writeln!(md, "{}\n", p.description);
    if p.params.is_empty() {
        md.push_str("**Parameters:** none.\n\n");
    } else {
        md.push_str("**Parameters**\n\n| Name | Default | Allowed | Description |\n|---|---|---|---|\n");
        for d in p.params {
            let default = match d.default {
                ParamValue::Int(v) => v.to_string(),
                ParamValue::Bool(v) => v.to_string(),
                ParamValue::Text(v) => format!("{v:?}"),
            };
            let allowed = d.rule.describe().unwrap_or_else(|| "any".into());
            let _ = writeln!(md, "| `{}` | `{}` | {allowed} | {} |", d.name, default, d.description);
        }
        md.push('\n');
    }
    let r = &p.remediation;
    md.push_str("**Remediation**\n\n");
    for (i, step) in r.steps.iter().enumerate() {
        let _ = writeln!(md, "{}. {}", i + 1, step);
    }
    let _ = writeln!(md, "\nAWS CLI:\n\n```sh\n{}\n```\n", r.cli);
    let _ = writeln!(md, "Console: {}\n", r.console);
    let (label, lang) =
        if r.iac.contains("resource \"aws_") { ("Terraform", "hcl") } else { ("CloudFormation", "yaml") };
    let _ = writeln!(md, "{label}:\n\n```{lang}\n{}\n```\n", r.iac);
    md.push_str("**Compliance**\n\n");
    for c in p.compliance {
        let name =
            frameworks::framework(c.framework).map_or(c.framework.to_string(), |f| format!("{} {}", f.name, f.version));
        let controls: Vec<String> = c.controls.iter().map(|id| control_label(c.framework, id)).collect();
        let _ = writeln!(md, "- {name}: {}", controls.join("; "));
    }
    md.push('\n');
}

/// `5.2 Ensure no security groups…`, or the bare id when the framework data lacks it.
fn control_label(framework: &str, id: &str) -> String {
    match frameworks::framework(framework).and_then(|f| f.control(id)) {
        Some(c) => format!("{id} {}", c.title),
        None => id.to_string(),
    }
}

fn coverage(md: &mut String) {
    md.push_str("## Framework coverage\n\n");
    md.push_str("| Framework | Version | Controls defined | Controls with a policy | Policies citing it |\n");
    md.push_str("|---|---|---|---|---|\n");
    for f in frameworks::frameworks() {
        let mapped = f.controls.iter().filter(|c| !frameworks::policies_for_control(&f.id, &c.id).is_empty()).count();
        let citing = crate::catalog().iter().filter(|p| p.compliance.iter().any(|c| c.framework == f.id)).count();
        let _ = writeln!(
            md,
            "| {} (`{}`) | {} | {} | {} | {} |",
            f.name,
            f.id,
            f.version,
            f.controls.len(),
            mapped,
            citing
        );
    }
    md.push('\n');
    if let Some(cis) = frameworks::framework("cis-aws-3.0") {
        cis_table(md, cis);
    }
}

fn cis_table(md: &mut String, cis: &Framework) {
    let _ = writeln!(md, "### {} {}, control by control\n", cis.name, cis.version);
    md.push_str("| Control | Title | Assessment | Policies |\n|---|---|---|---|\n");
    for c in &cis.controls {
        let policies: Vec<String> =
            frameworks::policies_for_control(&cis.id, &c.id).iter().map(|p| format!("`{}`", p.id)).collect();
        let assessment = if c.automated == Some(true) { "Automated" } else { "Manual" };
        let listed = if policies.is_empty() { "—".to_string() } else { policies.join(", ") };
        let _ = writeln!(md, "| {} | {} | {} | {} |", c.id, c.title.replace('|', "\\|"), assessment, listed);
    }
    md.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn docs_path() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/policies.md")
    }

    #[test]
    fn docs_policies_md_is_current() {
        let generated = policies_markdown();
        let path = docs_path();
        if std::env::var_os("QRIE_UPDATE_DOCS").is_some() {
            std::fs::write(&path, &generated).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(committed == generated, "{} is stale; regenerate it with:\n  {REGENERATE}", path.display());
    }

    #[test]
    fn every_policy_and_framework_is_documented() {
        let md = policies_markdown();
        for p in crate::catalog() {
            assert!(md.contains(&format!("### {}\n", p.id)), "{}", p.id);
            assert!(md.contains(p.remediation.cli), "{}: CLI", p.id);
            assert!(md.contains(p.remediation.iac), "{}: IaC", p.id);
            for c in p.compliance {
                for id in c.controls {
                    assert!(md.contains(&control_label(c.framework, id)), "{} {id}", p.id);
                }
            }
        }
        for f in frameworks::frameworks() {
            assert!(md.contains(&format!("(`{}`)", f.id)), "{}", f.id);
        }
        assert!(md.contains("| 5.1 | Ensure no Network ACLs allow ingress from 0.0.0.0/0 to remote server administration ports | Automated | `ec2-nacl-open-admin-ports` |"));
        assert!(md.contains("| `allowed_ports` | `\"\"` |"));
        assert!(md.contains("| Severity | 90 (critical) |"));
    }
}
