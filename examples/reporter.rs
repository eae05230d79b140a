//! Adding your own column to ticks.csv: a [`Reporter`] computes the share of active zones
//! whose performance is above the median of active zones, tick by tick, and the run writes
//! it as the last column of ticks.csv. The model and the library are untouched; a run
//! without the reporter writes exactly the other columns.
//!
//! `cargo run --example reporter [-- OUT_DIR]` (default: a directory in the temp dir).

use std::path::PathBuf;

use esh::engine::Replication;
use esh::output::metrics::Num;
use esh::output::{Reporter, RunOptions, run_to_dir};
use esh::progress::Silent;
use esh::scenario::Scenario;

/// A small scenario: 60 zones in two regions, 30 ticks, two replications.
const SCENARIO: &str = r#"
[run]
ticks = 30
replications = 2
seed = 11

[[regions]]
name = "coast"
zones = 40

[[regions]]
name = "inland"
zones = 20
"#;

/// The share of active zones performing above the median of active zones.
struct AboveMedian;

impl Reporter for AboveMedian {
    fn columns(&self) -> Vec<String> {
        vec!["share_above_median".to_string()]
    }

    fn values(&self, rep: &Replication) -> Vec<Num> {
        let perf: Vec<f64> = rep.active_zones().map(|z| rep.zones.cur.performance[z]).collect();
        if perf.is_empty() {
            return vec![Num::Float(f64::NAN)]; // undefined: an empty cell
        }
        let mut sorted = perf.clone();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        let median = if n % 2 == 1 { sorted[n / 2] } else { (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0 };
        let above = perf.iter().filter(|&&p| p > median).count();
        vec![Num::Float(above as f64 / n as f64)]
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("esh-reporter-example"));
    let scenario = Scenario::parse(SCENARIO, "reporter example")?;
    let opts = RunOptions { force: true, scenario_name: "reporter example".into(), ..RunOptions::default() }
        .with_reporter(AboveMedian);
    run_to_dir(&scenario, &out, &opts, &Silent)?;

    let ticks = std::fs::read_to_string(out.join("ticks.csv"))?;
    let mut lines = ticks.lines();
    let header: Vec<&str> = lines.next().ok_or("an empty ticks.csv")?.split(',').collect();
    let col = header.iter().position(|h| *h == "share_above_median").ok_or("no share_above_median column")?;
    println!("{}: share_above_median is column {} of {}", out.join("ticks.csv").display(), col + 1, header.len());
    for line in lines.filter(|l| l.starts_with("0,")).step_by(10) {
        let fields: Vec<&str> = line.split(',').collect();
        println!("replication 0, tick {:>2}: share above median {}", fields[1], fields[col]);
    }
    Ok(())
}
