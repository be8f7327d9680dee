//! Fingerprints: a stable identifier for a secret value that lets two
//! reports be correlated without revealing the value.
//!
//! A fingerprint is HMAC-SHA256 over the secret's characters (UTF-16 is
//! narrowed first, so the same token has the same fingerprint in either
//! encoding). With `--fingerprint-key` the key is the user's, so a short
//! secret cannot be recovered by hashing guesses; without it a fixed public
//! key is used and the report says so.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::detect::Encoding;

const PUBLIC_KEY: &[u8] = b"dumpscrub fingerprint v1";

#[derive(Clone)]
pub struct Fingerprinter {
    key: Vec<u8>,
    keyed: bool,
}

impl Fingerprinter {
    pub fn new(user_key: Option<&[u8]>) -> Self {
        match user_key {
            Some(k) => Fingerprinter {
                key: k.to_vec(),
                keyed: true,
            },
            None => Fingerprinter {
                key: PUBLIC_KEY.to_vec(),
                keyed: false,
            },
        }
    }

    pub fn keyed(&self) -> bool {
        self.keyed
    }

    pub fn fingerprint(&self, bytes: &[u8], encoding: Encoding) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length");
        match encoding {
            Encoding::Ascii | Encoding::Binary => mac.update(bytes),
            Encoding::Utf16le => {
                let narrow: Vec<u8> = bytes.iter().step_by(2).copied().collect();
                mac.update(&narrow);
            }
        }
        let tag = mac.finalize().into_bytes();
        let hex: String = tag[..16].iter().map(|b| format!("{b:02x}")).collect();
        format!("hmac-sha256:{hex}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_value_same_fingerprint_in_both_encodings_and_key_changes_it() {
        let f = Fingerprinter::new(None);
        let a = f.fingerprint(b"hunter2", Encoding::Ascii);
        let w: Vec<u8> = b"hunter2".iter().flat_map(|&b| [b, 0]).collect();
        assert_eq!(a, f.fingerprint(&w, Encoding::Utf16le));
        let k = Fingerprinter::new(Some(b"site key"));
        assert_ne!(a, k.fingerprint(b"hunter2", Encoding::Ascii));
        assert!(!a.contains("hunter2"));
    }
}
