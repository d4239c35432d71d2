//! The identity-policy documents of IAM resources, parsed with
//! `crate::document`: a principal's inline policies, and the default version of
//! a customer-managed policy.

use qrie_model::{MissingData, Resource};
use serde_json::Value;

use crate::config::{described, required};
use crate::document::PolicyDocument;

/// Where a principal kind keeps its inline policies.
pub(crate) struct Inline {
    /// The configuration key (`User`), root of every path.
    pub key: &'static str,
    /// Its inline policy list (`UserPolicyList`).
    pub list: &'static str,
}

pub(crate) const USER: Inline = Inline { key: "User", list: "UserPolicyList" };
pub(crate) const GROUP: Inline = Inline { key: "Group", list: "GroupPolicyList" };
pub(crate) const ROLE: Inline = Inline { key: "Role", list: "RolePolicyList" };

/// The principal's inline policy documents, each parsed at its path
/// (`User.UserPolicyList[0].PolicyDocument`). GetAccountAuthorizationDetails
/// omits the list when there are none, so absent is empty.
pub(crate) fn inline(r: &Resource, kind: &Inline) -> Result<Vec<PolicyDocument>, MissingData> {
    let item = described(r, kind.key)?;
    let Some(list) = item.get(kind.list) else { return Ok(Vec::new()) };
    let path = format!("{}.{}", kind.key, kind.list);
    let list = list.as_array().ok_or_else(|| MissingData(format!("{path} has an unexpected shape: {list}")))?;
    list.iter()
        .enumerate()
        .map(|(i, p)| {
            let at = format!("{path}[{i}]");
            let doc = p.get("PolicyDocument").ok_or_else(|| MissingData(format!("{at}.PolicyDocument is absent")))?;
            Ok(PolicyDocument::parse(doc, &format!("{at}.PolicyDocument"))?)
        })
        .collect()
}

/// The default version of a customer-managed policy: the PolicyVersionList
/// item marked IsDefaultVersion (or whose VersionId is DefaultVersionId).
/// Other versions grant nothing until someone makes them the default.
pub(crate) fn default_version(r: &Resource) -> Result<PolicyDocument, MissingData> {
    default_version_at(r, "Policy")
}

/// [`default_version`], with evidence paths rooted at `root` instead of
/// `Policy` (e.g. `User.AttachedManagedPolicies[1].Policy`, for a policy read
/// through a principal's attachment).
pub(crate) fn default_version_at(r: &Resource, root: &str) -> Result<PolicyDocument, MissingData> {
    let policy = described(r, "Policy")?;
    let versions = required(policy, "Policy", "PolicyVersionList", Value::as_array)?;
    let default_id = policy.get("DefaultVersionId").and_then(Value::as_str);
    let (i, version) = versions
        .iter()
        .enumerate()
        .find(|(_, v)| {
            v.get("IsDefaultVersion").and_then(Value::as_bool) == Some(true)
                || (default_id.is_some() && v.get("VersionId").and_then(Value::as_str) == default_id)
        })
        .ok_or_else(|| MissingData("Policy.PolicyVersionList has no default version".into()))?;
    let at = format!("{root}.PolicyVersionList[{i}].Document");
    let doc = version.get("Document").ok_or_else(|| MissingData(format!("{at} is absent")))?;
    Ok(PolicyDocument::parse(doc, &at)?)
}
