//! Outputs of a run: tidy CSV files, the resolved scenario and the provenance, in one
//! output directory that appears only when complete.
//!
//! Writes go to `.<name>.partial-<pid>/` beside the output directory, renamed into place
//! at the end, so an interrupted run never leaves files that look complete (see [`dir`]).
//! Replications run in parallel; each keeps its rows in memory (a bounded amount: more
//! goes to a part file of its own) until a writer appends them in replication order.

pub mod dir;
pub mod memory;
pub mod metrics;
pub mod provenance;
pub mod summary;

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Instant;

use rayon::prelude::*;
use serde::Serialize;

use crate::engine::{Observer, Replication, RunError, TickCounts};
use crate::model::centre::{Act, Detail};
use crate::model::lineage::CENTRE;
use crate::progress::Progress;
use crate::scenario::{Choice, Scenario};
pub use dir::AtomicFile;
pub(crate) use dir::{BuildError, build_dir, partial_dir, publish};
pub use memory::{MemoryCheck, human};
use metrics::TickRow;

/// A CSV writer over one replication's part of an output file.
type CsvOut = csv::Writer<Sink>;

fn io_err(e: csv::Error) -> io::Error {
    io::Error::other(e)
}

/// The header line of row type T (the csv crate writes a header only with a first row;
/// a tidy file with no rows still has one), without its line end.
fn header_of<T: Serialize + Default>() -> String {
    let mut header = csv::Writer::from_writer(Vec::new());
    header.serialize(T::default()).expect("a default row serialises");
    let bytes = header.into_inner().expect("writes into memory");
    let text = String::from_utf8(bytes).expect("headers are UTF-8");
    text.lines().next().unwrap_or("").to_string()
}

/// A replication's rows of one file, kept in memory until they are written in replication
/// order; a part that outgrows [`SPILL`] bytes goes on in a file of its own instead, so
/// memory stays bounded whatever one replication writes.
struct Sink {
    buf: Vec<u8>,
    file: Option<BufWriter<File>>,
    path: PathBuf,
}

/// The most bytes of one file a replication keeps in memory.
const SPILL: usize = 512 << 10;

impl Sink {
    fn new(path: PathBuf) -> Sink {
        Sink { buf: Vec::new(), file: None, path }
    }

    fn finish(self) -> io::Result<Part> {
        match self.file {
            Some(f) => {
                f.into_inner().map_err(|e| e.into_error())?;
                Ok(Part::File(self.path))
            }
            None => Ok(Part::Memory(self.buf)),
        }
    }
}

impl Write for Sink {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        if let Some(f) = self.file.as_mut() {
            return f.write(b);
        }
        self.buf.extend_from_slice(b);
        if self.buf.len() > SPILL {
            let mut f = BufWriter::with_capacity(1 << 16, File::create(&self.path)?);
            f.write_all(&self.buf)?;
            self.buf = Vec::new();
            self.file = Some(f);
        }
        Ok(b.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.as_mut().map_or(Ok(()), |f| f.flush())
    }
}

/// A replication's rows of one file.
enum Part {
    Memory(Vec<u8>),
    File(PathBuf),
}

/// The columns that start every per-tick row: replication, tick, year and, in runs of more
/// than one tick a year, the tick's month (12 ticks a year) or period within its year.
fn stamp_header(s: &Scenario) -> String {
    match s.run.ticks_per_year {
        1 => "replication,tick,year".into(),
        12 => "replication,tick,year,month".into(),
        _ => "replication,tick,year,period".into(),
    }
}

fn stamp(w: &mut CsvOut, s: &Scenario, replication: u32, tick: u32) -> io::Result<()> {
    let mut b = itoa::Buffer::new();
    w.write_field(b.format(replication)).map_err(io_err)?;
    w.write_field(b.format(tick)).map_err(io_err)?;
    w.write_field(b.format(s.year(tick))).map_err(io_err)?;
    if s.run.ticks_per_year > 1 {
        w.write_field(b.format(tick % s.run.ticks_per_year + 1)).map_err(io_err)?;
    }
    Ok(())
}

/// One row of events.csv after its stamp: an event or centre act, its zone and what it is
/// about, one column per field of [`Detail`] (empty where it does not apply).
#[derive(Default, Serialize)]
struct EventRow<'a> {
    kind: &'a str,
    zone: Option<u32>,
    count: Option<u32>,
    region: Option<&'a str>,
    level: Option<&'a str>,
    pilot: Option<u8>,
    parameter: Option<&'a str>,
    value: Option<&'a str>,
    instrument: Option<u32>,
    instruments: Option<&'a str>,
    innovation: Option<u32>,
    excess: Option<u32>,
    selection: Option<&'a str>,
    performance: Option<f64>,
}

impl<'a> EventRow<'a> {
    fn of(a: &'a Act) -> EventRow<'a> {
        let d: &'a Detail = &a.detail;
        EventRow {
            kind: a.kind,
            zone: a.zone,
            count: d.count,
            region: d.region.as_deref(),
            level: d.level,
            pilot: d.pilot.map(u8::from),
            parameter: d.parameter.as_deref(),
            value: d.value.as_deref(),
            instrument: d.instrument,
            instruments: d.instruments.as_deref(),
            innovation: d.innovation,
            excess: d.excess,
            selection: d.selection,
            performance: d.performance,
        }
    }
}

/// Declares a row type whose last columns are the firms of a zone or a region (shared by
/// zones.csv and regions.csv: the csv crate writes no header for a nested struct), and
/// `with_firms`, which fills them from a firm tally. With firms off they stay empty.
macro_rules! firm_row {
    ($(#[$m:meta])* struct $name:ident<$lt:lifetime> { $($field:ident: $ty:ty,)* }) => {
        $(#[$m])*
        #[derive(Default, Serialize)]
        struct $name<$lt> {
            $($field: $ty,)*
            firms: Option<u32>,
            firm_births: Option<u32>,
            firm_deaths: Option<u32>,
            high_tech: Option<u32>,
            revenue: Option<f64>,
            employees: Option<f64>,
            share_state: Option<f64>,
            share_private: Option<f64>,
            share_foreign: Option<f64>,
            share_loans: Option<f64>,
            share_foreign_capital: Option<f64>,
            share_shares: Option<f64>,
            share_venture_capital: Option<f64>,
            share_joint_venture: Option<f64>,
            share_other_financing: Option<f64>,
        }

        impl $name<'_> {
            fn with_firms(mut self, t: &crate::model::firm::Tally, revenue_per_employee: f64) -> Self {
                self.firms = Some(t.firms);
                self.firm_births = Some(t.births);
                self.firm_deaths = Some(t.deaths);
                self.high_tech = Some(t.high_tech);
                self.revenue = Some(metrics::revenue(t, revenue_per_employee));
                self.employees = Some(t.employees);
                let [a, b, c, d, e, f, g, h, i] = metrics::shares(t).map(Some);
                self.share_state = a;
                self.share_private = b;
                self.share_foreign = c;
                self.share_loans = d;
                self.share_foreign_capital = e;
                self.share_shares = f;
                self.share_venture_capital = g;
                self.share_joint_venture = h;
                self.share_other_financing = i;
                self
            }
        }
    };
}

firm_row! {
    /// One row of zones.csv after its stamp: a zone at a panel tick.
    struct ZoneRow<'a> {
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
    /// One row of regions.csv after its stamp: a region's zones and firms at the end of a tick.
    struct RegionRow<'a> {
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
    innovation: u32,
    holders: u32,
}

/// A zone's policy as a zones.csv cell: `p` then one character per instrument (0, 1, or
/// `-` unset), instrument 0 first. The letter keeps it text in every CSV reader (pandas
/// and polars read a cell of digits as a number and drop its leading zeros).
pub fn policy_cell(p: crate::model::policy::Policy, n: u32) -> String {
    format!("p{}", p.render(n))
}

/// The output files, in the order they are listed.
const FILES: [&str; 6] = ["ticks.csv", "regions.csv", "events.csv", "innovations.csv", "zones.csv", "diffusion.csv"];
const TICKS: usize = 0;
const REGIONS: usize = 1;
const EVENTS: usize = 2;
const INNOVATIONS: usize = 3;
const ZONES: usize = 4;
const DIFFUSION: usize = 5;

/// The header lines of the files a scenario writes (None for those it does not).
fn headers(s: &Scenario) -> [Option<String>; 6] {
    let st = stamp_header(s);
    let ticks = std::iter::once(st.clone()).chain(metrics::METRICS.iter().map(|m| m.0.to_string()));
    [
        Some(ticks.collect::<Vec<_>>().join(",")),
        Some(format!("{st},{}", header_of::<RegionRow>())),
        Some(format!("{st},{}", header_of::<EventRow>())),
        s.output.innovations.then(header_of::<InnovationRow>),
        (s.output.zones_every > 0).then(|| format!("{st},{}", header_of::<ZoneRow>())),
        (s.output.diffusion_every > 0).then(|| format!("{st},{}", header_of::<DiffusionRow>())),
    ]
}

/// Writes one replication's rows, in memory (or, past [`SPILL`], in its own part files).
pub struct CsvObserver<'s> {
    s: &'s Scenario,
    w: [Option<CsvOut>; 6],
    /// A signal number once the run is to stop (SIGINT, SIGTERM).
    cancel: Option<&'static AtomicI32>,
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

impl<'s> CsvObserver<'s> {
    fn new(dir: &Path, rep: u32, s: &'s Scenario, cancel: Option<&'static AtomicI32>) -> CsvObserver<'s> {
        let on = headers(s).map(|h| h.is_some());
        let w = std::array::from_fn(|i| {
            on[i].then(|| {
                csv::WriterBuilder::new()
                    .has_headers(false)
                    .from_writer(Sink::new(dir.join(format!("{}.part{rep}", FILES[i]))))
            })
        });
        CsvObserver {
            s,
            w,
            cancel,
            zones_written: None,
            diffusion_written: None,
            last: TickRow::default(),
            innovations_total: 0,
            innovations_fed_back: 0,
        }
    }

    fn file(&mut self, i: usize) -> &mut CsvOut {
        self.w[i].as_mut().expect("a file of this scenario")
    }

    fn ticks(&mut self, row: &TickRow) -> io::Result<()> {
        let firms = self.s.firms.enabled;
        let s = self.s;
        let w = self.file(TICKS);
        stamp(w, s, row.replication, row.tick)?;
        let (mut ib, mut fb) = (itoa::Buffer::new(), ryu::Buffer::new());
        for (name, value) in metrics::METRICS {
            // Firm columns are empty, not 0, when firms are off.
            if !firms && metrics::is_firm_metric(name) {
                w.write_field("").map_err(io_err)?;
                continue;
            }
            match value(row) {
                metrics::Num::Int(i) => w.write_field(ib.format(i)),
                // Undefined (an `Opt` metric's None, such as knowledge on NK) is an empty cell.
                metrics::Num::Float(x) if x.is_nan() => w.write_field(""),
                metrics::Num::Float(x) => w.write_field(fb.format(x)),
            }
            .map_err(io_err)?;
        }
        w.write_record(std::iter::empty::<&[u8]>()).map_err(io_err)
    }

    fn zones_panel(&mut self, rep: &Replication) -> io::Result<()> {
        if self.w[ZONES].is_none() {
            return Ok(());
        }
        self.zones_written = Some(rep.tick);
        let s = self.s;
        let w = self.file(ZONES);
        let cur = &rep.zones.cur;
        let revenue_per_employee = s.firms.revenue_per_employee;
        for z in rep.active_zones() {
            let row = ZoneRow {
                zone: z as u32,
                region: &s.regions[rep.zones.region[z] as usize].name,
                level: rep.zones.level[z].name(),
                pilot: rep.zones.pilot[z] as u8,
                policy: policy_cell(cur.policy[z], rep.n),
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
            };
            let row = match &rep.firms {
                Some(f) => row.with_firms(&f.tally[z], revenue_per_employee),
                None => row,
            };
            stamp(w, s, rep.replication, rep.tick)?;
            w.serialize(row).map_err(io_err)?;
        }
        Ok(())
    }

    /// Each region's zones and firms, summed in zone order.
    fn regions(&mut self, rep: &Replication) -> io::Result<()> {
        use crate::model::firm::Tally;
        let s = self.s;
        let k = s.regions.len();
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
        let revenue_per_employee = s.firms.revenue_per_employee;
        let w = self.file(REGIONS);
        for (r, region) in s.regions.iter().enumerate() {
            let m = active[r].max(1) as f64;
            let row = RegionRow {
                region: &region.name,
                active_zones: active[r],
                mean_performance: perf[r] / m,
                mean_capacity: cap[r] / m,
                ..RegionRow::default()
            };
            let row = if rep.firms.is_some() { row.with_firms(&firms[r], revenue_per_employee) } else { row };
            stamp(w, s, rep.replication, rep.tick)?;
            w.serialize(row).map_err(io_err)?;
        }
        Ok(())
    }

    fn diffusion_panel(&mut self, rep: &Replication) -> io::Result<()> {
        if self.w[DIFFUSION].is_none() {
            return Ok(());
        }
        self.diffusion_written = Some(rep.tick);
        let s = self.s;
        let w = self.file(DIFFUSION);
        for (i, inn) in rep.lineage.innovations.iter().enumerate() {
            if inn.holders > 0 {
                stamp(w, s, rep.replication, rep.tick)?;
                w.serialize(DiffusionRow { innovation: i as u32 + 1, holders: inn.holders }).map_err(io_err)?;
            }
        }
        Ok(())
    }

    /// The replication's parts of every file, in [`FILES`] order.
    fn into_parts(self) -> io::Result<[Option<Part>; 6]> {
        let mut out: [Option<Part>; 6] = Default::default();
        for (i, w) in self.w.into_iter().enumerate() {
            if let Some(w) = w {
                out[i] = Some(w.into_inner().map_err(|e| e.into_error())?.finish()?);
            }
        }
        Ok(out)
    }
}

fn due(every: u32, tick: u32, last: bool) -> bool {
    every > 0 && (tick.is_multiple_of(every) || last)
}

/// The error an observer returns to stop a run at a signal.
fn interrupted() -> io::Error {
    io::Error::new(io::ErrorKind::Interrupted, "interrupted by a signal")
}

impl Observer for CsvObserver<'_> {
    fn tick(&mut self, rep: &Replication, counts: &TickCounts) -> io::Result<()> {
        if self.cancel.is_some_and(|c| c.load(Ordering::Relaxed) != 0) {
            return Err(interrupted());
        }
        let row = metrics::tick_row(rep, counts);
        self.ticks(&row)?;
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
        let s = self.s;
        let w = self.file(EVENTS);
        for a in acts {
            stamp(w, s, rep.replication, rep.tick)?;
            w.serialize(EventRow::of(a)).map_err(io_err)?;
        }
        Ok(())
    }

    fn finish(&mut self, rep: &Replication) -> io::Result<()> {
        if self.w[ZONES].is_some() && self.zones_written != Some(rep.tick) {
            self.zones_panel(rep)?;
        }
        if self.w[DIFFUSION].is_some() && self.diffusion_written != Some(rep.tick) {
            self.diffusion_panel(rep)?;
        }
        self.innovations_total = rep.lineage.len();
        self.innovations_fed_back = rep.lineage.innovations.iter().filter(|i| i.fed_back_tick.is_some()).count();
        if let Some(w) = self.w[INNOVATIONS].as_mut() {
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
        Ok(())
    }
}

/// The output files, each written in replication order from the replications' parts.
struct Assembler {
    files: [Option<(PathBuf, BufWriter<File>)>; 6],
}

impl Assembler {
    fn new(dir: &Path, s: &Scenario) -> io::Result<Assembler> {
        let mut files: [Option<(PathBuf, BufWriter<File>)>; 6] = Default::default();
        for (i, h) in headers(s).into_iter().enumerate() {
            if let Some(h) = h {
                let path = dir.join(FILES[i]);
                let mut w = BufWriter::with_capacity(1 << 16, File::create(&path)?);
                w.write_all(h.as_bytes())?;
                w.write_all(b"\n")?;
                files[i] = Some((path, w));
            }
        }
        Ok(Assembler { files })
    }

    fn append(&mut self, parts: [Option<Part>; 6]) -> io::Result<()> {
        for (f, part) in self.files.iter_mut().zip(parts) {
            let (Some((_, w)), Some(part)) = (f.as_mut(), part) else { continue };
            match part {
                Part::Memory(bytes) => w.write_all(&bytes)?,
                Part::File(path) => {
                    io::copy(&mut File::open(&path)?, w)?;
                    fs::remove_file(&path)?;
                }
            }
        }
        Ok(())
    }

    /// Closes the files; their names and sizes in [`FILES`] order.
    fn finish(self) -> io::Result<Vec<(String, u64)>> {
        let mut out = Vec::new();
        for (i, f) in self.files.into_iter().enumerate() {
            if let Some((path, w)) = f {
                w.into_inner().map_err(|e| e.into_error())?;
                out.push((FILES[i].to_string(), fs::metadata(&path)?.len()));
            }
        }
        Ok(out)
    }
}

/// What is kept of a replication once its rows are handed on.
struct Finished {
    last: TickRow,
    innovations_total: usize,
    innovations_fed_back: usize,
}

/// How a run is carried out (nothing here changes its results).
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    pub force: bool,
    /// Where the scenario came from, for provenance.
    pub scenario_name: String,
    pub command_line: Vec<String>,
    /// Parameters set on the command line (`--seed`, `--replications`, `--set`), for
    /// provenance, as `key = value`.
    pub overrides: Vec<String>,
    /// Set to a signal's number (by a handler the program installs) to stop the run: the
    /// partial directory is removed and the run fails with [`OutputError::Interrupted`].
    pub cancel: Option<&'static AtomicI32>,
    pub memory: MemoryCheck,
}

/// What the command line prints at the end.
pub struct RunReport {
    pub out: PathBuf,
    pub finals: Vec<TickRow>,
    pub innovations: Vec<(usize, usize)>,
    pub wall_seconds: f64,
    pub files: Vec<(String, u64)>,
    /// Whether the scenario has firms (the summary shows their totals).
    pub firms: bool,
    /// Whether mean score differs from mean performance (a score exponent is set).
    pub score_differs: bool,
}

/// Why a run into a directory failed.
#[derive(Debug)]
pub enum OutputError {
    /// The output directory exists and `--force` was not given.
    Exists(PathBuf),
    /// The output path cannot be a run directory (no name, an existing file, too long).
    BadPath(PathBuf, String),
    /// The run would not fit in memory.
    Memory {
        need: memory::Need,
        have: memory::Have,
    },
    /// A signal stopped the run; nothing was left behind.
    Interrupted(i32),
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
            OutputError::Memory { need, have } => {
                let fit = need.threads_fitting(have.bytes as f64);
                write!(
                    f,
                    "the run needs about {} of memory ({} replication(s) at once x {} each, plus {} of outputs waiting to be written) but {have} is available; nothing was written\n  help: ",
                    human(need.total()),
                    need.at_once,
                    human(need.per_replication),
                    human(need.in_flight)
                )?;
                if fit >= 1 {
                    write!(f, "run with --threads {fit}, or ")?;
                } else {
                    write!(f, "use fewer zones or a sparser network, or ")?;
                }
                write!(f, "pass --memory-limit SIZE (e.g. 64G) or --memory-limit none on a machine that has the memory")
            }
            OutputError::Interrupted(sig) => {
                write!(f, "interrupted by signal {sig}; the partial outputs were removed, nothing was written")
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

/// Replications run in batches of this many per thread; a batch's outputs are written
/// (in replication order) while the next batch runs.
const BATCH_PER_THREAD: usize = 2;

/// The memory a run of `s` needs on `threads` threads.
pub fn memory_need(s: &Scenario, threads: usize) -> memory::Need {
    let reps = s.run.replications as usize;
    let at_once = threads.clamp(1, reps.max(1));
    let files = headers(s).iter().filter(|h| h.is_some()).count();
    let batch = (threads.max(1) * BATCH_PER_THREAD).min(reps.max(1));
    // A batch running, one waiting to be written and one being written.
    let in_flight = (3 * batch * files * SPILL) as f64 + (reps * std::mem::size_of::<Finished>()) as f64;
    memory::Need { per_replication: s.estimated_bytes_per_replication() as f64, at_once, in_flight }
}

/// Runs every replication of a scenario (in parallel) into the directory `out`, telling
/// `progress` of every tick done and of stale directories cleared on the way.
pub fn run_to_dir(
    s: &Scenario,
    out: &Path,
    opts: &RunOptions,
    progress: &dyn Progress,
) -> Result<RunReport, OutputError> {
    if let Some(why) = dir::check_name(out) {
        return Err(OutputError::BadPath(out.to_path_buf(), why));
    }
    if out.exists() && !out.is_dir() {
        return Err(OutputError::BadPath(out.to_path_buf(), "it is an existing file, not a directory".into()));
    }
    let threads = rayon::current_num_threads();
    let need = memory_need(s, threads);
    let have = match opts.memory {
        MemoryCheck::Available => memory::available(),
        MemoryCheck::Limit(bytes) => Some(memory::Have { bytes, source: "--memory-limit" }),
        MemoryCheck::Off => None,
    };
    if let Some(have) = have.filter(|h| need.total() > h.bytes as f64) {
        return Err(OutputError::Memory { need, have });
    }
    let ioe = |p: &Path| {
        let p = p.to_path_buf();
        move |e: io::Error| OutputError::Io(p, e)
    };
    // Before the existence check: a killed --force may have left the old run aside.
    dir::clear_stale(out, &mut |m| progress.message(&m)).map_err(ioe(out))?;
    if out.exists() && !opts.force {
        return Err(OutputError::Exists(out.to_path_buf()));
    }
    let started = Instant::now();
    let started_unix =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let tmp = partial_dir(out);
    if tmp.exists() {
        fs::remove_dir_all(&tmp).map_err(ioe(&tmp))?;
    }
    fs::create_dir_all(&tmp).map_err(ioe(&tmp))?;
    let result = (|| {
        dir::mark_owner(&tmp).map_err(ioe(&tmp))?;
        progress.start(Some(s.run.ticks as u64 * s.run.replications as u64), "run");
        let assembler = Assembler::new(&tmp, s).map_err(ioe(&tmp))?;
        let (finished, files) = run_batches(s, &tmp, opts, progress, assembler, threads)?;
        progress.finish();
        let mut files = files;
        let resolved = crate::scenario::resolve::to_toml(s);
        fs::write(tmp.join("scenario.resolved.toml"), &resolved).map_err(ioe(&tmp))?;
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
        fs::write(tmp.join("provenance.json"), &json).map_err(ioe(&tmp))?;
        files.push(("provenance.json".to_string(), json.len() as u64));
        fs::remove_file(tmp.join(dir::OWNER)).map_err(ioe(&tmp))?;
        Ok(RunReport {
            out: out.to_path_buf(),
            finals: finished.iter().map(|o| o.last.clone()).collect(),
            innovations: finished.iter().map(|o| (o.innovations_total, o.innovations_fed_back)).collect(),
            wall_seconds: wall,
            files,
            firms: s.firms.enabled,
            score_differs: s.landscape.score_exponent != 1,
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

/// Output files' names and sizes.
type Files = Vec<(String, u64)>;

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
    let cancelled = || opts.cancel.map(|c| c.load(Ordering::Relaxed)).filter(|&sig| sig != 0);
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<[Option<Part>; 6]>>(1);
    std::thread::scope(|scope| {
        let writer = scope.spawn(move || -> io::Result<Vec<(String, u64)>> {
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
            if let Some(sig) = cancelled() {
                failure = Some(OutputError::Interrupted(sig));
                break;
            }
            let last = first.saturating_add(batch).min(reps);
            let done: Result<Vec<_>, OutputError> = (first..last)
                .into_par_iter()
                .map(|r| {
                    let mut obs = CsvObserver::new(tmp, r, s, opts.cancel);
                    crate::engine::run_replication(s, r, &mut obs, &|| progress.advance(1)).map_err(|e| match e {
                        RunError::Io(e) if e.kind() == io::ErrorKind::Interrupted && cancelled().is_some() => {
                            OutputError::Interrupted(cancelled().unwrap_or(0))
                        }
                        e => OutputError::Run(e),
                    })?;
                    let fin = Finished {
                        last: std::mem::take(&mut obs.last),
                        innovations_total: obs.innovations_total,
                        innovations_fed_back: obs.innovations_fed_back,
                    };
                    Ok((fin, obs.into_parts().map_err(|e| OutputError::Io(tmp.to_path_buf(), e))?))
                })
                .collect();
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
