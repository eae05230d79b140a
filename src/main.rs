//! The `esh` command line: parse arguments, call the library, print. Exit codes: 0 done;
//! 2 bad input, nothing written (a scenario error, bad arguments, an output directory that
//! exists without --force, an unusable --out path, a model that cannot be built such as a
//! small world that cannot be connected); 1 a failure while running (I/O, or a finished
//! run that could not be moved into place: the message names where its outputs are).

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
    if let Some(t) = threads {
        if t == 0 {
            return fail(2, "--threads must be at least 1");
        }
        if let Err(e) = rayon::ThreadPoolBuilder::new().num_threads(t).build_global() {
            return fail(1, &format!("cannot start {t} threads: {e}"));
        }
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
