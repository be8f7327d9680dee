//! The rule-set version: a short hash over the built-in rules' ids and
//! regexes, so that a report or `--version` says which detections a run
//! could make, without a hand-maintained number that drifts from the data.

use sha2::{Digest, Sha256};

use super::BUILTIN_RULES;

/// Twelve hex digits of SHA-256 over every built-in rule's id and regex, in
/// order, each field length-prefixed so that no two rule sets collide by
/// moving bytes between fields.
// The borrows keep this compiling whether rule fields are `&'static str`
// or owned `String`s (rules loaded from files).
#[allow(clippy::needless_borrow)]
pub fn builtin_rules_version() -> String {
    let mut h = Sha256::new();
    for r in BUILTIN_RULES.iter() {
        let id: &str = &r.id;
        let regex: &str = &r.regex;
        for field in [id, regex] {
            h.update((field.len() as u64).to_le_bytes());
            h.update(field.as_bytes());
        }
    }
    crate::hex(&h.finalize()[..6])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_is_short_hex_and_stable() {
        let v = builtin_rules_version();
        assert_eq!(v.len(), 12);
        assert!(v.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(v, builtin_rules_version());
    }
}
