//! Detectors: each finds candidate secrets in one buffer of the dump and
//! reports them as [`RawMatch`]es in file coordinates. They never keep or
//! return the secret bytes themselves: later stages read them back from the
//! mapping when they need a fingerprint, so a secret cannot leak through a
//! detector's output.

pub mod aes;
pub mod bignum;
pub mod blobs;
pub mod der;
pub mod entropy;
pub mod literals;
pub mod openssh;
mod packing;
pub mod text;
pub mod view;

use std::ops::Range;
use std::sync::Arc;

use serde::Serialize;

use crate::keys::KeyMaterial;
use crate::layout::Layout;
use crate::rules::Confidence;
use literals::{Client, ClientHits, OwnLiterals};
use view::{ByteClass, Hits, TextView};

/// How the secret's characters are stored in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Encoding {
    /// ASCII / UTF-8, one byte per character.
    Ascii,
    /// UTF-16 little-endian, two bytes per character (Windows strings).
    Utf16le,
    /// Binary data: key structures, big numbers, key schedules.
    Binary,
}

impl Encoding {
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Ascii => "ascii",
            Encoding::Utf16le => "utf16le",
            Encoding::Binary => "binary",
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

/// A match of a binary (key-material) detector, in file coordinates.
#[derive(Clone)]
pub struct KeyMatch {
    /// File offset and length of the bytes to redact.
    pub offset: u64,
    pub len: u64,
    /// Stable rule id, e.g. `rsa-private-key-der`.
    pub rule: &'static str,
    pub description: &'static str,
    /// How the key was stored, e.g. `pkcs1-der`, `pkcs8-der-base64`,
    /// `cng-rsa-full-private-blob`, `aes-128-schedule`.
    pub form: String,
    /// How the matched bytes are stored: binary, or text (hex, base64).
    pub encoding: Encoding,
    pub confidence: Confidence,
    /// True only when the mathematics of the key was checked and holds.
    pub validated: bool,
    /// The key itself, for validated keys: the sweep derives every secret
    /// part from it. Never printed.
    pub key: Option<Arc<KeyMaterial>>,
    /// For swept copies: the id of the key this copy belongs to.
    pub key_id: Option<String>,
}

impl KeyMatch {
    pub fn sort_key(&self) -> (u64, u64, &'static str, &str) {
        (self.offset, self.len, self.rule, &self.form)
    }
}

/// A detector that looks at one chunk of the dump at a time.
pub trait ChunkDetector: Send + Sync {
    /// The longest span one match can cover, in bytes; sets the overlap
    /// between chunks.
    fn max_len(&self) -> usize;
    /// Scans `buf`, the file bytes from offset `base`, and appends matches
    /// that start inside `own` (file offsets).
    fn scan(&self, buf: &[u8], base: u64, own: Range<u64>, out: &mut Vec<KeyMatch>);

    /// As [`scan`](Self::scan), told how file offsets relate to virtual
    /// addresses in this chunk: `phase` is (address - file offset) mod 8
    /// for memory, 0 elsewhere. Detectors that look at aligned words (data
    /// structures are aligned in the process, not in the dump file, where
    /// a region may start at any offset) override this.
    fn scan_phased(
        &self,
        buf: &[u8],
        base: u64,
        own: Range<u64>,
        phase: u64,
        out: &mut Vec<KeyMatch>,
    ) {
        let _ = phase;
        self.scan(buf, base, own, out)
    }

    /// Whether this detector can find anything in bytes that are all
    /// zero. Chunks of nothing but zeros are skipped unless one can.
    fn finds_in_zeros(&self) -> bool {
        false
    }

    /// What this detector reads from the chunk's [`TextView`]: the
    /// literals it searches, and the class of bytes it wants runs of.
    /// Detectors that read raw bytes need nothing.
    fn text_needs(&self) -> TextNeeds {
        TextNeeds::default()
    }

    /// As [`scan_phased`](Self::scan_phased), with the chunk's text view
    /// (built for every detector's [`text_needs`](Self::text_needs)) and
    /// the hits of this detector's literals in it; `view.buf` is the chunk.
    fn scan_view(
        &self,
        view: &TextView<'_>,
        hits: Hits<'_>,
        base: u64,
        own: Range<u64>,
        phase: u64,
        out: &mut Vec<KeyMatch>,
    ) {
        let _ = hits;
        self.scan_phased(view.buf, base, own, phase, out)
    }
}

/// A chunk detector that reads the bytes around the places where its
/// literals start (DER, key blobs, OpenSSH). In a run the one literal
/// search finds those places; alone, its own literals do.
pub trait AnchoredDetector: Send + Sync {
    /// [`ChunkDetector::max_len`].
    fn longest_match(&self) -> usize;
    fn literals(&self) -> &OwnLiterals;
    /// As [`ChunkDetector::scan`], given every place in `buf` where one of
    /// [`literals`](Self::literals) starts.
    fn scan_hits(
        &self,
        buf: &[u8],
        hits: ClientHits<'_>,
        base: u64,
        own: Range<u64>,
        out: &mut Vec<KeyMatch>,
    );
}

impl<T: AnchoredDetector> ChunkDetector for T {
    fn max_len(&self) -> usize {
        self.longest_match()
    }

    fn scan(&self, buf: &[u8], base: u64, own: Range<u64>, out: &mut Vec<KeyMatch>) {
        self.literals()
            .scan_alone(buf, |hits| self.scan_hits(buf, hits, base, own, out));
    }

    fn text_needs(&self) -> TextNeeds {
        TextNeeds {
            literals: self.literals().client.clone(),
            token: None,
        }
    }

    fn scan_view(
        &self,
        view: &TextView<'_>,
        hits: Hits<'_>,
        base: u64,
        own: Range<u64>,
        _phase: u64,
        out: &mut Vec<KeyMatch>,
    ) {
        self.scan_hits(view.buf, hits.chunk, base, own, out);
    }
}

/// See [`ChunkDetector::text_needs`].
#[derive(Default)]
pub struct TextNeeds {
    /// Searched once per chunk with every other detector's literals.
    pub literals: Client,
    pub token: Option<ByteClass>,
}

/// Whether the CPU runs AVX2, for the detectors' hand-vectorised and
/// AVX2-compiled loops (std caches the answer).
pub(crate) fn has_avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// A detector that needs the whole dump at once, e.g. to follow pointers
/// through the dump's own address map.
pub trait DumpDetector: Send + Sync {
    /// Starts this detector's pass over `data`, whose chunk scan will run
    /// `chunks` (in this order; their owned ranges partition the file).
    fn start<'a>(
        &'a self,
        data: &'a [u8],
        layout: &'a Layout,
        chunks: &[crate::scan::plan::Chunk],
    ) -> Box<dyn DumpPass + 'a>;

    /// The whole pass on its own, chunk after chunk (tests, benches).
    fn scan(&self, data: &[u8], layout: &Layout, out: &mut Vec<KeyMatch>) {
        use crate::scan::plan;
        use rayon::prelude::*;
        let chunks = plan::chunks(&plan::segments(layout), plan::CHUNK_SIZE, 0);
        let pass = self.start(data, layout, &chunks);
        (0..chunks.len())
            .into_par_iter()
            .for_each(|k| pass.chunk(k));
        pass.finish(out);
    }
}

/// One dump detector's pass over one dump. The chunk scan calls
/// [`DumpPass::chunk`] for each of its chunks while their bytes are in
/// cache (a pass of its own over a dump larger than the cache reads it
/// from memory again), in any order and from any thread, then
/// [`DumpPass::finish`] once.
pub trait DumpPass: Send + Sync {
    /// Work on the bytes chunk `index` owns.
    fn chunk(&self, _index: usize) {}
    fn finish(self: Box<Self>, out: &mut Vec<KeyMatch>);
}

/// A pass with nothing to do chunk by chunk: all of it in `finish`.
pub struct WholeDump<F>(pub F);

impl<F: FnOnce(&mut Vec<KeyMatch>) + Send + Sync> DumpPass for WholeDump<F> {
    fn finish(self: Box<Self>, out: &mut Vec<KeyMatch>) {
        (self.0)(out)
    }
}
