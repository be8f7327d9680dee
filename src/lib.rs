//! dumpscrub: find secrets in crash dumps and zero them in a copy that
//! stays a valid, debuggable dump.
//!
//! The flow runs one way: a file is mapped, its [`layout`] labels every
//! byte, the [`scan`] plan cuts it into chunks that the [`detect`]ors search
//! in parallel, the matches become [`findings`], the findings become a
//! [`redact`]ion plan, and a [`report`] says what was done without ever
//! repeating a secret. See `docs/architecture.md`.

pub mod allowlist;
pub mod compress;
pub mod config;
pub mod detect;
pub mod findings;
pub mod fingerprint;
pub mod keys;
pub mod known;
pub mod layout;
pub mod policy;
pub mod progress;
pub mod redact;
pub mod report;
pub mod rules;
pub mod scan;
pub mod sweep;

use std::fs::File;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use memmap2::Mmap;

use allowlist::Allowlist;
use detect::text::TextDetector;
use findings::{Action, FindingContext};
use fingerprint::Fingerprinter;
use layout::Layout;
use policy::Policy;
use report::{Bytes, FileReport, FileSummary, Output, Stats, Status};
use rules::{Confidence, Rule, RuleOrigin};

/// Options that change what is found and what is done with it.
#[derive(Debug, Clone)]
pub struct Options {
    /// Treat every input as plain bytes (no format parsing).
    pub raw: bool,
    /// Findings below this confidence are reported, not redacted.
    pub min_confidence: Confidence,
    /// Key for finding fingerprints; a fixed public key when absent.
    pub fingerprint_key: Option<Vec<u8>>,
    /// Run the key-material detectors (DER, blobs, AES schedules, OpenSSH,
    /// library big numbers). Off only to measure the text rules alone.
    pub key_detectors: bool,
    /// Run the generic-secret entropy detector (keyed values and
    /// free-standing tokens, `detect/entropy.rs`).
    pub entropy: bool,
    /// Files of public keys (PEM, X.509, JWKS) whose private halves must
    /// never appear in a dump.
    pub known_keys: Vec<std::path::PathBuf>,
    /// Files of literal secret values, one a line.
    pub known_secrets: Vec<std::path::PathBuf>,
    /// What to remove beyond the findings (`docs/policies.md`).
    pub policy: Policy,
    /// The text rules (built-in and from files; see `rules::set`).
    pub rules: Vec<Rule>,
    /// Known-harmless matches, reported as `allowed` and left in place.
    pub allowlist: Allowlist,
    /// Bound on the inflated size of a compressed input.
    pub max_decompressed_size: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            raw: false,
            min_confidence: Confidence::Medium,
            fingerprint_key: None,
            key_detectors: true,
            entropy: true,
            known_keys: Vec::new(),
            known_secrets: Vec::new(),
            policy: Policy::Detect,
            rules: rules::builtin_rules(),
            allowlist: Allowlist::default(),
            max_decompressed_size: compress::DEFAULT_MAX_DECOMPRESSED,
        }
    }
}

/// Why a file could not be processed. `NotRecognised` lets a directory walk
/// list a stray file as skipped instead of failing the whole run.
#[derive(Debug)]
pub enum FileError {
    NotRecognised(String),
    Failed(anyhow::Error),
}

impl std::fmt::Display for FileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FileError::NotRecognised(m) => f.write_str(m),
            FileError::Failed(e) => write!(f, "{e:#}"),
        }
    }
}

impl From<anyhow::Error> for FileError {
    fn from(e: anyhow::Error) -> Self {
        FileError::Failed(e)
    }
}

/// The configured scanner: rules compiled once, used for many files.
pub struct Engine {
    detectors: scan::Detectors,
    fingerprinter: Fingerprinter,
    options: Options,
    warnings: Vec<String>,
    progress: Option<Arc<progress::Progress>>,
}

/// A mapped input file.
struct Input {
    map: Option<Mmap>,
}

impl Input {
    fn open(path: &Path) -> Result<Self> {
        let file = File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
        let meta = file
            .metadata()
            .with_context(|| format!("{}: cannot read metadata", path.display()))?;
        if !meta.is_file() {
            bail!("{}: not a regular file", path.display());
        }
        if meta.len() == 0 {
            return Ok(Input { map: None });
        }
        // SAFETY: the file is opened read-only and dumpscrub never writes
        // to its input. Another process truncating it while we read would
        // fault; dumps being scrubbed are not expected to be live files.
        let map = unsafe { Mmap::map(&file) }
            .with_context(|| format!("{}: cannot map", path.display()))?;
        Ok(Input { map: Some(map) })
    }

    fn bytes(&self) -> &[u8] {
        self.map.as_deref().unwrap_or(&[])
    }
}

impl Engine {
    pub fn new(options: Options) -> Result<Self> {
        let fingerprinter = Fingerprinter::new(options.fingerprint_key.as_deref());
        let mut chunk: Vec<Box<dyn detect::ChunkDetector>> = Vec::new();
        let mut dump: Vec<Box<dyn detect::DumpDetector>> = Vec::new();
        if options.key_detectors {
            chunk.push(Box::new(detect::der::DerDetector::new()));
            chunk.push(Box::new(detect::openssh::OpenSshDetector::new()));
            chunk.push(Box::new(detect::blobs::BlobDetector::new()));
            chunk.push(Box::new(detect::aes::AesDetector::new()));
            dump.push(Box::new(detect::bignum::BignumDetector::new()));
        }
        if options.entropy {
            chunk.push(Box::new(detect::entropy::EntropyDetector::new()));
        }
        let text = TextDetector::new(&options.rules)?;
        // A rule file's examples must hold in the detector as built, with
        // every other rule's anchors beside them; otherwise nothing is
        // scanned with a rule set that does not do what it says.
        let failures =
            rules::set::check_examples(&text, &options.rules, |r| r.origin != RuleOrigin::Builtin);
        if !failures.is_empty() {
            let list: Vec<&str> = failures.iter().map(|f| f.message.as_str()).collect();
            bail!("{}", list.join("\n"));
        }
        let mut warnings = Vec::new();
        if !options.known_keys.is_empty() {
            let keys = known::load_known_keys(&options.known_keys)?;
            warnings.extend(keys.warnings().iter().cloned());
            dump.push(Box::new(keys));
        }
        if !options.known_secrets.is_empty() {
            chunk.push(Box::new(known::load_known_secrets(
                &options.known_secrets,
                &fingerprinter,
            )?));
        }
        Ok(Engine {
            detectors: scan::Detectors::new(text, chunk, dump)?,
            fingerprinter,
            options,
            warnings,
            progress: None,
        })
    }

    /// Warnings from loading the configuration (e.g. unusable entries in a
    /// known-keys file); never secret values.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Counts scanned bytes into `progress` from now on.
    pub fn set_progress(&mut self, progress: Arc<progress::Progress>) {
        self.progress = Some(progress);
    }

    pub fn rule_count(&self) -> usize {
        self.detectors.text.rule_count()
    }

    pub fn fingerprints_keyed(&self) -> bool {
        self.fingerprinter.keyed()
    }

    /// Builds the layout of `data`, failing closed on anything not
    /// understood.
    pub fn layout(&self, data: &[u8], path: &str) -> std::result::Result<Layout, FileError> {
        match layout::build(data, path, self.options.raw) {
            Ok(Some(layout)) => Ok(layout),
            Ok(None) => Err(FileError::NotRecognised(format!(
                "{path}: not a recognised crash dump (no minidump or ELF core signature); use --raw to treat it as plain bytes"
            ))),
            Err(e) => Err(FileError::Failed(e.into())),
        }
    }

    /// Scans `path` without writing anything.
    pub fn scan_file(&self, path: &Path) -> std::result::Result<FileReport, FileError> {
        self.process(path, None)
    }

    /// Scrubs `input` into `dest` (which may be `input` itself for an
    /// in-place scrub; the replace is atomic either way).
    pub fn scrub_file(
        &self,
        input: &Path,
        dest: &Path,
    ) -> std::result::Result<FileReport, FileError> {
        self.process(input, Some(dest))
    }

    fn process(
        &self,
        path: &Path,
        dest: Option<&Path>,
    ) -> std::result::Result<FileReport, FileError> {
        match compress::Compression::detect(path) {
            Some(kind) => self.process_compressed(path, dest, kind),
            None => self.process_plain(path, &path.display().to_string(), dest),
        }
    }

    /// Processes an uncompressed dump; `name` is what the report and
    /// messages call it (the input as given, even when `path` is its
    /// inflated copy).
    fn process_plain(
        &self,
        path: &Path,
        name: &str,
        dest: Option<&Path>,
    ) -> std::result::Result<FileReport, FileError> {
        let started = Instant::now();
        let display = name.to_string();
        let input = Input::open(path)?;
        let data = input.bytes();
        let layout = self.layout(data, &display)?;
        // Only now that the input parses: a bad input gets no temporary file.
        let copy = dest.map(|d| redact::PendingCopy::start(path, d, data.len() as u64));

        // A scrub pauses the input hash at the scan's first redaction so
        // far (see `redact::InputHasher`); a scan takes it whole.
        let first_change = AtomicU64::new(u64::MAX);
        let (input_hash, mut result) = rayon::join(
            || {
                let mut hasher = redact::InputHasher::new(data);
                hasher.run_while_before(|| first_change.load(Ordering::Relaxed));
                hasher
            },
            || {
                let watch = scan::Watch {
                    done: self.progress.as_deref().map(|p| &p.done),
                    first_change: dest.map(|_| (&first_change, self.options.min_confidence)),
                };
                scan::scan_watched(data, &layout, &self.detectors, watch)
            },
        );
        let swept = sweep::sweep(data, &layout, &result.keys, &self.fingerprinter);
        result.keys.extend(swept);
        scan::sort_keys(&mut result.keys);
        let ctx = FindingContext {
            data,
            layout: &layout,
            detector: &self.detectors.text,
            fingerprinter: &self.fingerprinter,
            min_confidence: self.options.min_confidence,
            writing: dest.is_some(),
        };
        let mut findings = findings::build(&ctx, &result.matches, &result.keys);
        self.options.allowlist.apply(&mut findings, data, &layout);
        let plan = redact::plan(
            findings
                .iter()
                .filter(|f| matches!(f.action, Action::Redacted | Action::WouldRedact))
                .map(|f| (f.offset, f.length)),
            &layout.protected_spans(),
        );
        let bytes_redacted = redact::planned_bytes(&plan);
        let policy = policy::plan(
            self.options.policy,
            data,
            &layout,
            layout::pointer_size(data, &layout),
            &plan,
        )
        .map_err(|e| anyhow::anyhow!("{display}: {e}"))?;
        // The policy's spans are disjoint from the findings'; merging only
        // joins neighbours into fewer writes.
        let plan = redact::plan(
            plan.into_iter()
                .chain(policy.zero.iter().copied())
                .map(|(s, e)| (s, e - s)),
            &[],
        );
        let words = redact::WordWrites {
            offsets: policy.words,
            value: policy.sentinel,
        };

        let (input_sha256, output) = match (dest, copy) {
            (Some(dest), Some(copy)) => {
                let raw = self.options.raw;
                let relayout = |d: &[u8]| -> Result<Layout> {
                    let name = dest.display().to_string();
                    layout::build(d, &name, raw)?.with_context(|| {
                        format!("{name}: the scrubbed copy is no longer a recognised dump")
                    })
                };
                let hashes = redact::write_scrubbed(
                    copy, input_hash, path, data, &layout, &plan, &words, dest, &relayout,
                )?;
                let output = Output {
                    path: dest.display().to_string(),
                    sha256: hashes.output,
                };
                (hashes.input, Some(output))
            }
            _ => (input_hash.finish(), None),
        };

        let counts = layout.byte_counts();
        let size = layout.file_size;
        let not_scanned = if result.bytes_scanned == size {
            Vec::new()
        } else {
            vec![format!(
                "{} bytes outside every scan segment",
                size - result.bytes_scanned
            )]
        };
        Ok(FileReport {
            path: display,
            status: Status::Ok,
            error: None,
            format: Some(layout.format),
            compression: None,
            decompressed: None,
            size: Some(size),
            sha256: Some(input_sha256),
            output,
            bytes: Some(Bytes {
                by_kind: counts,
                scanned: result.bytes_scanned,
                scanned_percent: if size == 0 {
                    100.0
                } else {
                    (result.bytes_scanned as f64 * 1000.0 / size as f64).round() / 10.0
                },
                not_scanned,
            }),
            stats: Some(Stats {
                ranges: layout.ranges.len(),
                regions: layout.regions,
                streams: layout.streams,
                segments: result.segments,
                chunks: result.chunks,
                wall_ms: started.elapsed().as_millis() as u64,
            }),
            summary: FileSummary::of(&findings, bytes_redacted),
            policy: Some(policy.counts),
            findings,
        })
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
