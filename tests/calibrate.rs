//! `esh calibrate` end to end: a synthetic problem with a known answer is recovered; the
//! calibration planned, run in shards and fitted gives the same files as in one go; a
//! planned calibration resumes; bad input is a located error with nothing written.

use std::fs;
use std::path::Path;

use assert_cmd::Command;
use tempfile::TempDir;

fn esh() -> Command {
    Command::cargo_bin("esh").expect("the esh binary is built")
}

/// Ten zones of firms for twenty years; the truth is spinoff_births = 0.2.
const TINY: &str = r#"
[run]
ticks = 20
start_year = 2000
seed = 3
replications = 1

[landscape]
n = 10
k = 2

[network]
kind = "ring"

[[regions]]
name = "A"
zones = 10

[firms]
enabled = true
initial = 500.0
spinoff_births = 0.2
seed_births = 0.0
hazard_young = 0.1
hazard_old = 0.1
hazard_productivity = 0.0

[output]
innovations = false
centre_log = false
"#;

/// The value of a ticks.csv column at a year (the last row of that year).
fn at_year(ticks: &Path, column: &str, year: u32) -> f64 {
    let mut rd = csv::Reader::from_path(ticks).unwrap();
    let head = rd.headers().unwrap().clone();
    let (y, c) = (head.iter().position(|h| h == "year").unwrap(), head.iter().position(|h| h == column).unwrap());
    let mut v = None;
    for r in rd.records() {
        let r = r.unwrap();
        if r[y].parse::<u32>().unwrap() == year {
            v = Some(r[c].parse().unwrap());
        }
    }
    v.unwrap()
}

/// The scenario, and targets taken from a run of it (so the answer is known).
fn problem(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let scenario = dir.join("tiny.toml");
    fs::write(&scenario, TINY).unwrap();
    let truth = dir.join("truth");
    esh().arg("run").arg(&scenario).arg("--out").arg(&truth).arg("-q").assert().success();
    let ticks = truth.join("ticks.csv");
    let targets = dir.join("targets.toml");
    fs::write(
        &targets,
        format!(
            "[[target]]\nname = \"firms_2020\"\nmetric = \"firms\"\nyear = 2020\nvalue = {}\nunit = \"firms\"\nsource = \"truth run\"\n\n\
             [[target]]\nname = \"births_2010\"\nmetric = \"firm_births\"\nyear = 2010\nstat = \"sum\"\nvalue = {}\nunit = \"firms\"\nsource = \"truth run\"\n\n\
             [[target]]\nname = \"growth\"\nkind = \"growth\"\nmetric = \"firms\"\nfrom = 2005\nto = 2015\nvalue = {}\nunit = \"per year\"\nsource = \"truth run\"\n",
            at_year(&ticks, "firms", 2020),
            at_year(&ticks, "firm_births", 2010),
            (at_year(&ticks, "firms", 2015) / at_year(&ticks, "firms", 2005)).powf(0.1) - 1.0
        ),
    )
    .unwrap();
    (scenario, targets)
}

fn csv_column(path: &Path, column: &str) -> Vec<String> {
    let mut rd = csv::Reader::from_path(path).unwrap();
    let c = rd.headers().unwrap().iter().position(|h| h == column).unwrap_or_else(|| panic!("no {column}"));
    rd.records().map(|r| r.unwrap()[c].to_string()).collect()
}

#[test]
fn a_known_answer_is_recovered() {
    let dir = TempDir::new().unwrap();
    let (scenario, targets) = problem(dir.path());
    let out = dir.path().join("cal");
    let run = esh()
        .arg("calibrate")
        .arg(&scenario)
        .arg("--targets")
        .arg(&targets)
        .args(["--params", "firms.spinoff_births=0.05:0.5", "--samples", "45", "--accept", "0.1", "-q", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&run.stderr));
    assert!(stdout.contains("firms_2020") && stdout.contains("best sample"), "{stdout}");
    for f in ["samples.csv", "targets.csv", "parameters.csv", "calibrated.toml", "report.md", "sweep/results.csv"] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    let best: f64 = csv_column(&out.join("parameters.csv"), "best")[0].parse().unwrap();
    let low: f64 = csv_column(&out.join("parameters.csv"), "accepted_min")[0].parse().unwrap();
    let high: f64 = csv_column(&out.join("parameters.csv"), "accepted_max")[0].parse().unwrap();
    assert!((best - 0.2).abs() < 0.03, "best spinoff_births {best}, truth 0.2");
    assert!(low <= 0.2 && 0.2 <= high, "accepted range {low}..{high} misses the truth 0.2");
    assert_eq!(csv_column(&out.join("samples.csv"), "accepted").iter().filter(|a| *a == "1").count(), 5);

    // The calibrated scenario is the base at the best value, and running it gives the best
    // sample's model values.
    let calibrated = out.join("calibrated.toml");
    let text = fs::read_to_string(&calibrated).unwrap();
    assert!(text.contains(&format!("spinoff_births = {best:?}")), "{text}");
    let rerun = dir.path().join("rerun");
    esh().arg("run").arg(&calibrated).arg("--out").arg(&rerun).arg("-q").assert().success();
    let best_firms: f64 = csv_column(&out.join("targets.csv"), "best")[0].parse().unwrap();
    assert_eq!(at_year(&rerun.join("ticks.csv"), "firms", 2020), best_firms);
}

#[test]
fn planned_sharded_and_fitted_equals_one_go_and_resumes() {
    let dir = TempDir::new().unwrap();
    let (scenario, targets) = problem(dir.path());
    let common = |out: &Path| {
        let mut c = esh();
        c.arg("calibrate").arg(&scenario).arg("--targets").arg(&targets).args([
            "--params",
            "firms.spinoff_births=0.05:0.5",
            "firms.hazard_old=0.01:0.5:log",
            "--samples",
            "12",
            "--replications",
            "2",
            "-q",
            "--out",
        ]);
        c.arg(out);
        c
    };
    let one = dir.path().join("one");
    common(&one).assert().success();

    let split = dir.path().join("split");
    common(&split).arg("--plan-only").assert().success();
    let fit = esh().arg("calibrate").arg("--fit").arg(&split).output().unwrap();
    assert_eq!(fit.status.code(), Some(1), "fitting an unrun calibration must fail");
    assert!(String::from_utf8_lossy(&fit.stderr).contains("missing"), "{}", String::from_utf8_lossy(&fit.stderr));
    for shard in ["0/2", "1/2"] {
        esh().args(["sweep", "run"]).arg(split.join("sweep")).args(["--shard", shard, "-q"]).assert().success();
    }
    esh().arg("calibrate").arg("--fit").arg(&split).arg("-q").assert().success();
    for f in ["samples.csv", "targets.csv", "parameters.csv", "calibrated.toml", "report.md"] {
        assert_eq!(fs::read(one.join(f)).unwrap(), fs::read(split.join(f)).unwrap(), "{f} differs");
    }
    // Fitting again with another accepted share.
    esh().arg("calibrate").arg("--fit").arg(&split).args(["--accept", "0.5", "-q"]).assert().success();
    let accepted = csv_column(&split.join("samples.csv"), "accepted").iter().filter(|a| *a == "1").count();
    assert_eq!(accepted, 6, "half of 12 samples");

    let resumed = dir.path().join("resumed");
    common(&resumed).arg("--plan-only").assert().success();
    esh().args(["sweep", "run"]).arg(resumed.join("sweep")).args(["--shard", "1/3", "-q"]).assert().success();
    esh().arg("calibrate").arg("--resume").arg(&resumed).arg("-q").assert().success();
    assert_eq!(fs::read(one.join("samples.csv")).unwrap(), fs::read(resumed.join("samples.csv")).unwrap());
}

#[test]
fn bad_input_is_a_located_error_and_writes_nothing() {
    let dir = TempDir::new().unwrap();
    let (scenario, targets) = problem(dir.path());
    let out = dir.path().join("cal");
    let bad = |args: &[&str], targets: &Path, needles: &[&str]| {
        let o = esh()
            .arg("calibrate")
            .arg(&scenario)
            .arg("--targets")
            .arg(targets)
            .args(args)
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {stderr}");
        for n in needles {
            assert!(stderr.contains(n), "{args:?}: expected {n:?} in {stderr}");
        }
        assert!(!out.exists(), "{args:?} wrote {}", out.display());
    };
    bad(
        &["--params", "firms.spinof_births=0:1"],
        &targets,
        &["unknown parameter", "did you mean `firms.spinoff_births`"],
    );
    bad(&["--params", "firms.spinoff_births=0.5:0.1"], &targets, &["range is empty"]);
    bad(&["--params", "firms.hazard_young=0.1:2"], &targets, &["must stay within"]);
    bad(&["--params", "firms.enabled=0:1"], &targets, &["not a number"]);
    bad(&["--params", "firms.spinoff_births=0:1:log"], &targets, &["log range"]);
    bad(&["--params", "firms.spinoff_births"], &targets, &["NAME=FROM:TO"]);
    let wrong = dir.path().join("wrong.toml");
    fs::write(
        &wrong,
        "[[target]]\nname = \"x\"\nmetric = \"firmz\"\nyear = 2010\nvalue = 1\nunit = \"u\"\nsource = \"s\"\n",
    )
    .unwrap();
    bad(&["--params", "firms.spinoff_births=0.1:1"], &wrong, &["wrong.toml:3:", "did you mean \"firms\""]);
    fs::write(
        &wrong,
        "[[target]]\nname = \"x\"\nmetric = \"firms\"\nyear = 2030\nvalue = 1\nunit = \"u\"\nsource = \"s\"\n",
    )
    .unwrap();
    bad(
        &["--params", "firms.spinoff_births=0.1:1"],
        &wrong,
        &["wrong.toml:4:", "outside the scenario's run (2000-2020)"],
    );

    bad(&["--params", "firms.support_instruments=0.5:3"], &targets, &["integer", "whole numbers"]);
    bad(&["--params", "firms.initial=1:2", "--samples", "0"], &targets, &["at least 1"]);
    bad(&["--params", "firms.spinoff_births=0.1:1", "--accept", "1.5"], &targets, &["--accept"]);
    let off = dir.path().join("off.toml");
    fs::write(&off, TINY.replace("enabled = true", "enabled = false")).unwrap();
    let o = esh()
        .arg("calibrate")
        .arg(&off)
        .arg("--targets")
        .arg(&targets)
        .args(["--params", "zones.experiment_rate=0.1:0.5", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("read firm columns") && stderr.contains("enabled = false"), "{stderr}");
    assert!(!out.exists());
    // The scenario after --params is taken by it: say so.
    let o = esh()
        .arg("calibrate")
        .args(["--params", "firms.initial=1:2"])
        .arg(&scenario)
        .arg("--targets")
        .arg(&targets)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("put the SCENARIO before --params"));
    // Options that do not apply are refused, not ignored.
    let o =
        esh().arg("calibrate").arg(&scenario).arg("--targets").arg(&targets).args(["--samples", "5"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    let o = esh().arg("calibrate").arg("--fit").arg(dir.path()).args(["--seed", "3"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));

    let o = esh().arg("calibrate").arg("--resume").arg(dir.path()).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not a calibration directory"));
}

#[test]
fn without_params_the_scenario_is_compared_with_the_targets() {
    let dir = TempDir::new().unwrap();
    let (scenario, targets) = problem(dir.path());
    let out = esh().arg("calibrate").arg(&scenario).arg("--targets").arg(&targets).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // The targets were read from this very run, so every error is 0.
    assert!(
        stdout.contains("firms_2020") && stdout.contains("+0.0%") && stdout.contains("distance 0.0000"),
        "{stdout}"
    );
    let again = esh().arg("calibrate").arg(&scenario).arg("--targets").arg(&targets).output().unwrap();
    assert_eq!(out.stdout, again.stdout);

    let o = esh().arg("calibrate").arg(&scenario).arg("--targets").arg(&targets).args(["--out", "x"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("nothing to fit"));
}

#[test]
fn out_of_range_options_name_the_option_not_a_temporary_file() {
    let dir = TempDir::new().unwrap();
    let (scenario, targets) = problem(dir.path());
    let out = dir.path().join("cal");
    for (args, needle) in [
        (
            &["--seed", "9223372036854775808"][..],
            "--seed 9223372036854775808: expected an integer in [0, 9223372036854775807]",
        ),
        (&["--samples", "100000000"][..], "--samples 100000000: expected an integer in [1, 10000000]"),
        (&["--replications", "200000"][..], "--replications 200000: expected an integer in [1, 100000]"),
        (&["--samples", "1000000", "--replications", "20"][..], "20000000 runs; at most 10000000"),
    ] {
        let o = esh()
            .arg("calibrate")
            .arg(&scenario)
            .arg("--targets")
            .arg(&targets)
            .args(["--params", "firms.spinoff_births=0.05:0.5"])
            .args(args)
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
        assert!(!stderr.contains("calibration-sweep.toml") && !stderr.contains(".partial"), "{stderr}");
        assert!(!out.exists());
    }
    // Without --params, --replications is checked the same way.
    let o = esh()
        .arg("calibrate")
        .arg(&scenario)
        .arg("--targets")
        .arg(&targets)
        .args(["--replications", "200000"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--replications 200000"));
}

#[test]
fn the_calibration_sweep_writes_no_summary_and_an_undefined_target_says_what_was_written() {
    let dir = TempDir::new().unwrap();
    let (scenario, targets) = problem(dir.path());
    let out = dir.path().join("cal");
    let run = |targets: &Path, out: &Path| {
        esh()
            .arg("calibrate")
            .arg(&scenario)
            .arg("--targets")
            .arg(targets)
            .args(["--params", "firms.spinoff_births=0.05:0.5", "--samples", "6", "-q", "--out"])
            .arg(out)
            .output()
            .unwrap()
    };
    let o = run(&targets, &out);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(out.join("sweep/results.csv").is_file());
    assert!(!out.join("sweep/summary.csv").exists(), "the calibration's sweep keeps no summary.csv");
    // A ratio over a count that is 0 in every sample: no fit, and the message says what is there.
    let undefined = dir.path().join("undefined.toml");
    fs::write(
        &undefined,
        fs::read_to_string(&targets).unwrap()
            + "\n[[target]]\nname = \"per_merger\"\nkind = \"ratio\"\nmetric = \"firms\"\nover = \"firm_mergers\"\nyear = 2010\nvalue = 0.1\nunit = \"share\"\nsource = \"test\"\n",
    )
    .unwrap();
    let out2 = dir.path().join("cal2");
    let o = run(&undefined, &out2);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("nothing was written"), "{stderr}");
    assert!(stderr.contains("no fit was written") && stderr.contains("per_merger"), "{stderr}");
    assert!(stderr.contains(&out2.join("sweep").display().to_string()), "{stderr}");
}

/// The calibration writes TOML (its settings, its sweep) and CSV (targets.csv) naming the
/// user's paths and texts: quoted by the toml and csv crates, so a directory named with a
/// combining character, a unit with a comma and a source with quotes read back as written.
#[test]
fn paths_and_texts_are_quoted_as_toml_and_csv_read_them() {
    let dir = TempDir::new().unwrap();
    let odd = dir.path().join("e\u{301}tude, \"one\"");
    fs::create_dir(&odd).unwrap();
    let (scenario, targets) = problem(&odd);
    let text = fs::read_to_string(&targets).unwrap().replacen(
        "unit = \"firms\"\nsource = \"truth run\"",
        "unit = \"firms, counted\"\nsource = \"the \\\"truth\\\" run\"",
        1,
    );
    fs::write(&targets, text).unwrap();
    let out = odd.join("cal");
    esh()
        .arg("calibrate")
        .arg(&scenario)
        .arg("--targets")
        .arg(&targets)
        .args(["--params", "firms.spinoff_births=0.05:0.5", "--samples", "3", "--replications", "1", "-q", "--out"])
        .arg(&out)
        .assert()
        .success();
    let mut rd = csv::Reader::from_path(out.join("targets.csv")).unwrap();
    let head = rd.headers().unwrap().clone();
    let row = rd.records().next().unwrap().unwrap();
    let col = |name: &str| row[head.iter().position(|h| h == name).unwrap()].to_string();
    assert_eq!(col("unit"), "firms, counted");
    assert_eq!(col("source"), "the \"truth\" run");
    let settings: toml::Table = fs::read_to_string(out.join("calibration.toml")).unwrap().parse().expect("TOML");
    let named = settings["calibration"]["scenario"].as_str().unwrap().to_string();
    assert!(named.contains("e\u{301}tude, \"one\""), "{named}");
}
