//! The observer of an experiment's run: it keeps the few metric series the experiment's
//! measures and figures need, follows the lineage (half-adoption times, the origin of each
//! programme change) and takes the zone snapshots of the procedural measures, then reduces
//! all of it to one number per measure.

use crate::engine::{Observer, Replication, TickCounts};
use crate::model::centre::Act;
use crate::model::lineage::CENTRE;
use crate::output::metrics::{METRICS, tick_row};

use super::file::{At, Measure, MeasureKind};
use super::stats::spearman;

/// What one run leaves: a value per measure (NaN where undefined) and per kept metric the
/// series over ticks 0..=ticks (a run stopped at equilibrium is continued by its last value).
#[derive(Clone, Debug, PartialEq)]
pub struct RunData {
    pub measures: Vec<f64>,
    pub series: Vec<Vec<f64>>,
}

/// Zone scores at the tick the procedural measures look at.
#[derive(Clone, Debug, Default)]
struct Snapshot {
    zones: Vec<usize>,
    procedural: Vec<f64>,
    observed: Vec<f64>,
    performance: Vec<f64>,
}

pub struct Probe<'e> {
    measures: &'e [Measure],
    /// Indices into METRICS of the kept series.
    kept: Vec<usize>,
    ticks: u32,
    series: Vec<Vec<f64>>,
    /// Per innovation: the tick half the active zones first held it.
    half: Vec<Option<u32>>,
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

impl<'e> Probe<'e> {
    /// `kept`: names of the metrics whose series the run must return (measures' metrics are
    /// added).
    pub fn new(measures: &'e [Measure], kept: &[&'static str], ticks: u32) -> Probe<'e> {
        let mut names: Vec<&str> = kept.to_vec();
        for m in measures {
            if let MeasureKind::Metric { metric, .. } = m.kind
                && !names.contains(&metric)
            {
                names.push(metric);
            }
        }
        let kept = names.iter().map(|n| METRICS.iter().position(|m| m.0 == *n).expect("validated metric")).collect();
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
            kept,
            ticks,
            series: Vec::new(),
            half: Vec::new(),
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

    /// The names of the series a run returns, in order.
    pub fn series_names(&self) -> Vec<&'static str> {
        self.kept.iter().map(|&i| METRICS[i].0).collect()
    }

    /// The run's data, once it has finished.
    pub fn finish_data(mut self) -> RunData {
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
            MeasureKind::HalfAdoptionTime => {
                let v: Vec<f64> = self.half_times().collect();
                if v.is_empty() { f64::NAN } else { v.iter().sum::<f64>() / v.len() as f64 }
            }
            MeasureKind::LocalShare => ratio(self.local_changes as f64, self.changes as f64),
            MeasureKind::FeedbackLag => ratio(self.lag_sum, self.local_changes as f64),
            MeasureKind::HorizontalShare => ratio(self.horizontal as f64, (self.horizontal + self.vertical) as f64),
            MeasureKind::ProceduralRho { .. } => self.rho.map_or(f64::NAN, |r| r.0),
            MeasureKind::RetrospectiveRho { .. } => self.rho.map_or(f64::NAN, |r| r.1),
            MeasureKind::ProceduralAdvantage { .. } => self.rho.map_or(f64::NAN, |r| r.0 - r.1),
        }
    }

    fn half_times(&self) -> impl Iterator<Item = f64> + '_ {
        self.half.iter().filter_map(|h| h.map(f64::from))
    }

    /// Follows the lineage: half-adoption ticks and programme changes by origin.
    fn lineage(&mut self, rep: &Replication) {
        let inns = &rep.lineage.innovations;
        self.half.resize(inns.len(), None);
        let active = rep.active_zones().count() as u64;
        for (i, inn) in inns.iter().enumerate() {
            if self.half[i].is_none() && inn.origin_zone != CENTRE && active > 0 && 2 * inn.holders as u64 >= active {
                // Stored as the time it took, so the mean is over durations.
                self.half[i] = Some(rep.tick - inn.tick);
            }
        }
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
    let m = super::stats::mean(x);
    let s = super::stats::sd(x);
    x.iter().map(|v| if s > 0.0 { (v - m) / s } else { 0.0 }).collect()
}

impl Observer for Probe<'_> {
    fn tick(&mut self, rep: &Replication, counts: &TickCounts) -> std::io::Result<()> {
        let row = tick_row(rep, counts);
        if self.series.is_empty() {
            self.series = vec![Vec::with_capacity(self.ticks as usize + 1); self.kept.len()];
        }
        for (s, &i) in self.series.iter_mut().zip(&self.kept) {
            s.push((METRICS[i].1)(&row).as_f64());
        }
        self.horizontal += row.horizontal_adoptions as u64;
        self.vertical += row.vertical_adoptions as u64;
        if self.need_lineage {
            self.lineage(rep);
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
