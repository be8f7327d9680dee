//! Rules: the data that drives the text detector.
//!
//! A rule is a set of literal anchors (fed, with every other rule's, to one
//! Aho-Corasick automaton), a confirming regex run only in a bounded window
//! around an anchor hit, and an optional entropy floor on the captured
//! secret. Rules are data, so each carries examples that must and must not
//! match; the test-suite runs them through the real detector in every
//! encoding.

mod builtin;
pub mod cli;
pub mod file;
mod gitleaks;
pub mod set;
pub mod version;

use std::borrow::Cow;
use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use builtin::BUILTIN_RULES;

/// How sure a rule is that a match is a real secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    Low,
    Medium,
    High,
}

impl Confidence {
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::Low => "low",
            Confidence::Medium => "medium",
            Confidence::High => "high",
        }
    }
}

/// Which alphabet an entropy floor is measured against. Entropy of a random
/// string depends on its alphabet, so one threshold cannot serve all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Alphabet {
    Hex,
    Base64,
    /// Anything printable: passwords and mixed tokens.
    Any,
}

/// A built-in text rule, as written in `builtin.rs`: all `'static`, so the
/// built-in set costs nothing until it is turned into [`Rule`]s.
#[derive(Debug, Clone, Copy)]
pub struct BuiltinRule {
    pub id: &'static str,
    pub description: &'static str,
    pub anchors: &'static [&'static str],
    pub regex: &'static str,
    pub max_len: usize,
    pub min_entropy: Option<(Alphabet, f64)>,
    pub confidence: Confidence,
    pub true_examples: &'static [&'static str],
    pub false_examples: &'static [&'static str],
}

/// Where a rule came from: shown by `dumpscrub rules` and used to point
/// errors at the line that defined it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleOrigin {
    Builtin,
    /// A rule file (or the config file), and the line of the rule's `id`.
    File {
        path: PathBuf,
        line: usize,
    },
}

impl fmt::Display for RuleOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RuleOrigin::Builtin => f.write_str("built-in"),
            RuleOrigin::File { path, line } => write!(f, "{}:{line}", path.display()),
        }
    }
}

/// Which part of a regex match is the secret to redact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretGroup {
    /// The group named `secret` when the regex has one, else the whole match.
    Default,
    /// A named capture group.
    Named(String),
    /// A numbered capture group (1 is the first).
    Index(usize),
    /// The first capture group that matched something, else the whole
    /// match: gitleaks' rule when `secretGroup` is not set.
    FirstNonEmpty,
}

/// An example string and the line of the rule file it is written on (0 for
/// built-ins).
#[derive(Debug, Clone)]
pub struct Example {
    pub text: Cow<'static, str>,
    pub line: usize,
}

/// A text rule, built in or loaded from a file.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Stable identifier, used in reports and allowlists.
    pub id: Cow<'static, str>,
    pub description: Cow<'static, str>,
    /// Literal strings, at least one of which occurs in every match. Matched
    /// case-sensitively: list each spelling that occurs in practice (the
    /// automaton stays on its fast SIMD path only without case folding).
    pub anchors: Vec<Cow<'static, str>>,
    /// Confirming regex (Rust `regex` syntax, matched against bytes).
    pub regex: Cow<'static, str>,
    /// Which bytes of a match to redact.
    pub secret_group: SecretGroup,
    /// Upper bound on the length of a match, in characters. Bounds the
    /// confirmation window and the overlap between scan chunks.
    pub max_len: usize,
    /// Minimum Shannon entropy (bits per character) of the secret, if any.
    pub min_entropy: Option<(Alphabet, f64)>,
    pub confidence: Confidence,
    /// Encodings the rule is searched in.
    pub ascii: bool,
    pub utf16le: bool,
    /// Strings that must produce a finding of this rule.
    pub true_examples: Vec<Example>,
    /// Strings that must not produce a finding of this rule.
    pub false_examples: Vec<Example>,
    pub origin: RuleOrigin,
}

impl From<&BuiltinRule> for Rule {
    fn from(r: &BuiltinRule) -> Rule {
        let examples = |list: &'static [&'static str]| {
            list.iter()
                .map(|&t| Example {
                    text: Cow::Borrowed(t),
                    line: 0,
                })
                .collect()
        };
        Rule {
            id: Cow::Borrowed(r.id),
            description: Cow::Borrowed(r.description),
            anchors: r.anchors.iter().map(|&a| Cow::Borrowed(a)).collect(),
            regex: Cow::Borrowed(r.regex),
            secret_group: SecretGroup::Default,
            max_len: r.max_len,
            min_entropy: r.min_entropy,
            confidence: r.confidence,
            ascii: true,
            utf16le: true,
            true_examples: examples(r.true_examples),
            false_examples: examples(r.false_examples),
            origin: RuleOrigin::Builtin,
        }
    }
}

impl From<BuiltinRule> for Rule {
    fn from(r: BuiltinRule) -> Rule {
        Rule::from(&r)
    }
}

/// The built-in rule set as [`Rule`]s.
pub fn builtin_rules() -> Vec<Rule> {
    BUILTIN_RULES.iter().map(Rule::from).collect()
}

/// Shannon entropy of `bytes` in bits per symbol.
pub fn shannon_entropy(bytes: &[u8]) -> f64 {
    if bytes.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for &b in bytes {
        counts[b as usize] += 1;
    }
    let n = bytes.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / n;
            -p * p.log2()
        })
        .sum()
}

/// Does `secret` pass the rule's entropy floor? The floor is scaled down for
/// short strings, whose entropy is capped by log2(len) whatever the source.
pub fn passes_entropy(min_entropy: Option<(Alphabet, f64)>, secret: &[u8]) -> bool {
    let Some((alphabet, floor)) = min_entropy else {
        return true;
    };
    let in_alphabet = |b: u8| match alphabet {
        Alphabet::Hex => b.is_ascii_hexdigit(),
        Alphabet::Base64 => {
            b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'-' | b'_')
        }
        Alphabet::Any => (0x21..0x7f).contains(&b),
    };
    if !secret.iter().all(|&b| in_alphabet(b)) {
        return false;
    }
    let cap = (secret.len() as f64).log2();
    shannon_entropy(secret) >= floor.min(cap * 0.85)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entropy_of_uniform_and_constant_strings() {
        assert_eq!(shannon_entropy(b"aaaaaaaa"), 0.0);
        assert!((shannon_entropy(b"0123456789abcdef") - 4.0).abs() < 1e-9);
    }

    #[test]
    fn rule_ids_are_unique_and_well_formed() {
        let mut ids: Vec<_> = BUILTIN_RULES.iter().map(|r| r.id).collect();
        ids.sort_unstable();
        let n = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), n, "duplicate rule id");
        assert!(n >= 30, "only {n} built-in rules");
        for r in BUILTIN_RULES {
            assert!(!r.anchors.is_empty(), "{} has no anchors", r.id);
            assert!(!r.true_examples.is_empty(), "{} has no true example", r.id);
            assert!(
                !r.false_examples.is_empty(),
                "{} has no false example",
                r.id
            );
            assert!(r
                .id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'));
            assert!(r.max_len >= 8 && r.max_len <= 8192, "{} max_len", r.id);
        }
    }
}
