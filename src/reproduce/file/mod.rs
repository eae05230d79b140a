//! Experiment files: a hypothesis as data. An experiment names the regimes it compares (each a
//! scenario with overrides, optionally over a grid of parameter values), the measures taken
//! from every run, the tests that turn measures into an effect, a 95% CI and a verdict, the
//! map over which the main test is repeated, and the figures of the report. Parsed with the
//! error quality of scenario files.
//!
//! One file per concept: `types` (the parsed experiment), `parse` (reading a file and the
//! parser's shared readers), then one per section of the file: `experiment`, `regimes`,
//! `measures`, `test_kinds`, `map`, `figures`.

mod experiment;
mod figures;
mod map;
mod measures;
mod parse;
mod regimes;
mod test_kinds;
mod types;

pub use types::{At, Condition, Expect, Experiment, Figure, Measure, MeasureKind, Replications, Side, TestKind};
