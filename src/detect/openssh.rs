//! OpenSSH private keys (`openssh-key-v1`): the binary container as it
//! lies in memory after `ssh`, `ssh-agent` or `ssh-add` read it, and its
//! base64 form, with or without the `-----BEGIN OPENSSH PRIVATE KEY-----`
//! armour (the text rules find the armour; this finds the body, and decodes
//! it so that a validated key drives the sweep).
//!
//! What makes a finding *validated*, for unencrypted keys:
//!
//! - RSA: p·q = n and d·e ≡ 1 (mod λ(n)) ([`RsaKey::from_components`]).
//! - Ed25519: the public key derived from the 32-byte seed equals the one
//!   stored (twice) beside it.
//! - ECDSA on nistp256/384/521: d·G equals the stored point Q.
//!
//! A container that is exact but whose key disagrees with itself (numbers,
//! check integers, the public key repeated in the header) is low
//! confidence, unvalidated. Encrypted keys (any cipher other than `none`)
//! cannot be checked: medium, unvalidated. Other key types (DSA, FIDO
//! `sk-*`) are medium, unvalidated.
//!
//! `ssh-key` decodes the container, RSA and Ed25519; built with only its
//! `alloc` feature it has no ECDSA support (that needs `sec1` 0.7, which
//! this crate does not otherwise use), so for ECDSA the fields of the
//! private section are read with the same SSH wire rules by hand.
//!
//! What it cannot see: containers longer than [`MAX_SPAN`], keys whose base64
//! is split by anything but line breaks, indentation and JSON escapes, text
//! in UTF-16, the legacy PEM formats (`BEGIN RSA PRIVATE KEY` bodies are
//! PKCS#1 DER: the DER detector finds them), and a key whose container was
//! parsed and freed, leaving only its numbers (the sweep and the big-number
//! detectors' job).

use std::ops::Range;
use std::sync::Arc;

use base64::Engine as _;
use num_bigint::BigUint;
use ssh_key::private::{Ed25519Keypair, KeypairData, RsaKeypair};
use ssh_key::Mpint;
use zeroize::Zeroizing;

use super::der::{Base64Chars, B64};
use super::literals::{ClientHits, OwnLiterals};
use super::{AnchoredDetector, Encoding, KeyMatch};
use crate::keys::{Curve, KeyMaterial, RsaKey};
use crate::rules::Confidence;

pub const RULE: &str = "openssh-private-key";
const DESCRIPTION: &str = "OpenSSH private key (openssh-key-v1)";

/// Longest span one match can cover: an 8192-bit RSA key is about 4.6 KB
/// of container and 6.3 KB of wrapped base64.
pub const MAX_SPAN: usize = 16 * 1024;

const MAGIC: &[u8] = b"openssh-key-v1\0";
/// Base64 of the magic's first 14 bytes: the same characters at the start
/// of every body, whatever follows.
const MAGIC_BASE64: &[u8] = b"b3BlbnNzaC1rZXktdjE";

/// Finds OpenSSH private keys in binary and base64.
pub struct OpenSshDetector {
    literals: OwnLiterals,
}

impl Default for OpenSshDetector {
    fn default() -> Self {
        Self::new()
    }
}

impl OpenSshDetector {
    pub fn new() -> Self {
        // The magic's final NUL is left to `container` to check: the
        // printable part anchors as well, and a literal with a NUL in it
        // invites a searcher to stop on every zero byte of a dump.
        let literals = OwnLiterals::new(vec![
            MAGIC[..MAGIC.len() - 1].to_vec(),
            MAGIC_BASE64.to_vec(),
        ])
        .expect("fixed literals always build");
        OpenSshDetector { literals }
    }
}

impl AnchoredDetector for OpenSshDetector {
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
        // From the start of the context, so that a magic quoted inside a
        // key found before `own` (a comment can hold anything) is skipped
        // by every chunk alike.
        let end = (hi + MAGIC_BASE64.len()).min(buf.len());
        let mut covered = 0;
        for (start, hit_end, literal) in hits.starting_in(0..hi) {
            if start < covered || hit_end > end {
                continue;
            }
            let binary = literal == 0;
            let Some((span, verdict)) = confirm(buf, start, binary) else {
                continue;
            };
            covered = span.end;
            if start >= lo {
                out.push(KeyMatch {
                    offset: base + start as u64,
                    len: span.len() as u64,
                    rule: RULE,
                    description: DESCRIPTION,
                    form: if binary {
                        "openssh-key-v1".into()
                    } else {
                        "openssh-key-v1-base64".into()
                    },
                    encoding: if binary {
                        Encoding::Binary
                    } else {
                        Encoding::Ascii
                    },
                    confidence: verdict.confidence,
                    validated: verdict.validated,
                    key: verdict.key.map(Arc::new),
                    key_id: None,
                });
            }
        }
    }
}

/// Decodes the candidate at `start` and judges it; returns its span.
fn confirm(buf: &[u8], start: usize, binary: bool) -> Option<(Range<usize>, Verdict)> {
    if binary {
        let window = &buf[start..(start + MAX_SPAN).min(buf.len())];
        let c = container(window)?;
        let verdict = judge(&window[..c.len], &c);
        return Some((start..start + c.len, verdict));
    }
    let mut chars = Zeroizing::new(Vec::new());
    let mut ends = Vec::new();
    for (c, e) in Base64Chars::new(buf, start) {
        chars.push(c);
        ends.push(e);
    }
    // A lone final character encodes no whole byte.
    let usable = chars.len() - usize::from(chars.len() % 4 == 1);
    let bytes = Zeroizing::new(B64.decode(&chars[..usable]).ok()?);
    let c = container(&bytes)?;
    let need = (c.len * 4).div_ceil(3);
    let mut end = ends[need - 1];
    if need == usable {
        let pad = (4 - need % 4) % 4;
        end += buf[end..]
            .iter()
            .take(pad)
            .take_while(|&&b| b == b'=')
            .count();
    }
    let verdict = judge(&bytes[..c.len], &c);
    Some((start..end, verdict))
}

/// Reads SSH wire encoding: big-endian `uint32`s and length-prefixed
/// strings, bounds-checked.
struct Wire<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Wire<'a> {
    fn new(b: &'a [u8]) -> Self {
        Wire { b, pos: 0 }
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let v = self.b.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(v)
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_be_bytes(self.take(4)?.try_into().ok()?))
    }

    fn string(&mut self) -> Option<&'a [u8]> {
        let n = self.u32()? as usize;
        self.take(n)
    }

    fn rest(&self) -> &'a [u8] {
        &self.b[self.pos..]
    }
}

/// The outer fields of an `openssh-key-v1` container (PROTOCOL.key).
struct Container<'a> {
    /// Length of the whole container in bytes.
    len: usize,
    cipher: &'a [u8],
    /// The public key blob.
    public: &'a [u8],
    /// The private section (ciphertext when encrypted).
    private: &'a [u8],
}

/// Walks the container's length-prefixed fields to find where it ends:
/// memory holds it followed by anything, and `ssh-key` decodes only an
/// exact slice.
fn container(b: &[u8]) -> Option<Container<'_>> {
    let mut w = Wire::new(b);
    if w.take(MAGIC.len())? != MAGIC {
        return None;
    }
    let cipher = w.string()?;
    let kdf = w.string()?;
    let _kdf_options = w.string()?;
    if w.u32()? != 1 {
        return None;
    }
    let public = w.string()?;
    let private = w.string()?;
    if cipher == b"none" {
        if kdf != b"none" || private.len() % 8 != 0 {
            return None;
        }
    } else {
        // Unknown cipher names are kept: still a key container, just one
        // whose tag length we cannot know (none of the known ones but the
        // AEAD modes have one).
        let known = std::str::from_utf8(cipher)
            .ok()
            .and_then(|s| ssh_key::Cipher::new(s).ok());
        if let Some(c) = known {
            if private.len() % c.block_size() != 0 {
                return None;
            }
            if c.has_tag() {
                w.take(16)?;
            }
        }
    }
    Some(Container {
        len: w.pos,
        cipher,
        public,
        private,
    })
}

struct Verdict {
    confidence: Confidence,
    validated: bool,
    key: Option<KeyMaterial>,
}

impl Verdict {
    fn unvalidated(confidence: Confidence) -> Verdict {
        Verdict {
            confidence,
            validated: false,
            key: None,
        }
    }

    fn validated(key: KeyMaterial) -> Verdict {
        Verdict {
            confidence: Confidence::High,
            validated: true,
            key: Some(key),
        }
    }
}

fn judge(blob: &[u8], c: &Container<'_>) -> Verdict {
    if c.cipher != b"none" {
        return Verdict::unvalidated(Confidence::Medium);
    }
    let algorithm = Wire::new(c.public).string().unwrap_or_default();
    if algorithm.starts_with(b"ecdsa-sha2-") {
        return ecdsa(c);
    }
    match ssh_key::PrivateKey::from_bytes(blob) {
        Ok(key) => match key.key_data() {
            KeypairData::Rsa(k) => rsa(k),
            KeypairData::Ed25519(k) => ed25519(k),
            _ => Verdict::unvalidated(Confidence::Medium),
        },
        // A type `ssh-key` reads, in an exact container, whose parts
        // disagree (check integers, the public key in the header,
        // padding): damaged.
        Err(_) if [&b"ssh-rsa"[..], b"ssh-ed25519", b"ssh-dss"].contains(&algorithm) => {
            Verdict::unvalidated(Confidence::Low)
        }
        // A type it does not read (FIDO `sk-ecdsa-…` without its ECDSA
        // support, future types): still a private key container.
        Err(_) => Verdict::unvalidated(Confidence::Medium),
    }
}

fn rsa(k: &RsaKeypair) -> Verdict {
    let int = |m: &Mpint| m.as_positive_bytes().map(BigUint::from_bytes_be);
    let parts = (
        int(&k.public.n),
        int(&k.public.e),
        int(&k.private.d),
        int(&k.private.p),
        int(&k.private.q),
    );
    let (Some(n), Some(e), Some(d), Some(p), Some(q)) = parts else {
        return Verdict::unvalidated(Confidence::Low);
    };
    match RsaKey::from_components(&n, &e, &d, &p, &q) {
        Some(key) => Verdict::validated(KeyMaterial::Rsa(key)),
        None => Verdict::unvalidated(Confidence::Low),
    }
}

fn ed25519(k: &Ed25519Keypair) -> Verdict {
    let seed = Zeroizing::new(k.private.to_bytes());
    let derived = ed25519_dalek::SigningKey::from_bytes(&seed)
        .verifying_key()
        .to_bytes();
    if derived != k.public.0 {
        return Verdict::unvalidated(Confidence::Low);
    }
    Verdict::validated(KeyMaterial::Ed25519 {
        seed,
        public: derived,
    })
}

/// ECDSA by hand (see the module doc): the public blob is
/// `string alg, string curve, string Q`; the private section is
/// `uint32 check, uint32 check, string alg, string curve, string Q,
/// mpint d, string comment, padding 1 2 3…`.
fn ecdsa(c: &Container<'_>) -> Verdict {
    let low = || Verdict::unvalidated(Confidence::Low);
    let mut public = Wire::new(c.public);
    let (Some(alg), Some(curve_name), Some(q)) =
        (public.string(), public.string(), public.string())
    else {
        return low();
    };
    let curve = match curve_name {
        b"nistp256" => Curve::P256,
        b"nistp384" => Curve::P384,
        b"nistp521" => Curve::P521,
        _ => return Verdict::unvalidated(Confidence::Medium),
    };
    if !public.rest().is_empty() || alg.strip_prefix(b"ecdsa-sha2-") != Some(curve_name) {
        return low();
    }
    let mut w = Wire::new(c.private);
    let (Some(check1), Some(check2)) = (w.u32(), w.u32()) else {
        return low();
    };
    if check1 != check2
        || w.string() != Some(alg)
        || w.string() != Some(curve_name)
        || w.string() != Some(q)
    {
        return low();
    }
    let Some(d) = w.string().and_then(|d| Mpint::from_bytes(d).ok()) else {
        return low();
    };
    let _comment = w.string();
    let padding_ok = w
        .rest()
        .iter()
        .enumerate()
        .all(|(i, &b)| usize::from(b) == i + 1);
    let Some(d) = d
        .as_positive_bytes()
        .filter(|d| d.len() <= curve.field_len())
    else {
        return low();
    };
    if !padding_ok {
        return low();
    }
    let mut scalar = Zeroizing::new(vec![0u8; curve.field_len()]);
    scalar[curve.field_len() - d.len()..].copy_from_slice(d);
    match curve.validate(&scalar, Some(q)) {
        Some(point) => Verdict::validated(KeyMaterial::Ec {
            curve,
            d: scalar,
            public: point,
        }),
        None => low(),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::process::Command;

    use base64::engine::general_purpose::STANDARD;
    use openssl::bn::BigNumContext;
    use openssl::ec::PointConversionForm;
    use openssl::pkey::PKey;

    use super::*;
    use crate::detect::der::testutil::*;
    use crate::keys::short_hash;

    /// A key made by `ssh-keygen`: its armoured private key file, and the
    /// id the detector must give it (from the public key, through OpenSSL
    /// where it can read it).
    struct Generated {
        armoured: String,
        id: String,
    }

    fn ssh_keygen(args: &[&str], passphrase: &str) -> Option<Generated> {
        // scripts/setup.sh installs ssh-keygen: without it these cases
        // would test nothing, so that is a failure, not a skip.
        assert!(
            Command::new("ssh-keygen").arg("-?").output().is_ok(),
            "ssh-keygen is not installed: run scripts/setup.sh"
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        let status = Command::new("ssh-keygen")
            .args(["-q", "-C", "test@dumpscrub", "-N", passphrase, "-f"])
            .arg(&path)
            .args(args)
            .status()
            .unwrap();
        assert!(status.success(), "ssh-keygen {args:?}");
        let armoured = std::fs::read_to_string(&path).unwrap();
        let id = public_id(&path.with_extension("pub"), args[1]);
        Some(Generated { armoured, id })
    }

    fn public_id(pub_path: &Path, kind: &str) -> String {
        if kind == "ed25519" {
            let line = std::fs::read_to_string(pub_path).unwrap();
            let blob = STANDARD.decode(line.split(' ').nth(1).unwrap()).unwrap();
            return format!("ed25519:{}", short_hash(&blob[blob.len() - 32..]));
        }
        let out = Command::new("ssh-keygen")
            .args(["-e", "-m", "PKCS8", "-f"])
            .arg(pub_path)
            .output()
            .unwrap();
        let pkey = PKey::public_key_from_pem(&out.stdout).unwrap();
        if kind == "rsa" {
            let rsa = pkey.rsa().unwrap();
            return format!(
                "rsa-{}:{}",
                rsa.n().num_bits(),
                short_hash(&rsa.n().to_vec())
            );
        }
        let ec = pkey.ec_key().unwrap();
        let mut ctx = BigNumContext::new().unwrap();
        let point = ec
            .public_key()
            .to_bytes(ec.group(), PointConversionForm::UNCOMPRESSED, &mut ctx)
            .unwrap();
        let name = match ec.group().degree() {
            256 => "p256",
            384 => "p384",
            _ => "p521",
        };
        format!("ec-{name}:{}", short_hash(&point))
    }

    /// The base64 body (from its first character to the last, padding
    /// included) and the binary container.
    fn body(armoured: &str) -> (&str, Vec<u8>) {
        let start = armoured.find("b3Bl").unwrap();
        let end = armoured.find("\n-----END").unwrap();
        let text = &armoured[start..end];
        let joined: String = text.split('\n').collect();
        (text, STANDARD.decode(joined).unwrap())
    }

    struct Expect {
        confidence: Confidence,
        validated: bool,
        id: Option<String>,
    }

    /// Embeds `payload`; the finding must cover exactly `span` of it,
    /// scanned whole and split through the key.
    fn check(payload: &[u8], span: Range<usize>, binary: bool, e: &Expect, seed: u64) {
        let (buf, at) = embed(payload, seed);
        let d = OpenSshDetector::new();
        let first = at + span.start;
        let mut scans = vec![("whole".to_string(), scan_whole(&d, &buf))];
        for cut in [
            first,
            first + 1,
            first + span.len() / 2,
            first + span.len() - 1,
        ] {
            scans.push((
                format!("split at +{}", cut - first),
                scan_split(&d, &buf, cut),
            ));
        }
        for (how, found) in scans {
            assert_eq!(found.len(), 1, "{how}: {} findings", found.len());
            let m = &found[0];
            assert_eq!(m.offset, BASE + (at + span.start) as u64, "{how}: offset");
            assert_eq!(m.len, span.len() as u64, "{how}: length");
            assert_eq!(m.rule, RULE);
            let form = if binary {
                "openssh-key-v1"
            } else {
                "openssh-key-v1-base64"
            };
            assert_eq!(m.form, form, "{how}");
            assert_eq!(
                m.encoding,
                if binary {
                    Encoding::Binary
                } else {
                    Encoding::Ascii
                }
            );
            assert_eq!(m.confidence, e.confidence, "{how} {form}");
            assert_eq!(m.validated, e.validated, "{how} {form}");
            assert_eq!(key_id(m), e.id, "{how} {form}: key id");
        }
    }

    /// Armoured, armour-less in a JSON string, and binary.
    fn check_every_form(g: &Generated, e: &Expect) {
        let armoured = g.armoured.as_bytes();
        let (text, binary) = body(&g.armoured);
        let start = g.armoured.find("b3Bl").unwrap();
        check(armoured, start..start + text.len(), false, e, 11);

        let single: String = text.split('\n').collect();
        let json = format!(
            "{{\"private_key\":\"{}\\n\",\"other\":1}}",
            text.replace('\n', "\\n")
        );
        let s = json.find("b3Bl").unwrap();
        check(
            json.as_bytes(),
            s..s + text.len() + text.matches('\n').count(),
            false,
            e,
            12,
        );
        check(single.as_bytes(), 0..single.len(), false, e, 13);

        check(&binary, 0..binary.len(), true, e, 14);
    }

    #[test]
    fn unencrypted_keys_of_every_type_are_validated() {
        for args in [
            &["-t", "rsa", "-b", "2048"][..],
            &["-t", "ed25519"],
            &["-t", "ecdsa", "-b", "256"],
            &["-t", "ecdsa", "-b", "384"],
            &["-t", "ecdsa", "-b", "521"],
        ] {
            let Some(g) = ssh_keygen(args, "") else {
                return;
            };
            let e = Expect {
                confidence: Confidence::High,
                validated: true,
                id: Some(g.id.clone()),
            };
            check_every_form(&g, &e);
        }
    }

    #[test]
    fn encrypted_keys_are_medium_and_unvalidated() {
        for args in [
            &["-t", "ed25519"][..],
            &["-t", "ecdsa", "-b", "384"],
            &["-t", "rsa", "-b", "2048"],
        ] {
            let Some(g) = ssh_keygen(args, "correct horse") else {
                return;
            };
            let e = Expect {
                confidence: Confidence::Medium,
                validated: false,
                id: None,
            };
            check_every_form(&g, &e);
        }
    }

    #[test]
    fn damaged_keys_are_not_validated() {
        let low = Expect {
            confidence: Confidence::Low,
            validated: false,
            id: None,
        };
        // One byte of p flipped.
        let Some(g) = ssh_keygen(&["-t", "rsa", "-b", "2048"], "") else {
            return;
        };
        let (_, mut binary) = body(&g.armoured);
        let key = ssh_key::PrivateKey::from_bytes(&binary).unwrap();
        let p = key.key_data().rsa().unwrap().private.p.as_bytes().to_vec();
        let i = binary.windows(p.len()).position(|w| w == p).unwrap() + p.len() / 2;
        binary[i] ^= 0x10;
        check(&binary, 0..binary.len(), true, &low, 21);
        let b64 = STANDARD.encode(&binary);
        check(b64.as_bytes(), 0..b64.len(), false, &low, 22);

        // One byte of the ECDSA scalar flipped: d·G no longer equals Q.
        let Some(g) = ssh_keygen(&["-t", "ecdsa", "-b", "256"], "") else {
            return;
        };
        let (_, mut binary) = body(&g.armoured);
        // The private section ends: d (mpint), comment, padding; this byte
        // lies in d, before the comment's length.
        let comment = b"test@dumpscrub";
        let c = binary
            .windows(comment.len())
            .rposition(|w| w == comment)
            .unwrap();
        binary[c - 4 - 10] ^= 0x01;
        check(&binary, 0..binary.len(), true, &low, 23);
    }

    #[test]
    fn a_container_whose_check_integers_differ_is_low() {
        let Some(g) = ssh_keygen(&["-t", "ed25519"], "") else {
            return;
        };
        let (_, mut binary) = body(&g.armoured);
        let c = container(&binary).unwrap();
        let at = c.private.as_ptr() as usize - binary.as_ptr() as usize;
        binary[at] ^= 0x01;
        let low = Expect {
            confidence: Confidence::Low,
            validated: false,
            id: None,
        };
        check(&binary, 0..binary.len(), true, &low, 24);
    }

    #[test]
    fn mutated_containers_never_panic() {
        let Some(g) = ssh_keygen(&["-t", "ecdsa", "-b", "256"], "") else {
            return;
        };
        let (text, binary) = body(&g.armoured);
        let d = OpenSshDetector::new();
        let mut rng = Rng::new(77);
        for i in 0..400 {
            let mut payload = if i % 2 == 0 {
                binary.clone()
            } else {
                text.as_bytes().to_vec()
            };
            for _ in 0..1 + i % 4 {
                let at = rng.next_u64() as usize % payload.len();
                payload[at] = rng.next_u64() as u8;
            }
            payload.truncate(payload.len() - (rng.next_u64() as usize % 8) * (i % 3));
            let (buf, _) = embed(&payload, i as u64);
            let _ = scan_whole(&d, &buf);
        }
    }

    #[test]
    fn random_bytes_give_no_finding() {
        let mut buf = vec![0u8; 16 << 20];
        Rng::new(0x55).fill(&mut buf);
        assert!(scan_whole(&OpenSshDetector::new(), &buf).is_empty());
    }

    /// `cargo test --release --lib detect::openssh -- --ignored --nocapture`
    #[test]
    #[ignore]
    fn throughput() {
        bench("OpenSshDetector", &OpenSshDetector::new());
    }
}
