//! The command line end to end: every bad-input path exits 2 with an error that names the
//! file, the place and the key, and leaves no output behind; good runs write every file.

use std::fs;
use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;
use tempfile::TempDir;

fn esh() -> Command {
    Command::cargo_bin("esh").expect("the esh binary is built")
}

/// A scenario small enough for a debug build: 60 zones, 6 ticks, 2 replications.
const TINY: &str = r#"
[run]
ticks = 6
replications = 2

[landscape]
n = 10
k = 2

[centre]
review_interval = 2
pilot_quota = 3

[output]
zones_every = 3
diffusion_every = 1

[[regions]]
name = "a"
zones = 40

[[regions]]
name = "b"
zones = 20
"#;

/// Sorted names of the entries of a directory (hidden ones included).
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs `esh` with `args` in `dir` and checks exit code 2 and that stderr holds every needle.
fn expect_bad_input(dir: &Path, args: &[&str], needles: &[&str]) {
    let out = esh().current_dir(dir).args(args).output().expect("esh runs");
    let stderr = stderr_of(&out);
    assert_eq!(out.status.code(), Some(2), "`esh {}` should exit 2; stderr:\n{stderr}", args.join(" "));
    for needle in needles {
        assert!(
            stderr.contains(needle),
            "`esh {}`: stderr should mention {needle:?}; it is:\n{stderr}",
            args.join(" ")
        );
    }
}

/// A scenario text that `esh check` and `esh run` (default and explicit output directory,
/// with and without --force) must reject with exit 2, an error holding every needle, and
/// nothing written.
fn rejects(text: &str, needles: &[&str]) {
    let dir = TempDir::new().unwrap();
    fs::write(dir.path().join("bad.toml"), text).unwrap();
    for args in [
        &["check", "bad.toml"][..],
        &["run", "bad.toml", "--quiet"],
        &["run", "bad.toml", "--out", "out"],
        &["run", "bad.toml", "--out", "out", "--force", "--threads", "1"],
    ] {
        expect_bad_input(dir.path(), args, needles);
        assert_eq!(entries(dir.path()), ["bad.toml"], "`esh {}` left files behind", args.join(" "));
    }
}

#[test]
fn missing_scenario_file() {
    let dir = TempDir::new().unwrap();
    for args in [&["check", "nope.toml"][..], &["run", "nope.toml"], &["run", "nope.toml", "--out", "out", "--force"]] {
        expect_bad_input(dir.path(), args, &["nope.toml", "cannot read"]);
        assert!(entries(dir.path()).is_empty(), "`esh {}` wrote", args.join(" "));
    }
}

#[test]
fn invalid_toml_syntax() {
    rejects("[run]\nticks = = 3\n", &["bad.toml:2:9", "invalid TOML"]);
    rejects("[run\nticks = 3\n", &["bad.toml:1:", "invalid TOML"]);
}

#[test]
fn unknown_key_is_suggested() {
    rejects(
        "[centre]\ntolerence = 0.5\n",
        &["bad.toml:2:1", "centre.tolerence", "unknown key", "did you mean `tolerance`?"],
    );
    rejects("[centr]\ntolerance = 0.5\n", &["bad.toml:1:2", "did you mean `[centre]`?"]);
    rejects("[centre]\nturbulence = 0.1\n", &["bad.toml:2:1", "centre.turbulence", "[landscape]"]);
}

#[test]
fn wrong_type() {
    rejects("[run]\nticks = \"many\"\n", &["bad.toml:2:9", "run.ticks", "an integer in [1, 1000000]", "\"many\""]);
    rejects("[network]\nkind = \"smallworld\"\n", &["bad.toml:2:8", "network.kind", "small_world"]);
}

#[test]
fn out_of_range() {
    rejects("[centre]\ntolerance = 1.5\n", &["bad.toml:2:13", "centre.tolerance", "[0, 1]", "1.5"]);
    rejects("[landscape]\nn = 65\n", &["bad.toml:2:5", "landscape.n", "[1, 64]"]);
}

#[test]
fn k_not_below_n() {
    rejects("[landscape]\nn = 5\nk = 5\n", &["bad.toml:3:1", "landscape.k", "K = 5", "N = 5"]);
}

#[test]
fn pilot_quota_above_zone_count() {
    rejects(
        "[centre]\npilot_quota = 8\n[[regions]]\nname = \"a\"\nzones = 7\n",
        &["bad.toml:2:1", "centre.pilot_quota", "pilot_quota = 8", "7 zones"],
    );
}

#[test]
fn event_before_tick_zero() {
    rejects(
        "[[events]]\ntick = -1\naction = \"set\"\nparameter = \"centre.tolerance\"\nvalue = 0.1\n",
        &["bad.toml:2:8", "events[0].tick", "before tick 0"],
    );
    rejects(
        "[run]\nstart_year = 1990\n[[events]]\nyear = 1980\naction = \"set\"\nparameter = \"centre.tolerance\"\nvalue = 0.1\n",
        &["bad.toml:4:8", "events[0].year", "year 1980", "start year 1990"],
    );
}

#[test]
fn event_after_last_tick() {
    rejects(
        "[run]\nticks = 10\n[[events]]\ntick = 11\naction = \"set\"\nparameter = \"centre.tolerance\"\nvalue = 0.1\n",
        &["bad.toml:4:", "events[0].tick", "last tick 10"],
    );
}

#[test]
fn set_event_checks_parameter_and_value() {
    rejects(
        "[[events]]\ntick = 1\naction = \"set\"\nparameter = \"centre.tolerence\"\nvalue = 0.1\n",
        &["bad.toml:4:", "events[0].parameter", "centre.tolerance"],
    );
    rejects(
        "[[events]]\ntick = 1\naction = \"set\"\nparameter = \"centre.tolerance\"\nvalue = 2.0\n",
        &["bad.toml:5:", "events[0].value", "[0, 1]"],
    );
}

#[test]
fn region_without_zones() {
    rejects(
        "[[regions]]\nname = \"a\"\nzones = 5\n[[regions]]\nname = \"b\"\nzones = 0\n",
        &["bad.toml:6:1", "regions[1].zones", "\"b\"", "no zones"],
    );
}

#[test]
fn bad_arguments() {
    let dir = TempDir::new().unwrap();
    fs::write(dir.path().join("tiny.toml"), TINY).unwrap();
    expect_bad_input(dir.path(), &["run", "tiny.toml", "--out", "out", "--threads", "0"], &["--threads"]);
    expect_bad_input(dir.path(), &["run", "tiny.toml", "--bogus"], &["--bogus"]);
    expect_bad_input(dir.path(), &["frobnicate"], &["frobnicate"]);
    expect_bad_input(dir.path(), &["check"], &["<SCENARIO>"]);
    assert_eq!(entries(dir.path()), ["tiny.toml"]);
}

#[test]
fn existing_output_needs_force() {
    let dir = TempDir::new().unwrap();
    fs::write(dir.path().join("tiny.toml"), TINY).unwrap();
    let out = dir.path().join("out");
    fs::create_dir(&out).unwrap();
    fs::write(out.join("keep.txt"), "precious").unwrap();

    expect_bad_input(
        dir.path(),
        &["run", "tiny.toml", "--out", "out", "--quiet"],
        &["out", "already exists", "--force"],
    );
    assert_eq!(entries(&out), ["keep.txt"], "the old output was touched");
    assert_eq!(fs::read_to_string(out.join("keep.txt")).unwrap(), "precious");
    assert_eq!(entries(dir.path()), ["out", "tiny.toml"]);

    esh().current_dir(dir.path()).args(["run", "tiny.toml", "--out", "out", "--quiet", "--force"]).assert().success();
    let files = entries(&out);
    assert!(!files.contains(&"keep.txt".to_string()), "--force kept the old contents: {files:?}");
    assert!(files.contains(&"ticks.csv".to_string()), "{files:?}");
    assert_eq!(entries(dir.path()), ["out", "tiny.toml"], "partial or old directories left behind");
}

#[test]
fn unwritable_output_is_a_runtime_failure() {
    let dir = TempDir::new().unwrap();
    fs::write(dir.path().join("tiny.toml"), TINY).unwrap();
    fs::write(dir.path().join("file"), "").unwrap();
    let out =
        esh().current_dir(dir.path()).args(["run", "tiny.toml", "--out", "file/out", "--quiet"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("file/"), "{}", stderr_of(&out));
    assert_eq!(entries(dir.path()), ["file", "tiny.toml"]);
}

#[test]
fn check_baseline() {
    esh()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["check", "scenarios/baseline.toml"])
        .assert()
        .success()
        .stdout(predicate::str::starts_with("ok: scenarios/baseline.toml (200 zones"));
}

#[test]
fn every_shipped_scenario_checks() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut checked = 0;
    for entry in fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            let out = esh().arg("check").arg(&path).output().unwrap();
            assert!(out.status.success(), "{} does not pass `esh check`:\n{}", path.display(), stderr_of(&out));
            checked += 1;
        }
    }
    assert!(checked > 0, "no scenarios in {}", dir.display());
}

#[test]
fn run_writes_every_output() {
    let dir = TempDir::new().unwrap();
    fs::write(dir.path().join("tiny.toml"), TINY).unwrap();
    esh()
        .current_dir(dir.path())
        .args(["run", "tiny.toml", "--out", "res/out", "--threads", "2"])
        .assert()
        .success()
        .stdout(predicate::str::is_empty().not());

    let out = dir.path().join("res/out");
    let files = entries(&out);
    for name in [
        "ticks.csv",
        "events.csv",
        "innovations.csv",
        "zones.csv",
        "diffusion.csv",
        "scenario.resolved.toml",
        "provenance.json",
    ] {
        assert!(files.contains(&name.to_string()), "{name} missing: {files:?}");
        assert!(fs::metadata(out.join(name)).unwrap().len() > 0, "{name} is empty");
    }
    assert!(files.iter().all(|f| !f.contains(".part")), "part files left: {files:?}");
    assert_eq!(entries(&dir.path().join("res")), ["out"], "partial directory left");

    let prov: serde_json::Value = serde_json::from_str(&fs::read_to_string(out.join("provenance.json")).unwrap())
        .expect("provenance.json is valid JSON");
    assert_eq!(prov["replications"], 2);
    assert_eq!(prov["ticks"], 6);
    assert_eq!(prov["threads"], 2);
    assert_eq!(prov["scenario"], "tiny.toml");
    assert!(prov["files"].as_array().is_some_and(|f| !f.is_empty()));

    // One header, then (ticks + 1) rows for each replication.
    let ticks = fs::read_to_string(out.join("ticks.csv")).unwrap();
    assert_eq!(ticks.lines().count(), 1 + 2 * 7);
    assert!(ticks.starts_with("replication,tick,"), "{ticks}");
    // The resolved scenario is itself a valid scenario.
    esh().current_dir(&out).args(["check", "scenario.resolved.toml"]).assert().success();
}

#[test]
fn run_without_out_writes_under_runs() {
    let dir = TempDir::new().unwrap();
    fs::write(dir.path().join("tiny.toml"), TINY).unwrap();
    esh().current_dir(dir.path()).args(["run", "tiny.toml", "--quiet"]).assert().success().stdout("");
    assert_eq!(entries(&dir.path().join("runs")), ["tiny"]);
    assert!(dir.path().join("runs/tiny/ticks.csv").is_file());
}

/// A CSV with no rows still starts with its header (tidy readers need the columns).
#[test]
fn empty_outputs_keep_their_header() {
    let dir = TempDir::new().unwrap();
    let scenario = dir.path().join("quiet.toml");
    // No centre, no experiments: no events, no innovations in any replication.
    fs::write(
        &scenario,
        "[run]\nticks = 3\nreplications = 2\n[centre]\nreview_interval = 0\npilot_quota = 0\nshowcase_top = 0\n\
         [zones]\nexperiment_rate = 0.0\n[[regions]]\nzones = 5\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    esh().args(["run", scenario.to_str().unwrap(), "--out", out.to_str().unwrap(), "--quiet"]).assert().success();
    let events = fs::read_to_string(out.join("events.csv")).unwrap();
    assert_eq!(
        events,
        "replication,tick,year,kind,zone,count,region,level,pilot,parameter,value,instrument,instruments,\
         innovation,excess,selection,performance\n"
    );
    let innovations = fs::read_to_string(out.join("innovations.csv")).unwrap();
    assert!(innovations.starts_with("replication,innovation,origin_zone,"), "{innovations}");
    assert_eq!(innovations.lines().count(), 1);
}

/// Zones that start from the programme hold exactly it (no stray bits above N), so a
/// scenario with nothing to change stops at tick 1.
#[test]
fn equilibrium_stops_a_quiet_run() {
    let dir = TempDir::new().unwrap();
    let scenario = dir.path().join("still.toml");
    fs::write(
        &scenario,
        "[run]\nticks = 20\nreplications = 1\nstop_at_equilibrium = true\n[landscape]\nturbulence = 0.0\n\
         [centre]\nreview_interval = 0\npilot_quota = 0\nshowcase_top = 0\n\
         [zones]\ninitial_policy = \"programme\"\nperturbation = 0.0\nexperiment_rate = 0.0\n[[regions]]\nzones = 10\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    esh().args(["run", scenario.to_str().unwrap(), "--out", out.to_str().unwrap(), "--quiet"]).assert().success();
    let ticks = fs::read_to_string(out.join("ticks.csv")).unwrap();
    // The header, tick 0 and tick 1.
    assert_eq!(ticks.lines().count(), 3, "{ticks}");
}

/// `--out` must name a directory of its own, and never an existing file.
#[test]
fn output_path_must_be_a_directory_name() {
    let dir = TempDir::new().unwrap();
    let scenario = dir.path().join("s.toml");
    fs::write(&scenario, "[run]\nticks = 2\n[[regions]]\nzones = 10\n").unwrap();
    let file = dir.path().join("afile");
    fs::write(&file, "keep me").unwrap();
    for (out, needle) in [(file.to_str().unwrap(), "not a directory"), (".", "ends in `.`"), ("y/.", "ends in `.`")] {
        let output = esh()
            .current_dir(dir.path())
            .args(["run", scenario.to_str().unwrap(), "--out", out, "--force", "--quiet"])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&output.stderr).contains(needle));
    }
    assert_eq!(fs::read_to_string(&file).unwrap(), "keep me");
}

/// Events may name zones that enter through add_zones (ids continue in order of entry).
#[test]
fn events_can_target_added_zones() {
    let dir = TempDir::new().unwrap();
    let scenario = dir.path().join("ev.toml");
    fs::write(
        &scenario,
        "[run]\nticks = 5\n[centre]\npilot_quota = 1\nshowcase_top = 1\n[[regions]]\nname = \"a\"\nzones = 5\n\
         [[events]]\ntick = 2\naction = \"add_zones\"\nregion = \"a\"\ncount = 5\n\
         [[events]]\ntick = 3\naction = \"set_pilot\"\nzones = [7]\npilot = true\n",
    )
    .unwrap();
    esh().args(["check", scenario.to_str().unwrap()]).assert().success();
    let out = dir.path().join("out");
    esh().args(["run", scenario.to_str().unwrap(), "--out", out.to_str().unwrap(), "--quiet"]).assert().success();
    let events = fs::read_to_string(out.join("events.csv")).unwrap();
    // Each field of an event has its own column: set_pilot's zone 7 and pilot 1.
    assert!(events.contains(",set_pilot,7,,,,1,"), "{events}");
    assert!(events.contains(",add_zones,5,5,a,"), "{events}");
}

/// A default that does not fit the scenario is named as a default, with what to set.
#[test]
fn unfitting_default_is_named() {
    rejects("[[regions]]\nzones = 3\n", &["pilot_quota", "(the default)", "at most 3"]);
}

/// A scenario whose network would not fit is refused before anything is built.
#[test]
fn oversized_network_is_refused() {
    rejects("[[regions]]\nzones = 3000000\n", &["network.p_within", "edges", "full"]);
}
