//! provenance.json: what produced a run, so a figure can be traced to its source.

use serde::Serialize;

/// The commit ESH was built from, when the build could ask git.
pub const GIT_COMMIT: Option<&str> = option_env!("ESH_GIT_COMMIT");

#[derive(Debug, Serialize)]
pub struct Provenance {
    pub esh_version: &'static str,
    pub git_commit: Option<&'static str>,
    pub scenario: String,
    /// Parameters set on the command line (`--seed`, `--replications`, `--set`), as
    /// `key = value`, in the order applied; scenario.resolved.toml holds their result.
    pub overrides: Vec<String>,
    pub seed: u64,
    pub replications: u32,
    pub ticks: u32,
    pub threads: usize,
    pub started_unix_seconds: u64,
    pub wall_time_seconds: f64,
    pub command_line: Vec<String>,
    pub files: Vec<String>,
}
