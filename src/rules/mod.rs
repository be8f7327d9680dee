//! Rules: the data that drives the text detector.
//!
//! A rule is a set of literal anchors (fed, with every other rule's, to one
//! Aho-Corasick automaton), a confirming regex run only in a bounded window
//! around an anchor hit, and an optional entropy floor on the captured
//! secret. Rules are data, so each carries examples that must and must not
//! match; the test-suite runs them through the real detector in every
//! encoding.

mod builtin;
pub mod version;

use serde::Serialize;

pub use builtin::BUILTIN_RULES;

/// How sure a rule is that a match is a real secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alphabet {
    Hex,
    Base64,
    /// Anything printable: passwords and mixed tokens.
    Any,
}

/// A built-in text rule.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    /// Stable identifier, used in reports and allowlists.
    pub id: &'static str,
    pub description: &'static str,
    /// Literal strings, at least one of which occurs in every match. Matched
    /// case-sensitively: list each spelling that occurs in practice (the
    /// automaton stays on its fast SIMD path only without case folding).
    pub anchors: &'static [&'static str],
    /// Confirming regex (Rust `regex` syntax, matched against bytes). A named
    /// group `secret` selects the bytes to redact; without it, the whole
    /// match is the secret.
    pub regex: &'static str,
    /// Upper bound on the length of a match, in characters. Bounds the
    /// confirmation window and the overlap between scan chunks.
    pub max_len: usize,
    /// Minimum Shannon entropy (bits per character) of the secret, if any.
    pub min_entropy: Option<(Alphabet, f64)>,
    pub confidence: Confidence,
    /// Strings that must produce a finding of this rule.
    pub true_examples: &'static [&'static str],
    /// Strings that must not produce a finding of this rule.
    pub false_examples: &'static [&'static str],
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
pub fn passes_entropy(rule: &Rule, secret: &[u8]) -> bool {
    let Some((alphabet, floor)) = rule.min_entropy else {
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
