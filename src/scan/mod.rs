//! The parallel scan driver: plan the chunks, run every detector over each
//! chunk on the rayon pool, run the whole-dump detectors, and merge the
//! matches into sorted, de-duplicated lists that do not depend on the
//! number of threads.

pub mod plan;

use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Result;
use rayon::prelude::*;

use crate::detect::literals::Client;
use crate::detect::text::TextDetector;
use crate::detect::view::{Hits, TextView, ViewSpec};
use crate::detect::{ChunkDetector, DumpDetector, DumpPass, KeyMatch, RawMatch};
use crate::layout::Layout;
use crate::rules::Confidence;

/// Every detector of a run.
pub struct Detectors {
    pub text: TextDetector,
    pub chunk: Vec<Box<dyn ChunkDetector>>,
    pub dump: Vec<Box<dyn DumpDetector>>,
    /// The text view each chunk gets: every detector's literals and the
    /// token class.
    view: ViewSpec,
    /// Each chunk detector's client number in the view's literal set
    /// (the text detector's is 0), if it has literals.
    clients: Vec<Option<usize>>,
}

impl Detectors {
    pub fn new(
        text: TextDetector,
        chunk: Vec<Box<dyn ChunkDetector>>,
        dump: Vec<Box<dyn DumpDetector>>,
    ) -> Result<Detectors> {
        let needs: Vec<_> = chunk.iter().map(|d| d.text_needs()).collect();
        let mut literal_clients = vec![Client {
            literals: text.literals().map(<[u8]>::to_vec).collect(),
            in_view: true,
        }];
        let mut clients = Vec::new();
        for n in &needs {
            if n.literals.literals.is_empty() {
                clients.push(None);
            } else {
                clients.push(Some(literal_clients.len()));
                literal_clients.push(n.literals.clone());
            }
        }
        let mut tokens = needs.iter().filter_map(|n| n.token.clone());
        let token = tokens.next();
        // One token class per run: only the entropy detector asks for one.
        debug_assert!(tokens.next().is_none(), "two detectors want token runs");
        let view = ViewSpec::new(&literal_clients, token)?;
        Ok(Detectors {
            text,
            chunk,
            dump,
            view,
            clients,
        })
    }

    /// Bytes of context each chunk needs on each side.
    pub fn overlap(&self) -> u64 {
        let binary = self.chunk.iter().map(|d| d.max_len()).max().unwrap_or(0);
        self.text.max_match_bytes().max(binary) as u64
    }
}

pub struct ScanResult {
    pub matches: Vec<RawMatch>,
    pub keys: Vec<KeyMatch>,
    pub bytes_scanned: u64,
    pub segments: usize,
    pub chunks: usize,
}

pub fn scan(data: &[u8], layout: &Layout, detectors: &Detectors) -> ScanResult {
    scan_watched(data, layout, detectors, Watch::default())
}

/// What a caller follows while the chunks are scanned; neither changes the
/// result.
#[derive(Clone, Copy, Default)]
pub struct Watch<'a> {
    /// Each chunk's owned bytes are added as it finishes (a progress bar).
    pub done: Option<&'a AtomicU64>,
    /// Lowered, as chunks finish, to the first byte of every match or key
    /// of at least this confidence: where a scrub's output will first
    /// differ from its input, as far as the scan knows yet.
    pub first_change: Option<(&'a AtomicU64, Confidence)>,
}

/// [`scan`], reporting to `watch` as chunks finish.
pub fn scan_watched(
    data: &[u8],
    layout: &Layout,
    detectors: &Detectors,
    watch: Watch<'_>,
) -> ScanResult {
    let segments = plan::segments(layout);
    let chunks = plan::chunks(&segments, plan::CHUNK_SIZE, detectors.overlap());
    // Text literals are printable ASCII (the rule loaders refuse others),
    // so only a chunk detector can find something in zeros.
    let skip_zeros = !detectors.chunk.iter().any(|d| d.finds_in_zeros());
    let passes: Vec<Box<dyn DumpPass>> = detectors
        .dump
        .iter()
        .map(|d| d.start(data, layout, &chunks))
        .collect();
    let per_chunk: Vec<(Vec<RawMatch>, Vec<KeyMatch>)> = plan::par_chunks(&chunks)
        .enumerate()
        .map(|(index, c)| {
            let buf = &data[c.read_start as usize..c.read_end as usize];
            let own = c.own_start..c.own_end;
            let view = TextView::build(buf, &detectors.view);
            let mut text = Vec::new();
            let mut keys = Vec::new();
            if !(skip_zeros && view.all_zero()) {
                detectors
                    .text
                    .scan_view(&view, view.hits(0), c.read_start, own.clone(), &mut text);
                let phase = layout
                    .range_at(c.own_start)
                    .and_then(|r| r.vaddr.map(|v| v.wrapping_sub(r.start) % 8))
                    .unwrap_or(0);
                for (d, client) in detectors.chunk.iter().zip(&detectors.clients) {
                    let hits = client.map_or(Hits::none(), |c| view.hits(c));
                    d.scan_view(&view, hits, c.read_start, own.clone(), phase, &mut keys);
                }
            }
            for p in &passes {
                p.chunk(index);
            }
            if let Some(p) = watch.done {
                p.fetch_add(c.own_end - c.own_start, Ordering::Relaxed);
            }
            if let Some((first, min)) = watch.first_change {
                let text_starts = text
                    .iter()
                    .filter(|m| detectors.text.rule(m.rule).confidence >= min)
                    .map(|m| m.offset);
                let key_starts = keys
                    .iter()
                    .filter(|k| k.confidence >= min)
                    .map(|k| k.offset);
                if let Some(at) = text_starts.chain(key_starts).min() {
                    first.fetch_min(at, Ordering::Relaxed);
                }
            }
            (text, keys)
        })
        .collect();
    let mut matches = Vec::new();
    let mut keys = Vec::new();
    for (t, k) in per_chunk {
        matches.extend(t);
        keys.extend(k);
    }
    let dump_keys: Vec<Vec<KeyMatch>> = passes
        .into_par_iter()
        .map(|p| {
            let mut out = Vec::new();
            p.finish(&mut out);
            out
        })
        .collect();
    keys.extend(dump_keys.into_iter().flatten());

    matches.sort_unstable();
    matches.dedup_by_key(|m| (m.offset, m.len, m.rule, m.encoding));
    sort_keys(&mut keys);
    let bytes_scanned = segments.iter().map(|s| s.end - s.start).sum();
    ScanResult {
        matches,
        keys,
        bytes_scanned,
        segments: segments.len(),
        chunks: chunks.len(),
    }
}

/// Sorts key matches and drops exact duplicates (same span, rule, form),
/// preferring a validated one.
pub fn sort_keys(keys: &mut Vec<KeyMatch>) {
    keys.sort_by(|a, b| {
        a.sort_key()
            .cmp(&b.sort_key())
            .then(b.validated.cmp(&a.validated))
    });
    keys.dedup_by(|b, a| a.sort_key() == b.sort_key());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::{aes, blobs, der, entropy, openssh};
    use crate::rules::BUILTIN_RULES;

    fn chunk_detectors() -> Vec<Box<dyn ChunkDetector>> {
        vec![
            Box::new(der::DerDetector::new()),
            Box::new(openssh::OpenSshDetector::new()),
            Box::new(blobs::BlobDetector::new()),
            Box::new(aes::AesDetector::new()),
            Box::new(entropy::EntropyDetector::new()),
        ]
    }

    /// The run searches every detector's literals at once; each must still
    /// find exactly what it finds searching its own literals alone. The
    /// input puts every literal of every detector next to values and next
    /// to each other (where one detector's literal is a prefix of, or
    /// contains, another's), in ASCII and UTF-16LE, after a real minidump
    /// with planted secrets.
    #[test]
    fn shared_literal_search_finds_what_each_detector_finds_alone() {
        let text = TextDetector::new(BUILTIN_RULES).unwrap();
        let mut literals: Vec<Vec<u8>> = text.literals().map(<[u8]>::to_vec).collect();
        for d in chunk_detectors() {
            literals.extend(d.text_needs().literals.literals);
        }
        let mut plain = Vec::new();
        for (i, a) in literals.iter().enumerate() {
            let b = &literals[(i * 7 + 3) % literals.len()];
            for sep in [&b"="[..], b"\": \"", b" "] {
                plain.extend_from_slice(a);
                plain.extend_from_slice(sep);
                plain.extend_from_slice(b"Xk9mQ2vL7pR4tW8zB1nC5yH3dF6gJ0sA");
                plain.push(b'\n');
            }
            plain.extend_from_slice(a);
            plain.extend_from_slice(b);
            plain.extend_from_slice(b"=hY7uJ3kL9pQ2wE5rT8yU1iO4aS6dF0g\n");
        }
        let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/planted-linux.dmp");
        let mut data = std::fs::read(fixture).unwrap();
        data.extend_from_slice(&plain);
        data.extend(plain.iter().flat_map(|&b| [b, 0]));
        data.push(0);
        data.extend(plain.iter().flat_map(|&b| [b, 0]));
        assert!(data.len() < plan::CHUNK_SIZE as usize, "one chunk");

        let len = data.len() as u64;
        let mut alone_text = Vec::new();
        text.scan(&data, 0, 0..len, &mut alone_text);
        alone_text.sort_unstable();
        alone_text.dedup_by_key(|m| (m.offset, m.len, m.rule, m.encoding));
        let mut alone_keys = Vec::new();
        for d in chunk_detectors() {
            d.scan(&data, 0, 0..len, &mut alone_keys);
        }
        sort_keys(&mut alone_keys);

        let layout = crate::layout::build(&data, "t", true).unwrap().unwrap();
        let detectors = Detectors::new(text, chunk_detectors(), Vec::new()).unwrap();
        let together = scan(&data, &layout, &detectors);
        assert!(alone_text.len() > 100 && alone_keys.len() > 50);
        assert_eq!(together.matches, alone_text);
        let keys = |k: &[KeyMatch]| -> Vec<_> {
            k.iter()
                .map(|k| (k.offset, k.len, k.rule, k.form.clone(), k.validated))
                .collect()
        };
        assert_eq!(keys(&together.keys), keys(&alone_keys));
    }

    /// A scrub pauses its input hash where the watch says the first change
    /// is: the watch must end at the first match or key the scrub will
    /// redact (a later one would leave the hash running into the scan's
    /// time; an earlier one, pausing it for nothing), and the progress
    /// count at every scanned byte.
    #[test]
    fn the_watch_ends_at_the_first_redaction_and_counts_every_byte() {
        let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/planted-linux.dmp");
        let data = std::fs::read(fixture).unwrap();
        let layout = crate::layout::build(&data, "t", false).unwrap().unwrap();
        let detectors = Detectors::new(
            TextDetector::new(BUILTIN_RULES).unwrap(),
            chunk_detectors(),
            Vec::new(),
        )
        .unwrap();
        for min in [Confidence::Low, Confidence::Medium, Confidence::High] {
            let (done, first) = (AtomicU64::new(0), AtomicU64::new(u64::MAX));
            let watch = Watch {
                done: Some(&done),
                first_change: Some((&first, min)),
            };
            let result = scan_watched(&data, &layout, &detectors, watch);
            let text = result
                .matches
                .iter()
                .filter(|m| detectors.text.rule(m.rule).confidence >= min)
                .map(|m| m.offset);
            let keys = result.keys.iter().filter(|k| k.confidence >= min);
            let want = text.chain(keys.map(|k| k.offset)).min().unwrap();
            assert_eq!(first.into_inner(), want, "{min:?}");
            assert_eq!(done.into_inner(), result.bytes_scanned);
        }
    }
}
