//! Progress bars for long work, on stderr and only at a terminal (so piped
//! JSON and CSV stay clean).

use indicatif::{ProgressBar, ProgressStyle};
use qrie_engine::Progress;
use std::io::IsTerminal;

pub struct Bar {
    bar: ProgressBar,
}

impl Bar {
    pub fn new(label: &str) -> Self {
        let bar = if std::io::stderr().is_terminal() { ProgressBar::new(0) } else { ProgressBar::hidden() };
        let style = ProgressStyle::with_template("{prefix:>12} [{bar:30}] {pos}/{len} {msg} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
        bar.set_style(style);
        bar.set_prefix(label.to_string());
        Bar { bar }
    }
}

impl Progress for Bar {
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
