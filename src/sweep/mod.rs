//! Parameter sweeps: a plan of runs fixed once (ids, design points, seeds), executed in
//! shards on one machine or as a cluster job array, and merged into tidy results.
//!
//! A sweep builds on the run loop without changing it (as Agents.jl's `paramscan` builds
//! on `run!`): each run is one replication of one scenario through
//! [`crate::engine::run_replication`], observed by a collector that keeps the named
//! metrics. A run's outputs depend only on its line of the plan, never on the shard that
//! ran it, the order or the thread count.
//!
//! - [`file`]: the sweep file (base scenario, axes, design, what to keep, Slurm defaults);
//! - [`design`]: axes to design points, design points to scenarios;
//! - [`plan`]: the plan directory and `plan.csv`;
//! - [`shard`]: shards, and the append-only shard results file with its recovery;
//! - [`execute`]: running one shard's runs in parallel;
//! - [`merge`]: `results.csv`, `summary.csv` and the status of a sweep;
//! - [`stats`]: means, standard deviations and confidence intervals;
//! - [`slurm`]: job-array scripts and their submission.

pub mod design;
pub mod execute;
pub mod file;
pub mod merge;
pub mod plan;
pub mod shard;
pub mod slurm;
pub mod stats;

pub use file::SweepFile;
pub use plan::Plan;
pub use shard::Shard;

/// Why a sweep command failed.
#[derive(Debug)]
pub enum SweepError {
    /// Bad input: a sweep or scenario file, a plan directory, an argument (exit code 2).
    Input(String),
    /// A failure while working: I/O, a lost lock, a cluster command (exit code 1).
    Io(String),
    /// `merge` found runs missing or failed (exit code 1); the message names them.
    Incomplete(String),
}

impl SweepError {
    pub fn exit_code(&self) -> u8 {
        match self {
            SweepError::Input(_) => 2,
            SweepError::Io(_) | SweepError::Incomplete(_) => 1,
        }
    }
}

impl std::fmt::Display for SweepError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SweepError::Input(m) | SweepError::Io(m) | SweepError::Incomplete(m) => write!(f, "{m}"),
        }
    }
}

impl std::error::Error for SweepError {}

/// FNV-1a, 64 bits: the checksum of a run's rows and the id of a plan. Not cryptographic;
/// it catches torn and mixed-up writes, which is all it is for.
#[derive(Clone, Copy, Debug)]
pub struct Fnv(u64);

impl Fnv {
    pub fn new() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
    pub fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    pub fn finish(self) -> u64 {
        self.0
    }
    pub fn of(bytes: &[u8]) -> u64 {
        let mut h = Fnv::new();
        h.write(bytes);
        h.finish()
    }
}

impl Default for Fnv {
    fn default() -> Self {
        Fnv::new()
    }
}
