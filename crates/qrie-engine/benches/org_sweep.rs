//! An organization's inventory sweep on one machine: ACCOUNTS simulated
//! accounts (default 1,000) × about PER_ACCOUNT resources (default 1,000) of
//! S3, EC2 and IAM in 2–3 regions each, generated one account at a time
//! (`sim::GeneratedCloud`), swept over a SQLite store by the local worker
//! pool (WORKERS, default one per core) with the whole catalog launched: the
//! bootstrap sweep, then an anti-entropy re-sweep of the unchanged estate.
//! Prints, per sweep: wall time, units and units/s, resources, findings
//! opened, the process's peak RSS so far, and the store's size on disk.
//! Run: `scripts/bench org` (`cargo bench -p qrie-engine --bench org_sweep`).

use qrie_engine::sim::{GeneratedCloud, SimSpec};
use qrie_engine::{Engine, InventoryRequest, JobReport, NoProgress};
use qrie_model::ScanType;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|s| s.parse().ok()).unwrap_or(default)
}

/// The process's peak resident set (VmHWM), in MB.
fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next().and_then(|n| n.parse::<f64>().ok()))
        .unwrap_or(0.0);
    kb / 1024.0
}

/// The store's files (database, WAL), in MB.
fn store_mb(dir: &Path) -> f64 {
    let files = std::fs::read_dir(dir).into_iter().flatten().flatten();
    files.filter_map(|f| f.metadata().ok()).map(|m| m.len() as f64).sum::<f64>() / 1e6
}

fn report(what: &str, r: &JobReport, seconds: f64, dir: &Path) {
    let units = r.result["Units"].as_u64().unwrap_or(0);
    let count = |k: &str| r.job.counts.get(k).copied().unwrap_or(0);
    println!(
        "{what}: {seconds:.1} s, {units} units ({:.1} units/s), {} resources observed ({:.0}/s), {} findings opened, \
status {}, peak RSS {:.0} MB, store {:.0} MB",
        units as f64 / seconds,
        count("resources.observed"),
        count("resources.observed") as f64 / seconds,
        count("findings.opened"),
        r.job.status.as_str(),
        peak_rss_mb(),
        store_mb(dir)
    );
}

fn main() {
    qrie_engine::memory::limit_malloc_arenas();
    let (accounts, per_account) = (env("ACCOUNTS", 1000), env("PER_ACCOUNT", 1000));
    let workers = env("WORKERS", 0);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    rt.block_on(async move {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = qrie_store::open(&format!("sqlite:{}", dir.path().join("org.db").display())).expect("store");
        let spec = SimSpec { seed: 7, accounts, resources_per_account: per_account, created_at: chrono::Utc::now() };
        let started = Instant::now();
        let cloud = Arc::new(GeneratedCloud::new(spec));
        let engine = Engine::new(store, cloud.clone());
        for a in cloud.accounts() {
            engine.add_account(a.new_account()).await.expect("add account");
        }
        for id in qrie_policies::default_policy_ids() {
            engine.launch_policy(id, Default::default(), &NoProgress).await.expect("launch");
        }
        println!(
            "{accounts} accounts added, {} policies launched: {:.1} s, peak RSS {:.0} MB",
            qrie_policies::default_policy_ids().len(),
            started.elapsed().as_secs_f64(),
            peak_rss_mb()
        );
        for scan_type in [ScanType::Bootstrap, ScanType::AntiEntropy] {
            let req = InventoryRequest { scan_type, workers, ..Default::default() };
            let started = Instant::now();
            let r = engine.inventory_sweep(&req, &NoProgress).await.expect("sweep");
            report(&format!("{} inventory sweep", scan_type.as_str()), &r, started.elapsed().as_secs_f64(), dir.path());
        }
    });
}
