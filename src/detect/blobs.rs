//! Windows key blobs as they lie in process memory: CNG
//! (`BCRYPT_RSAKEY_BLOB`, `BCRYPT_ECCKEY_BLOB`) and CryptoAPI
//! (`PRIVATEKEYBLOB`).
//!
//! Programs import and export keys in these layouts (`BCryptExportKey`,
//! `CryptExportKey`, PFX import), so the buffers they pass around hold one,
//! and memory-forensics practice finds CryptoAPI RSA keys in memory as the
//! blob's body alone (the `RSAPUBKEY` header with magic `RSA2` and the
//! numbers after it, without the 8-byte `BLOBHEADER`).
//!
//! What is found and validated:
//! - CNG RSA, magic `RSA2` (private) and `RSA3` (full private), numbers
//!   big-endian: p·q = n, and for `RSA3` also d·e ≡ 1 (mod λ(n)) and the
//!   stored dP, dQ, qInv equal the ones derived from d, p and q.
//! - CNG ECC, magics `ECS2/4/6` (ECDSA) and `ECK2/4/6` (ECDH) for P-256,
//!   P-384 and P-521: d·G = (X, Y). The generic magics `ECDV` and `ECKV`
//!   (any named curve) are validated against every supported curve of the
//!   blob's coordinate length (P-256 and secp256k1 for 32 bytes).
//! - CryptoAPI `PRIVATEKEYBLOB` of an RSA key (`BLOBHEADER` type 7,
//!   version 2, `CALG_RSA_KEYX` or `CALG_RSA_SIGN`, then `RSAPUBKEY` with
//!   magic `RSA2`), numbers little-endian: as CNG `RSA3`.
//!   The same body without `BLOBHEADER` is accepted too (form
//!   `capi-rsa-privatekeyblob-noheader`), for the in-memory copies above;
//!   its header is weaker evidence (a bit length and an odd exponent), so
//!   it is only tried when the bytes at the magic are not a plausible CNG
//!   header.
//!
//! A blob whose header is exact but whose numbers do not agree (a damaged
//! or half-overwritten key, or a curve we cannot compute on) is reported
//! with low confidence and `validated = false`. A blob cut off by the end
//! of the scanned bytes is reported the same way, spanning what is there.
//! Blobs whose private numbers are all zero (a key the program wiped) are
//! not reported: there is nothing left to remove.
//!
//! What it cannot see: DSA/DH blobs (`DSS2`, `DH2`), the ECC "full" blobs
//! with explicit curve parameters, keys held by CNG's key isolation
//! service (LSASS, not the crashing process), keys in smart cards or TPMs,
//! and blobs that are encrypted (`SIMPLEBLOB`, DPAPI). A blob whose header
//! is destroyed is invisible here; the DER and sweep passes may still find
//! its numbers.
//!
//! The span of a finding is the whole blob, header included: the header is
//! not secret, but zeroing it with the key removes the structure cleanly.

use std::ops::Range;
use std::sync::Arc;

use num_bigint::BigUint;

use super::literals::{ClientHits, OwnLiterals};
use super::{AnchoredDetector, Encoding, KeyMatch};
use crate::keys::{Curve, KeyMaterial, RsaKey};
use crate::rules::Confidence;

pub const RSA_RULE: &str = "rsa-private-key-blob";
pub const EC_RULE: &str = "ec-private-key-blob";
const RSA_DESCRIPTION: &str = "RSA private key in a Windows CNG or CryptoAPI key blob";
const EC_DESCRIPTION: &str = "EC private key in a Windows CNG key blob";

/// Modulus sizes outside this range are not real keys (CNG and CryptoAPI
/// both stop at 16384 bits).
const MIN_BITS: u32 = 512;
const MAX_BITS: u32 = 16384;
/// Wider public exponents are not used in practice (Windows generates
/// 65537); the bound keeps the header check tight.
const MAX_CB_PUBLIC_EXP: usize = 8;
/// Coordinate lengths of the named curves CNG supports (brainpoolP160 is
/// the smallest, P-521 the largest).
const GENERIC_CB_KEY: Range<usize> = 20..67;

const CNG_RSA_HEADER: usize = 24;
const CAPI_BLOBHEADER: usize = 8;
const CAPI_RSAPUBKEY: usize = 12;
const ECC_HEADER: usize = 8;

const PRIVATEKEYBLOB: u8 = 7;
const CUR_BLOB_VERSION: u8 = 2;
const CALG_RSA_KEYX: u32 = 0xa400;
const CALG_RSA_SIGN: u32 = 0x2400;

const MAX_CB_N: usize = MAX_BITS as usize / 8;

/// The longest blob the header checks admit: a 16384-bit CNG `RSA3` with
/// an 8-byte exponent and the most unbalanced primes allowed (a CryptoAPI
/// blob of the same key is shorter: balanced primes, 4-byte exponent).
const MAX_BLOB: usize = CNG_RSA_HEADER
    + MAX_CB_PUBLIC_EXP
    + 2 * MAX_CB_N
    + 2 * (MAX_CB_N + 2)
    + max_prime_len(MAX_CB_N);

/// Neither prime of a real key is more than three quarters of the modulus.
const fn max_prime_len(cb_n: usize) -> usize {
    cb_n * 3 / 4 + 1
}

#[derive(Debug, Clone, Copy)]
enum Magic {
    Rsa2,
    Rsa3,
    /// `curve` is `None` for the generic magics (any named curve).
    Ecc {
        ecdh: bool,
        curve: Option<Curve>,
    },
}

const fn ecc(ecdh: bool, curve: Option<Curve>) -> Magic {
    Magic::Ecc { ecdh, curve }
}

const MAGICS: [(&[u8; 4], Magic); 10] = [
    (b"RSA2", Magic::Rsa2),
    (b"RSA3", Magic::Rsa3),
    (b"ECS2", ecc(false, Some(Curve::P256))),
    (b"ECS4", ecc(false, Some(Curve::P384))),
    (b"ECS6", ecc(false, Some(Curve::P521))),
    (b"ECK2", ecc(true, Some(Curve::P256))),
    (b"ECK4", ecc(true, Some(Curve::P384))),
    (b"ECK6", ecc(true, Some(Curve::P521))),
    (b"ECDV", ecc(false, None)),
    (b"ECKV", ecc(true, None)),
];

/// Finds CNG and CryptoAPI private-key blobs.
pub struct BlobDetector {
    literals: OwnLiterals,
}

impl Default for BlobDetector {
    fn default() -> Self {
        Self::new()
    }
}

impl BlobDetector {
    pub fn new() -> Self {
        // Searched with every other detector's literals, one SIMD pass for
        // all (see `literals`). No magic overlaps another.
        let literals = OwnLiterals::new(MAGICS.iter().map(|(m, _)| m.to_vec()).collect())
            .expect("ten literals always build");
        BlobDetector { literals }
    }
}

impl AnchoredDetector for BlobDetector {
    fn longest_match(&self) -> usize {
        MAX_BLOB
    }

    fn literals(&self) -> &OwnLiterals {
        &self.literals
    }

    fn scan_hits(
        &self,
        buf: &[u8],
        hits: ClientHits<'_>,
        base: u64,
        own: Range<u64>,
        out: &mut Vec<KeyMatch>,
    ) {
        let Some(lo) = own.start.checked_sub(base) else {
            return;
        };
        let lo = (lo as usize).min(buf.len());
        // A CryptoAPI blob's magic is 8 bytes after its start, so a blob
        // starting at the end of `own` has its magic in the context after.
        let hi = (own.end.saturating_sub(base) as usize)
            .saturating_add(CAPI_BLOBHEADER + 4)
            .min(buf.len());
        if lo >= hi {
            return;
        }
        for (at, end, pattern) in hits.starting_in(lo..hi) {
            if end > hi {
                continue;
            }
            let Some(c) = candidate(buf, at, MAGICS[pattern as usize].1) else {
                continue;
            };
            // Ownership before arithmetic: the neighbouring chunk owns a
            // blob that starts in its range and does the work once.
            let offset = base + c.start as u64;
            if !own.contains(&offset) {
                continue;
            }
            if let Some(found) = examine(buf, &c) {
                out.push(found.into_match(offset));
            }
        }
    }
}

/// A blob whose header passed every check, before its numbers are read.
struct Candidate {
    /// Buffer index of the blob's first byte, and its full length.
    start: usize,
    len: usize,
    /// Buffer index of the first private number.
    private_from: usize,
    blob: Blob,
}

enum Blob {
    CngRsa(CngRsaHeader),
    /// `body` is the buffer index of the modulus.
    CapiRsa {
        bits: u32,
        e: u32,
        body: usize,
        header: bool,
    },
    Ecc {
        ecdh: bool,
        curve: Option<Curve>,
        cb: usize,
    },
}

/// The sizes in a CNG RSA header.
struct CngRsaHeader {
    full: bool,
    bits: u32,
    cb_e: usize,
    cb_n: usize,
    cb_p: usize,
    cb_q: usize,
}

impl CngRsaHeader {
    fn len(&self) -> usize {
        let primes = self.cb_p + self.cb_q;
        let full = if self.full {
            primes + self.cb_p + self.cb_n
        } else {
            0
        };
        CNG_RSA_HEADER + self.cb_e + self.cb_n + primes + full
    }
}

fn u32_at(buf: &[u8], at: usize) -> Option<u32> {
    let b = buf.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// Checks the header at a magic; no number is read yet.
fn candidate(buf: &[u8], at: usize, magic: Magic) -> Option<Candidate> {
    match magic {
        // `RSA2` starts a CNG private blob, a CryptoAPI body, or (8 bytes
        // in) a whole CryptoAPI blob. The `BLOBHEADER` is the strongest
        // evidence, then a CNG header whose sizes must all agree; a bare
        // CryptoAPI body, with only a bit length and an exponent to check,
        // comes last.
        Magic::Rsa2 => at
            .checked_sub(CAPI_BLOBHEADER)
            .filter(|&start| capi_blobheader(&buf[start..at]))
            .and_then(|start| capi_rsa_header(buf, start, at))
            .or_else(|| cng_rsa_header(buf, at, false))
            .or_else(|| capi_rsa_header(buf, at, at)),
        Magic::Rsa3 => cng_rsa_header(buf, at, true),
        Magic::Ecc { ecdh, curve } => {
            let cb = u32_at(buf, at + 4)? as usize;
            let plausible = match curve {
                Some(c) => c.field_len() == cb,
                None => GENERIC_CB_KEY.contains(&cb),
            };
            plausible.then_some(Candidate {
                start: at,
                len: ECC_HEADER + 3 * cb,
                private_from: at + ECC_HEADER + 2 * cb,
                blob: Blob::Ecc { ecdh, curve, cb },
            })
        }
    }
}

/// Checks the CNG header's sizes against each other: the modulus is
/// exactly ⌈k/8⌉ bytes for a k-bit key, and the primes' lengths add up to
/// between ⌈k/8⌉ and ⌈k/8⌉ + 2 bytes.
fn cng_rsa_header(buf: &[u8], at: usize, full: bool) -> Option<Candidate> {
    let bits = u32_at(buf, at + 4)?;
    let h = CngRsaHeader {
        full,
        bits,
        cb_e: u32_at(buf, at + 8)? as usize,
        cb_n: u32_at(buf, at + 12)? as usize,
        cb_p: u32_at(buf, at + 16)? as usize,
        cb_q: u32_at(buf, at + 20)? as usize,
    };
    let plausible = (MIN_BITS..=MAX_BITS).contains(&bits)
        && h.cb_n == bits.div_ceil(8) as usize
        && (1..=MAX_CB_PUBLIC_EXP).contains(&h.cb_e)
        && h.cb_p <= max_prime_len(h.cb_n)
        && h.cb_q <= max_prime_len(h.cb_n)
        && (h.cb_n..=h.cb_n + 2).contains(&(h.cb_p + h.cb_q));
    plausible.then(|| Candidate {
        start: at,
        len: h.len(),
        private_from: at + CNG_RSA_HEADER + h.cb_e + h.cb_n,
        blob: Blob::CngRsa(h),
    })
}

fn capi_blobheader(h: &[u8]) -> bool {
    let alg = u32::from_le_bytes([h[4], h[5], h[6], h[7]]);
    h[0] == PRIVATEKEYBLOB
        && h[1] == CUR_BLOB_VERSION
        && h[2] == 0
        && h[3] == 0
        && matches!(alg, CALG_RSA_KEYX | CALG_RSA_SIGN)
}

/// A CryptoAPI `RSAPUBKEY` at `at`, its blob starting at `start` (`at - 8`
/// with a `BLOBHEADER`, `at` without). Field lengths are rounded up, as
/// the providers do for key sizes that are not a multiple of 16 bits.
fn capi_rsa_header(buf: &[u8], start: usize, at: usize) -> Option<Candidate> {
    let bits = u32_at(buf, at + 4)?;
    let e = u32_at(buf, at + 8)?;
    if !(MIN_BITS..=MAX_BITS).contains(&bits) || bits % 8 != 0 || e < 3 || e % 2 == 0 {
        return None;
    }
    let (full, half) = (bits.div_ceil(8) as usize, bits.div_ceil(16) as usize);
    let body = at + CAPI_RSAPUBKEY;
    Some(Candidate {
        start,
        len: body + 2 * full + 5 * half - start,
        private_from: body + full,
        blob: Blob::CapiRsa {
            bits,
            e,
            body,
            header: start != at,
        },
    })
}

/// A blob that was examined, ready to become a match at its offset.
struct Found {
    len: usize,
    rule: &'static str,
    description: &'static str,
    form: String,
    key: Option<KeyMaterial>,
}

impl Found {
    fn into_match(self, offset: u64) -> KeyMatch {
        let validated = self.key.is_some();
        KeyMatch {
            offset,
            len: self.len as u64,
            rule: self.rule,
            description: self.description,
            form: self.form,
            encoding: Encoding::Binary,
            confidence: if validated {
                Confidence::High
            } else {
                Confidence::Low
            },
            validated,
            key: self.key.map(Arc::new),
            key_id: None,
        }
    }
}

/// Reads a candidate's numbers and checks them. `None` when there is
/// nothing to report: the private part is all zero (a wiped key).
fn examine(buf: &[u8], c: &Candidate) -> Option<Found> {
    let end = (c.start + c.len).min(buf.len());
    let private = buf.get(c.private_from.min(end)..end).unwrap_or_default();
    if private.iter().all(|&b| b == 0) {
        return None;
    }
    let complete = end - c.start == c.len;
    let (rule, description, form) = match &c.blob {
        Blob::CngRsa(h) => (
            RSA_RULE,
            RSA_DESCRIPTION,
            if h.full {
                "cng-rsa-full-private-blob"
            } else {
                "cng-rsa-private-blob"
            }
            .to_string(),
        ),
        Blob::CapiRsa { header, .. } => (
            RSA_RULE,
            RSA_DESCRIPTION,
            if *header {
                "capi-rsa-privatekeyblob"
            } else {
                "capi-rsa-privatekeyblob-noheader"
            }
            .to_string(),
        ),
        Blob::Ecc { ecdh, curve, .. } => {
            let kind = if *ecdh { "ecdh" } else { "ecdsa" };
            let curve = curve.map_or("generic", |c| c.name());
            (
                EC_RULE,
                EC_DESCRIPTION,
                format!("cng-{kind}-{curve}-private-blob"),
            )
        }
    };
    // A truncated blob keeps its low confidence: its numbers are not all
    // there to check, but what is there is still a key's.
    let key = if complete { validate(buf, c) } else { None };
    Some(Found {
        len: end - c.start,
        rule,
        description,
        form,
        key,
    })
}

/// Reads consecutive fields of the given lengths from `at`.
fn fields<const N: usize>(buf: &[u8], at: usize, lens: [usize; N]) -> Option<[&[u8]; N]> {
    let mut pos = at;
    let mut out = [&buf[..0]; N];
    for (o, len) in out.iter_mut().zip(lens) {
        *o = buf.get(pos..pos + len)?;
        pos += len;
    }
    Some(out)
}

fn validate(buf: &[u8], c: &Candidate) -> Option<KeyMaterial> {
    match &c.blob {
        Blob::CngRsa(h) => {
            let body = c.start + CNG_RSA_HEADER;
            let be = |b: &[u8]| BigUint::from_bytes_be(b);
            let key = if h.full {
                let lens = [
                    h.cb_e, h.cb_n, h.cb_p, h.cb_q, h.cb_p, h.cb_q, h.cb_p, h.cb_n,
                ];
                let [e, n, p, q, dp, dq, qinv, d] = fields(buf, body, lens)?.map(be);
                rsa_full(&e, &n, &p, &q, [&dp, &dq, &qinv], &d, h.bits)?
            } else {
                let [e, n, p, q] = fields(buf, body, [h.cb_e, h.cb_n, h.cb_p, h.cb_q])?.map(be);
                if n.bits() != u64::from(h.bits) {
                    return None;
                }
                let k = RsaKey::from_factor(&n, &e, &p)?;
                if k.q != q {
                    return None;
                }
                k
            };
            Some(KeyMaterial::Rsa(key))
        }
        Blob::CapiRsa { bits, e, body, .. } => {
            let (full, half) = (bits.div_ceil(8) as usize, bits.div_ceil(16) as usize);
            let lens = [full, half, half, half, half, half, full];
            let [n, p, q, dp, dq, qinv, d] = fields(buf, *body, lens)?.map(BigUint::from_bytes_le);
            let key = rsa_full(&BigUint::from(*e), &n, &p, &q, [&dp, &dq, &qinv], &d, *bits)?;
            Some(KeyMaterial::Rsa(key))
        }
        Blob::Ecc { curve, cb, .. } => {
            let [xy, d] = fields(buf, c.start + ECC_HEADER, [2 * cb, *cb])?;
            let candidates: &[Curve] = match (curve, cb) {
                (Some(c), _) => std::slice::from_ref(c),
                (None, 32) => &[Curve::P256, Curve::Secp256k1],
                (None, 48) => &[Curve::P384],
                (None, 66) => &[Curve::P521],
                // A named curve we cannot compute on (brainpool...).
                (None, _) => &[],
            };
            candidates.iter().find_map(|&curve| {
                let public = curve.validate(d, Some(xy))?;
                Some(KeyMaterial::Ec {
                    curve,
                    d: zeroize::Zeroizing::new(d.to_vec()),
                    public,
                })
            })
        }
    }
}

/// Validates a full key and checks that the stored CRT values are the
/// ones d, p and q imply: a blob with a damaged CRT part must not pass as
/// validated, since the sweep would then look for values that differ from
/// the copy in memory.
fn rsa_full(
    e: &BigUint,
    n: &BigUint,
    p: &BigUint,
    q: &BigUint,
    crt: [&BigUint; 3],
    d: &BigUint,
    bits: u32,
) -> Option<RsaKey> {
    if n.bits() != u64::from(bits) {
        return None;
    }
    let k = RsaKey::from_components(n, e, d, p, q)?;
    (&k.dp == crt[0] && &k.dq == crt[1] && &k.qinv == crt[2]).then_some(k)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::aes::tests::{random_bytes, throughput};
    use crate::detect::ChunkDetector;
    use crate::fingerprint::Fingerprinter;
    use openssl::bn::{BigNumContext, BigNumRef};
    use openssl::ec::{EcGroup, EcKey, PointConversionForm};
    use openssl::nid::Nid;
    use openssl::pkey::Private;
    use openssl::rsa::Rsa;

    fn be(v: &BigNumRef, len: usize) -> Vec<u8> {
        v.to_vec_padded(len as i32).unwrap()
    }

    fn le(v: &BigNumRef, len: usize) -> Vec<u8> {
        let mut b = be(v, len);
        b.reverse();
        b
    }

    fn u32s(out: &mut Vec<u8>, words: &[u32]) {
        for w in words {
            out.extend_from_slice(&w.to_le_bytes());
        }
    }

    /// A `BCRYPT_RSAKEY_BLOB` as Windows lays it out: RSA2 with e, n, p,
    /// q; RSA3 adds dP, dQ, qInv and d. Numbers big-endian, each padded to
    /// its header length.
    fn cng_rsa_blob(rsa: &Rsa<Private>, full: bool) -> Vec<u8> {
        let bits = rsa.n().num_bits() as u32;
        let cb_n = bits.div_ceil(8) as usize;
        let (p, q) = (rsa.p().unwrap(), rsa.q().unwrap());
        let (cb_p, cb_q) = (p.num_bytes() as usize, q.num_bytes() as usize);
        let e = rsa.e().to_vec();
        let magic = if full { 0x3341_5352 } else { 0x3241_5352 };
        let mut b = Vec::new();
        u32s(
            &mut b,
            &[
                magic,
                bits,
                e.len() as u32,
                cb_n as u32,
                cb_p as u32,
                cb_q as u32,
            ],
        );
        b.extend_from_slice(&e);
        b.extend(be(rsa.n(), cb_n));
        b.extend(be(p, cb_p));
        b.extend(be(q, cb_q));
        if full {
            b.extend(be(rsa.dmp1().unwrap(), cb_p));
            b.extend(be(rsa.dmq1().unwrap(), cb_q));
            b.extend(be(rsa.iqmp().unwrap(), cb_p));
            b.extend(be(rsa.d(), cb_n));
        }
        b
    }

    /// A CryptoAPI `PRIVATEKEYBLOB`: BLOBHEADER, RSAPUBKEY, then n, p, q,
    /// dP, dQ, qInv, d little-endian in bitlen/8 and bitlen/16 bytes.
    fn capi_rsa_blob(rsa: &Rsa<Private>, with_header: bool) -> Vec<u8> {
        let bits = rsa.n().num_bits() as usize;
        let (full, half) = (bits / 8, bits / 16);
        let mut b = Vec::new();
        if with_header {
            b.extend_from_slice(&[PRIVATEKEYBLOB, CUR_BLOB_VERSION, 0, 0]);
            u32s(&mut b, &[CALG_RSA_KEYX]);
        }
        let e: u32 = rsa.e().to_dec_str().unwrap().parse().unwrap();
        b.extend_from_slice(b"RSA2");
        u32s(&mut b, &[bits as u32, e]);
        b.extend(le(rsa.n(), full));
        for v in [rsa.p(), rsa.q(), rsa.dmp1(), rsa.dmq1(), rsa.iqmp()] {
            b.extend(le(v.unwrap(), half));
        }
        b.extend(le(rsa.d(), full));
        b
    }

    /// The id of the key as built from the library's own components.
    fn rsa_id(rsa: &Rsa<Private>) -> String {
        let n = |v: &BigNumRef| BigUint::from_bytes_be(&v.to_vec());
        let key = RsaKey::from_components(
            &n(rsa.n()),
            &n(rsa.e()),
            &n(rsa.d()),
            &n(rsa.p().unwrap()),
            &n(rsa.q().unwrap()),
        )
        .unwrap();
        KeyMaterial::Rsa(key).id(&Fingerprinter::new(None))
    }

    struct EcCase {
        curve: Curve,
        nid: Nid,
        key: EcKey<Private>,
    }

    fn ec_key(curve: Curve, nid: Nid) -> EcCase {
        let group = EcGroup::from_curve_name(nid).unwrap();
        EcCase {
            curve,
            nid,
            key: EcKey::generate(&group).unwrap(),
        }
    }

    /// A `BCRYPT_ECCKEY_BLOB`: magic, cbKey, then X, Y, d big-endian.
    fn cng_ecc_blob(c: &EcCase, magic: &[u8; 4]) -> Vec<u8> {
        let group = EcGroup::from_curve_name(c.nid).unwrap();
        let mut ctx = BigNumContext::new().unwrap();
        let (mut x, mut y) = (
            openssl::bn::BigNum::new().unwrap(),
            openssl::bn::BigNum::new().unwrap(),
        );
        c.key
            .public_key()
            .affine_coordinates(&group, &mut x, &mut y, &mut ctx)
            .unwrap();
        let cb = c.curve.field_len();
        let mut b = magic.to_vec();
        u32s(&mut b, &[cb as u32]);
        b.extend(be(&x, cb));
        b.extend(be(&y, cb));
        b.extend(be(c.key.private_key(), cb));
        b
    }

    fn ec_id(c: &EcCase) -> String {
        let group = EcGroup::from_curve_name(c.nid).unwrap();
        let mut ctx = BigNumContext::new().unwrap();
        let public = c
            .key
            .public_key()
            .to_bytes(&group, PointConversionForm::UNCOMPRESSED, &mut ctx)
            .unwrap();
        KeyMaterial::Ec {
            curve: c.curve,
            d: zeroize::Zeroizing::new(be(c.key.private_key(), c.curve.field_len())),
            public,
        }
        .id(&Fingerprinter::new(None))
    }

    fn scan_all(buf: &[u8], base: u64) -> Vec<KeyMatch> {
        let mut out = Vec::new();
        BlobDetector::new().scan(buf, base, base..base + buf.len() as u64, &mut out);
        out
    }

    /// Plants `blob` at `at` in random and in zero-filled memory and checks
    /// the one finding it yields.
    fn assert_found(blob: &[u8], form: &str, rule: &str, id: &str) {
        let fp = Fingerprinter::new(None);
        for (filler, at) in [
            (random_bytes(11, 64 << 10), 4 * 1001),
            (vec![0u8; 16 << 10], 4 * 333),
        ] {
            let mut buf = filler;
            buf[at..at + blob.len()].copy_from_slice(blob);
            let found = scan_all(&buf, 0x1000);
            assert_eq!(found.len(), 1, "{form}");
            let m = &found[0];
            assert_eq!(
                (m.offset, m.len),
                (0x1000 + at as u64, blob.len() as u64),
                "{form}"
            );
            assert_eq!((m.rule, m.form.as_str()), (rule, form));
            assert!(m.validated, "{form}");
            assert_eq!(m.confidence, Confidence::High);
            assert_eq!(m.encoding, Encoding::Binary);
            assert_eq!(m.key.as_ref().unwrap().id(&fp), id, "{form}");
        }
    }

    fn rsa2048() -> Rsa<Private> {
        Rsa::generate(2048).unwrap()
    }

    #[test]
    fn finds_real_rsa_keys_in_cng_and_capi_blobs() {
        let rsa = rsa2048();
        let id = rsa_id(&rsa);
        assert_found(
            &cng_rsa_blob(&rsa, false),
            "cng-rsa-private-blob",
            RSA_RULE,
            &id,
        );
        assert_found(
            &cng_rsa_blob(&rsa, true),
            "cng-rsa-full-private-blob",
            RSA_RULE,
            &id,
        );
        assert_found(
            &capi_rsa_blob(&rsa, true),
            "capi-rsa-privatekeyblob",
            RSA_RULE,
            &id,
        );
        assert_found(
            &capi_rsa_blob(&rsa, false),
            "capi-rsa-privatekeyblob-noheader",
            RSA_RULE,
            &id,
        );
    }

    #[test]
    fn finds_real_ec_keys_in_cng_blobs() {
        let named = [
            (Curve::P256, Nid::X9_62_PRIME256V1, b"ECS2", b"ECK2"),
            (Curve::P384, Nid::SECP384R1, b"ECS4", b"ECK4"),
            (Curve::P521, Nid::SECP521R1, b"ECS6", b"ECK6"),
        ];
        for (curve, nid, ecdsa, ecdh) in named {
            let c = ec_key(curve, nid);
            let id = ec_id(&c);
            let name = curve.name();
            assert_found(
                &cng_ecc_blob(&c, ecdsa),
                &format!("cng-ecdsa-{name}-private-blob"),
                EC_RULE,
                &id,
            );
            assert_found(
                &cng_ecc_blob(&c, ecdh),
                &format!("cng-ecdh-{name}-private-blob"),
                EC_RULE,
                &id,
            );
            assert_found(
                &cng_ecc_blob(&c, b"ECDV"),
                "cng-ecdsa-generic-private-blob",
                EC_RULE,
                &id,
            );
        }
        // The generic magic names any curve: secp256k1 shares P-256's size.
        let k1 = ec_key(Curve::Secp256k1, Nid::SECP256K1);
        assert_found(
            &cng_ecc_blob(&k1, b"ECKV"),
            "cng-ecdh-generic-private-blob",
            EC_RULE,
            &ec_id(&k1),
        );
        // A named magic with the wrong size is not a blob.
        let p256 = ec_key(Curve::P256, Nid::X9_62_PRIME256V1);
        let mut buf = random_bytes(5, 4096);
        buf[400..400 + 104].copy_from_slice(&cng_ecc_blob(&p256, b"ECS4"));
        assert!(scan_all(&buf, 0).is_empty());
    }

    /// A blob cut by a chunk boundary (inside the CryptoAPI header, just
    /// after the magic, in the middle, at the last byte) is reported once.
    #[test]
    fn chunk_boundary_through_a_blob_yields_one_finding() {
        let det = BlobDetector::new();
        let overlap = det.max_len() as u64;
        let rsa = rsa2048();
        let ec = ec_key(Curve::P384, Nid::SECP384R1);
        let blobs = [
            (capi_rsa_blob(&rsa, true), "capi-rsa-privatekeyblob"),
            (cng_rsa_blob(&rsa, true), "cng-rsa-full-private-blob"),
            (cng_ecc_blob(&ec, b"ECK4"), "cng-ecdh-p384-private-blob"),
        ];
        for (blob, form) in &blobs {
            let mut data = random_bytes(12, 64 << 10);
            let at = 4 * 4001;
            data[at..at + blob.len()].copy_from_slice(blob);
            let len = data.len() as u64;
            let at = at as u64;
            for cut in [
                at + 1,
                at + 4,
                at + 9,
                at + 13,
                at + blob.len() as u64 / 2,
                at + blob.len() as u64 - 1,
            ] {
                let mut found = Vec::new();
                for own in [0..cut, cut..len] {
                    let read = own.start.saturating_sub(overlap)..(own.end + overlap).min(len);
                    det.scan(
                        &data[read.start as usize..read.end as usize],
                        read.start,
                        own,
                        &mut found,
                    );
                }
                let spans: Vec<(u64, u64, &str, bool)> = found
                    .iter()
                    .map(|m| (m.offset, m.len, m.form.as_str(), m.validated))
                    .collect();
                assert_eq!(
                    spans,
                    vec![(at, blob.len() as u64, *form, true)],
                    "cut at {cut}"
                );
            }
        }
    }

    /// One flipped byte in a private number: still reported (the header
    /// is exact), but not validated and with low confidence.
    #[test]
    fn one_flipped_byte_is_reported_unvalidated() {
        let rsa = rsa2048();
        let ec = ec_key(Curve::P256, Nid::X9_62_PRIME256V1);
        let cases = [
            // In p (after header, e and n).
            (cng_rsa_blob(&rsa, false), 24 + 3 + 256 + 10),
            // In dP: the key itself still checks out, the CRT part does not.
            (cng_rsa_blob(&rsa, true), 24 + 3 + 256 + 256 + 5),
            // In qInv of a CryptoAPI blob.
            (capi_rsa_blob(&rsa, true), 20 + 256 + 4 * 128 + 7),
            // In n: p no longer divides it.
            (capi_rsa_blob(&rsa, false), 12 + 100),
            // In d, and in Y.
            (cng_ecc_blob(&ec, b"ECS2"), 8 + 64 + 3),
            (cng_ecc_blob(&ec, b"ECK2"), 8 + 40),
        ];
        for (blob, i) in cases {
            let mut buf = random_bytes(6, 8192);
            buf[404..404 + blob.len()].copy_from_slice(&blob);
            buf[404 + i] ^= 0x01;
            let found = scan_all(&buf, 0);
            assert_eq!(found.len(), 1);
            let m = &found[0];
            assert_eq!((m.offset, m.len), (404, blob.len() as u64));
            assert!(!m.validated && m.key.is_none());
            assert_eq!(m.confidence, Confidence::Low);
        }
    }

    /// A blob running off the end of the scanned bytes is reported, low,
    /// up to the end; one whose private part was wiped is not reported.
    #[test]
    fn truncated_blobs_are_low_and_wiped_blobs_are_silent() {
        let rsa = rsa2048();
        let blob = cng_rsa_blob(&rsa, true);
        let mut buf = random_bytes(8, 1000);
        buf.extend_from_slice(&blob[..700]);
        let found = scan_all(&buf, 0);
        assert_eq!(found.len(), 1);
        assert_eq!(
            (found[0].offset, found[0].len, found[0].validated),
            (1000, 700, false)
        );

        let mut wiped = blob.clone();
        let private_from = 24 + 3 + 256;
        wiped[private_from..].fill(0);
        let mut buf = random_bytes(8, 4096);
        buf[1000..1000 + wiped.len()].copy_from_slice(&wiped);
        assert!(scan_all(&buf, 0).is_empty());
    }

    /// Memory that looks like blobs but is not: the magics everywhere,
    /// repeated, next to plausible sizes, in seeded random bytes.
    #[test]
    fn repeated_magics_and_patterns_yield_nothing_validated() {
        let mut buf = Vec::new();
        for (magic, _) in MAGICS {
            for _ in 0..4096 {
                buf.extend_from_slice(magic);
            }
            // Each magic followed by headers with plausible sizes and
            // random numbers.
            for i in 0..64u32 {
                buf.extend_from_slice(magic);
                u32s(&mut buf, &[2048, 3, 256, 128, 128]);
                buf.extend(random_bytes(u64::from(i), 1200));
                buf.extend_from_slice(magic);
                u32s(&mut buf, &[32 + i % 3 * 16]);
                buf.extend(random_bytes(u64::from(i) + 100, 200));
            }
        }
        buf.extend(std::iter::repeat_n(0u8, 1 << 16));
        buf.extend(std::iter::repeat_n(0xffu8, 1 << 16));
        let found = scan_all(&buf, 0);
        assert!(!found.is_empty(), "the plausible headers are reported, low");
        assert!(found
            .iter()
            .all(|m| !m.validated && m.confidence == Confidence::Low));
    }

    /// 256 MiB of seeded random bytes: nothing of high confidence. A debug
    /// build checks 32 MiB to keep `cargo test` quick.
    #[test]
    fn random_bytes_yield_nothing_validated() {
        let len = if cfg!(debug_assertions) {
            32 << 20
        } else {
            256 << 20
        };
        let data = random_bytes(0x5eed, len);
        assert!(scan_all(&data, 0)
            .iter()
            .all(|m| m.confidence != Confidence::High));
    }

    #[test]
    fn max_len_covers_the_largest_blob() {
        let det = BlobDetector::new();
        // 16384-bit CNG RSA3, 8-byte exponent, most unbalanced primes.
        let h = CngRsaHeader {
            full: true,
            bits: 16384,
            cb_e: 8,
            cb_n: 2048,
            cb_p: max_prime_len(2048),
            cb_q: 2050 - max_prime_len(2048),
        };
        assert_eq!(det.max_len(), h.len());
        assert!(det.max_len() >= 20 + 2 * 2048 + 5 * 1024);
    }

    /// `cargo test --release --lib detect::blobs -- --ignored --nocapture`
    #[test]
    #[ignore]
    fn throughput_on_random_bytes() {
        let det = BlobDetector::new();
        let random = random_bytes(42, 256 << 20);
        eprintln!(
            "key blobs: {:.0} MB/s on random bytes (one core)",
            throughput(&det, &random)
        );
        let mut zeros = random;
        zeros.fill(0);
        eprintln!(
            "key blobs: {:.0} MB/s on zero bytes (one core)",
            throughput(&det, std::hint::black_box(&zeros))
        );
    }
}
