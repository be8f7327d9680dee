//! Crash safety: `dumpscrub scrub` killed with SIGKILL at many points of
//! its run, with `-o` and with `--in-place`, never leaves a damaged input
//! or a partial output: the destination is either absent (or, in place,
//! the original) or byte-identical to the output of an uninterrupted run.
//! A killed process cannot clean up after itself, so its temporary file
//! can remain; it must then be recognisable (`.dumpscrub-*.tmp`, mode
//! 0600, in the destination's directory) and never at the destination's
//! name. Destinations that cannot be written (read-only, full) fail with a
//! clear error, exit 2, and leave nothing behind.
//!
//! The input is the committed dump of a live process grown with memory
//! regions full of pseudo-random bytes and planted tokens, so that a scrub
//! takes long enough to be interrupted at every stage (scan, copy,
//! zeroing, sync, check, rename). Kill points are spread over the measured
//! duration of an uninterrupted run, so they fall at every stage whatever
//! the speed of the machine or build.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::grow::grow;
use support::{alnum, dumpscrub, sha256_file};

fn fixture() -> Vec<u8> {
    std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/planted-linux.dmp"
    ))
    .expect("committed fixture")
}

/// The fixture grown with `regions` regions of `size` bytes of
/// pseudo-random data, each with a planted token.
fn big_dump(path: &Path, regions: u64, size: u64) {
    let list: Vec<(u64, u64)> = (0..regions)
        .map(|i| (0x6600_0000_0000 + i * 2 * size, size))
        .collect();
    let g = grow(&fixture(), &[], &list, path);
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut buf = vec![0u8; size as usize];
    for i in 0..regions as usize {
        for b in buf.chunks_mut(8) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            b.copy_from_slice(&state.to_le_bytes()[..b.len()]);
        }
        let token = format!(" ghp_{} ", alnum(36));
        let at = (size as usize / 3) & !7;
        buf[at..at + token.len()].copy_from_slice(token.as_bytes());
        g.plant(path, i, 0, &buf);
    }
}

/// When to kill a run: a time after it starts, or a time after its
/// temporary output file appears in the destination directory (the copy,
/// zeroing, sync, check and rename all happen after that, and are short
/// next to the scan: only this lands kills among them reliably).
#[derive(Debug, Clone, Copy)]
enum KillAt {
    AfterStart(Duration),
    AfterTemporary(Duration),
}

fn has_temporary(dir: &Path) -> bool {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .any(|e| e.file_name().to_string_lossy().starts_with(".dumpscrub-"))
}

/// Runs `dumpscrub args` and sends it SIGKILL at `at`; `dest_dir` is
/// watched for the temporary file. True when the kill landed (the process
/// died of it rather than finishing first).
fn kill_at(args: &[&std::ffi::OsStr], dest_dir: &Path, at: KillAt) -> bool {
    let mut child = Command::new(env!("CARGO_BIN_EXE_dumpscrub"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    match at {
        KillAt::AfterStart(d) => std::thread::sleep(d),
        KillAt::AfterTemporary(d) => {
            while !has_temporary(dest_dir) {
                if child.try_wait().unwrap().is_some() {
                    break;
                }
                std::thread::sleep(Duration::from_micros(200));
            }
            std::thread::sleep(d);
        }
    }
    let _ = child.kill();
    let status = child.wait().unwrap();
    status.signal() == Some(9)
}

/// Files in `dir` other than `keep`: they must be our recognisable,
/// private temporaries. Removes them (as a user would) and returns how
/// many there were.
fn sweep_temporaries(dir: &Path, keep: &[&Path]) -> usize {
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let path = e.path();
        if keep.contains(&path.as_path()) {
            continue;
        }
        let name = e.file_name().to_string_lossy().into_owned();
        assert!(
            name.starts_with(".dumpscrub-") && name.ends_with(".tmp"),
            "unexpected file left in the destination directory: {name}"
        );
        let mode = e.metadata().unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{name}: temporary file mode {mode:o}");
        std::fs::remove_file(&path).unwrap();
        n += 1;
    }
    n
}

/// Kill points: early, spread over the uninterrupted run's duration (and
/// beyond: the run may be slower under load), and at intervals after the
/// temporary output appears.
fn kill_points(full: Duration) -> Vec<KillAt> {
    let ms = |n: u64| Duration::from_millis(n);
    let mut v = vec![KillAt::AfterStart(ms(1)), KillAt::AfterStart(ms(30))];
    for k in [30u32, 70, 110] {
        v.push(KillAt::AfterStart(full * k / 100));
    }
    for n in [0, 1, 5, 20, 80, 300] {
        v.push(KillAt::AfterTemporary(ms(n)));
    }
    v
}

struct Setup {
    _dir: tempfile::TempDir,
    root: PathBuf,
    input: PathBuf,
    input_sha: String,
    reference_sha: String,
    full: Duration,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let input = root.join("big.dmp");
    big_dump(&input, 1, 512 << 10);
    let input_sha = sha256_file(&input);
    let reference = root.join("reference.dmp");
    let started = Instant::now();
    let run = dumpscrub([
        "scrub".as_ref(),
        input.as_os_str(),
        "-o".as_ref(),
        reference.as_os_str(),
    ]);
    let full = started.elapsed();
    assert_eq!(run.code, Some(0), "{}", run.stderr_text());
    let reference_sha = sha256_file(&reference);
    assert_ne!(reference_sha, input_sha, "the scrub redacted nothing");
    eprintln!(
        "uninterrupted scrub of {} bytes: {full:?}",
        std::fs::metadata(&input).unwrap().len()
    );
    Setup {
        _dir: dir,
        root,
        input,
        input_sha,
        reference_sha,
        full,
    }
}

#[test]
fn a_killed_scrub_leaves_the_input_intact_and_no_partial_output() {
    let s = setup();
    let out_dir = s.root.join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let out = out_dir.join("scrubbed.dmp");
    let (mut killed, mut complete, mut stale) = (0, 0, 0);
    for after in kill_points(s.full) {
        let _ = std::fs::remove_file(&out);
        if kill_at(
            &[
                "scrub".as_ref(),
                s.input.as_os_str(),
                "-o".as_ref(),
                out.as_os_str(),
            ],
            &out_dir,
            after,
        ) {
            killed += 1;
        }
        assert_eq!(
            sha256_file(&s.input),
            s.input_sha,
            "input changed (kill after {after:?})"
        );
        if out.exists() {
            complete += 1;
            assert_eq!(
                sha256_file(&out),
                s.reference_sha,
                "partial or different output after a kill at {after:?}"
            );
        }
        stale += sweep_temporaries(&out_dir, &[&out]);
    }
    eprintln!(
        "-o: {killed} killed mid-run, {complete} complete outputs, {stale} stale temporaries"
    );
    assert!(killed > 0, "no kill landed during a run");
    assert!(
        stale > 0,
        "no kill landed while the output was being written"
    );
}

#[test]
fn a_killed_in_place_scrub_leaves_the_original_or_the_complete_copy() {
    let s = setup();
    let work_dir = s.root.join("inplace");
    std::fs::create_dir(&work_dir).unwrap();
    let target = work_dir.join("dump.dmp");
    let (mut killed, mut original, mut scrubbed, mut stale) = (0, 0, 0, 0);
    for after in kill_points(s.full) {
        std::fs::copy(&s.input, &target).unwrap();
        if kill_at(
            &["scrub".as_ref(), target.as_os_str(), "--in-place".as_ref()],
            &work_dir,
            after,
        ) {
            killed += 1;
        }
        let sha = sha256_file(&target);
        if sha == s.input_sha {
            original += 1;
        } else {
            assert_eq!(
                sha, s.reference_sha,
                "damaged file after a kill at {after:?}"
            );
            scrubbed += 1;
        }
        stale += sweep_temporaries(&work_dir, &[&target]);
    }
    eprintln!("--in-place: {killed} killed, {original} original, {scrubbed} scrubbed, {stale} stale temporaries");
    assert!(killed > 0, "no kill landed during a run");
    assert!(
        stale > 0,
        "no kill landed while the output was being written"
    );
}

/// Mounts a tmpfs of `size` at `at` for the guard's lifetime, when the
/// test runs as root; `None` otherwise.
struct Mount(PathBuf);

impl Mount {
    fn tmpfs(at: &Path, opts: &str) -> Option<Mount> {
        std::fs::create_dir_all(at).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", opts, "tmpfs"])
            .arg(at)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Mount(at.to_path_buf()))
    }

    fn remount(&self, opts: &str) {
        let ok = Command::new("mount")
            .args(["-o", &format!("remount,{opts}")])
            .arg(&self.0)
            .status()
            .unwrap();
        assert!(ok.success());
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

fn assert_refused(run: &support::Run, dest: &Path, reason: &str) {
    assert_eq!(run.code, Some(2), "{}", run.stderr_text());
    let err = run.stderr_text();
    assert!(err.contains(&dest.display().to_string()), "{err}");
    assert!(err.contains(reason), "expected '{reason}' in: {err}");
}

fn listing(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn a_read_only_destination_fails_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.dmp");
    std::fs::write(&input, fixture()).unwrap();
    let sha = sha256_file(&input);
    let ro = dir.path().join("ro");
    // Root ignores directory permissions: a read-only mount is the only
    // destination root cannot write to.
    let mount = if is_root() {
        let m = Mount::tmpfs(&ro, "size=1m").expect("root can mount a tmpfs");
        std::fs::write(ro.join("in-place.dmp"), fixture()).unwrap();
        m.remount("ro");
        Some(m)
    } else {
        std::fs::create_dir(&ro).unwrap();
        std::fs::write(ro.join("in-place.dmp"), fixture()).unwrap();
        std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();
        None
    };
    let out = ro.join("out.dmp");
    let run = dumpscrub([
        "scrub".as_ref(),
        input.as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
    ]);
    assert_refused(&run, &ro, "cannot create a temporary file");
    assert_eq!(listing(&ro), vec!["in-place.dmp".to_string()]);
    assert_eq!(sha256_file(&input), sha);
    let in_place = ro.join("in-place.dmp");
    let run = dumpscrub([
        "scrub".as_ref(),
        in_place.as_os_str(),
        "--in-place".as_ref(),
    ]);
    assert_refused(&run, &ro, "cannot create a temporary file");
    assert_eq!(listing(&ro), vec!["in-place.dmp".to_string()]);
    assert_eq!(std::fs::read(&in_place).unwrap(), fixture());
    drop(mount);
}

/// A 2 MiB input (more than the 1 MiB limits below): the committed
/// fixture with one region of data.
fn two_mib_input(dir: &Path) -> PathBuf {
    let input = dir.join("in.dmp");
    big_dump(&input, 1, 2 << 20);
    input
}

#[test]
fn a_full_file_system_fails_cleanly() {
    if !is_root() {
        eprintln!(
            "not root: the tmpfs part is skipped; the file-size limit test covers the error path"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let input = two_mib_input(dir.path());
    let sha = sha256_file(&input);
    let full = dir.path().join("full");
    let _mount = Mount::tmpfs(&full, "size=1m").expect("root can mount a tmpfs");
    let out = full.join("out.dmp");
    let run = dumpscrub([
        "scrub".as_ref(),
        input.as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
    ]);
    assert_refused(&run, &out, "No space left on device");
    assert!(listing(&full).is_empty(), "{:?}", listing(&full));
    assert_eq!(sha256_file(&input), sha);
}

#[test]
fn a_file_size_limit_fails_cleanly() {
    // The same error path without privileges: RLIMIT_FSIZE makes writes
    // past 1 MiB fail with EFBIG (SIGXFSZ ignored, so the write returns
    // the error instead of killing the process).
    let dir = tempfile::tempdir().unwrap();
    let input = two_mib_input(dir.path());
    let sha = sha256_file(&input);
    let out_dir = dir.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let out = out_dir.join("out.dmp");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dumpscrub"));
    cmd.args([
        "scrub".as_ref(),
        input.as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
    ]);
    // SAFETY: between fork and exec only async-signal-safe calls
    // (signal, setrlimit) are made.
    unsafe {
        cmd.pre_exec(|| {
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            let lim = libc::rlimit {
                rlim_cur: 1 << 20,
                rlim_max: 1 << 20,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let o = cmd.output().unwrap();
    let run = support::Run {
        code: o.status.code(),
        stdout: o.stdout,
        stderr: o.stderr,
    };
    assert_refused(&run, &out, "File too large");
    assert!(listing(&out_dir).is_empty(), "{:?}", listing(&out_dir));
    assert_eq!(sha256_file(&input), sha);
}
