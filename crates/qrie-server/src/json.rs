//! JSON responses with `<`, `>` and `&` escaped as `\u003c`, `\u003e`,
//! `\u0026`. The parsed value is the same; the raw text never holds markup, so
//! a resource name such as `<script>` stays inert even if a response is ever
//! sniffed as HTML or pasted into a page. serde_json alone leaves them as is.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use std::io::{self, Write};

pub struct Json<T>(pub T);

struct HtmlSafe;

impl serde_json::ser::Formatter for HtmlSafe {
    fn write_string_fragment<W: ?Sized + Write>(&mut self, writer: &mut W, fragment: &str) -> io::Result<()> {
        let mut start = 0;
        for (i, b) in fragment.bytes().enumerate() {
            let esc: &[u8] = match b {
                b'<' => b"\\u003c",
                b'>' => b"\\u003e",
                b'&' => b"\\u0026",
                _ => continue,
            };
            writer.write_all(&fragment.as_bytes()[start..i])?;
            writer.write_all(esc)?;
            start = i + 1;
        }
        writer.write_all(&fragment.as_bytes()[start..])
    }
}

pub fn to_vec<T: Serialize>(value: &T) -> serde_json::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(256);
    value.serialize(&mut serde_json::Serializer::with_formatter(&mut out, HtmlSafe))?;
    Ok(out)
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        match to_vec(&self.0) {
            Ok(body) => ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body).into_response(),
            Err(e) => {
                tracing::error!(error = %e, "response did not serialize");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn markup_is_escaped_and_round_trips() {
        let v = serde_json::json!({"Name": "<script>alert('x&y')</script>"});
        let text = String::from_utf8(super::to_vec(&v).unwrap()).unwrap();
        assert!(!text.contains('<') && !text.contains('>') && !text.contains('&'), "{text}");
        assert_eq!(serde_json::from_str::<serde_json::Value>(&text).unwrap(), v);
    }
}
