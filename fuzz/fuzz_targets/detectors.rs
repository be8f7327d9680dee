//! Every detector on an arbitrary chunk: the text rules (ASCII and
//! UTF-16LE), the entropy detector (its text view: byte classes, UTF-16LE
//! narrowing, token runs) and the key-material detectors (DER, OpenSSH,
//! key blobs, AES schedules at every alignment phase, library big numbers). None may
//! panic, and every match must lie inside the bytes it was given and
//! start in the part of the chunk the detector owns.
#![no_main]

use std::sync::OnceLock;

use dumpscrub::detect::text::TextDetector;
use dumpscrub::detect::{
    aes, bignum, blobs, der, entropy, openssh, ChunkDetector, DumpDetector,
};
use dumpscrub::layout;
use dumpscrub::rules::BUILTIN_RULES;
use libfuzzer_sys::fuzz_target;

struct All {
    text: TextDetector,
    chunk: Vec<Box<dyn ChunkDetector>>,
    bignum: bignum::BignumDetector,
}

fn all() -> &'static All {
    static ALL: OnceLock<All> = OnceLock::new();
    ALL.get_or_init(|| All {
        text: TextDetector::new(BUILTIN_RULES).expect("built-in rules compile"),
        chunk: vec![
            Box::new(der::DerDetector::new()),
            Box::new(openssh::OpenSshDetector::new()),
            Box::new(blobs::BlobDetector::new()),
            Box::new(aes::AesDetector::new()),
            Box::new(entropy::EntropyDetector::new()),
        ],
        bignum: bignum::BignumDetector::new(),
    })
}

fuzz_target!(|data: &[u8]| {
    let d = all();
    // A base that is not zero, and an owned window that is a strict part
    // of the buffer, as in a real chunk with overlap on both sides.
    let base = 0x1000u64;
    let len = data.len() as u64;
    let own = base + len / 8..base + len - len / 8;
    let mut text = Vec::new();
    d.text.scan(data, base, own.clone(), &mut text);
    for m in &text {
        assert!(own.contains(&m.offset), "text match outside its window");
        assert!(m.offset + m.len <= base + len, "text match past the chunk");
        assert!(m.len > 0);
    }
    let mut keys = Vec::new();
    for det in &d.chunk {
        for phase in [0, 3] {
            det.scan_phased(data, base, own.clone(), phase, &mut keys);
        }
    }
    for k in &keys {
        assert!(
            own.contains(&k.offset),
            "{}: match outside its window",
            k.rule
        );
        assert!(k.offset + k.len <= base + len, "{}: past the chunk", k.rule);
    }
    // The whole-dump detector sees the bytes as a raw file.
    let layout = layout::raw::build(data);
    let mut keys = Vec::new();
    d.bignum.scan(data, &layout, &mut keys);
    for k in &keys {
        assert!(k.offset + k.len <= len, "{}: past the file", k.rule);
    }
});
