//! No output holds a non-finite number. Every ready scenario in `scenarios/` is run for
//! 40,000 ticks on a few zones (long enough that, before zone capacity was capped,
//! laissez-faire overflowed to inf in mean_capacity, regional_disparity and regions.csv and
//! wrote NaN), and so is a capacity growth of 10 on 10 zones (inf by tick 575 before); then
//! every file of every run is scanned for inf and NaN.

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use tempfile::TempDir;

const TICKS: i64 = 40_000;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A ready scenario made long and small: `ticks` ticks, one replication, at most `zones`
/// zones per region, zone snapshots every 5,000 ticks and `changes` on top.
fn long_and_small(path: &Path, zones: i64, changes: &[(&str, &str, toml::Value)]) -> String {
    let text = fs::read_to_string(path).unwrap();
    let mut t: toml::Table = toml::from_str(&text).unwrap();
    let table = |t: &mut toml::Table, k: &str| -> toml::Table {
        t.get(k).and_then(|v| v.as_table()).cloned().unwrap_or_default()
    };
    let mut run = table(&mut t, "run");
    run.insert("ticks".into(), TICKS.into());
    run.insert("replications".into(), 1.into());
    run.insert("stop_at_equilibrium".into(), false.into());
    t.insert("run".into(), run.into());
    let mut output = table(&mut t, "output");
    output.insert("zones_every".into(), 5000.into());
    output.insert("diffusion_every".into(), 5000.into());
    t.insert("output".into(), output.into());
    if let Some(toml::Value::Array(regions)) = t.get_mut("regions") {
        for r in regions.iter_mut().filter_map(|r| r.as_table_mut()) {
            let n = r.get("zones").and_then(|v| v.as_integer()).unwrap_or(0);
            r.insert("zones".into(), n.min(zones).into());
        }
    }
    if changes.iter().any(|c| c.0 == "firms")
        && let Some(toml::Value::Array(events)) = t.get_mut("events")
    {
        // The scenario's own changes to firm rates would undo the few-firms setting.
        events.retain(|e| !e.get("parameter").and_then(|p| p.as_str()).is_some_and(|p| p.starts_with("firms.")));
    }
    for (section, key, value) in changes {
        let mut s = table(&mut t, section);
        s.insert(key.to_string(), value.clone());
        t.insert(section.to_string(), s.into());
    }
    toml::to_string(&t).unwrap()
}

/// Every non-finite number in a file: CSV cells, or words of other text files.
fn non_finite(path: &Path) -> Vec<String> {
    let text = fs::read_to_string(path).unwrap_or_default();
    let bad = |w: &str| {
        let w = w.trim().trim_matches('"').to_ascii_lowercase();
        matches!(w.trim_start_matches(['-', '+']), "inf" | "infinity" | "nan")
    };
    let mut found = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let words: Vec<&str> = if path.extension().is_some_and(|e| e == "csv") {
            line.split(',').collect()
        } else {
            line.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '+')).collect()
        };
        if let Some(w) = words.iter().find(|w| bad(w)) {
            found.push(format!("{}, line {}: `{w}`", path.display(), i + 1));
        }
    }
    found
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() { out.extend(files(&p)) } else { out.push(p) }
    }
    out
}

fn run(tmp: &TempDir, name: &str, scenario: String) -> Vec<String> {
    let file = tmp.path().join(format!("{name}.toml"));
    fs::write(&file, scenario).unwrap();
    let out = tmp.path().join(name);
    let res =
        Command::cargo_bin("esh").unwrap().arg("run").arg(&file).arg("--out").arg(&out).arg("-q").output().unwrap();
    assert!(res.status.success(), "{name}: {}", String::from_utf8_lossy(&res.stderr));
    let written = files(&out);
    assert!(written.iter().any(|p| p.ends_with("ticks.csv")), "{name}: no ticks.csv");
    written.iter().flat_map(|p| non_finite(p)).collect()
}

#[test]
fn long_runs_of_every_ready_scenario_write_only_finite_numbers() {
    let tmp = TempDir::new().unwrap();
    let mut scenarios: Vec<PathBuf> = fs::read_dir(root().join("scenarios"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    scenarios.sort();
    assert!(scenarios.len() >= 10, "{scenarios:?}");
    let mut bad = Vec::new();
    for path in &scenarios {
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        // With firms, few of them (a long run of the historical scenario's 2 million firms
        // takes minutes): 2 firms per unit of capacity, few births, and the scenario's own
        // events on firm rates left out. Their quantities are scanned all the same.
        let few_firms = [
            ("firms", "initial", 2.0.into()),
            ("firms", "seed_births", 0.5.into()),
            ("firms", "spinoff_births", 0.1.into()),
            ("firms", "carrying", 2.0.into()),
        ];
        let firms = fs::read_to_string(path).unwrap().contains("[firms]");
        bad.extend(run(&tmp, &name, long_and_small(path, 3, if firms { &few_firms } else { &[] })));
    }
    // The second case: capacity growth 10 on 10 zones reached inf by tick 575.
    let lf = root().join("scenarios/laissez_faire.toml");
    let growth = long_and_small(&lf, 5, &[("zones", "capacity_growth", 10.0.into())]);
    bad.extend(run(&tmp, "growth10", growth));
    assert!(bad.is_empty(), "non-finite values written:\n{}", bad.join("\n"));
}

#[test]
fn the_scan_finds_non_finite_values() {
    let tmp = TempDir::new().unwrap();
    let csv = tmp.path().join("t.csv");
    fs::write(&csv, "a,b\n1.0,inf\n-inf,2\nNaN,3\n0.5,1e308\n").unwrap();
    assert_eq!(non_finite(&csv).len(), 3);
    let json = tmp.path().join("p.json");
    fs::write(&json, "{\"x\": NaN, \"info\": \"informal\"}").unwrap();
    assert_eq!(non_finite(&json).len(), 1);
}
