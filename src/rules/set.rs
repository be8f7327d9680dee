//! The active rule set: built-ins (unless turned off), inline rules from the
//! config file, and rule files, checked as a whole before anything is
//! scanned.

use std::path::Path;

use super::file::{self, LoadError};
use super::{builtin_rules, Rule, RuleOrigin};
use crate::allowlist::AllowEntry;
use crate::detect::text::TextDetector;
use crate::detect::Encoding;

/// Rules and allowlist entries gathered from every source.
#[derive(Debug, Clone)]
pub struct RuleSet {
    pub rules: Vec<Rule>,
    pub allowlist: Vec<AllowEntry>,
    pub warnings: Vec<String>,
}

impl RuleSet {
    pub fn new(default_rules: bool) -> Self {
        RuleSet {
            rules: if default_rules {
                builtin_rules()
            } else {
                Vec::new()
            },
            allowlist: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// Adds rules read from `source`. A file rule with a built-in rule's
    /// id replaces it (so a rule set can retune a built-in rule), which
    /// one warning lists; two file rules with one id are an error.
    pub fn add_rules(&mut self, source: &Path, rules: Vec<Rule>) -> Result<(), LoadError> {
        let mut replaced = Vec::new();
        for r in rules {
            if self.add_rule(r.clone())? {
                replaced.push(r.id.to_string());
            }
        }
        if !replaced.is_empty() {
            self.warnings.push(format!(
                "{}: {} rules replace the built-in rules of the same id: {}",
                source.display(),
                replaced.len(),
                replaced.join(", ")
            ));
        }
        Ok(())
    }

    /// Adds one rule; true when it replaced a built-in rule.
    fn add_rule(&mut self, rule: Rule) -> Result<bool, LoadError> {
        let Some(i) = self.rules.iter().position(|r| r.id == rule.id) else {
            self.rules.push(rule);
            return Ok(false);
        };
        if self.rules[i].origin == RuleOrigin::Builtin {
            self.rules[i] = rule;
            return Ok(true);
        }
        let (path, line) = match &rule.origin {
            RuleOrigin::File { path, line } => (path.clone(), Some(*line)),
            RuleOrigin::Builtin => (Default::default(), None),
        };
        Err(LoadError {
            path,
            line,
            reason: format!(
                "duplicate rule id {} (already defined at {})",
                rule.id, self.rules[i].origin
            ),
        })
    }

    /// Loads a rule file of either dialect and adds what it holds.
    pub fn add_file(&mut self, path: &Path) -> Result<(), LoadError> {
        let loaded = file::load(path)?;
        self.add_rules(path, loaded.rules)?;
        self.allowlist.extend(loaded.allowlist);
        self.warnings.extend(loaded.warnings);
        Ok(())
    }
}

/// One example that did not behave: `FILE:LINE: rule ID: what`.
#[derive(Debug, Clone)]
pub struct ExampleFailure {
    pub rule: String,
    pub message: String,
}

/// Runs the examples of every rule `which` selects through `det` (built
/// from `rules`, in the same order), in each encoding the rule is searched
/// in, at both byte alignments for UTF-16LE. Messages never repeat the
/// example's text: a careless rule file may hold a real value.
pub fn check_examples(
    det: &TextDetector,
    rules: &[Rule],
    which: impl Fn(&Rule) -> bool,
) -> Vec<ExampleFailure> {
    let mut out = Vec::new();
    for (i, r) in rules.iter().enumerate().filter(|(_, r)| which(r)) {
        let path = match &r.origin {
            RuleOrigin::File { path, .. } => path.display().to_string(),
            RuleOrigin::Builtin => "built-in".to_string(),
        };
        let mut encodings = Vec::new();
        if r.ascii {
            encodings.push((Encoding::Ascii, false));
        }
        if r.utf16le {
            encodings.push((Encoding::Utf16le, false));
            encodings.push((Encoding::Utf16le, true));
        }
        let name = |(enc, mis): (Encoding, bool)| {
            format!(
                "{}{}",
                enc.as_str(),
                if mis { " at an odd offset" } else { "" }
            )
        };
        for ex in &r.true_examples {
            let missed: Vec<String> = encodings
                .iter()
                .filter(|(e, m)| !det.finds(i as u32, ex.text.as_bytes(), *e, *m))
                .map(|&x| name(x))
                .collect();
            if !missed.is_empty() {
                out.push(ExampleFailure {
                    rule: r.id.to_string(),
                    message: format!(
                        "{path}:{}: rule {}: example is not found ({})",
                        ex.line,
                        r.id,
                        missed.join(", ")
                    ),
                });
            }
        }
        for ex in &r.false_examples {
            let hit: Vec<String> = encodings
                .iter()
                .filter(|(e, m)| det.finds(i as u32, ex.text.as_bytes(), *e, *m))
                .map(|&x| name(x))
                .collect();
            if !hit.is_empty() {
                out.push(ExampleFailure {
                    rule: r.id.to_string(),
                    message: format!(
                        "{path}:{}: rule {}: counter-example is found ({})",
                        ex.line,
                        r.id,
                        hit.join(", ")
                    ),
                });
            }
        }
    }
    out
}
