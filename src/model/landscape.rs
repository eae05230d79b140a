//! What a policy is worth, per context (region). Two kinds: Kauffman's NK landscape and
//! March's (1991) target ("reality") landscape. Contexts share a global component with
//! probability `context_similarity`, entry by entry, so each context's values stay
//! uniform while their correlation equals the similarity.

use crate::engine::streams::{Draw, Purpose, StreamKey};
use crate::model::policy::{Policy, full_mask};
use crate::scenario::{LandscapeKind, LandscapeParams, Neighbourhood};

/// One landscape per replication: `contexts` value tables that may share entries.
#[derive(Clone, Debug)]
pub struct Landscape {
    pub n: u32,
    pub kind: Kind,
    /// Landscape maximum per context, when normalisation is on (else 1.0).
    pub max: Vec<f64>,
}

#[derive(Clone, Debug)]
pub enum Kind {
    Nk(Nk),
    Target(Target),
}

#[derive(Clone, Debug)]
pub struct Nk {
    /// For each instrument, the mask of the instruments its contribution depends on
    /// (itself included, duplicates folded).
    pub deps: Vec<u64>,
    /// log2 of the table row length (K + 1).
    pub row_bits: u32,
    /// `tables[c][i << row_bits | index]`: contribution of instrument i in context c.
    pub tables: Vec<Vec<f32>>,
    /// Global table for the shared component (kept for turbulence).
    global: Vec<f32>,
    similarity: f64,
}

#[derive(Clone, Debug)]
pub struct Target {
    /// Reality vector per context.
    pub reality: Vec<u64>,
}

/// Gather the bits of `x` selected by `mask` into the low bits (software PEXT).
#[inline]
fn gather(x: u64, mut mask: u64) -> usize {
    let mut out = 0usize;
    let mut bit = 1usize;
    while mask != 0 {
        let low = mask & mask.wrapping_neg();
        if x & low != 0 {
            out |= bit;
        }
        bit <<= 1;
        mask &= mask - 1;
    }
    out
}

impl Landscape {
    /// Draws the landscape of one replication.
    pub fn build(p: &LandscapeParams, contexts: usize, key: &StreamKey) -> Landscape {
        let n = p.n;
        let kind = match p.kind {
            LandscapeKind::Nk => Kind::Nk(Nk::build(p, contexts, key)),
            LandscapeKind::Target => {
                let mut g = key.setup(Purpose::Landscape, 0, u64::MAX);
                let global = g.next_u64_masked(n);
                let reality = (0..contexts)
                    .map(|c| {
                        let mut r = key.setup(Purpose::Landscape, 0, c as u64);
                        let local = r.next_u64_masked(n);
                        let mut v = 0u64;
                        for i in 0..n {
                            let src = if r.chance(p.context_similarity) {
                                global
                            } else {
                                local
                            };
                            v |= src & (1 << i);
                        }
                        v
                    })
                    .collect();
                Kind::Target(Target { reality })
            }
        };
        let mut l = Landscape {
            n,
            kind,
            max: vec![1.0; contexts],
        };
        if p.normalise {
            l.max = (0..contexts).map(|c| l.maximum(c)).collect();
        }
        l
    }

    pub fn contexts(&self) -> usize {
        self.max.len()
    }

    /// Fitness in [0, 1] of a policy in context `c`. NK: mean of the N contributions, with
    /// unset instruments read as 0. Target: share of instruments set and matching reality.
    #[inline]
    pub fn fitness(&self, c: usize, p: Policy) -> f64 {
        match &self.kind {
            Kind::Nk(nk) => nk.fitness(c, p.bits & p.mask, self.n),
            Kind::Target(t) => {
                let hits = !(p.bits ^ t.reality[c]) & p.mask & full_mask(self.n);
                hits.count_ones() as f64 / self.n as f64
            }
        }
    }

    /// The best fitness any fully set policy reaches in context c, by exhaustive search
    /// (N <= 24 is validated before this is asked for).
    pub fn maximum(&self, c: usize) -> f64 {
        match &self.kind {
            Kind::Target(_) => 1.0,
            Kind::Nk(nk) => {
                use rayon::prelude::*;
                let n = self.n;
                // Blocks of the high bits in parallel, the low bits in order within each.
                let low = n.min(12);
                (0..1u64 << (n - low))
                    .into_par_iter()
                    .map(|hi| {
                        (0..1u64 << low)
                            .map(|lo| nk.fitness(c, hi << low | lo, n))
                            .fold(0.0, f64::max)
                    })
                    .reduce(|| 0.0, f64::max)
            }
        }
    }

    /// Turbulence for one tick: NK entries are redrawn, target dimensions flip, each with
    /// probability `rate`, the same positions in every context.
    pub fn shake(&mut self, rate: f64, key: &StreamKey, tick: u64) {
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
        let global: Vec<f32> = (0..len).map(|_| unit_f32(&mut g)).collect();
        let shared = contexts <= 1 || p.context_similarity >= 1.0;
        let tables = if shared {
            vec![global.clone(); contexts.max(1)]
        } else {
            (0..contexts)
                .map(|c| {
                    let mut r = key.setup(Purpose::Landscape, 0, c as u64);
                    global
                        .iter()
                        .map(|&gv| {
                            let take_global = r.chance(p.context_similarity);
                            let local = unit_f32(&mut r);
                            if take_global { gv } else { local }
                        })
                        .collect()
                })
                .collect()
        };
        Nk {
            deps,
            row_bits,
            tables,
            global,
            similarity: p.context_similarity,
        }
    }

    #[inline]
    pub fn fitness(&self, c: usize, bits: u64, n: u32) -> f64 {
        let table = &self.tables[c];
        let mut sum = 0.0f64;
        for i in 0..n as usize {
            let idx = (i << self.row_bits) | gather(bits, self.deps[i]);
            sum += table[idx] as f64;
        }
        sum / n as f64
    }

    fn shake(&mut self, rate: f64, r: &mut impl rand::Rng) {
        for pos in 0..self.global.len() {
            if r.chance(rate) {
                self.global[pos] = unit_f32(r);
                for t in self.tables.iter_mut() {
                    let take_global = r.chance(self.similarity);
                    let local = unit_f32(r);
                    t[pos] = if take_global { self.global[pos] } else { local };
                }
            }
        }
    }
}

/// Uniform in [0, 1) with 24 random bits: exactly representable as f32.
fn unit_f32(r: &mut impl rand::Rng) -> f32 {
    (r.next_u32() >> 8) as f32 * (1.0 / (1u32 << 24) as f32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nk(n: u32, k: u32, seed: u64) -> Landscape {
        let p = LandscapeParams {
            n,
            k,
            ..LandscapeParams::default()
        };
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
    fn gather_is_pext() {
        assert_eq!(gather(0b1011_0110, 0b1111_0000), 0b1011);
        assert_eq!(gather(0b1011_0110, 0b0101_0101), 0b0100 | 0b0001);
        assert_eq!(gather(u64::MAX, 0), 0);
    }

    #[test]
    fn k0_has_exactly_one_local_optimum() {
        for seed in 0..3 {
            assert_eq!(local_optima(&nk(12, 0, seed)), 1);
        }
    }

    #[test]
    fn local_optima_grow_with_k() {
        let counts: Vec<usize> = [0, 2, 5, 11]
            .iter()
            .map(|&k| local_optima(&nk(12, k, 42)))
            .collect();
        assert!(counts.windows(2).all(|w| w[0] < w[1]), "{counts:?}");
    }

    #[test]
    fn random_policies_have_mean_half_and_known_spread() {
        let n = 20;
        let l = nk(n, 5, 3);
        let mut r = StreamKey::new(1, 0).tick(Purpose::ZoneStep, 0, 0);
        let m = 20_000;
        let fs: Vec<f64> = (0..m)
            .map(|_| l.fitness(0, Policy::set(r.next_u64(), n)))
            .collect();
        let mean = fs.iter().sum::<f64>() / m as f64;
        let sd = (fs.iter().map(|f| (f - mean).powi(2)).sum::<f64>() / m as f64).sqrt();
        let expected = (1.0 / (12.0 * n as f64)).sqrt();
        assert!((mean - 0.5).abs() < 0.02, "mean {mean}");
        assert!(
            (sd - expected).abs() < 0.25 * expected,
            "sd {sd} vs {expected}"
        );
    }

    #[test]
    fn target_scores_matches_of_set_instruments() {
        let l = Landscape {
            n: 4,
            kind: Kind::Target(Target {
                reality: vec![0b1010],
            }),
            max: vec![1.0],
        };
        assert_eq!(
            l.fitness(
                0,
                Policy {
                    bits: 0b1010,
                    mask: 0b1111
                }
            ),
            1.0
        );
        assert_eq!(
            l.fitness(
                0,
                Policy {
                    bits: 0b1010,
                    mask: 0b0011
                }
            ),
            0.25
        );
        assert_eq!(l.fitness(0, Policy { bits: 0, mask: 0 }), 0.0);
        assert_eq!(
            l.fitness(
                0,
                Policy {
                    bits: 0b0101,
                    mask: 0b1111
                }
            ),
            0.0
        );
    }

    #[test]
    fn similarity_one_gives_identical_contexts_and_zero_different() {
        let p = LandscapeParams {
            n: 8,
            k: 2,
            context_similarity: 1.0,
            ..LandscapeParams::default()
        };
        let l = Landscape::build(&p, 3, &StreamKey::new(5, 0));
        let p0 = Policy::set(0b1011_0001, 8);
        assert_eq!(l.fitness(0, p0), l.fitness(2, p0));
        let p = LandscapeParams {
            n: 8,
            k: 2,
            context_similarity: 0.0,
            ..LandscapeParams::default()
        };
        let l = Landscape::build(&p, 3, &StreamKey::new(5, 0));
        assert_ne!(l.fitness(0, p0), l.fitness(2, p0));
    }

    #[test]
    fn turbulence_flips_reality() {
        let p = LandscapeParams {
            kind: LandscapeKind::Target,
            n: 30,
            k: 0,
            ..LandscapeParams::default()
        };
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
