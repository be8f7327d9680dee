//! The `dumpscrub` command line: argument parsing, exit codes, and where the
//! report and the one-line summary go. All the work is in the library.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};

use dumpscrub::report::{self, FileReport, Report, Status};
use dumpscrub::rules::Confidence;
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
    /// Redact findings at or above this confidence; report the rest.
    #[arg(long, value_enum, default_value_t = MinConfidence::Medium)]
    min_confidence: MinConfidence,
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
    /// Text rules only: turn off the key-material detectors (DER, key
    /// blobs, AES schedules, OpenSSH, library big numbers). For measuring
    /// their cost; never for real use.
    #[arg(long)]
    no_key_detectors: bool,
    /// Turn off the generic-secret entropy detector (high-entropy values of
    /// secret-named keys, free-standing random tokens).
    #[arg(long)]
    no_entropy: bool,
    /// Do not print the one-line summary.
    #[arg(short, long)]
    quiet: bool,
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
    let fingerprint_key = match (
        &c.fingerprint_key_file,
        std::env::var_os("DUMPSCRUB_FINGERPRINT_KEY"),
    ) {
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
        min_confidence: match c.min_confidence {
            MinConfidence::Low => Confidence::Low,
            MinConfidence::Medium => Confidence::Medium,
            MinConfidence::High => Confidence::High,
        },
        fingerprint_key,
        key_detectors: !c.no_key_detectors,
        entropy: !c.no_entropy,
        known_keys: c.known_keys.clone(),
        known_secrets: c.known_secrets.clone(),
    })
    .inspect(|e| {
        for w in e.warnings() {
            eprintln!("dumpscrub: warning: {w}");
        }
    })
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
            eprintln!(
                "dumpscrub: {}: {} findings, {} bytes redacted -> {}",
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
