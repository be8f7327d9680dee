//! A chunk's text, found once for every text detector.
//!
//! One vector pass over the chunk classifies every byte (anchor alphabet,
//! token alphabet, zero) into bit masks, 64 bytes to a word. From them:
//!
//! - the runs of UTF-16LE code units (anchor byte, zero byte) long enough
//!   to hold the shortest anchor, at both byte alignments, narrowed to one
//!   byte per unit into one compact buffer. Detectors search it with their
//!   ASCII literals: one search of a small buffer replaces a search of the
//!   whole chunk for the UTF-16LE form of every literal at each alignment.
//!   It finds exactly those hits: a UTF-16LE occurrence of a literal is a
//!   run of such units (all its bytes are in the alphabet), runs are
//!   separated in the buffer by a byte no literal contains, and each hit
//!   maps back to its chunk position. Rules are confirmed on the chunk.
//! - the runs of token bytes (ASCII or UTF-16LE) of a given length, for
//!   the entropy detector, with a few word operations per 64 bytes.
//! - the hits of every detector's literals, in the chunk and in the
//!   compact buffer, from one search (see [`super::literals`]); each
//!   detector reads its own through [`TextView::hits`].
//!
//! Literals are searched in the chunk itself, less its all-zero 64-byte
//! blocks (read off the zero mask): runs of anchor bytes
//! (75 distinct bytes with the built-in rules) are too frequent in random
//! and compressed data for a compact copy of them to pay (measured: a third
//! of random bytes, in 2 million pieces per 64 MiB). But the searcher of
//! the longest text literals (6 bytes and more with the built-in ones)
//! searches only the blocks where a run of that many anchor bytes starts,
//! read off the anchor mask: 1% of a Python process's core, 23% of the
//! benchmark dump (callgrind: the scan's instructions less SHA-256's fell
//! 9% and 3%).

use std::ops::Range;
use std::sync::Arc;

use anyhow::Result;

use super::literals::{Client, ClientHits, Hit, LiteralSet};

/// A set of byte values, tested with two 16-entry nibble tables so that 32
/// bytes are classified at once with AVX2 byte shuffles. Each of the 8
/// bucket bits stands for a high nibble modulo 8, and high nibbles with no
/// member map to no bucket: sets of ASCII bytes are exact; a set with
/// members whose high nibbles differ by 8 may grow to a superset (still
/// correct here: a run of a superset holds every run of the set).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ByteClass {
    lo: [u8; 16],
    hi: [u8; 16],
}

impl ByteClass {
    pub fn new(contains: impl Fn(u8) -> bool) -> ByteClass {
        let mut lo = [0u8; 16];
        let mut hi = [0u8; 16];
        for b in 0..=255u8 {
            if contains(b) {
                lo[usize::from(b & 15)] |= 1 << ((b >> 4) & 7);
                hi[usize::from(b >> 4)] = 1 << ((b >> 4) & 7);
            }
        }
        ByteClass { lo, hi }
    }

    /// The bytes of `literals`.
    pub fn of_literals<'a>(literals: impl IntoIterator<Item = &'a [u8]>) -> ByteClass {
        let mut member = [false; 256];
        for lit in literals {
            for &b in lit {
                member[usize::from(b)] = true;
            }
        }
        ByteClass::new(|b| member[usize::from(b)])
    }

    #[inline]
    pub fn contains(&self, b: u8) -> bool {
        self.lo[usize::from(b & 15)] & self.hi[usize::from(b >> 4)] != 0
    }

    /// A byte outside the class, to separate runs in the compact buffer.
    fn outsider(&self) -> Option<u8> {
        (0..=255u8).find(|&b| !self.contains(b))
    }
}

/// What the detectors of a run need from each chunk.
#[derive(Debug, Clone)]
pub struct ViewSpec {
    /// Bytes of every literal searched in the compact buffer, and of every
    /// text literal searched in the chunk (so that the anchor mask shows
    /// where those can start).
    pub anchor: ByteClass,
    /// Length of the shortest literal: shorter runs cannot hold one.
    pub anchor_min: usize,
    /// Bytes of entropy tokens, when a detector wants token runs.
    pub token: Option<ByteClass>,
    /// Every detector's literals, searched once per chunk.
    literals: Arc<LiteralSet>,
    /// The literal set's [`text_min`](LiteralSet::text_min).
    text_min: Option<usize>,
    /// Some client searches the compact buffer.
    text_clients: bool,
}

impl ViewSpec {
    /// The spec for a run's literal clients (the literals of clients
    /// `in_view` are searched in ASCII and, narrowed, in UTF-16LE), with or
    /// without token runs.
    pub fn new(clients: &[Client], token: Option<ByteClass>) -> Result<ViewSpec> {
        let in_view = || {
            clients
                .iter()
                .filter(|c| c.in_view)
                .flat_map(|c| c.literals.iter().map(Vec::as_slice))
        };
        let anchor_min = in_view()
            .map(<[u8]>::len)
            .filter(|&n| n > 0)
            .min()
            .unwrap_or(1);
        let literals = LiteralSet::new(clients)?;
        Ok(ViewSpec {
            anchor: ByteClass::of_literals(in_view().chain(literals.text_needles())),
            anchor_min,
            token,
            text_min: literals.text_min(),
            literals: Arc::new(literals),
            text_clients: clients.iter().any(|c| c.in_view),
        })
    }

    /// The spec for one client's ASCII literals, searched in ASCII and,
    /// narrowed, in UTF-16LE.
    pub fn for_literals<'a>(
        literals: impl IntoIterator<Item = &'a [u8]>,
        token: Option<ByteClass>,
    ) -> Result<ViewSpec> {
        let client = Client {
            literals: literals.into_iter().map(<[u8]>::to_vec).collect(),
            in_view: true,
        };
        ViewSpec::new(&[client], token)
    }
}

/// One detector's literal hits in a chunk.
#[derive(Clone, Copy)]
pub struct Hits<'a> {
    /// In the chunk's bytes (positions in the chunk).
    pub chunk: ClientHits<'a>,
    /// In the view's [`text`](TextView::text) (positions there).
    pub text: ClientHits<'a>,
}

impl Hits<'_> {
    /// For a detector with no literals.
    pub fn none() -> Hits<'static> {
        Hits {
            chunk: ClientHits::none(),
            text: ClientHits::none(),
        }
    }
}

/// One run copied into the compact buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Piece {
    /// Where it starts in [`TextView::text`].
    pub text: usize,
    /// Its length there (characters, that is code units).
    pub len: usize,
    /// Where its first unit starts in the chunk; unit `i` is at
    /// `orig + 2 * i`.
    pub orig: usize,
}

impl Piece {
    /// Chunk position of the piece's character at `text` (compact buffer
    /// position).
    #[inline]
    pub fn chunk_pos(&self, text: usize) -> usize {
        self.orig + 2 * (text - self.text)
    }
}

/// The text of one chunk (see the module documentation).
pub struct TextView<'a> {
    /// The chunk itself.
    pub buf: &'a [u8],
    /// Narrowed UTF-16LE runs, each followed by a separator byte when the
    /// anchor alphabet leaves one free.
    pub text: Vec<u8>,
    /// The runs, in `text` order: at even chunk positions, then at odd
    /// ones; each group in chunk order.
    pub pieces: Vec<Piece>,
    separated: bool,
    token: Vec<u64>,
    /// Bytes of UTF-16LE units of token bytes, even then odd alignment.
    token_cover: [Vec<u64>; 2],
    zero: Vec<u64>,
    anchor: Vec<u64>,
    /// The same for anchor bytes (the view's buffers, kept for reuse).
    anchor_cover: [Vec<u64>; 2],
    /// See [`nonzero_spans`](Self::nonzero_spans).
    nonzero: Vec<Range<usize>>,
    literals: &'a LiteralSet,
    /// The spans of the chunk the literals were searched in.
    searched: Vec<Range<usize>>,
    /// The spans the searchers of text literals searched (with a
    /// `text_min` only).
    text_spans: Vec<Range<usize>>,
    /// Bit w: a run of `text_min` anchor bytes starts in word w.
    text_words: Vec<u64>,
    /// Every literal hit in the chunk, and in `text`.
    chunk_hits: Vec<Hit>,
    text_hits: Vec<Hit>,
}

/// A view's buffers, kept per thread from one chunk to the next:
/// allocating them afresh for every 4 MiB chunk cost 150,000 page faults
/// (a quarter of a second of kernel time) on the 1.5 GiB benchmark dump.
#[derive(Default)]
struct Spare {
    text: Vec<u8>,
    pieces: Vec<Piece>,
    nonzero: Vec<Range<usize>>,
    searched: Vec<Range<usize>>,
    text_spans: Vec<Range<usize>>,
    text_words: Vec<u64>,
    hits: [Vec<Hit>; 2],
    masks: [Vec<u64>; 7],
}

thread_local! {
    static SPARE: std::cell::RefCell<Spare> = std::cell::RefCell::new(Spare::default());
}

fn emptied(mut v: Vec<u64>) -> Vec<u64> {
    v.clear();
    v
}

impl Drop for TextView<'_> {
    fn drop(&mut self) {
        use std::mem::take;
        let spare = Spare {
            text: take(&mut self.text),
            pieces: take(&mut self.pieces),
            nonzero: take(&mut self.nonzero),
            searched: take(&mut self.searched),
            text_spans: take(&mut self.text_spans),
            text_words: take(&mut self.text_words),
            hits: [take(&mut self.chunk_hits), take(&mut self.text_hits)],
            masks: [
                take(&mut self.token),
                take(&mut self.zero),
                take(&mut self.anchor),
                take(&mut self.token_cover[0]),
                take(&mut self.token_cover[1]),
                take(&mut self.anchor_cover[0]),
                take(&mut self.anchor_cover[1]),
            ],
        };
        // A thread that is exiting has no slot left: the buffers are freed.
        let _ = SPARE.try_with(|s| *s.borrow_mut() = spare);
    }
}

impl<'a> TextView<'a> {
    pub fn build(buf: &'a [u8], spec: &'a ViewSpec) -> TextView<'a> {
        let spare = SPARE
            .try_with(|s| std::mem::take(&mut *s.borrow_mut()))
            .unwrap_or_default();
        let [token, zero, anchor, token_even, token_odd, anchor_even, anchor_odd] = spare.masks;
        let [mut anchor, mut token, mut zero] = [emptied(anchor), emptied(token), emptied(zero)];
        let mut anchor_cover = [emptied(anchor_even), emptied(anchor_odd)];
        let mut token_cover = [emptied(token_even), emptied(token_odd)];
        {
            let [anchor_even, anchor_odd] = &mut anchor_cover;
            let [token_even, token_odd] = &mut token_cover;
            classify(
                buf,
                &spec.anchor,
                spec.token.as_ref(),
                &mut Masks {
                    anchor: &mut anchor,
                    token: &mut token,
                    zero: &mut zero,
                    anchor_cover: [anchor_even, anchor_odd],
                    token_cover: [token_even, token_odd],
                    tokens: spec.token.is_some(),
                },
            );
        }
        let sep = spec.anchor.outsider();
        let mut text = spare.text;
        text.clear();
        let mut pieces = spare.pieces;
        pieces.clear();
        let nonzero = nonzero_spans(&zero, buf.len(), spare.nonzero);
        let min = spec.anchor_min.max(1);
        for cover in &anchor_cover {
            for_each_run(cover, 2 * min, |s, e| {
                pieces.push(Piece {
                    text: text.len(),
                    len: (e - s) / 2,
                    orig: s,
                });
                text.extend(buf[s..e].iter().step_by(2));
                text.extend(sep);
            });
        }
        let literals = &*spec.literals;
        let [mut chunk_hits, mut text_hits] = spare.hits;
        chunk_hits.clear();
        text_hits.clear();
        let mut searched = spare.searched;
        literals.chunk_spans(buf.len(), &nonzero, &mut searched);
        let (mut text_spans, mut text_words) = (spare.text_spans, spare.text_words);
        text_spans.clear();
        if let Some(k) = spec.text_min {
            run_start_words(&anchor, k, &mut text_words);
            word_spans(&text_words, buf.len(), literals.reach(), &mut text_spans);
        }
        let text_only = spec.text_min.map(|_| &text_spans[..]);
        literals.search_chunk(buf, &searched, text_only, &mut chunk_hits);
        let mut view = TextView {
            buf,
            text,
            pieces,
            separated: sep.is_some(),
            token,
            token_cover,
            zero,
            anchor,
            anchor_cover,
            nonzero,
            literals,
            searched,
            text_spans,
            text_words,
            chunk_hits,
            text_hits,
        };
        if spec.text_clients {
            let spans = view.search_spans();
            literals.search(&view.text, &spans, &mut view.text_hits);
        }
        view
    }

    /// The literal hits of the detector that is `client` of the spec's
    /// literal set.
    pub fn hits(&self, client: usize) -> Hits<'_> {
        Hits {
            chunk: ClientHits::new(self.literals, &self.chunk_hits, client),
            text: ClientHits::new(self.literals, &self.text_hits, client),
        }
    }

    /// Spans of [`text`](Self::text) to search: all of it when the runs are
    /// separated, else each piece alone (an alphabet of all 256 bytes).
    pub fn search_spans(&self) -> Vec<Range<usize>> {
        if self.separated {
            std::iter::once(0..self.text.len()).collect()
        } else {
            self.pieces.iter().map(|p| p.text..p.text + p.len).collect()
        }
    }

    /// The chunk without its aligned 64-byte blocks of zeros, as spans in
    /// order. No ASCII literal contains a zero byte, so an ASCII search of
    /// these finds every hit a search of the whole chunk finds. Dumps are
    /// often mostly zeros (85% of the ELF fixture's 64-byte blocks, 19% of
    /// the benchmark dump's); the zero mask is already here.
    pub fn nonzero_spans(&self) -> &[Range<usize>] {
        &self.nonzero
    }

    /// Whether every byte of the chunk is zero. No detector finds
    /// anything in zeros (literals, tokens, DER, magic numbers and key
    /// schedules all need nonzero bytes), so such chunks, common where a
    /// process had memory it never wrote, are skipped whole.
    pub fn all_zero(&self) -> bool {
        self.nonzero.is_empty()
    }

    /// The piece holding compact-buffer position `text`.
    pub fn piece_at(&self, text: usize) -> &Piece {
        let i = self.pieces.partition_point(|p| p.text <= text);
        &self.pieces[i.saturating_sub(1)]
    }

    /// Calls `found(start, end)` for every maximal run of token bytes whose
    /// length is within `len` (chunk positions). Needs a spec with a token
    /// class.
    pub fn token_runs(&self, len: &Range<usize>, mut found: impl FnMut(usize, usize)) {
        for_each_run(&self.token, len.start, |s, e| {
            if len.contains(&(e - s)) {
                found(s, e)
            }
        });
    }

    /// As [`token_runs`](Self::token_runs) for UTF-16LE runs of (token byte,
    /// zero byte) units at either alignment; `len` counts units, the spans
    /// cover both bytes of every unit. Runs come in chunk order per
    /// alignment, even first.
    pub fn wide_token_runs(&self, len: &Range<usize>, mut found: impl FnMut(usize, usize)) {
        for cover in &self.token_cover {
            for_each_run(cover, 2 * len.start, |s, e| {
                if len.contains(&((e - s) / 2)) {
                    found(s, e)
                }
            });
        }
    }
}

/// Bits of the even positions of a word (chunk positions are word-aligned).
const EVEN: u64 = 0x5555_5555_5555_5555;

/// Words closer than this are searched as one span: one searcher call
/// fewer for at most this many more bytes searched.
const TEXT_SPAN_GAP: usize = 64;

/// The doubling shifts for runs of at least `k` set bits, for `k` up to 8
/// (more is taken as 8: a superset of the starts), padded to three with
/// shifts of 0, which change nothing (see [`FixedShifts::starts`]).
fn run_steps(k: usize) -> [u32; 3] {
    let s = RunShifts::new(k.min(8));
    [s.shifts[0], s.shifts[1], s.shifts[2]]
}

/// Sets bit w (of word w / 64) of `out` when a run of at least `k` (at
/// most 8) set bits of `bits` starts in word w.
fn run_start_words(bits: &[u64], k: usize, out: &mut Vec<u64>) {
    out.clear();
    out.resize(bits.len().div_ceil(64), 0);
    let steps = run_steps(k);
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a target-feature function; the CPU reports AVX2.
    let done = if super::has_avx2() {
        unsafe { run_start_words_avx2(bits, steps, out) }
    } else {
        0
    };
    #[cfg(not(target_arch = "x86_64"))]
    let done = 0;
    run_start_words_from(bits, steps, done, out);
}

/// [`run_start_words`] from word `from` on, a word at a time.
fn run_start_words_from(bits: &[u64], steps: [u32; 3], from: usize, out: &mut [u64]) {
    let starts = FixedShifts {
        shifts: steps,
        lane_test: false,
    };
    for w in from..bits.len() {
        let next = bits.get(w + 1).copied().unwrap_or(0);
        out[w / 64] |= u64::from(starts.starts(bits[w], next) != 0) << (w % 64);
    }
}

/// [`run_start_words`] four words at a time; returns how many words it
/// did (a multiple of 4, leaving at least one).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn run_start_words_avx2(bits: &[u64], steps: [u32; 3], out: &mut [u64]) -> usize {
    use std::arch::x86_64::*;
    let counts = steps.map(|j| {
        (
            _mm_cvtsi32_si128(j as i32),
            // A left shift of 64 is 0 here: `lo & (lo | 0)` is `lo` too.
            _mm_cvtsi32_si128(64 - j as i32),
        )
    });
    let zero = _mm256_setzero_si256();
    let mut w = 0;
    while w + 5 <= bits.len() {
        // SAFETY: words w to w + 4 are inside `bits`; unaligned loads.
        let (mut lo, mut hi) = unsafe {
            let p = bits.as_ptr().add(w);
            (
                _mm256_loadu_si256(p.cast()),
                _mm256_loadu_si256(p.add(1).cast()),
            )
        };
        for (right, left) in counts {
            let carried = _mm256_or_si256(_mm256_srl_epi64(lo, right), _mm256_sll_epi64(hi, left));
            lo = _mm256_and_si256(lo, carried);
            hi = _mm256_and_si256(hi, _mm256_srl_epi64(hi, right));
        }
        let empty = _mm256_movemask_pd(_mm256_castsi256_pd(_mm256_cmpeq_epi64(lo, zero))) as u64;
        // w is a multiple of 4: its four bits stay in one word of `out`.
        out[w / 64] |= (!empty & 0xf) << (w % 64);
        w += 4;
    }
    w
}

/// The spans of a `len`-byte chunk to search for text literals: each word
/// (64 bytes) set in `words`, with `reach` bytes after it for a literal
/// that starts at its end.
fn word_spans(words: &[u64], len: usize, reach: usize, out: &mut Vec<Range<usize>>) {
    out.clear();
    for (g, &group) in words.iter().enumerate() {
        let mut left = group;
        while left != 0 {
            let start = (g * 64 + left.trailing_zeros() as usize) * 64;
            left &= left - 1;
            let end = (start + 64 + reach).min(len);
            match out.last_mut() {
                Some(last) if last.end + TEXT_SPAN_GAP >= start => last.end = end,
                _ => out.push(start..end),
            }
        }
    }
}

/// The spans of a `len`-byte chunk outside its all-zero 64-byte blocks
/// (`zero`: its zero mask; the last block may be short), in `out`.
fn nonzero_spans(zero: &[u64], len: usize, mut out: Vec<Range<usize>>) -> Vec<Range<usize>> {
    out.clear();
    let mut add = |start: usize, end: usize| match out.last_mut() {
        Some(last) if last.end == start => last.end = end,
        _ => out.push(start..end),
    };
    // Whole words first, on one compare each (per word, the short last
    // word's masking was most of this loop).
    let full = len / 64;
    for (w, &z) in zero[..full.min(zero.len())].iter().enumerate() {
        if z != u64::MAX {
            add(w * 64, w * 64 + 64);
        }
    }
    if let Some(&z) = zero.get(full) {
        // Bits past the chunk's end are clear: count them as zeros.
        let tail = len - full * 64;
        if tail > 0 && z | !(u64::MAX >> (64 - tail)) != u64::MAX {
            add(full * 64, len);
        }
    }
    out
}

/// A chunk's per-word bit masks, appended by [`classify`] in one pass to
/// empty vectors (pushing spares zeroing them first: a tenth of the
/// masks' cost).
struct Masks<'m> {
    anchor: &'m mut Vec<u64>,
    /// Left empty without a token class.
    token: &'m mut Vec<u64>,
    zero: &'m mut Vec<u64>,
    /// The bytes of UTF-16LE units of anchor bytes (an anchor byte, then a
    /// zero byte), at even then odd positions, both bytes of each unit
    /// set. Written out once per chunk, so that finding runs in them is a
    /// test of one word against zero where a unit-free word (most of
    /// binary data) is.
    anchor_cover: [&'m mut Vec<u64>; 2],
    /// The same for token bytes (left empty without a token class).
    token_cover: [&'m mut Vec<u64>; 2],
    tokens: bool,
}

/// Each cover's unit starts in the previous word: a unit starting at bit
/// 63 covers bit 0 of the next word.
#[derive(Default)]
struct CoverCarry([u64; 4]);

impl Masks<'_> {
    /// Room for `words` more words in every mask this view keeps (the
    /// token masks only with a token class).
    fn reserve(&mut self, words: usize) {
        let tokens = if self.tokens { words } else { 0 };
        self.anchor.reserve(words);
        self.zero.reserve(words);
        self.token.reserve(tokens);
        for (a, t) in self.anchor_cover.iter_mut().zip(&mut self.token_cover) {
            a.reserve(words);
            t.reserve(tokens);
        }
    }

    /// Appends the next word's masks and its covers; `next_zero` is 1
    /// when the byte after the word is zero (0 at the end of the chunk).
    #[inline(always)]
    fn push(&mut self, anchor: u64, token: u64, zero: u64, next_zero: u64, carry: &mut CoverCarry) {
        let unit_end = unit_ends(zero, next_zero);
        self.anchor.push(anchor);
        self.zero.push(zero);
        self.anchor_cover[0].push(carry.cover(0, anchor & EVEN, unit_end));
        self.anchor_cover[1].push(carry.cover(1, anchor & !EVEN, unit_end));
        if self.tokens {
            self.token.push(token);
            self.token_cover[0].push(carry.cover(2, token & EVEN, unit_end));
            self.token_cover[1].push(carry.cover(3, token & !EVEN, unit_end));
        }
    }
}

/// Positions of a word whose next byte is zero: where a UTF-16LE unit of
/// a class byte can start.
#[inline(always)]
fn unit_ends(zero: u64, next_zero: u64) -> u64 {
    (zero >> 1) | (next_zero << 63)
}

impl CoverCarry {
    /// Cover `k` of the next word, from the class bits at its parity.
    #[inline(always)]
    fn cover(&mut self, k: usize, class_at_parity: u64, unit_end: u64) -> u64 {
        let starts = class_at_parity & unit_end;
        let cover = starts | (starts << 1) | (self.0[k] >> 63);
        self.0[k] = starts;
        cover
    }
}

/// 1 when `buf[at]` is a zero byte, 0 when it is not or is past the end.
#[inline(always)]
fn zero_at(buf: &[u8], at: usize) -> u64 {
    buf.get(at).map_or(0, |&b| u64::from(b == 0))
}

/// The shifts that turn a window of bits into the starts of runs of at
/// least `k` set bits (`1 <= k <= 64`), by doubling: after shifts 1, 2, 4
/// a bit says "8 set bits from here"; a last shift tops it up to `k`.
struct RunShifts {
    shifts: [u32; 7],
    count: usize,
    /// `k >= 32`: a run that long covers a whole aligned 16-bit lane, a
    /// cheap test that skips most words of text.
    lane_test: bool,
}

impl RunShifts {
    fn new(k: usize) -> RunShifts {
        let k = k.clamp(1, 64);
        let mut shifts = [0u32; 7];
        let mut count = 0;
        let mut len = 1;
        while len * 2 <= k {
            shifts[count] = len as u32;
            count += 1;
            len *= 2;
        }
        if len < k {
            shifts[count] = (k - len) as u32;
            count += 1;
        }
        RunShifts {
            shifts,
            count,
            lane_test: k >= 32,
        }
    }

    /// The first `N` shifts (`N` must be `count`): with the count known at
    /// compile time the doubling loop unrolls (callgrind, 128 MiB: the
    /// view's runs 246 → 223 M instructions).
    fn fixed<const N: usize>(&self) -> FixedShifts<N> {
        debug_assert_eq!(N, self.count);
        let mut shifts = [0u32; N];
        shifts.copy_from_slice(&self.shifts[..N]);
        FixedShifts {
            shifts,
            lane_test: self.lane_test,
        }
    }
}

/// [`RunShifts`] with their number fixed.
struct FixedShifts<const N: usize> {
    shifts: [u32; N],
    lane_test: bool,
}

impl<const N: usize> FixedShifts<N> {
    /// Positions of `cur` where a run of at least `k` set bits starts,
    /// `next` being the following word.
    #[inline(always)]
    fn starts(&self, cur: u64, next: u64) -> u64 {
        if self.lane_test && !full_lane(cur) && !full_lane(next & 0xffff_ffff) {
            return 0;
        }
        let (mut lo, mut hi) = (cur, next);
        for &j in &self.shifts {
            // A shift of 0 (padding) shifts `hi` left by 0 too: `lo & (lo |
            // hi)` is `lo`.
            lo &= (lo >> j) | hi.wrapping_shl(64 - j);
            hi &= hi >> j;
        }
        lo
    }
}

/// Is some aligned 16-bit lane of `x` all ones?
#[inline]
fn full_lane(x: u64) -> bool {
    const LOW: u64 = 0x0001_0001_0001_0001;
    const HIGH: u64 = 0x8000_8000_8000_8000;
    let y = !x;
    y.wrapping_sub(LOW) & !y & HIGH != 0
}

/// First clear bit at or after `s` (the stream's length in bits if none).
fn run_end(bits: &[u64], s: usize) -> usize {
    let mut w = s / 64;
    let mut bit = s % 64;
    while w < bits.len() {
        let ones = (bits[w] >> bit).trailing_ones() as usize;
        if ones < 64 - bit {
            return w * 64 + bit + ones;
        }
        w += 1;
        bit = 0;
    }
    bits.len() * 64
}

/// Calls `found(start, end)` for every maximal run of set bits at least
/// `min` long, in order. A word without the start of a long enough run
/// costs a few shifts (one compare when it is empty): in binary data most
/// short runs are never visited.
fn for_each_run(bits: &[u64], min: usize, found: impl FnMut(usize, usize)) {
    let shifts = RunShifts::new(min);
    match shifts.count {
        0 => runs_with(bits, min, shifts.fixed::<0>(), found),
        1 => runs_with(bits, min, shifts.fixed::<1>(), found),
        2 => runs_with(bits, min, shifts.fixed::<2>(), found),
        3 => runs_with(bits, min, shifts.fixed::<3>(), found),
        4 => runs_with(bits, min, shifts.fixed::<4>(), found),
        5 => runs_with(bits, min, shifts.fixed::<5>(), found),
        6 => runs_with(bits, min, shifts.fixed::<6>(), found),
        _ => runs_with(bits, min, shifts.fixed::<7>(), found),
    }
}

fn runs_with<const N: usize>(
    bits: &[u64],
    min: usize,
    shifts: FixedShifts<N>,
    mut found: impl FnMut(usize, usize),
) {
    let words = bits.len();
    let mut w = 0;
    // Everything before `from` is handled; bit `from - 1`, if any, is clear
    // or belongs to a reported run.
    let mut from = 0usize;
    while w < words {
        // Sparse masks (most of binary data) skip four empty words on one
        // branch.
        if w + 4 <= words && bits[w] | bits[w + 1] | bits[w + 2] | bits[w + 3] == 0 {
            w += 4;
            continue;
        }
        let cur = bits[w];
        if cur == 0 {
            w += 1;
            continue;
        }
        let next = if w + 1 < words { bits[w + 1] } else { 0 };
        let mut starts = shifts.starts(cur, next);
        let base = w * 64;
        if from > base {
            starts &= u64::MAX.checked_shl((from - base) as u32).unwrap_or(0);
        }
        if starts == 0 {
            w += 1;
            continue;
        }
        // The lowest start at or after `from` is where a run begins: a set
        // bit just before it would start a long enough run too.
        let s = base + starts.trailing_zeros() as usize;
        let e = run_end(bits, s);
        if e - s >= min {
            found(s, e);
        }
        from = e;
        w = e / 64;
    }
}

/// Appends the per-word masks of `buf` (see [`Masks`]): anchor-class
/// bytes, token-class bytes (when `token` is given), zero bytes and the
/// UTF-16LE unit covers. Bits past the end of `buf` are clear.
fn classify(buf: &[u8], anchor: &ByteClass, token: Option<&ByteClass>, masks: &mut Masks<'_>) {
    let full = buf.len() / 64;
    let words = buf.len().div_ceil(64);
    debug_assert!(masks.anchor.is_empty() && masks.tokens == token.is_some());
    masks.reserve(words);
    let mut carry = CoverCarry::default();
    #[cfg(target_arch = "x86_64")]
    let done = if super::has_avx2() && full > 0 {
        // SAFETY (both): calling a target-feature function; the CPU
        // reports AVX2.
        match token {
            Some(t) => unsafe { classify_avx2::<true>(buf, full, anchor, t, masks, &mut carry) },
            None => unsafe { classify_avx2::<false>(buf, full, anchor, anchor, masks, &mut carry) },
        }
        full
    } else {
        0
    };
    #[cfg(not(target_arch = "x86_64"))]
    let done = 0;
    for w in done..words {
        let block = &buf[w * 64..((w + 1) * 64).min(buf.len())];
        let (mut a, mut t, mut z) = (0u64, 0u64, 0u64);
        for (i, &b) in block.iter().enumerate() {
            a |= u64::from(anchor.contains(b)) << i;
            if let Some(tc) = token {
                t |= u64::from(tc.contains(b)) << i;
            }
            z |= u64::from(b == 0) << i;
        }
        masks.push(a, t, z, zero_at(buf, w * 64 + 64), &mut carry);
    }
}

/// Class membership of 32 bytes as a bit mask.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
fn members(
    v: std::arch::x86_64::__m256i,
    lo: std::arch::x86_64::__m256i,
    hi: std::arch::x86_64::__m256i,
) -> u32 {
    use std::arch::x86_64::*;
    let nibble = _mm256_set1_epi8(0x0f);
    let low = _mm256_and_si256(v, nibble);
    let high = _mm256_and_si256(_mm256_srli_epi16(v, 4), nibble);
    let both = _mm256_and_si256(_mm256_shuffle_epi8(lo, low), _mm256_shuffle_epi8(hi, high));
    !(_mm256_movemask_epi8(_mm256_cmpeq_epi8(both, _mm256_setzero_si256())) as u32)
}

/// Appends the masks of the first `full` 64-byte words of `buf`, as
/// [`Masks::push`] would, but into the vectors' spare room: pushing seven
/// vectors through references kept their lengths in memory, reloaded and
/// checked against capacity for every word (measured: this loop took a
/// third less time without them). `TOKENS` must say whether `masks` wants
/// token masks (`token` is ignored without).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn classify_avx2<const TOKENS: bool>(
    buf: &[u8],
    full: usize,
    anchor: &ByteClass,
    token: &ByteClass,
    masks: &mut Masks<'_>,
    carry: &mut CoverCarry,
) {
    use std::arch::x86_64::*;
    use std::mem::MaybeUninit;
    debug_assert!(full >= 1 && full <= buf.len() / 64 && masks.tokens == TOKENS);
    // The shuffle looks up within each 128-bit lane: both lanes hold the
    // same 16-entry table.
    let table = |t: &[u8; 16]| {
        // SAFETY: 16 readable bytes; unaligned load.
        _mm256_broadcastsi128_si256(unsafe { _mm_loadu_si128(t.as_ptr().cast()) })
    };
    let (a_lo, a_hi) = (table(&anchor.lo), table(&anchor.hi));
    let (t_lo, t_hi) = (table(&token.lo), table(&token.hi));
    let zero = _mm256_setzero_si256();
    let classes = |w: usize| -> (u64, u64, u64) {
        // SAFETY: unaligned loads of the 64 bytes at 64 * w, inside `buf`
        // because w < full <= buf.len() / 64.
        let (v0, v1) = unsafe {
            let p = buf.as_ptr().add(64 * w);
            (
                _mm256_loadu_si256(p.cast()),
                _mm256_loadu_si256(p.add(32).cast()),
            )
        };
        let pair = |a: u32, b: u32| u64::from(a) | (u64::from(b) << 32);
        let a = pair(members(v0, a_lo, a_hi), members(v1, a_lo, a_hi));
        let t = if TOKENS {
            pair(members(v0, t_lo, t_hi), members(v1, t_lo, t_hi))
        } else {
            0
        };
        let z = pair(
            _mm256_movemask_epi8(_mm256_cmpeq_epi8(v0, zero)) as u32,
            _mm256_movemask_epi8(_mm256_cmpeq_epi8(v1, zero)) as u32,
        );
        (a, t, z)
    };
    let mut out: [&mut [MaybeUninit<u64>]; 7] = {
        let [te, to] = &mut masks.token_cover;
        let [ae, ao] = &mut masks.anchor_cover;
        // `Masks::reserve` made room for every word (token masks only with
        // `TOKENS`): too little would panic here, before any write.
        fn spare(v: &mut Vec<u64>, n: usize) -> &mut [MaybeUninit<u64>] {
            &mut v.spare_capacity_mut()[..n]
        }
        let n = if TOKENS { full } else { 0 };
        [
            spare(masks.anchor, full),
            spare(masks.zero, full),
            spare(ae, full),
            spare(ao, full),
            spare(masks.token, n),
            spare(te, n),
            spare(to, n),
        ]
    };
    let mut cur = classes(0);
    for w in 0..full {
        let (a, t, z) = cur;
        let next_zero = if w + 1 < full {
            cur = classes(w + 1);
            cur.2 & 1
        } else {
            zero_at(buf, 64 * full)
        };
        let unit_end = unit_ends(z, next_zero);
        let [anchor, zeros, a_even, a_odd, token, t_even, t_odd] = &mut out;
        anchor[w].write(a);
        zeros[w].write(z);
        a_even[w].write(carry.cover(0, a & EVEN, unit_end));
        a_odd[w].write(carry.cover(1, a & !EVEN, unit_end));
        if TOKENS {
            token[w].write(t);
            t_even[w].write(carry.cover(2, t & EVEN, unit_end));
            t_odd[w].write(carry.cover(3, t & !EVEN, unit_end));
        }
    }
    let grow = |v: &mut Vec<u64>| {
        // SAFETY: the loop wrote the first `full` spare slots of `v`.
        unsafe { v.set_len(v.len() + full) }
    };
    grow(masks.anchor);
    grow(masks.zero);
    masks.anchor_cover.iter_mut().for_each(|v| grow(v));
    if TOKENS {
        grow(masks.token);
        masks.token_cover.iter_mut().for_each(|v| grow(v));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lcg(seed: &mut u64) -> u64 {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        *seed >> 33
    }

    /// Random bytes biased toward text, zeros and UTF-16, so that every
    /// kind of run and boundary shows up.
    fn mixed(len: usize, seed: u64) -> Vec<u8> {
        let mut s = seed;
        let mut out = Vec::with_capacity(len);
        while out.len() < len {
            let n = (lcg(&mut s) % 90) as usize + 1;
            match lcg(&mut s) % 5 {
                0 => {
                    out.extend((0..n).map(|_| b"token=abc_XYZ-09:/ "[(lcg(&mut s) % 19) as usize]))
                }
                1 => {
                    let words: [&[u8]; 4] = [b"pass", b"token", b"c_X", b"9:w"];
                    let text: Vec<u8> = (0..n % 7)
                        .flat_map(|_| words[(lcg(&mut s) % 4) as usize])
                        .copied()
                        .collect();
                    out.extend(text.iter().flat_map(|&b| [b, 0]));
                }
                2 => out.extend(std::iter::repeat_n(0, n)),
                _ => out.extend((0..n).map(|_| lcg(&mut s) as u8)),
            }
        }
        out.truncate(len);
        out
    }

    /// Maximal runs of `pred`, at least `min` long: the obvious way.
    fn naive_runs(n: usize, min: usize, pred: impl Fn(usize) -> bool) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < n {
            if !pred(i) {
                i += 1;
                continue;
            }
            let s = i;
            while i < n && pred(i) {
                i += 1;
            }
            if i - s >= min {
                out.push((s, i));
            }
        }
        out
    }

    /// Maximal runs of UTF-16LE units of `class` at one alignment.
    fn naive_units(buf: &[u8], class: &ByteClass, odd: bool, min: usize) -> Vec<(usize, usize)> {
        let unit = |i: usize| i + 1 < buf.len() && class.contains(buf[i]) && buf[i + 1] == 0;
        let mut out = Vec::new();
        let mut i = usize::from(odd);
        while i < buf.len() {
            if !unit(i) {
                i += 2;
                continue;
            }
            let s = i;
            while unit(i) {
                i += 2;
            }
            if (i - s) / 2 >= min {
                out.push((s, i));
            }
        }
        out
    }

    /// `classify`'s masks of `buf`: anchor, token, zero, anchor covers
    /// and token covers.
    #[allow(clippy::type_complexity)]
    fn masks_of(
        buf: &[u8],
        class: &ByteClass,
        token: Option<&ByteClass>,
    ) -> (Vec<u64>, Vec<u64>, Vec<u64>, [Vec<u64>; 2], [Vec<u64>; 2]) {
        let (mut a, mut t, mut z) = (Vec::new(), Vec::new(), Vec::new());
        let (mut ae, mut ao, mut te, mut to) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        classify(
            buf,
            class,
            token,
            &mut Masks {
                anchor: &mut a,
                token: &mut t,
                zero: &mut z,
                anchor_cover: [&mut ae, &mut ao],
                token_cover: [&mut te, &mut to],
                tokens: token.is_some(),
            },
        );
        (a, t, z, [ae, ao], [te, to])
    }

    /// The vector pass (where the CPU has AVX2) and the scalar tail give
    /// every byte its classes, and every byte of a UTF-16LE unit of a
    /// class its cover bit, across word boundaries and at the end.
    #[test]
    fn vector_and_scalar_classification_agree() {
        let class = ByteClass::of_literals([&b"ghp_"[..], b"://", b"\xc3\xa9t\xe9"]);
        let token = ByteClass::new(|b| b.is_ascii_alphanumeric());
        for len in [0, 1, 2, 63, 64, 65, 127, 128, 1000, 4099] {
            let mut buf = mixed(len, len as u64);
            // A unit across the boundary of the first two words.
            if len > 65 {
                buf[63] = b'g';
                buf[64] = 0;
            }
            let words = len.div_ceil(64);
            let (a, t, z, a_cover, t_cover) = masks_of(&buf, &class, Some(&token));
            let unit_at =
                |c: &ByteClass, i: usize| c.contains(buf[i]) && buf.get(i + 1) == Some(&0);
            for (i, &b) in buf.iter().enumerate() {
                let bit = |m: &[u64]| m[i / 64] >> (i % 64) & 1 == 1;
                assert_eq!(bit(&a), class.contains(b), "anchor bit {i} of {len}");
                assert_eq!(bit(&t), token.contains(b), "token bit {i} of {len}");
                assert_eq!(bit(&z), b == 0, "zero bit {i} of {len}");
                for odd in [0, 1] {
                    for (c, cover) in [(&class, &a_cover), (&token, &t_cover)] {
                        let covered = (i % 2 == odd && unit_at(c, i))
                            || (i > 0 && (i - 1) % 2 == odd && unit_at(c, i - 1));
                        assert_eq!(
                            bit(&cover[odd]),
                            covered,
                            "cover bit {i} of {len}, odd {odd}"
                        );
                    }
                }
            }
            // Nothing set past the end.
            if len % 64 != 0 {
                for m in [&a, &t, &a_cover[0], &a_cover[1], &t_cover[0], &t_cover[1]] {
                    assert_eq!(m[words - 1] >> (len % 64), 0);
                }
            }
        }
    }

    #[test]
    fn ascii_classes_are_exact() {
        let lits: [&[u8]; 3] = [b"Bearer ", b"sk_live_", b"-----BEGIN"];
        let class = ByteClass::of_literals(lits);
        for b in 0..=255u8 {
            let want = lits.iter().any(|l| l.contains(&b));
            assert_eq!(class.contains(b), want, "byte {b:#x}");
        }
    }

    #[test]
    fn runs_match_the_naive_definition() {
        for seed in 0..40u64 {
            let buf = mixed(3000 + seed as usize * 37, seed);
            let class = ByteClass::of_literals([&b"token=abc_XYZ-09"[..]]);
            let (a, _, _, covers, _) = masks_of(&buf, &class, None);
            for min in [1, 2, 3, 7, 32, 63, 64, 65, 100] {
                let mut got = Vec::new();
                for_each_run(&a, min, |s, e| got.push((s, e)));
                let want = naive_runs(buf.len(), min, |i| class.contains(buf[i]));
                assert_eq!(got, want, "seed {seed} min {min}");
                for odd in [false, true] {
                    let mut got = Vec::new();
                    for_each_run(&covers[usize::from(odd)], 2 * min, |s, e| got.push((s, e)));
                    assert_eq!(
                        got,
                        naive_units(&buf, &class, odd, min),
                        "seed {seed} min {min} odd {odd}"
                    );
                }
            }
        }
    }

    /// The words where a run of `k` set bits starts, vector and scalar,
    /// against a bit-by-bit definition, for runs across words and at the
    /// end; lengths over 8 count as 8.
    #[test]
    fn run_start_words_match_the_naive_definition() {
        let mut seed = 7u64;
        for n in (1..40).chain([63, 64, 65, 130]) {
            for density in [1u64, 2, 3] {
                // Bits set with probability 1 - 2^-(density + 1): long runs.
                let bits: Vec<u64> = (0..n)
                    .map(|_| {
                        let mut x = (lcg(&mut seed) << 32) | lcg(&mut seed);
                        for _ in 0..density {
                            x |= (lcg(&mut seed) << 32) | lcg(&mut seed);
                        }
                        x
                    })
                    .collect();
                let bit = |p: usize| p < 64 * n && bits[p / 64] >> (p % 64) & 1 == 1;
                for k in 1..=10 {
                    let run = k.min(8);
                    let want: Vec<u64> = (0..n.div_ceil(64))
                        .map(|g| {
                            (0..64)
                                .filter(|i| {
                                    let w = g * 64 + i;
                                    w < n && (w * 64..w * 64 + 64).any(|p| (p..p + run).all(bit))
                                })
                                .fold(0, |acc, i| acc | 1 << i)
                        })
                        .collect();
                    let mut got = Vec::new();
                    run_start_words(&bits, k, &mut got);
                    assert_eq!(got, want, "n {n} k {k}");
                    let mut scalar = vec![0; n.div_ceil(64)];
                    run_start_words_from(&bits, run_steps(k), 0, &mut scalar);
                    assert_eq!(scalar, want, "scalar, n {n} k {k}");
                }
            }
        }
    }

    /// The run's literal searchers, those of text literals searching only
    /// where runs of text start, find exactly what a search of every byte
    /// finds: every built-in literal at every offset of a 64-byte word,
    /// next to others and at the chunk's end, in binary noise.
    #[test]
    fn text_searchers_find_what_a_full_search_finds() {
        use crate::detect::ChunkDetector;
        let text = crate::detect::text::TextDetector::new(crate::rules::BUILTIN_RULES).unwrap();
        let mut clients = vec![Client {
            literals: text.literals().map(<[u8]>::to_vec).collect(),
            in_view: true,
        }];
        let detectors: Vec<Box<dyn ChunkDetector>> = vec![
            Box::new(super::super::der::DerDetector::new()),
            Box::new(super::super::openssh::OpenSshDetector::new()),
            Box::new(super::super::blobs::BlobDetector::new()),
            Box::new(super::super::entropy::EntropyDetector::new()),
        ];
        clients.extend(detectors.iter().map(|d| d.text_needs().literals));
        let spec = ViewSpec::new(&clients, None).unwrap();
        assert!(spec.text_min.is_some(), "no searcher of text literals");
        let literals: Vec<Vec<u8>> = clients.iter().flat_map(|c| c.literals.clone()).collect();
        let mut seed = 11u64;
        // Bytes 0x80-0xff and zeros: no literal byte but DER's.
        let mut buf: Vec<u8> = (0..600_000)
            .map(|_| match lcg(&mut seed) % 8 {
                0 => 0,
                _ => 0x80 | lcg(&mut seed) as u8,
            })
            .collect();
        let mut at = 100;
        for (i, lit) in literals.iter().cycle().take(3 * literals.len()).enumerate() {
            let start = at + i % 64;
            buf[start..start + lit.len()].copy_from_slice(lit);
            // Every third literal runs straight into the next.
            at = if i % 3 == 0 {
                start + lit.len() - i % 64
            } else {
                at + 1024
            };
        }
        let last = literals.iter().find(|l| l.len() == 6).unwrap();
        let end = buf.len();
        buf[end - 6..].copy_from_slice(last);
        let view = TextView::build(&buf, &spec);
        let searched: usize = view.text_spans.iter().map(ExactSizeIterator::len).sum();
        assert!(
            searched < buf.len() / 4,
            "text searched in {searched} bytes"
        );
        assert_eq!(view.chunk_hits, spec.literals.search_all(&buf));
        assert!(view.chunk_hits.len() > 2 * literals.len());
    }

    /// Searching the compact buffer finds each UTF-16LE occurrence of a
    /// literal in the whole chunk, at both alignments, and no other.
    #[test]
    fn every_occurrence_maps_back() {
        let lits: [&[u8]; 3] = [b"token", b"pass", b"c_X"];
        let spec = ViewSpec::for_literals(lits, None).unwrap();
        for seed in 0..30u64 {
            let buf = mixed(5000, seed + 100);
            let view = TextView::build(&buf, &spec);
            let mut got = Vec::new();
            for span in view.search_spans() {
                for lit in lits {
                    let hay = &view.text[span.clone()];
                    for i in 0..hay.len().saturating_sub(lit.len() - 1) {
                        if &hay[i..i + lit.len()] == lit {
                            let p = view.piece_at(span.start + i);
                            got.push((p.chunk_pos(span.start + i), lit));
                        }
                    }
                }
            }
            let mut want = Vec::new();
            for lit in lits {
                let wide: Vec<u8> = lit.iter().flat_map(|&b| [b, 0]).collect();
                for i in 0..buf.len() {
                    if buf[i..].starts_with(&wide) {
                        want.push((i, lit));
                    }
                }
            }
            got.sort();
            want.sort();
            assert!(!want.is_empty());
            assert_eq!(got, want, "seed {seed}");
        }
    }

    /// The spans leave out only zero bytes, and every nonzero byte is in
    /// one of them.
    #[test]
    fn nonzero_spans_drop_only_zeros() {
        let spec = ViewSpec::for_literals([&b"token"[..]], None).unwrap();
        for seed in 0..20u64 {
            let mut buf = mixed(5000 + seed as usize * 13, seed + 50);
            buf[1000..1300].fill(0);
            let view = TextView::build(&buf, &spec);
            let spans = view.nonzero_spans();
            let inside = |i: usize| spans.iter().any(|s| s.contains(&i));
            assert!(
                (0..buf.len()).all(|i| buf[i] == 0 || inside(i)),
                "seed {seed}"
            );
            assert!(!inside(1088), "seed {seed}: an all-zero block was kept");
            assert!(spans.windows(2).all(|p| p[0].end < p[1].start));
        }
        let zeros = [0u8; 640];
        assert!(TextView::build(&zeros, &spec).nonzero_spans().is_empty());
    }

    #[test]
    fn all_zero_means_every_byte() {
        let spec = ViewSpec::for_literals([&b"token"[..]], None).unwrap();
        for len in [0, 1, 63, 64, 65, 4096, 4100] {
            let mut buf = vec![0u8; len];
            assert!(TextView::build(&buf, &spec).all_zero(), "{len} zeros");
            for at in [0, len / 2, len.saturating_sub(1)] {
                if len > 0 {
                    buf[at] = 1;
                    assert!(!TextView::build(&buf, &spec).all_zero(), "{len}: byte {at}");
                    buf[at] = 0;
                }
            }
        }
    }

    #[test]
    fn an_alphabet_of_every_byte_searches_pieces_alone() {
        let all: Vec<[u8; 1]> = (0..=255).map(|b| [b]).collect();
        let spec = ViewSpec::for_literals(all.iter().map(|b| &b[..]), None).unwrap();
        let buf = mixed(700, 3);
        let view = TextView::build(&buf, &spec);
        assert!(!view.pieces.is_empty());
        assert_eq!(view.search_spans().len(), view.pieces.len());
        let (first, last) = (view.pieces[0], view.pieces[view.pieces.len() - 1]);
        assert_eq!(view.search_spans()[0], 0..first.len);
        assert_eq!(view.text.len(), last.text + last.len, "no separators");
    }
}
