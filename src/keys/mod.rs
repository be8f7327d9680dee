//! Private-key material: the mathematics that turns a structural match
//! into a *validated* key, the public identity a report names it by, and
//! the secret parts the sweep removes everywhere else in the dump.
//!
//! A key is only ever `validated` when the numbers agree: RSA p·q = n and
//! d·e ≡ 1 (mod λ(n)); an EC scalar in range whose d·G equals the public
//! point where one is present; an AES schedule whose round-key relations
//! hold. Everything here works on values already copied out of the
//! mapping; secret values are zeroed when dropped.

pub mod aes;
pub mod ec;
pub mod rsa;

use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::fingerprint::Fingerprinter;

pub use ec::Curve;
pub use rsa::RsaKey;

/// A private key recovered from the dump.
pub enum KeyMaterial {
    Rsa(RsaKey),
    /// An EC private scalar (big-endian, the curve's field length) and its
    /// public point (SEC1 uncompressed), derived or checked.
    Ec {
        curve: Curve,
        d: Zeroizing<Vec<u8>>,
        public: Vec<u8>,
    },
    /// An Ed25519 seed and its public key.
    Ed25519 {
        seed: Zeroizing<[u8; 32]>,
        public: [u8; 32],
    },
    /// An X25519 secret and its public key.
    X25519 {
        secret: Zeroizing<[u8; 32]>,
        public: [u8; 32],
    },
    /// An AES key (16, 24 or 32 bytes).
    Aes {
        key: Zeroizing<Vec<u8>>,
    },
}

/// One secret part of a key, as a big-endian byte string (or the raw bytes,
/// for keys that are not numbers).
pub struct SecretPart {
    pub name: &'static str,
    pub bytes: Zeroizing<Vec<u8>>,
    /// True for big numbers, whose little-endian and limb forms are swept
    /// too; false for byte strings (AES keys, Ed25519 seeds) kept as is.
    pub numeric: bool,
}

impl KeyMaterial {
    /// A stable identifier that names the key without revealing it: the
    /// algorithm, its size, and a hash of the *public* part. AES has no
    /// public part, so its id is a keyed fingerprint.
    pub fn id(&self, fp: &Fingerprinter) -> String {
        match self {
            KeyMaterial::Rsa(k) => format!("rsa-{}:{}", k.bits(), short_hash(&k.n.to_bytes_be())),
            KeyMaterial::Ec { curve, public, .. } => {
                format!("ec-{}:{}", curve.name(), short_hash(public))
            }
            KeyMaterial::Ed25519 { public, .. } => format!("ed25519:{}", short_hash(public)),
            KeyMaterial::X25519 { public, .. } => format!("x25519:{}", short_hash(public)),
            KeyMaterial::Aes { key } => {
                let f = fp.fingerprint(key, crate::detect::Encoding::Ascii);
                format!(
                    "aes-{}:{}",
                    key.len() * 8,
                    f.trim_start_matches("hmac-sha256:")
                )
            }
        }
    }

    /// Every secret part the sweep must remove.
    pub fn secret_parts(&self) -> Vec<SecretPart> {
        let num = |name, v: &num_bigint::BigUint| SecretPart {
            name,
            bytes: Zeroizing::new(v.to_bytes_be()),
            numeric: true,
        };
        let raw = |name, v: &[u8]| SecretPart {
            name,
            bytes: Zeroizing::new(v.to_vec()),
            numeric: false,
        };
        match self {
            KeyMaterial::Rsa(k) => {
                let mut parts = vec![
                    num("rsa-d", &k.d),
                    num("rsa-p", &k.p),
                    num("rsa-q", &k.q),
                    num("rsa-dp", &k.dp),
                    num("rsa-dq", &k.dq),
                    num("rsa-qinv", &k.qinv),
                ];
                // Libraries disagree on whether d is reduced mod φ(n) or
                // λ(n), and on which prime is p; sweep every form.
                for (name, v) in k.alternate_forms() {
                    parts.push(num(name, &v));
                }
                parts
            }
            KeyMaterial::Ec { d, .. } => vec![SecretPart {
                name: "ec-d",
                bytes: d.clone(),
                numeric: true,
            }],
            KeyMaterial::Ed25519 { seed, .. } => vec![raw("ed25519-seed", &seed[..])],
            KeyMaterial::X25519 { secret, .. } => vec![raw("x25519-secret", &secret[..])],
            KeyMaterial::Aes { key } => {
                let mut parts = vec![raw("aes-key", key)];
                if let Some(s) = aes::expand(key) {
                    parts.push(raw("aes-schedule", &s.encryption_bytes()));
                    parts.push(raw("aes-decryption-schedule", &s.decryption_bytes()));
                    // OpenSSL's portable C code keeps round keys as host-order
                    // words: on little-endian CPUs each word's bytes reversed.
                    parts.push(raw(
                        "aes-schedule-wordswapped",
                        &s.encryption_bytes_wordswapped(),
                    ));
                    parts.push(raw(
                        "aes-decryption-schedule-wordswapped",
                        &s.decryption_bytes_wordswapped(),
                    ));
                }
                parts
            }
        }
    }
}

/// First 16 hex digits of SHA-256: enough to tell keys apart in a report.
pub fn short_hash(bytes: &[u8]) -> String {
    Sha256::digest(bytes)[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
