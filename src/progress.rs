//! Progress of a run, for a progress bar: the scan adds each chunk's bytes
//! to `done` as it finishes; `total` starts as the caller's estimate (the
//! inputs' sizes) and grows when a compressed input turns out larger.
//! Relaxed atomics: the figures are for display and never affect a result.

use std::sync::atomic::AtomicU64;

#[derive(Debug, Default)]
pub struct Progress {
    pub done: AtomicU64,
    pub total: AtomicU64,
}
