//! From shard files to results: which runs are done, failed or missing (`esh sweep
//! status`), and `results.csv` and `summary.csv` (`esh sweep merge`).
//!
//! The merge walks the plan in run order and copies each completed run's rows from
//! whichever shard file holds it, so the results are byte-identical however the runs
//! were sharded, ordered or retried. Memory grows with the number of runs (an index entry
//! of 16 bytes each: 160 MB for the largest plan), never with their rows.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::PathBuf;

use super::file::Keep;
use super::shard::{self, Outcome, Shard};
use super::{Plan, SweepError};
use crate::output::AtomicFile;
use crate::stats::Moments;

/// Where a run's outcome was found.
#[derive(Clone, Copy, Debug)]
struct Loc {
    file: u32,
    failed: bool,
    at: u64,
    len: u64,
    /// The low 32 bits of the record's checksum (enough to tell two results apart).
    checksum: u32,
}

/// A [`Loc`] in 16 bytes: the file index (15 bits), the failed flag and the offset (48
/// bits) in one word, the length and the checksum's low half beside it; all ones: no
/// record.
#[derive(Clone, Copy)]
struct Slot {
    word: u64,
    len: u32,
    sum: u32,
}

const EMPTY: Slot = Slot { word: u64::MAX, len: 0, sum: 0 };

impl Slot {
    fn get(&self) -> Option<Loc> {
        (self.word != u64::MAX).then_some(Loc {
            file: (self.word >> 49) as u32,
            failed: self.word >> 48 & 1 == 1,
            at: self.word & ((1 << 48) - 1),
            len: self.len as u64,
            checksum: self.sum,
        })
    }

    fn pack(l: &Loc) -> Option<Slot> {
        (l.file < (1 << 15) - 1 && l.at < 1 << 48 && l.len <= u32::MAX as u64).then_some(Slot {
            word: (l.file as u64) << 49 | (l.failed as u64) << 48 | l.at,
            len: l.len as u32,
            sum: l.checksum,
        })
    }
}

/// One shard file as status reports it.
#[derive(Clone, Debug)]
pub(crate) struct FileState {
    pub(crate) shard: Shard,
    pub(crate) path: PathBuf,
    /// Bytes after the last complete record (a run in progress, or one cut off).
    pub(crate) tail: u64,
    /// The tail in words ("... of an unfinished run", "... of trailing garbage").
    pub(crate) tail_text: String,
    /// Records that do not verify before the last valid one.
    pub(crate) corrupt: Vec<shard::Corrupt>,
    /// Whether a process holds the shard now.
    pub(crate) running: bool,
    /// Who runs it, or ran it when it was interrupted.
    pub(crate) note: Option<String>,
    pub(crate) esh: String,
}

/// Every run's outcome, across all shard files.
pub(crate) struct Index {
    locs: Vec<Slot>,
    pub(crate) errors: HashMap<u64, String>,
    pub(crate) files: Vec<FileState>,
}

impl Index {
    pub(crate) fn build(plan: &Plan) -> Result<Index, SweepError> {
        let mut locs: Vec<Slot> = vec![EMPTY; plan.runs as usize];
        let mut errors = HashMap::new();
        let mut files = Vec::new();
        for (k, (shard, path)) in shard::files(plan)?.into_iter().enumerate() {
            let mut conflict = None;
            let scan = shard::scan(&path, plan, |r| {
                let Some(slot) = locs.get_mut(r.run as usize) else {
                    conflict.get_or_insert(format!("run {} is not in the plan", r.run));
                    return;
                };
                let new = Loc {
                    file: k as u32,
                    failed: matches!(r.outcome, Outcome::Failed(_)),
                    at: r.rows_at,
                    len: r.rows_len,
                    checksum: r.checksum as u32,
                };
                let Some(packed) = Slot::pack(&new) else {
                    conflict.get_or_insert(format!(
                        "run {} at byte {}: more shard files, a larger file or a larger run than the index holds (32,766 files, 256 TiB, 4 GiB)",
                        r.run, r.rows_at
                    ));
                    return;
                };
                match (&r.outcome, slot.get()) {
                    (Outcome::Done { .. }, Some(old)) if !old.failed => {
                        if old.checksum != new.checksum {
                            conflict.get_or_insert(format!(
                                "run {} has different results in two shard files (checksums ending {:08x} and {:08x})",
                                r.run, old.checksum, new.checksum
                            ));
                        }
                    }
                    (Outcome::Failed(_), Some(old)) if !old.failed => {}
                    (Outcome::Failed(m), _) => {
                        errors.insert(r.run, m.clone());
                        *slot = packed;
                    }
                    (Outcome::Done { .. }, _) => {
                        errors.remove(&r.run);
                        *slot = packed;
                    }
                }
            })?;
            if let Some(c) = conflict {
                return Err(SweepError::Io(format!(
                    "{}: {c}\n  help: were the shards run by different esh versions? `esh sweep status` lists them",
                    path.display()
                )));
            }
            let running = shard::is_locked(&path);
            let note = std::fs::read_to_string(shard::running_note(&path)).ok().map(|s| s.trim().to_string());
            files.push(FileState {
                shard,
                path,
                tail: scan.len - scan.valid_end,
                tail_text: scan.describe_tail(),
                corrupt: scan.corrupt.clone(),
                running,
                note,
                esh: scan.esh,
            });
        }
        Ok(Index { locs, errors, files })
    }

    pub(crate) fn done(&self) -> u64 {
        self.locs.iter().filter(|l| matches!(l.get(), Some(l) if !l.failed)).count() as u64
    }

    /// Failed runs, in run order.
    pub(crate) fn failed(&self) -> Vec<(u64, &str)> {
        let mut f: Vec<(u64, &str)> = self.errors.iter().map(|(r, m)| (*r, m.as_str())).collect();
        f.sort();
        f
    }

    /// Runs with no record, in run order.
    pub(crate) fn missing(&self) -> impl Iterator<Item = u64> + '_ {
        self.locs.iter().enumerate().filter(|(_, l)| l.get().is_none()).map(|(r, _)| r as u64)
    }

    pub(crate) fn is_done(&self, run: u64) -> bool {
        matches!(self.locs.get(run as usize).and_then(Slot::get), Some(l) if !l.failed)
    }

    pub(crate) fn is_complete(&self, run: u64) -> bool {
        self.locs.get(run as usize).and_then(Slot::get).is_some()
    }
}

/// A few run ids, then how many more.
pub(crate) fn list_runs(runs: &[u64]) -> String {
    let shown: Vec<String> = runs.iter().take(20).map(|r| r.to_string()).collect();
    let more = runs.len().saturating_sub(20);
    if more > 0 { format!("{} and {more} more", shown.join(", ")) } else { shown.join(", ") }
}

/// How a merge is carried out.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Write results even when runs are missing or failed.
    pub allow_missing: bool,
}

/// What `esh sweep merge` reports.
#[non_exhaustive]
pub struct Report {
    /// Runs whose rows were written.
    pub merged: u64,
    /// Runs of the plan.
    pub runs: u64,
    /// Runs with no record in any shard file (only with `allow_missing`).
    pub missing: Vec<u64>,
    /// Runs recorded as failed, with their errors (only with `allow_missing`).
    pub failed: Vec<(u64, String)>,
    pub(crate) files: usize,
    /// results.csv and its size in bytes.
    pub results: (PathBuf, u64),
    /// None when the sweep keeps no summary (`[keep] summary = false`).
    pub(crate) summary: Option<(PathBuf, u64)>,
    /// Per design point: axis values, replications, mean and 95% half-width of the shown
    /// metric at the last kept tick.
    pub(crate) preview: Option<Preview>,
}

pub(crate) struct Preview {
    pub(crate) metric: String,
    pub(crate) axes: Vec<String>,
    pub(crate) rows: Vec<(u64, Vec<String>, Moments)>,
}

/// Writes `results.csv` and `summary.csv` into the plan directory.
pub fn merge(plan: &Plan, opts: &Options) -> Result<Report, SweepError> {
    let index = Index::build(plan)?;
    let missing: Vec<u64> = index.missing().collect();
    let failed: Vec<(u64, String)> = index.failed().into_iter().map(|(r, m)| (r, m.to_string())).collect();
    if !opts.allow_missing && (!missing.is_empty() || !failed.is_empty()) {
        return Err(SweepError::Incomplete(incomplete(plan, &index, &missing, &failed)));
    }
    let results_path = plan.dir.join("results.csv");
    let summary_path = plan.dir.join("summary.csv");
    let ioe = |p: &PathBuf| {
        let p = p.clone();
        move |e: std::io::Error| SweepError::Io(format!("cannot write '{}': {e}", p.display()))
    };
    let mut results = AtomicFile::create(&results_path).map_err(ioe(&results_path))?;
    // With `[keep] summary = false` the statistics are computed (for the preview) but not
    // written.
    let mut summary = Maybe(if plan.sweep.summary {
        Some(AtomicFile::create(&summary_path).map_err(ioe(&summary_path))?)
    } else {
        None
    });
    let keep = plan.sweep.keep;
    // The kept metrics, then the columns of the program's reporters.
    let metric_names: Vec<&str> =
        plan.sweep.metrics.iter().map(|m| m.0).chain(plan.sweep.reporters.iter().map(String::as_str)).collect();
    let axes = plan.axis_names();
    let key_columns = key_columns(keep);
    let (head, shead) = headers(keep, &axes, &metric_names);
    writeln!(results, "{head}").map_err(ioe(&results_path))?;
    writeln!(summary, "{shead}").map_err(ioe(&summary_path))?;

    let mut readers: Vec<ShardReader> =
        index.files.iter().map(|f| ShardReader { path: f.path.clone(), file: None }).collect();
    let shown = metric_names.iter().position(|m| *m == "mean_performance").unwrap_or(0);
    let mut preview = Preview { metric: metric_names[shown].to_string(), axes: axes.clone(), rows: Vec::new() };
    let mut group = Group::default();
    let mut merged = 0u64;
    let mut block = Vec::new();
    for row in plan.rows()? {
        let row = row?;
        if group.point != Some(row.point) {
            group.flush(&mut summary, keep, &metric_names, shown, &mut preview).map_err(ioe(&summary_path))?;
            group = Group { point: Some(row.point), raw: row.raw.clone(), keys: BTreeMap::new() };
        }
        let Some(loc) = index.locs.get(row.run as usize).and_then(Slot::get) else { continue };
        if loc.failed {
            continue;
        }
        block.resize(loc.len as usize, 0);
        readers[loc.file as usize].read_at(loc.at, &mut block)?;
        let prefix = row_prefix(&row);
        for line in block.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            // `r,<run>,<rest>`: the rest is the key columns and the metrics.
            let text = std::str::from_utf8(line).map_err(|_| corrupt(&index, &loc))?;
            let rest = text.splitn(3, ',').nth(2).ok_or_else(|| corrupt(&index, &loc))?;
            results.write_all(prefix.as_bytes()).map_err(ioe(&results_path))?;
            results.write_all(b",").map_err(ioe(&results_path))?;
            results.write_all(rest.as_bytes()).map_err(ioe(&results_path))?;
            results.write_all(b"\n").map_err(ioe(&results_path))?;
            group.add(rest, keep, key_columns.len(), metric_names.len()).ok_or_else(|| corrupt(&index, &loc))?;
        }
        merged += 1;
    }
    group.flush(&mut summary, keep, &metric_names, shown, &mut preview).map_err(ioe(&summary_path))?;
    results.commit().map_err(ioe(&results_path))?;
    let size = |p: &PathBuf| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    let summary = match summary.0 {
        Some(f) => {
            f.commit().map_err(ioe(&summary_path))?;
            Some((summary_path.clone(), size(&summary_path)))
        }
        None => None,
    };
    Ok(Report {
        merged,
        runs: plan.runs,
        missing,
        failed,
        files: index.files.len(),
        results: (results_path.clone(), size(&results_path)),
        summary,
        preview: Some(preview),
    })
}

/// The columns results.csv puts before a kept row: run, point, replication, seed and the
/// point's axis values.
fn row_prefix(row: &super::plan::PlanRow) -> String {
    let mut prefix = format!("{},{},{},{}", row.run, row.point, row.replication, row.seed);
    for v in &row.raw {
        prefix.push(',');
        prefix.push_str(&field(v));
    }
    prefix
}

/// The columns that say which ticks a kept row covers.
fn key_columns(keep: Keep) -> &'static [&'static str] {
    match keep {
        Keep::All { .. } | Keep::Final => &["tick"],
        Keep::Window { .. } => &["from_tick", "to_tick"],
    }
}

/// The header lines of results.csv (the run, its point, replication and seed, the axes, the
/// kept ticks, the metrics) and of summary.csv (the point, the axes, the ticks unless only the
/// final one is kept, then one row per metric with its statistics).
fn headers(keep: Keep, axes: &[String], metrics: &[&str]) -> (String, String) {
    let keys = key_columns(keep);
    let mut head: Vec<String> = ["run", "point", "replication", "seed"].iter().map(|s| s.to_string()).collect();
    head.extend(axes.iter().map(|a| field(a)));
    head.extend(keys.iter().map(|s| s.to_string()));
    head.extend(metrics.iter().map(|s| s.to_string()));
    let mut shead: Vec<String> = vec!["point".into()];
    shead.extend(axes.iter().map(|a| field(a)));
    if !matches!(keep, Keep::Final) {
        shead.extend(keys.iter().map(|s| s.to_string()));
    }
    shead.extend(["metric", "n", "mean", "sd", "ci95_low", "ci95_high"].iter().map(|s| s.to_string()));
    (head.join(","), shead.join(","))
}

/// Why a sweep cannot be merged yet: the missing runs and the shards they belong to under
/// each shard count seen, the failed runs with their reasons, and any corrupt records.
fn incomplete(plan: &Plan, index: &Index, missing: &[u64], failed: &[(u64, String)]) -> String {
    let mut m = format!("the sweep is not complete: {} of {} runs done; nothing was written", index.done(), plan.runs);
    if !missing.is_empty() {
        let shards: Vec<String> = shard_counts(index)
            .into_iter()
            .map(|n| {
                let mut idx: Vec<u32> = missing
                    .iter()
                    .map(|r| (r % n as u64) as u32)
                    .collect::<std::collections::BTreeSet<_>>()
                    .into_iter()
                    .collect();
                idx.truncate(50);
                format!("of {n} shards: {}", idx.iter().map(u32::to_string).collect::<Vec<_>>().join(","))
            })
            .collect();
        write!(m, "\n  missing: {} run(s): {}", missing.len(), list_runs(missing)).unwrap();
        if !shards.is_empty() {
            write!(m, "\n  in shards {}", shards.join("; ")).unwrap();
        }
    }
    if !failed.is_empty() {
        write!(m, "\n  failed: {} run(s):", failed.len()).unwrap();
        for (r, e) in failed.iter().take(10) {
            write!(m, "\n    run {r}: {e}").unwrap();
        }
        if failed.len() > 10 {
            write!(m, "\n    and {} more (`esh sweep status` lists them)", failed.len() - 10).unwrap();
        }
    }
    for fs in &index.files {
        for c in &fs.corrupt {
            write!(m, "\n  {}: {c}", fs.path.display()).unwrap();
        }
    }
    m.push_str("\n  help: run the missing shards again (`esh sweep run`, or `esh sweep slurm --missing --submit`); pass --allow-missing to merge what is there");
    m
}

/// A file that may not be written: writes to None go nowhere.
struct Maybe(Option<AtomicFile>);

impl Write for Maybe {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match &mut self.0 {
            Some(f) => f.write(buf),
            None => Ok(buf.len()),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match &mut self.0 {
            Some(f) => f.flush(),
            None => Ok(()),
        }
    }
}

/// The shard layouts (counts) present, for naming the shards that hold missing runs.
fn shard_counts(index: &Index) -> Vec<u32> {
    let mut c: Vec<u32> = index.files.iter().map(|f| f.shard.count).collect();
    c.sort();
    c.dedup();
    c
}

fn corrupt(index: &Index, loc: &Loc) -> SweepError {
    SweepError::Io(format!(
        "{}: the rows at byte {} do not parse, though their checksum holds (a bug; please report it)",
        index.files[loc.file as usize].path.display(),
        loc.at
    ))
}

/// A CSV field, quoted when it must be.
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_string() }
}

/// A shard file opened on first use, for reading run blocks at their offsets.
struct ShardReader {
    path: PathBuf,
    file: Option<File>,
}

impl ShardReader {
    fn read_at(&mut self, at: u64, buf: &mut [u8]) -> Result<(), SweepError> {
        let ioe = |e: std::io::Error| SweepError::Io(format!("cannot read '{}': {e}", self.path.display()));
        if self.file.is_none() {
            self.file = Some(File::open(&self.path).map_err(ioe)?);
        }
        let f = self.file.as_mut().expect("opened");
        f.seek(SeekFrom::Start(at)).map_err(ioe)?;
        f.read_exact(buf).map_err(ioe)
    }
}

/// The statistics of one design point, by tick (or window).
#[derive(Default)]
struct Group {
    point: Option<u64>,
    raw: Vec<String>,
    keys: BTreeMap<u64, Vec<Moments>>,
}

impl Group {
    /// Adds one kept row (its key columns and metrics, `rest`) to the point's statistics:
    /// per tick when every tick is kept, else one group. None when the row is malformed.
    fn add(&mut self, rest: &str, keep: Keep, keys: usize, metrics: usize) -> Option<()> {
        let mut fields = rest.split(',');
        let key_fields: Vec<&str> = fields.by_ref().take(keys).collect();
        let key: u64 = match keep {
            Keep::All { .. } => key_fields.first().and_then(|t| t.parse().ok())?,
            _ => 0,
        };
        let slot = self.keys.entry(key).or_insert_with(|| vec![Moments::default(); metrics]);
        let mut count = 0;
        for (m, v) in slot.iter_mut().zip(fields) {
            // An empty cell is an undefined value: not counted in `n`, not averaged.
            if !v.is_empty() {
                m.add(v.parse::<f64>().ok()?);
            }
            count += 1;
        }
        (count == metrics).then_some(())
    }

    fn flush(
        &mut self,
        out: &mut impl Write,
        keep: Keep,
        metrics: &[&str],
        shown: usize,
        preview: &mut Preview,
    ) -> std::io::Result<()> {
        let Some(point) = self.point else { return Ok(()) };
        let num = |x: f64| if x.is_finite() { format!("{x:?}") } else { String::new() };
        let mut w = BufWriter::new(Vec::new());
        for (key, moments) in &self.keys {
            for (name, m) in metrics.iter().zip(moments) {
                write!(w, "{point}")?;
                for v in &self.raw {
                    write!(w, ",{}", field(v))?;
                }
                match keep {
                    Keep::All { .. } => write!(w, ",{key}")?,
                    Keep::Window { from, to } => write!(w, ",{from},{to}")?,
                    Keep::Final => {}
                }
                let (mean, half) = (m.mean(), m.ci95());
                writeln!(w, ",{name},{},{},{},{},{}", m.n, num(mean), num(m.sd()), num(mean - half), num(mean + half))?;
            }
        }
        if let Some((_, last)) = self.keys.iter().next_back() {
            preview.rows.push((point, self.raw.clone(), last[shown]));
        }
        out.write_all(&w.into_inner().map_err(|e| e.into_error())?)
    }
}

/// Renders `esh sweep status`.
pub(crate) fn status(plan: &Plan, index: &Index, layouts: &[u32]) -> String {
    let mut o = String::new();
    let failed = index.failed();
    let done = index.done();
    let missing = plan.runs - done - failed.len() as u64;
    writeln!(
        o,
        "sweep {}: {} runs ({} design points x {} replications)\n  done {done}, failed {}, missing {missing}",
        plan.dir.display(),
        plan.runs,
        plan.points,
        plan.sweep.replications,
        failed.len()
    )
    .unwrap();
    // Every shard of each layout in use, including those that have not started.
    let mut counts: Vec<u32> = index.files.iter().map(|f| f.shard.count).chain(layouts.iter().copied()).collect();
    counts.sort();
    counts.dedup();
    for n in counts {
        writeln!(
            o,
            "\n{:<10} {:>8} {:>8} {:>8} {:>8}  state",
            format!("shard /{n}"),
            "runs",
            "done",
            "failed",
            "missing"
        )
        .unwrap();
        for i in 0..n {
            shard_line(&mut o, plan, index, Shard { index: i, count: n });
        }
    }
    for fs in &index.files {
        for c in &fs.corrupt {
            writeln!(o, "\nwarning: {} is {c}; the run is run again by `esh sweep run`", fs.path.display()).unwrap();
        }
        if fs.tail > 0 && !fs.running {
            writeln!(o, "\nnote: {}: {}", fs.path.display(), fs.tail_text).unwrap();
        }
    }
    if !failed.is_empty() {
        writeln!(o, "\nfailed runs:").unwrap();
        for (r, m) in failed.iter().take(20) {
            writeln!(o, "  run {r}: {m}").unwrap();
        }
        if failed.len() > 20 {
            writeln!(o, "  and {} more", failed.len() - 20).unwrap();
        }
    }
    let mut versions: Vec<&str> = index.files.iter().map(|f| f.esh.as_str()).filter(|v| !v.is_empty()).collect();
    versions.sort();
    versions.dedup();
    if versions.len() > 1 {
        writeln!(o, "\nwarning: shard files were written by different esh versions: {}", versions.join(", ")).unwrap();
    }
    o
}

/// One shard's line of the status table: its runs, done, failed, missing, and its state.
fn shard_line(o: &mut String, plan: &Plan, index: &Index, shard: Shard) {
    let (i, n) = (shard.index, shard.count);

    let runs = shard.assigned(plan.runs);
    // Outcomes count wherever they were recorded (another layout may hold them).
    let (mut d, mut f) = (0u64, 0u64);
    let mut r = i as u64;
    while r < plan.runs {
        if index.is_done(r) {
            d += 1;
        } else if index.is_complete(r) {
            f += 1;
        }
        r += n as u64;
    }
    let file = index.files.iter().find(|fs| fs.shard == shard);
    let state = match file {
        Some(fs) if fs.running => format!("running ({})", fs.note.as_deref().unwrap_or("")),
        _ if d + f == runs => "complete".to_string(),
        Some(fs) if fs.note.is_some() => {
            format!("interrupted ({}){}", fs.note.as_deref().unwrap_or(""), tail(fs))
        }
        Some(fs) if fs.tail > 0 || !fs.corrupt.is_empty() => format!("stopped{}", tail(fs)),
        Some(_) => "stopped".to_string(),
        None if d + f > 0 => "partly done in other shards".to_string(),
        None => "not started".to_string(),
    };
    writeln!(o, "{:<10} {runs:>8} {d:>8} {f:>8} {:>8}  {state}", shard.to_string(), runs - d - f).unwrap();
}

fn tail(fs: &FileState) -> String {
    let mut o = String::new();
    for c in &fs.corrupt {
        write!(o, ", {c}").unwrap();
    }
    if fs.tail > 0 {
        write!(o, ", {} to cut on restart", fs.tail_text).unwrap();
    }
    o
}
