//! `cargo bench`: scan throughput of the library on 256 MiB of dump-like
//! bytes, text rules alone and with every key detector, so a regression
//! shows which side it is on. The end-to-end figures on a realistic 1.5 GiB
//! minidump (MB/s, CPU seconds, peak RssAnon) come from `scripts/bench.sh`.

use std::io::Write;
use std::time::Instant;

use dumpscrub::{Engine, Options};

/// splitmix64: deterministic, so every run scans the same bytes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// A mix like a heap: a third zeros, random blocks, log text, UTF-16 text,
/// and pointer-like words, 64 KiB at a time.
fn dump_like(size: usize) -> Vec<u8> {
    let mut rng = Rng(1);
    let words = [
        "GET",
        "/api/v1/users",
        "HTTP/1.1",
        "200",
        "session",
        "user",
        "error",
        "timeout",
        "connect",
        "config",
        "token",
        "request",
        "cache",
        "thread",
        "module",
        "libc.so.6",
        "warning",
    ];
    let mut out = Vec::with_capacity(size);
    while out.len() < size {
        let block = 64 * 1024;
        match rng.next() % 6 {
            0 | 1 => out.extend(std::iter::repeat_n(0u8, block)),
            2 => (0..block / 8).for_each(|_| out.extend(rng.next().to_le_bytes())),
            3 => (0..block / 8).for_each(|_| {
                out.extend((0x7f00_0000_0000u64 | (rng.next() & 0xff_ffff_fff8)).to_le_bytes())
            }),
            k => {
                let mut text = String::new();
                while text.len() < block / 2 {
                    text.push_str(words[(rng.next() % words.len() as u64) as usize]);
                    text.push(' ');
                }
                if k == 4 {
                    out.extend(text.as_bytes());
                } else {
                    out.extend(text.bytes().flat_map(|b| [b, 0]));
                }
            }
        }
    }
    out.truncate(size);
    out
}

fn main() {
    let size = 256usize << 20;
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("bench.bin");
    std::fs::File::create(&path)
        .and_then(|mut f| f.write_all(&dump_like(size)))
        .expect("write bench input");
    for (name, key_detectors) in [("text rules only", false), ("all detectors", true)] {
        let engine = Engine::new(Options {
            raw: true,
            key_detectors,
            ..Options::default()
        })
        .expect("engine");
        let mut times = Vec::new();
        for _ in 0..5 {
            let t = Instant::now();
            engine.scan_file(&path).expect("scan");
            times.push(t.elapsed().as_secs_f64());
        }
        times.sort_by(f64::total_cmp);
        let median = times[times.len() / 2];
        println!(
            "scan, {name:16}: {:7.0} MB/s (median of 5, {:.3} s for {} MB, {} threads)",
            size as f64 / 1e6 / median,
            median,
            size / 1_000_000,
            rayon::current_num_threads()
        );
    }
}
