//! gitleaks-style rule files, so existing rule sets work unchanged.
//!
//! gitleaks scans files and commits; a dump has neither, and its regexes
//! are Go's RE2, which Rust's `regex` mostly shares. What cannot be honoured
//! is never dropped silently: it goes into one warning that names every
//! rule (and allowlist) left out and why.

use std::borrow::Cow;
use std::path::Path;

use regex::bytes::Regex;
use serde::Deserialize;
use toml::Spanned;

use super::file::{de_error, derive_anchors, line_of, valid_id, LoadError, Loaded, MAX_LEN_LIMIT};
use super::{Alphabet, Confidence, Rule, RuleOrigin, SecretGroup};
use crate::allowlist::{entry_name, AllowEntry};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GlFile {
    #[serde(default)]
    rules: Vec<GlRule>,
    allowlist: Option<Spanned<GlAllow>>,
    #[serde(default)]
    allowlists: Vec<Spanned<GlAllow>>,
    extend: Option<GlExtend>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GlExtend {
    use_default: Option<bool>,
    path: Option<String>,
    url: Option<String>,
    #[serde(default)]
    disabled_rules: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GlRule {
    id: Spanned<String>,
    #[serde(default)]
    description: String,
    regex: Option<Spanned<String>>,
    secret_group: Option<usize>,
    entropy: Option<f64>,
    #[serde(default)]
    keywords: Vec<String>,
    path: Option<String>,
    allowlist: Option<Spanned<GlAllow>>,
    #[serde(default)]
    allowlists: Vec<Spanned<GlAllow>>,
    #[serde(default)]
    skip_report: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GlAllow {
    description: Option<String>,
    condition: Option<String>,
    #[serde(default)]
    regexes: Vec<String>,
    regex_target: Option<String>,
    #[serde(default)]
    stopwords: Vec<String>,
    #[serde(default)]
    paths: Vec<String>,
    #[serde(default)]
    commits: Vec<String>,
}

/// Rules whose regex has no upper bound get this window (characters).
const UNBOUNDED_MAX_LEN: usize = 1024;

pub fn load(path: &Path, text: &str) -> Result<Loaded, LoadError> {
    let file: GlFile = toml::from_str(text).map_err(|e| de_error(path, text, &e))?;
    let mut out = Loaded {
        dialect: "gitleaks",
        ..Loaded::default()
    };
    let mut skipped: Vec<String> = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    let total = file.rules.len();
    let mut seen: Vec<(String, usize)> = Vec::new();

    for r in file.rules {
        let id = r.id.get_ref().clone();
        let line = line_of(text, r.id.span().start);
        if !valid_id(&id) {
            return Err(LoadError {
                path: path.to_path_buf(),
                line: Some(line),
                reason: format!("rule id {id:?} must be letters, digits, '.', '_' or '-'"),
            });
        }
        if let Some((_, first)) = seen.iter().find(|(s, _)| *s == id) {
            return Err(LoadError {
                path: path.to_path_buf(),
                line: Some(line),
                reason: format!("duplicate rule id {id} (first defined on line {first})"),
            });
        }
        seen.push((id.clone(), line));
        match rule(path, &r, line) {
            Ok(rule) => {
                for a in r.allowlist.iter().chain(&r.allowlists) {
                    let rules = vec![id.clone()];
                    if let Some(e) = allow(path, text, a, rules, &mut notes) {
                        out.allowlist.push(e);
                    }
                }
                out.rules.push(rule);
            }
            Err(why) => skipped.push(format!("{id} (line {line}): {why}")),
        }
    }

    // gitleaks' global allowlist is for its own rules: scope it to this
    // file's rules, so it does not change what other rule sets report.
    let ids: Vec<String> = out.rules.iter().map(|r| r.id.to_string()).collect();
    for a in file.allowlist.iter().chain(&file.allowlists) {
        if let Some(e) = allow(path, text, a, ids.clone(), &mut notes) {
            out.allowlist.push(e);
        }
    }
    if let Some(x) = file.extend {
        if x.use_default == Some(true) {
            notes.push("[extend] useDefault: gitleaks' own defaults are not bundled; dumpscrub's built-in rules serve instead (unless --no-default-rules)".into());
        }
        if x.path.is_some() || x.url.is_some() {
            notes.push(
                "[extend] path/url: not followed; pass that file with another --rules".into(),
            );
        }
        if !x.disabled_rules.is_empty() {
            notes.push(format!(
                "[extend] disabledRules ({}): not applied; use --no-default-rules and list the rules wanted",
                x.disabled_rules.join(", ")
            ));
        }
    }
    if !skipped.is_empty() || !notes.is_empty() {
        let mut w = format!(
            "{}: gitleaks rules: {} of {total} loaded, {} not honoured",
            path.display(),
            out.rules.len(),
            skipped.len()
        );
        for s in &skipped {
            w.push_str("\n  - not honoured: ");
            w.push_str(s);
        }
        for n in &notes {
            w.push_str("\n  - partly honoured: ");
            w.push_str(n);
        }
        out.warnings.push(w);
    }
    Ok(out)
}

/// The rule as dumpscrub runs it, or why it cannot be run.
fn rule(path: &Path, r: &GlRule, line: usize) -> Result<Rule, String> {
    let Some(pattern) = &r.regex else {
        return Err("path-only rule: it matches file names, and a dump has none".into());
    };
    if let Some(p) = &r.path {
        return Err(format!(
            "path-scoped rule (only in files matching {p:?}): a dump has no file paths"
        ));
    }
    if r.skip_report {
        return Err("skipReport rule (a helper for composite rules, never reported)".into());
    }
    // Byte semantics first (ASCII classes, and `.` any byte) as dumpscrub's
    // own rules use; Unicode mode only for what needs it.
    let pattern = pattern.get_ref();
    let (regex, source) = match Regex::new(&format!("(?-u){pattern}")) {
        Ok(re) => (re, format!("(?-u){pattern}")),
        Err(_) => match Regex::new(pattern) {
            Ok(re) => (re, pattern.clone()),
            Err(e) => {
                let msg = match e {
                    regex::Error::Syntax(s) => s
                        .lines()
                        .rev()
                        .find(|l| l.starts_with("error:"))
                        .unwrap_or("syntax error")
                        .to_string(),
                    other => other.to_string(),
                };
                return Err(format!("regex not accepted by Rust's regex crate: {msg}"));
            }
        },
    };
    if let Some(g) = r.secret_group {
        if g >= regex.captures_len() {
            return Err(format!("secretGroup {g} is not a group of the regex"));
        }
    }
    // Literals the regex itself starts (or ends) with carry its exact case;
    // when they are short (a case-insensitive prefix cut down to a few
    // characters), the keywords anchor better.
    let derived = derive_anchors(&source).unwrap_or_default();
    let mut anchors: Vec<String> = Vec::new();
    if !derived.is_empty() && (derived.iter().all(|l| l.len() >= 4) || r.keywords.is_empty()) {
        anchors = derived;
    } else {
        for k in &r.keywords {
            // gitleaks compares keywords case-insensitively; the automaton
            // is case-sensitive, so the usual spellings are listed.
            let mut title = k.to_ascii_lowercase();
            if let Some(c) = title.get_mut(0..1) {
                c.make_ascii_uppercase();
            }
            for v in [
                k.clone(),
                k.to_ascii_lowercase(),
                k.to_ascii_uppercase(),
                title,
            ] {
                if v.len() >= 2
                    && v.bytes().all(|b| (0x20..0x7f).contains(&b))
                    && !anchors.contains(&v)
                {
                    anchors.push(v);
                }
            }
        }
    }
    if anchors.is_empty() {
        return Err(
            "no keywords, and the regex has no literal prefix or suffix to anchor on".into(),
        );
    }
    let max_len = regex_syntax::ParserBuilder::new()
        .utf8(false)
        .build()
        .parse(&source)
        .ok()
        .and_then(|h| h.properties().maximum_len())
        .unwrap_or(UNBOUNDED_MAX_LEN)
        .clamp(8, MAX_LEN_LIMIT);
    Ok(Rule {
        id: Cow::Owned(r.id.get_ref().clone()),
        description: Cow::Owned(r.description.clone()),
        anchors: anchors.into_iter().map(Cow::Owned).collect(),
        regex: Cow::Owned(source),
        secret_group: match r.secret_group {
            Some(g) if g > 0 => SecretGroup::Index(g),
            _ => SecretGroup::FirstNonEmpty,
        },
        max_len,
        min_entropy: r.entropy.filter(|&e| e > 0.0).map(|e| (Alphabet::Any, e)),
        confidence: Confidence::Medium,
        ascii: true,
        utf16le: true,
        true_examples: Vec::new(),
        false_examples: Vec::new(),
        origin: RuleOrigin::File {
            path: path.to_path_buf(),
            line,
        },
    })
}

/// A gitleaks allowlist as an entry scoped to `rules`, or `None` (with a
/// note) when nothing of it applies to a dump.
fn allow(
    path: &Path,
    text: &str,
    a: &Spanned<GlAllow>,
    rules: Vec<String>,
    notes: &mut Vec<String>,
) -> Option<AllowEntry> {
    let line = line_of(text, a.span().start);
    let g = a.get_ref();
    let and = g
        .condition
        .as_deref()
        .is_some_and(|c| c.eq_ignore_ascii_case("and"));
    let scope = rules.first().filter(|_| rules.len() == 1).cloned();
    let what = match &scope {
        Some(id) => format!("allowlist of {id} (line {line})"),
        None => format!("global allowlist (line {line})"),
    };
    if and && (!g.paths.is_empty() || !g.commits.is_empty()) {
        notes.push(format!(
            "{what}: AND with paths/commits can never hold in a dump; ignored"
        ));
        return None;
    }
    if and && !g.regexes.is_empty() && !g.stopwords.is_empty() {
        notes.push(format!(
            "{what}: AND of regexes and stopwords is not supported; ignored"
        ));
        return None;
    }
    if !g.paths.is_empty() || !g.commits.is_empty() {
        notes.push(format!(
            "{what}: paths/commits ignored (a dump has neither)"
        ));
    }
    if let Some(t) = g.regex_target.as_deref().filter(|t| *t != "secret") {
        notes.push(format!("{what}: regexTarget = {t:?} applied to the secret"));
    }
    let mut e = AllowEntry {
        name: entry_name(path, line, g.description.as_deref()),
        rules,
        stopwords: g.stopwords.iter().map(|s| s.to_lowercase()).collect(),
        ..AllowEntry::default()
    };
    let mut bad = 0;
    for r in &g.regexes {
        match Regex::new(&format!("(?-u){r}")).or_else(|_| Regex::new(r)) {
            Ok(re) => e.regexes.push(re),
            Err(_) => bad += 1,
        }
    }
    if bad > 0 {
        notes.push(format!(
            "{what}: {bad} regexes not accepted by Rust's regex crate; ignored"
        ));
    }
    if e.regexes.is_empty() && e.stopwords.is_empty() {
        return None;
    }
    Some(e)
}
