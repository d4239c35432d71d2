//! Opaque pagination tokens, shared by every backend.
//!
//! A token is base64url (no padding) of `{"l": <list tag>, "k": [<sort key of
//! the last item>]}`. The tag ties a token to one list and sort; a backend
//! checks the key's arity and types itself. Anything else is
//! [`StoreError::InvalidToken`].

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::StoreError;

#[derive(Serialize, Deserialize)]
struct Token {
    l: String,
    k: Vec<Value>,
}

/// The token that resumes list `tag` after the item whose sort key is `key`.
pub fn encode(tag: &str, key: Vec<Value>) -> String {
    let token = Token { l: tag.to_string(), k: key };
    // Serializing strings and numbers into a Vec cannot fail.
    let json = serde_json::to_vec(&token).unwrap_or_default();
    URL_SAFE_NO_PAD.encode(json)
}

/// The sort key a token of list `tag` carries.
pub fn decode(tag: &str, token: &str) -> Result<Vec<Value>, StoreError> {
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| StoreError::InvalidToken)?;
    let token: Token = serde_json::from_slice(&bytes).map_err(|_| StoreError::InvalidToken)?;
    if token.l != tag {
        return Err(StoreError::InvalidToken);
    }
    Ok(token.k)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trip_bound_to_the_tag() {
        let t = encode("a", vec![json!(-42), json!("arn:aws:s3:::a\"b'%_")]);
        assert!(!t.contains('=') && !t.contains('+') && !t.contains('/'), "{t}");
        assert_eq!(decode("a", &t).unwrap(), vec![json!(-42), json!("arn:aws:s3:::a\"b'%_")]);
        assert!(matches!(decode("b", &t), Err(StoreError::InvalidToken)));
        for bad in ["", "!!!", "e30", &t[..t.len() / 2]] {
            assert!(matches!(decode("a", bad), Err(StoreError::InvalidToken)), "{bad}");
        }
    }
}
