//! The ELF core layout builder on arbitrary bytes (seeded with real cores):
//! a layout or an error, never a panic; a layout partitions the file
//! exactly, and its module and stack maps never wrap the address space.
#![no_main]

use dumpscrub::layout::{elf, RangeKind};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(layout) = elf::build(data, "fuzz.core") else {
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
    for s in layout.modules.iter().chain(&layout.stacks) {
        assert!(s.start <= s.end());
    }
});
