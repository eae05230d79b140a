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

pub mod targets;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::output::BuildError;
use crate::output::metrics::{METRICS, Metric};
use crate::scenario::MAX_REPLICATIONS;
use crate::scenario::{Domain, ParamSpec, Scenario, Value, spec};
use crate::sweep::file::AxisValues;
use crate::sweep::merge;
use crate::sweep::plan::write_atomic;
use crate::sweep::{Plan, SweepError};
use targets::{Calendar, Target};

pub const SETTINGS_FILE: &str = "calibration.toml";
pub const TARGETS_FILE: &str = "targets.toml";
pub const SWEEP_DIR: &str = "sweep";

/// A parameter to fit and its prior range.
#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    pub spec: &'static ParamSpec,
    pub from: f64,
    pub to: f64,
    pub log: bool,
}

impl Param {
    /// Reads `section.key=FROM:TO` or `section.key=FROM:TO:log` (the command line's form).
    pub fn parse(text: &str) -> Result<Param, String> {
        let form = "give a parameter as NAME=FROM:TO or NAME=FROM:TO:log, e.g. firms.seed_births=1:50";
        let (name, range) = text.split_once('=').ok_or_else(|| format!("--params \"{text}\": no '='; {form}"))?;
        let name = name.trim();
        let spec = spec(name).ok_or_else(|| {
            let all: Vec<String> = crate::scenario::all_specs().map(|s| s.path()).collect();
            let hint = crate::scenario::suggest::nearest(name, all.iter().map(String::as_str))
                .map(|n| format!(" (did you mean `{n}`?)"))
                .unwrap_or_default();
            format!("--params: unknown parameter `{name}`{hint}; `esh params` lists them")
        })?;
        let (min, max) = match spec.domain {
            Domain::Float { min, max } => (min, max),
            Domain::Int { min, max } => (min as f64, max as f64),
            _ => return Err(format!("--params: `{name}` is {}, not a number: it cannot be fitted", spec.domain)),
        };
        // What a sweep may not vary, and the run's length: none of them is part of the model.
        use crate::scenario::RESERVED;
        use crate::sweep::file::CALENDAR;
        if RESERVED.contains(&name) || CALENDAR.contains(&name) || name == "run.ticks" {
            return Err(format!("--params: `{name}` describes the run, not the model; it cannot be fitted"));
        }
        let parts: Vec<&str> = range.split(':').collect();
        let log = match parts.as_slice() {
            [_, _] => false,
            [_, _, "log"] => true,
            _ => return Err(format!("--params \"{text}\": {form}")),
        };
        let num = |s: &str| {
            s.trim()
                .parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .ok_or_else(|| format!("--params \"{text}\": \"{s}\" is not a number"))
        };
        let (from, to) = (num(parts[0])?, num(parts[1])?);
        if matches!(spec.domain, Domain::Int { .. }) && (from.fract() != 0.0 || to.fract() != 0.0) {
            return Err(format!("--params \"{text}\": `{name}` is an integer; give whole numbers as its bounds"));
        }
        if from >= to {
            return Err(format!("--params \"{text}\": the range is empty ({from} is not below {to})"));
        }
        if from < min || to > max {
            return Err(format!("--params \"{text}\": `{name}` must stay within {}", spec.domain));
        }
        if log && from <= 0.0 {
            return Err(format!("--params \"{text}\": a log range must be above 0"));
        }
        Ok(Param { spec, from, to, log })
    }

    fn axis(&self) -> String {
        let (from, to) = match self.spec.domain {
            Domain::Int { .. } => (format!("{}", self.from.round() as i64), format!("{}", self.to.round() as i64)),
            _ => (format!("{:?}", self.from), format!("{:?}", self.to)),
        };
        let scale = if self.log { ", scale = \"log\"" } else { "" };
        format!("{:?} = {{ from = {from}, to = {to}{scale} }}", self.spec.path())
    }
}

/// How a calibration is planned.
#[derive(Clone, Debug)]
pub struct Settings {
    pub params: Vec<Param>,
    /// Latin hypercube samples of the parameters.
    pub samples: u32,
    pub replications: u32,
    /// Share of the samples accepted (the closest), at least one sample.
    pub accept: f64,
    /// Master seed of the design and the runs (default: the scenario's).
    pub seed: Option<u64>,
}

/// Why a calibration failed, with the exit code the command line uses.
pub type Error = SweepError;

fn input(e: crate::scenario::ScenarioError) -> SweepError {
    SweepError::Input(e.to_string())
}

/// Refuses targets on firm columns when the scenario has no firms (they would all be 0).
fn check_firms(base: &Scenario, scenario: &Path, targets: &[Target], targets_path: &Path) -> Result<(), Error> {
    if base.firms.enabled {
        return Ok(());
    }
    let on_firms: Vec<&str> = targets
        .iter()
        .filter(|t| t.metrics().iter().any(|m| crate::output::metrics::is_firm_metric(m.0)))
        .map(|t| t.name.as_str())
        .collect();
    if on_firms.is_empty() {
        return Ok(());
    }
    Err(SweepError::Input(format!(
        "{}: targets {} read firm columns, but {} has [firms] enabled = false (they would all be 0)\n  help: set `enabled = true` in the scenario's [firms]",
        targets_path.display(),
        on_firms.join(", "),
        scenario.display()
    )))
}

/// Plans a calibration into a new directory: the settings, the targets and a sweep plan.
pub fn plan(scenario: &Path, targets_path: &Path, settings: &Settings, out: &Path, force: bool) -> Result<(), Error> {
    let base = Scenario::load(scenario).map_err(input)?;
    let (targets, targets_text) = targets::load(targets_path, Calendar::of(&base)).map_err(input)?;
    check_firms(&base, scenario, &targets, targets_path)?;
    if settings.params.is_empty() {
        return Err(SweepError::Input("no parameter to fit: give --params NAME=FROM:TO ...".into()));
    }
    for (i, p) in settings.params.iter().enumerate() {
        if settings.params[..i].iter().any(|q| q.spec.path() == p.spec.path()) {
            return Err(SweepError::Input(format!("--params: `{}` is given twice", p.spec.path())));
        }
    }
    if !(settings.accept > 0.0 && settings.accept <= 1.0) {
        return Err(SweepError::Input(format!("--accept {}: expected a share in (0, 1]", settings.accept)));
    }
    check_counts(settings)?;
    let scenario_abs = std::fs::canonicalize(scenario)
        .map_err(|e| SweepError::Input(format!("cannot read '{}': {e}", scenario.display())))?;
    let sweep_text = sweep_file(&scenario_abs, &targets, settings, base.run.seed);
    // Parsed here, before anything is written, so that an error names the options it came
    // from rather than a file that exists only while the plan is written.
    let sweep = crate::sweep::SweepFile::parse(&sweep_text, "the calibration's sweep (from the command line)", Path::new(""))
        .map_err(|e| {
            SweepError::Input(format!(
                "{e}\n  note: the calibration's sweep is built from SCENARIO, --targets, --params, --samples, --replications and --seed"
            ))
        })?;
    let settings_text = format!(
        "# esh calibrate: approximate Bayesian computation by rejection over a Latin hypercube.\n\
         # The parameters and their prior ranges are the axes of sweep/sweep.toml.\n\n\
         [calibration]\nscenario = {:?}\ntargets = {:?}\naccept = {:?}\n",
        scenario_abs.display().to_string(),
        std::fs::canonicalize(targets_path).unwrap_or_else(|_| targets_path.to_path_buf()).display().to_string(),
        settings.accept
    );
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |e: std::io::Error| SweepError::Io(format!("cannot write '{}': {e}", p.display()))
    };
    if out.file_name().is_none() || (out.exists() && !out.is_dir()) {
        return Err(SweepError::Input(format!(
            "cannot plan a calibration into '{}': it has no directory name or is an existing file",
            out.display()
        )));
    }
    if out.exists() && !force {
        return Err(SweepError::Input(format!(
            "the calibration directory '{}' already exists; nothing was written\n  help: continue it with `esh calibrate --resume {0}`, pass --force to replace it (and every result in it), or choose another with --out",
            out.display()
        )));
    }
    if out.exists() && force {
        // Its sweep may be running (`esh sweep run DIR/sweep`, a Slurm array).
        crate::sweep::plan::refuse_running(&out.join(SWEEP_DIR))?;
    }
    crate::output::build_dir(out, force, |tmp| {
        std::fs::create_dir_all(tmp).map_err(io(tmp))?;
        std::fs::write(tmp.join(SETTINGS_FILE), &settings_text).map_err(io(tmp))?;
        std::fs::write(tmp.join(TARGETS_FILE), &targets_text).map_err(io(tmp))?;
        crate::sweep::plan::create_from(&sweep, &tmp.join(SWEEP_DIR), false).map(|_| ())
    })
    .map_err(|e| match e {
        BuildError::Stale(e) => io(&crate::output::partial_dir(out))(e),
        BuildError::Fill(e) => e,
        BuildError::Publish { why, .. } => {
            SweepError::Io(format!("the calibration is planned but could not be moved to '{}': {why}", out.display()))
        }
    })
}

/// Refuses samples, replications and seeds a sweep cannot take, naming the option.
fn check_counts(s: &Settings) -> Result<(), Error> {
    use crate::sweep::file::MAX_RUNS;
    if s.samples == 0 || s.samples as u64 > MAX_RUNS {
        return Err(SweepError::Input(format!("--samples {}: expected an integer in [1, {MAX_RUNS}]", s.samples)));
    }
    if s.replications == 0 || s.replications > MAX_REPLICATIONS {
        return Err(SweepError::Input(format!(
            "--replications {}: expected an integer in [1, {MAX_REPLICATIONS}]",
            s.replications
        )));
    }
    let runs = s.samples as u64 * s.replications as u64;
    if runs > MAX_RUNS {
        return Err(SweepError::Input(format!(
            "--samples {} x --replications {} is {runs} runs; at most {MAX_RUNS} are supported\n  help: fewer samples or replications",
            s.samples, s.replications
        )));
    }
    if let Some(seed) = s.seed
        && seed > i64::MAX as u64
    {
        return Err(SweepError::Input(format!("--seed {seed}: expected an integer in [0, {}]", i64::MAX)));
    }
    Ok(())
}

/// The sweep a calibration runs: a Latin hypercube over the parameters, every tick of the
/// metrics the targets read. It writes no summary.csv: one replication per sample is the
/// usual case, and the calibration's own files hold its statistics.
fn sweep_file(scenario: &Path, targets: &[Target], s: &Settings, scenario_seed: u64) -> String {
    let metrics: Vec<String> = target_metrics(targets).iter().map(|m| format!("{:?}", m.0)).collect();
    let mut o = String::new();
    writeln!(o, "[sweep]\nscenario = {:?}", scenario.display().to_string()).unwrap();
    writeln!(o, "replications = {}\nseed = {}\nseeds = \"common\"", s.replications, s.seed.unwrap_or(scenario_seed))
        .unwrap();
    writeln!(o, "design = \"lhs\"\nsamples = {}\n", s.samples).unwrap();
    writeln!(o, "[keep]\nticks = \"all\"\nevery = 1\nsummary = false\nmetrics = [{}]\n\n[axes]", metrics.join(", "))
        .unwrap();
    for p in &s.params {
        writeln!(o, "{}", p.axis()).unwrap();
    }
    o
}

/// The metrics the targets read, each once, in ticks.csv order.
fn target_metrics(targets: &[Target]) -> Vec<&'static Metric> {
    let used: Vec<&'static Metric> = targets.iter().flat_map(Target::metrics).collect();
    METRICS.iter().filter(|m| used.iter().any(|u| u.0 == m.0)).collect()
}

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
pub struct Evaluation {
    pub targets: Vec<Target>,
    /// `values[i][r]`: target i in replication r (None where undefined).
    pub values: Vec<Vec<Option<f64>>>,
}

/// Runs the scenario's replications (in parallel) and reads every target from each.
pub fn evaluate(scenario: &Path, targets_path: &Path, replications: Option<u32>) -> Result<Evaluation, Error> {
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

impl Evaluation {
    /// The table the command prints: per target, the mean over replications, its relative
    /// error and the replications' range; then the distance of the mean.
    pub fn table(&self) -> String {
        let mut o = table_header("model", "replications' range");
        let mut means = Vec::new();
        for (t, vs) in self.targets.iter().zip(&self.values) {
            let defined: Vec<f64> = vs.iter().flatten().copied().collect();
            let mean = (defined.len() == vs.len() && !vs.is_empty())
                .then(|| defined.iter().sum::<f64>() / defined.len() as f64);
            means.push(mean);
            table_row(&mut o, t, mean, &defined);
        }
        let d = distance(&self.targets, &means);
        if d.is_finite() {
            writeln!(o, "distance {d:.4} (weighted RMS of the fitted targets' relative errors)").unwrap();
        } else {
            o.push_str("distance undefined: a fitted target has no value in some replication\n");
        }
        o
    }
}

/// An opened calibration directory.
pub struct Calibration {
    pub dir: PathBuf,
    pub plan: Plan,
    pub targets: Vec<Target>,
    pub accept: f64,
    pub calendar: Calendar,
}

impl Calibration {
    pub fn open(dir: &Path) -> Result<Calibration, Error> {
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
pub struct Sample {
    pub point: u64,
    pub values: Vec<String>,
    /// Each target's model value (mean over the point's replications); None if undefined.
    pub model: Vec<Option<f64>>,
    pub distance: f64,
    pub accepted: bool,
}

/// The outcome of a fit.
pub struct Fit {
    pub samples: Vec<Sample>,
    /// Indices into `samples`, closest first.
    pub ranking: Vec<usize>,
    pub accepted: usize,
    pub params: Vec<(&'static ParamSpec, AxisValues)>,
}

impl Fit {
    pub fn best(&self) -> &Sample {
        &self.samples[self.ranking[0]]
    }
}

/// Merges the calibration's sweep and fits: every sample's distance, the accepted ones.
pub fn fit(c: &Calibration) -> Result<Fit, Error> {
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
pub fn distance(targets: &[Target], model: &[Option<f64>]) -> f64 {
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

/// What `write_report` wrote.
pub struct Written {
    pub files: Vec<PathBuf>,
    pub table: String,
}

/// Writes samples.csv, targets.csv, parameters.csv, calibrated.toml and report.md.
pub fn write_report(c: &Calibration, f: &Fit) -> Result<Written, Error> {
    let mut files = Vec::new();
    let mut put = |name: &str, text: String| -> Result<(), Error> {
        let p = c.dir.join(name);
        write_atomic(&p, text.as_bytes())?;
        files.push(p);
        Ok(())
    };
    put("samples.csv", samples_csv(c, f))?;
    let (targets_csv, table) = targets_table(c, f);
    put("targets.csv", targets_csv)?;
    let (params_csv, params_md) = params_table(f);
    put("parameters.csv", params_csv)?;
    put("calibrated.toml", calibrated(c, f)?)?;
    put("report.md", report_md(c, f, &table, &params_md))?;
    Ok(Written { files, table })
}

fn fmt(x: f64) -> String {
    format!("{x:?}")
}

fn opt(x: Option<f64>) -> String {
    x.map(fmt).unwrap_or_default()
}

fn samples_csv(c: &Calibration, f: &Fit) -> String {
    let mut o = String::from("point");
    for a in c.plan.axis_names() {
        write!(o, ",{a}").unwrap();
    }
    o.push_str(",distance,rank,accepted");
    for t in &c.targets {
        write!(o, ",{}", t.name).unwrap();
    }
    o.push('\n');
    let mut rank = vec![0; f.samples.len()];
    for (r, &i) in f.ranking.iter().enumerate() {
        rank[i] = r + 1;
    }
    for (i, s) in f.samples.iter().enumerate() {
        write!(o, "{}", s.point).unwrap();
        for v in &s.values {
            write!(o, ",{v}").unwrap();
        }
        let d = if s.distance.is_finite() { fmt(s.distance) } else { String::new() };
        write!(o, ",{d},{},{}", rank[i], s.accepted as u8).unwrap();
        for m in &s.model {
            write!(o, ",{}", opt(*m)).unwrap();
        }
        o.push('\n');
    }
    o
}

/// targets.csv and the table the command prints.
fn targets_table(c: &Calibration, f: &Fit) -> (String, String) {
    let mut csv = String::from(
        "target,kind,metric,when,stat,unit,weight,value,best,best_error,accepted_mean,accepted_min,accepted_max,source\n",
    );
    let mut table = table_header("best", "accepted range");
    let best = f.best();
    for (k, t) in c.targets.iter().enumerate() {
        let acc: Vec<f64> = f.samples.iter().filter(|s| s.accepted).filter_map(|s| s.model[k]).collect();
        let mean = (!acc.is_empty()).then(|| acc.iter().sum::<f64>() / acc.len() as f64);
        let (min, max) = (acc.iter().copied().reduce(f64::min), acc.iter().copied().reduce(f64::max));
        let b = best.model[k];
        let err = b.map(|b| t.error(b));
        writeln!(
            csv,
            "{},{},{},{},{},{:?},{},{},{},{},{},{},{},{:?}",
            t.name,
            t.kind_name(),
            t.metric.0,
            t.when(),
            t.stat.name(),
            t.unit,
            fmt(t.weight),
            fmt(t.value),
            opt(b),
            opt(err),
            opt(mean),
            opt(min),
            opt(max),
            t.source
        )
        .unwrap();
        table_row(&mut table, t, b, &acc);
    }
    (csv, table)
}

/// The header of the targets table the command prints; `model` and `range` name what the
/// model value and the range are.
fn table_header(model: &str, range: &str) -> String {
    format!("{:<28} {:>9} {:>14} {:>14} {:>8}  {:>29}\n", "target", "year", "value", model, "error", range)
}

/// One target's line: its value, a model value with its relative error, and the range of
/// `spread` (the accepted samples' or the replications' values).
fn table_row(o: &mut String, t: &Target, model: Option<f64>, spread: &[f64]) {
    let show = |x: Option<f64>| x.map(short).unwrap_or_else(|| "-".into());
    let range = format!(
        "{} .. {}",
        show(spread.iter().copied().reduce(f64::min)),
        show(spread.iter().copied().reduce(f64::max))
    );
    let error = model.map(|m| format!("{:+.1}", 100.0 * t.error(m))).unwrap_or_else(|| "-".into());
    let mark = if t.weight == 0.0 { " (not fitted)" } else { "" };
    writeln!(
        o,
        "{:<28} {:>9} {:>14} {:>14} {:>7}%  {:>29}{mark}",
        t.name,
        t.when(),
        short(t.value),
        show(model),
        error,
        range
    )
    .unwrap();
}

/// A number for people: the one format of run, reproduce and calibrate.
fn short(x: f64) -> String {
    crate::output::summary::number(x)
}

/// parameters.csv and its markdown table.
fn params_table(f: &Fit) -> (String, String) {
    let mut csv = String::from(
        "parameter,prior_from,prior_to,scale,best,accepted_mean,accepted_min,accepted_q05,accepted_median,accepted_q95,accepted_max\n",
    );
    let mut md = String::from(
        "| parameter | prior | best | accepted mean | accepted 5%-95% | accepted min-max |\n|---|---|---|---|---|---|\n",
    );
    let best = f.best();
    for (k, (spec, values)) in f.params.iter().enumerate() {
        let (from, to, scale) = match values {
            AxisValues::Range { from, to, scale, .. } => {
                (*from, *to, if *scale == crate::sweep::file::Scale::Log { "log" } else { "linear" })
            }
            AxisValues::List(_) => (f64::NAN, f64::NAN, "list"),
        };
        let mut acc: Vec<f64> =
            f.samples.iter().filter(|s| s.accepted).filter_map(|s| s.values[k].parse::<f64>().ok()).collect();
        acc.sort_by(f64::total_cmp);
        let q = |p: f64| crate::stats::quantile(&acc, p);
        let mean = acc.iter().sum::<f64>() / acc.len() as f64;
        let b = &best.values[k];
        writeln!(
            csv,
            "{},{},{},{scale},{b},{},{},{},{},{},{}",
            spec.path(),
            fmt(from),
            fmt(to),
            fmt(mean),
            fmt(acc[0]),
            fmt(q(0.05)),
            fmt(q(0.5)),
            fmt(q(0.95)),
            fmt(acc[acc.len() - 1])
        )
        .unwrap();
        writeln!(
            md,
            "| `{}` | {} .. {} ({scale}) | {b} | {} | {} .. {} | {} .. {} |",
            spec.path(),
            short(from),
            short(to),
            short(mean),
            short(q(0.05)),
            short(q(0.95)),
            short(acc[0]),
            short(acc[acc.len() - 1])
        )
        .unwrap();
    }
    (csv, md)
}

/// The base scenario at the best sample's parameter values, resolved.
fn calibrated(c: &Calibration, f: &Fit) -> Result<String, Error> {
    let best = f.best();
    let base = &c.plan.sweep.base;
    let values = c.plan.values(&crate::sweep::plan::PlanRow {
        run: 0,
        point: best.point,
        replication: 0,
        seed: c.plan.sweep.seed,
        raw: best.values.clone(),
    });
    let values: Vec<Value> = values.map_err(SweepError::Io)?;
    // The samples ran with the sweep's seed (seeds = "common"), so the calibrated scenario
    // keeps it: replication 0 of it is the best sample's first run.
    let mut s = crate::sweep::design::scenario(base, &c.plan.sweep.axes, &values, c.plan.sweep.seed).map_err(input)?;
    s.run.replications = base.run.replications;
    let mut o = format!(
        "# Calibrated by `esh calibrate`: the best of {} samples (distance {:.4}, the weighted RMS of the\n\
         # targets' relative errors). See report.md beside this file.\n",
        f.samples.len(),
        best.distance
    );
    for (a, v) in c.plan.sweep.axes.iter().zip(&values) {
        writeln!(o, "#   {} = {}", a.name(), v).unwrap();
    }
    o.push('\n');
    o.push_str(&crate::scenario::resolve::to_toml(&s));
    Ok(o)
}

fn report_md(c: &Calibration, f: &Fit, table: &str, params_md: &str) -> String {
    let best = f.best();
    let mut o = String::from("# Calibration report\n\n");
    writeln!(
        o,
        "Approximate Bayesian computation by rejection: {} Latin hypercube samples of {} parameter(s), \
         {} replication(s) each; the {} closest samples are accepted (share {}). Distance: weighted \
         root mean square of the fitted targets' relative errors (model mean over replications). \
         Best sample: point {} at distance {:.4}.\n",
        f.samples.len(),
        f.params.len(),
        c.plan.sweep.replications,
        f.accepted,
        c.accept,
        best.point,
        best.distance
    )
    .unwrap();
    o.push_str("## Targets\n\n```\n");
    o.push_str(table);
    o.push_str("```\n\n");
    let far: Vec<String> = c
        .targets
        .iter()
        .enumerate()
        .filter(|(k, t)| {
            t.weight > 0.0
                && f.samples.iter().filter(|s| s.accepted).all(|s| s.model[*k].is_none_or(|m| t.error(m).abs() > 0.25))
        })
        .map(|(_, t)| format!("`{}`", t.name))
        .collect();
    if far.is_empty() {
        o.push_str("Every fitted target is within 25% in at least one accepted sample.\n\n");
    } else {
        writeln!(
            o,
            "Not reached within 25% by any accepted sample: {}. Either the prior ranges exclude the \
             answer or the model cannot produce the figure; see docs/calibration.md.\n",
            far.join(", ")
        )
        .unwrap();
    }
    o.push_str("## Parameters\n\n");
    o.push_str(params_md);
    o.push_str("\n## Sources\n\n");
    for t in &c.targets {
        writeln!(o, "- `{}` ({} {}, {}): {}", t.name, short(t.value), t.unit, t.when(), t.source).unwrap();
    }
    o
}
