//! JSON Lines: one compact object per file, for machines that process
//! archives file by file (and concatenate the outputs of shards). Each line
//! stands alone: it carries the schema, the command and the tool version,
//! so lines from different runs can be mixed and still be read. The full
//! findings are in the JSON report; a line has their counts.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{FileReport, Output, Status};
use crate::compress::Compression;
use crate::layout::Format;

/// Version of the line schema; bumped on any incompatible change.
pub const SCHEMA: &str = "dumpscrub-jsonl/1";

#[derive(Debug, Serialize)]
struct Line<'a> {
    schema: &'static str,
    command: &'a str,
    version: &'static str,
    rules_version: &'a str,
    path: &'a str,
    status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    format: Option<Format>,
    #[serde(skip_serializing_if = "Option::is_none")]
    compression: Option<Compression>,
    #[serde(skip_serializing_if = "Option::is_none")]
    size: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sha256: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    output: Option<&'a Output>,
    findings: usize,
    actionable: usize,
    by_rule: &'a BTreeMap<String, usize>,
    bytes_redacted: u64,
}

/// The line for one file, newline included.
pub fn line(command: &str, rules_version: &str, f: &FileReport) -> String {
    let l = Line {
        schema: SCHEMA,
        command,
        version: env!("CARGO_PKG_VERSION"),
        rules_version,
        path: &f.path,
        status: f.status,
        error: f.error.as_deref(),
        format: f.format,
        compression: f.compression,
        size: f.size,
        sha256: f.sha256.as_deref(),
        output: f.output.as_ref(),
        findings: f.findings.len(),
        actionable: super::actionable(&f.findings),
        by_rule: &f.summary.by_rule,
        bytes_redacted: f.summary.bytes_redacted,
    };
    let mut s = serde_json::to_string(&l).expect("a report line serialises");
    s.push('\n');
    s
}
