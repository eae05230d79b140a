//! `esh calibrate ...`: plan a calibration, run its sweep here (or leave it to Slurm), fit
//! and report. Exit codes: 0 done; 2 bad input (scenario, targets, --params, a directory
//! that is not a calibration); 1 a failure while working, failed runs, or a fit asked of
//! an incomplete sweep.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::calibrate::{self, Calibration, Fit, Param, Settings, Written};
use crate::sweep::{Shard, SweepError, execute};

use super::fail;

#[derive(clap::Args)]
pub(crate) struct Args {
    /// Scenario TOML file to calibrate.
    pub(crate) scenario: Option<PathBuf>,
    /// Targets TOML file: the figures to fit ([[target]] tables).
    #[arg(long)]
    pub(crate) targets: Option<PathBuf>,
    /// Parameters to fit with their prior ranges: NAME=FROM:TO or NAME=FROM:TO:log.
    /// Without any, the scenario as it stands is compared with the targets.
    #[arg(long, num_args = 1..)]
    pub(crate) params: Vec<String>,
    /// Latin hypercube samples of the parameters [default: 200].
    #[arg(long)]
    pub(crate) samples: Option<u32>,
    /// Replications per sample (the model value of a target is their mean) [default: 1;
    /// without --params: the scenario's].
    #[arg(long)]
    pub(crate) replications: Option<u32>,
    /// Share of the samples accepted, the closest to the targets [default: 0.1; with --fit or
    /// --resume: the planned share, or this one to fit again with another].
    #[arg(long)]
    pub(crate) accept: Option<f64>,
    /// Master seed of the design and the runs [default: the scenario's].
    #[arg(long)]
    pub(crate) seed: Option<u64>,
    /// Calibration directory to create [default: runs/calibrate-<scenario name>].
    #[arg(long, short)]
    pub(crate) out: Option<PathBuf>,
    /// Replace the --out directory if it exists, with every result in it.
    #[arg(long)]
    pub(crate) force: bool,
    /// Only plan: then `esh sweep run|slurm DIR/sweep` and `esh calibrate --fit DIR`.
    #[arg(long)]
    pub(crate) plan_only: bool,
    /// Continue a planned calibration: run its missing runs here, then fit.
    #[arg(long, value_name = "DIR")]
    pub(crate) resume: Option<PathBuf>,
    /// Fit a planned calibration whose runs are complete (run elsewhere, e.g. on Slurm).
    #[arg(long, value_name = "DIR")]
    pub(crate) fit: Option<PathBuf>,
    /// Print only the fit and errors.
    #[arg(long, short)]
    pub(crate) quiet: bool,
    /// Worker threads [default: all cores]. Results do not depend on it.
    #[arg(long, short = 'j')]
    pub(crate) threads: Option<usize>,
}

pub(crate) fn command(a: Args) -> ExitCode {
    match run(a) {
        Ok(code) => code,
        Err(e) => fail(e.exit_code(), &e.to_string()),
    }
}

fn run(a: Args) -> Result<ExitCode, SweepError> {
    check_options(&a)?;
    let continuing = a.resume.is_some() || a.fit.is_some();
    let dir = match (&a.resume, &a.fit) {
        (Some(d), _) | (_, Some(d)) => d.clone(),
        _ => match plan_new(&a)? {
            Some(out) => out,
            None => return Ok(ExitCode::SUCCESS),
        },
    };
    let mut c = Calibration::open(&dir)?;
    if let (true, Some(accept)) = (continuing, a.accept) {
        if !(accept > 0.0 && accept <= 1.0) {
            return Err(SweepError::Input(format!("--accept {accept}: expected a share in (0, 1]")));
        }
        c.accept = accept;
    }
    if a.fit.is_none() {
        run_missing(&c, a.quiet)?;
    }
    let f = calibrate::fit(&c)?;
    let w = calibrate::write_report(&c, &f)?;
    print_fit(&f, &w, a.quiet);
    Ok(ExitCode::SUCCESS)
}

/// Refuses options that contradict each other, before anything is read.
fn check_options(a: &Args) -> Result<(), SweepError> {
    let continuing = a.resume.is_some() || a.fit.is_some();
    if a.resume.is_some() && a.fit.is_some() {
        return Err(SweepError::Input("give --resume DIR or --fit DIR, not both".into()));
    }
    if continuing
        && (a.scenario.is_some()
            || a.targets.is_some()
            || !a.params.is_empty()
            || a.plan_only
            || a.samples.is_some()
            || a.replications.is_some()
            || a.seed.is_some()
            || a.out.is_some()
            || a.force)
    {
        return Err(SweepError::Input(
            "--resume and --fit continue a planned calibration: its scenario, targets, parameters, samples, replications and seed are in its directory; of the other options only --accept, -j and -q apply".into(),
        ));
    }
    if let Some(misplaced) = a.params.iter().find(|p| !p.contains('=') && p.ends_with(".toml")) {
        return Err(SweepError::Input(format!(
            "--params takes every value after it, so it took the file '{misplaced}'\n  help: put the SCENARIO before --params (esh calibrate SCENARIO --targets FILE --params ...)"
        )));
    }
    Ok(())
}

/// A new calibration of SCENARIO against --targets: planned into its directory, which is
/// returned to be run and fitted; None when the command is done (without --params the
/// scenario is only compared with the targets; with --plan-only it is only planned).
fn plan_new(a: &Args) -> Result<Option<PathBuf>, SweepError> {
    let scenario = a
        .scenario
        .as_deref()
        .ok_or_else(|| SweepError::Input("give a SCENARIO file to calibrate (or --resume DIR / --fit DIR)".into()))?;
    let targets = a.targets.as_deref().ok_or_else(|| {
        SweepError::Input("give the figures to fit with --targets FILE (e.g. scenarios/targets/torch.toml)".into())
    })?;
    if a.params.is_empty() {
        compare(a, scenario, targets)?;
        return Ok(None);
    }
    let params: Vec<Param> =
        a.params.iter().map(|p| Param::parse(p)).collect::<Result<_, _>>().map_err(SweepError::Input)?;
    let replications = a.replications.unwrap_or(1);
    let samples = a.samples.unwrap_or(200);
    if samples == 0 || replications == 0 {
        return Err(SweepError::Input("--samples and --replications must be at least 1".into()));
    }
    let name = scenario.file_stem().map_or("scenario".into(), |s| s.to_string_lossy().into_owned());
    let out = a.out.clone().unwrap_or_else(|| Path::new("runs").join(format!("calibrate-{name}")));
    let settings = Settings { params, samples, replications, accept: a.accept.unwrap_or(0.1), seed: a.seed };
    calibrate::plan(scenario, targets, &settings, &out, a.force)?;
    if !a.quiet {
        println!(
            "planned a calibration of {} over {} samples x {} replication(s) in {}",
            settings.params.iter().map(|p| p.spec.path()).collect::<Vec<_>>().join(", "),
            samples,
            replications,
            out.display()
        );
    }
    if a.plan_only {
        let sweep = out.join(calibrate::SWEEP_DIR);
        println!(
            "next: esh sweep run {0}   (or: esh sweep slurm {0} --tasks N --submit)\nthen: esh calibrate --fit {1}",
            sweep.display(),
            out.display()
        );
        return Ok(None);
    }
    Ok(Some(out))
}

/// Without --params: the scenario as it stands, with its own seed, compared with the targets.
fn compare(a: &Args, scenario: &Path, targets: &Path) -> Result<(), SweepError> {
    if a.out.is_some() || a.plan_only || a.force || a.samples.is_some() || a.accept.is_some() || a.seed.is_some() {
        return Err(SweepError::Input(
            "without --params there is nothing to fit: the scenario is only compared with the targets (with its own seed; --replications applies), and --out, --force, --plan-only, --samples, --accept and --seed do not apply".into(),
        ));
    }
    let e = calibrate::evaluate(scenario, targets, a.replications)?;
    print!("{}", e.table());
    Ok(())
}

/// Runs the calibration's missing runs here; refuses to go on to the fit if any failed.
fn run_missing(c: &Calibration, quiet: bool) -> Result<(), SweepError> {
    let r = execute::run_shard(
        &c.plan,
        &execute::Options { shard: Shard::WHOLE, retry_failed: false, reporters: Default::default() },
        &crate::cli::progress::Stderr::runs(quiet),
    )?;
    if !quiet {
        println!("ran {} of {} runs in {:.1} s ({} done before)", r.ran, r.assigned, r.wall_seconds, r.already_done);
    }
    if !r.failed.is_empty() || r.already_failed > 0 {
        for (run, why) in r.failed.iter().take(10) {
            eprintln!("run {run} failed: {why}");
        }
        return Err(SweepError::Incomplete(format!(
            "{} run(s) failed; nothing was fitted\n  help: see `esh sweep status {}`; `esh sweep run --retry-failed` runs them again",
            r.failed.len() as u64 + r.already_failed,
            c.plan.dir.display()
        )));
    }
    Ok(())
}

/// Prints the fit: the targets table, the best sample and its parameter values, and (unless
/// quiet) the files written.
fn print_fit(f: &Fit, w: &Written, quiet: bool) {
    let best = f.best();
    print!("{}", w.table);
    println!(
        "best sample: point {} at distance {:.4}; {} of {} samples accepted",
        best.point,
        best.distance,
        f.accepted,
        f.samples.len()
    );
    for ((spec, _), v) in f.params.iter().zip(&best.values) {
        // The plan's text of the value (full precision, as calibrated.toml has it); shortened
        // for the terminal when it is a number.
        let shown = v.parse::<f64>().map_or_else(|_| v.clone(), crate::output::summary::number);
        println!("  {} = {shown}", spec.path());
    }
    if !quiet {
        for p in &w.files {
            println!("wrote {}", p.display());
        }
    }
}
