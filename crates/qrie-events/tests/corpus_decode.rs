//! The decoder reads every file of the shared CloudTrail corpus, and yields exactly the records
//! INDEX.tsv lists, in order, with the same event names and ids.

mod common;

use std::collections::BTreeMap;

use common::{cloudtrail, corpus_files, decode_file};
use qrie_events::{route, Decision, Envelope, SkipReason};
use serde_json::Value;

/// INDEX.tsv rows per file: (position, eventName, eventID).
fn index() -> BTreeMap<String, Vec<(usize, String, String)>> {
    let text = std::fs::read_to_string(cloudtrail().join("INDEX.tsv")).unwrap();
    let mut files: BTreeMap<String, Vec<(usize, String, String)>> = BTreeMap::new();
    for line in text.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        let position = cols[2].parse().unwrap();
        files.entry(cols[1].to_string()).or_default().push((position, cols[6].to_string(), cols[7].to_string()));
    }
    files
}

/// The gzipped copies are indexed under the plain file they were made from.
fn index_key(rel: &str) -> String {
    rel.replace("invictus-ir_aws_dataset_gzipped_locally/", "invictus-ir_aws_dataset/")
        .trim_end_matches(".gz")
        .to_string()
}

#[test]
fn every_corpus_file_decodes_to_the_indexed_records() {
    let index = index();
    let files = corpus_files();
    assert_eq!(files.len(), 188, "the corpus changed: {files:?}");
    let mut total = 0;
    for rel in &files {
        let incoming = decode_file(rel);
        // Routing never panics, whatever the record holds.
        incoming.iter().for_each(|i| drop(route(i)));
        let Some(rows) = index.get(&index_key(rel)) else {
            not_cloudtrail(rel, &incoming);
            continue;
        };
        assert_eq!(incoming.len(), rows.len(), "{rel}: record count differs from INDEX.tsv");
        for (i, (position, name, id)) in incoming.iter().zip(rows) {
            assert_eq!(i.position, *position, "{rel}");
            let record = i.record.as_ref().unwrap_or_else(|e| panic!("{rel}#{position}: {e}"));
            assert_eq!(record["eventName"].as_str().unwrap_or("None"), name, "{rel}#{position}");
            assert_eq!(record["eventID"].as_str().unwrap_or("None"), id, "{rel}#{position}");
        }
        total += incoming.len();
    }
    // 3957 indexed records plus the 2900 gzipped copies of invictus-ir.
    assert_eq!(total, 3957 + 2900);
}

/// The files INDEX.tsv leaves out are the 13 cloud-custodian events that are not CloudTrail
/// records: EventBridge events of other kinds (GuardDuty, Security Hub, state changes, Config,
/// Health, scheduled) and AWS Config rule invocations. Each decodes to exactly one element the
/// router refuses with a reason.
fn not_cloudtrail(rel: &str, incoming: &[qrie_events::Incoming]) {
    assert!(rel.starts_with("cloud-custodian-cwe/"), "{rel} is not in INDEX.tsv");
    assert_eq!(incoming.len(), 1, "{rel}");
    let routed = route(&incoming[0]);
    match (&incoming[0].envelope, &routed.decision) {
        (Envelope::EventBridge, Decision::Skipped { reason: SkipReason::NotAnApiCall { detail_type } }) => {
            assert_ne!(detail_type, "AWS API Call via CloudTrail", "{rel}")
        }
        (Envelope::Bare, Decision::Skipped { reason: SkipReason::Malformed { why } }) => {
            assert!(why.contains("not a CloudTrail record"), "{rel}: {why}")
        }
        other => panic!("{rel}: unexpected {other:?}"),
    }
}

#[test]
fn the_corpus_holds_what_the_decoder_claims_to_handle() {
    let mut envelopes = BTreeMap::new();
    for rel in corpus_files() {
        for i in decode_file(&rel) {
            *envelopes.entry(format!("{:?}", i.envelope)).or_insert(0) += 1;
        }
    }
    let count = |e: &str| envelopes.get(e).copied().unwrap_or(0);
    assert_eq!(count("LogFile"), 2 * 2900, "{envelopes:?}");
    assert_eq!(count("LookupEvents"), 6, "{envelopes:?}");
    // awsdocs 2, cloud-custodian 10 CloudTrail + 11 other kinds, streamalert 15.
    assert_eq!(count("EventBridge"), 2 + 10 + 11 + 15, "{envelopes:?}");
}

#[test]
fn gzip_and_plain_log_files_decode_and_route_identically() {
    for rel in corpus_files().iter().filter(|f| f.starts_with("invictus-ir_aws_dataset_gzipped_locally/")) {
        let gz = decode_file(rel);
        let plain = decode_file(&index_key(rel));
        assert_eq!(gz, plain, "{rel}");
        let routes = |v: &[qrie_events::Incoming]| v.iter().map(route).collect::<Vec<_>>();
        assert_eq!(routes(&gz), routes(&plain), "{rel}");
    }
}

#[test]
fn otrf_records_without_event_time_route_with_no_time() {
    let incoming = decode_file("otrf-security-datasets/ec2_proxy_s3_exfiltration_2020-09-14011940.jsonl");
    assert_eq!(incoming.len(), 103);
    for i in &incoming {
        assert!(i.record.as_ref().unwrap().get("eventTime").is_none());
        let routed = route(i);
        assert_eq!(routed.event_time, None);
        assert!(routed.event_name.is_some());
    }
    let first: &Value = incoming[0].record.as_ref().unwrap();
    assert_eq!(first["@version"], "1");
}

/// Streamed a few records at a time, every corpus file hands over exactly the
/// records, in the same order and positions, that decoding it whole gives;
/// and scalars or odd `Records` values at the top are reported, not lost.
#[test]
fn streaming_hands_over_what_decoding_whole_gives() {
    for rel in corpus_files() {
        let bytes = std::fs::read(cloudtrail().join(&rel)).unwrap();
        let whole = decode_file(&rel);
        let mut streamed = Vec::new();
        let mut largest = 0;
        qrie_events::decode_chunks(&bytes, 7, &mut |chunk| {
            largest = largest.max(chunk.len());
            streamed.extend(chunk);
        })
        .unwrap();
        assert_eq!(streamed, whole, "{rel}");
        assert!(largest <= 7, "{rel}: a chunk of {largest}");
    }
    for (input, expect) in [
        (&b"42"[..], "not a JSON object"),
        (b"{\"Records\": \"x\"}", "not a CloudTrail record"),
        (b"[1, {\"eventName\": \"A\", \"eventSource\": \"s3.amazonaws.com\"}]", "not a JSON object"),
    ] {
        let got = qrie_events::decode(input).unwrap();
        let why = got[0].record.as_ref().unwrap_err();
        assert!(why.contains(expect), "{}: {why}", String::from_utf8_lossy(input));
    }
    // Truncated input is refused whole, before any record is handed over.
    let mut handed = 0;
    let r =
        qrie_events::decode_chunks(b"{\"Records\": [{\"eventName\": \"A\"}, {\"event", 1, &mut |c| handed += c.len());
    assert!(r.is_err() && handed == 0);
}
