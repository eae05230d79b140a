//! The rows of the CSV files, one type per file: their columns are the fields, their
//! headers come from the types, so a column is declared once. Every per-tick row starts
//! with a stamp (replication, tick, year and, in runs of several ticks a year, the month or
//! period).

use std::io;

use serde::Serialize;

use super::metrics;
use super::sink::Sink;
use crate::engine::Replication;
use crate::model::centre::{Act, Detail};
use crate::model::lineage::CENTRE;
use crate::scenario::{Choice, Scenario};

/// A CSV writer over one replication's part of an output file.
pub(super) type CsvOut = csv::Writer<Sink>;

pub(super) fn io_err(e: csv::Error) -> io::Error {
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

/// The columns that start every per-tick row: replication, tick, year and, in runs of more
/// than one tick a year, the tick's month (12 ticks a year) or period within its year.
pub(super) fn stamp_header(s: &Scenario) -> String {
    match s.run.ticks_per_year {
        1 => "replication,tick,year".into(),
        12 => "replication,tick,year,month".into(),
        _ => "replication,tick,year,period".into(),
    }
}

pub(super) fn stamp(w: &mut CsvOut, s: &Scenario, replication: u32, tick: u32) -> io::Result<()> {
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
pub(super) struct EventRow<'a> {
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
    pub(super) fn of(a: &'a Act) -> EventRow<'a> {
        let d: &'a Detail = &a.detail;
        EventRow {
            kind: a.kind.name(),
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
        pub(super) struct $name<$lt> {
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

impl<'a> ZoneRow<'a> {
    /// Zone `z` at the end of this tick (region names and firm revenue from `s`, the
    /// scenario as the run began).
    pub(super) fn of(s: &'a Scenario, rep: &Replication, z: usize) -> ZoneRow<'a> {
        let cur = &rep.zones.cur;
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
        match &rep.firms {
            Some(f) => row.with_firms(&f.tally[z], s.firms.revenue_per_employee),
            None => row,
        }
    }
}

/// A region's sums over its active zones (in zone order), the makings of its row.
#[derive(Clone, Default)]
pub(super) struct RegionSums {
    pub(super) active: u32,
    pub(super) performance: f64,
    pub(super) capacity: f64,
    pub(super) firms: crate::model::firm::Tally,
}

impl<'a> RegionRow<'a> {
    /// A region's row from its sums; firm columns only when the run has firms.
    pub(super) fn of(s: &Scenario, name: &'a str, sums: &RegionSums, firms: bool) -> RegionRow<'a> {
        let m = sums.active.max(1) as f64;
        let row = RegionRow {
            region: name,
            active_zones: sums.active,
            mean_performance: sums.performance / m,
            mean_capacity: sums.capacity / m,
            ..RegionRow::default()
        };
        if firms { row.with_firms(&sums.firms, s.firms.revenue_per_employee) } else { row }
    }
}

#[derive(Default, Serialize)]
pub(super) struct InnovationRow {
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

impl InnovationRow {
    /// Innovation `i` (0-based; its id is i + 1) at the end of the replication.
    pub(super) fn of(rep: &Replication, i: usize) -> InnovationRow {
        let inn = &rep.lineage.innovations[i];
        let id = i as u32 + 1;
        let origin = (inn.origin_zone != CENTRE).then_some(inn.origin_zone);
        let region = match origin {
            Some(z) => rep.scenario.regions[rep.zones.region[z as usize] as usize].name.clone(),
            None => "centre".to_string(),
        };
        InnovationRow {
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
        }
    }
}

#[derive(Default, Serialize)]
pub(super) struct DiffusionRow {
    pub(super) innovation: u32,
    pub(super) holders: u32,
}

/// A zone's policy as a zones.csv cell: `p` then one character per instrument (0, 1, or
/// `-` unset), instrument 0 first. The letter keeps it text in every CSV reader (pandas
/// and polars read a cell of digits as a number and drop its leading zeros).
pub(crate) fn policy_cell(p: crate::model::policy::Policy, n: u32) -> String {
    format!("p{}", p.render(n))
}

/// The output files, in the order they are listed.
pub(super) const FILES: [&str; 6] =
    ["ticks.csv", "regions.csv", "events.csv", "innovations.csv", "zones.csv", "diffusion.csv"];
pub(super) const TICKS: usize = 0;
pub(super) const REGIONS: usize = 1;
pub(super) const EVENTS: usize = 2;
pub(super) const INNOVATIONS: usize = 3;
pub(super) const ZONES: usize = 4;
pub(super) const DIFFUSION: usize = 5;

/// The header lines of the files a scenario writes (None for those it does not); ticks.csv
/// ends with the `extra` columns of the run's reporters.
pub(super) fn headers(s: &Scenario, extra: &[String]) -> [Option<String>; 6] {
    let st = stamp_header(s);
    let metrics = metrics::METRICS.iter().map(|m| m.0.to_string());
    let ticks = std::iter::once(st.clone()).chain(metrics).chain(extra.iter().cloned());
    [
        Some(ticks.collect::<Vec<_>>().join(",")),
        Some(format!("{st},{}", header_of::<RegionRow>())),
        Some(format!("{st},{}", header_of::<EventRow>())),
        s.output.innovations.then(header_of::<InnovationRow>),
        (s.output.zones_every > 0).then(|| format!("{st},{}", header_of::<ZoneRow>())),
        (s.output.diffusion_every > 0).then(|| format!("{st},{}", header_of::<DiffusionRow>())),
    ]
}
