//! Known-key and known-secret modes: the user says what must not leave,
//! and dumpscrub looks for exactly that.
//!
//! # Why
//!
//! The incident this project exists for was a production signing key whose
//! *public* half everybody had: it was in the certificate, in the JWKS the
//! service published, in every client's trust store. Generic detectors look
//! for the shapes private keys take (DER, blobs, big-number structures) and
//! can miss a shape they do not know. Known-key mode turns the problem round:
//! given only the public keys that matter ([`load_known_keys`]: PEM SPKI,
//! PKCS#1, X.509 certificates, JWKS), it finds each public value in the dump
//! and tests the memory around it for the matching private value, with an
//! exact check (an RSA prime must divide n; an EC scalar d must give d·G equal
//! to the public point). A key found this way is a validated
//! [`KeyMatch`](crate::detect::KeyMatch) carrying the whole key, so the
//! sweep ([`crate::sweep`]) then removes d, p, q and the CRT values wherever
//! else they lie, in every byte order and encoding.
//!
//! Known-secret mode ([`load_known_secrets`]) does the same for values that
//! have no mathematics to check: passwords, API tokens, HMAC keys. Each is
//! looked for as raw bytes, UTF-16LE, hex and base64, including the three
//! shapes a value takes when it sits inside a longer base64 stream.
//!
//! # What is and is not redacted
//!
//! Public values (an RSA modulus, an EC point) are only anchors: they are
//! public, so they are never reported or zeroed. What is zeroed is the
//! private value found next to them and, through the sweep, its copies.
//!
//! # Limits
//!
//! * The private value must lie near a copy of the public one: within
//!   ±64 KiB (RSA) or ±16 KiB (EC) in the same scan segment (memory that is
//!   contiguous in the file and in the address space). A library that keeps
//!   the public key only in a form we do not search for (an EC point in
//!   Montgomery form, a Java `BigInteger` with big-endian word order) gives
//!   no anchor; the structural detectors are the defence there.
//! * Candidates are read at 8-byte-aligned virtual addresses (file offsets
//!   where a range has no address), plus every offset directly before and
//!   after the anchor, where packed blobs (CNG, CAPI) put the private parts.
//!   A factor stored at an unaligned address far from its modulus is missed.
//! * RSA factors are tested at n's half length ±8 bits; multi-prime RSA and
//!   very unbalanced factors are missed. EC keys must be on P-256, P-384,
//!   P-521 or secp256k1; Ed25519, X25519 and symmetric JWKs are skipped with
//!   a warning.
//! * Known secrets are matched exactly; a value that was transformed (hashed,
//!   encrypted, split across non-contiguous memory) is not found. Short
//!   values (under 16 bytes) make the search slower.

mod comb;
mod keys;
mod load;
mod sample;
mod secrets;
#[cfg(test)]
mod tests;

pub use keys::{
    load_known_keys, KnownKeys, DESCRIPTION as KNOWN_KEY_DESCRIPTION, RULE as KNOWN_KEY_RULE,
};
pub use secrets::{
    load_known_secrets, KnownSecrets, DESCRIPTION as KNOWN_SECRET_DESCRIPTION,
    RULE as KNOWN_SECRET_RULE,
};
