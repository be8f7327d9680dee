//! Replays every input the fuzzers ever crashed on (committed under
//! `tests/fuzz-regressions/<target>/` once fixed) through the path its
//! target exercises, in the normal test suite: the layout builder, the
//! detectors, and the real binary with and without `--raw`, whose exit
//! status must be 0 with a complete output or 2 with none.

mod support;

use std::path::{Path, PathBuf};

use dumpscrub::{layout, Engine, Options};

fn inputs(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz-regressions")
        .join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut v: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().is_none_or(|e| e != "md"))
        .collect();
    v.sort();
    v
}

/// Every target directory holds only inputs for a known target, so a
/// regression filed under a misspelt name is not silently skipped.
#[test]
fn regression_directories_name_known_targets() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-regressions");
    for e in std::fs::read_dir(root).unwrap().flatten() {
        if e.path().is_dir() {
            let name = e.file_name().to_string_lossy().into_owned();
            assert!(
                [
                    "minidump_layout",
                    "elf_layout",
                    "pipeline",
                    "detectors",
                    "rule_loader"
                ]
                .contains(&name.as_str()),
                "unknown fuzz target directory {name}"
            );
        }
    }
}

#[test]
fn layout_regressions_do_not_panic() {
    for p in inputs("minidump_layout")
        .into_iter()
        .chain(inputs("pipeline"))
    {
        let data = std::fs::read(&p).unwrap();
        let name = p.display().to_string();
        if let Ok(Some(l)) = layout::build(&data, &name, false) {
            let total: u64 = l.ranges.iter().map(|r| r.len).sum();
            assert_eq!(total, data.len() as u64, "{name}");
        }
    }
}

#[test]
fn detector_regressions_do_not_panic() {
    let engine = Engine::new(Options {
        raw: true,
        ..Options::default()
    })
    .unwrap();
    for p in inputs("detectors") {
        engine
            .scan_file(&p)
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    }
}

/// Malformed dumps from other projects' corpora, replayed beside the
/// fuzzers' finds: until a fuzzer finds something, they keep this path
/// exercised on real hostile input (one is refused, one parses).
fn known_hostile() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/public");
    [
        "rust-minidump-invalid-range.dmp",
        "rust-minidump-invalid-record-count.dmp",
    ]
    .iter()
    .map(|n| dir.join(n))
    .collect()
}

#[test]
fn pipeline_regressions_exit_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    for p in inputs("pipeline")
        .into_iter()
        .chain(inputs("minidump_layout"))
        .chain(inputs("elf_layout"))
        .chain(known_hostile())
    {
        let data = std::fs::read(&p).unwrap();
        let input = dir.path().join("in.dmp");
        std::fs::write(&input, &data).unwrap();
        for raw in [false, true] {
            let out = dir.path().join("out.dmp");
            let mut args = vec![
                "scrub".as_ref(),
                input.as_os_str(),
                "-o".as_ref(),
                out.as_os_str(),
            ];
            if raw {
                args.push("--raw".as_ref());
            }
            let run = support::dumpscrub(&args);
            let what = format!("{} (raw {raw})", p.display());
            match run.code {
                Some(0) => {
                    assert_eq!(std::fs::read(&out).unwrap().len(), data.len(), "{what}");
                }
                Some(2) => {
                    assert!(!out.exists(), "{what}: output left");
                    assert!(
                        run.stderr_text().contains(&input.display().to_string()),
                        "{what}: {}",
                        run.stderr_text()
                    );
                    assert!(!raw, "{what}: --raw refused a readable file");
                }
                other => panic!("{what}: exit {other:?}: {}", run.stderr_text()),
            }
            assert_eq!(
                std::fs::read(&input).unwrap(),
                data,
                "{what}: input changed"
            );
            let _ = std::fs::remove_file(&out);
        }
    }
}
