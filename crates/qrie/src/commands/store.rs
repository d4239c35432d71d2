//! `qrie store init`: create the store's tables or file.

use anyhow::Result;

use crate::cli::StoreCmd;
use crate::context;
use crate::output::{self, Format};

pub async fn run(url: &str, format: Format, cmd: StoreCmd) -> Result<()> {
    match cmd {
        StoreCmd::Init => {
            let location = context::init_store(url).await?;
            let doc = serde_json::json!({"Store": url, "Location": location, "Ready": true});
            output::document(format, &doc, || format!("store ready: {location}\n"))
        }
    }
}
