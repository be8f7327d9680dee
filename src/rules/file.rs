//! Rule files: dumpscrub's own TOML format (`docs/rules.md`), and the
//! dispatch to the gitleaks dialect. Every error names the file and the
//! line of the offending key, so a pipeline can fix its rule set without
//! guessing; nothing is half-loaded.

use std::borrow::Cow;
use std::fmt;
use std::path::{Path, PathBuf};

use regex::bytes::Regex;
use regex_syntax::hir::literal::{ExtractKind, Extractor};
use serde::Deserialize;
use toml::Spanned;

use super::{Alphabet, Confidence, Example, Rule, RuleOrigin, SecretGroup};
use crate::allowlist::{AllowEntry, AllowSpec};

/// A configuration or rule file that cannot be used: `FILE:LINE: reason`.
#[derive(Debug, Clone)]
pub struct LoadError {
    pub path: PathBuf,
    pub line: Option<usize>,
    pub reason: String,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(l) => write!(f, "{}:{l}: {}", self.path.display(), self.reason),
            None => write!(f, "{}: {}", self.path.display(), self.reason),
        }
    }
}

impl std::error::Error for LoadError {}

/// 1-based line of byte `offset` in `text`.
pub fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// A TOML or schema error, at the line its span starts on.
pub fn de_error(path: &Path, text: &str, e: &toml::de::Error) -> LoadError {
    LoadError {
        path: path.to_path_buf(),
        line: e.span().map(|s| line_of(text, s.start)),
        reason: e.message().trim().to_string(),
    }
}

/// What one rule file contributed.
#[derive(Debug, Default)]
pub struct Loaded {
    pub rules: Vec<Rule>,
    pub allowlist: Vec<AllowEntry>,
    /// One entry per problem worth telling (gitleaks rules not honoured).
    pub warnings: Vec<String>,
    pub dialect: &'static str,
}

/// Loads a rule file of either dialect.
pub fn load(path: &Path) -> Result<Loaded, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|e| LoadError {
        path: path.to_path_buf(),
        line: None,
        reason: format!("cannot read the rule file: {e}"),
    })?;
    load_text(path, &text)
}

/// Parses the text of a rule file of either dialect; `path` names it in
/// errors and in the rules' origins.
pub fn load_text(path: &Path, text: &str) -> Result<Loaded, LoadError> {
    let table: toml::Table = toml::from_str(text).map_err(|e| de_error(path, text, &e))?;
    if is_gitleaks(&table) {
        super::gitleaks::load(path, text)
    } else {
        load_dumpscrub(path, text)
    }
}

/// gitleaks files are told apart by keys dumpscrub's format does not have:
/// `title`, `[extend]`, a single `[allowlist]` table, `[[allowlists]]`, and
/// in a rule `secretGroup`, `path`, `tags`, `allowlist(s)`, `skipReport` or
/// a bare number as `entropy`. A file with none of them reads the same in
/// both dialects and is parsed as dumpscrub's.
fn is_gitleaks(t: &toml::Table) -> bool {
    use toml::Value;
    if ["title", "extend", "allowlists"]
        .iter()
        .any(|k| t.contains_key(*k))
        || matches!(t.get("allowlist"), Some(Value::Table(_)))
    {
        return true;
    }
    let Some(Value::Array(rules)) = t.get("rules") else {
        return false;
    };
    rules.iter().filter_map(Value::as_table).any(|r| {
        [
            "secretGroup",
            "path",
            "tags",
            "allowlist",
            "allowlists",
            "skipReport",
        ]
        .iter()
        .any(|k| r.contains_key(*k))
            || matches!(r.get("entropy"), Some(Value::Float(_) | Value::Integer(_)))
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DumpscrubFile {
    #[serde(default)]
    rules: Vec<RuleSpec>,
    #[serde(default)]
    allowlist: Vec<Spanned<AllowSpec>>,
}

fn load_dumpscrub(path: &Path, text: &str) -> Result<Loaded, LoadError> {
    let file: DumpscrubFile = toml::from_str(text).map_err(|e| de_error(path, text, &e))?;
    let mut out = Loaded {
        dialect: "dumpscrub",
        ..Loaded::default()
    };
    for spec in file.rules {
        out.rules.push(spec.into_rule(path, text)?);
    }
    for a in file.allowlist {
        let at = a.span().start;
        out.allowlist.push(a.into_inner().compile(path, text, at)?);
    }
    Ok(out)
}

#[derive(Deserialize)]
#[serde(untagged)]
enum GroupSpec {
    Index(usize),
    Name(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EntropySpec {
    alphabet: Alphabet,
    bits: f64,
}

#[derive(Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
enum EncodingName {
    Ascii,
    Utf16le,
}

fn medium() -> Confidence {
    Confidence::Medium
}

/// One `[[rules]]` table of dumpscrub's format (also used inline in the
/// config file).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    id: Spanned<String>,
    #[serde(default)]
    description: String,
    #[serde(default)]
    keywords: Vec<Spanned<String>>,
    regex: Spanned<String>,
    secret_group: Option<Spanned<GroupSpec>>,
    entropy: Option<Spanned<EntropySpec>>,
    #[serde(default = "medium")]
    confidence: Confidence,
    encodings: Option<Spanned<Vec<EncodingName>>>,
    max_length: Option<Spanned<usize>>,
    #[serde(default)]
    examples: Vec<Spanned<String>>,
    #[serde(default)]
    counter_examples: Vec<Spanned<String>>,
}

/// Longest match a rule may declare, in characters.
pub const MAX_LEN_LIMIT: usize = 8192;
/// Default `max_length`.
pub const DEFAULT_MAX_LEN: usize = 256;

impl RuleSpec {
    pub fn into_rule(self, path: &Path, text: &str) -> Result<Rule, LoadError> {
        let at = |span: std::ops::Range<usize>, reason: String| LoadError {
            path: path.to_path_buf(),
            line: Some(line_of(text, span.start)),
            reason,
        };
        let id = self.id.get_ref().clone();
        if !valid_id(&id) {
            return Err(at(
                self.id.span(),
                format!("rule id {id:?} must be letters, digits, '.', '_' or '-'"),
            ));
        }
        let regex = compile_regex(self.regex.get_ref())
            .map_err(|e| at(self.regex.span(), format!("rule {id}: invalid regex: {e}")))?;
        let secret_group = match self.secret_group {
            None => SecretGroup::Default,
            Some(g) => {
                let span = g.span();
                match g.into_inner() {
                    GroupSpec::Name(n) => {
                        if !regex.capture_names().any(|x| x == Some(n.as_str())) {
                            return Err(at(
                                span,
                                format!("rule {id}: the regex has no group named {n:?}"),
                            ));
                        }
                        SecretGroup::Named(n)
                    }
                    GroupSpec::Index(i) => {
                        if i == 0 || i >= regex.captures_len() {
                            return Err(at(
                                span,
                                format!(
                                    "rule {id}: secret_group {i} is not a capture group of the regex (it has {})",
                                    regex.captures_len() - 1
                                ),
                            ));
                        }
                        SecretGroup::Index(i)
                    }
                }
            }
        };
        let mut anchors = Vec::new();
        for k in &self.keywords {
            let kw = k.get_ref();
            if kw.len() < 2 || !kw.bytes().all(|b| (0x20..0x7f).contains(&b)) {
                return Err(at(
                    k.span(),
                    format!(
                        "rule {id}: keyword {kw:?} must be at least 2 printable ASCII characters"
                    ),
                ));
            }
            anchors.push(Cow::Owned(kw.clone()));
        }
        if anchors.is_empty() {
            match derive_anchors(self.regex.get_ref()) {
                Some(derived) => anchors = derived.into_iter().map(Cow::Owned).collect(),
                None => {
                    return Err(at(
                        self.regex.span(),
                        format!("rule {id}: no keywords, and the regex has no literal prefix or suffix of 3+ characters to anchor on; list keywords"),
                    ))
                }
            }
        }
        let max_len = match &self.max_length {
            Some(m) if !(8..=MAX_LEN_LIMIT).contains(m.get_ref()) => {
                return Err(at(
                    m.span(),
                    format!("rule {id}: max_length must be between 8 and {MAX_LEN_LIMIT}"),
                ))
            }
            Some(m) => *m.get_ref(),
            None => DEFAULT_MAX_LEN,
        };
        let min_entropy = match self.entropy {
            Some(e) if !(0.0..=8.0).contains(&e.get_ref().bits) => {
                return Err(at(
                    e.span(),
                    format!("rule {id}: entropy bits must be between 0 and 8"),
                ))
            }
            Some(e) => Some((e.get_ref().alphabet, e.get_ref().bits)),
            None => None,
        };
        let (ascii, utf16le) = match &self.encodings {
            None => (true, true),
            Some(list) if list.get_ref().is_empty() => {
                return Err(at(list.span(), format!("rule {id}: encodings is empty")))
            }
            Some(list) => (
                list.get_ref().contains(&EncodingName::Ascii),
                list.get_ref().contains(&EncodingName::Utf16le),
            ),
        };
        if self.examples.is_empty() {
            return Err(at(
                self.id.span(),
                format!("rule {id}: at least one example is required (rules are tested on their examples)"),
            ));
        }
        let examples = |list: Vec<Spanned<String>>| {
            list.into_iter()
                .map(|e| Example {
                    line: line_of(text, e.span().start),
                    text: Cow::Owned(e.into_inner()),
                })
                .collect()
        };
        Ok(Rule {
            origin: RuleOrigin::File {
                path: path.to_path_buf(),
                line: line_of(text, self.id.span().start),
            },
            id: Cow::Owned(id),
            description: Cow::Owned(self.description),
            anchors,
            regex: Cow::Owned(self.regex.into_inner()),
            secret_group,
            max_len,
            min_entropy,
            confidence: self.confidence,
            ascii,
            utf16le,
            true_examples: examples(self.examples),
            false_examples: examples(self.counter_examples),
        })
    }
}

pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Compiles a regex as the text detector will, reporting only the part of
/// the crate's message that says what is wrong.
pub fn compile_regex(pattern: &str) -> Result<Regex, String> {
    Regex::new(pattern).map_err(|e| match e {
        regex::Error::Syntax(s) => s
            .lines()
            .rev()
            .find(|l| l.starts_with("error:"))
            .unwrap_or(&s)
            .to_string(),
        other => other.to_string(),
    })
}

/// Literal anchors for a regex without keywords: the literals every match
/// starts with (or else ends with), as regex-syntax extracts them, when
/// there are few enough and each is 3+ printable ASCII characters.
/// A case-insensitive literal comes back as its case variants.
pub fn derive_anchors(pattern: &str) -> Option<Vec<String>> {
    let hir = regex_syntax::ParserBuilder::new()
        .utf8(false)
        .build()
        .parse(pattern)
        .ok()?;
    for kind in [ExtractKind::Prefix, ExtractKind::Suffix] {
        let mut ex = Extractor::new();
        ex.kind(kind).limit_total(64);
        let seq = ex.extract(&hir);
        let Some(lits) = seq.literals() else { continue };
        let mut out: Vec<String> = Vec::new();
        let usable = !lits.is_empty()
            && lits.iter().all(|l| {
                let b = l.as_bytes();
                b.len() >= 3 && b.iter().all(|&c| (0x20..0x7f).contains(&c))
            });
        if !usable {
            continue;
        }
        for l in lits {
            let s = String::from_utf8_lossy(l.as_bytes()).into_owned();
            if !out.contains(&s) {
                out.push(s);
            }
        }
        return Some(out);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchors_are_derived_from_literal_prefixes_and_suffixes() {
        assert_eq!(
            derive_anchors(r"acme_[a-z]{8}").unwrap(),
            vec!["acme_".to_string()]
        );
        let v = derive_anchors(r"(?i)ltai[a-z0-9]{20}").unwrap();
        assert!(v.contains(&"LTAI".to_string()) && v.contains(&"ltai".to_string()));
        assert_eq!(
            derive_anchors(r"[0-9a-f]{32}\.apps\.example").unwrap(),
            vec![".apps.example".to_string()]
        );
        assert!(derive_anchors(r"[a-z]{8}[0-9]+").is_none());
        assert!(derive_anchors(r"ab[a-z]+").is_none(), "2-character literal");
        // A small class after a literal is expanded: every match starts with one.
        assert_eq!(derive_anchors(r"ab[0-2]x+").unwrap().len(), 3);
    }

    #[test]
    fn line_numbers_are_one_based() {
        let t = "a\nb\nc";
        assert_eq!(line_of(t, 0), 1);
        assert_eq!(line_of(t, 2), 2);
        assert_eq!(line_of(t, 100), 3);
    }
}
