//! Sweep files: a base scenario, the axes to vary, the design, and what to keep of each
//! run. Parsed with the same error quality as scenario files (file, line, column, key,
//! what is allowed, the nearest known name), and written back in a normalised form that
//! the plan directory keeps beside the resolved base scenario.

mod keys;
mod read;
mod write;

use std::fmt::Write;
use std::path::{Path, PathBuf};

use toml::Spanned;
use toml::de::DeValue;

use crate::input::{Reader, Span, Table, param_entries};
use crate::output::metrics::{METRICS, Metric, is_firm_metric, is_knowledge_metric, metric};
use crate::scenario::LandscapeKind;
use crate::scenario::{
    Domain, MAX_REPLICATIONS, ParamSpec, RESERVED, Scenario, ScenarioError, Value, all_specs, spec, suggest,
};
use keys::keys_of;
pub use keys::{KEYS, KeyDoc, reference};
pub(crate) use read::valid_slurm_time;

/// How the seeds of design points relate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Seeds {
    /// Every design point uses the same master seed: replication r of every point sees the
    /// same landscapes, network and starting draws (a paired design, as Lazer & Friedman's).
    Common,
    /// Each design point gets its own master seed, derived from the sweep seed and the point.
    Independent,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DesignKind {
    /// Every combination of the axes' values.
    Grid,
    /// `samples` points drawn uniformly and independently.
    Random,
    /// `samples` points of a Latin hypercube: each axis cut into `samples` equal strata,
    /// each stratum used once.
    Lhs,
}

/// What is kept of each run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Keep {
    /// Every `every`-th tick (and the last).
    All { every: u32 },
    /// The last tick only.
    Final,
    /// The mean over ticks `from..=to`.
    Window { from: u32, to: u32 },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Scale {
    Linear,
    Log,
}

/// The values an axis takes.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum AxisValues {
    /// Exactly these values (grid), or sampled from them with equal weight (random, lhs).
    List(Vec<Value>),
    /// A closed interval: `steps` points for a grid (every integer when the parameter is an
    /// integer and `steps` is left out), sampled for random and lhs designs.
    Range { from: f64, to: f64, steps: Option<u32>, scale: Scale },
}

/// One axis of a sweep: a scenario parameter and the values it takes across design points.
#[derive(Clone, Debug, PartialEq)]
pub struct Axis {
    pub(crate) spec: &'static ParamSpec,
    pub(crate) values: AxisValues,
}

impl Axis {
    pub(crate) fn name(&self) -> String {
        self.spec.path()
    }
}

/// Defaults for `esh sweep slurm` (its flags override them).
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct SlurmDefaults {
    pub(crate) tasks: Option<u32>,
    pub(crate) time: Option<String>,
    pub(crate) partition: Option<String>,
    pub(crate) memory: Option<String>,
    pub(crate) cpus: Option<u32>,
    pub(crate) account: Option<String>,
    pub(crate) throttle: Option<u32>,
    /// Extra `#SBATCH` lines, each an sbatch option such as "--qos=normal".
    pub(crate) extra: Vec<String>,
}

/// A parsed, validated sweep file.
#[derive(Clone, Debug)]
pub struct SweepFile {
    /// The scenario every design point starts from, before its axis values are set.
    pub base: Scenario,
    pub(crate) replications: u32,
    pub(crate) seed: u64,
    pub(crate) seeds: Seeds,
    pub(crate) design: DesignKind,
    /// Design points of a random or lhs design.
    pub(crate) samples: u32,
    pub(crate) keep: Keep,
    /// Whether `merge` writes summary.csv.
    pub(crate) summary: bool,
    pub(crate) metrics: Vec<&'static Metric>,
    /// Columns of the user's own [`Reporter`](crate::output::Reporter)s kept after the
    /// metrics (`[keep] reporters`); a shard must be run with reporters of exactly these
    /// columns registered ([`super::execute::Options::reporters`]).
    pub reporters: Vec<String>,
    /// The swept parameters, in the order of the file (and of plan.csv's columns).
    pub axes: Vec<Axis>,
    pub(crate) slurm: SlurmDefaults,
}

const TOP: &[&str] = &["sweep", "scenario", "axes", "keep", "slurm"];

/// Parameters that fix the calendar: events given by year were turned into ticks with them
/// when the base scenario was read, so an axis cannot change them.
pub(crate) const CALENDAR: &[&str] = &["run.start_year", "run.ticks_per_year"];
/// The most runs one plan may hold. Planning streams (its memory does not grow with the
/// plan), but `status` and `merge` keep an index entry per run (24 bytes), and a Latin
/// hypercube a permutation per axis: ten million keeps those under a few hundred MiB.
pub const MAX_RUNS: u64 = 10_000_000;
/// The most strata a Latin hypercube keeps (samples x axes, 4 bytes each: 100 MiB).
pub(crate) const MAX_LHS_CELLS: u64 = 25_000_000;

impl SweepFile {
    /// Reads and validates a sweep file; a `scenario` path in it is relative to the file.
    pub(crate) fn load(path: &Path) -> Result<SweepFile, ScenarioError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| ScenarioError::new(&name, format!("cannot read the sweep file: {e}")))?;
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        SweepFile::parse(&text, &name, &dir)
    }

    /// Parses sweep text; `file` names it in errors and `dir` anchors a relative
    /// `scenario` path.
    pub fn parse(text: &str, file: &str, dir: &Path) -> Result<SweepFile, ScenarioError> {
        let root = crate::input::parse(text, file)?;
        Reader::new(text, file, dir).sweep(&root)
    }

    /// Design points of the plan (a parsed sweep has at most [`MAX_RUNS`] runs, so this
    /// cannot overflow).
    pub fn points(&self) -> u64 {
        self.checked_points().expect("a parsed sweep has at most MAX_RUNS runs")
    }

    /// Design points, or None when their number does not fit in 64 bits.
    fn checked_points(&self) -> Option<u64> {
        match self.design {
            DesignKind::Grid => self.axes.iter().try_fold(1u64, |n, a| n.checked_mul(grid_len(a) as u64)),
            DesignKind::Random | DesignKind::Lhs => Some(self.samples as u64),
        }
    }

    /// Runs of the plan: design points x replications.
    pub fn runs(&self) -> u64 {
        self.points() * self.replications as u64
    }

    /// Warnings for the user at plan time: an axis that a scheduled `set` event of the base
    /// scenario overwrites varies only the ticks before that event.
    pub(crate) fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        for a in &self.axes {
            for e in &self.base.events {
                if let crate::scenario::Action::Set { parameter, value } = &e.action
                    && parameter.path() == a.name()
                {
                    out.push(format!(
                        "the axis `{}` is overwritten from tick {} (year {}) by the base scenario's `set` event of `{}` at that tick (value {value}): the axis varies only the ticks before it",
                        a.name(),
                        e.tick,
                        self.base.year(e.tick),
                        a.name()
                    ));
                }
            }
        }
        out
    }
}

/// Values of an axis on a grid.
pub(crate) fn grid_len(a: &Axis) -> usize {
    match &a.values {
        AxisValues::List(v) => v.len(),
        AxisValues::Range { from, to, steps: None, .. } => (to - from) as usize + 1,
        AxisValues::Range { steps: Some(n), .. } => *n as usize,
    }
}
