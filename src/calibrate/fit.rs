//! Fitting: the calibration directory opened, its sweep's results read back into one sample
//! per design point and scored against the targets (the distance, the accepted samples); and
//! a scenario run and compared with the targets as it stands.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::plan::{check_firms, target_metrics};
use super::targets::{self, Calendar, Target};
use super::{Error, SETTINGS_FILE, SWEEP_DIR, TARGETS_FILE, input};
use crate::output::metrics::Metric;
use crate::scenario::{MAX_REPLICATIONS, ParamSpec, Scenario};
use crate::sweep::file::AxisValues;
use crate::sweep::merge;
use crate::sweep::{Plan, SweepError};

/// A run's series of the metrics the targets read, by name, indexed by tick.
type RunSeries = BTreeMap<&'static str, Vec<f64>>;

/// The series of one metric in a run (empty if it was not kept: the target is undefined).
fn series_of<'s>(run: &'s RunSeries) -> impl Fn(&Metric) -> &'s [f64] {
    move |m: &Metric| run.get(m.0).map_or(&[][..], Vec::as_slice)
}

/// Keeps the target metrics of one replication, tick by tick.
struct Series {
    kept: Vec<&'static Metric>,
    series: RunSeries,
}

impl crate::engine::Observer for Series {
    fn tick(&mut self, rep: &crate::engine::Replication, counts: &crate::engine::TickCounts) -> std::io::Result<()> {
        let row = crate::output::metrics::tick_row(rep, counts);
        for m in &self.kept {
            self.series.entry(m.0).or_default().push((m.1)(&row).as_f64());
        }
        Ok(())
    }
    fn acts(&mut self, _: &crate::engine::Replication, _: &[crate::model::centre::Act]) -> std::io::Result<()> {
        Ok(())
    }
    fn finish(&mut self, _: &crate::engine::Replication) -> std::io::Result<()> {
        Ok(())
    }
}

/// A scenario compared with targets as it stands: every replication's value of every target.
pub(crate) struct Evaluation {
    pub(crate) targets: Vec<Target>,
    /// `values[i][r]`: target i in replication r (None where undefined).
    pub(crate) values: Vec<Vec<Option<f64>>>,
}

/// Runs the scenario's replications (in parallel) and reads every target from each.
pub(crate) fn evaluate(scenario: &Path, targets_path: &Path, replications: Option<u32>) -> Result<Evaluation, Error> {
    use rayon::prelude::*;
    let mut s = Scenario::load(scenario).map_err(input)?;
    if let Some(r) = replications {
        if r == 0 || r > MAX_REPLICATIONS {
            return Err(SweepError::Input(format!(
                "--replications {r}: expected an integer in [1, {MAX_REPLICATIONS}]"
            )));
        }
        s.run.replications = r;
    }
    let calendar = Calendar::of(&s);
    let (targets, _) = targets::load(targets_path, calendar).map_err(input)?;
    check_firms(&s, scenario, &targets, targets_path)?;
    let kept = target_metrics(&targets);
    let runs: Vec<Series> = (0..s.run.replications)
        .into_par_iter()
        .map(|r| {
            let mut obs = Series { kept: kept.clone(), series: RunSeries::new() };
            crate::engine::run_validated(&s, r, &mut obs, &|| {}).map(|()| obs)
        })
        .collect::<Result<_, _>>()
        .map_err(|e| match e {
            crate::engine::RunError::Model(m) => SweepError::Input(format!("{}: {m}", scenario.display())),
            other => SweepError::Io(other.to_string()),
        })?;
    let values = targets
        .iter()
        .map(|t| runs.iter().map(|run| t.model_value(&calendar, &series_of(&run.series))).collect())
        .collect();
    Ok(Evaluation { targets, values })
}

/// An opened calibration directory.
pub(crate) struct Calibration {
    pub(crate) dir: PathBuf,
    pub(crate) plan: Plan,
    pub(crate) targets: Vec<Target>,
    pub(crate) accept: f64,
    pub(crate) calendar: Calendar,
}

impl Calibration {
    pub(crate) fn open(dir: &Path) -> Result<Calibration, Error> {
        let settings_path = dir.join(SETTINGS_FILE);
        if !settings_path.is_file() {
            return Err(SweepError::Input(format!(
                "'{}' is not a calibration directory (no {SETTINGS_FILE}); plan one with `esh calibrate SCENARIO --targets FILE --params ...`",
                dir.display()
            )));
        }
        let plan = Plan::open(&dir.join(SWEEP_DIR))?;
        let calendar = Calendar::of(&plan.sweep.base);
        let (targets, _) = targets::load(&dir.join(TARGETS_FILE), calendar).map_err(input)?;
        let text = std::fs::read_to_string(&settings_path)
            .map_err(|e| SweepError::Io(format!("cannot read '{}': {e}", settings_path.display())))?;
        let table: toml::Table =
            text.parse().map_err(|e| SweepError::Input(format!("{}: invalid TOML: {e}", settings_path.display())))?;
        let accept = table
            .get("calibration")
            .and_then(|c| c.get("accept"))
            .and_then(|a| a.as_float())
            .filter(|a| *a > 0.0 && *a <= 1.0)
            .ok_or_else(|| {
                SweepError::Input(format!("{}: [calibration] needs accept, a share in (0, 1]", settings_path.display()))
            })?;
        Ok(Calibration { dir: dir.to_path_buf(), plan, targets, accept, calendar })
    }
}

/// One design point's fit.
#[derive(Clone, Debug)]
pub(crate) struct Sample {
    pub(crate) point: u64,
    pub(crate) values: Vec<String>,
    /// Each target's model value (mean over the point's replications); None if undefined.
    pub(crate) model: Vec<Option<f64>>,
    pub(crate) distance: f64,
    pub(crate) accepted: bool,
}

/// The outcome of a fit.
pub(crate) struct Fit {
    pub(crate) samples: Vec<Sample>,
    /// Indices into `samples`, closest first.
    pub(crate) ranking: Vec<usize>,
    pub(crate) accepted: usize,
    pub(crate) params: Vec<(&'static ParamSpec, AxisValues)>,
}

impl Fit {
    pub(crate) fn best(&self) -> &Sample {
        &self.samples[self.ranking[0]]
    }
}

/// Merges the calibration's sweep and fits: every sample's distance, the accepted ones.
pub(crate) fn fit(c: &Calibration) -> Result<Fit, Error> {
    // merge refuses an incomplete sweep, naming what is missing or failed; its help is the
    // sweep's, so say what to do here instead.
    merge::merge(&c.plan, &merge::Options::default()).map_err(|e| match e {
        SweepError::Incomplete(m) => {
            let what = m.split("\n  help:").next().unwrap_or(&m).replace("nothing was written", "nothing was fitted");
            SweepError::Incomplete(format!(
                "{what}\n  help: run them here with `esh calibrate --resume {0}`, or on Slurm with `esh sweep slurm {1} --missing --submit`, then `esh calibrate --fit {0}`",
                c.dir.display(),
                c.plan.dir.display()
            ))
        }
        other => other,
    })?;
    let samples = read_samples(c)?;
    let mut ranking: Vec<usize> = (0..samples.len()).collect();
    ranking.sort_by(|&a, &b| samples[a].distance.total_cmp(&samples[b].distance).then(a.cmp(&b)));
    let finite = samples.iter().filter(|s| s.distance.is_finite()).count();
    if finite == 0 {
        let undefined: Vec<&str> = c
            .targets
            .iter()
            .enumerate()
            .filter(|(k, t)| t.weight > 0.0 && samples.iter().all(|s| s.model[*k].is_none()))
            .map(|(_, t)| t.name.as_str())
            .collect();
        let which = if undefined.is_empty() {
            String::new()
        } else {
            format!(" (undefined in every sample: {})", undefined.join(", "))
        };
        return Err(SweepError::Incomplete(format!(
            "no sample gives every fitted target a defined value (a ratio over 0, growth from 0){which}; no fit was written\n  \
             written: the runs and their merged results.csv in {}; the calibration's settings and targets in {}\n  \
             help: change or drop (weight = 0) the undefined targets in {}, then `esh calibrate --fit {}`",
            c.plan.dir.display(),
            c.dir.display(),
            c.dir.join(TARGETS_FILE).display(),
            c.dir.display()
        )));
    }
    let accepted = ((samples.len() as f64 * c.accept).round() as usize).clamp(1, finite);
    let mut samples = samples;
    for &i in &ranking[..accepted] {
        samples[i].accepted = true;
    }
    let params = c.plan.sweep.axes.iter().map(|a| (a.spec, a.values.clone())).collect();
    Ok(Fit { samples, ranking, accepted, params })
}

/// Reads results.csv into one sample per design point.
fn read_samples(c: &Calibration) -> Result<Vec<Sample>, Error> {
    let path = c.plan.dir.join("results.csv");
    let bad = |m: String| SweepError::Io(format!("{}: {m}", path.display()));
    let mut rd = csv::Reader::from_path(&path).map_err(|e| bad(e.to_string()))?;
    let header = rd.headers().map_err(|e| bad(e.to_string()))?.clone();
    let col = |name: &str| header.iter().position(|h| h == name).ok_or_else(|| bad(format!("no column {name}")));
    let (run_col, point_col, tick_col) = (col("run")?, col("point")?, col("tick")?);
    let axes = c.plan.axis_names();
    let axis_cols: Vec<usize> = axes.iter().map(|a| col(a)).collect::<Result<_, _>>()?;
    let metric_cols: BTreeMap<&'static str, usize> =
        c.plan.sweep.metrics.iter().map(|m| col(m.0).map(|i| (m.0, i))).collect::<Result<_, _>>()?;
    let ticks = c.calendar.ticks as usize + 1;
    // Per run: its point, axis values and series (metric -> value by tick).
    // Per run: its design point, axis values and series.
    let mut runs: Vec<(u64, Vec<String>, RunSeries)> = Vec::new();
    let mut current: Option<u64> = None;
    for rec in rd.records() {
        let rec = rec.map_err(|e| bad(e.to_string()))?;
        let num = |i: usize| rec[i].parse::<f64>().map_err(|_| bad(format!("'{}' is not a number", &rec[i])));
        let run = num(run_col)? as u64;
        if current != Some(run) {
            current = Some(run);
            let series = metric_cols.keys().map(|&m| (m, vec![f64::NAN; ticks])).collect();
            runs.push((num(point_col)? as u64, axis_cols.iter().map(|&i| rec[i].to_string()).collect(), series));
        }
        let tick = num(tick_col)? as usize;
        let (_, _, series) = runs.last_mut().expect("pushed");
        for (m, &i) in &metric_cols {
            if let Some(slot) = series.get_mut(m).and_then(|s| s.get_mut(tick)) {
                // An empty cell is an undefined value (NaN inside, as the targets expect).
                *slot = if rec[i].is_empty() { f64::NAN } else { num(i)? };
            }
        }
    }
    let mut samples: Vec<Sample> = Vec::new();
    let mut sums: Vec<Vec<(f64, u32, bool)>> = Vec::new();
    for (point, values, series) in &runs {
        if samples.last().map(|s| s.point) != Some(*point) {
            samples.push(Sample {
                point: *point,
                values: values.clone(),
                model: Vec::new(),
                distance: 0.0,
                accepted: false,
            });
            sums.push(vec![(0.0, 0, false); c.targets.len()]);
        }
        let acc = sums.last_mut().expect("pushed");
        for (t, a) in c.targets.iter().zip(acc.iter_mut()) {
            match t.model_value(&c.calendar, &series_of(series)) {
                Some(v) => {
                    a.0 += v;
                    a.1 += 1;
                }
                None => a.2 = true,
            }
        }
    }
    for (s, acc) in samples.iter_mut().zip(&sums) {
        s.model = acc.iter().map(|&(sum, n, undefined)| (!undefined && n > 0).then(|| sum / n as f64)).collect();
        s.distance = distance(&c.targets, &s.model);
    }
    Ok(samples)
}

/// Weighted root mean square of the fitted targets' relative errors; infinite when a
/// fitted target is undefined.
pub(crate) fn distance(targets: &[Target], model: &[Option<f64>]) -> f64 {
    let (mut sum, mut weights) = (0.0, 0.0);
    for (t, m) in targets.iter().zip(model) {
        if t.weight == 0.0 {
            continue;
        }
        let Some(m) = m else { return f64::INFINITY };
        let e = t.error(*m);
        sum += t.weight * e * e;
        weights += t.weight;
    }
    (sum / weights).sqrt()
}
