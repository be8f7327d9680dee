//! Known-key mode: find each known public key in the dump, then test the
//! memory around every copy for the matching private value.
//!
//! # Finding the anchors
//!
//! The anchors are the RSA modulus n and the EC public X coordinate, each
//! big-endian (DER, CNG, SEC1, JWK) and little-endian (limb arrays of
//! OpenSSL, BoringSSL, Go, num-bigint; CAPI blobs). X alone is searched
//! rather than `X ‖ Y`, because it is in every encoding of the point
//! (`04 ‖ X ‖ Y`, `02 ‖ X`, bare `X ‖ Y`) and in libraries that keep the two
//! coordinates as separate big numbers.
//!
//! Anchors are searched with the sampled filter of [`super::sample`]
//! (one hash probe every 25 to 32 bytes), in
//! parallel over the scan plan's chunks with an overlap of the longest
//! anchor. An Aho-Corasick automaton over the same needles measured 0.1–0.2
//! GB/s per core: too slow for a pass meant to cost a fraction of a scan.
//!
//! # Testing candidates
//!
//! Around each anchor copy (±64 KiB for RSA, ±16 KiB for EC, clipped to the
//! scan segment, overlapping windows merged) candidates are read:
//!
//! * at every 8-byte-aligned virtual address (file offset for ranges without
//!   one). 8 rather than 4: 64-bit libraries keep limbs in 8-byte words, and
//!   allocators return blocks aligned to at least 8 bytes on 32- and 64-bit
//!   systems alike, so a limb array starts 8-aligned even where limbs are 4
//!   bytes; 4 would double the cost to catch only limb arrays embedded at odd
//!   word offsets inside larger structures;
//! * at every byte offset within 24 bytes before and after the anchor (after
//!   Y, for EC), where packed blobs (CNG `BCRYPT_RSAFULLPRIVATE_BLOB`, CAPI
//!   `PRIVATEKEYBLOB`, CNG ECC private blobs) put the first private value;
//!
//! in both byte orders, nearest first. An RSA candidate must be odd, have the
//! bit length of a balanced factor (half of n's, ±8 bits), and look random
//! (enough distinct byte values) before the bignum division n mod p is paid
//! for. An EC candidate must look random, and then d·G is compared with the
//! public point using a precomputed comb ([`super::comb`]).
//!
//! Windows around little-endian anchors (a library's own big numbers) are
//! tried first, then the others, each in file order; within a window the
//! first candidate that passes in (distance, offset, length, order) order
//! wins, and the search for that key stops. The result does not depend on
//! thread scheduling.
//!
//! A window costs up to about 45 ms (RSA, ±64 KiB of random-looking memory,
//! two cores) when the private value is not there: a dump holding thousands
//! of copies of a known public key (a certificate in every TLS connection's
//! buffers) makes this pass slow rather than incomplete.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use anyhow::Result;
use num_bigint::BigUint;
use num_traits::Zero;
use rayon::prelude::*;
use zeroize::Zeroizing;

use super::comb::{Checker, Table};
use super::load::{load_file, Loaded, PublicKey};
use super::sample::Sampler;
use crate::detect::{DumpDetector, DumpPass, Encoding, KeyMatch, WholeDump};
use crate::keys::{Curve, KeyMaterial, RsaKey};
use crate::layout::Layout;
use crate::rules::Confidence;
use crate::scan::plan::{self, Segment};

pub const RULE: &str = "known-key-private-part";
pub const DESCRIPTION: &str =
    "A private part of a key the user named by its public key, found near a copy of that public key";

const RSA_RADIUS: u64 = 64 << 10;
/// Smaller than RSA's because an EC test (a point multiplication) costs
/// about 25 times an RSA test (a bignum division).
const EC_RADIUS: u64 = 16 << 10;
const ALIGN: u64 = 8;
const ADJACENT: u64 = 24;
/// How far a factor's bit length may stray from half of n's.
const FACTOR_SLACK_BITS: u64 = 8;

/// The public keys of known-key mode, ready to search a dump.
pub struct KnownKeys {
    keys: Vec<Known>,
    warnings: Vec<String>,
    /// The anchors, and whose key each is and whether it is little-endian.
    anchors: Sampler,
    anchor_keys: Vec<(u32, bool)>,
    tables: Tables,
}

struct Known {
    id: String,
    source: String,
    key: PublicKey,
}

/// Comb tables, built the first time a key of the curve has an anchor.
#[derive(Default)]
struct Tables {
    p256: OnceLock<Arc<Table<p256::NistP256>>>,
    p384: OnceLock<Arc<Table<p384::NistP384>>>,
    p521: OnceLock<Arc<Table<p521::NistP521>>>,
    k256: OnceLock<Arc<Table<k256::Secp256k1>>>,
}

enum EcCheck {
    P256(Checker<p256::NistP256>),
    P384(Checker<p384::NistP384>),
    P521(Checker<p521::NistP521>),
    K256(Checker<k256::Secp256k1>),
}

impl EcCheck {
    fn matches(&self, bytes: &[u8], le: bool) -> bool {
        match self {
            EcCheck::P256(c) => c.matches(bytes, le),
            EcCheck::P384(c) => c.matches(bytes, le),
            EcCheck::P521(c) => c.matches(bytes, le),
            EcCheck::K256(c) => c.matches(bytes, le),
        }
    }
}

/// Loads the public keys of every file. Unsupported entries are skipped
/// with a warning ([`KnownKeys::warnings`]); a file that cannot be read or
/// parsed, that holds a damaged key, or that holds no usable key is an
/// error naming the file. The same key given twice is kept once.
pub fn load_known_keys(paths: &[PathBuf]) -> Result<KnownKeys> {
    let mut loaded: Vec<Loaded> = Vec::new();
    let mut warnings = Vec::new();
    for path in paths {
        load_file(path, &mut loaded, &mut warnings)?;
    }
    let mut keys: Vec<Known> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for l in loaded {
        let id = l.key.id();
        if seen.insert(id.clone()) {
            keys.push(Known {
                id,
                source: l.source,
                key: l.key,
            });
        }
    }
    Ok(KnownKeys::new(keys, warnings))
}

impl KnownKeys {
    fn new(keys: Vec<Known>, warnings: Vec<String>) -> Self {
        let mut needles: Vec<(Vec<u8>, u32, bool)> = Vec::new();
        for (i, k) in keys.iter().enumerate() {
            let be = match &k.key {
                PublicKey::Rsa { n, .. } => n.to_bytes_be(),
                PublicKey::Ec { curve, point } => point[1..1 + curve.field_len()].to_vec(),
            };
            let mut le = be.clone();
            le.reverse();
            needles.push((be, i as u32, false));
            needles.push((le, i as u32, true));
        }
        needles.sort();
        needles.dedup_by(|b, a| a.0 == b.0);
        let anchor_keys = needles.iter().map(|n| (n.1, n.2)).collect();
        KnownKeys {
            keys,
            warnings,
            anchors: Sampler::new(needles.into_iter().map(|n| Zeroizing::new(n.0)).collect()),
            anchor_keys,
            tables: Tables::default(),
        }
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The keys' ids (as [`KeyMaterial::id`] names the private keys), in
    /// load order.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().map(|k| k.id.as_str())
    }

    /// Each key's id and where it was read from (`keys.json: keys[2]`).
    pub fn sources(&self) -> impl Iterator<Item = (&str, &str)> {
        self.keys.iter().map(|k| (k.id.as_str(), k.source.as_str()))
    }

    /// Entries that were skipped or need the user's attention, each naming
    /// its file and entry.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    fn ec_check(&self, curve: Curve, point: &[u8]) -> Option<EcCheck> {
        let digits = curve.field_len();
        let t = &self.tables;
        Some(match curve {
            Curve::P256 => EcCheck::P256(Checker::new(
                t.p256.get_or_init(|| Arc::new(Table::new(digits))).clone(),
                point,
            )?),
            Curve::P384 => EcCheck::P384(Checker::new(
                t.p384.get_or_init(|| Arc::new(Table::new(digits))).clone(),
                point,
            )?),
            Curve::P521 => EcCheck::P521(Checker::new(
                t.p521.get_or_init(|| Arc::new(Table::new(digits))).clone(),
                point,
            )?),
            Curve::Secp256k1 => EcCheck::K256(Checker::new(
                t.k256.get_or_init(|| Arc::new(Table::new(digits))).clone(),
                point,
            )?),
        })
    }

    /// Every anchor copy in the dump, sorted by key then offset.
    pub(super) fn anchors_in(&self, data: &[u8], segments: &[Segment]) -> Vec<Hit> {
        let chunks = plan::chunks(segments, plan::CHUNK_SIZE, self.anchors.longest() as u64);
        let mut hits: Vec<Hit> = plan::par_chunks(&chunks)
            .flat_map_iter(|c| {
                let mut v = Vec::new();
                let buf = &data[c.read_start as usize..c.read_end as usize];
                self.anchors
                    .find(buf, c.read_start, c.own_start..c.own_end, &mut |n, at| {
                        v.push(Hit {
                            offset: c.read_start + at as u64,
                            len: self.anchors.needle_len(n) as u64,
                            key: self.anchor_keys[n].0,
                            le: self.anchor_keys[n].1,
                        })
                    });
                v
            })
            .collect();
        hits.sort_unstable_by_key(|h| (h.key, h.offset, h.len));
        hits.dedup();
        hits
    }

    fn search_key(
        &self,
        data: &[u8],
        layout: &Layout,
        segments: &[Segment],
        hits: &[Hit],
    ) -> Option<KeyMatch> {
        let known = &self.keys[hits[0].key as usize];
        let key_match = |offset, len, form: String, key| KeyMatch {
            offset,
            len,
            rule: RULE,
            description: DESCRIPTION,
            form,
            encoding: Encoding::Binary,
            confidence: Confidence::High,
            validated: true,
            key: Some(Arc::new(key)),
            key_id: Some(known.id.clone()),
        };
        match &known.key {
            PublicKey::Rsa { n, e } => {
                let bits = n.bits();
                let lo = bits / 2 - FACTOR_SLACK_BITS;
                let hi = bits.div_ceil(2) + FACTOR_SLACK_BITS;
                let lens = (lo.div_ceil(8) as usize)..=(hi.div_ceil(8) as usize);
                for w in windows(hits, segments, RSA_RADIUS) {
                    let cands = candidates(layout, &w, lens.clone(), 0);
                    let found = cands.par_iter().find_map_first(|c| {
                        let b = &data[c.pos as usize..c.pos as usize + c.len as usize];
                        rsa_factor(b, c.le, n, e, lo..=hi).map(|k| (*c, k))
                    });
                    if let Some((c, k)) = found {
                        return Some(key_match(
                            c.pos,
                            c.len as u64,
                            form("rsa-p", c.le),
                            KeyMaterial::Rsa(k),
                        ));
                    }
                }
                None
            }
            PublicKey::Ec { curve, point } => {
                let check = self.ec_check(*curve, point)?;
                let f = curve.field_len();
                for w in windows(hits, segments, EC_RADIUS) {
                    // The anchor is X; a blob's scalar follows Y.
                    let cands = candidates(layout, &w, f..=f, f as u64);
                    let found = cands.par_iter().find_map_first(|c| {
                        let b = &data[c.pos as usize..c.pos as usize + f];
                        ec_scalar(b, c.le, *curve, &check, point).map(|k| (*c, k))
                    });
                    if let Some((c, (d, public))) = found {
                        let key = KeyMaterial::Ec {
                            curve: *curve,
                            d,
                            public,
                        };
                        return Some(key_match(c.pos, f as u64, form("ec-d", c.le), key));
                    }
                }
                None
            }
        }
    }
}

fn form(part: &str, le: bool) -> String {
    format!("{part}-{}", if le { "le" } else { "be" })
}

impl std::fmt::Debug for KnownKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KnownKeys")
            .field("ids", &self.ids().collect::<Vec<_>>())
            .field("warnings", &self.warnings)
            .finish()
    }
}

impl DumpDetector for KnownKeys {
    fn start<'a>(
        &'a self,
        data: &'a [u8],
        layout: &'a Layout,
        _chunks: &[crate::scan::plan::Chunk],
    ) -> Box<dyn DumpPass + 'a> {
        Box::new(WholeDump(move |out: &mut Vec<KeyMatch>| {
            self.find(data, layout, out)
        }))
    }
}

impl KnownKeys {
    /// Reports one match per key whose private value was found: the factor
    /// or scalar itself. The anchors (public values) are not reported.
    fn find(&self, data: &[u8], layout: &Layout, out: &mut Vec<KeyMatch>) {
        if self.keys.is_empty() {
            return;
        }
        let segments = plan::segments(layout);
        let hits = self.anchors_in(data, &segments);
        let groups: Vec<&[Hit]> = hits.chunk_by(|a, b| a.key == b.key).collect();
        let found: Vec<KeyMatch> = groups
            .par_iter()
            .filter_map(|g| self.search_key(data, layout, &segments, g))
            .collect();
        out.extend(found);
    }
}

// ---------------------------------------------------------------------------
// Candidate tests
// ---------------------------------------------------------------------------

/// A prime factor of `n` stored in `b`, as a validated key.
fn rsa_factor(
    b: &[u8],
    le: bool,
    n: &BigUint,
    e: &BigUint,
    bits: std::ops::RangeInclusive<u64>,
) -> Option<RsaKey> {
    let (low, high) = if le {
        (b[0], b[b.len() - 1])
    } else {
        (b[b.len() - 1], b[0])
    };
    if low & 1 == 0 || high == 0 {
        return None;
    }
    let len = b.len() as u64 * 8 - u64::from(high.leading_zeros());
    if !bits.contains(&len) || !looks_random(b) {
        return None;
    }
    let p = if le {
        BigUint::from_bytes_le(b)
    } else {
        BigUint::from_bytes_be(b)
    };
    if !(n % &p).is_zero() {
        return None;
    }
    RsaKey::from_factor(n, e, &p)
}

/// An EC private scalar stored in `b` whose public point is `point`: the
/// scalar (big-endian) and the uncompressed public point.
fn ec_scalar(
    b: &[u8],
    le: bool,
    curve: Curve,
    check: &EcCheck,
    point: &[u8],
) -> Option<(Zeroizing<Vec<u8>>, Vec<u8>)> {
    let top = if le { b[b.len() - 1] } else { b[0] };
    // A P-521 scalar has 521 bits: the top byte of its 66 is 0 or 1.
    if (curve == Curve::P521 && top > 1) || !looks_random(b) || !check.matches(b, le) {
        return None;
    }
    let mut d = Zeroizing::new(b.to_vec());
    if le {
        d.reverse();
    }
    let public = curve.validate(&d, Some(point))?;
    Some((d, public))
}

/// Key material is uniformly random; heap words (pointers, small integers,
/// text) are not. A random string of m bytes has about 256·(1 − (255/256)^m)
/// distinct values (30 of 32, 101 of 128); accepting 60% of that rejects
/// almost all non-random data and a real key with probability below 10⁻⁸.
fn looks_random(b: &[u8]) -> bool {
    let mut seen = [0u64; 4];
    for &x in b {
        seen[(x >> 6) as usize] |= 1 << (x & 63);
    }
    let distinct: u32 = seen.iter().map(|w| w.count_ones()).sum();
    let expected = 256.0 * (1.0 - (255.0f64 / 256.0).powi(b.len() as i32));
    f64::from(distinct) >= 0.6 * expected
}

// ---------------------------------------------------------------------------
// Windows and candidates
// ---------------------------------------------------------------------------

/// A stretch of one segment to test, and the anchor copies inside it.
struct Window {
    start: u64,
    end: u64,
    anchors: Vec<(u64, u64)>,
    /// Some anchor is little-endian: a library's big number.
    le: bool,
}

/// One window per anchor copy, clipped to its segment; windows that touch
/// within a segment are merged. Windows around little-endian anchors come
/// first: a library keeps a key's numbers together, while big-endian copies
/// of a public key (certificates, JWKS text decoded) can be many and far
/// from any private value, and the search stops at the first window that
/// holds the key.
fn windows(hits: &[Hit], segments: &[Segment], radius: u64) -> Vec<Window> {
    let mut out: Vec<(usize, Window)> = Vec::new();
    for h in hits {
        let si = segments.partition_point(|s| s.end <= h.offset);
        let Some(seg) = segments.get(si) else {
            continue;
        };
        let end = h.offset + h.len;
        let start = h.offset.saturating_sub(radius).max(seg.start);
        let stop = end.saturating_add(radius).min(seg.end);
        match out.last_mut() {
            Some((i, w)) if *i == si && start <= w.end => {
                w.end = w.end.max(stop);
                w.anchors.push((h.offset, end));
                w.le |= h.le;
            }
            _ => out.push((
                si,
                Window {
                    start,
                    end: stop,
                    anchors: vec![(h.offset, end)],
                    le: h.le,
                },
            )),
        }
    }
    let mut out: Vec<Window> = out.into_iter().map(|(_, w)| w).collect();
    out.sort_by_key(|w| (!w.le, w.start));
    out
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Cand {
    dist: u64,
    pos: u64,
    len: u32,
    le: bool,
}

/// Every candidate of the window, nearest first. Offsets up to
/// `ADJACENT + skip` after an anchor and `ADJACENT` before it are all tried.
fn candidates(
    layout: &Layout,
    w: &Window,
    lens: std::ops::RangeInclusive<usize>,
    skip: u64,
) -> Vec<Cand> {
    let mut out = Vec::new();
    let mut push = |pos: u64, len: usize| {
        let end = pos + len as u64;
        if pos < w.start || end > w.end {
            return;
        }
        let mut dist = u64::MAX;
        for &(s, e) in &w.anchors {
            if pos < e && s < end {
                return;
            }
            dist = dist.min(if end <= s { s - end } else { pos - e });
        }
        for le in [true, false] {
            out.push(Cand {
                dist,
                pos,
                len: len as u32,
                le,
            });
        }
    };
    let first = layout.ranges.partition_point(|r| r.end() <= w.start);
    for r in layout.ranges[first..]
        .iter()
        .take_while(|r| r.start < w.end)
    {
        let lo = r.start.max(w.start);
        let hi = r.end().min(w.end);
        let addr = r.vaddr.map_or(lo, |v| v.wrapping_add(lo - r.start));
        let mut pos = lo + (ALIGN - addr % ALIGN) % ALIGN;
        while pos < hi {
            for len in lens.clone() {
                push(pos, len);
            }
            pos += ALIGN;
        }
    }
    for &(s, e) in &w.anchors {
        for len in lens.clone() {
            for k in 0..=ADJACENT + skip {
                push(e + k, len);
            }
            for k in 0..=ADJACENT {
                if let Some(pos) = s.checked_sub(k + len as u64) {
                    push(pos, len);
                }
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// A copy of an anchor: file offset, length, and whose key it is.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) struct Hit {
    offset: u64,
    len: u64,
    key: u32,
    le: bool,
}
