//! Why a run into a directory failed, in words that say what to do about it.

use std::io;
use std::path::PathBuf;

use super::memory::{self, human};
use crate::engine::RunError;

/// Why a run into a directory failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum OutputError {
    /// The output directory exists and `--force` was not given.
    Exists(PathBuf),
    /// The output path cannot be a run directory (no name, an existing file, too long).
    BadPath(PathBuf, String),
    /// The run would not fit in memory.
    Memory {
        /// What the run needs: per replication in flight, and for the threads asked for.
        need: memory::Need,
        /// The memory figure it was checked against, and where that came from.
        have: memory::Have,
    },
    /// A signal stopped the run; nothing was left behind.
    Interrupted(i32),
    /// The run finished but could not be moved into place; its outputs are complete in
    /// the partial directory.
    NotPublished {
        /// The run directory that was asked for.
        out: PathBuf,
        /// The partial directory that holds the complete outputs.
        kept: PathBuf,
        /// Why the move failed.
        why: String,
    },
    /// Writing the outputs failed at this path (disk full, no permission); the partial
    /// directory is removed.
    Io(PathBuf, io::Error),
    /// A replication could not run (see [`RunError`]); nothing was written.
    Run(RunError),
    /// The run's reporters name columns that cannot be written.
    Reporter(String),
}

impl std::fmt::Display for OutputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OutputError::Exists(p) => write!(
                f,
                "the output directory '{}' already exists; nothing was written\n  help: pass --force to replace it, or choose another with --out",
                p.display()
            ),
            OutputError::BadPath(p, why) => {
                write!(f, "cannot write a run to '{}': {why}; nothing was written", p.display())
            }
            OutputError::Memory { need, have } => {
                let fit = need.threads_fitting(have.bytes as f64);
                write!(
                    f,
                    "the run needs about {} of memory ({} replication(s) at once x {} each, plus {} of outputs waiting to be written) but {have} is available; nothing was written\n  help: ",
                    human(need.total()),
                    need.at_once,
                    human(need.per_replication),
                    human(need.in_flight)
                )?;
                if fit >= 1 {
                    write!(f, "run with --threads {fit}, or ")?;
                } else {
                    write!(f, "use fewer zones or a sparser network, or ")?;
                }
                write!(f, "pass --memory-limit SIZE (e.g. 64G) or --memory-limit none on a machine that has the memory")
            }
            OutputError::Interrupted(sig) => {
                write!(f, "interrupted by signal {sig}; the partial outputs were removed, nothing was written")
            }
            OutputError::NotPublished { out, kept, why } => write!(
                f,
                "the run finished but could not be moved to '{}': {why}\n  help: its complete outputs are in '{}'",
                out.display(),
                kept.display()
            ),
            OutputError::Io(p, e) => write!(f, "cannot write '{}': {e}", p.display()),
            OutputError::Run(e) => write!(f, "{e}"),
            OutputError::Reporter(why) => write!(f, "{why}; nothing was written"),
        }
    }
}

impl std::error::Error for OutputError {}
