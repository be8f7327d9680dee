//! The whole scan + redact pipeline on arbitrary bytes, parsed as a dump
//! and as raw bytes: `Engine::scrub_file` from a file to a file, exactly as
//! the CLI runs it. Invariants checked on every input:
//! - an output file exists if and only if the scrub returned Ok, and no
//!   temporary file is left behind either way;
//! - the output is exactly as long as the input;
//! - structure bytes (headers, directory, descriptors, contexts) are
//!   unchanged;
//! - every byte that changed became zero and lies inside a finding the
//!   report says was redacted;
//! - the report's SHA-256 of the input and of the output are those of the
//!   bytes read and written (the output's is taken from the input's
//!   mapping and the plan, never from the written file).
#![no_main]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use dumpscrub::findings::Action;
use dumpscrub::{Engine, Options};
use libfuzzer_sys::fuzz_target;
use sha2::{Digest, Sha256};

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

struct Env {
    parsed: Engine,
    raw: Engine,
    dir: tempfile::TempDir,
}

fn env() -> &'static Env {
    static ENV: OnceLock<Env> = OnceLock::new();
    ENV.get_or_init(|| Env {
        parsed: Engine::new(Options::default()).expect("engine"),
        raw: Engine::new(Options {
            raw: true,
            ..Options::default()
        })
        .expect("engine"),
        dir: tempfile::tempdir().expect("temporary directory"),
    })
}

fn check(engine: &Engine, dir: &Path, data: &[u8]) {
    let input = dir.join("in.dmp");
    let output: PathBuf = dir.join("out.dmp");
    std::fs::write(&input, data).expect("write input");
    let _ = std::fs::remove_file(&output);
    let result = engine.scrub_file(&input, &output);
    for e in std::fs::read_dir(dir).expect("list").flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        assert!(!name.starts_with(".dumpscrub-"), "temporary left: {name}");
    }
    assert_eq!(
        std::fs::read(&input).expect("read input"),
        data,
        "input changed"
    );
    let report = match result {
        Ok(report) => report,
        Err(_) => {
            assert!(!output.exists(), "failed scrub left an output");
            return;
        }
    };
    let out = std::fs::read(&output).expect("Ok scrub without an output");
    assert_eq!(out.len(), data.len(), "output length differs");
    assert_eq!(report.sha256.as_deref(), Some(&*sha256_hex(data)), "input hash");
    let reported = report.output.as_ref().map(|o| o.sha256.as_str());
    assert_eq!(reported, Some(&*sha256_hex(&out)), "output hash");
    let layout = engine
        .layout(data, "in.dmp")
        .unwrap_or_else(|_| panic!("scrub succeeded on a file that has no layout"));
    for (s, e) in layout.protected_spans() {
        assert!(
            out[s as usize..e as usize] == data[s as usize..e as usize],
            "structure at {s:#x} changed"
        );
    }
    let mut redacted: Vec<(u64, u64)> = report
        .findings
        .iter()
        .filter(|f| f.action == Action::Redacted)
        .map(|f| (f.offset, f.offset + f.length))
        .collect();
    redacted.sort_unstable();
    // Merged into disjoint sorted spans so one forward walk checks them.
    let mut merged: Vec<(u64, u64)> = Vec::new();
    for (s, e) in redacted {
        match merged.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => merged.push((s, e)),
        }
    }
    let mut spans = merged.iter().peekable();
    for (at, (a, b)) in data.iter().zip(&out).enumerate() {
        if a == b {
            continue;
        }
        let at = at as u64;
        assert_eq!(*b, 0, "byte {at:#x} changed to non-zero");
        while spans.peek().is_some_and(|&&(_, e)| e <= at) {
            spans.next();
        }
        assert!(
            spans.peek().is_some_and(|&&(s, _)| s <= at),
            "byte {at:#x} changed outside every redacted finding"
        );
    }
    std::fs::remove_file(&output).expect("remove output");
}

fuzz_target!(|data: &[u8]| {
    let env = env();
    check(&env.parsed, env.dir.path(), data);
    check(&env.raw, env.dir.path(), data);
});
