//! Decode + route throughput on real CloudTrail log files (the invictus-ir
//! corpus: 56 files, 2,900 records of a real account), plain and gzip.
//! Run: `cargo bench -p qrie-events` (QRIE_TESTDATA overrides the data path).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::path::PathBuf;

fn corpus(dir: &str) -> Vec<Vec<u8>> {
    let root = std::env::var("QRIE_TESTDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata"));
    let dir = root.join("cloudtrail").join(dir);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("test data missing at {}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json" || x == "gz"))
        .collect();
    files.sort();
    files.iter().map(|p| std::fs::read(p).expect("read corpus file")).collect()
}

fn bench(c: &mut Criterion) {
    for (name, dir) in [("plain", "invictus-ir_aws_dataset"), ("gzip", "invictus-ir_aws_dataset_gzipped_locally")] {
        let files = corpus(dir);
        let records: usize = files.iter().map(|f| qrie_events::decode(f).expect("decodes").len()).sum();
        let mut group = c.benchmark_group("decode+route");
        group.throughput(Throughput::Elements(records as u64));
        group.bench_function(name, |b| {
            b.iter(|| {
                let mut mapped = 0usize;
                for f in &files {
                    for incoming in qrie_events::decode(f).expect("decodes") {
                        if matches!(qrie_events::route(&incoming).decision, qrie_events::Decision::Mapped { .. }) {
                            mapped += 1;
                        }
                    }
                }
                mapped
            })
        });
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
