//! `cargo bench --bench detectors`: each detector alone on realistic bytes,
//! so that a regression shows which detector it is in. End-to-end figures
//! (MB/s, CPU seconds, memory, the reference pass) come from
//! `scripts/bench.sh`; see docs/performance.md.
//!
//! The input is a 48 MiB dump written by the benchmark generator
//! (`examples/gen_bench_dump.rs`, included below so the bytes are the same
//! ones `scripts/bench.sh` scans, at a smaller size). Chunk detectors run on
//! a 16 MiB slice of its memory, as one scan chunk would see it (phase 0);
//! whole-dump detectors (big numbers, known keys) on the whole dump; the
//! sweep on the slice with one real RSA-2048 key planted in it.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use dumpscrub::detect::text::{encode, TextDetector};
use dumpscrub::detect::{ChunkDetector, DumpDetector, Encoding, KeyMatch};
use dumpscrub::fingerprint::Fingerprinter;
use dumpscrub::layout::Layout;
use dumpscrub::rules::BUILTIN_RULES;

#[allow(dead_code)]
#[path = "../examples/gen_bench_dump.rs"]
mod gen;

const DUMP_MIB: u64 = 48;
const SLICE: usize = 16 << 20;
/// UTF-16LE text is benchmarked on the slice's first quarter, widened.
const UTF16_SOURCE: usize = SLICE / 4;
/// The scan's chunk size (`src/scan/plan.rs`).
const CHUNK_SIZE: usize = dumpscrub::scan::plan::CHUNK_SIZE as usize;

struct Input {
    _dir: tempfile::TempDir,
    dump: Vec<u8>,
    layout: Layout,
    /// Offset of the slice within `dump`.
    slice_at: usize,
    known_keys_file: PathBuf,
}

impl Input {
    fn slice(&self) -> &[u8] {
        &self.dump[self.slice_at..self.slice_at + SLICE]
    }
}

fn input() -> Input {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("bench.dmp");
    gen::generate(&gen::Args {
        out: out.clone(),
        size_mib: DUMP_MIB,
        seed: 1,
        check: false,
    })
    .expect("generate the bench dump");
    let dump = std::fs::read(&out).expect("read the bench dump");
    let layout = dumpscrub::layout::build(&dump, "bench.dmp", false)
        .expect("layout")
        .expect("a minidump");
    // A third of the way in: past the stacks, in the heap mix.
    let slice_at = dump.len() / 3;

    let mut pems = String::new();
    for _ in 0..4 {
        let rsa = openssl::rsa::Rsa::generate(2048).expect("RSA key");
        let pem = rsa.public_key_to_pem().expect("public PEM");
        pems.push_str(std::str::from_utf8(&pem).expect("PEM is ASCII"));
    }
    let known_keys_file = dir.path().join("known.pem");
    std::fs::write(&known_keys_file, pems).expect("write known keys");
    Input {
        _dir: dir,
        dump,
        layout,
        slice_at,
        known_keys_file,
    }
}

fn chunk(c: &mut Criterion, name: &str, d: &dyn ChunkDetector, buf: &[u8]) {
    let mut g = c.benchmark_group("chunk");
    g.throughput(Throughput::Bytes(buf.len() as u64));
    g.bench_function(name, |b| {
        b.iter(|| {
            let mut out: Vec<KeyMatch> = Vec::new();
            d.scan_phased(black_box(buf), 0, 0..buf.len() as u64, 0, &mut out);
            out.len()
        })
    });
    g.finish();
}

fn detectors(c: &mut Criterion) {
    let input = input();
    let slice = input.slice();

    let text = TextDetector::new(BUILTIN_RULES).expect("rules");
    let wide = encode(&slice[..UTF16_SOURCE], Encoding::Utf16le);
    let mut g = c.benchmark_group("text");
    for (name, buf) in [("ascii-heap-slice", slice), ("utf16le-widened", &wide[..])] {
        g.throughput(Throughput::Bytes(buf.len() as u64));
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut out = Vec::new();
                text.scan(black_box(buf), 0, 0..buf.len() as u64, &mut out);
                out.len()
            })
        });
    }
    g.finish();

    use dumpscrub::detect::{aes, blobs, der, entropy, openssh, view};
    let der = der::DerDetector::new();
    chunk(c, "der", &der, slice);
    let blobs = blobs::BlobDetector::new();
    chunk(c, "blobs", &blobs, slice);
    chunk(c, "aes-schedules", &aes::AesDetector::new(), slice);
    let openssh = openssh::OpenSshDetector::new();
    chunk(c, "openssh", &openssh, slice);
    // Builds its own text view, as `text` above does: the view's cost is
    // in both figures and on its own below.
    let entropy = entropy::EntropyDetector::new();
    chunk(c, "entropy", &entropy, slice);

    // The per-chunk view of a scan, with its one search for every
    // detector's literals (text rules, entropy keywords, DER anchors, blob
    // and OpenSSH magics) and the token runs.
    let mut clients = vec![dumpscrub::detect::literals::Client {
        literals: text.literals().map(<[u8]>::to_vec).collect(),
        in_view: true,
    }];
    let others: [&dyn ChunkDetector; 4] = [&entropy, &der, &blobs, &openssh];
    clients.extend(others.iter().map(|d| d.text_needs().literals));
    let spec = view::ViewSpec::new(&clients, entropy.text_needs().token).expect("view spec");
    let mut g = c.benchmark_group("view");
    g.throughput(Throughput::Bytes(slice.len() as u64));
    g.bench_function("build", |b| {
        b.iter(|| {
            (CHUNK_SIZE..=slice.len())
                .step_by(CHUNK_SIZE)
                .map(|end| {
                    view::TextView::build(black_box(&slice[end - CHUNK_SIZE..end]), &spec)
                        .pieces
                        .len()
                })
                .sum::<usize>()
        })
    });
    g.finish();

    let dump = &input.dump[..];
    let mut g = c.benchmark_group("dump");
    g.throughput(Throughput::Bytes(dump.len() as u64));
    let bignum = dumpscrub::detect::bignum::BignumDetector::new();
    g.bench_function("bignum", |b| {
        b.iter(|| {
            let mut out = Vec::new();
            bignum.scan(black_box(dump), &input.layout, &mut out);
            out.len()
        })
    });
    let known = dumpscrub::known::load_known_keys(std::slice::from_ref(&input.known_keys_file))
        .expect("known keys");
    g.bench_function("known-keys-4-rsa", |b| {
        b.iter(|| {
            let mut out = Vec::new();
            known.scan(black_box(dump), &input.layout, &mut out);
            out.len()
        })
    });
    g.finish();

    // The sweep needs a validated key: plant a real one and let the DER
    // detector find it, as a scan would.
    let mut planted = slice.to_vec();
    let rsa = openssl::rsa::Rsa::generate(2048).expect("RSA key");
    let key_der = rsa.private_key_to_der().expect("DER");
    let at = SLICE / 2;
    planted[at..at + key_der.len()].copy_from_slice(&key_der);
    let mut keys = Vec::new();
    der.scan(&planted, 0, 0..planted.len() as u64, &mut keys);
    assert!(
        keys.iter().any(|k| k.validated),
        "the DER detector finds the planted key"
    );
    let raw = dumpscrub::layout::build(&planted, "planted", true)
        .expect("layout")
        .expect("raw layout");
    let fp = Fingerprinter::new(None);
    let mut g = c.benchmark_group("sweep");
    g.throughput(Throughput::Bytes(planted.len() as u64));
    g.bench_function("one-rsa-key", |b| {
        b.iter(|| dumpscrub::sweep::sweep(black_box(&planted), &raw, &keys, &fp).len())
    });
    g.finish();
}

criterion_group! {
    name = benches;
    // Few, short samples: enough to see a regression of a few percent per
    // detector while `cargo bench` stays around a minute.
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = detectors
}
criterion_main!(benches);
