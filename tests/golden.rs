//! Golden outputs, in the style of rust-analyzer's expect tests: small scenarios under
//! `tests/data/golden/` are run through the `esh` binary and every file they write (except
//! provenance.json, which holds times and paths) is compared byte for byte with the expected
//! file beside the scenario; a small sweep's `results.csv` and `summary.csv` likewise. A change
//! that shifts any output fails here. When the change is intended, regenerate with
//! `UPDATE_EXPECT=1 cargo test --test golden` and say why in the commit.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use tempfile::TempDir;

/// The environment variable that turns a comparison into a rewrite of the expected files.
const UPDATE_VAR: &str = "UPDATE_EXPECT";
/// What to run to regenerate the expected files, quoted in every mismatch.
const UPDATE_HINT: &str = "UPDATE_EXPECT=1 cargo test --test golden";
/// The one output file left unpinned: it records wall time, paths and the command line.
const UNPINNED: &str = "provenance.json";

/// The golden scenarios: `tests/data/golden/<name>.toml`, expected outputs in `<name>/`.
/// Each covers different machinery (see the comment at the top of each file).
const SCENARIOS: [&str; 4] = ["nk_regions_events", "march_target", "firms_torch", "small_world"];
/// The golden sweep file, its expected merge outputs in `sweep/`.
const SWEEP: &str = "sweep";
/// The files `esh sweep merge` writes that are pinned.
const SWEEP_FILES: [&str; 2] = ["results.csv", "summary.csv"];

fn esh() -> Command {
    Command::cargo_bin("esh").expect("the esh binary is built")
}

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/golden")
}

fn updating() -> bool {
    std::env::var_os(UPDATE_VAR).is_some_and(|v| !v.is_empty() && v != "0")
}

/// Runs `esh` with `args` in `dir` and fails with its stderr unless it succeeds.
fn ok(dir: &Path, args: &[&str]) {
    let out = esh().current_dir(dir).args(args).output().unwrap();
    assert!(out.status.success(), "`esh {}` failed:\n{}", args.join(" "), String::from_utf8_lossy(&out.stderr));
}

/// Runs golden scenario `name` at `threads` worker threads into `dir/<name>`.
fn run_scenario(dir: &Path, name: &str, threads: &str) -> PathBuf {
    let scenario = golden_dir().join(format!("{name}.toml"));
    let scenario = scenario.to_str().unwrap();
    ok(dir, &["run", scenario, "--out", name, "-q", "-j", threads]);
    dir.join(name)
}

/// Plans, runs (at `threads`) and merges the golden sweep into `dir/sweep`.
fn run_sweep(dir: &Path, threads: &str) -> PathBuf {
    let file = golden_dir().join(format!("{SWEEP}.toml"));
    ok(dir, &["sweep", "plan", file.to_str().unwrap(), "--out", SWEEP, "-q"]);
    ok(dir, &["sweep", "run", SWEEP, "-q", "-j", threads]);
    ok(dir, &["sweep", "merge", SWEEP, "-q"]);
    dir.join(SWEEP)
}

/// The pinned files a run wrote: every file in its output directory but provenance.json.
fn pinned_files(out: &Path) -> BTreeSet<String> {
    fs::read_dir(out)
        .unwrap_or_else(|e| panic!("{}: {e}", out.display()))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != UNPINNED)
        .collect()
}

/// The expected files of a golden, none if its directory does not exist yet.
fn expected_files(expected: &Path) -> BTreeSet<String> {
    if expected.is_dir() { pinned_files(expected) } else { BTreeSet::new() }
}

/// The first line where `expected` and `actual` differ, as a message naming both.
fn first_difference(expected: &str, actual: &str) -> String {
    let (mut e, mut a) = (expected.split_inclusive('\n'), actual.split_inclusive('\n'));
    for line in 1.. {
        match (e.next(), a.next()) {
            (Some(x), Some(y)) if x == y => continue,
            (None, None) => break,
            (x, y) => {
                let show = |s: Option<&str>| s.map_or("<end of file>".to_string(), |s| format!("{s:?}"));
                return format!("first difference at line {line}:\n  expected: {}\n  actual:   {}", show(x), show(y));
            }
        }
    }
    "the files differ only in bytes that are not valid UTF-8".to_string()
}

/// Writes `bytes` to `path` by a temporary file beside it and a rename, so that an
/// interrupted update never leaves half an expected file.
fn write_atomically(path: &Path, bytes: &[u8]) {
    let tmp = path.with_extension(format!("{}.tmp", path.extension().unwrap_or_default().to_string_lossy()));
    fs::write(&tmp, bytes).unwrap_or_else(|e| panic!("{}: {e}", tmp.display()));
    fs::rename(&tmp, path).unwrap_or_else(|e| panic!("{} -> {}: {e}", tmp.display(), path.display()));
}

/// Compares each of `files` in `actual` with the same file in `expected`, or with
/// UPDATE_EXPECT set, makes `expected` hold exactly them (removing files no longer written).
fn check(actual: &Path, expected: &Path, files: &BTreeSet<String>) {
    if updating() {
        fs::create_dir_all(expected).unwrap();
        for stale in expected_files(expected).difference(files) {
            fs::remove_file(expected.join(stale)).unwrap();
        }
        for f in files {
            write_atomically(&expected.join(f), &fs::read(actual.join(f)).unwrap());
        }
        return;
    }
    let mut failures = Vec::new();
    for f in files {
        let want = expected.join(f);
        let got = fs::read(actual.join(f)).unwrap();
        match fs::read(&want) {
            Err(e) => failures.push(format!("{}: no expected file ({e})", want.display())),
            Ok(bytes) if bytes != got => failures.push(format!(
                "{}: the output differs from the expected file; {}",
                want.display(),
                first_difference(&String::from_utf8_lossy(&bytes), &String::from_utf8_lossy(&got))
            )),
            Ok(_) => {}
        }
    }
    assert!(
        failures.is_empty(),
        "{}\n\nIf this change of the outputs is intended, regenerate the expected files with\n  {UPDATE_HINT}\nand say why in the commit.",
        failures.join("\n\n")
    );
}

#[test]
fn scenarios_match_their_golden_outputs() {
    let dir = TempDir::new().unwrap();
    for name in SCENARIOS {
        let out = run_scenario(dir.path(), name, "1");
        check(&out, &golden_dir().join(name), &pinned_files(&out));
    }
}

#[test]
fn sweep_matches_its_golden_results() {
    let dir = TempDir::new().unwrap();
    let out = run_sweep(dir.path(), "1");
    check(&out, &golden_dir().join(SWEEP), &SWEEP_FILES.iter().map(|s| s.to_string()).collect());
}

/// The names of the files provenance.json says the run wrote.
fn provenance_files(out: &Path) -> BTreeSet<String> {
    let text = fs::read_to_string(out.join(UNPINNED)).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json["files"]
        .as_array()
        .expect("provenance.json lists its files")
        .iter()
        .map(|f| f.as_str().unwrap().to_string())
        .collect()
}

/// Every file a golden run writes has an expected file and every expected file is still
/// written, so a new output file cannot slip by unpinned; together the goldens pin every
/// kind of output file there is (the files any of them writes).
#[test]
fn goldens_cover_every_output_file() {
    if updating() {
        // The golden tests rewrite the expected directories themselves.
        return;
    }
    let dir = TempDir::new().unwrap();
    let mut written = BTreeSet::new();
    for name in SCENARIOS {
        let out = run_scenario(dir.path(), name, "1");
        let files = pinned_files(&out);
        assert_eq!(provenance_files(&out), files, "{name}: provenance.json's files are not the files written");
        let expected = expected_files(&golden_dir().join(name));
        assert_eq!(
            expected, files,
            "{name}: the expected files (left) are not the files the run writes (right); regenerate with {UPDATE_HINT}"
        );
        written.extend(files);
    }
    let every = [
        "diffusion.csv",
        "events.csv",
        "innovations.csv",
        "regions.csv",
        "scenario.resolved.toml",
        "ticks.csv",
        "zones.csv",
    ];
    assert!(
        every.iter().all(|f| written.contains(*f)),
        "the goldens together write {written:?}, not every output file of {every:?}"
    );
    assert_eq!(expected_files(&golden_dir().join(SWEEP)), SWEEP_FILES.iter().map(|s| s.to_string()).collect());
}

/// Compares every pinned file of two output directories byte for byte.
fn assert_same_outputs(one: &Path, two: &Path, files: &BTreeSet<String>, what: &str) {
    for f in files {
        let (a, b) = (fs::read_to_string(one.join(f)).unwrap(), fs::read_to_string(two.join(f)).unwrap());
        assert!(a == b, "{what}: {f} differs between 1 and 2 threads; {}", first_difference(&a, &b));
    }
}

/// Outputs do not depend on the thread count: every golden, run and swept at 1 and at 2
/// worker threads, writes the same bytes.
#[test]
fn goldens_are_the_same_at_one_and_two_threads() {
    let (one, two) = (TempDir::new().unwrap(), TempDir::new().unwrap());
    for name in SCENARIOS {
        let (a, b) = (run_scenario(one.path(), name, "1"), run_scenario(two.path(), name, "2"));
        let files = pinned_files(&a);
        assert_eq!(files, pinned_files(&b), "{name}: different files at 1 and 2 threads");
        assert_same_outputs(&a, &b, &files, name);
    }
    let files = SWEEP_FILES.iter().map(|s| s.to_string()).collect();
    assert_same_outputs(&run_sweep(one.path(), "1"), &run_sweep(two.path(), "2"), &files, SWEEP);
}
