//! Landscape benchmarks: drawing one NK landscape (N = 16 to 24, K = 5, interactions with
//! replacement as in Lazer & Friedman), alone, with its exhaustive maximum (every context
//! in use, one context), and with its 2^N fitness sums tabulated as well. The maximum's
//! cost is the difference between the first two; throughput is in policies.
//!
//! `cargo bench --bench landscape`; `cargo bench --bench landscape -- --quick` for a rough
//! pass. `ESH_PORTABLE=1` measures the portable path on a CPU with AVX-512.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

use esh::foundation::StreamKey;
use esh::model::landscape::Landscape;
use esh::scenario::{LandscapeParams, Neighbourhood};

fn params(n: u32, normalise: bool) -> LandscapeParams {
    LandscapeParams {
        n,
        k: 5,
        neighbourhood: Neighbourhood::RandomWithReplacement,
        normalise,
        ..LandscapeParams::default()
    }
}

fn landscape(c: &mut Criterion) {
    let mut g = c.benchmark_group("landscape");
    g.warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(3));
    for n in [16u32, 18, 20, 22, 24] {
        g.throughput(Throughput::Elements(1 << n));
        let mut seed = 0;
        let mut key = move || {
            seed += 1;
            StreamKey::new(seed, 0)
        };
        g.bench_with_input(BenchmarkId::new("draw", n), &n, |b, &n| {
            b.iter(|| Landscape::build(black_box(&params(n, false)), 1, &key()))
        });
        g.bench_with_input(BenchmarkId::new("draw_and_maximum", n), &n, |b, &n| {
            b.iter(|| Landscape::build(black_box(&params(n, true)), 1, &key()))
        });
        g.bench_with_input(BenchmarkId::new("draw_maximum_and_table", n), &n, |b, &n| {
            b.iter(|| Landscape::build_tabulated(black_box(&params(n, true)), 1, &key()))
        });
    }
    g.finish();
}

criterion_group!(benches, landscape);
criterion_main!(benches);
