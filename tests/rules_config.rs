//! Rule files, allowlists and the config file, through the binary, on real
//! dumps: a live process holding a custom token, the planted fixture, and
//! gitleaks' own default configuration.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{mpsc, OnceLock};
use std::time::{Duration, Instant};

use minidump_writer::app_memory::AppMemory;
use minidump_writer::minidump_writer::MinidumpWriterConfig;
use serde_json::Value;

use support::{alnum, contains, dumpscrub, scratch_dir, utf16le};

const PLANTED: &str = "fixtures/planted-linux.dmp";
const GITLEAKS: &str = "fixtures/gitleaks/gitleaks.toml";

/// A token of the documented `acme-live-token` shape that is compiled into
/// this test binary: the "known harmless value in every dump" that a module
/// allowlist is for. Fake, as every rule example is. The newlines are word
/// boundaries for the rule's `\b`, whatever the dump holds around it.
static BAKED_IN: &str = "\nacme_live_DocsExample0123456789AbCdEfGhIjK\n";

fn baked_token() -> &'static [u8] {
    BAKED_IN.trim().as_bytes()
}

const ACME_ENV: &str = "DUMPSCRUB_ACME_HOLDER";
const ACME_MARK: &str = "ACME-HOLDER";

/// The holder: keeps the token from its environment on the heap in ASCII
/// and UTF-16LE, reports where, and where the baked-in token lies.
#[test]
fn acme_holder_process() {
    if std::env::var_os(ACME_ENV).as_deref() != Some(std::ffi::OsStr::new("1")) {
        return;
    }
    let token = std::env::var("ACME_TOKEN").expect("holder: ACME_TOKEN");
    let mut ascii = format!("[upload]\napi_token = {token}\n").into_bytes();
    ascii.push(0);
    let mut wide = utf16le(&format!("Token: {token}"));
    wide.extend([0, 0]);
    let baked = std::hint::black_box(BAKED_IN);
    {
        let mut out = std::io::stdout().lock();
        for b in [&ascii, &wide] {
            writeln!(out, "{ACME_MARK} BUF {:x} {}", b.as_ptr() as usize, b.len()).unwrap();
        }
        writeln!(
            out,
            "{ACME_MARK} STATIC {:x} {}",
            baked.as_ptr() as usize,
            baked.len()
        )
        .unwrap();
        writeln!(out, "{ACME_MARK} READY").unwrap();
        out.flush().unwrap();
    }
    let mut rest = Vec::new();
    let _ = std::io::stdin().lock().read_to_end(&mut rest);
    std::hint::black_box((&ascii, &wide));
}

struct AcmeDump {
    dump: PathBuf,
    token: String,
    /// (address, length) of the two heap buffers.
    heap: Vec<(u64, u64)>,
}

/// Starts the holder, dumps it (heap buffers and the baked-in token as
/// application memory) and reaps it.
fn acme_dump() -> &'static AcmeDump {
    static DUMP: OnceLock<AcmeDump> = OnceLock::new();
    DUMP.get_or_init(|| {
        let dir = scratch_dir("rules_config");
        let dump = dir.join("acme.dmp");
        let token = format!("acme_live_{}", alnum(32));
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "acme_holder_process",
                "--nocapture",
                "--test-threads=1",
            ])
            .env_clear()
            .env(ACME_ENV, "1")
            .env("ACME_TOKEN", &token)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn the holder");
        let (tx, rx) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        let records = match support::read_holder_records(&rx, ACME_MARK, deadline) {
            Ok(r) => r,
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("holder {e}");
            }
        };
        let pid = child.id() as i32;
        let mut config = MinidumpWriterConfig::new(pid, pid);
        config.set_app_memory(
            records
                .iter()
                .map(|(_, a, l)| AppMemory {
                    ptr: *a as usize,
                    length: *l as usize,
                })
                .collect(),
        );
        let mut file = std::fs::File::create(&dump).unwrap();
        let written = config.write(&mut file);
        drop(child.stdin.take());
        let _ = child.wait();
        written.expect("minidump-writer");
        AcmeDump {
            dump,
            token,
            heap: records
                .iter()
                .filter(|r| r.0 == "BUF")
                .map(|r| (r.1, r.2))
                .collect(),
        }
    })
}

/// The `n`th TOML block of a doc, as a user would copy it.
fn doc_block(doc: &str, n: usize) -> String {
    let text = std::fs::read_to_string(doc).unwrap();
    text.split("```toml\n")
        .nth(n + 1)
        .and_then(|b| b.split("```").next())
        .unwrap_or_else(|| panic!("{doc} has no TOML block {n}"))
        .to_string()
}

fn write(dir: &Path, name: &str, body: &str) -> PathBuf {
    let p = dir.join(name);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&p, body).unwrap();
    p
}

fn findings(report: &Value) -> Vec<Value> {
    report["files"][0]["findings"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn of_rule<'a>(f: &'a [Value], rule: &str) -> Vec<&'a Value> {
    f.iter().filter(|x| x["rule"] == rule).collect()
}

fn span(f: &Value) -> std::ops::Range<usize> {
    let o = f["offset"].as_u64().unwrap() as usize;
    o..o + f["length"].as_u64().unwrap() as usize
}

#[test]
fn custom_rule_finds_and_scrubs_a_planted_token_and_a_module_allowlist_keeps_the_baked_in_one() {
    let a = acme_dump();
    let dir = scratch_dir("rules_config");
    let rules = write(&dir, "acme.toml", &doc_block("docs/rules.md", 0));
    let dump = a.dump.to_str().unwrap();

    // The built-in rules do not know the format.
    let plain = dumpscrub(["scan", "--no-config", dump, "--report", "-", "-q"]);
    assert!(of_rule(&findings(&plain.json()), "acme-live-token").is_empty());

    let out = dir.join("acme.clean.dmp");
    let run = dumpscrub([
        "scrub",
        "--no-config",
        dump,
        "-o",
        out.to_str().unwrap(),
        "--rules",
        rules.to_str().unwrap(),
        "--report",
        "-",
        "-q",
    ]);
    assert_eq!(run.code, Some(0), "{}", run.stderr_text());
    let f = findings(&run.json());
    let acme = of_rule(&f, "acme-live-token");
    let has = |enc: &str, stream: &str| {
        acme.iter()
            .any(|x| x["encoding"] == enc && x["stream"].as_str().unwrap().starts_with(stream))
    };
    assert!(has("ascii", "MemoryListStream"), "{acme:#?}");
    assert!(has("utf16le", "MemoryListStream"), "{acme:#?}");
    assert!(has("ascii", "LinuxEnviron"), "{acme:#?}");
    assert!(acme.iter().all(|x| x["action"] == "redacted"));
    let scrubbed = std::fs::read(&out).unwrap();
    let original = std::fs::read(dump).unwrap();
    assert!(contains(&original, a.token.as_bytes()));
    assert!(!contains(&scrubbed, a.token.as_bytes()));
    assert!(!contains(&scrubbed, &utf16le(&a.token)));
    assert!(!contains(&scrubbed, baked_token()), "no allowlist yet");
    assert!(
        !run.stdout_text().contains(&a.token),
        "report leaks the token"
    );

    // Allow the baked-in token by module (this test binary's image) and
    // the heap's UTF-16 copy by address range.
    let exe = std::env::current_exe().unwrap();
    let exe_name = exe.file_name().unwrap().to_str().unwrap();
    let (wide_at, wide_len) = a.heap[1];
    let config = write(
        &dir,
        "allow-module.toml",
        &format!(
            "rule_files = [{rules:?}]\n\n[[allowlist]]\ndescription = \"baked into the uploader\"\nmodules = [{exe_name:?}]\n\n[[allowlist]]\naddresses = [\"{wide_at:#x}-{:#x}\"]\n",
            wide_at + wide_len,
            rules = rules.to_str().unwrap()
        ),
    );
    let out2 = dir.join("acme.allowed.dmp");
    let run = dumpscrub([
        "scrub",
        "--config",
        config.to_str().unwrap(),
        dump,
        "-o",
        out2.to_str().unwrap(),
        "--report",
        "-",
        "-q",
    ]);
    assert_eq!(run.code, Some(0), "{}", run.stderr_text());
    let f = findings(&run.json());
    let acme = of_rule(&f, "acme-live-token");
    let scrubbed = std::fs::read(&out2).unwrap();
    let baked: Vec<_> = acme
        .iter()
        .filter(|x| {
            x["action"] == "allowed" && x["allowed_by"].as_str().unwrap().contains("baked into")
        })
        .collect();
    assert_eq!(baked.len(), 1, "{acme:#?}");
    assert!(baked[0]["allowed_by"]
        .as_str()
        .unwrap()
        .starts_with(&format!("{}:3 ", config.display())));
    assert!(contains(&scrubbed, baked_token()), "allowed bytes stay");
    let by_address: Vec<_> = acme
        .iter()
        .filter(|x| x["allowed_by"].as_str() == Some(&format!("{}:7", config.display())))
        .collect();
    assert_eq!(by_address.len(), 1, "{acme:#?}");
    assert_eq!(by_address[0]["encoding"], "utf16le");
    assert!(
        contains(&scrubbed, &utf16le(&a.token)),
        "allowed UTF-16 copy stays"
    );
    assert!(
        !contains(&scrubbed, a.token.as_bytes()),
        "the ASCII copies are still zeroed"
    );
    for x in acme.iter().filter(|x| x["action"] == "allowed") {
        assert_eq!(&scrubbed[span(x)], &original[span(x)]);
    }
}

#[test]
fn no_default_rules_and_no_rule_files_find_nothing() {
    let run = dumpscrub([
        "scan",
        "--no-config",
        "--no-default-rules",
        "--no-key-detectors",
        "--no-entropy",
        PLANTED,
        "--report",
        "-",
        "-q",
    ]);
    assert_eq!(run.code, Some(0), "{}", run.stderr_text());
    assert!(findings(&run.json()).is_empty());
    let list = dumpscrub([
        "rules",
        "--no-config",
        "--no-default-rules",
        "--format",
        "json",
    ]);
    assert_eq!(list.code, Some(0));
    assert_eq!(list.json()["rules"].as_array().unwrap().len(), 0);
    // With the built-ins, the same dump has findings.
    let with = dumpscrub([
        "scan",
        "--no-config",
        "--no-key-detectors",
        PLANTED,
        "--report",
        "-",
        "-q",
    ]);
    assert_eq!(with.code, Some(1));
    assert!(findings(&with.json()).len() > 10);
}

#[test]
fn allowlists_by_rule_regex_fingerprint_and_stream_keep_bytes_and_name_the_entry() {
    let dir = scratch_dir("rules_config");
    let first = dumpscrub(["scan", "--no-config", PLANTED, "--report", "-", "-q"]);
    let before = findings(&first.json());
    let bearer = of_rule(&before, "http-bearer-token");
    assert_eq!(bearer.len(), 1);
    let fp = bearer[0]["fingerprint"].as_str().unwrap().to_string();

    let config = write(
        &dir,
        "allow.toml",
        &format!(
            r#"[[allowlist]]
description = "by rule"
rules = ["jwt"]

[[allowlist]]
description = "by value"
regexes = ['''^AKIA[A-Z2-7]{{16}}$''']

[[allowlist]]
fingerprints = ["{fp}"]

[[allowlist]]
description = "by stream"
streams = ["LinuxEnviron"]
"#
        ),
    );
    let out = dir.join("planted.allowed.dmp");
    let run = dumpscrub([
        "scrub",
        "--config",
        config.to_str().unwrap(),
        PLANTED,
        "-o",
        out.to_str().unwrap(),
        "--report",
        "-",
        "-q",
    ]);
    assert_eq!(run.code, Some(0), "{}", run.stderr_text());
    let f = findings(&run.json());
    let original = std::fs::read(PLANTED).unwrap();
    let scrubbed = std::fs::read(&out).unwrap();
    let cfg = config.display().to_string();
    let allowed_by = |x: &Value| x["allowed_by"].as_str().unwrap_or("").to_string();
    for jwt in of_rule(&f, "jwt") {
        assert_eq!(jwt["action"], "allowed");
        assert_eq!(allowed_by(jwt), format!("{cfg}:1 (by rule)"));
    }
    let aws = of_rule(&f, "aws-access-key-id");
    assert_eq!(aws.len(), 1);
    assert_eq!(
        aws[0]["encoding"], "utf16le",
        "the regex saw the narrowed value"
    );
    assert_eq!(allowed_by(aws[0]), format!("{cfg}:5 (by value)"));
    let bearer = of_rule(&f, "http-bearer-token");
    assert_eq!(allowed_by(bearer[0]), format!("{cfg}:9"));
    let env: Vec<_> = f.iter().filter(|x| x["stream"] == "LinuxEnviron").collect();
    assert!(!env.is_empty());
    for x in &env {
        assert_eq!(allowed_by(x), format!("{cfg}:12 (by stream)"));
    }
    // The same values on the stack are not in LinuxEnviron: still zeroed.
    let stack_slack: Vec<_> = of_rule(&f, "slack-token")
        .into_iter()
        .filter(|x| x["stream"] != "LinuxEnviron")
        .collect();
    assert!(!stack_slack.is_empty());
    for x in &stack_slack {
        assert_eq!(x["action"], "redacted");
        assert!(scrubbed[span(x)].iter().all(|&b| b == 0));
    }
    let allowed: Vec<_> = f.iter().filter(|x| x["action"] == "allowed").collect();
    assert!(allowed.len() >= 3 + env.len() - 1, "{allowed:#?}");
    for x in &allowed {
        // Unless another, not allowed, finding covers the same bytes.
        let covered = f.iter().any(|y| {
            y["action"] == "redacted" && span(y).start < span(x).end && span(x).start < span(y).end
        });
        if !covered {
            assert_eq!(&scrubbed[span(x)], &original[span(x)], "{x:#?}");
        }
    }
    // Allowed findings do not make a scan fail.
    let scan = dumpscrub([
        "scan",
        "--config",
        config.to_str().unwrap(),
        PLANTED,
        "--report",
        "-",
        "-q",
    ]);
    let s = scan.json()["summary"].clone();
    assert_eq!(
        s["actionable"].as_u64().unwrap() as usize,
        f.iter()
            .filter(|x| x["action"] != "allowed" && x["action"] != "reported")
            .count()
    );
}

#[test]
fn gitleaks_default_config_loads_with_one_warning_and_its_rules_find_their_tokens() {
    let list = dumpscrub([
        "rules",
        "--no-config",
        "--no-default-rules",
        "--rules",
        GITLEAKS,
        "--format",
        "json",
    ]);
    assert_eq!(list.code, Some(0), "{}", list.stderr_text());
    let rules = list.json()["rules"].as_array().unwrap().clone();
    let total = std::fs::read_to_string(GITLEAKS)
        .unwrap()
        .lines()
        .filter(|l| *l == "[[rules]]")
        .count();
    assert_eq!(total, 213);
    let err = list.stderr_text();
    let warnings: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("dumpscrub: warning:"))
        .collect();
    assert_eq!(warnings.len(), 1, "{err}");
    let honoured = rules.len();
    assert!(warnings[0].contains(&format!(
        "{honoured} of {total} loaded, {} not honoured",
        total - honoured
    )));
    assert_eq!(honoured, 208, "{err}");
    for id in [
        "freemius-secret-key",
        "hashicorp-tf-password",
        "kubernetes-secret-yaml",
        "nuget-config-password",
        "pkcs12-file",
    ] {
        assert!(
            err.contains(&format!("not honoured: {id} (line ")),
            "{id}: {err}"
        );
    }
    println!("gitleaks default config: {honoured} of {total} rules loaded\n{err}");

    // A few of its rules, on values of their shape, ASCII and UTF-16LE.
    let bech32 = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";
    let upper = |n| support::random_from(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", n);
    let samples: Vec<(&str, String)> = vec![
        (
            "age-secret-key",
            format!(
                "AGE-SECRET-KEY-1{}",
                support::random_from(&bech32.to_ascii_uppercase(), 58)
            ),
        ),
        (
            "doppler-api-token",
            format!("DOPPLER_TOKEN=dp.pt.{}", alnum(43)),
        ),
        (
            "pypi-upload-token",
            format!("password = pypi-AgEIcHlwaS5vcmc{}\n", alnum(60)),
        ),
        (
            "1password-secret-key",
            format!(
                "A3-{}-{}-{}-{}-{} ",
                upper(6),
                upper(11),
                upper(5),
                upper(5),
                upper(5)
            ),
        ),
        (
            "clojars-api-token",
            format!(
                "CLOJARS_{}",
                support::random_from(b"abcdefghijklmnopqrstuvwxyz0123456789", 60)
            ),
        ),
        (
            "adafruit-api-key",
            format!(
                "adafruit_key = \"{}\"\n",
                support::random_from(b"abcdefghijklmnopqrstuvwxyz0123456789", 32)
            ),
        ),
    ];
    let dir = scratch_dir("rules_config");
    let mut raw = Vec::new();
    for (_, s) in &samples {
        raw.extend(b"\n\n");
        raw.extend(s.as_bytes());
        raw.extend(b"\n\0\0\0\0");
        raw.extend(utf16le(s));
        raw.extend([0u8; 8]);
    }
    let input = write(&dir, "gitleaks-samples.bin", "");
    std::fs::write(&input, &raw).unwrap();
    let run = dumpscrub([
        "scan",
        "--raw",
        "--no-config",
        "--no-default-rules",
        "--no-key-detectors",
        "--rules",
        GITLEAKS,
        input.to_str().unwrap(),
        "--report",
        "-",
        "-q",
    ]);
    assert_eq!(run.code, Some(1), "{}", run.stderr_text());
    let f = findings(&run.json());
    for (id, _) in &samples {
        for enc in ["ascii", "utf16le"] {
            assert!(
                f.iter().any(|x| x["rule"] == *id && x["encoding"] == enc),
                "{id} {enc}: {:#?}",
                f.iter().map(|x| x["rule"].clone()).collect::<Vec<_>>()
            );
        }
    }
}

/// Runs `args` with a config or rule file holding `body` and checks exit
/// status 2 and the `FILE:LINE:` prefix of the error.
fn expect_error(dir: &Path, name: &str, body: &str, as_config: bool, line: usize, reason: &str) {
    let p = write(dir, name, body);
    let flag = if as_config { "--config" } else { "--rules" };
    let out = dir.join(format!("{name}.out.dmp"));
    let run = dumpscrub(
        [
            "scrub",
            "--no-config",
            PLANTED,
            "-o",
            out.to_str().unwrap(),
            "--report",
            "-",
        ]
        .into_iter()
        .filter(|a| !(as_config && *a == "--no-config"))
        .chain([flag, p.to_str().unwrap()]),
    );
    let err = run.stderr_text();
    assert_eq!(run.code, Some(2), "{name}: {err}");
    assert!(
        err.contains(&format!("{}:{line}: ", p.display())) && err.contains(reason),
        "{name}: expected {}:{line}: …{reason}…, got {err}",
        p.display()
    );
    assert!(!out.exists(), "{name}: an output was written");
    assert!(run.stdout.is_empty(), "{name}: a report was written");
}

#[test]
fn malformed_rule_and_config_files_exit_2_with_file_and_line() {
    let dir = scratch_dir("rules_config");
    let rule = |extra: &str| {
        format!(
            "[[rules]]\nid = \"acme\"\nkeywords = [\"acme_\"]\nregex = '''(?-u)acme_[a-z0-9]{{16}}'''\nexamples = [\"acme_k3j5h7g9f1d2s4a6\"]\n{extra}"
        )
    };
    expect_error(&dir, "syntax.toml", "[[rules]\nid = 1\n", false, 1, "");
    expect_error(
        &dir,
        "regex.toml",
        "[[rules]]\nid = \"acme\"\nkeywords = [\"acme_\"]\n\nregex = '''acme_([a-z'''\nexamples = [\"x\"]\n",
        false,
        5,
        "invalid regex",
    );
    expect_error(
        &dir,
        "unknown.toml",
        &rule("colour = \"red\"\n"),
        false,
        6,
        "unknown field `colour`",
    );
    expect_error(
        &dir,
        "duplicate.toml",
        &format!("{}\n{}", rule(""), rule("")),
        false,
        8,
        "duplicate rule id acme",
    );
    expect_error(
        &dir,
        "example.toml",
        &rule("counter_examples = [\"nothing here\", \"acme_aaaa1111bbbb2222\"]\n"),
        false,
        6,
        "counter-example is found",
    );
    expect_error(
        &dir,
        "group.toml",
        &rule("secret_group = 2\n"),
        false,
        6,
        "not a capture group",
    );
    expect_error(
        &dir,
        "cfg-unknown.toml",
        "min_confidence = \"high\"\nthreads = 4\n",
        true,
        2,
        "unknown field `threads`",
    );
    expect_error(
        &dir,
        "cfg-policy.toml",
        "policy = \"strip-everything\"\n",
        true,
        1,
        "unknown variant",
    );
    expect_error(
        &dir,
        "cfg-allow.toml",
        "[[allowlist]]\ndescription = \"nothing\"\n",
        true,
        1,
        "sets no condition",
    );
    expect_error(
        &dir,
        "cfg-allow-regex.toml",
        "[[allowlist]]\nrules = [\"jwt\"]\nregexes = ['''(''']\n",
        true,
        3,
        "invalid regex",
    );
    expect_error(
        &dir,
        "cfg-missing.toml",
        "\nrule_files = [\"no-such-file.toml\"]\n",
        true,
        2,
        "no-such-file.toml",
    );

    // `rules --check`: 1 for a failing example (each listed by line), 2
    // for a malformed file.
    let bad = write(
        &dir,
        "check.toml",
        &rule("counter_examples = [\"acme_aaaa1111bbbb2222\"]\n"),
    );
    let run = dumpscrub(["rules", "--no-config", "--check", bad.to_str().unwrap()]);
    assert_eq!(run.code, Some(1), "{}", run.stderr_text());
    assert!(run.stderr_text().contains(&format!(
        "{}:6: rule acme: counter-example is found",
        bad.display()
    )));
    let good = write(&dir, "check-good.toml", &rule(""));
    let run = dumpscrub(["rules", "--no-config", "--check", good.to_str().unwrap()]);
    assert_eq!(run.code, Some(0), "{}", run.stderr_text());
    assert!(run.stdout_text().contains("1 rules, 1 examples, 0 failed"));
    let broken = write(
        &dir,
        "check-broken.toml",
        "[[rules]]\nid = \"x\"\nregex = 5\n",
    );
    let run = dumpscrub(["rules", "--no-config", "--check", broken.to_str().unwrap()]);
    assert_eq!(run.code, Some(2));
    assert!(
        run.stderr_text()
            .contains(&format!("{}:3: ", broken.display())),
        "{}",
        run.stderr_text()
    );
}

#[test]
fn documented_config_loads_from_the_current_directory_and_cli_flags_override_it() {
    let dir = scratch_dir("rules_config").join("cwd-config");
    std::fs::create_dir_all(&dir).unwrap();
    write(&dir, "dumpscrub.toml", &doc_block("docs/config.md", 0));
    write(&dir, "rules/acme.toml", &doc_block("docs/rules.md", 0));
    write(&dir, "known-secrets.txt", &format!("{}\n", alnum(24)));
    write(&dir, "fingerprint.key", &format!("{}\n", alnum(32)));
    let key = openssl::rsa::Rsa::generate(2048).unwrap();
    let pem = String::from_utf8(key.public_key_to_pem().unwrap()).unwrap();
    write(&dir, "keys/release-signing.pub.pem", &pem);

    let bin = env!("CARGO_BIN_EXE_dumpscrub");
    let planted = std::fs::canonicalize(PLANTED).unwrap();
    let run_in = |args: &[&str]| {
        Command::new(bin)
            .args(args)
            .current_dir(&dir)
            .env_remove("DUMPSCRUB_FINGERPRINT_KEY")
            .output()
            .unwrap()
    };
    let out = run_in(&["rules", "--format", "json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    let origin = |id: &str| {
        list["rules"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id)
            .map(|r| r["origin"].as_str().unwrap().to_string())
    };
    assert!(origin("acme-deploy-key")
        .unwrap()
        .starts_with("dumpscrub.toml:"));
    assert!(origin("acme-live-token")
        .unwrap()
        .contains("rules/acme.toml:"));
    assert_eq!(origin("jwt").as_deref(), Some("built-in"));
    assert_eq!(list["allowlist"].as_array().unwrap().len(), 4);

    // The config's rules, key and known files are used by a scan.
    let scan = run_in(&["scan", planted.to_str().unwrap(), "--report", "-", "-q"]);
    assert_eq!(
        scan.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&scan.stderr)
    );
    let report: Value = serde_json::from_slice(&scan.stdout).unwrap();
    assert_eq!(
        report["tool"]["rules"].as_u64().unwrap() as usize,
        list["rules"].as_array().unwrap().len()
    );
    assert_eq!(report["fingerprints_keyed"], true);

    // --no-config ignores it; --min-confidence overrides its value.
    let out = run_in(&["rules", "--no-config", "--format", "json"]);
    let bare: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(bare["rules"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["origin"] == "built-in"));
    let high = run_in(&[
        "scan",
        planted.to_str().unwrap(),
        "--min-confidence",
        "low",
        "--report",
        "-",
        "-q",
    ]);
    let report: Value = serde_json::from_slice(&high.stdout).unwrap();
    assert!(findings(&report).iter().all(|f| f["action"] != "reported"));

    // The documented rule file passes its own check.
    let check = run_in(&["rules", "--no-config", "--check", "rules/acme.toml"]);
    assert_eq!(
        check.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    assert!(String::from_utf8_lossy(&check.stdout).contains("2 rules, 6 examples, 0 failed"));
}
