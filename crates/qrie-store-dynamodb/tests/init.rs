//! `init` on moto: creates everything, is idempotent, completes a table made
//! without its indexes, and refuses a table of the same name with another key.

use aws_sdk_dynamodb::types::{AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType};
use qrie_store::{ResourceStore, StoreError};
use qrie_store_dynamodb::{schema, DynamoStore, Moto};

fn key(name: &str, kind: KeyType) -> KeySchemaElement {
    KeySchemaElement::builder().attribute_name(name).key_type(kind).build().expect("key")
}

fn attr(name: &str) -> AttributeDefinition {
    AttributeDefinition::builder().attribute_name(name).attribute_type(ScalarAttributeType::S).build().expect("attr")
}

async fn index_names(client: &aws_sdk_dynamodb::Client, table: &str) -> Vec<String> {
    let out = client.describe_table().table_name(table).send().await.expect("describe");
    let mut names: Vec<String> = out
        .table
        .and_then(|t| t.global_secondary_indexes)
        .unwrap_or_default()
        .iter()
        .filter_map(|i| i.index_name().map(str::to_string))
        .collect();
    names.sort();
    names
}

#[test]
fn init_creates_completes_and_refuses() {
    let moto = Moto::start();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        let client = moto.client().await;

        // Before init, a call names the missing table and the fix.
        let store = DynamoStore::new(client.clone(), "fresh_");
        match store.get_resource("arn:aws:s3:::x").await {
            Err(StoreError::Open { location, reason }) => {
                assert!(location.contains("fresh_qrie_resources"), "{location}");
                assert!(reason.contains("qrie store init"), "{reason}");
            }
            other => panic!("expected a missing-table error, got {other:?}"),
        }
        store.init().await.expect("init");
        store.init().await.expect("init again is a no-op");
        let tables = client.list_tables().send().await.expect("list").table_names.unwrap_or_default();
        for def in schema::ALL {
            assert!(tables.contains(&format!("fresh_{}", def.base)), "{} in {tables:?}", def.base);
        }
        let ttl = client.describe_time_to_live().table_name("fresh_qrie_summary").send().await.expect("ttl");
        let ttl = ttl.time_to_live_description.expect("a TTL description");
        assert_eq!(ttl.attribute_name(), Some(schema::TTL_ATTRIBUTE));
        assert_eq!(index_names(&client, "fresh_qrie_findings").await, ["ByAccountService", "ByPolicy"]);

        // A findings table an older qrie made without indexes gets them.
        client
            .create_table()
            .table_name("old_qrie_findings")
            .billing_mode(BillingMode::PayPerRequest)
            .key_schema(key("ARN", KeyType::Hash))
            .key_schema(key("Policy", KeyType::Range))
            .attribute_definitions(attr("ARN"))
            .attribute_definitions(attr("Policy"))
            .send()
            .await
            .expect("create an index-less table");
        DynamoStore::new(client.clone(), "old_").init().await.expect("init completes it");
        assert_eq!(index_names(&client, "old_qrie_findings").await, ["ByAccountService", "ByPolicy"]);

        // Another key under qrie's name is refused, not used.
        client
            .create_table()
            .table_name("clash_qrie_policies")
            .billing_mode(BillingMode::PayPerRequest)
            .key_schema(key("Id", KeyType::Hash))
            .attribute_definitions(attr("Id"))
            .send()
            .await
            .expect("create a foreign table");
        match DynamoStore::new(client.clone(), "clash_").init().await {
            Err(StoreError::Corrupt { location, reason }) => {
                assert!(location.contains("clash_qrie_policies"), "{location}");
                assert!(reason.contains("PolicyId"), "{reason}");
            }
            other => panic!("expected the key clash to be refused, got {other:?}"),
        }
    });
}
