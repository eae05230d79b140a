//! Who observes whom: a symmetric graph over every zone that will ever exist, built once
//! per replication and stored as CSR (sorted neighbour lists, no self-loops, no repeats).
//! A full network is kept implicit: "every other zone" needs no edge list.

use crate::foundation::{Draw, Purpose, StreamKey};
use crate::scenario::{NetworkKind, NetworkParams};

/// Whom each zone observes horizontally (`network.kind`), over all `Z` zones.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Network {
    /// Every zone observes every other zone.
    Full {
        /// Every zone that will ever exist (`Z`).
        zones: u32,
    },
    /// Every other kind (`none` included): explicit neighbour lists.
    Csr(Csr),
}

/// Neighbour lists in compressed sparse rows: symmetric, sorted, without repeats or self-loops.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Csr {
    pub(crate) offsets: Vec<u32>,
    pub(crate) targets: Vec<u32>,
}

impl Csr {
    /// Builds from an undirected edge list; duplicates and self-loops are dropped.
    pub(crate) fn from_edges(n: usize, edges: &[(u32, u32)]) -> Csr {
        let mut degree = vec![0u32; n + 1];
        for &(a, b) in edges {
            if a != b {
                degree[a as usize] += 1;
                degree[b as usize] += 1;
            }
        }
        let mut offsets = vec![0u32; n + 1];
        for i in 0..n {
            // Validation keeps the edge count well inside 32 bits.
            offsets[i + 1] = offsets[i].checked_add(degree[i]).expect("edge count within u32 (validated)");
        }
        let mut fill = offsets.clone();
        let mut targets = vec![0u32; offsets[n] as usize];
        for &(a, b) in edges {
            if a != b {
                targets[fill[a as usize] as usize] = b;
                fill[a as usize] += 1;
                targets[fill[b as usize] as usize] = a;
                fill[b as usize] += 1;
            }
        }
        // Sort and dedup each list, then compact.
        let mut out_offsets = vec![0u32; n + 1];
        let mut out = Vec::with_capacity(targets.len());
        for i in 0..n {
            let list = &mut targets[offsets[i] as usize..offsets[i + 1] as usize];
            list.sort_unstable();
            let start = out.len();
            for &t in list.iter() {
                if out.len() == start || *out.last().unwrap() != t {
                    out.push(t);
                }
            }
            out_offsets[i + 1] = out.len() as u32;
        }
        Csr { offsets: out_offsets, targets: out }
    }

    #[inline]
    pub(crate) fn neighbours(&self, z: usize) -> &[u32] {
        &self.targets[self.offsets[z] as usize..self.offsets[z + 1] as usize]
    }

    pub(crate) fn zones(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Whether every zone can reach every other.
    pub(crate) fn connected(&self) -> bool {
        let n = self.zones();
        if n == 0 {
            return true;
        }
        let mut seen = vec![false; n];
        let mut stack = vec![0usize];
        seen[0] = true;
        let mut count = 1;
        while let Some(z) = stack.pop() {
            for &t in self.neighbours(z) {
                if !seen[t as usize] {
                    seen[t as usize] = true;
                    count += 1;
                    stack.push(t as usize);
                }
            }
        }
        count == n
    }
}

impl Network {
    /// Builds the network over `regions[z]` (the region of each zone).
    pub(crate) fn build(p: &NetworkParams, regions: &[u32], key: &StreamKey) -> Result<Network, String> {
        let n = regions.len();
        let mut r = key.setup(Purpose::Network, 0, 0);
        let edges = match p.kind {
            NetworkKind::Full => return Ok(Network::Full { zones: n as u32 }),
            NetworkKind::None => Vec::new(),
            NetworkKind::Linear => (1..n as u32).map(|i| (i - 1, i)).collect(),
            NetworkKind::Ring => ring(n, p.degree),
            NetworkKind::Random => {
                let all: Vec<u32> = (0..n as u32).collect();
                let mut e = Vec::new();
                pairs_within(&all, p.density, &mut r, &mut e);
                e
            }
            NetworkKind::Regional => {
                let blocks = region_blocks(regions);
                let mut e = Vec::new();
                for (a, block_a) in blocks.iter().enumerate() {
                    pairs_within(block_a, p.p_within, &mut r, &mut e);
                    for block_b in &blocks[a + 1..] {
                        pairs_between(block_a, block_b, p.p_between, &mut r, &mut e);
                    }
                }
                e
            }
            NetworkKind::SmallWorld => {
                const ATTEMPTS: u64 = 1000;
                for attempt in 0..ATTEMPTS {
                    let mut r = key.setup(Purpose::Network, attempt, 0);
                    let csr = Csr::from_edges(n, &small_world(n, p.degree, p.rewire, &mut r));
                    if csr.connected() {
                        return Ok(Network::Csr(csr));
                    }
                }
                return Err(format!(
                    "network.kind = \"small_world\" with degree {} and rewire {} gave no connected network in {ATTEMPTS} attempts; raise network.degree or lower network.rewire",
                    p.degree, p.rewire
                ));
            }
        };
        Ok(Network::Csr(Csr::from_edges(n, &edges)))
    }
}

fn region_blocks(regions: &[u32]) -> Vec<Vec<u32>> {
    let count = regions.iter().map(|&r| r as usize + 1).max().unwrap_or(0);
    let mut blocks = vec![Vec::new(); count];
    for (z, &r) in regions.iter().enumerate() {
        blocks[r as usize].push(z as u32);
    }
    blocks
}

fn ring(n: usize, degree: u32) -> Vec<(u32, u32)> {
    let half = (degree / 2) as usize;
    let mut e = Vec::with_capacity(n * half);
    for i in 0..n {
        for j in 1..=half {
            e.push((i as u32, ((i + j) % n) as u32));
        }
    }
    e
}

/// Watts-Strogatz: each lattice edge (i, i+j) keeps i and, with probability `rewire`,
/// moves its other end to a uniformly drawn zone that is neither i nor already linked.
fn small_world(n: usize, degree: u32, rewire: f64, r: &mut impl rand::Rng) -> Vec<(u32, u32)> {
    use std::collections::HashSet;
    let mut set: HashSet<(u32, u32)> = HashSet::new();
    let key = |a: u32, b: u32| (a.min(b), a.max(b));
    let mut edges = ring(n, degree);
    for &(a, b) in &edges {
        set.insert(key(a, b));
    }
    for e in edges.iter_mut() {
        if r.chance(rewire) {
            let (a, _) = *e;
            // A bounded number of tries; a saturated zone keeps its edge.
            for _ in 0..32 {
                let c = r.below(n as u64) as u32;
                if c != a && !set.contains(&key(a, c)) {
                    set.remove(&key(e.0, e.1));
                    set.insert(key(a, c));
                    *e = (a, c);
                    break;
                }
            }
        }
    }
    edges
}

/// Bernoulli(p) edges between all pairs of `zones`, in O(edges) by geometric skips.
fn pairs_within(zones: &[u32], p: f64, r: &mut impl rand::Rng, out: &mut Vec<(u32, u32)>) {
    let m = zones.len() as u64;
    let total = m * m.saturating_sub(1) / 2;
    skip_sample(total, p, r, |idx| {
        // idx enumerates pairs (i, j), i < j, row by row: row i has m - 1 - i pairs.
        let (i, j) = unrank_pair(idx, m);
        out.push((zones[i as usize], zones[j as usize]));
    });
}

fn pairs_between(a: &[u32], b: &[u32], p: f64, r: &mut impl rand::Rng, out: &mut Vec<(u32, u32)>) {
    let nb = b.len() as u64;
    skip_sample(a.len() as u64 * nb, p, r, |idx| {
        out.push((a[(idx / nb) as usize], b[(idx % nb) as usize]));
    });
}

/// Calls `hit` with each index in [0, total) chosen independently with probability p.
fn skip_sample(total: u64, p: f64, r: &mut impl rand::Rng, mut hit: impl FnMut(u64)) {
    if p <= 0.0 || total == 0 {
        return;
    }
    if p >= 1.0 {
        (0..total).for_each(hit);
        return;
    }
    let log_q = crate::foundation::det_ln(1.0 - p);
    let mut idx: u64 = 0;
    loop {
        // Geometric gap: number of failures before the next success.
        let u = 1.0 - r.unit(); // in (0, 1]
        let gap = (crate::foundation::det_ln(u) / log_q).floor();
        if !gap.is_finite() || gap >= (total - idx) as f64 {
            return;
        }
        idx += gap as u64;
        hit(idx);
        idx += 1;
        if idx >= total {
            return;
        }
    }
}

/// The (i, j) pair, i < j < m, of rank `idx` in row-major order.
fn unrank_pair(idx: u64, m: u64) -> (u64, u64) {
    // Row i starts at S(i) = i*m - i*(i+1)/2. Solve approximately, then correct.
    let mf = m as f64;
    let disc = (2.0 * mf - 1.0) * (2.0 * mf - 1.0) - 8.0 * idx as f64;
    let mut i = (((2.0 * mf - 1.0) - disc.max(0.0).sqrt()) / 2.0).floor() as u64;
    let start = |i: u64| i * m - i * (i + 1) / 2;
    while i > 0 && start(i) > idx {
        i -= 1;
    }
    while start(i + 1) <= idx {
        i += 1;
    }
    let j = idx - start(i) + i + 1;
    (i, j)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn params(kind: NetworkKind) -> NetworkParams {
        NetworkParams { kind, ..NetworkParams::default() }
    }

    fn csr(net: Network) -> Csr {
        match net {
            Network::Csr(c) => c,
            Network::Full { .. } => panic!("full"),
        }
    }

    fn symmetric(c: &Csr) -> bool {
        (0..c.zones())
            .all(|z| c.neighbours(z).iter().all(|&t| c.neighbours(t as usize).binary_search(&(z as u32)).is_ok()))
    }

    fn simple(c: &Csr) -> bool {
        (0..c.zones()).all(|z| {
            let l = c.neighbours(z);
            l.windows(2).all(|w| w[0] < w[1]) && !l.contains(&(z as u32))
        })
    }

    #[test]
    fn unrank_covers_all_pairs() {
        let m = 7;
        let mut k = 0;
        for i in 0..m {
            for j in i + 1..m {
                assert_eq!(unrank_pair(k, m), (i, j));
                k += 1;
            }
        }
    }

    #[test]
    fn linear_is_a_path() {
        let c = csr(Network::build(&params(NetworkKind::Linear), &[0; 5], &StreamKey::new(1, 0)).unwrap());
        assert_eq!(c.neighbours(0), &[1]);
        assert_eq!(c.neighbours(2), &[1, 3]);
        assert_eq!(c.neighbours(4), &[3]);
    }

    #[test]
    fn random_density_matches() {
        let n = 400;
        let p = NetworkParams { kind: NetworkKind::Random, density: 0.05, ..NetworkParams::default() };
        let c = csr(Network::build(&p, &vec![0; n], &StreamKey::new(3, 0)).unwrap());
        let expected = 0.05 * (n - 1) as f64;
        let mean = c.targets.len() as f64 / n as f64;
        assert!((mean - expected).abs() < 0.1 * expected, "{mean} vs {expected}");
    }

    #[test]
    fn regional_block_model_is_denser_within() {
        let regions: Vec<u32> = (0..600).map(|z| z / 200).collect();
        let p =
            NetworkParams { kind: NetworkKind::Regional, p_within: 0.05, p_between: 0.005, ..NetworkParams::default() };
        let c = csr(Network::build(&p, &regions, &StreamKey::new(4, 0)).unwrap());
        let (mut within, mut between) = (0usize, 0usize);
        for z in 0..600 {
            for &t in c.neighbours(z) {
                if regions[z] == regions[t as usize] { within += 1 } else { between += 1 }
            }
        }
        // Expected within: 600 * 199 * 0.05 ~ 5970; between: 600 * 400 * 0.005 ~ 1200.
        assert!((5000..7000).contains(&within) && (900..1500).contains(&between), "{within} {between}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(40))]

        #[test]
        fn ring_has_exact_degree(n in 5usize..200, half in 1u32..3, seed in 0u64..1000) {
            prop_assume!((2 * half as usize) < n);
            let p = NetworkParams { kind: NetworkKind::Ring, degree: 2 * half, ..NetworkParams::default() };
            let c = csr(Network::build(&p, &vec![0; n], &StreamKey::new(seed, 0)).unwrap());
            prop_assert!((0..n).all(|z| c.neighbours(z).len() == 2 * half as usize));
            prop_assert!(symmetric(&c) && simple(&c) && c.connected());
        }

        #[test]
        fn small_world_is_connected_symmetric_and_keeps_edge_count(n in 10usize..200, seed in 0u64..1000, rewire in 0.0f64..0.5) {
            let p = NetworkParams { kind: NetworkKind::SmallWorld, degree: 4, rewire, ..NetworkParams::default() };
            let c = csr(Network::build(&p, &vec![0; n], &StreamKey::new(seed, 0)).unwrap());
            prop_assert!(symmetric(&c) && simple(&c) && c.connected());
            prop_assert_eq!(c.targets.len(), 4 * n);
        }

        #[test]
        fn random_and_regional_are_symmetric_and_simple(n in 2usize..150, seed in 0u64..1000, d in 0.0f64..1.0) {
            let regions: Vec<u32> = (0..n as u32).map(|z| z % 3).collect();
            for kind in [NetworkKind::Random, NetworkKind::Regional] {
                let p = NetworkParams { kind, density: d, p_within: d, p_between: d / 4.0, ..NetworkParams::default() };
                let c = csr(Network::build(&p, &regions, &StreamKey::new(seed, 0)).unwrap());
                prop_assert!(symmetric(&c) && simple(&c));
            }
        }

        #[test]
        fn density_one_is_complete(n in 2usize..40) {
            let p = NetworkParams { kind: NetworkKind::Random, density: 1.0, ..NetworkParams::default() };
            let c = csr(Network::build(&p, &vec![0; n], &StreamKey::new(1, 0)).unwrap());
            prop_assert!((0..n).all(|z| c.neighbours(z).len() == n - 1));
        }
    }
}
