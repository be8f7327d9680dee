//! Allowlists: known-harmless matches that are reported as `allowed` and
//! left in place, with the entry that allowed them, so a reviewer sees the
//! decision instead of a silent gap.
//!
//! An entry allows a finding when every condition it sets holds; a list of
//! values for one condition holds when any value matches. Entries come from
//! `[[allowlist]]` tables (config and dumpscrub rule files) and from
//! gitleaks allowlists (see `docs/rules.md`).

use std::path::Path;

use regex::bytes::Regex;
use serde::Deserialize;
use toml::Spanned;

use crate::detect::Encoding;
use crate::findings::{Action, Finding};
use crate::layout::{Layout, RangeKind};
use crate::rules::file::{line_of, LoadError};

/// One allowlist entry, compiled.
#[derive(Debug, Clone, Default)]
pub struct AllowEntry {
    /// `FILE:LINE`, and the description when there is one: what the report
    /// shows in `allowed_by`.
    pub name: String,
    /// Rule ids (any detector's).
    pub rules: Vec<String>,
    /// Regexes on the matched value (UTF-16LE values are narrowed to ASCII
    /// first).
    pub regexes: Vec<Regex>,
    /// Lower-case substrings of the matched value (compared
    /// case-insensitively, as gitleaks does).
    pub stopwords: Vec<String>,
    /// Stream names: `LinuxEnviron` allows that stream and its parts
    /// (`ThreadListStream / thread stack`).
    pub streams: Vec<String>,
    /// Range kinds: memory, stream, structure, unreferenced.
    pub kinds: Vec<RangeKind>,
    /// Module paths or file names: the finding's address lies in that
    /// module's image.
    pub modules: Vec<String>,
    /// Address ranges `[start, end)` in the crashed process.
    pub addresses: Vec<(u64, u64)>,
    /// Report fingerprints (`hmac-sha256:…`).
    pub fingerprints: Vec<String>,
}

/// The `[[allowlist]]` table as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllowSpec {
    description: Option<String>,
    #[serde(default)]
    rules: Vec<String>,
    #[serde(default)]
    regexes: Vec<Spanned<String>>,
    #[serde(default)]
    stopwords: Vec<String>,
    #[serde(default)]
    streams: Vec<String>,
    #[serde(default)]
    kinds: Vec<Spanned<String>>,
    #[serde(default)]
    modules: Vec<String>,
    #[serde(default)]
    addresses: Vec<Spanned<String>>,
    #[serde(default)]
    fingerprints: Vec<Spanned<String>>,
}

impl AllowSpec {
    /// Validates and compiles the entry that starts at byte `at` of `text`.
    pub fn compile(self, path: &Path, text: &str, at: usize) -> Result<AllowEntry, LoadError> {
        let err = |span: std::ops::Range<usize>, reason: String| LoadError {
            path: path.to_path_buf(),
            line: Some(line_of(text, span.start)),
            reason,
        };
        let mut e = AllowEntry {
            name: entry_name(path, line_of(text, at), self.description.as_deref()),
            rules: self.rules,
            stopwords: self.stopwords.iter().map(|s| s.to_lowercase()).collect(),
            streams: self.streams,
            modules: self.modules,
            ..AllowEntry::default()
        };
        for r in self.regexes {
            let re = Regex::new(r.get_ref()).map_err(|x| {
                err(
                    r.span(),
                    format!("allowlist: invalid regex: {}", first_line(&x)),
                )
            })?;
            e.regexes.push(re);
        }
        for k in self.kinds {
            let kind = match k.get_ref().as_str() {
                "memory" => RangeKind::Memory,
                "stream" => RangeKind::Stream,
                "structure" => RangeKind::Structure,
                "unreferenced" => RangeKind::Unreferenced,
                other => {
                    return Err(err(
                        k.span(),
                        format!("allowlist: unknown kind {other:?} (expected memory, stream, structure or unreferenced)"),
                    ))
                }
            };
            e.kinds.push(kind);
        }
        for a in self.addresses {
            let range = parse_range(a.get_ref()).ok_or_else(|| {
                err(
                    a.span(),
                    format!(
                        "allowlist: address range {:?} is not START-END in hex (0x1000-0x2000, end exclusive)",
                        a.get_ref()
                    ),
                )
            })?;
            e.addresses.push(range);
        }
        for f in self.fingerprints {
            let v = f.get_ref();
            let ok = v
                .strip_prefix("hmac-sha256:")
                .is_some_and(|h| h.len() == 32 && h.bytes().all(|b| b.is_ascii_hexdigit()));
            if !ok {
                return Err(err(
                    f.span(),
                    format!("allowlist: fingerprint {v:?} is not a report fingerprint (hmac-sha256: and 32 hex digits)"),
                ));
            }
            e.fingerprints.push(v.to_ascii_lowercase());
        }
        if e.is_empty() {
            return Err(LoadError {
                path: path.to_path_buf(),
                line: Some(line_of(text, at)),
                reason: "allowlist entry sets no condition: it would allow every finding".into(),
            });
        }
        Ok(e)
    }
}

/// `FILE:LINE (description)`.
pub fn entry_name(path: &Path, line: usize, description: Option<&str>) -> String {
    match description {
        Some(d) if !d.is_empty() => format!("{}:{line} ({d})", path.display()),
        _ => format!("{}:{line}", path.display()),
    }
}

fn first_line(e: &dyn std::fmt::Display) -> String {
    let s = e.to_string();
    s.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim()
        .to_string()
}

fn parse_range(s: &str) -> Option<(u64, u64)> {
    let (a, b) = s.split_once('-')?;
    let hex = |x: &str| {
        let x = x.trim();
        let x = x.strip_prefix("0x").or_else(|| x.strip_prefix("0X"))?;
        u64::from_str_radix(x, 16).ok()
    };
    let (a, b) = (hex(a)?, hex(b)?);
    (a < b).then_some((a, b))
}

impl AllowEntry {
    fn is_empty(&self) -> bool {
        self.rules.is_empty()
            && self.regexes.is_empty()
            && self.stopwords.is_empty()
            && self.streams.is_empty()
            && self.kinds.is_empty()
            && self.modules.is_empty()
            && self.addresses.is_empty()
            && self.fingerprints.is_empty()
    }

    fn allows(&self, f: &Finding, value: &[u8], layout: &Layout) -> bool {
        let vaddr = f
            .virtual_address
            .as_deref()
            .and_then(|v| v.strip_prefix("0x"))
            .and_then(|v| u64::from_str_radix(v, 16).ok());
        let rule_ok = self.rules.is_empty() || self.rules.contains(&f.rule);
        let value_ok = (self.regexes.is_empty() && self.stopwords.is_empty())
            || self.regexes.iter().any(|r| r.is_match(value))
            || (!self.stopwords.is_empty() && {
                let lower = String::from_utf8_lossy(value).to_lowercase();
                self.stopwords.iter().any(|w| lower.contains(w.as_str()))
            });
        let stream_ok = self.streams.is_empty()
            || self.streams.iter().any(|s| {
                f.stream == *s
                    || f.stream
                        .strip_prefix(s.as_str())
                        .is_some_and(|rest| rest.starts_with(" / "))
            });
        let kind_ok = self.kinds.is_empty() || self.kinds.contains(&f.range);
        let module_ok = self.modules.is_empty()
            || vaddr.is_some_and(|a| {
                layout
                    .modules
                    .iter()
                    .filter(|m| m.contains(a))
                    .any(|m| self.modules.iter().any(|want| module_named(&m.name, want)))
            });
        let addr_ok = self.addresses.is_empty()
            || vaddr.is_some_and(|a| self.addresses.iter().any(|&(s, e)| a >= s && a < e));
        let fp_ok = self.fingerprints.is_empty() || self.fingerprints.contains(&f.fingerprint);
        rule_ok && value_ok && stream_ok && kind_ok && module_ok && addr_ok && fp_ok
    }
}

/// `want` names the module at `path` when it is the whole path or its file
/// name (either separator: dumps of Windows processes use `\`).
fn module_named(path: &str, want: &str) -> bool {
    path == want
        || path
            .rsplit(['/', '\\'])
            .next()
            .is_some_and(|name| name == want)
}

/// Compiled allowlist entries, applied to a file's findings.
#[derive(Debug, Clone, Default)]
pub struct Allowlist {
    pub entries: Vec<AllowEntry>,
}

impl Allowlist {
    /// Marks every finding an entry allows as [`Action::Allowed`], naming
    /// the first such entry.
    pub fn apply(&self, findings: &mut [Finding], data: &[u8], layout: &Layout) {
        if self.entries.is_empty() {
            return;
        }
        let mut narrow = Vec::new();
        for f in findings.iter_mut() {
            let Some(bytes) = usize::try_from(f.offset)
                .ok()
                .zip(usize::try_from(f.offset.saturating_add(f.length)).ok())
                .and_then(|(s, e)| data.get(s..e))
            else {
                continue;
            };
            let value: &[u8] = if f.encoding == Encoding::Utf16le {
                narrow.clear();
                narrow.extend(bytes.iter().step_by(2));
                &narrow
            } else {
                bytes
            };
            if let Some(e) = self.entries.iter().find(|e| e.allows(f, value, layout)) {
                f.action = Action::Allowed;
                f.allowed_by = Some(e.name.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_ranges_and_module_names() {
        assert_eq!(parse_range("0x1000-0x2000"), Some((0x1000, 0x2000)));
        assert_eq!(parse_range("0x2000-0x1000"), None);
        assert_eq!(parse_range("4096-8192"), None);
        assert!(module_named("/usr/lib/libc.so.6", "libc.so.6"));
        assert!(module_named(r"C:\Windows\ntdll.dll", "ntdll.dll"));
        assert!(!module_named("/usr/lib/libc.so.6", "libc.so"));
    }
}
