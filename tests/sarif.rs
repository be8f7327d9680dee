//! `--format sarif`: the log must be valid SARIF 2.1.0 (checked against the
//! OASIS schema and the SARIF SDK's, both shipped in `fixtures/`), say the
//! same thing as the JSON report, and never contain a secret.

mod support;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::Value;

use support::{dumpscrub, scratch_dir, Run};

/// The holder process (see `support`): does nothing in a normal run.
#[test]
fn secret_holder_process() {
    support::secret_holder_main();
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// Both schemas, compiled once, with `format` (uri, uri-reference...)
/// checked rather than treated as an annotation.
fn validators() -> &'static [(&'static str, jsonschema::Validator)] {
    static V: OnceLock<Vec<(&'static str, jsonschema::Validator)>> = OnceLock::new();
    V.get_or_init(|| {
        ["sarif-schema-2.1.0.json", "sarif-sdk-2.1.0.json"]
            .into_iter()
            .map(|name| {
                let text = std::fs::read(fixtures().join(name)).expect("read the schema");
                let schema: Value = serde_json::from_slice(&text).expect("the schema is JSON");
                let v = jsonschema::options()
                    .should_validate_formats(true)
                    .build(&schema)
                    .unwrap_or_else(|e| panic!("{name} does not compile: {e}"));
                (name, v)
            })
            .collect()
    })
}

fn assert_valid_sarif(log: &Value) {
    for (name, v) in validators() {
        let errors: Vec<String> = v
            .iter_errors(log)
            .take(10)
            .map(|e| format!("{}: {e}", e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "not valid against {name}:\n{}",
            errors.join("\n")
        );
    }
}

fn sarif(run: &Run) -> Value {
    serde_json::from_slice(&run.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not SARIF JSON ({e}); exit {:?}, stderr: {}",
            run.code,
            run.stderr_text()
        )
    })
}

/// Every string in a JSON value (keys and values), unescaped, so that a
/// secret is looked for in what a reader of the log would see.
fn strings(v: &Value, out: &mut String) {
    match v {
        Value::String(s) => {
            out.push_str(s);
            out.push('\n');
        }
        Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        Value::Object(o) => {
            for (k, x) in o {
                out.push_str(k);
                out.push('\n');
                strings(x, out);
            }
        }
        _ => {}
    }
}

/// Every `n`-character window of `secret` that is present in `text` (none
/// may be: a log that quotes part of a secret leaks it), except pieces of
/// a rule's fixed anchor (`-----BEGIN RSA PRIVATE KEY-----`, `ghp_`), which
/// previews show on purpose.
fn leaked_windows(text: &str, secret: &str, n: usize, literals: &[&str]) -> Vec<String> {
    let chars: Vec<char> = secret.chars().collect();
    let pieces: Vec<String> = if chars.len() < n {
        vec![secret.to_string()]
    } else {
        chars.windows(n).map(|w| w.iter().collect()).collect()
    };
    pieces
        .into_iter()
        .filter(|w| !w.is_empty() && text.contains(w.as_str()))
        .filter(|w| !literals.iter().any(|l| l.contains(w.as_str())))
        .collect()
}

/// The built-in rules' anchor literals: fixed text, not secret.
fn anchors() -> Vec<&'static str> {
    dumpscrub::rules::BUILTIN_RULES
        .iter()
        .flat_map(|r| r.anchors.iter().copied())
        .collect()
}

const WINDOW: usize = 12;

fn run0(log: &Value) -> &Value {
    let runs = log["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 1, "one run per invocation");
    &runs[0]
}

fn level_of(confidence: &str) -> &'static str {
    match confidence {
        "high" => "error",
        "medium" => "warning",
        "low" => "note",
        other => panic!("unknown confidence {other}"),
    }
}

/// The committed fixtures: a dump with planted secrets, benign public
/// dumps, two malformed ones and a non-dump file (SOURCES.md, found by the
/// directory walk). The SARIF log must be schema-valid and carry exactly
/// the JSON report's findings, files, errors and skips.
#[test]
fn fixtures_give_valid_sarif_matching_the_json_report() {
    let fx = fixtures();
    let args = |format: &str| {
        vec![
            "scan".into(),
            fx.join("planted-linux.dmp").into_os_string(),
            fx.join("public").into_os_string(),
            "--format".into(),
            format.into(),
            "--report".into(),
            "-".into(),
        ]
    };
    let json_run = dumpscrub(args("json"));
    let sarif_run = dumpscrub(args("sarif"));
    // The malformed public dumps make both runs exit 2, report written.
    assert_eq!(json_run.code, Some(2), "{}", json_run.stderr_text());
    assert_eq!(sarif_run.code, Some(2), "{}", sarif_run.stderr_text());
    let report = json_run.json();
    let log = sarif(&sarif_run);
    assert_valid_sarif(&log);
    assert_eq!(log["version"], "2.1.0");
    // The schemas do bite: a result without its message is refused.
    let mut broken = log.clone();
    broken["runs"][0]["results"][0]
        .as_object_mut()
        .unwrap()
        .remove("message");
    for (name, v) in validators() {
        assert!(
            !v.is_valid(&broken),
            "{name} accepts a result with no message"
        );
    }

    let run = run0(&log);
    let driver = &run["tool"]["driver"];
    assert_eq!(driver["name"], "dumpscrub");
    assert_eq!(driver["version"], report["tool"]["version"]);

    // Artifacts: one per file in the report, same order, hashes and sizes.
    let files = report["files"].as_array().unwrap();
    let artifacts = run["artifacts"].as_array().unwrap();
    assert_eq!(artifacts.len(), files.len());
    for (f, a) in files.iter().zip(artifacts) {
        let path = f["path"].as_str().unwrap();
        let uri = a["location"]["uri"].as_str().unwrap();
        let local = uri
            .strip_prefix("file://")
            .expect("absolute paths are file URIs");
        assert_eq!(
            percent_encoding::percent_decode_str(local)
                .decode_utf8()
                .unwrap(),
            path
        );
        assert_eq!(a["properties"]["status"], f["status"]);
        if f["status"] == "ok" {
            assert_eq!(a["hashes"]["sha-256"], f["sha256"]);
            assert_eq!(a["length"], f["size"]);
        }
    }

    // Results: exactly the findings, in report order, at the same bytes.
    let rules = driver["rules"].as_array().unwrap();
    let results = run["results"].as_array().unwrap();
    let findings: Vec<(usize, &Value)> = files
        .iter()
        .enumerate()
        .flat_map(|(i, f)| {
            f["findings"]
                .as_array()
                .unwrap()
                .iter()
                .map(move |x| (i, x))
        })
        .collect();
    assert!(findings.len() >= 10, "the planted fixture has findings");
    assert_eq!(results.len(), findings.len());
    for ((file, finding), result) in findings.iter().zip(results) {
        let loc = &result["locations"][0]["physicalLocation"];
        assert_eq!(loc["artifactLocation"]["index"], *file as u64);
        assert_eq!(loc["region"]["byteOffset"], finding["offset"]);
        assert_eq!(loc["region"]["byteLength"], finding["length"]);
        assert_eq!(result["ruleId"], finding["rule"]);
        let rule = &rules[result["ruleIndex"].as_u64().unwrap() as usize];
        assert_eq!(rule["id"], finding["rule"], "ruleIndex points at its rule");
        assert_eq!(
            result["level"],
            level_of(finding["confidence"].as_str().unwrap())
        );
        assert_eq!(
            result["partialFingerprints"]["dumpscrubSecret/v1"],
            finding["fingerprint"]
        );
        let p = &result["properties"];
        for (s, j) in [
            ("stream", "stream"),
            ("streamType", "stream_type"),
            ("virtualAddress", "virtual_address"),
            ("encoding", "encoding"),
            ("action", "action"),
            ("fingerprint", "fingerprint"),
        ] {
            assert_eq!(p[s], finding[j], "property {s}");
        }
    }
    // Every rule listed produced a result, and has the metadata a
    // code-scanning service shows.
    for (i, rule) in rules.iter().enumerate() {
        assert!(results.iter().any(|r| r["ruleIndex"] == i as u64));
        for field in ["shortDescription", "fullDescription", "help"] {
            assert!(!rule[field]["text"].as_str().unwrap().is_empty());
        }
        assert!(rule["properties"]["tags"]
            .as_array()
            .unwrap()
            .contains(&"security".into()));
    }

    // The malformed dumps and the non-dump file are notifications.
    let inv = &run["invocations"][0];
    assert_eq!(inv["executionSuccessful"], false);
    let notes = inv["toolExecutionNotifications"].as_array().unwrap();
    let errors: Vec<_> = notes.iter().filter(|n| n["level"] == "error").collect();
    let skipped: Vec<_> = notes.iter().filter(|n| n["level"] == "note").collect();
    assert_eq!(
        errors.len() as u64,
        report["summary"]["errors"].as_u64().unwrap()
    );
    assert_eq!(
        skipped.len() as u64,
        report["summary"]["skipped"].as_u64().unwrap()
    );
    assert_eq!(errors.len(), 2, "the two malformed public dumps");
    for n in &errors {
        let i = n["locations"][0]["physicalLocation"]["artifactLocation"]["index"]
            .as_u64()
            .unwrap() as usize;
        let path = files[i]["path"].as_str().unwrap();
        assert!(path.contains("invalid"), "{path}");
        assert!(n["message"]["text"].as_str().unwrap().contains(path));
    }

    // No secret: read each finding's bytes from the dump and look for any
    // 12-character piece of it (or of its hex) in the log's strings.
    let mut text = String::new();
    strings(&log, &mut text);
    let literals = anchors();
    let mut checked = 0;
    for (file, finding) in &findings {
        let data = std::fs::read(files[*file]["path"].as_str().unwrap()).unwrap();
        let off = finding["offset"].as_u64().unwrap() as usize;
        let len = finding["length"].as_u64().unwrap() as usize;
        let bytes = &data[off..off + len];
        let value = match finding["encoding"].as_str().unwrap() {
            "ascii" => String::from_utf8_lossy(bytes).into_owned(),
            "utf16le" => bytes.iter().step_by(2).map(|&b| b as char).collect(),
            _ => hex::encode(bytes),
        };
        let leaked = leaked_windows(&text, &value, WINDOW, &literals);
        assert!(
            leaked.is_empty(),
            "{} finding at {off}: {} pieces of the secret in the SARIF log",
            finding["rule"],
            leaked.len()
        );
        checked += 1;
    }
    assert_eq!(checked, findings.len());

    // Same input, same log: no timing or other varying field.
    let again = dumpscrub(args("sarif"));
    assert!(
        again.stdout == sarif_run.stdout,
        "the SARIF log differs between runs"
    );
}

/// A fresh dump of a live process whose secrets this test knows: every
/// planted rule is a result, none of the values is in the log, for `scan`
/// and for `scrub` (whose log names the scrubbed copy).
#[test]
fn planted_secrets_are_results_and_never_in_the_log() {
    let dir = scratch_dir("sarif");
    let fx = support::generate(&dir.join("planted.dmp"));

    let scan = dumpscrub([
        "scan".as_ref(),
        fx.dump.as_os_str(),
        "--format".as_ref(),
        "sarif".as_ref(),
        "--report".as_ref(),
        "-".as_ref(),
    ]);
    assert_eq!(scan.code, Some(1), "{}", scan.stderr_text());
    let out = dir.join("clean.dmp");
    let scrub = dumpscrub([
        "scrub".as_ref(),
        fx.dump.as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
        "--format".as_ref(),
        "sarif".as_ref(),
        "--report".as_ref(),
        "-".as_ref(),
    ]);
    assert_eq!(scrub.code, Some(0), "{}", scrub.stderr_text());

    for (command, run, action) in [
        ("scan", &scan, "would_redact"),
        ("scrub", &scrub, "redacted"),
    ] {
        let log = sarif(run);
        assert_valid_sarif(&log);
        let r = run0(&log);
        assert_eq!(r["invocations"][0]["executionSuccessful"], true);
        assert_eq!(r["invocations"][0]["properties"]["command"], command);
        let results = r["results"].as_array().unwrap();
        for p in &fx.secrets {
            let hit = results.iter().find(|x| {
                x["ruleId"] == p.rule && x["properties"]["encoding"] == p.enc.report_name()
            });
            let hit = hit.unwrap_or_else(|| panic!("{command}: no {} result", p.rule));
            assert_eq!(hit["properties"]["action"], action);
        }
        let mut text = String::new();
        strings(&log, &mut text);
        let literals = anchors();
        for p in &fx.secrets {
            let leaked = leaked_windows(&text, &p.value, WINDOW, &literals);
            assert!(
                leaked.is_empty(),
                "{command}: {} pieces of the planted {} value in the SARIF log",
                leaked.len(),
                p.rule
            );
        }
        if command == "scrub" {
            let output = &r["artifacts"][0]["properties"]["output"];
            assert_eq!(output["sha256"], support::sha256_file(&out));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
