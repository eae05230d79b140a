//! `esh reproduce` and `esh plot` end to end: every experiment runs in quick mode, the
//! published results (H6 Lazer & Friedman, H7 March) reproduce, another seed flips no
//! verdict, results do not depend on the thread count, the report and its SVG figures are
//! well formed, and bad experiment files exit 2 with errors that name the file, the key and
//! what is allowed.

use std::fs;
use std::path::Path;

use assert_cmd::Command;
use tempfile::TempDir;

fn esh() -> Command {
    Command::cargo_bin("esh").expect("the esh binary is built")
}

/// (experiment, test, verdict) rows of verdicts.csv.
fn verdicts(dir: &Path) -> Vec<(String, String, String)> {
    let mut rdr = csv::Reader::from_path(dir.join("verdicts.csv")).unwrap();
    rdr.records()
        .map(|r| {
            let r = r.unwrap();
            (r[0].to_string(), r[1].to_string(), r[7].to_string())
        })
        .collect()
}

fn assert_svg(path: &Path) {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let doc = roxmltree::Document::parse(&text).unwrap_or_else(|e| panic!("{} is not XML: {e}", path.display()));
    assert_eq!(doc.root_element().tag_name().name(), "svg", "{}", path.display());
    assert!(doc.descendants().any(|n| n.tag_name().name() == "polyline" || n.tag_name().name() == "path"));
}

#[test]
fn every_experiment_runs_quick_and_the_published_results_reproduce() {
    let tmp = TempDir::new().unwrap();
    let out = tmp.path().join("rep");
    // Exit 0 also says that every test of the published experiments (H6, H7) reproduced.
    let run = esh().args(["reproduce", "--all", "--quick", "-q", "--out"]).arg(&out).assert().success();
    let table = String::from_utf8(run.get_output().stdout.clone()).unwrap();
    for id in ["H1", "H2", "H3", "H4", "H5", "H6", "H7"] {
        assert!(table.contains(id), "{id} missing from\n{table}");
        assert!(out.join(id).join("runs.csv").is_file());
        assert!(out.join(id).join("experiment.toml").is_file());
        for f in fs::read_dir(out.join(id)).unwrap() {
            let p = f.unwrap().path();
            if p.extension().is_some_and(|x| x == "svg") {
                assert_svg(&p);
            }
        }
    }
    let v = verdicts(&out);
    for (e, t, verdict) in &v {
        if e == "H6" || e == "H7" {
            assert_eq!(verdict, "reproduced", "{e} {t}");
        } else {
            assert!(["supported", "contradicted", "inconclusive"].contains(&verdict.as_str()), "{e} {t}: {verdict}");
        }
    }
    let report = fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains("| hypothesis | test | effect | 95% CI | replications | verdict |"));
    assert!(report.contains("### Where it holds"), "the seeds' claims are mapped over K and context similarity");
    assert!(report.contains("![") && report.contains(".svg)"));
    // The resolved scenarios in the report re-run as they are.
    esh().arg("check").arg(out.join("H6").join("scenario-linear.toml")).assert().success();

    // Another master seed flips no verdict from supported to contradicted or back, and
    // leaves the published results reproduced.
    let other = tmp.path().join("rep-seed");
    esh().args(["reproduce", "--all", "--quick", "-q", "--seed", "99", "--out"]).arg(&other).assert().success();
    for (a, b) in v.iter().zip(verdicts(&other)) {
        assert_eq!((&a.0, &a.1), (&b.0, &b.1));
        let flipped = (a.2 == "supported" && b.2 == "contradicted") || (a.2 == "contradicted" && b.2 == "supported");
        assert!(!flipped, "{} {} flips with the seed: {} then {}", a.0, a.1, a.2, b.2);
    }
    assert_ne!(fs::read(out.join("H1/runs.csv")).unwrap(), fs::read(other.join("H1/runs.csv")).unwrap());
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let tmp = TempDir::new().unwrap();
    let (one, two) = (tmp.path().join("one"), tmp.path().join("two"));
    esh().args(["reproduce", "H1", "H7", "--quick", "-q", "-j", "1", "--out"]).arg(&one).assert().success();
    esh().args(["reproduce", "h1", "H7", "--quick", "-q", "-j", "2", "--out"]).arg(&two).assert().success();
    for f in ["verdicts.csv", "H1/runs.csv", "H1/map.csv", "H7/runs.csv", "H1/figure-1.svg", "H7/figure-1.svg"] {
        assert_eq!(fs::read(one.join(f)).unwrap(), fs::read(two.join(f)).unwrap(), "{f}");
    }
    // An existing report is kept without --force.
    let err = esh().args(["reproduce", "H7", "--quick", "--out"]).arg(&one).assert().code(2);
    assert!(String::from_utf8_lossy(&err.get_output().stderr).contains("--force"));
}

#[test]
fn users_write_their_own_experiments() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path();
    fs::write(
        dir.join("s.toml"),
        "[run]\nticks = 20\n[landscape]\nn = 10\nk = 2\n[centre]\nreview_interval = 4\n[[regions]]\nname = \"a\"\nzones = 30\n",
    )
    .unwrap();
    let exp = r#"
[experiment]
id = "mine"
title = "Tolerance helps"
seed = 5
replications = 6

[[regime]]
name = "tolerant"
scenario = "s.toml"
set = { "centre.tolerance" = 0.9 }

[[regime]]
name = "strict"
scenario = "s.toml"
set = { centre = { tolerance = 0.0 } }

[[measure]]
name = "perf"
metric = "mean_performance"
window = [10, 20]

[[test]]
name = "tolerance"
kind = "difference"
measure = "perf"
a = "tolerant"
b = "strict"
expect = "greater"
"#;
    fs::write(dir.join("mine.toml"), exp).unwrap();
    let out = dir.join("rep");
    let run = esh().arg("reproduce").arg(dir.join("mine.toml")).args(["-q", "--out"]).arg(&out).assert().success();
    assert!(String::from_utf8_lossy(&run.get_output().stdout).contains("mine"));
    let runs = fs::read_to_string(out.join("mine/runs.csv")).unwrap();
    assert!(runs.starts_with("regime,replication,measure,value\n"));
    assert_eq!(runs.lines().count(), 1 + 2 * 6);
    // A directory of experiments must hold experiment files only: the scenario is named.
    let a = esh().args(["reproduce", "--list", "--experiments"]).arg(dir).assert().code(2);
    assert!(String::from_utf8_lossy(&a.get_output().stderr).contains("s.toml"));
    fs::remove_file(dir.join("s.toml")).unwrap();
    let err = esh().arg("reproduce").arg(dir.join("mine.toml")).assert().code(2);
    assert!(String::from_utf8_lossy(&err.get_output().stderr).contains("no scenario file at \"s.toml\""));
}

/// Writes `text` as an experiment (beside a copy of the baseline) and returns the error.
fn bad(text: &str) -> String {
    let tmp = TempDir::new().unwrap();
    fs::write(tmp.path().join("base.toml"), esh::scenario::BASELINE).unwrap();
    let path = tmp.path().join("bad.toml");
    fs::write(&path, text).unwrap();
    let out = tmp.path().join("rep");
    let a = esh().arg("reproduce").arg(&path).arg("--out").arg(&out).assert().code(2);
    assert!(!out.exists(), "nothing is written on bad input");
    String::from_utf8(a.get_output().stderr.clone()).unwrap()
}

const GOOD: &str = r#"[experiment]
id = "x"
title = "t"
replications = 4

[[regime]]
name = "esh"
scenario = "base.toml"

[[regime]]
name = "sup"
scenario = "base.toml"
axes = { "zones.supervisors" = [1, 3] }

[[measure]]
name = "perf"
metric = "mean_performance"

[[test]]
name = "t"
kind = "difference"
measure = "perf"
a = "esh"
b = "sup"
b_at = { "zones.supervisors" = 3 }
expect = "greater"
"#;

#[test]
fn bad_experiment_files_are_named_with_what_is_allowed() {
    let cases: &[(&str, &str, &[&str])] = &[
        (
            "replications = 4",
            "replicatons = 4",
            &["bad.toml:4:1", "experiment.replicatons", "did you mean `replications`?"],
        ),
        (
            "metric = \"mean_performance\"",
            "metric = \"mean_perfomance\"",
            &["measure[0].metric", "unknown metric", "did you mean \"mean_performance\"?"],
        ),
        ("a = \"esh\"", "a = \"eshh\"", &["test[0].a", "no regime named \"eshh\"", "did you mean \"esh\"?"]),
        (
            "scenario = \"base.toml\"\n\n[[regime]]\nname = \"sup\"",
            "scenario = \"base.toml\"\nset = { \"centre.tolerence\" = 0.5 }\n\n[[regime]]\nname = \"sup\"",
            &["unknown parameter `centre.tolerence`", "did you mean `centre.tolerance`?"],
        ),
        ("b_at = { \"zones.supervisors\" = 3 }\n", "", &["regime \"sup\" varies `zones.supervisors`", "b_at"]),
        (
            "b_at = { \"zones.supervisors\" = 3 }",
            "b_at = { \"zones.supervisors\" = 4 }",
            &["4 is not one of the values of axis `zones.supervisors`"],
        ),
        ("expect = \"greater\"", "expect = \"bigger\"", &["test[0].expect", "\"greater\", \"less\""]),
        ("kind = \"difference\"", "kind = \"diference\"", &["did you mean \"difference\"?"]),
        (
            "expect = \"greater\"\n",
            "expect = \"greater\"\n[[figure]]\nkind = \"curve\"\nmeasure = \"perf\"\nregime = \"esh\"\nx = \"zones.supervisors\"\n",
            &["figure[0].regime", "a curve needs a regime with `axes`"],
        ),
        ("replications = 4", "replications = 1", &["experiment.replications", "[2, 100000]", "\"auto\""]),
        (
            "[[measure]]\nname = \"perf\"\nmetric = \"mean_performance\"",
            "[[measure]]\nname = \"perf\"\nmetric = \"mean_performance\"\nwindow = [5, 2]",
            &["the window [5, 2] ends before it starts"],
        ),
    ];
    for (from, to, wants) in cases {
        assert!(GOOD.contains(from), "case {from:?} does not apply");
        let err = bad(&GOOD.replacen(from, to, 1));
        for w in *wants {
            assert!(err.contains(w), "editing {from:?} -> {to:?}: want {w:?} in\n{err}");
        }
        assert!(!err.contains("panicked"), "{err}");
    }
    // An unknown id suggests the nearest.
    let a = esh().args(["reproduce", "H8"]).assert().code(2);
    let err = String::from_utf8_lossy(&a.get_output().stderr).to_string();
    assert!(err.contains("no experiment \"H8\"") && err.contains("--list"), "{err}");
}

#[test]
fn plot_draws_a_runs_ticks_as_valid_svg() {
    let tmp = TempDir::new().unwrap();
    let run = tmp.path().join("run");
    esh().args(["run", "-q", "--out"]).arg(&run).assert().success();
    esh().arg("plot").arg(&run).arg("-q").assert().success();
    for m in ["mean_performance", "diversity", "programme_performance"] {
        assert_svg(&run.join("plots").join(format!("{m}.svg")));
    }
    let out = tmp.path().join("figs");
    esh()
        .arg("plot")
        .arg(run.join("ticks.csv"))
        .args(["-m", "mandate_gap,pilots", "-q", "-o"])
        .arg(&out)
        .assert()
        .success();
    assert_svg(&out.join("mandate_gap.svg"));
    assert_svg(&out.join("pilots.svg"));
    let a = esh().arg("plot").arg(&run).args(["-m", "mean_performnce"]).assert().code(2);
    assert!(String::from_utf8_lossy(&a.get_output().stderr).contains("did you mean `mean_performance`?"));
    esh().arg("plot").arg(tmp.path().join("nothing")).assert().code(2);
}
