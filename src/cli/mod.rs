//! The `esh` command line: parse arguments, call the library, print. Exit codes: 0 done;
//! 2 bad input, nothing written (a scenario error, bad arguments, an output directory that
//! exists without --force, an unusable --out path, a model that cannot be built such as a
//! small world that cannot be connected); 1 a failure while running (I/O, or a finished
//! run that could not be moved into place: the message names where its outputs are);
//! 128 + the signal's number when SIGINT or SIGTERM stopped a run (its partial outputs
//! removed).

mod calibrate;
mod progress;
mod reproduce;
mod sweep;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicI32, Ordering};

use clap::{Parser, Subcommand};

use crate::output::{MemoryCheck, OutputError, RunOptions};
use crate::progress::Progress;
use crate::scenario::{BASELINE, Scenario, ScenarioError, Value};

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
        /// Worker threads [default: all cores; at most 4 x the cores]. Outputs do not depend on it.
        #[arg(long, short = 'j')]
        threads: Option<usize>,
        /// Master seed, replacing the scenario's run.seed.
        #[arg(long, allow_hyphen_values = true)]
        seed: Option<String>,
        /// Replications, replacing the scenario's run.replications.
        #[arg(long, allow_hyphen_values = true)]
        replications: Option<String>,
        /// Set a parameter, e.g. --set centre.tolerance=0.2 (repeatable; checked as in a
        /// scenario file; recorded in scenario.resolved.toml and provenance.json).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        sets: Vec<String>,
        /// Memory the run may use, e.g. 64G, or `none` to skip the check [default: the
        /// memory available now]. A run needing more is refused before it starts.
        #[arg(long, value_name = "SIZE|none")]
        memory_limit: Option<String>,
    },
    /// Validate a scenario file without running it.
    Check {
        /// Scenario TOML file.
        scenario: PathBuf,
        /// Print nothing but errors (the exit code says whether it is valid).
        #[arg(long, short)]
        quiet: bool,
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
        /// Master seed, replacing each experiment's own (0 to 2^63 - 1, as run.seed allows:
        /// it is written into each regime's scenario file).
        #[arg(long, value_parser = clap::value_parser!(u64).range(0..=i64::MAX as u64))]
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
        /// Replace SVG files that exist already.
        #[arg(long)]
        force: bool,
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

/// The `esh` command line, run as the binary's `main` (it lives in the library so that the
/// rest of the library can stay private to the crate).
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Run { scenario, out, force, quiet, threads, seed, replications, sets, memory_limit } => {
            let args = RunArgs { out, force, quiet, threads, seed, replications, sets, memory_limit };
            run(scenario.as_deref(), args)
        }
        Command::Check { scenario, quiet } => match Scenario::load(&scenario) {
            Ok(_) if quiet => ExitCode::SUCCESS,
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
        Command::Plot { run, metrics, out, force, quiet } => reproduce::plot(&run, metrics, out, force, quiet),
        Command::Params { baseline } => {
            if baseline {
                print!("{BASELINE}");
            } else {
                print!("{}", crate::scenario::resolve::reference_markdown());
            }
            ExitCode::SUCCESS
        }
    }
}

fn fail(code: u8, message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(code)
}

/// The options of `esh run`.
struct RunArgs {
    out: Option<PathBuf>,
    force: bool,
    quiet: bool,
    threads: Option<usize>,
    seed: Option<String>,
    replications: Option<String>,
    sets: Vec<String>,
    memory_limit: Option<String>,
}

fn run(path: Option<&Path>, a: RunArgs) -> ExitCode {
    let (mut scenario, name) = match path {
        Some(p) => match Scenario::load(p) {
            Ok(s) => (s, p.file_stem().map_or(String::new(), |s| s.to_string_lossy().into_owned())),
            Err(e) => return fail(2, &e.to_string()),
        },
        None => match Scenario::parse(BASELINE, "<embedded baseline>") {
            Ok(s) => (s, "baseline".to_string()),
            Err(e) => return fail(1, &format!("the embedded baseline is invalid (a bug): {e}")),
        },
    };
    let file = path.map_or("<embedded baseline>".into(), |p| p.display().to_string());
    let overrides = match apply_overrides(&mut scenario, &file, &a) {
        Ok(o) => o,
        Err(e) => return fail(2, &e.to_string()),
    };
    let memory = match a.memory_limit.as_deref().map(MemoryCheck::parse).transpose() {
        Ok(m) => m.unwrap_or_default(),
        Err(m) => return fail(2, &format!("--memory-limit: {m}")),
    };
    let out = match a.out {
        Some(o) => o,
        None if name.is_empty() || name == "." || name == ".." => {
            return fail(
                2,
                &format!(
                    "cannot name the output directory after '{file}' (its name without the extension is `{name}`); nothing was written\n  help: choose one with --out"
                ),
            );
        }
        None => Path::new("runs").join(&name),
    };
    if let Err((code, m)) = set_threads(a.threads) {
        return fail(code, &m);
    }
    let opts = RunOptions {
        force: a.force,
        scenario_name: file,
        command_line: std::env::args().collect(),
        overrides,
        cancel: Some(catch_signals()),
        memory,
        ..RunOptions::default()
    };
    let progress = progress::Stderr::ticks(a.quiet);
    let result = crate::output::run_to_dir(&scenario, &out, &opts, &progress);
    progress.finish();
    match result {
        Ok(report) => {
            if !a.quiet {
                print!("{}", crate::output::summary::render(&report, &name));
            }
            ExitCode::SUCCESS
        }
        Err(e @ OutputError::Interrupted(sig)) => {
            eprintln!("error: {e}");
            ExitCode::from(128u8.saturating_add(sig.clamp(0, 127) as u8))
        }
        Err(e @ (OutputError::Exists(_) | OutputError::BadPath(..) | OutputError::Memory { .. })) => {
            fail(2, &e.to_string())
        }
        Err(e @ OutputError::Run(crate::engine::RunError::Model(_) | crate::engine::RunError::Invalid(_))) => {
            fail(2, &e.to_string())
        }
        Err(e) => fail(1, &e.to_string()),
    }
}

/// Applies `--seed`, `--replications` and each `--set KEY=VALUE`, in that order, with the
/// checks of a scenario file (the parameter's domain, then the whole scenario's rules); an
/// error names the flag. Returns them as `key = value` for provenance.
fn apply_overrides(s: &mut Scenario, file: &str, a: &RunArgs) -> Result<Vec<String>, ScenarioError> {
    let mut sets: Vec<(String, String, String)> = Vec::new();
    if let Some(v) = &a.seed {
        sets.push(("--seed".into(), "run.seed".into(), v.clone()));
    }
    if let Some(v) = &a.replications {
        sets.push(("--replications".into(), "run.replications".into(), v.clone()));
    }
    for kv in &a.sets {
        let Some((k, v)) = kv.split_once('=') else {
            return Err(ScenarioError::new(&format!("--set {kv}"), "expected KEY=VALUE")
                .help("e.g. --set centre.tolerance=0.2; `esh params` lists the keys"));
        };
        sets.push((format!("--set {kv}"), k.trim().to_string(), v.trim().to_string()));
    }
    let mut done = Vec::new();
    for (flag, key, text) in &sets {
        let Some(spec) = crate::scenario::spec(key) else {
            let all: Vec<String> = crate::scenario::all_specs().map(|s| s.path()).collect();
            let e = ScenarioError::new(flag, format!("unknown parameter `{key}`"));
            return Err(match crate::scenario::suggest::nearest(key, all.iter().map(String::as_str)) {
                Some(n) => e.help(format!("did you mean `{n}`?")),
                None => {
                    e.help("a parameter is named by its dotted path, e.g. centre.tolerance; `esh params` lists them")
                }
            });
        };
        let mut value = flag_value(text);
        if let (crate::scenario::Domain::Float { .. }, Value::Int(i)) = (&spec.domain, &value) {
            value = Value::Float(*i as f64);
        }
        s.set(spec, &value).map_err(|m| ScenarioError::new(flag, m).key(spec.path()))?;
        done.push(format!("{} = {value}", spec.path()));
    }
    if !done.is_empty() {
        let flags: Vec<&str> = sets.iter().map(|(f, _, _)| f.as_str()).collect();
        s.validate(&format!("{file} with {}", flags.join(" ")))?;
    }
    Ok(done)
}

/// A flag's value as a scenario file would read it (`0.2`, `7`, `true`, `"top"`); a bare
/// word that is not TOML (`top`) is a string.
fn flag_value(text: &str) -> Value {
    match format!("v = {text}").parse::<toml::Table>().ok().and_then(|mut t| t.remove("v")) {
        Some(toml::Value::Integer(i)) => Value::Int(i),
        Some(toml::Value::Float(x)) => Value::Float(x),
        Some(toml::Value::Boolean(b)) => Value::Bool(b),
        Some(toml::Value::String(s)) => Value::Str(s),
        _ => Value::Str(text.to_string()),
    }
}

/// The signal that stopped the run (0 while none has).
static SIGNAL: AtomicI32 = AtomicI32::new(0);

#[cfg(unix)]
extern "C" fn on_signal(sig: libc::c_int) {
    // A second signal stops at once; the next run of the output clears what is left.
    if SIGNAL.swap(sig, Ordering::SeqCst) != 0 {
        // SAFETY: _exit is async-signal-safe.
        unsafe { libc::_exit(128 + sig) };
    }
}

/// Catches SIGINT and SIGTERM: the run stops at its next tick and removes its partial
/// directory. Returns the flag the handler sets.
fn catch_signals() -> &'static AtomicI32 {
    #[cfg(unix)]
    // SAFETY: the handler only touches an atomic and calls _exit.
    unsafe {
        let handler = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
        libc::signal(libc::SIGINT, handler);
        libc::signal(libc::SIGTERM, handler);
    }
    &SIGNAL
}

/// Sets the global thread pool's size, when given; on failure the exit code and message.
/// More than 4 threads per core only adds overhead: such a request is capped, with a warning.
fn set_threads(threads: Option<usize>) -> Result<(), (u8, String)> {
    if let Some(t) = threads {
        if t == 0 {
            return Err((2, "--threads must be at least 1".into()));
        }
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let cap = 4 * cores;
        let t = if t > cap {
            eprintln!("warning: --threads {t} is more than 4 x the {cores} core(s); using {cap}");
            cap
        } else {
            t
        };
        rayon::ThreadPoolBuilder::new()
            .num_threads(t)
            .build_global()
            .map_err(|e| (1, format!("cannot start {t} threads: {e}")))?;
    }
    Ok(())
}
