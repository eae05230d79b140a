//! Firms inside zones (DESIGN 6.7): the units the seeds report the Torch Programme in
//! (firm counts, high-tech enterprises, ownership and financing, revenue, employees).
//!
//! Each zone keeps its firms as a structure of arrays (`Block`). A tick of a zone's
//! firms is a pure function of the block, the zone's state at the end of the zone step
//! and the zone's own random stream, so blocks can be stepped in parallel in any order.
//! Firms never feed back into the zone model: they are the programme's outcome, not its
//! cause. Every yearly rate of `[firms]` is turned into a per-tick one once per tick
//! (`Rates::new`), never per firm.

use rand::Rng;

use crate::foundation::{Draw, Fast, det_exp, det_ln};
use crate::scenario::{FirmParams, Level};

/// Ages are kept in ticks in a u16 and saturate; the hazard table covers this many years.
const HAZARD_YEARS: u32 = 100;
/// Draws of an acquirer before a merger settles for whichever survivor it drew.
const MERGER_TRIES: u32 = 16;
/// The most firms one replication may hold, in all its zones (about 1.5 GiB of firms): each
/// zone may hold this divided by the scenario's zones. Births that would pass a zone's share
/// are not drawn, and the engine ends the run with an error naming the cause, rather than
/// let a runaway birth rate exhaust memory.
pub(crate) const MAX_FIRMS: u64 = 1 << 27;
/// No firm's productivity rises above this (f32 sums stay finite).
const MAX_PRODUCTIVITY: f32 = 1e6;
/// No firm's productivity falls below this (a shock cannot make it negative).
const MIN_PRODUCTIVITY: f32 = 0.01;
/// 2^-24: a 24-bit slice of a random word as a uniform number in [0, 1).
const U24: f32 = 1.0 / (1u32 << 24) as f32;
/// 2^-16, for the 16-bit slice that drives productivity shocks.
const U16: f32 = 1.0 / (1u32 << 16) as f32;

/// One zone's firms, one slot per live firm (no holes: dead and merged firms are removed
/// in a stable pass, so the order of firms never depends on anything but the draws).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Block {
    /// Output per employee relative to `firms.revenue_per_employee`, in [0.01, 1e6].
    pub productivity: Vec<f32>,
    /// Employees: `firms.birth_employees` at birth plus those of firms merged into it.
    pub employees: Vec<f32>,
    /// Age in ticks (saturating).
    pub age: Vec<u16>,
    /// Ownership (low 2 bits: state, private, foreign), financing (bits 2-4: Table 3's
    /// order, as `FirmParams::financing_weights`), high-tech designation (bit 7).
    pub kind: Vec<u8>,
}

const HIGH_TECH: u8 = 0x80;

impl Block {
    /// The number of live firms in the zone.
    pub fn len(&self) -> usize {
        self.productivity.len()
    }

    /// Whether the zone has no live firm (before it enters, or after all its firms died).
    pub fn is_empty(&self) -> bool {
        self.productivity.is_empty()
    }

    fn push(&mut self, productivity: f32, employees: f32, age: u16, kind: u8) {
        self.productivity.push(productivity);
        self.employees.push(employees);
        self.age.push(age);
        self.kind.push(kind);
    }
}

/// A zone's firm aggregates after a tick (flows during it, stock at its end).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Tally {
    pub(crate) firms: u32,
    pub(crate) births: u32,
    pub(crate) deaths: u32,
    pub(crate) mergers: u32,
    pub(crate) high_tech: u32,
    pub(crate) ownership: [u32; 3],
    pub(crate) financing: [u32; 6],
    /// Sum of employees x productivity (revenue before `revenue_per_employee`).
    pub(crate) output: f64,
    pub(crate) employees: f64,
    /// Firms ever present in the zone: its initial firms and every birth since.
    pub(crate) founded: u64,
    /// Sum of productivity (for the zone's mean).
    pub(crate) productivity: f64,
    /// Births were cut at the zone's share of `MAX_FIRMS` this tick.
    pub(crate) capped: bool,
}

impl Tally {
    /// Mean productivity of the live firms (0 with none): after a tick, the merger threshold
    /// of the next.
    pub(crate) fn mean_productivity(&self) -> f32 {
        if self.firms > 0 { (self.productivity / self.firms as f64) as f32 } else { 0.0 }
    }

    /// Adds another zone's tally (the engine sums zones in zone order).
    pub(crate) fn add(&mut self, o: &Tally) {
        self.firms += o.firms;
        self.births += o.births;
        self.deaths += o.deaths;
        self.mergers += o.mergers;
        self.high_tech += o.high_tech;
        for i in 0..3 {
            self.ownership[i] += o.ownership[i];
        }
        for i in 0..6 {
            self.financing[i] += o.financing[i];
        }
        self.output += o.output;
        self.employees += o.employees;
        self.founded += o.founded;
        self.productivity += o.productivity;
        self.capped |= o.capped;
    }
}

/// The per-tick form of `[firms]`, computed once per tick.
#[derive(Clone, Debug)]
pub struct Rates {
    /// Death probability per tick by age in ticks (index capped at the last entry), for a
    /// private firm of productivity 1, times (1 + hazard_productivity).
    hazard: Vec<f32>,
    hazard_productivity: f32,
    /// By the ownership bits of a firm's kind (the fourth entry is never used).
    ownership_hazard: [f32; 4],
    /// Births per tick per unit of capacity and per firm (before performance and multipliers).
    seed_births: f64,
    spinoff_births: f64,
    carrying: f64,
    support_mask: u64,
    support_count: u32,
    support_boost: f64,
    level_births: [f64; 3],
    growth: f32,
    growth_performance: f32,
    /// Amplitude of the uniform shock: productivity_noise x sqrt(12 / ticks_per_year).
    shock: f32,
    /// Merger probability per tick of a firm below its zone's mean.
    merger: f32,
    birth_productivity: f64,
    birth_spread: f64,
    high_tech: f32,
    birth_employees: f32,
    ownership_cdf: [f64; 3],
    financing_cdf: [f64; 6],
    per_year: f64,
    /// Most firms one zone may hold (`MAX_FIRMS` / zones).
    pub(crate) zone_cap: usize,
}

/// Per-tick probability of an event of yearly probability `p`: 1 - (1 - p)^(1 / ticks).
fn per_tick(p: f64, ticks_per_year: u32) -> f64 {
    if p >= 1.0 {
        1.0
    } else if p <= 0.0 || ticks_per_year == 1 {
        p.max(0.0)
    } else {
        1.0 - det_exp(det_ln(1.0 - p) / ticks_per_year as f64)
    }
}

fn cdf<const K: usize>(w: [f64; K]) -> [f64; K] {
    let total: f64 = w.iter().sum();
    let mut out = [0.0; K];
    let mut acc = 0.0;
    for i in 0..K {
        acc += w[i];
        out[i] = acc / total;
    }
    out[K - 1] = 1.0;
    out
}

fn pick<const K: usize>(cdf: &[f64; K], u: f64) -> u8 {
    cdf.iter().position(|&c| u < c).unwrap_or(K - 1) as u8
}

impl Rates {
    /// `hierarchy` is the centre's weight on the zones now: mandate_share x effective
    /// detection x (1 - tolerance) (0 when the centre never reviews).
    pub fn new(p: &FirmParams, ticks_per_year: u32, n: u32, hierarchy: f64) -> Rates {
        let tpy = ticks_per_year as f64;
        let ages = (HAZARD_YEARS * ticks_per_year).min(u16::MAX as u32 + 1) as usize;
        let scale = 1.0 + p.hazard_productivity;
        let hazard = (0..ages)
            .map(|a| {
                let years = a as f64 / tpy;
                let yearly = p.hazard_old + (p.hazard_young - p.hazard_old) * det_exp(-years / p.hazard_age);
                (per_tick(yearly, ticks_per_year) * scale) as f32
            })
            .collect();
        let support = p.support_instruments.min(n);
        let support_mask = if support >= 64 { u64::MAX } else { (1u64 << support) - 1 };
        Rates {
            hazard,
            hazard_productivity: p.hazard_productivity as f32,
            ownership_hazard: [p.state_hazard as f32, 1.0, p.foreign_hazard as f32, 1.0],
            seed_births: p.seed_births / tpy,
            spinoff_births: p.spinoff_births / tpy,
            carrying: p.carrying,
            support_mask,
            support_count: support,
            support_boost: p.support_boost,
            level_births: [p.provincial_births, 1.0, p.demonstration_births],
            growth: (p.growth / tpy) as f32,
            growth_performance: (p.growth_performance / tpy) as f32,
            shock: (p.productivity_noise * (12.0 / tpy).sqrt()) as f32,
            merger: per_tick(p.merger_rate + p.merger_hierarchy * hierarchy, ticks_per_year) as f32,
            birth_productivity: p.birth_productivity,
            birth_spread: p.birth_spread,
            high_tech: p.high_tech_threshold as f32,
            birth_employees: p.birth_employees as f32,
            ownership_cdf: cdf(p.ownership_weights()),
            financing_cdf: cdf(p.financing_weights()),
            per_year: tpy,
            zone_cap: usize::MAX,
        }
    }

    /// A new firm's attributes: productivity, ownership and financing, from three draws.
    fn newborn(&self, rng: &mut Fast) -> (f32, u8) {
        let u = rng.unit();
        let productivity = (self.birth_productivity * (1.0 + self.birth_spread * (2.0 * u - 1.0))) as f32;
        let own = pick(&self.ownership_cdf, rng.unit());
        let fin = pick(&self.financing_cdf, rng.unit());
        let ht = if productivity >= self.high_tech { HIGH_TECH } else { 0 };
        (productivity, own | fin << 2 | ht)
    }

    /// Expected births this tick in a zone.
    pub(crate) fn expected_births(&self, z: &ZoneView, firms: usize) -> f64 {
        let firms = firms as f64;
        let crowding = if self.carrying > 0.0 { (1.0 - firms / (self.carrying * z.capacity)).max(0.0) } else { 1.0 };
        let support = if self.support_count > 0 {
            let held = (z.policy_bits & z.policy_mask & self.support_mask).count_ones();
            1.0 + self.support_boost * held as f64 / self.support_count as f64
        } else {
            1.0
        };
        let base = self.seed_births * z.capacity.max(0.0) + self.spinoff_births * firms;
        (base * crowding * z.performance.max(0.0) * support * self.level_births[z.level as usize]).max(0.0)
    }
}

/// What a zone's firms read of their zone: its state at the end of this tick's zone step.
#[derive(Clone, Copy, Debug)]
pub struct ZoneView {
    /// The zone's capacity (>= 0): scales its births and the crowding limit.
    pub capacity: f64,
    /// The true performance of the zone's action this tick, in [0, 1]: scales births and growth.
    pub performance: f64,
    /// The zone's administrative level, which multiplies its births.
    pub level: Level,
    /// The zone's policy settings (bit i is instrument i), read for the support instruments.
    pub policy_bits: u64,
    /// Which instruments the zone's policy sets; an unset support instrument gives no boost.
    pub policy_mask: u64,
}

/// A zone's initial firms, entering with it: `initial x capacity` firms (rounded), ages
/// uniform in [0, initial_age) years.
pub fn populate(block: &mut Block, p: &FirmParams, rates: &Rates, capacity: f64, rng: &mut Fast) -> Tally {
    let wanted = (p.initial * capacity.max(0.0) + 0.5).floor();
    let count = wanted.min(rates.zone_cap as f64) as u64;
    let max_age = (p.initial_age * rates.per_year).min(u16::MAX as f64);
    block.productivity.reserve(count as usize);
    for _ in 0..count {
        let (prod, kind) = rates.newborn(rng);
        let age = (rng.unit() * max_age).floor() as u16;
        block.push(prod, rates.birth_employees, age, kind);
    }
    let mut t = summarise(block);
    t.founded = count;
    t.capped = (count as f64) < wanted;
    t
}

/// One tick of a zone's firms: deaths, mergers, productivity growth and designation,
/// ageing, then births. `prev` is the zone's tally after the last tick (its mean
/// productivity is the merger threshold; its count of firms ever present carries on).
pub fn step(block: &mut Block, rates: &Rates, zone: &ZoneView, prev: &Tally, rng: &mut Fast) -> Tally {
    let growth = 1.0 + rates.growth + rates.growth_performance * zone.performance as f32;
    let below = prev.mean_productivity();
    let mut t = Tally { founded: prev.founded, ..Tally::default() };
    let mut merged: Vec<f32> = Vec::new();
    let n = block.len();
    let mut w = 0;
    let hazard = &rates.hazard[..];
    // The growth factor is growth + shock x (u - 1/2), u = k / 2^16 for a 16-bit k:
    // folded into growth_at_zero + shock_step x k. The merger draw is compared as a 24-bit
    // integer with the probability scaled to 2^24.
    let shock_step = rates.shock * U16;
    let growth_at_zero = growth - 0.5 * rates.shock;
    let merger = (rates.merger as f64 * (1u32 << 24) as f64) as u32;
    let last_age = hazard.len() - 1;
    let (prod, emp) = (&mut block.productivity[..n], &mut block.employees[..n]);
    let (ages, kinds) = (&mut block.age[..n], &mut block.kind[..n]);
    // Sums kept in locals (registers), the kind histogram split four ways by slot so
    // that consecutive firms of the same kind (most are) do not wait on each other's
    // increment.
    let mut hist = [[0u32; 256]; 4];
    let (mut emp_sum, mut out_sum, mut prod_sum) = (0.0f64, 0.0f64, 0.0f64);
    for i in 0..n {
        let r = rng.next_u64();
        let u_death = (r >> 40) as f32 * U24;
        let u_merge = ((r >> 16) & 0xFF_FFFF) as u32;
        let u_shock = (r & 0xFFFF) as f32;
        let p = prod[i];
        let kind = kinds[i];
        let age = ages[i];
        let e = emp[i];
        // Dies if u < hazard(age) x ownership x (1 + h) / (1 + h p), without a division.
        let limit = hazard[(age as usize).min(last_age)] * rates.ownership_hazard[(kind & 3) as usize];
        if u_death * (1.0 + rates.hazard_productivity * p) < limit {
            t.deaths += 1;
            continue;
        }
        // `&`, not `&&`: whether a firm is below the mean is a coin flip the branch
        // predictor cannot learn; the conjunction is rare and predictable.
        if (p < below) & (u_merge < merger) {
            t.mergers += 1;
            merged.push(e);
            continue;
        }
        let q = (p * (growth_at_zero + shock_step * u_shock)).clamp(MIN_PRODUCTIVITY, MAX_PRODUCTIVITY);
        let ht = if q >= rates.high_tech { HIGH_TECH } else { 0 };
        let k = (kind & !HIGH_TECH) | ht;
        prod[w] = q;
        emp[w] = e;
        ages[w] = age.saturating_add(1);
        kinds[w] = k;
        hist[w & 3][k as usize] += 1;
        w += 1;
        let (e, q) = (e as f64, q as f64);
        emp_sum += e;
        out_sum += e * q;
        prod_sum += q;
    }
    let mut stock = Stock { kinds: [0; 256], employees: emp_sum, output: out_sum, productivity: prod_sum };
    for h in &hist {
        for (a, b) in stock.kinds.iter_mut().zip(h) {
            *a += b;
        }
    }
    block.productivity.truncate(w);
    block.employees.truncate(w);
    block.age.truncate(w);
    block.kind.truncate(w);
    absorb(block, &merged, below, &mut stock, rng);
    let births = give_birth(block, rates, zone, &mut stock, &mut t, rng);
    stock.into(&mut t);
    t.births = births as u32;
    t.firms = block.len() as u32;
    t.founded += births;
    t
}

/// A merged firm's employees join a superior firm of the zone (seed 003: "merger of
/// inferior firms with superior ones", "the shadow of a big tree"): a survivor drawn at
/// random until one at or above the zone's mean productivity `below` comes up (at most
/// MERGER_TRIES draws, then the last one). With no survivor they are lost with it.
fn absorb(block: &mut Block, merged: &[f32], below: f32, stock: &mut Stock, rng: &mut Fast) {
    let w = block.len();
    if w == 0 {
        return;
    }
    for &e in merged {
        let mut j = rng.below(w as u64) as usize;
        for _ in 1..MERGER_TRIES {
            if block.productivity[j] >= below {
                break;
            }
            j = rng.below(w as u64) as usize;
        }
        block.employees[j] += e;
        stock.employees += e as f64;
        stock.output += e as f64 * block.productivity[j] as f64;
    }
}

/// Births: a Poisson number at the zone's expected rate, capped by the room left in the
/// zone (`t.capped` says whether the cap cut them). Returns how many were born.
fn give_birth(
    block: &mut Block,
    rates: &Rates,
    zone: &ZoneView,
    stock: &mut Stock,
    t: &mut Tally,
    rng: &mut Fast,
) -> u64 {
    let w = block.len();
    let drawn = rng.poisson(rates.expected_births(zone, w));
    let births = drawn.min(rates.zone_cap.saturating_sub(w) as u64);
    t.capped = births < drawn;
    block.productivity.reserve(births as usize);
    for _ in 0..births {
        let (prod, kind) = rates.newborn(rng);
        block.push(prod, rates.birth_employees, 0, kind);
        stock.count(kind, rates.birth_employees, prod);
    }
    births
}

/// The stock part of a tally (counts, shares, output, employees), in firm order.
fn summarise(block: &Block) -> Tally {
    let mut stock = Stock::new();
    for i in 0..block.len() {
        stock.count(block.kind[i], block.employees[i], block.productivity[i]);
    }
    let mut t = Tally { firms: block.len() as u32, ..Tally::default() };
    stock.into(&mut t);
    t
}

/// Running sums over live firms: one histogram of the kind byte (ownership, financing
/// and designation in one increment), and the float sums in firm order.
struct Stock {
    kinds: [u32; 256],
    employees: f64,
    output: f64,
    productivity: f64,
}

impl Stock {
    fn new() -> Stock {
        Stock { kinds: [0; 256], employees: 0.0, output: 0.0, productivity: 0.0 }
    }

    #[inline(always)]
    fn count(&mut self, kind: u8, employees: f32, productivity: f32) {
        self.kinds[kind as usize] += 1;
        let e = employees as f64;
        self.employees += e;
        self.output += e * productivity as f64;
        self.productivity += productivity as f64;
    }

    fn into(self, t: &mut Tally) {
        for (k, &c) in self.kinds.iter().enumerate().filter(|&(_, &c)| c > 0) {
            t.ownership[(k & 3).min(2)] += c;
            t.financing[((k >> 2) & 7).min(5)] += c;
            t.high_tech += (k >> 7) as u32 * c;
        }
        t.employees = self.employees;
        t.output = self.output;
        t.productivity = self.productivity;
    }
}

/// Every zone's firms and their last tallies, with the rates of the current tick.
#[derive(Clone, Debug)]
pub(crate) struct Population {
    /// `blocks[z]`: zone z's firms (empty until it enters).
    pub(crate) blocks: Vec<Block>,
    /// `tally[z]`: zone z's aggregates after the current tick.
    pub(crate) tally: Vec<Tally>,
    pub(crate) rates: Rates,
    /// The sum of every zone's tally, in zone order.
    pub(crate) total: Tally,
}

impl Population {
    pub(crate) fn new(zones: usize, rates: Rates) -> Population {
        Population {
            blocks: vec![Block::default(); zones],
            tally: vec![Tally::default(); zones],
            rates,
            total: Tally::default(),
        }
    }

    /// Sums the zones' tallies in zone order (so the float sums never depend on threads).
    pub(crate) fn settle(&mut self) {
        let mut total = Tally::default();
        for t in &self.tally {
            total.add(t);
        }
        self.total = total;
    }
}

/// Hierarchy bias (seed 003): how heavily the centre weighs on zones now, as mandate share
/// x effective detection x (1 - tolerance). 0 when the centre never reviews.
pub(crate) fn hierarchy(mandate_share: f64, detection: f64, tolerance: f64) -> f64 {
    mandate_share * detection * (1.0 - tolerance)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::foundation::Purpose;
    use crate::foundation::StreamKey;

    fn view(performance: f64) -> ZoneView {
        ZoneView { capacity: 1.0, performance, level: Level::National, policy_bits: 0, policy_mask: 0 }
    }

    fn params() -> FirmParams {
        FirmParams { enabled: true, ..FirmParams::default() }
    }

    #[test]
    fn yearly_probabilities_compound_to_the_per_tick_ones() {
        let p = per_tick(0.3, 12);
        let survive: f64 = (0..12).fold(1.0, |s, _| s * (1.0 - p));
        assert!((survive - 0.7).abs() < 1e-12, "{survive}");
        assert_eq!(per_tick(0.3, 1), 0.3);
        assert_eq!(per_tick(1.0, 12), 1.0);
    }

    /// A zone with no births and a flat, known hazard decays geometrically: after t ticks
    /// the expected survivors are n (1 - h)^t, and the count is binomial around it.
    #[test]
    fn a_zone_without_births_decays_at_its_hazard() {
        let p = FirmParams {
            seed_births: 0.0,
            spinoff_births: 0.0,
            hazard_young: 0.2,
            hazard_old: 0.2,
            hazard_productivity: 0.0,
            state_hazard: 1.0,
            productivity_noise: 0.0,
            initial: 100_000.0,
            ..params()
        };
        let rates = Rates::new(&p, 1, 20, 0.0);
        let key = StreamKey::new(7, 0);
        let mut b = Block::default();
        let t0 = populate(&mut b, &p, &rates, 1.0, &mut key.tick(Purpose::FirmEntry, 0, 0));
        assert_eq!(t0.firms, 100_000);
        let mut prev = t0;
        for tick in 1..=5 {
            let t = step(&mut b, &rates, &view(0.5), &prev, &mut key.tick(Purpose::Firms, tick, 0));
            prev = t;
            assert_eq!(t.births, 0);
            assert_eq!(t.firms as usize, b.len());
        }
        let expected = 100_000.0 * 0.8f64.powi(5);
        let sd = (100_000.0 * 0.8f64.powi(5) * (1.0 - 0.8f64.powi(5))).sqrt();
        let got = b.len() as f64;
        assert!((got - expected).abs() < 4.0 * sd, "{got} vs {expected} (sd {sd})");
        assert_eq!(prev.founded, 100_000);
    }

    /// Ownership and financing at birth follow the configured weights within sampling error.
    #[test]
    fn shares_at_birth_follow_the_weights() {
        let p = FirmParams {
            initial: 200_000.0,
            ownership_state: 3.0,
            ownership_private: 87.0,
            ownership_foreign: 10.0,
            ..params()
        };
        let rates = Rates::new(&p, 12, 20, 0.0);
        let mut b = Block::default();
        let t = populate(&mut b, &p, &rates, 1.0, &mut StreamKey::new(1, 0).tick(Purpose::FirmEntry, 0, 0));
        let n = t.firms as f64;
        let check = |count: u32, share: f64| {
            let sd = (share * (1.0 - share) / n).sqrt();
            let got = count as f64 / n;
            assert!((got - share).abs() < 4.0 * sd, "{got} vs {share}");
        };
        for (c, s) in t.ownership.iter().zip([0.03, 0.87, 0.10]) {
            check(*c, s);
        }
        let table3 = [65.0, 12.7, 7.6, 5.6, 4.1, 5.0];
        for (c, s) in t.financing.iter().zip(table3) {
            check(*c, s / 100.0);
        }
    }

    #[test]
    fn births_follow_capacity_crowding_and_level() {
        let p = FirmParams { seed_births: 12.0, spinoff_births: 0.0, carrying: 100.0, ..params() };
        let rates = Rates::new(&p, 12, 20, 0.0);
        let z = view(1.0);
        assert!((rates.expected_births(&z, 0) - 1.0).abs() < 1e-12);
        assert!((rates.expected_births(&z, 50) - 0.5).abs() < 1e-12);
        assert_eq!(rates.expected_births(&z, 100), 0.0);
        let prov = ZoneView { level: Level::Provincial, ..z };
        assert!((rates.expected_births(&prov, 0) - 0.5).abs() < 1e-12);
    }

    #[test]
    fn mergers_lower_the_count_but_keep_the_employees() {
        let p = FirmParams {
            seed_births: 0.0,
            spinoff_births: 0.0,
            hazard_young: 0.0,
            hazard_old: 0.0,
            merger_rate: 0.5,
            initial: 1000.0,
            ..params()
        };
        let rates = Rates::new(&p, 1, 20, 0.0);
        let key = StreamKey::new(3, 0);
        let mut b = Block::default();
        let t0 = populate(&mut b, &p, &rates, 1.0, &mut key.tick(Purpose::FirmEntry, 0, 0));
        // A merger threshold of 1, the mean of the birth productivities.
        let prev = Tally { productivity: t0.firms as f64, ..t0 };
        let t = step(&mut b, &rates, &view(0.0), &prev, &mut key.tick(Purpose::Firms, 1, 0));
        assert!(t.mergers > 100 && t.deaths == 0, "{t:?}");
        assert_eq!(t.firms, 1000 - t.mergers);
        assert!((t.employees - t0.employees).abs() < 1e-6);
    }

    #[test]
    fn productivity_stays_finite_under_extreme_growth() {
        let p = FirmParams {
            growth: 1.0,
            growth_performance: 10.0,
            seed_births: 0.0,
            spinoff_births: 0.0,
            hazard_young: 0.0,
            hazard_old: 0.0,
            initial: 100.0,
            ..params()
        };
        let rates = Rates::new(&p, 1, 20, 0.0);
        let key = StreamKey::new(5, 0);
        let mut b = Block::default();
        let mut t = populate(&mut b, &p, &rates, 1.0, &mut key.tick(Purpose::FirmEntry, 0, 0));
        for tick in 1..60 {
            t = step(&mut b, &rates, &view(1.0), &t, &mut key.tick(Purpose::Firms, tick, 0));
        }
        assert!(b.productivity.iter().all(|&q| q <= MAX_PRODUCTIVITY), "productivity capped");
        assert!(t.output.is_finite() && t.productivity.is_finite());
    }

    #[test]
    fn births_stop_at_the_zone_cap() {
        let p = FirmParams { seed_births: 1e6, initial: 0.0, ..params() };
        let mut rates = Rates::new(&p, 1, 20, 0.0);
        rates.zone_cap = 500;
        let mut b = Block::default();
        let t =
            step(&mut b, &rates, &view(1.0), &Tally::default(), &mut StreamKey::new(1, 0).tick(Purpose::Firms, 1, 0));
        assert_eq!((t.firms, t.capped), (500, true));
    }

    #[test]
    fn the_same_stream_gives_the_same_firms() {
        let p = FirmParams { merger_rate: 0.1, ..params() };
        let rates = Rates::new(&p, 12, 20, 0.2);
        let run = || {
            let key = StreamKey::new(9, 1);
            let mut b = Block::default();
            let mut t = populate(&mut b, &p, &rates, 2.0, &mut key.tick(Purpose::FirmEntry, 0, 4));
            for tick in 1..40 {
                t = step(&mut b, &rates, &view(0.6), &t, &mut key.tick(Purpose::Firms, tick, 4));
            }
            (b, t)
        };
        assert_eq!(run(), run());
    }
}
