//! Running many files: `jobs` coordinator threads each take the next file
//! and run it inside the one shared rayon pool, whose threads also run
//! every file's chunk scan. The pool's size is the whole CPU budget (not
//! jobs x cores); the coordinators only wait. Results are handed back in
//! input order, each as soon as it and every file before it are done, so
//! output is the same for any `jobs`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

/// Runs `work(i)` for `i` in `0..n`, calling `done(i, result)` in order of
/// `i` on the calling thread, and `tick()` a few times a second meanwhile.
pub fn run<R, W, D, T>(
    n: usize,
    jobs: usize,
    pool: &rayon::ThreadPool,
    work: W,
    mut done: D,
    mut tick: T,
) where
    R: Send,
    W: Fn(usize) -> R + Sync,
    D: FnMut(usize, R),
    T: FnMut(),
{
    let next = AtomicUsize::new(0);
    let (tx, rx) = mpsc::channel::<(usize, R)>();
    std::thread::scope(|s| {
        for _ in 0..jobs.clamp(1, n.max(1)) {
            let tx = tx.clone();
            let (next, work) = (&next, &work);
            s.spawn(move || loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let r = pool.install(|| work(i));
                if tx.send((i, r)).is_err() {
                    break;
                }
            });
        }
        drop(tx);
        let mut pending = BTreeMap::new();
        let mut want = 0;
        loop {
            match rx.recv_timeout(Duration::from_millis(200)) {
                Ok((i, r)) => {
                    pending.insert(i, r);
                    while let Some(r) = pending.remove(&want) {
                        done(want, r);
                        want += 1;
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
            tick();
        }
    });
}
