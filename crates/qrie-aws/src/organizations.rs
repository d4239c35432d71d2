//! Organizations discovery: the member accounts and the OU path of each, read
//! with the ambient credentials (the management account, or a delegated
//! administrator). ListAccounts pages through the accounts; each account's path
//! is walked up with ListParents, and each OU is named once
//! (DescribeOrganizationalUnit, cached for the whole discovery) — an
//! organization of N accounts under K OUs costs 1 + N/20 + N×depth + K calls.

use aws_sdk_organizations::types::ParentType;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use qrie_engine::{CloudError, OrgAccount};
use std::collections::HashMap;

use crate::read;

/// Deeper than Organizations allows (5 OU levels under the root): a cycle or a
/// misbehaving endpoint ends as an error, not a loop.
const MAX_DEPTH: usize = 10;

/// The organization's accounts; `None` when the credentials' account is in no
/// organization.
pub(crate) async fn discover(org: &aws_sdk_organizations::Client) -> Result<Option<Vec<OrgAccount>>, CloudError> {
    // One call that says whether there is an organization at all (ListAccounts
    // answers an empty list on some emulators where AWS says "not in use").
    match org.describe_organization().send().await {
        Ok(_) => {}
        Err(e) if e.code() == Some("AWSOrganizationsNotInUseException") => return Ok(None),
        Err(e) => return Err(read::cloud_error(&e)),
    }
    let mut accounts = Vec::new();
    let mut token = None;
    loop {
        let page = org.list_accounts().set_next_token(token).send().await.map_err(|e| read::cloud_error(&e))?;
        accounts.extend(page.accounts().iter().cloned());
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    let mut names = OuNames::default();
    let mut out = Vec::with_capacity(accounts.len());
    for a in accounts {
        let Some(id) = a.id() else { continue };
        let path = path_of(org, id).await?;
        let mut path_names = Vec::with_capacity(path.len());
        for ou in &path {
            path_names.push(names.name(org, ou).await?);
        }
        out.push(OrgAccount {
            account_id: id.to_string(),
            name: a.name().unwrap_or(id).to_string(),
            // `State` replaces the deprecated `Status`; either says ACTIVE.
            status: a
                .state()
                .map(|s| s.as_str().to_string())
                .or_else(|| a.status().map(|s| s.as_str().to_string()))
                .unwrap_or_default(),
            org_path: path,
            org_path_names: path_names,
        });
    }
    out.sort_by(|a, b| a.account_id.cmp(&b.account_id));
    Ok(Some(out))
}

/// OU ids from the root down to the account's parent, by ListParents.
async fn path_of(org: &aws_sdk_organizations::Client, account_id: &str) -> Result<Vec<String>, CloudError> {
    let mut path = Vec::new();
    let mut child = account_id.to_string();
    for _ in 0..MAX_DEPTH {
        let out = org.list_parents().child_id(&child).send().await.map_err(|e| read::cloud_error(&e))?;
        let Some(parent) = out.parents().first() else {
            return Err(CloudError::Other(format!("ListParents: {child} has no parent")));
        };
        let id = parent.id().unwrap_or_default().to_string();
        path.push(id.clone());
        if parent.r#type() == Some(&ParentType::Root) {
            path.reverse();
            return Ok(path);
        }
        child = id;
    }
    Err(CloudError::Other(format!("ListParents: no root within {MAX_DEPTH} levels above {account_id}")))
}

/// OU names, each read once per discovery; the root is called `Root`.
#[derive(Default)]
struct OuNames(HashMap<String, String>);

impl OuNames {
    async fn name(&mut self, org: &aws_sdk_organizations::Client, id: &str) -> Result<String, CloudError> {
        if let Some(name) = self.0.get(id) {
            return Ok(name.clone());
        }
        let name = if id.starts_with("r-") {
            "Root".to_string()
        } else {
            let out = org
                .describe_organizational_unit()
                .organizational_unit_id(id)
                .send()
                .await
                .map_err(|e| read::cloud_error(&e))?;
            out.organizational_unit().and_then(|u| u.name()).unwrap_or(id).to_string()
        };
        self.0.insert(id.to_string(), name.clone());
        Ok(name)
    }
}
