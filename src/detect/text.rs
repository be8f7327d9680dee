//! The text detector: every literal anchor of every rule found in ASCII
//! and UTF-16LE (by the run's one literal search, `literals`), then each
//! hit confirmed by its rule's regex in a bounded window.
//!
//! The ASCII anchors are searched in the chunk, and again in the chunk's
//! [`TextView`], which holds its UTF-16LE runs narrowed to one byte per
//! unit at either byte alignment: one set of searchers serves both
//! encodings. A UTF-16 hit is narrowed again around its position in the
//! chunk (every other byte, stopping at the first code unit outside ASCII)
//! and the same regex confirms it, so one rule serves both.

use anyhow::{Context, Result};
use regex::bytes::Regex;

use super::view::{Hits, TextView, ViewSpec};
use super::{Encoding, RawMatch};
use crate::rules::{passes_entropy, Rule, SecretGroup};

struct Pattern {
    /// Indices of the rules this literal triggers: those that list it, and
    /// those that list a literal it contains (see [`TextDetector::new`]).
    rules: Vec<u32>,
    /// Length of the literal in characters.
    chars: usize,
    literal: String,
}

/// The patterns of one searched literal, by the encoding of the run the
/// hit is in; `None` where no rule looks at that encoding.
struct LiteralIds {
    ascii: Option<u32>,
    utf16: Option<u32>,
}

/// Which capture group of a match is the secret.
#[derive(Clone, Copy)]
enum Pick {
    Whole,
    Group(usize),
    FirstNonEmpty,
}

struct Compiled {
    rule: Rule,
    regex: Regex,
    pick: Pick,
}

pub struct TextDetector {
    /// Indexed by the literals' ids (their index in `needles`).
    literals: Vec<LiteralIds>,
    needles: Vec<Vec<u8>>,
    spec: ViewSpec,
    patterns: Vec<Pattern>,
    rules: Vec<Compiled>,
    max_chars: usize,
}

impl TextDetector {
    /// Compiles `rules` into one detector.
    ///
    /// Every position where a literal starts is reported once, with the
    /// first-listed literal there, so a literal hides the ones that are its
    /// prefixes. Literals are therefore ordered longest first, and a
    /// literal's hit also triggers the rules of every literal it contains:
    /// every rule that should look there does.
    pub fn new<R: Clone + Into<Rule>>(rules: &[R]) -> Result<Self> {
        let rules: Vec<Rule> = rules.iter().cloned().map(Into::into).collect();
        let mut compiled = Vec::with_capacity(rules.len());
        for rule in &rules {
            let regex = Regex::new(&rule.regex)
                .with_context(|| format!("rule {}: invalid regex", rule.id))?;
            let pick = match &rule.secret_group {
                SecretGroup::Default => regex
                    .capture_names()
                    .position(|n| n == Some("secret"))
                    .map_or(Pick::Whole, Pick::Group),
                SecretGroup::Named(name) => Pick::Group(
                    regex
                        .capture_names()
                        .position(|n| n == Some(name.as_str()))
                        .with_context(|| {
                            format!("rule {}: the regex has no group named {name:?}", rule.id)
                        })?,
                ),
                SecretGroup::Index(i) if *i < regex.captures_len() => Pick::Group(*i),
                SecretGroup::Index(i) => anyhow::bail!(
                    "rule {}: the regex has no capture group {i} (it has {})",
                    rule.id,
                    regex.captures_len() - 1
                ),
                SecretGroup::FirstNonEmpty => Pick::FirstNonEmpty,
            };
            compiled.push(Compiled {
                rule: rule.clone(),
                regex,
                pick,
            });
        }

        let mut literals: Vec<&str> = rules
            .iter()
            .flat_map(|r| r.anchors.iter().map(|a| a.as_ref()))
            .filter(|a| !a.is_empty())
            .collect();
        literals.sort_unstable_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
        literals.dedup();
        let mut patterns = Vec::new();
        let mut needles: Vec<Vec<u8>> = Vec::new();
        let mut literal_ids = Vec::new();
        for &literal in &literals {
            let mut ids = LiteralIds {
                ascii: None,
                utf16: None,
            };
            for encoding in [Encoding::Ascii, Encoding::Utf16le] {
                let sharing: Vec<u32> = rules
                    .iter()
                    .enumerate()
                    .filter(|(_, r)| match encoding {
                        Encoding::Utf16le => r.utf16le,
                        _ => r.ascii,
                    })
                    .filter(|(_, r)| r.anchors.iter().any(|a| literal.contains(a.as_ref())))
                    .map(|(i, _)| i as u32)
                    .collect();
                if sharing.is_empty() {
                    continue;
                }
                let id = Some(patterns.len() as u32);
                match encoding {
                    Encoding::Utf16le => ids.utf16 = id,
                    _ => ids.ascii = id,
                }
                patterns.push(Pattern {
                    rules: sharing,
                    chars: literal.len(),
                    literal: literal.to_string(),
                });
            }
            if ids.ascii.is_some() || ids.utf16.is_some() {
                needles.push(literal.as_bytes().to_vec());
                literal_ids.push(ids);
            }
        }
        let spec = ViewSpec::for_literals(needles.iter().map(Vec::as_slice), None)
            .context("building the anchor searchers")?;
        let max_chars = rules.iter().map(|r| r.max_len).max().unwrap_or(0);
        Ok(TextDetector {
            literals: literal_ids,
            needles,
            spec,
            patterns,
            rules: compiled,
            max_chars,
        })
    }

    pub fn rule(&self, index: u32) -> &Rule {
        &self.rules[index as usize].rule
    }

    pub fn rule_count(&self) -> usize {
        self.rules.len()
    }

    pub fn anchor_literal(&self, anchor: u32) -> &str {
        &self.patterns[anchor as usize].literal
    }

    /// The longest span, in bytes, one match can cover: the overlap scan
    /// chunks need so that no match is cut in two.
    pub fn max_match_bytes(&self) -> usize {
        2 * (self.max_chars + 2)
    }

    /// The literals searched in the chunk and in its text view (ASCII
    /// bytes), in priority order: longest first.
    pub fn literals(&self) -> impl Iterator<Item = &[u8]> + Clone {
        self.needles.iter().map(Vec::as_slice)
    }

    /// Scans `buf`, which holds the file bytes starting at `base`, and
    /// appends matches whose secret starts in `own` (file offsets).
    pub fn scan(&self, buf: &[u8], base: u64, own: std::ops::Range<u64>, out: &mut Vec<RawMatch>) {
        let view = TextView::build(buf, &self.spec);
        self.scan_view(&view, view.hits(0), base, own, out);
    }

    /// [`scan`](Self::scan) of `view.buf`, given the hits of
    /// [`literals`](Self::literals) in the view (client of its literal set
    /// with exactly those literals, in that order).
    ///
    /// Every position where a literal starts is looked at, with the
    /// longest literal there: none hides another that starts inside it.
    pub fn scan_view(
        &self,
        view: &TextView<'_>,
        hits: Hits<'_>,
        base: u64,
        own: std::ops::Range<u64>,
        out: &mut Vec<RawMatch>,
    ) {
        let buf = view.buf;
        let mut narrow = Vec::new();
        for (start, end, lit) in hits.chunk.iter() {
            let Some(pid) = self.literals[lit as usize].ascii else {
                continue;
            };
            for &ri in &self.patterns[pid as usize].rules {
                let c = &self.rules[ri as usize];
                self.confirm_ascii(c, ri, pid, buf, base, start, end, &own, out);
            }
        }
        // UTF-16LE: the view's narrowed runs, where the same (ASCII)
        // literals were searched.
        for (start, _, lit) in hits.text.iter() {
            let Some(pid) = self.literals[lit as usize].utf16 else {
                continue;
            };
            let pattern = &self.patterns[pid as usize];
            let at = view.piece_at(start).chunk_pos(start);
            for &ri in &pattern.rules {
                let c = &self.rules[ri as usize];
                self.confirm_utf16(
                    c,
                    ri,
                    pid,
                    buf,
                    base,
                    at,
                    pattern.chars,
                    &own,
                    &mut narrow,
                    out,
                );
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn confirm_ascii(
        &self,
        c: &Compiled,
        ri: u32,
        pid: u32,
        buf: &[u8],
        base: u64,
        hit_start: usize,
        hit_end: usize,
        own: &std::ops::Range<u64>,
        out: &mut Vec<RawMatch>,
    ) {
        let reach = c.rule.max_len + 1;
        let lo = hit_end.saturating_sub(reach);
        let hi = (hit_start + reach).min(buf.len());
        let window = &buf[lo..hi];
        for (s, e) in confirm(c, window, hit_start - lo, hit_end - lo) {
            let offset = base + (lo + s) as u64;
            if own.contains(&offset) {
                out.push(RawMatch {
                    offset,
                    len: (e - s) as u64,
                    rule: ri,
                    encoding: Encoding::Ascii,
                    anchor: pid,
                });
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn confirm_utf16(
        &self,
        c: &Compiled,
        ri: u32,
        pid: u32,
        buf: &[u8],
        base: u64,
        hit_start: usize,
        chars: usize,
        own: &std::ops::Range<u64>,
        narrow: &mut Vec<u8>,
        out: &mut Vec<RawMatch>,
    ) {
        let reach = c.rule.max_len + 1;
        let is_ascii_unit =
            |i: usize| i + 1 < buf.len() && buf[i + 1] == 0 && (1..0x80).contains(&buf[i]);
        // Walk back over ASCII code units from the hit, then forward.
        let mut start = hit_start;
        let mut back = 0;
        while back < reach && start >= 2 && is_ascii_unit(start - 2) {
            start -= 2;
            back += 1;
        }
        let mut end = hit_start + 2 * chars;
        let mut fwd = 0;
        while fwd < reach && is_ascii_unit(end) {
            end += 2;
            fwd += 1;
        }
        narrow.clear();
        narrow.extend(buf[start..end].iter().step_by(2));
        let hit_s = (hit_start - start) / 2;
        for (s, e) in confirm(c, narrow, hit_s, hit_s + chars) {
            let offset = base + (start + 2 * s) as u64;
            if own.contains(&offset) {
                out.push(RawMatch {
                    offset,
                    len: 2 * (e - s) as u64,
                    rule: ri,
                    encoding: Encoding::Utf16le,
                    anchor: pid,
                });
            }
        }
    }

    /// Does `text` (ASCII) produce a finding of rule `index` in some
    /// encoding? Used to check each rule's examples in every encoding and
    /// alignment, through the same code path a dump scan takes.
    pub fn finds(&self, index: u32, text: &[u8], encoding: Encoding, misalign: bool) -> bool {
        let mut buf = Vec::new();
        if misalign {
            buf.push(b'#');
        }
        buf.extend(encode(text, encoding));
        let mut out = Vec::new();
        self.scan(&buf, 0, 0..buf.len() as u64, &mut out);
        out.iter()
            .any(|m| m.rule == index && m.encoding == encoding)
    }
}

/// Regex matches in `window` that overlap the anchor hit `[hs, he)` and pass
/// the entropy floor; returns the secret spans.
fn confirm(c: &Compiled, window: &[u8], hs: usize, he: usize) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    for caps in c.regex.captures_iter(window) {
        let whole = caps.get(0).expect("group 0 always matches");
        if whole.end() <= hs || whole.start() >= he {
            continue;
        }
        let secret = match c.pick {
            Pick::Whole => whole,
            Pick::Group(g) => caps.get(g).unwrap_or(whole),
            Pick::FirstNonEmpty => caps
                .iter()
                .skip(1)
                .flatten()
                .find(|m| !m.is_empty())
                .unwrap_or(whole),
        };
        if secret.is_empty() || !passes_entropy(c.rule.min_entropy, secret.as_bytes()) {
            continue;
        }
        spans.push((secret.start(), secret.end()));
    }
    spans
}

/// `text` in the given encoding (ASCII input).
pub fn encode(text: &[u8], encoding: Encoding) -> Vec<u8> {
    match encoding {
        Encoding::Ascii | Encoding::Binary => text.to_vec(),
        Encoding::Utf16le => text.iter().flat_map(|&b| [b, 0]).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::BUILTIN_RULES;

    /// Every built-in rule's examples, through the real detector, in ASCII
    /// and in UTF-16LE at both byte alignments, embedded in a buffer.
    #[test]
    fn builtin_examples_in_every_encoding() {
        let det = TextDetector::new(BUILTIN_RULES).unwrap();
        let mut failures = Vec::new();
        for (i, rule) in BUILTIN_RULES.iter().enumerate() {
            for enc in [Encoding::Ascii, Encoding::Utf16le] {
                for misalign in [false, true] {
                    for ex in rule.true_examples {
                        if !det.finds(i as u32, ex.as_bytes(), enc, misalign) {
                            failures.push(format!(
                                "{} missed {:?} ({enc:?}, misalign {misalign})",
                                rule.id, ex
                            ));
                        }
                    }
                    for ex in rule.false_examples {
                        if det.finds(i as u32, ex.as_bytes(), enc, misalign) {
                            failures.push(format!(
                                "{} matched false example {:?} ({enc:?})",
                                rule.id, ex
                            ));
                        }
                    }
                }
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn utf16_match_covers_both_bytes_of_each_unit() {
        let det = TextDetector::new(BUILTIN_RULES).unwrap();
        let token = b"xx ghp_Zq3X9fKp2LmN8vR4tY6wB1cD5eH7jA0sUiOo yy";
        let mut buf = vec![0xffu8; 3];
        buf.extend(encode(token, Encoding::Utf16le));
        let mut out = Vec::new();
        det.scan(&buf, 1000, 0..u64::MAX, &mut out);
        let m = out
            .iter()
            .find(|m| m.encoding == Encoding::Utf16le)
            .expect("found");
        assert_eq!(m.offset, 1000 + 3 + 2 * 3);
        assert_eq!(m.len, 2 * 40);
    }
}
