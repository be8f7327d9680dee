//! Private keys stored as DER structures: in binary, as base64 text (PEM
//! bodies without their armour, JSON strings) and as hex text.
//!
//! Structures found, and what makes a finding *validated*:
//!
//! - PKCS#1 `RSAPrivateKey`, and PKCS#8 `PrivateKeyInfo` /
//!   `OneAsymmetricKey` holding one: validated when p·q = n and
//!   d·e ≡ 1 (mod λ(n)) ([`RsaKey::from_components`]). A structurally exact
//!   key whose numbers disagree is reported at low confidence, unvalidated
//!   (a damaged or deliberately fake key); a multi-prime key at medium, as
//!   its mathematics is not checked here.
//! - SEC1 `ECPrivateKey`, and PKCS#8 `id-ecPublicKey` with a named curve:
//!   validated when the scalar is in range and d·G equals the stored public
//!   point (a key without a curve is matched to the curve its point is
//!   on). Without a stored point almost any scalar is "valid", so such a
//!   key is high confidence but unvalidated; it still carries its key
//!   material (public point derived) so the report can name it. Curves
//!   that [`Curve`] does not know (brainpool...) are medium, unvalidated.
//! - PKCS#8 Ed25519 and X25519: any 32 bytes are a valid seed, so an exact
//!   structure with the right OID is high confidence, and validated only
//!   when a public key is present (PKCS#8 v2) and equals the one derived
//!   from the seed; a present but different public key is low confidence.
//!   Without one the key still carries its material, named by the derived
//!   public key.
//! - PKCS#8 `EncryptedPrivateKeyInfo` (PKCS#5 PBES1/PBES2 or PKCS#12 PBE
//!   schemes): medium confidence, never validated, no key material.
//! - PKCS#8 with any other algorithm (DSA, Ed448, X448, ...): medium,
//!   unvalidated, rule `private-key-der`. An exact PKCS#8 envelope whose
//!   RSA or EC content does not decode is low.
//!
//! Only *validated* keys drive the sweep, so an Ed25519 key in PKCS#8 v1 (the
//! form OpenSSL writes) is redacted where it lies but its seed is not
//! searched for elsewhere.
//!
//! A structure is reported once, as the outermost: the PKCS#1 inside a
//! PKCS#8 is part of the PKCS#8's finding. A text copy's span covers its
//! characters from the first to the padding, line breaks included.
//!
//! What it cannot see: spans longer than [`MAX_SPAN`] (RSA keys above about
//! 29000 bits in binary, 21000 as base64, 14000 as hex), BER or otherwise
//! non-canonical encodings (the decoders are strict DER), DER broken across
//! non-contiguous memory, text in UTF-16, base64 with separators other than
//! line breaks, indentation and JSON escapes, base64url, hex with
//! separators (`30 82 04 a3`), and keys in other containers (PKCS#12,
//! CNG/CAPI blobs, OpenSSH: other detectors).
//!
//! The first filter is the run's one search for every detector's literals
//! (see `literals`), here the bytes that follow a DER `SEQUENCE` header of a private key (the version
//! `02 01 00` / `02 01 01`, or a password-based-encryption OID), for the
//! base64 prefixes every such structure starts with (`MII`, `MIG`, `MIH`,
//! and the `CAQ…` that follows `M??` in short ones), and for their hex
//! forms. Only then is the header before the anchor checked byte by byte,
//! and only a header that declares a plausible length for the expected
//! first fields is sliced to exactly that length and decoded with the
//! `pkcs1` / `pkcs8` / `sec1` crates.

use std::ops::Range;
use std::sync::Arc;

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use der::asn1::{ObjectIdentifier, OctetStringRef, UintRef};
use der::{Decode, Reader, SliceReader};
use num_bigint::BigUint;
use zeroize::Zeroizing;

use super::literals::{ClientHits, OwnLiterals};
use super::{AnchoredDetector, Encoding, KeyMatch};
use crate::keys::{Curve, KeyMaterial, RsaKey};
use crate::rules::Confidence;

/// Longest span one match can cover, in file bytes. A 4096-bit RSA key is
/// about 2.4 KB of PKCS#8 DER, 3.3 KB of wrapped base64 and 4.9 KB of hex;
/// 16 KiB leaves room for 8192-bit keys in every form while keeping the
/// chunk overlap small.
pub const MAX_SPAN: usize = 16 * 1024;

pub const RULE_RSA: &str = "rsa-private-key-der";
pub const RULE_EC: &str = "ec-private-key-der";
pub const RULE_ED25519: &str = "ed25519-private-key-der";
pub const RULE_X25519: &str = "x25519-private-key-der";
pub const RULE_ENCRYPTED: &str = "encrypted-private-key-der";
pub const RULE_OTHER: &str = "private-key-der";

const DESC_RSA: &str = "RSA private key (PKCS#1 or PKCS#8 DER)";
const DESC_EC: &str = "Elliptic-curve private key (SEC1 or PKCS#8 DER)";
const DESC_ED25519: &str = "Ed25519 private key (PKCS#8 DER)";
const DESC_X25519: &str = "X25519 private key (PKCS#8 DER)";
const DESC_ENCRYPTED: &str = "Password-encrypted private key (PKCS#8 EncryptedPrivateKeyInfo DER)";
const DESC_OTHER: &str = "Private key of an algorithm that is not validated (PKCS#8 DER)";

const OID_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const OID_RSA_PSS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.10");
const OID_EC: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const OID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
const OID_X25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.110");

/// DER (tag, length, first arcs) of the PKCS#5 scheme OIDs
/// 1.2.840.113549.1.5.* (PBES1, PBES2) and the PKCS#12 PBE OIDs
/// 1.2.840.113549.1.12.1.*: every `EncryptedPrivateKeyInfo` starts its
/// algorithm identifier with one of them.
const PKCS5_OID: &[u8] = &[0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05];
const PKCS12_PBE_OID: &[u8] = &[
    0x06, 0x0a, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x0c, 0x01,
];

/// Bytes decoded from a text candidate before deciding whether to decode
/// the rest: enough for two SEQUENCE headers and an OID.
const PROBE_BYTES: usize = 24;

/// Base64 that accepts a final group without padding and is lenient about
/// its unused bits: the padding is read separately, and a stray bit there
/// must not hide a key.
pub(crate) const B64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone)
        .with_decode_allow_trailing_bits(true),
);

/// How a candidate's bytes are stored in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Text {
    Binary,
    Base64,
    Hex,
}

impl Text {
    fn encoding(self) -> Encoding {
        match self {
            Text::Binary => Encoding::Binary,
            Text::Base64 | Text::Hex => Encoding::Ascii,
        }
    }

    fn suffix(self) -> &'static str {
        match self {
            Text::Binary => "",
            Text::Base64 => "-base64",
            Text::Hex => "-hex",
        }
    }
}

/// What the first bytes after the outer header say the structure is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Pkcs1,
    Pkcs8,
    Sec1,
    Encrypted,
}

/// A literal of the first filter and where a structure can start relative
/// to it.
#[derive(Debug, Clone, Copy)]
struct Anchor {
    text: Text,
    /// Distances from a structure's first byte (or character) back from the
    /// anchor, largest first. A version INTEGER follows a 2-, 3- or 4-byte
    /// SEQUENCE header; an encryption OID follows two of them.
    back: &'static [usize],
}

const BIN_VERSION: Anchor = Anchor {
    text: Text::Binary,
    back: &[4, 3, 2],
};
const BIN_PBE: Anchor = Anchor {
    text: Text::Binary,
    back: &[8, 7, 6, 5, 4],
};
const B64_AT_START: Anchor = Anchor {
    text: Text::Base64,
    back: &[0],
};
/// `M` + one character of a short-form length + `C`, `AQ`, version: the
/// anchor is the part that does not depend on the length.
const B64_AFTER_SHORT_HEADER: Anchor = Anchor {
    text: Text::Base64,
    back: &[3],
};
const HEX_VERSION: Anchor = Anchor {
    text: Text::Hex,
    back: &[8, 6, 4],
};
const HEX_PBE: Anchor = Anchor {
    text: Text::Hex,
    back: &[16, 14, 12, 10, 8],
};

/// Longest distance from a structure's start to the end of its anchor
/// (the hex PBE anchors: 16 characters of headers, 22 of OID).
const MAX_ANCHOR_END: usize = 16 + 22;

fn anchors() -> Vec<(Vec<u8>, Anchor)> {
    let mut v: Vec<(Vec<u8>, Anchor)> = vec![
        (vec![0x02, 0x01, 0x00], BIN_VERSION),
        (vec![0x02, 0x01, 0x01], BIN_VERSION),
        (PKCS5_OID.to_vec(), BIN_PBE),
        (PKCS12_PBE_OID.to_vec(), BIN_PBE),
        // 30 82 HH LL with HH < 0x40 (lengths below 16 KiB).
        (b"MII".to_vec(), B64_AT_START),
        // 30 81 LL, LL in 80..bf and c0..ff.
        (b"MIG".to_vec(), B64_AT_START),
        (b"MIH".to_vec(), B64_AT_START),
        // 30 LL 02 01 00 30 (PKCS#8 v1), 02 01 01 04 (SEC1), 02 01 01 30
        // (PKCS#8 v2).
        (b"CAQAw".to_vec(), B64_AFTER_SHORT_HEADER),
        (b"CAQEE".to_vec(), B64_AFTER_SHORT_HEADER),
        (b"CAQEw".to_vec(), B64_AFTER_SHORT_HEADER),
        (b"020100".to_vec(), HEX_VERSION),
        (b"020101".to_vec(), HEX_VERSION),
    ];
    for oid in [PKCS5_OID, PKCS12_PBE_OID] {
        v.push((hex::encode(oid).into_bytes(), HEX_PBE));
        v.push((hex::encode_upper(oid).into_bytes(), HEX_PBE));
    }
    v
}

/// Finds DER private keys, in binary and as base64 or hex text.
pub struct DerDetector {
    literals: OwnLiterals,
    anchors: Vec<Anchor>,
}

impl Default for DerDetector {
    fn default() -> Self {
        Self::new()
    }
}

impl DerDetector {
    pub fn new() -> Self {
        let (literals, anchors): (Vec<Vec<u8>>, Vec<Anchor>) = anchors().into_iter().unzip();
        // Searched in the chunk's bytes only: base64 and hex in UTF-16 are
        // out of scope (see above).
        let literals = OwnLiterals::new(literals).expect("fixed anchor literals always build");
        DerDetector { literals, anchors }
    }
}

/// One place where a structure may start, after the cheap checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Candidate {
    start: usize,
    text: Text,
    kind: Kind,
    der_len: usize,
}

impl AnchoredDetector for DerDetector {
    fn longest_match(&self) -> usize {
        MAX_SPAN
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
        let to_index = |off: u64| off.saturating_sub(base).min(buf.len() as u64) as usize;
        let (lo, hi) = (to_index(own.start), to_index(own.end));
        if lo >= hi {
            return;
        }
        // The context before `own` is searched too: a structure that starts
        // there hides the structures nested in it (the PKCS#1 inside a
        // PKCS#8), so a chunk boundary between the two cannot turn the
        // inner one into a second finding.
        let end = (hi + MAX_ANCHOR_END).min(buf.len());
        let mut candidates = Vec::new();
        for (hit, hit_end, literal) in hits.starting_in(0..end) {
            if hit_end > end {
                continue;
            }
            let anchor = self.anchors[literal as usize];
            for &back in anchor.back {
                if let Some(start) = hit.checked_sub(back) {
                    if let Some(c) = candidate(buf, start, anchor.text) {
                        candidates.push(c);
                    }
                }
            }
        }
        candidates.sort_unstable();
        candidates.dedup();
        let mut covered = 0;
        for c in candidates {
            if c.start >= hi {
                break;
            }
            if c.start < covered {
                continue;
            }
            let Some((span, verdict)) = confirm(buf, &c) else {
                continue;
            };
            covered = span.end;
            if span.start >= lo {
                out.push(verdict.into_match(base + span.start as u64, span.len(), c.text));
            }
        }
    }
}

/// Checks the first bytes at `start` and says what structure they begin.
fn candidate(buf: &[u8], start: usize, text: Text) -> Option<Candidate> {
    let mut prefix = [0u8; PROBE_BYTES];
    let bytes: &[u8] = match text {
        Text::Binary => &buf[start..(start + PROBE_BYTES).min(buf.len())],
        Text::Base64 => {
            // 0x30 always encodes as `M`.
            if buf[start] != b'M' {
                return None;
            }
            let mut chars = [0u8; PROBE_BYTES / 3 * 4];
            let mut n = 0;
            let mut it = Base64Chars::new(buf, start);
            // Most near misses (certificates, words) fail on the first six
            // bytes: decode those before reading further.
            for (c, _) in it.by_ref().take(8) {
                chars[n] = c;
                n += 1;
            }
            let mut first = [0u8; 6];
            if n < 8
                || B64.decode_slice(&chars[..8], &mut first).is_err()
                || !plausible_start(&first)
            {
                return None;
            }
            for (c, _) in it.take(chars.len() - 8) {
                chars[n] = c;
                n += 1;
            }
            let n = n / 4 * 4;
            let len = B64.decode_slice(&chars[..n], &mut prefix).ok()?;
            &prefix[..len]
        }
        Text::Hex => {
            if buf.get(start..start + 2) != Some(b"30") {
                return None;
            }
            let avail = buf.len().saturating_sub(start).min(2 * PROBE_BYTES) / 2;
            let hex_len = buf[start..start + 2 * avail]
                .iter()
                .position(|b| !b.is_ascii_hexdigit())
                .unwrap_or(2 * avail)
                / 2;
            hex::decode_to_slice(&buf[start..start + 2 * hex_len], &mut prefix[..hex_len]).ok()?;
            &prefix[..hex_len]
        }
    };
    let (kind, der_len) = probe(bytes)?;
    Some(Candidate {
        start,
        text,
        kind,
        der_len,
    })
}

/// The part of [`probe`] that six bytes can answer: a SEQUENCE header
/// followed by an INTEGER of length 1 or by a SEQUENCE.
fn plausible_start(p: &[u8]) -> bool {
    let Some((hl, _)) = sequence_header(p) else {
        return false;
    };
    matches!(
        p.get(hl..),
        Some([0x02, 0x01, ..] | [0x02] | [0x30, ..] | [])
    )
}

/// A `SEQUENCE` header in canonical DER: (header length, content length).
/// Long forms are accepted only where the short form could not have been
/// used, and only up to two length bytes (64 KiB, beyond any cap here).
fn sequence_header(p: &[u8]) -> Option<(usize, usize)> {
    match *p {
        [0x30, l, ..] if l < 0x80 => Some((2, l as usize)),
        [0x30, 0x81, l, ..] if l >= 0x80 => Some((3, l as usize)),
        [0x30, 0x82, h, l, ..] if h != 0 => Some((4, ((h as usize) << 8) | l as usize)),
        _ => None,
    }
}

/// The cheap structural test: a SEQUENCE of plausible length whose first
/// fields are those of a private-key structure.
fn probe(p: &[u8]) -> Option<(Kind, usize)> {
    let (hl, len) = sequence_header(p)?;
    let total = hl + len;
    if total > MAX_SPAN {
        return None;
    }
    let body = &p[hl..];
    let kind = match *body {
        // version 0, then the modulus: at least 512 bits (RsaKey's floor).
        [0x02, 0x01, 0x00, 0x02, l, ..] if (0x40..=0x82).contains(&l) && l != 0x80 => Kind::Pkcs1,
        // version, then a short AlgorithmIdentifier starting with its OID.
        [0x02, 0x01, 0x00 | 0x01, 0x30, l, 0x06, ..] if l < 0x80 => Kind::Pkcs8,
        // version 1, then the scalar as an OCTET STRING.
        [0x02, 0x01, 0x01, 0x04, l, ..] if (16..=72).contains(&l) => Kind::Sec1,
        [0x30, ..] => {
            let (h2, _) = sequence_header(body)?;
            let oid = &body[h2..];
            if oid.starts_with(PKCS5_OID) || oid.starts_with(PKCS12_PBE_OID) {
                Kind::Encrypted
            } else {
                return None;
            }
        }
        _ => return None,
    };
    Some((kind, total))
}

/// Decodes the candidate's DER from its text, then judges the structure.
/// Returns the span (buffer indices) and the verdict.
fn confirm(buf: &[u8], c: &Candidate) -> Option<(Range<usize>, Verdict)> {
    match c.text {
        Text::Binary => {
            let der = buf.get(c.start..c.start + c.der_len)?;
            Some((c.start..c.start + c.der_len, judge(c.kind, der)?))
        }
        Text::Base64 => {
            let need = (c.der_len * 4).div_ceil(3);
            let mut chars = Zeroizing::new(Vec::with_capacity(need));
            let mut end = c.start;
            for (ch, e) in Base64Chars::new(buf, c.start) {
                chars.push(ch);
                end = e;
                if chars.len() == need {
                    break;
                }
            }
            if chars.len() < need {
                return None;
            }
            let pad = (4 - need % 4) % 4;
            end += buf[end..]
                .iter()
                .take(pad)
                .take_while(|&&b| b == b'=')
                .count();
            if end - c.start > MAX_SPAN {
                return None;
            }
            let der = Zeroizing::new(B64.decode(&chars[..]).ok()?);
            if der.len() != c.der_len {
                return None;
            }
            Some((c.start..end, judge(c.kind, &der)?))
        }
        Text::Hex => {
            let end = c.start + 2 * c.der_len;
            let text = buf.get(c.start..end)?;
            let der = Zeroizing::new(hex::decode(text).ok()?);
            Some((c.start..end, judge(c.kind, &der)?))
        }
    }
}

/// What a decoded structure turned out to be.
struct Verdict {
    rule: &'static str,
    description: &'static str,
    form: &'static str,
    confidence: Confidence,
    validated: bool,
    key: Option<KeyMaterial>,
}

impl Verdict {
    fn into_match(self, offset: u64, len: usize, text: Text) -> KeyMatch {
        KeyMatch {
            offset,
            len: len as u64,
            rule: self.rule,
            description: self.description,
            form: format!("{}{}", self.form, text.suffix()),
            encoding: text.encoding(),
            confidence: self.confidence,
            validated: self.validated,
            key: self.key.map(Arc::new),
            key_id: None,
        }
    }

    fn new(rule: &'static str, form: &'static str, confidence: Confidence) -> Verdict {
        let description = match rule {
            RULE_RSA => DESC_RSA,
            RULE_EC => DESC_EC,
            RULE_ED25519 => DESC_ED25519,
            RULE_X25519 => DESC_X25519,
            RULE_ENCRYPTED => DESC_ENCRYPTED,
            _ => DESC_OTHER,
        };
        Verdict {
            rule,
            description,
            form,
            confidence,
            validated: false,
            key: None,
        }
    }

    fn validated(mut self, key: KeyMaterial) -> Verdict {
        self.validated = true;
        self.key = Some(key);
        self
    }

    fn with_key(mut self, key: KeyMaterial) -> Verdict {
        self.key = Some(key);
        self
    }
}

/// Decodes `der` (exactly one structure) as the kind the probe named.
/// `None` when it is not that structure at all.
fn judge(kind: Kind, der: &[u8]) -> Option<Verdict> {
    match kind {
        Kind::Pkcs1 => {
            let key = pkcs1::RsaPrivateKeyRef::from_der(der).ok()?;
            Some(rsa(&key, "pkcs1-der"))
        }
        Kind::Pkcs8 => pkcs8(der),
        Kind::Sec1 => {
            let key = sec1::EcPrivateKey::from_der(der).ok()?;
            let curve = key.parameters.and_then(|p| p.named_curve());
            Some(ec(curve, key.private_key, key.public_key, "sec1-der"))
        }
        Kind::Encrypted => encrypted(der),
    }
}

fn rsa(key: &pkcs1::RsaPrivateKeyRef<'_>, form: &'static str) -> Verdict {
    if key.other_prime_infos.is_some() {
        return Verdict::new(RULE_RSA, form, Confidence::Medium);
    }
    let int = |u: &UintRef<'_>| BigUint::from_bytes_be(u.as_bytes());
    let checked = RsaKey::from_components(
        &int(&key.modulus),
        &int(&key.public_exponent),
        &int(&key.private_exponent),
        &int(&key.prime1),
        &int(&key.prime2),
    );
    match checked {
        Some(k) => Verdict::new(RULE_RSA, form, Confidence::High).validated(KeyMaterial::Rsa(k)),
        None => Verdict::new(RULE_RSA, form, Confidence::Low),
    }
}

fn pkcs8(der: &[u8]) -> Option<Verdict> {
    const FORM: &str = "pkcs8-der";
    let info = pkcs8::PrivateKeyInfoRef::from_der(der).ok()?;
    let oid = info.algorithm.oid;
    let private = info.private_key.as_bytes();
    let public = info.public_key.as_ref().and_then(|b| b.as_bytes());
    let verdict = if oid == OID_RSA || oid == OID_RSA_PSS {
        match pkcs1::RsaPrivateKeyRef::from_der(private) {
            Ok(key) => rsa(&key, FORM),
            // The envelope is exact but its content is not a key: damaged.
            Err(_) => Verdict::new(RULE_RSA, FORM, Confidence::Low),
        }
    } else if oid == OID_EC {
        match sec1::EcPrivateKey::from_der(private) {
            Ok(key) => {
                let curve = info
                    .algorithm
                    .parameters_oid()
                    .ok()
                    .or_else(|| key.parameters.and_then(|p| p.named_curve()));
                ec(curve, key.private_key, public.or(key.public_key), FORM)
            }
            Err(_) => Verdict::new(RULE_EC, FORM, Confidence::Low),
        }
    } else if oid == OID_ED25519 || oid == OID_X25519 {
        let ed = oid == OID_ED25519;
        let rule = if ed { RULE_ED25519 } else { RULE_X25519 };
        let seed = <&OctetStringRef>::from_der(private)
            .ok()
            .and_then(|s| <[u8; 32]>::try_from(s.as_bytes()).ok())
            .map(Zeroizing::new);
        match seed {
            Some(seed) => curve25519(ed, seed, public, rule),
            None => Verdict::new(rule, FORM, Confidence::Low),
        }
    } else {
        Verdict::new(RULE_OTHER, FORM, Confidence::Medium)
    };
    Some(verdict)
}

fn curve25519(
    ed: bool,
    seed: Zeroizing<[u8; 32]>,
    public: Option<&[u8]>,
    rule: &'static str,
) -> Verdict {
    const FORM: &str = "pkcs8-der";
    let derived = if ed {
        ed25519_dalek::SigningKey::from_bytes(&seed)
            .verifying_key()
            .to_bytes()
    } else {
        let secret = x25519_dalek::StaticSecret::from(*seed);
        x25519_dalek::PublicKey::from(&secret).to_bytes()
    };
    let key = if ed {
        KeyMaterial::Ed25519 {
            seed,
            public: derived,
        }
    } else {
        KeyMaterial::X25519 {
            secret: seed,
            public: derived,
        }
    };
    match public {
        Some(p) if p == derived => Verdict::new(rule, FORM, Confidence::High).validated(key),
        Some(_) => Verdict::new(rule, FORM, Confidence::Low),
        None => Verdict::new(rule, FORM, Confidence::High).with_key(key),
    }
}

fn ec(
    curve: Option<ObjectIdentifier>,
    d: &[u8],
    public: Option<&[u8]>,
    form: &'static str,
) -> Verdict {
    const ALL: [Curve; 4] = [Curve::P256, Curve::P384, Curve::P521, Curve::Secp256k1];
    let candidates: Vec<Curve> = match curve {
        Some(oid) => match Curve::from_oid(&oid.to_string()) {
            Some(c) => vec![c],
            None => return Verdict::new(RULE_EC, form, Confidence::Medium),
        },
        // Without parameters only the stored public point can tell the
        // curves of equal size apart.
        None if public.is_some() => ALL
            .into_iter()
            .filter(|c| c.field_len() == d.len())
            .collect(),
        None => return Verdict::new(RULE_EC, form, Confidence::Medium),
    };
    for curve in candidates {
        if d.len() > curve.field_len() {
            continue;
        }
        // Some encoders drop the scalar's leading zero bytes.
        let mut scalar = Zeroizing::new(vec![0u8; curve.field_len()]);
        scalar[curve.field_len() - d.len()..].copy_from_slice(d);
        if let Some(point) = curve.validate(&scalar, public) {
            let key = KeyMaterial::Ec {
                curve,
                d: scalar,
                public: point,
            };
            let verdict = Verdict::new(RULE_EC, form, Confidence::High);
            return if public.is_some() {
                verdict.validated(key)
            } else {
                verdict.with_key(key)
            };
        }
    }
    Verdict::new(RULE_EC, form, Confidence::Low)
}

/// `EncryptedPrivateKeyInfo ::= SEQUENCE { AlgorithmIdentifier, OCTET STRING }`,
/// read with der's reader (the `pkcs8` crate only offers it with its
/// encryption features, which would pull in the ciphers).
fn encrypted(der: &[u8]) -> Option<Verdict> {
    let mut reader = SliceReader::new(der).ok()?;
    let (oid, data_len) = reader
        .sequence(|r| {
            let alg = spki::AlgorithmIdentifierRef::decode(r)?;
            let data = <&OctetStringRef>::decode(r)?;
            Ok::<_, der::Error>((alg.oid, data.as_bytes().len()))
        })
        .ok()?;
    reader.finish().ok()?;
    let oid = oid.as_bytes();
    let scheme = oid.starts_with(&PKCS5_OID[2..]) || oid.starts_with(&PKCS12_PBE_OID[2..]);
    // Every scheme is a block cipher in CBC mode: whole 8-byte blocks.
    (scheme && data_len >= 16 && data_len % 8 == 0)
        .then(|| Verdict::new(RULE_ENCRYPTED, "pkcs8-encrypted-der", Confidence::Medium))
}

/// Most bytes of line breaks, indentation and escapes accepted between two
/// base64 characters.
const MAX_SEPARATOR: usize = 32;

/// Iterates over the base64 characters of text starting at `start`, with
/// the buffer index just after each. Between characters it skips line
/// breaks (`\n`, `\r\n`) and the indentation after them, also when
/// escaped as in a JSON string (`\n`, `\r`, `\t` written as two
/// characters); `\/` is read as `/`. It stops at `=` and at anything else,
/// and after [`MAX_SPAN`] bytes.
pub(crate) struct Base64Chars<'a> {
    buf: &'a [u8],
    pos: usize,
    limit: usize,
}

impl<'a> Base64Chars<'a> {
    pub(crate) fn new(buf: &'a [u8], start: usize) -> Self {
        Base64Chars {
            buf,
            pos: start,
            limit: (start + MAX_SPAN).min(buf.len()),
        }
    }
}

pub(crate) fn is_base64(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'+' || b == b'/'
}

impl Iterator for Base64Chars<'_> {
    type Item = (u8, usize);

    fn next(&mut self) -> Option<(u8, usize)> {
        let b = &self.buf[..self.limit];
        let mut p = self.pos;
        // Spaces and tabs only as indentation after a line break, so that
        // base64-looking words separated by spaces do not join up.
        let mut line_break = false;
        loop {
            match b.get(p..)? {
                [b'\r' | b'\n', ..] => {
                    line_break = true;
                    p += 1;
                }
                [b'\\', b'n' | b'r', ..] => {
                    line_break = true;
                    p += 2;
                }
                [b' ' | b'\t', ..] if line_break => p += 1,
                [b'\\', b't', ..] if line_break => p += 2,
                _ => break,
            }
            if p - self.pos > MAX_SEPARATOR {
                return None;
            }
        }
        let (c, next) = match b.get(p..)? {
            [c, ..] if is_base64(*c) => (*c, p + 1),
            [b'\\', b'/', ..] => (b'/', p + 2),
            _ => return None,
        };
        self.pos = next;
        Some((c, next))
    }
}

#[cfg(test)]
pub(crate) mod testutil {
    //! Buffers, chunked scanning and key ids shared by the DER and OpenSSH
    //! detector tests.

    use std::ops::Range;

    use crate::detect::{ChunkDetector, KeyMatch};
    use crate::fingerprint::Fingerprinter;

    /// File offset the test buffers pretend to start at, so that offset
    /// arithmetic is exercised.
    pub const BASE: u64 = 0x10_0000;

    /// splitmix64: seeded, fast, good enough to look like key bytes.
    pub struct Rng(u64);

    impl Rng {
        pub fn new(seed: u64) -> Self {
            Rng(seed)
        }

        pub fn next_u64(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }

        pub fn fill(&mut self, out: &mut [u8]) {
            for c in out.chunks_mut(8) {
                let v = self.next_u64().to_le_bytes();
                c.copy_from_slice(&v[..c.len()]);
            }
        }
    }

    const TEXT: &[u8] = b"GET /api/v1/items?id=42 HTTP/1.1\r\nHost: example.com\r\n\
        Accept: application/json\r\nMIICertificateLooking MIG MIH CAQAwx 0201000201 \
        3082020100 {\"name\":\"value\",\"list\":[1,2,3]} libssl.so.3 /usr/lib/x86_64-linux-gnu\n";

    /// `len` bytes alternating 4 KiB pages of random bytes, zeros and text
    /// laden with near misses of every detector's anchors.
    pub fn filler(len: usize, seed: u64) -> Vec<u8> {
        filler_with(len, seed, TEXT)
    }

    fn filler_with(len: usize, seed: u64, text: &[u8]) -> Vec<u8> {
        let mut rng = Rng::new(seed);
        let mut v = vec![0u8; len];
        for (i, page) in v.chunks_mut(4096).enumerate() {
            match i % 3 {
                0 => rng.fill(page),
                1 => {}
                _ => {
                    for (j, b) in page.iter_mut().enumerate() {
                        *b = text[j % text.len()];
                    }
                }
            }
        }
        v
    }

    /// A buffer of filler with `payload` at an odd offset inside a random
    /// page; returns the buffer and the payload's index.
    pub fn embed(payload: &[u8], seed: u64) -> (Vec<u8>, usize) {
        let at = 4096 * 3 + 1001;
        let mut v = filler(at + payload.len() + 3 * 4096, seed);
        v[at..at + payload.len()].copy_from_slice(payload);
        (v, at)
    }

    /// Scans `buf` as one chunk at [`BASE`].
    pub fn scan_whole(d: &dyn ChunkDetector, buf: &[u8]) -> Vec<KeyMatch> {
        let mut out = Vec::new();
        d.scan(buf, BASE, BASE..BASE + buf.len() as u64, &mut out);
        out
    }

    /// Scans `buf` as two chunks owning `..cut` and `cut..`, each with
    /// `max_len` bytes of context, as the scan plan cuts them.
    pub fn scan_split(d: &dyn ChunkDetector, buf: &[u8], cut: usize) -> Vec<KeyMatch> {
        let ctx = d.max_len();
        let mut out = Vec::new();
        let chunk = |r: Range<usize>, own: Range<usize>, out: &mut Vec<KeyMatch>| {
            d.scan(
                &buf[r.clone()],
                BASE + r.start as u64,
                BASE + own.start as u64..BASE + own.end as u64,
                out,
            );
        };
        chunk(0..(cut + ctx).min(buf.len()), 0..cut, &mut out);
        chunk(cut.saturating_sub(ctx)..buf.len(), cut..buf.len(), &mut out);
        out
    }

    /// CPU time of the calling thread, in seconds: the machine is shared,
    /// so wall time alone says little.
    pub fn thread_cpu_secs() -> f64 {
        let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap_or_default();
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map(|(_, r)| r.split_whitespace().collect())
            .unwrap_or_default();
        let ticks: f64 = fields
            .get(11..13)
            .map(|f| f.iter().filter_map(|v| v.parse::<f64>().ok()).sum())
            .unwrap_or(0.0);
        ticks / 100.0
    }

    /// Scans `buf` `reps` times in 4 MiB chunks with context, as the scan
    /// plan does, on one thread; returns (wall, CPU) seconds and the
    /// number of matches of one pass.
    pub fn time_scan(d: &dyn ChunkDetector, buf: &[u8], reps: usize) -> (f64, f64, usize) {
        let chunk = 4 << 20;
        let ctx = d.max_len();
        let (wall, cpu) = (std::time::Instant::now(), thread_cpu_secs());
        let mut out = Vec::new();
        for _ in 0..reps {
            out.clear();
            for start in (0..buf.len()).step_by(chunk) {
                let lo = start.saturating_sub(ctx);
                let hi = (start + chunk + ctx).min(buf.len());
                let own = start as u64..(start + chunk).min(buf.len()) as u64;
                d.scan(&buf[lo..hi], lo as u64, own, &mut out);
            }
        }
        (
            wall.elapsed().as_secs_f64(),
            thread_cpu_secs() - cpu,
            out.len(),
        )
    }

    /// Prints MB/s (by CPU time and by wall time) over 256 MiB of mixed
    /// pages, and over each kind of page alone.
    pub fn bench(name: &str, d: &dyn ChunkDetector) {
        let mixed = filler_with(256 << 20, 7, PLAIN_TEXT);
        let mixed_near = filler(256 << 20, 7);
        let mut random = vec![0u8; 64 << 20];
        Rng::new(8).fill(&mut random);
        let zeros = vec![0u8; 64 << 20];
        let text: Vec<u8> = PLAIN_TEXT.iter().copied().cycle().take(64 << 20).collect();
        let near: Vec<u8> = TEXT.iter().copied().cycle().take(64 << 20).collect();
        for (what, buf, reps) in [
            ("random/zero/plain-text pages", &mixed, 4),
            ("random/zero/near-miss-text pages", &mixed_near, 1),
            ("random", &random, 16),
            ("zeros", &zeros, 16),
            ("plain text", &text, 16),
            ("text with a near miss every 40 bytes", &near, 1),
        ] {
            let (wall, cpu, n) = time_scan(d, buf, reps);
            let mb = (buf.len() * reps) as f64 / 1e6;
            eprintln!(
                "{name}: {:>4} MiB x{reps:<2} {what:<38} {:>6.0} MB/s CPU ({cpu:.2} s), {:>6.0} MB/s wall, {n} matches",
                buf.len() >> 20,
                mb / cpu.max(0.01),
                mb / wall
            );
        }
    }

    /// Text with no anchor in it: log lines, paths, JSON.
    const PLAIN_TEXT: &[u8] = b"2024-05-01T12:00:00Z INFO request handled path=/api/v1/items \
        status=200 duration_ms=12 user_agent=\"Mozilla/5.0 (X11; Linux x86_64)\"\n\
        /usr/lib/x86_64-linux-gnu/libcrypto.so.3 /usr/share/locale/en_US/LC_MESSAGES\n\
        {\"id\": 4711, \"name\": \"Quarterly report\", \"tags\": [\"finance\", \"q2\"]}\n";

    pub fn key_id(m: &KeyMatch) -> Option<String> {
        m.key.as_ref().map(|k| k.id(&Fingerprinter::new(None)))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::OnceLock;

    use openssl::bn::BigNumContext;
    use openssl::ec::{EcGroup, EcKey, PointConversionForm};
    use openssl::nid::Nid;
    use openssl::pkey::{PKey, Private};
    use openssl::rsa::Rsa;
    use openssl::symm::Cipher;

    use super::testutil::*;
    use super::*;
    use crate::keys::short_hash;

    fn rsa_key() -> &'static Rsa<Private> {
        static KEY: OnceLock<Rsa<Private>> = OnceLock::new();
        KEY.get_or_init(|| Rsa::generate(2048).unwrap())
    }

    fn ec_key(nid: Nid) -> EcKey<Private> {
        let group = EcGroup::from_curve_name(nid).unwrap();
        EcKey::generate(&group).unwrap()
    }

    fn rsa_id(k: &Rsa<Private>) -> String {
        format!("rsa-{}:{}", k.n().num_bits(), short_hash(&k.n().to_vec()))
    }

    fn ec_id(k: &EcKey<Private>, name: &str) -> String {
        let mut ctx = BigNumContext::new().unwrap();
        let point = k
            .public_key()
            .to_bytes(k.group(), PointConversionForm::UNCOMPRESSED, &mut ctx)
            .unwrap();
        format!("ec-{name}:{}", short_hash(&point))
    }

    /// What one scan must report.
    struct Expect {
        rule: &'static str,
        form: &'static str,
        confidence: Confidence,
        validated: bool,
        id: Option<String>,
    }

    /// Text copies of a DER structure, with the forms' suffixes.
    fn texts(der: &[u8]) -> Vec<(&'static str, Vec<u8>)> {
        use base64::engine::general_purpose::STANDARD;
        let b64 = STANDARD.encode(der);
        let wrap = |width: usize, sep: &str| -> Vec<u8> {
            b64.as_bytes()
                .chunks(width)
                .map(|c| std::str::from_utf8(c).unwrap())
                .collect::<Vec<_>>()
                .join(sep)
                .into_bytes()
        };
        vec![
            ("-base64", b64.clone().into_bytes()),
            ("-base64", wrap(64, "\n")),
            ("-base64", wrap(76, "\r\n")),
            ("-base64", wrap(64, "\\n")),
            // Indented, as in a YAML block scalar.
            ("-base64", wrap(64, "\n    ")),
            ("-hex", hex::encode(der).into_bytes()),
            ("-hex", hex::encode_upper(der).into_bytes()),
        ]
    }

    /// Checks one finding exactly covering `span` in the whole scan and in
    /// a scan split through the middle of the payload.
    fn check_at(payload: &[u8], seed: u64, e: &Expect, suffix: &str, encoding: Encoding) {
        let (buf, at) = embed(payload, seed);
        let d = DerDetector::new();
        let whole = scan_whole(&d, &buf);
        // Cut at the key's first byte, just after it, in its middle (inside
        // the nested PKCS#1 of a PKCS#8) and at its last byte.
        let mut scans = vec![("whole".to_string(), whole)];
        for cut in [at, at + 1, at + payload.len() / 2, at + payload.len() - 1] {
            scans.push((format!("split at +{}", cut - at), scan_split(&d, &buf, cut)));
        }
        for (how, found) in scans {
            let form = format!("{}{}", e.form, suffix);
            assert_eq!(found.len(), 1, "{how} {form}: {} findings", found.len());
            let m = &found[0];
            assert_eq!(m.offset, BASE + at as u64, "{how} {form}: offset");
            assert_eq!(m.len, payload.len() as u64, "{how} {form}: length");
            assert_eq!(m.rule, e.rule, "{how} {form}");
            assert_eq!(m.form, form, "{how}");
            assert_eq!(m.encoding, encoding, "{how} {form}");
            assert_eq!(m.confidence, e.confidence, "{how} {form}");
            assert_eq!(m.validated, e.validated, "{how} {form}");
            assert_eq!(key_id(m), e.id, "{how} {form}: key id");
        }
    }

    /// The DER in binary and every text form.
    fn check_all_forms(der: &[u8], e: Expect) {
        check_at(der, 1, &e, "", Encoding::Binary);
        for (i, (suffix, text)) in texts(der).into_iter().enumerate() {
            // Text is embedded as in a JSON document or a PEM file.
            let mut payload = text.clone();
            if i == 3 {
                payload.splice(0..0, b"{\"key\":\"".iter().copied());
                payload.extend_from_slice(b"\\n\"}");
                let (buf, _) = embed(&payload, 2);
                let found = scan_whole(&DerDetector::new(), &buf);
                assert_eq!(found.len(), 1);
                assert_eq!(
                    found[0].len,
                    text.len() as u64,
                    "JSON: span is the base64 only"
                );
                assert_eq!(found[0].validated, e.validated);
                continue;
            }
            check_at(&text, 3 + i as u64, &e, suffix, Encoding::Ascii);
        }
    }

    #[test]
    fn rsa_pkcs1_and_pkcs8() {
        let rsa = rsa_key();
        let id = Some(rsa_id(rsa));
        let valid = |form| Expect {
            rule: RULE_RSA,
            form,
            confidence: Confidence::High,
            validated: true,
            id: id.clone(),
        };
        check_all_forms(&rsa.private_key_to_der().unwrap(), valid("pkcs1-der"));
        let pkey = PKey::from_rsa(rsa.clone()).unwrap();
        check_all_forms(&pkey.private_key_to_pkcs8().unwrap(), valid("pkcs8-der"));
    }

    #[test]
    fn rsa_with_a_damaged_prime_is_reported_unvalidated() {
        let rsa = rsa_key();
        let p = rsa.p().unwrap().to_vec();
        let pkcs8 = PKey::from_rsa(rsa.clone())
            .unwrap()
            .private_key_to_pkcs8()
            .unwrap();
        for (der, form) in [
            (rsa.private_key_to_der().unwrap(), "pkcs1-der"),
            (pkcs8, "pkcs8-der"),
        ] {
            let mut der = der;
            let i = der.windows(p.len()).position(|w| w == p).unwrap() + p.len() / 2;
            der[i] ^= 0x01;
            let e = Expect {
                rule: RULE_RSA,
                form,
                confidence: Confidence::Low,
                validated: false,
                id: None,
            };
            check_at(&der, 5, &e, "", Encoding::Binary);
            let b64 = base64::engine::general_purpose::STANDARD.encode(&der);
            check_at(b64.as_bytes(), 6, &e, "-base64", Encoding::Ascii);
        }
    }

    #[test]
    fn ec_sec1_and_pkcs8_on_every_curve() {
        for (nid, name) in [
            (Nid::X9_62_PRIME256V1, "p256"),
            (Nid::SECP384R1, "p384"),
            (Nid::SECP521R1, "p521"),
            (Nid::SECP256K1, "secp256k1"),
        ] {
            let ec = ec_key(nid);
            let id = Some(ec_id(&ec, name));
            let valid = |form| Expect {
                rule: RULE_EC,
                form,
                confidence: Confidence::High,
                validated: true,
                id: id.clone(),
            };
            check_all_forms(&ec.private_key_to_der().unwrap(), valid("sec1-der"));
            let pkcs8 = PKey::from_ec_key(ec.clone())
                .unwrap()
                .private_key_to_pkcs8()
                .unwrap();
            check_all_forms(&pkcs8, valid("pkcs8-der"));
        }
    }

    #[test]
    fn ec_with_a_wrong_public_point_is_not_validated() {
        let ec = ec_key(Nid::X9_62_PRIME256V1);
        let mut der = ec.private_key_to_der().unwrap();
        let mut ctx = BigNumContext::new().unwrap();
        let point = ec
            .public_key()
            .to_bytes(ec.group(), PointConversionForm::UNCOMPRESSED, &mut ctx)
            .unwrap();
        let i = der.windows(point.len()).position(|w| w == point).unwrap();
        der[i + 20] ^= 0x40;
        let e = Expect {
            rule: RULE_EC,
            form: "sec1-der",
            confidence: Confidence::Low,
            validated: false,
            id: None,
        };
        check_at(&der, 7, &e, "", Encoding::Binary);
    }

    #[test]
    fn ec_without_public_point_or_curve() {
        use der::Encode;
        let ec = ec_key(Nid::SECP384R1);
        let full = ec.private_key_to_der().unwrap();
        let parsed = sec1::EcPrivateKey::from_der(&full).unwrap();
        let id = Some(ec_id(&ec, "p384"));
        // No public point: the scalar is in range, nothing to check it
        // against; the key is still named by its derived point.
        let no_public = sec1::EcPrivateKey {
            public_key: None,
            ..parsed.clone()
        };
        check_at(
            &no_public.to_der().unwrap(),
            31,
            &Expect {
                rule: RULE_EC,
                form: "sec1-der",
                confidence: Confidence::High,
                validated: false,
                id: id.clone(),
            },
            "",
            Encoding::Binary,
        );
        // No curve: the public point tells which curve it is.
        let no_curve = sec1::EcPrivateKey {
            parameters: None,
            ..parsed.clone()
        };
        check_at(
            &no_curve.to_der().unwrap(),
            32,
            &Expect {
                rule: RULE_EC,
                form: "sec1-der",
                confidence: Confidence::High,
                validated: true,
                id,
            },
            "",
            Encoding::Binary,
        );
        // Neither: a key of unknown curve.
        let neither = sec1::EcPrivateKey {
            parameters: None,
            public_key: None,
            ..parsed
        };
        check_at(
            &neither.to_der().unwrap(),
            33,
            &Expect {
                rule: RULE_EC,
                form: "sec1-der",
                confidence: Confidence::Medium,
                validated: false,
                id: None,
            },
            "",
            Encoding::Binary,
        );
    }

    #[test]
    fn ed25519_and_x25519_pkcs8() {
        for (ed, rule) in [(true, RULE_ED25519), (false, RULE_X25519)] {
            let pkey = if ed {
                PKey::generate_ed25519().unwrap()
            } else {
                PKey::generate_x25519().unwrap()
            };
            let public = pkey.raw_public_key().unwrap();
            let id = Some(format!(
                "{}:{}",
                if ed { "ed25519" } else { "x25519" },
                short_hash(&public)
            ));
            // OpenSSL writes PKCS#8 v1: no public key to check the seed
            // against.
            let v1 = pkey.private_key_to_pkcs8().unwrap();
            check_all_forms(
                &v1,
                Expect {
                    rule,
                    form: "pkcs8-der",
                    confidence: Confidence::High,
                    validated: false,
                    id: id.clone(),
                },
            );
            // v2 with the public key, built with the pkcs8 crate.
            let v2 = |public: &[u8]| -> Vec<u8> {
                use der::Encode;
                let info = pkcs8::PrivateKeyInfoRef::from_der(&v1).unwrap();
                let mut info = pkcs8::PrivateKeyInfoRef::new(info.algorithm, info.private_key);
                info.public_key = Some(der::asn1::BitStringRef::from_bytes(public).unwrap());
                info.to_der().unwrap()
            };
            check_all_forms(
                &v2(&public),
                Expect {
                    rule,
                    form: "pkcs8-der",
                    confidence: Confidence::High,
                    validated: true,
                    id: id.clone(),
                },
            );
            let mut wrong = public.clone();
            wrong[5] ^= 1;
            check_at(
                &v2(&wrong),
                8,
                &Expect {
                    rule,
                    form: "pkcs8-der",
                    confidence: Confidence::Low,
                    validated: false,
                    id: None,
                },
                "",
                Encoding::Binary,
            );
        }
    }

    #[test]
    fn encrypted_pkcs8() {
        let ec = ec_key(Nid::X9_62_PRIME256V1);
        let pkey = PKey::from_ec_key(ec).unwrap();
        let e = || Expect {
            rule: RULE_ENCRYPTED,
            form: "pkcs8-encrypted-der",
            confidence: Confidence::Medium,
            validated: false,
            id: None,
        };
        for cipher in [Cipher::aes_256_cbc(), Cipher::des_ede3_cbc()] {
            let der = pkey
                .private_key_to_pkcs8_passphrase(cipher, b"passphrase")
                .unwrap();
            check_all_forms(&der, e());
        }
        let rsa = PKey::from_rsa(rsa_key().clone()).unwrap();
        let der = rsa
            .private_key_to_pkcs8_passphrase(Cipher::aes_128_cbc(), b"passphrase")
            .unwrap();
        check_all_forms(&der, e());
    }

    #[test]
    fn two_keys_back_to_back_and_a_truncated_one() {
        let a = rsa_key().private_key_to_der().unwrap();
        let b = ec_key(Nid::SECP384R1).private_key_to_der().unwrap();
        let mut payload = a.clone();
        payload.extend_from_slice(&b);
        // Cut inside p: the bytes after it cannot complete the structure.
        payload.extend_from_slice(&a[..a.len() / 2]);
        let (buf, at) = embed(&payload, 9);
        let found = scan_whole(&DerDetector::new(), &buf);
        let spans: Vec<(u64, u64, &str)> =
            found.iter().map(|m| (m.offset, m.len, m.rule)).collect();
        let start = BASE + at as u64;
        assert_eq!(
            spans,
            vec![
                (start, a.len() as u64, RULE_RSA),
                (start + a.len() as u64, b.len() as u64, RULE_EC)
            ]
        );
    }

    #[test]
    fn base64_separators() {
        let text = b"MIIB AgEA\n  Cg\\n\\tQQ\\/x\r\nzz=";
        let chars: Vec<u8> = Base64Chars::new(text, 0).map(|(c, _)| c).collect();
        // The plain space ends the run; indentation after a break does not.
        assert_eq!(chars, b"MIIB");
        let chars: Vec<u8> = Base64Chars::new(text, 5).map(|(c, _)| c).collect();
        assert_eq!(chars, b"AgEACgQQ/xzz");
    }

    #[test]
    fn mutated_structures_never_panic() {
        let ec = ec_key(Nid::X9_62_PRIME256V1);
        let pkey = PKey::from_ec_key(ec.clone()).unwrap();
        let sources = [
            ec.private_key_to_der().unwrap(),
            pkey.private_key_to_pkcs8().unwrap(),
            pkey.private_key_to_pkcs8_passphrase(Cipher::aes_128_cbc(), b"pw")
                .unwrap(),
            PKey::generate_ed25519()
                .unwrap()
                .private_key_to_pkcs8()
                .unwrap(),
        ];
        let d = DerDetector::new();
        let mut rng = Rng::new(78);
        for i in 0..600 {
            let der = &sources[i % sources.len()];
            let mut payload = match i % 3 {
                0 => der.clone(),
                1 => base64::engine::general_purpose::STANDARD
                    .encode(der)
                    .into_bytes(),
                _ => hex::encode(der).into_bytes(),
            };
            for _ in 0..1 + i % 3 {
                // Mostly inside the first bytes, where the filters look.
                let at = rng.next_u64() as usize
                    % payload.len().min(if i % 2 == 0 { 24 } else { usize::MAX });
                payload[at] = rng.next_u64() as u8;
            }
            payload.truncate(payload.len() - (rng.next_u64() as usize % 8) * (i % 2));
            let (buf, _) = embed(&payload, i as u64);
            let _ = scan_whole(&d, &buf);
        }
    }

    #[test]
    fn random_bytes_give_no_high_finding() {
        let mut buf = vec![0u8; 64 << 20];
        Rng::new(0x5eed).fill(&mut buf);
        let found = scan_whole(&DerDetector::new(), &buf);
        let high: Vec<_> = found
            .iter()
            .filter(|m| m.confidence == Confidence::High || m.validated)
            .map(|m| (m.offset, m.len, m.rule))
            .collect();
        assert!(high.is_empty(), "{high:?}");
    }

    /// `cargo test --release --lib detect::der -- --ignored --nocapture`
    #[test]
    #[ignore]
    fn throughput() {
        bench("DerDetector", &DerDetector::new());
    }
}
