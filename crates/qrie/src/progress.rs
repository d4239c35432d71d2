//! Progress bars for long work, on stderr and only at a terminal (so piped
//! JSON and CSV stay clean).

use indicatif::{ProgressBar, ProgressStyle};
use qrie_engine::Progress;
use std::io::IsTerminal;

pub struct Bar {
    bar: ProgressBar,
    /// The job the bar follows, once it is recorded.
    job: std::sync::Mutex<Option<String>>,
}

impl Bar {
    pub fn new(label: &str) -> Self {
        let bar = if std::io::stderr().is_terminal() { ProgressBar::new(0) } else { ProgressBar::hidden() };
        let style = ProgressStyle::with_template("{prefix:>12} [{bar:30}] {pos}/{len} {msg} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
        bar.set_style(style);
        bar.set_prefix(label.to_string());
        Bar { bar, job: std::sync::Mutex::new(None) }
    }

    /// The id of the job the bar follows, once it started.
    pub fn job_id(&self) -> Option<String> {
        self.job.lock().ok().and_then(|j| j.clone())
    }

    /// Stops drawing, leaving the bar where it was.
    pub fn abandon(&self) {
        self.bar.abandon();
    }
}

impl Progress for Bar {
    fn job_started(&self, job_id: &str) {
        if let Ok(mut j) = self.job.lock() {
            *j = Some(job_id.to_string());
        }
    }

    fn start(&self, total: u64, what: &str) {
        self.bar.set_length(total);
        self.bar.set_message(what.to_string());
    }

    fn advance(&self, done: u64, message: &str) {
        self.bar.set_position(done);
        self.bar.set_message(message.to_string());
    }

    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// A running count for work of unknown size (records exported).
pub struct Counter {
    bar: ProgressBar,
}

impl Counter {
    pub fn new(label: &str) -> Self {
        let bar = if std::io::stderr().is_terminal() { ProgressBar::new_spinner() } else { ProgressBar::hidden() };
        let style = ProgressStyle::with_template("{prefix:>12} {spinner} {pos} records ({elapsed}, {per_sec})")
            .unwrap_or_else(|_| ProgressStyle::default_spinner());
        bar.set_style(style);
        bar.set_prefix(label.to_string());
        Counter { bar }
    }

    pub fn set(&self, n: u64) {
        self.bar.set_position(n);
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
