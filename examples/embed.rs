//! Embedding ESH in a program of your own: read a scenario file, change a parameter in
//! code, and run replications with `engine::run_replication` into an `Observer` of your
//! own, which keeps only what you need: here the centre's acts counted by kind and the
//! best mean performance reached. Nothing is written to disk.
//!
//! `cargo run --example embed [-- SCENARIO.toml]` (default: scenarios/baseline.toml).

use std::path::PathBuf;

use esh::engine::{Observer, Replication, TickCounts, run_replication};
use esh::model::centre::{Act, ActKind};
use esh::scenario::Scenario;

/// What this program keeps of a replication.
#[derive(Default)]
struct Summary {
    /// Acts (events and the centre's acts) by kind, in `ActKind::ALL` order.
    acts: [u32; ActKind::ALL.len()],
    /// The best mean performance over active zones, and its tick.
    best: Option<(f64, u32)>,
    experiments: u64,
    last_tick: u32,
}

impl Observer for Summary {
    fn tick(&mut self, rep: &Replication, counts: &TickCounts) -> std::io::Result<()> {
        let (sum, n) = rep.active_zones().fold((0.0, 0), |(s, n), z| (s + rep.zones.cur.performance[z], n + 1));
        if n > 0 {
            let mean = sum / n as f64;
            if self.best.is_none_or(|(b, _)| mean > b) {
                self.best = Some((mean, rep.tick));
            }
        }
        self.experiments += counts.experiments as u64;
        Ok(())
    }

    fn acts(&mut self, _: &Replication, acts: &[Act]) -> std::io::Result<()> {
        for a in acts {
            let i = ActKind::ALL.iter().position(|k| *k == a.kind).expect("every kind is in ALL");
            self.acts[i] += 1;
        }
        Ok(())
    }

    fn finish(&mut self, rep: &Replication) -> std::io::Result<()> {
        self.last_tick = rep.tick;
        Ok(())
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/baseline.toml")));
    let mut scenario = Scenario::load(&path)?;
    // Parameters can be changed in code, with the same checks as in a file.
    scenario.set_from_str("embed example", "run.replications", "2")?;
    scenario.set_from_str("embed example", "centre.tolerance", "0.5")?;
    println!("{}: {} zones, {} ticks", path.display(), scenario.total_zones(), scenario.run.ticks);
    for r in 0..scenario.run.replications {
        let mut summary = Summary::default();
        run_replication(&scenario, r, &mut summary, &|| {})?;
        let (best, at) = summary.best.unwrap_or((f64::NAN, 0));
        println!(
            "replication {r}: {} ticks, {} experiments, best mean performance {best:.4} at tick {at}",
            summary.last_tick, summary.experiments
        );
        let acts: Vec<String> =
            ActKind::ALL.iter().zip(summary.acts).filter(|(_, n)| *n > 0).map(|(k, n)| format!("{k} {n}")).collect();
        println!("  acts: {}", acts.join(", "));
    }
    Ok(())
}
