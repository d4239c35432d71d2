//! Exports stream: findings are read a page at a time and each page is
//! rendered to bytes before the next is read, so an export of any size holds
//! one page in memory. The CLI writes the chunks to a file or stdout, the API
//! streams them as the response body.

use futures::stream::{self, Stream, StreamExt};
use qrie_export::{ocsf, ExportContext, Exporter, PolicyText, Record};
use qrie_model::FindingState;
use qrie_store::{FindingFilter, FindingSort, PageRequest};
use std::collections::HashMap;

use crate::suppressions::{FindingView, SuppressedFilter};
use crate::{Engine, EngineError};

/// Findings read per page.
const PAGE: usize = 1000;

/// Which findings an export holds: `findings list`'s filters.
#[derive(Debug, Clone)]
pub struct ExportQuery {
    pub filter: FindingFilter,
    pub sort: FindingSort,
    pub suppressed: SuppressedFilter,
}

/// Rendered records and how many there are.
#[derive(Debug, Default)]
pub struct ExportChunk {
    pub bytes: Vec<u8>,
    pub records: u64,
}

struct Pager {
    engine: Engine,
    filters: std::vec::IntoIter<FindingFilter>,
    current: Option<FindingFilter>,
    next_token: Option<String>,
    sort: FindingSort,
    which: SuppressedFilter,
    now: qrie_model::Timestamp,
}

impl Pager {
    /// The next page of views, walking each filter's pages in turn; `None` at the end.
    async fn next(&mut self) -> Result<Option<Vec<FindingView>>, EngineError> {
        loop {
            let Some(filter) = &self.current else { return Ok(None) };
            let request = PageRequest { limit: PAGE, next_token: self.next_token.take() };
            let page = self.engine.list_finding_views(filter, self.sort, &request, self.which, self.now).await?;
            match page.next_token {
                Some(t) => self.next_token = Some(t),
                None => self.current = self.filters.next(),
            }
            if !page.items.is_empty() {
                return Ok(Some(page.items));
            }
        }
    }
}

/// The pages of views of each filter in turn, rendered by `render`.
fn render_pages<S: Send + 'static>(
    engine: &Engine,
    filters: Vec<FindingFilter>,
    sort: FindingSort,
    which: SuppressedFilter,
    state: S,
    render: impl Fn(&mut S, &[FindingView], &mut ExportChunk) -> Result<(), EngineError> + Send + 'static,
) -> impl Stream<Item = Result<ExportChunk, EngineError>> + Send + 'static {
    let mut filters = filters.into_iter();
    let pager = Pager {
        engine: engine.clone(),
        current: filters.next(),
        filters,
        next_token: None,
        sort,
        which,
        now: Engine::now(),
    };
    stream::try_unfold((pager, state, render), |(mut pager, mut state, render)| async move {
        let Some(views) = pager.next().await? else { return Ok(None) };
        let mut chunk = ExportChunk::default();
        render(&mut state, &views, &mut chunk)?;
        Ok(Some((chunk, (pager, state, render))))
    })
}

fn export_error(e: qrie_export::ExportError) -> EngineError {
    EngineError::Export(e.to_string())
}

impl Engine {
    /// The findings `query` selects, rendered by `exporter`, a page per chunk
    /// (the first chunk starts with the format's header, if it has one).
    pub fn export_findings(
        &self,
        query: ExportQuery,
        mut exporter: Exporter,
    ) -> impl Stream<Item = Result<ExportChunk, EngineError>> + Send + 'static {
        let mut header = ExportChunk::default();
        let begun = exporter.begin(&mut header.bytes).map_err(export_error);
        let pages =
            render_pages(self, vec![query.filter], query.sort, query.suppressed, exporter, |exporter, views, chunk| {
                for v in views {
                    let record = Record {
                        finding: &v.finding,
                        suppression: v.suppression.as_ref(),
                        policy_paused: v.policy_paused,
                    };
                    exporter.write(record, &mut chunk.bytes).map_err(export_error)?;
                    chunk.records += 1;
                }
                Ok(())
            });
        stream::once(async move { begun.map(|_| header) }).chain(pages)
    }

    /// OCSF Compliance Findings for `framework`: one per active finding of
    /// each launched, active policy mapped to it × each of its controls that
    /// policy maps to (findings of removed accounts left out, suppressed
    /// ones in, saying so in their status).
    pub async fn export_compliance(
        &self,
        framework: &str,
        context: ExportContext,
    ) -> Result<impl Stream<Item = Result<ExportChunk, EngineError>> + Send + 'static, EngineError> {
        let fw = crate::compliance::framework_named(framework)?;
        let active: std::collections::HashSet<String> =
            self.store.list_policies().await?.into_iter().filter(|p| p.is_active()).map(|p| p.policy_id).collect();
        let removed = self.removed_account_ids().await?;
        let mut texts: HashMap<String, PolicyText> = HashMap::new();
        for def in qrie_policies::catalog() {
            if active.contains(def.id) && def.compliance.iter().any(|c| c.framework == fw.id) {
                texts.insert(def.id.to_string(), PolicyText::of(def.id));
            }
        }
        let mut policies: Vec<&String> = texts.keys().collect();
        policies.sort();
        let filters = policies
            .into_iter()
            .map(|p| FindingFilter {
                state: Some(FindingState::Active),
                policy: Some(p.clone()),
                exclude_accounts: removed.clone(),
                ..Default::default()
            })
            .collect();
        Ok(render_pages(
            self,
            filters,
            FindingSort::StoreOrder,
            SuppressedFilter::All,
            texts,
            move |texts, views, chunk| {
                for v in views {
                    let Some(text) = texts.get(&v.finding.policy) else { continue };
                    let record = Record {
                        finding: &v.finding,
                        suppression: v.suppression.as_ref(),
                        policy_paused: v.policy_paused,
                    };
                    for (_, control) in text.compliance.iter().filter(|(f, _)| f.id == fw.id) {
                        let value = ocsf::compliance_finding(record, text, fw, control, &context);
                        qrie_export::json_line(&value, &mut chunk.bytes).map_err(export_error)?;
                        chunk.records += 1;
                    }
                }
                Ok(())
            },
        ))
    }
}
