//! What an experiment is, once parsed: its regimes, measures, tests, map and figures, as
//! plain data, and the conditions (regime x grid point) it runs.

use crate::scenario::{ParamSpec, Scenario, Value};
use crate::sweep::file::Axis;

/// How many replications an experiment runs (per condition and map cell alike).
#[derive(Clone, Debug, PartialEq)]
pub enum Replications {
    Fixed(u32),
    /// Start at `min` and add replications until the main test's 95% CI half-width is at
    /// most `half_width`, or `max` is reached.
    Auto {
        min: u32,
        max: u32,
        half_width: f64,
    },
}

/// One regime: a scenario with overrides; with axes, one condition per grid point.
#[derive(Clone, Debug)]
pub struct Regime {
    pub(crate) name: String,
    pub(crate) label: String,
    /// The file the scenario came from, as written in the experiment.
    pub(crate) source: String,
    /// The scenario with `set` applied (and the experiment's seed).
    pub(crate) scenario: Scenario,
    pub(crate) axes: Vec<Axis>,
}

/// What a measure reads from one run.
#[derive(Clone, Debug, PartialEq)]
pub enum MeasureKind {
    /// A ticks.csv metric: at the last tick, at one tick, or its mean over a window.
    Metric { metric: &'static str, at: At },
    /// Mean ticks from a local innovation's origin to the first tick at which half the
    /// active zones hold it, over the innovations that get there (NaN when none does).
    HalfAdoptionTime,
    /// Share of the programme's changes whose new setting came from a zone's experiment.
    LocalShare,
    /// Mean ticks from a local innovation's origin to its adoption into the programme.
    FeedbackLag,
    /// Horizontal adoptions / (horizontal + vertical adoptions), over the whole run.
    HorizontalShare,
    /// Spearman correlation of the procedural score at `tick` with performance growth over
    /// (tick, tick + horizon].
    ProceduralRho { tick: u32, horizon: u32 },
    /// The same for observed performance at `tick` (the retrospective index).
    RetrospectiveRho { tick: u32, horizon: u32 },
    /// ProceduralRho minus RetrospectiveRho, per run.
    ProceduralAdvantage { tick: u32, horizon: u32 },
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum At {
    Final,
    Tick(u32),
    Window(u32, u32),
}

#[derive(Clone, Debug)]
pub struct Measure {
    pub(crate) name: String,
    pub(crate) label: String,
    pub(crate) kind: MeasureKind,
}

/// One side of a test: a regime and, for a regime with axes, the values that pick one of
/// its conditions.
#[derive(Clone, Debug, PartialEq)]
pub struct Side {
    pub(crate) regime: usize,
    pub(crate) at: Vec<(&'static ParamSpec, Value)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    Greater,
    Less,
}

#[derive(Clone, Debug, PartialEq)]
pub enum TestKind {
    /// Paired difference a - b of a measure; expect its sign.
    Difference { measure: usize, a: Side, b: Side, expect: Expect },
    /// The mean of a measure in one condition against a threshold.
    Level { measure: usize, a: Side, threshold: f64, expect: Expect },
    /// The share of paired runs in which a's measure beats b's (ties count half), against
    /// a threshold.
    Share { measure: usize, a: Side, b: Side, threshold: f64, expect: Expect },
    /// The tick from which b's mean metric stays above a's, having been below it.
    Crossover { metric: &'static str, a: Side, b: Side },
}

impl TestKind {
    /// The conditions the test compares: a, then b where there is one.
    pub(crate) fn sides(&self) -> Vec<&Side> {
        match self {
            TestKind::Difference { a, b, .. } | TestKind::Share { a, b, .. } | TestKind::Crossover { a, b, .. } => {
                vec![a, b]
            }
            TestKind::Level { a, .. } => vec![a],
        }
    }
}

#[derive(Clone, Debug)]
pub struct Test {
    pub(crate) name: String,
    pub(crate) label: String,
    pub(crate) kind: TestKind,
}

/// Where the main test holds: repeated over a grid of (usually) ruggedness and context
/// similarity, applied to every regime of the test.
#[derive(Clone, Debug)]
pub struct MapSpec {
    pub(crate) axes: Vec<Axis>,
    pub(crate) test: usize,
    pub(crate) replications: u32,
    pub(crate) quick_replications: u32,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Figure {
    /// A metric per tick, one line per condition of the regimes, with a 95% CI band.
    Series { title: String, metric: &'static str, regimes: Vec<usize> },
    /// A measure against a regime's axis `x`, one line per value of axis `group`.
    Curve { title: String, measure: usize, regime: usize, x: usize, group: Option<usize> },
}

/// A parsed, validated experiment file.
#[derive(Clone, Debug)]
pub struct Experiment {
    pub(crate) id: String,
    pub(crate) title: String,
    pub(crate) claim: String,
    pub(crate) source: String,
    /// A published result (a failure to reproduce it is a bug) rather than a seed's claim.
    pub(crate) published: bool,
    pub(crate) seed: u64,
    pub(crate) replications: Replications,
    pub(crate) quick_replications: u32,
    pub(crate) regimes: Vec<Regime>,
    pub(crate) measures: Vec<Measure>,
    pub(crate) tests: Vec<Test>,
    /// The test whose CI sets the number of replications and that the map repeats.
    pub(crate) main: usize,
    pub(crate) map: Option<MapSpec>,
    pub(crate) figures: Vec<Figure>,
    /// The file's text, quoted in the report.
    pub(crate) text: String,
}

impl Experiment {
    /// Every condition (regime x grid point of its axes), in order.
    pub(crate) fn conditions(&self) -> Vec<Condition> {
        let mut out = Vec::new();
        for (i, g) in self.regimes.iter().enumerate() {
            for values in crate::sweep::design::grid(&g.axes) {
                out.push(Condition { regime: i, values });
            }
        }
        out
    }

    /// The index in `conditions` of a test side.
    pub(crate) fn condition_of(&self, conditions: &[Condition], side: &Side) -> usize {
        let g = &self.regimes[side.regime];
        conditions
            .iter()
            .position(|c| {
                c.regime == side.regime
                    && side.at.iter().all(|(spec, v)| {
                        g.axes.iter().zip(&c.values).any(|(a, cv)| std::ptr::eq(a.spec, *spec) && same(cv, v))
                    })
            })
            .expect("sides are validated against the regime's axes")
    }
}

/// One regime at one point of its axes.
#[derive(Clone, Debug, PartialEq)]
pub struct Condition {
    pub(crate) regime: usize,
    pub(crate) values: Vec<Value>,
}

/// Two axis values are the same also when one is written as an integer and the other as a
/// float (`0` and `0.0`).
pub(super) fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Float(x), Value::Int(i)) | (Value::Int(i), Value::Float(x)) => *x == *i as f64,
        _ => a == b,
    }
}
