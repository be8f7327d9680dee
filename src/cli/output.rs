//! Where reports go: `--report FILE` is written atomically (a temporary
//! file beside it, renamed when complete); `--report -` is standard
//! output, where JSON Lines stream as files finish.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use tempfile::NamedTempFile;

/// An open report destination.
pub enum Sink {
    Stdout,
    File { tmp: NamedTempFile, target: PathBuf },
}

impl Sink {
    pub fn open(target: &Path) -> Result<Self> {
        if target.as_os_str() == "-" {
            return Ok(Sink::Stdout);
        }
        let dir = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let tmp = tempfile::Builder::new()
            .prefix(".dumpscrub-report-")
            .tempfile_in(&dir)
            .with_context(|| format!("{}: cannot write the report", target.display()))?;
        Ok(Sink::File {
            tmp,
            target: target.to_path_buf(),
        })
    }

    pub fn write(&mut self, body: &str) -> Result<()> {
        match self {
            Sink::Stdout => {
                let mut out = std::io::stdout().lock();
                out.write_all(body.as_bytes())
                    .and_then(|_| out.flush())
                    .context("cannot write the report to standard output")
            }
            Sink::File { tmp, target } => tmp
                .write_all(body.as_bytes())
                .with_context(|| format!("{}: cannot write the report", target.display())),
        }
    }

    /// Puts a file report in place; nothing to do for standard output.
    pub fn finish(self) -> Result<()> {
        let Sink::File { tmp, target } = self else {
            return Ok(());
        };
        let ctx = || format!("{}: cannot write the report", target.display());
        tmp.as_file().sync_all().with_context(ctx)?;
        tmp.persist(&target)
            .map_err(|e| e.error)
            .with_context(ctx)?;
        Ok(())
    }
}
