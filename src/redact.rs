//! Redaction: which bytes become zero, and writing the scrubbed copy so
//! that no failure can leave a half-written output or touch the input.
//!
//! The output is the input copied (by the kernel, `copy_file_range`, where
//! the file system allows) and synced on a thread of its own while the
//! detectors run ([`PendingCopy`]: on a file system without reflinks the
//! copy and its write-back cost about as much wall time as the scan), then
//! zeros written over the redaction spans, synced again, checked, and only
//! then renamed over the destination. The check re-reads
//! the output's layout: its structure must be byte-identical to the
//! input's, every span must read back as zeros and every sentinel word (a
//! `sanitize-stacks` policy) as the sentinel.

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

impl WordWrites {
    /// Runs of adjacent words as (offset, word count), so that a stack full
    /// of sentinels is one write, not one per word.
    fn runs(&self) -> Vec<(u64, usize)> {
        let w = self.value.len() as u64;
        let mut runs: Vec<(u64, usize)> = Vec::new();
        for &o in &self.offsets {
            match runs.last_mut() {
                Some((s, n)) if *s + *n as u64 * w == o => *n += 1,
                _ => runs.push((o, 1)),
            }
        }
        runs
    }
}

/// SHA-256 of the input with its hash state saved every
/// [`CHECKPOINT`] bytes, so that the output's hash resumes at the last
/// checkpoint before its first changed byte instead of starting over: a
/// dump where little is found is not hashed twice.
pub struct InputHash {
    pub hex: String,
    checkpoints: Vec<Sha256>,
    interval: usize,
}

/// Bytes between saved hash states (a multiple of the 64-byte block).
const CHECKPOINT: usize = 64 << 20;

impl InputHash {
    pub fn of(data: &[u8]) -> InputHash {
        Self::with_interval(data, CHECKPOINT)
    }

    /// `interval` must be a multiple of 64 (SHA-256's block).
    fn with_interval(data: &[u8], interval: usize) -> InputHash {
        let mut hasher = Sha256::new();
        let mut checkpoints = Vec::with_capacity(data.len() / interval + 1);
        for block in data.chunks(interval) {
            checkpoints.push(hasher.clone());
            hasher.update(block);
        }
        InputHash {
            hex: crate::hex(&hasher.finalize()),
            checkpoints,
            interval,
        }
    }

    /// SHA-256 of `out`, which equals the hashed input before `first_change`.
    fn of_output(&self, out: &[u8], first_change: usize) -> String {
        let k = first_change / self.interval;
        match self.checkpoints.get(k) {
            Some(state) => {
                let mut hasher = state.clone();
                hasher.update(&out[k * self.interval..]);
                crate::hex(&hasher.finalize())
            }
            // Nothing changed (or an empty file): the input's hash.
            None => self.hex.clone(),
        }
    }
}

/// The copy of the input that becomes the output, made by a thread
/// started before the scan. The thread hands the copy over as soon as it
/// is written and then syncs it (writeback of the bulk while the scan, or
/// the zeroing and the output hash, go on). Dropping it waits for the
/// thread, so an error anywhere before [`write_scrubbed`] removes the
/// temporary file instead of leaving the copy running past the process's
/// last words.
pub struct PendingCopy {
    copied: Option<std::sync::mpsc::Receiver<Result<tempfile::NamedTempFile>>>,
    sync: EarlySync,
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
                let tmp = match copy_input(&input, &dest, len) {
                    Ok(tmp) => tmp,
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        return Ok(());
                    }
                };
                let file = tmp.as_file().try_clone();
                let _ = tx.send(Ok(tmp));
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
    fn wait(
        mut self,
        input: &Path,
        dest: &Path,
        len: u64,
    ) -> Result<(tempfile::NamedTempFile, EarlySync)> {
        let tmp = match self.copied.take() {
            Some(rx) => rx
                .recv()
                .map_err(|_| anyhow::anyhow!("{}: the copy thread failed", dest.display()))??,
            None => copy_input(input, dest, len)?,
        };
        Ok((tmp, EarlySync(self.sync.0.take())))
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

/// Copies `input` into a new temporary file beside `dest`.
fn copy_input(input: &Path, dest: &Path, len: u64) -> Result<tempfile::NamedTempFile> {
    let (mut tmp, _) = temp_beside(dest)?;
    let mut src = File::open(input).with_context(|| format!("{}: cannot open", input.display()))?;
    let copied = io::copy(&mut src, tmp.as_file_mut())
        .with_context(|| format!("{}: cannot write the output copy", dest.display()))?;
    if copied != len {
        bail!(
            "{}: the file changed size while it was being scrubbed ({len} bytes mapped, {copied} copied)",
            input.display(),
        );
    }
    Ok(tmp)
}

/// Writes the scrubbed copy of `input` to `dest` atomically and returns
/// the copy's SHA-256: waits for `copy`, zeroes the plan's spans, writes
/// the sentinel words, syncs, checks and renames. The hash is read from
/// the written file from the last checkpoint of `input_hash` before the
/// first changed byte; the bytes before it were copied unchanged.
///
/// `relayout` rebuilds the layout of the written copy so that it can be
/// checked against the input's before the copy is put in place.
#[allow(clippy::too_many_arguments)]
pub fn write_scrubbed(
    copy: PendingCopy,
    input_hash: &InputHash,
    input: &Path,
    data: &[u8],
    layout: &Layout,
    plan: &[(u64, u64)],
    words: &WordWrites,
    dest: &Path,
    relayout: &dyn Fn(&[u8]) -> Result<Layout>,
) -> Result<String> {
    let dir = parent_dir(dest);
    let (tmp, early_sync) = copy.wait(input, dest, data.len() as u64)?;
    let zeros = vec![0u8; 1 << 16];
    for &(s, e) in plan {
        let mut at = s;
        while at < e {
            let n = ((e - at) as usize).min(zeros.len());
            tmp.as_file()
                .write_all_at(&zeros[..n], at)
                .with_context(|| format!("{}: cannot write the output copy", dest.display()))?;
            at += n as u64;
        }
    }
    for (at, n) in words.runs() {
        tmp.as_file()
            .write_all_at(&words.value.repeat(n), at)
            .with_context(|| format!("{}: cannot write the output copy", dest.display()))?;
    }
    // The check reads the copy back and hashes it while the disk takes
    // the writes: when the copy finishes after the scan (a slow disk), the
    // hash no longer waits for the sync, nor the sync for the hash.
    let (synced, checked) = std::thread::scope(|s| {
        let sync = s.spawn(|| -> Result<()> {
            early_sync.finish()?;
            tmp.as_file()
                .sync_all()
                .with_context(|| format!("{}: cannot sync the output copy", dest.display()))
        });
        let checked = check_output(
            tmp.as_file(),
            input_hash,
            data,
            layout,
            plan,
            words,
            relayout,
        );
        let synced = sync
            .join()
            .unwrap_or_else(|_| Err(anyhow::anyhow!("the sync thread failed")));
        (synced, checked)
    });
    synced?;
    let sha256 = checked.with_context(|| {
        format!(
            "{}: the scrubbed copy failed its check; nothing was written",
            dest.display()
        )
    })?;

    let perms = fs::metadata(input)
        .with_context(|| format!("{}: cannot read permissions", input.display()))?
        .permissions();
    install(tmp, perms, dest, &dir)?;
    Ok(sha256)
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

fn check_output(
    out: &File,
    input_hash: &InputHash,
    data: &[u8],
    layout: &Layout,
    plan: &[(u64, u64)],
    words: &WordWrites,
    relayout: &dyn Fn(&[u8]) -> Result<Layout>,
) -> Result<String> {
    if data.is_empty() {
        relayout(&[]).context("the output no longer parses")?;
        return Ok(crate::hex(&Sha256::digest([])));
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
    for &(s, e) in plan {
        if map[s as usize..e as usize].iter().any(|&b| b != 0) {
            bail!("redacted bytes at offset {s:#x} did not read back as zeros");
        }
    }
    let w = words.value.len();
    for &o in &words.offsets {
        if map.get(o as usize..o as usize + w) != Some(&words.value[..]) {
            bail!("sanitized word at offset {o:#x} did not read back as the sentinel");
        }
    }
    let first_change = plan
        .first()
        .map(|&(s, _)| s)
        .into_iter()
        .chain(words.offsets.iter().copied().min())
        .min()
        .map_or(data.len(), |o| o as usize);
    Ok(input_hash.of_output(&map, first_change))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The resumed hash is the hash of the whole output, wherever the
    /// first change falls: before, on and after checkpoints, at the end,
    /// and with nothing changed.
    #[test]
    fn output_hash_resumes_from_the_right_checkpoint() {
        let input: Vec<u8> = (0..10_000u32).map(|i| (i * 31 % 251) as u8).collect();
        let hash = InputHash::with_interval(&input, 1024);
        assert_eq!(hash.hex, crate::hex(&Sha256::digest(&input)));
        for change in [0, 1, 1023, 1024, 1025, 5000, 9216, 9999] {
            let mut out = input.clone();
            out[change..(change + 7).min(input.len())].fill(0);
            assert_eq!(
                hash.of_output(&out, change),
                crate::hex(&Sha256::digest(&out)),
                "first change at {change}"
            );
        }
        assert_eq!(hash.of_output(&input, input.len()), hash.hex);
        let exact = &input[..8192];
        let hash = InputHash::with_interval(exact, 1024);
        assert_eq!(
            hash.of_output(exact, exact.len()),
            crate::hex(&Sha256::digest(exact))
        );
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
