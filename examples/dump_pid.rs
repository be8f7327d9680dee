//! Writes a minidump of a running Linux process, for measuring detectors
//! on ordinary processes (docs/detectors.md, "Generic secrets").
//!
//! ```sh
//! cargo run --example dump_pid -- PID OUT.dmp [--heap]
//! ```
//!
//! Without `--heap` the dump holds what minidump-writer writes by default
//! (thread stacks, module list, /proc files). With `--heap` every private
//! writable mapping (the heap, anonymous memory, data sections) is added
//! as application memory, up to 512 MiB, so the dump looks like a
//! full-memory crash dump. Needs ptrace rights over the process (root, or
//! `kernel.yama.ptrace_scope = 0`).

use std::process::ExitCode;

use minidump_writer::app_memory::AppMemory;
use minidump_writer::minidump_writer::MinidumpWriterConfig;

const HEAP_LIMIT: usize = 512 << 20;

fn writable_mappings(pid: i32) -> std::io::Result<Vec<AppMemory>> {
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps"))?;
    let mut out = Vec::new();
    let mut total = 0usize;
    for line in maps.lines() {
        let mut fields = line.split_whitespace();
        let (Some(range), Some(perms)) = (fields.next(), fields.next()) else {
            continue;
        };
        // Private, readable and writable; not the vvar/vsyscall pages.
        if !perms.starts_with("rw") || !perms.ends_with('p') || line.contains("[v") {
            continue;
        }
        let Some((lo, hi)) = range.split_once('-') else {
            continue;
        };
        let (Ok(lo), Ok(hi)) = (usize::from_str_radix(lo, 16), usize::from_str_radix(hi, 16))
        else {
            continue;
        };
        let length = hi.saturating_sub(lo);
        if total + length > HEAP_LIMIT {
            break;
        }
        total += length;
        out.push(AppMemory { ptr: lo, length });
    }
    Ok(out)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let heap = args.iter().any(|a| a == "--heap");
    let pos: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let (Some(pid), Some(out)) = (pos.first(), pos.get(1)) else {
        eprintln!("usage: dump_pid PID OUT.dmp [--heap]");
        return ExitCode::from(2);
    };
    let Ok(pid) = pid.parse::<i32>() else {
        eprintln!("dump_pid: {pid}: not a process id");
        return ExitCode::from(2);
    };
    let mut config = MinidumpWriterConfig::new(pid, pid);
    if heap {
        match writable_mappings(pid) {
            Ok(m) => {
                config.set_app_memory(m);
            }
            Err(e) => {
                eprintln!("dump_pid: /proc/{pid}/maps: {e}");
                return ExitCode::from(2);
            }
        }
    }
    let mut file = match std::fs::File::create(out) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("dump_pid: {out}: {e}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = config.write(&mut file) {
        eprintln!("dump_pid: minidump-writer: {e:?}");
        let _ = std::fs::remove_file(out);
        return ExitCode::from(2);
    }
    ExitCode::SUCCESS
}
