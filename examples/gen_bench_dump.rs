//! Writes a large, realistic, fully deterministic minidump for benchmarking
//! `dumpscrub` (see `scripts/bench.sh` and `docs/benchmarks.md`).
//!
//! ```text
//! cargo run --release --example gen_bench_dump -- OUT.dmp [--size-mib N] [--seed S] [--check]
//! ```
//!
//! The dump is an x86-64 Linux process: system info, three threads whose
//! stacks are memory regions, a module list, the command line and
//! environment, and a Memory64List holding the bulk as heap-like memory.
//! A few hundred secrets of eleven kinds are planted in memory (ASCII and
//! UTF-16LE, some at odd offsets, a few across region boundaries) and in the
//! environment and command line. Where they are (never what they are) goes
//! to `OUT.dmp.planted.json`, so a benchmark can tell how many were found.
//!
//! The same seed and size always give the same bytes: every region draws
//! from its own generator derived from the seed, so regions can be built in
//! parallel without the result depending on scheduling.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, ensure, Context, Result};
use rayon::prelude::*;

const KIB: u64 = 1 << 10;
const MIB: u64 = 1 << 20;
const PAGE: u64 = 4096;

const STREAM_THREAD_LIST: u32 = 3;
const STREAM_MODULE_LIST: u32 = 4;
const STREAM_EXCEPTION: u32 = 6;
const STREAM_SYSTEM_INFO: u32 = 7;
const STREAM_MEMORY64_LIST: u32 = 9;
const STREAM_LINUX_CMDLINE: u32 = 0x4767_0006;
const STREAM_LINUX_ENVIRON: u32 = 0x4767_0007;

const CONTEXT_AMD64_SIZE: usize = 1232;
const THREAD_SIZE: usize = 48;
const MODULE_SIZE: usize = 108;

/// splitmix64: tiny, fast, and good enough that the filler does not show
/// patterns a detector could latch onto.
#[derive(Clone)]
struct Rng(u64);

impl Rng {
    /// An independent generator for one consumer (a region, a secret), so
    /// that adding draws in one place does not shift every byte after it.
    fn derive(seed: u64, stream: u64) -> Self {
        let mut r = Rng(seed ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03));
        Rng(r.next())
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        ((self.next() as u128 * n as u128) >> 64) as u64
    }

    /// Inclusive range.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len() as u64) as usize]
    }

    /// Sizes in real heaps are roughly log-uniform: many small, few large.
    fn log_uniform(&mut self, lo: u64, hi: u64) -> u64 {
        let u = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        let v = ((lo as f64).ln() + u * ((hi as f64).ln() - (lo as f64).ln())).exp();
        (v as u64).clamp(lo, hi)
    }

    fn fill(&mut self, buf: &mut [u8]) {
        let mut chunks = buf.chunks_exact_mut(8);
        for c in &mut chunks {
            c.copy_from_slice(&self.next().to_le_bytes());
        }
        let rest = chunks.into_remainder();
        let last = self.next().to_le_bytes();
        let n = rest.len();
        rest.copy_from_slice(&last[..n]);
    }

    fn string(&mut self, alphabet: &[u8], n: usize) -> String {
        (0..n).map(|_| *self.pick(alphabet) as char).collect()
    }
}

const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const BASE32_UPPER: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const URLSAFE: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const BASE64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const DIGITS: &[u8] = b"0123456789";
const HEX: &[u8] = b"0123456789abcdef";

fn base64url(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len() * 4 / 3 + 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..=chunk.len() {
            out.push(URLSAFE[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

fn utf16le(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(|u| u.to_le_bytes()).collect()
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Kind {
    GithubClassic,
    GithubFineGrained,
    AwsAccessKey,
    GitlabPat,
    SlackBot,
    StripeLive,
    GoogleApiKey,
    Jwt,
    PemRsa,
    UrlPassword,
    Bearer,
}

const KINDS: [Kind; 11] = [
    Kind::GithubClassic,
    Kind::GithubFineGrained,
    Kind::AwsAccessKey,
    Kind::GitlabPat,
    Kind::SlackBot,
    Kind::StripeLive,
    Kind::GoogleApiKey,
    Kind::Jwt,
    Kind::PemRsa,
    Kind::UrlPassword,
    Kind::Bearer,
];

impl Kind {
    fn id(self) -> &'static str {
        match self {
            Kind::GithubClassic => "github_classic_pat",
            Kind::GithubFineGrained => "github_fine_grained_pat",
            Kind::AwsAccessKey => "aws_access_key_id",
            Kind::GitlabPat => "gitlab_pat",
            Kind::SlackBot => "slack_bot_token",
            Kind::StripeLive => "stripe_live_secret_key",
            Kind::GoogleApiKey => "google_api_key",
            Kind::Jwt => "jwt",
            Kind::PemRsa => "pem_rsa_private_key",
            Kind::UrlPassword => "url_password",
            Kind::Bearer => "bearer_token",
        }
    }

    /// A fresh secret of this kind, as text with some surrounding context,
    /// plus the byte span of the part a scrubber must remove.
    fn make(self, rng: &mut Rng) -> (String, usize, usize) {
        let token = match self {
            Kind::GithubClassic => format!("ghp_{}", rng.string(ALNUM, 36)),
            Kind::GithubFineGrained => {
                format!(
                    "github_pat_{}_{}",
                    rng.string(ALNUM, 22),
                    rng.string(ALNUM, 59)
                )
            }
            Kind::AwsAccessKey => format!("AKIA{}", rng.string(BASE32_UPPER, 16)),
            Kind::GitlabPat => format!("glpat-{}", rng.string(URLSAFE, 20)),
            Kind::SlackBot => {
                let a = rng.range(10, 13) as usize;
                let b = rng.range(10, 13) as usize;
                format!(
                    "xoxb-{}-{}-{}",
                    rng.string(DIGITS, a),
                    rng.string(DIGITS, b),
                    rng.string(ALNUM, 24)
                )
            }
            Kind::StripeLive => format!("sk_live_{}", rng.string(ALNUM, 24)),
            Kind::GoogleApiKey => format!("AIza{}", rng.string(URLSAFE, 35)),
            Kind::Jwt => {
                let header = base64url(br#"{"alg":"HS256","typ":"JWT"}"#);
                let payload = format!(
                    r#"{{"sub":"{}","name":"{}","iat":{}}}"#,
                    rng.range(100_000, 99_999_999),
                    rng.pick(FIRST_NAMES),
                    rng.range(1_600_000_000, 1_750_000_000)
                );
                let mut sig = [0u8; 32];
                rng.fill(&mut sig);
                format!(
                    "{header}.{}.{}",
                    base64url(payload.as_bytes()),
                    base64url(&sig)
                )
            }
            Kind::PemRsa => {
                let begin = "-----BEGIN RSA PRIVATE KEY-----\n";
                let lines = rng.range(23, 27);
                let mut body = String::new();
                for i in 0..lines {
                    let n = if i + 1 == lines {
                        rng.range(20, 64) as usize
                    } else {
                        64
                    };
                    body.push_str(&rng.string(BASE64, n));
                    body.push('\n');
                }
                let text = format!("{begin}{body}-----END RSA PRIVATE KEY-----\n");
                return (text, begin.len(), body.len());
            }
            Kind::UrlPassword => {
                let pw = rng.string(ALNUM, 16);
                let text = format!("https://svc:{pw}@db.internal/x");
                return (text, "https://svc:".len(), pw.len());
            }
            Kind::Bearer => {
                let t = rng.string(ALNUM, 40);
                let text = format!("Authorization: Bearer {t}\r\n");
                return (text, "Authorization: Bearer ".len(), t.len());
            }
        };
        // Tokens in a heap sit in config structs, JSON bodies and env copies.
        let (pre, post) = *rng.pick(&[
            ("", ""),
            ("", ""),
            ("{\"token\":\"", "\"}"),
            ("export SERVICE_TOKEN=", "\n"),
            ("value: ", "\n"),
            ("'", "'"),
        ]);
        (format!("{pre}{token}{post}"), pre.len(), token.len())
    }
}

/// One planted secret: the bytes written (context included, NUL-delimited
/// like a C string) and where the sensitive part lies within them.
struct Plant {
    kind: Kind,
    utf16: bool,
    /// Offset of `bytes` within the concatenated memory data.
    global: u64,
    bytes: Vec<u8>,
    token_off: u64,
    token_len: u64,
    straddles: bool,
}

impl Plant {
    fn new(kind: Kind, utf16: bool, rng: &mut Rng) -> Plant {
        let (text, off, len) = kind.make(rng);
        let (bytes, token_off, token_len) = if utf16 {
            let mut b = vec![0, 0];
            b.extend(utf16le(&text));
            b.extend([0, 0]);
            (b, 2 + 2 * off, 2 * len)
        } else {
            let mut b = vec![0];
            b.extend(text.as_bytes());
            b.push(0);
            (b, 1 + off, len)
        };
        Plant {
            kind,
            utf16,
            global: 0,
            bytes,
            token_off: token_off as u64,
            token_len: token_len as u64,
            straddles: false,
        }
    }

    fn end(&self) -> u64 {
        self.global + self.bytes.len() as u64
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Flavor {
    Stack,
    Heap,
    Image,
}

struct Region {
    base: u64,
    size: u64,
    flavor: Flavor,
    /// Offset of this region's bytes within the memory data.
    global: u64,
}

struct Module {
    base: u64,
    size: u32,
    name: &'static str,
}

const MODULE_NAMES: &[&str] = &[
    "/opt/payments/bin/payments-server",
    "/usr/lib/x86_64-linux-gnu/libc.so.6",
    "/usr/lib/x86_64-linux-gnu/libssl.so.3",
    "/usr/lib/x86_64-linux-gnu/libcrypto.so.3",
    "/usr/lib/x86_64-linux-gnu/libz.so.1.2.13",
    "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
];

/// Stacks come first in the file so their 32-bit RVAs in the thread list
/// stay valid however large the dump grows; the rest is in address order.
const STACKS: [(u64, u64); 3] = [
    (0x7ffd_4c2e_0000, 128 * KIB),
    (0x7ffd_6a10_0000, 256 * KIB),
    (0x7ffd_7b00_0000, 64 * KIB),
];
const THREAD_IDS: [u32; 3] = [48211, 48219, 48230];

fn plan_regions(rng: &mut Rng, memory_target: u64) -> (Vec<Region>, Vec<Module>) {
    let mut regions: Vec<Region> = Vec::new();
    let mut total = 0u64;
    let mut push = |regions: &mut Vec<Region>, base: u64, size: u64, flavor: Flavor| {
        regions.push(Region {
            base,
            size,
            flavor,
            global: total,
        });
        total += size;
    };
    for &(base, size) in &STACKS {
        push(&mut regions, base, size, Flavor::Stack);
    }
    let region_size = |rng: &mut Rng| rng.log_uniform(64 * KIB, 4 * MIB) / PAGE * PAGE;

    // The brk heap: one long span that the dump writer split by protection,
    // hence mostly contiguous.
    let mut addr = 0x55d4_c3a2_0000u64;
    let heap_target = memory_target * 35 / 100;
    while total_of(&regions) < heap_target {
        let size = region_size(rng);
        push(&mut regions, addr, size, Flavor::Heap);
        addr += size;
        if !rng.chance(55) {
            addr += rng.range(1, 4096) * PAGE;
        }
    }

    let mut modules = Vec::new();
    let mut addr = 0x7f3a_1c40_0000u64;
    for &name in MODULE_NAMES {
        let text = rng.range(64, 512) * PAGE;
        let image = text + rng.range(16, 256) * PAGE;
        modules.push(Module {
            base: addr,
            size: image as u32,
            name,
        });
        push(&mut regions, addr, text, Flavor::Image);
        addr = (addr + image + 2 * MIB) & !(2 * MIB - 1);
    }

    // Anonymous mappings (thread arenas, caches) up to the target size.
    while total_of(&regions) < memory_target {
        let size = region_size(rng)
            .min(memory_target - total_of(&regions))
            .max(PAGE);
        push(&mut regions, addr, size, Flavor::Heap);
        addr += size;
        if !rng.chance(30) {
            addr += rng.range(1, 4096) * PAGE;
        }
    }
    (regions, modules)
}

fn total_of(regions: &[Region]) -> u64 {
    regions.last().map_or(0, |r| r.global + r.size)
}

/// Places the secrets: every (kind, encoding) pair `per_kind` times at
/// random spots, one in four moved to an odd file offset (prefixes of odd
/// length make some others odd too), plus a few across the boundary of two
/// address-contiguous regions, which a scanner working region by region
/// would miss.
fn place_plants(seed: u64, regions: &[Region], base_rva: u64, per_kind: usize) -> Vec<Plant> {
    let mut rng = Rng::derive(seed, 0x0050_4c41_4e54);
    let total = total_of(regions);
    let mut placed: Vec<Plant> = Vec::new();
    let overlaps = |placed: &[Plant], start: u64, end: u64| {
        placed
            .iter()
            .any(|p| start < p.end() + 64 && p.global < end + 64)
    };
    let mut serial = 0u64;
    let mut next_plant = |kind: Kind, utf16: bool| {
        serial += 1;
        Plant::new(
            kind,
            utf16,
            &mut Rng::derive(seed, 0x5345_4352_4554_0000 + serial),
        )
    };

    let contiguous: Vec<usize> = (1..regions.len())
        .filter(|&i| {
            let (a, b) = (&regions[i - 1], &regions[i]);
            a.base + a.size == b.base && a.flavor == b.flavor
        })
        .collect();
    for j in 0..contiguous.len().min(8) {
        let kind = KINDS[(j * 3) % KINDS.len()];
        let mut p = next_plant(kind, j % 2 == 1);
        let boundary = regions[contiguous[(j * 7919) % contiguous.len()]].global;
        let start = boundary - p.token_off - p.token_len / 2;
        if overlaps(&placed, start, start + p.bytes.len() as u64) {
            continue;
        }
        p.global = start;
        p.straddles = true;
        placed.push(p);
    }

    for &kind in &KINDS {
        for utf16 in [false, true] {
            for n in 0..per_kind {
                let mut p = next_plant(kind, utf16);
                let len = p.bytes.len() as u64;
                let odd = n % 4 == 3;
                for _attempt in 0..1000 {
                    let g = rng.below(total - len);
                    let r = &regions[regions.partition_point(|r| r.global + r.size <= g)];
                    let r_end = r.global + r.size;
                    if r.size < len + 32 {
                        continue;
                    }
                    // Heap strings start 16-aligned (after the delimiter that
                    // ends the previous one); some copies do not.
                    let lead = if utf16 { 2 } else { 1 };
                    let aligned = (g.max(r.global + 16) + 15) & !15;
                    let mut start = aligned - lead;
                    if odd {
                        start += 1;
                        if (base_rva + start + p.token_off) % 2 == 0 {
                            start += 1;
                        }
                    }
                    if start + len > r_end || overlaps(&placed, start, start + len) {
                        continue;
                    }
                    p.global = start;
                    placed.push(p);
                    break;
                }
            }
        }
    }
    placed.sort_by_key(|p| p.global);
    placed
}

// Filler vocabulary. No word here looks like a credential keyword, so the
// only findings a correct scanner makes are the planted ones.
#[rustfmt::skip]
const WORDS: &[&str] = &[
    "the", "of", "and", "to", "in", "is", "was", "for", "on", "with", "as", "by", "at", "from",
    "this", "that", "which", "be", "are", "have", "had", "not", "but", "all", "were", "when",
    "we", "there", "can", "an", "your", "their", "if", "will", "each", "about", "how", "up",
    "out", "them", "then", "she", "many", "some", "so", "these", "would", "other", "into",
    "has", "more", "her", "two", "like", "him", "see", "time", "could", "no", "make", "than",
    "first", "been", "its", "who", "now", "people", "my", "made", "over", "did", "down", "only",
    "way", "find", "use", "may", "water", "long", "little", "very", "after", "words", "called",
    "just", "where", "most", "know", "order", "payment", "customer", "invoice", "shipment",
    "warehouse", "report", "buffer", "connection", "request", "response", "server", "client",
    "queue", "worker", "thread", "memory", "cache", "page", "record", "table", "index", "batch",
    "window", "item", "value", "number", "account", "balance", "transfer", "currency", "region",
    "network",
];
#[rustfmt::skip]
const FIRST_NAMES: &[&str] = &[
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy",
    "mallory", "niaj", "olivia", "peggy", "rupert", "sybil", "trent", "victor", "walter",
];
const COMPONENTS: &[&str] = &[
    "http",
    "db-pool",
    "scheduler",
    "cache",
    "grpc",
    "ledger",
    "billing",
    "mailer",
    "metrics",
];
const MESSAGES: &[&str] = &[
    "request completed",
    "connection established",
    "retrying after timeout",
    "cache miss",
    "flushed batch",
    "worker started",
    "handshake finished",
    "slow query",
    "rebalanced partitions",
    "upstream returned error",
];
const LEVELS: &[&str] = &["INFO ", "DEBUG", "WARN ", "ERROR", "TRACE"];
const PATHS: &[&str] = &[
    "/api/v1/orders",
    "/api/v1/customers",
    "/api/v2/invoices",
    "/healthz",
    "/metrics",
    "/api/v1/payments/refunds",
];
const WIN_STRINGS: &[&str] = &[
    "C:\\Program Files\\Payments\\server.exe",
    "C:\\Users\\alice\\AppData\\Local\\Temp\\upload.tmp",
    "Microsoft.Windows.Common-Controls",
    "SOFTWARE\\Microsoft\\Windows\\CurrentVersion",
    "Segoe UI",
    "\\Device\\HarddiskVolume3\\Windows\\System32\\ntdll.dll",
    "en-US",
    "Connection: keep-alive",
];

fn push_words(rng: &mut Rng, out: &mut Vec<u8>, n: u64) {
    for i in 0..n {
        if i > 0 {
            out.push(b' ');
        }
        out.extend_from_slice(rng.pick(WORDS).as_bytes());
    }
}

fn push_num(out: &mut Vec<u8>, n: u64) {
    out.extend_from_slice(n.to_string().as_bytes());
}

fn push_timestamp(rng: &mut Rng, out: &mut Vec<u8>) {
    let s = format!(
        "2024-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        rng.range(1, 12),
        rng.range(1, 28),
        rng.below(24),
        rng.below(60),
        rng.below(60),
        rng.below(1000)
    );
    out.extend_from_slice(s.as_bytes());
}

/// A heap string ends at a NUL and the next allocation starts 16-aligned.
fn end_string(rng: &mut Rng, out: &mut Vec<u8>) {
    if rng.chance(40) {
        out.push(0);
        while out.len() % 16 != 0 {
            out.push(0);
        }
    }
}

fn gen_text(rng: &mut Rng, out: &mut Vec<u8>, target: usize) {
    while out.len() < target {
        match rng.below(10) {
            0..=4 => {
                push_timestamp(rng, out);
                out.push(b' ');
                out.extend_from_slice(rng.pick(LEVELS).as_bytes());
                out.extend_from_slice(b" [");
                out.extend_from_slice(rng.pick(COMPONENTS).as_bytes());
                out.extend_from_slice(b"-");
                push_num(out, rng.below(16));
                out.extend_from_slice(b"] ");
                out.extend_from_slice(rng.pick(MESSAGES).as_bytes());
                out.extend_from_slice(b" path=");
                out.extend_from_slice(rng.pick(PATHS).as_bytes());
                out.push(b'/');
                push_num(out, rng.below(1_000_000));
                out.extend_from_slice(b" status=");
                out.extend_from_slice(
                    rng.pick(&["200", "201", "204", "404", "500", "503"])
                        .as_bytes(),
                );
                out.extend_from_slice(b" duration_ms=");
                push_num(out, rng.log_uniform(1, 5000));
                if rng.chance(50) {
                    out.extend_from_slice(b" trace_id=");
                    let t = rng.string(HEX, 32);
                    out.extend_from_slice(t.as_bytes());
                }
                out.push(b'\n');
            }
            5..=8 => {
                let n = rng.range(6, 18);
                let start = out.len();
                push_words(rng, out, n);
                out[start] = out[start].to_ascii_uppercase();
                out.extend_from_slice(b".\n");
            }
            _ => {
                out.extend_from_slice(b"/var/lib/payments/");
                push_words(rng, out, 1);
                out.push(b'/');
                push_num(out, rng.below(100_000));
                out.extend_from_slice(rng.pick(&[".log", ".json", ".db", ".tmp"]).as_bytes());
            }
        }
        end_string(rng, out);
    }
}

fn gen_json(rng: &mut Rng, out: &mut Vec<u8>, target: usize) {
    while out.len() < target {
        let first = rng.pick(FIRST_NAMES);
        let s = format!(
            r#"{{"id":{},"uuid":"{}-{}-4{}-a{}-{}","customer":"{}","email":"{}@example.com","amount":{}.{:02},"currency":"{}","items":[{},{},{}],"active":{},"created_at":""#,
            rng.below(10_000_000),
            rng.string(HEX, 8),
            rng.string(HEX, 4),
            rng.string(HEX, 3),
            rng.string(HEX, 3),
            rng.string(HEX, 12),
            first,
            first,
            rng.below(100_000),
            rng.below(100),
            rng.pick(&["EUR", "USD", "GBP", "JPY"]),
            rng.below(1000),
            rng.below(1000),
            rng.below(1000),
            rng.chance(50),
        );
        out.extend_from_slice(s.as_bytes());
        push_timestamp(rng, out);
        out.extend_from_slice(b"\",\"note\":\"");
        let n = rng.range(2, 10);
        push_words(rng, out, n);
        out.extend_from_slice(b"\"}");
        end_string(rng, out);
    }
}

fn gen_utf16(rng: &mut Rng, out: &mut Vec<u8>, target: usize) {
    let mut s = String::new();
    while out.len() < target {
        s.clear();
        if rng.chance(50) {
            let w: &&str = rng.pick(WIN_STRINGS);
            s.push_str(w);
        } else {
            let n = rng.range(3, 12);
            for i in 0..n {
                if i > 0 {
                    s.push(' ');
                }
                let w: &&str = rng.pick(WORDS);
                s.push_str(w);
            }
        }
        out.extend(s.encode_utf16().flat_map(|u| u.to_le_bytes()));
        out.extend_from_slice(&[0, 0]);
        if rng.chance(50) {
            while out.len() % 16 != 0 {
                out.push(0);
            }
        }
    }
}

/// Words of a heap or stack: pointers into the libraries and the heap,
/// malloc chunk headers, small integers and zeros.
fn gen_pointers(rng: &mut Rng, out: &mut Vec<u8>, target: usize, stack: bool) {
    while out.len() < target {
        let v: u64 = match rng.below(100) {
            0..=34 => 0x0000_7f00_0000_0000 | (rng.below(0xff_ffff_ffff) & !7),
            35..=49 if stack => 0x0000_7ffd_4c2e_0000 + (rng.below(128 * KIB) & !15),
            35..=49 => 0x0000_55d4_c3a2_0000 + (rng.below(1 << 30) & !15),
            50..=64 => rng.below(4096),
            65..=79 => 0,
            80..=84 => (rng.range(2, 64) * 16) | 1,
            85..=92 => (rng.range(1, 100_000) as f64 / 8.0).to_bits(),
            _ => rng.next(),
        };
        out.extend_from_slice(&v.to_le_bytes());
    }
}

/// x86-64 functions: prologue, a body of common instruction shapes with
/// random operands, epilogue, and int3/nop padding to 16 bytes.
fn gen_code(rng: &mut Rng, out: &mut Vec<u8>, target: usize) {
    while out.len() < target {
        out.extend_from_slice(&[0x55, 0x48, 0x89, 0xe5]);
        for r in [0x57u8, 0x56, 0x55, 0x54] {
            if rng.chance(40) {
                out.extend_from_slice(&[0x41, r]);
            }
        }
        out.extend_from_slice(&[0x48, 0x83, 0xec, (rng.range(1, 15) * 8) as u8]);
        for _ in 0..rng.range(5, 40) {
            let imm8 = (rng.below(32) * 8) as u8;
            let rel = (rng.below(0x20000) as i32 - 0x10000).to_le_bytes();
            match rng.below(10) {
                0 => out.extend_from_slice(&[0x48, 0x8b, 0x45, imm8.wrapping_neg()]),
                1 => out.extend_from_slice(&[0x48, 0x89, 0x7d, imm8.wrapping_neg()]),
                2 => {
                    out.push(0xe8);
                    out.extend_from_slice(&rel);
                }
                3 => {
                    out.extend_from_slice(&[0x48, 0x8d, 0x3d]);
                    out.extend_from_slice(&rel);
                }
                4 => out.extend_from_slice(&[*rng.pick(&[0x74u8, 0x75, 0x7e, 0xeb]), imm8]),
                5 => out.extend_from_slice(&[0x31, 0xc0]),
                6 => out.extend_from_slice(&[0x48, 0x85, 0xc0]),
                7 => out.extend_from_slice(&[0x89, 0xc7]),
                8 => {
                    out.extend_from_slice(&[0x0f, 0x84]);
                    out.extend_from_slice(&rel);
                }
                _ => out.extend_from_slice(&[0x48, 0x8b, 0x04, 0x24]),
            }
        }
        out.extend_from_slice(&[0x48, 0x83, 0xc4, 0x28, 0x5b, 0x5d, 0xc3]);
        let pad = if rng.chance(50) { 0xcc } else { 0x90 };
        while out.len() % 16 != 0 {
            out.push(pad);
        }
    }
}

#[derive(Clone, Copy)]
enum Block {
    Zeros,
    Text,
    Json,
    Utf16,
    Pointers,
    Code,
    Random,
    Compressed,
}

/// Share of blocks by kind, per flavor of region. Zeros are set below the
/// ~30% target because UTF-16, pointers and code carry zeros of their own.
fn weights(flavor: Flavor) -> &'static [(Block, u64)] {
    match flavor {
        Flavor::Heap => &[
            (Block::Zeros, 18),
            (Block::Text, 13),
            (Block::Json, 8),
            (Block::Utf16, 7),
            (Block::Pointers, 16),
            (Block::Code, 4),
            (Block::Random, 10),
            (Block::Compressed, 20),
        ],
        Flavor::Stack => &[
            (Block::Zeros, 25),
            (Block::Pointers, 55),
            (Block::Text, 8),
            (Block::Utf16, 4),
            (Block::Random, 8),
        ],
        Flavor::Image => &[
            (Block::Code, 60),
            (Block::Zeros, 12),
            (Block::Text, 12),
            (Block::Pointers, 10),
            (Block::Utf16, 2),
            (Block::Random, 4),
        ],
    }
}

fn gen_region(seed: u64, index: usize, region: &Region, plants: &[Plant]) -> Vec<u8> {
    let mut rng = Rng::derive(seed, 0x5245_4749_4f4e_0000 + index as u64);
    let len = region.size as usize;
    let mut out: Vec<u8> = Vec::with_capacity(len + 64 * KIB as usize);
    let table = weights(region.flavor);
    let sum: u64 = table.iter().map(|w| w.1).sum();
    while out.len() < len {
        let mut x = rng.below(sum);
        let block = table
            .iter()
            .find(|w| {
                if x < w.1 {
                    true
                } else {
                    x -= w.1;
                    false
                }
            })
            .expect("weights cover the draw")
            .0;
        let n = rng.log_uniform(256, 64 * KIB) as usize;
        let target = (out.len() + n).min(len);
        match block {
            Block::Zeros => out.resize(target, 0),
            Block::Text => gen_text(&mut rng, &mut out, target),
            Block::Json => gen_json(&mut rng, &mut out, target),
            Block::Utf16 => gen_utf16(&mut rng, &mut out, target),
            Block::Pointers => {
                gen_pointers(&mut rng, &mut out, target, region.flavor == Flavor::Stack)
            }
            Block::Code => gen_code(&mut rng, &mut out, target),
            Block::Random => {
                let start = out.len();
                out.resize(target, 0);
                rng.fill(&mut out[start..]);
            }
            Block::Compressed => {
                // A zlib stream: a real header, then data that only an
                // inflater could tell from uniform random bytes.
                let start = out.len();
                out.resize(target, 0);
                rng.fill(&mut out[start..]);
                if target - start >= 2 {
                    out[start] = 0x78;
                    out[start + 1] = 0x9c;
                }
            }
        }
        out.truncate(target);
    }

    let (gs, ge) = (region.global, region.global + region.size);
    let first = plants.partition_point(|p| p.end() <= gs);
    for p in plants[first..].iter().take_while(|p| p.global < ge) {
        let from = p.global.max(gs);
        let to = p.end().min(ge);
        let src = &p.bytes[(from - p.global) as usize..(to - p.global) as usize];
        out[(from - gs) as usize..(to - gs) as usize].copy_from_slice(src);
    }
    out
}

fn put16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_le_bytes());
}
fn put32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}
fn put64(b: &mut [u8], at: usize, v: u64) {
    b[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

/// Reserves `len` zeroed bytes, aligned to `align`, and returns their RVA.
fn reserve(head: &mut Vec<u8>, len: usize, align: usize) -> usize {
    while head.len() % align != 0 {
        head.push(0);
    }
    let at = head.len();
    head.resize(at + len, 0);
    at
}

fn minidump_string(head: &mut Vec<u8>, s: &str) -> u32 {
    let units = utf16le(s);
    let at = reserve(head, 4 + units.len() + 2, 4);
    put32(head, at, units.len() as u32);
    head[at + 4..at + 4 + units.len()].copy_from_slice(&units);
    at as u32
}

fn amd64_context(rng: &mut Rng, rsp: u64, rip: u64) -> Vec<u8> {
    let mut c = vec![0u8; CONTEXT_AMD64_SIZE];
    // CONTEXT_AMD64 | CONTROL | INTEGER | FLOATING_POINT.
    put32(&mut c, 48, 0x0010_000b);
    put32(&mut c, 52, 0x1f80);
    put16(&mut c, 56, 0x33);
    put16(&mut c, 66, 0x2b);
    put32(&mut c, 68, 0x246);
    for reg in 0..16 {
        let v = match reg {
            4 => rsp,
            5 => rsp + 0x40 + rng.below(0x400) * 8,
            0 | 1 => 0x0000_55d4_c3a2_0000 + (rng.below(1 << 28) & !15),
            _ => rng.below(0x1_0000),
        };
        put64(&mut c, 120 + reg * 8, v);
    }
    put64(&mut c, 248, rip);
    put16(&mut c, 256, 0x037f);
    put32(&mut c, 256 + 24, 0x1f80);
    c
}

/// Secrets outside memory: the command line and environment are where a
/// crashed service's credentials most often end up in a real dump.
struct TextPlant {
    kind: Kind,
    stream: &'static str,
    offset: u64,
    length: u64,
}

struct Built {
    head: Vec<u8>,
    base_rva: u64,
    text_plants: Vec<TextPlant>,
}

fn build_head(seed: u64, regions: &[Region], modules: &[Module]) -> Built {
    let mut rng = Rng::derive(seed, 0x4845_4144);
    let streams = 7usize;
    let mut head = vec![0u8; 32];
    let dir = reserve(&mut head, streams * 12, 4);
    let mut entries: Vec<(u32, u32, u32)> = Vec::new();

    let sys = reserve(&mut head, 56, 4);
    put16(&mut head, sys, 9);
    put16(&mut head, sys + 2, 6);
    put16(&mut head, sys + 4, 0x5504);
    head[sys + 6] = 8;
    put32(&mut head, sys + 8, 5);
    put32(&mut head, sys + 12, 15);
    put32(&mut head, sys + 20, 0x8201);
    head[sys + 32..sys + 44].copy_from_slice(b"GenuineIntel");
    put32(&mut head, sys + 44, 0x0009_06ea);
    put32(&mut head, sys + 48, 0xbfeb_fbff);
    let csd = minidump_string(
        &mut head,
        "Linux 5.15.0-105-generic #115-Ubuntu SMP Mon Apr 15 09:52:04 UTC 2024 x86_64",
    );
    put32(&mut head, sys + 24, csd);
    entries.push((STREAM_SYSTEM_INFO, 56, sys as u32));

    let code_start = modules[0].base + 0x1000;
    let rip = code_start + rng.below(0x10000);
    let tl = reserve(&mut head, 4 + THREAD_SIZE * STACKS.len(), 4);
    put32(&mut head, tl, STACKS.len() as u32);
    let mut first_rsp = 0;
    for (i, &(base, size)) in STACKS.iter().enumerate() {
        let rsp = base + size - 0x2000 - (rng.below(0x400) * 16);
        if i == 0 {
            first_rsp = rsp;
        }
        let pc = if i == 0 {
            rip
        } else {
            code_start + rng.below(0x40000)
        };
        let ctx = amd64_context(&mut rng, rsp, pc);
        let ctx_at = reserve(&mut head, CONTEXT_AMD64_SIZE, 16);
        head[ctx_at..ctx_at + CONTEXT_AMD64_SIZE].copy_from_slice(&ctx);
        let t = tl + 4 + i * THREAD_SIZE;
        put32(&mut head, t, THREAD_IDS[i]);
        put64(&mut head, t + 16, 0x7f3a_1b00_0000 + i as u64 * 0x80_0000);
        put64(&mut head, t + 24, base);
        put32(&mut head, t + 32, size as u32);
        // The stack RVA is patched below, once the memory data's RVA is known.
        put32(&mut head, t + 40, CONTEXT_AMD64_SIZE as u32);
        put32(&mut head, t + 44, ctx_at as u32);
    }
    entries.push((
        STREAM_THREAD_LIST,
        (4 + THREAD_SIZE * STACKS.len()) as u32,
        tl as u32,
    ));

    let ex = reserve(&mut head, 168, 4);
    put32(&mut head, ex, THREAD_IDS[0]);
    put32(&mut head, ex + 8, 11); // SIGSEGV
    put32(&mut head, ex + 12, 1); // SEGV_MAPERR
    put64(&mut head, ex + 24, 0x10);
    let ctx = amd64_context(&mut rng, first_rsp, rip);
    let ctx_at = reserve(&mut head, CONTEXT_AMD64_SIZE, 16);
    head[ctx_at..ctx_at + CONTEXT_AMD64_SIZE].copy_from_slice(&ctx);
    put32(&mut head, ex + 160, CONTEXT_AMD64_SIZE as u32);
    put32(&mut head, ex + 164, ctx_at as u32);
    entries.push((STREAM_EXCEPTION, 168, ex as u32));

    let ml = reserve(&mut head, 4 + MODULE_SIZE * modules.len(), 4);
    put32(&mut head, ml, modules.len() as u32);
    for (i, m) in modules.iter().enumerate() {
        let name = minidump_string(&mut head, m.name);
        let cv = reserve(&mut head, 24, 4);
        head[cv..cv + 4].copy_from_slice(b"LEpB");
        rng.fill(&mut head[cv + 4..cv + 24]);
        let at = ml + 4 + i * MODULE_SIZE;
        put64(&mut head, at, m.base);
        put32(&mut head, at + 8, m.size);
        put32(&mut head, at + 20, name);
        put32(&mut head, at + 24, 0xfeef_04bd);
        put32(&mut head, at + 28, 0x0001_0000);
        put32(&mut head, at + 76, 24);
        put32(&mut head, at + 80, cv as u32);
    }
    entries.push((
        STREAM_MODULE_LIST,
        (4 + MODULE_SIZE * modules.len()) as u32,
        ml as u32,
    ));

    let mut text_plants = Vec::new();
    let url = Kind::UrlPassword.make(&mut Rng::derive(seed, 0x434d_444c));
    let mut cmdline = String::from(
        "/opt/payments/bin/payments-server\0--config=/etc/payments/server.toml\0--workers=8\0--db-url=",
    );
    let url_at = cmdline.len();
    cmdline.push_str(&url.0);
    cmdline.push_str("\0--log-level=info\0");
    let at = reserve(&mut head, cmdline.len(), 4);
    head[at..at + cmdline.len()].copy_from_slice(cmdline.as_bytes());
    text_plants.push(TextPlant {
        kind: Kind::UrlPassword,
        stream: "LinuxCmdLine",
        offset: (at + url_at + url.1) as u64,
        length: url.2 as u64,
    });
    entries.push((STREAM_LINUX_CMDLINE, cmdline.len() as u32, at as u32));

    let mut env = String::from(
        "HOME=/var/lib/payments\0LANG=C.UTF-8\0PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin\0\
         HOSTNAME=payments-7f9c4d-x2k8q\0RUST_LOG=info\0TZ=UTC\0",
    );
    let mut env_plants = Vec::new();
    for (i, (var, kind)) in [
        ("GITHUB_TOKEN=", Kind::GithubClassic),
        ("AWS_ACCESS_KEY_ID=", Kind::AwsAccessKey),
        ("STRIPE_API_KEY=", Kind::StripeLive),
    ]
    .into_iter()
    .enumerate()
    {
        let (text, off, len) = kind.make(&mut Rng::derive(seed, 0x454e_5600 + i as u64));
        env.push_str(var);
        // Strip the filler context: an environment value is the bare token.
        let token = &text[off..off + len];
        env_plants.push((kind, env.len(), len));
        env.push_str(token);
        env.push('\0');
    }
    env.push_str("SERVICE_NAME=payments\0MALLOC_ARENA_MAX=2\0");
    let at = reserve(&mut head, env.len(), 4);
    head[at..at + env.len()].copy_from_slice(env.as_bytes());
    for (kind, off, len) in env_plants {
        text_plants.push(TextPlant {
            kind,
            stream: "LinuxEnviron",
            offset: (at + off) as u64,
            length: len as u64,
        });
    }
    entries.push((STREAM_LINUX_ENVIRON, env.len() as u32, at as u32));

    let m64_len = 16 + 16 * regions.len();
    let m64 = reserve(&mut head, m64_len, 16);
    let base_rva = (m64 + m64_len) as u64;
    put64(&mut head, m64, regions.len() as u64);
    put64(&mut head, m64 + 8, base_rva);
    for (i, r) in regions.iter().enumerate() {
        put64(&mut head, m64 + 16 + i * 16, r.base);
        put64(&mut head, m64 + 24 + i * 16, r.size);
    }
    entries.push((STREAM_MEMORY64_LIST, m64_len as u32, m64 as u32));

    for (i, r) in regions.iter().take(STACKS.len()).enumerate() {
        put32(
            &mut head,
            tl + 4 + i * THREAD_SIZE + 36,
            (base_rva + r.global) as u32,
        );
    }

    // Directory in the order Windows and Breakpad writers use.
    let order = [
        STREAM_THREAD_LIST,
        STREAM_MODULE_LIST,
        STREAM_MEMORY64_LIST,
        STREAM_EXCEPTION,
        STREAM_SYSTEM_INFO,
        STREAM_LINUX_CMDLINE,
        STREAM_LINUX_ENVIRON,
    ];
    assert_eq!(order.len(), streams);
    for (i, t) in order.iter().enumerate() {
        let &(ty, size, rva) = entries
            .iter()
            .find(|e| e.0 == *t)
            .expect("every stream written");
        put32(&mut head, dir + i * 12, ty);
        put32(&mut head, dir + i * 12 + 4, size);
        put32(&mut head, dir + i * 12 + 8, rva);
    }

    put32(&mut head, 0, 0x504d_444d);
    put32(&mut head, 4, 0xa793);
    put32(&mut head, 8, streams as u32);
    put32(&mut head, 12, dir as u32);
    put32(&mut head, 20, 1_714_000_000 + (seed % 10_000_000) as u32);
    put64(&mut head, 24, 0x2); // MiniDumpWithFullMemory
    Built {
        head,
        base_rva,
        text_plants,
    }
}

/// Parses the written file with the `minidump` crate, as a debugger or
/// crash processor would, and checks it matches what was planned.
fn check(path: &Path, regions: &[Region], modules: &[Module], base_rva: u64) -> Result<()> {
    use minidump::{
        Minidump, MinidumpMemory64List, MinidumpModuleList, MinidumpSystemInfo, MinidumpThreadList,
    };

    let file = File::open(path)?;
    // SAFETY: read-only map of the file this process just wrote and closed.
    let map = unsafe { memmap2::Mmap::map(&file)? };
    let dump = Minidump::read(&map[..]).context("minidump crate rejects the header")?;
    let base = map.as_ptr() as u64;

    let sys: MinidumpSystemInfo = dump.get_stream().context("SystemInfoStream")?;
    ensure!(
        sys.raw.processor_architecture == 9,
        "architecture is not AMD64"
    );

    let list: MinidumpMemory64List = dump.get_stream().context("Memory64ListStream")?;
    let seen: Vec<_> = list.iter().collect();
    ensure!(
        seen.len() == regions.len(),
        "Memory64List has {} regions, expected {}",
        seen.len(),
        regions.len()
    );
    for (i, (m, r)) in seen.iter().zip(regions).enumerate() {
        let offset = m.bytes.as_ptr() as u64 - base;
        ensure!(
            m.base_address == r.base && m.size == r.size && offset == base_rva + r.global,
            "region {i}: crate sees {:#x}+{} at offset {offset:#x}, expected {:#x}+{} at {:#x}",
            m.base_address,
            m.size,
            r.base,
            r.size,
            base_rva + r.global
        );
    }

    let threads: MinidumpThreadList = dump.get_stream().context("ThreadListStream")?;
    ensure!(threads.threads.len() == STACKS.len(), "thread count");
    for (t, &(stack_base, stack_size)) in threads.threads.iter().zip(&STACKS) {
        ensure!(
            t.raw.stack.start_of_memory_range == stack_base,
            "thread stack address"
        );
        ensure!(
            t.raw.stack.memory.data_size as u64 == stack_size,
            "thread stack size"
        );
        ensure!(
            t.context(&sys, None).is_some(),
            "thread context does not parse"
        );
    }

    let mods: MinidumpModuleList = dump.get_stream().context("ModuleListStream")?;
    let names: Vec<&str> = mods.iter().map(|m| m.name.as_str()).collect();
    let expected: Vec<&str> = modules.iter().map(|m| m.name).collect();
    ensure!(names == expected, "module names {names:?}");

    let environ: minidump::MinidumpLinuxEnviron = dump.get_stream().context("LinuxEnviron")?;
    // /proc/PID/environ is NUL-separated; the crate's iter() splits lines.
    let vars = environ
        .raw_bytes()
        .split(|&b| b == 0)
        .filter(|v| !v.is_empty())
        .count();
    ensure!(vars >= 6, "environment has {vars} variables");
    Ok(())
}

pub struct Args {
    pub out: PathBuf,
    pub size_mib: u64,
    pub seed: u64,
    pub check: bool,
}

const USAGE: &str =
    "usage: gen_bench_dump OUT.dmp [--size-mib N (default 1536)] [--seed S (default 1)] [--check]";

fn parse_args() -> Result<Args> {
    let mut out = None;
    let mut size_mib = 1536;
    let mut seed = 1;
    let mut check = false;
    let mut it = std::env::args().skip(1);
    let number = |v: Option<String>, what: &str| -> Result<u64> {
        let v = v.with_context(|| format!("{what} needs a value"))?;
        let parsed = match v.strip_prefix("0x") {
            Some(hex) => u64::from_str_radix(hex, 16),
            None => v.parse(),
        };
        parsed.with_context(|| format!("{what}: not a number: {v}"))
    };
    while let Some(a) = it.next() {
        match a.as_str() {
            "--size-mib" => size_mib = number(it.next(), "--size-mib")?,
            "--seed" => seed = number(it.next(), "--seed")?,
            "--check" => check = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            s if s.starts_with('-') => bail!("unknown option {s}\n{USAGE}"),
            _ if out.is_none() => out = Some(PathBuf::from(a)),
            _ => bail!("more than one output file\n{USAGE}"),
        }
    }
    let out = out.with_context(|| USAGE.to_string())?;
    ensure!(size_mib >= 4, "--size-mib must be at least 4");
    Ok(Args {
        out,
        size_mib,
        seed,
        check,
    })
}

fn run() -> Result<()> {
    generate(&parse_args()?)
}

/// Writes the dump described by `args` (also used by `benches/detectors.rs`,
/// which includes this file as a module to get the same bytes).
pub fn generate(args: &Args) -> Result<()> {
    let started = Instant::now();
    let mut rng = Rng::derive(args.seed, 0x504c_414e);
    let (regions, modules) = plan_regions(&mut rng, args.size_mib * MIB);
    let built = build_head(args.seed, &regions, &modules);
    let base_rva = built.base_rva;
    let plants = place_plants(args.seed, &regions, base_rva, 15);

    let file = File::create(&args.out)
        .with_context(|| format!("{}: cannot create", args.out.display()))?;
    let mut w = BufWriter::with_capacity(8 * MIB as usize, file);
    w.write_all(&built.head)?;
    let mut zeros = 0u64;
    // Batches bound memory to a few dozen MiB while both cores generate.
    let indices: Vec<usize> = (0..regions.len()).collect();
    for batch in indices.chunks(16) {
        let bufs: Vec<(Vec<u8>, u64)> = batch
            .par_iter()
            .map(|&i| {
                let b = gen_region(args.seed, i, &regions[i], &plants);
                let z = b.iter().filter(|&&x| x == 0).count() as u64;
                (b, z)
            })
            .collect();
        for (b, z) in bufs {
            w.write_all(&b)?;
            zeros += z;
        }
    }
    w.flush()?;
    let file = w.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    drop(file);
    let file_size = std::fs::metadata(&args.out)?.len();
    ensure!(file_size == base_rva + total_of(&regions), "size mismatch");
    let elapsed = started.elapsed().as_secs_f64();

    let mut counts: BTreeMap<&str, [u64; 2]> = BTreeMap::new();
    let mut secrets = Vec::new();
    for p in &plants {
        counts.entry(p.kind.id()).or_default()[p.utf16 as usize] += 1;
        let offset = base_rva + p.global + p.token_off;
        let at = p.global + p.token_off;
        let r = &regions[regions.partition_point(|r| r.global + r.size <= at)];
        secrets.push(serde_json::json!({
            "kind": p.kind.id(),
            "encoding": if p.utf16 { "utf16le" } else { "ascii" },
            "offset": offset,
            "length": p.token_len,
            "where": "Memory64ListStream",
            "address": format!("{:#x}", r.base + (at - r.global)),
            "odd_offset": offset % 2 == 1,
            "straddles_regions": p.straddles,
        }));
    }
    for t in &built.text_plants {
        counts.entry(t.kind.id()).or_default()[0] += 1;
        secrets.push(serde_json::json!({
            "kind": t.kind.id(),
            "encoding": "ascii",
            "offset": t.offset,
            "length": t.length,
            "where": t.stream,
            "odd_offset": t.offset % 2 == 1,
            "straddles_regions": false,
        }));
    }
    let total_planted = secrets.len();
    let contiguous = (1..regions.len())
        .filter(|&i| regions[i - 1].base + regions[i - 1].size == regions[i].base)
        .count();
    let memory_bytes = total_of(&regions);
    let sidecar = serde_json::json!({
        "generator": "gen_bench_dump",
        "seed": args.seed,
        "size_mib": args.size_mib,
        "file_size": file_size,
        "regions": regions.len(),
        "memory_bytes": memory_bytes,
        "zero_fraction": zeros as f64 / memory_bytes as f64,
        "total": total_planted,
        "counts": counts.iter().map(|(k, v)| (k.to_string(), serde_json::json!({"ascii": v[0], "utf16le": v[1]}))).collect::<serde_json::Map<_, _>>(),
        "secrets": secrets,
    });
    let mut side_path = args.out.clone().into_os_string();
    side_path.push(".planted.json");
    std::fs::write(&side_path, serde_json::to_string_pretty(&sidecar)? + "\n")
        .with_context(|| format!("{}: cannot write", Path::new(&side_path).display()))?;

    eprintln!(
        "gen_bench_dump: wrote {} ({} bytes, {:.1} MiB) in {:.1} s ({:.0} MB/s), seed {}",
        args.out.display(),
        file_size,
        file_size as f64 / MIB as f64,
        elapsed,
        file_size as f64 / 1e6 / elapsed,
        args.seed
    );
    eprintln!(
        "  {} memory regions ({} address-contiguous with the previous), {} threads, {} modules, {:.1}% zero bytes in memory",
        regions.len(),
        contiguous,
        STACKS.len(),
        modules.len(),
        zeros as f64 * 100.0 / memory_bytes as f64
    );
    eprintln!(
        "  {} planted secrets ({} at odd offsets, {} across region boundaries, {} in cmdline/environ):",
        total_planted,
        secrets.iter().filter(|s| s["odd_offset"] == true).count(),
        plants.iter().filter(|p| p.straddles).count(),
        built.text_plants.len()
    );
    for (k, v) in &counts {
        eprintln!("    {k:<24} ascii {:>3}  utf16le {:>3}", v[0], v[1]);
    }
    eprintln!("  locations: {}", Path::new(&side_path).display());

    if args.check {
        check(&args.out, &regions, &modules, base_rva)?;
        eprintln!("  check: the minidump crate reads it back as planned");
    }
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gen_bench_dump: error: {e:#}");
            ExitCode::from(2)
        }
    }
}
