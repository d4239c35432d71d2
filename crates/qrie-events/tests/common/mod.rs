//! Shared test helpers: where the shared test data lives, and reading corpus files.
#![allow(dead_code)] // each test binary uses its own subset

use std::path::{Path, PathBuf};

use qrie_events::{decode, route, Incoming, Routed};

/// `QRIE_TESTDATA`, else `../shared/testdata` beside the checkout. Fails (never skips) when absent.
pub fn testdata() -> PathBuf {
    let dir = std::env::var_os("QRIE_TESTDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata"));
    assert!(
        dir.join("cloudtrail/INDEX.tsv").is_file(),
        "shared test data not found at {} (set QRIE_TESTDATA to the testdata directory)",
        dir.display()
    );
    dir
}

pub fn cloudtrail() -> PathBuf {
    testdata().join("cloudtrail")
}

/// Every input file of the CloudTrail corpus, relative to `cloudtrail/`, sorted: everything but
/// provenance (`*.meta.jsonl`), documentation (`*.md`), indexes (`*.tsv`) and licence files.
pub fn corpus_files() -> Vec<String> {
    fn walk(dir: &Path, base: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, base, out);
                continue;
            }
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            let skipped = name.ends_with(".meta.jsonl")
                || name.ends_with(".md")
                || name.ends_with(".tsv")
                || name.starts_with("LICENSE");
            if !skipped {
                out.push(path.strip_prefix(base).unwrap().to_string_lossy().replace('\\', "/"));
            }
        }
    }
    let base = cloudtrail();
    let mut out = Vec::new();
    walk(&base, &base, &mut out);
    out.sort();
    out
}

pub fn decode_file(rel: &str) -> Vec<Incoming> {
    let bytes = std::fs::read(cloudtrail().join(rel)).unwrap();
    decode(&bytes).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

pub fn route_file(rel: &str) -> Vec<(Incoming, Routed)> {
    decode_file(rel).into_iter().map(|i| (route(&i), i)).map(|(r, i)| (i, r)).collect()
}

pub fn decode_str(input: &str) -> Vec<Incoming> {
    decode(input.as_bytes()).unwrap()
}

pub fn route_str(input: &str) -> Vec<Routed> {
    decode_str(input).iter().map(route).collect()
}
