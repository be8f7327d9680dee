//! Reading public keys from the files a user has at hand: PEM (SPKI,
//! PKCS#1, certificates, several blocks per file), a single DER certificate
//! or public key, and JWKS / JWK JSON documents.
//!
//! Two kinds of trouble are told apart. An entry of a type known-key mode
//! cannot use (an `oct` JWK, an Ed25519 certificate, a private-key PEM
//! block) is skipped with a warning: key files often mix them. An entry of
//! a supported type that is damaged (bad base64, a point off its curve) is
//! an error, because skipping it would silently leave that key unprotected.
//! A file that yields no usable key at all is an error too.

use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;
use der::asn1::ObjectIdentifier;
use der::Decode;
use num_bigint::BigUint;
use pkcs1::RsaPublicKeyOwned;
use serde_json::Value;
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::Certificate;

use crate::keys::{short_hash, Curve};

/// Below this an "RSA key" protects nothing and its modulus is too short to
/// be a unique anchor; `RsaKey::from_factor` refuses such keys as well.
const MIN_RSA_BITS: u64 = 512;

const OID_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const OID_RSA_PSS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.10");
const OID_EC: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");

/// RFC 7515 says base64url without padding; some producers pad anyway.
const B64URL: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// A public key, normalised.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum PublicKey {
    Rsa {
        n: BigUint,
        e: BigUint,
    },
    /// `point` is the uncompressed SEC1 encoding, `04 ‖ X ‖ Y`.
    Ec {
        curve: Curve,
        point: Vec<u8>,
    },
}

impl PublicKey {
    /// The id [`crate::keys::KeyMaterial::id`] gives the private key, so a
    /// report names a key the same way whichever detector found it.
    pub(crate) fn id(&self) -> String {
        match self {
            PublicKey::Rsa { n, .. } => {
                format!("rsa-{}:{}", n.bits(), short_hash(&n.to_bytes_be()))
            }
            PublicKey::Ec { curve, point } => format!("ec-{}:{}", curve.name(), short_hash(point)),
        }
    }
}

/// A key and where it came from (`keys.json: keys[2]`), for messages.
pub(crate) struct Loaded {
    pub key: PublicKey,
    pub source: String,
}

/// What one entry of a file turned out to be.
enum Entry {
    Key(PublicKey),
    Unsupported(String),
}

/// Reads every key of one file, appending to `keys` and `warnings`.
pub(crate) fn load_file(
    path: &Path,
    keys: &mut Vec<Loaded>,
    warnings: &mut Vec<String>,
) -> Result<()> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).with_context(|| format!("{name}: cannot read"))?;
    let mut entries: Vec<(String, Entry)> = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    let text = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(&bytes);
    let first = text.iter().find(|b| !b.is_ascii_whitespace()).copied();
    if first == Some(b'{') {
        jwks(text, &mut entries, &mut notes).map_err(|e| anyhow!("{name}: {e:#}"))?;
    } else if find(text, b"-----BEGIN ").is_some() {
        pem(text, &mut entries).map_err(|e| anyhow!("{name}: {e:#}"))?;
    } else if first == Some(0x30) {
        entries.push((
            "DER".into(),
            der_document(&bytes).map_err(|e| anyhow!("{name}: {e:#}"))?,
        ));
    } else if bytes.is_empty() {
        bail!("{name}: file is empty");
    } else {
        bail!(
            "{name}: not a PEM file, a DER certificate or public key, or a JWKS/JWK JSON document"
        );
    }
    let mut found = 0;
    let mut skipped = Vec::new();
    for (what, entry) in entries {
        match entry {
            Entry::Key(key) => {
                found += 1;
                keys.push(Loaded {
                    key,
                    source: format!("{name}: {what}"),
                });
            }
            Entry::Unsupported(why) => skipped.push(format!("{what}: {why}")),
        }
    }
    if found == 0 {
        if skipped.is_empty() {
            bail!("{name}: no public key in the file");
        }
        bail!("{name}: no usable public key ({})", skipped.join("; "));
    }
    warnings.extend(
        skipped
            .into_iter()
            .chain(notes)
            .map(|w| format!("{name}: {w}")),
    );
    Ok(())
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

// ---------------------------------------------------------------------------
// PEM and DER
// ---------------------------------------------------------------------------

/// Every PEM block of a file, in order. Text around the blocks (as
/// `openssl x509 -text` writes) is ignored; the blocks themselves are
/// decoded strictly by `pem-rfc7468`.
fn pem(text: &[u8], out: &mut Vec<(String, Entry)>) -> Result<()> {
    let mut pos = 0;
    let mut index = 0;
    while let Some(begin) = find(&text[pos..], b"-----BEGIN ").map(|b| pos + b) {
        index += 1;
        let what = format!("PEM block {index}");
        let end_marker = find(&text[begin..], b"-----END ")
            .map(|e| begin + e)
            .ok_or_else(|| anyhow!("{what}: no -----END line"))?;
        let line_end = text[end_marker..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(text.len(), |e| end_marker + e);
        let block = &text[begin..line_end];
        let mut decoder = pem_rfc7468::Decoder::new_detect_wrap(block)
            .map_err(|e| anyhow!("{what}: not valid PEM: {e}"))?;
        let label = decoder.type_label().to_string();
        let mut der = Vec::new();
        decoder
            .decode_to_end(&mut der)
            .map_err(|e| anyhow!("{what} ({label}): not valid PEM: {e}"))?;
        let what = format!("{what} ({label})");
        let entry: Result<Entry> = match label.as_str() {
            "PUBLIC KEY" => SubjectPublicKeyInfoOwned::from_der(&der)
                .map_err(|e| anyhow!("not a valid SubjectPublicKeyInfo: {e}"))
                .and_then(|spki| spki_key(&spki)),
            "RSA PUBLIC KEY" => RsaPublicKeyOwned::from_der(&der)
                .map_err(|e| anyhow!("not a valid PKCS#1 RSA public key: {e}"))
                .and_then(|k| {
                    rsa_key(k.modulus.as_bytes(), k.public_exponent.as_bytes()).map(Entry::Key)
                }),
            "CERTIFICATE" | "X509 CERTIFICATE" => Certificate::from_der(&der)
                .map_err(|e| anyhow!("not a valid X.509 certificate: {e}"))
                .and_then(|c| spki_key(c.tbs_certificate().subject_public_key_info())),
            l if l.contains("PRIVATE KEY") => Ok(Entry::Unsupported(
                "a private key, not used: give its public key or certificate".into(),
            )),
            _ => Ok(Entry::Unsupported("not a public key or certificate".into())),
        };
        let entry = entry.map_err(|e| anyhow!("{what}: {e:#}"))?;
        out.push((what, entry));
        pos = line_end;
    }
    Ok(())
}

/// A whole file of DER: a certificate, an SPKI or a PKCS#1 public key.
fn der_document(der: &[u8]) -> Result<Entry> {
    if let Ok(cert) = Certificate::from_der(der) {
        return spki_key(cert.tbs_certificate().subject_public_key_info());
    }
    if let Ok(spki) = SubjectPublicKeyInfoOwned::from_der(der) {
        return spki_key(&spki);
    }
    if let Ok(key) = RsaPublicKeyOwned::from_der(der) {
        return rsa_key(key.modulus.as_bytes(), key.public_exponent.as_bytes()).map(Entry::Key);
    }
    bail!("DER data is not an X.509 certificate, a SubjectPublicKeyInfo or a PKCS#1 RSA public key")
}

fn spki_key(spki: &SubjectPublicKeyInfoOwned) -> Result<Entry> {
    let oid = spki.algorithm.oid;
    let key_bytes = spki
        .subject_public_key
        .as_bytes()
        .ok_or_else(|| anyhow!("public key BIT STRING has unused bits"))?;
    if oid == OID_RSA || oid == OID_RSA_PSS {
        let key =
            RsaPublicKeyOwned::from_der(key_bytes).map_err(|e| anyhow!("RSA public key: {e}"))?;
        return rsa_key(key.modulus.as_bytes(), key.public_exponent.as_bytes()).map(Entry::Key);
    }
    if oid == OID_EC {
        let curve_oid = spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
        let Some(curve_oid) = curve_oid else {
            return Ok(Entry::Unsupported("EC key without a named curve".into()));
        };
        let Some(curve) = Curve::from_oid(&curve_oid.to_string()) else {
            return Ok(Entry::Unsupported(format!(
                "unsupported EC curve {curve_oid}"
            )));
        };
        let point = uncompressed(curve, key_bytes)
            .ok_or_else(|| anyhow!("EC public key is not a point on {}", curve.name()))?;
        return Ok(Entry::Key(PublicKey::Ec { curve, point }));
    }
    Ok(Entry::Unsupported(format!(
        "unsupported key algorithm {oid}"
    )))
}

fn rsa_key(n: &[u8], e: &[u8]) -> Result<PublicKey> {
    let n = BigUint::from_bytes_be(n);
    let e = BigUint::from_bytes_be(e);
    if n.bits() < MIN_RSA_BITS {
        bail!(
            "RSA modulus of {} bits is too small (at least {MIN_RSA_BITS})",
            n.bits()
        );
    }
    if !n.bit(0) {
        bail!("RSA modulus is even");
    }
    if e <= BigUint::from(1u32) || e >= n {
        bail!("RSA public exponent is out of range");
    }
    Ok(PublicKey::Rsa { n, e })
}

/// The uncompressed SEC1 encoding of a point given in any SEC1 form (or
/// as bare `X ‖ Y`), or `None` if it is not on the curve.
pub(crate) fn uncompressed(curve: Curve, sec1: &[u8]) -> Option<Vec<u8>> {
    fn point<C>(bytes: &[u8]) -> Option<Vec<u8>>
    where
        C: elliptic_curve::CurveArithmetic,
        elliptic_curve::AffinePoint<C>:
            elliptic_curve::sec1::FromSec1Point<C> + elliptic_curve::sec1::ToSec1Point<C>,
        elliptic_curve::FieldBytesSize<C>: elliptic_curve::sec1::ModulusSize,
    {
        use elliptic_curve::sec1::ToSec1Point;
        let pk = elliptic_curve::PublicKey::<C>::from_sec1_bytes(bytes).ok()?;
        Some(pk.to_sec1_point(false).as_bytes().to_vec())
    }
    let owned;
    let bytes = if sec1.len() == 2 * curve.field_len() {
        owned = [&[4u8][..], sec1].concat();
        &owned[..]
    } else {
        sec1
    };
    match curve {
        Curve::P256 => point::<p256::NistP256>(bytes),
        Curve::P384 => point::<p384::NistP384>(bytes),
        Curve::P521 => point::<p521::NistP521>(bytes),
        Curve::Secp256k1 => point::<k256::Secp256k1>(bytes),
    }
}

// ---------------------------------------------------------------------------
// JWKS / JWK
// ---------------------------------------------------------------------------

/// JWK members that only a private key has (RFC 7518 section 6).
const PRIVATE_MEMBERS: &[&str] = &["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

fn jwks(text: &[u8], out: &mut Vec<(String, Entry)>, notes: &mut Vec<String>) -> Result<()> {
    let doc: Value = serde_json::from_slice(text).map_err(|e| anyhow!("not valid JSON: {e}"))?;
    let Value::Object(obj) = &doc else {
        bail!("JSON is not an object");
    };
    if let Some(keys) = obj.get("keys") {
        let Value::Array(keys) = keys else {
            bail!("JWKS \"keys\" is not an array");
        };
        if keys.is_empty() {
            bail!("JWKS has no keys");
        }
        for (i, k) in keys.iter().enumerate() {
            let what = jwk_name(&format!("keys[{i}]"), k);
            let entry = jwk(k).map_err(|e| anyhow!("{what}: {e:#}"))?;
            private_note(&what, k, &entry, notes);
            out.push((what, entry));
        }
        Ok(())
    } else if obj.contains_key("kty") {
        let what = jwk_name("JWK", &doc);
        let entry = jwk(&doc).map_err(|e| anyhow!("{what}: {e:#}"))?;
        private_note(&what, &doc, &entry, notes);
        out.push((what, entry));
        Ok(())
    } else {
        bail!("JSON is neither a JWKS (no \"keys\" array) nor a JWK (no \"kty\")")
    }
}

/// A private JWK handed to a tool that only needs the public half is worth
/// telling the user about: the file itself is then a secret.
fn private_note(what: &str, k: &Value, entry: &Entry, notes: &mut Vec<String>) {
    if matches!(entry, Entry::Key(_)) && PRIVATE_MEMBERS.iter().any(|m| k.get(m).is_some()) {
        notes.push(format!(
            "{what}: holds private key members; only its public part is used (the file itself is secret)"
        ));
    }
}

/// `keys[2]`, or `keys[2] (kid "signing-2023")`: a kid is public and is
/// how a user recognises a key.
fn jwk_name(base: &str, k: &Value) -> String {
    match k.get("kid").and_then(Value::as_str) {
        Some(kid) if kid.len() <= 100 && !kid.chars().any(char::is_control) => {
            format!("{base} (kid {kid:?})")
        }
        _ => base.to_string(),
    }
}

fn jwk(k: &Value) -> Result<Entry> {
    let Value::Object(obj) = k else {
        bail!("not a JSON object");
    };
    let Some(kty) = obj.get("kty") else {
        bail!("no \"kty\"");
    };
    let Some(kty) = kty.as_str() else {
        bail!("\"kty\" is not a string");
    };
    let member = |name: &str| -> Result<Vec<u8>> {
        let v = obj.get(name).ok_or_else(|| anyhow!("no \"{name}\""))?;
        let s = v
            .as_str()
            .ok_or_else(|| anyhow!("\"{name}\" is not a string"))?;
        B64URL
            .decode(s)
            .map_err(|_| anyhow!("\"{name}\" is not valid base64url"))
    };
    match kty {
        "RSA" => Ok(Entry::Key(rsa_key(&member("n")?, &member("e")?)?)),
        "EC" => {
            let crv = obj
                .get("crv")
                .and_then(Value::as_str)
                .ok_or_else(|| anyhow!("no \"crv\""))?;
            let curve = match crv {
                "P-256" => Curve::P256,
                "P-384" => Curve::P384,
                "P-521" => Curve::P521,
                "secp256k1" | "P-256K" => Curve::Secp256k1,
                other => {
                    return Ok(Entry::Unsupported(format!(
                        "unsupported EC curve {other:?}"
                    )))
                }
            };
            let len = curve.field_len();
            let (x, y) = (member("x")?, member("y")?);
            // RFC 7518 wants full-length coordinates; tolerate producers that
            // strip leading zeros, refuse anything longer.
            if x.len() > len || y.len() > len {
                bail!("coordinates are longer than {len} bytes for {crv}");
            }
            let mut point = vec![4u8];
            for c in [&x, &y] {
                point.extend(std::iter::repeat_n(0, len - c.len()));
                point.extend_from_slice(c);
            }
            let point =
                uncompressed(curve, &point).ok_or_else(|| anyhow!("point is not on {crv}"))?;
            Ok(Entry::Key(PublicKey::Ec { curve, point }))
        }
        "OKP" => Ok(Entry::Unsupported(
            "unsupported kty \"OKP\" (Ed25519/X25519 keys are not searched by known-key mode)"
                .into(),
        )),
        other => Ok(Entry::Unsupported(format!("unsupported kty {other:?}"))),
    }
}
