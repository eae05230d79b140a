//! Every policy of an NK context at once: the exact integer fitness sum of all 2^N fully
//! set policies, for the exhaustive maximum (normalisation) and for the table that lets a
//! zone's fitness be one lookup instead of N.
//!
//! Gray-code enumeration: from one policy to the next exactly one instrument flips, so
//! only the contributions that depend on it change. Policies go in blocks (the lowest
//! instruments are the lanes of a block), and the Gray code runs over the other
//! instruments, ordered so that the most often flipped have the fewest dependents. With
//! AVX-512 a block is 16 policies, a contribution's 16 values one permuted window of its
//! table row; elsewhere (AVX2, or the portable loop) a block is 32 policies read from a
//! widened copy of the table that holds each window in lane order. Sums are integers, so
//! every path (AVX-512, AVX2 or portable, enumerated or looked up) gives exactly the sums
//! that `Nk::sum` computes one policy at a time; tests check it.

/// Policies per block of the AVX-512 loop (one register): the four lowest instruments.
const LANES: usize = 16;

/// Policies per block of the widened loops (four AVX2 registers): the five lowest
/// instruments.
const WIDE: usize = 32;

/// The smallest N enumerated in blocks; below it a direct loop is as fast.
pub(crate) const MIN_N: u32 = 8;

/// The largest N tabulated (64 MiB per context), the largest normalisation searches.
pub const MAX_N: u32 = 24;

/// The most bytes of tables a thread keeps for reuse: one landscape's worth at the
/// tabulation budget (`scenario::size::TABULATE_BUDGET`).
const SPARE_BYTES: usize = 16 << 20;

thread_local! {
    /// Tables of landscapes dropped on this thread, for the next one built here. A run
    /// builds one landscape per replication, and a fresh 4 MiB table costs more in page
    /// faults (the kernel zeroing 1,024 new pages) than its enumeration takes to fill it.
    static SPARE: std::cell::RefCell<Vec<Vec<u32>>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// A table of `len` entries for [`Plan::run`] to fill: a spare one of that length when
/// this thread has one (its old contents are overwritten, since the run writes every
/// entry), else a new one.
pub(crate) fn table(len: usize) -> Vec<u32> {
    SPARE
        .with_borrow_mut(|spare| spare.iter().position(|t| t.len() == len).map(|at| spare.swap_remove(at)))
        .unwrap_or_else(|| vec![0; len])
}

/// Keeps a table no landscape uses any more for [`table`], up to [`SPARE_BYTES`] per
/// thread; a larger one, or one past the limit, is freed.
pub(crate) fn recycle(t: Vec<u32>) {
    let bytes = |t: &Vec<u32>| t.len() * 4;
    // During thread exit the spare list may already be gone: then the table is freed.
    let _ = SPARE.try_with(|spare| {
        let mut spare = spare.borrow_mut();
        if spare.iter().map(bytes).sum::<usize>() + bytes(&t) <= SPARE_BYTES {
            spare.push(t);
        }
    });
}

/// What the enumeration needs of an NK context, prepared once per landscape.
pub(crate) struct Plan {
    /// Per instrument i: `lanes[i][l]` is the part of i's row index given by the lane bits
    /// l (the five lowest instruments), below 32; the first 16 are the AVX-512 loop's.
    lanes: Vec<[u32; WIDE]>,
    /// Log2 of a table row's length.
    row_bits: u32,
    /// Per instrument: how many of the five lowest instruments its contribution depends on.
    wide_deps: Vec<u32>,
    /// Per instrument: its windows in the widened table, one per setting of its non-lane
    /// dependencies.
    wide_windows: Vec<u32>,
    /// Entries of the widened table.
    wide_len: usize,
    /// The walk over the table as it is, 16 lanes, each window permuted into lane order
    /// (AVX-512).
    permuted: Layout,
    /// The walk over the widened table (see [`Plan::widen`]), 32 lanes, windows already in
    /// lane order, for the paths without a cheap permute (AVX2 and portable).
    wide: Layout,
}

/// Where each instrument's windows lie in one table layout, and how a Gray-code flip moves
/// them.
struct Layout {
    /// Per instrument: its first window's offset.
    base: Vec<u32>,
    /// Per Gray-code bit, in order of how often it flips: the instrument it stands for,
    /// and each dependent instrument with the offset that the flip toggles.
    flips: Vec<(u32, Vec<(u32, u32)>)>,
}

impl Layout {
    /// The Gray code over the instruments from `lane_bits` up; `base[i]` is a multiple of
    /// twice every offset that `offset(i, bit)` gives for a flip that toggles `bit` of
    /// instrument i's row index, so that a flip is an exclusive or.
    fn new(deps: &[u64], lane_bits: u32, base: Vec<u32>, offset: impl Fn(usize, u32) -> u32) -> Layout {
        let n = deps.len() as u32;
        let dependents = |b: u32| (0..n as usize).filter(|&i| deps[i] >> b & 1 == 1).count();
        // Fewest dependents first: the Gray code's bit j flips 2^-(j+1) of the time. Ties
        // to the lower instrument, so the plan is a function of the landscape alone.
        let mut high: Vec<u32> = (lane_bits..n).collect();
        high.sort_by_key(|&b| (dependents(b), b));
        // Flipping instrument b toggles, in each dependent's row index, the bit of b's
        // rank among its dependencies (the lane bits, all below b, are the lowest).
        let flips = high
            .iter()
            .map(|&b| {
                let toggles = (0..n as usize)
                    .filter(|&i| deps[i] >> b & 1 == 1)
                    .map(|i| (i as u32, offset(i, 1u32 << (deps[i] & ((1u64 << b) - 1)).count_ones())))
                    .collect();
                (b, toggles)
            })
            .collect();
        Layout { base, flips }
    }
}

impl Plan {
    /// `deps[i]`: the instruments contribution i depends on (i itself included);
    /// `row_bits`: log2 of a table row's length. Needs N >= [`MIN_N`].
    pub(crate) fn new(deps: &[u64], row_bits: u32) -> Plan {
        let n = deps.len() as u32;
        assert!(n >= MIN_N, "enumeration in blocks needs N >= {MIN_N}");
        let permuted = Layout::new(deps, LANES.trailing_zeros(), (0..n).map(|i| i << row_bits).collect(), |_, bit| bit);
        let wide_deps: Vec<u32> = deps.iter().map(|&d| (d & (WIDE as u64 - 1)).count_ones()).collect();
        // Instrument i's widened rows: 32 lane values for each setting of its non-lane
        // dependencies, 32 << (distinct dependencies - lane ones) entries in all, at most
        // 2^N (the non-lane dependencies are at most N - 5), so the copy is never much
        // larger than the table. Largest first, so that each starts at a multiple of its
        // own (power-of-two) size, as the layout needs.
        let wide_windows: Vec<u32> = (0..n as usize).map(|i| 1 << (deps[i].count_ones() - wide_deps[i])).collect();
        let size = |i: usize| WIDE * wide_windows[i] as usize;
        let mut order: Vec<usize> = (0..n as usize).collect();
        order.sort_by_key(|&i| (std::cmp::Reverse(size(i)), i));
        let mut wide_base = vec![0u32; n as usize];
        let mut at = 0usize;
        for &i in &order {
            wide_base[i] = u32::try_from(at).expect("a widened table fits 32-bit offsets (N <= 24)");
            at += size(i);
        }
        let wide_len = at;
        let wide = Layout::new(deps, WIDE.trailing_zeros(), wide_base, |i, bit| (bit >> wide_deps[i]) * WIDE as u32);
        let lanes =
            deps.iter().map(|&d| std::array::from_fn(|l| super::landscape::gather(l as u64, d) as u32)).collect();
        Plan { lanes, row_bits, wide_deps, wide_windows, wide_len, permuted, wide }
    }

    /// The table with each instrument's row widened: for every setting of the row index's
    /// non-lane bits, the 32 contributions of the block's policies in lane order (about 80
    /// KiB at N = 20, K = 5, and at most the table's size when K = N - 1), so a window is
    /// plain loads.
    fn widen(&self, table: &[u32]) -> Vec<u32> {
        let row = 1usize << self.row_bits;
        let mut wide = vec![0; self.wide_len];
        for (i, (&m, lanes)) in self.wide_deps.iter().zip(&self.lanes).enumerate() {
            let base = self.wide.base[i] as usize;
            for h in 0..self.wide_windows[i] as usize {
                let at = base + h * WIDE;
                for (w, &l) in wide[at..at + WIDE].iter_mut().zip(lanes) {
                    *w = table[i * row + (h << m) + l as usize];
                }
            }
        }
        wide
    }

    /// Enumerates every policy of one context's `table` (`tables[c]`, rows of
    /// `1 << row_bits`), writing each policy's sum at its index of `out` when given
    /// (`out.len() == 1 << N`; every entry is written, whatever it held), and returns
    /// the largest sum.
    pub(crate) fn run(&self, table: &[u32], out: Option<&mut [u32]>) -> u32 {
        if let Some(out) = &out {
            assert_eq!(out.len(), 1 << self.lanes.len(), "one entry per policy");
        }
        #[cfg(target_arch = "x86_64")]
        match path() {
            Path::Avx512 => {
                // Sixteen zeros past the last row: a window may start near a row's end (only
                // its first entries are read, but the load is of all sixteen).
                let mut padded = Vec::with_capacity(table.len() + LANES);
                padded.extend_from_slice(table);
                padded.extend_from_slice(&[0; LANES]);
                // SAFETY: the CPU has AVX-512F (`path` checked it at run time).
                return unsafe { self.run_avx512(&padded, out) };
            }
            // SAFETY: the CPU has AVX2 (`path` checked it at run time).
            Path::Avx2 => return unsafe { self.run_avx2(&self.widen(table), out) },
            Path::Portable => {}
        }
        self.run_portable(&self.widen(table), out)
    }

    /// The Gray-code walk over blocks of W policies (16 or 32), generic in how the W lanes
    /// are held: `window(off, i)` reads instrument i's W contributions at offset `off` of
    /// the layout's table; `update(acc, old, new)` is `acc - old + new`; `max` lane-wise;
    /// `emit(hi, acc)` receives each block's sums (at policies `hi..hi + W`). Returns the
    /// lane-wise maximum.
    ///
    /// Unrolled by eight: seven of every eight steps flip one of the three most often
    /// flipped bits, each at its own call site, so the loop over that bit's dependents has
    /// the same trip count every time it is reached there and is predicted; only every
    /// eighth step's count varies.
    #[inline(always)]
    fn walk<V: Copy>(
        layout: &Layout,
        window: impl Fn(u32, usize) -> V,
        update: impl Fn(V, V, V) -> V,
        max: impl Fn(V, V) -> V,
        zero: V,
        mut emit: impl FnMut(usize, V),
    ) -> V {
        let n = layout.base.len();
        let mut off = layout.base.clone();
        let mut cur: Vec<V> = (0..n).map(|i| window(off[i], i)).collect();
        let mut acc = cur.iter().fold(zero, |a, &c| update(a, zero, c));
        let mut best = acc;
        let mut hi = 0usize;
        emit(hi, acc);
        // A macro, not a closure: a closure here would be compiled without the caller's
        // target features when not inlined, and pass vectors through memory.
        macro_rules! flip {
            ($j:expr) => {{
                let (b, toggles) = &layout.flips[$j];
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
        // N >= MIN_N: at least 8 blocks (2^(N - 5) with 32 lanes), a whole number of groups
        // of eight.
        let blocks = 1usize << layout.flips.len();
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

    /// The block loop with plain arrays over the widened table (LLVM vectorises the
    /// lane-wise sums for whatever the build targets: SSE2 at least on x86-64).
    fn run_portable(&self, wide: &[u32], out: Option<&mut [u32]>) -> u32 {
        self.run_wide(wide, out)
    }

    /// [`Plan::run_portable`] compiled for AVX2: the same code, so the same sums, in
    /// 256-bit registers with a native unsigned maximum.
    ///
    /// # Safety
    /// The CPU must support AVX2.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn run_avx2(&self, wide: &[u32], out: Option<&mut [u32]>) -> u32 {
        self.run_wide(wide, out)
    }

    #[inline(always)]
    fn run_wide(&self, wide: &[u32], mut out: Option<&mut [u32]>) -> u32 {
        let best = Plan::walk(
            &self.wide,
            #[inline(always)]
            |off, _| -> [u32; WIDE] { wide[off as usize..off as usize + WIDE].try_into().expect("32 lanes") },
            #[inline(always)]
            |acc: [u32; WIDE], old, new| std::array::from_fn(|l| acc[l].wrapping_sub(old[l]).wrapping_add(new[l])),
            #[inline(always)]
            |a, b| std::array::from_fn(|l| a[l].max(b[l])),
            [0; WIDE],
            #[inline(always)]
            |hi, acc| {
                if let Some(o) = out.as_deref_mut() {
                    o[hi..hi + WIDE].copy_from_slice(&acc);
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
        let lanes: Vec<__m512i> = self.lanes.iter().map(|l| load(&l[..LANES])).collect();
        let best = Plan::walk(
            &self.permuted,
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

/// The block loops a CPU can take, fastest first.
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Path {
    Avx512,
    Avx2,
    Portable,
}

/// The block loop to take: the fastest the CPU has, unless `ESH_PORTABLE` is set (the
/// switch that lets the tests, and a user who doubts a result, run the portable loop on
/// the same machine). Read once.
#[cfg(target_arch = "x86_64")]
fn path() -> Path {
    static PATH: std::sync::OnceLock<Path> = std::sync::OnceLock::new();
    *PATH.get_or_init(|| {
        if std::env::var_os("ESH_PORTABLE").is_some() {
            Path::Portable
        } else if std::arch::is_x86_feature_detected!("avx512f") {
            Path::Avx512
        } else if std::arch::is_x86_feature_detected!("avx2") {
            Path::Avx2
        } else {
            Path::Portable
        }
    })
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
        let wide = plan.widen(table);
        // Filled with stale values, as a recycled table is: every entry must be written.
        let mut got = vec![u32::MAX; 1 << n];
        let max = plan.run_portable(&wide, Some(&mut got));
        assert_eq!(got, want, "portable");
        assert_eq!(max, *want.iter().max().unwrap());
        assert_eq!(plan.run_portable(&wide, None), max);
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            let mut fast = vec![u32::MAX; 1 << n];
            // SAFETY: AVX2 was detected.
            assert_eq!(unsafe { plan.run_avx2(&wide, Some(&mut fast)) }, max);
            assert_eq!(fast, want, "avx2");
            // SAFETY: as above.
            assert_eq!(unsafe { plan.run_avx2(&wide, None) }, max);
        }
        let mut padded = table.to_vec();
        padded.extend_from_slice(&[0; LANES]);
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx512f") {
            let mut fast = vec![u32::MAX; 1 << n];
            // SAFETY: AVX-512F was detected.
            assert_eq!(unsafe { plan.run_avx512(&padded, Some(&mut fast)) }, max);
            assert_eq!(fast, want, "avx512");
            // SAFETY: as above.
            assert_eq!(unsafe { plan.run_avx512(&padded, None) }, max);
        }
        let mut via_run = vec![u32::MAX; 1 << n];
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
        // K = N - 1, and K distinct neighbours (as the adjacent neighbourhood has): rows
        // with every dependency distinct, the widened copy as large as the table.
        for (n, k) in [(8usize, 7u32), (9, 8), (12, 11), (10, 3), (13, 6)] {
            let row_bits = k + 1;
            let deps: Vec<u64> = (0..n).map(|i| (0..=k as usize).fold(0u64, |m, j| m | 1 << ((i + j) % n))).collect();
            let table: Vec<u32> = (0..n << row_bits).map(|_| (next() >> 40) as u32).collect();
            check(&deps, row_bits, &table);
        }
        // Every instrument depending on every lane bit and on the top one.
        let n = 10;
        let deps: Vec<u64> = (0..n).map(|i| 1 << i | 0xF | 1 << (n - 1)).collect();
        let table: Vec<u32> = (0..n << 6).map(|j| (j as u32).wrapping_mul(2_654_435_761) >> 8).collect();
        check(&deps, 6, &table);
    }
}
