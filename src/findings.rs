//! Findings: raw detector matches turned into what a report says about
//! them: where they are (stream, address), how sure we are, what was done,
//! and a fingerprint instead of the value.

use serde::Serialize;

use crate::detect::text::TextDetector;
use crate::detect::{Encoding, KeyMatch, RawMatch};
use crate::fingerprint::Fingerprinter;
use crate::layout::{Layout, RangeKind};
use crate::rules::Confidence;

/// What happened (or would happen, for `scan`) to a finding's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Zeroed in the output.
    Redacted,
    /// Would be zeroed by `scrub` (reported by `scan`).
    WouldRedact,
    /// Below `--min-confidence`: reported only.
    Reported,
    /// Lies in structure (headers, descriptors, thread contexts) that must
    /// stay intact for the dump to stay readable: reported, not zeroed.
    KeptStructure,
    /// Matched an allowlist entry (named in `allowed_by`): left in place,
    /// reported so a reviewer sees the decision.
    Allowed,
}

#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub rule: String,
    pub description: String,
    pub confidence: Confidence,
    pub encoding: Encoding,
    /// Kind of the range the secret starts in.
    pub range: RangeKind,
    /// Stream (or structure) the secret starts in.
    pub stream: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_type: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_index: Option<u32>,
    pub offset: u64,
    pub length: u64,
    /// Virtual address in the crashed process, as `0x…`, for memory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub virtual_address: Option<String>,
    pub action: Action,
    /// True when the finding is a private key whose mathematics was
    /// checked (RSA p·q = n, EC d·G = Q, AES round-key relations).
    pub validated: bool,
    /// The key this finding belongs to (`rsa-2048:…`, a hash of the public
    /// part), for key material and swept copies of it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// How key material was stored (`pkcs1-der`, `cng-rsa-full-private-blob`,
    /// `rsa-p-le`...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub form: Option<String>,
    pub fingerprint: String,
    /// A preview that never contains secret characters: the fixed prefix
    /// of the rule when the secret starts with it, else nothing.
    pub preview: String,
    /// The allowlist entry that allowed this finding (`FILE:LINE`, and its
    /// description), for `allowed` findings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_by: Option<String>,
}

impl Finding {
    /// Is, or would be, redacted, or was kept only because it lies in
    /// structure: what the exit status and the `actionable` counts mean.
    pub fn is_actionable(&self) -> bool {
        matches!(
            self.action,
            Action::Redacted | Action::WouldRedact | Action::KeptStructure
        )
    }
}

pub struct FindingContext<'a> {
    pub data: &'a [u8],
    pub layout: &'a Layout,
    pub detector: &'a TextDetector,
    pub fingerprinter: &'a Fingerprinter,
    pub min_confidence: Confidence,
    /// True for `scrub` (redacted), false for `scan` (would redact).
    pub writing: bool,
}

pub fn build(ctx: &FindingContext<'_>, matches: &[RawMatch], keys: &[KeyMatch]) -> Vec<Finding> {
    let protected = ctx.layout.protected_spans();
    let mut out: Vec<Finding> = matches.iter().map(|m| one(ctx, &protected, m)).collect();
    out.extend(keys.iter().map(|k| key(ctx, &protected, k)));
    out.sort_by(|a, b| {
        (a.offset, a.length, &a.rule, &a.form).cmp(&(b.offset, b.length, &b.rule, &b.form))
    });
    out
}

fn action(
    ctx: &FindingContext<'_>,
    protected: &[(u64, u64)],
    offset: u64,
    len: u64,
    confidence: Confidence,
) -> Action {
    let end = offset + len;
    let idx = protected.partition_point(|&(_, e)| e <= offset);
    let in_structure = protected
        .get(idx)
        .is_some_and(|&(s, e)| s <= offset && end <= e);
    if confidence < ctx.min_confidence {
        Action::Reported
    } else if in_structure {
        Action::KeptStructure
    } else if ctx.writing {
        Action::Redacted
    } else {
        Action::WouldRedact
    }
}

fn key(ctx: &FindingContext<'_>, protected: &[(u64, u64)], k: &KeyMatch) -> Finding {
    let range = ctx
        .layout
        .range_at(k.offset)
        .expect("every offset lies in the partition");
    let bytes = &ctx.data[k.offset as usize..(k.offset + k.len) as usize];
    let key_id = k
        .key_id
        .clone()
        .or_else(|| k.key.as_ref().map(|m| m.id(ctx.fingerprinter)));
    Finding {
        rule: k.rule.to_string(),
        description: k.description.to_string(),
        confidence: k.confidence,
        encoding: k.encoding,
        range: range.kind,
        stream: range.origin.name.clone(),
        stream_type: range.origin.stream_type,
        stream_index: range.origin.stream_index,
        offset: k.offset,
        length: k.len,
        virtual_address: range
            .vaddr
            .map(|v| format!("{:#x}", v.wrapping_add(k.offset - range.start))),
        action: action(ctx, protected, k.offset, k.len, k.confidence),
        validated: k.validated,
        key: key_id,
        form: Some(k.form.clone()),
        fingerprint: ctx.fingerprinter.fingerprint(bytes, k.encoding),
        preview: "…".to_string(),
        allowed_by: None,
    }
}

fn one(ctx: &FindingContext<'_>, protected: &[(u64, u64)], m: &RawMatch) -> Finding {
    let rule = ctx.detector.rule(m.rule);
    let range = ctx
        .layout
        .range_at(m.offset)
        .expect("every offset lies in the partition");
    let bytes = &ctx.data[m.offset as usize..(m.offset + m.len) as usize];
    let action = action(ctx, protected, m.offset, m.len, rule.confidence);
    let anchor = ctx.detector.anchor_literal(m.anchor);
    let starts_with_anchor = match m.encoding {
        Encoding::Ascii | Encoding::Binary => bytes.starts_with(anchor.as_bytes()),
        Encoding::Utf16le => bytes
            .iter()
            .step_by(2)
            .take(anchor.len())
            .eq(anchor.as_bytes().iter()),
    };
    let preview = if starts_with_anchor && anchor.len() * 2 < m.len as usize {
        format!("{anchor}…")
    } else {
        "…".to_string()
    };
    Finding {
        rule: rule.id.to_string(),
        description: rule.description.to_string(),
        confidence: rule.confidence,
        encoding: m.encoding,
        range: range.kind,
        stream: range.origin.name.clone(),
        stream_type: range.origin.stream_type,
        stream_index: range.origin.stream_index,
        offset: m.offset,
        length: m.len,
        virtual_address: range
            .vaddr
            .map(|v| format!("{:#x}", v.wrapping_add(m.offset - range.start))),
        action,
        validated: false,
        key: None,
        form: None,
        fingerprint: ctx.fingerprinter.fingerprint(bytes, m.encoding),
        preview,
        allowed_by: None,
    }
}
