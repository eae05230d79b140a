//! The CSV observer: the [`Observer`] that turns one replication's ticks, acts and end
//! into rows of the output files, each file's rows into a [`Sink`] of its own.

use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicI32, Ordering};

use super::metrics::{self, Num, TickRow};
use super::reporter::Reporters;
use super::rows::*;
use super::run::RunOptions;
use super::sink::{Part, Sink};
use crate::engine::{Observer, Replication, TickCounts};
use crate::model::centre::Act;
use crate::scenario::Scenario;

/// Writes one replication's rows, in memory (or, past `sink::SPILL` bytes, in its own part files).
pub(crate) struct CsvObserver<'s> {
    s: &'s Scenario,
    w: [Option<CsvOut>; 6],
    /// A signal number once the run is to stop (SIGINT, SIGTERM).
    cancel: Option<&'static AtomicI32>,
    /// Extra columns of ticks.csv, and a buffer for their values.
    reporters: &'s Reporters,
    values: Vec<Num>,
    /// The last tick row (for the summary).
    pub(crate) last: TickRow,
    /// Ticks of the last panels written, so a replication that stops early still ends
    /// with a panel of its final state.
    zones_written: Option<u32>,
    diffusion_written: Option<u32>,
    /// Innovations created and fed back, at the end.
    pub(crate) innovations_total: usize,
    pub(crate) innovations_fed_back: usize,
}

impl<'s> CsvObserver<'s> {
    pub(super) fn new(dir: &Path, rep: u32, s: &'s Scenario, opts: &'s RunOptions) -> CsvObserver<'s> {
        let on = headers(s, &[]).map(|h| h.is_some());
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
            cancel: opts.cancel,
            reporters: &opts.reporters,
            values: Vec::new(),
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

    /// A row of ticks.csv: the stamp, every metric, then the reporters' columns.
    fn ticks(&mut self, row: &TickRow, rep: &Replication) -> io::Result<()> {
        let firms = self.s.firms.enabled;
        let s = self.s;
        let mut values = std::mem::take(&mut self.values);
        self.reporters.values(rep, &mut values)?;
        let w = self.file(TICKS);
        stamp(w, s, row.replication, row.tick)?;
        let mut b = (itoa::Buffer::new(), ryu::Buffer::new());
        for m in metrics::METRICS {
            // Firm columns are empty, not 0, when firms are off.
            if !firms && m.needs() == metrics::Needs::Firms {
                w.write_field("").map_err(io_err)?;
                continue;
            }
            write_num(w, m.value(row), &mut b)?;
        }
        for &v in &values {
            write_num(w, v, &mut b)?;
        }
        let ended = w.write_record(std::iter::empty::<&[u8]>()).map_err(io_err);
        self.values = values;
        ended
    }

    fn zones_panel(&mut self, rep: &Replication) -> io::Result<()> {
        if self.w[ZONES].is_none() {
            return Ok(());
        }
        self.zones_written = Some(rep.tick);
        let s = self.s;
        let w = self.file(ZONES);
        for z in rep.active_zones() {
            stamp(w, s, rep.replication, rep.tick)?;
            w.serialize(ZoneRow::of(s, rep, z)).map_err(io_err)?;
        }
        Ok(())
    }

    /// Each region's zones and firms, summed in zone order.
    fn regions(&mut self, rep: &Replication) -> io::Result<()> {
        let s = self.s;
        let mut sums = vec![RegionSums::default(); s.regions.len()];
        let cur = &rep.zones.cur;
        for z in rep.active_zones() {
            let r = &mut sums[rep.zones.region[z] as usize];
            r.active += 1;
            r.performance += cur.performance[z];
            r.capacity += cur.capacity[z];
            if let Some(f) = &rep.firms {
                r.firms.add(&f.tally[z]);
            }
        }
        let w = self.file(REGIONS);
        for (region, sums) in s.regions.iter().zip(&sums) {
            stamp(w, s, rep.replication, rep.tick)?;
            w.serialize(RegionRow::of(s, &region.name, sums, rep.firms.is_some())).map_err(io_err)?;
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
    pub(super) fn into_parts(self) -> io::Result<[Option<Part>; 6]> {
        let mut out: [Option<Part>; 6] = Default::default();
        for (i, w) in self.w.into_iter().enumerate() {
            if let Some(w) = w {
                out[i] = Some(w.into_inner().map_err(|e| e.into_error())?.finish()?);
            }
        }
        Ok(out)
    }
}

/// A number as ticks.csv writes it: integers as integers, floats in their shortest
/// round-trip form, undefined (NaN) as an empty cell.
fn write_num(w: &mut CsvOut, v: Num, (ib, fb): &mut (itoa::Buffer, ryu::Buffer)) -> io::Result<()> {
    match v {
        Num::Int(i) => w.write_field(ib.format(i)),
        // Undefined (an `Opt` metric's None, such as knowledge on NK) is an empty cell.
        Num::Float(x) if x.is_nan() => w.write_field(""),
        Num::Float(x) => w.write_field(fb.format(x)),
    }
    .map_err(io_err)
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
        self.ticks(&row, rep)?;
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
            for i in 0..rep.lineage.innovations.len() {
                w.serialize(InnovationRow::of(rep, i)).map_err(io_err)?;
            }
        }
        Ok(())
    }
}
