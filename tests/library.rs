//! ESH used as a library: a scenario built in code gets the checks a scenario file gets, so
//! an impossible one is an error that names the key, never a panic inside the model.

use esh::engine::{Observer, Replication, RunError, TickCounts, run_replication};
use esh::model::centre::Act;
use esh::scenario::{Action, Event, Scenario, Target, spec};

struct Count(u32);

impl Observer for Count {
    fn tick(&mut self, _: &Replication, _: &TickCounts) -> std::io::Result<()> {
        self.0 += 1;
        Ok(())
    }
    fn acts(&mut self, _: &Replication, _: &[Act]) -> std::io::Result<()> {
        Ok(())
    }
    fn finish(&mut self, _: &Replication) -> std::io::Result<()> {
        Ok(())
    }
}

fn small() -> Scenario {
    let mut s = Scenario::default();
    s.run.ticks = 3;
    for r in &mut s.regions {
        r.zones = 5;
    }
    s
}

/// The key an invalid scenario's error names, or a panic if it ran.
fn refused(s: &Scenario) -> String {
    match run_replication(s, 0, &mut Count(0), &|| {}) {
        Err(RunError::Invalid(e)) => e.key.unwrap_or_default(),
        Err(other) => panic!("refused for another reason: {other}"),
        Ok(()) => panic!("an invalid scenario ran"),
    }
}

#[test]
fn a_valid_scenario_built_in_code_runs() {
    let mut seen = Count(0);
    run_replication(&small(), 0, &mut seen, &|| {}).expect("runs");
    assert_eq!(seen.0, 4, "tick 0 and three ticks");
}

#[test]
fn scenarios_built_in_code_are_validated() {
    let mut s = small();
    s.landscape.k = s.landscape.n; // K > N - 1: tripped only a debug_assert before
    assert_eq!(refused(&s), "landscape.k");

    let mut s = small();
    s.centre.tolerance = 2.0;
    assert_eq!(refused(&s), "centre.tolerance");

    let mut s = small();
    s.landscape.n = 0;
    assert_eq!(refused(&s), "landscape.n");

    let mut s = small();
    s.regions[1].name = s.regions[0].name.clone();
    assert_eq!(refused(&s), "regions[1].name");

    let mut s = small();
    s.events.push(Event { tick: 1, action: Action::SetPilot { target: Target::Region(9), pilot: true } });
    assert_eq!(refused(&s), "events[0].region");

    let mut s = small();
    s.events.push(Event { tick: 1, action: Action::SetPilot { target: Target::Zones(vec![20]), pilot: true } });
    assert_eq!(refused(&s), "events[0].zones");

    let mut s = small();
    s.events.push(Event { tick: 9, action: Action::SetPilot { target: Target::Zones(vec![0]), pilot: true } });
    assert_eq!(refused(&s), "events[0].tick");

    let mut s = small();
    let tolerance = spec("centre.tolerance").unwrap();
    for tick in [2, 1] {
        s.events.push(Event {
            tick,
            action: Action::Set { parameter: tolerance, value: esh::scenario::Value::Float(0.5) },
        });
    }
    assert_eq!(refused(&s), "events[1].tick");

    let mut s = small();
    s.events
        .push(Event { tick: 1, action: Action::Set { parameter: tolerance, value: esh::scenario::Value::Float(7.0) } });
    assert_eq!(refused(&s), "events[0].value");

    let mut s = small();
    let n = spec("landscape.n").unwrap();
    s.events.push(Event { tick: 1, action: Action::Set { parameter: n, value: esh::scenario::Value::Int(8) } });
    assert_eq!(refused(&s), "events[0].parameter");
}

#[test]
fn replication_new_validates_too() {
    let mut s = small();
    s.landscape.k = 30;
    let err = Replication::new(&s, 0).err().expect("refused");
    assert!(err.contains("landscape.k"), "{err}");
}

#[test]
fn run_to_dir_validates_once_and_writes_nothing_for_an_invalid_scenario() {
    use esh::output::{OutputError, RunOptions, run_to_dir};
    let dir = tempfile::TempDir::new().unwrap();
    let out = dir.path().join("run");
    let mut s = small();
    s.network.degree = 3; // odd: a ring needs an even degree
    s.network.kind = esh::scenario::NetworkKind::Ring;
    match run_to_dir(&s, &out, &RunOptions::default(), &esh::progress::Silent) {
        Err(OutputError::Run(RunError::Invalid(e))) => assert_eq!(e.key.as_deref(), Some("network.degree")),
        other => panic!("expected the scenario refused, got {:?}", other.map(|_| ())),
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "nothing written");
    run_to_dir(&small(), &out, &RunOptions::default(), &esh::progress::Silent).expect("a valid one runs");
    assert!(out.join("ticks.csv").is_file());
}

/// The share of active zones whose performance is above 0.5: a reporter's column.
struct AboveHalf;

impl esh::output::Reporter for AboveHalf {
    fn columns(&self) -> Vec<String> {
        vec!["above_half".into()]
    }
    fn values(&self, rep: &Replication) -> Vec<esh::output::metrics::Num> {
        let (above, n) =
            rep.active_zones().fold((0, 0), |(a, n), z| (a + (rep.zones.cur.performance[z] > 0.5) as u32, n + 1));
        vec![esh::output::metrics::Num::Float(above as f64 / n.max(1) as f64)]
    }
}

#[test]
fn a_sweep_keeps_the_columns_of_a_programs_reporters() {
    use esh::sweep::{Plan, Shard, execute, merge};
    let dir = tempfile::TempDir::new().unwrap();
    let file = dir.path().join("sweep.toml");
    let keep = |ticks: &str| {
        format!(
            "[sweep]\nreplications = 2\n[scenario.run]\nticks = 4\n[[scenario.regions]]\nname = \"a\"\nzones = 12\n\
             [axes]\n\"centre.tolerance\" = [0.1, 0.9]\n[keep]\n{ticks}\nmetrics = [\"mean_performance\"]\nreporters = [\"above_half\"]\n"
        )
    };
    for (i, ticks) in ["ticks = \"all\"", "ticks = \"final\"", "ticks = \"window\"\nwindow = [1, 3]"].iter().enumerate()
    {
        std::fs::write(&file, keep(ticks)).unwrap();
        let out = dir.path().join(format!("plan{i}"));
        esh::sweep::plan::create(&file, &out, false).expect("planned");
        let plan = Plan::open(&out).unwrap();
        let without = execute::Options { shard: Shard::WHOLE, retry_failed: false, reporters: Default::default() };
        let err = execute::run_shard(&plan, &without, &esh::progress::Silent).unwrap_err().to_string();
        assert!(err.contains("reporter columns above_half"), "{err}");
        let mut reporters = esh::output::Reporters::default();
        reporters.add(AboveHalf);
        let with = execute::Options { reporters, ..without };
        execute::run_shard(&plan, &with, &esh::progress::Silent).expect("runs");
        let report = merge::merge(&plan, &merge::Options::default()).expect("merged");
        assert_eq!(report.merged, 4);
        let results = std::fs::read_to_string(out.join("results.csv")).unwrap();
        let header = results.lines().next().unwrap();
        assert!(header.ends_with(",mean_performance,above_half"), "{header}");
        for line in results.lines().skip(1) {
            let share: f64 = line.rsplit(',').next().unwrap().parse().unwrap();
            assert!((0.0..=1.0).contains(&share), "{line}");
        }
        let summary = std::fs::read_to_string(out.join("summary.csv")).unwrap();
        assert!(summary.lines().any(|l| l.contains(",above_half,")), "{summary}");
    }
}

#[test]
fn a_seed_beyond_what_toml_can_write_is_refused_by_its_value() {
    let mut s = small();
    s.run.seed = u64::MAX;
    let err = match run_replication(&s, 0, &mut Count(0), &|| {}) {
        Err(RunError::Invalid(e)) => e,
        other => panic!("{:?}", other.err().map(|e| e.to_string())),
    };
    assert_eq!(err.key.as_deref(), Some("run.seed"));
    assert!(err.message.contains("1.8446744073709552e19") && !err.message.contains("found -"), "{}", err.message);
    s.run.seed = i64::MAX as u64;
    run_replication(&s, 0, &mut Count(0), &|| {}).expect("the largest seed a file can hold runs");
}
