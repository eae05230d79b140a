//! Outputs depend on the scenario and seed only: not on the thread count, not on the run,
//! and the resolved scenario written beside a run reproduces it exactly.

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use esh::scenario::{Scenario, resolve};
use tempfile::TempDir;

/// Small but exercising every source of randomness: three regions of 1,200 zones in all
/// (more than one parallel chunk of 512 zones), turbulence, observation noise, turnover,
/// an add_zones event, a set event given by year and a set_pilot event, and firms (births,
/// deaths, mergers under a hierarchy bias, entering zones' initial firms, a set event on a
/// firm rate).
const SCENARIO: &str = r#"
[run]
ticks = 30
start_year = 2000
seed = 42
replications = 3

[landscape]
n = 16
k = 3
turbulence = 0.02

[centre]
review_interval = 4
pilot_quota = 5

[zones]
experiment_rate = 0.4
observation_noise = 0.05
turnover = 0.02

[network]
kind = "regional"
p_within = 0.02
p_between = 0.002

[firms]
enabled = true
initial = 30.0
spinoff_births = 0.4
carrying = 200.0
merger_rate = 0.05
merger_hierarchy = 0.3
support_instruments = 3
support_boost = 0.5

[output]
zones_every = 5
diffusion_every = 1

[[regions]]
name = "East"
zones = 500

[[regions]]
name = "Centre"
zones = 400

[[regions]]
name = "West"
zones = 300

[[events]]
tick = 7
action = "add_zones"
region = "West"
count = 100

[[events]]
year = 2012
action = "set"
parameter = "centre.tolerance"
value = 0.2

[[events]]
tick = 10
action = "set"
parameter = "firms.spinoff_births"
value = 0.1

[[events]]
tick = 15
action = "set_pilot"
region = "East"
pilot = true
"#;

/// Runs `esh run <scenario> --out <out> --quiet` with extra args.
fn run(scenario: &Path, out: &Path, extra: &[&str]) {
    Command::cargo_bin("esh")
        .unwrap()
        .arg("run")
        .arg(scenario)
        .arg("--out")
        .arg(out)
        .arg("--quiet")
        .args(extra)
        .assert()
        .success();
}

fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

/// Every file of two output directories but provenance.json is identical, byte for byte.
fn assert_same_outputs(a: &Path, b: &Path) {
    let names = files(a);
    assert_eq!(names, files(b), "{} and {} hold different files", a.display(), b.display());
    for name in names.iter().filter(|n| *n != "provenance.json") {
        let (x, y) = (fs::read(a.join(name)).unwrap(), fs::read(b.join(name)).unwrap());
        if x != y {
            let line = x
                .split(|&c| c == b'\n')
                .zip(y.split(|&c| c == b'\n'))
                .position(|(l, m)| l != m)
                .map_or("?".to_string(), |i| (i + 1).to_string());
            panic!(
                "{name} differs between {} and {} (first at line {line}; {} vs {} bytes)",
                a.display(),
                b.display(),
                x.len(),
                y.len()
            );
        }
    }
}

/// Column `name` of a CSV file, as numbers.
fn column(csv: &Path, name: &str) -> Vec<f64> {
    let text = fs::read_to_string(csv).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let i = header.iter().position(|h| *h == name).unwrap_or_else(|| panic!("no column {name} in {}", csv.display()));
    lines.map(|l| l.split(',').nth(i).unwrap().parse().unwrap()).collect()
}

#[test]
fn outputs_do_not_depend_on_threads_or_run() {
    let dir = TempDir::new().unwrap();
    let scenario = dir.path().join("det.toml");
    fs::write(&scenario, SCENARIO).unwrap();
    let out = |name: &str| -> PathBuf { dir.path().join(name) };

    run(&scenario, &out("t1"), &["--threads", "1"]);
    run(&scenario, &out("t2"), &["--threads", "2"]);
    run(&scenario, &out("t2-again"), &["--threads", "2"]);
    run(&out("t1").join("scenario.resolved.toml"), &out("resolved"), &["--threads", "2"]);

    let names = files(&out("t1"));
    for f in [
        "ticks.csv",
        "regions.csv",
        "events.csv",
        "innovations.csv",
        "zones.csv",
        "diffusion.csv",
        "scenario.resolved.toml",
    ] {
        assert!(names.contains(&f.to_string()), "{f} missing: {names:?}");
    }
    // The scenario really exercises what it is meant to.
    let ticks = out("t1").join("ticks.csv");
    assert!(column(&ticks, "turnover").iter().sum::<f64>() > 0.0);
    assert!(column(&ticks, "experiments").iter().sum::<f64>() > 0.0);
    for flow in ["firm_births", "firm_deaths", "firm_mergers"] {
        assert!(column(&ticks, flow).iter().sum::<f64>() > 0.0, "no {flow}");
    }

    assert_same_outputs(&out("t1"), &out("t2"));
    assert_same_outputs(&out("t2"), &out("t2-again"));
    assert_same_outputs(&out("t1"), &out("resolved"));
}

#[test]
fn resolved_baseline_reruns_identically() {
    let dir = TempDir::new().unwrap();
    let baseline = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/baseline.toml");
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    run(&baseline, &a, &[]);
    let resolved = a.join("scenario.resolved.toml");
    run(&resolved, &b, &[]);
    assert_eq!(
        fs::read(a.join("ticks.csv")).unwrap(),
        fs::read(b.join("ticks.csv")).unwrap(),
        "re-running the resolved baseline changed ticks.csv"
    );
    assert_same_outputs(&a, &b);

    let original = Scenario::load(&baseline).unwrap();
    let reread = Scenario::load(&resolved).unwrap();
    assert_eq!(original, reread, "the resolved baseline parses differently");
}

/// Every shipped scenario survives resolve -> parse unchanged, and resolving is a fixed point.
#[test]
fn every_scenario_resolves_to_itself() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut seen = 0;
    for entry in fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let s = Scenario::load(&path).unwrap_or_else(|e| panic!("{e}"));
        let text = resolve::to_toml(&s);
        let again = Scenario::parse(&text, "resolved")
            .unwrap_or_else(|e| panic!("resolved {} does not parse: {e}", path.display()));
        assert_eq!(s, again, "{} changes when resolved", path.display());
        assert_eq!(text, resolve::to_toml(&again), "{}", path.display());
        seen += 1;
    }
    assert!(seen > 0);

    // And the scenario of the thread test, with events given by tick and by year.
    let s = Scenario::parse(SCENARIO, "det.toml").unwrap();
    let again = Scenario::parse(&resolve::to_toml(&s), "resolved").unwrap();
    assert_eq!(s, again);
}
