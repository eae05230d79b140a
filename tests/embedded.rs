//! What is embedded in the binary matches the files in the repository: the baseline
//! scenario and the generated parameter reference.

use std::fs;
use std::path::Path;

use assert_cmd::Command;
use tempfile::TempDir;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn stdout_of(args: &[&str]) -> Vec<u8> {
    let out = Command::cargo_bin("esh").unwrap().args(args).output().unwrap();
    assert!(out.status.success(), "`esh {}` failed", args.join(" "));
    out.stdout
}

#[test]
fn embedded_baseline_is_the_file() {
    let file = fs::read(root().join("scenarios/baseline.toml")).unwrap();
    assert!(
        stdout_of(&["params", "--baseline"]) == file,
        "`esh params --baseline` differs from scenarios/baseline.toml"
    );
}

#[test]
fn scenario_reference_is_current() {
    let generated = stdout_of(&["params"]);
    let doc = fs::read(root().join("docs/scenario.md")).unwrap_or_default();
    assert!(
        doc == generated,
        "docs/scenario.md is out of date with `esh params`; run `cargo run -- params > docs/scenario.md`"
    );
}

/// `esh run` without a scenario runs the embedded baseline: the same as the file.
#[test]
fn run_without_scenario_is_the_baseline() {
    let dir = TempDir::new().unwrap();
    Command::cargo_bin("esh").unwrap().current_dir(dir.path()).args(["run", "--quiet"]).assert().success();
    Command::cargo_bin("esh")
        .unwrap()
        .arg("run")
        .arg(root().join("scenarios/baseline.toml"))
        .arg("--out")
        .arg(dir.path().join("file"))
        .arg("--quiet")
        .assert()
        .success();
    for name in ["ticks.csv", "events.csv", "innovations.csv"] {
        assert!(
            fs::read(dir.path().join("runs/baseline").join(name)).unwrap()
                == fs::read(dir.path().join("file").join(name)).unwrap(),
            "{name} of the embedded baseline differs from scenarios/baseline.toml's"
        );
    }
}
