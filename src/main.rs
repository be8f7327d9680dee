//! The `dumpscrub` command line: argument parsing, exit codes, and where the
//! report and the one-line summary go. All the work is in the library.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Args, Parser, Subcommand, ValueEnum};

use dumpscrub::policy::Policy;
use dumpscrub::allowlist::Allowlist;
use dumpscrub::config::{self, Config};
use dumpscrub::report::{self, FileReport, Report, Status};
use dumpscrub::rules::{cli as rules_cli, Confidence};
use dumpscrub::{Engine, FileError, Options};

const EXIT_CLEAN: u8 = 0;
const EXIT_FINDINGS: u8 = 1;
const EXIT_ERROR: u8 = 2;

#[derive(Parser)]
#[command(
    name = "dumpscrub",
    version,
    about = "Find secrets in crash dumps and zero them in a copy that stays a valid, debuggable dump",
    after_help = "Exit status: 0 success (scan: nothing found), 1 scan found secrets, 2 error.\nReport format: docs/report.md"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write a copy of a dump with every secret zeroed, and report what was removed.
    #[command(after_help = "Examples:\n  \
        dumpscrub scrub crash.dmp -o crash.clean.dmp\n  \
        dumpscrub scrub crash.dmp -o crash.clean.dmp --report report.json\n  \
        dumpscrub scrub crash.dmp --in-place --report - --format text\n\n\
        Exit status: 0 the output was written (whether or not anything was found), 2 error\n\
        (nothing is written and the input is untouched).")]
    Scrub(ScrubArgs),
    /// Scan dumps read-only and report the secrets in them.
    #[command(after_help = "Examples:\n  \
        dumpscrub scan crash.dmp\n  \
        dumpscrub scan archive/ --report findings.json\n  \
        dumpscrub scan a.dmp b.dmp --report - --format text\n\n\
        Directories are walked recursively; files in them that are not crash dumps are\n\
        listed as skipped. Exit status: 0 nothing found, 1 secrets found, 2 error.")]
    Scan(ScanArgs),
    /// List the active rules, or check a rule file and run its examples.
    #[command(after_help = "Examples:\n  \
        dumpscrub rules\n  \
        dumpscrub rules --rules acme.toml --format json\n  \
        dumpscrub rules --check acme.toml\n\n\
        Rule files: docs/rules.md. Exit status: 0 ok, 1 an example failed (--check), 2 the\n\
        configuration or rule file is malformed.")]
    Rules(RulesArgs),
}

/// Where rules, allowlists and defaults come from (docs/config.md).
#[derive(Args)]
struct RuleSources {
    /// Add the rules (and allowlists) of a rule file: dumpscrub's TOML
    /// format or a gitleaks config (docs/rules.md). Repeatable.
    #[arg(long = "rules", value_name = "FILE")]
    rule_files: Vec<PathBuf>,
    /// Start from no built-in text rules (only --rules and config rules).
    #[arg(long)]
    no_default_rules: bool,
    /// Read the configuration from FILE instead of ./dumpscrub.toml.
    #[arg(long, value_name = "FILE", conflicts_with = "no_config")]
    config: Option<PathBuf>,
    /// Ignore ./dumpscrub.toml.
    #[arg(long)]
    no_config: bool,
}

#[derive(Args)]
struct RulesArgs {
    /// Validate FILE and run its examples through the detector (ASCII and
    /// UTF-16LE): exit 1 if an example fails, 2 if the file is malformed.
    #[arg(long, value_name = "FILE")]
    check: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    format: ReportFormat,
    #[command(flatten)]
    sources: RuleSources,
}

#[derive(Args)]
struct ScrubArgs {
    /// The dump to scrub.
    input: PathBuf,
    /// Where to write the scrubbed copy.
    #[arg(
        short,
        long,
        required_unless_present = "in_place",
        conflicts_with = "in_place"
    )]
    output: Option<PathBuf>,
    /// Replace INPUT with the scrubbed copy (atomically: never half-written).
    #[arg(long)]
    in_place: bool,
    #[command(flatten)]
    common: Common,
}

#[derive(Args)]
struct ScanArgs {
    /// Files or directories (walked recursively) to scan.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    #[command(flatten)]
    common: Common,
}

#[derive(Args)]
struct Common {
    /// Write the report to FILE, or to standard output with `-`.
    #[arg(long, value_name = "FILE|-")]
    report: Option<PathBuf>,
    /// Report format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Json)]
    format: ReportFormat,
    /// Worker threads for the scan (default: one per core).
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    /// Treat every input as plain bytes, without parsing its format. The
    /// explicit way to scrub a file dumpscrub cannot parse.
    #[arg(long)]
    raw: bool,
    /// Redact findings at or above this confidence; report the rest
    /// [default: medium, or the config's min_confidence].
    #[arg(long, value_enum)]
    min_confidence: Option<MinConfidence>,
    /// File holding the key for finding fingerprints (keyed HMAC), so that
    /// short secrets cannot be guessed from a report. Also read from the
    /// DUMPSCRUB_FINGERPRINT_KEY environment variable.
    #[arg(long, value_name = "FILE")]
    fingerprint_key_file: Option<PathBuf>,
    /// Public keys whose private halves must never appear in a dump: PEM
    /// public keys, X.509 certificates (PEM or DER) or JWKS documents. Each
    /// RSA modulus (EC public point) is looked for in memory, and a private
    /// factor (scalar) near it recovers and removes the whole key.
    /// Repeatable.
    #[arg(long, value_name = "FILE")]
    known_keys: Vec<PathBuf>,
    /// Literal secret values, one a line (`hex:` / `base64:` prefixes for
    /// binary), found raw, in UTF-16LE, hex and base64. Repeatable.
    #[arg(long, value_name = "FILE")]
    known_secrets: Vec<PathBuf>,
    /// What to remove beyond the secrets found: `detect` (only them),
    /// `strip-heap` (also all memory that is not a stack or module image),
    /// `stack-only` (keep only stacks, structure and module names),
    /// `sanitize-stacks` (stack-only, and stack words that are not small
    /// integers or pointers into modules or stacks become 0x0defaced).
    /// See docs/policies.md. Default: detect.
    #[arg(long, value_name = "POLICY", value_parser = PossibleValuesParser::new(Policy::NAMES).try_map(|s| s.parse::<Policy>()))]
    policy: Option<Policy>,
    /// Text rules only: turn off the key-material detectors (DER, key
    /// blobs, AES schedules, OpenSSH, library big numbers). For measuring
    /// their cost; never for real use.
    #[arg(long)]
    no_key_detectors: bool,
    /// Do not print the one-line summary.
    #[arg(short, long)]
    quiet: bool,
    #[command(flatten)]
    sources: RuleSources,
}

#[derive(Clone, Copy, ValueEnum)]
enum ReportFormat {
    Json,
    Text,
}

#[derive(Clone, Copy, ValueEnum)]
enum MinConfidence {
    Low,
    Medium,
    High,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("dumpscrub: error: {e:#}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

fn run(cli: Cli) -> Result<u8> {
    match cli.command {
        Command::Scrub(a) => scrub(a),
        Command::Scan(a) => scan(a),
        Command::Rules(a) => rules_command(a),
    }
}

fn engine(c: &Common) -> Result<Engine> {
    if let Some(n) = c.threads {
        if n == 0 {
            bail!("--threads must be at least 1");
        }
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
            .context("cannot start the worker threads")?;
    }
    let config = Config::discover(c.sources.config.as_deref(), c.sources.no_config)?;
    let set = config::rule_set(
        config.as_ref(),
        c.sources.no_default_rules,
        &c.sources.rule_files,
    )?;
    for w in &set.warnings {
        eprintln!("dumpscrub: warning: {w}");
    }
    // Command-line values win over the config; lists add to it.
    let key_file = c
        .fingerprint_key_file
        .clone()
        .or_else(|| config.as_ref().and_then(|k| k.fingerprint_key_file.clone()));
    let mut known_keys = config
        .as_ref()
        .map(|k| k.known_keys.clone())
        .unwrap_or_default();
    known_keys.extend(c.known_keys.iter().cloned());
    let mut known_secrets = config
        .as_ref()
        .map(|k| k.known_secrets.clone())
        .unwrap_or_default();
    known_secrets.extend(c.known_secrets.iter().cloned());
    let min_confidence = match c.min_confidence {
        Some(MinConfidence::Low) => Confidence::Low,
        Some(MinConfidence::Medium) => Confidence::Medium,
        Some(MinConfidence::High) => Confidence::High,
        None => config
            .as_ref()
            .and_then(|k| k.min_confidence)
            .unwrap_or(Confidence::Medium),
    };
    let fingerprint_key = match (&key_file, std::env::var_os("DUMPSCRUB_FINGERPRINT_KEY")) {
        (Some(p), _) => {
            let k = std::fs::read(p)
                .with_context(|| format!("{}: cannot read the fingerprint key", p.display()))?;
            let k = k.trim_ascii().to_vec();
            if k.is_empty() {
                bail!("{}: the fingerprint key file is empty", p.display());
            }
            Some(k)
        }
        (None, Some(v)) if !v.is_empty() => Some(v.into_encoded_bytes()),
        _ => None,
    };
    Engine::new(Options {
        raw: c.raw,
        min_confidence,
        fingerprint_key,
        key_detectors: !c.no_key_detectors,
        policy: c
            .policy
            .or_else(|| config.as_ref().and_then(|k| k.policy))
            .unwrap_or_default(),
        known_keys,
        known_secrets,
        rules: set.rules,
        allowlist: Allowlist {
            entries: set.allowlist,
        },
    })
    .inspect(|e| {
        for w in e.warnings() {
            eprintln!("dumpscrub: warning: {w}");
        }
    })
}

fn rules_command(a: RulesArgs) -> Result<u8> {
    let s = &a.sources;
    let config = Config::discover(s.config.as_deref(), s.no_config)?;
    let set = config::rule_set(config.as_ref(), s.no_default_rules, &s.rule_files)?;
    let json = matches!(a.format, ReportFormat::Json);
    let (body, code) = match &a.check {
        None => {
            for w in &set.warnings {
                eprintln!("dumpscrub: warning: {w}");
            }
            (rules_cli::list(&set, json), EXIT_CLEAN)
        }
        Some(file) => {
            let outcome = rules_cli::check(set, file)?;
            for w in &outcome.warnings {
                eprintln!("dumpscrub: warning: {w}");
            }
            for f in &outcome.failures {
                eprintln!("dumpscrub: {}", f.message);
            }
            let code = if outcome.failures.is_empty() {
                EXIT_CLEAN
            } else {
                EXIT_FINDINGS
            };
            (outcome.render(json), code)
        }
    };
    let mut out = std::io::stdout().lock();
    out.write_all(body.as_bytes())
        .and_then(|_| out.flush())
        .context("cannot write to standard output")?;
    Ok(code)
}

fn scrub(a: ScrubArgs) -> Result<u8> {
    let engine = engine(&a.common)?;
    let dest = if a.in_place {
        a.input.clone()
    } else {
        a.output
            .clone()
            .expect("clap requires -o without --in-place")
    };
    if !a.in_place && same_file(&a.input, &dest) {
        bail!(
            "{}: the output is the input; use --in-place to replace it",
            dest.display()
        );
    }
    let file = match engine.scrub_file(&a.input, &dest) {
        Ok(f) => f,
        Err(e) => FileReport::failed(&a.input.display().to_string(), Status::Error, e.to_string()),
    };
    let failed = file.status != Status::Ok;
    let report = Report::new(
        "scrub",
        engine.rule_count(),
        engine.fingerprints_keyed(),
        vec![file],
    );
    emit(&report, &a.common)?;
    if !a.common.quiet {
        let f = &report.files[0];
        if failed {
            eprintln!(
                "dumpscrub: error: {}",
                f.error.as_deref().unwrap_or("failed")
            );
        } else {
            let policy = match f.policy.as_ref().filter(|p| p.name != "detect") {
                Some(p) => format!(
                    "; policy {}: {} bytes zeroed, {} words sanitized",
                    p.name, p.bytes_zeroed, p.words_sanitized
                ),
                None => String::new(),
            };
            eprintln!(
                "dumpscrub: {}: {} findings, {} bytes redacted{policy} -> {}",
                f.path,
                f.summary.findings,
                f.summary.bytes_redacted,
                dest.display()
            );
        }
    } else if failed {
        eprintln!(
            "dumpscrub: error: {}",
            report.files[0].error.as_deref().unwrap_or("failed")
        );
    }
    Ok(if failed { EXIT_ERROR } else { EXIT_CLEAN })
}

fn scan(a: ScanArgs) -> Result<u8> {
    let engine = engine(&a.common)?;
    let mut files = Vec::new();
    for root in &a.paths {
        if root.is_dir() {
            let walker = walkdir::WalkDir::new(root).sort_by_file_name();
            for entry in walker {
                match entry {
                    Ok(e) if e.file_type().is_file() => {
                        files.push(scan_one(&engine, e.path(), true));
                    }
                    Ok(_) => {}
                    Err(e) => files.push(FileReport::failed(
                        &e.path().unwrap_or(root).display().to_string(),
                        Status::Error,
                        format!("cannot read directory entry: {e}"),
                    )),
                }
            }
        } else {
            files.push(scan_one(&engine, root, false));
        }
    }
    let report = Report::new(
        "scan",
        engine.rule_count(),
        engine.fingerprints_keyed(),
        files,
    );
    emit(&report, &a.common)?;
    let s = &report.summary;
    for f in report.files.iter().filter(|f| f.status == Status::Error) {
        eprintln!(
            "dumpscrub: error: {}",
            f.error.as_deref().unwrap_or("failed")
        );
    }
    if !a.common.quiet {
        eprintln!(
            "dumpscrub: scanned {} files: {} findings ({} to redact) in {} files, {} errors, {} skipped",
            s.files - s.skipped - s.errors,
            s.findings,
            s.actionable,
            s.files_with_findings,
            s.errors,
            s.skipped
        );
    }
    Ok(if s.errors > 0 {
        EXIT_ERROR
    } else if s.actionable > 0 {
        EXIT_FINDINGS
    } else {
        EXIT_CLEAN
    })
}

fn scan_one(engine: &Engine, path: &Path, from_walk: bool) -> FileReport {
    let display = path.display().to_string();
    match engine.scan_file(path) {
        Ok(r) => r,
        Err(FileError::NotRecognised(m)) if from_walk => {
            FileReport::failed(&display, Status::Skipped, m)
        }
        Err(e) => FileReport::failed(&display, Status::Error, e.to_string()),
    }
}

fn emit(report: &Report, c: &Common) -> Result<()> {
    let Some(target) = &c.report else {
        return Ok(());
    };
    let body = match c.format {
        ReportFormat::Json => report.to_json(),
        ReportFormat::Text => report::text::render(report),
    };
    if target.as_os_str() == "-" {
        let mut out = std::io::stdout().lock();
        out.write_all(body.as_bytes())
            .context("cannot write the report to standard output")?;
        out.flush()
            .context("cannot write the report to standard output")?;
        return Ok(());
    }
    let dir = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".dumpscrub-report-")
        .tempfile_in(&dir)
        .with_context(|| format!("{}: cannot write the report", target.display()))?;
    tmp.write_all(body.as_bytes())
        .and_then(|_| tmp.as_file().sync_all())
        .with_context(|| format!("{}: cannot write the report", target.display()))?;
    tmp.persist(target)
        .map_err(|e| e.error)
        .with_context(|| format!("{}: cannot write the report", target.display()))?;
    Ok(())
}

fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
        _ => false,
    }
}
