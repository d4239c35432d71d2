//! Pagination tokens as the API and the pages hand them out: the store's
//! cursor followed by an HMAC-SHA256 tag under a key kept in the store, so a
//! client cannot edit a cursor into one the store did not make (an altered
//! token is 400 `invalid_next_token`, as docs/api.md says). The key is made
//! once per store (conditionally: two servers starting together agree on
//! one) and shared by every server and function over that store.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use qrie_store::Store;
use rand::RngCore;
use serde_json::json;
use tokio::sync::OnceCell;

use crate::ApiError;

type Tag = Hmac<sha2::Sha256>;

const NS: &str = "secrets";
const KEY: &str = "page-token-key";
/// Bytes of the tag kept in a token (128 bits).
const TAG_LEN: usize = 16;

#[derive(Default)]
pub struct PageTokens {
    key: OnceCell<Vec<u8>>,
}

fn invalid() -> ApiError {
    ApiError::bad_request("invalid_next_token", "next_token is not one this server handed out")
}

impl PageTokens {
    async fn key(&self, store: &dyn Store) -> Result<&[u8], ApiError> {
        let key = self
            .key
            .get_or_try_init(|| async {
                loop {
                    if let Some(doc) = store.kv_get(NS, KEY).await? {
                        let stored = doc["Key"].as_str().and_then(|k| URL_SAFE_NO_PAD.decode(k).ok());
                        return stored.ok_or_else(|| ApiError::internal("the stored page-token key is unreadable"));
                    }
                    let mut fresh = vec![0u8; 32];
                    rand::rng().fill_bytes(&mut fresh);
                    let doc = json!({"Key": URL_SAFE_NO_PAD.encode(&fresh)});
                    if store.kv_put_if(NS, KEY, doc, None).await? {
                        return Ok(fresh);
                    }
                    // Another server made it first: read theirs.
                }
            })
            .await?;
        Ok(key)
    }

    fn tag(key: &[u8], cursor: &str) -> Vec<u8> {
        let mut mac = Tag::new_from_slice(key).expect("HMAC takes keys of any length");
        mac.update(cursor.as_bytes());
        mac.finalize().into_bytes()[..TAG_LEN].to_vec()
    }

    /// The token to hand out for the store's cursor.
    pub async fn seal(&self, store: &dyn Store, cursor: Option<String>) -> Result<Option<String>, ApiError> {
        let Some(cursor) = cursor else { return Ok(None) };
        let key = self.key(store).await?;
        Ok(Some(format!("{cursor}.{}", URL_SAFE_NO_PAD.encode(Self::tag(key, &cursor)))))
    }

    /// The store's cursor in a token handed out, or 400.
    pub async fn open(&self, store: &dyn Store, token: Option<String>) -> Result<Option<String>, ApiError> {
        let Some(token) = token.filter(|t| !t.is_empty()) else { return Ok(None) };
        let (cursor, tag) = token.rsplit_once('.').ok_or_else(invalid)?;
        let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| invalid())?;
        let key = self.key(store).await?;
        let mut mac = Tag::new_from_slice(key).expect("HMAC takes keys of any length");
        mac.update(cursor.as_bytes());
        // Constant-time comparison of the truncated tag.
        mac.verify_truncated_left(&tag).map_err(|_| invalid())?;
        if tag.len() != TAG_LEN {
            return Err(invalid());
        }
        Ok(Some(cursor.to_string()))
    }
}
