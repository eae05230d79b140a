//! The observer of an experiment's run: it keeps the few metric series the experiment's
//! measures and figures need, follows the lineage (half-adoption times, the origin of each
//! programme change) and takes the zone snapshots of the procedural measures, then reduces
//! all of it to one number per measure.

use crate::engine::{Observer, Replication, TickCounts};
use crate::model::centre::Act;
use crate::model::lineage::CENTRE;
use crate::output::metrics::{METRICS, tick_row};

use super::file::{At, Measure, MeasureKind};
use crate::stats::spearman;

/// What one run leaves: a value per measure (NaN where undefined) and per kept metric the
/// series over ticks 0..=ticks (a run stopped at equilibrium is continued by its last value).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct RunData {
    pub(crate) measures: Vec<f64>,
    pub(crate) series: Vec<Vec<f64>>,
}

/// Zone scores at the tick the procedural measures look at.
#[derive(Clone, Debug, Default)]
struct Snapshot {
    zones: Vec<usize>,
    procedural: Vec<f64>,
    observed: Vec<f64>,
    performance: Vec<f64>,
}

pub(crate) struct Probe<'e> {
    measures: &'e [Measure],
    /// Indices into METRICS of the kept series.
    kept: Vec<usize>,
    ticks: u32,
    series: Vec<Vec<f64>>,
    /// Local innovations not yet held by half the active zones and not extinct (an extinct
    /// one has no holder left to spread from), by index.
    pending: Vec<u32>,
    /// Innovations looked at so far (the later ones are new).
    seen: usize,
    /// Sum and count of the ticks local innovations took to reach half the active zones.
    half_sum: f64,
    half_count: u32,
    /// The programme's lineage ids after the previous tick.
    programme: Vec<u32>,
    changes: u32,
    local_changes: u32,
    lag_sum: f64,
    horizontal: u64,
    vertical: u64,
    snapshot: Option<Snapshot>,
    rho: Option<(f64, f64)>,
    /// Tick and horizon of the procedural measures, if any.
    procedural: Option<(u32, u32)>,
    need_lineage: bool,
}

/// The metrics whose series a run keeps, in order: `kept`, then those the measures read.
pub(crate) fn series_names(measures: &[Measure], kept: &[&'static str]) -> Vec<&'static str> {
    let mut names = kept.to_vec();
    for m in measures {
        if let MeasureKind::Metric { metric, .. } = m.kind
            && !names.contains(&metric)
        {
            names.push(metric);
        }
    }
    names
}

impl<'e> Probe<'e> {
    /// `kept`: names of the metrics whose series the run must return (measures' metrics are
    /// added).
    pub(crate) fn new(measures: &'e [Measure], kept: &[&'static str], ticks: u32) -> Probe<'e> {
        let kept: Vec<usize> = series_names(measures, kept)
            .iter()
            .map(|n| METRICS.iter().position(|m| m.0 == *n).expect("validated metric"))
            .collect();
        let procedural = measures.iter().find_map(|m| match m.kind {
            MeasureKind::ProceduralRho { tick, horizon }
            | MeasureKind::RetrospectiveRho { tick, horizon }
            | MeasureKind::ProceduralAdvantage { tick, horizon } => Some((tick, horizon)),
            _ => None,
        });
        let need_lineage = measures.iter().any(|m| {
            matches!(m.kind, MeasureKind::HalfAdoptionTime | MeasureKind::LocalShare | MeasureKind::FeedbackLag)
        });
        Probe {
            measures,
            ticks,
            series: vec![Vec::with_capacity(ticks as usize + 1); kept.len()],
            kept,
            pending: Vec::new(),
            seen: 0,
            half_sum: 0.0,
            half_count: 0,
            programme: Vec::new(),
            changes: 0,
            local_changes: 0,
            lag_sum: 0.0,
            horizontal: 0,
            vertical: 0,
            snapshot: None,
            rho: None,
            procedural,
            need_lineage,
        }
    }

    /// The run's data, once it has finished.
    pub(crate) fn finish_data(mut self) -> RunData {
        for s in &mut self.series {
            let last = s.last().copied().unwrap_or(f64::NAN);
            s.resize(self.ticks as usize + 1, last);
        }
        let measures = self.measures.iter().map(|m| self.value(&m.kind)).collect();
        RunData { measures, series: self.series }
    }

    fn value(&self, kind: &MeasureKind) -> f64 {
        match *kind {
            MeasureKind::Metric { metric, at } => {
                let k = self.kept.iter().position(|&i| METRICS[i].0 == metric).expect("kept");
                let s = &self.series[k];
                // A tick past this run's end (an axis that shortens run.ticks) is undefined.
                match at {
                    At::Final => s.last().copied().unwrap_or(f64::NAN),
                    At::Tick(t) => s.get(t as usize).copied().unwrap_or(f64::NAN),
                    At::Window(a, b) => match s.get(a as usize..=b as usize) {
                        Some(w) => w.iter().sum::<f64>() / w.len() as f64,
                        None => f64::NAN,
                    },
                }
            }
            MeasureKind::HalfAdoptionTime => ratio(self.half_sum, self.half_count as f64),
            MeasureKind::LocalShare => ratio(self.local_changes as f64, self.changes as f64),
            MeasureKind::FeedbackLag => ratio(self.lag_sum, self.local_changes as f64),
            MeasureKind::HorizontalShare => ratio(self.horizontal as f64, (self.horizontal + self.vertical) as f64),
            MeasureKind::ProceduralRho { .. } => self.rho.map_or(f64::NAN, |r| r.0),
            MeasureKind::RetrospectiveRho { .. } => self.rho.map_or(f64::NAN, |r| r.1),
            MeasureKind::ProceduralAdvantage { .. } => self.rho.map_or(f64::NAN, |r| r.0 - r.1),
        }
    }

    /// Follows the lineage: half-adoption times and programme changes by origin.
    fn lineage(&mut self, rep: &Replication, active: u64) {
        let inns = &rep.lineage.innovations;
        self.pending.extend((self.seen..inns.len()).filter(|&i| inns[i].origin_zone != CENTRE).map(|i| i as u32));
        self.seen = inns.len();
        let (sum, count) = (&mut self.half_sum, &mut self.half_count);
        self.pending.retain(|&i| {
            let inn = &inns[i as usize];
            if active > 0 && 2 * inn.holders as u64 >= active {
                *sum += (rep.tick - inn.tick) as f64;
                *count += 1;
                return false;
            }
            inn.extinct_tick.is_none()
        });
        let now = &rep.centre.lineage;
        if self.programme.len() == now.len() {
            for (old, &id) in self.programme.iter().zip(now.iter()) {
                if *old != id {
                    self.changes += 1;
                    if let Some(inn) = id.checked_sub(1).and_then(|k| inns.get(k as usize))
                        && inn.origin_zone != CENTRE
                    {
                        self.local_changes += 1;
                        self.lag_sum += (rep.tick - inn.tick) as f64;
                    }
                }
            }
        }
        self.programme.clear();
        self.programme.extend_from_slice(now);
    }

    /// The procedural score (standardised experiments + successes + horizontal adoptions of
    /// the zone's own innovations elsewhere) and observed performance of each active zone.
    fn snapshot(rep: &Replication) -> Snapshot {
        let zones: Vec<usize> = rep.active_zones().collect();
        let mut adopted = vec![0.0; rep.zones.len()];
        for inn in &rep.lineage.innovations {
            if inn.origin_zone != CENTRE {
                adopted[inn.origin_zone as usize] += inn.horizontal as f64;
            }
        }
        let c = &rep.zones.cur.counters;
        let tried: Vec<f64> = zones.iter().map(|&z| c[z].tried as f64).collect();
        let succeeded: Vec<f64> = zones.iter().map(|&z| c[z].succeeded as f64).collect();
        let elsewhere: Vec<f64> = zones.iter().map(|&z| adopted[z]).collect();
        let (a, b, d) = (standardise(&tried), standardise(&succeeded), standardise(&elsewhere));
        let procedural = (0..zones.len()).map(|i| a[i] + b[i] + d[i]).collect();
        Snapshot {
            observed: zones.iter().map(|&z| rep.zones.cur.observed[z]).collect(),
            performance: zones.iter().map(|&z| rep.zones.cur.performance[z]).collect(),
            zones,
            procedural,
        }
    }

    fn correlate(snap: &Snapshot, rep: &Replication) -> (f64, f64) {
        let mut p = Vec::new();
        let mut r = Vec::new();
        let mut growth = Vec::new();
        for (i, &z) in snap.zones.iter().enumerate() {
            if rep.zones.active[z] {
                p.push(snap.procedural[i]);
                r.push(snap.observed[i]);
                growth.push(rep.zones.cur.performance[z] - snap.performance[i]);
            }
        }
        (spearman(&p, &growth), spearman(&r, &growth))
    }
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 { a / b } else { f64::NAN }
}

/// (x - mean) / sd; all zeros when x is constant.
fn standardise(x: &[f64]) -> Vec<f64> {
    let m = crate::stats::mean(x);
    let s = crate::stats::sd(x);
    x.iter().map(|v| if s > 0.0 { (v - m) / s } else { 0.0 }).collect()
}

impl Observer for Probe<'_> {
    fn tick(&mut self, rep: &Replication, counts: &TickCounts) -> std::io::Result<()> {
        let row = tick_row(rep, counts);
        for (s, &i) in self.series.iter_mut().zip(&self.kept) {
            s.push((METRICS[i].1)(&row).as_f64());
        }
        self.horizontal += row.horizontal_adoptions as u64;
        self.vertical += row.vertical_adoptions as u64;
        if self.need_lineage {
            self.lineage(rep, row.active_zones as u64);
        }
        if let Some((at, horizon)) = self.procedural {
            if rep.tick == at {
                self.snapshot = Some(Probe::snapshot(rep));
            }
            if rep.tick == at + horizon
                && let Some(snap) = &self.snapshot
            {
                self.rho = Some(Probe::correlate(snap, rep));
            }
        }
        Ok(())
    }

    fn acts(&mut self, _: &Replication, _: &[Act]) -> std::io::Result<()> {
        Ok(())
    }

    fn finish(&mut self, _: &Replication) -> std::io::Result<()> {
        Ok(())
    }
}
