//! Planning a calibration: the settings and their checks, and the sweep it writes (a Latin
//! hypercube over the parameters, every tick of the metrics the targets read).

use crate::input::quote;
use std::fmt::Write as _;
use std::path::Path;

use super::params::Param;
use super::targets::{self, Calendar, Target};
use super::{Error, SETTINGS_FILE, SWEEP_DIR, TARGETS_FILE, input};
use crate::output::BuildError;
use crate::output::metrics::{METRICS, Metric};
use crate::scenario::{MAX_REPLICATIONS, Scenario};
use crate::sweep::SweepError;

/// How a calibration is planned.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    pub(crate) params: Vec<Param>,
    /// Latin hypercube samples of the parameters.
    pub(crate) samples: u32,
    pub(crate) replications: u32,
    /// Share of the samples accepted (the closest), at least one sample.
    pub(crate) accept: f64,
    /// Master seed of the design and the runs (default: the scenario's).
    pub(crate) seed: Option<u64>,
}

/// Refuses targets on firm columns when the scenario has no firms (they would all be 0).
pub(super) fn check_firms(
    base: &Scenario,
    scenario: &Path,
    targets: &[Target],
    targets_path: &Path,
) -> Result<(), Error> {
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
pub(crate) fn plan(
    scenario: &Path,
    targets_path: &Path,
    settings: &Settings,
    out: &Path,
    force: bool,
) -> Result<(), Error> {
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
         [calibration]\nscenario = {}\ntargets = {}\naccept = {:?}\n",
        quote(&scenario_abs.display().to_string()),
        quote(
            &std::fs::canonicalize(targets_path).unwrap_or_else(|_| targets_path.to_path_buf()).display().to_string()
        ),
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
    let metrics: Vec<String> = target_metrics(targets).iter().map(|m| quote(m.0)).collect();
    let mut o = String::new();
    writeln!(o, "[sweep]\nscenario = {}", quote(&scenario.display().to_string())).unwrap();
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
pub(super) fn target_metrics(targets: &[Target]) -> Vec<&'static Metric> {
    let used: Vec<&'static Metric> = targets.iter().flat_map(Target::metrics).collect();
    METRICS.iter().filter(|m| used.iter().any(|u| u.0 == m.0)).collect()
}
