//! Hostile variants of a real minidump: every one is either scrubbed
//! correctly or refused with an error that names the file, and never
//! panics; a refused scrub leaves no output and an untouched input.
//!
//! The variants are made from the committed dump of a live process
//! (`fixtures/planted-linux.dmp`) by cutting it or rewriting its directory
//! and descriptors, the way a damaged or malicious file would be.

use std::path::Path;

use dumpscrub::{Engine, Options};

fn fixture() -> Vec<u8> {
    std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/planted-linux.dmp"
    ))
    .expect("committed fixture")
}

fn u32_at(d: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(d[at..at + 4].try_into().unwrap())
}

fn put_u32(d: &mut [u8], at: usize, v: u32) {
    d[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

/// (type, size, rva, offset of the directory entry) for every stream.
fn directory(d: &[u8]) -> Vec<(u32, u32, u32, usize)> {
    let count = u32_at(d, 8) as usize;
    let dir = u32_at(d, 12) as usize;
    (0..count)
        .map(|i| {
            let e = dir + 12 * i;
            (u32_at(d, e), u32_at(d, e + 4), u32_at(d, e + 8), e)
        })
        .collect()
}

/// Every hostile variant, named.
fn variants() -> Vec<(String, Vec<u8>)> {
    let base = fixture();
    let dir = directory(&base);
    let mut out = Vec::new();
    // Truncated at every stream boundary (start and end of each stream).
    for &(t, size, rva, _) in &dir {
        for cut in [
            rva as usize,
            (rva + size) as usize,
            (rva + size / 2) as usize,
        ] {
            if cut < base.len() {
                out.push((
                    format!("cut at {cut:#x} (stream {t:#x})"),
                    base[..cut].to_vec(),
                ));
            }
        }
    }
    for &(t, size, rva, e) in &dir {
        // Stream RVA and size pointing past the end of the file.
        let mut v = base.clone();
        put_u32(&mut v, e + 8, base.len() as u32 + 16);
        out.push((format!("stream {t:#x} rva past end"), v));
        let mut v = base.clone();
        put_u32(&mut v, e + 4, u32::MAX);
        out.push((format!("stream {t:#x} size u32::MAX"), v));
        // A stream overlapping the header.
        let mut v = base.clone();
        put_u32(&mut v, e + 8, 0);
        out.push((format!("stream {t:#x} over the header"), v));
        // Counts near 2^32 in list streams (first u32 of the payload).
        if matches!(t, 3 | 4 | 5 | 24) && size >= 4 {
            for count in [u32::MAX, u32::MAX - 1, 0x8000_0000] {
                let mut v = base.clone();
                put_u32(&mut v, rva as usize, count);
                out.push((format!("stream {t:#x} count {count:#x}"), v));
            }
        }
        // Memory descriptors: huge, zero-length, past the end, duplicated.
        if t == 5 {
            let n = u32_at(&base, rva as usize) as usize;
            let first = rva as usize + 4;
            for i in 0..n.min(4) {
                let d = first + 16 * i;
                let mut v = base.clone();
                put_u32(&mut v, d + 8, u32::MAX);
                out.push((format!("memory region {i} huge"), v));
                let mut v = base.clone();
                put_u32(&mut v, d + 8, 0);
                out.push((format!("memory region {i} empty"), v));
                let mut v = base.clone();
                put_u32(&mut v, d + 12, base.len() as u32 - 1);
                out.push((format!("memory region {i} rva at the last byte"), v));
                if i + 1 < n {
                    // Two descriptors for the same bytes and address.
                    let mut v = base.clone();
                    let (a, b) = (d, d + 16);
                    let copy: Vec<u8> = v[a..a + 16].to_vec();
                    v[b..b + 16].copy_from_slice(&copy);
                    out.push((format!("memory regions {i} and {} duplicated", i + 1), v));
                    // Overlapping: the next region starts inside this one.
                    let mut v = base.clone();
                    let rva_i = u32_at(&base, d + 12);
                    put_u32(&mut v, b + 12, rva_i + 1);
                    out.push((format!("memory regions {i} and {} overlap", i + 1), v));
                }
            }
        }
    }
    // A directory that claims more streams than the file holds.
    let mut v = base.clone();
    put_u32(&mut v, 8, u32::MAX);
    out.push(("stream count u32::MAX".into(), v));
    let mut v = base.clone();
    put_u32(&mut v, 12, base.len() as u32 - 4);
    out.push(("directory at the end of the file".into(), v));
    out
}

#[test]
fn every_hostile_variant_is_scrubbed_or_refused_cleanly() {
    let engine = Engine::new(Options::default()).expect("engine");
    let dir = tempfile::tempdir().unwrap();
    let variants = variants();
    assert!(variants.len() > 60, "{} variants", variants.len());
    let (mut refused, mut scrubbed) = (0, 0);
    for (i, (name, bytes)) in variants.iter().enumerate() {
        let input = dir.path().join(format!("v{i}.dmp"));
        let output = dir.path().join(format!("v{i}.clean.dmp"));
        std::fs::write(&input, bytes).unwrap();
        let scan = engine.scan_file(&input);
        match engine.scrub_file(&input, &output) {
            Ok(report) => {
                scrubbed += 1;
                assert!(scan.is_ok(), "{name}: scrub succeeded where scan failed");
                let out = std::fs::read(&output).unwrap();
                assert_eq!(out.len(), bytes.len(), "{name}");
                assert_eq!(
                    report.bytes.as_ref().unwrap().scanned,
                    bytes.len() as u64,
                    "{name}"
                );
                // A scrubbed variant still parses, and scrubbing it again
                // changes nothing.
                let again = dir.path().join(format!("v{i}.again.dmp"));
                engine
                    .scrub_file(&output, &again)
                    .unwrap_or_else(|e| panic!("{name}: {e}"));
                assert_eq!(std::fs::read(&again).unwrap(), out, "{name}");
            }
            Err(e) => {
                refused += 1;
                assert!(scan.is_err(), "{name}: scan succeeded where scrub failed");
                let msg = e.to_string();
                assert!(msg.contains(&input.display().to_string()), "{name}: {msg}");
                assert!(!output.exists(), "{name}: an output was left behind");
            }
        }
        assert_eq!(
            &std::fs::read(&input).unwrap(),
            bytes,
            "{name}: input changed"
        );
        assert_no_temporaries(dir.path());
    }
    // Both outcomes occur: the variants are not all rejected wholesale.
    assert!(
        refused > 20 && scrubbed > 5,
        "refused {refused}, scrubbed {scrubbed}"
    );
}

fn assert_no_temporaries(dir: &Path) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        assert!(
            !name.starts_with(".dumpscrub-"),
            "temporary file left: {name}"
        );
    }
}
