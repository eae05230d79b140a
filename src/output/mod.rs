//! Outputs of a run (DESIGN 9): tidy CSV files streamed as the run goes, the resolved
//! scenario and the provenance, in one output directory that appears only when complete.
//!
//! Writes go to `.<name>.partial-<pid>/` beside the output directory, renamed into place
//! at the end, so an interrupted run never leaves files that look complete.

pub mod metrics;
pub mod provenance;
pub mod summary;

use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use rayon::prelude::*;
use serde::Serialize;

use crate::engine::{Observer, Replication, RunError, TickCounts};
use crate::model::centre::Act;
use crate::model::lineage::CENTRE;
use crate::scenario::{Choice, Scenario};
use metrics::TickRow;

type CsvOut = csv::Writer<BufWriter<File>>;

/// A CSV file that starts with the header of row type T, even if no row follows (the csv
/// crate writes a header only with the first row; a tidy file with no rows still has one).
fn csv_file<T: Serialize + Default>(path: &Path) -> io::Result<CsvOut> {
    let mut header = csv::Writer::from_writer(Vec::new());
    header.serialize(T::default()).map_err(io_err)?;
    let bytes = header.into_inner().map_err(|e| io::Error::other(e.to_string()))?;
    let line = &bytes[..bytes.iter().position(|&b| b == b'\n').map_or(bytes.len(), |i| i + 1)];
    let mut file = BufWriter::with_capacity(1 << 16, File::create(path)?);
    file.write_all(line)?;
    Ok(csv::WriterBuilder::new().has_headers(false).from_writer(file))
}

fn io_err(e: csv::Error) -> io::Error {
    io::Error::other(e)
}

#[derive(Default, Serialize)]
struct EventRow<'a> {
    replication: u32,
    tick: u32,
    year: u32,
    kind: &'a str,
    zone: Option<u32>,
    detail: &'a str,
}

/// Declares a row type whose last columns are the firms of a zone or a region (shared by
/// zones.csv and regions.csv: the csv crate writes no header for a nested struct), and
/// `with_firms`, which fills them from a firm tally.
macro_rules! firm_row {
    ($(#[$m:meta])* struct $name:ident<$lt:lifetime> { $($field:ident: $ty:ty,)* }) => {
        $(#[$m])*
        #[derive(Default, Serialize)]
        struct $name<$lt> {
            $($field: $ty,)*
            firms: u32,
            firm_births: u32,
            firm_deaths: u32,
            high_tech: u32,
            revenue: f64,
            employees: f64,
            share_state: f64,
            share_private: f64,
            share_foreign: f64,
            share_loans: f64,
            share_foreign_capital: f64,
            share_shares: f64,
            share_venture_capital: f64,
            share_joint_venture: f64,
            share_other_financing: f64,
        }

        impl $name<'_> {
            fn with_firms(mut self, t: &crate::model::firm::Tally, revenue_per_employee: f64) -> Self {
                self.firms = t.firms;
                self.firm_births = t.births;
                self.firm_deaths = t.deaths;
                self.high_tech = t.high_tech;
                self.revenue = metrics::revenue(t, revenue_per_employee);
                self.employees = t.employees;
                [
                    self.share_state,
                    self.share_private,
                    self.share_foreign,
                    self.share_loans,
                    self.share_foreign_capital,
                    self.share_shares,
                    self.share_venture_capital,
                    self.share_joint_venture,
                    self.share_other_financing,
                ] = metrics::shares(t);
                self
            }
        }
    };
}

firm_row! {
    /// One row of zones.csv: a zone at a panel tick.
    struct ZoneRow<'a> {
        replication: u32,
        tick: u32,
        year: u32,
        zone: u32,
        region: &'a str,
        level: &'a str,
        pilot: u8,
        policy: String,
        fitness: f64,
        performance: f64,
        observed: f64,
        capacity: f64,
        experiments_tried: u32,
        experiments_succeeded: u32,
        deviations: u32,
        sanctioned: u32,
        imitated: u32,
        complied: u32,
    }
}

firm_row! {
    /// One row of regions.csv: a region's zones and firms at the end of a tick.
    struct RegionRow<'a> {
        replication: u32,
        tick: u32,
        year: u32,
        region: &'a str,
        active_zones: u32,
        mean_performance: f64,
        mean_capacity: f64,
    }
}

#[derive(Default, Serialize)]
struct InnovationRow {
    replication: u32,
    innovation: u32,
    origin_zone: Option<u32>,
    origin_region: String,
    tick: u32,
    year: u32,
    instrument: u8,
    value: u8,
    fed_back_tick: Option<u32>,
    peak_holders: u32,
    peak_tick: u32,
    final_holders: u32,
    in_programme: u8,
    horizontal_adoptions: u32,
    vertical_adoptions: u32,
    extinct_tick: Option<u32>,
}

#[derive(Default, Serialize)]
struct DiffusionRow {
    replication: u32,
    tick: u32,
    year: u32,
    innovation: u32,
    holders: u32,
}

/// Writes one replication's rows into its own part files.
pub struct CsvObserver {
    ticks: CsvOut,
    regions: CsvOut,
    events: CsvOut,
    zones: Option<CsvOut>,
    diffusion: Option<CsvOut>,
    innovations: Option<CsvOut>,
    /// The last tick row (for the summary).
    pub last: TickRow,
    /// Ticks of the last panels written, so a replication that stops early still ends
    /// with a panel of its final state.
    zones_written: Option<u32>,
    diffusion_written: Option<u32>,
    /// Innovations created and fed back, at the end.
    pub innovations_total: usize,
    pub innovations_fed_back: usize,
}

/// The output files, in the order they are listed.
const FILES: &[&str] = &["ticks.csv", "regions.csv", "events.csv", "innovations.csv", "zones.csv", "diffusion.csv"];

impl CsvObserver {
    fn new(dir: &Path, rep: u32, s: &Scenario) -> io::Result<CsvObserver> {
        let part = |name: &str| dir.join(format!("{name}.part{rep}"));
        Ok(CsvObserver {
            ticks: csv_file::<TickRow>(&part("ticks.csv"))?,
            regions: csv_file::<RegionRow>(&part("regions.csv"))?,
            events: csv_file::<EventRow>(&part("events.csv"))?,
            innovations: if s.output.innovations {
                Some(csv_file::<InnovationRow>(&part("innovations.csv"))?)
            } else {
                None
            },
            zones: if s.output.zones_every > 0 { Some(csv_file::<ZoneRow>(&part("zones.csv"))?) } else { None },
            diffusion: if s.output.diffusion_every > 0 {
                Some(csv_file::<DiffusionRow>(&part("diffusion.csv"))?)
            } else {
                None
            },
            zones_written: None,
            diffusion_written: None,
            last: TickRow::default(),
            innovations_total: 0,
            innovations_fed_back: 0,
        })
    }

    fn zones_panel(&mut self, rep: &Replication) -> io::Result<()> {
        let Some(w) = self.zones.as_mut() else {
            return Ok(());
        };
        self.zones_written = Some(rep.tick);
        let cur = &rep.zones.cur;
        let revenue_per_employee = rep.scenario.firms.revenue_per_employee;
        for z in rep.active_zones() {
            let f = rep.firms.as_ref().map(|f| f.tally[z]).unwrap_or_default();
            w.serialize(
                ZoneRow {
                    replication: rep.replication,
                    tick: rep.tick,
                    year: rep.scenario.year(rep.tick),
                    zone: z as u32,
                    region: &rep.scenario.regions[rep.zones.region[z] as usize].name,
                    level: rep.zones.level[z].name(),
                    pilot: rep.zones.pilot[z] as u8,
                    policy: cur.policy[z].render(rep.n),
                    fitness: cur.fitness[z],
                    performance: cur.performance[z],
                    observed: cur.observed[z],
                    capacity: cur.capacity[z],
                    experiments_tried: cur.counters[z].tried,
                    experiments_succeeded: cur.counters[z].succeeded,
                    deviations: cur.counters[z].deviations,
                    sanctioned: cur.counters[z].sanctioned,
                    imitated: cur.counters[z].imitated,
                    complied: cur.counters[z].complied,
                    ..ZoneRow::default()
                }
                .with_firms(&f, revenue_per_employee),
            )
            .map_err(io_err)?;
        }
        Ok(())
    }

    /// Each region's zones and firms, summed in zone order.
    fn regions(&mut self, rep: &Replication) -> io::Result<()> {
        use crate::model::firm::Tally;
        let k = rep.scenario.regions.len();
        let mut active = vec![0u32; k];
        let mut perf = vec![0.0; k];
        let mut cap = vec![0.0; k];
        let mut firms = vec![Tally::default(); k];
        let cur = &rep.zones.cur;
        for z in rep.active_zones() {
            let r = rep.zones.region[z] as usize;
            active[r] += 1;
            perf[r] += cur.performance[z];
            cap[r] += cur.capacity[z];
            if let Some(f) = &rep.firms {
                firms[r].add(&f.tally[z]);
            }
        }
        let revenue_per_employee = rep.scenario.firms.revenue_per_employee;
        for (r, region) in rep.scenario.regions.iter().enumerate() {
            let m = active[r].max(1) as f64;
            let f = &firms[r];
            self.regions
                .serialize(
                    RegionRow {
                        replication: rep.replication,
                        tick: rep.tick,
                        year: rep.scenario.year(rep.tick),
                        region: &region.name,
                        active_zones: active[r],
                        mean_performance: perf[r] / m,
                        mean_capacity: cap[r] / m,
                        ..RegionRow::default()
                    }
                    .with_firms(f, revenue_per_employee),
                )
                .map_err(io_err)?;
        }
        Ok(())
    }

    fn diffusion_panel(&mut self, rep: &Replication) -> io::Result<()> {
        let Some(w) = self.diffusion.as_mut() else {
            return Ok(());
        };
        self.diffusion_written = Some(rep.tick);
        for (i, inn) in rep.lineage.innovations.iter().enumerate() {
            if inn.holders > 0 {
                w.serialize(DiffusionRow {
                    replication: rep.replication,
                    tick: rep.tick,
                    year: rep.scenario.year(rep.tick),
                    innovation: i as u32 + 1,
                    holders: inn.holders,
                })
                .map_err(io_err)?;
            }
        }
        Ok(())
    }
}

fn due(every: u32, tick: u32, last: bool) -> bool {
    every > 0 && (tick.is_multiple_of(every) || last)
}

impl Observer for CsvObserver {
    fn tick(&mut self, rep: &Replication, counts: &TickCounts) -> io::Result<()> {
        let row = metrics::tick_row(rep, counts);
        self.ticks.serialize(&row).map_err(io_err)?;
        self.last = row;
        self.regions(rep)?;
        let last = rep.tick == rep.scenario.run.ticks;
        if due(rep.scenario.output.zones_every, rep.tick, last) {
            self.zones_panel(rep)?;
        }
        if due(rep.scenario.output.diffusion_every, rep.tick, last) {
            self.diffusion_panel(rep)?;
        }
        Ok(())
    }

    fn acts(&mut self, rep: &Replication, acts: &[Act]) -> io::Result<()> {
        for a in acts {
            self.events
                .serialize(EventRow {
                    replication: rep.replication,
                    tick: rep.tick,
                    year: rep.scenario.year(rep.tick),
                    kind: a.kind,
                    zone: a.zone,
                    detail: &a.detail,
                })
                .map_err(io_err)?;
        }
        Ok(())
    }

    fn finish(&mut self, rep: &Replication) -> io::Result<()> {
        if self.zones.is_some() && self.zones_written != Some(rep.tick) {
            self.zones_panel(rep)?;
        }
        if self.diffusion.is_some() && self.diffusion_written != Some(rep.tick) {
            self.diffusion_panel(rep)?;
        }
        self.innovations_total = rep.lineage.len();
        self.innovations_fed_back = rep.lineage.innovations.iter().filter(|i| i.fed_back_tick.is_some()).count();
        if let Some(w) = self.innovations.as_mut() {
            for (i, inn) in rep.lineage.innovations.iter().enumerate() {
                let id = i as u32 + 1;
                let origin = (inn.origin_zone != CENTRE).then_some(inn.origin_zone);
                let region = match origin {
                    Some(z) => rep.scenario.regions[rep.zones.region[z as usize] as usize].name.clone(),
                    None => "centre".to_string(),
                };
                w.serialize(InnovationRow {
                    replication: rep.replication,
                    innovation: id,
                    origin_zone: origin,
                    origin_region: region,
                    tick: inn.tick,
                    year: rep.scenario.year(inn.tick),
                    instrument: inn.instrument,
                    value: inn.value as u8,
                    fed_back_tick: inn.fed_back_tick,
                    peak_holders: inn.peak_holders,
                    peak_tick: inn.peak_tick,
                    final_holders: inn.holders,
                    in_programme: (rep.centre.lineage[inn.instrument as usize] == id) as u8,
                    horizontal_adoptions: inn.horizontal,
                    vertical_adoptions: inn.vertical,
                    extinct_tick: inn.extinct_tick,
                })
                .map_err(io_err)?;
            }
        }
        for w in [
            Some(&mut self.ticks),
            Some(&mut self.regions),
            Some(&mut self.events),
            self.zones.as_mut(),
            self.diffusion.as_mut(),
            self.innovations.as_mut(),
        ]
        .into_iter()
        .flatten()
        {
            w.flush()?;
        }
        Ok(())
    }
}

/// What is kept of a replication once its files are closed.
struct Finished {
    last: TickRow,
    innovations_total: usize,
    innovations_fed_back: usize,
}

/// How a run is carried out (nothing here changes its results).
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    pub force: bool,
    pub quiet: bool,
    /// Where the scenario came from, for provenance.
    pub scenario_name: String,
    pub command_line: Vec<String>,
}

/// What the command line prints at the end.
pub struct RunReport {
    pub out: PathBuf,
    pub finals: Vec<TickRow>,
    pub innovations: Vec<(usize, usize)>,
    pub wall_seconds: f64,
    pub files: Vec<(String, u64)>,
}

/// Why a run into a directory failed.
#[derive(Debug)]
pub enum OutputError {
    /// The output directory exists and `--force` was not given.
    Exists(PathBuf),
    /// The output path cannot be a run directory (no name, or an existing file).
    BadPath(PathBuf, &'static str),
    /// The run finished but could not be moved into place; its outputs are complete in
    /// the partial directory.
    NotPublished {
        out: PathBuf,
        kept: PathBuf,
        why: String,
    },
    Io(PathBuf, io::Error),
    Run(RunError),
}

impl std::fmt::Display for OutputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OutputError::Exists(p) => write!(
                f,
                "the output directory '{}' already exists; nothing was written\n  help: pass --force to replace it, or choose another with --out",
                p.display()
            ),
            OutputError::BadPath(p, why) => {
                write!(f, "cannot write a run to '{}': {why}; nothing was written", p.display())
            }
            OutputError::NotPublished { out, kept, why } => write!(
                f,
                "the run finished but could not be moved to '{}': {why}\n  help: its complete outputs are in '{}'",
                out.display(),
                kept.display()
            ),
            OutputError::Io(p, e) => write!(f, "cannot write '{}': {e}", p.display()),
            OutputError::Run(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for OutputError {}

/// Runs every replication of a scenario (in parallel) into the directory `out`.
pub fn run_to_dir(s: &Scenario, out: &Path, opts: &RunOptions) -> Result<RunReport, OutputError> {
    if out.file_name().is_none() || out.as_os_str().is_empty() {
        return Err(OutputError::BadPath(out.to_path_buf(), "the path has no directory name of its own"));
    }
    if out.exists() && !out.is_dir() {
        return Err(OutputError::BadPath(out.to_path_buf(), "it is an existing file, not a directory"));
    }
    if out.exists() && !opts.force {
        return Err(OutputError::Exists(out.to_path_buf()));
    }
    let started = Instant::now();
    let started_unix =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let tmp = partial_dir(out);
    let ioe = |p: &Path| {
        let p = p.to_path_buf();
        move |e: io::Error| OutputError::Io(p, e)
    };
    if tmp.exists() {
        fs::remove_dir_all(&tmp).map_err(ioe(&tmp))?;
    }
    fs::create_dir_all(&tmp).map_err(ioe(&tmp))?;
    let result = (|| {
        let progress = Progress::new(s, opts.quiet);
        let reps: Vec<u32> = (0..s.run.replications).collect();
        // Each replication's files are closed as soon as it ends; only its summary is kept,
        // so open files and memory do not grow with the number of replications.
        let observers: Vec<Finished> = reps
            .par_iter()
            .map(|&r| {
                let mut obs = CsvObserver::new(&tmp, r, s).map_err(|e| OutputError::Io(tmp.clone(), e))?;
                crate::engine::run_replication(s, r, &mut obs, &|| progress.inc()).map_err(OutputError::Run)?;
                Ok(Finished {
                    last: obs.last,
                    innovations_total: obs.innovations_total,
                    innovations_fed_back: obs.innovations_fed_back,
                })
            })
            .collect::<Result<_, OutputError>>()?;
        progress.finish();
        let mut files = Vec::new();
        for name in FILES {
            if let Some(size) = join_parts(&tmp, name, s.run.replications).map_err(ioe(&tmp.join(name)))? {
                files.push((name.to_string(), size));
            }
        }
        let resolved = crate::scenario::resolve::to_toml(s);
        fs::write(tmp.join("scenario.resolved.toml"), &resolved).map_err(ioe(&tmp))?;
        files.push(("scenario.resolved.toml".to_string(), resolved.len() as u64));
        let wall = started.elapsed().as_secs_f64();
        let prov = provenance::Provenance {
            esh_version: env!("CARGO_PKG_VERSION"),
            git_commit: provenance::GIT_COMMIT,
            scenario: opts.scenario_name.clone(),
            seed: s.run.seed,
            replications: s.run.replications,
            ticks: s.run.ticks,
            threads: rayon::current_num_threads(),
            started_unix_seconds: started_unix,
            wall_time_seconds: wall,
            command_line: opts.command_line.clone(),
            files: files.iter().map(|(f, _)| f.clone()).collect(),
        };
        let json = serde_json::to_string_pretty(&prov).expect("provenance serialises") + "\n";
        fs::write(tmp.join("provenance.json"), &json).map_err(ioe(&tmp))?;
        files.push(("provenance.json".to_string(), json.len() as u64));
        Ok(RunReport {
            out: out.to_path_buf(),
            finals: observers.iter().map(|o| o.last.clone()).collect(),
            innovations: observers.iter().map(|o| (o.innovations_total, o.innovations_fed_back)).collect(),
            wall_seconds: wall,
            files,
        })
    })();
    match result {
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

pub(crate) fn partial_dir(out: &Path) -> PathBuf {
    let name = out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "run".into());
    out.with_file_name(format!(".{name}.partial-{}", std::process::id()))
}

/// Why [`build_dir`] failed.
pub(crate) enum BuildError<E> {
    /// A stale hidden directory of this process could not be cleared.
    Stale(io::Error),
    /// Filling the directory failed; nothing is left behind.
    Fill(E),
    /// The directory is complete but could not take its place; it is kept where it was built.
    Publish { kept: PathBuf, why: String },
}

/// Builds a whole output directory out of sight and moves it into place only when complete
/// (a sweep plan, a report): `fill` writes into a fresh hidden directory beside `out`.
pub(crate) fn build_dir<E>(
    out: &Path,
    force: bool,
    fill: impl FnOnce(&Path) -> Result<(), E>,
) -> Result<(), BuildError<E>> {
    let tmp = partial_dir(out);
    if tmp.exists() {
        fs::remove_dir_all(&tmp).map_err(BuildError::Stale)?;
    }
    if let Err(e) = fill(&tmp) {
        let _ = fs::remove_dir_all(&tmp);
        return Err(BuildError::Fill(e));
    }
    publish(&tmp, out, force).map_err(|why| BuildError::Publish { kept: tmp, why })
}

/// Moves the finished directory into place, replacing an old one only now.
/// Without `force`, an output directory that appeared while the run ran (another run
/// with the same `--out`) is never replaced; with it, the old one is put back if the new
/// one cannot take its place.
pub(crate) fn publish(tmp: &Path, out: &Path, force: bool) -> Result<(), String> {
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent).map_err(|e| e.to_string())?;
    }
    if !out.exists() {
        // rename does not replace a non-empty directory, so a racing run cannot be lost.
        return fs::rename(tmp, out)
            .map_err(|e| if out.exists() { "another run created it meanwhile".to_string() } else { e.to_string() });
    }
    if !force {
        return Err("another run created it meanwhile (pass --force to replace it)".to_string());
    }
    let name = out.file_name().unwrap_or_default().to_string_lossy();
    let old = out.with_file_name(format!(".{name}.old-{}", std::process::id()));
    fs::rename(out, &old).map_err(|e| format!("cannot move the old directory aside: {e}"))?;
    if let Err(e) = fs::rename(tmp, out) {
        return Err(match fs::rename(&old, out) {
            Ok(()) => e.to_string(),
            Err(_) => format!("{e}; the old directory is kept as '{}'", old.display()),
        });
    }
    // The new run is in place; failing to delete the old copy is worth a warning only.
    if let Err(e) = fs::remove_dir_all(&old) {
        eprintln!("warning: the replaced directory '{}' could not be removed: {e}", old.display());
    }
    Ok(())
}

/// Concatenates the replications' part files in replication order, keeping one header.
fn join_parts(dir: &Path, name: &str, reps: u32) -> io::Result<Option<u64>> {
    let parts: Vec<PathBuf> = (0..reps).map(|r| dir.join(format!("{name}.part{r}"))).collect();
    if !parts[0].exists() {
        return Ok(None);
    }
    // Every part starts with the same header; keep the first one only.
    let target = dir.join(name);
    if reps == 1 {
        fs::rename(&parts[0], &target)?;
    } else {
        let mut w = BufWriter::with_capacity(1 << 16, File::create(&target)?);
        for (r, part) in parts.iter().enumerate() {
            let mut reader = BufReader::with_capacity(1 << 16, File::open(part)?);
            if r > 0 {
                let mut header = String::new();
                reader.read_line(&mut header)?;
            }
            io::copy(&mut reader, &mut w)?;
            fs::remove_file(part)?;
        }
        w.flush()?;
    }
    Ok(Some(fs::metadata(&target)?.len()))
}

/// A file written under a temporary name beside its place and renamed into it on
/// [`AtomicFile::commit`]: a reader never sees it half-written, and an interrupted writer
/// leaves the previous version (if any) untouched.
pub struct AtomicFile {
    tmp: PathBuf,
    path: PathBuf,
    writer: Option<BufWriter<File>>,
}

impl AtomicFile {
    pub fn create(path: &Path) -> io::Result<AtomicFile> {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let tmp = path.with_file_name(format!(".{name}.partial-{}", std::process::id()));
        let file = File::create(&tmp)?;
        Ok(AtomicFile { tmp, path: path.to_path_buf(), writer: Some(BufWriter::with_capacity(1 << 16, file)) })
    }

    /// Flushes, syncs and renames the file into place.
    pub fn commit(mut self) -> io::Result<()> {
        let w = self.writer.take().expect("committed once");
        let file = w.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        fs::rename(&self.tmp, &self.path)
    }

    /// Writes a whole file at once.
    pub fn write(path: &Path, bytes: &[u8]) -> io::Result<()> {
        let mut f = AtomicFile::create(path)?;
        f.write_all(bytes)?;
        f.commit()
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writer.as_mut().expect("not committed").write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.writer.as_mut().expect("not committed").flush()
    }
}

impl Drop for AtomicFile {
    /// An abandoned file (an error part-way) leaves no temporary behind.
    fn drop(&mut self) {
        if self.writer.take().is_some() {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

/// A progress bar on stderr, shown only on a terminal and once a run takes a moment.
struct Progress {
    bar: indicatif::ProgressBar,
    started: Instant,
    shown: AtomicBool,
    enabled: bool,
}

impl Progress {
    fn new(s: &Scenario, quiet: bool) -> Progress {
        use std::io::IsTerminal;
        let total = s.run.ticks as u64 * s.run.replications as u64;
        let bar = indicatif::ProgressBar::with_draw_target(Some(total), indicatif::ProgressDrawTarget::hidden());
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} ticks  {elapsed} elapsed, ETA {eta}")
        {
            bar.set_style(style);
        }
        Progress {
            bar,
            started: Instant::now(),
            shown: AtomicBool::new(false),
            enabled: !quiet && io::stderr().is_terminal(),
        }
    }

    fn inc(&self) {
        self.bar.inc(1);
        if self.enabled && !self.shown.load(Ordering::Relaxed) && self.started.elapsed().as_millis() > 500 {
            self.shown.store(true, Ordering::Relaxed);
            self.bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
        }
    }

    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
