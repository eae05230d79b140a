//! Checks of a scenario built in code (a library user's, a sweep's design point): what a
//! scenario file gets from being parsed key by key (every value in its parameter's range,
//! regions and events that refer to things that exist, events in tick order and within the
//! run) before the
//! rules that need several keys, which files and code share.

use super::params::{ParamValue, REGION_SPECS, all_specs};
use super::{Action, Scenario, ScenarioError, Target};

/// Every value in its parameter's domain, and the regions and events well-formed.
pub(super) fn fields(s: &Scenario, file: &str) -> Result<(), ScenarioError> {
    let mut probe = Scenario { regions: Vec::new(), events: Vec::new(), ..Scenario::default() };
    for spec in all_specs() {
        let v = s.get(spec).expect("a section's spec reads its field");
        probe.set(spec, &v).map_err(|m| ScenarioError::new(file, m).key(spec.path()))?;
    }
    regions(s, file)?;
    events(s, file)
}

/// A region field checked against the domain of its `[[regions]]` key.
fn region_field<T: ParamValue>(file: &str, i: usize, key: &str, v: super::Value) -> Result<(), ScenarioError> {
    let spec = REGION_SPECS.iter().find(|s| s.key == key).expect("a region key");
    T::from_value(&v, &spec.domain)
        .map(|_| ())
        .map_err(|m| ScenarioError::new(file, m).key(format!("regions[{i}].{key}")))
}

fn regions(s: &Scenario, file: &str) -> Result<(), ScenarioError> {
    use super::Value::{Float, Int};
    if s.regions.is_empty() {
        return Err(ScenarioError::new(file, "a scenario needs at least one region").key("regions"));
    }
    for (i, r) in s.regions.iter().enumerate() {
        region_field::<u32>(file, i, "zones", Int(r.zones as i64))?;
        region_field::<f64>(file, i, "initial_capacity", Float(r.initial_capacity))?;
        region_field::<u32>(file, i, "context", Int(r.context as i64))?;
        if r.name.is_empty() {
            return Err(ScenarioError::new(file, "a region needs a name").key(format!("regions[{i}].name")));
        }
        if s.regions[..i].iter().any(|o| o.name == r.name) {
            return Err(ScenarioError::new(file, format!("a second region named \"{}\"", r.name))
                .key(format!("regions[{i}].name"))
                .help("region names must be unique"));
        }
    }
    Ok(())
}

fn events(s: &Scenario, file: &str) -> Result<(), ScenarioError> {
    let zones = s.total_zones();
    let mut probe = Scenario { regions: Vec::new(), events: Vec::new(), ..s.clone() };
    for (i, e) in s.events.iter().enumerate() {
        let err = |key: &str, m: String| ScenarioError::new(file, m).key(format!("events[{i}].{key}"));
        // As in a file. A run shortened in code (`--set run.ticks=...`) past its events is
        // refused rather than run without them.
        if e.tick > s.run.ticks {
            return Err(err(
                "tick",
                format!("the event falls at tick {}, after the last tick {}", e.tick, s.run.ticks),
            )
            .help("raise run.ticks, or remove or move the event"));
        }
        if i > 0 && s.events[i - 1].tick > e.tick {
            return Err(err(
                "tick",
                format!("tick {} is before the previous event's {}", e.tick, s.events[i - 1].tick),
            )
            .help("events are applied in the order given: sort them by tick"));
        }
        let region = |r: usize| match r < s.regions.len() {
            true => Ok(()),
            false => Err(err("region", format!("region index {r}, but there are {} regions", s.regions.len()))),
        };
        let target = |t: &Target| match t {
            Target::Region(r) => region(*r),
            Target::Zones(ids) => match ids.iter().find(|&&z| z as u64 >= zones) {
                Some(z) => Err(err("zones", format!("zone {z}, but the scenario has {zones} zones (ids from 0)"))),
                None => Ok(()),
            },
        };
        match &e.action {
            Action::AddZones { region: r, count, capacity, .. } => {
                region(*r)?;
                if *count == 0 {
                    return Err(err("count", "add_zones brings at least one zone".to_string()));
                }
                if let Some(c) = capacity {
                    region_field::<f64>(file, i, "initial_capacity", super::Value::Float(*c))
                        .map_err(|e| err("capacity", e.message))?;
                }
            }
            Action::SetLevel { target: t, .. } | Action::SetPilot { target: t, .. } => target(t)?,
            Action::Set { parameter, value } => {
                if !parameter.settable {
                    return Err(err("parameter", format!("`{}` cannot be changed during a run", parameter.path())));
                }
                probe.set(parameter, value).map_err(|m| err("value", m))?;
            }
        }
    }
    Ok(())
}
