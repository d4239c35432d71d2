//! The result of evaluating one resource against one policy.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::resource::MissingData;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "Verdict", content = "Detail")]
pub enum Verdict {
    Pass,
    /// Evidence points at what decided it: the statement, grant, rule or
    /// attribute, with its JSON path.
    Fail(Value),
    NotApplicable,
    /// The policy could not decide, e.g. the data it needs could not be read.
    Error(String),
}

impl Verdict {
    pub fn name(&self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail(_) => "fail",
            Verdict::NotApplicable => "not-applicable",
            Verdict::Error(_) => "error",
        }
    }
}

impl From<MissingData> for Verdict {
    fn from(m: MissingData) -> Self {
        Verdict::Error(m.0)
    }
}
