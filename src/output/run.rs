//! A whole run into an output directory: checks before anything is written, replications in
//! parallel (in batches) while a writer thread appends their rows in replication order, the
//! records of the run, and publishing the complete directory.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Instant;

use rayon::prelude::*;

use super::dir::{self, partial_dir, publish};
use super::error::OutputError;
use super::memory::{self, MemoryCheck};
use super::metrics::TickRow;
use super::observer::CsvObserver;
use super::provenance;
use super::reporter::{Reporter, Reporters};
use super::rows::headers;
use super::sink::{Assembler, Part, SPILL};
use crate::engine::RunError;
use crate::progress::Progress;
use crate::scenario::Scenario;

/// What is kept of a replication once its rows are handed on.
struct Finished {
    last: TickRow,
    innovations_total: usize,
    innovations_fed_back: usize,
}

/// How a run is carried out (nothing here changes its results).
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Replace an existing output directory (`--force`) instead of refusing to run.
    pub force: bool,
    /// Where the scenario came from, for provenance.
    pub scenario_name: String,
    /// The program's arguments as given, recorded in provenance.json.
    pub command_line: Vec<String>,
    /// Parameters set on the command line (`--seed`, `--replications`, `--set`), for
    /// provenance, as `key = value`.
    pub overrides: Vec<String>,
    /// Set to a signal's number (by a handler the program installs) to stop the run: the
    /// partial directory is removed and the run fails with [`OutputError::Interrupted`].
    pub cancel: Option<&'static AtomicI32>,
    /// What the run's memory need is checked against before anything is written.
    pub memory: MemoryCheck,
    /// Extra columns of ticks.csv ([`Reporter`]s), after the built-in metrics.
    pub reporters: Reporters,
}

impl RunOptions {
    /// These options with `reporter`'s columns added to ticks.csv.
    pub fn with_reporter(mut self, reporter: impl Reporter + 'static) -> RunOptions {
        self.reporters.add(reporter);
        self
    }
}

/// What the command line prints at the end.
#[non_exhaustive]
pub struct RunReport {
    /// The run directory, now in place.
    pub out: PathBuf,
    /// Each replication's last ticks.csv row, in replication order.
    pub finals: Vec<TickRow>,
    /// Per replication: innovations created, and how many of them were fed back into the
    /// programme.
    pub innovations: Vec<(usize, usize)>,
    /// Wall-clock time of the run in seconds, as provenance.json records it.
    pub wall_seconds: f64,
    /// Every file written into the run directory, with its size in bytes.
    pub files: Vec<(String, u64)>,
    /// Whether the scenario has firms (the summary shows their totals).
    pub firms: bool,
    /// Whether mean score differs from mean performance (a score exponent is set).
    pub score_differs: bool,
}

/// Replications run in batches of this many per thread; a batch's outputs are written
/// (in replication order) while the next batch runs.
const BATCH_PER_THREAD: usize = 2;

/// The memory a run of `s` needs on `threads` threads.
pub(crate) fn memory_need(s: &Scenario, threads: usize) -> memory::Need {
    let reps = s.run.replications as usize;
    let at_once = threads.clamp(1, reps.max(1));
    let files = headers(s, &[]).iter().filter(|h| h.is_some()).count();
    let batch = (threads.max(1) * BATCH_PER_THREAD).min(reps.max(1));
    // A batch running, one waiting to be written and one being written.
    let in_flight = (3 * batch * files * SPILL) as f64 + (reps * std::mem::size_of::<Finished>()) as f64;
    memory::Need { per_replication: s.estimated_bytes_per_replication() as f64, at_once, in_flight }
}

/// Runs every replication of a scenario (in parallel) into the directory `out`, telling
/// `progress` of every tick done and of stale directories cleared on the way. Nothing is
/// written unless the checks pass (path, memory, an existing directory without `force`);
/// the outputs are written into a partial directory and published only when complete.
pub fn run_to_dir(
    s: &Scenario,
    out: &Path,
    opts: &RunOptions,
    progress: &dyn Progress,
) -> Result<RunReport, OutputError> {
    let threads = rayon::current_num_threads();
    check(s, out, opts, threads)?;
    // Before the existence check: a killed --force may have left the old run aside.
    dir::clear_stale(out, &mut |m| progress.message(&m)).map_err(io_at(out))?;
    if out.exists() && !opts.force {
        return Err(OutputError::Exists(out.to_path_buf()));
    }
    let tmp = partial_dir(out);
    if tmp.exists() {
        fs::remove_dir_all(&tmp).map_err(io_at(&tmp))?;
    }
    fs::create_dir_all(&tmp).map_err(io_at(&tmp))?;
    progress.start(Some(s.run.ticks as u64 * s.run.replications as u64), "run");
    let written = write_run(s, out, &tmp, opts, progress, threads);
    progress.finish();
    match written {
        Ok(report) => {
            publish(&tmp, out, opts.force).map_err(|why| OutputError::NotPublished {
                out: out.to_path_buf(),
                kept: tmp.clone(),
                why,
            })?;
            Ok(report)
        }
        Err(e) => {
            let _ = fs::remove_dir_all(&tmp);
            Err(e)
        }
    }
}

/// The checks before anything is written: a path that can name a run directory, and the
/// memory the run needs on `threads` threads.
fn check(s: &Scenario, out: &Path, opts: &RunOptions, threads: usize) -> Result<(), OutputError> {
    if let Some(why) = dir::check_name(out) {
        return Err(OutputError::BadPath(out.to_path_buf(), why));
    }
    // Once for the run: each replication then runs without checking again.
    s.validate("the scenario").map_err(|e| OutputError::Run(RunError::Invalid(e)))?;
    opts.reporters.check().map_err(OutputError::Reporter)?;
    if out.exists() && !out.is_dir() {
        return Err(OutputError::BadPath(out.to_path_buf(), "it is an existing file, not a directory".into()));
    }
    let need = memory_need(s, threads);
    let have = match opts.memory {
        MemoryCheck::Available => memory::available(),
        MemoryCheck::Limit(bytes) => Some(memory::Have { bytes, source: "--memory-limit" }),
        MemoryCheck::Off => None,
    };
    match have.filter(|h| need.total() > h.bytes as f64) {
        Some(have) => Err(OutputError::Memory { need, have }),
        None => Ok(()),
    }
}

/// An I/O error at `p`.
fn io_at(p: &Path) -> impl FnOnce(io::Error) -> OutputError + use<> {
    let p = p.to_path_buf();
    move |e| OutputError::Io(p, e)
}

/// Writes the whole run into the partial directory `tmp`: the replications' files, the
/// resolved scenario and the provenance; then the directory is no longer marked as a
/// run in progress.
fn write_run(
    s: &Scenario,
    out: &Path,
    tmp: &Path,
    opts: &RunOptions,
    progress: &dyn Progress,
    threads: usize,
) -> Result<RunReport, OutputError> {
    let started = Instant::now();
    let started_unix =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    dir::mark_owner(tmp).map_err(io_at(tmp))?;
    let assembler = Assembler::new(tmp, headers(s, &opts.reporters.columns())).map_err(io_at(tmp))?;
    let (finished, mut files) = run_batches(s, tmp, opts, progress, assembler, threads)?;
    let resolved = crate::scenario::resolve::to_toml(s);
    fs::write(tmp.join("scenario.resolved.toml"), &resolved).map_err(io_at(tmp))?;
    files.push(("scenario.resolved.toml".to_string(), resolved.len() as u64));
    let wall = started.elapsed().as_secs_f64();
    let prov = provenance::Provenance {
        esh_version: env!("CARGO_PKG_VERSION"),
        git_commit: provenance::GIT_COMMIT,
        scenario: opts.scenario_name.clone(),
        overrides: opts.overrides.clone(),
        seed: s.run.seed,
        replications: s.run.replications,
        ticks: s.run.ticks,
        threads,
        started_unix_seconds: started_unix,
        wall_time_seconds: wall,
        command_line: opts.command_line.clone(),
        files: files.iter().map(|(f, _)| f.clone()).collect(),
    };
    let json = serde_json::to_string_pretty(&prov).expect("provenance serialises") + "\n";
    fs::write(tmp.join("provenance.json"), &json).map_err(io_at(tmp))?;
    files.push(("provenance.json".to_string(), json.len() as u64));
    fs::remove_file(tmp.join(dir::OWNER)).map_err(io_at(tmp))?;
    Ok(RunReport {
        out: out.to_path_buf(),
        finals: finished.iter().map(|o| o.last.clone()).collect(),
        innovations: finished.iter().map(|o| (o.innovations_total, o.innovations_fed_back)).collect(),
        wall_seconds: wall,
        files,
        firms: s.firms.enabled,
        score_differs: s.landscape.score_exponent != 1,
    })
}

/// Output files' names and sizes.
type Files = Vec<(String, u64)>;

/// One replication's parts of every output file.
type Parts = [Option<Part>; 6];

/// Runs the replications in batches (in parallel within a batch) and hands each batch's
/// parts to a writer thread that appends them in replication order: outputs are the same
/// bytes on any number of threads, and no replication needs a file of its own unless its
/// rows outgrow [`SPILL`].
fn run_batches(
    s: &Scenario,
    tmp: &Path,
    opts: &RunOptions,
    progress: &dyn Progress,
    mut assembler: Assembler,
    threads: usize,
) -> Result<(Vec<Finished>, Files), OutputError> {
    let reps = s.run.replications;
    let batch = (threads.max(1) * BATCH_PER_THREAD) as u32;
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Parts>>(1);
    std::thread::scope(|scope| {
        let writer = scope.spawn(move || -> io::Result<Files> {
            for parts in rx {
                for p in parts {
                    assembler.append(p)?;
                }
            }
            assembler.finish()
        });
        let mut finished = Vec::with_capacity(reps as usize);
        let mut failure = None;
        let mut first = 0;
        while first < reps {
            if let Some(sig) = cancelled(opts) {
                failure = Some(OutputError::Interrupted(sig));
                break;
            }
            let last = first.saturating_add(batch).min(reps);
            let done: Result<Vec<_>, OutputError> =
                (first..last).into_par_iter().map(|r| run_one(s, r, tmp, opts, progress)).collect();
            match done {
                Ok(done) => {
                    let (fins, parts): (Vec<_>, Vec<_>) = done.into_iter().unzip();
                    finished.extend(fins);
                    if tx.send(parts).is_err() {
                        break; // the writer failed: its error is below
                    }
                }
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
            first = last;
        }
        drop(tx);
        let written = writer.join().expect("the writer thread does not panic");
        match (failure, written) {
            (Some(e), _) => Err(e),
            (None, Err(e)) => Err(OutputError::Io(tmp.to_path_buf(), e)),
            (None, Ok(files)) => Ok((finished, files)),
        }
    })
}

/// The signal that stopped the run, if one has.
fn cancelled(opts: &RunOptions) -> Option<i32> {
    opts.cancel.map(|c| c.load(Ordering::Relaxed)).filter(|&sig| sig != 0)
}

/// Runs replication `r` into its parts (in memory, or part files in `tmp`).
fn run_one(
    s: &Scenario,
    r: u32,
    tmp: &Path,
    opts: &RunOptions,
    progress: &dyn Progress,
) -> Result<(Finished, Parts), OutputError> {
    let mut obs = CsvObserver::new(tmp, r, s, opts);
    crate::engine::run_validated(s, r, &mut obs, &|| progress.advance(1)).map_err(|e| match e {
        RunError::Io(e) if e.kind() == io::ErrorKind::Interrupted && cancelled(opts).is_some() => {
            OutputError::Interrupted(cancelled(opts).unwrap_or(0))
        }
        e => OutputError::Run(e),
    })?;
    let fin = Finished {
        last: std::mem::take(&mut obs.last),
        innovations_total: obs.innovations_total,
        innovations_fed_back: obs.innovations_fed_back,
    };
    Ok((fin, obs.into_parts().map_err(|e| OutputError::Io(tmp.to_path_buf(), e))?))
}
