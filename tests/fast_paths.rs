//! The fast paths give the general path's outputs byte for byte: a run with the tabulated
//! landscape (one lookup per fitness) and the AVX-512 enumeration, where the CPU has it,
//! against the same run with `ESH_NO_TABLE` (every fitness from the N contributions) and
//! `ESH_PORTABLE` (no CPU-specific code), on scenarios that take each path: one context
//! and several, shared and distinct context tables, N below and above the block
//! enumeration's minimum, normalised and not.

use std::fs;
use std::path::Path;

use assert_cmd::Command;
use tempfile::TempDir;

/// Every file of a run directory but provenance.json (clock, command line), by name.
fn outputs(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap() != "provenance.json")
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), fs::read(&p).unwrap()))
        .collect();
    files.sort();
    files
}

/// Runs `scenario` with `sets` under each combination of the two switches and checks
/// that all four give the same files.
fn same_on_every_path(scenario: &str, sets: &[&str]) {
    let tmp = TempDir::new().unwrap();
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios").join(scenario);
    let mut runs = Vec::new();
    for (i, env) in [vec![], vec!["ESH_PORTABLE"], vec!["ESH_NO_TABLE"], vec!["ESH_PORTABLE", "ESH_NO_TABLE"]]
        .into_iter()
        .enumerate()
    {
        let out = tmp.path().join(format!("run{i}"));
        let mut cmd = Command::cargo_bin("esh").unwrap();
        cmd.arg("run").arg(&file).arg("--out").arg(&out).args(["-q", "-j", "2"]);
        for s in sets {
            cmd.args(["--set", s]);
        }
        cmd.env_remove("ESH_PORTABLE").env_remove("ESH_NO_TABLE");
        for var in &env {
            cmd.env(var, "1");
        }
        let res = cmd.output().unwrap();
        assert!(res.status.success(), "{scenario} {sets:?} {env:?}: {}", String::from_utf8_lossy(&res.stderr));
        runs.push((env, outputs(&out)));
    }
    let (_, first) = &runs[0];
    assert!(first.iter().any(|(name, _)| name == "ticks.csv"));
    for (env, files) in &runs[1..] {
        assert_eq!(files.len(), first.len(), "{scenario} {sets:?} {env:?}: other files");
        for ((name, a), (_, b)) in first.iter().zip(files) {
            assert!(a == b, "{scenario} {sets:?}: {name} differs with {env:?}");
        }
    }
}

#[test]
fn lazer_friedman_is_the_same_on_every_path() {
    // Normalised, one context: the maximum and the table from one enumeration.
    same_on_every_path("lazer_friedman_linear.toml", &["run.replications=3", "run.ticks=40"]);
    same_on_every_path("lazer_friedman_full.toml", &["run.replications=3", "run.ticks=40"]);
    // N below the block enumeration's minimum, and just at it.
    same_on_every_path("lazer_friedman_linear.toml", &["run.replications=2", "landscape.n=6", "landscape.k=2"]);
    same_on_every_path("lazer_friedman_linear.toml", &["run.replications=2", "landscape.n=8", "landscape.k=7"]);
    // Not normalised: tabulated only because the run is long enough to repay it.
    same_on_every_path(
        "lazer_friedman_linear.toml",
        &["run.replications=2", "landscape.normalise=false", "run.ticks=200"],
    );
}

#[test]
fn several_contexts_are_the_same_on_every_path() {
    // Four regions on distinct context tables (similarity 0.5), the centre and lineage
    // on; without turbulence the landscape is tabulated per context.
    same_on_every_path("baseline.toml", &["run.replications=2", "landscape.turbulence=0", "landscape.n=16"]);
    // Shared tables (similarity 1): one enumeration serves every context.
    same_on_every_path(
        "baseline.toml",
        &["run.replications=2", "landscape.turbulence=0", "landscape.context_similarity=1", "landscape.n=14"],
    );
    // Turbulent: never tabulated, but the normalised maximum is not asked for either.
    same_on_every_path("baseline.toml", &["run.replications=2", "run.ticks=20"]);
}
