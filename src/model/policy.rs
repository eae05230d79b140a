//! Policies as bit sets: `bits` holds each instrument's setting, `mask` which instruments
//! are set at all (March 1991 needs "no belief" on a dimension). Bit i is instrument i.

/// A policy over at most 64 instruments.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Policy {
    /// Each instrument's setting, 0 or 1 (bit i is instrument i); an unset instrument's bit
    /// means nothing.
    pub bits: u64,
    pub(crate) mask: u64,
}

/// The mask with the low `n` bits set (`n` <= 64).
#[inline]
pub(crate) fn full_mask(n: u32) -> u64 {
    if n >= 64 { u64::MAX } else { (1u64 << n) - 1 }
}

impl Policy {
    /// A fully set policy.
    pub fn set(bits: u64, n: u32) -> Self {
        let mask = full_mask(n);
        Policy { bits: bits & mask, mask }
    }

    /// Instruments where the two policies hold different settings (value, or set vs unset).
    #[inline]
    pub(crate) fn differs(self, other: Policy) -> u64 {
        ((self.bits ^ other.bits) & self.mask & other.mask) | (self.mask ^ other.mask)
    }

    /// Take `other`'s setting (value and set-ness) on the instruments in `which`.
    #[inline]
    pub(crate) fn take(self, other: Policy, which: u64) -> Policy {
        Policy { bits: (self.bits & !which) | (other.bits & which), mask: (self.mask & !which) | (other.mask & which) }
    }

    /// Setting of instrument i: None when unset.
    #[inline]
    pub(crate) fn get(self, i: u32) -> Option<bool> {
        if self.mask >> i & 1 == 1 { Some(self.bits >> i & 1 == 1) } else { None }
    }

    /// Renders as a string of `0`, `1` and `-` (unset), instrument 0 first.
    pub(crate) fn render(self, n: u32) -> String {
        (0..n)
            .map(|i| match self.get(i) {
                None => '-',
                Some(true) => '1',
                Some(false) => '0',
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn render_and_get() {
        let p = Policy { bits: 0b0101, mask: 0b0111 };
        assert_eq!(p.render(4), "101-");
        assert_eq!(p.get(3), None);
        assert_eq!(p.get(2), Some(true));
    }

    proptest! {
        #[test]
        fn taking_every_difference_gives_the_other(a in any::<u64>(), am in any::<u64>(), b in any::<u64>(), bm in any::<u64>()) {
            let p = Policy { bits: a & am, mask: am };
            let q = Policy { bits: b & bm, mask: bm };
            let d = p.differs(q);
            prop_assert_eq!(d, q.differs(p));
            prop_assert_eq!(p.take(q, d).differs(q), 0);
            prop_assert_eq!(p.differs(p), 0);
            prop_assert_eq!(p.take(q, 0), p);
        }

        #[test]
        fn full_mask_counts(n in 0u32..=64) {
            prop_assert_eq!(full_mask(n).count_ones(), n);
        }
    }
}
