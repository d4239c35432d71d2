//! Compliance frameworks as data: each framework's controls live in
//! `frameworks/<id>.json` (embedded at build time), and the policies say which
//! controls they help satisfy (`PolicyDef::compliance`). Nothing here lists
//! policies per control: [`policies_for_control`] derives that from the
//! catalog, so there is one mapping to keep right, and the tests below fail on
//! any reference to a framework or control that the data does not define.

use qrie_model::PolicyDef;
use serde_json::Value;
use std::sync::LazyLock;

/// A compliance framework (benchmark, standard or regulation) and its controls.
#[derive(Debug, Clone, PartialEq)]
pub struct Framework {
    /// What policies cite, e.g. `cis-aws-3.0`.
    pub id: String,
    pub name: String,
    pub version: String,
    /// Which part of the framework the file covers.
    pub scope: String,
    pub controls: Vec<Control>,
}

/// One control (requirement, practice, implementation specification).
#[derive(Debug, Clone, PartialEq)]
pub struct Control {
    /// As the framework numbers it: `2.1.4`, `SC-28(1)`, `164.312(a)(2)(iv)`, `AC.L1-3.1.1`.
    pub id: String,
    pub title: String,
    /// The section it belongs to, where the framework groups controls that way (CIS).
    pub section: Option<String>,
    /// CIS's assessment status: `Some(true)` for Automated, `Some(false)` for
    /// Manual; `None` for frameworks that do not say.
    pub automated: Option<bool>,
}

impl Framework {
    pub fn control(&self, id: &str) -> Option<&Control> {
        self.controls.iter().find(|c| c.id == id)
    }
}

/// The framework files, in the order they are listed.
const SOURCES: &[(&str, &str)] = &[
    ("cis-aws-3.0.json", include_str!("../../frameworks/cis-aws-3.0.json")),
    ("nist-800-53-r5.json", include_str!("../../frameworks/nist-800-53-r5.json")),
    ("pci-dss-4.0.json", include_str!("../../frameworks/pci-dss-4.0.json")),
    ("hipaa.json", include_str!("../../frameworks/hipaa.json")),
    ("cmmc-2.0.json", include_str!("../../frameworks/cmmc-2.0.json")),
];

fn text(v: &Value, key: &str, context: &str) -> Result<String, String> {
    v.get(key).and_then(Value::as_str).map(str::to_string).ok_or_else(|| format!("{context}: {key} is not a string"))
}

/// Parses one framework file; every field is required, so a typo in the data
/// fails the build's tests instead of dropping a control.
fn parse(file: &str, source: &str) -> Result<Framework, String> {
    let v: Value = serde_json::from_str(source).map_err(|e| format!("{file}: {e}"))?;
    let controls = v.get("controls").and_then(Value::as_array).ok_or_else(|| format!("{file}: no controls"))?;
    let controls = controls
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let context = format!("{file} controls[{i}]");
            let automated = match c.get("automated") {
                None => None,
                Some(Value::Bool(b)) => Some(*b),
                Some(other) => return Err(format!("{context}: automated is {other}")),
            };
            let section = c.get("section").map(|_| text(c, "section", &context)).transpose()?;
            Ok(Control { id: text(c, "id", &context)?, title: text(c, "title", &context)?, section, automated })
        })
        .collect::<Result<_, String>>()?;
    Ok(Framework {
        id: text(&v, "id", file)?,
        name: text(&v, "name", file)?,
        version: text(&v, "version", file)?,
        scope: text(&v, "scope", file)?,
        controls,
    })
}

static FRAMEWORKS: LazyLock<Vec<Framework>> = LazyLock::new(|| {
    SOURCES.iter().map(|(file, source)| parse(file, source).unwrap_or_else(|e| panic!("framework data: {e}"))).collect()
});

/// Every framework qrie knows, in a stable order.
pub fn frameworks() -> &'static [Framework] {
    &FRAMEWORKS
}

/// The framework with this id (e.g. `cis-aws-3.0`).
pub fn framework(id: &str) -> Option<&'static Framework> {
    FRAMEWORKS.iter().find(|f| f.id == id)
}

/// The catalog's policies that cite `control` of `framework`, in catalog order.
pub fn policies_for_control(framework: &str, control: &str) -> Vec<&'static PolicyDef> {
    crate::catalog()
        .iter()
        .copied()
        .filter(|p| p.compliance.iter().any(|c| c.framework == framework && c.controls.contains(&control)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    /// CIS sections whose automated controls the catalog must cover.
    const CIS_COVERED_SECTIONS: &[&str] = &["1.", "2.1.", "2.2.", "5."];

    #[test]
    fn the_five_frameworks_parse_with_unique_controls() {
        let ids: Vec<&str> = frameworks().iter().map(|f| f.id.as_str()).collect();
        assert_eq!(ids, ["cis-aws-3.0", "nist-800-53-r5", "pci-dss-4.0", "hipaa", "cmmc-2.0"]);
        for f in frameworks() {
            assert!(!f.name.is_empty() && !f.version.is_empty() && !f.scope.is_empty(), "{}", f.id);
            assert!(!f.controls.is_empty(), "{}", f.id);
            let mut seen = HashSet::new();
            for c in &f.controls {
                assert!(seen.insert(c.id.as_str()), "{}: {} twice", f.id, c.id);
                assert!(!c.title.trim().is_empty(), "{} {}: no title", f.id, c.id);
                // Only CIS states an assessment status, and it states it for every control.
                assert_eq!(c.automated.is_some(), f.id == "cis-aws-3.0", "{} {}", f.id, c.id);
            }
        }
        assert!(std::ptr::eq(framework("hipaa").unwrap(), &frameworks()[3]));
        assert!(framework("cis-aws-1.4").is_none());
    }

    #[test]
    fn control_ids_follow_each_framework_numbering() {
        let is_num = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        for f in frameworks() {
            for c in &f.controls {
                let id = c.id.as_str();
                let ok = match f.id.as_str() {
                    "cis-aws-3.0" | "pci-dss-4.0" => id.split('.').count() >= 2 && id.split('.').all(is_num),
                    "nist-800-53-r5" => {
                        let (family, rest) = id.split_once('-').unwrap_or(("", ""));
                        let (number, enhancement) = rest.split_once('(').unwrap_or((rest, "1)"));
                        family.len() == 2
                            && family.bytes().all(|b| b.is_ascii_uppercase())
                            && is_num(number)
                            && enhancement.strip_suffix(')').is_some_and(is_num)
                    }
                    // 164.308(a)(1)(ii)(A): section, then parenthesised paragraphs.
                    "hipaa" => {
                        let (section, paragraphs) = id.split_at(id.find('(').unwrap_or(id.len()));
                        ["164.308", "164.312"].contains(&section)
                            && paragraphs.starts_with('(')
                            && paragraphs.ends_with(')')
                            && paragraphs[1..paragraphs.len() - 1]
                                .split(")(")
                                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric()))
                    }
                    // AC.L1-3.1.1: domain, level, NIST SP 800-171 requirement.
                    "cmmc-2.0" => {
                        let (domain, rest) = id.split_once('.').unwrap_or(("", ""));
                        let (level, requirement) = rest.split_once('-').unwrap_or(("", ""));
                        domain.len() == 2
                            && domain.bytes().all(|b| b.is_ascii_uppercase())
                            && ["L1", "L2"].contains(&level)
                            && requirement.split('.').count() == 3
                            && requirement.split('.').all(is_num)
                    }
                    other => panic!("no numbering rule for {other}"),
                };
                assert!(ok, "{}: {id:?} is not numbered like the framework", f.id);
            }
        }
    }

    /// The mapping lint: every compliance reference of every policy in the
    /// catalog names a framework and a control defined here.
    #[test]
    fn no_dangling_compliance_references() {
        let mut dangling = Vec::new();
        for p in crate::catalog() {
            for r in p.compliance {
                let Some(f) = framework(r.framework) else {
                    dangling.push(format!("{}: unknown framework {}", p.id, r.framework));
                    continue;
                };
                for c in r.controls {
                    if f.control(c).is_none() {
                        dangling.push(format!("{}: {} has no control {c}", p.id, r.framework));
                    }
                }
            }
        }
        assert!(dangling.is_empty(), "dangling compliance references:\n{}", dangling.join("\n"));
    }

    #[test]
    fn every_automated_cis_control_in_scope_is_mapped() {
        let cis = framework("cis-aws-3.0").unwrap();
        let in_scope: Vec<&Control> = cis
            .controls
            .iter()
            .filter(|c| c.automated == Some(true) && CIS_COVERED_SECTIONS.iter().any(|s| c.id.starts_with(s)))
            .collect();
        assert!(in_scope.len() >= 20, "{} automated controls in scope", in_scope.len());
        let unmapped: Vec<String> = in_scope
            .iter()
            .filter(|c| policies_for_control(&cis.id, &c.id).is_empty())
            .map(|c| format!("{} {}", c.id, c.title))
            .collect();
        assert!(unmapped.is_empty(), "automated CIS controls no policy checks:\n{}", unmapped.join("\n"));
    }

    #[test]
    fn policies_for_a_control() {
        let ids = |f, c| policies_for_control(f, c).iter().map(|p| p.id).collect::<Vec<_>>();
        assert_eq!(ids("cis-aws-3.0", "5.1"), ["ec2-nacl-open-admin-ports"]);
        assert_eq!(
            ids("cis-aws-3.0", "2.2.1"),
            ["ec2-ebs-volume-unencrypted", "ec2-ebs-encryption-by-default-disabled"]
        );
        assert!(ids("cis-aws-3.0", "5.2").contains(&"ec2-sg-open-ssh"));
        // A control of another framework with the same number is not the same control.
        assert!(ids("pci-dss-4.0", "5.1").is_empty());
        assert!(ids("no-such-framework", "5.1").is_empty());
    }

    #[test]
    fn malformed_data_is_rejected() {
        let ok = r#"{"id":"x","name":"X","version":"1","scope":"s","controls":[{"id":"1.1","title":"t"}]}"#;
        assert_eq!(parse("x.json", ok).unwrap().controls[0].automated, None);
        for (bad, error) in [
            (r#"{"id":"x","name":"X","version":"1","scope":"s"}"#, "x.json: no controls"),
            (
                r#"{"id":"x","name":"X","version":"1","scope":"s","controls":[{"id":"1.1"}]}"#,
                "x.json controls[0]: title is not a string",
            ),
            (
                r#"{"id":"x","name":"X","version":"1","scope":"s","controls":[{"id":"1.1","title":"t","automated":"yes"}]}"#,
                "x.json controls[0]: automated is \"yes\"",
            ),
            (r#"{"name":"X","version":"1","scope":"s","controls":[]}"#, "x.json: id is not a string"),
        ] {
            assert_eq!(parse("x.json", bad).unwrap_err(), error);
        }
    }
}
