//! Every policy of an NK context at once: the exact integer fitness sum of all 2^N fully
//! set policies, for the exhaustive maximum (normalisation) and for the table that lets a
//! zone's fitness be one lookup instead of N.
//!
//! Gray-code enumeration: from one policy to the next exactly one instrument flips, so
//! only the contributions that depend on it change. Policies go in blocks of 16 (the four
//! lowest instruments are the lanes of a block, so a contribution's 16 values are one
//! permuted window of its table row), and the Gray code runs over the other N - 4
//! instruments, ordered so that the most often flipped have the fewest dependents. Sums
//! are integers, so every path (AVX-512 or portable, enumerated or looked up) gives
//! exactly the sums that `Nk::sum` computes one policy at a time; tests check it.

/// Policies per block: the four lowest instruments.
const LANES: usize = 16;

/// The smallest N enumerated in blocks; below it a direct loop is as fast.
pub(crate) const MIN_N: u32 = 8;

/// The largest N tabulated (64 MiB per context), the largest normalisation searches.
pub const MAX_N: u32 = 24;

/// What the enumeration needs of an NK context, prepared once per landscape.
pub(crate) struct Plan {
    /// Per instrument i: `lanes[i][l]` is the part of i's row index given by the lane bits
    /// l (the four lowest instruments), below 16.
    lanes: Vec<[u32; LANES]>,
    /// Per instrument: where its row starts in the padded table.
    base: Vec<u32>,
    /// Per Gray-code bit, in order of how often it flips: the instrument it stands for,
    /// and each dependent instrument with the bit of its row index that the flip toggles.
    flips: Vec<(u32, Vec<(u32, u32)>)>,
}

impl Plan {
    /// `deps[i]`: the instruments contribution i depends on (i itself included);
    /// `row_bits`: log2 of a table row's length. Needs N >= [`MIN_N`].
    pub(crate) fn new(deps: &[u64], row_bits: u32) -> Plan {
        let n = deps.len() as u32;
        assert!(n >= MIN_N, "enumeration in blocks needs N >= {MIN_N}");
        let lanes =
            deps.iter().map(|&d| std::array::from_fn(|l| super::landscape::gather(l as u64, d) as u32)).collect();
        let base = (0..n).map(|i| i << row_bits).collect();
        let dependents = |b: u32| (0..n as usize).filter(|&i| deps[i] >> b & 1 == 1).count();
        // Fewest dependents first: the Gray code's bit j flips 2^-(j+1) of the time. Ties
        // to the lower instrument, so the plan is a function of the landscape alone.
        let mut high: Vec<u32> = (LANES.trailing_zeros()..n).collect();
        high.sort_by_key(|&b| (dependents(b), b));
        let flips = high
            .iter()
            .map(|&b| {
                let toggles = (0..n)
                    .filter(|&i| deps[i as usize] >> b & 1 == 1)
                    .map(|i| (i, 1u32 << (deps[i as usize] & ((1u64 << b) - 1)).count_ones()))
                    .collect();
                (b, toggles)
            })
            .collect();
        Plan { lanes, base, flips }
    }

    /// Enumerates every policy of one context's `table` (`tables[c]`, rows of
    /// `1 << row_bits`), writing each policy's sum at its index of `out` when given
    /// (`out.len() == 1 << N`), and returns the largest sum.
    pub(crate) fn run(&self, table: &[u32], out: Option<&mut [u32]>) -> u32 {
        // Sixteen zeros past the last row: a window may start near a row's end (only its
        // first entries are read, but the load is of all sixteen).
        let mut padded = Vec::with_capacity(table.len() + LANES);
        padded.extend_from_slice(table);
        padded.extend_from_slice(&[0; LANES]);
        if let Some(out) = &out {
            assert_eq!(out.len(), 1 << self.base.len(), "one entry per policy");
        }
        #[cfg(target_arch = "x86_64")]
        if avx512() {
            // SAFETY: the CPU has AVX-512F (checked at run time just above).
            return unsafe { self.run_avx512(&padded, out) };
        }
        self.run_portable(&padded, out)
    }

    /// The Gray-code walk over blocks, generic in how 16 lanes are held: `window(off, i)`
    /// reads instrument i's 16 contributions at row offset `off`; `update(acc, old, new)`
    /// is `acc - old + new`; `max` lane-wise; `emit(hi, acc)` receives each block's sums
    /// (at policies `hi..hi + 16`). Returns the lane-wise maximum.
    ///
    /// Unrolled by eight: seven of every eight steps flip one of the three most often
    /// flipped bits, each at its own call site, so the loop over that bit's dependents has
    /// the same trip count every time it is reached there and is predicted; only every
    /// eighth step's count varies.
    #[inline(always)]
    fn walk<V: Copy>(
        &self,
        window: impl Fn(u32, usize) -> V,
        update: impl Fn(V, V, V) -> V,
        max: impl Fn(V, V) -> V,
        zero: V,
        mut emit: impl FnMut(usize, V),
    ) -> V {
        let n = self.base.len();
        let mut off = self.base.clone();
        let mut cur: Vec<V> = (0..n).map(|i| window(off[i], i)).collect();
        let mut acc = cur.iter().fold(zero, |a, &c| update(a, zero, c));
        let mut best = acc;
        let mut hi = 0usize;
        emit(hi, acc);
        // A macro, not a closure: a closure here would be compiled without the caller's
        // target features when not inlined, and pass vectors through memory.
        macro_rules! flip {
            ($j:expr) => {{
                let (b, toggles) = &self.flips[$j];
                hi ^= 1 << b;
                for &(i, bit) in toggles {
                    let i = i as usize;
                    off[i] ^= bit;
                    let new = window(off[i], i);
                    acc = update(acc, cur[i], new);
                    cur[i] = new;
                }
                best = max(best, acc);
                emit(hi, acc);
            }};
        }
        // N >= MIN_N: at least 16 blocks, a whole number of groups of eight.
        let blocks = 1usize << (n - LANES.trailing_zeros() as usize);
        for g in (0..blocks).step_by(8) {
            flip!(0);
            flip!(1);
            flip!(0);
            flip!(2);
            flip!(0);
            flip!(1);
            flip!(0);
            if g + 8 < blocks {
                flip!((g + 8).trailing_zeros() as usize);
            }
        }
        best
    }

    /// The block loop with plain arrays (LLVM vectorises the lane-wise sums).
    fn run_portable(&self, padded: &[u32], mut out: Option<&mut [u32]>) -> u32 {
        let best = self.walk(
            |off, i| {
                let w = &padded[off as usize..off as usize + LANES];
                std::array::from_fn(|l| w[self.lanes[i][l] as usize])
            },
            |acc: [u32; LANES], old, new| std::array::from_fn(|l| acc[l].wrapping_sub(old[l]).wrapping_add(new[l])),
            |a, b| std::array::from_fn(|l| a[l].max(b[l])),
            [0; LANES],
            |hi, acc| {
                if let Some(o) = out.as_deref_mut() {
                    o[hi..hi + LANES].copy_from_slice(&acc);
                }
            },
        );
        best.into_iter().max().unwrap_or(0)
    }

    /// The block loop in AVX-512 registers: a window is one unaligned load, its lane
    /// permutation one `vpermd`.
    ///
    /// # Safety
    /// The CPU must support AVX-512F.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    unsafe fn run_avx512(&self, padded: &[u32], mut out: Option<&mut [u32]>) -> u32 {
        use std::arch::x86_64::*;
        // Every pointer below comes from a bounds-checked slice of exactly 16 u32 (64
        // bytes), and the unaligned load/store intrinsics need no alignment, so the
        // memory accesses are sound; the intrinsics themselves need only AVX-512F.
        let load = |s: &[u32]| -> __m512i {
            let s: &[u32; LANES] = s.try_into().expect("16 lanes");
            // SAFETY: `s` is 64 readable bytes (see above).
            unsafe { _mm512_loadu_si512(s.as_ptr().cast()) }
        };
        let lanes: Vec<__m512i> = self.lanes.iter().map(|l| load(l)).collect();
        let best = self.walk(
            |off, i| _mm512_permutexvar_epi32(lanes[i], load(&padded[off as usize..off as usize + LANES])),
            |acc, old, new| _mm512_add_epi32(_mm512_sub_epi32(acc, old), new),
            |a, b| _mm512_max_epu32(a, b),
            _mm512_setzero_si512(),
            |hi, acc| {
                if let Some(o) = out.as_deref_mut() {
                    let o: &mut [u32; LANES] = (&mut o[hi..hi + LANES]).try_into().expect("16 lanes");
                    // SAFETY: `o` is 64 writable bytes (see above).
                    unsafe { _mm512_storeu_si512(o.as_mut_ptr().cast(), acc) }
                }
            },
        );
        _mm512_reduce_max_epu32(best)
    }
}

/// Whether to take the AVX-512 path: the CPU has it and `ESH_PORTABLE` is not set (the
/// switch that lets the tests, and a user who doubts a result, run the portable path on
/// the same machine). Read once.
#[cfg(target_arch = "x86_64")]
fn avx512() -> bool {
    static USE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *USE.get_or_init(|| std::env::var_os("ESH_PORTABLE").is_none() && std::arch::is_x86_feature_detected!("avx512f"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both block loops against each other and against the sum of contributions computed
    /// one policy at a time, for every policy.
    fn check(deps: &[u64], row_bits: u32, table: &[u32]) {
        let n = deps.len();
        let want: Vec<u32> = (0..1u64 << n)
            .map(|x| {
                deps.iter()
                    .enumerate()
                    .map(|(i, &d)| table[(i << row_bits) | super::super::landscape::gather(x, d)])
                    .sum()
            })
            .collect();
        let plan = Plan::new(deps, row_bits);
        let mut padded = table.to_vec();
        padded.extend_from_slice(&[0; LANES]);
        let mut got = vec![0; 1 << n];
        let max = plan.run_portable(&padded, Some(&mut got));
        assert_eq!(got, want, "portable");
        assert_eq!(max, *want.iter().max().unwrap());
        assert_eq!(plan.run_portable(&padded, None), max);
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx512f") {
            let mut fast = vec![0; 1 << n];
            // SAFETY: AVX-512F was detected.
            assert_eq!(unsafe { plan.run_avx512(&padded, Some(&mut fast)) }, max);
            assert_eq!(fast, want, "avx512");
            // SAFETY: as above.
            assert_eq!(unsafe { plan.run_avx512(&padded, None) }, max);
        }
        let mut via_run = vec![0; 1 << n];
        assert_eq!(plan.run(table, Some(&mut via_run)), max);
        assert_eq!(via_run, want);
    }

    #[test]
    fn every_path_gives_the_direct_sums() {
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for n in [8usize, 9, 12, 15] {
            for k in [0u32, 1, 3, 7] {
                let row_bits = k + 1;
                // Random dependencies, with repeats (fewer than K + 1 distinct bits).
                let deps: Vec<u64> =
                    (0..n).map(|i| (0..k).fold(1u64 << i, |m, _| m | 1 << (next() % n as u64))).collect();
                // Contributions near the top of 24 bits, so that sums carry.
                let table: Vec<u32> = (0..n << row_bits).map(|_| (next() >> 40) as u32).collect();
                check(&deps, row_bits, &table);
            }
        }
        // Every instrument depending on every lane bit and on the top one.
        let n = 10;
        let deps: Vec<u64> = (0..n).map(|i| 1 << i | 0xF | 1 << (n - 1)).collect();
        let table: Vec<u32> = (0..n << 6).map(|j| (j as u32).wrapping_mul(2_654_435_761) >> 8).collect();
        check(&deps, 6, &table);
    }
}
