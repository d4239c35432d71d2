//! The conformance suite and the SQLite-specific behaviour of the backend.

use std::sync::Arc;

use qrie_store::sqlite::SqliteStore;
use qrie_store::Store;

async fn fresh() -> Arc<dyn Store> {
    Arc::new(SqliteStore::open_temporary().expect("a temporary store"))
}

qrie_store::conformance_tests!(fresh());
