//! The parallel scan driver: plan the chunks, run every detector over each
//! chunk on the rayon pool, and merge the matches into one sorted,
//! de-duplicated list that does not depend on the number of threads.

pub mod plan;

use rayon::prelude::*;

use crate::detect::text::TextDetector;
use crate::detect::RawMatch;
use crate::layout::Layout;

pub struct ScanResult {
    pub matches: Vec<RawMatch>,
    pub bytes_scanned: u64,
    pub segments: usize,
    pub chunks: usize,
}

pub fn scan(data: &[u8], layout: &Layout, text: &TextDetector) -> ScanResult {
    let segments = plan::segments(layout);
    let overlap = text.max_match_bytes() as u64;
    let chunks = plan::chunks(&segments, plan::CHUNK_SIZE, overlap);
    let mut matches: Vec<RawMatch> = chunks
        .par_iter()
        .flat_map_iter(|c| {
            let mut out = Vec::new();
            let buf = &data[c.read_start as usize..c.read_end as usize];
            text.scan(buf, c.read_start, c.own_start..c.own_end, &mut out);
            out
        })
        .collect();
    matches.sort_unstable();
    matches.dedup_by_key(|m| (m.offset, m.len, m.rule, m.encoding));
    let bytes_scanned = segments.iter().map(|s| s.end - s.start).sum();
    ScanResult {
        matches,
        bytes_scanned,
        segments: segments.len(),
        chunks: chunks.len(),
    }
}
