//! Minidumps written by other projects (`fixtures/public/`, see its
//! SOURCES.md): the parser must read the valid ones without false
//! positives, and reject or handle the malformed ones with a message that
//! names the file — never a panic.

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use minidump::{Minidump, MinidumpMemory64List, MinidumpMemoryList, MinidumpThreadList};
use serde_json::Value;

use support::{dumpscrub, sha256, Run};

/// Valid dumps: they must parse, and scan to exactly the findings listed in
/// `EXPECTED_FINDINGS`.
const VALID: &[&str] = &[
    "lldb14-linux-x86_64.dmp",
    "lldb14-linux-x86_64_not_crashed.dmp",
    "lldb14-unittest-linux-x86_64.dmp",
    "lldb14-win-fizzbuzz_no_heap.dmp",
    "lldb14-win-fizzbuzz_wow64-fullmem.dmp",
    "lldb14-win-sigsegv.dmp",
    "rust-minidump-linux-mini.dmp",
    "rust-minidump-pipeline-inlines-macos-segv.dmp",
    "rust-minidump-simple-crashpad.dmp",
    "rust-minidump-test.dmp",
];

/// (file, rule) pairs the valid dumps are expected to produce, each with
/// the reason it is a true finding. None holds a secret: every entry added
/// here needs a comment saying which bytes match and why they are (or
/// look like) a credential.
const EXPECTED_FINDINGS: &[(&str, &str)] = &[
    // Low confidence (reported, not redacted): DIRENV_WATCHES, direnv's zlib-compressed, base64url-encoded
    // list of watched files.
    ("rust-minidump-simple-crashpad.dmp", "entropy-token"),
];

/// What dumpscrub does with a dump that is malformed (or named so).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Read as a minidump: scan exits 0 and scrub writes an identical copy.
    Parses,
    /// Refused: exit 2 and a message naming the file.
    Rejected,
}

/// The dumps the corpus marks as malformed, and what dumpscrub does with
/// each (as observed, and as it should: either is acceptable; a panic is
/// not).
const MALFORMED: &[(&str, Outcome)] = &[
    // rust-minidump's test of an exception with STATUS_INVALID_PARAMETER:
    // the file itself is well formed.
    ("rust-minidump-invalid-parameter.dmp", Outcome::Parses),
    // The first directory entry's stream lies at 0x20000 in a 276-byte file.
    ("rust-minidump-invalid-range.dmp", Outcome::Rejected),
    // A directory entry's location runs far past the end of the 235-byte
    // file (and a list stream's record count does not fit its size).
    ("rust-minidump-invalid-record-count.dmp", Outcome::Rejected),
    // LLDB's unit-test dump of a Memory64List: every stream and both
    // regions lie within the file, so it reads as a (tiny) valid dump.
    ("lldb14-regions-memlist64.dmp", Outcome::Parses),
];

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/public")
}

fn corpus(name: &str) -> PathBuf {
    corpus_dir().join(name)
}

fn assert_no_panic(what: &str, run: &Run) {
    assert!(
        matches!(run.code, Some(0..=2)),
        "{what}: exit {:?} (101 is a panic, None a signal); stderr: {}",
        run.code,
        run.stderr_text()
    );
    assert!(
        !run.stderr_text().contains("panicked"),
        "{what}: panicked: {}",
        run.stderr_text()
    );
}

fn scan_json(path: &Path) -> (Run, Value) {
    let run = dumpscrub([
        "scan".as_ref(),
        path.as_os_str(),
        "--report".as_ref(),
        "-".as_ref(),
    ]);
    assert_no_panic(&format!("scan {}", path.display()), &run);
    let report = run.json();
    (run, report)
}

fn rules_found(file: &Value) -> BTreeSet<String> {
    file["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["rule"].as_str().unwrap().to_string())
        .collect()
}

/// File spans of the memory a dump declares (MemoryList, Memory64List and
/// thread stacks), merged, as the `minidump` crate reads them.
fn declared_memory_bytes(data: &[u8]) -> u64 {
    let dump = Minidump::read(data).expect("parses");
    let base = data.as_ptr() as usize;
    let mut spans: Vec<(u64, u64)> = Vec::new();
    if let Ok(list) = dump.get_stream::<MinidumpMemoryList>() {
        for m in list.iter() {
            let at = (m.bytes.as_ptr() as usize - base) as u64;
            spans.push((at, at + m.bytes.len() as u64));
        }
    }
    if let Ok(list) = dump.get_stream::<MinidumpMemory64List>() {
        for m in list.iter() {
            let at = (m.bytes.as_ptr() as usize - base) as u64;
            spans.push((at, at + m.bytes.len() as u64));
        }
    }
    if let Ok(threads) = dump.get_stream::<MinidumpThreadList>() {
        for t in &threads.threads {
            let loc = t.raw.stack.memory;
            let end = loc.rva as u64 + loc.data_size as u64;
            // RVA 0 is how full-memory Windows dumps say "in the
            // Memory64List": not a span of the file.
            if loc.rva != 0 && loc.data_size > 0 && end <= data.len() as u64 {
                spans.push((loc.rva as u64, end));
            }
        }
    }
    spans.retain(|s| s.0 < s.1);
    spans.sort_unstable();
    let mut total = 0;
    let mut cur: Option<(u64, u64)> = None;
    for (s, e) in spans {
        match cur {
            Some((cs, ce)) if s <= ce => cur = Some((cs, ce.max(e))),
            Some((cs, ce)) => {
                total += ce - cs;
                cur = Some((s, e));
            }
            None => cur = Some((s, e)),
        }
    }
    if let Some((cs, ce)) = cur {
        total += ce - cs;
    }
    total
}

#[test]
fn fixtures_match_their_recorded_sources() {
    let sources =
        std::fs::read_to_string(corpus("SOURCES.md")).expect("fixtures/public/SOURCES.md");
    let mut listed = BTreeSet::new();
    for line in sources.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        // | file | origin | path in origin | licence | sha256 |
        if cells.len() != 7 || !cells[1].ends_with(".dmp") {
            continue;
        }
        let (name, hash) = (cells[1], cells[5]);
        let data = std::fs::read(corpus(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            sha256(&data),
            hash,
            "{name} differs from its recorded source"
        );
        assert!(
            !cells[2].is_empty() && !cells[4].is_empty(),
            "{name}: origin and licence"
        );
        listed.insert(name.to_string());
    }
    let present: BTreeSet<String> = std::fs::read_dir(corpus_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".dmp"))
        .collect();
    assert_eq!(
        listed, present,
        "every fixture has an attribution row, every row a file"
    );
    let tested: BTreeSet<String> = VALID
        .iter()
        .copied()
        .chain(MALFORMED.iter().map(|m| m.0))
        .map(String::from)
        .collect();
    assert_eq!(
        tested, present,
        "every fixture is classified as valid or malformed"
    );
}

/// Runs `check` on every file, so one failure does not hide the others;
/// fails at the end, listing the files that failed.
fn each(names: &[&str], check: impl Fn(&str) + std::panic::RefUnwindSafe) {
    let failed: Vec<&str> = names
        .iter()
        .copied()
        .filter(|name| std::panic::catch_unwind(|| check(name)).is_err())
        .collect();
    assert!(failed.is_empty(), "failed for: {failed:?}");
}

#[test]
fn valid_dumps_scan_to_the_expected_findings() {
    each(VALID, |name| {
        let path = corpus(name);
        let data = std::fs::read(&path).unwrap();
        let (run, report) = scan_json(&path);
        let file = &report["files"][0];
        assert_eq!(file["status"], "ok", "{name}: {file}");
        assert_eq!(file["format"], "minidump", "{name}");
        assert_eq!(file["size"].as_u64(), Some(data.len() as u64), "{name}");
        assert_eq!(
            file["sha256"].as_str(),
            Some(sha256(&data).as_str()),
            "{name}"
        );

        let expected: BTreeSet<String> = EXPECTED_FINDINGS
            .iter()
            .filter(|(f, _)| *f == name)
            .map(|(_, r)| r.to_string())
            .collect();
        assert_eq!(
            rules_found(file),
            expected,
            "{name}: unexpected findings: {file}"
        );
        // The expected findings are all low confidence: nothing in these
        // dumps may be redacted at the default threshold (scan exits 1
        // only for findings it would redact), so a scrub leaves them
        // byte-identical.
        let want = 0;
        assert_eq!(run.code, Some(want), "{name}: {}", run.stderr_text());

        // Every byte accounted for and scanned.
        let b = &file["bytes"];
        let sum: u64 = ["structure", "memory", "streams", "unreferenced"]
            .iter()
            .map(|k| b[k].as_u64().unwrap())
            .sum();
        assert_eq!(
            sum,
            data.len() as u64,
            "{name}: byte kinds do not sum to the size"
        );
        assert_eq!(b["scanned"].as_u64(), Some(data.len() as u64), "{name}");
        assert_eq!(b["scanned_percent"].as_f64(), Some(100.0), "{name}");
        assert_eq!(b["not_scanned"].as_array().map(Vec::len), Some(0), "{name}");
        // The memory the layout labels is the memory the dump declares.
        assert_eq!(
            b["memory"].as_u64(),
            Some(declared_memory_bytes(&data)),
            "{name}: memory bytes differ from the regions the minidump crate reads"
        );
        // Entries in the stream directory, as the header counts them.
        let count = u32::from_le_bytes(data[8..12].try_into().unwrap());
        assert_eq!(
            file["stats"]["streams"].as_u64(),
            Some(count as u64),
            "{name}"
        );
    });
}

#[test]
fn full_memory_dump_is_read_through_its_memory64_list() {
    let name = "lldb14-win-fizzbuzz_wow64-fullmem.dmp";
    let data = std::fs::read(corpus(name)).unwrap();
    let dump = Minidump::read(data.as_slice()).unwrap();
    let list = dump
        .get_stream::<MinidumpMemory64List>()
        .expect("Memory64List");
    let regions = list.iter().count() as u64;
    let bytes: u64 = list.iter().map(|m| m.size).sum();
    assert!(regions > 100 && bytes > 8_000_000);
    let (_, report) = scan_json(&corpus(name));
    let file = &report["files"][0];
    // Exactly the Memory64List: in a full-memory dump the thread list's
    // stack descriptors have RVA 0 ("the bytes are in the memory list"),
    // and must not label the file's first bytes as stack memory.
    assert_eq!(file["bytes"]["memory"].as_u64(), Some(bytes));
    assert!(!dump
        .get_stream::<MinidumpThreadList>()
        .unwrap()
        .threads
        .is_empty());
    assert_eq!(file["stats"]["regions"].as_u64(), Some(regions));
    // Big enough to be cut into several chunks for the parallel scan.
    assert!(
        file["stats"]["chunks"].as_u64().unwrap() > 1,
        "{}",
        file["stats"]
    );
}

/// Scrubs `name`; with no findings the output must be byte-identical.
/// Returns the output.
fn scrub_unchanged(name: &str) -> Vec<u8> {
    let path = corpus(name);
    let data = std::fs::read(&path).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join(name);
    let run = dumpscrub([
        "scrub".as_ref(),
        path.as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
        "--report".as_ref(),
        "-".as_ref(),
    ]);
    assert_no_panic(&format!("scrub {name}"), &run);
    assert_eq!(run.code, Some(0), "scrub {name}: {}", run.stderr_text());
    let report = run.json();
    let file = &report["files"][0];
    let output = std::fs::read(&out).unwrap();
    assert_eq!(
        file["output"]["sha256"].as_str(),
        Some(sha256(&output).as_str()),
        "{name}"
    );
    assert_eq!(
        std::fs::read(&path).unwrap(),
        data,
        "scrub modified the input {name}"
    );
    // Findings reported but not redacted (low confidence) change nothing.
    if file["findings"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["action"] != "redacted")
    {
        assert_eq!(file["summary"]["bytes_redacted"], 0, "{name}");
        assert!(
            output == data,
            "{name}: nothing found, yet the output differs"
        );
    }
    output
}

#[test]
fn valid_dumps_scrub_to_identical_parseable_copies() {
    each(VALID, |name| {
        let output = scrub_unchanged(name);
        let dump = Minidump::read(output.as_slice())
            .unwrap_or_else(|e| panic!("{name}: the scrubbed copy does not parse: {e}"));
        assert!(dump.all_streams().count() > 0, "{name}");
    });
}

#[test]
fn malformed_dumps_are_handled_without_panic() {
    for &(name, outcome) in MALFORMED {
        let path = corpus(name);
        let shown = path.display().to_string();
        let (run, report) = scan_json(&path);
        let file = &report["files"][0];
        match outcome {
            Outcome::Parses => {
                assert_eq!(run.code, Some(0), "scan {name}: {}", run.stderr_text());
                assert_eq!(file["status"], "ok", "{name}");
                let output = scrub_unchanged(name);
                Minidump::read(output.as_slice())
                    .unwrap_or_else(|e| panic!("{name}: the scrubbed copy does not parse: {e}"));
            }
            Outcome::Rejected => {
                assert_eq!(run.code, Some(2), "scan {name}: {}", run.stderr_text());
                assert_eq!(file["status"], "error", "{name}");
                assert!(
                    file["error"].as_str().is_some_and(|e| e.contains(&shown)),
                    "{name}: the report's error does not name the file: {file}"
                );
                assert!(
                    run.stderr_text().contains(&shown),
                    "{name}: stderr does not name the file: {}",
                    run.stderr_text()
                );
                let tmp = tempfile::tempdir().unwrap();
                let out = tmp.path().join("out.dmp");
                let run = dumpscrub([
                    "scrub".as_ref(),
                    path.as_os_str(),
                    "-o".as_ref(),
                    out.as_os_str(),
                ]);
                assert_no_panic(&format!("scrub {name}"), &run);
                assert_eq!(run.code, Some(2), "scrub {name}");
                assert!(
                    run.stderr_text().contains(&shown),
                    "scrub {name}: {}",
                    run.stderr_text()
                );
                assert_eq!(
                    std::fs::read_dir(tmp.path()).unwrap().count(),
                    0,
                    "scrub {name} left a file behind"
                );
                // --raw is the explicit way through.
                let run = dumpscrub([
                    "scrub".as_ref(),
                    path.as_os_str(),
                    "-o".as_ref(),
                    out.as_os_str(),
                    "--raw".as_ref(),
                ]);
                assert_eq!(
                    run.code,
                    Some(0),
                    "scrub --raw {name}: {}",
                    run.stderr_text()
                );
                assert_eq!(
                    std::fs::read(&out).unwrap().len(),
                    std::fs::read(&path).unwrap().len()
                );
            }
        }
    }
}

#[test]
fn walking_the_corpus_reports_every_file() {
    let dir = corpus_dir();
    let run = dumpscrub([
        "scan".as_ref(),
        dir.as_os_str(),
        "--report".as_ref(),
        "-".as_ref(),
    ]);
    assert_no_panic("scan fixtures/public", &run);
    let rejected = MALFORMED
        .iter()
        .filter(|m| m.1 == Outcome::Rejected)
        .count();
    // Errors in some files make the run exit 2; the others are still
    // reported.
    assert_eq!(
        run.code,
        Some(if rejected > 0 { 2 } else { 0 }),
        "{}",
        run.stderr_text()
    );
    let report = run.json();
    let files = report["files"].as_array().unwrap();
    let status = |name: &str| -> String {
        let want = dir.join(name).display().to_string();
        let f = files
            .iter()
            .find(|f| f["path"].as_str() == Some(want.as_str()))
            .unwrap_or_else(|| panic!("{name} is not in the report"));
        f["status"].as_str().unwrap().to_string()
    };
    assert_eq!(status("SOURCES.md"), "skipped");
    for &name in VALID {
        assert_eq!(status(name), "ok", "{name}");
    }
    for &(name, outcome) in MALFORMED {
        let want = match outcome {
            Outcome::Parses => "ok",
            Outcome::Rejected => "error",
        };
        assert_eq!(status(name), want, "{name}");
    }
    assert_eq!(files.len(), VALID.len() + MALFORMED.len() + 1);
    let s = &report["summary"];
    assert_eq!(s["files"].as_u64(), Some(files.len() as u64));
    assert_eq!(s["skipped"], 1);
    assert_eq!(s["errors"].as_u64(), Some(rejected as u64));
    let with_findings: BTreeSet<&str> = EXPECTED_FINDINGS.iter().map(|f| f.0).collect();
    assert_eq!(
        s["files_with_findings"].as_u64(),
        Some(with_findings.len() as u64)
    );
}
