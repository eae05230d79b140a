//! Engine benchmarks: the NK fitness of a one-instrument change, one zone step, and one
//! full tick at 1k, 10k and 100k zones (N = 20, K = 5, random network of mean degree 10,
//! no output). Throughput is in zone-ticks.
//!
//! `cargo bench --bench engine` (a few minutes); `cargo bench --bench engine -- --quick`
//! for a rough pass.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main};

use esh::engine::Replication;
use esh::foundation::StreamKey;
use esh::model::landscape::Landscape;
use esh::model::network::Network;
use esh::model::policy::Policy;
use esh::model::zone::{StepCtx, effective_detection};
use esh::scenario::{LandscapeParams, Scenario};

/// One region of `zones` zones on an NK landscape (N = 20, K = 5), a random network with
/// mean degree 10, and every optional output off.
fn scenario(zones: u32) -> Scenario {
    let density = 10.0 / (zones as f64 - 1.0);
    let text = format!(
        r#"
[run]
ticks = 1000000
seed = 7

[landscape]
kind = "nk"
n = 20
k = 5

[network]
kind = "random"
density = {density:?}

[output]
zones_every = 0
diffusion_every = 0
innovations = false
centre_log = false

[[regions]]
name = "all"
zones = {zones}
"#
    );
    Scenario::parse(&text, "bench").expect("the bench scenario is valid")
}

/// A replication of `zones` zones, stepped a few ticks past its initial state.
fn replication(zones: u32, warm_ticks: u32) -> Replication {
    let s = scenario(zones);
    let mut rep = Replication::new(&s, 0).expect("the bench replication builds");
    for _ in 0..warm_ticks {
        rep.step();
    }
    rep
}

/// (a) NK fitness (N = 20, K = 5) of a policy with one instrument flipped: the full
/// evaluation, and the incremental `refit` from the unflipped policy's fitness.
fn nk_one_flip(c: &mut Criterion) {
    let p = LandscapeParams { n: 20, k: 5, ..LandscapeParams::default() };
    let landscape = Landscape::build(&p, 1, &StreamKey::new(7, 0));
    let base = Policy::set(0x5_a5a5, 20);
    let base_fit = landscape.fitness(0, base);
    let flipped: Vec<Policy> = (0..20).map(|i| Policy::set(base.bits ^ 1 << i, 20)).collect();

    let mut g = c.benchmark_group("nk_one_flip");
    g.throughput(Throughput::Elements(1));
    let mut i = 0;
    g.bench_function("fitness", |b| {
        b.iter(|| {
            i = (i + 1) % flipped.len();
            black_box(&landscape).fitness(black_box(0), black_box(flipped[i]))
        })
    });
    let mut i = 0;
    g.bench_function("refit", |b| {
        b.iter(|| {
            i = (i + 1) % flipped.len();
            black_box(&landscape).refit(black_box(0), black_box(base), black_box(base_fit), black_box(flipped[i]))
        })
    });
    g.finish();
}

/// (b) One zone's step (`StepCtx::step`, built as `Replication::step_zones` builds it), on
/// a 1k-zone replication ten ticks in, cycling through the zones.
fn zone_step(c: &mut Criterion) {
    let rep = replication(1_000, 10);
    let s = &rep.scenario;
    assert!(matches!(rep.network, Network::Csr(_)), "full_best is only needed for a full network");
    let ctx = StepCtx {
        p: &s.zones,
        n: rep.n,
        tick: rep.tick + 1,
        streams: rep.key.prefix(esh::foundation::Purpose::ZoneStep, rep.tick as u64 + 1),
        landscape: &rep.landscape,
        landscape_unchanged: s.landscape.turbulence <= 0.0,
        network: &rep.network,
        programme: rep.centre.programme,
        programme_lineage: &rep.centre.lineage,
        mandate: rep.centre.mandate,
        reference: &rep.centre.reference,
        showcase_best: esh::model::zone::top_two(
            rep.centre.showcase.iter().map(|&j| j as usize),
            &rep.zones.cur.observed,
        ),
        full_best: [None, None],
        detection: effective_detection(s.centre.detection, s.zones.supervisors),
        tolerance: s.centre.tolerance,
        prev: &rep.zones.cur,
        active: &rep.zones.active,
        pilot: &rep.zones.pilot,
        context: &rep.zones.context,
    };
    let zones = rep.zones.len();
    let mut lineage = vec![0u32; rep.n as usize];
    let mut z = 0;
    let mut g = c.benchmark_group("zone_step");
    g.throughput(Throughput::Elements(1));
    g.bench_function("random_1k", |b| {
        b.iter(|| {
            z = (z + 1) % zones;
            black_box(ctx.step(black_box(z), &mut lineage).fitness)
        })
    });
    g.finish();
}

/// (c) One full tick (`Replication::step`) at 1k, 10k and 100k zones, on rayon's default
/// pool, and at 10k zones on one thread.
fn tick(c: &mut Criterion) {
    let mut g = c.benchmark_group("tick");
    // Ticks take milliseconds: the same iteration count per sample keeps 100k within budget.
    g.sampling_mode(SamplingMode::Flat);
    for zones in [1_000u32, 10_000, 100_000] {
        let mut rep = replication(zones, 5);
        g.throughput(Throughput::Elements(zones as u64));
        g.bench_with_input(BenchmarkId::from_parameter(zones), &zones, |b, _| b.iter(|| rep.step()));
    }
    let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().expect("a one-thread pool");
    // The same ticks on one thread, for the scaling figure (threads = all cores above).
    for zones in [10_000u32, 100_000] {
        let mut rep = replication(zones, 5);
        g.throughput(Throughput::Elements(zones as u64));
        g.bench_function(format!("{zones}_one_thread"), |b| b.iter(|| one.install(|| rep.step())));
    }
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = benches;
    config = config();
    targets = nk_one_flip, zone_step, tick
}
criterion_main!(benches);
