//! The fully resolved scenario (every key explicit, re-runnable as is) and the parameter
//! reference, both generated from the one definition of each parameter.

use std::fmt::Write;

use super::params::*;
use super::{Action, Scenario, Target};

fn section<S: Section>(out: &mut String, s: &S) {
    writeln!(out, "[{}]", S::NAME).unwrap();
    for spec in S::SPECS {
        let v = s.get(spec.key).expect("every spec has a field");
        writeln!(out, "{} = {}  # {}", spec.key, v, spec.doc).unwrap();
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
    section(&mut out, &s.output);
    for r in &s.regions {
        writeln!(out, "[[regions]]").unwrap();
        writeln!(out, "name = {:?}", r.name).unwrap();
        writeln!(out, "zones = {}", r.zones).unwrap();
        writeln!(out, "initial_capacity = {:?}", r.initial_capacity).unwrap();
        writeln!(out, "context = {}", r.context).unwrap();
        writeln!(out, "level = {:?}\n", r.level.name()).unwrap();
    }
    for e in &s.events {
        writeln!(out, "[[events]]").unwrap();
        writeln!(
            out,
            "tick = {}  # year {}",
            e.tick,
            s.run.start_year + e.tick
        )
        .unwrap();
        let target = |out: &mut String, t: &Target| match t {
            Target::Region(r) => writeln!(out, "region = {:?}", s.regions[*r].name).unwrap(),
            Target::Zones(ids) => {
                let ids: Vec<String> = ids.iter().map(|i| i.to_string()).collect();
                writeln!(out, "zones = [{}]", ids.join(", ")).unwrap()
            }
        };
        match &e.action {
            Action::AddZones {
                region,
                count,
                level,
                capacity,
            } => {
                writeln!(
                    out,
                    "action = \"add_zones\"\nregion = {:?}\ncount = {count}",
                    s.regions[*region].name
                )
                .unwrap();
                if let Some(l) = level {
                    writeln!(out, "level = {:?}", l.name()).unwrap();
                }
                if let Some(c) = capacity {
                    writeln!(out, "capacity = {c:?}").unwrap();
                }
            }
            Action::SetLevel { target: t, level } => {
                writeln!(out, "action = \"set_level\"").unwrap();
                target(&mut out, t);
                writeln!(out, "level = {:?}", level.name()).unwrap();
            }
            Action::SetPilot { target: t, pilot } => {
                writeln!(out, "action = \"set_pilot\"").unwrap();
                target(&mut out, t);
                writeln!(out, "pilot = {pilot}").unwrap();
            }
            Action::Set { parameter, value } => {
                writeln!(
                    out,
                    "action = \"set\"\nparameter = {:?}\nvalue = {value}",
                    parameter.path()
                )
                .unwrap();
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
        "output" => d.output.get(spec.key),
        _ => None,
    };
    v.map_or_else(|| "see doc".to_string(), |v| format!("`{v}`"))
}

fn table(out: &mut String, specs: &[ParamSpec], with_default: bool) {
    if with_default {
        out.push_str(
            "| key | default | allowed | event-settable | meaning |\n|---|---|---|---|---|\n",
        );
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
                spec.doc
            )
            .unwrap();
        } else {
            writeln!(out, "| `{}` | {} | {} |", spec.key, allowed, spec.doc).unwrap();
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
         Keys marked event-settable may be changed mid-run by a `set` event.\n\n",
    );
    let sections: [(&str, &[ParamSpec]); 6] = [
        ("run", RunParams::SPECS),
        ("landscape", LandscapeParams::SPECS),
        ("centre", CentreParams::SPECS),
        ("zones", ZoneParams::SPECS),
        ("network", NetworkParams::SPECS),
        ("output", OutputParams::SPECS),
    ];
    for (name, specs) in sections {
        writeln!(out, "## [{name}]\n").unwrap();
        table(&mut out, specs, true);
    }
    out.push_str("## [[regions]]\n\nOne entry per region. Without any, the scenario has one region `region-0` of 100 zones.\n\n");
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
    fn resolved_default_round_trips() {
        let s = Scenario::default();
        let text = to_toml(&s);
        assert_eq!(Scenario::parse(&text, "resolved.toml").unwrap(), s);
    }
}
