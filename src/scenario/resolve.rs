//! The fully resolved scenario (every key explicit, re-runnable as is) and the parameter
//! reference, both generated from the one definition of each parameter.

use std::fmt::Write;

use super::params::*;
use super::{Action, Scenario, Target};

/// A string as a TOML basic string (the toml crate's quoting: Rust's `{:?}` writes escapes
/// such as `\u{301}` that TOML does not read).
pub fn quote(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

fn section<S: Section>(out: &mut String, s: &S) {
    writeln!(out, "[{}]", S::NAME).unwrap();
    for spec in S::SPECS {
        let v = s.get(spec.key).expect("every spec has a field");
        writeln!(out, "{} = {}  # {}", spec.key, v, spec.doc.trim()).unwrap();
    }
    out.push('\n');
}

/// The scenario as TOML with every parameter written out. Parsing it gives back an equal
/// scenario (tested), so a run can be repeated exactly from its output directory.
pub fn to_toml(s: &Scenario) -> String {
    let mut out = String::from(
        "# Fully resolved ESH scenario: every parameter explicit. Re-run it with `esh run <this file>`.\n\n",
    );
    section(&mut out, &s.run);
    section(&mut out, &s.landscape);
    section(&mut out, &s.centre);
    section(&mut out, &s.zones);
    section(&mut out, &s.network);
    section(&mut out, &s.firms);
    section(&mut out, &s.output);
    for r in &s.regions {
        writeln!(out, "[[regions]]").unwrap();
        writeln!(out, "name = {}", quote(&r.name)).unwrap();
        writeln!(out, "zones = {}", r.zones).unwrap();
        writeln!(out, "initial_capacity = {:?}", r.initial_capacity).unwrap();
        writeln!(out, "context = {}", r.context).unwrap();
        writeln!(out, "level = {}\n", quote(r.level.name())).unwrap();
    }
    for e in &s.events {
        writeln!(out, "[[events]]").unwrap();
        writeln!(out, "tick = {}  # year {}", e.tick, s.year(e.tick)).unwrap();
        let target = |out: &mut String, t: &Target| match t {
            Target::Region(r) => writeln!(out, "region = {}", quote(&s.regions[*r].name)).unwrap(),
            Target::Zones(ids) => {
                let ids: Vec<String> = ids.iter().map(|i| i.to_string()).collect();
                writeln!(out, "zones = [{}]", ids.join(", ")).unwrap()
            }
        };
        match &e.action {
            Action::AddZones { region, count, level, capacity } => {
                writeln!(out, "action = \"add_zones\"\nregion = {}\ncount = {count}", quote(&s.regions[*region].name))
                    .unwrap();
                if let Some(l) = level {
                    writeln!(out, "level = {}", quote(l.name())).unwrap();
                }
                if let Some(c) = capacity {
                    writeln!(out, "capacity = {c:?}").unwrap();
                }
            }
            Action::SetLevel { target: t, level } => {
                writeln!(out, "action = \"set_level\"").unwrap();
                target(&mut out, t);
                writeln!(out, "level = {}", quote(level.name())).unwrap();
            }
            Action::SetPilot { target: t, pilot } => {
                writeln!(out, "action = \"set_pilot\"").unwrap();
                target(&mut out, t);
                writeln!(out, "pilot = {pilot}").unwrap();
            }
            Action::Set { parameter, value } => {
                writeln!(out, "action = \"set\"\nparameter = {}\nvalue = {value}", quote(&parameter.path())).unwrap();
            }
        }
        out.push('\n');
    }
    out
}

fn default_of(spec: &ParamSpec) -> String {
    let d = Scenario::default();
    let v = match spec.section {
        "run" => d.run.get(spec.key),
        "landscape" => d.landscape.get(spec.key),
        "centre" => d.centre.get(spec.key),
        "zones" => d.zones.get(spec.key),
        "network" => d.network.get(spec.key),
        "firms" => d.firms.get(spec.key),
        "output" => d.output.get(spec.key),
        _ => None,
    };
    v.map_or_else(|| "see doc".to_string(), |v| format!("`{v}`"))
}

fn table(out: &mut String, specs: &[ParamSpec], with_default: bool) {
    if with_default {
        out.push_str("| key | default | allowed | event-settable | meaning |\n|---|---|---|---|---|\n");
    } else {
        out.push_str("| key | allowed | meaning |\n|---|---|---|\n");
    }
    for spec in specs {
        let allowed = spec.domain.to_string().replace('|', "\\|");
        if with_default {
            let settable = if spec.settable { "yes" } else { "no" };
            writeln!(
                out,
                "| `{}` | {} | {} | {} | {} |",
                spec.key,
                default_of(spec),
                allowed,
                settable,
                spec.doc.trim()
            )
            .unwrap();
        } else {
            writeln!(out, "| `{}` | {} | {} |", spec.key, allowed, spec.doc.trim()).unwrap();
        }
    }
    out.push('\n');
}

/// The parameter reference in Markdown (`esh params`; kept in `docs/scenario.md`).
pub fn reference_markdown() -> String {
    let mut out = String::from(
        "<!-- Generated by `esh params`; do not edit by hand (a test checks it is current). -->\n\
         # Scenario parameters\n\n\
         Every key of a scenario file, with its default, the values allowed and its meaning.\n\
         Unknown keys, out-of-range values and impossible combinations are errors (exit code 2).\n\
         Keys marked event-settable may be changed mid-run by a `set` event.\n\n\
         Every default is the baseline ESH scenario's value (`scenarios/baseline.toml`, printed by\n\
         `esh params --baseline`), the regions included: an empty file is the baseline, and a file\n\
         holding only some keys is the baseline with those keys changed (a test checks this). A\n\
         scenario that means something else, a published model such as Lazer & Friedman's or\n\
         March's, writes every key it depends on.\n\n",
    );
    let sections: [(&str, &[ParamSpec]); 7] = [
        ("run", RunParams::SPECS),
        ("landscape", LandscapeParams::SPECS),
        ("centre", CentreParams::SPECS),
        ("zones", ZoneParams::SPECS),
        ("network", NetworkParams::SPECS),
        ("firms", FirmParams::SPECS),
        ("output", OutputParams::SPECS),
    ];
    for (name, specs) in sections {
        writeln!(out, "## [{name}]\n").unwrap();
        table(&mut out, specs, true);
    }
    let regions: Vec<String> =
        super::baseline_regions().iter().map(|r| format!("`{}` ({} zones)", r.name, r.zones)).collect();
    writeln!(
        out,
        "## [[regions]]\n\nOne entry per region. Without any, the scenario has the baseline's {} regions: {}.\n",
        regions.len(),
        regions.join(", ")
    )
    .unwrap();
    table(&mut out, REGION_SPECS, false);
    out.push_str(
        "## [[events]]\n\nApplied at the start of their tick, before zones act, in file order within a tick. \
         Events at tick 0 apply before the initial state is recorded.\n\n",
    );
    table(&mut out, EVENT_SPECS, false);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_the_baseline() {
        let baseline = Scenario::parse(crate::scenario::BASELINE, "baseline.toml").unwrap();
        assert_eq!(Scenario::default(), baseline);
        assert_eq!(Scenario::parse("", "empty.toml").unwrap(), baseline);
        // Key by key, for a message that names the one that differs.
        let d = Scenario::default();
        for spec in all_specs() {
            assert_eq!(d.get(spec), baseline.get(spec), "the default of {} is not the baseline's", spec.path());
        }
        // A file holding one change is the baseline with that change.
        let mut changed = baseline.clone();
        changed.centre.tolerance = 0.0;
        assert_eq!(Scenario::parse("[centre]\ntolerance = 0.0\n", "t.toml").unwrap(), changed);
    }

    #[test]
    fn the_reference_shows_the_types_the_parser_reads() {
        // Each row's "allowed" column is the Display of the domain the parser checks against;
        // an event's zones are a list of ids and its value the parameter's type.
        let doc = reference_markdown();
        for spec in all_specs().chain(REGION_SPECS).chain(EVENT_SPECS) {
            let allowed = spec.domain.to_string().replace('|', "\\|");
            assert!(
                doc.lines().any(|l| l.starts_with(&format!("| `{}` |", spec.key)) && l.contains(&allowed)),
                "{}",
                spec.path()
            );
        }
        let row = |key: &str| doc.lines().rev().find(|l| l.starts_with(&format!("| `{key}` |"))).unwrap().to_string();
        assert!(row("zones").contains("a list of zone ids"), "{}", row("zones"));
        assert!(row("value").contains("the parameter's type"), "{}", row("value"));
        assert!(!row("capacity").contains("1000000000000"), "{}", row("capacity"));
    }

    #[test]
    fn resolved_default_round_trips() {
        let s = Scenario::default();
        let text = to_toml(&s);
        assert_eq!(Scenario::parse(&text, "resolved.toml").unwrap(), s);
    }
}
