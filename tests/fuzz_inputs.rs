//! Fuzzing kept in the test suite: the scenario parser and the experiment parser never
//! panic, every error they give has a place (file, line and column), and a valid scenario
//! written out fully resolved parses back to an equal scenario. Each property runs a few
//! hundred cases (seconds); raise PROPTEST_CASES for a longer hunt, e.g.
//! `PROPTEST_CASES=20000 cargo test --test fuzz_inputs`.

use std::path::{Path, PathBuf};

use esh::reproduce::Experiment;
use esh::scenario::resolve::to_toml;
use esh::scenario::{
    Action, Domain, Event, Level, ParamSpec, Region, Scenario, ScenarioError, Target, Value, all_specs,
};
use proptest::prelude::*;

/// A small deterministic generator: proptest draws one seed per case, and everything of the
/// case comes from it (a failure prints the seed).
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        // SplitMix64.
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// Strings that broke or could break quoting: combining characters, quotes, escapes,
/// control characters, other scripts.
const NAMES: &[&str] = &[
    "East",
    "e\u{301}",
    "Zhong'guancun",
    "say \"hi\"",
    "back\\slash",
    "tab\there",
    "line\nbreak",
    "東部",
    "🚀",
    "",
    "\u{7f}\u{1}",
    "x\u{200d}y",
];

fn random_value(g: &mut Gen, d: &Domain) -> Option<Value> {
    Some(match *d {
        Domain::Int { min, max } => {
            let span = (max - min) as u64;
            Value::Int(match g.below(4) {
                0 => min,
                1 => max.min(min + 100),
                _ => min + g.below(span.min(1000) + 1) as i64,
            })
        }
        Domain::Float { min, max } => {
            let hi = if max.is_finite() { max } else { min + 1e6 };
            let x = match g.below(5) {
                0 => min,
                1 => hi,
                2 => min + (hi - min) * g.unit() * 1e-9,
                _ => min + (hi - min) * g.unit(),
            };
            Value::Float(x.clamp(min, hi))
        }
        Domain::Bool => Value::Bool(g.chance(0.5)),
        Domain::Choice(names) => Value::Str(g.pick(names).to_string()),
        // Text, zone ids, an event's value, and any domain added later (Domain is non-exhaustive).
        _ => return None,
    })
}

/// A random scenario, built in code: random values for some parameters, one to four regions
/// with awkward names, a few events in tick order. It may break a rule (the caller checks).
fn random_scenario(seed: u64) -> Scenario {
    let mut g = Gen(seed);
    let mut s = Scenario::default();
    let specs: Vec<&'static ParamSpec> = all_specs().collect();
    for spec in &specs {
        if g.chance(0.25)
            && let Some(v) = random_value(&mut g, &spec.domain)
        {
            s.set(spec, &v).expect("a value in the domain");
        }
    }
    // Keep the run small and the landscape buildable, so that most cases are valid.
    s.run.ticks = 1 + g.below(20) as u32;
    s.run.replications = 1 + g.below(3) as u32;
    s.landscape.n = 2 + g.below(20) as u32;
    s.landscape.k = g.below(s.landscape.n as u64) as u32;
    s.landscape.normalise = false;
    s.zones.experiment_radius = 1 + g.below(s.landscape.n as u64) as u32;
    let regions = 1 + g.below(4) as usize;
    s.regions = (0..regions)
        .map(|i| Region {
            name: format!("{}{i}", g.pick(NAMES)),
            zones: 1 + g.below(30) as u32,
            initial_capacity: if g.chance(0.5) { 1.0 } else { g.unit() * 1e3 },
            context: g.below(6) as u32,
            level: *g.pick(&[Level::Provincial, Level::National, Level::Demonstration]),
        })
        .collect();
    let total: u32 = s.regions.iter().map(|r| r.zones).sum();
    s.centre.pilot_quota = s.centre.pilot_quota.min(total);
    s.centre.showcase_top = s.centre.showcase_top.min(total);
    s.firms.focal_zone = s.firms.focal_zone.min(total - 1);
    if matches!(s.network.kind, esh::scenario::NetworkKind::Ring | esh::scenario::NetworkKind::SmallWorld) {
        s.network.degree = 2;
    }
    let settable: Vec<&&'static ParamSpec> = specs.iter().filter(|p| p.settable).collect();
    let mut ticks: Vec<u32> = (0..g.below(5)).map(|_| g.below(s.run.ticks as u64 + 1) as u32).collect();
    ticks.sort();
    for tick in ticks {
        let action = match g.below(4) {
            0 => Action::AddZones {
                region: g.below(regions as u64) as usize,
                count: 1 + g.below(5) as u32,
                level: g.chance(0.5).then_some(Level::Demonstration),
                capacity: g.chance(0.5).then(|| g.unit() * 10.0),
            },
            1 => Action::SetLevel {
                target: if g.chance(0.5) {
                    Target::Region(g.below(regions as u64) as usize)
                } else {
                    Target::Zones(vec![g.below(total as u64) as u32])
                },
                level: Level::Provincial,
            },
            2 => Action::SetPilot { target: Target::Region(g.below(regions as u64) as usize), pilot: g.chance(0.5) },
            _ => {
                let spec = **g.pick(&settable);
                match random_value(&mut g, &spec.domain) {
                    Some(value) => Action::Set { parameter: spec, value },
                    None => continue,
                }
            }
        };
        s.events.push(Event { tick, action });
    }
    s
}

fn placed(e: &ScenarioError) -> Result<(), TestCaseError> {
    prop_assert!(e.at.is_some(), "an error without a line and column: {e}");
    prop_assert!(!e.file.is_empty(), "an error without a file: {e}");
    Ok(())
}

fn files(dir: &str) -> Vec<(PathBuf, String)> {
    let mut out: Vec<(PathBuf, String)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            (p, text)
        })
        .collect();
    out.sort();
    out
}

/// One random mutation of a file's text.
fn mutate(text: &str, seed: u64) -> String {
    let mut g = Gen(seed);
    let mut bytes = text.as_bytes().to_vec();
    let lines: Vec<&str> = text.lines().collect();
    let line = g.below(lines.len() as u64) as usize;
    let replace_line = |with: String| {
        let mut l: Vec<String> = lines.iter().map(|s| s.to_string()).collect();
        l[line] = with;
        l.join("\n") + "\n"
    };
    let huge = ["1e309", "-1e309", "nan", "inf", "-inf", "9223372036854775808", "-1", "1e300", "0x7fffffffffffffff"];
    match g.below(9) {
        0 => {
            // Byte flips.
            for _ in 0..1 + g.below(3) {
                let i = g.below(bytes.len() as u64) as usize;
                bytes[i] ^= 1 << g.below(8);
            }
            String::from_utf8_lossy(&bytes).into_owned()
        }
        1 => {
            // A deleted line.
            let mut l: Vec<&str> = lines.clone();
            l.remove(line);
            l.join("\n") + "\n"
        }
        2 | 3 => {
            // A value replaced by a huge or non-finite number.
            match lines[line].split_once(" = ") {
                Some((k, _)) => replace_line(format!("{k} = {}", g.pick(&huge))),
                None => text.to_string(),
            }
        }
        4 => {
            // Deep nesting.
            let depth = 50 + g.below(400) as usize;
            match g.below(3) {
                0 => replace_line(format!("[{}x]", "a.".repeat(depth))),
                1 => replace_line(format!("x = {}1{}", "[".repeat(depth), "]".repeat(depth))),
                _ => replace_line(format!("x = {}1{}", "{a = ".repeat(depth), "}".repeat(depth))),
            }
        }
        5 => {
            // Unicode in a value or a key.
            let u = *g.pick(NAMES);
            match lines[line].split_once(" = ") {
                Some((k, v)) if g.chance(0.5) => replace_line(format!("{k} = {}", toml_quote(&format!("{v}{u}")))),
                Some((k, v)) => replace_line(format!("{}{} = {v}", k.trim(), toml_quote(u))),
                None => text.to_string(),
            }
        }
        6 => {
            // A duplicated line.
            let mut l: Vec<&str> = lines.clone();
            l.insert(line, lines[line]);
            l.join("\n") + "\n"
        }
        7 => {
            // A truncated file.
            let cut = g.below(text.len() as u64) as usize;
            String::from_utf8_lossy(&bytes[..cut]).into_owned()
        }
        _ => {
            // A line moved elsewhere (a key in the wrong table).
            let mut l: Vec<&str> = lines.clone();
            let moved = l.remove(line);
            let to = g.below(l.len() as u64 + 1) as usize;
            l.insert(to, moved);
            l.join("\n") + "\n"
        }
    }
}

fn toml_quote(s: &str) -> String {
    esh::scenario::resolve::quote(s)
}

fn experiment_source(dir: &Path) -> impl Fn(&str) -> Option<(String, String)> + '_ {
    move |rel: &str| {
        let full = dir.join(rel);
        std::fs::read_to_string(&full).ok().map(|t| (t, full.display().to_string()))
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(300),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Any valid scenario, written fully resolved, parses back to an equal scenario.
    #[test]
    fn resolved_scenarios_round_trip(seed in any::<u64>()) {
        let s = random_scenario(seed);
        if s.validate("generated").is_ok() {
            let text = to_toml(&s);
            match Scenario::parse(&text, "resolved.toml") {
                Ok(back) => prop_assert_eq!(back, s, "\n{}", text),
                Err(e) => prop_assert!(false, "the resolved scenario does not parse: {e}\n{text}"),
            }
        }
    }

    /// Mutated shipped scenarios: no panic, and every error has a place.
    #[test]
    fn mutated_scenarios_fail_with_a_place(file in 0usize..64, seed in any::<u64>()) {
        let all = files("scenarios");
        let (path, text) = &all[file % all.len()];
        let text = mutate(text, seed);
        if let Err(e) = Scenario::parse(&text, &path.display().to_string()) {
            placed(&e)?;
        }
    }

    /// Mutated shipped experiments: no panic, and every error has a place.
    #[test]
    fn mutated_experiments_fail_with_a_place(file in 0usize..64, seed in any::<u64>()) {
        let all = files("experiments");
        let (path, text) = &all[file % all.len()];
        let text = mutate(text, seed);
        let find = experiment_source(Path::new("experiments"));
        if let Err(e) = Experiment::parse(&text, &path.display().to_string(), &find) {
            placed(&e)?;
        }
    }
}

#[test]
fn the_generator_makes_mostly_valid_scenarios() {
    // The round-trip property means little if nearly every generated scenario is refused.
    let valid = (0..200u64).filter(|&seed| random_scenario(seed).validate("generated").is_ok()).count();
    assert!(valid >= 100, "only {valid} of 200 generated scenarios are valid");
}

#[test]
fn a_region_named_with_a_combining_character_round_trips() {
    let mut s = Scenario::default();
    s.regions[0].name = "e\u{301}".to_string();
    s.regions[1].name = "line\nbreak \"quoted\" \\".to_string();
    let text = to_toml(&s);
    assert_eq!(Scenario::parse(&text, "resolved.toml").unwrap(), s);
}
