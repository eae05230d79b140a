//! The local agent: zone state (structure of arrays, indexed by zone id) and the zone
//! step rule of DESIGN 3.2 (imitate, else experiment; comply; measure performance).
//!
//! `step` is a pure function of the previous tick's state and the zone's own random
//! stream, so zones can be stepped in any order, on any number of threads.

use rand::Rng as _;

use crate::foundation::{Draw, Fast, StreamPrefix};
use crate::model::landscape::Landscape;
use crate::model::lineage::PENDING;
use crate::model::network::Network;
use crate::model::policy::{Policy, full_mask};
use crate::scenario::{ComplianceMode, Evaluate, Level, PolicyInit, ZoneParams};

/// No zone's capacity grows above this: 1,000 times the largest initial capacity a scenario
/// may give (1e12). Capacity grows geometrically while a zone outperforms the programme, so
/// without a cap a long run overflows to inf (laissez-faire at 40,000 ticks; growth 10 on
/// 10 zones by tick 575), and mean_capacity and regional_disparity with it. At the cap it
/// saturates (growth stops, sanctions still cut it); sums over 10^7 zones and the squares of
/// the disparity stay far inside the floats' range.
pub(crate) const CAPACITY_MAX: f64 = 1e15;

/// Cumulative counts per zone (reported in zones.csv).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Counters {
    pub(crate) tried: u32,
    pub(crate) succeeded: u32,
    pub(crate) deviations: u32,
    pub(crate) sanctioned: u32,
    pub(crate) imitated: u32,
    pub(crate) complied: u32,
}

/// The part of zone state that the step rewrites every tick (double-buffered).
#[derive(Clone, Debug, Default)]
pub struct Dyn {
    pub(crate) policy: Vec<Policy>,
    /// Fitness of the zone's policy as held (unset instruments score as documented).
    pub(crate) fitness: Vec<f64>,
    /// True performance of the zone's action this tick.
    pub performance: Vec<f64>,
    /// Performance as others see it (with observation noise); -inf until the zone enters.
    pub observed: Vec<f64>,
    /// The fully set policy the zone acted on this tick (its unset instruments by coin flip).
    pub(crate) action: Vec<u64>,
    pub(crate) capacity: Vec<f64>,
    pub(crate) counters: Vec<Counters>,
    /// `lineage[z * n + i]`: innovation id of zone z's setting of instrument i. Held by
    /// the current buffer only (empty in the engine's scratch buffer): a step reports the
    /// ids it writes and the lineage pass applies them after the tick.
    pub(crate) lineage: Vec<u32>,
}

impl Dyn {
    pub(crate) fn new(zones: usize, n: usize) -> Dyn {
        Dyn {
            policy: vec![Policy::default(); zones],
            fitness: vec![0.0; zones],
            performance: vec![0.0; zones],
            observed: vec![f64::NEG_INFINITY; zones],
            action: vec![0; zones],
            capacity: vec![0.0; zones],
            counters: vec![Counters::default(); zones],
            lineage: vec![0; zones * n],
        }
    }
}

/// All zones that will ever exist in a replication; inactive ones have not entered yet.
#[derive(Clone, Debug, Default)]
pub struct Zones {
    pub(crate) region: Vec<u32>,
    /// Each zone's landscape context (its region's `regions.context`), fixed for the run.
    pub context: Vec<u32>,
    pub(crate) level: Vec<Level>,
    /// Whether the zone has entered yet; inactive zones act in nothing and count in no output.
    pub active: Vec<bool>,
    /// Pilot status as of the end of the last tick (set by reviews, levels and events).
    pub pilot: Vec<bool>,
    pub(crate) entry_tick: Vec<u32>,
    /// The state the last completed tick wrote (the buffer the next step reads).
    pub cur: Dyn,
}

impl Zones {
    /// Every zone that will ever exist in the replication, active or not (`Z`).
    pub fn len(&self) -> usize {
        self.region.len()
    }

    /// Whether the replication has no zones at all.
    pub fn is_empty(&self) -> bool {
        self.region.is_empty()
    }
}

/// What happened in one zone's step: for tick counts and lineage accounting.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Outcome {
    /// Instruments whose setting or lineage may have changed.
    pub(crate) touched: u64,
    pub(crate) imitated: u64,
    pub(crate) complied: u64,
    pub(crate) innovated: u64,
    pub(crate) reset: bool,
    pub(crate) experimented: bool,
    pub(crate) deviated: bool,
    pub(crate) deterred: bool,
}

/// Everything one zone step reads besides the zone's own previous state.
pub struct StepCtx<'a> {
    /// The `[zones]` parameters as they stand this tick (after its events).
    pub p: &'a ZoneParams,
    /// The number of instruments, `landscape.n` (1 to 64).
    pub n: u32,
    /// The tick being stepped (1 or later; tick 0 is the initial state).
    pub tick: u32,
    /// The zones' streams of this tick (purpose ZoneStep).
    pub streams: StreamPrefix,
    /// The landscape after this tick's turbulence.
    pub landscape: &'a Landscape,
    /// Whether fitness values of the previous tick are still valid (no turbulence now).
    pub landscape_unchanged: bool,
    /// Whom each zone observes horizontally.
    pub network: &'a Network,
    /// The national programme as the last review left it: what compliance moves zones toward.
    pub programme: Policy,
    /// Innovation id behind each programme setting, copied into a zone's lineage on compliance.
    pub programme_lineage: &'a [u32],
    /// Mandated instruments (bit i is instrument i): deviating on them risks a sanction.
    pub mandate: u64,
    /// The programme's fitness per context.
    pub reference: &'a [f64],
    /// The two best showcased zones of the previous tick (see [`top_two`]): every zone
    /// may imitate them, and the best one other than itself is all it needs.
    pub showcase_best: [Option<u32>; 2],
    /// For a full network: the two best active zones of the previous tick.
    pub full_best: [Option<u32>; 2],
    /// Effective detection d = 1 - (1 - detection)^supervisors.
    pub detection: f64,
    /// `centre.tolerance` in [0, 1]: a non-pilot's deviating experiment is deterred with
    /// probability `detection x (1 - tolerance)`.
    pub tolerance: f64,
    /// Every zone's state at the end of the previous tick (the buffer the step reads).
    pub prev: &'a Dyn,
    /// Which zones have entered (see [`Zones::active`]).
    pub active: &'a [bool],
    /// Which zones are pilots; pilots are never deterred from deviating.
    pub pilot: &'a [bool],
    /// Each zone's landscape context (see [`Zones::context`]).
    pub context: &'a [u32],
}

/// A zone's next state, written into the next buffer by the engine.
pub struct Next {
    pub(crate) policy: Policy,
    /// Fitness in [0, 1] of the zone's new policy in its context.
    pub fitness: f64,
    pub(crate) performance: f64,
    pub(crate) observed: f64,
    pub(crate) action: u64,
    pub(crate) capacity: f64,
    pub(crate) counters: Counters,
    pub(crate) outcome: Outcome,
}

/// Draws a zone's initial policy and the lineage it starts with.
pub(crate) fn initial_policy(
    p: &ZoneParams,
    n: u32,
    programme: Policy,
    programme_lineage: &[u32],
    rng: &mut Fast,
    lineage: &mut [u32],
) -> Policy {
    let full = full_mask(n);
    lineage.fill(0);
    match p.initial_policy {
        PolicyInit::Random => Policy::set(rng.next_u64(), n),
        PolicyInit::Unset => Policy::default(),
        PolicyInit::ThreeState => {
            let mut pol = Policy::default();
            for i in 0..n {
                match rng.below(3) {
                    0 => {}
                    v => {
                        pol.mask |= 1 << i;
                        pol.bits |= ((v == 2) as u64) << i;
                    }
                }
            }
            pol
        }
        PolicyInit::Programme => {
            let flips = pick_distinct(rng, n, (p.perturbation * n as f64).round() as u32);
            let base = Policy { bits: programme.bits & programme.mask, mask: full };
            lineage.copy_from_slice(programme_lineage);
            for (i, l) in lineage.iter_mut().enumerate() {
                if flips >> i & 1 == 1 || programme.mask >> i & 1 == 0 {
                    *l = 0;
                }
            }
            // Unset programme instruments are drawn at random.
            let random = rng.next_u64() & !programme.mask & full;
            Policy { bits: (base.bits | random) ^ flips, mask: full }
        }
    }
}

/// `count` distinct instruments out of n, as a mask (Floyd's algorithm: exactly count draws).
pub(crate) fn pick_distinct(rng: &mut Fast, n: u32, count: u32) -> u64 {
    let mut chosen = 0u64;
    for j in n - count.min(n)..n {
        let t = rng.below(j as u64 + 1) as u32;
        chosen |= if chosen >> t & 1 == 1 { 1 << j } else { 1 << t };
    }
    chosen
}

/// Acting on a policy: unset instruments are acted on by a fresh coin flip (March 1991);
/// a fully set policy's action is the policy itself. Returns (performance, action bits).
#[inline]
pub(crate) fn act(
    landscape: &Landscape,
    context: usize,
    pol: Policy,
    fitness: f64,
    n: u32,
    rng: &mut Fast,
) -> (f64, u64) {
    let full = full_mask(n);
    if pol.mask & full == full {
        (fitness, pol.bits & full)
    } else {
        let action = Policy { bits: (pol.bits & pol.mask) | (rng.next_u64() & !pol.mask & full), mask: full };
        (landscape.fitness(context, action), action.bits)
    }
}

impl StepCtx<'_> {
    /// The best-observed neighbour (or showcased zone) of z, ties to the lowest id.
    #[inline]
    ///
    /// The hottest loop of a tick. Zones that have not entered are observed at -inf, so
    /// they never win and need no check; neighbour lists are sorted by id, so a strict `>`
    /// keeps the lowest id among ties.
    fn best_neighbour(&self, z: usize) -> Option<usize> {
        let obs = &self.prev.observed;
        let (mut best, mut best_obs) = (usize::MAX, f64::NEG_INFINITY);
        match self.network {
            Network::Csr(c) => {
                // Two independent running maxima (even and odd positions) halve the chain of
                // dependent comparisons; selects rather than branches. Each keeps the first
                // (lowest id) of equal values, and the merge does too, so the winner is the
                // same as a single left-to-right scan.
                let list = c.neighbours(z);
                let (mut b0, mut o0, mut b1, mut o1) = (usize::MAX, f64::NEG_INFINITY, usize::MAX, f64::NEG_INFINITY);
                let mut pairs = list.chunks_exact(2);
                for pair in &mut pairs {
                    let (j0, j1) = (pair[0] as usize, pair[1] as usize);
                    let (x0, x1) = (obs[j0], obs[j1]);
                    let (g0, g1) = (x0 > o0, x1 > o1);
                    b0 = if g0 { j0 } else { b0 };
                    o0 = if g0 { x0 } else { o0 };
                    b1 = if g1 { j1 } else { b1 };
                    o1 = if g1 { x1 } else { o1 };
                }
                // The odd one out has the highest id of the list: it wins only outright.
                if let [j] = pairs.remainder() {
                    let x = obs[*j as usize];
                    if x > o0 {
                        b0 = *j as usize;
                        o0 = x;
                    }
                }
                (best, best_obs) = if o1 > o0 || (o1 == o0 && b1 < b0) { (b1, o1) } else { (b0, o0) };
            }
            Network::Full { .. } => {
                if let Some(b) = self.full_best.into_iter().flatten().find(|&b| b as usize != z) {
                    best = b as usize;
                    best_obs = obs[best];
                }
            }
        }
        if let Some(j) = self.showcase_best.into_iter().flatten().map(|j| j as usize).find(|&j| j != z) {
            let o = obs[j];
            if o > best_obs || (o == best_obs && j < best) {
                best = j;
            }
        }
        (best != usize::MAX).then_some(best)
    }

    /// One zone's tick. `lineage` is the zone's row in the next buffer, holding a copy of
    /// its previous row (the engine copies whole chunks at once).
    #[inline(always)]
    pub fn step(&self, z: usize, lineage: &mut [u32]) -> Next {
        let prev = self.prev;
        let mut next = Next {
            policy: prev.policy[z],
            fitness: prev.fitness[z],
            performance: prev.performance[z],
            observed: prev.observed[z],
            action: prev.action[z],
            capacity: prev.capacity[z],
            counters: prev.counters[z],
            outcome: Outcome::default(),
        };
        if !self.active[z] {
            return next;
        }
        let p = self.p;
        let ctx = self.context[z] as usize;
        let land = self.landscape;
        let mut rng = self.streams.stream(z as u64);
        let mut pol = prev.policy[z];
        let mut fit = if self.landscape_unchanged { prev.fitness[z] } else { land.fitness(ctx, pol) };
        let out = &mut next.outcome;

        if p.turnover > 0.0 && rng.chance(p.turnover) {
            pol = initial_policy(p, self.n, self.programme, self.programme_lineage, &mut rng, lineage);
            fit = land.fitness(ctx, pol);
            out.reset = true;
            out.touched = full_mask(self.n);
        }
        let before = (p.evaluate == Evaluate::BeforeAdapt).then(|| act(land, ctx, pol, fit, self.n, &mut rng));

        let mut changed = 0u64;
        if rng.chance(p.velocity) {
            let copied = self.imitate(z, ctx, &mut pol, &mut fit, &mut rng, lineage, out, &mut next.counters);
            changed |= match copied {
                Some(copy) => copy,
                None => self.experiment(z, ctx, &mut pol, &mut fit, &mut rng, lineage, out, &mut next.counters),
            };
        }

        if p.compliance_rate > 0.0 {
            self.comply(ctx, &mut pol, &mut fit, changed, &mut rng, lineage, out, &mut next.counters);
        }

        out.touched |= out.imitated | out.complied | out.innovated;
        let (performance, action) = before.unwrap_or_else(|| act(land, ctx, pol, fit, self.n, &mut rng));
        next.action = action;
        next.policy = pol;
        next.fitness = fit;
        next.performance = performance;
        next.observed =
            if p.observation_noise > 0.0 { performance + p.observation_noise * rng.normal() } else { performance };
        let growth = 1.0 + p.capacity_growth * (performance - self.reference[ctx]);
        // Bounded: a run that never reaches the cap is unchanged by it (NaN, from 0 x inf,
        // cannot arise: growth is finite and the capacity is at most the cap).
        next.capacity = (next.capacity * growth).clamp(0.0, CAPACITY_MAX);
        next
    }

    /// Imitation: copy, instrument by instrument with `imitation_fidelity`, what the best
    /// visible zone does differently, if it does better by more than the threshold. The
    /// instruments copied, or None when nothing was copied: then the zone experiments (the
    /// better zone holds the same policy, or every fidelity draw failed). A copy tried and
    /// undone (`imitation_revert`) uses up the tick, as in Lazer & Friedman.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn imitate(
        &self,
        z: usize,
        ctx: usize,
        pol: &mut Policy,
        fit: &mut f64,
        rng: &mut Fast,
        lineage: &mut [u32],
        out: &mut Outcome,
        counters: &mut Counters,
    ) -> Option<u64> {
        let (p, prev, n) = (self.p, self.prev, self.n as usize);
        let j = self.best_neighbour(z).filter(|&j| prev.observed[j] > prev.observed[z] + p.imitation_threshold)?;
        let src = prev.policy[j];
        let mut copy = 0u64;
        let mut diff = pol.differs(src);
        while diff != 0 {
            let bit = diff & diff.wrapping_neg();
            if rng.chance(p.imitation_fidelity) {
                copy |= bit;
            }
            diff &= diff - 1;
        }
        if copy == 0 {
            return None;
        }
        let cand = pol.take(src, copy);
        let cf = self.landscape.refit(ctx, *pol, *fit, cand);
        if p.imitation_revert && cf < *fit {
            return Some(0);
        }
        *pol = cand;
        *fit = cf;
        let from = &prev.lineage[j * n..(j + 1) * n];
        for_each_bit(copy, |i| lineage[i] = from[i]);
        out.imitated = copy;
        counters.imitated += 1;
        Some(copy)
    }

    /// Compliance: each mandated instrument where the zone departs from the programme, and
    /// that it did not just change, moves to the programme with `compliance_rate` (one step
    /// toward it, to unset, in the one-step mode).
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn comply(
        &self,
        ctx: usize,
        pol: &mut Policy,
        fit: &mut f64,
        changed: u64,
        rng: &mut Fast,
        lineage: &mut [u32],
        out: &mut Outcome,
        counters: &mut Counters,
    ) {
        let p = self.p;
        let prog = self.programme;
        let held = *pol;
        let mut diff = pol.differs(prog) & self.mandate & prog.mask & !changed;
        let mut complied = 0u64;
        while diff != 0 {
            let bit = diff & diff.wrapping_neg();
            diff &= diff - 1;
            if rng.chance(p.compliance_rate) {
                let i = bit.trailing_zeros() as usize;
                if p.compliance_mode == ComplianceMode::OneStep && pol.mask & bit != 0 {
                    pol.mask &= !bit;
                    pol.bits &= !bit;
                    lineage[i] = 0;
                } else {
                    *pol = pol.take(prog, bit);
                    lineage[i] = self.programme_lineage[i];
                }
                complied |= bit;
            }
        }
        if complied != 0 {
            *fit = self.landscape.refit(ctx, held, *fit, *pol);
            out.complied = complied;
            counters.complied += 1;
        }
    }

    /// Experiment: change `experiment_radius` instruments, keep it if fitness rises.
    /// Deviations from the mandate are deterred for non-pilots (DESIGN 6.3).
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn experiment(
        &self,
        z: usize,
        ctx: usize,
        pol: &mut Policy,
        fit: &mut f64,
        rng: &mut Fast,
        lineage: &mut [u32],
        out: &mut Outcome,
        counters: &mut Counters,
    ) -> u64 {
        let p = self.p;
        let pilot = self.pilot[z];
        let rate = if pilot { (p.experiment_rate * p.pilot_boost).min(1.0) } else { p.experiment_rate };
        if !rng.chance(rate) {
            return 0;
        }
        let flips = if p.experiment_radius == 1 {
            1u64 << rng.below(self.n as u64)
        } else {
            pick_distinct(rng, self.n, p.experiment_radius)
        };
        // Unset instruments become set, to a random value; set ones flip.
        let fresh = flips & !pol.mask;
        let cand = Policy { bits: (pol.bits ^ (flips & pol.mask)) | (rng.next_u64() & fresh), mask: pol.mask | flips };
        let prog = self.programme;
        let deviation = flips & self.mandate & prog.mask & (cand.bits ^ prog.bits) != 0;
        if deviation && !pilot && !rng.chance(1.0 - self.detection * (1.0 - self.tolerance)) {
            out.deterred = true;
            return 0;
        }
        out.experimented = true;
        out.deviated = deviation;
        counters.tried += 1;
        counters.deviations += deviation as u32;
        let cf = self.landscape.refit(ctx, *pol, *fit, cand);
        if cf > *fit {
            *pol = cand;
            *fit = cf;
            for_each_bit(flips, |i| lineage[i] = PENDING);
            out.innovated = flips;
            counters.succeeded += 1;
            flips
        } else {
            0
        }
    }
}

/// The two best of `candidates` by observed performance, ties to the lowest id (the order
/// in which a zone would prefer them).
pub fn top_two(candidates: impl IntoIterator<Item = usize>, observed: &[f64]) -> [Option<u32>; 2] {
    let better = |a: usize, b: Option<u32>| {
        b.is_none_or(|b| {
            let b = b as usize;
            observed[a] > observed[b] || (observed[a] == observed[b] && a < b)
        })
    };
    let mut best: [Option<u32>; 2] = [None, None];
    for z in candidates {
        if better(z, best[0]) {
            best[1] = best[0];
            best[0] = Some(z as u32);
        } else if better(z, best[1]) {
            best[1] = Some(z as u32);
        }
    }
    best
}

#[inline]
pub(crate) fn for_each_bit(mut bits: u64, mut f: impl FnMut(usize)) {
    while bits != 0 {
        f(bits.trailing_zeros() as usize);
        bits &= bits - 1;
    }
}

/// Effective detection with several supervising authorities (DESIGN 6.3).
pub fn effective_detection(detection: f64, supervisors: u32) -> f64 {
    1.0 - crate::foundation::pow_int(1.0 - detection, supervisors)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::foundation::{Purpose, StreamKey};
    use crate::model::landscape::{Kind, Target};
    use crate::model::network::Csr;

    /// A 4-instrument target landscape with reality 1111: fitness = share of ones set.
    fn world() -> (Landscape, Network) {
        let l = Landscape { n: 4, kind: Kind::Target(Target { reality: vec![0b1111] }), max: vec![1.0] };
        let net = Network::Csr(Csr::from_edges(3, &[(0, 1), (1, 2)]));
        (l, net)
    }

    fn prev(policies: &[u64]) -> Dyn {
        let mut d = Dyn::new(policies.len(), 4);
        let (l, _) = world();
        for (z, &b) in policies.iter().enumerate() {
            d.policy[z] = Policy::set(b, 4);
            d.fitness[z] = l.fitness(0, d.policy[z]);
            d.performance[z] = d.fitness[z];
            d.observed[z] = d.fitness[z];
            d.capacity[z] = 1.0;
        }
        d
    }

    #[allow(clippy::too_many_arguments)]
    fn ctx<'a>(
        p: &'a ZoneParams,
        l: &'a Landscape,
        net: &'a Network,
        d: &'a Dyn,
        plin: &'a [u32],
        flags: &'a [bool],
        pilots: &'a [bool],
        ctxs: &'a [u32],
    ) -> StepCtx<'a> {
        StepCtx {
            p,
            n: 4,
            tick: 1,
            streams: StreamKey::new(1, 0).prefix(Purpose::ZoneStep, 1),
            landscape: l,
            landscape_unchanged: true,
            network: net,
            programme: Policy::set(0b0000, 4),
            programme_lineage: plin,
            mandate: 0b0011,
            reference: &[0.0],
            showcase_best: [None, None],
            full_best: [None, None],
            detection: 1.0,
            tolerance: 0.0,
            prev: d,
            active: flags,
            pilot: pilots,
            context: ctxs,
        }
    }

    #[test]
    fn zone_copies_a_better_neighbour_exactly_with_fidelity_one() {
        let (l, net) = world();
        let d = prev(&[0b0000, 0b1100, 0b1111]);
        let p =
            ZoneParams { imitation_fidelity: 1.0, compliance_rate: 0.0, capacity_growth: 0.0, ..ZoneParams::default() };
        let c = ctx(&p, &l, &net, &d, &[0; 4], &[true; 3], &[false; 3], &[0; 3]);
        let mut lin = [0u32; 4];
        // Zone 1's best neighbour is zone 2 (all ones).
        let next = c.step(1, &mut lin);
        assert_eq!(next.policy, Policy::set(0b1111, 4));
        assert_eq!(next.outcome.imitated, 0b0011);
        assert_eq!(next.fitness, 1.0);
    }

    #[test]
    fn a_better_zone_with_the_same_policy_leaves_room_to_experiment() {
        let (l, net) = world();
        // Zone 1 sees zone 2 observed as better, but both hold 0000: nothing to copy.
        let mut d = prev(&[0b0000, 0b0000, 0b0000]);
        d.observed[2] = 0.9;
        let p = ZoneParams { experiment_rate: 1.0, compliance_rate: 0.0, ..ZoneParams::default() };
        let c = StepCtx { mandate: 0, ..ctx(&p, &l, &net, &d, &[0; 4], &[true; 3], &[false; 3], &[0; 3]) };
        let mut lin = [0u32; 4];
        let next = c.step(1, &mut lin);
        assert!(next.outcome.experimented && next.outcome.imitated == 0);
    }

    #[test]
    fn threshold_blocks_small_differences() {
        let (l, net) = world();
        let d = prev(&[0b0111, 0b1111, 0b0000]);
        let p = ZoneParams {
            imitation_threshold: 0.3,
            experiment_rate: 0.0,
            compliance_rate: 0.0,
            ..ZoneParams::default()
        };
        let c = ctx(&p, &l, &net, &d, &[0; 4], &[true; 3], &[false; 3], &[0; 3]);
        let mut lin = [0u32; 4];
        // Zone 0 (0.75) sees zone 1 (1.0): a gap of 0.25 is under the threshold.
        assert_eq!(c.step(0, &mut lin).policy, Policy::set(0b0111, 4));
    }

    #[test]
    fn full_deterrence_blocks_every_deviation() {
        let (l, net) = world();
        // Zone 0 agrees with the programme (0000) on mandated instruments 0 and 1.
        let d = prev(&[0b0000, 0b0000, 0b0000]);
        let p =
            ZoneParams { experiment_rate: 1.0, experiment_radius: 4, compliance_rate: 0.0, ..ZoneParams::default() };
        let c = ctx(&p, &l, &net, &d, &[0; 4], &[true; 3], &[false; 3], &[0; 3]);
        let mut lin = [0u32; 4];
        for tick in 1..50 {
            let c = StepCtx {
                tick,
                streams: StreamKey::new(1, 0).prefix(Purpose::ZoneStep, tick as u64),
                ..ctx(&p, &l, &net, &d, &[0; 4], &[true; 3], &[false; 3], &[0; 3])
            };
            let next = c.step(0, &mut lin);
            assert!(next.outcome.deterred && !next.outcome.experimented);
        }
        // A pilot is not deterred and keeps the improvement, creating innovations.
        let pilots = [true, false, false];
        let c2 = StepCtx { pilot: &pilots, ..c };
        let next = c2.step(0, &mut lin);
        assert!(next.outcome.experimented && next.outcome.deviated);
        assert_eq!(next.policy, Policy::set(0b1111, 4));
        assert!(lin.iter().all(|&id| id == PENDING));
    }

    #[test]
    fn compliance_one_step_unsets_then_adopts() {
        let (l, net) = world();
        let d = prev(&[0b0011, 0b0000, 0b0000]);
        let p = ZoneParams {
            experiment_rate: 0.0,
            velocity: 0.0,
            compliance_rate: 1.0,
            compliance_mode: ComplianceMode::OneStep,
            ..ZoneParams::default()
        };
        let plin = [7, 8, 0, 0];
        let c = ctx(&p, &l, &net, &d, &plin, &[true; 3], &[false; 3], &[0; 3]);
        let mut lin = [0u32; 4];
        let next = c.step(0, &mut lin);
        assert_eq!(next.policy, Policy { bits: 0b0000, mask: 0b1100 });
        let d2 = Dyn { policy: vec![next.policy; 3], ..d.clone() };
        let c = ctx(&p, &l, &net, &d2, &plin, &[true; 3], &[false; 3], &[0; 3]);
        let next = c.step(0, &mut lin);
        assert_eq!(next.policy, Policy { bits: 0b0000, mask: 0b1111 });
        assert_eq!(&lin[..2], &[7, 8]);
        // Direct mode takes the programme's setting at once.
        let p = ZoneParams { compliance_mode: ComplianceMode::Direct, ..p };
        let c = ctx(&p, &l, &net, &d, &plin, &[true; 3], &[false; 3], &[0; 3]);
        assert_eq!(c.step(0, &mut lin).policy, Policy::set(0, 4));
    }

    #[test]
    fn inactive_zones_do_not_change() {
        let (l, net) = world();
        let d = prev(&[0b0000, 0b1111, 0b0000]);
        let p = ZoneParams::default();
        let c = ctx(&p, &l, &net, &d, &[0; 4], &[false; 3], &[false; 3], &[0; 3]);
        let mut lin = [0u32; 4];
        let next = c.step(0, &mut lin);
        assert_eq!(next.policy, d.policy[0]);
        assert_eq!(next.outcome, Outcome::default());
    }

    #[test]
    fn deterrence_formula() {
        assert_eq!(effective_detection(0.5, 1), 0.5);
        assert_eq!(effective_detection(0.5, 2), 0.75);
        assert_eq!(effective_detection(0.5, 0), 0.0);
        assert!((effective_detection(0.2, 3) - (1.0 - 0.8f64.powi(3))).abs() < 1e-15);
    }

    #[test]
    fn pick_distinct_gives_exact_counts() {
        let mut r = StreamKey::new(1, 0).tick(Purpose::ZoneStep, 0, 0);
        for count in 0..=20 {
            assert_eq!(pick_distinct(&mut r, 20, count).count_ones(), count);
        }
    }
}

/// Property tests of the imitation choice: the fast best-neighbour scan against naive scans.
#[cfg(test)]
mod properties {
    use super::*;
    use crate::foundation::{Purpose, StreamKey};
    use crate::model::landscape::{Kind, Target};
    use crate::model::network::Csr;
    use proptest::prelude::*;

    /// Fixed and fast: no persisted failures, no time limits, the same cases on every run.
    fn config(cases: u32) -> ProptestConfig {
        ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
    }

    /// The slow truth for a sorted neighbour list: one left-to-right scan from -inf with a
    /// strict `>`, so the first (lowest id) of equal maxima wins and -inf or NaN never wins.
    fn scan_list(list: &[u32], obs: &[f64]) -> Option<usize> {
        let mut best = None;
        let mut best_obs = f64::NEG_INFINITY;
        for &j in list {
            if obs[j as usize] > best_obs {
                best = Some(j as usize);
                best_obs = obs[j as usize];
            }
        }
        best
    }

    /// The slow truth for the whole rule (DESIGN 3.2, `StepCtx::best_neighbour`): of every
    /// zone other than z that z can see (a neighbour, any zone on a full network, or a
    /// showcased zone), the one observed best, ties to the lowest id; zones at -inf (not
    /// entered) never count. Scans all zone ids in order and asks membership, rather than
    /// walking lists or using the precomputed top two.
    fn scan_all(z: usize, net: &Network, showcased: &[bool], obs: &[f64]) -> Option<usize> {
        let sees = |j: usize| match net {
            Network::Full { .. } => true,
            Network::Csr(c) => c.neighbours(z).contains(&(j as u32)),
        };
        let mut best = None;
        let mut best_obs = f64::NEG_INFINITY;
        for j in (0..obs.len()).filter(|&j| j != z && (sees(j) || showcased[j])) {
            if obs[j] > best_obs {
                best = Some(j);
                best_obs = obs[j];
            }
        }
        best
    }

    /// A context for `best_neighbour`, which reads only the network, the observations and
    /// the two precomputed top-two lists; the rest is filler.
    fn ctx<'a>(
        p: &'a ZoneParams,
        land: &'a Landscape,
        net: &'a Network,
        prev: &'a Dyn,
        flags: &'a [bool],
        showcase_best: [Option<u32>; 2],
        full_best: [Option<u32>; 2],
    ) -> StepCtx<'a> {
        StepCtx {
            p,
            n: 4,
            tick: 1,
            streams: StreamKey::new(1, 0).prefix(Purpose::ZoneStep, 1),
            landscape: land,
            landscape_unchanged: true,
            network: net,
            programme: Policy::default(),
            programme_lineage: &[0; 4],
            mandate: 0,
            reference: &[0.0],
            showcase_best,
            full_best,
            detection: 0.0,
            tolerance: 0.0,
            prev,
            active: flags,
            pilot: flags,
            context: &[],
        }
    }

    /// Observations of entered zones: four levels, so that ties are common.
    fn level() -> impl Strategy<Value = f64> {
        (0u8..4).prop_map(|v| v as f64 * 0.25)
    }

    /// Observations for the bare scan: levels plus -inf (a zone not entered) and NaN.
    fn any_score() -> impl Strategy<Value = f64> {
        prop_oneof![6 => level(), 2 => Just(f64::NEG_INFINITY), 1 => Just(f64::NAN)]
    }

    /// A random undirected graph on `m` zones: any degree from 0 up, odd and even lists.
    fn edges(m: usize) -> impl Strategy<Value = Vec<(u32, u32)>> {
        prop::collection::vec((0..m as u32, 0..m as u32), 0..=4 * m)
    }

    proptest! {
        #![proptest_config(config(1024))]

        /// Guards the CSR scan of `best_neighbour` (two interleaved running maxima over even
        /// and odd positions, merged with ties to the lower id, the odd last entry folded
        /// into the even chain). Slow truth: one plain left-to-right scan of the sorted list
        /// with a strict `>`. Scores include ties, -inf and NaN; no showcase.
        #[test]
        fn csr_scan_equals_a_left_to_right_scan(
            (m, edges, obs) in (1usize..=40).prop_flat_map(|m| (Just(m), edges(m), prop::collection::vec(any_score(), m)))
        ) {
            let csr = Csr::from_edges(m, &edges);
            let net = Network::Csr(csr.clone());
            let land = Landscape { n: 4, kind: Kind::Target(Target { reality: vec![0] }), max: vec![1.0] };
            let prev = Dyn { observed: obs.clone(), ..Dyn::new(m, 4) };
            let p = ZoneParams::default();
            let flags = vec![true; m];
            let c = ctx(&p, &land, &net, &prev, &flags, [None, None], [None, None]);
            for z in 0..m {
                prop_assert_eq!(c.best_neighbour(z), scan_list(csr.neighbours(z), &obs), "zone {}", z);
            }
        }

        /// Guards the whole choice of whom to imitate: the CSR scan, the full network's
        /// precomputed two best active zones (`full_best`) and the showcase's precomputed two
        /// best (`showcase_best`), built with `top_two` as `Replication::step_zones` builds
        /// them, and their merge. Slow truth: `scan_all`, every visible zone in id order.
        /// Entered zones hold tied finite scores, the others -inf (as in the model);
        /// showcased zones are entered ones (the centre picks them among active zones).
        #[test]
        fn best_neighbour_equals_a_scan_of_every_visible_zone(
            (m, edges, active, obs, shown, full) in (1usize..=40).prop_flat_map(|m| (
                Just(m),
                edges(m),
                prop::collection::vec(prop::bool::weighted(0.8), m),
                prop::collection::vec(level(), m),
                prop::collection::vec(prop::bool::weighted(0.15), m),
                prop::bool::weighted(0.3),
            ))
        ) {
            let net = if full { Network::Full { zones: m as u32 } } else { Network::Csr(Csr::from_edges(m, &edges)) };
            let obs: Vec<f64> = (0..m).map(|z| if active[z] { obs[z] } else { f64::NEG_INFINITY }).collect();
            let showcased: Vec<bool> = (0..m).map(|z| shown[z] && active[z]).collect();
            let showcase_best = top_two((0..m).filter(|&z| showcased[z]), &obs);
            let full_best = if full { top_two((0..m).filter(|&z| active[z]), &obs) } else { [None, None] };
            let land = Landscape { n: 4, kind: Kind::Target(Target { reality: vec![0] }), max: vec![1.0] };
            let prev = Dyn { observed: obs.clone(), ..Dyn::new(m, 4) };
            let p = ZoneParams::default();
            let c = ctx(&p, &land, &net, &prev, &active, showcase_best, full_best);
            for z in 0..m {
                prop_assert_eq!(c.best_neighbour(z), scan_all(z, &net, &showcased, &obs), "zone {}", z);
            }
        }
    }
}
