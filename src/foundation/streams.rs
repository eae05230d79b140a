//! Random streams: every draw in a run comes from a stream derived from
//! (master seed, replication, purpose, tick, entity), so that a draw never depends on
//! which thread ran first, how many threads there are, or which shard ran the run.
//!
//! Two generators, one derivation:
//! - [`StreamKey::setup`] gives a ChaCha8 stream for the one-off, long draws of a
//!   replication (landscape tables, network, turbulence);
//! - [`StreamKey::tick`] gives a SplitMix64 counter stream for the short per-zone,
//!   per-tick draws. Seeding ChaCha8 costs a 256-byte block refill, about the whole time
//!   budget of one zone step; SplitMix64 seeds in one multiply.
//!
//! The distributions ([`Draw`]) are our own and use only IEEE-exact arithmetic
//! (no libm `ln`/`cos`; see [`super::exact`]), so outputs are identical across machines and
//! rand releases.

use super::exact::{det_exp, det_ln};

use rand::{SeedableRng, TryRng};
use rand_chacha::ChaCha8Rng;
use std::convert::Infallible;

/// What a stream is for; part of the derivation so that purposes never share draws.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u64)]
pub enum Purpose {
    /// The landscape's tables (NK dependencies, contributions, reality vectors, mixing).
    Landscape = 1,
    /// Network construction (tick word: the small-world attempt).
    Network = 2,
    /// The random instrument order that the mandate is a prefix of.
    Mandate = 3,
    /// The initial programme.
    Programme = 4,
    /// A zone's initial policy when it enters (tick t, entity z).
    InitialPolicy = 5,
    /// A zone's step at a tick (tick t, entity z).
    ZoneStep = 6,
    /// A review: detection and toleration per zone, feedback (entity 2^64-1).
    Review = 7,
    /// Turbulence at a tick: which landscape entries are redrawn.
    Turbulence = 8,
    /// Pilot selection at a review: random picks, tie-breaks of `innovative`.
    Pilots = 9,
    /// The centre's own search for programme changes at a review.
    CentralSearch = 10,
    /// Sweep designs: random and Latin hypercube samples of the axes.
    Design = 11,
    /// Sweep design points' own master seeds (seeds = "independent").
    PointSeed = 12,
    /// Bootstrap resamples of the hypothesis experiments (tick = the interval's label).
    Bootstrap = 13,
    /// A zone's firms in a tick (deaths, mergers, shocks, births).
    Firms = 14,
    /// A zone's initial firms, when it enters.
    FirmEntry = 15,
}

const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// SplitMix64's finaliser: a bijective, avalanching mix of 64 bits.
#[inline]
pub fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The (seed, replication) part of every stream of one replication.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StreamKey {
    seed: u64,
    replication: u64,
}

impl StreamKey {
    /// The key of replication `replication` (0-based) of a run with master seed `seed`.
    pub fn new(seed: u64, replication: u64) -> Self {
        StreamKey { seed, replication }
    }

    /// Hash of all five words; any change in any word gives an unrelated value.
    #[inline]
    pub(crate) fn hash(&self, purpose: Purpose, tick: u64, entity: u64) -> u64 {
        self.prefix(purpose, tick).hash(entity)
    }

    /// The hash chain up to the entity word: computed once per tick, it makes each
    /// entity's stream one mix away (the values are the same as `StreamKey::hash`).
    #[inline]
    pub fn prefix(&self, purpose: Purpose, tick: u64) -> StreamPrefix {
        let mut h = mix(self.seed ^ 0x5EED_E5E5_0000_0001);
        for word in [self.replication, purpose as u64, tick] {
            h = mix(h.wrapping_add(GOLDEN) ^ word);
        }
        StreamPrefix(h)
    }

    /// A per-tick, per-entity stream (cheap to create).
    #[inline]
    pub fn tick(&self, purpose: Purpose, tick: u64, entity: u64) -> Fast {
        Fast { state: self.hash(purpose, tick, entity) }
    }

    /// A setup stream (ChaCha8) for long sequences of draws.
    pub(crate) fn setup(&self, purpose: Purpose, tick: u64, entity: u64) -> ChaCha8Rng {
        let mut seed = [0u8; 32];
        let base = self.hash(purpose, tick, entity);
        for (i, chunk) in seed.chunks_mut(8).enumerate() {
            chunk.copy_from_slice(&mix(base.wrapping_add(GOLDEN.wrapping_mul(i as u64 + 1))).to_le_bytes());
        }
        ChaCha8Rng::from_seed(seed)
    }
}

/// The streams of one (replication, purpose, tick), one per entity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StreamPrefix(u64);

impl StreamPrefix {
    #[inline]
    pub(crate) fn hash(self, entity: u64) -> u64 {
        mix(self.0.wrapping_add(GOLDEN) ^ entity)
    }

    /// The per-entity stream, equal to `StreamKey::tick(purpose, tick, entity)`.
    #[inline]
    pub(crate) fn stream(self, entity: u64) -> Fast {
        Fast { state: self.hash(entity) }
    }
}

/// SplitMix64 as a counter-based stream (passes BigCrush; Steele, Lea & Flood 2014).
#[derive(Clone, Debug)]
pub struct Fast {
    state: u64,
}

impl TryRng for Fast {
    type Error = Infallible;
    #[inline]
    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        Ok((self.next() >> 32) as u32)
    }
    #[inline]
    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        Ok(self.next())
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        for chunk in dst.chunks_mut(8) {
            let bytes = self.next().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
        Ok(())
    }
}

impl Fast {
    #[inline]
    fn next(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GOLDEN);
        mix(self.state)
    }
}

/// Distributions with fixed, documented algorithms (value-stable forever).
pub trait Draw: rand::Rng {
    /// Uniform in [0, 1) with 53 random bits.
    #[inline]
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// True with probability p. Draws nothing when p <= 0 or p >= 1.
    #[inline]
    fn chance(&mut self, p: f64) -> bool {
        if p <= 0.0 {
            false
        } else if p >= 1.0 {
            true
        } else {
            self.unit() < p
        }
    }

    /// Uniform integer in [0, n), n > 0 (Lemire's nearly divisionless method).
    #[inline]
    fn below(&mut self, n: u64) -> u64 {
        debug_assert!(n > 0);
        let mut m = (self.next_u64() as u128) * (n as u128);
        if (m as u64) < n {
            let threshold = n.wrapping_neg() % n;
            while (m as u64) < threshold {
                m = (self.next_u64() as u128) * (n as u128);
            }
        }
        (m >> 64) as u64
    }

    /// Poisson with mean `lambda`: by multiplying uniforms (Knuth) below 30, above by the
    /// normal approximation rounded to the nearest integer (relative error of the mean
    /// and variance under 1%, far below the model's own uncertainty).
    fn poisson(&mut self, lambda: f64) -> u64 {
        if lambda <= 0.0 || lambda.is_nan() {
            return 0;
        }
        if lambda < 30.0 {
            let limit = det_exp(-lambda);
            let mut k = 0;
            let mut p = self.unit();
            while p > limit {
                k += 1;
                p *= self.unit();
            }
            return k;
        }
        (lambda + lambda.sqrt() * self.normal() + 0.5).floor().max(0.0) as u64
    }

    /// Standard normal (Marsaglia's polar method with a deterministic logarithm).
    fn normal(&mut self) -> f64 {
        loop {
            let u = 2.0 * self.unit() - 1.0;
            let v = 2.0 * self.unit() - 1.0;
            let s = u * u + v * v;
            if s > 0.0 && s < 1.0 {
                return u * (-2.0 * det_ln(s) / s).sqrt();
            }
        }
    }
}

impl<R: rand::Rng + ?Sized> Draw for R {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_differ_by_every_word() {
        let k = StreamKey::new(1, 0);
        let base = k.hash(Purpose::ZoneStep, 3, 4);
        assert_ne!(base, StreamKey::new(2, 0).hash(Purpose::ZoneStep, 3, 4));
        assert_ne!(base, StreamKey::new(1, 1).hash(Purpose::ZoneStep, 3, 4));
        assert_ne!(base, k.hash(Purpose::Review, 3, 4));
        assert_ne!(base, k.hash(Purpose::ZoneStep, 4, 4));
        assert_ne!(base, k.hash(Purpose::ZoneStep, 3, 5));
        assert_eq!(base, k.hash(Purpose::ZoneStep, 3, 4));
        assert_eq!(k.prefix(Purpose::ZoneStep, 3).hash(4), base);
    }

    #[test]
    fn unit_and_below_are_in_range_and_fair() {
        let mut r = StreamKey::new(7, 0).tick(Purpose::ZoneStep, 0, 0);
        let mut counts = [0u32; 6];
        for _ in 0..60_000 {
            let u = r.unit();
            assert!((0.0..1.0).contains(&u));
            counts[r.below(6) as usize] += 1;
        }
        for c in counts {
            assert!((9_400..10_600).contains(&c), "{counts:?}");
        }
    }

    #[test]
    fn normal_has_unit_variance() {
        let mut r = StreamKey::new(9, 0).tick(Purpose::ZoneStep, 0, 0);
        let n = 100_000;
        let xs: Vec<f64> = (0..n).map(|_| r.normal()).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        assert!(mean.abs() < 0.02 && (var - 1.0).abs() < 0.02, "{mean} {var}");
    }
}
