//! Launched policies, one document per policy id, written conditionally on
//! the generation the writer read (`Generation`, which also fences findings).

use async_trait::async_trait;
use aws_sdk_dynamodb::types::ReturnValue;
use qrie_model::LaunchedPolicy;
use qrie_store::{PolicyStore, Result};

use crate::error::sdk;
use crate::item::{key, n, s};
use crate::transact::{at_version, generation_attr};
use crate::DynamoStore;

const KEY: &str = "PolicyId";

/// The condition that the stored policy is at `expected` (`None`: absent).
fn expected_condition(expected: Option<u64>) -> (String, Option<i64>) {
    match expected {
        None => ("attribute_not_exists(PolicyId)".to_string(), None),
        Some(g) => (at_version("Generation", KEY, g), Some(g as i64)),
    }
}

fn refused<E: aws_sdk_dynamodb::error::ProvideErrorMetadata>(e: &E) -> bool {
    e.code() == Some("ConditionalCheckFailedException")
}

#[async_trait]
impl PolicyStore for DynamoStore {
    async fn get_policy(&self, policy_id: &str) -> Result<Option<LaunchedPolicy>> {
        self.get_doc(&self.tables().policies, KEY, policy_id).await
    }

    async fn list_policies(&self) -> Result<Vec<LaunchedPolicy>> {
        self.all_docs(&self.tables().policies, KEY).await
    }

    async fn put_policy(&self, policy: LaunchedPolicy, expected: Option<u64>) -> Result<bool> {
        let extra = vec![("Status", s(policy.status.as_str())), generation_attr(policy.generation)];
        self.put_doc_if(&self.tables().policies, KEY, &policy.policy_id, &policy, extra, "Generation", expected).await
    }

    async fn delete_policy(&self, policy_id: &str, expected: u64) -> Result<bool> {
        let table = &self.tables().policies;
        let (condition, value) = expected_condition(Some(expected));
        let mut request = self
            .client()
            .delete_item()
            .table_name(table)
            .set_key(Some(key([(KEY, s(policy_id))])))
            .condition_expression(condition)
            .return_values(ReturnValue::AllOld);
        if let Some(v) = value {
            request = request.expression_attribute_values(":v", n(v));
        }
        match request.send().await {
            Ok(out) => Ok(out.attributes.is_some_and(|a| !a.is_empty())),
            Err(e) if e.as_service_error().is_some_and(refused) => Ok(false),
            Err(e) => Err(sdk("DeleteItem", table, e)),
        }
    }
}
