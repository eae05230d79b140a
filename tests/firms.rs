//! Firms end to end: the historical Torch scenario follows its zone schedule exactly and
//! reports firms in every file; regions add up to the nation; monthly ticks place events
//! by year; bad firm settings are located errors.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use assert_cmd::Command;
use tempfile::TempDir;

fn esh() -> Command {
    Command::cargo_bin("esh").expect("the esh binary is built")
}

fn repo(path: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// Rows of a CSV file as maps from column to cell.
fn rows(path: &Path) -> Vec<BTreeMap<String, String>> {
    let mut rd = csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let head = rd.headers().unwrap().clone();
    rd.records()
        .map(|r| head.iter().zip(r.unwrap().iter()).map(|(h, v)| (h.to_string(), v.to_string())).collect())
        .collect()
}

fn num(row: &BTreeMap<String, String>, col: &str) -> f64 {
    row[col].parse().unwrap_or_else(|_| panic!("{col} = {:?} is not a number", row[col]))
}

/// National zones (national and demonstration level) at the end of each year, from the
/// official timeline (seed 004) and the public counts after 2009.
fn schedule(year: u32) -> u32 {
    match year {
        1988..=1990 => 1,
        1991 => 27,
        1992..=1996 => 52,
        1997..=2006 => 53,
        2007..=2008 => 54,
        2009..=2012 => 105,
        2013 => 114,
        2014 => 115,
        2015 => 146,
        _ => 156,
    }
}

#[test]
fn the_historical_scenario_follows_the_zone_schedule_and_counts_firms() {
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("torch");
    esh().arg("run").arg(repo("scenarios/torch_1988_2017.toml")).arg("--out").arg(&out).arg("-q").assert().success();
    let ticks = rows(&out.join("ticks.csv"));
    assert_eq!(ticks.len(), 360, "monthly ticks, January 1988 to December 2017");
    let mut end_of_year = BTreeMap::new();
    for r in &ticks {
        end_of_year.insert(num(r, "year") as u32, r.clone());
    }
    assert_eq!(end_of_year.keys().copied().collect::<Vec<_>>(), (1988..=2017).collect::<Vec<_>>());
    for (year, r) in &end_of_year {
        let national = num(r, "zones_national") + num(r, "zones_demonstration");
        assert_eq!(national as u32, schedule(*year), "national zones at the end of {year}");
    }
    // Demonstration zones: Zhongguancun and East Lake from 2009, Zhangjiang from 2011.
    assert_eq!(num(&end_of_year[&2008], "zones_demonstration"), 0.0);
    assert_eq!(num(&end_of_year[&2009], "zones_demonstration"), 2.0);
    assert_eq!(num(&end_of_year[&2011], "zones_demonstration"), 3.0);
    // Firms at the real scale, and the focal zone (Zhongguancun) is the only zone in 1988.
    let last = &end_of_year[&2017];
    assert!(num(last, "firms") > 1_000_000.0, "firms in 2017: {}", last["firms"]);
    assert_eq!(end_of_year[&1988]["firms"], end_of_year[&1988]["focal_firms"]);
    let shares: f64 = ["share_state", "share_private", "share_foreign"].iter().map(|c| num(last, c)).sum();
    assert!((shares - 1.0).abs() < 1e-9, "ownership shares sum to {shares}");

    // regions.csv adds up to ticks.csv, tick by tick.
    let regions = rows(&out.join("regions.csv"));
    assert_eq!(regions.len(), 4 * 360);
    for (t, chunk) in regions.chunks(4).enumerate() {
        let firms: f64 = chunk.iter().map(|r| num(r, "firms")).sum();
        let births: f64 = chunk.iter().map(|r| num(r, "firm_births")).sum();
        assert_eq!(firms, num(&ticks[t], "firms"), "firms at tick {t}");
        assert_eq!(births, num(&ticks[t], "firm_births"), "births at tick {t}");
    }
}

#[test]
fn zone_panels_and_firm_columns_are_empty_when_firms_are_off() {
    let dir = TempDir::new().unwrap();
    let scenario = dir.path().join("s.toml");
    fs::write(
        &scenario,
        "[run]\nticks = 3\n[landscape]\nn = 8\nk = 2\n[output]\nzones_every = 1\n[[regions]]\nzones = 10\n",
    )
    .unwrap();
    let out = dir.path().join("o");
    esh().arg("run").arg(&scenario).arg("--out").arg(&out).arg("-q").assert().success();
    // Empty, not 0: there are no firms to count.
    for r in rows(&out.join("ticks.csv")) {
        assert_eq!(r["firms"], "");
        assert_eq!(r["revenue"], "");
    }
    for r in rows(&out.join("zones.csv")) {
        assert_eq!(r["firms"], "");
    }
}

#[test]
fn monthly_ticks_place_events_by_year_and_report_years() {
    let dir = TempDir::new().unwrap();
    let scenario = dir.path().join("m.toml");
    fs::write(
        &scenario,
        "[run]\nticks = 35\nstart_year = 2000\nticks_per_year = 12\n[landscape]\nn = 8\nk = 2\n[centre]\npilot_quota = 5\n\
         [[regions]]\nname = \"a\"\nzones = 5\n[firms]\nenabled = true\ninitial = 10.0\n\
         [[events]]\nyear = 2001\naction = \"add_zones\"\nregion = \"a\"\ncount = 3\n",
    )
    .unwrap();
    let out = dir.path().join("o");
    esh().arg("run").arg(&scenario).arg("--out").arg(&out).arg("-q").assert().success();
    let ticks = rows(&out.join("ticks.csv"));
    for r in &ticks {
        let tick = num(r, "tick") as u32;
        assert_eq!(num(r, "year") as u32, 2000 + tick / 12);
        let zones = if tick < 12 { 5.0 } else { 8.0 };
        assert_eq!(num(r, "active_zones"), zones, "tick {tick}");
    }
    assert_eq!(num(&ticks[12], "entered"), 3.0);
}

#[test]
fn bad_firm_settings_are_located_errors() {
    let dir = TempDir::new().unwrap();
    let scenario = dir.path().join("bad.toml");
    fs::write(&scenario, "[[regions]]\nzones = 4\n\n[firms]\nenabled = true\nfocal_zone = 9\n").unwrap();
    let out = esh().arg("check").arg(&scenario).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("firms.focal_zone") && stderr.contains("zone 9 does not exist") && stderr.contains(":6:"),
        "{stderr}"
    );

    fs::write(&scenario, "[firms]\nenabled = true\nhazard_young = 1.5\n").unwrap();
    let out = esh().arg("check").arg(&scenario).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("firms.hazard_young") && stderr.contains("[0, 1]"), "{stderr}");

    fs::write(&scenario, "[firms]\nenabeld = true\n").unwrap();
    let out = esh().arg("check").arg(&scenario).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("did you mean `enabled`"), "{stderr}");
}

#[test]
fn runaway_births_end_the_run_with_an_error_not_an_abort() {
    let dir = TempDir::new().unwrap();
    let scenario = dir.path().join("boom.toml");
    fs::write(
        &scenario,
        // One zone grows without limit; 999 zones without capacity hold no firm, so the one
        // zone's share of the limit (2^27 / 1000 firms) is reached with little memory.
        "[run]\nticks = 40\n[landscape]\nn = 8\nk = 2\n[[regions]]\nname = \"a\"\nzones = 1\n\
         [[regions]]\nname = \"b\"\nzones = 999\ninitial_capacity = 0.0\n[centre]\npilot_quota = 0\n\
         [firms]\nenabled = true\ninitial = 10.0\nspinoff_births = 100.0\nhazard_young = 0.0\nhazard_old = 0.0\n",
    )
    .unwrap();
    let out = dir.path().join("o");
    let o = esh().arg("run").arg(&scenario).arg("--out").arg(&out).arg("-q").output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("the firms outgrew") && stderr.contains("firms.carrying"), "{stderr}");
    assert!(!out.exists(), "a failed run left {}", out.display());
}

#[test]
fn set_events_that_zero_the_weights_are_refused() {
    let dir = TempDir::new().unwrap();
    let scenario = dir.path().join("w.toml");
    fs::write(
        &scenario,
        "[[regions]]\nzones = 10\n[firms]\nenabled = true\n\
         [[events]]\ntick = 3\naction = \"set\"\nparameter = \"firms.financing_loans\"\nvalue = 0.0\n\
         [[events]]\nyear = 1995\naction = \"set\"\nparameter = \"firms.financing_foreign\"\nvalue = 0.0\n\
         [[events]]\ntick = 3\naction = \"set\"\nparameter = \"firms.financing_shares\"\nvalue = 0.0\n\
         [[events]]\ntick = 3\naction = \"set\"\nparameter = \"firms.financing_venture\"\nvalue = 0.0\n\
         [[events]]\ntick = 3\naction = \"set\"\nparameter = \"firms.financing_joint\"\nvalue = 0.0\n\
         [[events]]\ntick = 3\naction = \"set\"\nparameter = \"firms.financing_other\"\nvalue = 0.0\n",
    )
    .unwrap();
    let o = esh().arg("check").arg(&scenario).output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("tick 7 (year 1995)") && stderr.contains("financing weights"), "{stderr}");
}

#[test]
fn a_sweep_cannot_move_the_calendar() {
    let dir = TempDir::new().unwrap();
    let sweep = dir.path().join("s.toml");
    fs::write(&sweep, "[sweep]\nscenario = \"base.toml\"\n[axes]\n\"run.ticks_per_year\" = [1, 12]\n").unwrap();
    fs::write(dir.path().join("base.toml"), "[[regions]]\nzones = 10\n").unwrap();
    let o = esh().args(["sweep", "plan"]).arg(&sweep).arg("--out").arg(dir.path().join("p")).output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("cannot be an axis"), "{stderr}");
}
