//! The plan directory: the normalised sweep file, the resolved base scenario and
//! `plan.csv`, one line per run with its id, design point, replication, seed and
//! parameter values. Written once by `esh sweep plan`; every later command reads it, and
//! a run's outputs depend on its line alone.
//!
//! ```text
//! sw/sweep.toml   the sweep, every setting explicit (scenario = "base.toml")
//! sw/base.toml    the resolved base scenario
//! sw/plan.csv     run,point,replication,seed,<axis>...
//! sw/shards/      one results file per shard (written by `esh sweep run`)
//! ```

use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, BufWriter, Read};
use std::path::{Path, PathBuf};

use super::design::{self, Point};
use super::file::SweepFile;
use super::{Checksum, SweepError};
use crate::output::BuildError;
use crate::scenario::{Domain, ScenarioError, Value};

pub(crate) const SWEEP_FILE: &str = "sweep.toml";
pub(crate) const BASE_FILE: &str = "base.toml";
pub(crate) const PLAN_FILE: &str = "plan.csv";
pub(crate) const SHARD_DIR: &str = "shards";
const FIXED_COLUMNS: &[&str] = &["run", "point", "replication", "seed"];

/// An opened plan directory.
#[derive(Clone, Debug)]
pub struct Plan {
    pub(crate) dir: PathBuf,
    /// The sweep file the plan was made from, as copied into the plan directory.
    pub sweep: SweepFile,
    pub(crate) points: u64,
    pub(crate) runs: u64,
    /// Hash of the three plan files: results written under another plan are refused.
    pub(crate) id: u64,
}

/// One line of plan.csv.
#[derive(Clone, Debug, PartialEq)]
pub struct PlanRow {
    pub(crate) run: u64,
    pub(crate) point: u64,
    /// The replication number within its design point (0-based).
    pub replication: u32,
    /// The run's master seed (`run.seed`), as `[sweep] seeds` derives it.
    pub seed: u64,
    /// The axis values as written in plan.csv (copied as is into results.csv).
    pub(crate) raw: Vec<String>,
}

/// What `esh sweep plan` reports.
#[non_exhaustive]
pub struct PlanSummary {
    /// Design points of the plan.
    pub points: u64,
    /// Replications of each point.
    pub replications: u32,
    /// Runs: points x replications.
    pub runs: u64,
    /// The first few design points that are not valid scenarios: (point, why). Their runs
    /// will be recorded as failed.
    pub invalid: Vec<(u64, String)>,
    /// How many design points are not valid scenarios in all.
    pub invalid_count: u64,
    /// What the user should know before running: an axis that a `set` event of the base overwrites.
    pub warnings: Vec<String>,
}

/// Invalid design points kept for the plan's report (the rest are counted).
const INVALID_SHOWN: usize = 10;

/// Plans a sweep into a new directory `out` (replaced only with `force`, once complete).
pub fn create(sweep_path: &Path, out: &Path, force: bool) -> Result<PlanSummary, SweepError> {
    let s = SweepFile::load(sweep_path).map_err(SweepError::input)?;
    create_from(&s, out, force)
}

/// Plans a parsed sweep into a new directory `out`. The design points are streamed into
/// plan.csv: memory does not grow with the plan.
pub(crate) fn create_from(s: &SweepFile, out: &Path, force: bool) -> Result<PlanSummary, SweepError> {
    if out.file_name().is_none() {
        return Err(SweepError::Input(format!("cannot plan into '{}': the path has no directory name", out.display())));
    }
    if out.exists() && !out.is_dir() {
        return Err(SweepError::Input(format!("cannot plan into '{}': it is an existing file", out.display())));
    }
    if out.exists() && !force {
        return Err(SweepError::Input(format!(
            "the sweep directory '{}' already exists; nothing was written\n  help: pass --force to replace it (and every result in it), or choose another with --out",
            out.display()
        )));
    }
    if out.exists() && force {
        refuse_running(out)?;
    }
    let mut invalid = Vec::new();
    let mut invalid_count = 0u64;
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |e: io::Error| SweepError::Io(format!("cannot write '{}': {e}", p.display()))
    };
    crate::output::build_dir(out, force, |tmp| {
        fs::create_dir_all(tmp.join(SHARD_DIR)).map_err(io(tmp))?;
        fs::write(tmp.join(SWEEP_FILE), s.to_toml()).map_err(io(tmp))?;
        fs::write(tmp.join(BASE_FILE), crate::scenario::resolve::to_toml(&s.base)).map_err(io(tmp))?;
        write_rows(&tmp.join(PLAN_FILE), s, |p, values| {
            if let Err(e) = design::scenario(&s.base, &s.axes, values, design::point_seed(s, p)) {
                invalid_count += 1;
                if invalid.len() < INVALID_SHOWN {
                    invalid.push((p, describe(&e)));
                }
            }
        })
        .map_err(io(tmp))?;
        // A runner of the old plan that got its lock after the check above.
        refuse_running(out)
    })
    .map_err(|e| match e {
        BuildError::Stale(e) => io(&crate::output::partial_dir(out))(e),
        BuildError::Fill(e) => e,
        BuildError::Publish { why, .. } => {
            SweepError::Io(format!("the plan is complete but could not be moved to '{}': {why}", out.display()))
        }
    })?;
    Ok(PlanSummary {
        points: s.points(),
        replications: s.replications,
        runs: s.runs(),
        invalid,
        invalid_count,
        warnings: s.warnings(),
    })
}

/// Refuses to replace a sweep directory while a shard of it is being run: the runner
/// would write into a directory that is no longer the sweep.
pub(crate) fn refuse_running(out: &Path) -> Result<(), SweepError> {
    let Ok(entries) = fs::read_dir(out.join(SHARD_DIR)) else { return Ok(()) };
    for entry in entries.flatten() {
        let path = entry.path();
        let is_shard = entry.file_name().to_str().and_then(super::shard::Shard::from_file_name).is_some();
        if is_shard && super::shard::is_locked(&path) {
            let who = fs::read_to_string(super::shard::running_note(&path)).unwrap_or_default();
            return Err(SweepError::Input(format!(
                "cannot replace '{}': its shard file '{}' is being run{}; nothing was written\n  help: wait for the run to end or stop it, then plan again (or plan into another directory with --out)",
                out.display(),
                path.display(),
                if who.trim().is_empty() { String::new() } else { format!(" ({})", who.trim()) }
            )));
        }
    }
    Ok(())
}

/// A scenario error of a design point in one line (the point has no file position).
fn describe(e: &ScenarioError) -> String {
    let mut m = String::new();
    if let Some(k) = &e.key {
        m.push_str(&format!("`{k}`: "));
    }
    m.push_str(&e.message);
    m
}

/// Writes plan.csv from the design's stream of points; `visit` sees each point once.
fn write_rows(path: &Path, s: &SweepFile, mut visit: impl FnMut(u64, &Point)) -> io::Result<()> {
    let mut w = csv::Writer::from_writer(BufWriter::with_capacity(1 << 16, File::create(path)?));
    let mut header: Vec<String> = FIXED_COLUMNS.iter().map(|c| c.to_string()).collect();
    header.extend(s.axes.iter().map(|a| a.name()));
    w.write_record(&header)?;
    let reps = s.replications as u64;
    for (p, values) in design::points(s).enumerate() {
        visit(p as u64, &values);
        let seed = design::point_seed(s, p as u64);
        let raw: Vec<String> = values.iter().map(Value::bare).collect();
        for r in 0..reps {
            let mut rec = vec![(p as u64 * reps + r).to_string(), p.to_string(), r.to_string(), seed.to_string()];
            rec.extend(raw.iter().cloned());
            w.write_record(&rec)?;
        }
    }
    w.into_inner().map_err(|e| e.into_error())?.into_inner().map_err(|e| e.into_error())?.sync_all()
}

impl Plan {
    /// Opens a plan directory written by `esh sweep plan`.
    pub fn open(dir: &Path) -> Result<Plan, SweepError> {
        let sweep_path = dir.join(SWEEP_FILE);
        if !dir.is_dir() {
            return Err(SweepError::Input(format!(
                "'{}' is not a sweep directory\n  help: create one with `esh sweep plan <sweep.toml> --out {}`",
                dir.display(),
                dir.display()
            )));
        }
        if !sweep_path.is_file() || !dir.join(PLAN_FILE).is_file() {
            return Err(SweepError::Input(format!(
                "'{}' is not a sweep directory: it has no {SWEEP_FILE} or {PLAN_FILE}\n  help: create one with `esh sweep plan <sweep.toml> --out <dir>`",
                dir.display()
            )));
        }
        let sweep = SweepFile::load(&sweep_path).map_err(SweepError::input)?;
        let mut hash = Checksum::new();
        for name in [SWEEP_FILE, BASE_FILE, PLAN_FILE] {
            let path = dir.join(name);
            let mut f =
                File::open(&path).map_err(|e| SweepError::Io(format!("cannot read '{}': {e}", path.display())))?;
            let mut buf = vec![0u8; 1 << 16];
            loop {
                let n =
                    f.read(&mut buf).map_err(|e| SweepError::Io(format!("cannot read '{}': {e}", path.display())))?;
                if n == 0 {
                    break;
                }
                hash.write(&buf[..n]);
            }
        }
        let points = sweep.points();
        let runs = sweep.runs();
        let plan = Plan { dir: dir.to_path_buf(), sweep, points, runs, id: hash.finish() };
        plan.check_header()?;
        Ok(plan)
    }

    pub(crate) fn plan_path(&self) -> PathBuf {
        self.dir.join(PLAN_FILE)
    }

    /// The plan's `shards` directory, where each shard appends the results of its runs.
    pub fn shard_dir(&self) -> PathBuf {
        self.dir.join(SHARD_DIR)
    }

    /// The axis column names, in order.
    pub(crate) fn axis_names(&self) -> Vec<String> {
        self.sweep.axes.iter().map(|a| a.name()).collect()
    }

    fn check_header(&self) -> Result<(), SweepError> {
        let path = self.plan_path();
        let f = File::open(&path).map_err(|e| SweepError::Io(format!("cannot read '{}': {e}", path.display())))?;
        let mut line = String::new();
        BufReader::new(f)
            .read_line(&mut line)
            .map_err(|e| SweepError::Io(format!("cannot read '{}': {e}", path.display())))?;
        let mut want: Vec<String> = FIXED_COLUMNS.iter().map(|c| c.to_string()).collect();
        want.extend(self.axis_names());
        if line.trim_end() != want.join(",") {
            return Err(SweepError::Input(format!(
                "{}: the header is `{}`, but {SWEEP_FILE} expects `{}`\n  help: the plan was edited by hand; plan the sweep again",
                path.display(),
                line.trim_end(),
                want.join(",")
            )));
        }
        Ok(())
    }

    /// Every run of the plan, in run order, read as a stream (memory does not grow with
    /// the number of runs).
    pub fn rows(&self) -> Result<impl Iterator<Item = Result<PlanRow, SweepError>> + use<>, SweepError> {
        let path = self.plan_path();
        let f = File::open(&path).map_err(|e| SweepError::Io(format!("cannot read '{}': {e}", path.display())))?;
        let reader = csv::Reader::from_reader(BufReader::with_capacity(1 << 16, f));
        let axes = self.sweep.axes.len();
        let runs = self.runs;
        let mut expected = 0u64;
        let mut done = false;
        let mut records = reader.into_records();
        Ok(std::iter::from_fn(move || {
            if done {
                return None;
            }
            let bad = |line: u64, why: String| {
                SweepError::Input(format!(
                    "{}: line {line}: {why}\n  help: the plan was edited by hand; plan the sweep again",
                    path.display()
                ))
            };
            match records.next() {
                None if expected == runs => None,
                None => {
                    done = true;
                    Some(Err(bad(expected + 2, format!("the plan ends after {expected} of its {runs} runs"))))
                }
                Some(Err(e)) => {
                    done = true;
                    Some(Err(bad(expected + 2, e.to_string())))
                }
                Some(Ok(rec)) => {
                    let line = expected + 2;
                    let row = (|| {
                        if rec.len() != FIXED_COLUMNS.len() + axes {
                            return Err(format!("{} fields, expected {}", rec.len(), FIXED_COLUMNS.len() + axes));
                        }
                        let num =
                            |i: usize| rec[i].parse::<u64>().map_err(|_| format!("`{}` is not a number", &rec[i]));
                        let row = PlanRow {
                            run: num(0)?,
                            point: num(1)?,
                            replication: num(2)? as u32,
                            seed: num(3)?,
                            raw: rec.iter().skip(FIXED_COLUMNS.len()).map(str::to_string).collect(),
                        };
                        if row.run != expected {
                            return Err(format!("run {} where run {expected} was expected", row.run));
                        }
                        Ok(row)
                    })();
                    expected += 1;
                    match row {
                        Ok(r) if r.run < runs => Some(Ok(r)),
                        Ok(_) => {
                            done = true;
                            Some(Err(bad(line, format!("more runs than the {runs} the sweep plans"))))
                        }
                        Err(why) => {
                            done = true;
                            Some(Err(bad(line, why)))
                        }
                    }
                }
            }
        }))
    }

    /// The typed values of a plan row, for building its scenario.
    pub fn values(&self, row: &PlanRow) -> Result<Vec<Value>, String> {
        self.sweep
            .axes
            .iter()
            .zip(&row.raw)
            .map(|(a, raw)| {
                let bad = || format!("`{}` = \"{raw}\" in plan.csv is not {}", a.name(), a.spec.domain);
                Ok(match a.spec.domain {
                    Domain::Int { .. } => Value::Int(raw.parse().map_err(|_| bad())?),
                    Domain::Float { .. } => Value::Float(raw.parse().map_err(|_| bad())?),
                    Domain::Bool => Value::Bool(raw.parse().map_err(|_| bad())?),
                    Domain::Choice(_) | Domain::Text | Domain::ZoneIds | Domain::ParameterValue => {
                        Value::Str(raw.clone())
                    }
                })
            })
            .collect()
    }
}

impl SweepError {
    /// A sweep or scenario file error (exit code 2).
    pub(crate) fn input(e: ScenarioError) -> SweepError {
        SweepError::Input(e.to_string())
    }
}

/// Writes `bytes` to `path` via a temporary file and a rename.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), SweepError> {
    crate::output::AtomicFile::write(path, bytes)
        .map_err(|e| SweepError::Io(format!("cannot write '{}': {e}", path.display())))
}
