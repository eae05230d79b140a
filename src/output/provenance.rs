//! provenance.json: what produced a run, so a figure can be traced to its source.

use serde::Serialize;

/// The commit ESH was built from, when the build could ask git.
pub(crate) const GIT_COMMIT: Option<&str> = option_env!("ESH_GIT_COMMIT");

#[derive(Debug, Serialize)]
pub(crate) struct Provenance {
    pub(crate) esh_version: &'static str,
    pub(crate) git_commit: Option<&'static str>,
    pub(crate) scenario: String,
    /// Parameters set on the command line (`--seed`, `--replications`, `--set`), as
    /// `key = value`, in the order applied; scenario.resolved.toml holds their result.
    pub(crate) overrides: Vec<String>,
    pub(crate) seed: u64,
    pub(crate) replications: u32,
    pub(crate) ticks: u32,
    pub(crate) threads: usize,
    pub(crate) started_unix_seconds: u64,
    pub(crate) wall_time_seconds: f64,
    pub(crate) command_line: Vec<String>,
    pub(crate) files: Vec<String>,
}
