//! Calibration to published figures: approximate Bayesian computation by rejection.
//!
//! A calibration is a sweep: the scenario's named parameters are sampled over their ranges
//! by a Latin hypercube (the prior), each sample is run like any sweep run (so it runs on
//! one machine or as a Slurm job array, resumes after failures, and gives the same numbers
//! on any shard layout), and the samples closest to the targets are accepted (the
//! posterior). The distance is the weighted root mean square of the targets' relative
//! errors, each target's model value being its mean over the sample's replications.
//!
//! ```text
//! cal/calibration.toml  settings (accepted share, where the scenario came from)
//! cal/targets.toml      the targets, as given
//! cal/sweep/            the sweep plan and its results (esh sweep works on it)
//! cal/samples.csv       every sample: parameters, distance, accepted, model values
//! cal/targets.csv       every target: value, best sample's value and error, accepted range
//! cal/parameters.csv    every parameter: prior range, best value, accepted range
//! cal/calibrated.toml   the scenario at the best sample (resolved, re-runnable)
//! cal/report.md         all of it in words
//! ```
//!
//! One file per concept: `params` (which parameters are fitted and their prior ranges),
//! `plan` (the checks and the sweep a calibration plans), `fit` (the runs read back and scored
//! against the targets; a scenario compared as it stands), `report` (the files written and the
//! table printed); `targets` reads the targets file.

mod fit;
mod params;
mod plan;
mod report;
pub(crate) mod targets;

use crate::sweep::SweepError;

pub(crate) use fit::{Calibration, Fit, evaluate, fit};
pub(crate) use params::Param;
pub(crate) use plan::{Settings, plan};
pub(crate) use report::{Written, write_report};

pub(crate) const SETTINGS_FILE: &str = "calibration.toml";
pub(crate) const TARGETS_FILE: &str = "targets.toml";
pub(crate) const SWEEP_DIR: &str = "sweep";

/// Why a calibration failed, with the exit code the command line uses.
pub(crate) type Error = SweepError;

/// A scenario or targets file that does not read: bad input (exit code 2).
fn input(e: crate::scenario::ScenarioError) -> SweepError {
    SweepError::Input(e.to_string())
}
