//! The command-line grammar (clap derive). Behaviour lives in the sibling
//! modules; this file only says what can be typed.

use std::path::PathBuf;

use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{ArgGroup, Args, Parser, Subcommand, ValueEnum};

use dumpscrub::policy::Policy;

#[derive(Parser)]
#[command(
    name = "dumpscrub",
    version = super::version(),
    about = "Find secrets in crash dumps and zero them in a copy that stays a valid, debuggable dump",
    after_help = "Exit status: 0 success (scan, verify: nothing found), 1 secrets found (scan, verify), 2 error.\nReport format: docs/report.md"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Write a copy of each dump with every secret zeroed, and report what was removed.
    #[command(after_help = "Examples:\n  \
        dumpscrub scrub crash.dmp -o crash.clean.dmp\n  \
        dumpscrub scrub crash.dmp.zst -o crash.clean.dmp.zst --report report.json\n  \
        dumpscrub scrub crash.dmp --in-place --report - --format text\n  \
        dumpscrub scrub incoming/ --output-dir clean/ --jobs 4 --report - --format jsonl\n\n\
        Exit status: 0 every output was written (whether or not anything was found), 2 an\n\
        error in any file (that file gets no output and its input is untouched; the rest\n\
        are still scrubbed).")]
    Scrub(ScrubArgs),
    /// Scan dumps read-only and report the secrets in them.
    #[command(after_help = "Examples:\n  \
        dumpscrub scan crash.dmp\n  \
        dumpscrub scan archive/ --report findings.json\n  \
        find archive -name '*.dmp*' -print0 | dumpscrub scan --files-from - -0 --report - --format jsonl\n  \
        dumpscrub scan archive/ --shard 2/8 --jobs 4 --report - --format jsonl > part-2.jsonl\n\n\
        Directories are walked recursively; files in them that are not crash dumps are\n\
        listed as skipped. Exit status: 0 nothing found, 1 secrets found, 2 error.")]
    Scan(ScanArgs),
    /// The pipeline gate after a scrub: fail if any secret at or above
    /// --min-confidence remains, listing each (file, rule, offset, stream).
    #[command(after_help = "Examples:\n  \
        dumpscrub scrub crash.dmp -o clean.dmp && dumpscrub verify clean.dmp && upload clean.dmp\n  \
        dumpscrub verify clean/ --min-confidence low\n\n\
        Exit status: 0 nothing at or above --min-confidence remains, 1 something does (each\n\
        listed on stderr, never its value), 2 error.")]
    Verify(VerifyArgs),
    /// List the active rules, or check a rule file and run its examples.
    #[command(after_help = "Examples:\n  \
        dumpscrub rules\n  \
        dumpscrub rules --rules acme.toml --format json\n  \
        dumpscrub rules --check acme.toml\n\n\
        Rule files: docs/rules.md. Exit status: 0 ok, 1 an example failed (--check), 2 the\n\
        configuration or rule file is malformed.")]
    Rules(RulesArgs),
    /// Print a shell completion script to standard output.
    #[command(after_help = "Examples:\n  \
        dumpscrub completions bash > /etc/bash_completion.d/dumpscrub\n  \
        dumpscrub completions zsh > \"${fpath[1]}/_dumpscrub\"\n  \
        dumpscrub completions fish > ~/.config/fish/completions/dumpscrub.fish")]
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print a manual page (roff) to standard output: dumpscrub(1), or a
    /// subcommand's dumpscrub-COMMAND(1).
    #[command(after_help = "Examples:\n  \
        dumpscrub man | man -l -\n  \
        for c in '' scrub scan verify; do dumpscrub man $c > dumpscrub${c:+-$c}.1; done")]
    Man {
        /// scrub, scan, verify or completions (default: the main page).
        command: Option<String>,
    },
}

#[derive(Args)]
#[command(group(
    ArgGroup::new("destination")
        .required(true)
        .args(["output", "output_dir", "in_place"])
))]
pub struct ScrubArgs {
    #[command(flatten)]
    pub inputs: Inputs,
    /// Where to write the scrubbed copy (a single input file only).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Write each scrubbed copy under DIR, mirroring the inputs' relative
    /// paths (a file found in a directory argument: its path below that
    /// directory; a file named directly: its path as given when relative,
    /// else its name). Never overwrites an input; two inputs that would
    /// land on one output are both refused.
    #[arg(long, value_name = "DIR")]
    pub output_dir: Option<PathBuf>,
    /// Replace each input with its scrubbed copy (atomically: never half-written).
    #[arg(long)]
    pub in_place: bool,
    #[command(flatten)]
    pub common: Common,
}

/// Where rules, allowlists and defaults come from (docs/config.md).
#[derive(Args)]
pub struct RuleSources {
    /// Add the rules (and allowlists) of a rule file: dumpscrub's TOML
    /// format or a gitleaks config (docs/rules.md). Repeatable.
    #[arg(long = "rules", value_name = "FILE")]
    pub rule_files: Vec<PathBuf>,
    /// Start from no built-in text rules (only --rules and config rules).
    #[arg(long)]
    pub no_default_rules: bool,
    /// Read the configuration from FILE instead of ./dumpscrub.toml.
    #[arg(long, value_name = "FILE", conflicts_with = "no_config")]
    pub config: Option<PathBuf>,
    /// Ignore ./dumpscrub.toml.
    #[arg(long)]
    pub no_config: bool,
}

#[derive(Args)]
pub struct RulesArgs {
    /// Validate FILE and run its examples through the detector (ASCII and
    /// UTF-16LE): exit 1 if an example fails, 2 if the file is malformed.
    #[arg(long, value_name = "FILE")]
    pub check: Option<PathBuf>,
    /// Output format (json or text).
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
    #[command(flatten)]
    pub sources: RuleSources,
}

#[derive(Args)]
pub struct ScanArgs {
    #[command(flatten)]
    pub inputs: Inputs,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub inputs: Inputs,
    #[command(flatten)]
    pub common: Common,
}

/// Which files a run processes. They are collected from every argument
/// and list, directories walked recursively, then sorted by path and
/// de-duplicated: the order of the report, and what --shard splits.
#[derive(Args)]
pub struct Inputs {
    /// Files or directories (walked recursively).
    #[arg(value_name = "PATH", required_unless_present = "files_from")]
    pub paths: Vec<PathBuf>,
    /// Also read paths from FILE (`-`: standard input), one a line.
    #[arg(long, value_name = "FILE|-")]
    pub files_from: Option<PathBuf>,
    /// Paths in --files-from are separated by NUL bytes (`find -print0`).
    #[arg(short = '0', long, requires = "files_from")]
    pub null: bool,
    /// Process only shard I of N: the files whose index in the sorted list
    /// is I modulo N (0 <= I < N). Shards 0/N .. N-1/N partition the list.
    #[arg(long, value_name = "I/N", value_parser = parse_shard)]
    pub shard: Option<(usize, usize)>,
}

#[derive(Args)]
pub struct Common {
    /// Write the report to FILE, or to standard output with `-`.
    #[arg(long, value_name = "FILE|-")]
    pub report: Option<PathBuf>,
    /// Report format. `jsonl` writes one line per file, in the sorted
    /// input order, each as soon as it and the files before it are done.
    #[arg(long, value_enum, default_value_t = ReportFormat::Json)]
    pub format: ReportFormat,
    /// Worker threads for all the work (default: one per core). Files
    /// processed together share these threads.
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Files processed at the same time, each still scanned in parallel
    /// chunks on the shared threads (default 1). More helps with many
    /// small dumps.
    #[arg(short, long, value_name = "N", default_value_t = 1)]
    pub jobs: usize,
    /// Treat every input as plain bytes, without parsing its format. The
    /// explicit way to scrub a file dumpscrub cannot parse.
    #[arg(long)]
    pub raw: bool,
    /// Redact findings at or above this confidence; report the rest
    /// [default: medium, or the config's min_confidence].
    #[arg(long, value_enum)]
    pub min_confidence: Option<MinConfidence>,
    /// File holding the key for finding fingerprints (keyed HMAC), so that
    /// short secrets cannot be guessed from a report. Also read from the
    /// DUMPSCRUB_FINGERPRINT_KEY environment variable.
    #[arg(long, value_name = "FILE")]
    pub fingerprint_key_file: Option<PathBuf>,
    /// Public keys whose private halves must never appear in a dump: PEM
    /// public keys, X.509 certificates (PEM or DER) or JWKS documents. Each
    /// RSA modulus (EC public point) is looked for in memory, and a private
    /// factor (scalar) near it recovers and removes the whole key.
    /// Repeatable.
    #[arg(long, value_name = "FILE")]
    pub known_keys: Vec<PathBuf>,
    /// Literal secret values, one a line (`hex:` / `base64:` prefixes for
    /// binary), found raw, in UTF-16LE, hex and base64. Repeatable.
    #[arg(long, value_name = "FILE")]
    pub known_secrets: Vec<PathBuf>,
    /// What to remove beyond the secrets found: `detect` (only them),
    /// `strip-heap` (also all memory that is not a stack or module image),
    /// `stack-only` (keep only stacks, structure and module names),
    /// `sanitize-stacks` (stack-only, and stack words that are not small
    /// integers or pointers into modules or stacks become 0x0defaced).
    /// See docs/policies.md. Default: detect.
    #[arg(long, value_name = "POLICY", value_parser = PossibleValuesParser::new(Policy::NAMES).try_map(|s| s.parse::<Policy>()))]
    pub policy: Option<Policy>,
    /// Text rules only: turn off the key-material detectors (DER, key
    /// blobs, AES schedules, OpenSSH, library big numbers). For measuring
    /// their cost; never for real use.
    #[arg(long)]
    pub no_key_detectors: bool,
    /// Turn off the generic-secret entropy detector (high-entropy values of
    /// secret-named keys, free-standing random tokens).
    #[arg(long)]
    pub no_entropy: bool,
    /// Refuse a compressed input (gzip, zstd, xz) that inflates to more
    /// than SIZE (suffixes K, M, G, T: powers of 1024).
    #[arg(long, value_name = "SIZE", default_value = "32G", value_parser = parse_size)]
    pub max_decompressed_size: u64,
    /// No summary line and no progress bar (errors and `verify`'s list of
    /// remaining secrets are still printed).
    #[arg(short, long)]
    pub quiet: bool,
    #[command(flatten)]
    pub sources: RuleSources,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Json,
    Jsonl,
    Text,
    /// SARIF 2.1.0, for code-scanning tools.
    Sarif,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum MinConfidence {
    Low,
    Medium,
    High,
}

fn parse_shard(s: &str) -> Result<(usize, usize), String> {
    let (i, n) = s
        .split_once('/')
        .ok_or_else(|| format!("`{s}`: expected I/N, e.g. 0/4"))?;
    let i: usize = i
        .trim()
        .parse()
        .map_err(|_| format!("`{s}`: I is not a number"))?;
    let n: usize = n
        .trim()
        .parse()
        .map_err(|_| format!("`{s}`: N is not a number"))?;
    if n == 0 || i >= n {
        return Err(format!("`{s}`: need 0 <= I < N"));
    }
    Ok((i, n))
}

fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let (digits, shift) = match t.char_indices().last() {
        Some((at, c)) if c.is_ascii_alphabetic() => {
            let shift = match c.to_ascii_uppercase() {
                'K' => 10,
                'M' => 20,
                'G' => 30,
                'T' => 40,
                _ => return Err(format!("`{s}`: unknown suffix (use K, M, G or T)")),
            };
            (&t[..at], shift)
        }
        _ => (t, 0),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("`{s}`: not a size (e.g. 512M, 32G)"))?;
    n.checked_mul(1u64 << shift)
        .ok_or_else(|| format!("`{s}`: too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_shards_parse() {
        assert_eq!(parse_size("32G"), Ok(32 << 30));
        assert_eq!(parse_size("512m"), Ok(512 << 20));
        assert_eq!(parse_size("1000"), Ok(1000));
        assert!(parse_size("5X").is_err());
        assert!(parse_size("99999999999T").is_err());
        assert_eq!(parse_shard("2/8"), Ok((2, 8)));
        assert!(parse_shard("8/8").is_err());
        assert!(parse_shard("0/0").is_err());
        assert!(parse_shard("1").is_err());
    }

    #[test]
    fn grammar_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
