//! Parameter sweeps: a plan of runs fixed once (ids, design points, seeds), executed in
//! shards on one machine or as a cluster job array, and merged into tidy results.
//!
//! A sweep builds on the run loop without changing it (as Agents.jl's `paramscan` builds
//! on `run!`): each run is one replication of one scenario through
//! [`crate::engine::run_replication`], observed by a collector that keeps the named
//! metrics. A run's outputs depend only on its line of the plan, never on the shard that
//! ran it, the order or the thread count.
//!
//! - [`mod@file`]: the sweep file (base scenario, axes, design, what to keep, Slurm defaults);
//! - [`design`]: axes to design points, design points to scenarios;
//! - [`plan`]: the plan directory and `plan.csv`;
//! - `shard`: shards, and the append-only shard results file with its recovery;
//! - [`execute`]: running one shard's runs in parallel;
//! - `merge`: `results.csv`, `summary.csv` and the status of a sweep;
//! - `crate::stats`: means, standard deviations and confidence intervals;
//! - `slurm`: job-array scripts and their submission.

pub mod design;
pub mod execute;
pub mod file;
pub mod merge;
pub mod plan;
pub(crate) mod shard;
pub(crate) mod slurm;

pub use file::SweepFile;
pub use plan::Plan;
pub use shard::Shard;

/// Why a sweep command failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum SweepError {
    /// Bad input: a sweep or scenario file, a plan directory, an argument (exit code 2).
    Input(String),
    /// A failure while working: I/O, a lost lock, a cluster command (exit code 1).
    Io(String),
    /// `merge` found runs missing or failed (exit code 1); the message names them.
    Incomplete(String),
}

impl SweepError {
    pub(crate) fn exit_code(&self) -> u8 {
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

/// The checksum of a run's rows and the id of a plan: 64 bits, eight bytes at a time
/// (FxHash's rotate-xor-multiply step, then SplitMix's finaliser over the length). Not
/// cryptographic; it catches torn and mixed-up writes, which is all it is for, and it is
/// fast enough to hash every row a sweep writes (a byte-at-a-time hash was a tenth of a
/// large sweep's own cost).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Checksum {
    h: u64,
    len: u64,
    tail: [u8; 8],
    tail_len: usize,
}

impl Checksum {
    pub(crate) fn new() -> Checksum {
        Checksum { h: 0xcbf2_9ce4_8422_2325, len: 0, tail: [0; 8], tail_len: 0 }
    }

    #[inline]
    fn word(&mut self, w: u64) {
        self.h = (self.h.rotate_left(5) ^ w).wrapping_mul(0x517c_c1b7_2722_0a95);
    }

    /// Hashes bytes; any split of the same bytes into calls gives the same value.
    pub(crate) fn write(&mut self, mut bytes: &[u8]) {
        self.len += bytes.len() as u64;
        if self.tail_len > 0 {
            let take = (8 - self.tail_len).min(bytes.len());
            self.tail[self.tail_len..self.tail_len + take].copy_from_slice(&bytes[..take]);
            self.tail_len += take;
            bytes = &bytes[take..];
            if self.tail_len < 8 {
                return;
            }
            self.word(u64::from_le_bytes(self.tail));
            self.tail_len = 0;
        }
        let mut words = bytes.chunks_exact(8);
        for w in &mut words {
            self.word(u64::from_le_bytes(w.try_into().expect("eight bytes")));
        }
        let rest = words.remainder();
        self.tail[..rest.len()].copy_from_slice(rest);
        self.tail_len = rest.len();
    }

    pub(crate) fn finish(mut self) -> u64 {
        if self.tail_len > 0 {
            let mut last = [0u8; 8];
            last[..self.tail_len].copy_from_slice(&self.tail[..self.tail_len]);
            self.word(u64::from_le_bytes(last));
        }
        crate::foundation::mix(self.h ^ self.len)
    }

    pub(crate) fn of(bytes: &[u8]) -> u64 {
        let mut h = Checksum::new();
        h.write(bytes);
        h.finish()
    }
}

impl Default for Checksum {
    fn default() -> Self {
        Checksum::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_does_not_depend_on_how_the_bytes_are_split() {
        let data: Vec<u8> = (0..100u8).map(|i| i.wrapping_mul(37)).collect();
        let whole = Checksum::of(&data);
        for cut in [0, 1, 7, 8, 9, 50, 99, 100] {
            let mut h = Checksum::new();
            h.write(&data[..cut]);
            h.write(&data[cut..]);
            assert_eq!(h.finish(), whole, "split at {cut}");
        }
        assert_ne!(Checksum::of(b"abc"), Checksum::of(b"abd"));
        assert_ne!(Checksum::of(b"abc"), Checksum::of(b"abc\0"), "the length counts");
    }
}
