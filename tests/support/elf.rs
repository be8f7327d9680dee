//! Real ELF core dumps of the secret holder (see the parent module): one
//! written by gdb's `gcore` while the holder runs, one written by the
//! kernel when the holder is killed by SIGABRT.
//!
//! The holder is started with a short `argv[0]` and its secret argument
//! first, so that the argument fits in the 80 bytes of the core's
//! `NT_PRPSINFO.pr_psargs` as well as sitting on the main stack.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::{generate_with, Ending, Fixture, HolderSetup};

const KERNEL_PATTERN: &str = "/proc/sys/kernel/core_pattern";

fn setup(cwd: Option<PathBuf>) -> HolderSetup {
    HolderSetup {
        arg0: Some("holder".into()),
        secret_arg_first: true,
        cwd,
        // One malloc arena: a thread arena reserves 64 MiB of PROT_NONE
        // address space, which gcore (unlike the kernel) writes out in
        // full, making the core 20 times larger for nothing.
        env: vec![("MALLOC_ARENA_MAX".into(), "1".into())],
    }
}

/// A core of the live holder written by `gcore` (gdb), at `dump`.
pub fn gcore(dump: &Path) -> Fixture {
    let dumper = |pid: u32, _: &[(u64, u64)], dump: &Path| -> Result<Ending, String> {
        let prefix = dump.with_extension("gcore");
        let out = Command::new("gcore")
            .arg("-o")
            .arg(&prefix)
            .arg(pid.to_string())
            .output()
            .map_err(|e| format!("run gcore (is gdb installed?): {e}"))?;
        let written = PathBuf::from(format!("{}.{pid}", prefix.display()));
        if !out.status.success() || !written.exists() {
            return Err(format!(
                "gcore failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        std::fs::rename(&written, dump).map_err(|e| format!("rename the gcore output: {e}"))?;
        Ok(Ending::Exits)
    };
    generate_with(dump, &setup(None), &dumper)
}

/// Restores `core_pattern` when a test had to change it.
struct PatternGuard(Option<String>);

impl Drop for PatternGuard {
    fn drop(&mut self) {
        if let Some(old) = self.0.take() {
            let _ = std::fs::write(KERNEL_PATTERN, old);
        }
    }
}

/// A core of the holder written by the kernel (RLIMIT_CORE raised with
/// `prlimit`, then SIGABRT), moved to `dump`. `Err` says why the kernel
/// cannot write one here, for a test to print when it skips.
pub fn kernel_core(dump: &Path) -> Result<Fixture, String> {
    let pattern = std::fs::read_to_string(KERNEL_PATTERN)
        .map_err(|e| format!("cannot read {KERNEL_PATTERN}: {e}"))?;
    let pattern = pattern.trim_end().to_string();
    // A relative file pattern lands in the holder's working directory; a
    // pipe (systemd-coredump, apport) or an absolute path does not, so
    // point it at the working directory for the length of the test.
    let _guard = if pattern.is_empty() || pattern.starts_with('|') || pattern.starts_with('/') {
        std::fs::write(KERNEL_PATTERN, "core").map_err(|e| {
            format!("core_pattern is {pattern:?} and cannot be set to a file pattern: {e}")
        })?;
        PatternGuard(Some(pattern.clone()))
    } else {
        PatternGuard(None)
    };
    let cwd = dump
        .parent()
        .expect("dump path has a parent")
        .join("kernel-core-cwd");
    let _ = std::fs::remove_dir_all(&cwd);
    std::fs::create_dir_all(&cwd).map_err(|e| format!("create {}: {e}", cwd.display()))?;

    let dumper = |pid: u32, _: &[(u64, u64)], _: &Path| -> Result<Ending, String> {
        let pid = pid.to_string();
        let limit = Command::new("prlimit")
            .args(["--pid", &pid, "--core=unlimited:unlimited"])
            .output()
            .map_err(|e| format!("run prlimit: {e}"))?;
        if !limit.status.success() {
            return Err(format!(
                "prlimit could not raise RLIMIT_CORE: {}",
                String::from_utf8_lossy(&limit.stderr)
            ));
        }
        let kill = Command::new("kill")
            .args(["-ABRT", &pid])
            .status()
            .map_err(|e| format!("run kill: {e}"))?;
        if !kill.success() {
            return Err(format!("kill -ABRT {pid} failed: {kill}"));
        }
        Ok(Ending::Signalled)
    };
    let mut fixture = generate_with(dump, &setup(Some(cwd.clone())), &dumper);

    // The holder has been reaped, so the kernel has finished writing.
    let cores: Vec<PathBuf> = std::fs::read_dir(&cwd)
        .map_err(|e| format!("read {}: {e}", cwd.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    let [core] = cores.as_slice() else {
        return Err(format!(
            "the kernel wrote no core for the aborted holder (core_pattern {pattern:?}; found {cores:?} in its working directory)"
        ));
    };
    std::fs::rename(core, dump).map_err(|e| format!("move the kernel core: {e}"))?;
    let _ = std::fs::remove_dir_all(&cwd);
    fixture.dump = dump.to_path_buf();
    Ok(fixture)
}

/// The frame lines (`#0 …`) of `gdb -batch -ex bt -c core binary`.
pub fn gdb_backtrace(core: &Path, binary: &Path) -> Vec<String> {
    let out = Command::new("gdb")
        .args(["-nx", "-batch", "-iex", "set debuginfod enabled off"])
        .args(["-ex", "bt", "-c"])
        .arg(core)
        .arg(binary)
        .output()
        .expect("run gdb");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with('#'))
        .map(str::to_string)
        .collect()
}
