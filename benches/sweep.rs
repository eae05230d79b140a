//! The sweep's overhead over bare runs of the same scenarios: `sweep` plans nothing (the
//! plan is made once) but reads plan.csv, builds each run's scenario, runs it with the
//! collector and appends it to a shard file with its completion record; `bare` builds the
//! same scenarios and runs them with an observer that computes the same tick rows and
//! keeps nothing. Both run the runs in parallel on all cores.
//!
//! `cargo bench --bench sweep` (about a minute).

use std::hint::black_box;
use std::io;
use std::path::Path;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rayon::prelude::*;

use esh::engine::{Observer, Replication, TickCounts, run_replication};
use esh::model::centre::Act;
use esh::output::metrics::tick_row;
use esh::sweep::{Plan, Shard, design, execute};

/// 400 runs of a 100-zone, 100-tick scenario; `keep` is filled in.
const SWEEP: &str = r#"
[sweep]
replications = 20
[scenario.run]
ticks = 100
[scenario.network]
kind = "random"
density = 0.1
[[scenario.regions]]
name = "all"
zones = 100
[axes]
"centre.tolerance" = { from = 0.0, to = 1.0, steps = 5 }
"zones.experiment_rate" = [0.1, 0.2, 0.3, 0.4]
[keep]
ticks = "KEEP"
"#;

/// Computes each tick's row, as every run's observer does, and keeps nothing.
struct Discard;

impl Observer for Discard {
    fn tick(&mut self, rep: &Replication, counts: &TickCounts) -> io::Result<()> {
        black_box(tick_row(rep, counts));
        Ok(())
    }
    fn acts(&mut self, _: &Replication, _: &[Act]) -> io::Result<()> {
        Ok(())
    }
    fn finish(&mut self, _: &Replication) -> io::Result<()> {
        Ok(())
    }
}

/// Every tick kept (the heaviest output: 101 rows of 36 metrics a run), and the final
/// tick only (the usual choice for large sweeps).
fn overhead(c: &mut Criterion) {
    for keep in ["all", "final"] {
        compare(c, keep);
    }
}

fn compare(c: &mut Criterion, keep: &str) {
    let dir = tempfile::TempDir::new().unwrap();
    std::fs::write(dir.path().join("sweep.toml"), SWEEP.replace("KEEP", keep)).unwrap();
    let out = dir.path().join("sw");
    esh::sweep::plan::create(&dir.path().join("sweep.toml"), &out, false).unwrap();
    let plan = Plan::open(&out).unwrap();
    let rows: Vec<_> = plan.rows().unwrap().map(Result::unwrap).collect();

    let mut g = c.benchmark_group(format!("sweep_400_runs_keep_{keep}"));
    g.sample_size(10).measurement_time(Duration::from_secs(20)).throughput(Throughput::Elements(rows.len() as u64));
    g.bench_function("bare", |b| {
        b.iter(|| {
            rows.par_iter().for_each(|row| {
                let values = plan.values(row).unwrap();
                let s = design::scenario(&plan.sweep.base, &plan.sweep.axes, &values, row.seed).unwrap();
                run_replication(&s, row.replication, &mut Discard, &|| {}).unwrap();
            })
        })
    });
    g.bench_function("sweep", |b| {
        b.iter_batched(
            || clear(&plan.shard_dir()),
            |_| {
                let opts = execute::Options { shard: Shard::WHOLE, retry_failed: false, reporters: Default::default() };
                let report = execute::run_shard(&plan, &opts, &esh::progress::Silent).unwrap();
                assert_eq!(report.ran, rows.len() as u64);
            },
            criterion::BatchSize::PerIteration,
        )
    });
    g.finish();
}

fn clear(dir: &Path) {
    let _ = std::fs::remove_dir_all(dir);
}

criterion_group!(benches, overhead);
criterion_main!(benches);
