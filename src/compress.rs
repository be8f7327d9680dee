//! Compressed dumps (gzip, zstd, xz), as crash uploaders store them.
//!
//! A compressed input is recognised by its magic bytes, never its name. It
//! is inflated into a mode-0600 temporary file (beside the destination when
//! scrubbing, so the later renames stay on one file system; in `$TMPDIR`
//! when only scanning, so a read-only scan writes nothing next to its
//! input), processed as the dump inside, and a scrubbed copy is compressed
//! again in the same format. Every temporary file is a `NamedTempFile`, so
//! it is removed on every path out, errors included.
//!
//! Inflating is bounded twice: by a size limit (`--max-decompressed-size`)
//! and by the free space left on the temporary file's file system, so that a
//! decompression bomb stops with an error instead of filling the disk.

use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::Path;
use std::sync::atomic::Ordering;

use anyhow::{bail, Context, Result};
use serde::Serialize;
use sha2::{Digest, Sha256};
use tempfile::NamedTempFile;

use crate::report::{Decompressed, FileReport, Output};
use crate::{Engine, FileError};

/// Default bound on the inflated size of one compressed input.
pub const DEFAULT_MAX_DECOMPRESSED: u64 = 32 << 30;

/// Inflating stops when less than this would stay free on the temporary
/// file's file system: the rest of the machine needs the disk too, and the
/// scrubbed copy still has to be written.
pub const FREE_SPACE_FLOOR: u64 = 512 << 20;

/// How often (in inflated bytes) free space is checked again.
const SPACE_CHECK_EVERY: u64 = 64 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    Gzip,
    Zstd,
    Xz,
}

impl Compression {
    pub fn as_str(self) -> &'static str {
        match self {
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
            Compression::Xz => "xz",
        }
    }

    /// The format whose magic `head` (the file's first bytes) starts with.
    pub fn sniff(head: &[u8]) -> Option<Self> {
        if head.starts_with(&[0x1f, 0x8b]) {
            Some(Compression::Gzip)
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Some(Compression::Zstd)
        } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
            Some(Compression::Xz)
        } else {
            None
        }
    }

    /// Reads the first bytes of `path`. Anything that cannot be read here is
    /// left for the normal open to report.
    pub fn detect(path: &Path) -> Option<Self> {
        let mut f = File::open(path).ok()?;
        if !f.metadata().ok()?.is_file() {
            return None;
        }
        let mut head = [0u8; 6];
        let mut n = 0;
        while n < head.len() {
            match f.read(&mut head[n..]) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return None,
            }
        }
        Self::sniff(&head[..n])
    }
}

/// Inflates `path` into a new temporary file in `dir`; returns it and its
/// size.
pub fn decompress(
    path: &Path,
    kind: Compression,
    dir: &Path,
    max: u64,
) -> Result<(NamedTempFile, u64)> {
    let src = File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
    let src = BufReader::with_capacity(1 << 16, src);
    let mut decoder: Box<dyn Read> = match kind {
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(src)),
        Compression::Zstd => Box::new(
            zstd::stream::read::Decoder::with_buffer(src)
                .with_context(|| format!("{}: cannot start the zstd decoder", path.display()))?,
        ),
        Compression::Xz => Box::new(liblzma::bufread::XzDecoder::new_multi_decoder(src)),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".dumpscrub-")
        .suffix(".inflated")
        .tempfile_in(dir)
        .with_context(|| format!("{}: cannot create a temporary file", dir.display()))?;
    check_space(path, dir)?;
    let mut buf = vec![0u8; 1 << 20];
    let mut total: u64 = 0;
    let mut since_check: u64 = 0;
    {
        let mut out = BufWriter::new(tmp.as_file_mut());
        loop {
            let n = match decoder.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => bail!(
                    "{}: not a valid {} stream ({e}); it may be truncated or corrupt",
                    path.display(),
                    kind.as_str()
                ),
            };
            total = total.saturating_add(n as u64);
            if total > max {
                bail!(
                    "{}: decompresses to more than {max} bytes (--max-decompressed-size); refused",
                    path.display()
                );
            }
            out.write_all(&buf[..n]).with_context(|| {
                format!("{}: cannot write the decompressed copy", path.display())
            })?;
            since_check += n as u64;
            if since_check >= SPACE_CHECK_EVERY {
                since_check = 0;
                check_space(path, dir)?;
            }
        }
        out.flush()
            .with_context(|| format!("{}: cannot write the decompressed copy", path.display()))?;
    }
    Ok((tmp, total))
}

fn check_space(input: &Path, dir: &Path) -> Result<()> {
    let Ok(st) = rustix::fs::statvfs(dir) else {
        // No figure to go by (an unusual file system): the size limit
        // still bounds the inflated copy.
        return Ok(());
    };
    let free = st.f_bavail.saturating_mul(st.f_frsize);
    if free < FREE_SPACE_FLOOR {
        bail!(
            "{}: stopped decompressing: only {} MiB left free in {} (dumpscrub leaves {} MiB); \
             free some space or point TMPDIR elsewhere",
            input.display(),
            free >> 20,
            dir.display(),
            FREE_SPACE_FLOOR >> 20
        );
    }
    Ok(())
}

/// Compresses `plain` in `kind` into `dest` atomically (a temporary file
/// beside it, synced, given `perms`, renamed); returns the SHA-256 of the
/// compressed file written.
pub fn compress_into(
    plain: &Path,
    kind: Compression,
    dest: &Path,
    perms: fs::Permissions,
) -> Result<String> {
    let (mut tmp, dir) = crate::redact::temp_beside(dest)?;
    let ctx = || {
        format!(
            "{}: cannot write the {} output",
            dest.display(),
            kind.as_str()
        )
    };
    let mut src = File::open(plain).with_context(ctx)?;
    {
        let out = BufWriter::new(tmp.as_file_mut());
        // The command-line tools' default levels: what a user compressing
        // by hand would have produced.
        let mut out = match kind {
            Compression::Gzip => {
                let mut e = flate2::write::GzEncoder::new(out, flate2::Compression::default());
                io::copy(&mut src, &mut e).with_context(ctx)?;
                e.finish().with_context(ctx)?
            }
            Compression::Zstd => {
                let mut e = zstd::stream::write::Encoder::new(out, 3).with_context(ctx)?;
                io::copy(&mut src, &mut e).with_context(ctx)?;
                e.finish().with_context(ctx)?
            }
            Compression::Xz => {
                let mut e = liblzma::write::XzEncoder::new(out, 6);
                io::copy(&mut src, &mut e).with_context(ctx)?;
                e.finish().with_context(ctx)?
            }
        };
        out.flush().with_context(ctx)?;
    }
    tmp.as_file().sync_all().with_context(ctx)?;
    let sha256 = sha256_file(tmp.path()).with_context(ctx)?;
    crate::redact::install(tmp, perms, dest, &dir)?;
    Ok(sha256)
}

fn sha256_file(path: &Path) -> io::Result<String> {
    let mut f = File::open(path)?;
    let mut h = Sha256::new();
    io::copy(&mut f, &mut h)?;
    Ok(crate::hex(&h.finalize()))
}

impl Engine {
    /// Scans or scrubs a compressed input through an inflated temporary
    /// copy. The report names the input as given; `size` and `sha256` are
    /// the compressed file's, `decompressed` the dump's that offsets refer
    /// to, and `output` the recompressed copy.
    pub(crate) fn process_compressed(
        &self,
        path: &Path,
        dest: Option<&Path>,
        kind: Compression,
    ) -> std::result::Result<FileReport, FileError> {
        let name = path.display().to_string();
        let meta = fs::metadata(path).with_context(|| format!("{name}: cannot read metadata"))?;
        let work_dir = match dest {
            Some(d) => crate::redact::parent_dir(d),
            None => std::env::temp_dir(),
        };
        let (inflated, size) =
            decompress(path, kind, &work_dir, self.options.max_decompressed_size)?;
        if let Some(p) = &self.progress {
            // The bar was sized with the compressed length.
            p.total.fetch_add(size, Ordering::Relaxed);
            p.total.fetch_sub(meta.len().min(size), Ordering::Relaxed);
        }
        let sha256 = sha256_file(path).with_context(|| format!("{name}: cannot read"))?;
        let scrubbed = match dest {
            Some(_) => Some(
                tempfile::Builder::new()
                    .prefix(".dumpscrub-")
                    .suffix(".scrubbed")
                    .tempfile_in(&work_dir)
                    .with_context(|| {
                        format!("{}: cannot create a temporary file", work_dir.display())
                    })?,
            ),
            None => None,
        };
        let mut report =
            self.process_plain(inflated.path(), &name, scrubbed.as_ref().map(|t| t.path()))?;
        drop(inflated);
        report.decompressed = report.sha256.take().map(|inner_sha| Decompressed {
            size: report.size.unwrap_or(size),
            sha256: inner_sha,
        });
        report.size = Some(meta.len());
        report.sha256 = Some(sha256);
        report.compression = Some(kind);
        if let (Some(dest), Some(scrubbed)) = (dest, scrubbed) {
            let out_sha = compress_into(scrubbed.path(), kind, dest, meta.permissions())?;
            report.output = Some(Output {
                path: dest.display().to_string(),
                sha256: out_sha,
            });
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_not_name_decides() {
        assert_eq!(
            Compression::sniff(&[0x1f, 0x8b, 8]),
            Some(Compression::Gzip)
        );
        assert_eq!(
            Compression::sniff(&[0x28, 0xb5, 0x2f, 0xfd, 0]),
            Some(Compression::Zstd)
        );
        assert_eq!(Compression::sniff(b"\xfd7zXZ\x00"), Some(Compression::Xz));
        assert_eq!(Compression::sniff(b"MDMP\x93\xa7"), None);
        assert_eq!(Compression::sniff(&[0x1f]), None);
    }

    #[test]
    fn size_limit_stops_a_bomb() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("zeros.gz");
        let mut e =
            flate2::write::GzEncoder::new(File::create(&src).unwrap(), flate2::Compression::best());
        e.write_all(&vec![0u8; 4 << 20]).unwrap();
        e.finish().unwrap();
        let err = decompress(&src, Compression::Gzip, dir.path(), 1 << 20).unwrap_err();
        let msg = format!("{err:#}");
        assert!(
            msg.contains("zeros.gz") && msg.contains("--max-decompressed-size"),
            "{msg}"
        );
        // Nothing left behind but the input.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
