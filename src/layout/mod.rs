//! Layout: the input file as a partition of labelled byte ranges.
//!
//! Every byte of the file belongs to exactly one [`Range`]. The label says
//! what the bytes are (memory of the crashed process, a stream payload,
//! format structure, or bytes nothing points at) and therefore whether they
//! may be rewritten. One builder per input format produces the claims; the
//! shared [`partition`] step turns overlapping claims into the partition, so
//! a format builder never has to reason about overlaps itself.

pub mod elf;
pub mod minidump;
pub mod raw;

use std::fmt;

use serde::Serialize;

/// What a byte range is, from the point of view of redaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RangeKind {
    /// Process memory captured in the dump (has a virtual address).
    Memory,
    /// Payload of a non-memory stream: strings, environment, annotations...
    Stream,
    /// Headers, directories, descriptors, thread contexts: scanned, never
    /// rewritten, because tools need them to read and unwind the dump.
    Structure,
    /// Bytes no stream references (padding, slack, leftovers of a writer).
    Unreferenced,
}

impl RangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RangeKind::Memory => "memory",
            RangeKind::Stream => "stream",
            RangeKind::Structure => "structure",
            RangeKind::Unreferenced => "unreferenced",
        }
    }

    /// Which claim wins when two claims cover the same byte. Structure must
    /// win so that a payload claim overlapping a descriptor can never cause
    /// the descriptor to be zeroed.
    fn priority(self) -> u8 {
        match self {
            RangeKind::Structure => 3,
            RangeKind::Memory => 2,
            RangeKind::Stream => 1,
            RangeKind::Unreferenced => 0,
        }
    }

    pub fn redactable(self) -> bool {
        self != RangeKind::Structure
    }
}

impl fmt::Display for RangeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a range came from inside the dump.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Origin {
    /// Human-readable name, e.g. `MemoryListStream`, `LinuxEnviron`,
    /// `module name`, `header`.
    pub name: String,
    /// Raw stream type from the directory, when the range belongs to a stream.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_type: Option<u32>,
    /// Index of the stream in the directory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_index: Option<u32>,
}

impl Origin {
    pub fn named(name: impl Into<String>) -> Self {
        Origin {
            name: name.into(),
            stream_type: None,
            stream_index: None,
        }
    }
}

/// A claim a format builder makes about a byte span. Claims may overlap;
/// [`partition`] resolves them.
#[derive(Debug, Clone)]
pub struct Claim {
    pub start: u64,
    pub len: u64,
    pub kind: RangeKind,
    /// Virtual address of `start`, for memory.
    pub vaddr: Option<u64>,
    pub origin: Origin,
}

/// One piece of the partition of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Range {
    pub start: u64,
    pub len: u64,
    pub kind: RangeKind,
    pub vaddr: Option<u64>,
    pub origin: Origin,
}

impl Range {
    pub fn end(&self) -> u64 {
        self.start + self.len
    }
}

/// Input formats dumpscrub understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    Minidump,
    ElfCore,
    Raw,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Minidump => "minidump",
            Format::ElfCore => "elf_core",
            Format::Raw => "raw",
        }
    }
}

/// Byte accounting by kind; sums to the file size.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ByteCounts {
    pub structure: u64,
    pub memory: u64,
    pub streams: u64,
    pub unreferenced: u64,
}

/// The whole file as labelled ranges, sorted by offset, gap-free.
#[derive(Debug, Clone)]
pub struct Layout {
    pub format: Format,
    pub file_size: u64,
    pub ranges: Vec<Range>,
    /// Number of memory regions the format declared (before partitioning).
    pub regions: usize,
    /// Number of streams in the directory (0 for raw).
    pub streams: usize,
    /// Address ranges of the process's loaded module images, as the dump
    /// declares them (empty when the format has no module list).
    pub modules: Vec<AddrSpan>,
    /// Address ranges of the process's thread stacks, as the dump declares
    /// them.
    pub stacks: Vec<AddrSpan>,
}

/// A named span of the crashed process's address space: a module image or
/// a thread stack. Policies and detectors use these to tell code and stacks
/// from heap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddrSpan {
    pub start: u64,
    pub len: u64,
    /// Module path, or `thread <id>` for a stack.
    pub name: String,
}

impl AddrSpan {
    pub fn end(&self) -> u64 {
        self.start.saturating_add(self.len)
    }

    pub fn contains(&self, addr: u64) -> bool {
        addr >= self.start && addr < self.end()
    }
}

/// Lays out `data` as whichever supported format its magic names, or as
/// plain bytes when `raw` is set. `Ok(None)` means no format matched.
pub fn build(data: &[u8], path: &str, raw: bool) -> Result<Option<Layout>, LayoutError> {
    if raw {
        return Ok(Some(raw::build(data)));
    }
    if minidump::sniff(data) {
        return minidump::build(data, path).map(Some);
    }
    if elf::sniff(data) {
        return elf::build(data, path).map(Some);
    }
    Ok(None)
}

/// The crashed process's pointer size in bytes, when the format says.
pub fn pointer_size(data: &[u8], layout: &Layout) -> Option<usize> {
    match layout.format {
        Format::Minidump => minidump::pointer_size(data),
        // The ELF builder accepts only 64-bit cores (x86-64, aarch64).
        Format::ElfCore => Some(8),
        Format::Raw => None,
    }
}

impl Layout {
    pub fn byte_counts(&self) -> ByteCounts {
        let mut c = ByteCounts::default();
        for r in &self.ranges {
            match r.kind {
                RangeKind::Structure => c.structure += r.len,
                RangeKind::Memory => c.memory += r.len,
                RangeKind::Stream => c.streams += r.len,
                RangeKind::Unreferenced => c.unreferenced += r.len,
            }
        }
        c
    }

    /// The range that holds file offset `offset`.
    pub fn range_at(&self, offset: u64) -> Option<&Range> {
        let idx = self.ranges.partition_point(|r| r.end() <= offset);
        self.ranges.get(idx).filter(|r| r.start <= offset)
    }

    /// The structure ranges, merged where adjacent: the bytes a scrub must
    /// leave untouched.
    pub fn protected_spans(&self) -> Vec<(u64, u64)> {
        let mut out: Vec<(u64, u64)> = Vec::new();
        for r in self.ranges.iter().filter(|r| !r.kind.redactable()) {
            match out.last_mut() {
                Some(last) if last.1 == r.start => last.1 = r.end(),
                _ => out.push((r.start, r.end())),
            }
        }
        out
    }
}

/// Errors a layout builder reports. Each names the problem precisely so the
/// CLI can say which part of which file is wrong.
#[derive(Debug)]
pub struct LayoutError(pub String);

impl fmt::Display for LayoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for LayoutError {}

/// Turns overlapping claims into a gap-free partition of `0..file_size`.
///
/// Each byte takes the claim with the highest kind priority; among equal
/// priorities the earliest claim (in builder order) wins, so the result is
/// deterministic. Bytes no claim covers become `Unreferenced`. Adjacent
/// pieces of the same claim are merged back together.
pub fn partition(file_size: u64, claims: &[Claim]) -> Vec<Range> {
    // Boundaries where the winning claim can change.
    let mut events: Vec<(u64, bool, usize)> = Vec::with_capacity(claims.len() * 2);
    for (i, c) in claims.iter().enumerate() {
        if c.len == 0 {
            continue;
        }
        events.push((c.start, true, i));
        events.push((c.start + c.len, false, i));
    }
    events.sort_unstable_by_key(|&(pos, is_start, i)| (pos, is_start, i));

    // Active claims ordered by (priority desc, index asc).
    let key = |i: usize| (std::cmp::Reverse(claims[i].kind.priority()), i);
    let mut active = std::collections::BTreeSet::new();
    let mut out: Vec<Range> = Vec::new();
    let mut pos = 0u64;
    let mut ev = 0;
    while pos < file_size {
        while ev < events.len() && events[ev].0 <= pos {
            let (_, is_start, i) = events[ev];
            if is_start {
                active.insert(key(i));
            } else {
                active.remove(&key(i));
            }
            ev += 1;
        }
        let next = events
            .get(ev)
            .map(|e| e.0)
            .unwrap_or(file_size)
            .min(file_size);
        let piece = match active.iter().next() {
            Some(&(_, i)) => {
                let c = &claims[i];
                Range {
                    start: pos,
                    len: next - pos,
                    kind: c.kind,
                    vaddr: c.vaddr.map(|v| v.wrapping_add(pos - c.start)),
                    origin: c.origin.clone(),
                }
            }
            None => Range {
                start: pos,
                len: next - pos,
                kind: RangeKind::Unreferenced,
                vaddr: None,
                origin: Origin::named("unreferenced"),
            },
        };
        push_merged(&mut out, piece);
        pos = next;
    }
    out
}

fn push_merged(out: &mut Vec<Range>, piece: Range) {
    if piece.len == 0 {
        return;
    }
    if let Some(last) = out.last_mut() {
        let vaddr_continues = match (last.vaddr, piece.vaddr) {
            (Some(a), Some(b)) => a.wrapping_add(last.len) == b,
            (None, None) => true,
            _ => false,
        };
        if last.kind == piece.kind
            && last.origin == piece.origin
            && vaddr_continues
            && last.end() == piece.start
        {
            last.len += piece.len;
            return;
        }
    }
    out.push(piece);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim(start: u64, len: u64, kind: RangeKind, name: &str) -> Claim {
        Claim {
            start,
            len,
            kind,
            vaddr: None,
            origin: Origin::named(name),
        }
    }

    #[test]
    fn partition_covers_every_byte_and_structure_wins() {
        let claims = vec![
            claim(0, 10, RangeKind::Structure, "header"),
            claim(5, 20, RangeKind::Memory, "mem"),
            claim(30, 5, RangeKind::Stream, "s"),
        ];
        let ranges = partition(40, &claims);
        let total: u64 = ranges.iter().map(|r| r.len).sum();
        assert_eq!(total, 40);
        assert_eq!(ranges[0].kind, RangeKind::Structure);
        assert_eq!((ranges[0].start, ranges[0].len), (0, 10));
        assert_eq!(ranges[1].kind, RangeKind::Memory);
        assert_eq!((ranges[1].start, ranges[1].len), (10, 15));
        assert_eq!(ranges[2].kind, RangeKind::Unreferenced);
        assert_eq!(ranges[3].kind, RangeKind::Stream);
        assert_eq!(ranges[4].kind, RangeKind::Unreferenced);
        assert_eq!(ranges[4].end(), 40);
    }

    #[test]
    fn memory_vaddr_follows_partition_cut() {
        let mut c = claim(0, 100, RangeKind::Memory, "mem");
        c.vaddr = Some(0x1000);
        let s = claim(10, 10, RangeKind::Structure, "desc");
        let ranges = partition(100, &[c, s]);
        assert_eq!(ranges[2].vaddr, Some(0x1000 + 20));
    }
}
