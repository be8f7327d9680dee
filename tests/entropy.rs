//! The generic-secret entropy detector (`src/detect/entropy.rs`) on real
//! dumps: a live process holding secrets no named rule knows, in ASCII and
//! UTF-16LE at both alignments, and the public corpus, which holds none.

mod support;

use std::sync::OnceLock;

use serde_json::Value;

use support::keys::{self as k, HolderDump, HolderOp};
use support::{alnum, contains, dumpscrub, random_from, utf16le, Run, DIGITS};

/// The key holder process (see `support::keys`): a no-op in a normal run.
#[test]
fn key_holder_process() {
    k::key_holder_main();
}

/// One planted value: the text around it (`{}` marks the value), the
/// value, and the form the detector must name.
struct Plant {
    template: &'static str,
    value: String,
    form: &'static str,
}

impl Plant {
    fn text(&self) -> String {
        self.template.replace("{}", &self.value)
    }

    /// The name and separator before the value, which must survive.
    fn name(&self) -> &'static str {
        self.template
            .split("{}")
            .next()
            .unwrap()
            .trim_start_matches('\0')
    }
}

struct Fixture {
    holder: HolderDump,
    plants: Vec<Plant>,
    /// A free-standing hex token: low confidence, reported only.
    token: String,
}

/// A random value that reads as generated: letters, a digit, a symbol.
fn value(n: usize) -> String {
    format!(
        "{}{}!{}",
        alnum(n / 2),
        random_from(DIGITS, 1),
        alnum(n - n / 2 - 2)
    )
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let plants = vec![
            Plant {
                template: "cfg password={} retry=3\n",
                value: value(18),
                form: "assignment",
            },
            Plant {
                template: "{\"user\": \"svc\", \"token\": \"{}\"}",
                // No symbol: JSON tokens are base62.
                value: format!("{}{}", alnum(27), random_from(DIGITS, 1)),
                form: "assignment",
            },
            Plant {
                template: "GET / HTTP/1.1\r\nX-Service-Auth: {}\r\n",
                value: value(24),
                form: "header",
            },
            Plant {
                template: "dsn postgres://u:{}@h.internal:5432/db ok",
                value: value(16),
                form: "url-userinfo",
            },
            Plant {
                template: "\0MY_SERVICE_SECRET={}\0",
                value: value(20),
                form: "env",
            },
        ];
        let token: String = random_from(b"0123456789abcdef", 48);
        // Each plant alone in a buffer, in ASCII, UTF-16LE at an even and
        // at an odd address (heap buffers are 16-byte aligned).
        let mut ops = Vec::new();
        for p in &plants {
            ops.push(HolderOp::Heap(p.text().into_bytes()));
            ops.push(HolderOp::Heap(utf16le(&p.text())));
            let mut odd = vec![0x01u8];
            odd.extend(utf16le(&p.text()));
            ops.push(HolderOp::Heap(odd));
        }
        ops.push(HolderOp::Heap(format!("sum {token} end").into_bytes()));
        let dir = support::scratch_dir("entropy");
        let holder = k::run_key_holder(&ops, &dir.join("holder.dmp"));
        Fixture {
            holder,
            plants,
            token,
        }
    })
}

struct Scrubbed {
    output: Vec<u8>,
    run: Run,
    report: Value,
}

fn scrub(name: &str, extra: &[&str]) -> Scrubbed {
    let fx = fixture();
    let out = support::scratch_dir("entropy").join(format!("{name}.dmp"));
    let mut args: Vec<std::ffi::OsString> = vec![
        "scrub".into(),
        fx.holder.dump.clone().into(),
        "-o".into(),
        out.clone().into(),
        "--report".into(),
        "-".into(),
    ];
    args.extend(extra.iter().map(Into::into));
    let run = dumpscrub(&args);
    assert_eq!(run.code, Some(0), "scrub failed: {}", run.stderr_text());
    let report = run.json();
    Scrubbed {
        output: std::fs::read(&out).unwrap(),
        run,
        report,
    }
}

fn baseline() -> &'static Scrubbed {
    static S: OnceLock<Scrubbed> = OnceLock::new();
    S.get_or_init(|| scrub("default", &[]))
}

fn findings(report: &Value) -> &Vec<Value> {
    report["files"][0]["findings"].as_array().unwrap()
}

#[test]
fn planted_values_are_gone_in_every_encoding_and_names_survive() {
    let fx = fixture();
    let input = std::fs::read(&fx.holder.dump).unwrap();
    let s = baseline();
    for p in &fx.plants {
        for (enc, bytes) in [
            ("ascii", p.value.clone().into_bytes()),
            ("utf16le", utf16le(&p.value)),
        ] {
            assert!(contains(&input, &bytes), "{} not planted ({enc})", p.form);
            assert!(
                !contains(&s.output, &bytes),
                "{} value survives in {enc}",
                p.form
            );
        }
        for name in [p.name().as_bytes().to_vec(), utf16le(p.name())] {
            assert!(
                contains(&s.output, &name),
                "the name {:?} was removed",
                p.name()
            );
        }
    }
}

#[test]
fn every_plant_is_reported_with_its_form_in_both_encodings() {
    let fx = fixture();
    let s = baseline();
    for p in &fx.plants {
        for enc in ["ascii", "utf16le"] {
            let n = findings(&s.report)
                .iter()
                .filter(|f| {
                    f["rule"] == "entropy-keyed-value"
                        && f["form"] == p.form
                        && f["encoding"] == enc
                        && f["confidence"] == "medium"
                        && f["action"] == "redacted"
                })
                .count();
            let want = if enc == "ascii" { 1 } else { 2 };
            assert!(n >= want, "{} in {enc}: {n} findings", p.form);
        }
    }
}

#[test]
fn nothing_printed_or_reported_holds_a_value() {
    let fx = fixture();
    let s = baseline();
    let report = serde_json::to_vec(&s.report).unwrap();
    let mut values: Vec<&str> = fx.plants.iter().map(|p| p.value.as_str()).collect();
    values.push(&fx.token);
    for v in values {
        // Any 8 consecutive characters of the value.
        for w in v.as_bytes().windows(8) {
            for (what, text) in [
                ("report", &report),
                ("stdout", &s.run.stdout),
                ("stderr", &s.run.stderr),
            ] {
                assert!(!contains(text, w), "{what} holds part of a planted value");
            }
        }
    }
}

#[test]
fn free_standing_token_is_reported_low_and_redacted_only_when_asked() {
    let fx = fixture();
    let s = baseline();
    let token = fx.token.as_bytes();
    let low: Vec<&Value> = findings(&s.report)
        .iter()
        .filter(|f| f["rule"] == "entropy-token" && f["form"] == "token-hex")
        .collect();
    assert!(
        low.iter()
            .all(|f| f["confidence"] == "low" && f["action"] == "reported"),
        "{low:?}"
    );
    assert!(!low.is_empty(), "the planted hex token is not reported");
    assert!(contains(&s.output, token), "a low finding was redacted");
    let all = scrub("min-low", &["--min-confidence", "low"]);
    assert!(
        !contains(&all.output, token),
        "--min-confidence low kept the token"
    );
}

#[test]
fn medium_findings_on_the_holder_are_planted_values() {
    // The holder is a real process: its heap, stacks and environment hold
    // no other secret, so any other medium finding is a false positive.
    let fx = fixture();
    let input = std::fs::read(&fx.holder.dump).unwrap();
    let s = baseline();
    let mut spans = Vec::new();
    for p in &fx.plants {
        for b in [p.value.clone().into_bytes(), utf16le(&p.value)] {
            for at in support::find_all(&input, &b) {
                spans.push((at as u64, (at + b.len()) as u64));
            }
        }
    }
    for f in findings(&s.report) {
        let rule = f["rule"].as_str().unwrap();
        if !rule.starts_with("entropy-") || f["confidence"] == "low" {
            continue;
        }
        let (o, l) = (f["offset"].as_u64().unwrap(), f["length"].as_u64().unwrap());
        assert!(
            spans.iter().any(|&(a, b)| a < o + l && o < b),
            "medium entropy finding on no planted value: {f}"
        );
    }
}

#[test]
fn no_entropy_turns_the_detector_off() {
    let s = scrub("off", &["--no-entropy"]);
    assert!(findings(&s.report)
        .iter()
        .all(|f| !f["rule"].as_str().unwrap().starts_with("entropy-")));
    // No named rule knows an `X-Service-Auth` header: it stays.
    let header = fixture()
        .plants
        .iter()
        .find(|p| p.form == "header")
        .unwrap();
    assert!(contains(&s.output, header.value.as_bytes()));
}
