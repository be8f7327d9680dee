//! End-to-end tests through the real `dumpscrub` binary, on a real minidump
//! of a live process that holds planted secrets (see `support::generate`).
//!
//! The dump is generated once per run of this test binary; every test below
//! reads it and writes only to its own temporary directory.

mod support;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use minidump::{Minidump, MinidumpMemoryList, MinidumpThreadList};
use serde::Deserialize;
use serde_json::Value;

use support::{
    contains, dumpscrub, find_all, rule, sha256, sha256_file, utf16le, Enc, Fixture, Place,
    Planted, Run, LINUX_CMD_LINE, LINUX_ENVIRON,
};

/// The holder process (see `support`): does nothing in a normal run.
#[test]
fn secret_holder_process() {
    support::secret_holder_main();
}

// ---------------------------------------------------------------------------
// Shared state: the generated dump and one baseline scrub of it
// ---------------------------------------------------------------------------

fn fixture() -> &'static Fixture {
    support::planted("e2e_scrub")
}

/// The input, scrubbed once with a JSON report on stdout.
struct Baseline {
    input: Vec<u8>,
    output: Vec<u8>,
    run: Run,
    report: Value,
    file: FileReport,
}

fn baseline() -> &'static Baseline {
    static BASELINE: OnceLock<Baseline> = OnceLock::new();
    BASELINE.get_or_init(|| {
        let fx = fixture();
        let dir = support::scratch_dir("e2e_scrub").join("baseline");
        std::fs::create_dir_all(&dir).unwrap();
        let out = dir.join("scrubbed.dmp");
        let _ = std::fs::remove_file(&out);
        let input = std::fs::read(&fx.dump).unwrap();
        let run = dumpscrub([
            "scrub".as_ref(),
            fx.dump.as_os_str(),
            "-o".as_ref(),
            out.as_os_str(),
            "--report".as_ref(),
            "-".as_ref(),
        ]);
        assert_eq!(run.code, Some(0), "scrub failed: {}", run.stderr_text());
        let report = run.json();
        let file = file_report(&report, 0);
        let output = std::fs::read(&out).expect("scrub wrote its output");
        Baseline {
            input,
            output,
            run,
            report,
            file,
        }
    })
}

// ---------------------------------------------------------------------------
// The report, as the tests read it
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Deserialize, PartialEq)]
struct FileReport {
    path: String,
    status: String,
    error: Option<String>,
    format: Option<String>,
    size: Option<u64>,
    sha256: Option<String>,
    output: Option<OutputInfo>,
    bytes: Option<Bytes>,
    summary: FileSummary,
    findings: Vec<Finding>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
struct OutputInfo {
    path: String,
    sha256: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
struct Bytes {
    structure: u64,
    memory: u64,
    streams: u64,
    unreferenced: u64,
    scanned: u64,
    scanned_percent: f64,
    not_scanned: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
struct FileSummary {
    findings: usize,
    by_rule: BTreeMap<String, usize>,
    bytes_redacted: u64,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
struct Finding {
    rule: String,
    description: String,
    confidence: String,
    encoding: String,
    range: String,
    stream: String,
    stream_type: Option<u32>,
    stream_index: Option<u32>,
    offset: u64,
    length: u64,
    virtual_address: Option<String>,
    action: String,
    fingerprint: String,
    preview: String,
}

impl Finding {
    fn end(&self) -> u64 {
        self.offset + self.length
    }

    fn vaddr(&self) -> Option<u64> {
        self.virtual_address.as_ref().map(|v| {
            u64::from_str_radix(
                v.strip_prefix("0x")
                    .expect("virtual_address starts with 0x"),
                16,
            )
            .expect("virtual_address is hex")
        })
    }

    fn covers(&self, start: u64, len: u64) -> bool {
        self.offset <= start && start + len <= self.end()
    }
}

fn file_report(report: &Value, i: usize) -> FileReport {
    serde_json::from_value(report["files"][i].clone()).unwrap_or_else(|e| {
        panic!("files[{i}] does not have the documented shape: {e}\n{report:#}")
    })
}

/// Merged, sorted spans of the findings whose action is `action`.
fn spans(findings: &[Finding], action: &str) -> Vec<(u64, u64)> {
    support::merge_spans(
        findings
            .iter()
            .filter(|f| f.action == action)
            .map(|f| (f.offset, f.end())),
    )
}

fn in_spans(spans: &[(u64, u64)], at: u64) -> bool {
    let i = spans.partition_point(|&(_, e)| e <= at);
    spans.get(i).is_some_and(|&(s, _)| s <= at)
}

// ---------------------------------------------------------------------------
// Leak checks
// ---------------------------------------------------------------------------

/// Length of the pieces of planted values the leak check looks for.
const LEAK_WINDOW: usize = 12;

/// Every `LEAK_WINDOW`-character piece of every planted value (none is
/// shorter), in ASCII and in UTF-16LE, with the rule it belongs to: any of
/// them in the tool's output would be (part of) a secret.
fn leak_windows() -> &'static HashMap<Vec<u8>, &'static str> {
    static WINDOWS: OnceLock<HashMap<Vec<u8>, &'static str>> = OnceLock::new();
    WINDOWS.get_or_init(|| {
        let mut map = HashMap::new();
        for s in &fixture().secrets {
            assert!(s.value.len() >= LEAK_WINDOW);
            for w in s.value.as_bytes().windows(LEAK_WINDOW) {
                if !w.contains(&b'\n') {
                    map.insert(w.to_vec(), s.rule);
                    map.insert(utf16le(std::str::from_utf8(w).unwrap()), s.rule);
                }
            }
        }
        map
    })
}

/// Fails if `text` holds a piece of a planted secret. The message says
/// where, never what.
fn assert_no_leak(what: &str, text: &[u8]) {
    let windows = leak_windows();
    for len in [LEAK_WINDOW, 2 * LEAK_WINDOW] {
        for (i, w) in text.windows(len).enumerate() {
            if let Some(rule) = windows.get(w) {
                panic!("{what} contains {LEAK_WINDOW} characters of a planted {rule} secret at byte {i}");
            }
        }
    }
}

fn assert_run_clean(what: &str, run: &Run) {
    assert_no_leak(&format!("{what}: stdout"), &run.stdout);
    assert_no_leak(&format!("{what}: stderr"), &run.stderr);
}

/// Every byte encoding of a planted value a scrubber must remove.
fn encodings(s: &Planted) -> [Vec<u8>; 2] {
    [s.value.as_bytes().to_vec(), utf16le(&s.value)]
}

// ---------------------------------------------------------------------------
// Generator sanity: the planted dump really holds what the tests look for
// ---------------------------------------------------------------------------

#[test]
fn generated_dump_holds_the_planted_secrets() {
    let fx = fixture();
    let data = std::fs::read(&fx.dump).unwrap();
    let dump = Minidump::read(data.clone()).expect("the generated dump parses");
    let mem = dump.get_stream::<MinidumpMemoryList>().expect("MemoryList");
    let rules: BTreeSet<&str> = fx.secrets.iter().map(|s| s.rule).collect();
    assert_eq!(
        rules,
        rule::PLANTED.iter().copied().collect(),
        "every planted rule is used"
    );
    for s in &fx.secrets {
        assert!(
            !find_all(&data, &s.bytes()).is_empty(),
            "{} ({:?}, {:?}) is not in the dump",
            s.rule,
            s.enc,
            s.place
        );
        if let Place::Heap { vaddr } | Place::Stack { vaddr } = s.place {
            let region = mem
                .memory_at_address(vaddr)
                .unwrap_or_else(|| panic!("{:#x} ({}) is not in the MemoryList", vaddr, s.rule));
            let off = (vaddr - region.base_address) as usize;
            assert_eq!(
                &region.bytes[off..off + s.bytes().len()],
                &s.bytes()[..],
                "{} at {vaddr:#x}",
                s.rule
            );
        }
    }
    // Both UTF-16LE alignments are exercised.
    let odd = fx.secrets.iter().any(|s| {
        s.enc == Enc::Utf16le
            && matches!(s.place, Place::Heap { vaddr } | Place::Stack { vaddr } if vaddr % 2 == 1)
    });
    let even = fx.secrets.iter().any(|s| {
        s.enc == Enc::Utf16le
            && matches!(s.place, Place::Heap { vaddr } | Place::Stack { vaddr } if vaddr % 2 == 0)
    });
    assert!(odd && even, "UTF-16LE secrets at both alignments");
}

// ---------------------------------------------------------------------------
// (a) (b) (c): the output
// ---------------------------------------------------------------------------

#[test]
fn scrub_writes_an_output_of_the_same_size() {
    let b = baseline();
    assert_eq!(b.output.len(), b.input.len());
    assert_ne!(b.output, b.input, "nothing was scrubbed");
    assert_eq!(
        sha256_file(&fixture().dump),
        sha256(&b.input),
        "the input was modified"
    );
}

#[test]
fn no_planted_secret_survives_in_any_encoding() {
    let fx = fixture();
    let b = baseline();
    for s in &fx.secrets {
        for enc in encodings(s) {
            let left = find_all(&b.output, &enc);
            assert!(
                left.is_empty(),
                "{} ({:?}) survives at offsets {left:?}",
                s.rule,
                s.place
            );
        }
    }
}

#[test]
fn only_redacted_spans_change_and_they_are_zero() {
    let b = baseline();
    let findings = &b.file.findings;
    assert!(!findings.is_empty());
    for f in findings {
        assert!(f.end() <= b.input.len() as u64, "finding past EOF: {f:?}");
        assert!(f.length > 0, "empty finding: {f:?}");
    }
    let redacted = spans(findings, "redacted");
    let mut zeroed = 0u64;
    for (i, (&x, &y)) in b.input.iter().zip(&b.output).enumerate() {
        if in_spans(&redacted, i as u64) {
            assert_eq!(y, 0, "byte {i:#x} in a redacted span is not zero");
            zeroed += 1;
        } else {
            assert_eq!(x, y, "byte {i:#x} outside every redacted span changed");
        }
    }
    assert_eq!(b.file.summary.bytes_redacted, zeroed, "bytes_redacted");
}

// ---------------------------------------------------------------------------
// (d) (e): the output is still the same dump to standard tooling
// ---------------------------------------------------------------------------

use support::keys::shape;

#[test]
fn output_parses_with_the_same_structure() {
    let b = baseline();
    let before = shape(&b.input);
    let after = shape(&b.output);
    assert!(
        before.threads.len() >= 2,
        "the holder has at least two threads"
    );
    assert!(!before.modules.is_empty() && !before.memory.is_empty());
    assert_eq!(before, after);
}

use support::keys::unwind;

#[test]
fn threads_unwind_to_the_same_frames() {
    let b = baseline();
    let before = unwind(&b.input);
    let after = unwind(&b.output);
    assert!(
        before.iter().any(|(_, frames)| frames.len() > 2),
        "no thread unwound past two frames: {before:?}"
    );
    assert_eq!(before, after);
}

// ---------------------------------------------------------------------------
// (f) idempotence, (i) scan, (j) determinism, (k) in place
// ---------------------------------------------------------------------------

#[test]
fn scrubbing_the_output_again_changes_nothing() {
    let b = baseline();
    let tmp = tempfile::tempdir().unwrap();
    let first = tmp.path().join("first.dmp");
    std::fs::write(&first, &b.output).unwrap();
    let second = tmp.path().join("second.dmp");
    let run = dumpscrub([
        "scrub".as_ref(),
        first.as_os_str(),
        "-o".as_ref(),
        second.as_os_str(),
        "--report".as_ref(),
        "-".as_ref(),
    ]);
    assert_run_clean("second scrub", &run);
    assert_eq!(run.code, Some(0), "{}", run.stderr_text());
    let report = file_report(&run.json(), 0);
    assert_eq!(report.summary.bytes_redacted, 0);
    assert!(
        report.findings.iter().all(|f| f.action != "redacted"),
        "second scrub redacted: {:?}",
        report.findings
    );
    assert_eq!(
        std::fs::read(&second).unwrap(),
        b.output,
        "second output differs from the first"
    );
}

#[test]
fn scan_finds_the_planted_dump_and_passes_the_scrubbed_one() {
    let fx = fixture();
    let b = baseline();
    let before = sha256_file(&fx.dump);
    let run = dumpscrub([
        "scan".as_ref(),
        fx.dump.as_os_str(),
        "--report".as_ref(),
        "-".as_ref(),
    ]);
    assert_run_clean("scan", &run);
    assert_eq!(run.code, Some(1), "{}", run.stderr_text());
    assert_eq!(sha256_file(&fx.dump), before, "scan modified its input");
    let report = run.json();
    assert_eq!(report["command"], "scan");
    let scan = file_report(&report, 0);
    assert!(scan.output.is_none());
    // Low-confidence findings (free-standing tokens inside the planted
    // PEM and JWT) are reported only; everything else would be redacted.
    assert!(
        scan.findings.iter().all(|f| f.action
            == if f.confidence == "low" {
                "reported"
            } else {
                "would_redact"
            }),
        "{:?}",
        scan.findings
    );
    // Scan and scrub find the same things.
    let key = |f: &Finding| {
        (
            f.rule.clone(),
            f.offset,
            f.length,
            f.encoding.clone(),
            f.fingerprint.clone(),
        )
    };
    let scanned: BTreeSet<_> = scan.findings.iter().map(key).collect();
    let scrubbed: BTreeSet<_> = b.file.findings.iter().map(key).collect();
    assert_eq!(scanned, scrubbed);
    assert_eq!(scan.summary.bytes_redacted, b.file.summary.bytes_redacted);

    let tmp = tempfile::tempdir().unwrap();
    let clean = tmp.path().join("clean.dmp");
    std::fs::write(&clean, &b.output).unwrap();
    let run = dumpscrub([
        "scan".as_ref(),
        clean.as_os_str(),
        "--report".as_ref(),
        "-".as_ref(),
    ]);
    assert_eq!(
        run.code,
        Some(0),
        "scan of the scrubbed dump: {}",
        run.stdout_text()
    );
    assert_eq!(run.json()["summary"]["actionable"], 0);
}

/// Report of a scrub run from `dir` with relative output `out.dmp`, so two
/// runs can be compared field by field; `wall_ms` removed.
fn scrub_in(dir: &Path, extra: &[&str]) -> (Vec<u8>, Value, Run) {
    let fx = fixture();
    let out = dir.join("out.dmp");
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_dumpscrub"));
    cmd.current_dir(dir)
        .arg("scrub")
        .arg(&fx.dump)
        .args(["-o", "out.dmp", "--report", "-"])
        .args(extra)
        .env_remove("DUMPSCRUB_FINGERPRINT_KEY");
    let o = cmd.output().expect("run dumpscrub");
    let run = Run {
        code: o.status.code(),
        stdout: o.stdout,
        stderr: o.stderr,
    };
    assert_run_clean("scrub", &run);
    assert_eq!(run.code, Some(0), "{}", run.stderr_text());
    let mut report = run.json();
    for f in report["files"].as_array_mut().unwrap() {
        let stats = f["stats"].as_object_mut().expect("stats");
        assert!(stats.remove("wall_ms").is_some(), "stats.wall_ms");
    }
    (std::fs::read(out).unwrap(), report, run)
}

#[test]
fn thread_count_does_not_change_output_or_report() {
    let t1 = tempfile::tempdir().unwrap();
    let t2 = tempfile::tempdir().unwrap();
    let (out1, rep1, _) = scrub_in(t1.path(), &["--threads", "1"]);
    let (out2, rep2, _) = scrub_in(t2.path(), &["--threads", "2"]);
    assert!(out1 == out2, "outputs differ between --threads 1 and 2");
    assert_eq!(rep1, rep2);
    assert_eq!(
        out1,
        baseline().output,
        "differs from the default-threads output"
    );
}

#[test]
fn in_place_gives_the_same_bytes_as_output_file() {
    let fx = fixture();
    let tmp = tempfile::tempdir().unwrap();
    let copy = tmp.path().join("crash.dmp");
    std::fs::copy(&fx.dump, &copy).unwrap();
    let run = dumpscrub([
        "scrub".as_ref(),
        copy.as_os_str(),
        "--in-place".as_ref(),
        "--report".as_ref(),
        "-".as_ref(),
    ]);
    assert_run_clean("scrub --in-place", &run);
    assert_eq!(run.code, Some(0), "{}", run.stderr_text());
    let replaced = std::fs::read(&copy).unwrap();
    assert!(replaced == baseline().output, "--in-place differs from -o");
    let report = file_report(&run.json(), 0);
    let output = report.output.expect("output in the report");
    assert_eq!(output.sha256, sha256(&replaced));
    let names: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["crash.dmp"], "temporary files left behind");
}

// ---------------------------------------------------------------------------
// (g) nothing printed contains a secret; (h) the report
// ---------------------------------------------------------------------------

#[test]
fn nothing_printed_or_reported_contains_a_secret() {
    let fx = fixture();
    let b = baseline();
    assert_run_clean("scrub --report -", &b.run);
    let tmp = tempfile::tempdir().unwrap();
    let text_report = tmp.path().join("report.txt");
    let json_report = tmp.path().join("report.json");
    let out = tmp.path().join("out.dmp");
    let mut runs = Vec::new();
    // Default: a one-line summary on stderr, nothing on stdout.
    let run = dumpscrub([
        "scrub".as_ref(),
        fx.dump.as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
    ]);
    assert_eq!(run.code, Some(0));
    assert!(
        run.stdout.is_empty(),
        "stdout without --report: {}",
        run.stdout_text()
    );
    assert_eq!(
        run.stderr_text().lines().count(),
        1,
        "summary: {}",
        run.stderr_text()
    );
    runs.push(("scrub", run));
    let run = dumpscrub([
        "scrub".as_ref(),
        fx.dump.as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
        "--report".as_ref(),
        text_report.as_os_str(),
        "--format".as_ref(),
        "text".as_ref(),
    ]);
    assert_eq!(run.code, Some(0));
    runs.push(("scrub --format text", run));
    for format in ["json", "text"] {
        let run = dumpscrub([
            "scan",
            fx.dump.to_str().unwrap(),
            "--report",
            "-",
            "--format",
            format,
            "--min-confidence",
            "low",
        ]);
        assert_eq!(run.code, Some(1));
        runs.push(("scan --report -", run));
    }
    let run = dumpscrub([
        "scan".as_ref(),
        fx.dump.as_os_str(),
        "--report".as_ref(),
        json_report.as_os_str(),
    ]);
    assert_eq!(run.code, Some(1));
    runs.push(("scan --report FILE", run));
    for (what, run) in &runs {
        assert_run_clean(what, run);
    }
    let text = std::fs::read(&text_report).expect("text report written");
    assert!(!text.is_empty());
    assert_no_leak("text report", &text);
    let json = std::fs::read(&json_report).expect("json report written");
    assert_no_leak("json report", &json);
    serde_json::from_slice::<Value>(&json).expect("the JSON report file parses");
}

#[test]
fn report_has_the_documented_shape_and_accounts_for_every_byte() {
    let fx = fixture();
    let b = baseline();
    let r = &b.report;
    assert_eq!(r["schema"], "dumpscrub-report/1");
    assert_eq!(r["tool"]["name"], "dumpscrub");
    assert!(r["tool"]["version"].is_string());
    assert!(r["tool"]["rules"].as_u64().unwrap() >= rule::PLANTED.len() as u64);
    assert_eq!(r["command"], "scrub");
    assert_eq!(r["fingerprints_keyed"], false);
    assert_eq!(r["files"].as_array().unwrap().len(), 1);

    let f = &b.file;
    assert_eq!(f.path, fx.dump.display().to_string());
    assert_eq!(f.status, "ok");
    assert!(f.error.is_none());
    assert_eq!(f.format.as_deref(), Some("minidump"));
    let size = b.input.len() as u64;
    assert_eq!(f.size, Some(size));
    assert_eq!(f.sha256.as_deref(), Some(sha256(&b.input).as_str()));
    let out = f.output.as_ref().expect("output");
    assert_eq!(out.sha256, sha256(&b.output));
    assert!(out.path.ends_with("scrubbed.dmp"));

    let bytes = f.bytes.as_ref().expect("bytes");
    assert_eq!(
        bytes.structure + bytes.memory + bytes.streams + bytes.unreferenced,
        size
    );
    assert!(bytes.structure > 0 && bytes.memory > 0 && bytes.streams > 0);
    assert_eq!(bytes.scanned, size);
    assert_eq!(bytes.scanned_percent, 100.0);
    assert!(bytes.not_scanned.is_empty());
    let stats = &r["files"][0]["stats"];
    for k in [
        "ranges", "regions", "streams", "segments", "chunks", "wall_ms",
    ] {
        assert!(stats[k].is_u64(), "stats.{k}");
    }
    let dump = Minidump::read(b.input.as_slice()).unwrap();
    // Entries in the stream directory, as the header counts them.
    assert_eq!(stats["streams"].as_u64(), Some(u32_at(&b.input, 8) as u64));
    // Memory regions the dump declares: the MemoryList and the thread stacks.
    let threads = dump
        .get_stream::<MinidumpThreadList>()
        .unwrap()
        .threads
        .len();
    let listed = dump
        .get_stream::<MinidumpMemoryList>()
        .unwrap()
        .iter()
        .count();
    assert_eq!(stats["regions"].as_u64(), Some((listed + threads) as u64));

    // Summaries agree with the findings.
    assert_eq!(f.summary.findings, f.findings.len());
    let mut by_rule = BTreeMap::new();
    for x in &f.findings {
        *by_rule.entry(x.rule.clone()).or_insert(0usize) += 1;
    }
    assert_eq!(f.summary.by_rule, by_rule);
    let s = &r["summary"];
    assert_eq!(s["files"], 1);
    assert_eq!(s["files_with_findings"], 1);
    assert_eq!(s["errors"], 0);
    assert_eq!(s["skipped"], 0);
    assert_eq!(s["findings"].as_u64(), Some(f.findings.len() as u64));
    let actionable = f.findings.iter().filter(|x| x.confidence != "low").count();
    assert_eq!(s["actionable"].as_u64(), Some(actionable as u64));
    assert_eq!(s["bytes_redacted"].as_u64(), Some(f.summary.bytes_redacted));

    // Sorted by offset, then length (then rule, in rule-table order, which
    // the report does not expose).
    let keys: Vec<_> = f.findings.iter().map(|x| (x.offset, x.length)).collect();
    assert!(
        keys.windows(2).all(|w| w[0] <= w[1]),
        "findings are not sorted"
    );

    for x in &f.findings {
        assert!(
            ["low", "medium", "high"].contains(&x.confidence.as_str()),
            "{x:?}"
        );
        assert!(["ascii", "utf16le"].contains(&x.encoding.as_str()), "{x:?}");
        assert!(!x.description.is_empty());
        let hex = x
            .fingerprint
            .strip_prefix("hmac-sha256:")
            .expect("fingerprint prefix");
        assert!(
            hex.len() == 32 && hex.bytes().all(|c| c.is_ascii_hexdigit()),
            "{x:?}"
        );
        // Nothing planted lies in structure: every finding of at least
        // medium confidence is redacted, low ones (entropy tokens) reported.
        let want = if x.confidence == "low" {
            "reported"
        } else {
            "redacted"
        };
        assert_eq!(x.action, want, "{x:?}");
        match x.range.as_str() {
            "memory" => assert!(x.vaddr().is_some(), "memory finding without address: {x:?}"),
            "stream" | "unreferenced" => assert!(x.vaddr().is_none(), "{x:?}"),
            other => panic!("unexpected range {other:?} in {x:?}"),
        }
        if x.encoding == "utf16le" {
            assert_eq!(x.length % 2, 0, "odd UTF-16LE length: {x:?}");
        }
        // The preview is the rule's literal prefix when the secret starts
        // with it, else nothing: never a character of the secret.
        let literal = match x.rule.as_str() {
            rule::GITHUB_CLASSIC => Some("ghp_"),
            rule::GITHUB_FINE_GRAINED => Some("github_pat_"),
            rule::AWS_ACCESS_KEY_ID => Some("AKIA"),
            rule::GITLAB_PAT => Some("glpat-"),
            rule::SLACK => Some("xox"),
            rule::STRIPE_SECRET => Some("sk_live_"),
            rule::JWT => Some("eyJ"),
            rule::PEM_RSA => Some("-----BEGIN RSA PRIVATE KEY-----"),
            _ => None,
        };
        let allowed = match literal {
            Some(l) => vec![format!("{l}…"), "…".to_string()],
            None => vec!["…".to_string()],
        };
        assert!(
            allowed.contains(&x.preview),
            "preview {:?} of {x:?}",
            x.preview
        );
    }
}

#[test]
fn memory_findings_map_to_their_file_offsets() {
    let b = baseline();
    let dump = Minidump::read(b.input.as_slice()).unwrap();
    let mem = dump.get_stream::<MinidumpMemoryList>().unwrap();
    let mut checked = 0;
    for f in b.file.findings.iter().filter(|f| f.range == "memory") {
        let va = f.vaddr().unwrap();
        let region = mem
            .memory_at_address(va)
            .unwrap_or_else(|| panic!("{va:#x} is in no memory region: {f:?}"));
        assert_eq!(
            f.offset,
            region.desc.memory.rva as u64 + (va - region.base_address),
            "file offset and virtual address disagree: {f:?}"
        );
        checked += 1;
    }
    assert!(checked > 0);
}

#[test]
fn every_planted_secret_is_found_where_it_was_planted() {
    let fx = fixture();
    let b = baseline();
    let findings = &b.file.findings;
    for s in &fx.secrets {
        let enc = s.bytes();
        let occurrences = find_all(&b.input, &enc);
        assert!(!occurrences.is_empty());
        // Every copy of the value, wherever it lies, is inside a finding of
        // the planted rule, in the planted encoding.
        for &at in &occurrences {
            assert!(
                findings.iter().any(|f| f.rule == s.rule
                    && f.encoding == s.enc.report_name()
                    && f.covers(at as u64, enc.len() as u64)),
                "{} ({:?}, {:?}) at offset {at:#x} is not covered by a {} finding",
                s.rule,
                s.enc,
                s.place,
                s.rule
            );
        }
        // And the finding is reported where the secret was planted.
        let ok = match s.place {
            Place::Heap { vaddr } | Place::Stack { vaddr } => findings.iter().any(|f| {
                f.rule == s.rule
                    && f.range == "memory"
                    && f.encoding == s.enc.report_name()
                    && f.vaddr()
                        .is_some_and(|va| va <= vaddr && vaddr + enc.len() as u64 <= va + f.length)
            }),
            Place::Env { .. } => findings.iter().any(|f| {
                f.rule == s.rule
                    && f.range == "stream"
                    && f.stream_type == Some(LINUX_ENVIRON)
                    && f.stream.contains("LinuxEnviron")
                    && occurrences
                        .iter()
                        .any(|&at| f.covers(at as u64, enc.len() as u64))
            }),
            Place::Argv => findings.iter().any(|f| {
                f.rule == s.rule
                    && f.range == "stream"
                    && f.stream_type == Some(LINUX_CMD_LINE)
                    && occurrences
                        .iter()
                        .any(|&at| f.covers(at as u64, enc.len() as u64))
            }),
        };
        assert!(
            ok,
            "{} ({:?}, {:?}) is not reported at its planted place",
            s.rule, s.enc, s.place
        );
        // For rules whose whole match is the secret, the span is exact.
        if s.rule != rule::PEM_RSA {
            assert!(
                findings.iter().any(|f| f.rule == s.rule
                    && occurrences.contains(&(f.offset as usize))
                    && f.length == enc.len() as u64),
                "no {} finding spans exactly the planted value",
                s.rule
            );
        }
    }
}

#[test]
fn every_finding_is_a_planted_secret() {
    // A live process holds no other secret: anything else is a false
    // positive on real process memory.
    let fx = fixture();
    let b = baseline();
    let mut planted: Vec<(u64, u64)> = Vec::new();
    for s in &fx.secrets {
        for enc in encodings(s) {
            for at in find_all(&b.input, &enc) {
                planted.push((at as u64, at as u64 + enc.len() as u64));
            }
        }
    }
    for f in &b.file.findings {
        assert!(
            planted.iter().any(|&(s, e)| s < f.end() && f.offset < e),
            "finding overlaps no planted secret: {f:?}"
        );
    }
}

#[test]
fn fingerprints_identify_values_not_places() {
    let fx = fixture();
    let b = baseline();
    // The GitLab token is planted twice, in ASCII and in UTF-16LE: one
    // value, one fingerprint. Different values, different fingerprints.
    let fp = |s: &Planted| -> BTreeSet<String> {
        let at = find_all(&b.input, &s.bytes());
        b.file
            .findings
            .iter()
            .filter(|f| {
                f.rule == s.rule
                    && at.contains(&(f.offset as usize))
                    && f.length == s.bytes().len() as u64
            })
            .map(|f| f.fingerprint.clone())
            .collect()
    };
    let gitlab: Vec<&Planted> = fx
        .secrets
        .iter()
        .filter(|s| s.rule == rule::GITLAB_PAT)
        .collect();
    assert_eq!(gitlab.len(), 2);
    assert_ne!(gitlab[0].enc, gitlab[1].enc);
    let (a, c) = (fp(gitlab[0]), fp(gitlab[1]));
    assert_eq!(a.len(), 1, "one fingerprint per value: {a:?}");
    assert_eq!(
        a, c,
        "ASCII and UTF-16LE copies of one value have different fingerprints"
    );
    let all: BTreeSet<String> = fx
        .secrets
        .iter()
        .filter(|s| s.rule != rule::PEM_RSA)
        .flat_map(fp)
        .collect();
    let values: BTreeSet<&str> = fx
        .secrets
        .iter()
        .filter(|s| s.rule != rule::PEM_RSA)
        .map(|s| s.value.as_str())
        .collect();
    assert_eq!(
        all.len(),
        values.len(),
        "distinct values share a fingerprint"
    );

    // A user key changes every fingerprint and is reported as such.
    let tmp = tempfile::tempdir().unwrap();
    let key = tmp.path().join("key");
    std::fs::write(&key, support::alnum(32)).unwrap();
    let run = dumpscrub([
        "scan".as_ref(),
        fx.dump.as_os_str(),
        "--report".as_ref(),
        "-".as_ref(),
        "--fingerprint-key-file".as_ref(),
        key.as_os_str(),
    ]);
    assert_run_clean("scan --fingerprint-key-file", &run);
    assert_eq!(run.code, Some(1), "{}", run.stderr_text());
    let report = run.json();
    assert_eq!(report["fingerprints_keyed"], true);
    let keyed = file_report(&report, 0);
    assert_eq!(keyed.findings.len(), b.file.findings.len());
    for (k, u) in keyed.findings.iter().zip(&b.file.findings) {
        assert_eq!((k.offset, k.length, &k.rule), (u.offset, u.length, &u.rule));
        assert_ne!(
            k.fingerprint, u.fingerprint,
            "the key did not change the fingerprint of {k:?}"
        );
    }
}

// ---------------------------------------------------------------------------
// (l) fail closed
// ---------------------------------------------------------------------------

fn u32_at(d: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(d[at..at + 4].try_into().unwrap())
}

/// Expects `scrub` (with -o, and with --in-place) and `scan` of `bad` to
/// fail: exit 2, the file named on stderr, no output, input unchanged.
fn assert_fails_closed(name: &str, bad: &[u8]) {
    let tmp = tempfile::tempdir().unwrap();
    let input_dir = tmp.path().join("in");
    let out_dir = tmp.path().join("out");
    std::fs::create_dir_all(&input_dir).unwrap();
    std::fs::create_dir_all(&out_dir).unwrap();
    let input = input_dir.join(name);
    std::fs::write(&input, bad).unwrap();
    let before = sha256(bad);
    let out = out_dir.join("scrubbed.dmp");
    let shown = input.display().to_string();

    let check = |what: &str, run: &Run| {
        assert_eq!(
            run.code,
            Some(2),
            "{what} {name}: exit {:?}, stderr: {}",
            run.code,
            run.stderr_text()
        );
        assert!(
            run.stderr_text().contains(&shown),
            "{what} {name}: stderr does not name the file: {}",
            run.stderr_text()
        );
        assert_eq!(sha256_file(&input), before, "{what} {name}: input modified");
        let left: Vec<_> = std::fs::read_dir(&out_dir).unwrap().collect();
        assert!(
            left.is_empty(),
            "{what} {name}: files left in the output dir: {left:?}"
        );
        let inputs: Vec<_> = std::fs::read_dir(&input_dir).unwrap().collect();
        assert_eq!(
            inputs.len(),
            1,
            "{what} {name}: files left beside the input: {inputs:?}"
        );
    };
    let run = dumpscrub([
        "scrub".as_ref(),
        input.as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
    ]);
    check("scrub", &run);
    let run = dumpscrub([
        "scrub".as_ref(),
        input.as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
        "--report".as_ref(),
        "-".as_ref(),
    ]);
    check("scrub --report -", &run);
    let report = file_report(&run.json(), 0);
    assert_eq!(report.status, "error");
    assert!(
        report.error.as_deref().is_some_and(|e| e.contains(&shown)),
        "{report:?}"
    );
    let run = dumpscrub(["scrub".as_ref(), input.as_os_str(), "--in-place".as_ref()]);
    check("scrub --in-place", &run);
    let run = dumpscrub(["scan".as_ref(), input.as_os_str()]);
    check("scan", &run);
}

#[test]
fn fails_closed_on_a_file_that_is_not_a_minidump() {
    let secret = format!("ghp_{}", support::alnum(36));
    let text = format!("# deploy notes\nGITHUB_TOKEN={secret}\nnothing else here\n");
    assert_fails_closed("notes.txt", text.as_bytes());

    // --raw is the explicit way to scrub it.
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("notes.txt");
    std::fs::write(&input, &text).unwrap();
    let out = tmp.path().join("notes.clean.txt");
    let run = dumpscrub([
        "scrub".as_ref(),
        input.as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
        "--raw".as_ref(),
        "--report".as_ref(),
        "-".as_ref(),
    ]);
    assert_eq!(run.code, Some(0), "{}", run.stderr_text());
    assert!(!contains(&run.stdout, secret.as_bytes()) && !contains(&run.stderr, secret.as_bytes()));
    let report = file_report(&run.json(), 0);
    assert_eq!(report.format.as_deref(), Some("raw"));
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.rule == rule::GITHUB_CLASSIC),
        "{report:?}"
    );
    let cleaned = std::fs::read(&out).unwrap();
    assert_eq!(cleaned.len(), text.len());
    assert!(!contains(&cleaned, secret.as_bytes()));
    assert!(contains(&cleaned, b"# deploy notes\nGITHUB_TOKEN="));
    assert_eq!(
        std::fs::read(&input).unwrap(),
        text.as_bytes(),
        "input modified"
    );
}

#[test]
fn fails_closed_on_a_dump_cut_in_its_stream_directory() {
    let data = std::fs::read(&fixture().dump).unwrap();
    let count = u32_at(&data, 8) as usize;
    let dir = u32_at(&data, 12) as usize;
    assert!(count > 2);
    let cut = dir + count * 12 / 2 + 5;
    assert_fails_closed("cut-in-directory.dmp", &data[..cut]);
}

#[test]
fn fails_closed_on_a_dump_cut_in_a_memory_region() {
    let data = std::fs::read(&fixture().dump).unwrap();
    let dump = Minidump::read(data.as_slice()).unwrap();
    let mem = dump.get_stream::<MinidumpMemoryList>().unwrap();
    let biggest = mem.iter().max_by_key(|m| m.size).unwrap();
    let cut = biggest.desc.memory.rva as usize + biggest.size as usize / 2;
    assert_fails_closed("cut-in-memory.dmp", &data[..cut]);
}

/// Directory index of the first stream of type `ty`.
fn directory_entry(data: &[u8], ty: u32) -> usize {
    let count = u32_at(data, 8) as usize;
    let dir = u32_at(data, 12) as usize;
    (0..count)
        .map(|i| dir + i * 12)
        .find(|&e| u32_at(data, e) == ty)
        .unwrap_or_else(|| panic!("no stream of type {ty:#x}"))
}

#[test]
fn fails_closed_on_a_stream_rva_past_the_end() {
    let mut data = std::fs::read(&fixture().dump).unwrap();
    let e = directory_entry(&data, LINUX_ENVIRON);
    let past = data.len() as u32 + 0x1000;
    data[e + 8..e + 12].copy_from_slice(&past.to_le_bytes());
    assert_fails_closed("rva-past-eof.dmp", &data);
}

#[test]
fn fails_closed_on_a_stream_size_past_the_end() {
    let mut data = std::fs::read(&fixture().dump).unwrap();
    let e = directory_entry(&data, support::MEMORY_LIST);
    let rva = u32_at(&data, e + 8);
    let size = data.len() as u32 - rva + 1;
    data[e + 4..e + 8].copy_from_slice(&size.to_le_bytes());
    assert_fails_closed("size-past-eof.dmp", &data);
}

// ---------------------------------------------------------------------------
// The committed fixture (fixtures/planted-linux.dmp)
// ---------------------------------------------------------------------------

fn committed_fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/planted-linux.dmp")
}

/// Regenerates `fixtures/planted-linux.dmp`:
/// `cargo test --test e2e_scrub -- --ignored generate_committed_fixture`.
/// Its secrets are random and are not recorded anywhere.
#[test]
#[ignore = "rewrites fixtures/planted-linux.dmp"]
fn generate_committed_fixture() {
    let dest = committed_fixture();
    let tmp = tempfile::Builder::new()
        .prefix(".planted-linux-")
        .tempdir_in(dest.parent().unwrap())
        .unwrap();
    let fx = support::generate(&tmp.path().join("planted-linux.dmp"));
    std::fs::rename(&fx.dump, &dest).unwrap();
    let size = std::fs::metadata(&dest).unwrap().len();
    println!(
        "wrote {} ({size} bytes) with {} planted secrets",
        dest.display(),
        fx.secrets.len()
    );
}

/// Tokens of the planted kinds, in ASCII, found in `data` read either as
/// ASCII or as UTF-16LE at either alignment (non-ASCII units read as 0xff).
fn planted_shaped_tokens(data: &[u8]) -> Vec<String> {
    let patterns = [
        r"ghp_[A-Za-z0-9]{36}",
        r"github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}",
        r"AKIA[A-Z2-7]{16}",
        r"glpat-[A-Za-z0-9_-]{20}",
        r"xoxb-[0-9]+-[0-9]+-[A-Za-z0-9]{24}",
        r"sk_live_[A-Za-z0-9]{24}",
        r"eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{16}",
        r"-----BEGIN RSA PRIVATE KEY-----\n[A-Za-z0-9+/=]{16}",
        r"postgres://app:[A-Za-z0-9]{8}",
        r"Bearer [A-Za-z0-9]{16}",
        r"password=[A-Za-z0-9!]{8}",
    ];
    let narrow = |align: usize| -> Vec<u8> {
        (align..data.len().saturating_sub(1))
            .step_by(2)
            .map(|i| {
                if data[i + 1] == 0 && data[i] != 0 {
                    data[i]
                } else {
                    0xff
                }
            })
            .collect()
    };
    let views = [data.to_vec(), narrow(0), narrow(1)];
    let mut found = Vec::new();
    for p in patterns {
        let re = regex::bytes::Regex::new(p).unwrap();
        for v in &views {
            for m in re.find_iter(v) {
                found.push(String::from_utf8_lossy(m.as_bytes()).into_owned());
            }
        }
    }
    found
}

#[test]
fn committed_fixture_is_found_and_scrubbed() {
    let path = committed_fixture();
    assert!(
        path.exists(),
        "{} is missing; regenerate it with `cargo test --test e2e_scrub -- --ignored generate_committed_fixture`",
        path.display()
    );
    let original = std::fs::read(&path).unwrap();
    // The fixture really holds tokens of every planted kind.
    let before = planted_shaped_tokens(&original);
    assert!(
        before.len() >= rule::PLANTED.len(),
        "the committed fixture holds too few planted tokens"
    );

    let run = dumpscrub([
        "scan".as_ref(),
        path.as_os_str(),
        "--report".as_ref(),
        "-".as_ref(),
    ]);
    assert_eq!(run.code, Some(1), "{}", run.stderr_text());
    let report = file_report(&run.json(), 0);
    for r in rule::PLANTED {
        assert!(
            report.summary.by_rule.contains_key(*r),
            "no {r} finding in the committed fixture"
        );
    }

    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("clean.dmp");
    let run = dumpscrub([
        "scrub".as_ref(),
        path.as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
    ]);
    assert_eq!(run.code, Some(0), "{}", run.stderr_text());
    let cleaned = std::fs::read(&out).unwrap();
    assert_eq!(cleaned.len(), original.len());
    let left = planted_shaped_tokens(&cleaned);
    assert!(
        left.is_empty(),
        "{} planted-shaped tokens survive the scrub",
        left.len()
    );
    assert_eq!(
        std::fs::read(&path).unwrap(),
        original,
        "the committed fixture was modified"
    );
    assert_eq!(shape(&original), shape(&cleaned));
}
