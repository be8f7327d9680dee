//! No secret leaves through a side door: every planted value of a real
//! dump of a live process (see `support::generate`) is looked for, in
//! ASCII, UTF-16LE, hex (both cases) and base64 (at every alignment), in
//! everything dumpscrub writes besides the scrubbed dump: standard output,
//! standard error, JSON and text reports (on stdout and in a file), and the
//! error messages of runs that fail half-way (a destination that cannot be
//! renamed into, a dump cut short after the secrets, a bad known-secrets
//! file). Every failed run must also leave no temporary file behind.

mod support;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use base64::Engine as _;
use support::{dumpscrub, utf16le, Fixture, Run};

#[test]
fn secret_holder_process() {
    support::secret_holder_main();
}

fn fixture() -> &'static Fixture {
    support::planted("side_doors")
}

/// Every form a planted value could take in text a user sees, with a name
/// for the failure message (never the value).
fn forms() -> &'static Vec<(String, Vec<u8>)> {
    static FORMS: OnceLock<Vec<(String, Vec<u8>)>> = OnceLock::new();
    FORMS.get_or_init(|| {
        let b64 = base64::engine::general_purpose::STANDARD_NO_PAD;
        let mut out = Vec::new();
        for s in &fixture().secrets {
            let v = s.value.as_bytes();
            assert!(
                v.len() >= 12,
                "planted values are long enough to search for"
            );
            let name = |form: &str| format!("planted {} secret as {form}", s.rule);
            // Any 12-character piece, so that a truncated preview counts.
            for w in v.windows(12) {
                out.push((name("ascii (12-character piece)"), w.to_vec()));
            }
            out.push((name("utf16le"), utf16le(&s.value)));
            out.push((name("hex"), hex::encode(v).into_bytes()));
            out.push((name("HEX"), hex::encode_upper(v).into_bytes()));
            // Base64 of a longer text that holds the value at any offset
            // contains the encoding of its whole 3-byte groups.
            for k in 0..3 {
                let groups = (v.len() - k) / 3;
                let part = &v[k..k + 3 * groups];
                out.push((
                    name(&format!("base64 (offset {k})")),
                    b64.encode(part).into_bytes(),
                ));
            }
        }
        out
    })
}

fn assert_no_secret(what: &str, text: &[u8]) {
    for (name, needle) in forms() {
        assert!(!support::contains(text, needle), "{what} contains a {name}");
    }
}

fn assert_run_clean(what: &str, run: &Run) {
    assert_no_secret(&format!("{what}: stdout"), &run.stdout);
    assert_no_secret(&format!("{what}: stderr"), &run.stderr);
}

/// Files whose name marks them as dumpscrub temporaries, anywhere in
/// `dir` (recursively).
fn temporaries(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(temporaries(&p));
        } else if e.file_name().to_string_lossy().starts_with(".dumpscrub-") {
            out.push(p);
        }
    }
    out
}

fn args<'a>(v: &'a [&'a std::ffi::OsStr]) -> &'a [&'a std::ffi::OsStr] {
    v
}

#[test]
fn reports_and_messages_of_successful_runs_hold_no_secret() {
    let fx = fixture();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = d.join("out.dmp");
    let report = d.join("report.json");
    let text_report = d.join("report.txt");
    let dump = fx.dump.as_os_str();
    let runs: Vec<(&str, Vec<&std::ffi::OsStr>)> = vec![
        (
            "scrub json",
            vec![
                "scrub".as_ref(),
                dump,
                "-o".as_ref(),
                out.as_os_str(),
                "--report".as_ref(),
                "-".as_ref(),
            ],
        ),
        (
            "scrub text",
            vec![
                "scrub".as_ref(),
                dump,
                "-o".as_ref(),
                out.as_os_str(),
                "--report".as_ref(),
                "-".as_ref(),
                "--format".as_ref(),
                "text".as_ref(),
            ],
        ),
        (
            "scrub report file",
            vec![
                "scrub".as_ref(),
                dump,
                "-o".as_ref(),
                out.as_os_str(),
                "--report".as_ref(),
                report.as_os_str(),
            ],
        ),
        (
            "scan json",
            vec![
                "scan".as_ref(),
                dump,
                "--report".as_ref(),
                "-".as_ref(),
                "--min-confidence".as_ref(),
                "low".as_ref(),
            ],
        ),
        (
            "scan text file",
            vec![
                "scan".as_ref(),
                dump,
                "--report".as_ref(),
                text_report.as_os_str(),
                "--format".as_ref(),
                "text".as_ref(),
            ],
        ),
    ];
    for (what, a) in &runs {
        let run = dumpscrub(args(a));
        assert!(
            matches!(run.code, Some(0 | 1)),
            "{what}: {}",
            run.stderr_text()
        );
        assert!(
            !run.stdout.is_empty() || what.contains("file"),
            "{what}: no output"
        );
        assert_run_clean(what, &run);
    }
    for f in [&report, &text_report] {
        let body = std::fs::read(f).unwrap();
        assert!(body.len() > 100, "{}: report too short", f.display());
        assert_no_secret(&f.display().to_string(), &body);
    }
    // The report does find them: this test would pass vacuously otherwise.
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    let found = json["files"][0]["findings"].as_array().unwrap().len();
    assert!(
        found >= fx.secrets.len(),
        "{found} findings for {} secrets",
        fx.secrets.len()
    );
    assert!(temporaries(d).is_empty(), "{:?}", temporaries(d));
}

#[test]
fn a_destination_that_cannot_be_renamed_into_fails_without_leaks_or_leftovers() {
    let fx = fixture();
    let dir = tempfile::tempdir().unwrap();
    // The destination is a non-empty directory: everything up to the
    // final rename succeeds, the rename fails.
    let dest = dir.path().join("taken");
    std::fs::create_dir(&dest).unwrap();
    std::fs::write(dest.join("keep"), b"x").unwrap();
    let run = dumpscrub([
        "scrub".as_ref(),
        fx.dump.as_os_str(),
        "-o".as_ref(),
        dest.as_os_str(),
        "--report".as_ref(),
        "-".as_ref(),
    ]);
    assert_eq!(run.code, Some(2), "{}", run.stderr_text());
    assert!(
        run.stderr_text()
            .contains("cannot move the scrubbed copy into place"),
        "{}",
        run.stderr_text()
    );
    assert_eq!(run.json()["files"][0]["status"], "error");
    assert_run_clean("rename failure", &run);
    assert!(
        temporaries(dir.path()).is_empty(),
        "{:?}",
        temporaries(dir.path())
    );
    assert_eq!(std::fs::read_dir(&dest).unwrap().count(), 1);
}

#[test]
fn a_dump_cut_after_its_secrets_fails_without_leaks_or_leftovers() {
    let fx = fixture();
    let data = std::fs::read(&fx.dump).unwrap();
    // Cut just after the last planted value, wherever it lies.
    let last = fx
        .secrets
        .iter()
        .flat_map(|s| {
            support::find_all(&data, &s.bytes())
                .into_iter()
                .map(move |at| at + s.bytes().len())
        })
        .max()
        .expect("planted values are in the dump");
    assert!(last < data.len());
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("cut.dmp");
    std::fs::write(&input, &data[..last + 1]).unwrap();
    let out = dir.path().join("out.dmp");
    for (what, a) in [
        (
            "scrub",
            vec![
                "scrub".as_ref(),
                input.as_os_str(),
                "-o".as_ref(),
                out.as_os_str(),
                "--report".as_ref(),
                "-".as_ref(),
            ],
        ),
        (
            "scrub text",
            vec![
                "scrub".as_ref(),
                input.as_os_str(),
                "--in-place".as_ref(),
                "--report".as_ref(),
                "-".as_ref(),
                "--format".as_ref(),
                "text".as_ref(),
            ],
        ),
        (
            "scan",
            vec![
                "scan".as_ref(),
                input.as_os_str(),
                "--report".as_ref(),
                "-".as_ref(),
            ],
        ),
    ] {
        let run = dumpscrub(args(&a));
        assert_eq!(run.code, Some(2), "{what}: {}", run.stderr_text());
        assert!(
            run.stderr_text().contains(&input.display().to_string()),
            "{what}: {}",
            run.stderr_text()
        );
        assert_run_clean(what, &run);
        assert!(!out.exists());
        assert_eq!(
            std::fs::read(&input).unwrap(),
            &data[..last + 1],
            "{what}: input changed"
        );
        assert!(
            temporaries(dir.path()).is_empty(),
            "{what}: {:?}",
            temporaries(dir.path())
        );
    }
}

#[test]
fn a_bad_known_secrets_file_is_refused_without_repeating_it() {
    let fx = fixture();
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("secrets.txt");
    // Real values, then a line that is not valid hex: the error must name
    // the line, not repeat it or its neighbours.
    let mut body = String::new();
    let one_line: Vec<&str> = fx
        .secrets
        .iter()
        .map(|s| s.value.as_str())
        .filter(|v| !v.contains('\n'))
        .collect();
    for v in &one_line {
        body.push_str(v);
        body.push('\n');
    }
    body.push_str(&format!("hex:{}zz\n", one_line[0]));
    std::fs::write(&list, &body).unwrap();
    let run = dumpscrub([
        "scan".as_ref(),
        fx.dump.as_os_str(),
        "--known-secrets".as_ref(),
        list.as_os_str(),
        "--report".as_ref(),
        "-".as_ref(),
    ]);
    assert_eq!(run.code, Some(2), "{}", run.stderr_text());
    assert!(
        run.stderr_text().contains(&list.display().to_string()),
        "{}",
        run.stderr_text()
    );
    assert_run_clean("bad known-secrets file", &run);
}
