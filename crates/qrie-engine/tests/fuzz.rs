//! A fuzz harness in the test suite, over the parsers that take input from
//! outside: the CloudTrail decoder and router (anyone who can put a message on
//! the events queue), the pagination cursor decoder (any API client), and the
//! IAM/S3 policy-document parser with the questions policies ask of a parsed
//! document (whoever writes a bucket or role policy). cargo-fuzz needs a
//! nightly toolchain, which CI here does not have; this harness runs a fixed
//! number of cases from a fixed seed on stable, so a failure reproduces.
//!
//! Each case must not panic, and must not allocate without bound: a counting
//! allocator measures the peak bytes each call held, which must stay within a
//! fixed multiple of its input's size. `QRIE_FUZZ_CASES` runs more cases
//! (`QRIE_FUZZ_SEED` another seed); docs/events.md states the default count.

use qrie_policies::document::{percent_decode, PolicyDocument};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};
use std::alloc::{GlobalAlloc, Layout, System};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                let now = CURRENT.fetch_add(new_size - layout.size(), Ordering::Relaxed) + new_size - layout.size();
                PEAK.fetch_max(now, Ordering::Relaxed);
            } else {
                CURRENT.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Runs `f`, answering whether it panicked and the most bytes it held at once.
fn measured(f: impl FnOnce()) -> (bool, usize) {
    let base = CURRENT.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let panicked = catch_unwind(AssertUnwindSafe(f)).is_err();
    (panicked, PEAK.load(Ordering::Relaxed).saturating_sub(base))
}

fn cases() -> usize {
    std::env::var("QRIE_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(20_000)
}

fn rng() -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(std::env::var("QRIE_FUZZ_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(13))
}

/// Fragments a mutation splices in: JSON structure, CloudTrail keys and
/// envelope markers, numbers and strings that stress parsers.
const TOKENS: &[&str] = &[
    "{", "}", "[", "]", ",", ":", "\"", "null", "true", "1e999999", "-0", "18446744073709551616",
    "\"Records\":", "\"eventName\":", "\"eventSource\":\"s3.amazonaws.com\"", "\"detail-type\":",
    "\"detail\":{", "\"source\":\"aws.s3\"", "\"Body\":", "\"Message\":", "\"Type\":\"Notification\"",
    "\"CloudTrailEvent\":", "\"eventSource\":\"aws:sqs\"", "\"requestParameters\":{", "\"bucketName\":",
    "\"\\u0000\"", "\"\\ud800\"", "\"\\u001b]0;x\\u0007\"", "\u{202e}", "\u{feff}", "\n", "\r\n",
    "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
];

fn mutate(rng: &mut ChaCha8Rng, seed: &[u8]) -> Vec<u8> {
    let mut out = seed.to_vec();
    for _ in 0..rng.random_range(1..=8) {
        let at = if out.is_empty() { 0 } else { rng.random_range(0..=out.len()) };
        match rng.random_range(0..6) {
            0 if !out.is_empty() => {
                let i = rng.random_range(0..out.len());
                out[i] ^= 1 << rng.random_range(0..8);
            }
            1 => out.insert(at, rng.random()),
            2 if !out.is_empty() => {
                let end = (at + rng.random_range(1..64)).min(out.len());
                out.drain(at.min(end)..end);
            }
            3 => {
                let t = TOKENS[rng.random_range(0..TOKENS.len())];
                out.splice(at..at, t.bytes());
            }
            4 if !out.is_empty() => {
                let start = rng.random_range(0..out.len());
                let end = (start + rng.random_range(1..256)).min(out.len());
                let copy = out[start..end].to_vec();
                out.splice(at..at, copy);
            }
            _ => out.truncate(at),
        }
    }
    out
}

/// Real CloudTrail input in its delivery shapes (small files of the shared test data).
fn cloudtrail_corpus() -> Vec<Vec<u8>> {
    let dir = std::env::var_os("QRIE_TESTDATA")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata"))
        .join("cloudtrail");
    assert!(dir.is_dir(), "test data not found at {} (set QRIE_TESTDATA to shared/testdata)", dir.display());
    let mut files: Vec<std::path::PathBuf> = Vec::new();
    let mut stack = vec![dir];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if e.metadata().is_ok_and(|m| m.len() < 64 * 1024) {
                files.push(p);
            }
        }
    }
    files.sort();
    let mut corpus: Vec<Vec<u8>> = files.iter().take(60).map(|p| std::fs::read(p).unwrap()).collect();
    let record = json!({"eventVersion": "1.08", "eventSource": "s3.amazonaws.com", "eventName": "PutBucketAcl",
        "awsRegion": "us-east-1", "eventTime": "2026-01-05T10:00:00Z", "recipientAccountId": "123456789012",
        "requestParameters": {"bucketName": "b"}});
    corpus.push(json!({"Records": [record]}).to_string().into_bytes());
    corpus.push(
        json!({"version": "0", "detail-type": "AWS API Call via CloudTrail", "source": "aws.s3", "detail": record})
            .to_string()
            .into_bytes(),
    );
    corpus.push(
        json!({"Records": [{"eventSource": "aws:sqs", "body": json!({"Records": [record]}).to_string()}]})
            .to_string()
            .into_bytes(),
    );
    corpus.push(format!("{record}\n{record}\n").into_bytes());
    assert!(corpus.len() > 10, "the CloudTrail corpus is the shared test data");
    corpus
}

#[test]
fn hostile_input_never_panics_nor_allocates_without_bound() {
    let n = cases();
    let mut rng = rng();

    // 1. The CloudTrail decoder and router, whole and streamed.
    let corpus = cloudtrail_corpus();
    let mut decoded_records = 0usize;
    let mut worst = (0usize, 0usize, 0usize); // (peak, streamed peak, input) of the largest ratio
    for case in 0..n {
        let seed = &corpus[rng.random_range(0..corpus.len())];
        let input = mutate(&mut rng, seed);
        let mut routed = 0usize;
        let (panicked, peak) = measured(|| {
            if let Ok(all) = qrie_events::decode(&input) {
                for i in &all {
                    let r = qrie_events::route(i);
                    assert!(r.position < all.len());
                    routed += 1;
                }
            }
        });
        assert!(!panicked, "decode/route panicked on case {case}: {:?}", String::from_utf8_lossy(&input));
        assert!(peak <= 64 * input.len() + (1 << 20), "case {case}: {peak} bytes held for {} of input", input.len());
        let (panicked, streamed_peak) = measured(|| {
            let _ = qrie_events::decode_chunks(&input, 16, &mut |chunk| {
                for i in &chunk {
                    qrie_events::route(i);
                }
            });
        });
        assert!(!panicked, "decode_chunks panicked on case {case}");
        assert!(streamed_peak <= 64 * input.len() + (1 << 20), "case {case}: streamed {streamed_peak} bytes");
        decoded_records += routed;
        if input.len() >= 4096 && peak * worst.2.max(1) > worst.0 * input.len() {
            worst = (peak, streamed_peak, input.len());
        }
    }
    assert!(decoded_records > n, "the mutations keep most input decodable ({decoded_records} records)");

    // 2. The pagination cursor decoder.
    let tokens: Vec<String> = (0..20)
        .map(|i| qrie_store::token::encode("findings", vec![json!(i), json!(format!("arn:aws:s3:::b{i}"))]))
        .collect();
    for case in 0..n {
        let raw = if rng.random_bool(0.5) {
            let seed = tokens[rng.random_range(0..tokens.len())].clone();
            mutate(&mut rng, seed.as_bytes())
        } else {
            let inner = mutate(&mut rng, br#"{"l":"findings","k":[1,"x"]}"#);
            base64_url(&inner).into_bytes()
        };
        let token = String::from_utf8_lossy(&raw).to_string();
        let (panicked, peak) = measured(|| {
            let _ = qrie_store::token::decode("findings", &token);
        });
        assert!(!panicked, "cursor decode panicked on {token:?}");
        assert!(peak <= 64 * token.len() + (64 << 10), "cursor case {case}: {peak} bytes");
    }

    // 3. Policy documents, parsed and asked what policies ask.
    for case in 0..n {
        let doc = policy_document(&mut rng, 0);
        let text = doc.to_string();
        let (panicked, peak) = measured(|| {
            for value in [doc.clone(), Value::String(text.clone()), Value::String(percent_encode(&text))] {
                if let Ok(parsed) = PolicyDocument::parse(&value, "Policy") {
                    parsed.grants("s3:GetObject", Some("arn:aws:s3:::bucket/key"));
                    parsed.grants_all();
                    parsed.public_grants("s3");
                    parsed.cross_account_principals("123456789012");
                }
            }
            let _ = percent_decode(&String::from_utf8_lossy(&mutate(
                &mut ChaCha8Rng::seed_from_u64(case as u64),
                text.as_bytes(),
            )));
        });
        assert!(!panicked, "policy document case {case} panicked: {text}");
        assert!(peak <= 256 * text.len() + (1 << 20), "policy case {case}: {peak} bytes for {} of text", text.len());
    }
    println!(
        "{n} cases each: decoder/router ({decoded_records} records routed; the most held: {} bytes whole, {} streamed, for {} bytes of input), cursor, policy documents",
        worst.0, worst.1, worst.2
    );
}

fn base64_url(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A random value shaped like a policy document: the grammar's keys and
/// values, wrong types, wildcards, conditions, nesting.
fn policy_document(rng: &mut ChaCha8Rng, depth: usize) -> Value {
    const KEYS: &[&str] = &[
        "Version",
        "Statement",
        "Effect",
        "Action",
        "NotAction",
        "Resource",
        "NotResource",
        "Principal",
        "NotPrincipal",
        "Condition",
        "Sid",
        "AWS",
        "Service",
        "Federated",
        "CanonicalUser",
        "StringEquals",
        "StringLike",
        "ArnLike",
        "ArnEquals",
        "IpAddress",
        "NotIpAddress",
        "Bool",
        "ForAnyValue:StringEquals",
        "aws:SourceAccount",
        "aws:PrincipalAccount",
        "aws:SourceIp",
        "aws:SecureTransport",
        "aws:PrincipalOrgID",
        "s3:DataAccessPointAccount",
        "aws:SourceArn",
        "aws:PrincipalArn",
    ];
    const STRINGS: &[&str] = &[
        "Allow",
        "Deny",
        "2012-10-17",
        "*",
        "s3:*",
        "s3:Get*",
        "s3:GetObject",
        "iam:PassRole",
        "sts:AssumeRole",
        "arn:aws:s3:::bucket/*",
        "arn:aws:s3:::*",
        "arn:aws:iam::123456789012:root",
        "arn:aws:iam::999988887777:role/x",
        "999988887777",
        "123456789012",
        "0.0.0.0/0",
        "10.0.0.0/8",
        "::/0",
        "true",
        "false",
        "o-abc",
        "s3.amazonaws.com",
        "arn:aws:iam::*:role/*",
        "?",
        "%",
        "%2",
        "%zz",
        "arn:aws:s3:::b%2Fk",
        "",
        "\u{0}",
        "*:*",
    ];
    let string = |rng: &mut ChaCha8Rng| Value::String(STRINGS[rng.random_range(0..STRINGS.len())].to_string());
    if depth >= 5 {
        return string(rng);
    }
    match rng.random_range(0..10) {
        0..=3 => {
            let mut map = serde_json::Map::new();
            for _ in 0..rng.random_range(0..6) {
                map.insert(KEYS[rng.random_range(0..KEYS.len())].to_string(), policy_document(rng, depth + 1));
            }
            if depth == 0 {
                let statements: Vec<Value> = (0..rng.random_range(0..4)).map(|_| policy_document(rng, 1)).collect();
                map.insert("Statement".into(), Value::Array(statements));
            }
            Value::Object(map)
        }
        4..=5 => Value::Array((0..rng.random_range(0..4)).map(|_| policy_document(rng, depth + 1)).collect()),
        6 => json!(rng.random::<i64>()),
        7 => Value::Null,
        8 => json!(rng.random_bool(0.5)),
        _ => string(rng),
    }
}
