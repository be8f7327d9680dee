//! What `dumpscrub rules` prints: the active rule list, and the outcome of
//! `--check FILE`.

use std::path::Path;

use anyhow::Result;
use serde::Serialize;

use super::set::{check_examples, ExampleFailure, RuleSet};
use super::{Rule, RuleOrigin};
use crate::detect::text::TextDetector;

#[derive(Serialize)]
struct Listed<'a> {
    id: &'a str,
    description: &'a str,
    confidence: &'static str,
    origin: String,
}

fn listed(r: &Rule) -> Listed<'_> {
    Listed {
        id: &r.id,
        description: &r.description,
        confidence: r.confidence.as_str(),
        origin: r.origin.to_string(),
    }
}

/// Every active rule, and the allowlist entries, as text or JSON.
pub fn list(set: &RuleSet, json: bool) -> String {
    if json {
        let body = serde_json::json!({
            "rules": set.rules.iter().map(listed).collect::<Vec<_>>(),
            "allowlist": set.allowlist.iter().map(|e| &e.name).collect::<Vec<_>>(),
        });
        let mut s = serde_json::to_string_pretty(&body).unwrap_or_default();
        s.push('\n');
        return s;
    }
    let width = set.rules.iter().map(|r| r.id.len()).max().unwrap_or(2);
    let mut s = format!(
        "{:width$}  {:10}  {:24}  DESCRIPTION\n",
        "ID", "CONFIDENCE", "ORIGIN"
    );
    for r in &set.rules {
        let l = listed(r);
        s.push_str(&format!(
            "{:width$}  {:10}  {:24}  {}\n",
            l.id, l.confidence, l.origin, l.description
        ));
    }
    s.push_str(&format!(
        "{} rules, {} allowlist entries\n",
        set.rules.len(),
        set.allowlist.len()
    ));
    s
}

/// The result of checking one rule file.
pub struct CheckOutcome {
    pub file: String,
    pub dialect_rules: Vec<(String, usize)>,
    pub failures: Vec<ExampleFailure>,
    pub warnings: Vec<String>,
}

/// Loads `file` on top of `set` (a malformed file is an error) and runs
/// its rules' examples through a detector built from the whole set.
pub fn check(mut set: RuleSet, file: &Path) -> Result<CheckOutcome> {
    set.warnings.clear();
    set.add_file(file)?;
    let det = TextDetector::new(&set.rules)?;
    let from_file =
        |r: &Rule| matches!(&r.origin, RuleOrigin::File { path, .. } if path.as_path() == file);
    let failures = check_examples(&det, &set.rules, from_file);
    Ok(CheckOutcome {
        file: file.display().to_string(),
        dialect_rules: set
            .rules
            .iter()
            .filter(|r| from_file(r))
            .map(|r| {
                (
                    r.id.to_string(),
                    r.true_examples.len() + r.false_examples.len(),
                )
            })
            .collect(),
        failures,
        warnings: set.warnings,
    })
}

impl CheckOutcome {
    pub fn render(&self, json: bool) -> String {
        let examples: usize = self.dialect_rules.iter().map(|r| r.1).sum();
        if json {
            let body = serde_json::json!({
                "file": self.file,
                "rules": self.dialect_rules.iter().map(|(id, n)| serde_json::json!({
                    "id": id,
                    "examples": n,
                    "failed": self.failures.iter().filter(|f| &f.rule == id).count(),
                })).collect::<Vec<_>>(),
                "examples": examples,
                "failures": self.failures.iter().map(|f| &f.message).collect::<Vec<_>>(),
                "warnings": self.warnings,
            });
            let mut s = serde_json::to_string_pretty(&body).unwrap_or_default();
            s.push('\n');
            return s;
        }
        format!(
            "{}: {} rules, {} examples, {} failed\n",
            self.file,
            self.dialect_rules.len(),
            examples,
            self.failures.len()
        )
    }
}
