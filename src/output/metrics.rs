//! What is collected each tick (the model reporters) and per zone (the agent reporters).
//! Add a metric here without touching the model or the engine.

use serde::Serialize;

use crate::engine::streams::pow_int;
use crate::engine::{Replication, TickCounts};
use crate::model::policy::full_mask;
use crate::scenario::Level;

/// One row of ticks.csv: the state at the end of a tick and the flows during it.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct TickRow {
    pub replication: u32,
    pub tick: u32,
    pub year: u32,
    pub active_zones: u32,
    pub zones_provincial: u32,
    pub zones_national: u32,
    pub zones_demonstration: u32,
    pub pilots: u32,
    pub mean_performance: f64,
    pub best_performance: f64,
    pub mean_score: f64,
    pub programme_performance: f64,
    pub diversity: f64,
    pub programme_distance: f64,
    pub mandate_gap: f64,
    pub mean_capacity: f64,
    pub regional_disparity: f64,
    pub entered: u32,
    pub experiments: u32,
    pub successes: u32,
    pub deviations: u32,
    pub deterred: u32,
    pub imitations: u32,
    pub compliance: u32,
    pub turnover: u32,
    pub new_innovations: u32,
    pub horizontal_adoptions: u32,
    pub vertical_adoptions: u32,
    pub review: u8,
    pub detected: u32,
    pub sanctions: u32,
    pub tolerated: u32,
    pub corrected: u32,
    pub feedback_adoptions: u32,
    pub central_designs: u32,
    pub innovations_total: u32,
}

/// Computes the tick row in one pass over the zones, in zone order (so float sums are
/// the same on every machine and thread count).
pub fn tick_row(rep: &Replication, c: &TickCounts) -> TickRow {
    let n = rep.n;
    let zones = &rep.zones;
    let cur = &zones.cur;
    let centre = &rep.centre;
    let regions = rep.scenario.regions.len();
    let exponent = rep.scenario.landscape.score_exponent;
    let mut row = TickRow {
        replication: rep.replication,
        tick: rep.tick,
        year: rep.scenario.run.start_year + rep.tick,
        ..TickRow::default()
    };
    let mut ones = [0u32; 64];
    let mut unset = [0u32; 64];
    let mut region_capacity = vec![0.0f64; regions];
    let mut region_count = vec![0u32; regions];
    let (mut perf, mut score, mut cap, mut reference) = (0.0, 0.0, 0.0, 0.0);
    // Instrument counts are summed as integers and divided once: exact, and no division
    // per zone.
    let (mut distance, mut gap) = (0u64, 0u64);
    let mut best = f64::NEG_INFINITY;
    let mandate = centre.mandate & full_mask(n);
    let mandated = mandate.count_ones();
    for z in rep.active_zones() {
        row.active_zones += 1;
        match zones.level[z] {
            Level::Provincial => row.zones_provincial += 1,
            Level::National => row.zones_national += 1,
            Level::Demonstration => row.zones_demonstration += 1,
        }
        row.pilots += zones.pilot[z] as u32;
        let ctx = zones.context[z] as usize;
        let p = cur.performance[z];
        perf += p;
        best = best.max(p);
        let relative = p / rep.landscape.max[ctx];
        score += if exponent == 1 { relative } else { pow_int(relative, exponent) };
        cap += cur.capacity[z];
        reference += centre.reference[ctx];
        let r = zones.region[z] as usize;
        region_capacity[r] += cur.capacity[z];
        region_count[r] += 1;
        let pol = cur.policy[z];
        let mut b = pol.bits & pol.mask;
        while b != 0 {
            ones[b.trailing_zeros() as usize] += 1;
            b &= b - 1;
        }
        let mut u = !pol.mask & full_mask(n);
        while u != 0 {
            unset[u.trailing_zeros() as usize] += 1;
            u &= u - 1;
        }
        let differs = pol.differs(centre.programme) & full_mask(n);
        distance += differs.count_ones() as u64;
        gap += (differs & mandate & centre.programme.mask).count_ones() as u64;
    }
    let m = row.active_zones as f64;
    if row.active_zones > 0 {
        row.mean_performance = perf / m;
        row.best_performance = best;
        row.mean_score = score / m;
        row.mean_capacity = cap / m;
        row.programme_performance = reference / m;
        row.programme_distance = distance as f64 / (m * n as f64);
        if mandated > 0 {
            row.mandate_gap = gap as f64 / (m * mandated as f64);
        }
    }
    row.diversity = diversity(&ones[..n as usize], &unset[..n as usize], row.active_zones);
    row.regional_disparity = disparity(&region_capacity, &region_count);
    row.entered = c.entered;
    row.experiments = c.experiments;
    row.successes = c.successes;
    row.deviations = c.deviations;
    row.deterred = c.deterred;
    row.imitations = c.imitations;
    row.compliance = c.compliance;
    row.turnover = c.turnover;
    row.new_innovations = c.new_innovations;
    row.horizontal_adoptions = c.horizontal_adoptions;
    row.vertical_adoptions = c.vertical_adoptions;
    row.review = c.review as u8;
    row.detected = c.detected;
    row.sanctions = c.sanctions;
    row.tolerated = c.tolerated;
    row.corrected = c.corrected;
    row.feedback_adoptions = c.feedback_adoptions;
    row.central_designs = c.central_designs;
    row.innovations_total = rep.lineage.len() as u32;
    row
}

/// Mean pairwise distance between zones' policies, as a share of instruments: on each
/// instrument, the share of zone pairs holding different settings (0, 1 or unset).
pub fn diversity(ones: &[u32], unset: &[u32], m: u32) -> f64 {
    if m < 2 || ones.is_empty() {
        return 0.0;
    }
    let pairs = m as f64 * (m as f64 - 1.0) / 2.0;
    let total: f64 = ones
        .iter()
        .zip(unset)
        .map(|(&c1, &cu)| {
            let c0 = (m - c1 - cu) as f64;
            let (c1, cu) = (c1 as f64, cu as f64);
            (c0 * c1 + c0 * cu + c1 * cu) / pairs
        })
        .sum();
    total / ones.len() as f64
}

/// Coefficient of variation of the regions' mean capacity (0 with one region).
pub fn disparity(sums: &[f64], counts: &[u32]) -> f64 {
    let means: Vec<f64> = sums.iter().zip(counts).filter(|&(_, &c)| c > 0).map(|(&s, &c)| s / c as f64).collect();
    if means.len() < 2 {
        return 0.0;
    }
    let k = means.len() as f64;
    let mean = means.iter().sum::<f64>() / k;
    if mean == 0.0 {
        return 0.0;
    }
    let var = means.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / k;
    var.sqrt() / mean
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diversity_of_identical_and_opposite_policies() {
        // Two zones, two instruments, identical: 0; opposite on both: 1.
        assert_eq!(diversity(&[2, 0], &[0, 0], 2), 0.0);
        assert_eq!(diversity(&[1, 1], &[0, 0], 2), 1.0);
        // Three zones holding 0, 1 and unset on one instrument: every pair differs.
        assert_eq!(diversity(&[1], &[1], 3), 1.0);
    }

    #[test]
    fn disparity_is_a_coefficient_of_variation() {
        assert_eq!(disparity(&[10.0], &[10]), 0.0);
        assert_eq!(disparity(&[1.0, 3.0], &[1, 1]), 0.5);
    }
}
