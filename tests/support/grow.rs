//! Growing a real minidump into a big or many-part one: extra streams and a
//! Memory64List appended to a real dump (the committed fixture of a live
//! process), with a new stream directory that lists the old streams and the
//! new ones. The old directory stays where it was, unreferenced, as a
//! writer that rewrites its directory leaves it.
//!
//! The region bytes go last and are written as holes (a sparse file), so a
//! dump of many GiB costs no disk until something is planted in it.

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::Path;

/// Where the parts of a grown dump are.
pub struct Grown {
    /// File offset of the first byte of region 0.
    pub memory_start: u64,
    /// Region sizes, in order (their bytes are contiguous from
    /// `memory_start`, as Memory64List requires).
    pub sizes: Vec<u64>,
    pub len: u64,
}

impl Grown {
    /// File offset of byte `at` of region `i`.
    pub fn offset(&self, i: usize, at: u64) -> u64 {
        self.memory_start + self.sizes[..i].iter().sum::<u64>() + at
    }

    /// Writes `bytes` at byte `at` of region `i` of the file at `path`.
    pub fn plant(&self, path: &Path, i: usize, at: u64, bytes: &[u8]) {
        assert!(at + bytes.len() as u64 <= self.sizes[i]);
        let f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
        f.write_all_at(bytes, self.offset(i, at)).unwrap();
    }
}

fn u32_at(d: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(d[at..at + 4].try_into().unwrap())
}

fn align(n: u64, to: u64) -> u64 {
    n.div_ceil(to) * to
}

/// Writes to `path` the minidump `base` with `streams` (type, payload)
/// appended and, when `regions` (address, size) is not empty, a
/// Memory64ListStream describing them.
pub fn grow(base: &[u8], streams: &[(u32, Vec<u8>)], regions: &[(u64, u64)], path: &Path) -> Grown {
    let old_count = u32_at(base, 8) as usize;
    let old_dir = u32_at(base, 12) as usize;
    let mut entries: Vec<[u8; 12]> = (0..old_count)
        .map(|i| {
            base[old_dir + 12 * i..old_dir + 12 * (i + 1)]
                .try_into()
                .unwrap()
        })
        .collect();
    let mut body: Vec<u8> = base.to_vec();
    let entry = |ty: u32, size: usize, rva: usize| {
        let mut e = [0u8; 12];
        e[..4].copy_from_slice(&ty.to_le_bytes());
        e[4..8].copy_from_slice(&u32::try_from(size).unwrap().to_le_bytes());
        e[8..].copy_from_slice(&u32::try_from(rva).unwrap().to_le_bytes());
        e
    };
    for (ty, payload) in streams {
        body.resize(align(body.len() as u64, 8) as usize, 0);
        entries.push(entry(*ty, payload.len(), body.len()));
        body.extend_from_slice(payload);
    }
    let new_count = entries.len() + usize::from(!regions.is_empty());
    body.resize(align(body.len() as u64, 8) as usize, 0);
    let m64_at = body.len();
    let m64_len = if regions.is_empty() {
        0
    } else {
        16 + 16 * regions.len()
    };
    let dir_at = m64_at + m64_len;
    let memory_start = align((dir_at + 12 * new_count) as u64, 16);
    if !regions.is_empty() {
        entries.push(entry(9, m64_len, m64_at));
        body.extend_from_slice(&(regions.len() as u64).to_le_bytes());
        body.extend_from_slice(&memory_start.to_le_bytes());
        for &(addr, size) in regions {
            body.extend_from_slice(&addr.to_le_bytes());
            body.extend_from_slice(&size.to_le_bytes());
        }
    }
    assert_eq!(body.len(), dir_at);
    for e in &entries {
        body.extend_from_slice(e);
    }
    body[8..12].copy_from_slice(&(entries.len() as u32).to_le_bytes());
    body[12..16].copy_from_slice(&(dir_at as u32).to_le_bytes());
    body.resize(memory_start as usize, 0);
    let sizes: Vec<u64> = regions.iter().map(|r| r.1).collect();
    let len = memory_start + sizes.iter().sum::<u64>();
    let mut f = File::create(path).unwrap();
    f.write_all(&body).unwrap();
    f.set_len(len).unwrap();
    Grown {
        memory_start,
        sizes,
        len,
    }
}
