//! Sweeps end to end through the command line: plans are deterministic; merged results
//! are byte-identical whatever the sharding, order or thread count; a killed shard resumes
//! without losing or repeating a run; a torn tail is cut; failed runs are recorded and
//! named; every bad input exits 2 with an error that names the file, key and value.
//! (The Slurm array test needs a real Slurm: `.ci/slurm/test.sh`, run by `.ci/run`.)

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use tempfile::TempDir;

fn esh() -> Command {
    Command::cargo_bin("esh").expect("the esh binary is built")
}

/// A base scenario small enough for a debug build.
const BASE: &str = r#"
[run]
ticks = 12
[landscape]
n = 10
k = 2
[centre]
review_interval = 3
pilot_quota = 2
[network]
kind = "random"
density = 0.1
[[regions]]
name = "a"
zones = 30
[[regions]]
name = "b"
zones = 20
"#;

const SWEEP: &str = r#"
[sweep]
scenario = "base.toml"
replications = 3
[axes]
"centre.tolerance" = { from = 0.0, to = 1.0, steps = 3 }
"zones.supervisors" = [1, 3]
[keep]
ticks = "all"
every = 4
metrics = ["mean_performance", "diversity", "sanctions"]
"#;

fn setup(sweep: &str) -> TempDir {
    let dir = TempDir::new().unwrap();
    fs::write(dir.path().join("base.toml"), BASE).unwrap();
    fs::write(dir.path().join("sweep.toml"), sweep).unwrap();
    dir
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let out = esh().current_dir(dir).args(args).output().unwrap();
    assert!(out.status.success(), "`esh {}` failed:\n{}", args.join(" "), String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn fails(dir: &Path, args: &[&str], code: i32, needles: &[&str]) -> String {
    let out = esh().current_dir(dir).args(args).output().unwrap();
    // Both streams: a summary line on stdout may say what failed.
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(code), "`esh {}`: output:\n{stderr}", args.join(" "));
    for n in needles {
        assert!(stderr.contains(n), "`esh {}`: stderr lacks {n:?}:\n{stderr}", args.join(" "));
    }
    assert!(!stderr.contains("panicked"), "a panic:\n{stderr}");
    stderr
}

fn read(p: PathBuf) -> String {
    fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn plan_run_merge_writes_tidy_results() {
    let d = setup(SWEEP);
    let out = ok(d.path(), &["sweep", "plan", "sweep.toml", "--out", "sw"]);
    assert!(out.contains("planned 18 runs (6 design points x 3 replications)"), "{out}");
    let plan = read(d.path().join("sw/plan.csv"));
    assert_eq!(plan.lines().next(), Some("run,point,replication,seed,centre.tolerance,zones.supervisors"));
    assert_eq!(plan.lines().nth(1), Some("0,0,0,1,0.0,1"));
    assert_eq!(plan.lines().nth(4), Some("3,1,0,1,0.0,3"));
    assert_eq!(plan.lines().count(), 19);
    ok(d.path(), &["sweep", "run", "sw", "-q"]);
    let merged = ok(d.path(), &["sweep", "merge", "sw"]);
    assert!(merged.contains("merged 18 of 18 runs"), "{merged}");
    let results = read(d.path().join("sw/results.csv"));
    assert_eq!(
        results.lines().next(),
        Some("run,point,replication,seed,centre.tolerance,zones.supervisors,tick,mean_performance,diversity,sanctions")
    );
    // Ticks 0, 4, 8, 12 of each of the 18 runs.
    assert_eq!(results.lines().count(), 1 + 18 * 4);
    assert!(results.lines().nth(1).unwrap().starts_with("0,0,0,1,0.0,1,0,"));
    let summary = read(d.path().join("sw/summary.csv"));
    assert_eq!(
        summary.lines().next(),
        Some("point,centre.tolerance,zones.supervisors,tick,metric,n,mean,sd,ci95_low,ci95_high")
    );
    // 6 points x 4 ticks x 3 metrics.
    assert_eq!(summary.lines().count(), 1 + 6 * 4 * 3);
    let row: Vec<&str> = summary.lines().nth(1).unwrap().split(',').collect();
    assert_eq!(&row[..6], &["0", "0.0", "1", "0", "mean_performance", "3"]);
    let (mean, low, high): (f64, f64, f64) =
        (row[6].parse().unwrap(), row[8].parse().unwrap(), row[9].parse().unwrap());
    assert!(low <= mean && mean <= high);
    let status = ok(d.path(), &["sweep", "status", "sw"]);
    assert!(status.contains("done 18, failed 0, missing 0"), "{status}");
}

#[test]
fn results_do_not_depend_on_shards_order_or_threads() {
    let d = setup(SWEEP);
    for name in ["one", "four", "env"] {
        ok(d.path(), &["sweep", "plan", "sweep.toml", "--out", name]);
    }
    assert_eq!(read(d.path().join("one/plan.csv")), read(d.path().join("four/plan.csv")));
    ok(d.path(), &["sweep", "run", "one", "-q", "-j", "1"]);
    for shard in ["3/4", "0/4", "2/4", "1/4"] {
        ok(d.path(), &["sweep", "run", "four", "--shard", shard, "-q", "-j", "2"]);
    }
    // Shards from a scheduler's array index: Slurm's count variable, or --shards.
    for i in 0..3 {
        let out = esh()
            .current_dir(d.path())
            .args(["sweep", "run", "env", "-q"])
            .env("SLURM_ARRAY_TASK_ID", i.to_string())
            .env("SLURM_ARRAY_TASK_COUNT", "3")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    assert!(d.path().join("env/shards/shard-2-of-3.csv").exists());
    for name in ["one", "four", "env"] {
        ok(d.path(), &["sweep", "merge", name, "-q"]);
    }
    for file in ["results.csv", "summary.csv"] {
        let one = read(d.path().join("one").join(file));
        assert_eq!(one, read(d.path().join("four").join(file)), "{file}: 1 shard vs 4");
        assert_eq!(one, read(d.path().join("env").join(file)), "{file}: 1 shard vs 3 from the environment");
    }
    // Running a complete shard again does nothing.
    let again = ok(d.path(), &["sweep", "run", "four", "--shard", "1/4"]);
    assert!(again.contains("0 ran now"), "{again}");
}

#[test]
fn a_killed_shard_resumes_without_losing_or_repeating_a_run() {
    let sweep = SWEEP.replace("replications = 3", "replications = 40");
    let d = setup(&sweep);
    ok(d.path(), &["sweep", "plan", "sweep.toml", "--out", "whole"]);
    ok(d.path(), &["sweep", "plan", "sweep.toml", "--out", "killed"]);
    ok(d.path(), &["sweep", "run", "whole", "-q"]);
    ok(d.path(), &["sweep", "merge", "whole", "-q"]);

    let bin = assert_cmd::cargo::cargo_bin("esh");
    let mut child = std::process::Command::new(bin)
        .current_dir(d.path())
        .args(["sweep", "run", "killed", "-q", "-j", "1"])
        .spawn()
        .unwrap();
    let shard = d.path().join("killed/shards/shard-0-of-1.csv");
    let started = Instant::now();
    while fs::read_to_string(&shard).map_or(true, |t| !t.contains("\ndone,")) {
        assert!(started.elapsed() < Duration::from_secs(60), "no run completed in a minute");
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let status = ok(d.path(), &["sweep", "status", "killed"]);
    assert!(!status.contains("missing 0\n"), "the kill came too late to test anything:\n{status}");
    assert!(status.contains("interrupted"), "{status}");
    // A torn write after the last complete run: half a row, no newline.
    let mut f = fs::OpenOptions::new().append(true).open(&shard).unwrap();
    std::io::Write::write_all(&mut f, b"r,9999,4,0.5").unwrap();
    drop(f);
    fails(d.path(), &["sweep", "merge", "killed"], 1, &["the sweep is not complete", "missing"]);
    assert!(!d.path().join("killed/results.csv").exists());
    let resumed = esh().current_dir(d.path()).args(["sweep", "run", "killed"]).output().unwrap();
    assert!(resumed.status.success());
    assert!(String::from_utf8_lossy(&resumed.stderr).contains("cut 12 bytes"));
    ok(d.path(), &["sweep", "merge", "killed", "-q"]);
    for file in ["results.csv", "summary.csv"] {
        assert_eq!(read(d.path().join("whole").join(file)), read(d.path().join("killed").join(file)), "{file}");
    }
}

#[test]
fn a_record_with_a_bad_checksum_and_what_follows_it_are_cut() {
    let d = setup(SWEEP);
    ok(d.path(), &["sweep", "plan", "sweep.toml", "--out", "sw"]);
    ok(d.path(), &["sweep", "run", "sw", "-q"]);
    ok(d.path(), &["sweep", "merge", "sw", "-q"]);
    let good = read(d.path().join("sw/results.csv"));
    let shard = d.path().join("sw/shards/shard-0-of-1.csv");
    let text = read(shard.clone());
    // Damage a value in the last run's rows: its record no longer matches.
    let last_done = text.trim_end().rfind("\ndone,").unwrap();
    let row_start = text[..last_done].rfind("\nr,").unwrap() + 1;
    let mut bytes = text.into_bytes();
    let at = row_start + 4 + bytes[row_start + 4..].iter().position(|b| b.is_ascii_digit()).unwrap();
    bytes[at] = if bytes[at] == b'9' { b'8' } else { b'9' };
    fs::write(&shard, &bytes).unwrap();
    let status = ok(d.path(), &["sweep", "status", "sw"]);
    assert!(status.contains("done 17, failed 0, missing 1"), "{status}");
    ok(d.path(), &["sweep", "run", "sw", "-q"]);
    ok(d.path(), &["sweep", "merge", "sw", "-q"]);
    assert_eq!(good, read(d.path().join("sw/results.csv")));
}

#[test]
fn failed_runs_are_recorded_named_and_merged_only_when_allowed() {
    // K = 12 is not below N = 10: those design points cannot run.
    let sweep = SWEEP.replace("\"zones.supervisors\" = [1, 3]", "\"landscape.k\" = [2, 12]");
    let d = setup(&sweep);
    let out = esh().current_dir(d.path()).args(["sweep", "plan", "sweep.toml", "--out", "sw"]).output().unwrap();
    assert!(out.status.success());
    let warn = String::from_utf8_lossy(&out.stderr);
    assert!(warn.contains("3 of the 6 design points are not valid") && warn.contains("K = 12"), "{warn}");
    fails(
        d.path(),
        &["sweep", "run", "sw", "-q"],
        1,
        &["run 3 failed", "K = 12 must be less than N = 10", "9 run(s) failed"],
    );
    let status = ok(d.path(), &["sweep", "status", "sw"]);
    assert!(status.contains("done 9, failed 9, missing 0"), "{status}");
    assert!(status.contains("run 3: invalid design point"), "{status}");
    fails(
        d.path(),
        &["sweep", "merge", "sw"],
        1,
        &["failed: 9 run(s)", "run 3: invalid design point", "--allow-missing"],
    );
    // Running again skips recorded failures.
    fails(d.path(), &["sweep", "run", "sw"], 1, &["0 ran now", "9 failed before"]);
    let merged = esh().current_dir(d.path()).args(["sweep", "merge", "sw", "--allow-missing"]).output().unwrap();
    assert!(merged.status.success());
    assert!(String::from_utf8_lossy(&merged.stdout).contains("merged 9 of 18 runs"));
    let results = read(d.path().join("sw/results.csv"));
    assert_eq!(results.lines().count(), 1 + 9 * 4);
    assert!(results.lines().skip(1).all(|l| l.split(',').nth(5) == Some("2")));
}

#[test]
fn random_and_latin_hypercube_designs_are_planned_deterministically() {
    let lhs = SWEEP
        .replace("replications = 3", "replications = 2\ndesign = \"lhs\"\nsamples = 10\nseed = 7")
        .replace("{ from = 0.0, to = 1.0, steps = 3 }", "{ from = 0.001, to = 1.0, scale = \"log\" }")
        .replace("[1, 3]", "{ from = 1, to = 5 }");
    let d = setup(&lhs);
    ok(d.path(), &["sweep", "plan", "sweep.toml", "--out", "a"]);
    ok(d.path(), &["sweep", "plan", "sweep.toml", "--out", "b"]);
    let plan = read(d.path().join("a/plan.csv"));
    assert_eq!(plan, read(d.path().join("b/plan.csv")));
    assert_eq!(plan.lines().count(), 1 + 20);
    let mut strata = [false; 10];
    for line in plan.lines().skip(1).step_by(2) {
        let f: Vec<&str> = line.split(',').collect();
        assert_eq!(f[3], "7", "common seeds: every point uses the sweep seed");
        let x: f64 = f[4].parse().unwrap();
        assert!((0.001..=1.0).contains(&x));
        // Log scale: each of the 10 equal strata of log10(x) in [-3, 0] is used once.
        let k = ((x.log10() + 3.0) / 0.3).floor().min(9.0) as usize;
        assert!(!strata[k], "stratum {k} twice");
        strata[k] = true;
        let s: u32 = f[5].parse().unwrap();
        assert!((1..=5).contains(&s));
    }
    let random = lhs.replace("design = \"lhs\"", "design = \"random\"\nseeds = \"independent\"");
    let d = setup(&random);
    ok(d.path(), &["sweep", "plan", "sweep.toml", "--out", "r"]);
    let plan = read(d.path().join("r/plan.csv"));
    let seeds: std::collections::BTreeSet<&str> = plan.lines().skip(1).map(|l| l.split(',').nth(3).unwrap()).collect();
    assert_eq!(seeds.len(), 10, "independent seeds: one per design point");
}

#[test]
fn an_inline_scenario_and_the_normalised_sweep_plan_the_same_runs() {
    let inline = format!(
        "{}\n{}",
        SWEEP.replace("scenario = \"base.toml\"\n", ""),
        BASE.replace("[run]", "[scenario.run]")
            .replace("[landscape]", "[scenario.landscape]")
            .replace("[centre]", "[scenario.centre]")
            .replace("[network]", "[scenario.network]")
            .replace("[[regions]]", "[[scenario.regions]]")
    );
    let d = setup(&inline);
    fs::write(d.path().join("by_path.toml"), SWEEP).unwrap();
    ok(d.path(), &["sweep", "plan", "sweep.toml", "--out", "inline"]);
    ok(d.path(), &["sweep", "plan", "by_path.toml", "--out", "path"]);
    for f in ["plan.csv", "base.toml", "sweep.toml"] {
        assert_eq!(read(d.path().join("inline").join(f)), read(d.path().join("path").join(f)), "{f}");
    }
    // The normalised sweep file plans the same runs again.
    ok(d.path(), &["sweep", "plan", "path/sweep.toml", "--out", "again"]);
    assert_eq!(read(d.path().join("path/plan.csv")), read(d.path().join("again/plan.csv")));
}

#[test]
fn slurm_scripts_are_written_and_shown() {
    let sweep = format!("{SWEEP}\n[slurm]\ntime = \"02:00:00\"\naccount = \"proj42\"\nextra = [\"--qos=normal\"]\n");
    let d = setup(&sweep);
    ok(d.path(), &["sweep", "plan", "sweep.toml", "--out", "sw"]);
    let out = ok(
        d.path(),
        &[
            "sweep",
            "slurm",
            "sw",
            "--tasks",
            "4",
            "--partition",
            "short",
            "--throttle",
            "2",
            "--memory",
            "1G",
            "--sbatch=--mail-type=FAIL",
        ],
    );
    let array = read(d.path().join("sw/slurm/array.sbatch"));
    for line in [
        "#SBATCH --array=0-3%2",
        "#SBATCH --time=02:00:00",
        "#SBATCH --partition=short",
        "#SBATCH --account=proj42",
        "#SBATCH --mem=1G",
        "#SBATCH --qos=normal",
        "#SBATCH --mail-type=FAIL",
        "--shard \"${SLURM_ARRAY_TASK_ID}/4\"",
    ] {
        assert!(array.contains(line), "array script lacks {line}:\n{array}");
    }
    let merge = read(d.path().join("sw/slurm/merge.sbatch"));
    assert!(merge.contains("sweep merge"), "{merge}");
    assert!(out.contains("#SBATCH --array=0-3%2") && out.contains("not submitted"), "{out}");
    assert!(out.contains("sbatch --array=0-3%2"), "{out}");
    fails(d.path(), &["sweep", "slurm", "sw"], 2, &["--tasks"]);
    fails(d.path(), &["sweep", "slurm", "sw", "--tasks", "2", "--time", "2h"], 2, &["not a Slurm time limit"]);
    // When every run has a record, --missing has nothing to submit.
    ok(d.path(), &["sweep", "run", "sw", "-q"]);
    let none = ok(d.path(), &["sweep", "slurm", "sw", "--tasks", "4", "--missing", "--submit"]);
    assert!(none.contains("nothing to submit"), "{none}");
}

#[test]
fn bad_sweep_input_exits_2_with_a_helpful_error() {
    let d = setup(SWEEP);
    let cases: &[(&str, &str, &[&str])] = &[
        (
            "\"centre.tolerance\" = {",
            "\"centre.tolerence\" = {",
            &["bad.toml:6:1", "unknown parameter `centre.tolerence`", "did you mean `centre.tolerance`?"],
        ),
        (
            "replications = 3",
            "replications = 3\nreplicatons = 2",
            &["bad.toml:5:1", "unknown key in [sweep]", "did you mean `replications`?"],
        ),
        ("[1, 3]", "[1, 300]", &["zones.supervisors", "expected an integer in [0, 100], found 300"]),
        ("steps = 3 }", "}", &["needs `steps`"]),
        ("replications = 3", "replications = 3\nsamples = 4", &["`samples` applies to random and lhs designs"]),
        ("scenario = \"base.toml\"", "scenario = \"nowhere.toml\"", &["no scenario file at", "nowhere.toml"]),
        (
            "ticks = \"all\"",
            "ticks = \"everything\"",
            &["keep.ticks", "expected one of \"all\", \"final\", \"window\""],
        ),
        ("\"sanctions\"]", "\"sanction\"]", &["unknown metric \"sanction\"", "did you mean \"sanctions\"?"]),
        ("\"zones.supervisors\"", "\"run.seed\"", &["`run.seed` is set by the sweep itself"]),
        ("[keep]", "[kepp]", &["unknown key at the top level", "did you mean `keep`?"]),
    ];
    for (from, to, needles) in cases {
        assert!(SWEEP.contains(from), "{from}");
        fs::write(d.path().join("bad.toml"), SWEEP.replacen(from, to, 1)).unwrap();
        fails(d.path(), &["sweep", "plan", "bad.toml", "--out", "bad"], 2, needles);
        assert!(!d.path().join("bad").exists(), "nothing is written on bad input");
    }
    // A bad base scenario is reported in its own file.
    fs::write(d.path().join("base.toml"), BASE.replace("density = 0.1", "density = 2.0")).unwrap();
    fails(d.path(), &["sweep", "plan", "sweep.toml", "--out", "bad"], 2, &["base.toml:12:11", "network.density"]);
    fs::write(d.path().join("base.toml"), BASE).unwrap();
    // Directories and arguments.
    ok(d.path(), &["sweep", "plan", "sweep.toml", "--out", "sw"]);
    fails(d.path(), &["sweep", "plan", "sweep.toml", "--out", "sw"], 2, &["already exists", "--force"]);
    fails(d.path(), &["sweep", "run", "."], 2, &["not a sweep directory"]);
    fails(d.path(), &["sweep", "run", "nowhere"], 2, &["not a sweep directory"]);
    fails(d.path(), &["sweep", "run", "sw", "--shard", "4/4"], 2, &["numbered from 0"]);
    fails(d.path(), &["sweep", "run", "sw", "--shard", "two"], 2, &["INDEX/COUNT"]);
    let out = esh().current_dir(d.path()).args(["sweep", "run", "sw"]).env("PBS_ARRAY_INDEX", "1").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("pass --shards N"));
    // A plan edited after the fact is refused.
    let plan = d.path().join("sw/plan.csv");
    fs::write(&plan, read(plan.clone()).replace("0,0,0,1,0.0,1", "0,0,0,2,0.0,1")).unwrap();
    ok(d.path(), &["sweep", "status", "sw"]);
    ok(d.path(), &["sweep", "plan", "sweep.toml", "--out", "sw2"]);
    ok(d.path(), &["sweep", "run", "sw2", "--shard", "0/2", "-q"]);
    fs::copy(d.path().join("sw2/shards/shard-0-of-2.csv"), d.path().join("sw/shards/shard-0-of-2.csv")).unwrap();
    fails(d.path(), &["sweep", "run", "sw", "--shard", "0/2"], 2, &["was written for another plan"]);
}
