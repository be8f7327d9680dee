//! The command line as pipelines use it: `verify` as a gate, batches of
//! files and directories with `--files-from`, `--jobs`, `--shard` and
//! `--output-dir`, JSON Lines, compressed dumps made by the real `gzip`,
//! `zstd` and `xz` tools, completions and the man page. Inputs are the real
//! fixtures: `fixtures/planted-linux.dmp` (planted secrets) and the benign
//! public dumps, two of them malformed.

mod support;

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

use support::{dumpscrub, scratch_dir, sha256_file, Run};

const PLANTED: &str = "fixtures/planted-linux.dmp";
const MALFORMED: &str = "fixtures/public/rust-minidump-invalid-range.dmp";
const BENIGN: &[&str] = &[
    "fixtures/public/rust-minidump-linux-mini.dmp",
    "fixtures/public/rust-minidump-test.dmp",
    "fixtures/public/lldb14-win-fizzbuzz_no_heap.dmp",
];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn fixture(rel: &str) -> PathBuf {
    root().join(rel)
}

fn copy(rel: &str, to: &Path) {
    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
    std::fs::copy(fixture(rel), to).unwrap();
}

fn args(list: &[&dyn AsRef<std::ffi::OsStr>]) -> Vec<std::ffi::OsString> {
    list.iter().map(|a| a.as_ref().to_os_string()).collect()
}

/// Runs dumpscrub with `stdin` fed in (for `--files-from -`).
fn dumpscrub_stdin(argv: &[std::ffi::OsString], stdin: &[u8]) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_dumpscrub"))
        .args(argv)
        .env_remove("DUMPSCRUB_FINGERPRINT_KEY")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run dumpscrub");
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code(),
        stdout: out.stdout,
        stderr: out.stderr,
    }
}

fn jsonl(run: &Run) -> Vec<Value> {
    run.stdout_text()
        .lines()
        .map(|l| {
            serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}\n{}", run.stderr_text()))
        })
        .collect()
}

/// Files under `dir`, relative, sorted.
fn tree(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = walk(dir)
        .into_iter()
        .map(|p| p.strip_prefix(dir).unwrap().display().to_string())
        .collect();
    v.sort();
    v
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// The JSON report without the one field that varies between runs.
fn without_timing(mut v: Value) -> Value {
    if let Some(files) = v["files"].as_array_mut() {
        for f in files {
            if let Some(s) = f.get_mut("stats").and_then(|s| s.as_object_mut()) {
                s.remove("wall_ms");
            }
        }
    }
    v
}

#[test]
fn verify_fails_before_scrub_and_passes_after() {
    let dir = scratch_dir("cli-verify");
    let dump = dir.join("planted.dmp");
    copy(PLANTED, &dump);

    let scan = dumpscrub(args(&[&"scan", &dump, &"--report", &"-", &"--quiet"]));
    assert_eq!(scan.code, Some(1), "{}", scan.stderr_text());
    let actionable = scan.json()["summary"]["actionable"].as_u64().unwrap();
    assert!(actionable >= 10, "planted fixture: {actionable} actionable");

    let before = dumpscrub(args(&[&"verify", &dump]));
    assert_eq!(before.code, Some(1), "{}", before.stderr_text());
    let listed: Vec<String> = before
        .stderr_text()
        .lines()
        .filter(|l| l.starts_with("dumpscrub: verify: ") && l.contains(" at offset 0x"))
        .map(String::from)
        .collect();
    assert_eq!(listed.len() as u64, actionable, "{}", before.stderr_text());
    let dump_name = dump.display().to_string();
    let shape = verify_line_shape(&dump_name);
    for l in &listed {
        // file, rule id, offset, stream: nothing else (never a value).
        assert!(shape(l), "unexpected verify line: {l}");
    }

    let clean = dir.join("clean.dmp");
    let scrub = dumpscrub(args(&[&"scrub", &dump, &"-o", &clean, &"--quiet"]));
    assert_eq!(scrub.code, Some(0), "{}", scrub.stderr_text());
    let after = dumpscrub(args(&[&"verify", &clean]));
    assert_eq!(after.code, Some(0), "{}", after.stderr_text());
    assert!(!after.stderr_text().contains(" at offset "));

    // Below the threshold only: a low-confidence leftover fails only a
    // gate that asks for low.
    let low = dumpscrub(args(&[
        &"verify",
        &clean,
        &"--min-confidence",
        &"low",
        &"--report",
        &"-",
    ]));
    let remaining = low.json()["summary"]["actionable"].as_u64().unwrap();
    assert_eq!(low.code, Some(if remaining > 0 { 1 } else { 0 }));

    let bad = dumpscrub(args(&[&"verify", &fixture(MALFORMED)]));
    assert_eq!(bad.code, Some(2));
    assert!(bad
        .stderr_text()
        .contains("rust-minidump-invalid-range.dmp"));
}

/// `dumpscrub: verify: PATH: RULE at offset 0xHEX (STREAM)` with a rule id
/// of lowercase words and a stream name of letters, spaces and slashes.
fn verify_line_shape(path: &str) -> impl Fn(&str) -> bool + '_ {
    move |line: &str| {
        let Some(rest) = line.strip_prefix(&format!("dumpscrub: verify: {path}: ")) else {
            return false;
        };
        let Some((rule, rest)) = rest.split_once(" at offset 0x") else {
            return false;
        };
        let Some((hex, stream)) = rest.split_once(" (") else {
            return false;
        };
        rule.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && hex.bytes().all(|b| b.is_ascii_hexdigit())
            && stream.ends_with(')')
            && stream
                .trim_end_matches(')')
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b" /_-".contains(&b))
    }
}

/// A directory, a NUL-separated list on stdin and one malformed dump: every
/// other file is processed, each gets one JSON line in sorted order, and
/// the exit status says something failed.
#[test]
fn batch_goes_on_past_a_bad_file() {
    let dir = scratch_dir("cli-batch");
    let tree_dir = dir.join("archive");
    copy(PLANTED, &tree_dir.join("b/planted.dmp"));
    copy(BENIGN[0], &tree_dir.join("a/mini.dmp"));
    std::fs::write(tree_dir.join("a/notes.txt"), b"not a dump\n").unwrap();
    let listed = [fixture(BENIGN[1]), fixture(MALFORMED)];
    let mut list = Vec::new();
    for p in &listed {
        list.extend_from_slice(p.as_os_str().as_encoded_bytes());
        list.push(0);
    }

    let run = dumpscrub_stdin(
        &args(&[
            &"scan",
            &tree_dir,
            &"--files-from",
            &"-",
            &"-0",
            &"--report",
            &"-",
            &"--format",
            &"jsonl",
        ]),
        &list,
    );
    assert_eq!(run.code, Some(2), "{}", run.stderr_text());
    let lines = jsonl(&run);
    let mut expected: Vec<String> = [
        tree_dir.join("a/mini.dmp"),
        tree_dir.join("a/notes.txt"),
        tree_dir.join("b/planted.dmp"),
        listed[0].clone(),
        listed[1].clone(),
    ]
    .iter()
    .map(|p| p.display().to_string())
    .collect();
    expected.sort();
    let paths: Vec<&str> = lines.iter().map(|l| l["path"].as_str().unwrap()).collect();
    assert_eq!(paths, expected, "one line per file, sorted");
    for l in &lines {
        assert_eq!(l["schema"], "dumpscrub-jsonl/1");
        assert_eq!(l["command"], "scan");
        let path = l["path"].as_str().unwrap();
        match path {
            p if p.ends_with("notes.txt") => assert_eq!(l["status"], "skipped"),
            p if p.ends_with("invalid-range.dmp") => {
                assert_eq!(l["status"], "error");
                assert!(l["error"].as_str().unwrap().contains(p));
                assert!(l.get("sha256").is_none());
            }
            p => {
                assert_eq!(l["status"], "ok", "{l}");
                assert_eq!(l["format"], "minidump");
                assert_eq!(l["sha256"].as_str().unwrap(), sha256_file(Path::new(p)));
                let by_rule: u64 = l["by_rule"]
                    .as_object()
                    .unwrap()
                    .values()
                    .map(|v| v.as_u64().unwrap())
                    .sum();
                assert_eq!(by_rule, l["findings"].as_u64().unwrap());
                if p.ends_with("planted.dmp") {
                    assert!(l["actionable"].as_u64().unwrap() >= 10);
                    assert!(l["bytes_redacted"].as_u64().unwrap() > 0);
                    assert!(l["by_rule"]["stripe-secret-key"].as_u64().unwrap() >= 1);
                } else {
                    assert_eq!(l["findings"], 0, "{p} is benign");
                }
            }
        }
    }
    assert!(run
        .stderr_text()
        .contains(&format!("dumpscrub: error: {}", listed[1].display())));

    // The same batch scrubbed: every good file gets its copy, the bad one
    // none, and the exit status is still 2.
    let out = dir.join("out");
    let run = dumpscrub_stdin(
        &args(&[
            &"scrub",
            &tree_dir,
            &"--files-from",
            &"-",
            &"-0",
            &"--output-dir",
            &out,
            &"--quiet",
        ]),
        &list,
    );
    assert_eq!(run.code, Some(2), "{}", run.stderr_text());
    let written = tree(&out);
    assert!(written.contains(&"a/mini.dmp".to_string()), "{written:?}");
    assert!(
        written.contains(&"b/planted.dmp".to_string()),
        "{written:?}"
    );
    assert!(!written
        .iter()
        .any(|w| w.contains("invalid-range") || w.contains("notes.txt")));
    assert!(
        !written.iter().any(|w| w.contains(".dumpscrub-")),
        "temporary files left: {written:?}"
    );
}

#[test]
fn output_dir_mirrors_and_never_touches_inputs() {
    let dir = scratch_dir("cli-outdir");
    let input = dir.join("in");
    copy(PLANTED, &input.join("x.dmp"));
    copy(PLANTED, &input.join("sub/deeper/y.dmp"));
    copy(BENIGN[0], &input.join("sub/z.dmp"));
    let before: Vec<(PathBuf, String)> = walk(&input)
        .into_iter()
        .map(|p| {
            let h = sha256_file(&p);
            (p, h)
        })
        .collect();

    let out = dir.join("out");
    let run = dumpscrub(args(&[
        &"scrub",
        &input,
        &"--output-dir",
        &out,
        &"--report",
        &"-",
    ]));
    assert_eq!(run.code, Some(0), "{}", run.stderr_text());
    assert_eq!(tree(&out), ["sub/deeper/y.dmp", "sub/z.dmp", "x.dmp"]);
    let report = run.json();
    for f in report["files"].as_array().unwrap() {
        let p = Path::new(f["path"].as_str().unwrap());
        let rel = p.strip_prefix(&input).unwrap();
        assert_eq!(
            f["output"]["path"].as_str().unwrap(),
            out.join(rel).display().to_string()
        );
        assert_eq!(
            f["output"]["sha256"].as_str().unwrap(),
            sha256_file(&out.join(rel))
        );
    }
    for (p, h) in &before {
        assert_eq!(&sha256_file(p), h, "{} changed", p.display());
    }
    let gate = dumpscrub(args(&[&"verify", &out, &"--quiet"]));
    assert_eq!(gate.code, Some(0), "{}", gate.stderr_text());

    // A re-run into the input tree itself: each output would be its input;
    // all refused, nothing touched.
    let run = dumpscrub(args(&[&"scrub", &input, &"--output-dir", &input]));
    assert_eq!(run.code, Some(2));
    assert!(
        run.stderr_text().contains("is an input file"),
        "{}",
        run.stderr_text()
    );
    for (p, h) in &before {
        assert_eq!(&sha256_file(p), h, "{} changed", p.display());
    }

    // Two inputs that would land on one output: both refused.
    let other = dir.join("other");
    copy(BENIGN[0], &other.join("x.dmp"));
    let out2 = dir.join("out2");
    let run = dumpscrub(args(&[
        &"scrub",
        &input.join("x.dmp"),
        &other.join("x.dmp"),
        &"--output-dir",
        &out2,
    ]));
    assert_eq!(run.code, Some(2));
    assert_eq!(
        run.stderr_text()
            .matches("would also be written for")
            .count(),
        2
    );
    assert!(!out2.join("x.dmp").exists());

    // -o is for one file only.
    let run = dumpscrub(args(&[&"scrub", &input, &"-o", &dir.join("one.dmp")]));
    assert_eq!(run.code, Some(2));
    assert!(run.stderr_text().contains("--output-dir"));
}

#[test]
fn jobs_do_not_change_outputs_or_reports() {
    let dir = scratch_dir("cli-jobs");
    let input = dir.join("in");
    for (i, rel) in [PLANTED, BENIGN[0], BENIGN[1], PLANTED, BENIGN[2]]
        .iter()
        .enumerate()
    {
        copy(rel, &input.join(format!("d{i}.dmp")));
    }
    let mut results = Vec::new();
    for jobs in ["1", "3"] {
        let out = dir.join(format!("out-{jobs}"));
        let report = dir.join(format!("report-{jobs}.json"));
        let run = dumpscrub(args(&[
            &"scrub",
            &input,
            &"--output-dir",
            &out,
            &"--jobs",
            &jobs,
            &"--threads",
            &"2",
            &"--report",
            &report,
            &"--quiet",
        ]));
        assert_eq!(run.code, Some(0), "{}", run.stderr_text());
        let outputs: Vec<(String, String)> = tree(&out)
            .into_iter()
            .map(|r| (r.clone(), sha256_file(&out.join(&r))))
            .collect();
        let mut report: Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
        // Output paths differ by directory name only.
        for f in report["files"].as_array_mut().unwrap() {
            f["output"]["path"] = Value::Null;
        }
        let lines = dumpscrub(args(&[
            &"scan",
            &input,
            &"--jobs",
            &jobs,
            &"--report",
            &"-",
            &"--format",
            &"jsonl",
        ]));
        assert_eq!(lines.code, Some(1));
        results.push((outputs, without_timing(report), lines.stdout));
    }
    assert_eq!(results[0].0.len(), 5);
    assert_eq!(
        results[0].0, results[1].0,
        "scrubbed copies differ between --jobs 1 and 3"
    );
    assert_eq!(
        results[0].1, results[1].1,
        "reports differ between --jobs 1 and 3"
    );
    assert_eq!(
        results[0].2, results[1].2,
        "JSON Lines differ between --jobs 1 and 3"
    );
}

#[test]
fn shards_partition_the_sorted_list() {
    // Every small public dump (the 9 MB full-memory one only slows the
    // test), spread over nested directories, plus a stray file.
    let input = scratch_dir("cli-shards");
    let mut n = 0;
    for e in std::fs::read_dir(fixture("fixtures/public"))
        .unwrap()
        .flatten()
    {
        if e.metadata().unwrap().len() < 1 << 20 {
            copy(
                &format!("fixtures/public/{}", e.file_name().to_string_lossy()),
                &input.join(format!("d{}", n % 4)).join(e.file_name()),
            );
            n += 1;
        }
    }
    let all = dumpscrub(args(&[
        &"scan",
        &input,
        &"--report",
        &"-",
        &"--format",
        &"jsonl",
        &"--quiet",
    ]));
    let all: Vec<String> = jsonl(&all)
        .iter()
        .map(|l| l["path"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(all.len(), n, "{all:?}");
    assert!(n >= 10);
    let mut seen = BTreeSet::new();
    for i in 0..3 {
        let shard = format!("{i}/3");
        let run = dumpscrub(args(&[
            &"scan",
            &input,
            &"--shard",
            &shard,
            &"--report",
            &"-",
            &"--format",
            &"jsonl",
            &"--quiet",
        ]));
        let paths: Vec<String> = jsonl(&run)
            .iter()
            .map(|l| l["path"].as_str().unwrap().to_string())
            .collect();
        let expected: Vec<String> = all.iter().skip(i).step_by(3).cloned().collect();
        assert_eq!(paths, expected, "shard {shard}");
        for p in paths {
            assert!(seen.insert(p), "a file in two shards");
        }
    }
    assert_eq!(seen.len(), all.len(), "every file in some shard");
    let bad = dumpscrub(args(&[&"scan", &input, &"--shard", &"3/3"]));
    assert_eq!(bad.code, Some(2));
}

/// The real tools compress the planted dump; dumpscrub recognises each by
/// magic (the names say `.dmp`), scrubs the dump inside and writes the
/// same format back: decompressed by the same tool, it is byte for byte the
/// scrub of the uncompressed dump.
#[test]
fn compressed_dumps_round_trip_through_the_real_tools() {
    let dir = scratch_dir("cli-compressed");
    let plain = dir.join("plain.dmp");
    copy(PLANTED, &plain);
    let plain_clean = dir.join("plain.clean.dmp");
    let run = dumpscrub(args(&[&"scrub", &plain, &"-o", &plain_clean, &"--quiet"]));
    assert_eq!(run.code, Some(0), "{}", run.stderr_text());
    let want = std::fs::read(&plain_clean).unwrap();

    for (tool, name) in [("gzip", "gzip"), ("zstd", "zstd"), ("xz", "xz")] {
        let sub = dir.join(tool);
        std::fs::create_dir_all(&sub).unwrap();
        let packed = sub.join("crash.dmp");
        let c = Command::new(tool)
            .args(["-c", "-q"])
            .arg(&plain)
            .output()
            .unwrap_or_else(|e| panic!("{tool} is needed (scripts/setup.sh installs it): {e}"));
        assert!(c.status.success(), "{tool} failed");
        std::fs::write(&packed, &c.stdout).unwrap();

        let out = sub.join("crash.clean.dmp");
        let run = dumpscrub(args(&[&"scrub", &packed, &"-o", &out, &"--report", &"-"]));
        assert_eq!(run.code, Some(0), "{tool}: {}", run.stderr_text());
        let f = &run.json()["files"][0];
        assert_eq!(f["compression"], name);
        assert_eq!(f["format"], "minidump");
        assert_eq!(f["sha256"].as_str().unwrap(), sha256_file(&packed));
        assert_eq!(
            f["decompressed"]["sha256"].as_str().unwrap(),
            sha256_file(&plain)
        );
        assert_eq!(f["output"]["sha256"].as_str().unwrap(), sha256_file(&out));
        assert!(f["summary"]["bytes_redacted"].as_u64().unwrap() > 0);

        let d = Command::new(tool)
            .args(["-d", "-c"])
            .arg(&out)
            .output()
            .unwrap();
        assert!(d.status.success(), "{tool} cannot read dumpscrub's output");
        assert!(
            d.stdout == want,
            "{tool}: the output is not the scrubbed dump"
        );
        assert_eq!(
            tree(&sub),
            ["crash.clean.dmp", "crash.dmp"],
            "temporary files left"
        );

        let gate = dumpscrub(args(&[&"verify", &out, &"--quiet"]));
        assert_eq!(gate.code, Some(0), "{tool}: {}", gate.stderr_text());
    }
}

#[test]
fn truncated_gzip_is_an_error_naming_the_file_with_no_output() {
    let dir = scratch_dir("cli-truncated");
    let c = Command::new("gzip")
        .arg("-c")
        .arg(fixture(PLANTED))
        .output()
        .unwrap();
    assert!(c.status.success());
    let packed = dir.join("cut.dmp.gz");
    std::fs::write(&packed, &c.stdout[..c.stdout.len() / 2]).unwrap();
    let before = sha256_file(&packed);
    let out = dir.join("out.dmp.gz");
    let run = dumpscrub(args(&[&"scrub", &packed, &"-o", &out]));
    assert_eq!(run.code, Some(2));
    let err = run.stderr_text();
    assert!(
        err.contains(&packed.display().to_string()) && err.contains("gzip"),
        "{err}"
    );
    assert!(!out.exists());
    assert_eq!(sha256_file(&packed), before);
    assert_eq!(tree(&dir), ["cut.dmp.gz"], "temporary files left");

    // A bound on the inflated size stops a bomb with a clear error.
    let run = dumpscrub(args(&[
        &"scan",
        &fixture(PLANTED),
        &packed,
        &"--max-decompressed-size",
        &"1K",
    ]));
    assert_eq!(run.code, Some(2));
    assert!(
        run.stderr_text().contains("--max-decompressed-size"),
        "{}",
        run.stderr_text()
    );
}

#[test]
fn completions_man_page_and_version() {
    for shell in ["bash", "zsh", "fish"] {
        let run = dumpscrub(["completions", shell]);
        assert_eq!(run.code, Some(0));
        let s = run.stdout_text();
        assert!(
            s.contains("dumpscrub") && s.contains("verify") && s.contains("files-from"),
            "{shell}"
        );
    }
    let bash = dumpscrub(["completions", "bash"]);
    if let Ok(st) = Command::new("bash")
        .arg("-n")
        .stdin(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            c.stdin.take().unwrap().write_all(&bash.stdout)?;
            c.wait()
        })
    {
        assert!(st.success(), "the bash completion script does not parse");
    }

    let dir = scratch_dir("cli-man");
    for (sub, name, must) in [
        (None, "dumpscrub", ["verify", "completions"]),
        (
            Some("scrub"),
            "dumpscrub-scrub",
            ["--files-from", "--output-dir"],
        ),
    ] {
        let run = dumpscrub(sub.into_iter().fold(vec!["man"], |mut v, s| {
            v.push(s);
            v
        }));
        assert_eq!(run.code, Some(0));
        let roff = run.stdout_text();
        assert!(roff.starts_with(".ie") || roff.contains(".TH"), "not roff");
        let page = dir.join(format!("{name}.1"));
        std::fs::write(&page, &roff).unwrap();
        if let Ok(r) = Command::new("man")
            .arg("-l")
            .arg(&page)
            .env("MANPAGER", "cat")
            .env("MANWIDTH", "100")
            .output()
        {
            let text = String::from_utf8_lossy(&r.stdout);
            assert!(
                r.status.success(),
                "man -l failed: {}",
                String::from_utf8_lossy(&r.stderr)
            );
            assert!(must.iter().all(|m| text.contains(m)), "{name}: {text}");
        }
    }

    let v = dumpscrub(["--version"]);
    let v = v.stdout_text();
    let hash = v
        .trim()
        .rsplit_once("(rules ")
        .map(|(_, h)| h.trim_end_matches(')'))
        .unwrap_or("");
    assert_eq!(hash.len(), 12, "{v}");
    let report = dumpscrub(args(&[&"scan", &fixture(BENIGN[0]), &"--report", &"-"]));
    assert_eq!(report.json()["tool"]["rules_version"], hash);
}
