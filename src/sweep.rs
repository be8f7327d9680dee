//! The sweep: once a private key is validated, every copy of its secret
//! parts is removed from the whole dump, wherever and however it lies.
//!
//! Crypto libraries keep their own copies of a key's numbers (BIGNUM limbs,
//! Montgomery contexts, CRT values) long after the DER they parsed is
//! gone. From a validated key we derive each secret part exactly and search
//! for it as big-endian bytes, little-endian bytes (which is also how
//! 32- and 64-bit limb arrays lie in little-endian memory, least
//! significant limb first), and as hex text in ASCII and UTF-16LE. Each copy
//! found is a finding that names its key.

use std::collections::BTreeMap;
use std::sync::Arc;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use rayon::prelude::*;

use crate::detect::{Encoding, KeyMatch};
use crate::fingerprint::Fingerprinter;
use crate::keys::KeyMaterial;
use crate::layout::Layout;
use crate::rules::Confidence;
use crate::scan::plan;

/// Shorter values occur by chance; every real secret part is longer.
const MIN_NEEDLE: usize = 16;

/// Dumps below this size are swept with an automaton that is cheap to
/// build rather than fast to run (see [`sweep`]).
const SMALL_DUMP: usize = 32 << 20;

pub const RULE: &str = "swept-key-material";
const DESCRIPTION: &str =
    "A copy of a secret part of a validated private key, elsewhere in the dump";

struct Needle {
    bytes: Vec<u8>,
    form: String,
    encoding: Encoding,
    key_id: Arc<str>,
}

impl Drop for Needle {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.bytes);
    }
}

/// The variants of one secret part that the sweep looks for.
fn variants(part: &crate::keys::SecretPart) -> Vec<(String, Vec<u8>, Encoding)> {
    let be = part.bytes.to_vec();
    let mut out = vec![("be".to_string(), be.clone(), Encoding::Binary)];
    if part.numeric {
        let mut le = be.clone();
        le.reverse();
        out.push(("le".into(), le, Encoding::Binary));
    }
    for (name, upper) in [("hex", false), ("HEX", true)] {
        let text = if upper {
            hex::encode_upper(&be)
        } else {
            hex::encode(&be)
        };
        let wide: Vec<u8> = text.bytes().flat_map(|b| [b, 0]).collect();
        out.push((name.to_string(), text.into_bytes(), Encoding::Ascii));
        out.push((format!("{name}-utf16le"), wide, Encoding::Utf16le));
    }
    out
}

/// Finds every copy of every validated key's secret parts.
pub fn sweep(
    data: &[u8],
    layout: &Layout,
    found: &[KeyMatch],
    fp: &Fingerprinter,
) -> Vec<KeyMatch> {
    // One entry per distinct key, in a stable order.
    let mut keys: BTreeMap<String, Arc<KeyMaterial>> = BTreeMap::new();
    // Validated keys, and high-confidence exact structures whose key cannot
    // be checked (an Ed25519 seed without its public key: any 32 bytes are
    // a valid seed, but the structure around them is exact).
    for k in found
        .iter()
        .filter(|k| k.validated || k.confidence == Confidence::High)
    {
        if let Some(m) = &k.key {
            keys.entry(m.id(fp)).or_insert_with(|| m.clone());
        }
    }
    if keys.is_empty() {
        return Vec::new();
    }
    let mut needles = Vec::new();
    for (id, key) in &keys {
        let id: Arc<str> = Arc::from(id.as_str());
        for part in key.secret_parts() {
            for (variant, bytes, encoding) in variants(&part) {
                if bytes.len() >= MIN_NEEDLE {
                    needles.push(Needle {
                        bytes,
                        form: format!("{}-{}", part.name, variant),
                        encoding,
                        key_id: id.clone(),
                    });
                }
            }
        }
    }
    // Identical needles (a part equal to another) are searched once.
    needles.sort_by(|a, b| a.bytes.cmp(&b.bytes).then(a.form.cmp(&b.form)));
    needles.dedup_by(|b, a| a.bytes == b.bytes);
    // The crate's own choice for few needles is a DFA. For the one RSA key
    // of the 47 KB fixture (its secret parts in six forms) building it was
    // most of the run: a whole scan took 58-71 ms with it and 29-30 ms
    // with a contiguous NFA, which builds at once (`perf stat`, 3 x 20
    // alternating runs). On a large dump the DFA's faster search can pay
    // for its build (where the needles are too many for the Teddy
    // prefilter), so the crate chooses there.
    let kind = (data.len() < SMALL_DUMP).then_some(AhoCorasickKind::ContiguousNFA);
    let automaton = match AhoCorasickBuilder::new()
        .match_kind(MatchKind::LeftmostLongest)
        .kind(kind)
        .build(needles.iter().map(|n| &n.bytes))
    {
        Ok(a) => a,
        Err(_) => return Vec::new(),
    };
    let longest = needles.iter().map(|n| n.bytes.len()).max().unwrap_or(0) as u64;
    search(data, layout, &automaton, &needles, longest, found)
}

fn search(
    data: &[u8],
    layout: &Layout,
    automaton: &AhoCorasick,
    needles: &[Needle],
    longest: u64,
    found: &[KeyMatch],
) -> Vec<KeyMatch> {
    let segments = plan::segments(layout);
    let chunks = plan::chunks(&segments, plan::CHUNK_SIZE, longest);
    // A part found inside the structure it was detected in is not a copy.
    let originals = crate::redact::plan(found.iter().map(|k| (k.offset, k.len)), &[]);
    let inside_original = |s: u64, e: u64| {
        let i = originals.partition_point(|&(a, _)| a <= s);
        i > 0 && originals[i - 1].1 >= e
    };
    let mut out: Vec<KeyMatch> = plan::par_chunks(&chunks)
        .flat_map_iter(|c| {
            let buf = &data[c.read_start as usize..c.read_end as usize];
            let mut local = Vec::new();
            for hit in automaton.find_iter(buf) {
                let offset = c.read_start + hit.start() as u64;
                let end = c.read_start + hit.end() as u64;
                if offset < c.own_start || offset >= c.own_end || inside_original(offset, end) {
                    continue;
                }
                let n = &needles[hit.pattern().as_usize()];
                local.push(KeyMatch {
                    offset,
                    len: end - offset,
                    rule: RULE,
                    description: DESCRIPTION,
                    form: n.form.clone(),
                    encoding: n.encoding,
                    confidence: Confidence::High,
                    validated: true,
                    key: None,
                    key_id: Some(n.key_id.to_string()),
                });
            }
            local
        })
        .collect();
    crate::scan::sort_keys(&mut out);
    out
}
