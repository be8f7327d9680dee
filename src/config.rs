//! `dumpscrub.toml`: one reviewed file for a pipeline's rules, allowlists,
//! policy and defaults (`docs/config.md`). Unknown keys are errors, as are
//! bad values, each at its line; relative paths are relative to the file.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::allowlist::{AllowEntry, AllowSpec};
use crate::policy::Policy;
use crate::rules::file::{de_error, line_of, LoadError, RuleSpec};
use crate::rules::set::RuleSet;
use crate::rules::{Confidence, Rule};

/// File name looked for in the current directory.
pub const FILE_NAME: &str = "dumpscrub.toml";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigSpec {
    policy: Option<Policy>,
    min_confidence: Option<Confidence>,
    default_rules: Option<bool>,
    #[serde(default)]
    rule_files: Vec<Spanned<PathBuf>>,
    #[serde(default)]
    rules: Vec<RuleSpec>,
    #[serde(default)]
    allowlist: Vec<Spanned<AllowSpec>>,
    #[serde(default)]
    known_keys: Vec<PathBuf>,
    #[serde(default)]
    known_secrets: Vec<PathBuf>,
    fingerprint_key_file: Option<PathBuf>,
}

/// A loaded, validated config file.
#[derive(Debug, Clone)]
pub struct Config {
    pub path: PathBuf,
    pub policy: Option<Policy>,
    pub min_confidence: Option<Confidence>,
    /// `false` starts from no built-in rules, as `--no-default-rules`.
    pub default_rules: Option<bool>,
    /// Rule files, each with the line that names it (for errors).
    pub rule_files: Vec<(PathBuf, usize)>,
    pub rules: Vec<Rule>,
    pub allowlist: Vec<AllowEntry>,
    pub known_keys: Vec<PathBuf>,
    pub known_secrets: Vec<PathBuf>,
    pub fingerprint_key_file: Option<PathBuf>,
}

impl Config {
    pub fn load(path: &Path) -> Result<Config, LoadError> {
        let text = std::fs::read_to_string(path).map_err(|e| LoadError {
            path: path.to_path_buf(),
            line: None,
            reason: format!("cannot read the config file: {e}"),
        })?;
        Self::parse(path, &text)
    }

    /// Parses the text of a config file; `path` names it in errors and
    /// anchors its relative paths.
    pub fn parse(path: &Path, text: &str) -> Result<Config, LoadError> {
        let spec: ConfigSpec = toml::from_str(text).map_err(|e| de_error(path, text, &e))?;
        let dir = path.parent().unwrap_or(Path::new("."));
        let rel = |p: PathBuf| if p.is_absolute() { p } else { dir.join(p) };
        let mut rules = Vec::new();
        for r in spec.rules {
            rules.push(r.into_rule(path, text)?);
        }
        let mut allowlist = Vec::new();
        for a in spec.allowlist {
            let at = a.span().start;
            allowlist.push(a.into_inner().compile(path, text, at)?);
        }
        Ok(Config {
            path: path.to_path_buf(),
            policy: spec.policy,
            min_confidence: spec.min_confidence,
            default_rules: spec.default_rules,
            rule_files: spec
                .rule_files
                .into_iter()
                .map(|f| {
                    let line = line_of(text, f.span().start);
                    (rel(f.into_inner()), line)
                })
                .collect(),
            rules,
            allowlist,
            known_keys: spec.known_keys.into_iter().map(rel).collect(),
            known_secrets: spec.known_secrets.into_iter().map(rel).collect(),
            fingerprint_key_file: spec.fingerprint_key_file.map(rel),
        })
    }

    /// The config to use: `explicit` when given (it must exist), else
    /// `dumpscrub.toml` in the current directory unless `ignore_cwd`.
    pub fn discover(
        explicit: Option<&Path>,
        ignore_cwd: bool,
    ) -> Result<Option<Config>, LoadError> {
        if let Some(p) = explicit {
            return Config::load(p).map(Some);
        }
        let here = Path::new(FILE_NAME);
        if ignore_cwd || !here.is_file() {
            return Ok(None);
        }
        Config::load(here).map(Some)
    }
}

/// Builds the rule set from the config (if any) and the command line:
/// built-ins unless either turns them off, then the config's inline rules
/// and rule files, then `--rules` files. Fails at the first bad file.
pub fn rule_set(
    config: Option<&Config>,
    no_default_rules: bool,
    cli_rule_files: &[PathBuf],
) -> Result<RuleSet, LoadError> {
    let default_rules = !no_default_rules && config.and_then(|c| c.default_rules).unwrap_or(true);
    let mut set = RuleSet::new(default_rules);
    if let Some(c) = config {
        set.add_rules(&c.path, c.rules.clone())?;
        for (f, line) in &c.rule_files {
            set.add_file(f).map_err(|e| {
                if e.line.is_none() && e.path == *f {
                    LoadError {
                        path: c.path.clone(),
                        line: Some(*line),
                        reason: format!("rule file {}: {}", f.display(), e.reason),
                    }
                } else {
                    e
                }
            })?;
        }
        set.allowlist.extend(c.allowlist.iter().cloned());
    }
    for f in cli_rule_files {
        set.add_file(f)?;
    }
    Ok(set)
}
