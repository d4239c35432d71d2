//! `qrie compliance [FRAMEWORK]`.

use anyhow::{bail, Result};

use crate::cli::ExportArgs;
use crate::context::Ctx;
use crate::output::{self, Format};

pub async fn run(ctx: &Ctx, format: Format, framework: Option<String>, to: ExportArgs) -> Result<()> {
    if format == Format::Ocsf {
        let Some(framework) = framework else {
            bail!("--format ocsf exports one framework's compliance findings: name it (qrie compliance cis-aws-3.0)");
        };
        let chunks = ctx.engine().export_compliance(&framework, super::export::context(ctx, &to)).await?;
        let records = super::export::write(chunks, &to, "export").await?;
        if let Some(path) = &to.output {
            eprintln!("exported {records} compliance finding(s) to {}", path.display());
        }
        return Ok(());
    }
    if to.output.is_some() {
        bail!("--output is for --format ocsf; other formats print to standard output");
    }
    let postures = ctx.engine().compliance(framework.as_deref()).await?;
    match (format, framework.is_some()) {
        // One framework: its controls as a list (table, CSV) or the whole posture (JSON).
        (Format::Json | Format::Jsonl, true) => output::document(format, &postures[0], String::new),
        (_, true) => {
            let p = &postures[0];
            eprintln!(
                "{} ({}): {} passing, {} failing, {} not evaluated",
                p.name, p.version, p.passing, p.failing, p.not_evaluated
            );
            output::list(format, &["CONTROL", "STATE", "FINDINGS", "POLICIES", "TITLE"], &p.controls, |c| {
                vec![
                    c.control_id.clone(),
                    serde_json::to_value(c.state).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default(),
                    c.active_findings.to_string(),
                    c.active_policies.join(" "),
                    c.title.clone(),
                ]
            })
        }
        (_, false) => {
            output::list(format, &["FRAMEWORK", "NAME", "PASSING", "FAILING", "NOT EVALUATED"], &postures, |p| {
                vec![
                    p.framework.clone(),
                    format!("{} {}", p.name, p.version),
                    p.passing.to_string(),
                    p.failing.to_string(),
                    p.not_evaluated.to_string(),
                ]
            })
        }
    }
}
