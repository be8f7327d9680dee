//! The minidump layout builder on arbitrary bytes: it must return a layout
//! or an error, never panic, and a layout it returns must partition the
//! file exactly (every byte in one range, in order, nothing past the end).
#![no_main]

use dumpscrub::layout::{self, RangeKind};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(Some(layout)) = layout::build(data, "fuzz.dmp", false) else {
        return;
    };
    assert_eq!(layout.file_size, data.len() as u64);
    let mut at = 0u64;
    for r in &layout.ranges {
        assert_eq!(r.start, at, "gap or overlap at {at:#x}");
        assert!(r.len > 0, "empty range at {at:#x}");
        assert_eq!(r.vaddr.is_some(), r.kind == RangeKind::Memory);
        at = r.start.checked_add(r.len).expect("range end overflows");
    }
    assert_eq!(at, data.len() as u64, "ranges do not cover the file");
    let counts = layout.byte_counts();
    assert_eq!(
        counts.structure + counts.memory + counts.streams + counts.unreferenced,
        data.len() as u64
    );
    for (s, e) in layout.protected_spans() {
        assert!(s < e && e <= data.len() as u64);
    }
});
