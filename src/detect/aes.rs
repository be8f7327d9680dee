//! Expanded AES key schedules: the round keys a program derives from an
//! AES key and keeps beside it (OpenSSL's `AES_KEY`, AES-NI contexts,
//! Windows' and the kernel's cipher contexts). The key itself may be gone
//! from memory while its schedule stays, and the first words of an
//! encryption schedule *are* the key.
//!
//! The approach of aeskeyfind, without its slowness: a schedule is
//! recognised by the linear relations between its words, then proved by
//! recomputing it from the key it implies.
//!
//! 1. XOR filter, at every 4-byte-aligned virtual address (file offset for
//!    bytes outside memory). Inside a round the
//!    key expansion is `w[i] = w[i-1] ^ w[i-Nk]`, so two neighbouring
//!    words `j`, `j+1` both satisfy `w[j] ^ w[j-1] ^ w[j+d] = 0` for one
//!    distance `d` per schedule kind (−4, −6, −8 for 128/192/256-bit
//!    encryption schedules). The decryption schedule (round keys reversed,
//!    InvMixColumns applied to all but the first and last) keeps these
//!    relations because InvMixColumns is linear, with other distances
//!    (+4, +2, +8). A byte-swapped word layout keeps them too: XOR does not
//!    care about byte order. Zero words satisfy every XOR relation, and a
//!    run of equal words after zeros satisfies some, so the two words must
//!    be non-zero and differ from their predecessors (in a schedule each
//!    of these fails with probability 2^-32). The six relations are
//!    evaluated over blocks of words in straight-line code that the
//!    compiler vectorises (SSE2, or AVX2 when the CPU has it); on data that
//!    is not a schedule a block almost never passes, and only a block that
//!    passes is looked at word by word. The block test takes every other
//!    word only: in every schedule kind but one the pairs that hold come in
//!    runs of two or more (the anchor is chosen after the first of a run),
//!    so the anchor or the word before it is always tested, and a pair of
//!    words is one 64-bit compare.
//! 2. Relation check: at the start the hit implies, every XOR relation of
//!    that schedule kind must hold (24 to 39 of them).
//! 3. Exact check: the key is read back (the first Nk words of an
//!    encryption schedule; the last round key and InvMixColumns undone on
//!    the one before it for a decryption schedule), expanded again, and the
//!    whole schedule compared byte for byte, in both byte layouts.
//!
//! Every finding is therefore an exact schedule: `validated`, high
//! confidence. What it cannot see: schedules that are not contiguous
//! (bitsliced implementations, fixsliced AES, T-table implementations that
//! interleave other state), schedules that do not start at a 4-aligned
//! offset, and damaged schedules: one wrong byte and nothing is reported
//! (the sweep still removes the key's other copies if the key is found
//! elsewhere). A bare AES key without its schedule is random bytes and is
//! not found here.

use std::ops::Range;
use std::sync::Arc;

use zeroize::Zeroizing;

use super::{ChunkDetector, Encoding, KeyMatch};
use crate::keys::aes::{self as aes_keys, ByteLayout, Direction};
use crate::keys::KeyMaterial;
use crate::rules::Confidence;

pub const RULE: &str = "aes-key-schedule";
const DESCRIPTION: &str = "Expanded AES key schedule (encryption or decryption round keys)";

/// The longest schedule (AES-256: 60 words).
const MAX_SCHEDULE: usize = 240;

/// Words the filter reads before and after the word it tests.
const BEFORE: usize = 8;
const AFTER: usize = 9;

/// Words tested per filter block. Large enough to amortise the fallback
/// bookkeeping, small enough that the block stays in L1.
const BLOCK: usize = 1024;
const BLOCK_BYTES: usize = 4 * (BLOCK + BEFORE + AFTER);
type BlockBytes = [u8; BLOCK_BYTES];

/// Word `i` of a block.
#[inline(always)]
fn word(b: &BlockBytes, i: usize) -> u32 {
    u32::from_le_bytes([b[4 * i], b[4 * i + 1], b[4 * i + 2], b[4 * i + 3]])
}

/// One schedule kind: key size and direction.
struct Kind {
    nk: usize,
    direction: Direction,
    /// Words in the schedule.
    words: usize,
    /// Schedule word indices (a, b, c) with w[a] ^ w[b] ^ w[c] = 0.
    relations: Vec<[usize; 3]>,
    /// The schedule word the filter's hit is reported at.
    anchor: usize,
    /// The finding's form in each byte layout.
    forms: [String; 2],
}

/// The filter distance the block test takes at every word: AES-192
/// decryption schedules have no two neighbouring pairs that hold (they hold
/// at schedule words 6, 14, 18, 26, ...: all even), where every other kind
/// has runs of two or more.
const EVERY_WORD: isize = 2;

/// Every schedule kind, with the distance `d` of its filter relation. The
/// filter ([`block_may_hit_body`]) tests the same six distances, and bit k
/// of [`hits_at`] is kind k.
const KINDS: [(usize, Direction, isize); 6] = [
    (4, Direction::Encryption, -4),
    (6, Direction::Encryption, -6),
    (8, Direction::Encryption, -8),
    (4, Direction::Decryption, 4),
    (6, Direction::Decryption, 2),
    (8, Direction::Decryption, 8),
];

impl Kind {
    fn new(nk: usize, direction: Direction, d: isize) -> Kind {
        let nr = nk + 6;
        let words = 4 * (nr + 1);
        // Where encryption word `e` lies in this schedule, and whether
        // InvMixColumns was applied to it.
        let pos = |e: usize| match direction {
            Direction::Encryption => e,
            Direction::Decryption => 4 * (nr - e / 4) + e % 4,
        };
        let mixed = |e: usize| direction == Direction::Decryption && e / 4 != 0 && e / 4 != nr;
        let mut relations = Vec::new();
        for i in nk..words {
            // Words that start a key period go through SubWord (and every
            // fourth word of AES-256 too): not linear.
            if i % nk == 0 || (nk == 8 && i % 8 == 4) {
                continue;
            }
            let t = [i, i - 1, i - nk];
            if t.iter().all(|&e| mixed(e) == mixed(t[0])) {
                relations.push(t.map(pos));
            }
        }
        let holds = |p: usize| {
            let want = [p, p - 1, p.wrapping_add_signed(d)];
            relations.iter().any(|r| {
                let (mut r, mut w) = (*r, want);
                r.sort_unstable();
                w.sort_unstable();
                r == w
            })
        };
        // The anchor pair lies far enough inside the schedule that the
        // filter's window never leaves it, for the anchor and for the pair
        // before it: a schedule flush against either end of the buffer is
        // still found. That pair holding too is what lets the block test
        // take every other word.
        let pair = |p: usize| holds(p) && holds(p + 1);
        let anchor = (BEFORE + 1..words - AFTER - 1)
            .filter(|&p| pair(p) && (d == EVERY_WORD || pair(p - 1)))
            .min_by_key(|&p| p.abs_diff(words / 2))
            .expect("every schedule kind has an anchor pair");
        let name = match direction {
            Direction::Encryption => "schedule",
            Direction::Decryption => "decryption-schedule",
        };
        let bits = 32 * nk;
        Kind {
            nk,
            direction,
            words,
            relations,
            anchor,
            forms: [
                format!("aes-{bits}-{name}"),
                format!("aes-{bits}-{name}-wordswapped"),
            ],
        }
    }
}

/// Finds expanded AES key schedules.
pub struct AesDetector {
    kinds: Vec<Kind>,
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    avx2: bool,
}

impl Default for AesDetector {
    fn default() -> Self {
        Self::new()
    }
}

impl AesDetector {
    pub fn new() -> Self {
        let kinds = KINDS
            .iter()
            .map(|&(nk, direction, d)| Kind::new(nk, direction, d))
            .collect();
        AesDetector {
            kinds,
            avx2: super::has_avx2(),
        }
    }
}

impl ChunkDetector for AesDetector {
    fn max_len(&self) -> usize {
        // Slack for the alignment word a chunk may start with.
        MAX_SCHEDULE + 16
    }

    fn scan(&self, buf: &[u8], base: u64, own: Range<u64>, out: &mut Vec<KeyMatch>) {
        self.scan_phased(buf, base, own, 0, out)
    }

    fn scan_phased(
        &self,
        buf: &[u8],
        base: u64,
        own: Range<u64>,
        phase: u64,
        out: &mut Vec<KeyMatch>,
    ) {
        // Words are taken at 4-aligned *virtual addresses* (file offset +
        // phase), where programs keep their schedules, so every chunk sees
        // the same words whatever its own alignment and wherever the
        // region starts in the file.
        let first = ((4 - (base + phase) % 4) % 4) as usize;
        if buf.len() < first {
            return;
        }
        let words = Words {
            bytes: &buf[first..],
        };
        let n = words.len();
        if n < BEFORE + AFTER + 1 {
            return;
        }
        let file_offset = |w: usize| base + (first + 4 * w) as u64;
        // Schedule starts (word indices) this chunk owns.
        let own_lo = own.start.saturating_sub(base + first as u64).div_ceil(4) as usize;
        let own_hi = (own.end.saturating_sub(base + first as u64).div_ceil(4) as usize).min(n);
        if own_lo >= own_hi {
            return;
        }
        let min_anchor = self.kinds.iter().map(|k| k.anchor).min().unwrap_or(0);
        let max_anchor = self.kinds.iter().map(|k| k.anchor).max().unwrap_or(0);
        let j_lo = (own_lo + min_anchor).max(BEFORE);
        let j_hi = (own_hi + max_anchor).min(n - AFTER);

        let mut tail: BlockBytes = [0; BLOCK_BYTES];
        let mut jb = j_lo;
        while jb < j_hi {
            let len = BLOCK.min(j_hi - jb);
            // The block is words jb-BEFORE .. jb+len+AFTER, read in place;
            // a short last block is copied and padded with zeros, which
            // never pass the filter.
            let bytes = &words.bytes[4 * (jb - BEFORE)..4 * (jb + len + AFTER)];
            let block: &BlockBytes = match bytes.try_into() {
                Ok(block) => block,
                Err(_) => {
                    tail.fill(0);
                    tail[..bytes.len()].copy_from_slice(bytes);
                    &tail
                }
            };
            if self.block_may_hit(block) {
                for j in 0..len {
                    let hits = hits_at(block, j + BEFORE);
                    if hits == 0 {
                        continue;
                    }
                    for (k, kind) in self.kinds.iter().enumerate() {
                        if hits & (1 << k) == 0 {
                            continue;
                        }
                        let Some(s) = (jb + j).checked_sub(kind.anchor) else {
                            continue;
                        };
                        if s < own_lo || s >= own_hi || s + kind.words > n {
                            continue;
                        }
                        if let Some(m) = self.confirm(kind, &words, s, file_offset(s)) {
                            out.push(m);
                        }
                    }
                }
            }
            jb += len;
        }
    }
}

impl AesDetector {
    fn block_may_hit(&self, block: &BlockBytes) -> bool {
        #[cfg(target_arch = "x86_64")]
        if self.avx2 {
            // SAFETY: `avx2` is set only when the CPU reports AVX2.
            return unsafe { block_may_hit_avx2(block) };
        }
        block_may_hit_baseline(block)
    }

    /// Stages 2 and 3 for a schedule of `kind` starting at word `s`.
    fn confirm(&self, kind: &Kind, words: &Words, s: usize, offset: u64) -> Option<KeyMatch> {
        if !kind
            .relations
            .iter()
            .all(|&[a, b, c]| words.get(s + a) ^ words.get(s + b) ^ words.get(s + c) == 0)
        {
            return None;
        }
        let bytes = &words.bytes[4 * s..4 * (s + kind.words)];
        for (layout, form) in [ByteLayout::Fips, ByteLayout::WordSwapped]
            .into_iter()
            .zip(&kind.forms)
        {
            let fips: Zeroizing<Vec<[u8; 4]>> = Zeroizing::new(
                bytes
                    .chunks_exact(4)
                    .map(|c| match layout {
                        ByteLayout::Fips => [c[0], c[1], c[2], c[3]],
                        ByteLayout::WordSwapped => [c[3], c[2], c[1], c[0]],
                    })
                    .collect(),
            );
            let key = match kind.direction {
                Direction::Encryption => aes_keys::key_from_encryption(&fips, kind.nk),
                Direction::Decryption => aes_keys::key_from_decryption(&fips, kind.nk),
            }?;
            let schedule = aes_keys::expand(&key)?;
            if schedule.bytes(kind.direction, layout).as_slice() == bytes {
                return Some(KeyMatch {
                    offset,
                    len: bytes.len() as u64,
                    rule: RULE,
                    description: DESCRIPTION,
                    form: form.clone(),
                    encoding: Encoding::Binary,
                    confidence: Confidence::High,
                    validated: true,
                    key: Some(Arc::new(KeyMaterial::Aes { key })),
                    key_id: None,
                });
            }
        }
        None
    }
}

/// The buffer as little-endian 32-bit words (XOR relations do not depend
/// on the byte order chosen, only the exact check does).
struct Words<'a> {
    bytes: &'a [u8],
}

impl Words<'_> {
    fn len(&self) -> usize {
        self.bytes.len() / 4
    }

    fn get(&self, i: usize) -> u32 {
        let b = &self.bytes[4 * i..4 * i + 4];
        u32::from_le_bytes([b[0], b[1], b[2], b[3]])
    }
}

/// Bit k set when the filter relation of kind k holds at words j and j+1
/// of the block (both non-zero, each different from the word before it).
#[inline(always)]
fn hits_at(w: &BlockBytes, j: usize) -> u32 {
    let (c, n) = (word(w, j), word(w, j + 1));
    let x0 = c ^ word(w, j - 1);
    let x1 = n ^ c;
    let pair = |d: isize| {
        let a = word(w, j.wrapping_add_signed(d));
        let b = word(w, (j + 1).wrapping_add_signed(d));
        ((x0 ^ a) | (x1 ^ b)) == 0
    };
    let live = (c != 0) & (n != 0) & (x0 != 0) & (x1 != 0);
    let mut hits = 0;
    for (k, &(_, _, d)) in KINDS.iter().enumerate() {
        hits |= ((pair(d) & live) as u32) << k;
    }
    hits
}

/// Whether the block may hold an anchor: the filter of [`hits_at`] at
/// every other word from the block's first (so the anchor or the word
/// before it is among them), and at every word for [`EVERY_WORD`]. The
/// words `t` and `t + 1` taken as one little-endian 64-bit value make the
/// pair's XORs one XOR and each relation one compare. Of the non-zero tests
/// only the XORs' is kept (zeros and runs of equal words fail it); the
/// words' own is left to [`hits_at`]: on a Python core it let 42 of
/// 352,214 blocks through instead of 28. Measured on the benchmark dump,
/// one thread, against SHA-256's samples: 0.19-0.21 before, 0.14 after.
/// Written without early exits or data-dependent branches so that it
/// compiles to SIMD; built twice, for the SSE2 baseline and for AVX2
/// (twice the lanes), chosen once per detector.
#[inline(always)]
fn block_may_hit_body(w: &BlockBytes) -> bool {
    // Bit 31 of a half is left set by `v - LOW & !v` only if a half is
    // zero (the classic zero-byte test, on 32-bit halves).
    const LOW: u64 = 0x0000_0001_0000_0001;
    const HIGH: u64 = 0x8000_0000_8000_0000;
    let pair = |t: usize| {
        u64::from_le_bytes([
            w[4 * t],
            w[4 * t + 1],
            w[4 * t + 2],
            w[4 * t + 3],
            w[4 * t + 4],
            w[4 * t + 5],
            w[4 * t + 6],
            w[4 * t + 7],
        ])
    };
    let mut acc = 0u64;
    for m in 0..BLOCK / 2 {
        let t = BEFORE + 2 * m;
        let c = pair(t);
        let x = c ^ pair(t - 1);
        let any = (x == pair(t - 4))
            | (x == pair(t - 6))
            | (x == pair(t - 8))
            | (x == pair(t + 4))
            | (x == pair(t + 2))
            | (x == pair(t + 8));
        let zero_half = x.wrapping_sub(LOW) & !x & HIGH;
        acc |= u64::from(any) & u64::from(zero_half == 0);
        // The odd word, for the one distance whose pairs are isolated.
        let x = pair(t + 1) ^ c;
        let zero_half = x.wrapping_sub(LOW) & !x & HIGH;
        acc |= u64::from(x == pair(t + 1 + EVERY_WORD as usize)) & u64::from(zero_half == 0);
    }
    acc != 0
}

#[inline(never)]
fn block_may_hit_baseline(w: &BlockBytes) -> bool {
    block_may_hit_body(w)
}

/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn block_may_hit_avx2(w: &BlockBytes) -> bool {
    block_may_hit_body(w)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::fingerprint::Fingerprinter;

    /// SplitMix64: seeded, reproducible filler bytes.
    pub(crate) fn random_bytes(seed: u64, len: usize) -> Vec<u8> {
        let mut state = seed;
        let mut out = Vec::with_capacity(len + 8);
        while out.len() < len {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            out.extend_from_slice(&(z ^ (z >> 31)).to_le_bytes());
        }
        out.truncate(len);
        out
    }

    fn scan_all(buf: &[u8], base: u64) -> Vec<KeyMatch> {
        let mut out = Vec::new();
        AesDetector::new().scan(buf, base, base..base + buf.len() as u64, &mut out);
        out
    }

    /// The schedule exactly as OpenSSL keeps it in its `AES_KEY`.
    fn openssl_schedule(key: &[u8], direction: Direction) -> Vec<u8> {
        use openssl::aes::AesKey;
        let k = match direction {
            Direction::Encryption => AesKey::new_encrypt(key),
            Direction::Decryption => AesKey::new_decrypt(key),
        }
        .unwrap();
        assert_eq!(std::mem::size_of::<AesKey>(), 244);
        // SAFETY: AesKey wraps OpenSSL's AES_KEY, a C struct of 60 u32
        // round-key words and an i32 round count, all initialised by
        // AES_set_*_key; it is read as bytes while `k` is alive.
        let bytes = unsafe { std::slice::from_raw_parts(&k as *const AesKey as *const u8, 244) };
        let rounds = i32::from_ne_bytes(bytes[240..].try_into().unwrap()) as usize;
        bytes[..16 * (rounds + 1)].to_vec()
    }

    fn word_swapped(bytes: &[u8]) -> Vec<u8> {
        bytes
            .chunks_exact(4)
            .flat_map(|w| [w[3], w[2], w[1], w[0]])
            .collect()
    }

    fn real_key(len: usize) -> Vec<u8> {
        let mut key = vec![0u8; len];
        openssl::rand::rand_bytes(&mut key).unwrap();
        key
    }

    fn aes_id(key: &[u8]) -> String {
        KeyMaterial::Aes {
            key: Zeroizing::new(key.to_vec()),
        }
        .id(&Fingerprinter::new(None))
    }

    /// Every schedule kind OpenSSL makes, in both byte layouts, at odd
    /// 4-aligned offsets in random and in zero-filled memory.
    #[test]
    fn finds_openssl_schedules_in_every_kind_and_layout() {
        let fp = Fingerprinter::new(None);
        for len in [16, 24, 32] {
            let key = real_key(len);
            let ours = aes_keys::expand(&key).unwrap();
            for direction in [Direction::Encryption, Direction::Decryption] {
                let ossl = openssl_schedule(&key, direction);
                // OpenSSL's layout on this machine; the other is the same
                // bytes with each word reversed.
                let native =
                    if ours.bytes(direction, ByteLayout::Fips).as_slice() == ossl.as_slice() {
                        ByteLayout::Fips
                    } else {
                        assert_eq!(
                            ours.bytes(direction, ByteLayout::WordSwapped).as_slice(),
                            ossl.as_slice()
                        );
                        ByteLayout::WordSwapped
                    };
                let swapped = word_swapped(&ossl);
                let other = match native {
                    ByteLayout::Fips => ByteLayout::WordSwapped,
                    ByteLayout::WordSwapped => ByteLayout::Fips,
                };
                for (bytes, layout) in [(&ossl, native), (&swapped, other)] {
                    let dir = match direction {
                        Direction::Encryption => "schedule",
                        Direction::Decryption => "decryption-schedule",
                    };
                    let suffix = if layout == ByteLayout::WordSwapped {
                        "-wordswapped"
                    } else {
                        ""
                    };
                    let form = format!("aes-{}-{dir}{suffix}", len * 8);
                    for (filler, at) in [
                        (random_bytes(7, 64 << 10), 4 * 1001),
                        (vec![0u8; 8192], 4 * 333),
                    ] {
                        let mut buf = filler;
                        buf[at..at + bytes.len()].copy_from_slice(bytes);
                        let found = scan_all(&buf, 0);
                        assert_eq!(found.len(), 1, "{form} at {at}");
                        let m = &found[0];
                        assert_eq!((m.offset, m.len), (at as u64, bytes.len() as u64), "{form}");
                        assert_eq!((m.rule, m.form.as_str()), (RULE, form.as_str()));
                        assert!(m.validated);
                        assert_eq!(m.confidence, Confidence::High);
                        assert_eq!(m.encoding, Encoding::Binary);
                        assert_eq!(m.key.as_ref().unwrap().id(&fp), aes_id(&key));
                    }
                }
            }
        }
    }

    /// This process's writable private anonymous mappings (where malloc
    /// puts what OpenSSL allocates), the one containing `near` first, as
    /// (start address, bytes). Large mappings are other tests' buffers;
    /// a mapping that goes away while it is read is skipped.
    fn own_heap_mappings(near: usize) -> Vec<(usize, Vec<u8>)> {
        use std::io::{Read, Seek, SeekFrom};
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
        let mut ranges: Vec<(usize, usize)> = maps
            .lines()
            .filter_map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                let anonymous = f.len() == 5 || f.get(5) == Some(&"[heap]");
                if !f.get(1)?.starts_with("rw-p") || !anonymous {
                    return None;
                }
                let (a, b) = f[0].split_once('-')?;
                Some((
                    usize::from_str_radix(a, 16).ok()?,
                    usize::from_str_radix(b, 16).ok()?,
                ))
            })
            .filter(|&(a, b)| b - a <= 64 << 20)
            .collect();
        ranges.sort_by_key(|&(a, b)| !(a..b).contains(&near));
        let mut mem = std::fs::File::open("/proc/self/mem").unwrap();
        ranges
            .into_iter()
            .filter_map(|(start, end)| {
                let mut bytes = vec![0u8; end - start];
                mem.seek(SeekFrom::Start(start as u64)).ok()?;
                mem.read_exact(&mut bytes).ok()?;
                Some((start, bytes))
            })
            .collect()
    }

    /// The schedules OpenSSL's EVP layer (AES-NI where the CPU has it)
    /// keeps in its cipher context on this process's heap, found by
    /// reading the heap back as a dump would hold it.
    #[test]
    fn finds_the_schedules_openssl_evp_keeps_on_the_heap() {
        use openssl::symm::{Cipher, Crypter, Mode};
        let fp = Fingerprinter::new(None);
        for (cipher, len, mode, form) in [
            (Cipher::aes_128_cbc(), 16, Mode::Encrypt, "aes-128-schedule"),
            (
                Cipher::aes_256_cbc(),
                32,
                Mode::Decrypt,
                "aes-256-decryption-schedule",
            ),
            (Cipher::aes_192_ctr(), 24, Mode::Encrypt, "aes-192-schedule"),
        ] {
            let key = real_key(len);
            let crypter = Crypter::new(cipher, mode, &key, Some(&[7u8; 16])).unwrap();
            // Allocated right after the context, most likely beside it.
            let probe = Box::new([0u8; 64]);
            let found: Vec<KeyMatch> = own_heap_mappings(probe.as_ptr() as usize)
                .into_iter()
                .find_map(|(start, heap)| {
                    let found: Vec<KeyMatch> = scan_all(&heap, start as u64)
                        .into_iter()
                        .filter(|m| m.key.as_ref().unwrap().id(&fp) == aes_id(&key))
                        .collect();
                    (!found.is_empty()).then_some(found)
                })
                .unwrap_or_else(|| panic!("no {form} in this process's heap"));
            drop(crypter);
            for m in &found {
                assert_eq!(m.form, form);
                assert!(m.validated);
            }
        }
    }

    /// Where OpenSSL's `AES_KEY` would put them: the schedule flush
    /// against both ends of the scanned bytes, and a buffer whose first
    /// byte is not at a 4-aligned file offset.
    #[test]
    fn finds_schedules_at_buffer_edges_and_with_unaligned_base() {
        let key = real_key(32);
        let sched = openssl_schedule(&key, Direction::Encryption);
        let mut buf = sched.clone();
        buf.extend_from_slice(&random_bytes(1, 100));
        buf.extend_from_slice(&sched);
        let found = scan_all(&buf, 0);
        let offsets: Vec<u64> = found.iter().map(|m| m.offset).collect();
        assert_eq!(offsets, vec![0, 340]);

        // File offset 4098: the first aligned word is two bytes in.
        let base = 4098u64;
        let mut buf = random_bytes(2, 2 + 4 * 50 + 240 + 64);
        let at = 2 + 4 * 50;
        buf[at..at + 240].copy_from_slice(&sched);
        let found = scan_all(&buf, base);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].offset, base + at as u64);
        // The same bytes two bytes later in the file are not 4-aligned...
        assert!(scan_all(&buf, base + 2).is_empty());
        // ...unless the memory region they belong to starts at an
        // unaligned file offset: alignment follows the virtual address.
        let det = AesDetector::new();
        let mut out = Vec::new();
        let len = buf.len() as u64;
        det.scan_phased(&buf, base + 2, base + 2..base + 2 + len, 2, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].offset, base + 2 + at as u64);
    }

    /// A schedule cut by a chunk boundary is reported once, by the chunk
    /// that owns its start, whatever the cut.
    #[test]
    fn chunk_boundary_through_a_schedule_yields_one_finding() {
        let det = AesDetector::new();
        let overlap = det.max_len() as u64;
        let key = real_key(16);
        let enc = openssl_schedule(&key, Direction::Encryption);
        let dec = openssl_schedule(&key, Direction::Decryption);
        let mut data = random_bytes(3, 16 << 10);
        let at = 4 * 1501;
        data[at..at + 176].copy_from_slice(&enc);
        // As Linux's crypto_aes_ctx keeps them: both schedules back to back.
        data[at + 176..at + 352].copy_from_slice(&dec);
        let len = data.len() as u64;
        for cut in [
            at as u64 + 1,
            at as u64 + 4,
            at as u64 + 100,
            at as u64 + 176,
            at as u64 + 200,
        ] {
            let mut found = Vec::new();
            for own in [0..cut, cut..len] {
                let read = own.start.saturating_sub(overlap)..(own.end + overlap).min(len);
                let buf = &data[read.start as usize..read.end as usize];
                det.scan(buf, read.start, own, &mut found);
            }
            found.sort_by_key(|m| m.offset);
            let spans: Vec<(u64, &str)> =
                found.iter().map(|m| (m.offset, m.form.as_str())).collect();
            assert_eq!(
                spans,
                vec![
                    (at as u64, "aes-128-schedule"),
                    (at as u64 + 176, "aes-128-decryption-schedule")
                ],
                "cut at {cut}"
            );
        }
    }

    /// The block test takes every other word (and every word for the
    /// AES-192 decryption distance only): a schedule of every kind, in both
    /// layouts, starting at each word from wholly before a block boundary
    /// to wholly after it, and at each of the last starts of a buffer, is
    /// found exactly once, in its layout, by the SSE2 build of the block
    /// test and by the AVX2 one.
    #[test]
    fn schedules_across_block_boundaries_are_found_at_every_word() {
        let det = AesDetector::new();
        let builds = [
            AesDetector {
                avx2: false,
                ..AesDetector::new()
            },
            AesDetector::new(),
        ];
        let key = real_key(32);
        let min_anchor = det.kinds.iter().map(|k| k.anchor).min().unwrap();
        // `scan_all` starts its first block at this word.
        let boundary = min_anchor.max(BEFORE) + BLOCK;
        let n = boundary + 200;
        let filler = random_bytes(11, 4 * n);
        for kind in &det.kinds {
            let expanded = aes_keys::expand(&key[..4 * kind.nk]).unwrap();
            for (layout, form) in [ByteLayout::Fips, ByteLayout::WordSwapped]
                .into_iter()
                .zip(&kind.forms)
            {
                let sched = expanded.bytes(kind.direction, layout);
                assert_eq!(sched.len(), 4 * kind.words);
                let across = boundary - kind.words - 1..boundary + 2;
                let at_end = n - kind.words - 3..n - kind.words + 1;
                for s in across.chain(at_end) {
                    let mut buf = filler.clone();
                    buf[4 * s..4 * (s + kind.words)].copy_from_slice(&sched);
                    for build in &builds {
                        let mut found = Vec::new();
                        let len = buf.len() as u64;
                        build.scan(&buf, 0, 0..len, &mut found);
                        let found: Vec<(u64, &str)> =
                            found.iter().map(|m| (m.offset, m.form.as_str())).collect();
                        assert_eq!(
                            found,
                            vec![(4 * s as u64, form.as_str())],
                            "start word {s}, AVX2 {}",
                            build.avx2
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn one_flipped_byte_is_not_a_schedule() {
        let key = real_key(24);
        for direction in [Direction::Encryption, Direction::Decryption] {
            let sched = openssl_schedule(&key, direction);
            for i in [0, 5, 100, sched.len() - 1] {
                let mut buf = random_bytes(4, 4096);
                buf[4 * 77..4 * 77 + sched.len()].copy_from_slice(&sched);
                buf[4 * 77 + i] ^= 0x10;
                assert!(
                    scan_all(&buf, 0).iter().all(|m| !m.validated),
                    "{direction:?}, byte {i}"
                );
                assert!(scan_all(&buf, 0).is_empty());
            }
        }
    }

    /// Memory that satisfies XOR relations without being a schedule: zero
    /// pages, constant fills, arrays of small 64-bit integers, repeating
    /// structures, counters.
    #[test]
    fn repeated_patterns_are_not_schedules() {
        let mut buf = Vec::new();
        buf.extend(std::iter::repeat_n(0u8, 1 << 16));
        buf.extend(std::iter::repeat_n(0xffu8, 1 << 16));
        buf.extend(std::iter::repeat_n(0x41u8, 1 << 16));
        for period in [4usize, 8, 12, 16, 20, 24, 32, 48, 64, 176, 240] {
            let unit = random_bytes(period as u64, period);
            for _ in 0..(1 << 14) / period {
                buf.extend_from_slice(&unit);
            }
            // The same, with one random word per unit and zeros elsewhere.
            for _ in 0..(1 << 14) / period {
                buf.extend_from_slice(&unit[..4]);
                buf.extend(std::iter::repeat_n(0u8, period - 4));
            }
        }
        for i in 0u64..1 << 14 {
            buf.extend_from_slice(&i.to_le_bytes());
            buf.extend_from_slice(&(i as u32).to_le_bytes());
            buf.extend_from_slice(&(!(i as u32)).to_le_bytes());
        }
        for (i, b) in random_bytes(9, 1 << 16).into_iter().enumerate() {
            buf.push(if i % 3 == 0 { b } else { 0 });
        }
        assert!(scan_all(&buf, 0).is_empty());
    }

    #[test]
    fn every_kind_has_its_relations_and_an_anchor_inside() {
        let det = AesDetector::new();
        let counts: Vec<(usize, usize)> = det
            .kinds
            .iter()
            .map(|k| (k.words, k.relations.len()))
            .collect();
        assert_eq!(
            counts,
            vec![(44, 30), (52, 38), (60, 39), (44, 24), (52, 32), (60, 33)]
        );
        for k in &det.kinds {
            assert!(k.anchor >= BEFORE && k.anchor + 1 + AFTER < k.words);
        }
    }

    /// 256 MiB of seeded random bytes: nothing. In a debug build the
    /// volume is cut to 32 MiB to keep `cargo test` quick; the release
    /// run (and the throughput test below) covers the full size.
    #[test]
    fn random_bytes_yield_nothing() {
        let len = if cfg!(debug_assertions) {
            32 << 20
        } else {
            256 << 20
        };
        let data = random_bytes(0xdead_beef, len);
        assert!(scan_all(&data, 0).is_empty());
    }

    /// Scans `data` in 4 MiB chunks as the driver does; MB/s, best of 3.
    pub(crate) fn throughput(det: &dyn ChunkDetector, data: &[u8]) -> f64 {
        let chunk = 4 << 20;
        let mut best = f64::MAX;
        for _ in 0..3 {
            let start = std::time::Instant::now();
            let mut out = Vec::new();
            for (i, c) in data.chunks(chunk).enumerate() {
                let base = (i * chunk) as u64;
                det.scan(c, base, base..base + c.len() as u64, &mut out);
            }
            best = best.min(start.elapsed().as_secs_f64());
            assert!(out.iter().all(|m| m.confidence != Confidence::High));
        }
        data.len() as f64 / best / 1e6
    }

    /// `cargo test --release --lib detect::aes -- --ignored --nocapture`
    #[test]
    #[ignore]
    fn throughput_on_random_bytes() {
        let det = AesDetector::new();
        let random = random_bytes(42, 256 << 20);
        eprintln!(
            "aes-key-schedule: {:.0} MB/s on random bytes (one core)",
            throughput(&det, &random)
        );
        // Written, so that the pages are really there (a fresh zeroed
        // allocation would be measured as page faults).
        let mut zeros = random;
        zeros.fill(0);
        eprintln!(
            "aes-key-schedule: {:.0} MB/s on zero bytes (one core)",
            throughput(&det, std::hint::black_box(&zeros))
        );
    }
}
