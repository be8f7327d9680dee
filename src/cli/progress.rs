//! The progress bar: on stderr, only when stderr is a terminal, not with
//! `--quiet`, and only once the run has lasted a second (short runs, and
//! every run in a test or a pipe, never draw one).

use std::cell::OnceCell;
use std::io::IsTerminal;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use dumpscrub::progress::Progress;

const SHOW_AFTER: Duration = Duration::from_secs(1);

pub struct Bar {
    counts: Arc<Progress>,
    bar: OnceCell<ProgressBar>,
    enabled: bool,
    started: Instant,
}

impl Bar {
    pub fn new(counts: Arc<Progress>, quiet: bool) -> Self {
        Bar {
            counts,
            bar: OnceCell::new(),
            enabled: !quiet && std::io::stderr().is_terminal(),
            started: Instant::now(),
        }
    }

    /// Redraws from the counters; called a few times a second.
    pub fn tick(&self) {
        if !self.enabled {
            return;
        }
        if self.bar.get().is_none() && self.started.elapsed() >= SHOW_AFTER {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr())
                .with_elapsed(self.started.elapsed());
            let style = ProgressStyle::with_template(
                "{elapsed_precise} [{wide_bar}] {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style.progress_chars("=> "));
            let _ = self.bar.set(bar);
        }
        if let Some(bar) = self.bar.get() {
            let total = self.counts.total.load(Ordering::Relaxed);
            let done = self.counts.done.load(Ordering::Relaxed);
            bar.set_length(total);
            bar.set_position(done.min(total));
        }
    }

    /// Prints a line on stderr without tearing the bar.
    pub fn println(&self, line: &str) {
        match self.bar.get() {
            Some(bar) => bar.suspend(|| eprintln!("{line}")),
            None => eprintln!("{line}"),
        }
    }

    pub fn finish(self) {
        if let Some(bar) = self.bar.into_inner() {
            bar.finish_and_clear();
        }
    }
}
