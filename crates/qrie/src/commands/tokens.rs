//! `qrie tokens create|list|revoke`: the logic is qrie-server's (auth.rs).

use anyhow::Result;
use qrie_server::auth;

use crate::cli::TokensCmd;
use crate::context::Ctx;
use crate::output::{self, Format};

pub async fn run(ctx: &Ctx, format: Format, cmd: TokensCmd) -> Result<()> {
    let store = &*ctx.store;
    match cmd {
        TokensCmd::Create { role, name } => {
            let new = auth::create_token(store, role, name).await?;
            let doc =
                serde_json::json!({"Token": new.token, "Id": new.record.id, "Role": role, "Name": new.record.name});
            output::document(format, &doc, || {
                format!(
                    "{}\n\ntoken {} ({}, role {}): shown once; only its hash is stored.\nUse it as `Authorization: Bearer <token>`.\n",
                    new.token,
                    new.record.id,
                    new.record.name,
                    role.as_str()
                )
            })
        }
        TokensCmd::List => {
            let tokens = auth::list_tokens(store).await?;
            output::list(format, &["ID", "NAME", "ROLE", "CREATED", "REVOKED"], &tokens, |t| {
                vec![
                    t.id.clone(),
                    t.name.clone(),
                    t.role.as_str().into(),
                    output::time(&t.created_at),
                    t.revoked_at.as_ref().map(output::time).unwrap_or_default(),
                ]
            })
        }
        TokensCmd::Revoke { id } => {
            let t = auth::revoke_token(store, &id).await?;
            output::document(format, &t, || format!("revoked token {} ({})\n", t.id, t.name))
        }
    }
}
