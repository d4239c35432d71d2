//! A finding's full transition log. The finding keeps its first and latest
//! transitions inline ([`qrie_model::HISTORY_KEPT`]); every transition is
//! also appended to the store's history series for the finding, read here a
//! page at a time.

use qrie_model::{history_series, Transition};
use serde::Serialize;

use crate::{Engine, EngineError};

/// One page of a finding's transitions, oldest first.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct HistoryPage {
    /// How many transitions the finding has had.
    pub total: u64,
    pub transitions: Vec<Transition>,
    /// Where the next page starts (`since_ms`); `None` on the last page.
    pub next_since_ms: Option<i64>,
}

impl Engine {
    /// Transitions of the finding on `arn` for `policy` at or after
    /// `since_ms`, at most `limit` (1..=1000); `None` when there is no such
    /// finding. Findings stored before the log existed answer with their
    /// inline history.
    pub async fn finding_history(
        &self,
        arn: &str,
        policy: &str,
        since_ms: i64,
        limit: usize,
    ) -> Result<Option<HistoryPage>, EngineError> {
        let Some(f) = self.store.get_finding(arn, policy).await? else { return Ok(None) };
        let limit = limit.clamp(1, 1000);
        let mut points = self.store.list_history(&history_series(arn, policy), since_ms, limit + 1).await?;
        if points.is_empty() && since_ms <= 0 {
            let inline = f.history.iter().take(limit).cloned().collect();
            return Ok(Some(HistoryPage { total: f.transition_count(), transitions: inline, next_since_ms: None }));
        }
        let next_since_ms = (points.len() > limit).then(|| points[limit].0);
        points.truncate(limit);
        let transitions = points.into_iter().filter_map(|(_, v)| serde_json::from_value(v).ok()).collect();
        Ok(Some(HistoryPage { total: f.transition_count(), transitions, next_since_ms }))
    }
}
