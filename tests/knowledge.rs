//! March's (1991) knowledge in ticks.csv: `programme_knowledge` and `mean_knowledge` are on
//! his [-1, 1] scale, `programme_performance = (1 + programme_knowledge) / 2` on the target
//! landscape at every tick, the zones' knowledge relates to their (fully set) beliefs the
//! same way, and on an NK landscape both columns are empty (undefined), never 0.

use std::fs;
use std::path::Path;

use assert_cmd::Command;
use tempfile::TempDir;

fn esh() -> Command {
    Command::cargo_bin("esh").expect("the esh binary is built")
}

/// Column `name` of every row of a ticks.csv, as text.
fn column(path: &Path, name: &str) -> Vec<String> {
    let mut rdr = csv::Reader::from_path(path).unwrap();
    let i = rdr.headers().unwrap().iter().position(|h| h == name).unwrap_or_else(|| panic!("no column {name}"));
    rdr.records().map(|r| r.unwrap()[i].to_string()).collect()
}

fn floats(path: &Path, name: &str) -> Vec<f64> {
    column(path, name).iter().map(|v| v.parse().unwrap_or_else(|_| panic!("{name}: `{v}`"))).collect()
}

#[test]
fn programme_performance_is_one_plus_march_knowledge_over_two() {
    let tmp = TempDir::new().unwrap();
    let out = tmp.path().join("march");
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/march1991.toml");
    esh().arg("run").arg(&scenario).arg("--out").arg(&out).arg("-q").assert().success();
    let ticks = out.join("ticks.csv");
    let perf = floats(&ticks, "programme_performance");
    let know = floats(&ticks, "programme_knowledge");
    let mean = floats(&ticks, "mean_knowledge");
    assert!(perf.len() > 80, "{} rows", perf.len());
    for (t, (p, k)) in perf.iter().zip(&know).enumerate() {
        assert!((-1.0..=1.0).contains(k), "row {t}: knowledge {k}");
        assert!((p - (1.0 + k) / 2.0).abs() < 1e-12, "row {t}: programme_performance {p}, knowledge {k}");
        // Knowledge is (matches - mismatches) / 30: a multiple of 1/30.
        assert!((k * 30.0 - (k * 30.0).round()).abs() < 1e-9, "row {t}: {k}");
    }
    // The programme starts unset (knowledge 0) and learns: March's code gets better than chance.
    let first: Vec<usize> =
        column(&ticks, "tick").iter().enumerate().filter(|(_, t)| *t == "0").map(|(i, _)| i).collect();
    assert!(first.iter().all(|&i| know[i] == 0.0 && perf[i] == 0.5));
    let last = know.len() - 1;
    assert!(know[last] > 0.5, "{}", know[last]);
    // Beliefs start uniform over {unset, 0, 1}: knowledge near 0, of 50 x 30 dimensions.
    assert!(first.iter().all(|&i| mean[i].abs() < 0.15), "{:?}", first.iter().map(|&i| mean[i]).collect::<Vec<_>>());
}

#[test]
fn zones_knowledge_matches_their_fitness_when_beliefs_are_full() {
    // Fully set beliefs (no coin flips): mean_performance = (1 + mean_knowledge) / 2 exactly.
    let tmp = TempDir::new().unwrap();
    let path = tmp.path().join("full.toml");
    let text = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/march1991.toml")).unwrap();
    // Random full beliefs that never change (no socialization), so no coin flip is needed.
    let text = text
        .replace("initial_policy = \"three_state\"", "initial_policy = \"random\"")
        .replace("compliance_rate = 0.1", "compliance_rate = 0.0")
        .replace("stop_at_equilibrium = true", "stop_at_equilibrium = false")
        .replace("ticks = 400", "ticks = 20");
    fs::write(&path, text).unwrap();
    let out = tmp.path().join("run");
    esh().arg("run").arg(&path).arg("--out").arg(&out).arg("-q").assert().success();
    let ticks = out.join("ticks.csv");
    let perf = floats(&ticks, "mean_performance");
    let mean = floats(&ticks, "mean_knowledge");
    for (t, (p, k)) in perf.iter().zip(&mean).enumerate() {
        assert!((p - (1.0 + k) / 2.0).abs() < 1e-12, "row {t}: mean_performance {p}, mean_knowledge {k}");
    }
}

#[test]
fn knowledge_is_empty_on_an_nk_landscape() {
    let tmp = TempDir::new().unwrap();
    let out = tmp.path().join("lf");
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/lazer_friedman_full.toml");
    esh().arg("run").arg(&scenario).arg("--out").arg(&out).arg("-q").assert().success();
    for name in ["programme_knowledge", "mean_knowledge"] {
        let v = column(&out.join("ticks.csv"), name);
        assert!(!v.is_empty() && v.iter().all(String::is_empty), "{name}: {:?}", &v[..3]);
    }
}

#[test]
fn a_sweep_keeps_knowledge_only_on_the_target_landscape() {
    let tmp = TempDir::new().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for name in ["march1991.toml", "lazer_friedman_full.toml"] {
        fs::copy(root.join("scenarios").join(name), tmp.path().join(name)).unwrap();
    }
    let sweep = |scenario: &str, keep: &str| {
        format!(
            "[sweep]\nscenario = \"{scenario}\"\nreplications = 2\n[axes]\n\"zones.compliance_rate\" = [0.1, 0.9]\n[keep]\nticks = \"final\"\n{keep}"
        )
    };
    // On the target landscape the default keeps it, and results.csv holds it.
    fs::write(tmp.path().join("m.toml"), sweep("march1991.toml", "")).unwrap();
    esh().current_dir(tmp.path()).args(["sweep", "plan", "m.toml", "--out", "m"]).assert().success();
    esh().current_dir(tmp.path()).args(["sweep", "run", "m"]).assert().success();
    esh().current_dir(tmp.path()).args(["sweep", "merge", "m"]).assert().success();
    let results = fs::read_to_string(tmp.path().join("m/results.csv")).unwrap();
    assert!(results.lines().next().unwrap().contains("programme_knowledge"), "{results}");
    // On NK the default leaves it out, and naming it is an error that says why.
    fs::write(tmp.path().join("n.toml"), sweep("lazer_friedman_full.toml", "")).unwrap();
    esh().current_dir(tmp.path()).args(["sweep", "plan", "n.toml", "--out", "n"]).assert().success();
    esh().current_dir(tmp.path()).args(["sweep", "run", "n"]).assert().success();
    esh().current_dir(tmp.path()).args(["sweep", "merge", "n"]).assert().success();
    let results = fs::read_to_string(tmp.path().join("n/results.csv")).unwrap();
    let header = results.lines().next().unwrap();
    assert!(header.contains("mean_score") && !header.contains("knowledge"), "{header}");
    let keep = "metrics = [\"mean_score\", \"programme_knowledge\"]\n";
    fs::write(tmp.path().join("bad.toml"), sweep("lazer_friedman_full.toml", keep)).unwrap();
    let out = esh().current_dir(tmp.path()).args(["sweep", "plan", "bad.toml", "--out", "bad"]).assert().code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(err.contains("bad.toml") && err.contains("keep.metrics") && err.contains("target landscape"), "{err}");
}

/// An undefined value (knowledge while no zone is active) is an empty cell in a sweep's
/// results.csv too, and summary.csv's `n` counts only the defined values.
#[test]
fn undefined_knowledge_is_empty_in_a_sweep_and_not_counted() {
    let tmp = TempDir::new().unwrap();
    let d = tmp.path();
    fs::write(
        d.join("tg.toml"),
        "[run]\nticks = 10\nreplications = 2\n[landscape]\nkind = \"target\"\n[centre]\npilot_quota = 0\nshowcase_top = 0\n\
         [[regions]]\nname = \"A\"\nzones = 0\n[[events]]\ntick = 5\naction = \"add_zones\"\nregion = \"A\"\ncount = 3\n",
    )
    .unwrap();
    fs::write(
        d.join("s.toml"),
        "[sweep]\nscenario = \"tg.toml\"\n[axes]\n\"centre.tolerance\" = [0.1, 0.9]\n[keep]\nticks = \"all\"\nmetrics = [\"programme_knowledge\"]\n",
    )
    .unwrap();
    for args in [
        &["sweep", "plan", "s.toml", "--out", "sw", "-q"][..],
        &["sweep", "run", "sw", "-q"],
        &["sweep", "merge", "sw", "-q"],
    ] {
        esh().current_dir(d).args(args).assert().success();
    }
    let results = fs::read_to_string(d.join("sw/results.csv")).unwrap();
    assert!(!results.to_ascii_lowercase().contains("nan"), "{results}");
    let k = column(&d.join("sw/results.csv"), "programme_knowledge");
    assert!(k.iter().take(5).all(String::is_empty) && k[5..11].iter().all(|v| !v.is_empty()), "{k:?}");
    let mut rdr = csv::Reader::from_path(d.join("sw/summary.csv")).unwrap();
    let h = rdr.headers().unwrap().clone();
    let (tick, n) = (h.iter().position(|c| c == "tick").unwrap(), h.iter().position(|c| c == "n").unwrap());
    for r in rdr.records().map(Result::unwrap) {
        let want = if r[tick].parse::<u32>().unwrap() < 5 { "0" } else { "2" };
        assert_eq!(&r[n], want, "{r:?}");
    }
}
