//! Policies: what a scrub removes beyond the secrets the detectors
//! recognise, for teams that would rather hand out less of the process.
//!
//! A policy turns the layout's address maps (module images and thread
//! stacks) into extra bytes to zero and, for `sanitize-stacks`, stack words
//! to overwrite with a sentinel. Structure is never touched, so every policy
//! leaves a dump that parses and unwinds. Detection runs under every policy;
//! the policy only adds to what the findings remove. See `docs/policies.md`.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::layout::{AddrSpan, Format, Layout, RangeKind};

/// How much of the process a scrub keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Policy {
    /// Remove what the detectors recognise, nothing else.
    #[default]
    Detect,
    /// Also zero all memory that is neither a thread stack nor a module
    /// image.
    StripHeap,
    /// Keep only stack memory, structure and module names.
    StackOnly,
    /// `stack-only`, and every stack word that is neither a small integer
    /// nor a pointer into a module or a stack becomes [`SENTINEL`].
    SanitizeStacks,
}

impl Policy {
    pub const ALL: [Policy; 4] = [
        Policy::Detect,
        Policy::StripHeap,
        Policy::StackOnly,
        Policy::SanitizeStacks,
    ];
    pub const NAMES: [&'static str; 4] = ["detect", "strip-heap", "stack-only", "sanitize-stacks"];

    pub fn as_str(self) -> &'static str {
        match self {
            Policy::Detect => "detect",
            Policy::StripHeap => "strip-heap",
            Policy::StackOnly => "stack-only",
            Policy::SanitizeStacks => "sanitize-stacks",
        }
    }
}

impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Policy {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Policy::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown policy {s:?}; expected one of {}",
                    Policy::NAMES.join(", ")
                )
            })
    }
}

/// What replaces a sanitized stack word (truncated to 32 bits for 32-bit
/// processes). Crashpad's value, so that anyone who has read a sanitized
/// Crashpad dump recognises it; on 64-bit it is a non-canonical address, so
/// no unwinder can mistake it for a return address or a frame pointer.
pub const SENTINEL: u64 = 0x0def_aced_0def_aced;

/// Words up to this value are kept as small integers (counts, flags,
/// enum values): the first page is never mapped, so none is a pointer.
/// Crashpad's threshold.
pub const SMALL_WORD_MAX: u64 = 4096;

/// Per-file account of what the policy removed, apart from the findings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyCounts {
    pub name: &'static str,
    /// Non-zero bytes the policy zeroed (or would zero, for `scan`) outside
    /// every finding: information actually removed, not span sizes.
    pub bytes_zeroed: u64,
    /// Stack words overwritten with the sentinel.
    pub words_sanitized: u64,
}

/// What a policy adds to the redaction of the findings.
#[derive(Debug, Clone)]
pub struct PolicyPlan {
    /// Sorted, disjoint `[start, end)` file spans to zero; none overlaps
    /// structure or a finding span.
    pub zero: Vec<(u64, u64)>,
    /// File offsets of the words to overwrite with `sentinel`; none
    /// overlaps `zero`, structure or a finding span.
    pub words: Vec<u64>,
    /// The sentinel's bytes, little-endian, one word long.
    pub sentinel: Vec<u8>,
    pub counts: PolicyCounts,
}

/// Plans `policy` over `data`. `findings` is the findings' redaction plan
/// (sorted, disjoint), which the policy leaves to them; `pointer_size` is
/// the crashed process's word size, needed by `sanitize-stacks` only.
pub fn plan(
    policy: Policy,
    data: &[u8],
    layout: &Layout,
    pointer_size: Option<usize>,
    findings: &[(u64, u64)],
) -> Result<PolicyPlan, String> {
    let mut out = PolicyPlan {
        zero: Vec::new(),
        words: Vec::new(),
        sentinel: Vec::new(),
        counts: PolicyCounts {
            name: policy.as_str(),
            bytes_zeroed: 0,
            words_sanitized: 0,
        },
    };
    if policy == Policy::Detect {
        return Ok(out);
    }
    if layout.format == Format::Raw {
        return Err(format!(
            "--policy {policy} needs a dump that lists its threads and modules; a --raw input has neither"
        ));
    }
    let word = match policy {
        Policy::SanitizeStacks => Some(word_size(pointer_size, policy)?),
        _ => None,
    };
    let stacks = merged(&layout.stacks);
    let pointer_targets = merged_all(&[&layout.modules, &layout.stacks]);
    let kept_memory = match policy {
        Policy::StripHeap => pointer_targets.clone(),
        _ => stacks.clone(),
    };
    let keep_payloads = policy == Policy::StripHeap;

    let mut zero: Vec<(u64, u64)> = Vec::new();
    let mut stack_parts: Vec<(u64, u64, u64)> = Vec::new();
    for r in &layout.ranges {
        match r.kind {
            RangeKind::Structure => {}
            RangeKind::Memory => match r.vaddr {
                Some(vaddr) => {
                    for (kept, at, len) in split(vaddr, r.len, &kept_memory) {
                        let offset = r.start + (at - vaddr);
                        if !kept {
                            zero.push((offset, len));
                        } else if word.is_some() {
                            stack_parts.push((offset, at, len));
                        }
                    }
                }
                // Memory of unknown address cannot be shown to be a stack.
                None => zero.push((r.start, r.len)),
            },
            // Module names stay under every policy: Linux symbol files are
            // found by the module's file name, and Windows binaries by the
            // image name; without them no frame can be symbolised.
            RangeKind::Stream if keep_payloads || r.origin.name.ends_with("module name") => {}
            RangeKind::Stream | RangeKind::Unreferenced => zero.push((r.start, r.len)),
        }
    }

    if let Some(w) = word {
        let sentinel = SENTINEL.to_le_bytes()[..w].to_vec();
        let sentinel_value = word_value(&sentinel);
        if contains(&pointer_targets, sentinel_value) {
            return Err(format!(
                "the sanitize-stacks sentinel {sentinel_value:#x} lies inside a module or stack of this dump, so sanitized words could not be told from pointers"
            ));
        }
        for (offset, vaddr, len) in stack_parts {
            sanitize(
                data,
                (offset, vaddr, len),
                w,
                &pointer_targets,
                findings,
                &sentinel,
                &mut zero,
                &mut out.words,
            );
        }
        out.sentinel = sentinel;
    }

    let untouchable = union(&layout.protected_spans(), findings);
    out.zero = crate::redact::plan(zero, &untouchable);
    out.counts.bytes_zeroed = out.zero.iter().map(|&(s, e)| non_zero(data, s, e)).sum();
    out.counts.words_sanitized = out.words.len() as u64;
    Ok(out)
}

fn word_size(pointer_size: Option<usize>, policy: Policy) -> Result<usize, String> {
    match pointer_size {
        Some(w @ (4 | 8)) => Ok(w),
        _ => Err(format!(
            "--policy {policy} needs the crashed process's pointer size, and this dump's system information does not name a CPU dumpscrub knows"
        )),
    }
}

/// Walks one kept stack piece word by word (aligned by address, as the
/// process stored them). Bytes before the first and after the last whole
/// word cannot hold a pointer and are zeroed.
#[allow(clippy::too_many_arguments)]
fn sanitize(
    data: &[u8],
    (offset, vaddr, len): (u64, u64, u64),
    w: usize,
    pointer_targets: &[(u64, u64)],
    findings: &[(u64, u64)],
    sentinel: &[u8],
    zero: &mut Vec<(u64, u64)>,
    words: &mut Vec<u64>,
) {
    let wl = w as u64;
    let head = (wl - vaddr % wl) % wl;
    let head = head.min(len);
    let whole = (len - head) / wl;
    let tail = len - head - whole * wl;
    zero.push((offset, head));
    zero.push((offset + head + whole * wl, tail));
    for i in 0..whole {
        let at = offset + head + i * wl;
        let Some(bytes) = data.get(at as usize..at as usize + w) else {
            // The layout bounded every range by the file; nothing to do
            // for a word that is not there.
            continue;
        };
        let value = word_value(bytes);
        if value <= SMALL_WORD_MAX || contains(pointer_targets, value) || bytes == sentinel {
            continue;
        }
        if overlaps(findings, at, at + wl) {
            // Part of the word is a secret being zeroed; zero the rest of
            // it too rather than leave a fragment next to the sentinel.
            zero.push((at, wl));
        } else {
            words.push(at);
        }
    }
}

fn word_value(bytes: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    let n = bytes.len().min(8);
    b[..n].copy_from_slice(&bytes[..n]);
    u64::from_le_bytes(b)
}

/// Non-zero bytes in `data[s..e]`; in parallel, as `strip-heap` on a
/// full-memory dump counts most of the file.
fn non_zero(data: &[u8], s: u64, e: u64) -> u64 {
    use rayon::prelude::*;
    data.get(s as usize..e as usize).map_or(0, |b| {
        b.par_chunks(1 << 20)
            .map(|c| c.iter().filter(|&&x| x != 0).count() as u64)
            .sum()
    })
}

/// Sorted, merged `[start, end)` address intervals.
fn merged(spans: &[AddrSpan]) -> Vec<(u64, u64)> {
    merged_all(&[spans])
}

fn merged_all(lists: &[&[AddrSpan]]) -> Vec<(u64, u64)> {
    let mut v: Vec<(u64, u64)> = lists
        .iter()
        .flat_map(|l| l.iter())
        .filter(|s| s.len > 0)
        .map(|s| (s.start, s.end()))
        .collect();
    v.sort_unstable();
    let mut out: Vec<(u64, u64)> = Vec::with_capacity(v.len());
    for (s, e) in v {
        match out.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => out.push((s, e)),
        }
    }
    out
}

/// Union of two sorted, disjoint span lists.
fn union(a: &[(u64, u64)], b: &[(u64, u64)]) -> Vec<(u64, u64)> {
    let mut v: Vec<(u64, u64)> = a.iter().chain(b).copied().collect();
    v.sort_unstable();
    let mut out: Vec<(u64, u64)> = Vec::with_capacity(v.len());
    for (s, e) in v {
        match out.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => out.push((s, e)),
        }
    }
    out
}

fn contains(intervals: &[(u64, u64)], x: u64) -> bool {
    let i = intervals.partition_point(|&(_, e)| e <= x);
    intervals.get(i).is_some_and(|&(s, _)| s <= x)
}

fn overlaps(intervals: &[(u64, u64)], s: u64, e: u64) -> bool {
    let i = intervals.partition_point(|&(_, end)| end <= s);
    intervals.get(i).is_some_and(|&(start, _)| start < e)
}

/// Cuts the address span `[vaddr, vaddr + len)` at the edges of `keep`:
/// (kept, address, length) pieces in address order.
fn split(vaddr: u64, len: u64, keep: &[(u64, u64)]) -> Vec<(bool, u64, u64)> {
    let end = vaddr.saturating_add(len);
    let mut out = Vec::new();
    let mut at = vaddr;
    let mut i = keep.partition_point(|&(_, e)| e <= vaddr);
    while at < end {
        match keep.get(i) {
            Some(&(ks, ke)) if ks < end => {
                if ks > at {
                    out.push((false, at, ks - at));
                    at = ks;
                }
                let stop = ke.min(end);
                out.push((true, at, stop - at));
                at = stop;
                i += 1;
            }
            _ => {
                out.push((false, at, end - at));
                at = end;
            }
        }
    }
    // A region that wraps the address space: the unaddressable rest is not
    // a stack.
    if end - vaddr < len {
        out.push((false, end, len - (end - vaddr)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_are_refused() {
        for p in Policy::ALL {
            assert_eq!(p.as_str().parse::<Policy>(), Ok(p));
        }
        assert_eq!(Policy::default(), Policy::Detect);
        let e = "strip_heap".parse::<Policy>().unwrap_err();
        assert!(
            e.contains("strip-heap") && e.contains("\"strip_heap\""),
            "{e}"
        );
    }

    #[test]
    fn split_cuts_at_kept_edges() {
        let keep = [(0x1000, 0x2000), (0x3000, 0x3800)];
        assert_eq!(
            split(0x800, 0x3400, &keep),
            vec![
                (false, 0x800, 0x800),
                (true, 0x1000, 0x1000),
                (false, 0x2000, 0x1000),
                (true, 0x3000, 0x800),
                (false, 0x3800, 0x400),
            ]
        );
        assert_eq!(split(0x1100, 0x10, &keep), vec![(true, 0x1100, 0x10)]);
        assert_eq!(split(0x5000, 0x10, &keep), vec![(false, 0x5000, 0x10)]);
    }

    #[test]
    fn sanitize_keeps_pointers_and_small_words_and_zeroes_partial_words() {
        let mut data = Vec::new();
        // Stack piece at address 0x7ffc (4 bytes before an 8-byte boundary).
        data.extend_from_slice(&[0xaa; 4]); // head: not a whole word
        data.extend_from_slice(&0x10u64.to_le_bytes()); // small integer
        data.extend_from_slice(&0x40_1234u64.to_le_bytes()); // into a module
        data.extend_from_slice(&0x4142_4344_4546_4748u64.to_le_bytes()); // text
        data.extend_from_slice(&0x9000u64.to_le_bytes()); // into the stack
        data.extend_from_slice(&0x7fff_0000_0000u64.to_le_bytes()); // nowhere
        data.extend_from_slice(&[0xbb; 3]); // tail
        let targets = [(0x7000, 0xa000), (0x40_0000, 0x50_0000)];
        let sentinel = SENTINEL.to_le_bytes().to_vec();
        let (mut zero, mut words) = (Vec::new(), Vec::new());
        let len = data.len() as u64;
        sanitize(
            &data,
            (0, 0x7ffc, len),
            8,
            &targets,
            &[],
            &sentinel,
            &mut zero,
            &mut words,
        );
        assert_eq!(words, vec![4 + 16, 4 + 32]);
        zero.retain(|z| z.1 > 0);
        assert_eq!(zero, vec![(0, 4), (4 + 40, 3)]);

        // A word that shares a byte with a finding is zeroed whole instead.
        let (mut zero, mut words) = (Vec::new(), Vec::new());
        sanitize(
            &data,
            (0, 0x7ffc, len),
            8,
            &targets,
            &[(4 + 18, 4 + 19)],
            &sentinel,
            &mut zero,
            &mut words,
        );
        assert_eq!(words, vec![4 + 32]);
        assert!(zero.contains(&(4 + 16, 8)));
    }
}
