//! The list of files a run processes: every path argument and every line
//! of `--files-from`, directories walked recursively, then sorted by path
//! bytes and de-duplicated so that the order (and `--shard`) does not depend
//! on argument order or on how `find` happened to list a directory.

use std::ffi::OsStr;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use anyhow::{Context, Result};

use super::args::Inputs;

/// One entry of the list.
#[derive(Debug, Clone)]
pub struct Item {
    pub path: PathBuf,
    /// The directory argument this file was found under, if any: a file
    /// met in a walk that is not a dump is skipped, not an error, and
    /// `--output-dir` mirrors its path below this root.
    pub root: Option<PathBuf>,
    /// Set when the walk itself failed here (unreadable directory...).
    pub walk_error: Option<String>,
}

/// Collects, sorts, de-duplicates and shards the inputs. `skip_dir` is a
/// directory a walk must not enter (the `--output-dir`, so that a re-run
/// does not scrub its own outputs).
pub fn collect(inputs: &Inputs, skip_dir: Option<&Path>) -> Result<Vec<Item>> {
    let mut named: Vec<PathBuf> = inputs.paths.iter().map(|p| normalise(p)).collect();
    if let Some(list) = &inputs.files_from {
        named.extend(read_list(list, inputs.null)?);
    }
    let skip = skip_dir.and_then(file_id);
    let mut items = Vec::new();
    for p in named {
        if p.is_dir() {
            walk(&p, skip, &mut items);
        } else {
            items.push(Item {
                path: p,
                root: None,
                walk_error: None,
            });
        }
    }
    items.sort_by(|a, b| a.path.as_os_str().cmp(b.path.as_os_str()));
    // A file named directly and also met in a walk: keep the first after
    // sorting (the walk's, if any, sorts equal; either is fine).
    items.dedup_by(|b, a| a.path == b.path);
    if let Some((i, n)) = inputs.shard {
        items = items
            .into_iter()
            .enumerate()
            .filter(|(k, _)| k % n == i)
            .map(|(_, it)| it)
            .collect();
    }
    Ok(items)
}

fn walk(root: &Path, skip: Option<(u64, u64)>, items: &mut Vec<Item>) {
    let walker = walkdir::WalkDir::new(root)
        .sort_by_file_name()
        .into_iter()
        // Never the root itself: an output directory that is the input
        // directory must be refused file by file, not walk as empty.
        .filter_entry(|e| {
            e.depth() == 0
                || !(e.file_type().is_dir() && skip.is_some() && file_id(e.path()) == skip)
        });
    for entry in walker {
        match entry {
            Ok(e) if e.file_type().is_file() => items.push(Item {
                path: e.path().to_path_buf(),
                root: Some(root.to_path_buf()),
                walk_error: None,
            }),
            Ok(_) => {}
            Err(e) => items.push(Item {
                path: e.path().unwrap_or(root).to_path_buf(),
                root: Some(root.to_path_buf()),
                walk_error: Some(format!("cannot read directory entry: {e}")),
            }),
        }
    }
}

/// Reads `--files-from`: one path a line (or NUL-separated), empty entries
/// ignored. Paths are bytes, so any file name survives `-print0`.
fn read_list(list: &Path, null: bool) -> Result<Vec<PathBuf>> {
    let mut buf = Vec::new();
    if list.as_os_str() == "-" {
        std::io::stdin()
            .lock()
            .read_to_end(&mut buf)
            .context("cannot read the list of files from standard input")?;
    } else {
        buf = std::fs::read(list)
            .with_context(|| format!("{}: cannot read the list of files", list.display()))?;
    }
    let sep = if null { b'\0' } else { b'\n' };
    Ok(buf
        .split(|&b| b == sep)
        .map(|l| {
            if null {
                l
            } else {
                l.strip_suffix(b"\r").unwrap_or(l)
            }
        })
        .filter(|l| !l.is_empty())
        .map(|l| normalise(Path::new(OsStr::from_bytes(l))))
        .collect())
}

/// `./a//b` and `a/b` name one file and must sort and de-duplicate as one.
fn normalise(p: &Path) -> PathBuf {
    let out: PathBuf = p
        .components()
        .filter(|c| !matches!(c, Component::CurDir))
        .collect();
    if out.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        out
    }
}

/// (device, inode), to recognise one file under two names.
pub fn file_id(p: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(p).ok().map(|m| (m.dev(), m.ino()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalise_drops_dot_components() {
        assert_eq!(normalise(Path::new("./a//b/./c")), PathBuf::from("a/b/c"));
        assert_eq!(normalise(Path::new(".")), PathBuf::from("."));
        assert_eq!(normalise(Path::new("/x/./y")), PathBuf::from("/x/y"));
    }
}
