//! dumpscrub: find secrets in crash dumps and zero them in a copy that
//! stays a valid, debuggable dump.
//!
//! The flow runs one way: a file is mapped, its [`layout`] labels every
//! byte, the [`scan`] plan cuts it into chunks that the [`detect`]ors search
//! in parallel, the matches become [`findings`], the findings become a
//! [`redact`]ion plan, and a [`report`] says what was done without ever
//! repeating a secret. See `docs/architecture.md`.

pub mod detect;
pub mod findings;
pub mod fingerprint;
pub mod keys;
pub mod layout;
pub mod redact;
pub mod report;
pub mod rules;
pub mod scan;
pub mod sweep;

use std::fs::File;
use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use memmap2::Mmap;
use sha2::{Digest, Sha256};

use detect::text::TextDetector;
use findings::{Action, FindingContext};
use fingerprint::Fingerprinter;
use layout::Layout;
use report::{Bytes, FileReport, FileSummary, Output, Stats, Status};
use rules::{Confidence, BUILTIN_RULES};

/// Options that change what is found and what is done with it.
#[derive(Debug, Clone)]
pub struct Options {
    /// Treat every input as plain bytes (no format parsing).
    pub raw: bool,
    /// Findings below this confidence are reported, not redacted.
    pub min_confidence: Confidence,
    /// Key for finding fingerprints; a fixed public key when absent.
    pub fingerprint_key: Option<Vec<u8>>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            raw: false,
            min_confidence: Confidence::Medium,
            fingerprint_key: None,
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
        Ok(Engine {
            detectors: scan::Detectors {
                text: TextDetector::new(BUILTIN_RULES)?,
                chunk: Vec::new(),
                dump: Vec::new(),
            },
            fingerprinter: Fingerprinter::new(options.fingerprint_key.as_deref()),
            options,
        })
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
        if self.options.raw {
            return Ok(layout::raw::build(data));
        }
        if layout::minidump::sniff(data) {
            return layout::minidump::build(data, path).map_err(|e| FileError::Failed(e.into()));
        }
        Err(FileError::NotRecognised(format!(
            "{path}: not a recognised crash dump (no minidump signature); use --raw to treat it as plain bytes"
        )))
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
        let started = Instant::now();
        let display = path.display().to_string();
        let input = Input::open(path)?;
        let data = input.bytes();
        let layout = self.layout(data, &display)?;

        let (sha256, mut result) = rayon::join(
            || hex(&Sha256::digest(data)),
            || scan::scan(data, &layout, &self.detectors),
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
        let findings = findings::build(&ctx, &result.matches, &result.keys);
        let plan = redact::plan(
            findings
                .iter()
                .filter(|f| matches!(f.action, Action::Redacted | Action::WouldRedact))
                .map(|f| (f.offset, f.length)),
            &layout.protected_spans(),
        );
        let bytes_redacted = redact::planned_bytes(&plan);

        let output = match dest {
            Some(dest) => {
                let raw = self.options.raw;
                let relayout = |d: &[u8]| -> Result<Layout> {
                    if raw {
                        Ok(layout::raw::build(d))
                    } else {
                        layout::minidump::build(d, &dest.display().to_string()).map_err(Into::into)
                    }
                };
                let sha = redact::write_scrubbed(path, data, &layout, &plan, dest, &relayout)?;
                Some(Output {
                    path: dest.display().to_string(),
                    sha256: sha,
                })
            }
            None => None,
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
            size: Some(size),
            sha256: Some(sha256),
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
            findings,
        })
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
