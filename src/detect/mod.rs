//! Detectors: each finds candidate secrets in one buffer of the dump and
//! reports them as [`RawMatch`]es in file coordinates. They never keep or
//! return the secret bytes themselves: later stages read them back from the
//! mapping when they need a fingerprint, so a secret cannot leak through a
//! detector's output.

pub mod text;

use serde::Serialize;

/// How the secret's characters are stored in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Encoding {
    /// ASCII / UTF-8, one byte per character.
    Ascii,
    /// UTF-16 little-endian, two bytes per character (Windows strings).
    Utf16le,
}

impl Encoding {
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Ascii => "ascii",
            Encoding::Utf16le => "utf16le",
        }
    }
}

/// A confirmed match, in file coordinates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RawMatch {
    /// File offset of the first byte of the secret.
    pub offset: u64,
    /// Length of the secret in file bytes (two per character in UTF-16LE).
    pub len: u64,
    /// Index of the rule in the detector's rule list.
    pub rule: u32,
    pub encoding: Encoding,
    /// Index of the anchor literal that triggered the match (for previews).
    pub anchor: u32,
}
