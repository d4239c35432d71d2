//! The findings archive in S3: `s3://bucket/prefix/` (optionally
//! `?kms-key=KEY`), one object per archive, always server-side encrypted
//! (SSE-KMS with the named key, else SSE-S3), in the region qrie runs in.

use async_trait::async_trait;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ServerSideEncryption;
use qrie_engine::archive::ArchiveSink;
use std::path::Path;

use crate::read;
use crate::AwsCloud;

/// An S3 archive destination.
pub struct S3Sink {
    client: aws_sdk_s3::Client,
    bucket: String,
    prefix: String,
    kms_key: Option<String>,
}

/// The parts of an `s3://` destination: bucket, key prefix (ending in `/`
/// unless empty), KMS key.
pub fn parse_s3_url(url: &str) -> Result<(String, String, Option<String>), String> {
    let rest = url.strip_prefix("s3://").ok_or_else(|| format!("{url:?} is not an s3:// URL"))?;
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (bucket, prefix) = path.split_once('/').unwrap_or((path, ""));
    let valid_bucket = (3..=63).contains(&bucket.len())
        && bucket.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
    if !valid_bucket {
        return Err(format!("{url:?}: {bucket:?} is not an S3 bucket name (3–63 of a-z, 0-9, '-', '.')"));
    }
    let mut kms_key = None;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("kms-key", v)) if !v.is_empty() => kms_key = Some(v.to_string()),
            _ => return Err(format!("{url:?}: unknown option {pair:?} (the one option is kms-key=KEY)")),
        }
    }
    let prefix = if prefix.is_empty() || prefix.ends_with('/') { prefix.to_string() } else { format!("{prefix}/") };
    Ok((bucket.to_string(), prefix, kms_key))
}

impl S3Sink {
    pub fn new(cloud: &AwsCloud, url: &str) -> Result<S3Sink, String> {
        let (bucket, prefix, kms_key) = parse_s3_url(url)?;
        Ok(S3Sink { client: cloud.own_s3(), bucket, prefix, kms_key })
    }
}

#[async_trait]
impl ArchiveSink for S3Sink {
    async fn store(&self, name: &str, local: &Path) -> Result<String, String> {
        let key = format!("{}{name}", self.prefix);
        let body = ByteStream::from_path(local).await.map_err(|e| format!("reading {}: {e}", local.display()))?;
        let mut put = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(&key)
            .body(body)
            .content_type("application/x-ndjson")
            .content_encoding("gzip");
        put = match &self.kms_key {
            Some(k) => put.server_side_encryption(ServerSideEncryption::AwsKms).ssekms_key_id(k),
            None => put.server_side_encryption(ServerSideEncryption::Aes256),
        };
        put.send().await.map_err(|e| format!("PutObject s3://{}/{key}: {}", self.bucket, read::message(&e)))?;
        Ok(format!("s3://{}/{key}", self.bucket))
    }

    fn describe(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::parse_s3_url;

    #[test]
    fn s3_urls() {
        assert_eq!(parse_s3_url("s3://my-bucket").unwrap(), ("my-bucket".into(), "".into(), None));
        assert_eq!(parse_s3_url("s3://my-bucket/a/b").unwrap(), ("my-bucket".into(), "a/b/".into(), None));
        assert_eq!(
            parse_s3_url("s3://my.bucket/x/?kms-key=alias/qrie").unwrap(),
            ("my.bucket".into(), "x/".into(), Some("alias/qrie".into()))
        );
        for bad in ["/tmp/x", "s3://", "s3://UPPER/x", "s3://ab", "s3://b-u-c/x?sse=none", "s3://b-u-c?kms-key="] {
            assert!(parse_s3_url(bad).is_err(), "{bad} must be refused");
        }
    }
}
