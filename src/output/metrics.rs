//! What is collected each tick (the model reporters) and per zone (the agent reporters).
//! Add a metric here without touching the model or the engine.

use serde::Serialize;

use crate::engine::{Replication, TickCounts};
use crate::foundation::pow_int;
use crate::model::landscape::Kind;
use crate::model::policy::{Policy, full_mask};
use crate::scenario::Level;

/// One row of ticks.csv: the state at the end of a tick and the flows during it.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct TickRow {
    pub(crate) replication: u32,
    pub(crate) tick: u32,
    pub(crate) year: u32,
    pub(crate) active_zones: u32,
    pub(crate) zones_provincial: u32,
    pub(crate) zones_national: u32,
    pub(crate) zones_demonstration: u32,
    pub(crate) pilots: u32,
    pub(crate) mean_performance: f64,
    pub(crate) best_performance: f64,
    pub(crate) mean_score: f64,
    pub(crate) programme_performance: f64,
    /// March's (1991) knowledge of the programme (his code): matches minus mismatches with
    /// reality over n, unset dimensions counting 0, in [-1, 1]; the mean over active zones
    /// of the programme's knowledge in each zone's context. Only on the target landscape
    /// (None, an empty cell, on NK, and with no active zone).
    pub(crate) programme_knowledge: Option<f64>,
    /// The zones' mean of March's knowledge of their own beliefs (policies), as above.
    pub(crate) mean_knowledge: Option<f64>,
    pub(crate) diversity: f64,
    pub(crate) programme_distance: f64,
    pub(crate) mandate_gap: f64,
    pub(crate) mean_capacity: f64,
    pub(crate) regional_disparity: f64,
    pub(crate) entered: u32,
    pub(crate) experiments: u32,
    pub(crate) successes: u32,
    pub(crate) deviations: u32,
    pub(crate) deterred: u32,
    pub(crate) imitations: u32,
    pub(crate) compliance: u32,
    pub(crate) turnover: u32,
    pub(crate) new_innovations: u32,
    pub(crate) horizontal_adoptions: u32,
    pub(crate) vertical_adoptions: u32,
    pub(crate) review: u8,
    pub(crate) detected: u32,
    pub(crate) sanctions: u32,
    pub(crate) tolerated: u32,
    pub(crate) corrected: u32,
    pub(crate) feedback_adoptions: u32,
    pub(crate) central_designs: u32,
    pub(crate) innovations_total: u32,
    pub(crate) firms: u32,
    pub(crate) firm_births: u32,
    pub(crate) firm_deaths: u32,
    pub(crate) firm_mergers: u32,
    pub(crate) firms_founded: u64,
    pub(crate) high_tech: u32,
    pub(crate) revenue: f64,
    pub(crate) employees: f64,
    pub(crate) share_state: f64,
    pub(crate) share_private: f64,
    pub(crate) share_foreign: f64,
    pub(crate) share_loans: f64,
    pub(crate) share_foreign_capital: f64,
    pub(crate) share_shares: f64,
    pub(crate) share_venture_capital: f64,
    pub(crate) share_joint_venture: f64,
    pub(crate) share_other_financing: f64,
    pub(crate) focal_firms: u32,
    pub(crate) focal_founded: u64,
}

/// A metric's value: counts stay integers in every output.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Num {
    /// A count (zones, firms, events), written without a decimal point.
    Int(u64),
    /// A mean, share or other real value.
    Float(f64),
}

impl Num {
    pub(crate) fn as_f64(self) -> f64 {
        match self {
            Num::Int(i) => i as f64,
            Num::Float(x) => x,
        }
    }
}

impl std::fmt::Display for Num {
    /// Floats in Rust's shortest round-trip form, so a value re-reads to the same bits.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Num::Int(i) => write!(f, "{i}"),
            Num::Float(x) => write!(f, "{x:?}"),
        }
    }
}

/// What a metric needs to be defined; without it the metric's column is empty.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Needs {
    /// Always defined.
    Nothing,
    /// The firm module (`[firms] enabled`): its columns are empty, not 0, when firms are off.
    Firms,
    /// The target landscape: March's knowledge is undefined on NK (an empty cell).
    Knowledge,
}

/// A named metric of a tick row, for the outputs that pick metrics by name (sweeps): its
/// name (the ticks.csv column), its value in a row, and what it needs.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Metric(pub &'static str, pub(crate) fn(&TickRow) -> Num, pub Needs);

impl Metric {
    pub(crate) fn name(&self) -> &'static str {
        self.0
    }

    pub(crate) fn value(&self, row: &TickRow) -> Num {
        (self.1)(row)
    }

    pub(crate) fn needs(&self) -> Needs {
        self.2
    }
}

/// Metrics are one per name: two are equal when their names are (comparing function
/// pointers would depend on how the compiler merged them).
impl PartialEq for Metric {
    fn eq(&self, other: &Metric) -> bool {
        self.0 == other.0
    }
}

macro_rules! metrics {
    (@get Int $v:expr) => { Num::Int($v as _) };
    (@get Float $v:expr) => { Num::Float($v as _) };
    // Undefined (an empty cell in ticks.csv) reads as NaN.
    (@get Opt $v:expr) => { Num::Float($v.unwrap_or(f64::NAN)) };
    (@needs) => { Needs::Nothing };
    (@needs $needs:ident) => { Needs::$needs };
    ($($name:ident: $kind:ident $(if $needs:ident)?,)*) => {
        /// Every metric of ticks.csv (the columns after replication, tick and year), in order.
        pub(crate) const METRICS: &[Metric] = &[$(
            Metric(stringify!($name), |r: &TickRow| metrics!(@get $kind r.$name), metrics!(@needs $($needs)?)),
        )*];
    };
}

metrics!(
    active_zones: Int,
    zones_provincial: Int,
    zones_national: Int,
    zones_demonstration: Int,
    pilots: Int,
    mean_performance: Float,
    best_performance: Float,
    mean_score: Float,
    programme_performance: Float,
    programme_knowledge: Opt if Knowledge,
    mean_knowledge: Opt if Knowledge,
    diversity: Float,
    programme_distance: Float,
    mandate_gap: Float,
    mean_capacity: Float,
    regional_disparity: Float,
    entered: Int,
    experiments: Int,
    successes: Int,
    deviations: Int,
    deterred: Int,
    imitations: Int,
    compliance: Int,
    turnover: Int,
    new_innovations: Int,
    horizontal_adoptions: Int,
    vertical_adoptions: Int,
    review: Int,
    detected: Int,
    sanctions: Int,
    tolerated: Int,
    corrected: Int,
    feedback_adoptions: Int,
    central_designs: Int,
    innovations_total: Int,
    firms: Int if Firms,
    firm_births: Int if Firms,
    firm_deaths: Int if Firms,
    firm_mergers: Int if Firms,
    firms_founded: Int if Firms,
    high_tech: Int if Firms,
    revenue: Float if Firms,
    employees: Float if Firms,
    share_state: Float if Firms,
    share_private: Float if Firms,
    share_foreign: Float if Firms,
    share_loans: Float if Firms,
    share_foreign_capital: Float if Firms,
    share_shares: Float if Firms,
    share_venture_capital: Float if Firms,
    share_joint_venture: Float if Firms,
    share_other_financing: Float if Firms,
    focal_firms: Int if Firms,
    focal_founded: Int if Firms,
);

/// Whether a metric is one of the firm module's columns (empty unless `[firms]` is enabled).
pub(crate) fn is_firm_metric(name: &str) -> bool {
    metric(name).is_some_and(|m| m.needs() == Needs::Firms)
}

/// Whether a metric is March's knowledge, defined only on the target landscape.
pub(crate) fn is_knowledge_metric(name: &str) -> bool {
    metric(name).is_some_and(|m| m.needs() == Needs::Knowledge)
}

/// Finds a metric by name.
pub(crate) fn metric(name: &str) -> Option<&'static Metric> {
    METRICS.iter().find(|m| m.0 == name)
}

/// Zones per metrics chunk. Chunks are fixed, whatever the thread count, and their
/// partial sums are combined in chunk order, so every float is the same on any machine
/// and any number of threads.
const CHUNK: usize = 4096;

/// Partial sums of the zone-level metrics over a range of zones.
#[derive(Clone)]
struct Tally {
    active: u32,
    levels: [u32; 3],
    pilots: u32,
    perf: f64,
    best: f64,
    score: f64,
    cap: f64,
    reference: f64,
    ones: [u32; 64],
    unset: [u32; 64],
    distance: u64,
    gap: u64,
    /// Sums over zones of matches minus mismatches with reality (target landscape only):
    /// of the programme in the zone's context, and of the zone's own policy.
    programme_knowledge: i64,
    knowledge: i64,
    region_capacity: Vec<f64>,
    region_count: Vec<u32>,
}

/// Each bit of a byte spread to its own byte: `SPREAD[v]` has byte k equal to bit k of v.
const SPREAD: [u64; 256] = {
    let mut t = [0u64; 256];
    let mut v = 0;
    while v < 256 {
        let mut k = 0;
        while k < 8 {
            t[v] |= ((v as u64 >> k) & 1) << (8 * k);
            k += 1;
        }
        v += 1;
    }
    t
};

/// Adds to `counts[i]` how many of `words` have bit i set (i below n). Bytes of the words
/// are spread to byte-wide counters, eight bits per addition, flushed before a byte can
/// overflow: a fixed amount of work per word, where a loop over each word's set bits
/// mispredicts its varying trip count once a word.
fn count_bits(words: &[u64], n: u32, counts: &mut [u32; 64]) {
    let bytes = (n as usize).div_ceil(8);
    for block in words.chunks(255) {
        let mut acc = [0u64; 8];
        for &w in block {
            for (j, a) in acc.iter_mut().enumerate().take(bytes) {
                *a += SPREAD[(w >> (8 * j) & 0xFF) as usize];
            }
        }
        for (j, a) in acc.iter().enumerate().take(bytes) {
            for k in 0..8 {
                counts[8 * j + k] += (a >> (8 * k) & 0xFF) as u32;
            }
        }
    }
}

impl Tally {
    fn new(regions: usize) -> Tally {
        Tally {
            active: 0,
            levels: [0; 3],
            pilots: 0,
            perf: 0.0,
            best: f64::NEG_INFINITY,
            score: 0.0,
            cap: 0.0,
            reference: 0.0,
            ones: [0; 64],
            unset: [0; 64],
            distance: 0,
            gap: 0,
            programme_knowledge: 0,
            knowledge: 0,
            region_capacity: vec![0.0; regions],
            region_count: vec![0; regions],
        }
    }

    /// `programme`: the programme's matches minus mismatches per context, on the target
    /// landscape (empty on NK).
    fn over(rep: &Replication, zones: std::ops::Range<usize>, programme: &[i64]) -> Tally {
        let n = rep.n;
        let zs = &rep.zones;
        let cur = &zs.cur;
        let centre = &rep.centre;
        let exponent = rep.scenario.landscape.score_exponent;
        let mandate = centre.mandate & full_mask(n);
        let reality = match &rep.landscape.kind {
            Kind::Target(target) => Some(&target.reality),
            Kind::Nk(_) => None,
        };
        let mut t = Tally::new(rep.scenario.regions.len());
        let (mut set, mut unset) = (Vec::with_capacity(zones.len()), Vec::with_capacity(zones.len()));
        for z in zones.filter(|&z| zs.active[z]) {
            t.active += 1;
            t.levels[zs.level[z] as usize] += 1;
            t.pilots += zs.pilot[z] as u32;
            let ctx = zs.context[z] as usize;
            let p = cur.performance[z];
            t.perf += p;
            t.best = t.best.max(p);
            let relative = p / rep.landscape.max[ctx];
            t.score += if exponent == 1 { relative } else { pow_int(relative, exponent) };
            t.cap += cur.capacity[z];
            t.reference += centre.reference[ctx];
            let r = zs.region[z] as usize;
            t.region_capacity[r] += cur.capacity[z];
            t.region_count[r] += 1;
            let pol = cur.policy[z];
            if let Some(reality) = reality {
                t.programme_knowledge += programme[ctx];
                t.knowledge += march_knowledge(reality[ctx], pol, n);
            }
            set.push(pol.bits & pol.mask);
            unset.push(!pol.mask & full_mask(n));
            // Instrument counts are summed as integers and divided once: exact.
            let differs = pol.differs(centre.programme) & full_mask(n);
            t.distance += differs.count_ones() as u64;
            t.gap += (differs & mandate & centre.programme.mask).count_ones() as u64;
        }
        count_bits(&set, n, &mut t.ones);
        count_bits(&unset, n, &mut t.unset);
        t
    }

    fn merge(mut self, o: Tally) -> Tally {
        self.active += o.active;
        for i in 0..3 {
            self.levels[i] += o.levels[i];
        }
        self.pilots += o.pilots;
        self.perf += o.perf;
        self.best = self.best.max(o.best);
        self.score += o.score;
        self.cap += o.cap;
        self.reference += o.reference;
        for i in 0..64 {
            self.ones[i] += o.ones[i];
            self.unset[i] += o.unset[i];
        }
        self.distance += o.distance;
        self.gap += o.gap;
        self.programme_knowledge += o.programme_knowledge;
        self.knowledge += o.knowledge;
        for (a, b) in self.region_capacity.iter_mut().zip(&o.region_capacity) {
            *a += b;
        }
        for (a, b) in self.region_count.iter_mut().zip(&o.region_count) {
            *a += b;
        }
        self
    }
}

/// Computes the tick row: zone-level sums over fixed chunks of zones (in parallel), then
/// the flows of the tick.
pub fn tick_row(rep: &Replication, c: &TickCounts) -> TickRow {
    use rayon::prelude::*;
    let n = rep.n;
    let zones = rep.zones.len();
    let programme: Vec<i64> = match &rep.landscape.kind {
        Kind::Target(target) => target.reality.iter().map(|&r| march_knowledge(r, rep.centre.programme, n)).collect(),
        Kind::Nk(_) => Vec::new(),
    };
    let chunks: Vec<Tally> = (0..zones.div_ceil(CHUNK))
        .into_par_iter()
        .map(|k| Tally::over(rep, k * CHUNK..((k + 1) * CHUNK).min(zones), &programme))
        .collect();
    let t = chunks.into_iter().fold(Tally::new(rep.scenario.regions.len()), Tally::merge);
    let mandated = (rep.centre.mandate & full_mask(n)).count_ones();
    let mut row = TickRow {
        replication: rep.replication,
        tick: rep.tick,
        year: rep.scenario.year(rep.tick),
        active_zones: t.active,
        zones_provincial: t.levels[Level::Provincial as usize],
        zones_national: t.levels[Level::National as usize],
        zones_demonstration: t.levels[Level::Demonstration as usize],
        pilots: t.pilots,
        ..TickRow::default()
    };
    let m = t.active as f64;
    if t.active > 0 {
        row.mean_performance = t.perf / m;
        row.best_performance = t.best;
        row.mean_score = t.score / m;
        row.mean_capacity = t.cap / m;
        row.programme_performance = t.reference / m;
        row.programme_distance = t.distance as f64 / (m * n as f64);
        if mandated > 0 {
            row.mandate_gap = t.gap as f64 / (m * mandated as f64);
        }
        if !programme.is_empty() {
            // Integer sums divided once: exact, and the same on any thread count.
            let cells = m * n as f64;
            row.programme_knowledge = Some(t.programme_knowledge as f64 / cells);
            row.mean_knowledge = Some(t.knowledge as f64 / cells);
        }
    }
    let (ones, unset) = (&t.ones, &t.unset);
    let (region_capacity, region_count) = (&t.region_capacity, &t.region_count);
    row.diversity = diversity(&ones[..n as usize], &unset[..n as usize], t.active);
    row.regional_disparity = disparity(region_capacity, region_count);
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
    if let Some(f) = &rep.firms {
        firm_columns(&mut row, &f.total, rep.scenario.firms.revenue_per_employee);
        let focal = rep.scenario.firms.focal_zone as usize;
        row.focal_firms = f.tally[focal].firms;
        row.focal_founded = f.tally[focal].founded;
    }
    row
}

/// March's (1991) knowledge of a policy, before dividing by n: the dimensions it sets to
/// reality's value minus those it sets to the other value (unset dimensions count 0).
pub(crate) fn march_knowledge(reality: u64, p: Policy, n: u32) -> i64 {
    let set = p.mask & full_mask(n);
    let hits = (!(p.bits ^ reality) & set).count_ones() as i64;
    hits - ((p.bits ^ reality) & set).count_ones() as i64
}

/// The firm columns of a tick row from the national tally; shares are of live firms.
fn firm_columns(row: &mut TickRow, t: &crate::model::firm::Tally, revenue_per_employee: f64) {
    row.firms = t.firms;
    row.firm_births = t.births;
    row.firm_deaths = t.deaths;
    row.firm_mergers = t.mergers;
    row.firms_founded = t.founded;
    row.high_tech = t.high_tech;
    row.revenue = revenue(t, revenue_per_employee);
    row.employees = t.employees;
    [
        row.share_state,
        row.share_private,
        row.share_foreign,
        row.share_loans,
        row.share_foreign_capital,
        row.share_shares,
        row.share_venture_capital,
        row.share_joint_venture,
        row.share_other_financing,
    ] = shares(t);
}

/// Ownership (state, private, foreign) then financing shares (Table 3's order) of live
/// firms; 0 with no firm.
pub(crate) fn shares(t: &crate::model::firm::Tally) -> [f64; 9] {
    let mut out = [0.0; 9];
    if t.firms > 0 {
        let n = t.firms as f64;
        for (o, &c) in out.iter_mut().zip(t.ownership.iter().chain(&t.financing)) {
            *o = c as f64 / n;
        }
    }
    out
}

/// Yearly revenue in billion yuan: employees x productivity x revenue per employee
/// (million yuan) / 1000.
pub(crate) fn revenue(t: &crate::model::firm::Tally, revenue_per_employee: f64) -> f64 {
    t.output * revenue_per_employee / 1000.0
}

/// Mean pairwise distance between zones' policies, as a share of instruments: on each
/// instrument, the share of zone pairs holding different settings (0, 1 or unset).
pub(crate) fn diversity(ones: &[u32], unset: &[u32], m: u32) -> f64 {
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
pub(crate) fn disparity(sums: &[f64], counts: &[u32]) -> f64 {
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
    #[test]
    fn count_bits_counts_each_instrument() {
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        for (len, n) in [(0usize, 20u32), (1, 1), (300, 20), (600, 64), (255, 8), (256, 9)] {
            let words: Vec<u64> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x & crate::model::policy::full_mask(n)
                })
                .collect();
            let mut got = [0u32; 64];
            super::count_bits(&words, n, &mut got);
            let want: Vec<u32> = (0..64).map(|i| words.iter().filter(|&&w| w >> i & 1 == 1).count() as u32).collect();
            assert_eq!(got.to_vec(), want, "{len} words of {n} bits");
        }
    }

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
    fn march_knowledge_is_matches_minus_mismatches() {
        // Reality 1010; the policy sets bits 0, 1 and 3 to 1, 0, 1: bit 3 matches, bits 0
        // and 1 do not, bit 2 is unset (0): 1 - 2 = -1.
        let p = Policy { bits: 0b1001, mask: 0b1011 };
        assert_eq!(march_knowledge(0b1010, p, 4), -1);
        assert_eq!(march_knowledge(0b1010, Policy { bits: 0b1010, mask: 0b1111 }, 4), 4);
        assert_eq!(march_knowledge(0b1010, Policy { bits: 0, mask: 0 }, 4), 0);
        // Bits above n do not count.
        assert_eq!(march_knowledge(0, Policy { bits: 0, mask: u64::MAX }, 4), 4);
    }

    #[test]
    fn disparity_is_a_coefficient_of_variation() {
        assert_eq!(disparity(&[10.0], &[10]), 0.0);
        assert_eq!(disparity(&[1.0, 3.0], &[1, 1]), 0.5);
    }

    /// What each metric needs is declared with it: the firm columns are the firm module's
    /// block (from `firms` to the end), knowledge the target landscape's two.
    #[test]
    fn metrics_declare_what_they_need() {
        let first = METRICS.iter().position(|m| m.name() == "firms").unwrap();
        for (i, m) in METRICS.iter().enumerate() {
            assert_eq!(m.needs() == Needs::Firms, i >= first, "{}", m.name());
            assert_eq!(is_firm_metric(m.name()), i >= first);
        }
        assert!(is_knowledge_metric("mean_knowledge") && is_knowledge_metric("programme_knowledge"));
        assert!(!is_knowledge_metric("mean_performance") && !is_firm_metric("no such metric"));
        assert_eq!(METRICS.iter().filter(|m| m.needs() == Needs::Knowledge).count(), 2);
    }
}
