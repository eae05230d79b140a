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
    /// Unique name, used by events (`region = "..."`) and in regions.csv (default `region-<index>`).
    pub name: String,
    /// Zones of the region at tick 0 (default 100); events may add more later.
    pub zones: u32,
    /// Capacity each of its zones has when it enters (default 1.0).
    pub initial_capacity: f64,
    /// Landscape context: regions with the same context share a landscape (default: the region's index).
    pub context: u32,
    /// Administrative level of its zones at entry (default national; demonstration zones are permanent pilots).
    pub level: Level,
}

/// A scheduled change, applied at the start of its tick.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// Tick at which it applies, before zones act (a `year` in the file is converted to its first tick).
    pub tick: u32,
    /// What happens then.
    pub action: Action,
}

/// Which zones an event targets.
#[derive(Clone, Debug, PartialEq)]
pub enum Target {
    /// These zone ids (numbered region by region, then in order of entry).
    Zones(Vec<u32>),
    /// Every zone active then in the region at this index of [`Scenario::regions`].
    Region(usize),
}

/// What an event does (the `action` key of an `[[events]]` entry).
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// `add_zones`: new zones enter a region.
    AddZones {
        /// Index in [`Scenario::regions`] of the region they join.
        region: usize,
        /// How many zones enter (at least 1).
        count: u32,
        /// Their level; None: the region's.
        level: Option<Level>,
        /// Their capacity; None: the region's `initial_capacity`.
        capacity: Option<f64>,
    },
    /// `set_level`: zones change administrative level (entering or leaving demonstration starts or ends pilot status).
    SetLevel {
        /// The zones it applies to.
        target: Target,
        /// Their new level.
        level: Level,
    },
    /// `set_pilot`: zones are made pilots or stop being pilots.
    SetPilot {
        /// The zones it applies to.
        target: Target,
        /// Their new pilot status.
        pilot: bool,
    },
    /// `set`: a settable parameter takes a new value for the rest of the run.
    Set {
        /// The parameter (one with `settable`; see [`spec`] to find one by its dotted path).
        parameter: &'static ParamSpec,
        /// Its new value, in the parameter's domain.
        value: Value,
    },
}

/// A whole, validated scenario.
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    /// `[run]`: ticks, calendar, replications and seed.
    pub run: RunParams,
    /// `[landscape]`: what a policy is worth (NK or target landscape).
    pub landscape: LandscapeParams,
    /// `[centre]`: the central planner's reviews, tolerance, sanctions, feedback and pilots.
    pub centre: CentreParams,
    /// `[zones]`: how zones start, imitate, experiment and comply.
    pub zones: ZoneParams,
    /// `[network]`: who observes whom.
    pub network: NetworkParams,
    /// `[firms]`: firms inside zones, off unless enabled.
    pub firms: FirmParams,
    pub(crate) output: OutputParams,
    /// `[[regions]]`, in file order (zones are numbered region by region); without any, the baseline's four.
    pub regions: Vec<Region>,
    /// `[[events]]`, in tick order (validation requires it) and, within a tick, in the order they apply.
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
