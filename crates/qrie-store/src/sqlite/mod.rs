//! SQLite backend (stub: being written).
use crate::{Result, StoreError};
use std::path::Path;

pub struct SqliteStore;

impl SqliteStore {
    pub fn open(path: &Path) -> Result<Self> {
        Err(StoreError::Open { location: path.display().to_string(), reason: "not implemented yet".into() })
    }
}
