//! Firm module benchmarks: one tick of one zone's firms (deaths, mergers, productivity
//! growth, designation, ageing, births) at 10k, 100k and 1M firms, monthly rates, one
//! thread. Throughput is in firm-ticks. Each iteration steps a fresh copy of the same block.
//!
//! `cargo bench --bench firms`; `cargo bench --bench firms -- --quick` for a rough pass.

use std::hint::black_box;

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

use esh::foundation::{Purpose, StreamKey};
use esh::model::firm::{self, Block, Rates, ZoneView};
use esh::scenario::{FirmParams, Level};

fn firm_tick(c: &mut Criterion) {
    let mut g = c.benchmark_group("firm_tick");
    for firms in [10_000u64, 100_000, 1_000_000] {
        // Yearly hazard about 10% at these ages; spin-offs replace the dead on average.
        let p = FirmParams {
            enabled: true,
            initial: firms as f64,
            initial_age: 10.0,
            seed_births: 0.0,
            spinoff_births: 0.1,
            merger_rate: 0.05,
            ..FirmParams::default()
        };
        let rates = Rates::new(&p, 12, 20, 0.1);
        let key = StreamKey::new(1, 0);
        let mut block = Block::default();
        let entered = firm::populate(&mut block, &p, &rates, 1.0, &mut key.tick(Purpose::FirmEntry, 0, 0));
        let zone = ZoneView { capacity: 1.0, performance: 0.6, level: Level::National, policy_bits: 0, policy_mask: 0 };
        g.throughput(Throughput::Elements(firms));
        // Each iteration steps a fresh copy of the same block (the copy is not timed), so
        // every measured tick sees the same firms.
        let mut tick = 1u64;
        g.bench_function(BenchmarkId::from_parameter(firms), |b| {
            b.iter_batched_ref(
                || {
                    // Room for the births, as a running zone's vectors have: otherwise the
                    // first birth would copy the whole block into a new allocation.
                    let mut b = block.clone();
                    let room = b.len() / 10;
                    b.productivity.reserve(room);
                    b.employees.reserve(room);
                    b.age.reserve(room);
                    b.kind.reserve(room);
                    b
                },
                |block| {
                    tick += 1;
                    let mut rng = key.tick(Purpose::Firms, tick, 0);
                    black_box(firm::step(block, &rates, &zone, &entered, &mut rng))
                },
                BatchSize::LargeInput,
            )
        });
    }
    g.finish();
}

criterion_group!(benches, firm_tick);
criterion_main!(benches);
