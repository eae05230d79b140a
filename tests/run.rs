//! `esh run` end to end: signals and kills leave nothing behind (or what they leave is
//! cleared at the next start), `--force` never loses the old run, outputs are written
//! without a file per replication and checked against memory, command-line overrides are
//! checked and recorded, and the output files are tidy.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use tempfile::TempDir;

fn esh() -> Command {
    Command::cargo_bin("esh").expect("the esh binary is built")
}

fn esh_path() -> PathBuf {
    assert_cmd::cargo::cargo_bin("esh")
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A run that takes many seconds: one replication of a million ticks.
#[cfg(unix)]
const LONG: &str = "[run]\nticks = 1000000\n[[regions]]\nzones = 20\n";

/// Starts `esh run` on LONG into `dir/out` and waits until its partial directory exists.
#[cfg(unix)]
fn start_long(dir: &Path) -> Child {
    let scenario = dir.join("long.toml");
    fs::write(&scenario, LONG).unwrap();
    let child = std::process::Command::new(esh_path())
        .current_dir(dir)
        .args(["run", "long.toml", "--out", "out"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while !entries(dir).iter().any(|e| e.starts_with(".out.partial-")) {
        assert!(started.elapsed() < Duration::from_secs(30), "no partial directory appeared");
        std::thread::sleep(Duration::from_millis(20));
    }
    // Let it write a little.
    std::thread::sleep(Duration::from_millis(300));
    child
}

#[cfg(unix)]
fn signal(child: &Child, sig: i32) {
    // SAFETY: sends a signal to a child this test started.
    assert_eq!(unsafe { libc::kill(child.id() as i32, sig) }, 0);
}

/// SIGINT (Ctrl-C) and SIGTERM stop a run, remove its partial directory and exit 128 + the
/// signal's number.
#[cfg(unix)]
#[test]
fn interrupted_runs_leave_nothing() {
    for (sig, code) in [(libc::SIGINT, 130), (libc::SIGTERM, 143)] {
        let dir = TempDir::new().unwrap();
        let child = start_long(dir.path());
        signal(&child, sig);
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(code), "stderr: {}", stderr_of(&out));
        assert!(stderr_of(&out).contains("interrupted by signal"), "{}", stderr_of(&out));
        assert_eq!(entries(dir.path()), ["long.toml"], "signal {sig} left files behind");
    }
}

/// A run killed with SIGKILL (not catchable) leaves its partial directory; the next run of
/// the same output removes it and says so.
#[cfg(unix)]
#[test]
fn stale_partial_directories_are_removed_at_the_next_start() {
    let dir = TempDir::new().unwrap();
    let mut child = start_long(dir.path());
    signal(&child, libc::SIGKILL);
    child.wait().unwrap();
    let left: Vec<String> = entries(dir.path()).into_iter().filter(|e| e.starts_with(".out.partial-")).collect();
    assert_eq!(left.len(), 1, "SIGKILL should leave the partial directory");
    // Another output's partial directory is not this run's business.
    fs::create_dir(dir.path().join(".other.partial-4000000000")).unwrap();
    fs::write(dir.path().join("short.toml"), "[run]\nticks = 2\n[[regions]]\nzones = 10\n").unwrap();
    let out = esh().current_dir(dir.path()).args(["run", "short.toml", "--out", "out"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("removed the partial directory"), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains(&left[0]), "{}", stderr_of(&out));
    assert_eq!(entries(dir.path()), [".other.partial-4000000000", "long.toml", "out", "short.toml"]);
}

/// A `--force` killed between moving the old run aside and putting the new one in place
/// (where the system cannot swap directories in one step) left `.NAME.old-PID`: the next
/// start puts it back, so the old run is never lost.
#[test]
fn a_replaced_run_left_aside_is_restored() {
    let dir = TempDir::new().unwrap();
    let old = dir.path().join(".out.old-4000000000");
    fs::create_dir(&old).unwrap();
    fs::write(old.join("ticks.csv"), "the old run").unwrap();
    fs::write(dir.path().join("s.toml"), "[run]\nticks = 2\n[[regions]]\nzones = 10\n").unwrap();
    let out = esh().current_dir(dir.path()).args(["run", "s.toml", "--out", "out"]).output().unwrap();
    // Restored, and then (without --force) not replaced.
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("restored"), "{}", stderr_of(&out));
    assert_eq!(fs::read_to_string(dir.path().join("out/ticks.csv")).unwrap(), "the old run");
    assert_eq!(entries(dir.path()), ["out", "s.toml"]);
    // With --force the new run takes its place, and nothing is left beside it.
    esh().current_dir(dir.path()).args(["run", "s.toml", "--out", "out", "--force", "-q"]).assert().success();
    assert!(fs::read_to_string(dir.path().join("out/ticks.csv")).unwrap().starts_with("replication,"));
    assert_eq!(entries(dir.path()), ["out", "s.toml"]);
}

/// Many tiny replications are written without a file per replication: the partial
/// directory never holds more than the output files, and the outputs are in order.
#[test]
fn no_file_per_replication() {
    use esh::output::{RunOptions, run_to_dir};
    use esh::progress::Progress;
    use std::sync::Mutex;
    struct Watch {
        dir: PathBuf,
        most: Mutex<usize>,
    }
    impl Progress for Watch {
        fn advance(&self, _: u64) {
            let tmp = fs::read_dir(&self.dir)
                .unwrap()
                .flatten()
                .find(|e| e.file_name().to_string_lossy().starts_with(".out.partial-"));
            if let Some(tmp) = tmp {
                let n = fs::read_dir(tmp.path())
                    .map_or(0, |d| d.flatten().filter(|e| e.file_name().to_string_lossy().contains(".part")).count());
                let mut most = self.most.lock().unwrap();
                *most = (*most).max(n);
            }
        }
    }
    let dir = TempDir::new().unwrap();
    let s = esh::scenario::Scenario::parse(
        "[run]\nticks = 1\nreplications = 3000\n[centre]\npilot_quota = 1\nshowcase_top = 0\n[[regions]]\nzones = 1\n",
        "tiny",
    )
    .unwrap();
    let watch = Watch { dir: dir.path().to_path_buf(), most: Mutex::new(0) };
    let out = dir.path().join("out");
    run_to_dir(&s, &out, &RunOptions::default(), &watch).unwrap();
    assert_eq!(*watch.most.lock().unwrap(), 0, "part files were created");
    let ticks = fs::read_to_string(out.join("ticks.csv")).unwrap();
    let reps: Vec<u32> = ticks.lines().skip(1).map(|l| l.split(',').next().unwrap().parse().unwrap()).collect();
    assert_eq!(reps.len(), 6000);
    assert!(reps.windows(2).all(|w| w[0] <= w[1]), "replications out of order");
}

/// A run that does not fit the memory given is refused before it starts, naming the need
/// and the override; a bad size is an error naming the flag.
#[test]
fn runs_that_do_not_fit_in_memory_are_refused() {
    let dir = TempDir::new().unwrap();
    fs::write(dir.path().join("s.toml"), "[run]\nticks = 2\nreplications = 4\n[[regions]]\nzones = 2000\n").unwrap();
    let out = esh().current_dir(dir.path()).args(["run", "s.toml", "--memory-limit", "1M"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr_of(&out);
    for needle in ["needs about", "each", "--memory-limit", "nothing was written"] {
        assert!(err.contains(needle), "{needle}: {err}");
    }
    assert_eq!(entries(dir.path()), ["s.toml"]);
    let out = esh().current_dir(dir.path()).args(["run", "s.toml", "--memory-limit", "lots"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr_of(&out).contains("--memory-limit: `lots` is not a size"), "{}", stderr_of(&out));
    esh().current_dir(dir.path()).args(["run", "s.toml", "--memory-limit", "none", "-q"]).assert().success();
}

/// `--threads` far above the cores is capped, with a warning, and the run goes on.
#[test]
fn threads_are_capped() {
    let dir = TempDir::new().unwrap();
    fs::write(dir.path().join("s.toml"), "[run]\nticks = 1\n[[regions]]\nzones = 10\n").unwrap();
    let out = esh().current_dir(dir.path()).args(["run", "s.toml", "-j", "100000", "-q"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("warning: --threads 100000 is more than 4 x the"), "{}", stderr_of(&out));
    let prov = fs::read_to_string(dir.path().join("runs/s/provenance.json")).unwrap();
    let threads: serde_json::Value = serde_json::from_str(&prov).unwrap();
    let cores = std::thread::available_parallelism().unwrap().get() as u64;
    assert_eq!(threads["threads"].as_u64(), Some(4 * cores));
}

/// A 250-character --out works (its hidden temporary name fits NAME_MAX); an output name
/// derived from a scenario called `..toml` is refused before running.
#[test]
fn long_and_degenerate_output_names() {
    let dir = TempDir::new().unwrap();
    fs::write(dir.path().join("s.toml"), "[run]\nticks = 1\n[[regions]]\nzones = 10\n").unwrap();
    let long = "x".repeat(250);
    esh().current_dir(dir.path()).args(["run", "s.toml", "--out", &long, "-q"]).assert().success();
    assert!(dir.path().join(&long).join("ticks.csv").exists());
    let too_long = "x".repeat(256);
    let out = esh().current_dir(dir.path()).args(["run", "s.toml", "--out", &too_long]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr_of(&out).contains("256 bytes"), "{}", stderr_of(&out));
    fs::write(dir.path().join("..toml"), "[run]\nticks = 1\n[[regions]]\nzones = 10\n").unwrap();
    let out = esh().current_dir(dir.path()).args(["run", "..toml"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr_of(&out).contains("cannot name the output directory"), "{}", stderr_of(&out));
    assert!(!dir.path().join("runs").exists());
}

/// --seed, --replications and --set change the run as the file would, are checked like
/// the file (errors name the flag), and are recorded.
#[test]
fn parameters_from_the_command_line() {
    let dir = TempDir::new().unwrap();
    let base = "[run]\nticks = 3\n[[regions]]\nzones = 10\n";
    fs::write(dir.path().join("s.toml"), base).unwrap();
    fs::write(
        dir.path().join("t.toml"),
        "[run]\nticks = 3\nseed = 9\nreplications = 2\n[centre]\ntolerance = 0.25\npilot_selection = \"top\"\n\
         [[regions]]\nzones = 10\n",
    )
    .unwrap();
    let args = [
        "run",
        "s.toml",
        "--out",
        "a",
        "-q",
        "--seed",
        "9",
        "--replications",
        "2",
        "--set",
        "centre.tolerance=0.25",
        "--set",
        "centre.pilot_selection=top",
    ];
    esh().current_dir(dir.path()).args(args).assert().success();
    esh().current_dir(dir.path()).args(["run", "t.toml", "--out", "b", "-q"]).assert().success();
    let read = |d: &str, f: &str| fs::read_to_string(dir.path().join(d).join(f)).unwrap();
    assert_eq!(read("a", "ticks.csv"), read("b", "ticks.csv"));
    assert_eq!(read("a", "scenario.resolved.toml"), read("b", "scenario.resolved.toml"));
    let prov: serde_json::Value = serde_json::from_str(&read("a", "provenance.json")).unwrap();
    let overrides: Vec<&str> = prov["overrides"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert_eq!(
        overrides,
        ["run.seed = 9", "run.replications = 2", "centre.tolerance = 0.25", "centre.pilot_selection = \"top\""]
    );
    for (flags, needles) in [
        (&["--set", "centre.tolerance=2"][..], &["--set centre.tolerance=2", "`centre.tolerance`", "[0, 1]"][..]),
        (&["--set", "centre.tolerence=0.5"], &["--set centre.tolerence=0.5", "unknown parameter", "centre.tolerance"]),
        (&["--set", "centre.tolerance"], &["--set centre.tolerance", "KEY=VALUE"]),
        (&["--set", "centre.pilot_selection=best"], &["`centre.pilot_selection`", "\"top\""]),
        (&["--replications", "0"], &["--replications", "`run.replications`"]),
        (&["--seed", "-1"], &["--seed", "`run.seed`"]),
        (&["--set", "centre.pilot_quota=50"], &["with --set centre.pilot_quota=50", "pilot_quota"]),
    ] {
        let out = esh().current_dir(dir.path()).args(["run", "s.toml", "--out", "c"]).args(flags).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{flags:?}: {}", stderr_of(&out));
        for n in needles {
            assert!(stderr_of(&out).contains(n), "{flags:?}: {n} not in {}", stderr_of(&out));
        }
        assert!(!dir.path().join("c").exists());
    }
}

/// In a log (stderr not a terminal) a run prints a progress line every few seconds.
#[test]
fn progress_lines_in_a_log() {
    let dir = TempDir::new().unwrap();
    fs::write(dir.path().join("s.toml"), "[run]\nticks = 3000\nreplications = 1\n[[regions]]\nzones = 10\n").unwrap();
    let out =
        esh().current_dir(dir.path()).env("ESH_PROGRESS_SECONDS", "0.001").args(["run", "s.toml"]).output().unwrap();
    assert!(out.status.success());
    assert!(
        stderr_of(&out).lines().any(|l| l.starts_with("run: ") && l.contains("/3000 ticks")),
        "{}",
        stderr_of(&out)
    );
    // --quiet prints nothing.
    let out = esh()
        .current_dir(dir.path())
        .env("ESH_PROGRESS_SECONDS", "0.001")
        .args(["run", "s.toml", "--force", "-q"])
        .output()
        .unwrap();
    assert!(out.status.success() && out.stderr.is_empty() && out.stdout.is_empty(), "{}", stderr_of(&out));
}

/// The end-of-run summary: no duplicate score row, counts without decimals, firm totals
/// when firms are on, no 16-digit numbers.
#[test]
fn summary_table() {
    let dir = TempDir::new().unwrap();
    fs::write(dir.path().join("s.toml"), "[run]\nticks = 3\nreplications = 3\n[[regions]]\nzones = 10\n").unwrap();
    let out = esh().current_dir(dir.path()).args(["run", "s.toml"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(!text.contains("mean score"), "{text}");
    assert!(!text.contains("firms"), "{text}");
    let zones = text.lines().find(|l| l.starts_with("active zones")).unwrap();
    assert_eq!(zones.split_whitespace().collect::<Vec<_>>(), ["active", "zones", "10", "0", "10", "10"]);
    assert!(text.split(|c: char| !c.is_ascii_digit()).all(|d| d.len() < 9), "{text}");
    fs::write(
        dir.path().join("f.toml"),
        "[run]\nticks = 3\n[landscape]\nscore_exponent = 8\n[firms]\nenabled = true\n[[regions]]\nzones = 10\n",
    )
    .unwrap();
    let out = esh().current_dir(dir.path()).args(["run", "f.toml"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{}", stderr_of(&out));
    for row in ["mean score", "firms ", "firms ever founded", "high-tech enterprises", "revenue", "employees"] {
        assert!(text.lines().any(|l| l.starts_with(row)), "{row}: {text}");
    }
}

fn header(path: &Path) -> Vec<String> {
    fs::read_to_string(path).unwrap().lines().next().unwrap().split(',').map(String::from).collect()
}

fn column(path: &Path, name: &str) -> Vec<String> {
    let text = fs::read_to_string(path).unwrap();
    let i = header(path).iter().position(|h| h == name).unwrap_or_else(|| panic!("no {name} in {}", path.display()));
    text.lines().skip(1).map(|l| l.split(',').nth(i).unwrap_or("").to_string()).collect()
}

/// Firm columns are empty (not 0) when firms are off; monthly runs have a month column;
/// a policy is text whatever the reader (it starts with a letter).
#[test]
fn tidy_columns() {
    let dir = TempDir::new().unwrap();
    fs::write(
        dir.path().join("m.toml"),
        "[run]\nticks = 14\nticks_per_year = 12\nreplications = 1\n[output]\nzones_every = 7\n[[regions]]\nzones = 10\n",
    )
    .unwrap();
    esh().current_dir(dir.path()).args(["run", "m.toml", "-q"]).assert().success();
    let run = dir.path().join("runs/m");
    for f in ["ticks.csv", "regions.csv", "zones.csv"] {
        assert!(column(&run.join(f), "firms").iter().all(|c| c.is_empty()), "{f}");
        assert!(column(&run.join(f), "revenue").iter().all(|c| c.is_empty()), "{f}");
        assert_eq!(header(&run.join(f))[..4], ["replication", "tick", "year", "month"], "{f}");
    }
    let months = column(&run.join("ticks.csv"), "month");
    let want: Vec<String> = (0..=14).map(|t| (t % 12 + 1).to_string()).collect();
    assert_eq!(months, want);
    let policies = column(&run.join("zones.csv"), "policy");
    assert!(!policies.is_empty());
    for p in policies {
        assert!(p.starts_with('p') && p[1..].chars().all(|c| "01-".contains(c)) && p.len() > 1, "{p}");
    }
    // Yearly runs have no month column.
    fs::write(dir.path().join("y.toml"), "[run]\nticks = 2\n[[regions]]\nzones = 10\n").unwrap();
    esh().current_dir(dir.path()).args(["run", "y.toml", "-q"]).assert().success();
    assert!(!header(&dir.path().join("runs/y/ticks.csv")).contains(&"month".to_string()));
}

/// `check -q` prints nothing; `plot` does not replace its SVGs without --force.
#[test]
fn quiet_check_and_plot_force() {
    let dir = TempDir::new().unwrap();
    fs::write(dir.path().join("s.toml"), "[run]\nticks = 3\n[[regions]]\nzones = 10\n").unwrap();
    let out = esh().current_dir(dir.path()).args(["check", "s.toml", "-q"]).output().unwrap();
    assert!(out.status.success() && out.stdout.is_empty() && out.stderr.is_empty());
    esh().current_dir(dir.path()).args(["run", "s.toml", "-q"]).assert().success();
    let plot = ["plot", "runs/s", "--metrics", "mean_performance", "-q"];
    esh().current_dir(dir.path()).args(plot).assert().success();
    let out = esh().current_dir(dir.path()).args(plot).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr_of(&out).contains("mean_performance.svg") && stderr_of(&out).contains("--force"));
    esh().current_dir(dir.path()).args(plot).arg("--force").assert().success();
    // A firm column of a run without firms is empty: said so, not "not a number".
    let out = esh().current_dir(dir.path()).args(["plot", "runs/s", "-m", "firms", "--force"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr_of(&out).contains("`firms` has no values"), "{}", stderr_of(&out));
    // No metric at all is an error, not a silent success; a metric named twice is one chart.
    let out = esh().current_dir(dir.path()).args(["plot", "runs/s", "-m", "", "--force"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr_of(&out).contains("names no metric"), "{}", stderr_of(&out));
    let out = esh()
        .current_dir(dir.path())
        .args(["plot", "runs/s", "-m", "mean_performance,mean_performance", "--force"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().filter(|l| l.ends_with(".svg")).count(), 1);
}

/// `reproduce --seed` takes what run.seed takes: a larger seed would be written as a
/// negative one into the regimes' scenario files.
#[test]
fn reproduce_seed_is_in_run_seed_range() {
    let out = esh().args(["reproduce", "H1", "--quick", "--seed", "18446744073709551615", "-q"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr_of(&out).contains("0..=9223372036854775807"), "{}", stderr_of(&out));
}

/// `--force` replaces a run without a moment when the output directory is missing (Linux
/// swaps the two directories in one step): a watcher sees it at every look.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[test]
fn force_never_leaves_the_output_missing() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    let dir = TempDir::new().unwrap();
    fs::write(dir.path().join("s.toml"), "[run]\nticks = 2\n[[regions]]\nzones = 10\n").unwrap();
    esh().current_dir(dir.path()).args(["run", "s.toml", "--out", "out", "-q"]).assert().success();
    let stop = Arc::new(AtomicBool::new(false));
    let (missing, looks) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let watcher = {
        let (stop, missing, looks) = (stop.clone(), missing.clone(), looks.clone());
        let ticks = dir.path().join("out/ticks.csv");
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                if !ticks.exists() {
                    missing.fetch_add(1, Ordering::Relaxed);
                }
                looks.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    for _ in 0..5 {
        esh().current_dir(dir.path()).args(["run", "s.toml", "--out", "out", "--force", "-q"]).assert().success();
    }
    stop.store(true, Ordering::Relaxed);
    watcher.join().unwrap();
    assert!(looks.load(Ordering::Relaxed) > 100);
    assert_eq!(missing.load(Ordering::Relaxed), 0, "the output was missing at some look");
    assert_eq!(entries(dir.path()), ["out", "s.toml"]);
}

/// A reporter whose columns ticks.csv has already is refused before anything is written;
/// one that gives the wrong number of values fails the run, which leaves nothing behind.
#[test]
fn bad_reporters_write_nothing() {
    use esh::engine::Replication;
    use esh::output::metrics::Num;
    use esh::output::{OutputError, Reporter, RunOptions, run_to_dir};
    struct Cols(&'static str, usize);
    impl Reporter for Cols {
        fn columns(&self) -> Vec<String> {
            vec![self.0.to_string()]
        }
        fn values(&self, _: &Replication) -> Vec<Num> {
            vec![Num::Int(1); self.1]
        }
    }
    let dir = TempDir::new().unwrap();
    let s =
        esh::scenario::Scenario::parse("[run]\nticks = 3\nreplications = 2\n[[regions]]\nzones = 12\n", "t").unwrap();
    let out = dir.path().join("out");
    let silent = &esh::progress::Silent;
    let e = run_to_dir(&s, &out, &RunOptions::default().with_reporter(Cols("mean_performance", 1)), silent);
    assert!(matches!(&e, Err(OutputError::Reporter(m)) if m.contains("`mean_performance`")), "{:?}", e.err());
    let Err(e) = run_to_dir(&s, &out, &RunOptions::default().with_reporter(Cols("mine", 2)), silent) else {
        panic!("a reporter with too many values ran")
    };
    assert!(e.to_string().contains("gave 2 value(s) for 1 column(s)"), "{e}");
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0, "something was left behind");
    run_to_dir(&s, &out, &RunOptions::default().with_reporter(Cols("mine", 1)), silent).unwrap();
    let ticks = fs::read_to_string(out.join("ticks.csv")).unwrap();
    assert!(ticks.lines().next().unwrap().ends_with(",mine") && ticks.lines().skip(1).all(|l| l.ends_with(",1")));
}
