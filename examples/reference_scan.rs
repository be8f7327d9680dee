//! The reference pass of `scripts/bench.sh`: how fast a plain leftmost-first
//! Aho-Corasick search of literal keywords runs over the same mapped file,
//! one thread per core, so that dumpscrub's throughput can be put next to
//! the speed of "just finding the keywords".
//!
//! ```text
//! cargo run --release --example reference_scan -- FILE [--set anchors|kw52|sha256] [--threads N]
//! ```
//!
//! Keyword sets:
//! - `anchors` (default): every distinct literal anchor of the built-in
//!   rules, in ASCII and in UTF-16LE: exactly the literals dumpscrub's text
//!   detector searches for, in one automaton (the crate picks its kind).
//! - `kw52`: the issue's "52 keywords" style: the first 26 distinct ASCII
//!   anchors of at least four bytes, in rule order, plus their UTF-16LE
//!   forms. Few enough for the crate's SIMD (Teddy) prefilter, so this is
//!   the fast end of what a keyword pass can do.
//!
//! - `sha256`: not a keyword set: SHA-256 of the whole file on one thread
//!   (the report's input hash), to see what that costs on this CPU.
//!
//! Prints one line: set, patterns, threads, seconds, MB/s, hits. The file is
//! cut into 4 MiB chunks that read (longest keyword − 1) bytes past their end
//! and count only hits starting inside them, as dumpscrub's chunks do.

use std::fs::File;
use std::time::Instant;

use aho_corasick::{AhoCorasick, MatchKind};
use anyhow::{bail, Context, Result};
use rayon::prelude::*;

const CHUNK: usize = 4 << 20;

fn keywords(set: &str) -> Result<Vec<Vec<u8>>> {
    let mut ascii: Vec<&str> = Vec::new();
    for r in dumpscrub::rules::BUILTIN_RULES {
        for &a in r.anchors {
            if !ascii.contains(&a) {
                ascii.push(a);
            }
        }
    }
    let ascii: Vec<&str> = match set {
        "anchors" => ascii,
        "kw52" => ascii
            .into_iter()
            .filter(|a| a.len() >= 4)
            .take(26)
            .collect(),
        _ => bail!("unknown keyword set {set} (anchors, kw52)"),
    };
    let utf16 = ascii
        .iter()
        .map(|a| a.bytes().flat_map(|b| [b, 0]).collect::<Vec<u8>>());
    Ok(ascii
        .iter()
        .map(|a| a.as_bytes().to_vec())
        .chain(utf16)
        .collect())
}

fn run() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let mut path = None;
    let mut set = "anchors".to_string();
    let mut threads = 0usize;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--set" => set = args.next().context("--set needs a value")?,
            "--threads" => {
                threads = args
                    .next()
                    .context("--threads needs a value")?
                    .parse()
                    .context("--threads: not a number")?
            }
            _ if path.is_none() => path = Some(a),
            _ => bail!("usage: reference_scan FILE [--set anchors|kw52|sha256] [--threads N]"),
        }
    }
    let path =
        path.context("usage: reference_scan FILE [--set anchors|kw52|sha256] [--threads N]")?;
    if threads > 0 {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build_global()
            .context("thread pool")?;
    }
    let file = File::open(&path).with_context(|| format!("{path}: cannot open"))?;
    // SAFETY: read-only map of a benchmark input nobody modifies meanwhile.
    let map =
        unsafe { memmap2::Mmap::map(&file) }.with_context(|| format!("{path}: cannot map"))?;
    let data = &map[..];

    if set == "sha256" {
        use sha2::Digest;
        let started = Instant::now();
        let digest = sha2::Sha256::digest(data);
        let secs = started.elapsed().as_secs_f64();
        println!(
            "sha256\t-\t1\t{secs:.3}\t{:.0}\t{:02x}{:02x}{:02x}{:02x}",
            data.len() as f64 / 1e6 / secs,
            digest[0],
            digest[1],
            digest[2],
            digest[3]
        );
        return Ok(());
    }
    let needles = keywords(&set)?;
    let longest = needles.iter().map(Vec::len).max().unwrap_or(1);
    let ac = AhoCorasick::builder()
        .match_kind(MatchKind::LeftmostFirst)
        .build(&needles)
        .context("building the automaton")?;

    let started = Instant::now();
    let starts: Vec<usize> = (0..data.len()).step_by(CHUNK).collect();
    let hits: usize = starts
        .par_iter()
        .map(|&s| {
            let own_end = (s + CHUNK).min(data.len());
            let end = (own_end + longest - 1).min(data.len());
            ac.find_iter(&data[s..end])
                .take_while(|m| s + m.start() < own_end)
                .count()
        })
        .sum();
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{set}\t{}\t{}\t{secs:.3}\t{:.0}\t{hits}",
        needles.len(),
        rayon::current_num_threads(),
        data.len() as f64 / 1e6 / secs
    );
    Ok(())
}

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("reference_scan: error: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}
