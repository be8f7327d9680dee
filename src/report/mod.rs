//! The report model: what dumpscrub says about a run. Serialised as JSON
//! (the stable, documented format: docs/report.md) or as a text table.
//! Nothing in it is a secret value: findings carry fingerprints and
//! previews built only from rule literals.

pub mod jsonl;
pub mod sarif;
pub mod text;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::compress::Compression;
use crate::findings::Finding;
use crate::layout::{ByteCounts, Format};
use crate::policy::PolicyCounts;

/// Version of the report schema; bumped on any incompatible change.
pub const SCHEMA: &str = "dumpscrub-report/1";

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub schema: &'static str,
    pub tool: Tool,
    pub command: &'static str,
    /// Whether fingerprints were keyed with the user's `--fingerprint-key`.
    pub fingerprints_keyed: bool,
    pub files: Vec<FileReport>,
    pub summary: RunSummary,
}

#[derive(Debug, Clone, Serialize)]
pub struct Tool {
    pub name: &'static str,
    pub version: &'static str,
    pub rules: usize,
    /// Short hash of the built-in rules' ids and regexes.
    pub rules_version: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Ok,
    /// The file could not be processed; `error` says why.
    Error,
    /// Found while walking a directory, but not in a format dumpscrub
    /// reads; listed so that nothing is passed over silently.
    Skipped,
}

#[derive(Debug, Clone, Serialize)]
pub struct FileReport {
    pub path: String,
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<Format>,
    /// The input's compression; `format` is then the dump inside it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compression: Option<Compression>,
    /// The dump inside a compressed input (offsets refer to it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decompressed: Option<Decompressed>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<Output>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes: Option<Bytes>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stats: Option<Stats>,
    pub summary: FileSummary,
    /// What the `--policy` removed apart from the findings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<PolicyCounts>,
    pub findings: Vec<Finding>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Decompressed {
    pub size: u64,
    pub sha256: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Output {
    pub path: String,
    pub sha256: String,
}

/// Where every byte of the file went.
#[derive(Debug, Clone, Serialize)]
pub struct Bytes {
    #[serde(flatten)]
    pub by_kind: ByteCounts,
    pub scanned: u64,
    pub scanned_percent: f64,
    /// Byte ranges not scanned, with the reason (empty when 100% scanned).
    pub not_scanned: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Stats {
    /// Labelled ranges in the layout.
    pub ranges: usize,
    /// Memory regions the dump declares.
    pub regions: usize,
    /// Streams in the directory.
    pub streams: usize,
    /// Scan segments (joined ranges) and parallel chunks.
    pub segments: usize,
    pub chunks: usize,
    /// Wall-clock time for this file, the one field that varies between
    /// runs.
    pub wall_ms: u64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct FileSummary {
    pub findings: usize,
    pub by_rule: BTreeMap<String, usize>,
    pub bytes_redacted: u64,
}

impl FileSummary {
    pub fn of(findings: &[Finding], bytes_redacted: u64) -> Self {
        let mut by_rule = BTreeMap::new();
        for f in findings {
            *by_rule.entry(f.rule.clone()).or_insert(0) += 1;
        }
        FileSummary {
            findings: findings.len(),
            by_rule,
            bytes_redacted,
        }
    }
}

/// How many of `findings` are actionable ([`Finding::is_actionable`]).
pub(crate) fn actionable(findings: &[Finding]) -> usize {
    findings.iter().filter(|f| f.is_actionable()).count()
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct RunSummary {
    pub files: usize,
    pub files_with_findings: usize,
    pub errors: usize,
    pub skipped: usize,
    pub findings: usize,
    /// Findings at or above `--min-confidence` that are, or would be,
    /// redacted.
    pub actionable: usize,
    pub bytes_redacted: u64,
}

impl Report {
    pub fn new(
        command: &'static str,
        rules: usize,
        fingerprints_keyed: bool,
        files: Vec<FileReport>,
    ) -> Self {
        let mut s = RunSummary {
            files: files.len(),
            ..Default::default()
        };
        for f in &files {
            match f.status {
                Status::Error => s.errors += 1,
                Status::Skipped => s.skipped += 1,
                Status::Ok => {}
            }
            if !f.findings.is_empty() {
                s.files_with_findings += 1;
            }
            s.findings += f.findings.len();
            s.actionable += actionable(&f.findings);
            s.bytes_redacted += f.summary.bytes_redacted;
        }
        Report {
            schema: SCHEMA,
            tool: Tool {
                name: "dumpscrub",
                version: env!("CARGO_PKG_VERSION"),
                rules,
                rules_version: crate::rules::version::builtin_rules_version(),
            },
            command,
            fingerprints_keyed,
            files,
            summary: s,
        }
    }

    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("report serialises");
        s.push('\n');
        s
    }
}

impl FileReport {
    pub fn failed(path: &str, status: Status, message: String) -> Self {
        FileReport {
            path: path.to_string(),
            status,
            error: Some(message),
            format: None,
            compression: None,
            decompressed: None,
            size: None,
            sha256: None,
            output: None,
            bytes: None,
            stats: None,
            summary: FileSummary::default(),
            policy: None,
            findings: Vec::new(),
        }
    }
}
