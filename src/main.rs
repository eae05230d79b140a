//! The `esh` command line: parse arguments, call the library, print. Exit codes: 0 done;
//! 2 bad input, nothing written (a scenario error, bad arguments, an output directory that
//! exists without --force, an unusable --out path, a model that cannot be built such as a
//! small world that cannot be connected); 1 a failure while running (I/O, or a finished
//! run that could not be moved into place: the message names where its outputs are).

#[path = "cli/calibrate.rs"]
mod calibrate;
#[path = "cli/reproduce.rs"]
mod reproduce;
#[path = "cli/sweep.rs"]
mod sweep;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use esh::output::{OutputError, RunOptions};
use esh::scenario::{BASELINE, Scenario};

#[derive(Parser)]
#[command(
    name = "esh",
    version,
    about = "Experimentation under the shadow of hierarchy: an agent-based simulation engine"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a scenario (the embedded baseline ESH scenario when no file is given).
    Run {
        /// Scenario TOML file.
        scenario: Option<PathBuf>,
        /// Output directory [default: runs/<scenario name>].
        #[arg(long, short)]
        out: Option<PathBuf>,
        /// Replace the output directory if it exists (only once the new run is complete).
        #[arg(long)]
        force: bool,
        /// Print nothing but errors.
        #[arg(long, short)]
        quiet: bool,
        /// Worker threads [default: all cores]. Outputs do not depend on it.
        #[arg(long, short = 'j')]
        threads: Option<usize>,
    },
    /// Validate a scenario file without running it.
    Check {
        /// Scenario TOML file.
        scenario: PathBuf,
    },
    /// Print the parameter reference (Markdown), or the baseline scenario.
    Params {
        /// Print the embedded baseline scenario instead.
        #[arg(long)]
        baseline: bool,
    },
    /// Parameter sweeps: plan, run (here, or as a Slurm job array with slurm), status, merge.
    #[command(subcommand)]
    Sweep(SweepCommand),
    /// Run the hypotheses of the literature as experiments: effects, 95% CIs, verdicts, a report.
    Reproduce {
        /// Experiment ids (H1 ... H7) or experiment files (*.toml).
        ids: Vec<String>,
        /// Every experiment.
        #[arg(long)]
        all: bool,
        /// List the experiments and their claims.
        #[arg(long)]
        list: bool,
        /// Few replications per condition (each experiment's quick_replications): for CI and a first look.
        #[arg(long)]
        quick: bool,
        /// Write report.md, verdicts.csv, figures and tables into this directory.
        #[arg(long, short)]
        out: Option<PathBuf>,
        /// Replace the --out directory if it exists (only once the new report is complete).
        #[arg(long)]
        force: bool,
        /// Master seed, replacing each experiment's own.
        #[arg(long)]
        seed: Option<u64>,
        /// Directory of experiment files [default: ./experiments if present, else the built-in ones].
        #[arg(long)]
        experiments: Option<PathBuf>,
        /// Print only the verdict table and errors.
        #[arg(long, short)]
        quiet: bool,
        /// Worker threads [default: all cores]. Results do not depend on it.
        #[arg(long, short = 'j')]
        threads: Option<usize>,
    },
    /// Fit scenario parameters to published figures: approximate Bayesian computation by
    /// rejection over a Latin hypercube, run as a sweep (here, or on Slurm with --plan-only).
    Calibrate(calibrate::Args),
    /// Draw a run's ticks.csv as SVG time series (mean over replications with 95% bands).
    Plot {
        /// A run's output directory (or its ticks.csv).
        run: PathBuf,
        /// Metrics to draw, comma-separated [default: performance, diversity, adoptions, ...].
        #[arg(long, short, value_delimiter = ',')]
        metrics: Vec<String>,
        /// Directory for the SVG files [default: <run>/plots].
        #[arg(long, short)]
        out: Option<PathBuf>,
        /// Print nothing but errors.
        #[arg(long, short)]
        quiet: bool,
    },
}

#[derive(Subcommand)]
enum SweepCommand {
    /// Fix the runs of a sweep file (ids, design points, seeds) in a new sweep directory.
    Plan {
        /// Sweep TOML file.
        sweep: PathBuf,
        /// Sweep directory to create [default: runs/<sweep name>].
        #[arg(long, short)]
        out: Option<PathBuf>,
        /// Replace the directory if it exists, with every result in it (refused while a
        /// shard of it is being run).
        #[arg(long)]
        force: bool,
        /// Print nothing but warnings and errors.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Run a sweep's pending runs (all, or one shard), skipping those already recorded.
    Run {
        /// Sweep directory (from `esh sweep plan`).
        dir: PathBuf,
        /// Run only shard INDEX/COUNT (0 <= INDEX < COUNT; run r belongs to shard r % COUNT)
        /// [default: from SLURM_ARRAY_TASK_ID, PBS_ARRAY_INDEX, JOB_COMPLETION_INDEX or
        /// AWS_BATCH_JOB_ARRAY_INDEX if set, else the whole sweep].
        #[arg(long)]
        shard: Option<String>,
        /// The shard count when the index comes from the environment [default: ESH_SHARDS,
        /// else SLURM_ARRAY_TASK_COUNT].
        #[arg(long)]
        shards: Option<u32>,
        /// Worker threads [default: all cores]. Results do not depend on it.
        #[arg(long, short = 'j')]
        threads: Option<usize>,
        /// Run again the runs recorded as failed.
        #[arg(long)]
        retry_failed: bool,
        /// Print nothing but errors and failures.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Show runs done, failed and missing, per shard.
    Status {
        /// Sweep directory.
        dir: PathBuf,
        /// Print nothing; exit 0 if every run is done, 1 if not.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Write results.csv and summary.csv; fails, naming them, if runs are missing or failed.
    Merge {
        /// Sweep directory.
        dir: PathBuf,
        /// Merge what is there even if runs are missing or failed.
        #[arg(long)]
        allow_missing: bool,
        /// Print nothing but errors.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Write a Slurm job-array script (one task per shard) and a merge job; --submit submits them.
    Slurm {
        /// Sweep directory.
        dir: PathBuf,
        /// Array tasks, one shard each [default: the sweep file's [slurm] tasks].
        #[arg(long)]
        tasks: Option<u32>,
        /// Time limit per task, e.g. 01:00:00.
        #[arg(long)]
        time: Option<String>,
        #[arg(long)]
        partition: Option<String>,
        /// Memory per task, e.g. 2G.
        #[arg(long)]
        memory: Option<String>,
        /// CPUs per task (the task's threads).
        #[arg(long)]
        cpus: Option<u32>,
        #[arg(long)]
        account: Option<String>,
        /// At most this many tasks at once (the array's % limit).
        #[arg(long)]
        throttle: Option<u32>,
        /// One more #SBATCH option, e.g. --sbatch=--qos=normal (repeatable).
        #[arg(long = "sbatch", allow_hyphen_values = true)]
        extra: Vec<String>,
        /// The esh binary the tasks run [default: this one].
        #[arg(long)]
        esh: Option<PathBuf>,
        /// Only the shards that still have runs with no record (after a task was killed).
        #[arg(long)]
        missing: bool,
        /// Submit with sbatch and print the job ids.
        #[arg(long)]
        submit: bool,
        /// Print nothing but errors (with --submit: only the two job ids).
        #[arg(long, short)]
        quiet: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Run { scenario, out, force, quiet, threads } => run(scenario.as_deref(), out, force, quiet, threads),
        Command::Check { scenario } => match Scenario::load(&scenario) {
            Ok(s) => {
                println!(
                    "ok: {} ({} zones, {} ticks, {} replication(s), {} region(s), {} event(s))",
                    scenario.display(),
                    s.total_zones(),
                    s.run.ticks,
                    s.run.replications,
                    s.regions.len(),
                    s.events.len()
                );
                ExitCode::SUCCESS
            }
            Err(e) => fail(2, &e.to_string()),
        },
        Command::Sweep(c) => sweep::command(c),
        Command::Reproduce { ids, all, list, quick, out, force, seed, experiments, quiet, threads } => {
            if let Err((code, m)) = set_threads(threads) {
                return fail(code, &m);
            }
            reproduce::command(reproduce::Args { ids, all, list, quick, out, force, seed, dir: experiments, quiet })
        }
        Command::Calibrate(args) => {
            if let Err((code, m)) = set_threads(args.threads) {
                return fail(code, &m);
            }
            calibrate::command(args)
        }
        Command::Plot { run, metrics, out, quiet } => reproduce::plot(&run, metrics, out, quiet),
        Command::Params { baseline } => {
            if baseline {
                print!("{BASELINE}");
            } else {
                print!("{}", esh::scenario::resolve::reference_markdown());
            }
            ExitCode::SUCCESS
        }
    }
}

fn fail(code: u8, message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(code)
}

fn run(path: Option<&Path>, out: Option<PathBuf>, force: bool, quiet: bool, threads: Option<usize>) -> ExitCode {
    let (scenario, name) = match path {
        Some(p) => match Scenario::load(p) {
            Ok(s) => (s, p.file_stem().map_or("scenario".into(), |s| s.to_string_lossy().into_owned())),
            Err(e) => return fail(2, &e.to_string()),
        },
        None => match Scenario::parse(BASELINE, "<embedded baseline>") {
            Ok(s) => (s, "baseline".to_string()),
            Err(e) => return fail(1, &format!("the embedded baseline is invalid (a bug): {e}")),
        },
    };
    if let Err((code, m)) = set_threads(threads) {
        return fail(code, &m);
    }
    let out = out.unwrap_or_else(|| Path::new("runs").join(&name));
    let opts = RunOptions {
        force,
        quiet,
        scenario_name: path.map_or("<embedded baseline>".into(), |p| p.display().to_string()),
        command_line: std::env::args().collect(),
    };
    match esh::output::run_to_dir(&scenario, &out, &opts) {
        Ok(report) => {
            if !quiet {
                print!("{}", esh::output::summary::render(&report, &name));
            }
            ExitCode::SUCCESS
        }
        Err(e @ (OutputError::Exists(_) | OutputError::BadPath(..))) => fail(2, &e.to_string()),
        Err(e @ OutputError::Run(esh::engine::RunError::Model(_))) => fail(2, &e.to_string()),
        Err(e) => fail(1, &e.to_string()),
    }
}

/// Sets the global thread pool's size, when given; on failure the exit code and message.
fn set_threads(threads: Option<usize>) -> Result<(), (u8, String)> {
    if let Some(t) = threads {
        if t == 0 {
            return Err((2, "--threads must be at least 1".into()));
        }
        rayon::ThreadPoolBuilder::new()
            .num_threads(t)
            .build_global()
            .map_err(|e| (1, format!("cannot start {t} threads: {e}")))?;
    }
    Ok(())
}
