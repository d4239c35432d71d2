//! Writing an export: chunks from the engine to a file (which appears only
//! once complete) or to standard output, with a count on stderr.

use anyhow::{Context, Result};
use futures::{Stream, StreamExt};
use qrie_engine::export::ExportChunk;
use qrie_engine::EngineError;
use qrie_export::ExportContext;
use std::io::Write;
use std::path::Path;

use crate::cli::ExportArgs;
use crate::context::Ctx;
use crate::progress::Counter;

/// What every record of an export from this CLI says about where it came from.
pub fn context(ctx: &Ctx, to: &ExportArgs) -> ExportContext {
    ExportContext {
        product_version: env!("CARGO_PKG_VERSION").to_string(),
        ui_url: to.links.public_url.clone(),
        home_region: ctx.aws_region.clone().unwrap_or_else(|| "us-east-1".to_string()),
    }
}

/// Writes the chunks where `to` says; returns how many records there were.
pub async fn write(
    chunks: impl Stream<Item = Result<ExportChunk, EngineError>>,
    to: &ExportArgs,
    label: &str,
) -> Result<u64> {
    let counter = Counter::new(label);
    let written = match &to.output {
        Some(path) => to_file(chunks, path, &counter).await,
        None => to_stdout(chunks, &counter).await,
    };
    counter.finish();
    written
}

async fn to_stdout(chunks: impl Stream<Item = Result<ExportChunk, EngineError>>, counter: &Counter) -> Result<u64> {
    let mut chunks = std::pin::pin!(chunks);
    let mut records = 0;
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk?;
        let mut out = std::io::stdout().lock();
        match out.write_all(&chunk.bytes).and_then(|_| out.flush()) {
            // A reader that has seen enough (`| head`) is not an error.
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(records),
            other => other.context("writing to standard output")?,
        }
        records += chunk.records;
        counter.set(records);
    }
    Ok(records)
}

/// Writes into a hidden file beside `path` and renames it into place when
/// complete, so a failed or interrupted export leaves no partial file under
/// the name asked for.
async fn to_file(
    chunks: impl Stream<Item = Result<ExportChunk, EngineError>>,
    path: &Path,
    counter: &Counter,
) -> Result<u64> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut file = tempfile::Builder::new()
        .prefix(".qrie-export-")
        .suffix(".partial")
        .tempfile_in(dir)
        .with_context(|| format!("creating a file in {}", dir.display()))?;
    let mut chunks = std::pin::pin!(chunks);
    let mut records = 0;
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk?;
        file.write_all(&chunk.bytes).with_context(|| format!("writing {}", file.path().display()))?;
        records += chunk.records;
        counter.set(records);
    }
    file.as_file().sync_all().context("flushing the export to disk")?;
    file.persist(path).with_context(|| format!("moving the export to {}", path.display()))?;
    Ok(records)
}
