//! The hypotheses of the literature as runnable experiments (`esh reproduce`). An experiment
//! file (`file`) names regimes, measures and tests; `run` runs every condition's
//! replications in parallel through the engine (common random numbers: replication r of
//! every condition shares its seed, so its landscape and starting policies), `probe` reduces
//! each run to its measures, `evaluate` turns measures into effects, bootstrap CIs and
//! verdicts, and `report` writes the report, tables and figures.

pub(crate) mod embedded;
pub(crate) mod file;
pub use file::Experiment;
pub(crate) mod probe;
pub(crate) mod report;

use crate::stats;
use rayon::prelude::*;

use crate::progress::Progress;
use crate::scenario::{Scenario, Value};
use crate::sweep::file::Axis;
use file::{Condition, Expect, Replications, Side, TestKind};
use probe::{Probe, RunData};

/// How to run an experiment.
#[derive(Clone, Debug, Default)]
pub(crate) struct Options {
    /// Few replications (the experiment's `quick_replications`), for CI and a first look.
    pub(crate) quick: bool,
    /// Replaces the experiment's master seed.
    pub(crate) seed: Option<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    Supported,
    Contradicted,
    Inconclusive,
}

impl Verdict {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Verdict::Supported => "supported",
            Verdict::Contradicted => "contradicted",
            Verdict::Inconclusive => "inconclusive",
        }
    }
}

/// The outcome of one test.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct TestResult {
    pub(crate) effect: f64,
    pub(crate) lo: f64,
    pub(crate) hi: f64,
    /// Runs (or pairs of runs) that entered the statistic.
    pub(crate) n: usize,
    pub(crate) verdict: Verdict,
    /// The means behind the effect, in words (e.g. "ESH 0.712, top-down 0.654").
    pub(crate) detail: String,
}

/// One cell of the map: the main test at one point of the map's axes.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct MapCell {
    pub(crate) values: Vec<Value>,
    pub(crate) result: TestResult,
}

/// Everything an experiment produced.
#[derive(Clone, Debug)]
pub(crate) struct Outcome {
    pub(crate) experiment: Experiment,
    pub(crate) seed: u64,
    pub(crate) quick: bool,
    pub(crate) conditions: Vec<Condition>,
    /// How the number of replications was reached, in words.
    pub(crate) replication_note: String,
    /// `data[condition][replication]`.
    pub(crate) data: Vec<Vec<RunData>>,
    pub(crate) series_names: Vec<&'static str>,
    pub(crate) results: Vec<TestResult>,
    pub(crate) map: Vec<MapCell>,
    pub(crate) map_replications: u32,
    pub(crate) seconds: f64,
}

/// The metrics whose per-tick series the runs keep (figures and crossover tests).
fn kept_series(e: &Experiment) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    let mut add = |m: &'static str| {
        if !out.contains(&m) {
            out.push(m)
        }
    };
    for f in &e.figures {
        if let file::Figure::Series { metric, .. } = f {
            add(metric);
        }
    }
    for t in &e.tests {
        if let TestKind::Crossover { metric, .. } = t.kind {
            add(metric);
        }
    }
    out
}

/// The scenario of a condition, with a map cell's axes and values (if any) on top.
fn condition_scenario(
    e: &Experiment,
    c: &Condition,
    map: &[Axis],
    cell: &[Value],
    seed: u64,
) -> Result<Scenario, String> {
    let g = &e.regimes[c.regime];
    let axes = [g.axes.as_slice(), map].concat();
    let values = [c.values.as_slice(), cell].concat();
    crate::sweep::design::scenario(&g.scenario, &axes, &values, seed).map_err(|err| format!("regime {}: {err}", g.name))
}

/// Runs replications `from..to` of every scenario, in parallel; results in a fixed order.
fn run_batch(
    e: &Experiment,
    scenarios: &[Scenario],
    kept: &[&'static str],
    from: u32,
    to: u32,
    progress: &dyn Progress,
) -> Result<Vec<Vec<RunData>>, String> {
    let jobs: Vec<(usize, u32)> = (0..scenarios.len()).flat_map(|c| (from..to).map(move |r| (c, r))).collect();
    let runs: Vec<Result<RunData, String>> = jobs
        .par_iter()
        .map(|&(c, r)| {
            let s = &scenarios[c];
            let mut probe = Probe::new(&e.measures, kept, s.run.ticks);
            crate::engine::run_validated(s, r, &mut probe, &|| {}).map_err(|err| err.to_string())?;
            progress.advance(1);
            Ok(probe.finish_data())
        })
        .collect();
    let mut out: Vec<Vec<RunData>> = vec![Vec::new(); scenarios.len()];
    for ((c, _), run) in jobs.iter().zip(runs) {
        out[*c].push(run?);
    }
    Ok(out)
}

/// Runs an experiment: its conditions, enough replications, its tests and its map.
/// `progress` counts the runs, labelled with the experiment's id; their total is not known
/// in advance when replications are added until the CI target is met.
pub(crate) fn run(e: &Experiment, opts: &Options, progress: &dyn Progress) -> Result<Outcome, String> {
    progress.start(None, &e.id);
    let outcome = run_experiment(e, opts, progress);
    progress.finish();
    outcome
}

fn run_experiment(e: &Experiment, opts: &Options, progress: &dyn Progress) -> Result<Outcome, String> {
    let start = std::time::Instant::now();
    let seed = opts.seed.unwrap_or(e.seed);
    let conditions = e.conditions();
    let scenarios: Vec<Scenario> =
        conditions.iter().map(|c| condition_scenario(e, c, &[], &[], seed)).collect::<Result<_, _>>()?;
    let kept = kept_series(e);
    let series_names = probe::series_names(&e.measures, &kept);
    let (mut n, auto) = match (&e.replications, opts.quick) {
        (_, true) => (e.quick_replications, None),
        (Replications::Fixed(n), false) => (*n, None),
        (Replications::Auto { min, max, half_width }, false) => (*min, Some((*max, *half_width))),
    };
    let mut data = run_batch(e, &scenarios, &kept, 0, n, progress)?;
    let note = match auto {
        None if opts.quick => {
            format!("{n} per condition (quick mode: too few for the CI target; for a first look and for CI)")
        }
        None => format!("{n} per condition (fixed by the experiment file)"),
        // Each round adds at least one replication and never passes `max`, so this ends.
        Some((max, target)) => loop {
            let r = evaluate(e, &conditions, &data, e.main, seed, 0);
            let half = (r.hi - r.lo) / 2.0;
            if half <= target {
                break format!(
                    "{n} per condition: the main test's 95% CI half-width is {half:.4}, under the target {target}"
                );
            }
            if half.is_nan() {
                break format!("{n} per condition (the main test's CI is undefined: too few defined values)");
            }
            if n >= max {
                break format!(
                    "{n} per condition: the cap max_replications; the main test's CI half-width is {half:.4}, above the target {target}"
                );
            }
            let next = (((n as f64) * (half / target).powi(2) * 1.1).ceil() as u32).clamp(n + 1, max);
            for (d, more) in data.iter_mut().zip(run_batch(e, &scenarios, &kept, n, next, progress)?) {
                d.extend(more);
            }
            n = next;
        },
    };
    let results = (0..e.tests.len()).map(|t| evaluate(e, &conditions, &data, t, seed, 0)).collect();
    let (map, map_replications) = run_map(e, &conditions, seed, opts.quick, &kept, progress)?;
    Ok(Outcome {
        experiment: e.clone(),
        seed,
        quick: opts.quick,
        conditions,
        replication_note: note,
        data,
        series_names,
        results,
        map,
        map_replications,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// Runs the map: the map's test at every point of its axes (its regimes' conditions only).
fn run_map(
    e: &Experiment,
    conditions: &[Condition],
    seed: u64,
    quick: bool,
    kept: &[&'static str],
    progress: &dyn Progress,
) -> Result<(Vec<MapCell>, u32), String> {
    let Some(m) = &e.map else { return Ok((Vec::new(), 0)) };
    let reps = if quick { m.quick_replications } else { m.replications };
    // Only the conditions the test uses are run; the others stay empty.
    let used = test_conditions(e, conditions, m.test);
    let mut cells = Vec::new();
    for (k, values) in crate::sweep::design::grid(&m.axes).into_iter().enumerate() {
        let scenarios: Vec<Scenario> = used
            .iter()
            .map(|&c| condition_scenario(e, &conditions[c], &m.axes, &values, seed))
            .collect::<Result<_, _>>()?;
        let mut data = vec![Vec::new(); conditions.len()];
        for (&c, d) in used.iter().zip(run_batch(e, &scenarios, kept, 0, reps, progress)?) {
            data[c] = d;
        }
        let result = evaluate(e, conditions, &data, m.test, seed, k as u64 + 1);
        cells.push(MapCell { values, result });
    }
    Ok((cells, reps))
}

fn test_conditions(e: &Experiment, conditions: &[Condition], test: usize) -> Vec<usize> {
    let mut out: Vec<usize> = e.tests[test].kind.sides().iter().map(|s| e.condition_of(conditions, s)).collect();
    out.dedup();
    out
}

/// A condition's name for the report: the regime's label and its axis values.
pub(crate) fn condition_label(e: &Experiment, c: &Condition) -> String {
    let g = &e.regimes[c.regime];
    if g.axes.is_empty() {
        return g.label.clone();
    }
    let vals: Vec<String> = g.axes.iter().zip(&c.values).map(|(a, v)| format!("{}={v}", a.spec.key)).collect();
    format!("{} ({})", g.label, vals.join(", "))
}

fn judge(lo: f64, hi: f64, against: f64, expect: Expect) -> Verdict {
    if lo.is_nan() || hi.is_nan() {
        return Verdict::Inconclusive;
    }
    let (above, below) = (lo > against, hi < against);
    match (expect, above, below) {
        (Expect::Greater, true, _) | (Expect::Less, _, true) => Verdict::Supported,
        (Expect::Greater, _, true) | (Expect::Less, true, _) => Verdict::Contradicted,
        _ => Verdict::Inconclusive,
    }
}

/// Evaluates test `t` on the runs in `data`; `cell` separates the bootstrap streams of map
/// cells (0 for the experiment itself).
pub(crate) fn evaluate(
    e: &Experiment,
    conditions: &[Condition],
    data: &[Vec<RunData>],
    t: usize,
    seed: u64,
    cell: u64,
) -> TestResult {
    let runs = Runs { e, conditions, data, seed, label: (t as u64) << 20 | cell };
    match &e.tests[t].kind {
        TestKind::Difference { measure, a, b, expect } => difference(&runs, *measure, a, b, *expect),
        TestKind::Level { measure, a, threshold, expect } => level(&runs, *measure, a, *threshold, *expect),
        TestKind::Share { measure, a, b, threshold, expect } => share(&runs, *measure, a, b, *threshold, *expect),
        TestKind::Crossover { metric, a, b } => crossover_test(&runs, metric, a, b),
    }
}

/// What a test reads: the experiment's runs by condition, and the seed and stream of its
/// bootstrap.
struct Runs<'a> {
    e: &'a Experiment,
    conditions: &'a [Condition],
    data: &'a [Vec<RunData>],
    seed: u64,
    label: u64,
}

impl Runs<'_> {
    /// The runs of a side's condition.
    fn of(&self, side: &Side) -> &[RunData] {
        &self.data[self.e.condition_of(self.conditions, side)]
    }

    /// Measure `m` in every run of a side, in replication order.
    fn values(&self, side: &Side, m: usize) -> Vec<f64> {
        self.of(side).iter().map(|r| r.measures[m]).collect()
    }

    fn name(&self, side: &Side) -> String {
        condition_label(self.e, &self.conditions[self.e.condition_of(self.conditions, side)])
    }
}

/// The paired difference a - b: its mean with a bootstrap CI, against 0.
fn difference(runs: &Runs, measure: usize, a: &Side, b: &Side, expect: Expect) -> TestResult {
    let (va, vb) = (runs.values(a, measure), runs.values(b, measure));
    let pairs = defined_pairs(&va, &vb);
    let d: Vec<f64> = pairs.iter().map(|(x, y)| x - y).collect();
    let (lo, hi) = stats::bootstrap_mean(&d, runs.seed, runs.label);
    let ma = stats::mean(&pairs.iter().map(|p| p.0).collect::<Vec<_>>());
    let mb = stats::mean(&pairs.iter().map(|p| p.1).collect::<Vec<_>>());
    TestResult {
        effect: stats::mean(&d),
        lo,
        hi,
        n: d.len(),
        verdict: judge(lo, hi, 0.0, expect),
        detail: format!("{} {}, {} {}{}", runs.name(a), fmt(ma), runs.name(b), fmt(mb), dropped(va.len(), d.len())),
    }
}

/// The mean of a measure in one condition with a bootstrap CI, against a threshold.
fn level(runs: &Runs, measure: usize, a: &Side, threshold: f64, expect: Expect) -> TestResult {
    let v: Vec<f64> = runs.values(a, measure).into_iter().filter(|x| x.is_finite()).collect();
    let (lo, hi) = stats::bootstrap_mean(&v, runs.seed, runs.label);
    TestResult {
        effect: stats::mean(&v),
        lo,
        hi,
        n: v.len(),
        verdict: judge(lo, hi, threshold, expect),
        detail: format!("{}; threshold {}{}", runs.name(a), fmt(threshold), dropped(runs.of(a).len(), v.len())),
    }
}

/// The share of pairs in which a is strictly ahead, with Wilson's interval, against a threshold.
fn share(runs: &Runs, measure: usize, a: &Side, b: &Side, threshold: f64, expect: Expect) -> TestResult {
    // The strict share (Lazer & Friedman's Table B.1 counts a landscape only when
    // one network ends strictly higher); ties are reported beside it, not halved in.
    let (va, vb) = (runs.values(a, measure), runs.values(b, measure));
    let pairs = defined_pairs(&va, &vb);
    let w: Vec<f64> = pairs.iter().map(|(x, y)| (x > y) as u8 as f64).collect();
    let ties = pairs.iter().filter(|(x, y)| x == y).count();
    let k: f64 = w.iter().sum();
    let n = w.len();
    let (lo, hi) = stats::wilson(k, n as f64);
    TestResult {
        effect: stats::mean(&w),
        lo,
        hi,
        n,
        verdict: judge(lo, hi, threshold, expect),
        detail: format!(
            "{} strictly ahead of {} in {k} of {n} pairs; tied in {ties} (tie share {}), behind in {}{}",
            runs.name(a),
            runs.name(b),
            fmt(ties as f64 / n as f64),
            n - k as usize - ties,
            dropped(va.len(), n)
        ),
    }
}

/// The tick from which b's mean metric stays above a's, with a bootstrap CI; contradicted
/// when there is no such crossing.
fn crossover_test(runs: &Runs, metric: &str, a: &Side, b: &Side) -> TestResult {
    // The kept series come first in every run's series, in kept_series order.
    let k = kept_series(runs.e).iter().position(|m| *m == metric).expect("crossover metrics are kept");
    let diffs: Vec<Vec<f64>> = runs
        .of(a)
        .iter()
        .zip(runs.of(b))
        .map(|(ra, rb)| rb.series[k].iter().zip(&ra.series[k]).map(|(y, x)| y - x).collect())
        .collect();
    let at = |idx: &[usize]| crossover(&diffs, idx);
    let all: Vec<usize> = (0..diffs.len()).collect();
    let effect = at(&all);
    let (lo, hi) = stats::bootstrap(diffs.len(), runs.seed, runs.label, at);
    let verdict = if effect.is_nan() {
        Verdict::Contradicted
    } else if lo.is_nan() {
        Verdict::Inconclusive
    } else {
        Verdict::Supported
    };
    TestResult {
        effect,
        lo,
        hi,
        n: diffs.len(),
        verdict,
        detail: format!("{} ahead first, then {} from this tick on (mean {metric})", runs.name(a), runs.name(b)),
    }
}

/// The pairs (replication r of a, replication r of b) in which both measures are defined.
fn defined_pairs(a: &[f64], b: &[f64]) -> Vec<(f64, f64)> {
    a.iter().zip(b).filter(|(x, y)| x.is_finite() && y.is_finite()).map(|(x, y)| (*x, *y)).collect()
}

/// The first tick from which the mean of `b - a` stays positive, provided it was negative
/// before; NaN when there is no such crossing.
fn crossover(diffs: &[Vec<f64>], idx: &[usize]) -> f64 {
    let Some(first) = diffs.first() else { return f64::NAN };
    let ticks = first.len();
    let mean: Vec<f64> = (0..ticks).map(|t| idx.iter().map(|&i| diffs[i][t]).sum::<f64>() / idx.len() as f64).collect();
    let Some(last_not_ahead) = mean.iter().rposition(|&d| d <= 0.0) else { return f64::NAN };
    let cross = last_not_ahead + 1;
    if cross >= ticks || !mean[..cross].iter().any(|&d| d < 0.0) {
        return f64::NAN;
    }
    cross as f64
}

fn dropped(all: usize, used: usize) -> String {
    if all == used { String::new() } else { format!(" ({} of {all} runs undefined, left out)", all - used) }
}

/// A number in a verdict table: the one format of run, reproduce and calibrate (four
/// significant digits), `n/a` for an undefined value.
pub(crate) fn fmt(x: f64) -> String {
    if x.is_nan() { "n/a".into() } else { crate::output::summary::number(x) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crossover_on_hand_made_curves() {
        // b - a: negative early, positive from tick 3 on.
        let d = vec![vec![0.0, -0.2, -0.1, 0.1, 0.3], vec![0.0, -0.4, -0.3, 0.3, 0.1]];
        assert_eq!(crossover(&d, &[0, 1]), 3.0);
        // Never behind: no crossover.
        assert!(crossover(&[vec![0.0, 0.1, 0.2]], &[0]).is_nan());
        // Behind at the end: no crossover.
        assert!(crossover(&[vec![0.0, 0.1, -0.2]], &[0]).is_nan());
    }

    /// Hand-made runs: statistics that can be checked by hand.
    fn hand_made() -> (Experiment, Vec<Condition>) {
        let text = r#"
[experiment]
id = "hand"
title = "hand-made"
[[regime]]
name = "a"
scenario = "baseline.toml"
[[regime]]
name = "b"
scenario = "baseline.toml"
[[measure]]
name = "m"
metric = "mean_performance"
[[test]]
name = "diff"
kind = "difference"
measure = "m"
a = "a"
b = "b"
expect = "greater"
[[test]]
name = "level"
kind = "level"
measure = "m"
a = "b"
threshold = -1.0
expect = "less"
[[test]]
name = "share"
kind = "share"
measure = "m"
a = "a"
b = "b"
threshold = 0.5
expect = "greater"
"#;
        let e = Experiment::parse(text, "hand.toml", &embedded::scenario).unwrap();
        let c = e.conditions();
        (e, c)
    }

    fn runs(values: &[f64]) -> Vec<RunData> {
        values.iter().map(|&v| RunData { measures: vec![v], series: Vec::new() }).collect()
    }

    #[test]
    fn tests_compute_their_statistics() {
        let (e, c) = hand_made();
        let data = vec![runs(&[1.0, 2.0, 3.0, f64::NAN, 4.0]), runs(&[0.0, 0.5, 1.0, 2.0, 4.0])];
        // Differences of the four defined pairs: 1, 1.5, 2, 0 -> mean 1.125.
        let d = evaluate(&e, &c, &data, 0, 1, 0);
        assert_eq!(d.n, 4);
        assert!((d.effect - 1.125).abs() < 1e-12);
        assert!(d.lo >= 0.0 && d.hi <= 2.0 && d.lo < d.effect && d.effect < d.hi, "{d:?}");
        assert!(d.detail.contains("1 of 5 runs undefined"), "{}", d.detail);
        // Level of b: mean 1.5 against -1, expected less: the interval lies above: contradicted.
        let l = evaluate(&e, &c, &data, 1, 1, 0);
        assert!((l.effect - 1.5).abs() < 1e-12 && l.n == 5);
        assert_eq!(l.verdict, Verdict::Contradicted);
        // Share: a strictly ahead in 3 pairs, tied in 1 (4 = 4) -> 3 / 4, the tie not halved
        // in (it was 3.5 / 4 once) but reported beside it.
        let s = evaluate(&e, &c, &data, 2, 1, 0);
        assert!((s.effect - 0.75).abs() < 1e-12 && s.n == 4, "{s:?}");
        assert_eq!((s.lo, s.hi), stats::wilson(3.0, 4.0));
        assert_eq!(s.verdict, Verdict::Inconclusive);
        assert!(s.detail.contains("in 3 of 4 pairs; tied in 1 (tie share 0.25), behind in 0"), "{}", s.detail);
        // The same data and seed give the same interval; another seed another.
        assert_eq!(evaluate(&e, &c, &data, 0, 1, 0), d);
        assert_ne!(evaluate(&e, &c, &data, 0, 2, 0).lo, d.lo);
    }

    #[test]
    fn verdicts_follow_the_interval() {
        assert_eq!(judge(0.1, 0.3, 0.0, Expect::Greater), Verdict::Supported);
        assert_eq!(judge(-0.3, -0.1, 0.0, Expect::Greater), Verdict::Contradicted);
        assert_eq!(judge(-0.1, 0.1, 0.0, Expect::Greater), Verdict::Inconclusive);
        assert_eq!(judge(-0.3, -0.1, 0.0, Expect::Less), Verdict::Supported);
        assert_eq!(judge(0.6, 0.9, 0.5, Expect::Greater), Verdict::Supported);
        assert_eq!(judge(f64::NAN, f64::NAN, 0.0, Expect::Greater), Verdict::Inconclusive);
    }
}
