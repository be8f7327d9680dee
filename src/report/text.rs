//! The text report: a table a person reads in a terminal.

use std::fmt::Write;

use super::{Report, Status};

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
        let _ = writeln!(
            out,
            "  {:<28} {:<6} {:<7} {:>12} {:>18} {:>6}  {:<14} {:<34} PREVIEW / KEY",
            "RULE", "CONF", "ENC", "OFFSET", "ADDRESS", "LEN", "ACTION", "STREAM"
        );
        for x in &f.findings {
            let action = serde_json::to_value(x.action)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  {:<28} {:<6} {:<7} {:>#12x} {:>18} {:>6}  {:<14} {:<34} {}",
                x.rule,
                x.confidence.as_str(),
                x.encoding.as_str(),
                x.offset,
                x.virtual_address.as_deref().unwrap_or("-"),
                x.length,
                action,
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

/// The last column: the preview for text, the form and key for key material.
fn detail(x: &crate::findings::Finding) -> String {
    match (&x.form, &x.key) {
        (Some(form), Some(key)) => {
            let mark = if x.validated { ", validated" } else { "" };
            format!("{form} ({key}{mark})")
        }
        (Some(form), None) => form.clone(),
        _ => x.preview.clone(),
    }
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
