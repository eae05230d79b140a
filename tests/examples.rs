//! The examples run as users run them (`cargo run --example NAME`), and what they claim
//! holds: a reporter adds its column and changes nothing else; embedding prints what its
//! observer kept.

use std::fs;
use std::process::{Command, Output};

use tempfile::TempDir;

/// `cargo run --example NAME -- ARGS` in this package (built, if it is not, with the
/// profile of the tests).
fn example(name: &str, args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["run", "--quiet", "--example", name, "--"])
        .args(args)
        .output()
        .expect("cargo runs");
    assert!(out.status.success(), "example {name} failed:\n{}", String::from_utf8_lossy(&out.stderr));
    out
}

/// The reporter example writes share_above_median as the last column of ticks.csv; the
/// same scenario without the reporter writes the same bytes without that column.
#[test]
fn reporter_example_adds_one_column_and_changes_nothing_else() {
    let dir = TempDir::new().unwrap();
    let with = dir.path().join("with");
    let out = example("reporter", &[with.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("share_above_median is column"), "{stdout}");
    let ticks = fs::read_to_string(with.join("ticks.csv")).unwrap();
    let header = ticks.lines().next().unwrap();
    assert!(header.ends_with(",share_above_median"), "{header}");
    for line in ticks.lines().skip(1) {
        let share: f64 = line.rsplit(',').next().unwrap().parse().unwrap();
        assert!((0.0..=0.5).contains(&share), "more than half above the median: {line}");
    }

    // Without the reporter (the run's scenario as resolved): the other columns, byte for byte.
    let s = esh::scenario::Scenario::load(&with.join("scenario.resolved.toml")).unwrap();
    let without = dir.path().join("without");
    esh::output::run_to_dir(&s, &without, &esh::output::RunOptions::default(), &esh::progress::Silent).unwrap();
    let plain = fs::read_to_string(without.join("ticks.csv")).unwrap();
    let stripped: Vec<&str> = ticks.lines().map(|l| &l[..l.rfind(',').unwrap()]).collect();
    assert_eq!(stripped, plain.lines().collect::<Vec<_>>());
    for f in ["regions.csv", "events.csv", "innovations.csv", "zones.csv"] {
        assert_eq!(fs::read(with.join(f)).unwrap(), fs::read(without.join(f)).unwrap(), "{f}");
    }
}

/// The embedding example runs the baseline through its own observer and prints a line per
/// replication and the acts it counted.
#[test]
fn embed_example_prints_what_its_observer_kept() {
    let out = example("embed", &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("baseline.toml: 200 zones, 50 ticks"), "{stdout}");
    for r in 0..2 {
        assert!(stdout.contains(&format!("replication {r}: ")), "{stdout}");
    }
    assert!(stdout.contains("  acts: ") && stdout.contains("pilot "), "{stdout}");
}
