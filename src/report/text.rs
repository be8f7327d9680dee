//! The text report: a table a person reads in a terminal.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::{Report, Status};
use crate::detect::Encoding;
use crate::findings::{Action, Finding};

pub fn render(report: &Report) -> String {
    let mut out = String::new();
    for f in &report.files {
        match f.status {
            Status::Error => {
                let _ = writeln!(out, "error: {}", f.error.as_deref().unwrap_or(""));
                continue;
            }
            Status::Skipped => {
                let _ = writeln!(out, "skipped: {}", f.error.as_deref().unwrap_or(""));
                continue;
            }
            Status::Ok => {}
        }
        let _ = write!(out, "{}", f.path);
        let format = f.format.map(|x| x.as_str()).unwrap_or("?");
        let format = match f.compression {
            Some(c) => format!("{format} in {}", c.as_str()),
            None => format.to_string(),
        };
        let _ = writeln!(
            out,
            " ({format}, {} bytes): {} findings, {} bytes redacted",
            f.size.unwrap_or(0),
            f.summary.findings,
            f.summary.bytes_redacted
        );
        if let Some(p) = f.policy.as_ref().filter(|p| p.name != "detect") {
            let _ = writeln!(
                out,
                "  policy {}: {} bytes zeroed, {} stack words sanitized",
                p.name, p.bytes_zeroed, p.words_sanitized
            );
        }
        if let Some(o) = &f.output {
            let _ = writeln!(out, "  output: {}", o.path);
        }
        if let Some(b) = &f.bytes {
            let _ = writeln!(
                out,
                "  bytes: {} structure, {} memory, {} streams, {} unreferenced; {:.1}% scanned",
                b.by_kind.structure,
                b.by_kind.memory,
                b.by_kind.streams,
                b.by_kind.unreferenced,
                b.scanned_percent
            );
        }
        if f.findings.is_empty() {
            continue;
        }
        groups(&mut out, &f.findings);
        let _ = writeln!(
            out,
            "  {:<28} {:<6} {:<7} {:>12} {:>18} {:>6}  {:<14} {:<34} PREVIEW / KEY",
            "RULE", "CONF", "ENC", "OFFSET", "ADDRESS", "LEN", "ACTION", "STREAM"
        );
        for x in &f.findings {
            let _ = writeln!(
                out,
                "  {:<28} {:<6} {:<7} {:>#12x} {:>18} {:>6}  {:<14} {:<34} {}",
                x.rule,
                x.confidence.as_str(),
                x.encoding.as_str(),
                x.offset,
                x.virtual_address.as_deref().unwrap_or("-"),
                x.length,
                action_name(x.action),
                truncate(&x.stream, 34),
                detail(x)
            );
        }
    }
    let s = &report.summary;
    let _ = writeln!(
        out,
        "{} files, {} with findings, {} findings, {} bytes redacted, {} errors, {} skipped",
        s.files, s.files_with_findings, s.findings, s.bytes_redacted, s.errors, s.skipped
    );
    out
}

/// One line per (rule, stream): what a reviewer reads first. A dump with
/// hundreds of copies of one token in the heap is one line, not hundreds.
fn groups(out: &mut String, findings: &[Finding]) {
    // Keyed by rule then stream, so the order is stable and readable.
    #[derive(Default)]
    struct Group {
        count: usize,
        bytes: u64,
        actions: BTreeMap<&'static str, usize>,
    }
    let mut by: BTreeMap<(&str, &str), Group> = BTreeMap::new();
    for x in findings {
        let g = by.entry((&x.rule, &x.stream)).or_default();
        g.count += 1;
        g.bytes += x.length;
        *g.actions.entry(action_name(x.action)).or_default() += 1;
    }
    let _ = writeln!(
        out,
        "  {:<28} {:<34} {:>6} {:>8}  ACTIONS",
        "BY RULE", "STREAM", "COUNT", "BYTES"
    );
    for ((rule, stream), g) in &by {
        let (count, bytes) = (g.count, g.bytes);
        let actions: Vec<String> = g.actions.iter().map(|(a, n)| format!("{a} {n}")).collect();
        let _ = writeln!(
            out,
            "  {:<28} {:<34} {:>6} {:>8}  {}",
            rule,
            truncate(stream, 34),
            count,
            bytes,
            actions.join(", ")
        );
    }
    let _ = writeln!(out);
}

fn action_name(a: Action) -> &'static str {
    match a {
        Action::Redacted => "redacted",
        Action::WouldRedact => "would_redact",
        Action::Reported => "reported",
        Action::KeptStructure => "kept_structure",
        Action::Allowed => "allowed",
    }
}

/// The last column: for text, the rule's literal prefix (never a secret
/// character) followed by a mask as long as the rest of the secret; the
/// form and key for key material; the allowlist entry for allowed matches.
fn detail(x: &Finding) -> String {
    let shown = match (&x.form, &x.key) {
        (Some(form), Some(key)) => {
            let mark = if x.validated { ", validated" } else { "" };
            format!("{form} ({key}{mark})")
        }
        (Some(form), None) => form.clone(),
        _ => masked(x),
    };
    match &x.allowed_by {
        Some(by) => format!("{shown} [allowed by {by}]"),
        None => shown,
    }
}

/// `ghp_••••••… (40 chars)`: the preview is only the rule's fixed prefix,
/// so the mask shows the secret's shape without any of its characters.
fn masked(x: &Finding) -> String {
    let unit = if x.encoding == Encoding::Utf16le {
        2
    } else {
        1
    };
    let chars = x.length / unit;
    let prefix = x.preview.trim_end_matches('…');
    let hidden = chars.saturating_sub(prefix.chars().count() as u64);
    let dots = "•".repeat(hidden.min(8) as usize);
    let more = if hidden > 8 { "…" } else { "" };
    format!("{prefix}{dots}{more} ({chars} chars)")
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n - 1).collect();
        t.push('…');
        t
    }
}
