//! Raw layout: the whole file is one scannable, redactable range. Used only
//! when the user asks for it (`--raw`), because it gives up every guarantee
//! about the file staying readable by format-aware tools.

use super::{Format, Layout, Origin, Range, RangeKind};

pub fn build(data: &[u8]) -> Layout {
    let ranges = if data.is_empty() {
        Vec::new()
    } else {
        vec![Range {
            start: 0,
            len: data.len() as u64,
            kind: RangeKind::Stream,
            vaddr: None,
            origin: Origin::named("raw"),
        }]
    };
    Layout {
        format: Format::Raw,
        file_size: data.len() as u64,
        ranges,
        regions: 0,
        streams: 0,
        modules: Vec::new(),
        stacks: Vec::new(),
    }
}
