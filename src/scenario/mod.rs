//! Scenario files: the schema, parsing with spans, validation with errors that name the
//! file, line, column and key, and the fully resolved form written beside every run.
//!
//! Architecture invariant: this module knows the model only through the parameters it
//! produces; it never builds model state.

mod check;
pub(crate) mod params;
mod parse;
pub mod resolve;
mod size;
mod validate;

use std::path::Path;

use toml::de::DeTable;

pub use crate::input::ScenarioError;
pub use crate::input::suggest;

pub use params::*;
use parse::Parser;
pub use size::{NK_TABLE_BUDGET, REPLICATION_BUDGET};

/// The embedded default scenario: the baseline ESH scenario (identical to `scenarios/baseline.toml`).
pub const BASELINE: &str = include_str!("../../scenarios/baseline.toml");

/// A region of zones sharing a landscape context.
#[derive(Clone, Debug, PartialEq)]
pub struct Region {
    pub name: String,
    pub zones: u32,
    pub initial_capacity: f64,
    pub context: u32,
    pub level: Level,
}

/// A scheduled change, applied at the start of its tick.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub tick: u32,
    pub action: Action,
}

/// Which zones an event targets.
#[derive(Clone, Debug, PartialEq)]
pub enum Target {
    Zones(Vec<u32>),
    Region(usize),
}

#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    AddZones { region: usize, count: u32, level: Option<Level>, capacity: Option<f64> },
    SetLevel { target: Target, level: Level },
    SetPilot { target: Target, pilot: bool },
    Set { parameter: &'static ParamSpec, value: Value },
}

/// A whole, validated scenario.
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    pub run: RunParams,
    pub landscape: LandscapeParams,
    pub centre: CentreParams,
    pub zones: ZoneParams,
    pub network: NetworkParams,
    pub firms: FirmParams,
    pub(crate) output: OutputParams,
    pub regions: Vec<Region>,
    pub events: Vec<Event>,
}

impl Default for Scenario {
    fn default() -> Self {
        Scenario {
            run: RunParams::default(),
            landscape: LandscapeParams::default(),
            centre: CentreParams::default(),
            zones: ZoneParams::default(),
            network: NetworkParams::default(),
            firms: FirmParams::default(),
            output: OutputParams::default(),
            regions: baseline_regions(),
            events: Vec::new(),
        }
    }
}

/// The regions of a scenario that gives none: the baseline's four Torch regions (seed
/// 001), so that every default, regions included, is the baseline ESH scenario's.
pub(crate) fn baseline_regions() -> Vec<Region> {
    [("Eastern", 90), ("Central", 50), ("Western", 40), ("Northeastern", 20)]
        .iter()
        .enumerate()
        .map(|(i, &(name, zones))| Region { name: name.to_string(), zones, ..default_region(i) })
        .collect()
}

/// A `[[regions]]` entry's defaults (entry i).
fn default_region(i: usize) -> Region {
    Region { name: format!("region-{i}"), zones: 100, initial_capacity: 1.0, context: i as u32, level: Level::National }
}

impl Scenario {
    /// Reads and validates a scenario file.
    pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| ScenarioError::new(&name, format!("cannot read the scenario file: {e}")))?;
        Scenario::parse(&text, &name)
    }

    /// Parses and validates scenario text; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Scenario, ScenarioError> {
        Parser::new(text, file).scenario()
    }

    /// Reads a scenario from a table inside another TOML document (a sweep file's inline
    /// `[scenario]`); `text` is that whole document, so errors point into it.
    pub(crate) fn from_table(table: &DeTable<'_>, text: &str, file: &str) -> Result<Scenario, ScenarioError> {
        Parser::new(text, file).read_root(table)
    }

    /// Checks a scenario built in code (a library user's, a sweep's design point) against
    /// every rule a scenario file must satisfy: each value in its parameter's range, regions
    /// and events that exist and are in tick order, and the rules between keys (K < N, ...).
    /// `file` names it in errors. [`crate::engine::run_replication`] calls it.
    pub fn validate(&self, file: &str) -> Result<(), ScenarioError> {
        check::fields(self, file)?;
        Parser::new("", file).validate(self)
    }

    /// Sets one plain parameter from text, as a command-line `--set key=value` gives it,
    /// with the checks of a scenario file: the key must exist (the nearest is suggested), the
    /// value is read as TOML (`0.5`, `true`, `"ring"`; a bare word is taken as a string for a
    /// parameter that takes one, `ring`) and must be in the parameter's range, and the
    /// scenario with the change must still be valid. `source` names the change in errors
    /// (e.g. "--set"). On error the scenario is left unchanged.
    pub fn set_from_str(&mut self, source: &str, key: &str, text: &str) -> Result<(), ScenarioError> {
        let Some(spec) = spec(key) else {
            let mut e = ScenarioError::new(source, format!("no parameter `{key}`")).key(key);
            let paths: Vec<String> = all_specs().map(|s| s.path()).collect();
            e = match suggest::nearest(key, paths.iter().map(|p| p.as_str())) {
                Some(n) => e.help(format!("did you mean `{n}`? `esh params` lists them")),
                None => e.help("`esh params` lists the parameters (section.key, e.g. centre.tolerance)"),
            };
            return Err(e);
        };
        let line = format!("v = {text}");
        let value = match DeTable::parse(&line) {
            Ok(t) => match t.get_ref().get("v") {
                Some(v) => Parser::new(&line, source).value(v, key).map_err(|mut e| {
                    e.at = None;
                    e
                })?,
                None => return Err(ScenarioError::new(source, "expected key=value").key(key)),
            },
            Err(_) if matches!(spec.domain, Domain::Choice(_) | Domain::Text) => Value::Str(text.to_string()),
            Err(_) => {
                return Err(
                    ScenarioError::new(source, format!("`{text}` is not a value: expected {}", spec.domain)).key(key)
                );
            }
        };
        let mut changed = self.clone();
        changed.set(spec, &value).map_err(|m| ScenarioError::new(source, m).key(key))?;
        changed.validate(source)?;
        *self = changed;
        Ok(())
    }

    /// Zones that ever exist: those of the regions plus those added by events.
    pub fn total_zones(&self) -> u64 {
        let added: u64 = self
            .events
            .iter()
            .map(|e| match e.action {
                Action::AddZones { count, .. } => count as u64,
                _ => 0,
            })
            .sum();
        self.regions.iter().map(|r| r.zones as u64).sum::<u64>() + added
    }

    /// The calendar year of a tick.
    pub(crate) fn year(&self, tick: u32) -> u32 {
        self.run.start_year + tick / self.run.ticks_per_year
    }

    /// Landscape contexts in use (the largest region context + 1).
    pub(crate) fn contexts(&self) -> usize {
        self.regions.iter().map(|r| r.context as usize + 1).max().unwrap_or(1)
    }

    /// For each landscape context below `contexts()`, whether a region (and so a zone) is in it.
    pub(crate) fn used_contexts(&self) -> Vec<bool> {
        let mut used = vec![false; self.contexts()];
        for r in &self.regions {
            used[r.context as usize] = true;
        }
        used
    }

    /// The current value of a plain parameter.
    pub(crate) fn get(&self, spec: &ParamSpec) -> Option<Value> {
        spec.access.map(|a| (a.get)(self))
    }

    /// Applies a `set` value to the parameter it names.
    pub fn set(&mut self, spec: &ParamSpec, v: &Value) -> Result<(), String> {
        match spec.access {
            Some(a) => (a.set)(self, v),
            None => Err(format!("`{}` is not a plain parameter", spec.path())),
        }
    }
}
