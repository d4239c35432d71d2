//! Samples and their percentiles.

use std::fmt;
use std::future::Future;
use std::time::{Duration, Instant};

/// Runs `f` once to warm caches, then `n` timed times; the samples, sorted.
pub async fn time_async<F, Fut>(n: usize, mut f: F) -> Vec<Duration>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    f().await;
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n.max(1) {
        let started = Instant::now();
        f().await;
        samples.push(started.elapsed());
    }
    samples.sort();
    samples
}

/// The nearest-rank percentile of sorted samples.
fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// A table of measurements, printed at the end.
#[derive(Default)]
pub struct Report {
    rows: Vec<(String, Vec<Duration>)>,
}

impl Report {
    pub fn add(&mut self, name: &str, samples: Vec<Duration>) {
        let row = Row(name, &samples);
        eprintln!("{row}");
        self.rows.push((name.to_string(), samples));
    }
}

struct Row<'a>(&'a str, &'a [Duration]);

impl fmt::Display for Row<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        let s = self.1;
        write!(
            f,
            "{:<72} n={:<5} p50 {:>9.3} ms  p99 {:>9.3} ms  max {:>9.3} ms",
            self.0,
            s.len(),
            ms(percentile(s, 50.0)),
            ms(percentile(s, 99.0)),
            ms(s[s.len() - 1])
        )
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (name, samples) in &self.rows {
            writeln!(f, "{}", Row(name, samples))?;
        }
        Ok(())
    }
}
