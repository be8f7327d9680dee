//! One search for the literal anchors of every detector of a run.
//!
//! The text rules, the entropy detector's keywords, the DER detector's
//! anchors and the key-blob and OpenSSH magics are all literals. Each
//! packed (Teddy) searcher costs one pass over the chunk, so five
//! detectors searching alone made seven passes where the union of their
//! 185 literals needs three (measured on the benchmark dump, one thread:
//! 1.23 s of searching against 0.83 s), and two when like literals share
//! Teddy's buckets (see [`super::packing`]).
//!
//! The union is searched once per chunk (and once per chunk's UTF-16LE
//! text view) for every position where some literal starts, and each
//! detector, a *client* of the set, reads back exactly the hits its own
//! searcher would have given it:
//!
//! - Needles are the distinct literals, longest first. Every literal that
//!   matches at a position is a prefix of the longest one there, so the
//!   longest (the hit kept for that position) tells every client which of
//!   its literals match: its `claim` is its highest-priority literal among
//!   that needle's prefixes, which is what a leftmost-first searcher of its
//!   own literals reports at that position.
//! - Positions are found by resuming one byte after each hit's start, so
//!   no literal hides another that starts inside it.
//!   [`ClientHits::first`] rebuilds leftmost-first, non-overlapping
//!   iteration from them for clients that want it.

use std::ops::Range;

use aho_corasick::{packed, AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use anyhow::{Context, Result};

/// The literals one detector searches, in its priority order (the first
/// listed wins where two match at one position).
#[derive(Debug, Clone, Default)]
pub struct Client {
    pub literals: Vec<Vec<u8>>,
    /// Whether the client also searches the narrowed UTF-16LE text of the
    /// chunk's view (else the chunk's bytes only).
    pub in_view: bool,
}

/// A detector's literals as it declares them to the run, and a set of them
/// alone, for when it scans without the run's other detectors (tests,
/// benches).
#[derive(Debug, Clone)]
pub struct OwnLiterals {
    pub client: Client,
    alone: LiteralSet,
}

impl OwnLiterals {
    /// Literals searched in the chunk's bytes only, in priority order.
    pub fn new(literals: Vec<Vec<u8>>) -> Result<OwnLiterals> {
        let client = Client {
            literals,
            in_view: false,
        };
        let alone = LiteralSet::new(std::slice::from_ref(&client))?;
        Ok(OwnLiterals { client, alone })
    }

    /// Calls `scan` with the hits of these literals in the whole of `buf`.
    pub fn scan_alone<R>(&self, buf: &[u8], scan: impl FnOnce(ClientHits<'_>) -> R) -> R {
        let hits = self.alone.search_all(buf);
        scan(ClientHits::new(&self.alone, &hits, 0))
    }
}

/// One position where a needle starts: the longest needle there. Eight
/// bytes: a hostile chunk can hold a hit every few bytes (a third of a
/// 4 MiB chunk is 11 MiB of hits), and buffers are at most a chunk long.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Hit {
    start: u32,
    needle: u32,
}

#[derive(Debug, Clone)]
enum Searchers {
    Packed(Vec<Packed>),
    /// Without SSSE3 or AVX2 no packed searcher builds.
    Dfa(AhoCorasick),
}

/// A packed searcher and the needle of each of its patterns.
#[derive(Debug, Clone)]
struct Packed {
    searcher: packed::Searcher,
    needle_of: Vec<u32>,
    /// The length of its shortest needle, when all its needles are
    /// [text](is_text): it then needs searching only where a run of that
    /// many text bytes starts.
    text_min: Option<usize>,
}

const NO_CLAIM: u32 = u32::MAX;

/// Whether every byte of `needle` is printable ASCII. Such needles start
/// only where a run of their bytes does, which a view reads off its
/// anchor mask (see [`LiteralSet::search_chunk`]).
pub fn is_text(needle: &[u8]) -> bool {
    needle.iter().all(|&b| (0x20..0x7f).contains(&b))
}

#[derive(Debug, Clone)]
pub struct LiteralSet {
    searchers: Searchers,
    /// `claims[needle * clients + client]`: the client's literal that
    /// matches where `needle` is the longest match, or `NO_CLAIM`.
    claims: Vec<u32>,
    /// Length of each client's literals.
    lengths: Vec<Vec<usize>>,
    clients: usize,
    /// The distinct literals, longest first.
    needles: Vec<Vec<u8>>,
    /// Some needle starts with a zero byte, so blocks of zeros must be
    /// searched too.
    zero_start: bool,
}

impl LiteralSet {
    pub fn new(clients: &[Client]) -> Result<LiteralSet> {
        let mut needles: Vec<Vec<u8>> = clients
            .iter()
            .flat_map(|c| c.literals.iter().filter(|l| !l.is_empty()).cloned())
            .collect();
        needles.sort_unstable_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
        needles.dedup();
        let mut claims = vec![NO_CLAIM; needles.len() * clients.len()];
        for (n, needle) in needles.iter().enumerate() {
            for (c, client) in clients.iter().enumerate() {
                if let Some(i) = client
                    .literals
                    .iter()
                    .position(|l| !l.is_empty() && needle.starts_with(l))
                {
                    claims[n * clients.len() + c] = i as u32;
                }
            }
        }
        let searchers = Self::searchers(&needles)?;
        Ok(LiteralSet {
            searchers,
            claims,
            lengths: clients
                .iter()
                .map(|c| c.literals.iter().map(Vec::len).collect())
                .collect(),
            clients: clients.len(),
            zero_start: needles.iter().any(|n| n[0] == 0),
            needles,
        })
    }

    fn searchers(needles: &[Vec<u8>]) -> Result<Searchers> {
        let mut searchers = Vec::new();
        for pack in super::packing::pack(needles) {
            let mut config = packed::Config::new();
            config
                .match_kind(packed::MatchKind::LeftmostFirst)
                .heuristic_pattern_limits(!pack.over_limit);
            let patterns = pack.order.iter().map(|&i| &needles[i as usize]);
            let text_min = pack
                .order
                .iter()
                .map(|&i| &needles[i as usize])
                .try_fold(usize::MAX, |min, n| is_text(n).then(|| min.min(n.len())));
            match config.builder().extend(patterns).build() {
                Some(searcher) => searchers.push(Packed {
                    searcher,
                    needle_of: pack.order,
                    text_min,
                }),
                None => {
                    let dfa = AhoCorasickBuilder::new()
                        .match_kind(MatchKind::LeftmostFirst)
                        .kind(Some(AhoCorasickKind::DFA))
                        .build(needles)
                        .context("building the literal automaton")?;
                    return Ok(Searchers::Dfa(dfa));
                }
            }
        }
        Ok(Searchers::Packed(searchers))
    }

    /// Appends to `out`, in order, every position of `spans` (each searched
    /// alone) where a needle starts, with the longest needle there. `buf`
    /// is at most a scan chunk: less than 4 GiB.
    pub fn search(&self, buf: &[u8], spans: &[Range<usize>], out: &mut Vec<Hit>) {
        self.search_chunk(buf, spans, None, out);
    }

    /// The shortest needle of the searchers whose needles are all text,
    /// if there are such searchers.
    pub fn text_min(&self) -> Option<usize> {
        match &self.searchers {
            Searchers::Packed(searchers) => searchers.iter().filter_map(|p| p.text_min).min(),
            Searchers::Dfa(_) => None,
        }
    }

    /// Every needle that is [text](is_text).
    pub fn text_needles(&self) -> impl Iterator<Item = &[u8]> {
        self.needles
            .iter()
            .map(Vec::as_slice)
            .filter(|n| is_text(n))
    }

    /// [`search`](Self::search), where the searchers of text needles
    /// search `text_spans`, when given, instead of `spans`. They must hold
    /// every position of `spans` where a run of [`text_min`](Self::text_min)
    /// text bytes starts (where such a needle can start), with
    /// [`reach`](Self::reach) bytes after it.
    pub fn search_chunk(
        &self,
        buf: &[u8],
        spans: &[Range<usize>],
        text_spans: Option<&[Range<usize>]>,
        out: &mut Vec<Hit>,
    ) {
        assert!(u32::try_from(buf.len()).is_ok(), "a buffer of over 4 GiB");
        let first = out.len();
        let mut groups = 0;
        match &self.searchers {
            Searchers::Packed(searchers) => {
                for Packed {
                    searcher,
                    needle_of,
                    text_min,
                } in searchers
                {
                    groups += 1;
                    let spans = match (text_min, text_spans) {
                        (Some(_), Some(text)) => text,
                        _ => spans,
                    };
                    for span in spans {
                        let mut at = span.start;
                        while at < span.end {
                            let Some(m) =
                                searcher.find_in(buf, aho_corasick::Span::from(at..span.end))
                            else {
                                break;
                            };
                            out.push(Hit {
                                start: m.start() as u32,
                                needle: needle_of[m.pattern().as_usize()],
                            });
                            at = m.start() + 1;
                        }
                    }
                }
            }
            Searchers::Dfa(dfa) => {
                for span in spans {
                    let mut at = span.start;
                    while at < span.end {
                        let input = aho_corasick::Input::new(buf).span(at..span.end);
                        let Some(m) = dfa.find(input) else {
                            break;
                        };
                        out.push(Hit {
                            start: m.start() as u32,
                            needle: m.pattern().as_u32(),
                        });
                        at = m.start() + 1;
                    }
                }
            }
        }
        if groups > 1 {
            // Needles are longest first: the smallest index at a position
            // is the longest needle there.
            out[first..].sort_unstable();
            let mut kept = first;
            for i in first..out.len() {
                if kept == first || out[kept - 1].start != out[i].start {
                    out[kept] = out[i];
                    kept += 1;
                }
            }
            out.truncate(kept);
        }
    }

    /// [`search`](Self::search) of the whole of `buf`.
    pub fn search_all(&self, buf: &[u8]) -> Vec<Hit> {
        let mut hits = Vec::new();
        self.search(buf, std::slice::from_ref(&(0..buf.len())), &mut hits);
        hits
    }

    /// Bytes a needle can reach past its first: a span searched must run
    /// this far past the last position searched for a start.
    pub fn reach(&self) -> usize {
        self.needles.first().map_or(0, Vec::len).saturating_sub(1)
    }

    /// The spans of a chunk to search, given its spans of nonzero bytes:
    /// no needle starts in zeros (else the whole chunk), but one may run
    /// into them.
    pub fn chunk_spans(&self, len: usize, nonzero: &[Range<usize>], out: &mut Vec<Range<usize>>) {
        out.clear();
        if self.zero_start {
            out.push(0..len);
            return;
        }
        let reach = self.reach();
        for span in nonzero {
            let end = (span.end + reach).min(len);
            match out.last_mut() {
                Some(last) if last.end >= span.start => last.end = end,
                _ => out.push(span.start..end),
            }
        }
    }

    #[inline]
    fn claim(&self, hit: Hit, client: usize) -> Option<u32> {
        let c = self.claims[hit.needle as usize * self.clients + client];
        (c != NO_CLAIM).then_some(c)
    }
}

/// One client's hits in one buffer.
#[derive(Clone, Copy)]
pub struct ClientHits<'a> {
    set: Option<&'a LiteralSet>,
    hits: &'a [Hit],
    client: usize,
}

impl<'a> ClientHits<'a> {
    pub fn new(set: &'a LiteralSet, hits: &'a [Hit], client: usize) -> ClientHits<'a> {
        debug_assert!(client < set.clients);
        ClientHits {
            set: Some(set),
            hits,
            client,
        }
    }

    /// For a detector with no literals.
    pub fn none() -> ClientHits<'static> {
        ClientHits {
            set: None,
            hits: &[],
            client: 0,
        }
    }

    /// Every position where one of the client's literals starts, as
    /// `(start, end, literal)`: its first-listed literal there. Hits may
    /// overlap.
    pub fn iter(&self) -> impl Iterator<Item = (usize, usize, u32)> + 'a {
        let (set, client) = (self.set, self.client);
        self.hits.iter().filter_map(move |&h| {
            let set = set?;
            let lit = set.claim(h, client)?;
            let start = h.start as usize;
            Some((start, start + set.lengths[client][lit as usize], lit))
        })
    }

    /// Those of [`iter`](Self::iter) that start in `range`.
    pub fn starting_in(
        &self,
        range: Range<usize>,
    ) -> impl Iterator<Item = (usize, usize, u32)> + 'a {
        let from = self
            .hits
            .partition_point(|h| (h.start as usize) < range.start);
        // An empty or reversed range (a caller's position past its end)
        // has no hits.
        let to = self
            .hits
            .partition_point(|h| (h.start as usize) < range.end)
            .max(from);
        ClientHits {
            hits: &self.hits[from..to],
            ..*self
        }
        .iter()
    }

    /// What a leftmost-first searcher of the client's literals finds first
    /// in `buf[from..to]`: the first hit starting at or after `from` that
    /// ends by `to`.
    pub fn first(&self, from: usize, to: usize) -> Option<(usize, usize, u32)> {
        self.starting_in(from..to).find(|&(_, end, _)| end <= to)
    }
}

#[cfg(test)]
mod tests {
    use super::super::packing;
    use super::*;

    fn client(lits: &[&str], in_view: bool) -> Client {
        Client {
            literals: lits.iter().map(|l| l.as_bytes().to_vec()).collect(),
            in_view,
        }
    }

    /// Leftmost-first, non-overlapping search of `lits` alone, as each
    /// detector did with its own searcher.
    fn alone(lits: &[&str], hay: &[u8]) -> Vec<(usize, usize, u32)> {
        let ac = AhoCorasickBuilder::new()
            .match_kind(MatchKind::LeftmostFirst)
            .build(lits)
            .unwrap();
        ac.find_iter(hay)
            .map(|m| (m.start(), m.end(), m.pattern().as_u32()))
            .collect()
    }

    fn chained(hits: &ClientHits<'_>, len: usize) -> Vec<(usize, usize, u32)> {
        let mut out = Vec::new();
        let mut at = 0;
        while let Some(h) = hits.first(at, len) {
            out.push(h);
            at = h.1;
        }
        out
    }

    #[test]
    fn each_client_gets_what_its_own_searcher_finds() {
        // Clients whose literals are prefixes of, contained in and equal to
        // each other's, with priorities that are not longest-first, and
        // more needles than one packed searcher takes.
        let text: Vec<String> = (0..150).map(|i| format!("tok{i:03}_")).collect();
        let text: Vec<&str> = text.iter().map(String::as_str).collect();
        let clients = [
            client(&["pwd", "password", "pwd=", "secret"], true),
            client(&["aws_secret", "secret", "pass"], true),
            client(&text, false),
            client(&["RSA2", "RSA", "\x02\x01\x00"], false),
        ];
        let set = LiteralSet::new(&clients).unwrap();
        let hay = b"x password=pwd=aws_secretsecret RSA2 \x02\x01\x00\x00 tok007_tok149_ pass pwd"
            .repeat(3);
        let hits = set.search_all(&hay);
        for (c, cl) in clients.iter().enumerate() {
            let lits: Vec<&str> = cl
                .literals
                .iter()
                .map(|l| std::str::from_utf8(l).unwrap())
                .collect();
            let mine = ClientHits::new(&set, &hits, c);
            assert_eq!(chained(&mine, hay.len()), alone(&lits, &hay), "client {c}");
            // Every occurrence of every literal is at some hit's start.
            for lit in &lits {
                for (p, w) in hay.windows(lit.len()).enumerate() {
                    if w == lit.as_bytes() {
                        assert!(mine.iter().any(|h| h.0 == p), "{lit:?} at {p}");
                    }
                }
            }
        }
    }

    /// With enough literals to be packed into clustered searchers, every
    /// position where a literal starts is found, with the first-listed
    /// literal there, as a naive search of each position finds it.
    #[test]
    fn clustered_searchers_find_every_position_where_a_literal_starts() {
        // A small alphabet makes literals that are prefixes of each other
        // and a haystack where they overlap.
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move |n: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % n
        };
        let alphabet = b"ab_-Q~09AKIAghp:/=.";
        let mut literals: Vec<Vec<u8>> = (0..260)
            .map(|_| {
                let len = 3 + next(10) as usize;
                (0..len)
                    .map(|_| alphabet[next(alphabet.len() as u64) as usize])
                    .collect()
            })
            .collect();
        // Prefixes of other literals, and a literal of two bytes.
        for i in 0..40 {
            let l = literals[i].clone();
            literals.push(l[..3.max(l.len() / 2)].to_vec());
        }
        literals.push(b"Q~".to_vec());
        let clients = [Client {
            literals: literals.clone(),
            in_view: false,
        }];
        let set = LiteralSet::new(&clients).unwrap();
        let mut needles = literals.clone();
        needles.sort_unstable_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
        needles.dedup();
        assert!(
            packing::pack(&needles).iter().any(|p| p.over_limit) || !packing::fat_teddy(),
            "the literals were not clustered"
        );
        let mut hay = Vec::new();
        while hay.len() < 200_000 {
            if next(3) == 0 {
                hay.extend_from_slice(&literals[next(literals.len() as u64) as usize]);
            } else {
                hay.push(alphabet[next(alphabet.len() as u64) as usize]);
            }
        }
        let hits = set.search_all(&hay);
        let found: Vec<(usize, usize)> = ClientHits::new(&set, &hits, 0)
            .iter()
            .map(|(s, e, _)| (s, e))
            .collect();
        let naive: Vec<(usize, usize)> = (0..hay.len())
            .filter_map(|p| {
                let first = literals.iter().find(|l| hay[p..].starts_with(l))?;
                Some((p, p + first.len()))
            })
            .collect();
        assert!(naive.len() > 10_000, "{} positions", naive.len());
        assert_eq!(found, naive);
    }

    #[test]
    fn a_reversed_range_has_no_hits() {
        let set = LiteralSet::new(&[client(&["abc"], false)]).unwrap();
        let hits = set.search_all(b"abc abc abc");
        let mine = ClientHits::new(&set, &hits, 0);
        assert_eq!(mine.starting_in(0..11).count(), 3);
        #[allow(clippy::reversed_empty_ranges)]
        let reversed = 9..2;
        assert_eq!(mine.starting_in(reversed).count(), 0);
        assert_eq!(mine.first(20, 5), None);
    }

    #[test]
    fn hits_that_run_into_zeros_are_found_from_nonzero_spans() {
        let set = LiteralSet::new(&[client(&["\x02\x01\x00", "abc"], false)]).unwrap();
        let mut buf = vec![0u8; 256];
        buf[62] = 2;
        buf[63] = 1;
        buf[130..133].copy_from_slice(b"abc");
        let mut spans = Vec::new();
        set.chunk_spans(buf.len(), &[0..64, 128..192], &mut spans);
        let mut hits = Vec::new();
        set.search(&buf, &spans, &mut hits);
        let found: Vec<_> = ClientHits::new(&set, &hits, 0).iter().collect();
        assert_eq!(found, vec![(62, 65, 0), (130, 133, 1)]);
    }
}
