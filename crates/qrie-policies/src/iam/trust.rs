//! Role trust policies (AssumeRolePolicyDocument), parsed with `crate::document`.

use qrie_model::{MissingData, Resource};

use crate::config::described;
use crate::document::{PolicyDocument, Statement};

pub(crate) fn document(r: &Resource) -> Result<PolicyDocument, MissingData> {
    let role = described(r, "Role")?;
    let doc = role
        .get("AssumeRolePolicyDocument")
        .ok_or_else(|| MissingData("Role.AssumeRolePolicyDocument is absent".into()))?;
    Ok(PolicyDocument::parse(doc, "Role.AssumeRolePolicyDocument")?)
}

/// Whether the statement lets someone assume the role (any sts:AssumeRole*
/// action, wildcards included); sts:TagSession alone does not.
pub(crate) fn assumes(s: &Statement) -> bool {
    s.actions.meets("sts:AssumeRole*")
}
