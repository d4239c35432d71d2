//! The findings archive: resolved findings, each with its whole transition
//! log, written as gzipped JSON Lines to an archive destination (a directory,
//! or S3 through the AWS crate's sink) and only then hard-deleted from the
//! store.
//!
//! The order is what makes it safe: select, write the archive to a local
//! temporary file, hand it to the destination, audit where it went, and only
//! then delete, each delete conditional on the version that was archived. If
//! the destination refuses the archive, nothing is deleted; a finding that
//! changed after it was read (an event reopened it) is kept, and counted.

use async_trait::async_trait;
use flate2::write::GzEncoder;
use flate2::Compression;
use futures::StreamExt;
use qrie_model::audit::AuditAction;
use qrie_model::{history_series, Finding, FindingState, Timestamp, Transition};
use qrie_store::{FindingFilter, FindingSort, PageRequest, Store};
use serde::Serialize;
use serde_json::json;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::jobs::Progress;
use crate::{summary, Engine, EngineError};

/// Findings read (and deleted) per store call.
const PAGE: usize = 500;
/// History series read at once while writing the archive.
const HISTORY_READS: usize = 16;
/// More transitions than any finding has (a finding flapping every minute
/// for a year has about half a million); the archive refuses to truncate.
const HISTORY_LIMIT: usize = 1_000_000;

/// Where archives are kept.
#[async_trait]
pub trait ArchiveSink: Send + Sync {
    /// Stores the finished archive file `local` under `name`, durably, and
    /// answers where it is (a path, an `s3://` URL). An error means it is not
    /// stored, and the caller purges nothing.
    async fn store(&self, name: &str, local: &Path) -> Result<String, String>;
    /// The destination, as an operator names it.
    fn describe(&self) -> String;
}

/// A local directory: the file is copied in under a temporary name and
/// renamed, so the directory never holds half an archive under its name.
pub struct DirSink {
    dir: PathBuf,
}

impl DirSink {
    pub fn new(dir: impl Into<PathBuf>) -> DirSink {
        DirSink { dir: dir.into() }
    }
}

#[async_trait]
impl ArchiveSink for DirSink {
    async fn store(&self, name: &str, local: &Path) -> Result<String, String> {
        let dir = self.dir.clone();
        let (name, local) = (name.to_string(), local.to_path_buf());
        tokio::task::spawn_blocking(move || {
            let fail = |what: &str, e: std::io::Error| format!("{what} {}: {e}", dir.display());
            std::fs::create_dir_all(&dir).map_err(|e| fail("creating", e))?;
            let partial = dir.join(format!(".{name}.partial"));
            let target = dir.join(&name);
            std::fs::copy(&local, &partial).map_err(|e| fail("writing into", e))?;
            std::fs::File::open(&partial).and_then(|f| f.sync_all()).map_err(|e| fail("syncing into", e))?;
            std::fs::rename(&partial, &target).map_err(|e| {
                let _ = std::fs::remove_file(&partial);
                fail("renaming into", e)
            })?;
            Ok(target.display().to_string())
        })
        .await
        .map_err(|e| format!("archive writer stopped: {e}"))?
    }

    fn describe(&self) -> String {
        self.dir.display().to_string()
    }
}

/// Which findings an archive takes: resolved ones only (an active finding is
/// never purged; deleting a policy resolves its findings first).
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ArchiveSelection {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    /// Only findings resolved before this time (retention: "older than N days").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolved_before: Option<Timestamp>,
}

impl ArchiveSelection {
    fn takes(&self, f: &Finding) -> bool {
        // A resolved finding without a resolution time (stored before it was
        // recorded) counts as resolved when it was last evaluated.
        let resolved_at = f.resolved_at.unwrap_or(f.last_evaluated);
        f.state == FindingState::Resolved && self.resolved_before.is_none_or(|cutoff| resolved_at < cutoff)
    }

    /// A short label for the archive's name.
    fn label(&self) -> String {
        let safe = |s: &str| -> String {
            s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect()
        };
        match (&self.policy, &self.account_id) {
            (Some(p), _) => format!("policy-{}", safe(p)),
            (None, Some(a)) => format!("account-{}", safe(a)),
            (None, None) => "findings".into(),
        }
    }
}

/// What an archive run did.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ArchiveReport {
    /// Findings written to the archive.
    pub archived: u64,
    /// Where the archive is (absent when nothing was selected, or on a dry run).
    pub location: Option<String>,
    /// Findings deleted from the store after the archive was stored.
    pub purged: u64,
    /// Archived findings not deleted because they changed after they were
    /// read (they stay in the store, and in the archive as they were).
    pub kept_changed: u64,
    pub dry_run: bool,
}

/// One line of an archive.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ArchiveLine<'a> {
    finding: &'a Finding,
    /// Every transition, oldest first (the store's log, else the inline one).
    history: Vec<Transition>,
}

impl Engine {
    /// Archives the resolved findings `selection` takes to `sink` and then
    /// deletes them (the archive first: if it cannot be stored, nothing is
    /// deleted). A dry run only counts them.
    pub async fn archive_findings(
        &self,
        selection: &ArchiveSelection,
        sink: &dyn ArchiveSink,
        dry_run: bool,
        progress: &dyn Progress,
    ) -> Result<ArchiveReport, EngineError> {
        let findings = self.select_for_archive(selection).await?;
        let mut report = ArchiveReport { archived: findings.len() as u64, dry_run, ..Default::default() };
        if dry_run || findings.is_empty() {
            return Ok(report);
        }
        let now = Engine::now();
        let name = format!(
            "{}-{}-{}.jsonl.gz",
            selection.label(),
            now.format("%Y%m%dT%H%M%SZ"),
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        let local = std::env::temp_dir().join(format!("qrie-{name}"));
        progress.start(findings.len() as u64, "writing the archive");
        let stored = match self.write_archive(&findings, &local, progress).await {
            Ok(()) => {
                sink.store(&name, &local).await.map_err(|e| EngineError::Archive(format!("{}: {e}", sink.describe())))
            }
            Err(e) => Err(e),
        };
        let _ = std::fs::remove_file(&local);
        let location = stored?;
        report.location = Some(location.clone());
        let details = json!({"Location": location, "Findings": findings.len(), "Selection": selection});
        self.audit(now, self.actor(), AuditAction::FindingsArchive, &location, details).await?;

        progress.start(findings.len() as u64, "purging archived findings");
        for chunk in findings.chunks(PAGE) {
            let keys = chunk.iter().map(|f| (f.arn.clone(), f.policy.clone(), f.version)).collect();
            let deleted = self.store.delete_findings(keys).await?;
            let gone: Vec<String> = chunk
                .iter()
                .zip(&deleted)
                .filter(|(_, d)| **d)
                .map(|(f, _)| history_series(&f.arn, &f.policy))
                .collect();
            report.purged += gone.len() as u64;
            report.kept_changed += (chunk.len() - gone.len()) as u64;
            self.store.delete_history(gone).await?;
            progress.advance(report.purged + report.kept_changed, "");
        }
        progress.finish();
        summary::invalidate(&*self.store).await?;
        let details = json!({"Location": location, "Purged": report.purged, "KeptChanged": report.kept_changed});
        self.audit(Engine::now(), self.actor(), AuditAction::FindingsPurge, &location, details).await?;
        Ok(report)
    }

    async fn select_for_archive(&self, selection: &ArchiveSelection) -> Result<Vec<Finding>, EngineError> {
        let filter = FindingFilter {
            state: Some(FindingState::Resolved),
            policy: selection.policy.clone(),
            account_id: selection.account_id.clone(),
            ..Default::default()
        };
        let mut out = Vec::new();
        let mut page = PageRequest { limit: PAGE, next_token: None };
        loop {
            let got = self.store.list_findings(&filter, FindingSort::Key, &page).await?;
            out.extend(got.items.into_iter().filter(|f| selection.takes(f)));
            match got.next_token {
                Some(t) => page.next_token = Some(t),
                None => return Ok(out),
            }
        }
    }

    /// Writes `findings` with their logs to `local` as gzipped JSON Lines.
    async fn write_archive(
        &self,
        findings: &[Finding],
        local: &Path,
        progress: &dyn Progress,
    ) -> Result<(), EngineError> {
        let io = |e: std::io::Error| EngineError::Archive(format!("writing {}: {e}", local.display()));
        let file = std::fs::File::create(local).map_err(io)?;
        let mut gz = GzEncoder::new(std::io::BufWriter::new(file), Compression::default());
        let mut done = 0u64;
        for chunk in findings.chunks(PAGE) {
            // Owned inputs per read: a stream of futures made by a closure over
            // borrowed findings is not `Send` for every lifetime, which a
            // server handler needs.
            let store = self.store.clone();
            let reads = futures::stream::iter(chunk.to_vec()).map(move |f| full_log(store.clone(), f));
            let mut lines = reads.buffered(HISTORY_READS);
            while let Some(read) = lines.next().await {
                let (f, history) = read?;
                let mut line = serde_json::to_vec(&ArchiveLine { finding: &f, history })
                    .map_err(|e| EngineError::Archive(format!("encoding {} {}: {e}", f.arn, f.policy)))?;
                line.push(b'\n');
                gz.write_all(&line).map_err(io)?;
                done += 1;
            }
            progress.advance(done, "");
        }
        let inner = gz.finish().map_err(io)?;
        let file = inner.into_inner().map_err(|e| io(e.into_error()))?;
        file.sync_all().map_err(io)?;
        Ok(())
    }
}

/// A finding with every transition it has had, oldest first: the store's log,
/// else (findings from before the log) the inline one.
async fn full_log(store: Arc<dyn Store>, f: Finding) -> Result<(Finding, Vec<Transition>), EngineError> {
    let logged = store.list_history(&history_series(&f.arn, &f.policy), i64::MIN, HISTORY_LIMIT).await?;
    if logged.is_empty() {
        let inline = f.history.clone();
        return Ok((f, inline));
    }
    let history = logged
        .into_iter()
        .map(|(_, v)| serde_json::from_value(v))
        .collect::<Result<_, _>>()
        .map_err(|e| EngineError::Archive(format!("the history of {} {} does not decode: {e}", f.arn, f.policy)))?;
    Ok((f, history))
}
