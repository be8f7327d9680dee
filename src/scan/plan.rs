//! Scan plan: which bytes are scanned together, cut into parallel chunks.
//!
//! Neighbouring ranges are joined into one segment when a secret could
//! really continue from one into the next: always in file order, except
//! that two memory ranges are joined only when their addresses continue
//! too (bytes of unrelated regions that happen to touch in the file are
//! not one string). Segments are cut into fixed-size chunks, so results do
//! not depend on the thread count; each chunk reads `overlap` bytes of
//! context on both sides and owns only the matches that start inside it.

use crate::layout::{Layout, RangeKind};

/// Chunk size. The overlap (`Detectors::overlap`) is set by the longest
/// match: 16,388 bytes a side with the built-in rules (8,192-character
/// rules in UTF-16LE) and the DER/OpenSSH spans (16 KiB). Measured on the
/// benchmark dump (docs/performance.md): at 4 MiB a chunk re-reads at most
/// 2 x 16 KiB = 0.8% of its bytes; at 1 MiB that would be 3.1%, and at
/// 256 KiB 12.5%. Larger chunks buy nothing more: memory regions are
/// segments of their own and average 1.3 MiB (the 128 MiB dump has 100
/// segments cut into 104 chunks; the 1.5 GiB one about 1,660 regions), so
/// most chunks are whole regions whatever the limit, and the two cores
/// finish within one chunk (~5 ms at one core's speed) of each other.
/// Results do not depend on it (tests/determinism.rs).
pub const CHUNK_SIZE: u64 = 4 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    pub start: u64,
    pub end: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chunk {
    /// Bytes to read: `own` plus context on both sides, within the segment.
    pub read_start: u64,
    pub read_end: u64,
    /// Matches starting in `own_start..own_end` belong to this chunk.
    pub own_start: u64,
    pub own_end: u64,
}

pub fn segments(layout: &Layout) -> Vec<Segment> {
    let mut out: Vec<Segment> = Vec::new();
    let mut prev: Option<&crate::layout::Range> = None;
    for r in &layout.ranges {
        let joins = match prev {
            Some(p) if p.end() == r.start => match (p.kind, r.kind) {
                (RangeKind::Memory, RangeKind::Memory) => match (p.vaddr, r.vaddr) {
                    (Some(a), Some(b)) => a.checked_add(p.len) == Some(b),
                    _ => false,
                },
                _ => true,
            },
            _ => false,
        };
        match out.last_mut() {
            Some(last) if joins => last.end = r.end(),
            _ => out.push(Segment {
                start: r.start,
                end: r.end(),
            }),
        }
        prev = Some(r);
    }
    out
}

/// `chunks` as a parallel iterator with every chunk a task of its own.
/// Rayon's default cuts a list into about two pieces per thread and runs a
/// piece nobody steals as one sequential loop: when another task (the
/// input hash) holds one of two threads at the start, the other thread
/// takes both pieces, and once the hash is done there is nothing left to
/// steal. Measured on a 1.4 GB core of a real Python process: one thread
/// scanned 97% of the chunks, 2.55 s wall for 3.5 CPU-s; with a task per
/// chunk, 1.9 s. A task costs microseconds; a chunk, milliseconds.
pub fn par_chunks(chunks: &[Chunk]) -> rayon::iter::MaxLen<rayon::slice::Iter<'_, Chunk>> {
    use rayon::prelude::*;
    chunks.par_iter().with_max_len(1)
}

pub fn chunks(segments: &[Segment], chunk_size: u64, overlap: u64) -> Vec<Chunk> {
    let mut out = Vec::new();
    for s in segments {
        let mut own_start = s.start;
        while own_start < s.end {
            let own_end = (own_start + chunk_size).min(s.end);
            out.push(Chunk {
                read_start: own_start.saturating_sub(overlap).max(s.start),
                read_end: (own_end + overlap).min(s.end),
                own_start,
                own_end,
            });
            own_start = own_end;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_own_every_byte_exactly_once() {
        let segs = [
            Segment {
                start: 10,
                end: 1000,
            },
            Segment {
                start: 1000,
                end: 1001,
            },
        ];
        let chunks = chunks(&segs, 100, 7);
        let mut next = 10;
        for c in &chunks {
            assert_eq!(c.own_start, next);
            assert!(c.read_start <= c.own_start && c.read_end >= c.own_end);
            next = c.own_end;
        }
        assert_eq!(next, 1001);
        // The second segment is never read as context of the first.
        assert!(chunks
            .iter()
            .all(|c| c.read_end <= 1000 || c.read_start >= 1000));
    }
}
