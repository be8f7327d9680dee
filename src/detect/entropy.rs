//! Generic secrets by entropy: values that no named rule knows.
//!
//! Two families, in ASCII and UTF-16LE (either byte alignment):
//!
//! - **Keyed values**: the value of an assignment, a header, an environment
//!   entry or a URL's userinfo whose *name* says it is secret (`password=…`,
//!   `"apiKey": "…"`, `Authorization: Bearer …`, `MY_SERVICE_SECRET=…`,
//!   `scheme://user:…@host`). Literal keyword anchors are found with one
//!   case-sensitive, leftmost-first Teddy searcher, over the chunk and over
//!   the narrowed UTF-16LE runs of its [`TextView`] (case folding would
//!   push aho-corasick off its SIMD path); each hit is parsed
//!   by hand around the anchor: the whole name is split into words
//!   (`accessToken` → access, token) so that `tokenizer`, `author` or
//!   `KEYMAP` are not secret names. Only the value is redacted.
//! - **Free-standing tokens**: maximal runs of one alphabet (hex, base64,
//!   base64url, base62). Entropy is never computed on a sliding window:
//!   the view's per-byte class bits give the runs of token bytes of a
//!   candidate length directly (a few word operations per 64 bytes), and
//!   entropy is computed only on those whole runs.
//!
//! Entropy floors depend on the alphabet and the length: the plug-in
//! Shannon entropy of a short random string is well below log2 of its
//! alphabet (16 random hex digits average 3.2 bits, not 4). The floor is
//! the exact expected entropy of a uniform random string of that alphabet
//! and length, minus `z / sqrt(len)` — about 2.2/√n is the 0.5% quantile
//! for every alphabet and length measured (see docs/detectors.md).
//!
//! Nothing here allocates per candidate: counts live on the stack and
//! findings carry offsets only, never the value.

use std::ops::Range;

use super::literals::Client;
use super::view::{ByteClass, Hits, TextView, ViewSpec};
use super::{ChunkDetector, Encoding, KeyMatch, TextNeeds};
use crate::rules::Confidence;

pub const KEYED_RULE: &str = "entropy-keyed-value";
const KEYED_DESCRIPTION: &str =
    "High-entropy value of a password, secret, token, key, credential or authorization name";
pub const TOKEN_RULE: &str = "entropy-token";
const TOKEN_DESCRIPTION: &str =
    "Free-standing high-entropy token of one alphabet (hex, base64, base64url, base62)";

/// Shortest keyed value, in characters: shorter passwords carry too little
/// entropy to tell from words.
const MIN_VALUE: usize = 8;
/// Longest keyed value; longer ones are blobs, certificates or text.
const MAX_VALUE: usize = 256;
/// Longest variable name looked at around a keyword.
const MAX_NAME: usize = 64;
/// Shortest free-standing token, any alphabet: 128 bits of hex, ≈190 of
/// base62. Shorter runs of letters and digits are mostly identifiers
/// (`ZwWow64QueryVirtualMemory64`), which entropy alone cannot tell from
/// a random token of that length (docs/detectors.md has the counts).
const MIN_TOKEN: usize = 32;
/// Longer runs are data (certificates, images, compressed blobs in
/// base64), which the DER detector reads, not tokens.
const MAX_TOKEN: usize = 512;

/// `z` of the floor `E[H] − z/√n` for keyed values: the name already says
/// "secret", so the floor is lower than for tokens.
const Z_KEYED: f64 = 3.0;
/// `z` for free-standing tokens: 2.2/√n keeps 99.5% of random strings.
const Z_TOKEN: f64 = 2.2;
/// Free-standing tokens are reported, not redacted by default: on the
/// dumps measured, every one that was not also found by a named rule or
/// inside a PEM block was an id, a hash or encoded data.
const TOKEN_CONFIDENCE: Confidence = Confidence::Low;

/// Keywords that start a keyed value, each spelling that occurs (the
/// searcher is case-sensitive). The name around the hit decides.
const KEYWORDS: &[&str] = &[
    "password",
    "Password",
    "PASSWORD",
    "passwd",
    "Passwd",
    "PASSWD",
    "passphrase",
    "Passphrase",
    "PASSPHRASE",
    "secret",
    "Secret",
    "SECRET",
    "token",
    "Token",
    "TOKEN",
    "credential",
    "Credential",
    "CREDENTIAL",
    "auth",
    "Auth",
    "AUTH",
    "apikey",
    "api_key",
    "api-key",
    "apiKey",
    "ApiKey",
    "Api-Key",
    "private_key",
    "privateKey",
    "PrivateKey",
    "KEY",
    "pwd",
    "Pwd",
    "://",
];

/// Index of `://` in [`KEYWORDS`].
const URL_KEYWORD: u32 = KEYWORDS.len() as u32 - 1;

/// Alphabet a value or token is measured against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Alpha {
    Hex,
    Base62,
    Base64,
    Base64Url,
    /// Printable ASCII: passwords.
    Printable,
}

impl Alpha {
    fn size(self) -> u32 {
        match self {
            Alpha::Hex => 16,
            Alpha::Base62 => 62,
            Alpha::Base64 | Alpha::Base64Url => 64,
            Alpha::Printable => 94,
        }
    }

    fn index(self) -> usize {
        self as usize
    }

    fn token_form(self) -> &'static str {
        match self {
            Alpha::Hex => "token-hex",
            Alpha::Base62 => "token-base62",
            Alpha::Base64 => "token-base64",
            Alpha::Base64Url => "token-base64url",
            Alpha::Printable => "token",
        }
    }
}

/// Expected plug-in Shannon entropy (bits per symbol) of `n` symbols drawn
/// uniformly from `k`: by linearity, `k` times the expected contribution
/// of one symbol, whose count is Binomial(n, 1/k).
#[cfg(test)]
fn expected_entropy(k: u32, n: usize) -> f64 {
    expected_entropies([k], n)[0]
}

/// [`expected_entropy`] for several alphabet sizes at once: the count
/// ratios and logarithms are the same for all of them. Built at every
/// start for every length up to 512 (a quadratic sum), they took 17 ms
/// of a run's 0.11 s start-up, computed alphabet by alphabet and table by
/// table; the values are the same to the bit.
fn expected_entropies<const K: usize>(ks: [u32; K], n: usize) -> [f64; K] {
    if n == 0 {
        return [0.0; K];
    }
    let nf = n as f64;
    let p = ks.map(|k| 1.0 / k as f64);
    let mut pmf = p.map(|p| (1.0 - p).powi(n as i32));
    let mut sum = [0.0; K];
    for c in 0..n {
        let ratio = (n - c) as f64 / (c + 1) as f64;
        let f = (c + 1) as f64 / nf;
        let f_log_f = f.log2();
        for i in 0..K {
            pmf[i] *= ratio * p[i] / (1.0 - p[i]);
            sum[i] += pmf[i] * f * f_log_f;
        }
    }
    std::array::from_fn(|i| -(ks[i] as f64) * sum[i])
}

/// Entropy floors per alphabet and length, for keyed values and tokens.
struct Floors {
    keyed: [Vec<f32>; 5],
    token: [Vec<f32>; 5],
}

impl Floors {
    fn new() -> Floors {
        const ALPHABETS: [Alpha; 5] = [
            Alpha::Hex,
            Alpha::Base62,
            Alpha::Base64,
            Alpha::Base64Url,
            Alpha::Printable,
        ];
        let expected: Vec<[f64; 5]> = (0..=MAX_TOKEN.max(MAX_VALUE))
            .map(|n| expected_entropies(ALPHABETS.map(Alpha::size), n))
            .collect();
        let table = |z: f64| {
            std::array::from_fn(|a| {
                expected
                    .iter()
                    .enumerate()
                    .map(|(n, e)| {
                        if n == 0 {
                            0.0
                        } else {
                            (e[a] - z / (n as f64).sqrt()) as f32
                        }
                    })
                    .collect()
            })
        };
        Floors {
            keyed: table(Z_KEYED),
            token: table(Z_TOKEN),
        }
    }
}

/// `(c + 1) log2(c + 1) - c log2(c)`: what one more occurrence of a
/// character seen `c` times adds to the sum of `c log2 c`. Tabled up to
/// the longest candidate.
fn count_log_step(c: u16) -> f64 {
    static STEPS: std::sync::OnceLock<Vec<f64>> = std::sync::OnceLock::new();
    let clog = |c: f64| if c > 1.0 { c * c.log2() } else { 0.0 };
    let steps = STEPS.get_or_init(|| {
        (0..=MAX_TOKEN.max(MAX_VALUE))
            .map(|c| clog(c as f64 + 1.0) - clog(c as f64))
            .collect()
    });
    match steps.get(usize::from(c)) {
        Some(&d) => d,
        // A saturated count adds nothing, like the counter itself.
        None if c == u16::MAX => 0.0,
        None => clog(f64::from(c) + 1.0) - clog(f64::from(c)),
    }
}

/// Character statistics of a candidate, computed in one pass.
struct Stats {
    n: usize,
    counts: [u16; 128],
    /// Sum of `c * log2(c)` over the counts, kept as they grow: entropy
    /// then costs no pass over the table and no logarithm per candidate.
    count_log_sum: f64,
    upper: usize,
    lower: usize,
    digit: usize,
    /// `+` and `/`.
    plus_slash: usize,
    /// `-` and `_`.
    dash_under: usize,
    /// Anything else printable, and among them `.`.
    other: usize,
    dots: usize,
    /// Adjacent pairs of letters of the same case (`ab`, `CD`), and of
    /// consecutive characters (`ab`, `56`: alphabet tables).
    same_case_pairs: usize,
    consecutive_pairs: usize,
    /// Letters a–f only (lower) / A–F only (upper), besides digits.
    hex_lower: bool,
    hex_upper: bool,
}

impl Stats {
    fn of(chars: impl Iterator<Item = u8>) -> Stats {
        let mut s = Stats {
            n: 0,
            counts: [0; 128],
            count_log_sum: 0.0,
            upper: 0,
            lower: 0,
            digit: 0,
            plus_slash: 0,
            dash_under: 0,
            other: 0,
            dots: 0,
            hex_lower: true,
            hex_upper: true,
            same_case_pairs: 0,
            consecutive_pairs: 0,
        };
        let mut prev = 0u8;
        for c in chars {
            let c = c & 0x7f;
            if (c.is_ascii_lowercase() && prev.is_ascii_lowercase())
                || (c.is_ascii_uppercase() && prev.is_ascii_uppercase())
            {
                s.same_case_pairs += 1;
            }
            if c == prev.wrapping_add(1) {
                s.consecutive_pairs += 1;
            }
            prev = c;
            s.n += 1;
            let count = &mut s.counts[c as usize];
            s.count_log_sum += count_log_step(*count);
            *count = count.saturating_add(1);
            match c {
                b'A'..=b'Z' => {
                    s.upper += 1;
                    s.hex_lower = false;
                    s.hex_upper &= c <= b'F';
                }
                b'a'..=b'z' => {
                    s.lower += 1;
                    s.hex_upper = false;
                    s.hex_lower &= c <= b'f';
                }
                b'0'..=b'9' => s.digit += 1,
                b'+' | b'/' => s.plus_slash += 1,
                b'-' | b'_' => s.dash_under += 1,
                b'.' => {
                    s.dots += 1;
                    s.other += 1;
                }
                _ => s.other += 1,
            }
        }
        if s.plus_slash + s.dash_under + s.other > 0 {
            s.hex_lower = false;
            s.hex_upper = false;
        }
        s
    }

    fn entropy(&self) -> f64 {
        if self.n == 0 {
            return 0.0;
        }
        let n = self.n as f64;
        n.log2() - self.count_log_sum / n
    }

    /// The smallest alphabet holding every character, or `None` for a
    /// mix of base64's `+/` and base64url's `-_`.
    fn alphabet(&self) -> Alpha {
        if self.hex_lower || self.hex_upper {
            Alpha::Hex
        } else if self.other > 0 || (self.plus_slash > 0 && self.dash_under > 0) {
            Alpha::Printable
        } else if self.plus_slash > 0 {
            Alpha::Base64
        } else if self.dash_under > 0 {
            Alpha::Base64Url
        } else {
            Alpha::Base62
        }
    }
}

/// Text in one encoding: `STEP` bytes per character. A UTF-16 code unit
/// outside ASCII reads as `None`, which ends every name and value.
#[derive(Clone, Copy)]
struct Text<'a, const WIDE: bool> {
    buf: &'a [u8],
}

impl<const WIDE: bool> Text<'_, WIDE> {
    const STEP: usize = if WIDE { 2 } else { 1 };

    #[inline]
    fn at(&self, p: usize) -> Option<u8> {
        let c = *self.buf.get(p)?;
        if WIDE && (*self.buf.get(p + 1)? != 0 || c >= 0x80) {
            return None;
        }
        Some(c)
    }

    #[inline]
    fn before(&self, p: usize) -> Option<u8> {
        self.at(p.checked_sub(Self::STEP)?)
    }

    fn chars(&self, from: usize, to: usize) -> impl Iterator<Item = u8> + '_ {
        self.buf
            .get(from..to)
            .unwrap_or(&[])
            .iter()
            .step_by(Self::STEP)
            .copied()
    }

    /// Skips up to `max` spaces and tabs from `p`.
    fn spaces(&self, mut p: usize, max: usize) -> usize {
        let mut k = 0;
        while k < max && matches!(self.at(p), Some(b' ' | b'\t')) {
            p += Self::STEP;
            k += 1;
        }
        p
    }
}

fn is_name(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.')
}

/// Characters of an unquoted value: printable, without the delimiters of
/// the formats read here (quotes, brackets, `,;&`, `<>`, backslash).
fn is_bare_value(c: u8) -> bool {
    (0x21..0x7f).contains(&c)
        && !matches!(
            c,
            b'"' | b'\''
                | b'`'
                | b','
                | b';'
                | b'&'
                | b'<'
                | b'>'
                | b'('
                | b')'
                | b'['
                | b']'
                | b'{'
                | b'}'
                | b'\\'
        )
}

/// Byte classes of the free-standing token scan: base64 ∪ base64url.
static TOKEN_CLASS: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        let c = i as u8;
        t[i] = c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'-' | b'_');
        i += 1;
    }
    t
};

/// How a keyed value was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    Assignment,
    Header,
    Env,
    UrlUserinfo,
}

impl Form {
    fn as_str(self) -> &'static str {
        match self {
            Form::Assignment => "assignment",
            Form::Header => "header",
            Form::Env => "env",
            Form::UrlUserinfo => "url-userinfo",
        }
    }
}

/// Words of a name that make its value secret.
const SECRET_WORDS: &[&[u8]] = &[
    b"password",
    b"passwd",
    b"passphrase",
    b"pwd",
    b"secret",
    b"token",
    b"credential",
    b"credentials",
    b"auth",
    b"authorization",
    b"apikey",
];
/// Words before `key` that make it a secret key (`api_key`, `privateKey`).
const KEY_QUALIFIERS: &[&[u8]] = &[
    b"api",
    b"private",
    b"secret",
    b"access",
    b"signing",
    b"encryption",
    b"master",
    b"session",
    b"client",
    b"auth",
    b"app",
    b"license",
];
/// Last words of names whose value (and any name with the word `public`:
/// `publicKeyToken` is a hash of a public key) describes a secret rather than being
/// one (`token_type`, `SECRET_KEY_ID`, `password_file`).
const DESCRIPTIVE_LAST: &[&[u8]] = &[
    b"id",
    b"ids",
    b"name",
    b"type",
    b"file",
    b"path",
    b"dir",
    b"url",
    b"uri",
    b"len",
    b"length",
    b"size",
    b"count",
    b"format",
    b"mode",
    b"method",
    b"endpoint",
    b"host",
    b"user",
    b"username",
    b"expiry",
    b"expires",
    b"timeout",
    b"ttl",
    b"env",
    b"var",
    b"prefix",
    b"header",
    b"kind",
    b"algorithm",
    b"cache",
    b"store",
    b"helper",
    b"command",
    b"cmd",
    b"prompt",
    b"hint",
    b"label",
    b"policy",
    b"version",
    b"location",
    b"sock",
    b"socket",
    b"provider",
    b"source",
    b"enabled",
    b"required",
    b"level",
    b"index",
];

/// Does `name` (ASCII, at most [`MAX_NAME`]) name a secret? Words are
/// split at `_ - .` and at camel-case humps, compared case-insensitively.
fn secret_name(name: &[u8], env: bool) -> bool {
    let mut words: [(usize, usize); 16] = [(0, 0); 16];
    let mut count = 0;
    let mut start = 0;
    let mut push = |s: usize, e: usize, count: &mut usize| {
        if e > s && *count < words.len() {
            words[*count] = (s, e);
            *count += 1;
        }
    };
    for i in 0..name.len() {
        let c = name[i];
        if matches!(c, b'_' | b'-' | b'.') {
            push(start, i, &mut count);
            start = i + 1;
        } else if i > start
            && c.is_ascii_uppercase()
            && (name[i - 1].is_ascii_lowercase()
                || name[i - 1].is_ascii_digit()
                || (name[i - 1].is_ascii_uppercase()
                    && name.get(i + 1).is_some_and(u8::is_ascii_lowercase)))
        {
            push(start, i, &mut count);
            start = i;
        }
    }
    push(start, name.len(), &mut count);
    let word = |i: usize| &name[words[i].0..words[i].1];
    let is = |w: &[u8], list: &[&[u8]]| list.iter().any(|l| w.eq_ignore_ascii_case(l));
    if count == 0
        || is(word(count - 1), DESCRIPTIVE_LAST)
        || (0..count).any(|i| word(i).eq_ignore_ascii_case(b"public"))
    {
        return false;
    }
    (0..count).any(|i| {
        let w = word(i);
        is(w, SECRET_WORDS)
            || (w.eq_ignore_ascii_case(b"key")
                && (env || (i > 0 && is(word(i - 1), KEY_QUALIFIERS))))
    })
}

/// A value is worth a finding: long enough, not a placeholder, a path or
/// code, marked like a generated string (a digit or a symbol), and random
/// enough for its alphabet and length.
fn value_passes(s: &Stats, first: u8, floors: &Floors) -> bool {
    if s.n < MIN_VALUE || s.n > MAX_VALUE {
        return false;
    }
    if matches!(
        first,
        b'$' | b'%' | b'<' | b'{' | b'*' | b'/' | b'.' | b'~' | b'#' | b'@' | b'&' | b'-' | b'='
    ) {
        return false;
    }
    // Identifiers, words and paths have no digit and no symbol but
    // `. _ -` (`self.password`); generated values have.
    let marked = s.digit > 0 || s.other > s.dots || s.plus_slash > 0;
    if !marked {
        return false;
    }
    // A value of one letter case and no digits-and-letters mix reads as a
    // word or a number.
    if s.upper + s.lower == 0 && s.other + s.plus_slash + s.dash_under == 0 {
        return false;
    }
    if sequential(s) {
        return false;
    }
    let alpha = s.alphabet();
    s.entropy() >= floors.keyed[alpha.index()][s.n] as f64
}

/// `ABCDEFGH…`, `0123456789abcdef`: alphabet tables, not secrets (random
/// text has a consecutive pair once in ~60).
fn sequential(s: &Stats) -> bool {
    s.consecutive_pairs * 4 > s.n
}

/// A free-standing run is a token: one alphabet, long enough, mixed like
/// random text (hex: digits and letters; others: upper, lower and digits),
/// not a mangled symbol, and random enough.
fn token_alphabet(s: &Stats, first: u8, second: Option<u8>, floors: &Floors) -> Option<Alpha> {
    if sequential(s) {
        return None;
    }
    let alpha = s.alphabet();
    match alpha {
        Alpha::Hex => {
            if s.n < MIN_TOKEN || s.digit == 0 || s.digit == s.n {
                return None;
            }
        }
        Alpha::Printable => return None,
        _ => {
            if s.n < MIN_TOKEN || s.upper == 0 || s.lower == 0 || s.digit == 0 {
                return None;
            }
            // Itanium and Rust v0 mangled names.
            if first == b'_' && matches!(second, Some(b'Z' | b'R' | b'_')) {
                return None;
            }
            // Identifiers are words: adjacent letters share their case far
            // more often than in random text (35%); reject above the 99.5%
            // quantile of random strings of this length.
            let n = s.n as f64;
            let p = 0.352;
            if s.same_case_pairs as f64 / (n - 1.0) > p + 2.6 * (p * (1.0 - p) / (n - 1.0)).sqrt() {
                return None;
            }
        }
    }
    (s.entropy() >= floors.token[alpha.index()][s.n] as f64).then_some(alpha)
}

/// Last words of names whose values are random but public: ids, hashes,
/// nonces of logs and protocols (`trace_id=…`, `guid=…`, `"sha256": "…"`).
/// Real logs hold one per line; they are not secrets.
const IDENTIFIER_WORDS: &[&[u8]] = &[
    b"id",
    b"ids",
    b"guid",
    b"uuid",
    b"hash",
    b"sha",
    b"sha1",
    b"sha256",
    b"sha512",
    b"md5",
    b"digest",
    b"checksum",
    b"etag",
    b"commit",
    b"rev",
    b"revision",
    b"build",
    b"trace",
    b"span",
    b"request",
    b"correlation",
    b"fingerprint",
    b"crc",
    b"integrity",
];

/// Is the run at `s` the value of a name that says it is an id or a
/// hash (`trace_id=<hex>`, `"sha256": "<hex>"`)? Looks back over an
/// optional quote, a `=` or `:` separator with spaces, and the name.
fn named_identifier<const WIDE: bool>(t: Text<'_, WIDE>, s: usize) -> bool {
    let step = Text::<WIDE>::STEP;
    let mut p = s;
    let back = |p: usize| t.before(p).map(|c| (c, p - step));
    if let Some((b'"' | b'\'', q)) = back(p) {
        p = q;
    }
    let mut k = 0;
    while let Some((b' ' | b'\t', q)) = back(p) {
        p = q;
        k += 1;
        if k > 8 {
            return false;
        }
    }
    match back(p) {
        Some((b'=' | b':', q)) => p = q,
        _ => return false,
    }
    while let Some((b' ' | b'\t' | b'"' | b'\'', q)) = back(p) {
        p = q;
        k += 1;
        if k > 16 {
            return false;
        }
    }
    let end = p;
    let mut len = 0;
    while let Some((c, q)) = back(p) {
        if !is_name(c) || len == MAX_NAME {
            break;
        }
        p = q;
        len += 1;
    }
    let mut name = [0u8; MAX_NAME];
    for (d, c) in name.iter_mut().zip(t.chars(p, end)) {
        *d = c;
    }
    let name = &name[..len];
    // The name ends with the word at a word boundary: `trace_id`,
    // `requestID`, `guid` (not `android`).
    let ends_with_word = |w: &[u8]| {
        let Some(i) = name.len().checked_sub(w.len()) else {
            return false;
        };
        name[i..].eq_ignore_ascii_case(w)
            && (i == 0
                || !name[i - 1].is_ascii_alphabetic()
                || (name[i].is_ascii_uppercase() && name[i - 1].is_ascii_lowercase()))
    };
    IDENTIFIER_WORDS.iter().any(|w| ends_with_word(w))
}

pub struct EntropyDetector {
    /// The view a chunk needs when this detector is run alone.
    spec: ViewSpec,
    floors: Floors,
}

impl Default for EntropyDetector {
    fn default() -> Self {
        Self::new()
    }
}

impl EntropyDetector {
    pub fn new() -> Self {
        EntropyDetector {
            spec: ViewSpec::for_literals(
                KEYWORDS.iter().map(|k| k.as_bytes()),
                Some(token_class()),
            )
            .expect("a few dozen short literals always build"),
            floors: Floors::new(),
        }
    }

    /// Keyed values: every keyword hit in the chunk (ASCII) and in the
    /// view's narrowed UTF-16LE runs, parsed around its place in the chunk.
    fn keyed_values(
        &self,
        view: &TextView<'_>,
        hits: Hits<'_>,
        base: u64,
        own: &Range<u64>,
        out: &mut Vec<KeyMatch>,
    ) {
        let buf = view.buf;
        let report = |parsed: Option<(usize, usize, Form)>, wide: bool, out: &mut Vec<KeyMatch>| {
            let (vs, ve, form) = parsed?;
            push(
                out,
                base,
                own,
                vs,
                ve,
                KEYED_RULE,
                KEYED_DESCRIPTION,
                form.as_str(),
                wide,
                Confidence::Medium,
            );
            Some(ve)
        };
        // A hit inside a parsed value is not looked at again.
        let mut at = 0;
        for span in view.nonzero_spans() {
            at = at.max(span.start);
            while let Some((hs, he, pattern)) = hits.chunk.first(at, span.end) {
                let t = Text::<false> { buf };
                let parsed = if pattern == URL_KEYWORD {
                    self.url_userinfo(t, hs, he)
                } else {
                    self.keyed(t, hs, he)
                };
                at = he.max(report(parsed, false, out).unwrap_or(0));
            }
        }
        // The same per alignment of the UTF-16LE runs (chunk positions).
        let mut resume = [0usize; 2];
        for span in view.search_spans() {
            let mut at = span.start;
            while let Some((hs, he, pattern)) = hits.text.first(at, span.end) {
                at = he;
                let piece = view.piece_at(hs);
                let start = piece.chunk_pos(hs);
                let parity = piece.orig % 2;
                if start < resume[parity] {
                    continue;
                }
                let end = start + 2 * (he - hs);
                let t = Text::<true> { buf };
                let parsed = if pattern == URL_KEYWORD {
                    self.url_userinfo(t, start, end)
                } else {
                    self.keyed(t, start, end)
                };
                resume[parity] = end.max(report(parsed, true, out).unwrap_or(0));
            }
        }
    }

    /// A free-standing token over the run `[s, e)`, unless it overlaps a
    /// keyed value already reported (`keyed`).
    #[allow(clippy::too_many_arguments)]
    fn token<const WIDE: bool>(
        &self,
        buf: &[u8],
        s: usize,
        e: usize,
        base: u64,
        own: &Range<u64>,
        keyed: Range<usize>,
        out: &mut Vec<KeyMatch>,
    ) {
        let t = Text::<WIDE> { buf };
        let (ts, te) = (base + s as u64, base + e as u64);
        if out[keyed]
            .iter()
            .any(|k| k.offset < te && ts < k.offset + k.len)
        {
            return;
        }
        // The value of an id or hash name (`trace_id=…`) is never a token;
        // asked first because it is cheaper than the statistics, and such
        // values are most of the candidates in logs.
        if named_identifier(t, s) {
            return;
        }
        let stats = Stats::of(t.chars(s, e));
        let first = t.at(s).unwrap_or(0);
        let second = t.at(s + Text::<WIDE>::STEP);
        if let Some(alpha) = token_alphabet(&stats, first, second, &self.floors) {
            push(
                out,
                base,
                own,
                s,
                e,
                TOKEN_RULE,
                TOKEN_DESCRIPTION,
                alpha.token_form(),
                WIDE,
                TOKEN_CONFIDENCE,
            );
        }
    }

    /// Parses `name <sep> value` around the keyword hit `[hs, he)`;
    /// returns the value's byte span and its form.
    fn keyed<const WIDE: bool>(
        &self,
        t: Text<'_, WIDE>,
        hs: usize,
        he: usize,
    ) -> Option<(usize, usize, Form)> {
        let step = Text::<WIDE>::STEP;
        let mut ns = hs;
        let mut len = (he - hs) / step;
        while let Some(c) = t.before(ns) {
            if !is_name(c) {
                break;
            }
            ns -= step;
            len += 1;
            if len > MAX_NAME {
                return None;
            }
        }
        let mut ne = he;
        while let Some(c) = t.at(ne) {
            if !is_name(c) {
                break;
            }
            ne += step;
            len += 1;
            if len > MAX_NAME {
                return None;
            }
        }
        let mut name = [0u8; MAX_NAME];
        for (d, c) in name.iter_mut().zip(t.chars(ns, ne)) {
            *d = c;
        }
        let name = &name[..len];
        let before = if ns == 0 { Some(0) } else { t.before(ns) };
        let env_like = matches!(before, Some(0 | b'\n'))
            && name
                .iter()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == b'_');
        let open_quote = match before {
            Some(q @ (b'"' | b'\'')) => Some(q),
            _ => None,
        };

        // Separator.
        let mut p = ne;
        let mut quoted_name = false;
        if let (Some(q), Some(c)) = (open_quote, t.at(p)) {
            if c == q {
                quoted_name = true;
                p += step;
            }
        }
        let after_name = p;
        p = t.spaces(p, 8);
        let spaced_before = p != after_name;
        let sep = t.at(p)?;
        let next = t.at(p + step);
        let colon = match (sep, next) {
            (b'=', Some(b'=')) => return None,
            (b'=', Some(b'>')) | (b':', Some(b'=')) => {
                p += 2 * step;
                false
            }
            (b'=', _) => {
                p += step;
                false
            }
            (b':', n) => {
                // A bare `k:v` is how URNs and strings packed in a binary
                // look, not an assignment.
                if !quoted_name && !matches!(n, Some(b' ' | b'\t' | b'"' | b'\'')) {
                    return None;
                }
                p += step;
                true
            }
            _ => return None,
        };
        let sep_end = p;
        p = t.spaces(p, 8);
        let spaced_after = p != sep_end;
        let form = if env_like && !colon && !spaced_before && !spaced_after && !quoted_name {
            Form::Env
        } else if colon
            && !quoted_name
            && name.first().is_some_and(u8::is_ascii_uppercase)
            && name.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
        {
            Form::Header
        } else {
            Form::Assignment
        };
        if !secret_name(name, form == Form::Env) {
            return None;
        }
        let quote = match t.at(p) {
            Some(q @ (b'"' | b'\'')) => {
                p += step;
                Some(q)
            }
            _ => None,
        };
        // `Authorization: Bearer …`: the scheme is not the secret.
        p = skip_scheme(t, p);

        let vs = p;
        let mut n = 0;
        let ve;
        match (quote, form) {
            (Some(q), _) => {
                loop {
                    let c = t.at(p)?;
                    if c == q {
                        break;
                    }
                    if !(0x21..0x7f).contains(&c) || n > MAX_VALUE {
                        return None;
                    }
                    p += step;
                    n += 1;
                }
                ve = p;
            }
            (None, Form::Env) => {
                while let Some(c) = t.at(p) {
                    if !(0x21..0x7f).contains(&c) || n > MAX_VALUE {
                        break;
                    }
                    p += step;
                    n += 1;
                }
                ve = p;
                // The whole value up to the end of the entry, or nothing.
                if !matches!(t.at(p), None | Some(0 | b'\n' | b'\r')) {
                    return None;
                }
            }
            (None, _) => {
                while let Some(c) = t.at(p) {
                    if !is_bare_value(c) || n > MAX_VALUE {
                        break;
                    }
                    p += step;
                    n += 1;
                }
                ve = p;
                // A call or an index is code.
                if matches!(t.at(p), Some(b'(' | b'[')) {
                    return None;
                }
            }
        }
        let stats = Stats::of(t.chars(vs, ve));
        let first = t.at(vs)?;
        value_passes(&stats, first, &self.floors).then_some((vs, ve, form))
    }

    /// `scheme://user:PASSWORD@host` around the `://` hit `[hs, he)`.
    fn url_userinfo<const WIDE: bool>(
        &self,
        t: Text<'_, WIDE>,
        hs: usize,
        he: usize,
    ) -> Option<(usize, usize, Form)> {
        let step = Text::<WIDE>::STEP;
        // A scheme: a letter then letters, digits, `+ . -`.
        let mut s = hs;
        let mut k = 0;
        while let Some(c) = t.before(s) {
            if !(c.is_ascii_alphanumeric() || matches!(c, b'+' | b'.' | b'-')) || k > 32 {
                break;
            }
            s -= step;
            k += 1;
        }
        if k == 0 || !t.at(s).is_some_and(|c| c.is_ascii_alphabetic()) {
            return None;
        }
        let userinfo = |c: u8| {
            c.is_ascii_alphanumeric()
                || matches!(
                    c,
                    b'.' | b'_'
                        | b'~'
                        | b'%'
                        | b'!'
                        | b'$'
                        | b'&'
                        | b'*'
                        | b'+'
                        | b','
                        | b';'
                        | b'='
                        | b'-'
                        | b'('
                        | b')'
                )
        };
        let mut p = he;
        k = 0;
        while t.at(p).is_some_and(userinfo) {
            p += step;
            k += 1;
            if k > 128 {
                return None;
            }
        }
        if t.at(p)? != b':' {
            return None;
        }
        p += step;
        let vs = p;
        k = 0;
        while t.at(p).is_some_and(userinfo) {
            p += step;
            k += 1;
            if k > 128 {
                return None;
            }
        }
        let ve = p;
        if t.at(p)? != b'@' {
            return None;
        }
        let host = t.at(p + step)?;
        if !(host.is_ascii_alphanumeric() || host == b'[') {
            return None;
        }
        let stats = Stats::of(t.chars(vs, ve));
        let first = t.at(vs)?;
        value_passes(&stats, first, &self.floors).then_some((vs, ve, Form::UrlUserinfo))
    }
}

/// Skips an HTTP authorization scheme and its spaces at `p`.
fn skip_scheme<const WIDE: bool>(t: Text<'_, WIDE>, p: usize) -> usize {
    const SCHEMES: &[&[u8]] = &[
        b"bearer",
        b"basic",
        b"token",
        b"bot",
        b"digest",
        b"negotiate",
    ];
    let step = Text::<WIDE>::STEP;
    for scheme in SCHEMES {
        let matches = scheme.iter().enumerate().all(|(i, &c)| {
            t.at(p + i * step)
                .is_some_and(|b| b.eq_ignore_ascii_case(&c))
        });
        let after = p + scheme.len() * step;
        if matches && t.at(after) == Some(b' ') {
            return t.spaces(after, 8);
        }
    }
    p
}

#[allow(clippy::too_many_arguments)]
fn push(
    out: &mut Vec<KeyMatch>,
    base: u64,
    own: &Range<u64>,
    s: usize,
    e: usize,
    rule: &'static str,
    description: &'static str,
    form: &'static str,
    wide: bool,
    confidence: Confidence,
) {
    let offset = base + s as u64;
    if !own.contains(&offset) || e <= s {
        return;
    }
    // A UTF-16 span covers the high byte of its last unit too.
    let len = (e - s) as u64;
    out.push(KeyMatch {
        offset,
        len,
        rule,
        description,
        form: form.to_string(),
        encoding: if wide {
            Encoding::Utf16le
        } else {
            Encoding::Ascii
        },
        confidence,
        validated: false,
        key: None,
        key_id: None,
    });
}

/// [`TOKEN_CLASS`] for the text view.
fn token_class() -> ByteClass {
    ByteClass::new(|b| TOKEN_CLASS[usize::from(b)])
}

/// Token run lengths that are candidates, in characters.
const TOKEN_LEN: Range<usize> = MIN_TOKEN..MAX_TOKEN + 1;

impl ChunkDetector for EntropyDetector {
    fn max_len(&self) -> usize {
        // A whole token run, or a name, separators and a value, in UTF-16.
        2 * (MAX_TOKEN + MAX_NAME + 2)
    }

    fn scan(&self, buf: &[u8], base: u64, own: Range<u64>, out: &mut Vec<KeyMatch>) {
        let view = TextView::build(buf, &self.spec);
        self.scan_view(&view, view.hits(0), base, own, 0, out);
    }

    fn text_needs(&self) -> TextNeeds {
        TextNeeds {
            literals: Client {
                literals: KEYWORDS.iter().map(|k| k.as_bytes().to_vec()).collect(),
                in_view: true,
            },
            token: Some(token_class()),
        }
    }

    fn scan_view(
        &self,
        view: &TextView<'_>,
        hits: Hits<'_>,
        base: u64,
        own: Range<u64>,
        _phase: u64,
        out: &mut Vec<KeyMatch>,
    ) {
        let first_keyed = out.len();
        self.keyed_values(view, hits, base, &own, out);
        let keyed = first_keyed..out.len();
        let buf = view.buf;
        view.token_runs(&TOKEN_LEN, |s, e| {
            self.token::<false>(buf, s, e, base, &own, keyed.clone(), out)
        });
        view.wide_token_runs(&TOKEN_LEN, |s, e| {
            self.token::<true>(buf, s, e, base, &own, keyed.clone(), out)
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::text::encode;

    /// Findings of the detector on `text` embedded in binary junk, in the
    /// given encoding and alignment: (value found, rule, form, confidence).
    fn run(
        text: &str,
        enc: Encoding,
        misalign: bool,
    ) -> Vec<(String, &'static str, String, Confidence)> {
        static DET: std::sync::OnceLock<EntropyDetector> = std::sync::OnceLock::new();
        let det = DET.get_or_init(EntropyDetector::new);
        let mut buf = vec![0u8; 7 + usize::from(misalign)];
        buf.extend(encode(text.as_bytes(), enc));
        buf.extend([0u8, 0, 0xff, 0x10]);
        let mut out = Vec::new();
        det.scan(&buf, 0, 0..buf.len() as u64, &mut out);
        out.iter()
            .map(|m| {
                let b = &buf[m.offset as usize..(m.offset + m.len) as usize];
                let v: Vec<u8> = match m.encoding {
                    Encoding::Utf16le => b.iter().step_by(2).copied().collect(),
                    _ => b.to_vec(),
                };
                (
                    String::from_utf8_lossy(&v).into_owned(),
                    m.rule,
                    m.form.clone(),
                    m.confidence,
                )
            })
            .collect()
    }

    fn every_encoding(text: &str) -> Vec<Vec<(String, &'static str, String, Confidence)>> {
        [
            (Encoding::Ascii, false),
            (Encoding::Utf16le, false),
            (Encoding::Utf16le, true),
            (Encoding::Ascii, true),
        ]
        .iter()
        .map(|&(e, m)| run(text, e, m))
        .collect()
    }

    /// (text, the value that must be found, form, confidence).
    const TRUE_EXAMPLES: &[(&str, &str, &str, Confidence)] = &[
        (
            "password=Xk9#mQ2vLp8wRt",
            "Xk9#mQ2vLp8wRt",
            "assignment",
            Confidence::Medium,
        ),
        (
            "db.passwd: \"q7T!zR4pWm2K\"",
            "q7T!zR4pWm2K",
            "assignment",
            Confidence::Medium,
        ),
        (
            "secret: 8fJ2kLq9Zx4WmN7pRt5V",
            "8fJ2kLq9Zx4WmN7pRt5V",
            "assignment",
            Confidence::Medium,
        ),
        (
            r#"{"token": "Zq3X9fKp2LmN8vR4tY6wB1cD"}"#,
            "Zq3X9fKp2LmN8vR4tY6wB1cD",
            "assignment",
            Confidence::Medium,
        ),
        (
            "api_key=c2d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5",
            "c2d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5",
            "assignment",
            Confidence::Medium,
        ),
        (
            "Authorization: Bearer mFKrXDWd9FgrUZ1RR3oaR0JoMpVXb5Te",
            "mFKrXDWd9FgrUZ1RR3oaR0JoMpVXb5Te",
            "header",
            Confidence::Medium,
        ),
        (
            "Authorization: Basic c3ZjLWJhY2t1cDp2amRFQ1ByV3Z0",
            "c3ZjLWJhY2t1cDp2amRFQ1ByV3Z0",
            "header",
            Confidence::Medium,
        ),
        (
            "X-Api-Key: 9Rk2Lm7Qx4Zt8Wp3Nv6Y",
            "9Rk2Lm7Qx4Zt8Wp3Nv6Y",
            "header",
            Confidence::Medium,
        ),
        (
            "postgres://app:Tr0ub4dor3xK9q@db.internal:5432/x",
            "Tr0ub4dor3xK9q",
            "url-userinfo",
            Confidence::Medium,
        ),
        (
            "\0MY_SERVICE_SECRET=hP3vX8qL2mZ9rT5w\0",
            "hP3vX8qL2mZ9rT5w",
            "env",
            Confidence::Medium,
        ),
        (
            "\0STRIPE_KEY=Qm8xZ2pL9vR4tW7nK3yB\0",
            "Qm8xZ2pL9vR4tW7nK3yB",
            "env",
            Confidence::Medium,
        ),
        (
            "\0DEPLOY_CREDENTIALS=V7q!Lx2Rm9Pz4Kt8\0",
            "V7q!Lx2Rm9Pz4Kt8",
            "env",
            Confidence::Medium,
        ),
        (
            "clientSecret := 'W4nQ8rZ2xP7vL3mK9tY5'",
            "W4nQ8rZ2xP7vL3mK9tY5",
            "assignment",
            Confidence::Medium,
        ),
        (
            "blob 7Hq2Vx9LmR4pZ8tW3nK6yB1cD5fG0jA2sUiOoQe end",
            "7Hq2Vx9LmR4pZ8tW3nK6yB1cD5fG0jA2sUiOoQe",
            "token-base62",
            Confidence::Low,
        ),
        (
            "k 3f9a1c7e5b2d8f4a6c0e9b3d7f1a5c8e2b6d0f4a9c3e7b1d end",
            "3f9a1c7e5b2d8f4a6c0e9b3d7f1a5c8e2b6d0f4a9c3e7b1d",
            "token-hex",
            Confidence::Low,
        ),
        (
            "x=\"q8Zr+2LxW/9mKp4Vt7Nn3Yb6Jc1Hd5Fg0Sa\"",
            "q8Zr+2LxW/9mKp4Vt7Nn3Yb6Jc1Hd5Fg0Sa",
            "token-base64",
            Confidence::Low,
        ),
    ];

    /// Must not be medium findings (and mostly not findings at all).
    const FALSE_EXAMPLES: &[&str] = &[
        // UUIDs and GUIDs.
        "id 550e8400-e29b-41d4-a716-446655440000 x",
        "{6F9619FF-8B86-D011-B42D-00C04FC964FF}",
        // Build ids and content hashes are hex; low at most.
        "password=${DB_PASSWORD}",
        "password: ********",
        "password = self.password",
        "--password=PASSWORD",
        "PASSWORD_STORE_DIR=/home/user/.password-store",
        "token_type: \"Bearer\"",
        "tokenizer = AutoTokenizer.from_pretrained(name)",
        "author=Jane Smith-Doe 2021",
        "\0SSH_AUTH_SOCK=/tmp/ssh-XXXXq3Zr9/agent.1234\0",
        "\0XAUTHORITY=/run/user/1000/gdm/Xauthority\0",
        "\0KEYMAP=de-latin1-nodeadkeys\0",
        "secret=aaaaaaaaaaaaaaaaaaaaaaaa1",
        "api_key=0123456789abcdef0123456789abcdef",
        "publicKeyToken=\"6595b64144ccf1df\"",
        "SECRET_KEY_ID=AKIA12345678",
        "if (password == other1234567) {",
        "mysql://root:%s@%s:%d/%s",
        "https://deploy:********@git.example.com/repo.git",
        "_ZN4core3fmt9Formatter9write_str17h2c3e4f5a6b7c8d9eE",
        "_ZNSt3__112basic_stringIcNS_11char_traitsIcEENS_9allocatorIcEEE",
        "ZwWow64GetNativeSystemInformation",
        "Wow64ShallowThunkAllocObjectAttributes32TO64_FNC",
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
        "/usr/lib/x86_64-linux-gnu/libstdc++.so.6.0.30",
        "abababababababababababababababababababab12",
        "Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFy",
        "a4337bc45a8fc544c03f52dc550cd6e1e87021bc8",
    ];

    #[test]
    fn true_examples_in_every_encoding() {
        for &(text, value, form, confidence) in TRUE_EXAMPLES {
            for (i, found) in every_encoding(text).into_iter().enumerate() {
                assert!(
                    found
                        .iter()
                        .any(|(v, _, f, c)| v == value && f == form && *c == confidence),
                    "{text:?} (encoding {i}): want {value:?} as {form}, got {found:?}"
                );
                // Only the value: the name survives.
                assert!(
                    found.iter().all(|(v, ..)| value.contains(v.as_str())),
                    "{found:?}"
                );
            }
        }
    }

    #[test]
    fn false_examples_are_never_medium() {
        for text in FALSE_EXAMPLES {
            for found in every_encoding(text) {
                assert!(
                    found.iter().all(|(_, _, _, c)| *c < Confidence::Medium),
                    "{text:?}: {found:?}"
                );
            }
        }
    }

    #[test]
    fn identifiers_hashes_and_tables_are_not_tokens() {
        for text in [
            "ZwWow64GetNativeSystemInformation",
            "Wow64ShallowThunkAllocObjectAttributes32TO64_FNC",
            "_ZNSt3__112basic_stringIcNS_11char_traitsIcEENS_9allocatorIcEEE",
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
            "0123456789abcdef0123456789abcdef0123",
            "550e8400-e29b-41d4-a716-446655440000",
            // Log and protocol ids: random, public.
            "status=200 trace_id=35fbe209111eabaa544ae947cd87c9c0\n",
            "unix:abstract=/tmp/dbus-qCp5F0PuPb,guid=d8082bf620d029870619732a578dfc4d",
            "{\"requestId\": \"q8ZrW2LxK9mKp4Vt7Nn3Yb6Jc1Hd5Fg0Sa\"}",
        ] {
            assert_eq!(run(text, Encoding::Ascii, false), vec![], "{text}");
        }
    }

    /// The floor keeps random strings of every alphabet: at most 1% of
    /// 2,000 random values per alphabet and length fall under it.
    #[test]
    fn floors_keep_random_tokens() {
        let floors = Floors::new();
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for (alpha, chars) in [
            (Alpha::Hex, &b"0123456789abcdef"[..]),
            (
                Alpha::Base62,
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
            ),
        ] {
            for n in [MIN_TOKEN, 40, 64, 128] {
                let mut below = 0;
                for _ in 0..2000 {
                    let s: Vec<u8> = (0..n)
                        .map(|_| chars[(next() % chars.len() as u64) as usize])
                        .collect();
                    let st = Stats::of(s.iter().copied());
                    if st.entropy() < floors.token[alpha.index()][n] as f64 {
                        below += 1;
                    }
                }
                assert!(
                    below <= 20,
                    "{alpha:?} n={n}: {below} of 2000 under the floor"
                );
            }
        }
    }

    #[test]
    fn running_entropy_equals_the_plug_in_formula() {
        let long: String = (0..600u32)
            .map(|i| char::from(b'!' + (i * i % 90) as u8))
            .collect();
        for text in [
            "",
            "a",
            "aaaa",
            "abcd",
            "Zq3X9fKp2LmN8vR4tY6wB1cD5eH7jA0s",
            &long,
        ] {
            let mut counts = [0usize; 128];
            text.bytes().for_each(|b| counts[usize::from(b)] += 1);
            let n = text.len() as f64;
            let direct: f64 = counts
                .iter()
                .filter(|&&c| c > 0)
                .map(|&c| -(c as f64 / n) * (c as f64 / n).log2())
                .sum();
            let running = Stats::of(text.bytes()).entropy();
            assert!(
                (running - direct).abs() < 1e-9,
                "{text:?}: {running} vs {direct}"
            );
        }
    }

    #[test]
    fn expected_entropy_matches_known_values() {
        // Sixteen random hex digits average 3.21 bits (measured 3.20).
        assert!((expected_entropy(16, 16) - 3.209).abs() < 0.01);
        assert!((expected_entropy(64, 128) - 5.595).abs() < 0.01);
    }

    #[test]
    fn run_finder_sees_every_long_run_and_no_short_one() {
        let mut buf = vec![0u8; 5];
        buf.extend(std::iter::repeat_n(b'a', MIN_TOKEN - 1));
        buf.push(b' ');
        buf.extend(std::iter::repeat_n(b'b', MIN_TOKEN));
        buf.push(0);
        buf.extend(std::iter::repeat_n(b'c', MAX_TOKEN + 1));
        buf.push(0);
        let spec = ViewSpec::for_literals([&b"key"[..]], Some(token_class())).unwrap();
        let mut runs = Vec::new();
        TextView::build(&buf, &spec).token_runs(&TOKEN_LEN, |s, e| runs.push((s, e)));
        assert_eq!(runs, vec![(5 + MIN_TOKEN, 5 + 2 * MIN_TOKEN)]);
        let wide = encode(&buf, Encoding::Utf16le);
        for pad in 0..2 {
            let mut w = vec![0x41u8; pad];
            w.extend(&wide);
            let mut runs = Vec::new();
            TextView::build(&w, &spec).wide_token_runs(&TOKEN_LEN, |s, e| runs.push((s, e)));
            let s = pad + 2 * (5 + MIN_TOKEN);
            assert_eq!(runs, vec![(s, s + 2 * MIN_TOKEN)], "pad {pad}");
        }
    }
}
