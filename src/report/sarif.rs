//! The report as a SARIF 2.1.0 log, for code-scanning dashboards and the
//! tools that read them (GitHub code scanning, the SARIF viewers). The
//! mapping from report fields to SARIF properties is in docs/report.md.
//!
//! Like the JSON report, the log never holds a secret value: messages are
//! built from the rule description, the stream name and the action, and
//! results are identified by the report's HMAC fingerprint. Unlike the JSON
//! report it holds no timing, so one input gives one byte-identical log.

use std::collections::BTreeMap;

use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};
use serde_json::{json, Map, Value};

use super::{FileReport, Report, Status};
use crate::findings::{Action, Finding};
use crate::rules::Confidence;

/// The schema URI code-scanning services expect in `$schema`.
pub const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// Key of the partial fingerprint that names a secret's value (its HMAC).
pub const FINGERPRINT_VALUE: &str = "dumpscrubSecret/v1";
/// Key of the partial fingerprint that names one occurrence of a value:
/// the HMAC, the stream and the occurrence's rank in that stream, so that
/// two copies of one token in a dump stay two results after de-duplication,
/// while the same token at a shifted offset in the next dump of the same
/// program is still recognised.
pub const FINGERPRINT_OCCURRENCE: &str = "dumpscrubOccurrence/v1";

/// Notification descriptors: why a file produced no results.
const NOTE_ERROR: &str = "file-error";
const NOTE_SKIPPED: &str = "file-skipped";

/// Characters escaped in a path turned into a URI reference: everything
/// outside RFC 3986's unreserved set and `/`, and `:` so that a relative
/// path's first segment never reads as a scheme.
const PATH_ESCAPE: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}')
    .add(b':');

/// The input path as a SARIF `uri`: a relative reference for a relative
/// path (code scanning resolves it against the checkout), a `file://` URI
/// for an absolute one.
pub fn path_uri(path: &str) -> String {
    let encoded = utf8_percent_encode(path, PATH_ESCAPE).to_string();
    if path.starts_with('/') {
        format!("file://{encoded}")
    } else {
        encoded
    }
}

pub fn level(c: Confidence) -> &'static str {
    match c {
        Confidence::High => "error",
        Confidence::Medium => "warning",
        Confidence::Low => "note",
    }
}

/// GitHub's `security-severity` (0.0–10.0) and `precision` for a rule: how
/// bad a leaked credential is does not depend on the rule, how sure the
/// match is does, so both follow the confidence.
fn severity(c: Confidence) -> (&'static str, &'static str) {
    match c {
        Confidence::High => ("9.0", "high"),
        Confidence::Medium => ("7.0", "medium"),
        Confidence::Low => ("4.0", "low"),
    }
}

/// What kind of detector produced a rule's findings, as a SARIF tag.
fn kind(rule: &str, f: &Finding) -> &'static str {
    if rule == crate::known::KNOWN_SECRET_RULE {
        "known-secret"
    } else if f.form.is_some() || f.key.is_some() {
        "private-key"
    } else {
        "token"
    }
}

fn help(kind: &str) -> &'static str {
    match kind {
        "private-key" => {
            "Private key material was found in the dump. Anyone who has the dump has the \
             key: `dumpscrub scrub` writes a copy with it zeroed, and the key itself should \
             be treated as exposed and replaced."
        }
        "known-secret" => {
            "A value from the --known-secrets list was found in the dump (raw, UTF-16LE, \
             hex or base64). `dumpscrub scrub` writes a copy with every copy zeroed."
        }
        _ => {
            "A credential of this shape was found in the dump. Anyone who has the dump can \
             use it: `dumpscrub scrub` writes a copy with it zeroed, and a live credential \
             should be rotated."
        }
    }
}

fn action_text(a: Action) -> &'static str {
    match a {
        Action::Redacted => "zeroed in the scrubbed copy",
        Action::WouldRedact => "would be zeroed by scrub",
        Action::Reported => "reported only (below --min-confidence)",
        Action::KeptStructure => "kept: it lies in structure that must stay intact",
        Action::Allowed => "allowed by an allowlist entry and left in place",
    }
}

/// A serde enum as its JSON string (`would_redact`...), so the SARIF
/// properties use the JSON report's spellings.
fn name<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

struct RuleInfo<'a> {
    description: &'a str,
    /// Highest confidence among its findings: a detector may grade one
    /// rule's matches differently (a validated key against a bare one).
    confidence: Confidence,
    kind: &'static str,
}

pub fn render(report: &Report) -> String {
    let mut s = serde_json::to_string_pretty(&log(report)).expect("a JSON value serialises");
    s.push('\n');
    s
}

pub fn log(report: &Report) -> Value {
    let mut rules: BTreeMap<&str, RuleInfo<'_>> = BTreeMap::new();
    for f in report.files.iter().flat_map(|f| &f.findings) {
        let e = rules.entry(&f.rule).or_insert_with(|| RuleInfo {
            description: &f.description,
            confidence: f.confidence,
            kind: kind(&f.rule, f),
        });
        e.confidence = e.confidence.max(f.confidence);
    }
    let index: BTreeMap<&str, usize> = rules.keys().enumerate().map(|(i, r)| (*r, i)).collect();

    let mut results = Vec::new();
    for (i, file) in report.files.iter().enumerate() {
        let mut seen: BTreeMap<(&str, &str), usize> = BTreeMap::new();
        for f in &file.findings {
            let n = seen.entry((&f.fingerprint, &f.stream)).or_insert(0);
            *n += 1;
            results.push(result(file, i, f, index[f.rule.as_str()], *n));
        }
    }

    let mut driver = Map::new();
    driver.insert("name".into(), json!(report.tool.name));
    driver.insert("version".into(), json!(report.tool.version));
    driver.insert("semanticVersion".into(), json!(report.tool.version));
    if let Some(uri) = option_env!("CARGO_PKG_HOMEPAGE").filter(|u| !u.is_empty()) {
        driver.insert("informationUri".into(), json!(uri));
    }
    driver.insert(
        "rules".into(),
        Value::Array(rules.iter().map(|(id, r)| rule(id, r)).collect()),
    );
    driver.insert(
        "notifications".into(),
        json!([
            {
                "id": NOTE_ERROR,
                "shortDescription": { "text": "The file could not be processed." },
                "defaultConfiguration": { "level": "error" }
            },
            {
                "id": NOTE_SKIPPED,
                "shortDescription": { "text": "The file is not a crash dump dumpscrub reads." },
                "defaultConfiguration": { "level": "note" }
            }
        ]),
    );
    driver.insert(
        "properties".into(),
        json!({ "textRules": report.tool.rules }),
    );

    let notifications: Vec<Value> = report
        .files
        .iter()
        .enumerate()
        .filter_map(|(i, f)| notification(f, i))
        .collect();
    let s = &report.summary;

    json!({
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": driver },
            "invocations": [{
                "executionSuccessful": s.errors == 0,
                "toolExecutionNotifications": notifications,
                "properties": { "command": report.command }
            }],
            "artifacts": report.files.iter().map(artifact).collect::<Vec<_>>(),
            "results": results,
            "properties": {
                "reportSchema": report.schema,
                "fingerprintsKeyed": report.fingerprints_keyed,
                "summary": name(s),
            }
        }]
    })
}

fn rule(id: &str, r: &RuleInfo<'_>) -> Value {
    let (severity, precision) = severity(r.confidence);
    json!({
        "id": id,
        "shortDescription": { "text": r.description },
        "fullDescription": {
            "text": format!(
                "{}. Detector: {}; confidence {}.",
                r.description.trim_end_matches('.'),
                r.kind,
                r.confidence.as_str()
            )
        },
        "help": { "text": help(r.kind) },
        "defaultConfiguration": { "level": level(r.confidence) },
        "properties": {
            "tags": ["security", "secret", r.kind],
            "confidence": r.confidence.as_str(),
            "precision": precision,
            "security-severity": severity,
        }
    })
}

fn location_of(file: &FileReport, index: usize) -> Value {
    json!({ "uri": path_uri(&file.path), "index": index })
}

fn artifact(file: &FileReport) -> Value {
    let mut a = Map::new();
    a.insert("location".into(), json!({ "uri": path_uri(&file.path) }));
    if let Some(size) = file.size {
        a.insert("length".into(), json!(size));
    }
    a.insert("roles".into(), json!(["analysisTarget"]));
    if let Some(h) = &file.sha256 {
        a.insert("hashes".into(), json!({ "sha-256": h }));
    }
    let mut p = Map::new();
    p.insert("status".into(), name(&file.status));
    if let Some(f) = &file.format {
        p.insert("format".into(), name(f));
    }
    p.insert("findings".into(), json!(file.summary.findings));
    p.insert("bytesRedacted".into(), json!(file.summary.bytes_redacted));
    if let Some(o) = &file.output {
        p.insert(
            "output".into(),
            json!({ "uri": path_uri(&o.path), "sha256": o.sha256 }),
        );
    }
    if let Some(b) = &file.bytes {
        p.insert("scannedPercent".into(), json!(b.scanned_percent));
        if !b.not_scanned.is_empty() {
            p.insert("notScanned".into(), json!(b.not_scanned));
        }
    }
    a.insert("properties".into(), Value::Object(p));
    Value::Object(a)
}

fn notification(file: &FileReport, index: usize) -> Option<Value> {
    let (id, at, level) = match file.status {
        Status::Ok => return None,
        Status::Error => (NOTE_ERROR, 0, "error"),
        Status::Skipped => (NOTE_SKIPPED, 1, "note"),
    };
    let text = file.error.as_deref().unwrap_or("failed");
    Some(json!({
        "descriptor": { "id": id, "index": at },
        "level": level,
        "message": { "text": text },
        "locations": [{ "physicalLocation": { "artifactLocation": location_of(file, index) } }]
    }))
}

fn result(file: &FileReport, index: usize, f: &Finding, rule: usize, nth: usize) -> Value {
    let at = f
        .virtual_address
        .as_deref()
        .map(|va| format!(" at {va}"))
        .unwrap_or_default();
    let message = format!(
        "{} in {}{at}: {}.",
        f.description.trim_end_matches('.'),
        f.stream,
        action_text(f.action)
    );
    let mut physical = Map::new();
    physical.insert("artifactLocation".into(), location_of(file, index));
    physical.insert(
        "region".into(),
        json!({ "byteOffset": f.offset, "byteLength": f.length }),
    );
    // SARIF addresses are signed 64-bit; a kernel-half address does not
    // fit and stays in the `virtualAddress` property only.
    if let Some(va) = f
        .virtual_address
        .as_deref()
        .and_then(|v| v.strip_prefix("0x"))
        .and_then(|v| u64::from_str_radix(v, 16).ok())
        .and_then(|v| i64::try_from(v).ok())
    {
        physical.insert(
            "address".into(),
            json!({ "absoluteAddress": va, "length": f.length, "kind": "data" }),
        );
    }

    let mut p = Map::new();
    p.insert("stream".into(), json!(f.stream));
    if let Some(t) = f.stream_type {
        p.insert("streamType".into(), json!(t));
    }
    if let Some(i) = f.stream_index {
        p.insert("streamIndex".into(), json!(i));
    }
    p.insert("range".into(), name(&f.range));
    if let Some(va) = &f.virtual_address {
        p.insert("virtualAddress".into(), json!(va));
    }
    p.insert("encoding".into(), name(&f.encoding));
    p.insert("action".into(), name(&f.action));
    p.insert("confidence".into(), name(&f.confidence));
    p.insert("validated".into(), json!(f.validated));
    if let Some(k) = &f.key {
        p.insert("key".into(), json!(k));
    }
    if let Some(form) = &f.form {
        p.insert("form".into(), json!(form));
    }
    p.insert("fingerprint".into(), json!(f.fingerprint));
    p.insert("preview".into(), json!(f.preview));

    // An allowlisted match is a reviewed decision: SARIF's suppression says
    // so, and code-scanning services then show it as dismissed, not open.
    let suppressions = match (&f.action, &f.allowed_by) {
        (Action::Allowed, by) => json!([{
            "kind": "external",
            "status": "accepted",
            "justification": by.as_deref().unwrap_or("allowlist"),
        }]),
        _ => json!([]),
    };

    json!({
        "ruleId": f.rule,
        "suppressions": suppressions,
        "ruleIndex": rule,
        "level": level(f.confidence),
        "kind": "fail",
        "message": { "text": message },
        "locations": [{ "physicalLocation": physical }],
        "partialFingerprints": {
            FINGERPRINT_VALUE: f.fingerprint,
            FINGERPRINT_OCCURRENCE: format!("{}/{}/{nth}", f.fingerprint, f.stream),
        },
        "properties": p
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_become_uri_references() {
        assert_eq!(path_uri("fixtures/a.dmp"), "fixtures/a.dmp");
        assert_eq!(
            path_uri("/srv/crash dumps/a#1.dmp"),
            "file:///srv/crash%20dumps/a%231.dmp"
        );
        // A colon in the first segment would otherwise read as a scheme.
        assert_eq!(path_uri("c:x.dmp"), "c%3Ax.dmp");
        assert_eq!(path_uri("dumps/é?.dmp"), "dumps/%C3%A9%3F.dmp");
    }
}
