//! The store conformance suite on DynamoDB (moto's server): the same cases
//! the SQLite backend passes, each on its own freshly created tables.

use qrie_store::Store;
use qrie_store_dynamodb::{DynamoStore, Moto};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

async fn fresh() -> Arc<dyn Store> {
    static CASE: AtomicU32 = AtomicU32::new(0);
    let prefix = format!("c{}_{}_", std::process::id(), CASE.fetch_add(1, Ordering::Relaxed));
    let store = DynamoStore::new(Moto::shared().client().await, &prefix);
    store.init().await.expect("create the tables");
    Arc::new(store)
}

qrie_store::conformance_tests!(fresh());
