//! The `dumpscrub` command line: which files, where outputs and reports
//! go, what is printed, and the exit status. All the work is in the
//! library.

mod args;
mod batch;
mod inputs;
mod outdir;
mod output;
mod progress;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};

use anyhow::{bail, Context, Result};
use clap::{CommandFactory, Parser};

use dumpscrub::allowlist::Allowlist;
use dumpscrub::config::{self, Config};
use dumpscrub::report::{self, FileReport, Report, Status};
use dumpscrub::rules::{cli as rules_cli, Confidence};
use dumpscrub::{Engine, FileError, Options};

use args::{Cli, Command, Common, Inputs, MinConfidence, ReportFormat, RulesArgs, ScrubArgs};
use inputs::Item;
use output::Sink;

const EXIT_CLEAN: u8 = 0;
const EXIT_FINDINGS: u8 = 1;
const EXIT_ERROR: u8 = 2;

/// `--version`: the crate version and the built-in rule set's hash.
fn version() -> &'static str {
    static V: OnceLock<String> = OnceLock::new();
    V.get_or_init(|| {
        format!(
            "{} (rules {})",
            env!("CARGO_PKG_VERSION"),
            dumpscrub::rules::version::builtin_rules_version()
        )
    })
}

pub fn main() -> ExitCode {
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
        Command::Scrub(a) => {
            let mode = Mode::Scrub(&a);
            batch_run(mode, &a.inputs, &a.common)
        }
        Command::Scan(a) => batch_run(Mode::Scan, &a.inputs, &a.common),
        Command::Verify(a) => batch_run(Mode::Verify, &a.inputs, &a.common),
        Command::Rules(a) => rules_command(a),
        Command::Completions { shell } => {
            let mut out = std::io::stdout().lock();
            clap_complete::generate(shell, &mut Cli::command(), "dumpscrub", &mut out);
            Ok(EXIT_CLEAN)
        }
        Command::Man { command } => man(command.as_deref()),
    }
}

fn man(sub: Option<&str>) -> Result<u8> {
    let mut cmd = Cli::command();
    cmd.build();
    let page = match sub {
        None => cmd,
        Some(name) => match cmd.find_subcommand(name) {
            Some(c) => c.clone(),
            None => bail!("no subcommand `{name}` (scrub, scan, verify, completions, man)"),
        },
    };
    let mut out = std::io::stdout().lock();
    clap_mangen::Man::new(page)
        .render(&mut out)
        .context("cannot write the manual page to standard output")?;
    Ok(EXIT_CLEAN)
}

#[derive(Clone, Copy)]
enum Mode<'a> {
    Scrub(&'a ScrubArgs),
    Scan,
    Verify,
}

impl Mode<'_> {
    fn name(self) -> &'static str {
        match self {
            Mode::Scrub(_) => "scrub",
            Mode::Scan => "scan",
            Mode::Verify => "verify",
        }
    }
}

fn engine(c: &Common) -> Result<Engine> {
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
        entropy: !c.no_entropy,
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
        max_decompressed_size: c.max_decompressed_size,
    })
    .inspect(|e| {
        for w in e.warnings() {
            eprintln!("dumpscrub: warning: {w}");
        }
    })
}

fn rules_command(a: RulesArgs) -> Result<u8> {
    use std::io::Write;
    let s = &a.sources;
    let config = Config::discover(s.config.as_deref(), s.no_config)?;
    let set = config::rule_set(config.as_ref(), s.no_default_rules, &s.rule_files)?;
    let json = match a.format {
        ReportFormat::Json => true,
        ReportFormat::Text => false,
        _ => bail!("dumpscrub rules: --format must be json or text"),
    };
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

/// The thread budget: one pool for everything (see `batch`).
fn pool(c: &Common) -> Result<rayon::ThreadPool> {
    if c.threads == Some(0) {
        bail!("--threads must be at least 1");
    }
    if c.jobs == 0 {
        bail!("--jobs must be at least 1");
    }
    rayon::ThreadPoolBuilder::new()
        .num_threads(c.threads.unwrap_or(0))
        .thread_name(|i| format!("dumpscrub-{i}"))
        .build()
        .context("cannot start the worker threads")
}

/// Where each item's scrubbed copy goes (`None` for scan and verify).
fn destinations(
    mode: Mode,
    items: &[Item],
    inputs: &Inputs,
) -> Result<Vec<Result<Option<PathBuf>, String>>> {
    let Mode::Scrub(a) = mode else {
        return Ok(items.iter().map(|_| Ok(None)).collect());
    };
    if a.in_place {
        return Ok(items.iter().map(|it| Ok(Some(it.path.clone()))).collect());
    }
    if let Some(dir) = &a.output_dir {
        return Ok(outdir::plan(items, dir)
            .into_iter()
            .map(|d| d.map(Some))
            .collect());
    }
    let Some(out) = &a.output else {
        bail!("scrub needs -o FILE, --output-dir DIR or --in-place");
    };
    let single = matches!(items, [it] if it.root.is_none())
        && inputs.files_from.is_none()
        && inputs.paths.len() == 1;
    if !single {
        bail!("-o/--output takes exactly one input file; use --output-dir DIR for several");
    }
    if let [it] = items {
        if inputs::file_id(&it.path).is_some() && inputs::file_id(&it.path) == inputs::file_id(out)
        {
            bail!(
                "{}: the output is the input; use --in-place to replace it",
                out.display()
            );
        }
    }
    Ok(vec![Ok(Some(out.clone()))])
}

/// Totals over the run, kept as files finish so that a JSON Lines run does
/// not hold every report in memory.
#[derive(Default)]
struct Tally {
    files: usize,
    errors: usize,
    skipped: usize,
    findings: usize,
    actionable: usize,
    files_with_actionable: usize,
    bytes_redacted: u64,
}

fn actionable(f: &FileReport) -> impl Iterator<Item = &dumpscrub::findings::Finding> {
    f.findings.iter().filter(|x| x.is_actionable())
}

fn batch_run(mode: Mode, inputs: &Inputs, c: &Common) -> Result<u8> {
    let pool = pool(c)?;
    let mut engine = engine(c)?;
    let skip = match mode {
        Mode::Scrub(a) => a.output_dir.as_deref(),
        _ => None,
    };
    let items = inputs::collect(inputs, skip)?;
    let dests = destinations(mode, &items, inputs)?;
    let sizes: Vec<u64> = items
        .iter()
        .map(|it| std::fs::metadata(&it.path).map(|m| m.len()).unwrap_or(0))
        .collect();
    let counts = Arc::new(dumpscrub::progress::Progress::default());
    counts.total.store(sizes.iter().sum(), Ordering::Relaxed);
    engine.set_progress(counts.clone());
    let engine = engine;

    let mut jsonl = match (&c.report, c.format) {
        (Some(t), ReportFormat::Jsonl) => Some(Sink::open(t)?),
        _ => None,
    };
    let keep_reports = c.report.is_some() && jsonl.is_none();
    let rules_version = dumpscrub::rules::version::builtin_rules_version();

    let work = |i: usize| -> FileReport {
        let (Some(it), Some(dest)) = (items.get(i), dests.get(i)) else {
            return FileReport::failed("?", Status::Error, "internal error: no such item".into());
        };
        let name = it.path.display().to_string();
        if let Some(e) = &it.walk_error {
            return FileReport::failed(&name, Status::Error, format!("{name}: {e}"));
        }
        let dest = match dest {
            Ok(d) => d.as_deref(),
            Err(m) => return FileReport::failed(&name, Status::Error, m.clone()),
        };
        let result = catch_unwind(AssertUnwindSafe(|| process(&engine, &it.path, dest)));
        match result {
            Ok(Ok(r)) => r,
            Ok(Err(FileError::NotRecognised(m))) if it.root.is_some() => {
                FileReport::failed(&name, Status::Skipped, m)
            }
            Ok(Err(e)) => FileReport::failed(&name, Status::Error, e.to_string()),
            Err(_) => FileReport::failed(
                &name,
                Status::Error,
                format!("{name}: internal error (a bug in dumpscrub: please report it)"),
            ),
        }
    };

    let bar = progress::Bar::new(counts.clone(), c.quiet);
    let mut tally = Tally::default();
    let mut kept = Vec::new();
    let mut sink_error = None;
    batch::run(
        items.len(),
        c.jobs,
        &pool,
        work,
        |i, f| {
            if f.status != Status::Ok {
                // A file that failed before its scan still counts as done.
                counts
                    .done
                    .fetch_add(sizes.get(i).copied().unwrap_or(0), Ordering::Relaxed);
            }
            tally.files += 1;
            match f.status {
                Status::Error => tally.errors += 1,
                Status::Skipped => tally.skipped += 1,
                Status::Ok => {}
            }
            let n_act = actionable(&f).count();
            tally.findings += f.findings.len();
            tally.actionable += n_act;
            tally.files_with_actionable += usize::from(n_act > 0);
            tally.bytes_redacted += f.summary.bytes_redacted;
            if f.status == Status::Error {
                bar.println(&format!(
                    "dumpscrub: error: {}",
                    f.error.as_deref().unwrap_or("failed")
                ));
            }
            if let Mode::Verify = mode {
                for x in actionable(&f) {
                    bar.println(&format!(
                        "dumpscrub: verify: {}: {} at offset {:#x} ({})",
                        f.path, x.rule, x.offset, x.stream
                    ));
                }
            }
            if let (Mode::Scrub(_), Status::Ok, false) = (mode, f.status, c.quiet) {
                if let Some(out) = &f.output {
                    let policy = match f.policy.as_ref().filter(|p| p.name != "detect") {
                        Some(p) => format!(
                            "; policy {}: {} bytes zeroed, {} words sanitized",
                            p.name, p.bytes_zeroed, p.words_sanitized
                        ),
                        None => String::new(),
                    };
                    bar.println(&format!(
                        "dumpscrub: {}: {} findings, {} bytes redacted{policy} -> {}",
                        f.path, f.summary.findings, f.summary.bytes_redacted, out.path
                    ));
                }
            }
            if let Some(sink) = jsonl.as_mut() {
                if sink_error.is_none() {
                    if let Err(e) =
                        sink.write(&report::jsonl::line(mode.name(), &rules_version, &f))
                    {
                        sink_error = Some(e);
                    }
                }
            }
            if keep_reports {
                kept.push(f);
            }
        },
        || bar.tick(),
    );
    bar.finish();
    if let Some(e) = sink_error {
        return Err(e);
    }
    if let Some(sink) = jsonl {
        sink.finish()?;
    }
    if let Some(target) = &c.report {
        if c.format != ReportFormat::Jsonl {
            let r = Report::new(
                mode.name(),
                engine.rule_count(),
                engine.fingerprints_keyed(),
                kept,
            );
            let body = match c.format {
                ReportFormat::Text => report::text::render(&r),
                ReportFormat::Sarif => report::sarif::render(&r),
                ReportFormat::Json | ReportFormat::Jsonl => r.to_json(),
            };
            let mut sink = Sink::open(target)?;
            sink.write(&body)?;
            sink.finish()?;
        }
    }
    if !c.quiet {
        summary(mode, &tally, items.len());
    }
    Ok(match mode {
        Mode::Scrub(_) if tally.errors > 0 => EXIT_ERROR,
        Mode::Scrub(_) => EXIT_CLEAN,
        _ if tally.errors > 0 => EXIT_ERROR,
        _ if tally.actionable > 0 => EXIT_FINDINGS,
        _ => EXIT_CLEAN,
    })
}

fn process(engine: &Engine, path: &Path, dest: Option<&Path>) -> Result<FileReport, FileError> {
    match dest {
        None => engine.scan_file(path),
        Some(d) => {
            if let Some(parent) = d.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent).with_context(|| {
                    format!("{}: cannot create the output directory", parent.display())
                })?;
            }
            engine.scrub_file(path, d)
        }
    }
}

fn summary(mode: Mode, t: &Tally, items: usize) {
    let processed = t.files - t.skipped - t.errors;
    match mode {
        // One file: its own line (or its error) already said everything.
        Mode::Scrub(_) if items <= 1 => {}
        Mode::Scrub(_) => eprintln!(
            "dumpscrub: scrubbed {processed} files: {} findings, {} bytes redacted, {} errors, {} skipped",
            t.findings, t.bytes_redacted, t.errors, t.skipped
        ),
        Mode::Scan => eprintln!(
            "dumpscrub: scanned {processed} files: {} findings ({} to redact) in {} files, {} errors, {} skipped",
            t.findings, t.actionable, t.files_with_actionable, t.errors, t.skipped
        ),
        Mode::Verify if t.actionable > 0 => eprintln!(
            "dumpscrub: verify: FAILED: {} secrets remain in {} of {processed} files ({} errors, {} skipped)",
            t.actionable, t.files_with_actionable, t.errors, t.skipped
        ),
        Mode::Verify => eprintln!(
            "dumpscrub: verify: {processed} files checked, no secret at or above the threshold ({} errors, {} skipped)",
            t.errors, t.skipped
        ),
    }
}
