//! Redaction: which bytes become zero, and writing the scrubbed copy so
//! that no failure can leave a half-written output or touch the input.
//!
//! The output starts as a copy of the input made on a thread of its own
//! while the detectors run ([`PendingCopy`]): a reflink where the file
//! system has them (XFS, btrfs: no data is copied), else the kernel's
//! `copy_file_range`, synced early (on a file system without reflinks the
//! copy and its write-back cost about as much wall time as the scan). Then
//! zeros are written over the redaction spans, the copy is synced again,
//! checked, and only then renamed over the destination. The check re-reads
//! the output's layout: its structure must be byte-identical to the
//! input's, every span must read back as zeros and every sentinel word (a
//! `sanitize-stacks` policy) as the sentinel; a copy that is not a reflink
//! must also equal the input everywhere else.

use std::fs::{self, File};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use memmap2::Mmap;
use sha2::{Digest, Sha256};

use crate::layout::Layout;

/// Merges `spans` (offset, length) into sorted, non-overlapping `[start,
/// end)` intervals and removes every byte that lies in `protected`.
pub fn plan(
    spans: impl IntoIterator<Item = (u64, u64)>,
    protected: &[(u64, u64)],
) -> Vec<(u64, u64)> {
    let mut v: Vec<(u64, u64)> = spans
        .into_iter()
        .filter(|&(_, len)| len > 0)
        .map(|(s, len)| (s, s + len))
        .collect();
    v.sort_unstable();
    let mut merged: Vec<(u64, u64)> = Vec::with_capacity(v.len());
    for (s, e) in v {
        match merged.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => merged.push((s, e)),
        }
    }
    // Subtract protected intervals (both lists sorted).
    let mut out = Vec::with_capacity(merged.len());
    let mut pi = 0;
    for (mut s, e) in merged {
        while pi < protected.len() && protected[pi].1 <= s {
            pi += 1;
        }
        let mut j = pi;
        while s < e {
            match protected.get(j) {
                Some(&(ps, pe)) if ps < e => {
                    if ps > s {
                        out.push((s, ps));
                    }
                    s = s.max(pe);
                    j += 1;
                }
                _ => {
                    out.push((s, e));
                    break;
                }
            }
        }
    }
    out
}

/// Total bytes in a plan.
pub fn planned_bytes(plan: &[(u64, u64)]) -> u64 {
    plan.iter().map(|&(s, e)| e - s).sum()
}

/// Words a policy overwrites with one fixed value instead of zeros.
/// Offsets are sorted and never overlap a zero span.
#[derive(Debug, Clone, Default)]
pub struct WordWrites {
    pub offsets: Vec<u64>,
    pub value: Vec<u8>,
}

/// SHA-256 of the input, taken beside the scan, with its state saved every
/// [`CHECKPOINT`] bytes so that the output's hash starts from the input's
/// state before the first change instead of from the start: a dump where
/// little is found is not hashed twice.
///
/// A scrub's output hash can start only once the scan has ended, and it
/// then takes as long as hashing from the first change to the end; the
/// input's hash, if unfinished, runs beside it on the other core. So the
/// input hash taken during the scan past the first change shortens
/// nothing; it only keeps a core from the scan. A scrub therefore pauses
/// it where the scan has found a redaction so far
/// ([`run_while_before`](Self::run_while_before)) and finishes it beside
/// the output's. Measured on the 1.5 GiB benchmark dump on XFS with
/// reflinks, 5 alternating runs: the scan's part of a scrub ends 0.90-0.96
/// s after the start instead of with the whole input hash (1.3-1.4 s), and
/// the scrub takes 1.88-2.27 s instead of 2.35-2.56 s.
pub struct InputHasher<'a> {
    data: &'a [u8],
    hasher: Sha256,
    /// Bytes hashed so far.
    at: usize,
    /// The state at every multiple of `interval` below `at`.
    checkpoints: Vec<Sha256>,
    interval: usize,
}

/// Bytes between saved hash states (a multiple of [`PIECE`]).
const CHECKPOINT: usize = 64 << 20;

/// Bytes hashed between two looks at the pause limit: under a
/// millisecond, so a paused hash hands its core to the scan at once.
const PIECE: usize = 1 << 20;

impl<'a> InputHasher<'a> {
    pub fn new(data: &'a [u8]) -> InputHasher<'a> {
        Self::with_interval(data, CHECKPOINT)
    }

    /// `interval` must be a multiple of 64 (SHA-256's block).
    fn with_interval(data: &'a [u8], interval: usize) -> InputHasher<'a> {
        InputHasher {
            data,
            hasher: Sha256::new(),
            at: 0,
            checkpoints: Vec::with_capacity(data.len() / interval + 1),
            interval,
        }
    }

    /// Hashes on, a piece at a time, while the next piece ends at or
    /// before `limit()` (to the end when it stays `u64::MAX`).
    pub fn run_while_before(&mut self, limit: impl Fn() -> u64) {
        loop {
            // Pieces never straddle a checkpoint (tests use small intervals).
            let next = (self.at + PIECE.min(self.interval)).min(self.data.len());
            if next == self.at || next as u64 > limit() {
                return;
            }
            self.advance_to(next);
        }
    }

    fn advance_to(&mut self, end: usize) {
        // Each step ends at the next multiple of `interval` at the latest, so
        // every multiple below `at` starts exactly one step: checkpoint k is
        // the state at k * interval.
        while self.at < end {
            if self.at % self.interval == 0 {
                self.checkpoints.push(self.hasher.clone());
            }
            let next = end.min((self.at / self.interval + 1) * self.interval);
            self.hasher.update(&self.data[self.at..next]);
            self.at = next;
        }
    }

    /// The input's SHA-256 (hex).
    pub fn finish(mut self) -> String {
        self.advance_to(self.data.len());
        crate::hex(&self.hasher.finalize())
    }

    /// The input's SHA-256 and that of the output planned from it (zeros
    /// over the spans, the sentinel at the words, the input everywhere
    /// else), both hex. The part before the first change is hashed once;
    /// from there the two run on two threads. The output's is taken from
    /// the input's mapping, which the scan has just read, and not from the
    /// written copy: a reflinked copy shares the input's blocks but not its
    /// page cache, so reading it back would read the whole dump from disk.
    /// [`check_output`] proves the written copy is these bytes.
    fn finish_with_output(mut self, changes: &[Change<'_>]) -> Result<Hashes> {
        let Some(first) = changes.first() else {
            let input = self.finish();
            return Ok(Hashes {
                output: input.clone(),
                input,
            });
        };
        let start = first.start as usize;
        let (from, state) = if start >= self.at {
            self.advance_to(start);
            (start, self.hasher.clone())
        } else {
            let k = start / self.interval;
            (k * self.interval, self.checkpoints[k].clone())
        };
        let data = self.data;
        std::thread::scope(|s| {
            let output = s.spawn(move || output_hash(data, state, from, changes));
            let input = self.finish();
            let output = output
                .join()
                .map_err(|_| anyhow::anyhow!("the output hash thread failed"))?;
            Ok(Hashes { input, output })
        })
    }
}

/// The SHA-256 (hex) of a scrub's input and output.
pub struct Hashes {
    pub input: String,
    pub output: String,
}

/// The output's hash from `hasher`, the state after `data[..from]`
/// (`from` at or before the first change).
fn output_hash(data: &[u8], mut hasher: Sha256, from: usize, changes: &[Change<'_>]) -> String {
    let mut at = from;
    for c in changes {
        let (start, end) = (c.start as usize, c.end as usize);
        hasher.update(&data[at..start]);
        match c.value {
            Some(value) => hasher.update(value),
            None => {
                let mut left = end - start;
                while left > 0 {
                    let n = left.min(ZEROS.len());
                    hasher.update(&ZEROS[..n]);
                    left -= n;
                }
            }
        }
        at = end;
    }
    hasher.update(&data[at..]);
    crate::hex(&hasher.finalize())
}

static ZEROS: [u8; 1 << 16] = [0; 1 << 16];

/// One change the output makes to the input: `[start, end)` becomes zeros
/// (`value` none) or the sentinel word.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Change<'a> {
    start: u64,
    end: u64,
    value: Option<&'a [u8]>,
}

/// The plan's spans and the sentinel words in file order (they never
/// overlap).
fn changes<'a>(plan: &[(u64, u64)], words: &'a WordWrites) -> Vec<Change<'a>> {
    let w = words.value.len() as u64;
    let mut all: Vec<Change<'a>> = plan
        .iter()
        .map(|&(start, end)| Change {
            start,
            end,
            value: None,
        })
        .chain(words.offsets.iter().map(|&o| Change {
            start: o,
            end: o + w,
            value: Some(&words.value[..]),
        }))
        .collect();
    all.sort_unstable_by_key(|c| c.start);
    all
}

/// The copy of the input that becomes the output, made by a thread
/// started before the scan. The thread hands the copy over as soon as it
/// is written and then syncs it (writeback of the bulk while the scan, or
/// the zeroing and the output hash, go on). Dropping it waits for the
/// thread, so an error anywhere before [`write_scrubbed`] removes the
/// temporary file instead of leaving the copy running past the process's
/// last words.
pub struct PendingCopy {
    copied: Option<std::sync::mpsc::Receiver<Result<Copied>>>,
    sync: EarlySync,
}

/// The temporary copy, and whether it is a reflink of the input (its
/// blocks are the input's, so they need no comparing).
struct Copied {
    tmp: tempfile::NamedTempFile,
    reflink: bool,
}

/// The first sync of the copy, on the copy thread. Its result must be
/// seen: a write error is reported once per open file, and the thread's
/// handle shares the open file with the final sync.
struct EarlySync(Option<std::thread::JoinHandle<Result<()>>>);

impl EarlySync {
    fn finish(mut self) -> Result<()> {
        match self.0.take() {
            Some(t) => t
                .join()
                .map_err(|_| anyhow::anyhow!("the copy thread failed"))?,
            None => Ok(()),
        }
    }
}

impl Drop for EarlySync {
    fn drop(&mut self) {
        if let Some(t) = self.0.take() {
            let _ = t.join();
        }
    }
}

impl PendingCopy {
    /// Starts copying `input` (mapped as `len` bytes) to a temporary file
    /// beside `dest`.
    pub fn start(input: &Path, dest: &Path, len: u64) -> PendingCopy {
        let (input, dest) = (input.to_path_buf(), dest.to_path_buf());
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let thread = std::thread::Builder::new()
            .name("dumpscrub-copy".into())
            .spawn(move || -> Result<()> {
                let copied = match copy_input(&input, &dest, len) {
                    Ok(copied) => copied,
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        return Ok(());
                    }
                };
                let file = copied.tmp.as_file().try_clone();
                let _ = tx.send(Ok(copied));
                file.and_then(|f| f.sync_data())
                    .with_context(|| format!("{}: cannot sync the output copy", dest.display()))
            });
        match thread {
            Ok(t) => PendingCopy {
                copied: Some(rx),
                sync: EarlySync(Some(t)),
            },
            // No thread to be had: copy when the result is asked for.
            Err(_) => PendingCopy {
                copied: None,
                sync: EarlySync(None),
            },
        }
    }

    /// The written copy, and the sync still running on it.
    fn wait(mut self, input: &Path, dest: &Path, len: u64) -> Result<(Copied, EarlySync)> {
        let copied = match self.copied.take() {
            Some(rx) => rx
                .recv()
                .map_err(|_| anyhow::anyhow!("{}: the copy thread failed", dest.display()))??,
            None => copy_input(input, dest, len)?,
        };
        Ok((copied, EarlySync(self.sync.0.take())))
    }
}

/// A new temporary file (0600, `.dumpscrub-*.tmp`) in the directory of
/// `dest`, so that the finished file is renamed into place, and that
/// directory.
pub(crate) fn temp_beside(dest: &Path) -> Result<(tempfile::NamedTempFile, PathBuf)> {
    let dir = parent_dir(dest);
    let tmp = tempfile::Builder::new()
        .prefix(".dumpscrub-")
        .suffix(".tmp")
        .tempfile_in(&dir)
        .with_context(|| format!("{}: cannot create a temporary file", dir.display()))?;
    Ok((tmp, dir))
}

/// Copies `input` into a new temporary file beside `dest`: a reflink
/// where the file system can make one, else a kernel copy.
fn copy_input(input: &Path, dest: &Path, len: u64) -> Result<Copied> {
    let (mut tmp, _) = temp_beside(dest)?;
    let mut src = File::open(input).with_context(|| format!("{}: cannot open", input.display()))?;
    // Any error (not supported, another file system, ...) leaves the
    // temporary file empty and falls back to copying.
    let reflink = rustix::fs::ioctl_ficlone(tmp.as_file(), &src).is_ok();
    let copied = if reflink {
        tmp.as_file()
            .metadata()
            .with_context(|| format!("{}: cannot read the output copy", dest.display()))?
            .len()
    } else {
        io::copy(&mut src, tmp.as_file_mut())
            .with_context(|| format!("{}: cannot write the output copy", dest.display()))?
    };
    if copied != len {
        bail!(
            "{}: the file changed size while it was being scrubbed ({len} bytes mapped, {copied} copied)",
            input.display(),
        );
    }
    Ok(Copied { tmp, reflink })
}

/// Writes the scrubbed copy of `input` to `dest` atomically and returns
/// the input's and the copy's SHA-256: waits for `copy`, zeroes the plan's
/// spans, writes the sentinel words, syncs, checks and renames. The hashes
/// are finished from `input_hash` and taken from `data` on threads of
/// their own while the copy is finished, written and checked; the check
/// proves the copy holds the hashed bytes.
///
/// `relayout` rebuilds the layout of the written copy so that it can be
/// checked against the input's before the copy is put in place.
#[allow(clippy::too_many_arguments)]
pub fn write_scrubbed(
    copy: PendingCopy,
    input_hash: InputHasher<'_>,
    input: &Path,
    data: &[u8],
    layout: &Layout,
    plan: &[(u64, u64)],
    words: &WordWrites,
    dest: &Path,
    relayout: &dyn Fn(&[u8]) -> Result<Layout>,
) -> Result<Hashes> {
    let dir = parent_dir(dest);
    let changes = changes(plan, words);
    let (written, hashes) = std::thread::scope(|s| {
        let hashes = s.spawn(|| input_hash.finish_with_output(&changes));
        let written = write_and_check(copy, input, data, layout, &changes, dest, relayout);
        let hashes = hashes
            .join()
            .unwrap_or_else(|_| Err(anyhow::anyhow!("the hash thread failed")));
        (written, hashes)
    });
    let tmp = written?;
    let hashes = hashes?;

    let perms = fs::metadata(input)
        .with_context(|| format!("{}: cannot read permissions", input.display()))?
        .permissions();
    install(tmp, perms, dest, &dir)?;
    Ok(hashes)
}

/// The copy with `changes` written, synced and checked.
fn write_and_check(
    copy: PendingCopy,
    input: &Path,
    data: &[u8],
    layout: &Layout,
    changes: &[Change<'_>],
    dest: &Path,
    relayout: &dyn Fn(&[u8]) -> Result<Layout>,
) -> Result<tempfile::NamedTempFile> {
    let (Copied { tmp, reflink }, early_sync) = copy.wait(input, dest, data.len() as u64)?;
    let mut runs: Vec<(u64, Vec<u8>)> = Vec::new();
    for c in changes {
        // Adjacent sentinel words (a stack full of them) are one write.
        match (c.value, runs.last_mut()) {
            (Some(v), Some((at, bytes))) if *at + bytes.len() as u64 == c.start => {
                bytes.extend_from_slice(v)
            }
            (Some(v), _) => runs.push((c.start, v.to_vec())),
            (None, _) => {
                let mut at = c.start;
                while at < c.end {
                    let n = ((c.end - at) as usize).min(ZEROS.len());
                    tmp.as_file()
                        .write_all_at(&ZEROS[..n], at)
                        .with_context(|| {
                            format!("{}: cannot write the output copy", dest.display())
                        })?;
                    at += n as u64;
                }
            }
        }
    }
    for (at, bytes) in runs {
        tmp.as_file()
            .write_all_at(&bytes, at)
            .with_context(|| format!("{}: cannot write the output copy", dest.display()))?;
    }
    // The check reads the copy back while the disk takes the writes: when
    // the copy finishes after the scan (a slow disk), the check no longer
    // waits for the sync, nor the sync for the check.
    let (synced, checked) = std::thread::scope(|s| {
        let sync = s.spawn(|| -> Result<()> {
            early_sync.finish()?;
            tmp.as_file()
                .sync_all()
                .with_context(|| format!("{}: cannot sync the output copy", dest.display()))
        });
        let checked = check_output(tmp.as_file(), !reflink, data, layout, changes, relayout);
        let synced = sync
            .join()
            .unwrap_or_else(|_| Err(anyhow::anyhow!("the sync thread failed")));
        (synced, checked)
    });
    synced?;
    checked.with_context(|| {
        format!(
            "{}: the scrubbed copy failed its check; nothing was written",
            dest.display()
        )
    })?;
    Ok(tmp)
}

/// Puts a finished, synced temporary copy in place of `dest` with the
/// input's permissions: one atomic rename, then the directory synced so
/// that the rename is durable too.
pub(crate) fn install(
    tmp: tempfile::NamedTempFile,
    perms: fs::Permissions,
    dest: &Path,
    dir: &Path,
) -> Result<()> {
    fs::set_permissions(tmp.path(), perms)
        .with_context(|| format!("{}: cannot set permissions", dest.display()))?;
    tmp.persist(dest).map_err(|e| e.error).with_context(|| {
        format!(
            "{}: cannot move the scrubbed copy into place",
            dest.display()
        )
    })?;
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

pub(crate) fn parent_dir(dest: &Path) -> PathBuf {
    match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Checks the written copy against the input: same size and layout,
/// structure bytes unchanged, every change read back, and (`compare_all`,
/// for a copy that is not a reflink) every other byte equal to the
/// input's.
fn check_output(
    out: &File,
    compare_all: bool,
    data: &[u8],
    layout: &Layout,
    changes: &[Change<'_>],
    relayout: &dyn Fn(&[u8]) -> Result<Layout>,
) -> Result<()> {
    if data.is_empty() {
        relayout(&[]).context("the output no longer parses")?;
        return Ok(());
    }
    // SAFETY: the temporary file is ours alone (mode 0600, unlinked on any
    // error) and is not modified while mapped.
    let map = unsafe { Mmap::map(out) }.context("cannot map the output copy")?;
    if map.len() != data.len() {
        bail!("output is {} bytes, input {}", map.len(), data.len());
    }
    let again = relayout(&map).context("the output no longer parses")?;
    if again.ranges != layout.ranges {
        bail!("the output's stream directory or descriptors differ from the input's");
    }
    for (s, e) in layout.protected_spans() {
        if map[s as usize..e as usize] != data[s as usize..e as usize] {
            bail!("structure bytes at offset {s:#x} changed");
        }
    }
    let mut at = 0;
    for c in changes {
        let (start, end) = (c.start as usize, c.end as usize);
        if compare_all {
            same_as_input(&map, data, at, start)?;
        }
        match c.value {
            None if map[start..end].iter().any(|&b| b != 0) => {
                bail!("redacted bytes at offset {start:#x} did not read back as zeros")
            }
            Some(v) if &map[start..end] != v => {
                bail!("sanitized word at offset {start:#x} did not read back as the sentinel")
            }
            _ => {}
        }
        at = end;
    }
    if compare_all {
        same_as_input(&map, data, at, data.len())?;
    }
    Ok(())
}

/// Fails unless `out[start..end]` equals the input's bytes there.
fn same_as_input(out: &[u8], data: &[u8], start: usize, end: usize) -> Result<()> {
    if out[start..end] == data[start..end] {
        return Ok(());
    }
    let first = (start..end).find(|&i| out[i] != data[i]).unwrap_or(start);
    bail!("the copy differs from the input at offset {first:#x}, outside every redaction")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both hashes a scrub reports are the hashes of its input and of the
    /// output as written, wherever the first change falls (before, on and
    /// after checkpoints, at the end) and wherever the input's hash paused
    /// (before, on and past the first change, and not at all), for spans
    /// longer than the zero buffer, sentinel words next to spans and to
    /// each other, and nothing changed.
    #[test]
    fn scrub_hashes_are_the_hashes_of_the_input_and_the_written_output() {
        let input: Vec<u8> = (0..200_000u32).map(|i| (i * 31 % 251) as u8).collect();
        let input_sha = crate::hex(&Sha256::digest(&input));
        let words = |offsets: Vec<u64>| WordWrites {
            offsets,
            value: b"\xde\xad\xbe\xef\x0d\xf0\xad\x0b".to_vec(),
        };
        let cases: Vec<(Vec<(u64, u64)>, WordWrites)> = vec![
            (vec![(0, 7)], words(vec![])),
            (vec![(1, 8)], words(vec![])),
            (vec![(1023, 1030)], words(vec![])),
            (vec![(1024, 1031), (5000, 80_000)], words(vec![])),
            (vec![(1025, 1032), (199_990, 200_000)], words(vec![])),
            (vec![(199_999, 200_000)], words(vec![])),
            (vec![(9216, 9300)], words(vec![9300, 9308, 9400, 199_992])),
            (vec![], words(vec![0, 8, 150_000])),
            (vec![], words(vec![])),
        ];
        for (plan, words) in cases {
            let changes = changes(&plan, &words);
            let mut out = input.clone();
            for &(s, e) in &plan {
                out[s as usize..e as usize].fill(0);
            }
            for &o in &words.offsets {
                out[o as usize..o as usize + 8].copy_from_slice(&words.value);
            }
            let first = changes.first().map_or(0, |c| c.start);
            for pause in [
                0,
                1000,
                1024,
                9216,
                first,
                first + 1,
                first + 2048,
                u64::MAX,
            ] {
                let mut hasher = InputHasher::with_interval(&input, 1024);
                hasher.run_while_before(|| pause);
                assert!(
                    hasher.at as u64 <= pause,
                    "paused at {} past {pause}",
                    hasher.at
                );
                assert!(hasher.at as u64 + 1024 > pause.min(input.len() as u64));
                let hashes = hasher.finish_with_output(&changes).unwrap();
                assert_eq!(hashes.input, input_sha, "{plan:?} paused at {pause}");
                assert_eq!(
                    hashes.output,
                    crate::hex(&Sha256::digest(&out)),
                    "{plan:?} {:?} paused at {pause}",
                    words.offsets
                );
            }
        }
        let exact = &input[..8192];
        let mut hasher = InputHasher::with_interval(exact, 1024);
        hasher.run_while_before(|| u64::MAX);
        let hashes = hasher.finish_with_output(&[]).unwrap();
        assert_eq!(hashes.input, crate::hex(&Sha256::digest(exact)));
        assert_eq!(hashes.output, hashes.input);
    }

    /// A copy that is not a reflink must equal the input outside the
    /// changes, and every change must read back; a byte changed anywhere
    /// else fails the check with its offset.
    #[test]
    fn check_finds_a_copy_that_differs_outside_the_changes() {
        let data: Vec<u8> = (0..50_000u32).map(|i| (i * 7 % 253) as u8 | 1).collect();
        let layout = crate::layout::build(&data, "t", true).unwrap().unwrap();
        let relayout =
            |d: &[u8]| -> Result<Layout> { Ok(crate::layout::build(d, "t", true)?.unwrap()) };
        let words = WordWrites {
            offsets: vec![30_000],
            value: vec![0xAA; 8],
        };
        let plan = [(100, 200), (40_000, 40_010)];
        let changes = changes(&plan, &words);
        let mut good = data.clone();
        good[100..200].fill(0);
        good[40_000..40_010].fill(0);
        good[30_000..30_008].fill(0xAA);
        let check = |bytes: &[u8], compare_all: bool| {
            let mut f = tempfile::tempfile().unwrap();
            io::Write::write_all(&mut f, bytes).unwrap();
            check_output(&f, compare_all, &data, &layout, &changes, &relayout)
        };
        check(&good, true).unwrap();
        for at in [0, 99, 200, 29_999, 30_008, 45_000, 49_999] {
            let mut bad = good.clone();
            bad[at] ^= 0x40;
            let e = check(&bad, true).unwrap_err().to_string();
            assert!(e.contains(&format!("{at:#x}")), "{at}: {e}");
            // A reflink's blocks are the input's: only the changes are read.
            check(&bad, false).unwrap();
        }
        for at in [150, 30_003, 40_009] {
            let mut bad = good.clone();
            bad[at] ^= 0x40;
            for compare_all in [true, false] {
                let e = check(&bad, compare_all).unwrap_err().to_string();
                assert!(e.contains("did not read back"), "{at}: {e}");
            }
        }
    }

    #[test]
    fn plan_merges_and_never_touches_protected_bytes() {
        let spans = [(10, 10), (15, 10), (40, 5), (100, 50)];
        let protected = [(0, 12), (42, 43), (120, 130)];
        let p = plan(spans, &protected);
        assert_eq!(
            p,
            vec![(12, 25), (40, 42), (43, 45), (100, 120), (130, 150)]
        );
        for &(s, e) in &p {
            for &(ps, pe) in &protected {
                assert!(e <= ps || s >= pe);
            }
        }
    }
}
