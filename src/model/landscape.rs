//! What a policy is worth, per context (region). Two kinds: Kauffman's NK landscape and
//! March's (1991) target ("reality") landscape. Each entry of a context's table is the
//! global entry with probability sqrt(context_similarity), else a local draw, so each
//! context's values stay uniform and two contexts correlate by exactly the similarity.

use crate::foundation::{Draw, Purpose, StreamKey};
use crate::model::policy::{Policy, full_mask};
use crate::model::tabulate::{self, Plan};
use crate::scenario::{LandscapeKind, LandscapeParams, Neighbourhood};
use rayon::prelude::*;
use std::sync::Arc;

/// One landscape per replication: `contexts` value tables that may share entries.
#[derive(Clone, Debug)]
pub struct Landscape {
    pub(crate) n: u32,
    pub(crate) kind: Kind,
    /// Landscape maximum per context, when normalisation is on (else 1.0).
    pub(crate) max: Vec<f64>,
}

#[derive(Clone, Debug)]
pub(crate) enum Kind {
    Nk(Nk),
    Target(Target),
}

#[derive(Clone, Debug)]
pub(crate) struct Nk {
    /// log2 of the table row length (K + 1).
    pub(crate) row_bits: u32,
    /// For each instrument b, the instruments whose contribution depends on b.
    pub(crate) affected: Vec<u64>,
    /// Byte-wise gather tables: `lookup[i * bytes + j][v]` is the part of
    /// instrument i's table index given by byte j of the policy having value v. One
    /// lookup per byte replaces a loop over the K + 1 dependency bits.
    lookup: Vec<[u32; 256]>,
    bytes: usize,
    /// `tables[c][i << row_bits | index]`: contribution of instrument i in context c,
    /// in units of 2^-24.
    pub(crate) tables: Vec<Vec<u32>>,
    /// Global table for the shared component (kept for turbulence).
    global: Vec<u32>,
    similarity: f64,
    /// For each instrument i, the instruments its contribution depends on (i included).
    deps: Vec<u64>,
    /// Whether every context has the global table (one context, or similarity 1).
    shared: bool,
    /// Per context, when tabulated: the exact contribution sum of every fully set policy,
    /// indexed by its bits (2^N entries, shared by contexts with the same table). A
    /// fitness is then one lookup; the sums are those of [`Nk::sum`], so the values are
    /// bit-identical. Dropped by turbulence.
    full: Vec<Option<Arc<Vec<u32>>>>,
}

impl Drop for Nk {
    fn drop(&mut self) {
        self.drop_tables();
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Target {
    /// Reality vector per context.
    pub(crate) reality: Vec<u64>,
}

/// Gather the bits of `x` selected by `mask` into the low bits (software PEXT, without
/// data-dependent branches: the loop runs popcount(mask) times whatever `x` is).
#[inline]
pub(crate) fn gather(x: u64, mut mask: u64) -> usize {
    let mut out = 0usize;
    let mut k = 0;
    while mask != 0 {
        out |= (((x >> mask.trailing_zeros()) & 1) as usize) << k;
        k += 1;
        mask &= mask - 1;
    }
    out
}

/// NK contributions are 24-bit fractions held as integers, so a fitness is an exact
/// integer sum divided by this per instrument: sums are associative, and a fitness
/// updated incrementally after a change is bit-identical to one computed afresh.
const UNIT: f64 = (1u64 << 24) as f64;

impl Landscape {
    /// Draws the landscape of one replication, every context in use.
    pub fn build(p: &LandscapeParams, contexts: usize, key: &StreamKey) -> Landscape {
        Landscape::build_for(p, &vec![true; contexts], key, false)
    }

    /// [`Landscape::build`] with every used context's fitness of all 2^N policies kept
    /// (NK with N at most 24; a no-op otherwise): the fast path for a run whose zones
    /// evaluate many policies, a fitness then being one lookup. Values are bit-identical
    /// to the untabulated landscape's.
    pub fn build_tabulated(p: &LandscapeParams, contexts: usize, key: &StreamKey) -> Landscape {
        Landscape::build_for(p, &vec![true; contexts], key, true)
    }

    /// Draws the landscape of one replication with `used.len()` contexts. With
    /// normalisation, the maximum is searched (2^N policies each) only for the contexts in
    /// use; the others keep 1.0, and no zone reads them. A used context's maximum does not
    /// depend on which others are used. `tabulate`: keep every used context's fitness
    /// of all 2^N policies (see [`Nk::full`]), when N is at most [`tabulate::MAX_N`].
    pub(crate) fn build_for(p: &LandscapeParams, used: &[bool], key: &StreamKey, tabulate: bool) -> Landscape {
        let contexts = used.len();
        let n = p.n;
        let kind = match p.kind {
            LandscapeKind::Nk => Kind::Nk(Nk::build(p, contexts, key)),
            LandscapeKind::Target => {
                let mut g = key.setup(Purpose::Landscape, 0, u64::MAX);
                let global = g.next_u64_masked(n);
                let share = p.context_similarity.sqrt();
                let reality = (0..contexts)
                    .map(|c| {
                        let mut r = key.setup(Purpose::Landscape, 0, c as u64);
                        let local = r.next_u64_masked(n);
                        let mut v = 0u64;
                        for i in 0..n {
                            let src = if r.chance(share) { global } else { local };
                            v |= src & (1 << i);
                        }
                        v
                    })
                    .collect();
                Kind::Target(Target { reality })
            }
        };
        let mut l = Landscape { n, kind, max: vec![1.0; contexts] };
        let tabulate = tabulate && n <= tabulate::MAX_N;
        if let Kind::Nk(nk) = &mut l.kind
            && (p.normalise || tabulate)
        {
            let denom = UNIT * n as f64;
            let best = nk.survey(used, tabulate);
            if p.normalise {
                // Division by a positive constant is monotone, so the largest sum gives
                // exactly the largest of the fitness values.
                l.max = best.iter().map(|b| b.map_or(1.0, |s| s as f64 / denom)).collect();
            }
        }
        l
    }

    pub(crate) fn contexts(&self) -> usize {
        self.max.len()
    }

    /// Fitness in [0, 1] of a policy in context `c`. NK: mean of the N contributions, with
    /// unset instruments read as 0. Target: share of instruments matching reality, an unset
    /// one counting half (March 1991 scores beliefs +1, 0 or -1).
    #[inline]
    pub fn fitness(&self, c: usize, p: Policy) -> f64 {
        match &self.kind {
            Kind::Nk(nk) => match nk.full.get(c) {
                Some(Some(t)) => t[(p.bits & p.mask & full_mask(self.n)) as usize] as f64 / (UNIT * self.n as f64),
                _ => nk.fitness(c, p.bits & p.mask, self.n),
            },
            Kind::Target(t) => {
                // March's +1/0/-1 scale mapped to [0, 1]: an unset instrument is worth half
                // a match, what a coin flip on it would score on average.
                let full = full_mask(self.n);
                let hits = !(p.bits ^ t.reality[c]) & p.mask & full;
                let unset = !p.mask & full;
                (2 * hits.count_ones() + unset.count_ones()) as f64 / (2 * self.n) as f64
            }
        }
    }

    /// Fitness of `new`, given that `old` has fitness `old_fit` in context c. Only the
    /// contributions that depend on a changed instrument are looked up again; the result
    /// is bit-identical to `fitness(c, new)`.
    #[inline(always)]
    pub fn refit(&self, c: usize, old: Policy, old_fit: f64, new: Policy) -> f64 {
        let Kind::Nk(nk) = &self.kind else { return self.fitness(c, new) };
        if let Some(Some(_)) = nk.full.get(c) {
            return self.fitness(c, new);
        }
        let (ob, nb) = (old.bits & old.mask, new.bits & new.mask);
        let mut changed = ob ^ nb;
        let mut affected = 0u64;
        while changed != 0 {
            affected |= nk.affected[changed.trailing_zeros() as usize];
            changed &= changed - 1;
        }
        // Two lookups per affected instrument against one per instrument afresh.
        if affected.count_ones() * 2 > self.n {
            return self.fitness(c, new);
        }
        let denom = UNIT * self.n as f64;
        // old_fit * denom is a non-negative integer up to rounding: +0.5 then truncate is
        // exact, and inline (f64::round is a libm call).
        let old_sum = (old_fit * denom + 0.5) as i64;
        let delta = match nk.bytes {
            1 => nk.delta::<1>(c, affected, ob, nb),
            2 => nk.delta::<2>(c, affected, ob, nb),
            3 => nk.delta::<3>(c, affected, ob, nb),
            4 => nk.delta::<4>(c, affected, ob, nb),
            5 => nk.delta::<5>(c, affected, ob, nb),
            6 => nk.delta::<6>(c, affected, ob, nb),
            7 => nk.delta::<7>(c, affected, ob, nb),
            _ => nk.delta::<8>(c, affected, ob, nb),
        };
        (old_sum + delta) as f64 / denom
    }

    /// Turbulence for one tick: NK entries are redrawn, target dimensions flip, each with
    /// probability `rate`, the same positions in every context.
    pub(crate) fn shake(&mut self, rate: f64, key: &StreamKey, tick: u64) {
        if rate <= 0.0 {
            return;
        }
        let mut r = key.setup(Purpose::Turbulence, tick, 0);
        match &mut self.kind {
            Kind::Nk(nk) => nk.shake(rate, &mut r),
            Kind::Target(t) => {
                for i in 0..self.n {
                    if r.chance(rate) {
                        for v in t.reality.iter_mut() {
                            *v ^= 1 << i;
                        }
                    }
                }
            }
        }
    }
}

trait MaskedDraw {
    fn next_u64_masked(&mut self, n: u32) -> u64;
}
impl<R: rand::Rng> MaskedDraw for R {
    fn next_u64_masked(&mut self, n: u32) -> u64 {
        self.next_u64() & full_mask(n)
    }
}

impl Nk {
    fn build(p: &LandscapeParams, contexts: usize, key: &StreamKey) -> Nk {
        let n = p.n;
        let k = p.k;
        let mut r = key.setup(Purpose::Landscape, 0, u64::MAX - 1);
        let deps: Vec<u64> = (0..n)
            .map(|i| {
                let mut m = 1u64 << i;
                match p.neighbourhood {
                    Neighbourhood::Adjacent => {
                        for j in 1..=k {
                            m |= 1 << ((i + j) % n);
                        }
                    }
                    Neighbourhood::Random => {
                        // K distinct others, by partial Fisher-Yates over the other N-1.
                        let mut others: Vec<u32> = (0..n).filter(|&j| j != i).collect();
                        for j in 0..k as usize {
                            let pick = j + r.below((others.len() - j) as u64) as usize;
                            others.swap(j, pick);
                            m |= 1 << others[j];
                        }
                    }
                    Neighbourhood::RandomWithReplacement => {
                        for _ in 0..k {
                            m |= 1 << r.below(n as u64);
                        }
                    }
                }
                m
            })
            .collect();
        let row_bits = k + 1;
        let len = (n as usize) << row_bits;
        let mut g = key.setup(Purpose::Landscape, 0, u64::MAX);
        let global: Vec<u32> = (0..len).map(|_| unit24(&mut g)).collect();
        let shared = contexts <= 1 || p.context_similarity >= 1.0;
        let share = p.context_similarity.sqrt();
        let tables = if shared {
            vec![global.clone(); contexts.max(1)]
        } else {
            (0..contexts)
                .map(|c| {
                    let mut r = key.setup(Purpose::Landscape, 0, c as u64);
                    global
                        .iter()
                        .map(|&gv| {
                            let take_global = r.chance(share);
                            let local = unit24(&mut r);
                            if take_global { gv } else { local }
                        })
                        .collect()
                })
                .collect()
        };
        let affected =
            (0..n).map(|b| (0..n).filter(|&i| deps[i as usize] >> b & 1 == 1).fold(0u64, |m, i| m | 1 << i)).collect();
        let bytes = (n as usize).div_ceil(8);
        let mut lookup = vec![[0u32; 256]; n as usize * bytes];
        for (i, &dep) in deps.iter().enumerate() {
            for j in 0..bytes {
                // A gather is the OR of its bits' gathers: each entry is the one without
                // its lowest bit plus that bit's, so a byte's table costs 256 ORs.
                let bit: [u32; 8] = std::array::from_fn(|t| gather(1 << (8 * j + t), dep) as u32);
                let row = &mut lookup[i * bytes + j];
                for v in 1..256usize {
                    row[v] = row[v & (v - 1)] | bit[v.trailing_zeros() as usize];
                }
            }
        }
        let full = vec![None; tables.len()];
        Nk { affected, lookup, bytes, row_bits, tables, global, similarity: p.context_similarity, deps, shared, full }
    }

    /// The largest contribution sum of each used context (None for the others), by
    /// exhaustive enumeration of the 2^N fully set policies; with `tabulate`, every sum is
    /// kept in [`Nk::full`]. Contexts that share the global table are enumerated once.
    fn survey(&mut self, used: &[bool], tabulate: bool) -> Vec<Option<u32>> {
        let n = self.deps.len() as u32;
        let plan = (n >= tabulate::MIN_N).then(|| Plan::new(&self.deps, self.row_bits));
        // Contexts that share the global table: the first used one stands for all.
        let todo: Vec<usize> =
            (0..used.len()).filter(|&c| used[c]).take(if self.shared { 1 } else { usize::MAX }).collect();
        // Contexts are independent, so they are enumerated in parallel (a single
        // replication with many contexts uses every thread); each result goes to its own
        // context, so the order of completion does not matter.
        let this = &*self;
        let found: Vec<(u32, Option<Arc<Vec<u32>>>)> = todo
            .par_iter()
            .map(|&c| {
                let mut out = tabulate.then(|| tabulate::table(1 << n));
                let b = match &plan {
                    Some(plan) => plan.run(&this.tables[c], out.as_deref_mut()),
                    None => (0..1u64 << n).fold(0, |m, x| {
                        let s = this.sum_any(c, x) as u32;
                        if let Some(o) = out.as_deref_mut() {
                            o[x as usize] = s;
                        }
                        m.max(s)
                    }),
                };
                (b, out.map(Arc::new))
            })
            .collect();
        let mut best = vec![None; used.len()];
        for (k, c) in (0..used.len()).filter(|&c| used[c]).enumerate() {
            let (b, t) = &found[if self.shared { 0 } else { k }];
            (best[c], self.full[c]) = (Some(*b), t.clone());
        }
        best
    }

    /// Forgets the tabulated sums, handing the tables no other landscape shares back
    /// for the next landscape built on this thread.
    fn drop_tables(&mut self) {
        for t in self.full.iter_mut().filter_map(Option::take) {
            if let Ok(t) = Arc::try_unwrap(t) {
                tabulate::recycle(t);
            }
        }
    }

    /// The contribution sum of `bits` in context c, at any width.
    fn sum_any(&self, c: usize, bits: u64) -> u64 {
        match self.bytes {
            1 => self.sum::<1>(c, bits),
            2 => self.sum::<2>(c, bits),
            3 => self.sum::<3>(c, bits),
            4 => self.sum::<4>(c, bits),
            5 => self.sum::<5>(c, bits),
            6 => self.sum::<6>(c, bits),
            7 => self.sum::<7>(c, bits),
            _ => self.sum::<8>(c, bits),
        }
    }

    #[inline]
    pub(crate) fn fitness(&self, c: usize, bits: u64, n: u32) -> f64 {
        // One monomorphic, unrolled loop per policy width in bytes.
        self.sum_any(c, bits) as f64 / (UNIT * n as f64)
    }

    #[inline(always)]
    fn sum<const B: usize>(&self, c: usize, bits: u64) -> u64 {
        let rows = self.tables[c].chunks_exact(1 << self.row_bits);
        let mut sum = 0u64;
        for (lookup, row) in self.lookup.chunks_exact(B).zip(rows) {
            let lookup: &[[u32; 256]; B] = lookup.try_into().expect("chunks of B");
            let mut idx = 0u32;
            for (j, t) in lookup.iter().enumerate() {
                idx |= t[((bits >> (8 * j)) & 0xFF) as usize];
            }
            sum += row[idx as usize] as u64;
        }
        sum
    }

    /// Change of the contribution sum of the `affected` instruments from `old` to `new`.
    #[inline(always)]
    fn delta<const B: usize>(&self, c: usize, mut affected: u64, old: u64, new: u64) -> i64 {
        let table = &self.tables[c];
        let mut delta = 0i64;
        while affected != 0 {
            let i = affected.trailing_zeros() as usize;
            let lookup: &[[u32; 256]; B] = self.lookup[i * B..(i + 1) * B].try_into().expect("B tables");
            let (mut a, mut b) = (0u32, 0u32);
            for (j, t) in lookup.iter().enumerate() {
                a |= t[((old >> (8 * j)) & 0xFF) as usize];
                b |= t[((new >> (8 * j)) & 0xFF) as usize];
            }
            let row = i << self.row_bits;
            delta += table[row | b as usize] as i64 - table[row | a as usize] as i64;
            affected &= affected - 1;
        }
        delta
    }

    fn shake(&mut self, rate: f64, r: &mut impl rand::Rng) {
        // The tabulated sums are of the tables before the shake.
        self.drop_tables();
        let share = self.similarity.sqrt();
        for pos in 0..self.global.len() {
            if r.chance(rate) {
                self.global[pos] = unit24(r);
                for t in self.tables.iter_mut() {
                    let take_global = r.chance(share);
                    let local = unit24(r);
                    t[pos] = if take_global { self.global[pos] } else { local };
                }
            }
        }
    }
}

/// Uniform in [0, 2^24): a contribution in [0, 1) in units of 2^-24.
fn unit24(r: &mut impl rand::Rng) -> u32 {
    r.next_u32() >> 8
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng as _;

    fn nk(n: u32, k: u32, seed: u64) -> Landscape {
        let p = LandscapeParams { n, k, ..LandscapeParams::default() };
        Landscape::build(&p, 1, &StreamKey::new(seed, 0))
    }

    /// Local optima among fully set policies (no single flip improves).
    fn local_optima(l: &Landscape) -> usize {
        let n = l.n;
        (0..1u64 << n)
            .filter(|&b| {
                let f = l.fitness(0, Policy::set(b, n));
                (0..n).all(|i| l.fitness(0, Policy::set(b ^ (1 << i), n)) <= f)
            })
            .count()
    }

    #[test]
    fn normalisation_searches_only_the_contexts_in_use() {
        let p = LandscapeParams { n: 12, k: 3, normalise: true, context_similarity: 0.3, ..LandscapeParams::default() };
        let key = StreamKey::new(3, 0);
        let all = Landscape::build(&p, 6, &key);
        let used = [false, true, false, false, true, false];
        let some = Landscape::build_for(&p, &used, &key, false);
        for (c, &in_use) in used.iter().enumerate() {
            if in_use {
                assert_eq!(some.max[c].to_bits(), all.max[c].to_bits(), "context {c}");
                assert!(some.max[c] < 1.0);
            } else {
                // Not searched: no zone is in it.
                assert_eq!(some.max[c], 1.0);
            }
        }
        // One small region at the last context: a single search, not 4096.
        let mut last = vec![false; 4096];
        last[4095] = true;
        let l = Landscape::build_for(&LandscapeParams { n: 8, k: 2, ..p }, &last, &key, false);
        assert!(l.max[4095] < 1.0 && l.max[..4095].iter().all(|&m| m == 1.0));
    }

    #[test]
    fn gather_is_pext() {
        assert_eq!(gather(0b1011_0110, 0b1111_0000), 0b1011);
        assert_eq!(gather(0b1011_0110, 0b0101_0101), 0b0110);
        assert_eq!(gather(u64::MAX, 0), 0);
    }

    #[test]
    fn byte_tables_are_the_gathers_of_every_byte() {
        for (n, k) in [(8, 3), (20, 5), (37, 7), (64, 2)] {
            let Kind::Nk(t) = nk(n, k, 5).kind else { panic!("an NK landscape") };
            for (i, &dep) in t.deps.iter().enumerate() {
                for j in 0..t.bytes {
                    for v in 0..256u64 {
                        assert_eq!(t.lookup[i * t.bytes + j][v as usize], gather(v << (8 * j), dep) as u32);
                    }
                }
            }
        }
    }

    #[test]
    fn k0_has_exactly_one_local_optimum() {
        for seed in 0..3 {
            assert_eq!(local_optima(&nk(12, 0, seed)), 1);
        }
    }

    #[test]
    fn local_optima_grow_with_k() {
        let counts: Vec<usize> = [0, 2, 5, 11].iter().map(|&k| local_optima(&nk(12, k, 42))).collect();
        assert!(counts.windows(2).all(|w| w[0] < w[1]), "{counts:?}");
    }

    #[test]
    fn random_policies_have_mean_half_and_known_spread() {
        let n = 20;
        let l = nk(n, 5, 3);
        let mut r = StreamKey::new(1, 0).tick(Purpose::ZoneStep, 0, 0);
        let m = 20_000;
        let fs: Vec<f64> = (0..m).map(|_| l.fitness(0, Policy::set(r.next_u64(), n))).collect();
        let mean = fs.iter().sum::<f64>() / m as f64;
        let sd = (fs.iter().map(|f| (f - mean).powi(2)).sum::<f64>() / m as f64).sqrt();
        let expected = (1.0 / (12.0 * n as f64)).sqrt();
        assert!((mean - 0.5).abs() < 0.02, "mean {mean}");
        assert!((sd - expected).abs() < 0.25 * expected, "sd {sd} vs {expected}");
    }

    #[test]
    fn refit_equals_fitness_bit_for_bit() {
        let n = 20;
        let l = nk(n, 5, 11);
        let mut r = StreamKey::new(2, 0).tick(Purpose::ZoneStep, 0, 0);
        for _ in 0..2000 {
            let old = Policy::set(r.next_u64(), n);
            let flips = (0..r.below(4) + 1).fold(0u64, |m, _| m | 1 << r.below(n as u64));
            let new = Policy::set(old.bits ^ flips, n);
            let f = l.fitness(0, old);
            assert_eq!(l.refit(0, old, f, new).to_bits(), l.fitness(0, new).to_bits());
        }
    }

    #[test]
    fn target_scores_matches_and_half_for_unset() {
        let l = Landscape { n: 4, kind: Kind::Target(Target { reality: vec![0b1010] }), max: vec![1.0] };
        assert_eq!(l.fitness(0, Policy { bits: 0b1010, mask: 0b1111 }), 1.0);
        assert_eq!(l.fitness(0, Policy { bits: 0b1010, mask: 0b0011 }), 0.75);
        assert_eq!(l.fitness(0, Policy { bits: 0b0011, mask: 0b0011 }), 0.5);
        assert_eq!(l.fitness(0, Policy { bits: 0, mask: 0 }), 0.5);
        assert_eq!(l.fitness(0, Policy { bits: 0b0101, mask: 0b1111 }), 0.0);
    }

    #[test]
    fn similarity_one_gives_identical_contexts_and_zero_different() {
        let p = LandscapeParams { n: 8, k: 2, context_similarity: 1.0, ..LandscapeParams::default() };
        let l = Landscape::build(&p, 3, &StreamKey::new(5, 0));
        let p0 = Policy::set(0b1011_0001, 8);
        assert_eq!(l.fitness(0, p0), l.fitness(2, p0));
        let p = LandscapeParams { n: 8, k: 2, context_similarity: 0.0, ..LandscapeParams::default() };
        let l = Landscape::build(&p, 3, &StreamKey::new(5, 0));
        assert_ne!(l.fitness(0, p0), l.fitness(2, p0));
    }

    #[test]
    fn context_similarity_is_the_correlation_between_contexts() {
        for s in [0.25, 0.5, 0.8] {
            let p = LandscapeParams { n: 16, k: 7, context_similarity: s, ..LandscapeParams::default() };
            let Kind::Nk(nk) = Landscape::build(&p, 2, &StreamKey::new(9, 0)).kind else { unreachable!() };
            let (a, b) = (&nk.tables[0], &nk.tables[1]);
            let m = a.len() as f64;
            let mean = |t: &Vec<u32>| t.iter().map(|&x| x as f64).sum::<f64>() / m;
            let (ma, mb) = (mean(a), mean(b));
            let cov = a.iter().zip(b).map(|(&x, &y)| (x as f64 - ma) * (y as f64 - mb)).sum::<f64>() / m;
            let var = |t: &Vec<u32>, mt: f64| t.iter().map(|&x| (x as f64 - mt).powi(2)).sum::<f64>() / m;
            let corr = cov / (var(a, ma) * var(b, mb)).sqrt();
            assert!((corr - s).abs() < 0.03, "similarity {s}: correlation {corr}");
        }
    }

    #[test]
    fn turbulence_flips_reality() {
        let p = LandscapeParams { kind: LandscapeKind::Target, n: 30, k: 0, ..LandscapeParams::default() };
        let key = StreamKey::new(1, 0);
        let mut l = Landscape::build(&p, 1, &key);
        let before = match &l.kind {
            Kind::Target(t) => t.reality[0],
            _ => unreachable!(),
        };
        l.shake(1.0, &key, 1);
        let after = match &l.kind {
            Kind::Target(t) => t.reality[0],
            _ => unreachable!(),
        };
        assert_eq!(before ^ after, full_mask(30));
    }
}

/// Property tests of the incremental fitness against fitness computed afresh.
#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    /// One change of policy: an instrument and what happens to it.
    #[derive(Clone, Copy, Debug)]
    enum Edit {
        /// A set instrument flips (an unset one becomes set to 1).
        Flip(u32),
        /// A set instrument becomes unset, an unset one set to 0 (compliance one step).
        Toggle(u32),
    }

    /// A step of a chain: a few edits (the zone step's imitations, experiments and
    /// compliance change one to a few instruments) or, now and then, a new random policy
    /// (most instruments affected: `refit`'s recompute-afresh branch).
    #[derive(Clone, Debug)]
    enum Change {
        Few(Vec<Edit>),
        Many { bits: u64, mask: u64 },
    }

    fn edit() -> impl Strategy<Value = Edit> {
        prop_oneof![3 => (0u32..64).prop_map(Edit::Flip), 1 => (0u32..64).prop_map(Edit::Toggle)]
    }

    fn change() -> impl Strategy<Value = Change> {
        prop_oneof![
            6 => prop::collection::vec(edit(), 1..=3).prop_map(Change::Few),
            1 => (any::<u64>(), any::<u64>()).prop_map(|(bits, mask)| Change::Many { bits, mask }),
        ]
    }

    /// Applies a change on n instruments (edits at instrument i mod n), keeping bits within
    /// the mask as the zone step does.
    fn apply(p: Policy, c: &Change, n: u32) -> Policy {
        let full = full_mask(n);
        match c {
            Change::Many { bits, mask } => Policy { bits: bits & mask & full, mask: mask & full },
            Change::Few(edits) => edits.iter().fold(p, |q, e| match *e {
                Edit::Flip(i) => {
                    let b = 1u64 << (i % n);
                    if q.mask & b != 0 {
                        Policy { bits: q.bits ^ b, ..q }
                    } else {
                        Policy { bits: q.bits | b, mask: q.mask | b }
                    }
                }
                Edit::Toggle(i) => {
                    let b = 1u64 << (i % n);
                    Policy { bits: q.bits & !b, mask: q.mask ^ b }
                }
            }),
        }
    }

    fn params(kind: LandscapeKind, n: u32, k: u32, hood: u8, similarity: f64) -> LandscapeParams {
        let neighbourhood =
            [Neighbourhood::Adjacent, Neighbourhood::Random, Neighbourhood::RandomWithReplacement][hood as usize];
        LandscapeParams {
            kind,
            n,
            k: k.min(n - 1),
            neighbourhood,
            context_similarity: similarity,
            ..LandscapeParams::default()
        }
    }

    /// How many refits took the incremental path, over every case of the property below:
    /// the check that the generated chains exercise it, not only the fallback.
    static FAST: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

    /// Guards `Landscape::refit` (only the contributions that depend on a changed
    /// instrument are looked up again, through `Nk::delta::<B>`, one monomorphic copy per
    /// policy width in bytes, or afresh when more than half are affected; the target
    /// kind always afresh). Slow truth: `Landscape::fitness` of the new policy. The code
    /// promises bit-identity (integer contributions, one division), so f64 bits are
    /// compared exactly, along a chain in which each refit's result is the next one's
    /// old fitness, as in the zone step. Every width N = 1..=64 (all eight B), both
    /// kinds, every neighbourhood, several contexts, before and after turbulence.
    #[test]
    fn refit_equals_fitness_afresh_at_every_width() {
        use proptest::test_runner::{Config, TestRunner};
        let strategy = (
            any::<u64>(),
            prop::bool::weighted(0.25),
            0u32..=6,
            0u8..3,
            prop::sample::select(vec![0.0, 0.4, 1.0]),
            1usize..=3,
            0usize..3,
            any::<bool>(),
            (any::<u64>(), any::<u64>()),
            prop::collection::vec(change(), 1..=12),
        );
        let mut runner = TestRunner::new(Config { cases: 64, failure_persistence: None, ..Config::default() });
        runner
            .run(&strategy, |(seed, target, k, hood, similarity, contexts, context, shake, start, chain)| {
                refit_chain(seed, target, k, hood, similarity, contexts, context, shake, start, chain)
            })
            .unwrap();
        assert!(FAST.load(std::sync::atomic::Ordering::Relaxed) > 0, "the incremental path was never taken");
    }

    #[allow(clippy::too_many_arguments)]
    fn refit_chain(
        seed: u64,
        target: bool,
        k: u32,
        hood: u8,
        similarity: f64,
        contexts: usize,
        context: usize,
        shake: bool,
        start: (u64, u64),
        chain: Vec<Change>,
    ) -> Result<(), TestCaseError> {
        let kind = if target { LandscapeKind::Target } else { LandscapeKind::Nk };
        for n in 1..=64u32 {
            let key = StreamKey::new(seed, n as u64);
            let mut l = Landscape::build(&params(kind, n, k, hood, similarity), contexts, &key);
            if shake {
                l.shake(0.3, &key, 1);
            }
            let full = full_mask(n);
            let c = context % contexts;
            let mut pol = Policy { bits: start.0 & start.1 & full, mask: start.1 & full };
            let mut fit = l.fitness(c, pol);
            for change in &chain {
                let new = apply(pol, change, n);
                if let Kind::Nk(nk) = &l.kind {
                    let changed = (pol.bits & pol.mask) ^ (new.bits & new.mask);
                    let affected =
                        (0..n).filter(|&b| changed >> b & 1 == 1).fold(0, |a, b| a | nk.affected[b as usize]);
                    FAST.fetch_add(
                        (affected != 0 && affected.count_ones() * 2 <= n) as u32,
                        std::sync::atomic::Ordering::Relaxed,
                    );
                }
                let got = l.refit(c, pol, fit, new);
                let want = l.fitness(c, new);
                prop_assert_eq!(got.to_bits(), want.to_bits(), "n {} context {}: {:?} -> {:?}", n, c, pol, new);
                (pol, fit) = (new, got);
            }
        }
        Ok(())
    }
}
