//! Private keys held by crypto libraries as big numbers, found by following
//! the dump's own pointers.
//!
//! A program that loads a key from DER and then wipes the DER (as it
//! should) leaves no DER for the DER detector to see: the key now lives only
//! in the library's structures. OpenSSL (1.0 to 3.x) and BoringSSL keep every
//! big number as a `BIGNUM` header that points at a separate array of limbs,
//! so the numbers of one key are scattered over the heap and nothing but the
//! pointers ties them together. This detector rebuilds the dump's address
//! map from the layout's memory ranges and follows those pointers.
//!
//! # Layouts it knows (64-bit, little-endian)
//!
//! * `BIGNUM` (`struct bignum_st`, OpenSSL `crypto/bn/bn_local.h`, and
//!   BoringSSL): `{ BN_ULONG *d; int top; int dmax; int neg; int flags; }`,
//!   24 bytes; `top` limbs of `d` are in use, least significant first.
//! * RSA (`struct rsa_st`): OpenSSL 3 `{ int dummy_zero; OSSL_LIB_CTX *libctx;
//!   int32_t version; const RSA_METHOD *meth; ENGINE *engine; BIGNUM *n, *e,
//!   *d, *p, *q, *dmp1, *dmq1, *iqmp; ... }`; OpenSSL 1.x has the same
//!   pointer run after `pad, version, meth, engine`; BoringSSL after `meth`.
//!   The detector does not depend on the prefix: it looks for runs of at
//!   least five consecutive pointers to plausible `BIGNUM`s and reads each
//!   window of five as (n, e, d, p, q).
//! * EC (`struct ec_key_st`): `... EC_GROUP *group; EC_POINT *pub_key;
//!   BIGNUM *priv_key; ...` in every OpenSSL version. The public point is
//!   read as OpenSSL 1.1.1/3.x `{ meth; int curve_name; BIGNUM *X, *Y, *Z; }`,
//!   OpenSSL 1.1.0 `{ meth; BIGNUM *X, *Y, *Z; }` or OpenSSL 1.0
//!   `{ meth; BIGNUM X, Y, Z; }` (embedded headers). BoringSSL keeps
//!   `priv_key` as an `EC_WRAPPED_SCALAR` (a `BIGNUM` header whose limbs
//!   follow it) and the point as `{ group; EC_FELEM X, Y, Z; }` with nine
//!   words per coordinate.
//!
//! # What it validates
//!
//! Nothing is reported unless the mathematics holds: a pointer run is only
//! structure, and heaps are full of pointer runs. RSA needs p·q = n and
//! d·e ≡ 1 (mod λ(n)) ([`RsaKey::from_components`]), or, if d does not fit,
//! a prime that divides n ([`RsaKey::from_factor`]). EC needs the scalar's
//! d·G to equal the point stored in the key's `pub_key`, which libraries
//! keep in Jacobian coordinates, either plain or in Montgomery form with
//! R = 2^(64·limbs): the check is x·Z² ≡ X·R and y·Z³ ≡ Y·R² (mod p), with
//! R = 1 for plain fields, so neither the representation nor whether the
//! point was normalised matters.
//!
//! The span reported is the limb array of d (or of the factor, or of the EC
//! scalar). The sweep then removes every other secret part (p, q, the CRT
//! values, Montgomery copies) wherever it lies.
//!
//! # What it cannot see
//!
//! * 32-bit processes (4-byte pointers and limbs) and big-endian dumps.
//! * A structure whose words straddle two memory ranges that are not
//!   contiguous in the file (the scan runs per contiguous segment; limb
//!   arrays and headers themselves may straddle).
//! * Keys whose struct, headers or limbs were not captured (minidumps often
//!   hold only stacks and a few heap pages); RSA keys without p and q;
//!   EC keys without a public point; curves other than P-256, P-384, P-521
//!   and secp256k1; other libraries (NSS, mbed TLS, Go, Java, CNG), whose
//!   key objects have other shapes.
//!
//! # Cost
//!
//! Two passes over memory, both parallel over 4 MiB chunks. The first
//! runs with the scan's chunk pass, on bytes the other detectors have just
//! read, and collects (as a sorted list, or a bitmap with one bit per 8
//! file bytes when there are many) every address that looks like a live
//! header (second word: 0 < top <= dmax <= 2048, tested with one
//! subtraction and one mask; then neg, flags and a limb pointer into the
//! dump). The second, once every header is known, tests every aligned
//! word against the lowest and highest mapped address, which almost all
//! non-pointer data fails, and looks pointers up among the headers instead
//! of dereferencing them: following each heap pointer into a random page
//! made pointer-rich memory several times slower. Only runs and EC-shaped
//! neighbours go on to the (rare, parallel) arithmetic.

use std::sync::{Arc, Mutex};

use num_bigint::BigUint;
use num_traits::{One, Zero};
use rayon::prelude::*;
use zeroize::Zeroizing;

use crate::detect::{DumpDetector, DumpPass, Encoding, KeyMatch};
use crate::keys::{Curve, KeyMaterial, RsaKey};
use crate::layout::{Layout, RangeKind};
use crate::rules::Confidence;
use crate::scan::plan;

pub const RSA_RULE: &str = "rsa-private-key-bignum";
pub const EC_RULE: &str = "ec-private-key-bignum";
pub const FORM: &str = "openssl-bignum-limbs";
const RSA_DESCRIPTION: &str =
    "RSA private key held by a crypto library as big numbers (OpenSSL/BoringSSL BIGNUM limbs)";
const EC_DESCRIPTION: &str =
    "EC private key held by a crypto library as a big number (OpenSSL/BoringSSL BIGNUM limbs)";

/// Largest `dmax` a header may claim: 131072-bit numbers are far past any
/// key, and the bound keeps a hostile header from making us read megabytes.
const MAX_LIMBS: i32 = 2048;
/// OpenSSL refuses moduli above 16384 bits (OPENSSL_RSA_MAX_MODULUS_BITS);
/// larger "moduli" are not worth multiplying.
const MAX_RSA_LIMBS: usize = 256;
/// n, e, d, p, q: fewer consecutive BIGNUM pointers cannot be a private key.
const MIN_RUN: usize = 5;
/// Pointers kept per candidate window; longer runs are cut into windows
/// that overlap by `MIN_RUN - 1`, so every start position is tried once.
const WINDOW: usize = 16;
/// OpenSSL 3 pre-expands EC scalars to the order's size + 2 limbs and may
/// keep that as `top`; P-521 needs 9 limbs.
const EC_MAX_TOP: u32 = 11;
/// BoringSSL's `EC_MAX_WORDS`: every coordinate occupies 9 words.
const BORINGSSL_FELEM_WORDS: u64 = 9;
/// Words per parallel work item (4 MiB).
const CHUNK_WORDS: usize = 512 * 1024;

const CURVES: [Curve; 4] = [Curve::P256, Curve::Secp256k1, Curve::P384, Curve::P521];

/// Finds RSA and EC private keys kept as OpenSSL / BoringSSL BIGNUMs.
#[derive(Debug, Default, Clone, Copy)]
pub struct BignumDetector;

impl BignumDetector {
    pub fn new() -> Self {
        BignumDetector
    }
}

impl DumpDetector for BignumDetector {
    fn start<'a>(
        &'a self,
        data: &'a [u8],
        layout: &'a Layout,
        chunks: &[plan::Chunk],
    ) -> Box<dyn DumpPass + 'a> {
        let map = AddrMap::new(layout, data.len() as u64);
        let work = map.as_ref().map_or(Vec::new(), |m| m.header_work(chunks));
        Box::new(BignumPass {
            data,
            map,
            work,
            found: Mutex::new(Vec::new()),
        })
    }
}

/// The header pass runs with the chunk scan, on bytes the other detectors
/// have just read: as a pass of its own after the scan it read the dump
/// from memory again, at 11-12 GB/s a thread (0.14 CPU-s of the benchmark
/// dump's 3); with the chunk in cache it costs half that. The pointer pass
/// needs every header first, so it runs in `finish`.
struct BignumPass<'a> {
    data: &'a [u8],
    map: Option<AddrMap>,
    /// The pieces of the header pass that scan chunk `k` does: `work[k]`.
    work: Vec<Vec<Chunk>>,
    /// Headers found: file offsets, with the `map` segment they were found
    /// in (two segments can hold the same file bytes).
    found: Mutex<Vec<(usize, Vec<u64>)>>,
}

impl DumpPass for BignumPass<'_> {
    fn chunk(&self, index: usize) {
        let (Some(map), Some(pieces)) = (&self.map, self.work.get(index)) else {
            return;
        };
        for c in pieces {
            let offsets = map.headers_in(self.data, c);
            if !offsets.is_empty() {
                self.found
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push((c.seg, offsets));
            }
        }
    }

    fn finish(self: Box<Self>, out: &mut Vec<KeyMatch>) {
        let Some(mut map) = self.map else {
            return;
        };
        let data = self.data;
        let found = self.found.into_inner().unwrap_or_else(|e| e.into_inner());
        (map.headers, map.filter) = map.collect_headers(data.len(), found);
        // Every candidate is a pointer to a header: with none, the pointer
        // pass (a tenth of a scan's time where OpenSSL never ran: 0.19
        // CPU-s of the generated benchmark dump's 3) finds nothing.
        if map.headers.is_empty() {
            return;
        }
        // A task per chunk, as in `scan::plan::par_chunks`: with rayon's
        // default pieces, one thread ran this whole pass alone on a core of
        // a real Python process (a second of 1.9 s).
        let cands: Vec<Cand> = AddrMap::chunks(&map.scan)
            .par_iter()
            .with_max_len(1)
            .flat_map_iter(|c| map.scan_chunk(data, c))
            .collect();
        let mut rsa = Vec::new();
        let mut ec = Vec::new();
        for c in cands {
            match c {
                Cand::Rsa(w) => rsa.push(w),
                Cand::Ec { public, private } => ec.push((public, private)),
            }
        }
        // The same struct can be seen twice when the dump holds two copies
        // of one memory region.
        rsa.sort_unstable();
        rsa.dedup();
        ec.sort_unstable();
        ec.dedup();
        let mut found: Vec<KeyMatch> = rsa
            .par_iter()
            .flat_map_iter(|w| map.validate_rsa(data, w))
            .collect();
        found.extend(
            ec.par_iter()
                .flat_map_iter(|&(public, private)| map.validate_ec(data, public, private))
                .collect::<Vec<_>>(),
        );
        crate::scan::sort_keys(&mut found);
        out.extend(found);
    }
}

/// Can `x` be the second word of a header? It holds `top` (low half) and
/// `dmax`: 0 < top and both below 4096 is one subtraction and one mask,
/// and zeros, text, random bytes and pointers all fail it; top <= dmax
/// (one compare) fails the small counts that fill managed heaps
/// (reference counts, lengths: a high half of zero).
#[inline(always)]
fn quick(x: u64) -> bool {
    (x.wrapping_sub(1) & 0xffff_f000_ffff_f000 == 0) & (x as u32 <= (x >> 32) as u32)
}

/// [`quick`] of 64 words at once, as a bit mask: free of branches, so the
/// compiler runs it four words to a vector. Measured on the benchmark
/// dump, one thread: the header pass took 0.20 s per 1.6 GB testing four
/// words and branching (8 GB/s, the same with the data in cache).
#[derive(Clone, Copy)]
struct QuickMask {
    #[cfg(target_arch = "x86_64")]
    avx2: bool,
}

impl QuickMask {
    fn new() -> QuickMask {
        QuickMask {
            #[cfg(target_arch = "x86_64")]
            avx2: super::has_avx2(),
        }
    }

    #[inline]
    fn of(self, block: &[u8; 512]) -> u64 {
        #[cfg(target_arch = "x86_64")]
        if self.avx2 {
            // SAFETY: calling a target-feature function; the CPU reports AVX2.
            return unsafe { quick_mask_avx2(block) };
        }
        quick_mask_body(block)
    }
}

#[inline(always)]
fn quick_mask_body(block: &[u8; 512]) -> u64 {
    let mut mask = 0u64;
    for (k, w) in block.chunks_exact(8).enumerate() {
        let x = u64::from_le_bytes(w.try_into().expect("8 bytes"));
        mask |= u64::from(quick(x)) << k;
    }
    mask
}

/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn quick_mask_avx2(block: &[u8; 512]) -> u64 {
    quick_mask_body(block)
}

/// A run of memory contiguous in both the file and the address space.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Seg {
    va: u64,
    /// One past the last address.
    end: u64,
    /// File offset of `va`.
    file: u64,
}

impl Seg {
    /// File offset of the first 8-aligned address and the number of whole
    /// aligned words: pointers in a struct are aligned to their address,
    /// not to the file.
    fn words(&self) -> (u64, usize) {
        let first = self.va.checked_add(7).map(|v| v & !7).unwrap_or(u64::MAX);
        if first >= self.end {
            return (self.file, 0);
        }
        (
            self.file + (first - self.va),
            ((self.end - first) / 8) as usize,
        )
    }
}

/// The dump's virtual memory: what a pointer found in it points at.
struct AddrMap {
    /// Every memory byte to scan, in file order (overlapping captures of
    /// one address are all scanned).
    scan: Vec<Seg>,
    /// Sorted by address, non-overlapping (the first capture of an address
    /// wins), for translating pointers.
    map: Vec<Seg>,
    lo: u64,
    span: u64,
    /// Where plausible BIGNUM headers start (in `map`; see [`Headers`]).
    /// Built in a first pass so that testing a pointer costs a lookup, not
    /// a cache miss in the pointed-to page.
    headers: Headers,
    /// What a pointer must pass before `headers` is searched.
    filter: AddressFilter,
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    avx2: bool,
}

/// Where the plausible headers are: few (real dumps) as a sorted list of
/// their addresses, so that a pointer is tested without translating it;
/// many (hostile input) as a bitmap of file offsets, one bit per 8 bytes.
/// Whichever is smaller.
enum Headers {
    Addresses(Vec<u64>),
    Bits(Vec<u64>),
}

/// A one-hash Bloom filter over the header addresses: heaps are mostly
/// pointers, nearly none to a header, and one load from a table that stays
/// in L1 rejects them where a binary search cost five to twenty
/// unpredictable steps each.
struct AddressFilter {
    bits: Vec<u64>,
    /// `32 - log2(bits)`: a slot is the top bits of a 32-bit product.
    shift: u32,
}

/// Fibonacci hashing's multiplier, 32 bits: AVX2 multiplies 32-bit lanes
/// only, and the vector skip ([`AddrMap::skip_to_candidate`]) computes the
/// same slots as [`AddressFilter::slot`].
const FILTER_MUL: u32 = 0x9e37_79b9;

impl AddressFilter {
    fn new(addresses: &[u64]) -> AddressFilter {
        // 16 bits a header, at least 64 Ki bits (8 KiB) and at most 8 Mi
        // (1 MiB): about 6% false hits when full.
        let log = (addresses.len() * 16)
            .next_power_of_two()
            .trailing_zeros()
            .clamp(16, 23);
        let mut filter = AddressFilter {
            bits: vec![0; 1 << (log - 6)],
            shift: 32 - log,
        };
        for &a in addresses {
            let i = filter.slot(a);
            filter.bits[i / 64] |= 1 << (i % 64);
        }
        filter
    }

    /// A filter that lets every address through (for the bitmap, which
    /// is cheap to test on its own).
    fn pass_all() -> AddressFilter {
        AddressFilter {
            bits: vec![u64::MAX],
            shift: 32 - 6,
        }
    }

    /// Below `bits.len() * 64` (the shift leaves `log2` bits), so a slot is
    /// always inside the table.
    #[inline]
    fn slot(&self, address: u64) -> usize {
        (((address >> 3) as u32).wrapping_mul(FILTER_MUL) >> self.shift) as usize
    }

    #[inline]
    fn may_contain(&self, address: u64) -> bool {
        let i = self.slot(address);
        self.bits[i / 64] >> (i % 64) & 1 == 1
    }
}

impl Headers {
    fn is_empty(&self) -> bool {
        match self {
            Headers::Addresses(a) => a.is_empty(),
            Headers::Bits(bits) => bits.iter().all(|&b| b == 0),
        }
    }

    #[inline]
    fn has_bit(bits: &[u64], file_offset: u64) -> bool {
        let i = file_offset / 8;
        bits.get((i / 64) as usize)
            .is_some_and(|b| b >> (i % 64) & 1 == 1)
    }
}

/// One unit of parallel scanning: words `w0..w1` of one segment.
struct Chunk {
    seg: usize,
    w0: usize,
    w1: usize,
}

/// Structure worth doing arithmetic on.
enum Cand {
    /// Consecutive pointers to BIGNUM headers.
    Rsa(Vec<u64>),
    /// A pointer to something (the public point) right before a pointer to
    /// a small BIGNUM (the scalar).
    Ec { public: u64, private: u64 },
}

/// The fields of a `struct bignum_st`.
#[derive(Debug, Clone, Copy)]
struct Header {
    d: u64,
    top: i32,
    dmax: i32,
    neg: i32,
    flags: i32,
}

impl Header {
    fn from_words(w0: u64, w1: u64, w2: u64) -> Header {
        Header {
            d: w0,
            top: w1 as u32 as i32,
            dmax: (w1 >> 32) as u32 as i32,
            neg: w2 as u32 as i32,
            flags: (w2 >> 32) as u32 as i32,
        }
    }

    /// The checks every real header passes: zero-valued numbers (top 0)
    /// are allowed only where asked for, since no key part is zero.
    fn plausible(&self, allow_zero: bool) -> bool {
        (self.top > 0 || (allow_zero && self.top == 0))
            && self.top <= self.dmax
            && self.dmax <= MAX_LIMBS
            && (self.neg == 0 || self.neg == 1)
            && (self.flags as u32) <= 0xffff
            && self.d & 7 == 0
    }
}

/// A big number read out of the dump.
struct Bn {
    value: BigUint,
    /// Address and length in bytes of its limb array.
    limbs: u64,
    len: u64,
    neg: bool,
}

impl AddrMap {
    fn new(layout: &Layout, data_len: u64) -> Option<AddrMap> {
        let mut scan: Vec<Seg> = Vec::new();
        for r in layout.ranges.iter().filter(|r| r.kind == RangeKind::Memory) {
            let Some(va) = r.vaddr else { continue };
            let end = r.end().min(data_len);
            if r.start >= end {
                continue;
            }
            let Some(va_end) = va.checked_add(end - r.start) else {
                continue;
            };
            let seg = Seg {
                va,
                end: va_end,
                file: r.start,
            };
            match scan.last_mut() {
                Some(last)
                    if last.end == seg.va && last.file + (last.end - last.va) == seg.file =>
                {
                    last.end = seg.end
                }
                _ => scan.push(seg),
            }
        }
        let mut sorted = scan.clone();
        sorted.sort_unstable_by_key(|s| (s.va, s.file));
        let mut map: Vec<Seg> = Vec::with_capacity(sorted.len());
        for mut s in sorted {
            if let Some(last) = map.last_mut() {
                if s.va < last.end {
                    if s.end <= last.end {
                        continue;
                    }
                    s.file += last.end - s.va;
                    s.va = last.end;
                }
                if last.end == s.va && last.file + (last.end - last.va) == s.file {
                    last.end = s.end;
                    continue;
                }
            }
            map.push(s);
        }
        let lo = map.first()?.va;
        let hi = map.last()?.end;
        Some(AddrMap {
            scan,
            map,
            lo,
            span: hi - lo,
            headers: Headers::Addresses(Vec::new()),
            filter: AddressFilter::pass_all(),
            avx2: super::has_avx2(),
        })
    }

    fn chunks(segs: &[Seg]) -> Vec<Chunk> {
        let mut out = Vec::new();
        for (seg, s) in segs.iter().enumerate() {
            let (_, n) = s.words();
            let mut w0 = 0;
            while w0 < n {
                let w1 = (w0 + CHUNK_WORDS).min(n);
                out.push(Chunk { seg, w0, w1 });
                w0 = w1;
            }
        }
        out
    }

    #[inline]
    fn find(&self, va: u64) -> Option<&Seg> {
        let i = self.map.partition_point(|s| s.end <= va);
        self.map.get(i).filter(|s| s.va <= va)
    }

    #[inline]
    fn maps(&self, va: u64) -> bool {
        va.wrapping_sub(self.lo) < self.span && self.find(va).is_some()
    }

    fn word(&self, data: &[u8], va: u64) -> Option<u64> {
        let s = self.find(va)?;
        if s.end - va < 8 {
            return None;
        }
        let off = (s.file + (va - s.va)) as usize;
        Some(u64::from_le_bytes(data.get(off..off + 8)?.try_into().ok()?))
    }

    fn header(&self, data: &[u8], va: u64) -> Option<Header> {
        let s = self.find(va)?;
        if s.end - va >= 24 {
            let off = (s.file + (va - s.va)) as usize;
            let b = data.get(off..off + 24)?;
            let w = |i: usize| u64::from_le_bytes(b[i * 8..i * 8 + 8].try_into().unwrap());
            return Some(Header::from_words(w(0), w(1), w(2)));
        }
        // A 16-aligned header can straddle a page, and the two pages can
        // be separate ranges.
        Some(Header::from_words(
            self.word(data, va)?,
            self.word(data, va.checked_add(8)?)?,
            self.word(data, va.checked_add(16)?)?,
        ))
    }

    /// The header `ptr` points at, if it looks like a live BIGNUM.
    fn bignum_header(&self, data: &[u8], ptr: u64, allow_zero: bool) -> Option<Header> {
        if ptr & 7 != 0 {
            return None;
        }
        let h = self.header(data, ptr)?;
        (h.plausible(allow_zero) && (h.top == 0 || self.maps(h.d))).then_some(h)
    }

    /// File pieces covering `len` bytes from `va`, following the address
    /// space across ranges.
    fn pieces(&self, va: u64, len: u64) -> Option<Vec<(u64, u64)>> {
        let end = va.checked_add(len)?;
        let mut out = Vec::new();
        let mut cur = va;
        while cur < end {
            let s = self.find(cur)?;
            let take = end.min(s.end) - cur;
            out.push((s.file + (cur - s.va), take));
            cur += take;
        }
        Some(out)
    }

    fn read(&self, data: &[u8], va: u64, len: u64) -> Option<Zeroizing<Vec<u8>>> {
        let mut buf = Zeroizing::new(Vec::with_capacity(len as usize));
        for (off, n) in self.pieces(va, len)? {
            buf.extend_from_slice(data.get(off as usize..(off + n) as usize)?);
        }
        Some(buf)
    }

    fn bignum_at(&self, data: &[u8], h: Header) -> Option<Bn> {
        let len = h.top as u64 * 8;
        let bytes = self.read(data, h.d, len)?;
        Some(Bn {
            value: BigUint::from_bytes_le(&bytes),
            limbs: h.d,
            len,
            neg: h.neg != 0,
        })
    }

    fn bignum(&self, data: &[u8], ptr: u64, allow_zero: bool) -> Option<Bn> {
        let h = self.bignum_header(data, ptr, allow_zero)?;
        self.bignum_at(data, h)
    }

    /// Scans one chunk for pointer runs and EC-shaped pairs. A run that
    /// starts inside the chunk is followed past its end; one that started
    /// before it belongs to the previous chunk.
    fn scan_chunk(&self, data: &[u8], c: &Chunk) -> Vec<Cand> {
        let seg = &self.scan[c.seg];
        let (base, n) = seg.words();
        let Some(bytes) = data.get(base as usize..base as usize + n * 8) else {
            return Vec::new();
        };
        let word = |i: usize| u64::from_le_bytes(bytes[i * 8..i * 8 + 8].try_into().unwrap());
        let (lo, span) = (self.lo, self.span);
        let in_map = |w: u64| w.wrapping_sub(lo) < span;
        let mut out = Vec::new();
        let mut run = Run::default();
        let mut hint = self.map[0];
        let mut prev = 0u64;
        let mut skipping = false;
        if c.w0 > 0 {
            prev = word(c.w0 - 1);
            skipping = self.is_header(prev, &mut hint);
        }
        let mut i = c.w0;
        while i < n {
            // Most words cannot point at a header (few are pointers into
            // the dump, and in heaps, which are mostly pointers, few of
            // those lead to a header): outside a run, skip four words at
            // a time on one branch.
            if run.len == 0 && !skipping {
                let from = i;
                i = self.skip_to_candidate(bytes, i, c.w1);
                if i > from {
                    prev = word(i - 1);
                }
                // Past the chunk with no run to follow.
                if i >= c.w1 {
                    break;
                }
            }
            let w = word(i);
            if !self.is_header(w, &mut hint) {
                skipping = false;
                run.flush(&mut out);
                if i >= c.w1 {
                    break;
                }
            } else {
                if i >= c.w1 && (run.len == 0 || skipping) {
                    break;
                }
                if !skipping {
                    run.push(w, &mut out);
                }
                if i < c.w1 && prev & 7 == 0 && in_map(prev) && self.find(prev).is_some() {
                    let top = self.header(data, w).map_or(0, |h| h.top as u32);
                    if top <= EC_MAX_TOP {
                        out.push(Cand::Ec {
                            public: prev,
                            private: w,
                        });
                    }
                }
            }
            prev = w;
            i += 1;
        }
        run.flush(&mut out);
        out
    }

    /// The first group of four words from word `i` (of `bytes`, words)
    /// holding a word that may point at a header ([`may_be_header`]), or
    /// the first group that does not fit before word `end`. Most words
    /// cannot (few are pointers into the dump, and in heaps, which are
    /// mostly pointers, few of those lead to a header), so groups are
    /// skipped on one branch each.
    ///
    /// [`may_be_header`]: Self::may_be_header
    #[inline]
    fn skip_to_candidate(&self, bytes: &[u8], i: usize, end: usize) -> usize {
        #[cfg(target_arch = "x86_64")]
        if self.avx2 {
            // SAFETY: `avx2` is set only when the CPU reports AVX2.
            return unsafe { self.skip_to_candidate_avx2(bytes, i, end) };
        }
        self.skip_to_candidate_scalar(bytes, i, end)
    }

    fn skip_to_candidate_scalar(&self, bytes: &[u8], mut i: usize, end: usize) -> usize {
        let in_map = |w: u64| w.wrapping_sub(self.lo) < self.span;
        let maybe = |w: u64| self.may_be_header(w);
        while i + 4 <= end {
            let b = &bytes[i * 8..i * 8 + 32];
            let w = |k: usize| u64::from_le_bytes(b[k * 8..k * 8 + 8].try_into().unwrap());
            // Two steps: the first is enough for most binary data and
            // costs no loads; the second tests heap pointers.
            if (in_map(w(0)) | in_map(w(1)) | in_map(w(2)) | in_map(w(3)))
                && (maybe(w(0)) | maybe(w(1)) | maybe(w(2)) | maybe(w(3)))
            {
                break;
            }
            i += 4;
        }
        i
    }

    /// [`skip_to_candidate`](Self::skip_to_candidate) four words to a
    /// vector: the range and alignment tests, then the filter's slots and
    /// one gather of their table words for the lanes that passed. Measured
    /// on a core of a Python process (heaps of pointers into the dump, 26
    /// headers): the scalar loop ran the pointer pass at 4 GB/s a thread.
    ///
    /// # Safety
    /// The CPU must support AVX2.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn skip_to_candidate_avx2(&self, bytes: &[u8], mut i: usize, end: usize) -> usize {
        use std::arch::x86_64::*;
        let end = end.min(bytes.len() / 8);
        let sign = _mm256_set1_epi64x(i64::MIN);
        let lo = _mm256_set1_epi64x(self.lo as i64);
        // Unsigned `w - lo < span` as a signed compare of both sides
        // with the sign bit flipped.
        let span = _mm256_xor_si256(_mm256_set1_epi64x(self.span as i64), sign);
        let seven = _mm256_set1_epi64x(7);
        let low32 = _mm256_set1_epi64x(0xffff_ffff);
        let mul = _mm256_set1_epi64x(i64::from(FILTER_MUL));
        let shift = _mm256_set1_epi64x(i64::from(self.filter.shift));
        let sixty_three = _mm256_set1_epi64x(63);
        let one = _mm256_set1_epi64x(1);
        let zero = _mm256_setzero_si256();
        let table = self.filter.bits.as_ptr().cast::<i64>();
        while i + 4 <= end {
            // SAFETY: words i..i+4 lie inside `bytes` (end <= bytes.len() / 8).
            let w = unsafe { _mm256_loadu_si256(bytes.as_ptr().add(i * 8).cast()) };
            let in_map = _mm256_cmpgt_epi64(span, _mm256_xor_si256(_mm256_sub_epi64(w, lo), sign));
            let aligned = _mm256_cmpeq_epi64(_mm256_and_si256(w, seven), zero);
            let candidate = _mm256_and_si256(in_map, aligned);
            if _mm256_movemask_pd(_mm256_castsi256_pd(candidate)) != 0 {
                // The low 32 bits of (w >> 3) * FILTER_MUL, shifted down:
                // AddressFilter::slot.
                let product = _mm256_mul_epu32(_mm256_srli_epi64::<3>(w), mul);
                let slot = _mm256_srlv_epi64(_mm256_and_si256(product, low32), shift);
                // SAFETY: every slot is below bits.len() * 64 (see
                // `AddressFilter::slot`), so every gathered word is in the
                // table; lanes that failed above are not read.
                let words = unsafe {
                    _mm256_mask_i64gather_epi64::<8>(
                        zero,
                        table,
                        _mm256_srli_epi64::<6>(slot),
                        candidate,
                    )
                };
                let bit = _mm256_and_si256(
                    _mm256_srlv_epi64(words, _mm256_and_si256(slot, sixty_three)),
                    one,
                );
                if _mm256_movemask_pd(_mm256_castsi256_pd(_mm256_cmpeq_epi64(bit, one))) != 0 {
                    break;
                }
            }
            i += 4;
        }
        i
    }

    /// Splits the header pass along the scan's chunks: `work[k]` holds the
    /// words of `map` whose file offsets chunk `k` owns. Owned ranges
    /// partition the file, so every word is in exactly one piece.
    fn header_work(&self, chunks: &[plan::Chunk]) -> Vec<Vec<Chunk>> {
        let mut work: Vec<Vec<Chunk>> = (0..chunks.len()).map(|_| Vec::new()).collect();
        for (seg, s) in self.map.iter().enumerate() {
            let (base, n) = s.words();
            let end = base + 8 * n as u64;
            let word_at = |offset: u64| (offset.saturating_sub(base).div_ceil(8) as usize).min(n);
            let mut k = chunks.partition_point(|c| c.own_end <= base);
            while k < chunks.len() && chunks[k].own_start < end {
                let (w0, w1) = (word_at(chunks[k].own_start), word_at(chunks[k].own_end));
                if w0 < w1 {
                    work[k].push(Chunk { seg, w0, w1 });
                }
                k += 1;
            }
        }
        work
    }

    /// The headers the pass found (every 8-aligned address of `map` where
    /// 24 bytes look like a live BIGNUM header, see [`Header::plausible`],
    /// whose limb pointer leads into the dump), as a sorted list of
    /// addresses or a bitmap of file offsets, and the filter in front of
    /// them.
    fn collect_headers(
        &self,
        data_len: usize,
        found: Vec<(usize, Vec<u64>)>,
    ) -> (Headers, AddressFilter) {
        let count: usize = found.iter().map(|(_, f)| f.len()).sum();
        // A sorted list costs 8 bytes a header, a bitmap 1/64 of the file:
        // take whichever is smaller, so memory stays small on real dumps
        // (few headers) and bounded on hostile ones (headers everywhere).
        if count * 8 < data_len / 64 {
            let mut addresses: Vec<u64> = found
                .into_iter()
                .flat_map(|(seg, offsets)| {
                    let seg = self.map[seg];
                    offsets.into_iter().map(move |o| seg.va + (o - seg.file))
                })
                .collect();
            addresses.sort_unstable();
            let filter = AddressFilter::new(&addresses);
            return (Headers::Addresses(addresses), filter);
        }
        let mut bits = vec![0u64; data_len / 512 + 1];
        for off in found.into_iter().flat_map(|(_, f)| f) {
            let i = off / 8;
            bits[(i / 64) as usize] |= 1 << (i % 64);
        }
        (Headers::Bits(bits), AddressFilter::pass_all())
    }

    /// File offsets of the headers that start in one chunk of `map`.
    fn headers_in(&self, data: &[u8], c: &Chunk) -> Vec<u64> {
        let seg = &self.map[c.seg];
        let (base, n) = seg.words();
        let Some(bytes) = data.get(base as usize..base as usize + n * 8) else {
            return Vec::new();
        };
        let word = |i: usize| u64::from_le_bytes(bytes[i * 8..i * 8 + 8].try_into().unwrap());
        let mut out = Vec::new();
        let mut check = |i: usize, h: Option<Header>| {
            if let Some(h) = h {
                if h.plausible(false) && self.maps(h.d) {
                    out.push(base + i as u64 * 8);
                }
            }
        };
        // Headers whose three words lie in this segment, 64 candidate
        // starts per step (their second words are `block`); the last two
        // words may start one that continues in the next range.
        let inner = c.w1.min(n.saturating_sub(2)).max(c.w0);
        let steps = (inner - c.w0) / 64;
        let meta = &bytes[(c.w0 + 1) * 8..(c.w0 + 1 + steps * 64) * 8];
        let quick_mask = QuickMask::new();
        for (s, block) in meta.chunks_exact(512).enumerate() {
            let mut mask = quick_mask.of(block.try_into().expect("512 bytes"));
            while mask != 0 {
                let k = mask.trailing_zeros() as usize;
                mask &= mask - 1;
                let i = c.w0 + s * 64 + k;
                check(
                    i,
                    Some(Header::from_words(word(i), word(i + 1), word(i + 2))),
                );
            }
        }
        for i in c.w0 + steps * 64..inner {
            if quick(word(i + 1)) {
                check(
                    i,
                    Some(Header::from_words(word(i), word(i + 1), word(i + 2))),
                );
            }
        }
        let first_va = seg.va + (base - seg.file);
        for i in inner..c.w1 {
            check(i, self.header(data, first_va + i as u64 * 8));
        }
        out
    }

    /// False only if `ptr` cannot point at a header: one compare, and for
    /// a list of header addresses one filter load.
    #[inline]
    fn may_be_header(&self, ptr: u64) -> bool {
        // `&`, not `&&`: in heaps these pass and fail at random, and
        // branches on them mispredict.
        (ptr.wrapping_sub(self.lo) < self.span) & (ptr & 7 == 0) & self.filter.may_contain(ptr)
    }

    /// Whether `ptr` points at a header in the bitmap. `hint` is the range
    /// the last pointer led into: pointers close together in memory mostly
    /// lead into the same range.
    #[inline]
    fn is_header(&self, ptr: u64, hint: &mut Seg) -> bool {
        if ptr & 7 != 0 || ptr.wrapping_sub(self.lo) >= self.span {
            return false;
        }
        let bits = match &self.headers {
            // Every address in the list is in `map` (the first capture of
            // it), so a hit needs no translation. Heaps are mostly
            // pointers into the dump: translating each one first (a search
            // of the ranges) was a quarter of a scan of a Python process.
            Headers::Addresses(a) => {
                return self.filter.may_contain(ptr) && a.binary_search(&ptr).is_ok()
            }
            Headers::Bits(bits) => bits,
        };
        if !(hint.va <= ptr && ptr < hint.end) {
            match self.find(ptr) {
                Some(s) => *hint = *s,
                None => return false,
            }
        }
        Headers::has_bit(bits, hint.file + (ptr - hint.va))
    }

    /// Tries every window of five pointers in the run as (n, e, d, p, q).
    fn validate_rsa(&self, data: &[u8], ptrs: &[u64]) -> Vec<KeyMatch> {
        let bns: Vec<Option<Bn>> = ptrs
            .iter()
            .map(|&p| {
                self.bignum(data, p, false)
                    .filter(|b| !b.neg && b.len <= MAX_RSA_LIMBS as u64 * 8)
            })
            .collect();
        let mut out = Vec::new();
        let mut k = 0;
        while k + MIN_RUN <= bns.len() {
            match self.try_rsa(&bns[k..k + MIN_RUN]) {
                Some(found) => {
                    out.extend(found);
                    k += MIN_RUN;
                }
                None => k += 1,
            }
        }
        out
    }

    fn try_rsa(&self, w: &[Option<Bn>]) -> Option<Vec<KeyMatch>> {
        let [Some(n), Some(e), d, p, q] = w else {
            return None;
        };
        let limbs = |b: &Bn| b.len / 8;
        // Cheap size checks before any multiplication: the factors are
        // each shorter than n and together about as long.
        if limbs(n) < 8 || limbs(e) > limbs(n) {
            return None;
        }
        let n_limbs = limbs(n);
        fn factor(b: &Option<Bn>, n_limbs: u64) -> Option<&Bn> {
            b.as_ref().filter(|b| b.len / 8 < n_limbs)
        }
        if let (Some(d), Some(p), Some(q)) = (d, factor(p, n_limbs), factor(q, n_limbs)) {
            let sum = limbs(p) + limbs(q);
            if limbs(d) <= limbs(n) && (sum == limbs(n) || sum == limbs(n) + 1) {
                if let Some(k) =
                    RsaKey::from_components(&n.value, &e.value, &d.value, &p.value, &q.value)
                {
                    return self.report(RSA_RULE, RSA_DESCRIPTION, d, KeyMaterial::Rsa(k));
                }
            }
        }
        // d may be stale or blinded while a prime is intact.
        for f in [factor(p, n_limbs), factor(q, n_limbs)]
            .into_iter()
            .flatten()
        {
            if let Some(k) = RsaKey::from_factor(&n.value, &e.value, &f.value) {
                return self.report(RSA_RULE, RSA_DESCRIPTION, f, KeyMaterial::Rsa(k));
            }
        }
        None
    }

    fn report(
        &self,
        rule: &'static str,
        description: &'static str,
        at: &Bn,
        key: KeyMaterial,
    ) -> Option<Vec<KeyMatch>> {
        let key = Arc::new(key);
        let pieces = self.pieces(at.limbs, at.len)?;
        Some(
            pieces
                .into_iter()
                .map(|(offset, len)| KeyMatch {
                    offset,
                    len,
                    rule,
                    description,
                    form: FORM.to_string(),
                    encoding: Encoding::Binary,
                    confidence: Confidence::High,
                    validated: true,
                    key: Some(key.clone()),
                    key_id: None,
                })
                .collect(),
        )
    }

    /// `private` is a BIGNUM pointer right after `public`: an EC key if
    /// `public` leads to a point equal to private·G on some curve.
    fn validate_ec(&self, data: &[u8], public: u64, private: u64) -> Vec<KeyMatch> {
        self.try_ec(data, public, private).unwrap_or_default()
    }

    fn try_ec(&self, data: &[u8], public: u64, private: u64) -> Option<Vec<KeyMatch>> {
        let h = self.bignum_header(data, private, false)?;
        let scalar = self.bignum_at(data, h)?;
        if scalar.neg {
            return None;
        }
        let bits = scalar.value.bits();
        let curves: Vec<Curve> = CURVES
            .into_iter()
            .filter(|&c| bits <= order_bits(c) && bits > order_bits(c) - 64)
            .collect();
        if curves.is_empty() {
            return None;
        }
        let openssl = self.openssl_points(data, public);
        // BoringSSL's EC_WRAPPED_SCALAR keeps its limbs right after the
        // header; without that sign the felem layout is not worth trying.
        let boringssl = h.d == private.wrapping_add(24);
        if openssl.is_empty() && !boringssl {
            return None;
        }
        for curve in curves {
            let len = curve.field_len();
            let be = Zeroizing::new(scalar.value.to_bytes_be());
            if be.len() > len {
                continue;
            }
            let mut d = Zeroizing::new(vec![0u8; len - be.len()]);
            d.extend_from_slice(&be);
            let Some(point) = curve.public_point(&d) else {
                continue;
            };
            let x = BigUint::from_bytes_be(&point[1..1 + len]);
            let y = BigUint::from_bytes_be(&point[1 + len..]);
            let p = field_prime(curve);
            let mut stored = openssl.clone();
            if boringssl {
                stored.extend(self.boringssl_point(data, public, &p));
            }
            if stored.iter().any(|xyz| same_point(&x, &y, xyz, &p)) {
                let key = KeyMaterial::Ec {
                    curve,
                    d,
                    public: point,
                };
                return self.report(EC_RULE, EC_DESCRIPTION, &scalar, key);
            }
        }
        None
    }

    /// The (X, Y, Z) of an OpenSSL `EC_POINT` at `at`, read as each
    /// version's layout that fits.
    fn openssl_points(&self, data: &[u8], at: u64) -> Vec<[BigUint; 3]> {
        let mut out = Vec::new();
        let coord = |ptr: Option<u64>| -> Option<BigUint> {
            let b = self.bignum(data, ptr?, true)?;
            (!b.neg && b.len <= 16 * 8).then_some(b.value)
        };
        let field = |off: u64| self.word(data, at.checked_add(off)?);
        // 1.1.1 / 3.x: X, Y, Z pointers after meth and curve_name; 1.1.0:
        // right after meth.
        for first in [16u64, 8] {
            if let (Some(x), Some(y), Some(z)) = (
                coord(field(first)),
                coord(field(first + 8)),
                coord(field(first + 16)),
            ) {
                out.push([x, y, z]);
            }
        }
        // 1.0.x: three embedded 24-byte headers after meth.
        let embedded = |off: u64| -> Option<BigUint> {
            let h = self.header(data, at.checked_add(off)?)?;
            if !h.plausible(true) || h.top > 16 {
                return None;
            }
            if h.top == 0 {
                return Some(BigUint::zero());
            }
            (h.neg == 0).then_some(self.bignum_at(data, h)?.value)
        };
        if let (Some(x), Some(y), Some(z)) = (embedded(8), embedded(32), embedded(56)) {
            out.push([x, y, z]);
        }
        out
    }

    /// The (X, Y, Z) of a BoringSSL `EC_POINT`: a group pointer, then three
    /// nine-word field elements of which the curve uses the low limbs.
    fn boringssl_point(&self, data: &[u8], at: u64, p: &BigUint) -> Option<[BigUint; 3]> {
        let words = p.bits().div_ceil(64);
        let felem = |i: u64| -> Option<BigUint> {
            let off = at.checked_add(8 + i * BORINGSSL_FELEM_WORDS * 8)?;
            Some(BigUint::from_bytes_le(&self.read(data, off, words * 8)?))
        };
        Some([felem(0)?, felem(1)?, felem(2)?])
    }
}

/// Collects consecutive BIGNUM pointers into candidate windows.
#[derive(Default)]
struct Run {
    buf: [u64; WINDOW],
    len: usize,
}

impl Run {
    #[inline]
    fn push(&mut self, w: u64, out: &mut Vec<Cand>) {
        if self.len == WINDOW {
            out.push(Cand::Rsa(self.buf.to_vec()));
            self.buf.copy_within(WINDOW - (MIN_RUN - 1).., 0);
            self.len = MIN_RUN - 1;
        }
        self.buf[self.len] = w;
        self.len += 1;
    }

    fn flush(&mut self, out: &mut Vec<Cand>) {
        if self.len >= MIN_RUN {
            out.push(Cand::Rsa(self.buf[..self.len].to_vec()));
        }
        self.len = 0;
    }
}

/// Whether the stored Jacobian point (X, Y, Z) is the affine (x, y), in
/// plain or Montgomery representation.
fn same_point(x: &BigUint, y: &BigUint, stored: &[BigUint; 3], p: &BigUint) -> bool {
    let [sx, sy, sz] = stored;
    let z = sz % p;
    if z.is_zero() {
        return false;
    }
    let z2 = &z * &z % p;
    let z3 = &z2 * &z % p;
    let want_x = x * &z2 % p;
    let want_y = y * &z3 % p;
    let r = (BigUint::one() << (p.bits().div_ceil(64) * 64)) % p;
    let r2 = &r * &r % p;
    let plain = sx % p == want_x && sy % p == want_y;
    let mont = sx * &r % p == want_x && sy * &r2 % p == want_y;
    plain || mont
}

fn order_bits(c: Curve) -> u64 {
    match c {
        Curve::P256 | Curve::Secp256k1 => 256,
        Curve::P384 => 384,
        Curve::P521 => 521,
    }
}

fn field_prime(c: Curve) -> BigUint {
    let hex: &[u8] = match c {
        Curve::P256 => b"ffffffff00000001000000000000000000000000ffffffffffffffffffffffff",
        Curve::Secp256k1 => b"fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2f",
        Curve::P384 => {
            b"fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffff"
        }
        Curve::P521 => return (BigUint::one() << 521u32) - BigUint::one(),
    };
    BigUint::parse_bytes(hex, 16).expect("constant")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fingerprint::Fingerprinter;
    use crate::layout::{partition, Claim, Format, Origin};
    use std::os::unix::fs::FileExt;
    use std::sync::Mutex;
    use std::time::Instant;
    use zeroize::Zeroize;

    /// The pointer pass is skipped only when no header was found, in
    /// either form: a header in the bitmap's last word still counts.
    #[test]
    fn headers_are_empty_only_without_a_header() {
        assert!(Headers::Addresses(Vec::new()).is_empty());
        assert!(!Headers::Addresses(vec![0x7f00_0000_1000]).is_empty());
        assert!(Headers::Bits(vec![0; 4]).is_empty());
        assert!(!Headers::Bits(vec![0, 0, 0, 1 << 63]).is_empty());
    }

    /// The vector skip stops at the same group as the scalar loop, for
    /// words of every kind: headers, other pointers into the map (aligned
    /// and not), pointers outside it, random words and zeros; with a list
    /// of headers and with the pass-all filter of the bitmap form.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn vector_skip_stops_where_the_scalar_loop_does() {
        if !std::arch::is_x86_feature_detected!("avx2") {
            return;
        }
        let base = 0x7f3a_0000_0000u64;
        let headers: Vec<u64> = (0..40u64).map(|k| base + 0x40 + k * 0x1238).collect();
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut words = Vec::new();
        for _ in 0..200_000 {
            let r = next();
            words.push(match r % 100 {
                0 => headers[(r >> 8) as usize % headers.len()],
                1..=40 => base + (r >> 20) % (1 << 24) * 8,
                41..=50 => base + (r >> 20) % (1 << 24) * 8 + 4,
                51..=60 => (r >> 8) | 0x1_0000_0000_0000,
                61..=80 => 0,
                _ => next(),
            });
        }
        let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        for (headers_form, filter) in [
            (
                Headers::Addresses(headers.clone()),
                AddressFilter::new(&headers),
            ),
            (Headers::Bits(vec![1]), AddressFilter::pass_all()),
        ] {
            let map = AddrMap {
                scan: Vec::new(),
                map: Vec::new(),
                lo: base,
                span: 1 << 28,
                headers: headers_form,
                filter,
                avx2: true,
            };
            let mut stops = 0;
            let mut i = 0;
            while i < words.len() {
                let end = (i + 1 + (next() % 5000) as usize).min(words.len());
                // SAFETY: the CPU reports AVX2 (checked above).
                let got = unsafe { map.skip_to_candidate_avx2(&bytes, i, end) };
                let want = map.skip_to_candidate_scalar(&bytes, i, end);
                assert_eq!(got, want, "from word {i} to {end}");
                stops += usize::from(want + 4 <= end);
                i = want + 1;
            }
            assert!(stops > 100, "{stops} stops: the test must reach candidates");
        }
    }

    /// The filter never turns away a header (that would hide a key), and
    /// does turn away most other pointers (its only reason to exist).
    #[test]
    fn address_filter_keeps_every_header_and_rejects_most_pointers() {
        let mut state = 0x1234_5678_9abc_def0u64;
        let mut next = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            0x5555_0000_0000 + ((state >> 20) & 0xffff_fff0)
        };
        for n in [0usize, 1, 26, 5_000, 300_000] {
            let mut headers: Vec<u64> = (0..n).map(|_| next()).collect();
            headers.sort_unstable();
            let filter = AddressFilter::new(&headers);
            assert!(
                headers.iter().all(|&a| filter.may_contain(a)),
                "{n} headers"
            );
            let others = 100_000;
            let passed = (0..others)
                .map(|_| next())
                .filter(|a| headers.binary_search(a).is_err() && filter.may_contain(*a))
                .count();
            assert!(
                passed * 10 < others,
                "{n} headers: {passed} of {others} pointers passed"
            );
        }
    }

    /// The vector form of the header pre-test agrees with the word test on
    /// every word, at every position of a block: a word it drops would
    /// hide a header, and so a key.
    #[test]
    fn quick_mask_agrees_with_the_word_test() {
        let mut state = 0x0bad_5eed_u64;
        let mut next = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            state
        };
        // Passing and nearly passing second words: top and dmax at the
        // edges of 1..4096 and of top <= dmax.
        let edges = [0u64, 1, 2, 4095, 4096, 4097];
        let mut special = Vec::new();
        for &top in &edges {
            for &dmax in &edges {
                special.push(top | dmax << 32);
            }
        }
        let quick_mask = QuickMask::new();
        let mut passed = 0;
        for round in 0..2_000 {
            let mut block = [0u8; 512];
            for (k, w) in block.chunks_exact_mut(8).enumerate() {
                let x = match next() % 4 {
                    0 => special[(next() % special.len() as u64) as usize],
                    1 => next() & 0x0000_0fff_0000_0fff,
                    2 if round % 2 == 0 => k as u64,
                    _ => next(),
                };
                w.copy_from_slice(&x.to_le_bytes());
            }
            let words: Vec<u64> = block
                .chunks_exact(8)
                .map(|w| u64::from_le_bytes(w.try_into().unwrap()))
                .collect();
            let want = words
                .iter()
                .enumerate()
                .fold(0u64, |m, (k, &x)| m | u64::from(quick(x)) << k);
            assert_eq!(quick_mask.of(&block), want, "round {round}");
            assert_eq!(quick_mask_body(&block), want, "round {round}");
            passed += want.count_ones();
        }
        assert!(passed > 10_000, "only {passed} words passed: a weak test");
    }

    /// Snapshots copy most of the process; two at once would copy each
    /// other.
    static SNAPSHOT: Mutex<()> = Mutex::new(());

    fn layout_of(file_size: u64, regions: &[(u64, u64, u64)]) -> Layout {
        let claims: Vec<Claim> = regions
            .iter()
            .map(|&(start, len, va)| Claim {
                start,
                len,
                kind: RangeKind::Memory,
                vaddr: Some(va),
                origin: Origin::named("memory"),
            })
            .collect();
        Layout {
            format: Format::Raw,
            file_size,
            ranges: partition(file_size, &claims),
            regions: regions.len(),
            streams: 0,
            modules: Vec::new(),
            stacks: Vec::new(),
        }
    }

    /// The test process's own writable private anonymous memory and heap,
    /// as a memory image with the real addresses.
    fn snapshot() -> (Vec<u8>, Layout) {
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
        let mut wanted = Vec::new();
        for line in maps.lines() {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 5 {
                continue;
            }
            let (perms, inode, path) = (f[1], f[4], f.get(5).copied().unwrap_or(""));
            if !perms.starts_with("rw") || !perms.ends_with('p') || inode != "0" {
                continue;
            }
            if !(path.is_empty() || path == "[heap]" || path.starts_with("[anon:")) {
                continue;
            }
            let (a, b) = f[0].split_once('-').unwrap();
            let (a, b) = (
                u64::from_str_radix(a, 16).unwrap(),
                u64::from_str_radix(b, 16).unwrap(),
            );
            if b - a <= 256 << 20 {
                wanted.push((a, b - a));
            }
        }
        // Allocated after reading the maps, so it is in none of them.
        let total: u64 = wanted.iter().map(|r| r.1).sum();
        let mut buf: Vec<u8> = Vec::with_capacity(total as usize);
        let mem = std::fs::File::open("/proc/self/mem").unwrap();
        let mut regions = Vec::new();
        for (va, len) in wanted {
            let start = buf.len();
            buf.resize(start + len as usize, 0);
            if mem.read_exact_at(&mut buf[start..], va).is_err() {
                buf.truncate(start);
                continue;
            }
            regions.push((start as u64, len, va));
        }
        let layout = layout_of(buf.len() as u64, &regions);
        (buf, layout)
    }

    fn scan(data: &[u8], layout: &Layout) -> Vec<KeyMatch> {
        let mut out = Vec::new();
        BignumDetector::new().scan(data, layout, &mut out);
        out
    }

    fn ids(found: &[KeyMatch], fp: &Fingerprinter) -> Vec<String> {
        found
            .iter()
            .filter_map(|m| m.key.as_ref().map(|k| k.id(fp)))
            .collect()
    }

    /// File offset of an address in an image, and back.
    fn off_of(layout: &Layout, va: u64) -> Option<usize> {
        layout
            .ranges
            .iter()
            .find(|r| r.vaddr.is_some_and(|v| v <= va && va - v < r.len))
            .map(|r| (r.start + (va - r.vaddr.unwrap())) as usize)
    }

    fn va_of(layout: &Layout, off: u64) -> u64 {
        let r = layout.range_at(off).unwrap();
        r.vaddr.unwrap() + (off - r.start)
    }

    fn word_at(image: &[u8], layout: &Layout, va: u64) -> Option<u64> {
        let o = off_of(layout, va)?;
        Some(u64::from_le_bytes(image.get(o..o + 8)?.try_into().unwrap()))
    }

    /// Addresses of the aligned words of the image equal to `value`.
    fn words_equal(image: &[u8], layout: &Layout, value: u64) -> Vec<u64> {
        let mut out = Vec::new();
        for r in layout.ranges.iter().filter(|r| r.vaddr.is_some()) {
            let bytes = &image[r.start as usize..r.end() as usize];
            for (i, w) in bytes.chunks_exact(8).enumerate() {
                if u64::from_le_bytes(w.try_into().unwrap()) == value {
                    out.push(r.vaddr.unwrap() + i as u64 * 8);
                }
            }
        }
        out
    }

    /// The BIGNUM header whose limb pointer is `limbs`, then the struct
    /// slots that point at that header.
    fn slots_pointing_at_limbs(image: &[u8], layout: &Layout, limbs: u64) -> Vec<u64> {
        words_equal(image, layout, limbs)
            .into_iter()
            .flat_map(|header| words_equal(image, layout, header))
            .collect()
    }

    #[test]
    fn finds_rsa_key_that_openssl_loaded_from_wiped_der() {
        use openssl::rsa::Rsa;
        let _guard = SNAPSHOT.lock().unwrap_or_else(|e| e.into_inner());
        let generated = Rsa::generate(2048).unwrap();
        let mut der = generated.private_key_to_der().unwrap();
        let num = |b: &openssl::bn::BigNumRef| BigUint::from_bytes_be(&b.to_vec());
        let (n, e, d, p, q) = (
            num(generated.n()),
            num(generated.e()),
            num(generated.d()),
            num(generated.p().unwrap()),
            num(generated.q().unwrap()),
        );
        // Only the copy OpenSSL builds from the DER is left to find.
        drop(generated);
        let loaded = Rsa::private_key_from_der(&der).unwrap();
        der.zeroize();
        let (image, layout) = snapshot();
        std::hint::black_box(&loaded);

        let found = scan(&image, &layout);
        let fp = Fingerprinter::new(None);
        let want = KeyMaterial::Rsa(RsaKey::from_components(&n, &e, &d, &p, &q).unwrap()).id(&fp);
        let hit = found
            .iter()
            .find(|m| m.key.as_ref().map(|k| k.id(&fp)).as_deref() == Some(want.as_str()))
            .unwrap_or_else(|| panic!("key {want} not found; found {:?}", ids(&found, &fp)));
        assert_eq!(hit.rule, RSA_RULE);
        assert_eq!(hit.form, FORM);
        assert_eq!(hit.encoding, Encoding::Binary);
        assert_eq!(hit.confidence, Confidence::High);
        assert!(hit.validated);
        assert!(hit.key_id.is_none());
        // The span is d's limb array: d little-endian, zero-padded to whole
        // limbs.
        let span = &image[hit.offset as usize..(hit.offset + hit.len) as usize];
        assert_eq!(BigUint::from_bytes_le(span), d);
        assert_eq!(hit.len % 8, 0);
        assert!(hit.len / 8 == d.bits().div_ceil(64));

        // The struct around the run, to confirm the layout the module doc
        // describes: `meth, engine, n, e, d, p, q, ...` (OpenSSL 1.1 and 3).
        let d_slots = slots_pointing_at_limbs(&image, &layout, va_of(&layout, hit.offset));
        let map = AddrMap::new(&layout, image.len() as u64).unwrap();
        let is_bn = |va: u64| {
            word_at(&image, &layout, va)
                .and_then(|w| map.bignum_header(&image, w, false))
                .is_some()
        };
        let slot = *d_slots
            .iter()
            .find(|&&s| (0..8).all(|i| is_bn(s - 16 + i * 8)))
            .expect("rsa_st with n..iqmp around d");
        let n_slot = slot - 16;
        let engine = word_at(&image, &layout, n_slot - 8).unwrap();
        let meth = word_at(&image, &layout, n_slot - 16).unwrap();
        let dummy_zero = word_at(&image, &layout, n_slot - 40).unwrap() as u32;
        assert_eq!(engine, 0);
        assert_ne!(meth, 0);
        assert_eq!(dummy_zero, 0);
        drop(loaded);
    }

    #[test]
    fn finds_ec_keys_that_openssl_loaded_from_wiped_der() {
        use openssl::bn::BigNumContext;
        use openssl::ec::{EcGroup, EcKey, PointConversionForm};
        use openssl::nid::Nid;
        let _guard = SNAPSHOT.lock().unwrap_or_else(|e| e.into_inner());
        let fp = Fingerprinter::new(None);
        let mut loaded = Vec::new();
        let mut want = Vec::new();
        for (nid, curve) in [
            (Nid::X9_62_PRIME256V1, Curve::P256),
            (Nid::SECP384R1, Curve::P384),
            (Nid::SECP521R1, Curve::P521),
            (Nid::SECP256K1, Curve::Secp256k1),
        ] {
            let group = EcGroup::from_curve_name(nid).unwrap();
            let generated = EcKey::generate(&group).unwrap();
            let mut der = generated.private_key_to_der().unwrap();
            let mut ctx = BigNumContext::new().unwrap();
            let public = generated
                .public_key()
                .to_bytes(&group, PointConversionForm::UNCOMPRESSED, &mut ctx)
                .unwrap();
            let d = generated
                .private_key()
                .to_vec_padded(curve.field_len() as i32)
                .unwrap();
            drop(generated);
            loaded.push(EcKey::private_key_from_der(&der).unwrap());
            der.zeroize();
            let key = KeyMaterial::Ec {
                curve,
                d: Zeroizing::new(d),
                public,
            };
            want.push(key.id(&fp));
        }
        let (image, layout) = snapshot();
        std::hint::black_box(&loaded);

        let found = scan(&image, &layout);
        let got = ids(&found, &fp);
        for id in &want {
            let hit = found
                .iter()
                .find(|m| m.key.as_ref().map(|k| k.id(&fp)).as_ref() == Some(id))
                .unwrap_or_else(|| panic!("key {id} not found; found {got:?}"));
            assert_eq!(hit.rule, EC_RULE);
            assert!(hit.validated && hit.confidence == Confidence::High);
            let Some(KeyMaterial::Ec { d, .. }) = hit.key.as_deref() else {
                panic!("not an EC key");
            };
            let span = &image[hit.offset as usize..(hit.offset + hit.len) as usize];
            assert_eq!(BigUint::from_bytes_le(span), BigUint::from_bytes_be(d));

            // EC_KEY: `pub_key` right before `priv_key`; EC_POINT (3.x):
            // X, Y, Z are BIGNUM pointers at +16, +24, +32.
            let map = AddrMap::new(&layout, image.len() as u64).unwrap();
            let slots = slots_pointing_at_limbs(&image, &layout, va_of(&layout, hit.offset));
            let point_has_bn_coords = |slot: u64| {
                let Some(point) = word_at(&image, &layout, slot - 8) else {
                    return false;
                };
                (2..5).all(|i| {
                    word_at(&image, &layout, point + i * 8)
                        .and_then(|w| map.bignum_header(&image, w, true))
                        .is_some()
                })
            };
            assert!(
                slots.iter().any(|&s| point_has_bn_coords(s)),
                "EC_POINT layout for {id}"
            );
        }
        drop(loaded);
    }

    /// A synthetic memory image, laid out the way the libraries lay out
    /// their structs.
    struct Img {
        base: u64,
        bytes: Vec<u8>,
        next: u64,
    }

    impl Img {
        fn new(base: u64, size: usize) -> Img {
            Img {
                base,
                bytes: vec![0; size],
                next: base,
            }
        }

        fn alloc(&mut self, len: u64) -> u64 {
            let va = (self.next + 15) & !15;
            self.next = va + len;
            assert!(self.next <= self.base + self.bytes.len() as u64);
            va
        }

        fn put(&mut self, va: u64, w: u64) {
            self.put_bytes(va, &w.to_le_bytes());
        }

        fn put_bytes(&mut self, va: u64, b: &[u8]) {
            let o = (va - self.base) as usize;
            self.bytes[o..o + b.len()].copy_from_slice(b);
        }

        fn header(&mut self, at: u64, limbs: u64, top: i32, dmax: i32) {
            self.put(at, limbs);
            self.put(at + 8, top as u32 as u64 | (dmax as u32 as u64) << 32);
            self.put(at + 16, 1 << 32);
        }

        fn limbs(&mut self, at: u64, v: &[u64]) {
            for (i, l) in v.iter().enumerate() {
                self.put(at + i as u64 * 8, *l);
            }
        }

        /// A BIGNUM with its limbs allocated separately.
        fn bn(&mut self, v: &BigUint) -> u64 {
            let limbs = v.to_u64_digits();
            let l = self.alloc(limbs.len() as u64 * 8);
            self.limbs(l, &limbs);
            let h = self.alloc(24);
            self.header(h, l, limbs.len() as i32, limbs.len() as i32);
            h
        }

        /// An OpenSSL 3 `rsa_st` holding these BIGNUM pointers.
        fn rsa_st(&mut self, at: u64, ptrs: &[u64]) {
            self.put(at + 24, 0x5555_0000_1000);
            for (i, p) in ptrs.iter().enumerate() {
                self.put(at + 40 + i as u64 * 8, *p);
            }
        }

        fn layout(&self) -> Layout {
            layout_of(
                self.bytes.len() as u64,
                &[(0, self.bytes.len() as u64, self.base)],
            )
        }
    }

    /// A deterministic generator, so failures reproduce.
    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn fill(&mut self, buf: &mut [u8]) {
            for c in buf.chunks_mut(8) {
                let w = self.next().to_le_bytes();
                c.copy_from_slice(&w[..c.len()]);
            }
        }

        fn big(&mut self, limbs: usize) -> BigUint {
            let mut v: Vec<u64> = (0..limbs).map(|_| self.next()).collect();
            v[limbs - 1] |= 1 << 63;
            BigUint::new(
                v.iter()
                    .flat_map(|l| [*l as u32, (*l >> 32) as u32])
                    .collect(),
            )
        }
    }

    /// A real (if unusual) RSA key: two known primes, 776 bits.
    fn toy_key() -> RsaKey {
        let p = (BigUint::one() << 255u32) - BigUint::from(19u32);
        let q = (BigUint::one() << 521u32) - BigUint::one();
        RsaKey::from_factor(&(&p * &q), &BigUint::from(65537u32), &p).unwrap()
    }

    fn rsa_parts(k: &RsaKey) -> [&BigUint; 8] {
        [&k.n, &k.e, &k.d, &k.p, &k.q, &k.dp, &k.dq, &k.qinv]
    }

    #[test]
    fn rsa_struct_across_chunks_and_limbs_across_file_pieces() {
        let key = toy_key();
        let base = 0x7f00_0000_0000u64;
        let size = CHUNK_WORDS * 8 + (1 << 20);
        let mut img = Img::new(base, size);
        let ptrs: Vec<u64> = rsa_parts(&key).iter().map(|v| img.bn(v)).collect();
        // d's limbs straddle `cut`, where the file has a gap.
        let cut = base + 0x8000;
        let d_limbs = key.d.to_u64_digits();
        let d_at = cut - 16;
        img.limbs(d_at, &d_limbs);
        img.put(ptrs[2], d_at);
        // The pointer run straddles the first chunk boundary.
        let boundary = base + CHUNK_WORDS as u64 * 8;
        img.rsa_st(boundary - 40 - 16, &ptrs);

        let a = (cut - base) as usize;
        let gap = 4096usize;
        let mut file = img.bytes[..a].to_vec();
        file.extend(std::iter::repeat_n(0xa5, gap));
        file.extend_from_slice(&img.bytes[a..]);
        let regions = [
            (0, a as u64, base),
            ((a + gap) as u64, (size - a) as u64, cut),
        ];
        let layout = layout_of(file.len() as u64, &regions);

        let found = scan(&file, &layout);
        assert_eq!(found.len(), 2, "one match per file piece of d");
        assert_eq!((found[0].offset, found[0].len), ((a - 16) as u64, 16));
        assert_eq!(
            (found[1].offset, found[1].len),
            ((a + gap) as u64, d_limbs.len() as u64 * 8 - 16)
        );
        let fp = Fingerprinter::new(None);
        let want = KeyMaterial::Rsa(toy_key()).id(&fp);
        assert!(ids(&found, &fp).iter().all(|id| *id == want));
        // Same input, same output.
        let again = scan(&file, &layout);
        let spans = |v: &[KeyMatch]| v.iter().map(|m| (m.offset, m.len)).collect::<Vec<_>>();
        assert_eq!(spans(&found), spans(&again));
    }

    /// The header pass runs piece by piece with the scan's chunks: every
    /// word of every mapped segment falls in exactly one piece, and the
    /// key is found the same whatever the chunk size, down to chunks that
    /// cut headers, limbs and the struct's pointers (and the file gap
    /// between two regions) at odd offsets.
    #[test]
    fn header_pass_follows_any_chunking() {
        let key = toy_key();
        let base = 0x7f00_0000_0000u64;
        let size = 1 << 20;
        let mut img = Img::new(base, size);
        let ptrs: Vec<u64> = rsa_parts(&key).iter().map(|v| img.bn(v)).collect();
        img.rsa_st(base + 0x4_0008, &ptrs);
        let a = 0x2_0000usize;
        let mut file = img.bytes[..a].to_vec();
        file.extend(std::iter::repeat_n(0xa5, 4100));
        file.extend_from_slice(&img.bytes[a..]);
        let regions = [
            (0, a as u64, base),
            (a as u64 + 4100, (size - a) as u64, base + a as u64),
        ];
        let layout = layout_of(file.len() as u64, &regions);
        let map = AddrMap::new(&layout, file.len() as u64).unwrap();
        let det = BignumDetector::new();
        let spans = |v: &[KeyMatch]| v.iter().map(|m| (m.offset, m.len)).collect::<Vec<_>>();
        let found = scan(&file, &layout);
        let fp = Fingerprinter::new(None);
        let want = KeyMaterial::Rsa(toy_key()).id(&fp);
        assert_eq!(ids(&found, &fp), vec![want]);
        let whole = spans(&found);
        for chunk_size in [4 << 20, 65_548, 4100, 1000] {
            let chunks = plan::chunks(&plan::segments(&layout), chunk_size, 0);
            let work = map.header_work(&chunks);
            for (seg, s) in map.map.iter().enumerate() {
                let mut pieces: Vec<(usize, usize)> = work
                    .iter()
                    .flatten()
                    .filter(|c| c.seg == seg)
                    .map(|c| (c.w0, c.w1))
                    .collect();
                pieces.sort_unstable();
                let mut next = 0;
                for (w0, w1) in pieces {
                    assert_eq!(w0, next, "chunk size {chunk_size}");
                    next = w1;
                }
                assert_eq!(next, s.words().1, "chunk size {chunk_size}");
            }
            let pass = det.start(&file, &layout, &chunks);
            for k in (0..chunks.len()).rev() {
                pass.chunk(k);
            }
            let mut out = Vec::new();
            pass.finish(&mut out);
            assert_eq!(spans(&out), whole, "chunk size {chunk_size}");
        }
    }

    #[test]
    fn rsa_with_a_wiped_d_is_found_through_a_factor() {
        let key = toy_key();
        let mut img = Img::new(0x5000_0000, 1 << 16);
        let mut ptrs: Vec<u64> = rsa_parts(&key).iter().map(|v| img.bn(v)).collect();
        ptrs[2] = img.bn(&(&key.d + 2u32));
        let at = img.alloc(128);
        img.rsa_st(at, &ptrs);
        let found = scan(&img.bytes, &img.layout());
        assert_eq!(found.len(), 1);
        let span = &img.bytes[found[0].offset as usize..(found[0].offset + found[0].len) as usize];
        assert_eq!(BigUint::from_bytes_le(span), key.p);
    }

    /// Stores (x, y) of d·G as Jacobian coordinates with the given Z, in
    /// Montgomery form or not, as a library would.
    fn jacobian(curve: Curve, d: &[u8], z: u64, mont: bool) -> [BigUint; 3] {
        let pt = curve.public_point(d).unwrap();
        let len = curve.field_len();
        let p = field_prime(curve);
        let (x, y) = (
            BigUint::from_bytes_be(&pt[1..1 + len]),
            BigUint::from_bytes_be(&pt[1 + len..]),
        );
        let z = BigUint::from(z);
        let r = if mont {
            (BigUint::one() << (p.bits().div_ceil(64) * 64)) % &p
        } else {
            BigUint::one()
        };
        let (z2, z3) = (&z * &z, &z * &z * &z);
        [x * z2 % &p * &r % &p, y * z3 % &p * &r % &p, z * &r % &p]
    }

    #[test]
    fn ec_layouts_of_other_library_versions() {
        let fp = Fingerprinter::new(None);
        let mut rng = XorShift(7);
        let mut img = Img::new(0x6000_0000, 1 << 16);
        let mut want = Vec::new();
        for (i, curve) in [Curve::P256, Curve::P384, Curve::P521]
            .into_iter()
            .enumerate()
        {
            let len = curve.field_len();
            let mut d = vec![0u8; len];
            rng.fill(&mut d);
            d[0] &= if curve == Curve::P521 { 0x01 } else { 0x7f };
            d[1] |= 1;
            let xyz = jacobian(curve, &d, 3 + i as u64, i % 2 == 0);
            let scalar = BigUint::from_bytes_be(&d);
            match i {
                // OpenSSL 1.0: X, Y, Z headers embedded in EC_POINT.
                0 | 2 => {
                    let point = img.alloc(8 + 3 * 24 + 8);
                    for (k, v) in xyz.iter().enumerate() {
                        let limbs = v.to_u64_digits();
                        let l = img.alloc(limbs.len() as u64 * 8);
                        img.limbs(l, &limbs);
                        img.header(
                            point + 8 + k as u64 * 24,
                            l,
                            limbs.len() as i32,
                            limbs.len() as i32,
                        );
                    }
                    let key = img.alloc(64);
                    img.put(key + 8, 0x4444_0000_0000);
                    img.put(key + 16, point);
                    let priv_key = img.bn(&scalar);
                    img.put(key + 24, priv_key);
                }
                // BoringSSL: felems in EC_POINT, scalar wrapped with its
                // header.
                _ => {
                    let group = 0x4444_0000_0000u64;
                    let point = img.alloc(8 + 3 * 72);
                    img.put(point, group);
                    for (k, v) in xyz.iter().enumerate() {
                        img.limbs(point + 8 + k as u64 * 72, &v.to_u64_digits());
                    }
                    let wrapped = img.alloc(24 + 72);
                    let limbs = scalar.to_u64_digits();
                    img.header(
                        wrapped,
                        wrapped + 24,
                        limbs.len() as i32,
                        limbs.len() as i32,
                    );
                    img.limbs(wrapped + 24, &limbs);
                    let key = img.alloc(64);
                    img.put(key, group);
                    img.put(key + 8, point);
                    img.put(key + 16, wrapped);
                }
            }
            let public = curve.public_point(&d).unwrap();
            want.push(
                KeyMaterial::Ec {
                    curve,
                    d: Zeroizing::new(d),
                    public,
                }
                .id(&fp),
            );
        }
        let found = scan(&img.bytes, &img.layout());
        let mut got = ids(&found, &fp);
        got.sort();
        want.sort();
        assert_eq!(got, want);
        assert!(found.iter().all(|m| m.rule == EC_RULE && m.validated));
    }

    #[test]
    fn random_memory_gives_nothing() {
        let mut data = vec![0u8; 64 << 20];
        XorShift(0x9e37_79b9_7f4a_7c15).fill(&mut data);
        let layout = layout_of(
            data.len() as u64,
            &[(0, data.len() as u64, 0x7f12_3400_0000)],
        );
        assert!(scan(&data, &layout).is_empty());
    }

    #[test]
    fn plausible_structs_with_random_numbers_give_nothing() {
        let mut rng = XorShift(42);
        let mut img = Img::new(0x7f00_1000_0000, 8 << 20);
        // RSA-shaped: 2048-bit sizes, random limbs.
        for _ in 0..300 {
            let sizes = [32, 1, 32, 16, 16, 16, 16, 16];
            let ptrs: Vec<u64> = sizes.iter().map(|&s| img.bn(&rng.big(s))).collect();
            let at = img.alloc(128);
            img.rsa_st(at, &ptrs);
        }
        // RSA-shaped with the real n but random d and primes.
        let key = toy_key();
        for _ in 0..20 {
            let ptrs: Vec<u64> = [
                key.n.clone(),
                key.e.clone(),
                rng.big(13),
                rng.big(4),
                rng.big(9),
            ]
            .iter()
            .map(|v| img.bn(v))
            .collect();
            let at = img.alloc(128);
            img.rsa_st(at, &ptrs);
        }
        // EC-shaped (OpenSSL 3): a point with BIGNUM coordinates, a scalar
        // of the right size that is not its discrete log.
        for _ in 0..30 {
            let coords: Vec<u64> = (0..3).map(|_| img.bn(&rng.big(4))).collect();
            let point = img.alloc(48);
            img.put(point, 0x4444_0000_0000);
            for (k, c) in coords.iter().enumerate() {
                img.put(point + 16 + k as u64 * 8, *c);
            }
            let scalar = img.bn(&(rng.big(4) >> 1u32));
            let key = img.alloc(64);
            img.put(key + 32, point);
            img.put(key + 40, scalar);
        }
        assert!(scan(&img.bytes, &img.layout()).is_empty());
    }

    #[test]
    fn hostile_pointers_and_headers_do_not_panic() {
        let base = 0x10_0000u64;
        let mut img = Img::new(base, 1 << 16);
        let end = base + (1 << 16);
        let mut ptrs = Vec::new();
        // Limbs that run past the end of the map.
        let h = img.alloc(24);
        img.header(h, end - 8, MAX_LIMBS, MAX_LIMBS);
        ptrs.push(h);
        // top > dmax, negative top, huge dmax, unaligned limbs.
        for (top, dmax, limbs) in [
            (9, 4, base),
            (-1, 4, base),
            (4, i32::MAX, base),
            (4, 4, base + 3),
        ] {
            let h = img.alloc(24);
            img.header(h, limbs, top, dmax);
            ptrs.push(h);
        }
        // Cycles: a header whose limbs are itself, a header at the end of
        // the map.
        let h = img.alloc(24);
        img.header(h, h, 3, 3);
        ptrs.push(h);
        img.header(end - 24, end - 24, 3, 3);
        ptrs.push(end - 24);
        // Pointers just outside the map and into the middle of a header.
        ptrs.extend([base - 8, end, end + 8, h + 8, !7]);
        let run = img.alloc(8 * ptrs.len() as u64 * 2);
        for (i, p) in ptrs.iter().enumerate() {
            img.put(run + i as u64 * 8, *p);
        }
        // A run of pointers to the same header, whose limbs are the run.
        let h2 = img.alloc(24);
        let run2 = img.alloc(8 * 40);
        img.header(h2, run2, 8, 8);
        for i in 0..40 {
            img.put(run2 + i * 8, h2);
        }
        // An EC-shaped pair whose "point" is the key itself.
        let key = img.alloc(32);
        img.put(key, key);
        img.put(key + 8, h2);
        let data = img.bytes.clone();
        assert!(scan(&data, &img.layout()).is_empty());

        // Ranges that run past the data, sit at an unaligned address, wrap
        // the address space, or lack an address.
        let n = data.len() as u64;
        let mut layout = layout_of(n * 2, &[(0, n / 2, base + 3), (n / 2, n, u64::MAX - 100)]);
        assert!(scan(&data, &layout).is_empty());
        for r in &mut layout.ranges {
            r.vaddr = None;
        }
        assert!(scan(&data, &layout).is_empty());
        assert!(scan(&[], &img.layout()).is_empty());
    }

    /// Throughput; run with
    /// `cargo test --release --lib bignum::tests::throughput -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn throughput() {
        // CPU seconds of the whole process: wall time is meaningless on a
        // shared machine.
        let cpu = || {
            let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
            let f: Vec<&str> = stat
                .rsplit(')')
                .next()
                .unwrap()
                .split_whitespace()
                .collect();
            (f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap()) / 100.0
        };
        let rate = |name: &str, data: &[u8], layout: &Layout| {
            let det = BignumDetector::new();
            let mut out = Vec::new();
            det.scan(data, layout, &mut out);
            let runs = 10;
            let (t, c) = (Instant::now(), cpu());
            for _ in 0..runs {
                out.clear();
                det.scan(data, layout, &mut out);
            }
            let wall = t.elapsed().as_secs_f64() / runs as f64;
            let secs = (cpu() - c) / runs as f64;
            let mb = layout.byte_counts().memory as f64 / 1e6;
            println!(
                "{name}: {mb:.0} MB, {:.0} MB/s per CPU second ({:.0} MB/s wall, {} threads), {} found",
                mb / secs,
                mb / wall,
                rayon::current_num_threads(),
                out.len()
            );
        };
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let base = 0x7f12_3400_0000u64;
        let mut random = vec![0u8; 256 << 20];
        XorShift(1).fill(&mut random);
        let layout = layout_of(random.len() as u64, &[(0, random.len() as u64, base)]);
        pool.install(|| rate("random, 1 thread", &random, &layout));
        rate("random", &random, &layout);
        drop(random);
        // Worst case: every word points at a random word of the image.
        let mut pointers = vec![0u8; 64 << 20];
        let mut rng = XorShift(2);
        for w in pointers.chunks_exact_mut(8) {
            let p = (base + rng.next() % (64 << 20)) & !7;
            w.copy_from_slice(&p.to_le_bytes());
        }
        let layout = layout_of(pointers.len() as u64, &[(0, pointers.len() as u64, base)]);
        pool.install(|| rate("all pointers, 1 thread", &pointers, &layout));
        drop(pointers);
        // A real heap: a pointer-rich map of strings, and four RSA keys.
        let (image, layout) = {
            let _guard = SNAPSHOT.lock().unwrap_or_else(|e| e.into_inner());
            let heap: std::collections::BTreeMap<u64, String> = (0..2_000_000u64)
                .map(|i| (i.wrapping_mul(0x9e37_79b9_7f4a_7c15), format!("value {i}")))
                .collect();
            let _keys: Vec<_> = (0..4)
                .map(|_| openssl::rsa::Rsa::generate(2048).unwrap())
                .collect();
            let snap = snapshot();
            std::hint::black_box(&heap);
            snap
        };
        pool.install(|| rate("process snapshot, 1 thread", &image, &layout));
        rate("process snapshot", &image, &layout);
    }
}
