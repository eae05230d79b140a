//! Scenario files: the schema, parsing with spans, validation with errors that name the
//! file, line, column and key, and the fully resolved form written beside every run.
//!
//! Architecture invariant: this module knows the model only through the parameters it
//! produces; it never builds model state.

pub mod error;
pub mod params;
pub mod resolve;
pub mod suggest;

use std::collections::HashMap;
use std::path::Path;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

pub use error::ScenarioError;
pub use params::*;

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
    pub output: OutputParams,
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
            regions: vec![default_region(0)],
            events: Vec::new(),
        }
    }
}

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
        Parser { text, file, spans: HashMap::new(), added_zones: 0 }.scenario()
    }

    /// Reads a scenario from a table inside another TOML document (a sweep file's inline
    /// `[scenario]`); `text` is that whole document, so errors point into it.
    pub fn from_table(table: &DeTable<'_>, text: &str, file: &str) -> Result<Scenario, ScenarioError> {
        Parser { text, file, spans: HashMap::new(), added_zones: 0 }.read_root(table)
    }

    /// Checks a scenario built in code (a sweep's design point) against every rule a
    /// scenario file must satisfy; `file` names it in errors.
    pub fn validate(&self, file: &str) -> Result<(), ScenarioError> {
        Parser { text: "", file, spans: HashMap::new(), added_zones: 0 }.validate(self)
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
    pub fn year(&self, tick: u32) -> u32 {
        self.run.start_year + tick / self.run.ticks_per_year
    }

    /// Landscape contexts in use (the largest region context + 1).
    pub fn contexts(&self) -> usize {
        self.regions.iter().map(|r| r.context as usize + 1).max().unwrap_or(1)
    }

    /// The current value of a plain parameter.
    pub fn get(&self, spec: &ParamSpec) -> Option<Value> {
        match spec.section {
            "run" => self.run.get(spec.key),
            "landscape" => self.landscape.get(spec.key),
            "centre" => self.centre.get(spec.key),
            "zones" => self.zones.get(spec.key),
            "network" => self.network.get(spec.key),
            "firms" => self.firms.get(spec.key),
            "output" => self.output.get(spec.key),
            _ => None,
        }
    }

    /// Applies a `set` value to the parameter it names.
    pub fn set(&mut self, spec: &ParamSpec, v: &Value) -> Result<(), String> {
        match spec.section {
            "run" => self.run.set(spec.key, v),
            "landscape" => self.landscape.set(spec.key, v),
            "centre" => self.centre.set(spec.key, v),
            "zones" => self.zones.set(spec.key, v),
            "network" => self.network.set(spec.key, v),
            "firms" => self.firms.set(spec.key, v),
            "output" => self.output.set(spec.key, v),
            other => Err(format!("no section `{other}`")),
        }
    }
}

const SECTIONS: &[&str] = &["run", "landscape", "centre", "zones", "network", "firms", "output", "regions", "events"];

struct Parser<'a> {
    text: &'a str,
    file: &'a str,
    /// Where each key was written, for errors found after parsing.
    spans: HashMap<String, (usize, usize)>,
    /// Zones brought in by add_zones events (for checking zone ids in other events).
    added_zones: u64,
}

type Table<'i> = DeTable<'i>;

impl<'a> Parser<'a> {
    fn err(&self, span: std::ops::Range<usize>, key: &str, message: impl Into<String>) -> ScenarioError {
        ScenarioError::new(self.file, message).at(Some(error::line_col(self.text, span.start))).key(key)
    }

    fn err_at(&self, key: &str, message: impl Into<String>) -> ScenarioError {
        let at = self.spans.get(key).copied();
        ScenarioError::new(self.file, message).at(at).key(key)
    }

    fn scenario(self) -> Result<Scenario, ScenarioError> {
        let root = DeTable::parse(self.text).map_err(|e| {
            let at = e.span().map(|s| error::line_col(self.text, s.start));
            ScenarioError::new(self.file, format!("invalid TOML: {}", e.message().trim())).at(at)
        })?;
        self.read_root(root.get_ref())
    }

    fn read_root(mut self, root: &Table<'_>) -> Result<Scenario, ScenarioError> {
        let mut s = Scenario { regions: Vec::new(), ..Scenario::default() };
        let mut region_entries = None;
        let mut event_entries = None;
        for (k, v) in root.iter() {
            let key = k.get_ref().as_ref();
            match key {
                "run" => self.section(&mut s.run, v)?,
                "landscape" => self.section(&mut s.landscape, v)?,
                "centre" => self.section(&mut s.centre, v)?,
                "zones" => self.section(&mut s.zones, v)?,
                "network" => self.section(&mut s.network, v)?,
                "firms" => self.section(&mut s.firms, v)?,
                "output" => self.section(&mut s.output, v)?,
                "regions" => region_entries = Some(v),
                "events" => event_entries = Some(v),
                other => return Err(self.unknown_top(other, k.span())),
            }
        }
        if let Some(v) = region_entries {
            s.regions = self.regions(v)?;
        } else {
            s.regions = vec![default_region(0)];
        }
        if let Some(v) = event_entries {
            s.events = self.events(v, &s)?;
        }
        self.validate(&s)?;
        Ok(s)
    }

    fn unknown_top(&self, key: &str, span: std::ops::Range<usize>) -> ScenarioError {
        let mut e = self.err(span, key, "unknown section or key at the top level");
        if let Some(near) = suggest::nearest(key, SECTIONS.iter().copied()) {
            e = e.help(format!("did you mean `[{near}]`?"));
        } else if let Some(spec) = all_specs().find(|s| s.key == key) {
            e = e.help(format!("`{key}` belongs in the [{}] section", spec.section));
        } else {
            e = e.help(format!("the sections are {}", SECTIONS.join(", ")));
        }
        e
    }

    fn table<'t, 'i>(&self, v: &'t Spanned<DeValue<'i>>, what: &str) -> Result<&'t Table<'i>, ScenarioError> {
        v.get_ref()
            .as_table()
            .ok_or_else(|| self.err(v.span(), what, format!("expected a table, found {}", v.get_ref().type_str())))
    }

    fn section<S: Section>(&mut self, target: &mut S, v: &Spanned<DeValue<'_>>) -> Result<(), ScenarioError> {
        let table = self.table(v, S::NAME)?;
        for (k, val) in table.iter() {
            let key = k.get_ref().as_ref();
            let path = format!("{}.{key}", S::NAME);
            let Some(spec) = S::SPECS.iter().find(|s| s.key == key) else {
                return Err(self.unknown_key(S::NAME, key, S::SPECS, k.span()));
            };
            let value = self.value(val, &path)?;
            target.set(spec.key, &value).map_err(|m| self.err(val.span(), &path, m))?;
            self.spans.insert(path, error::line_col(self.text, k.span().start));
        }
        Ok(())
    }

    fn unknown_key(
        &self,
        section: &str,
        key: &str,
        specs: &[ParamSpec],
        span: std::ops::Range<usize>,
    ) -> ScenarioError {
        let path = format!("{section}.{key}");
        let mut e = self.err(span, &path, format!("unknown key in [{section}]"));
        if let Some(near) = suggest::nearest(key, specs.iter().map(|s| s.key)) {
            e = e.help(format!("did you mean `{near}`?"));
        } else if let Some(other) = all_specs().find(|s| s.key == key) {
            e = e.help(format!("`{key}` belongs in the [{}] section", other.section));
        } else {
            let keys: Vec<&str> = specs.iter().map(|s| s.key).collect();
            e = e.help(format!("the keys of [{section}] are {}", keys.join(", ")));
        }
        e
    }

    fn value(&self, v: &Spanned<DeValue<'_>>, path: &str) -> Result<Value, ScenarioError> {
        let bad = |what: &str| self.err(v.span(), path, format!("{what} is not allowed here"));
        Ok(match v.get_ref() {
            DeValue::String(s) => Value::Str(s.to_string()),
            DeValue::Boolean(b) => Value::Bool(*b),
            DeValue::Integer(i) => {
                let digits = i.as_str().replace('_', "");
                let n = i64::from_str_radix(&digits, i.radix())
                    .map_err(|_| self.err(v.span(), path, format!("integer {i} does not fit in 64 bits")))?;
                Value::Int(n)
            }
            DeValue::Float(f) => {
                let x: f64 = f.as_str().replace('_', "").parse().map_err(|_| bad("this float"))?;
                Value::Float(x)
            }
            DeValue::Datetime(_) => return Err(bad("a date-time")),
            DeValue::Array(_) => return Err(bad("an array")),
            DeValue::Table(_) => return Err(bad("a table")),
        })
    }

    fn array<'t, 'i>(
        &self,
        v: &'t Spanned<DeValue<'i>>,
        name: &str,
    ) -> Result<Vec<(&'t Table<'i>, std::ops::Range<usize>)>, ScenarioError> {
        let arr = v.get_ref().as_array().ok_or_else(|| {
            self.err(
                v.span(),
                name,
                format!("expected an array of tables ([[{name}]]), found {}", v.get_ref().type_str()),
            )
        })?;
        arr.iter().map(|item| self.table(item, name).map(|t| (t, item.span()))).collect()
    }

    /// Reads one key of an array entry, checked against its spec.
    fn entry_value(
        &mut self,
        table: &Table<'_>,
        key: &str,
        path: &str,
        specs: &[ParamSpec],
    ) -> Result<Option<Value>, ScenarioError> {
        let Some((k, v)) = table.get_key_value(key) else {
            return Ok(None);
        };
        let spec = specs.iter().find(|s| s.key == key).expect("key in spec list");
        let value = self.value(v, path)?;
        let ok = match (&spec.domain, &value) {
            (Domain::Text, Value::Str(_)) | (Domain::Bool, Value::Bool(_)) => true,
            (Domain::Int { min, max }, Value::Int(i)) => (min..=max).contains(&i),
            (Domain::Float { min, max }, Value::Float(x)) => x.is_finite() && x >= min && x <= max,
            (Domain::Float { min, max }, Value::Int(i)) => (*i as f64) >= *min && (*i as f64) <= *max,
            (Domain::Choice(names), Value::Str(s)) => names.contains(&s.as_str()),
            _ => false,
        };
        if !ok {
            let mut e = self.err(v.span(), path, format!("expected {}, found {value}", spec.domain));
            if let (Domain::Choice(names), Value::Str(s)) = (&spec.domain, &value)
                && let Some(n) = suggest::nearest(s, names.iter().copied())
            {
                e = e.help(format!("did you mean \"{n}\"?"));
            }
            return Err(e);
        }
        self.spans.insert(path.to_string(), error::line_col(self.text, k.span().start));
        Ok(Some(value))
    }

    fn check_keys(
        &self,
        table: &Table<'_>,
        section: &str,
        index: usize,
        specs: &[ParamSpec],
    ) -> Result<(), ScenarioError> {
        for (k, _) in table.iter() {
            let key = k.get_ref().as_ref();
            if !specs.iter().any(|s| s.key == key) {
                let mut e = self.unknown_key(section, key, specs, k.span());
                e.key = Some(format!("{section}[{index}].{key}"));
                return Err(e);
            }
        }
        Ok(())
    }

    fn regions(&mut self, v: &Spanned<DeValue<'_>>) -> Result<Vec<Region>, ScenarioError> {
        let entries = self.array(v, "regions")?;
        let mut regions = Vec::new();
        for (i, (t, span)) in entries.into_iter().enumerate() {
            self.check_keys(t, "regions", i, REGION_SPECS)?;
            let p = |k: &str| format!("regions[{i}].{k}");
            self.spans.insert(format!("regions[{i}]"), error::line_col(self.text, span.start));
            let mut r = default_region(i);
            if let Some(Value::Str(s)) = self.entry_value(t, "name", &p("name"), REGION_SPECS)? {
                r.name = s;
            }
            if let Some(Value::Int(n)) = self.entry_value(t, "zones", &p("zones"), REGION_SPECS)? {
                r.zones = n as u32;
            }
            match self.entry_value(t, "initial_capacity", &p("initial_capacity"), REGION_SPECS)? {
                Some(Value::Int(n)) => r.initial_capacity = n as f64,
                Some(Value::Float(x)) => r.initial_capacity = x,
                _ => {}
            }
            if let Some(Value::Int(n)) = self.entry_value(t, "context", &p("context"), REGION_SPECS)? {
                r.context = n as u32;
            }
            if let Some(Value::Str(s)) = self.entry_value(t, "level", &p("level"), REGION_SPECS)? {
                r.level = Level::from_index(Level::NAMES.iter().position(|n| *n == s).expect("checked"));
            }
            if regions.iter().any(|o: &Region| o.name == r.name) {
                return Err(self
                    .err_at(&p("name"), format!("region name \"{}\" is used twice", r.name))
                    .help("region names must be unique"));
            }
            regions.push(r);
        }
        if regions.is_empty() {
            return Err(self.err(v.span(), "regions", "at least one [[regions]] entry is needed"));
        }
        Ok(regions)
    }

    fn events(&mut self, v: &Spanned<DeValue<'_>>, s: &Scenario) -> Result<Vec<Event>, ScenarioError> {
        let entries = self.array(v, "events")?;
        // Zone ids run over the zones of every add_zones event too, so count them first.
        self.added_zones = entries
            .iter()
            .filter(|(t, _)| t.get("action").and_then(|a| a.get_ref().as_str()) == Some("add_zones"))
            .filter_map(|(t, _)| {
                t.get("count").and_then(|c| c.get_ref().as_integer()).map(|c| c.as_str().replace('_', ""))
            })
            .filter_map(|c| c.parse::<u64>().ok())
            .sum();
        let mut events = Vec::new();
        for (i, (t, span)) in entries.into_iter().enumerate() {
            self.check_keys(t, "events", i, EVENT_SPECS)?;
            let here = format!("events[{i}]");
            self.spans.insert(here.clone(), error::line_col(self.text, span.start));
            let p = |k: &str| format!("events[{i}].{k}");
            let tick = self.event_tick(t, i, s)?;
            let action = match self.entry_value(t, "action", &p("action"), EVENT_SPECS)? {
                Some(Value::Str(a)) => a,
                _ => {
                    return Err(self
                        .err_at(&here, "an event needs `action`")
                        .help("one of \"add_zones\", \"set_level\", \"set_pilot\", \"set\""));
                }
            };
            let allowed: &[&str] = match action.as_str() {
                "add_zones" => &["tick", "year", "action", "region", "count", "level", "capacity"],
                "set_level" => &["tick", "year", "action", "region", "zones", "level"],
                "set_pilot" => &["tick", "year", "action", "region", "zones", "pilot"],
                _ => &["tick", "year", "action", "parameter", "value"],
            };
            for (k, _) in t.iter() {
                let key = k.get_ref().as_ref();
                if !allowed.contains(&key) {
                    return Err(self
                        .err(k.span(), &p(key), format!("`{key}` does not apply to a \"{action}\" event"))
                        .help(format!("a \"{action}\" event takes {}", allowed.join(", "))));
                }
            }
            let action = match action.as_str() {
                "add_zones" => {
                    let region = self
                        .region_ref(t, &p("region"), s)?
                        .ok_or_else(|| self.err_at(&here, "add_zones needs `region`"))?;
                    let count = match self.entry_value(t, "count", &p("count"), EVENT_SPECS)? {
                        Some(Value::Int(n)) => n as u32,
                        _ => {
                            return Err(self.err_at(&here, "add_zones needs `count`, a positive integer"));
                        }
                    };
                    let level = self.level(t, &p("level"))?;
                    let capacity = match self.entry_value(t, "capacity", &p("capacity"), EVENT_SPECS)? {
                        Some(Value::Int(n)) => Some(n as f64),
                        Some(Value::Float(x)) => Some(x),
                        _ => None,
                    };
                    Action::AddZones { region, count, level, capacity }
                }
                "set_level" => {
                    let target = self.target(t, i, s)?;
                    let level =
                        self.level(t, &p("level"))?.ok_or_else(|| self.err_at(&here, "set_level needs `level`"))?;
                    Action::SetLevel { target, level }
                }
                "set_pilot" => {
                    let target = self.target(t, i, s)?;
                    let pilot = match self.entry_value(t, "pilot", &p("pilot"), EVENT_SPECS)? {
                        Some(Value::Bool(b)) => b,
                        _ => {
                            return Err(self.err_at(&here, "set_pilot needs `pilot = true` or `pilot = false`"));
                        }
                    };
                    Action::SetPilot { target, pilot }
                }
                _ => self.set_action(t, i)?,
            };
            events.push(Event { tick, action });
        }
        // Stable order by tick: events of one tick apply in file order.
        events.sort_by_key(|e| e.tick);
        Ok(events)
    }

    fn event_tick(&mut self, t: &Table<'_>, i: usize, s: &Scenario) -> Result<u32, ScenarioError> {
        let p = |k: &str| format!("events[{i}].{k}");
        let here = format!("events[{i}]");
        let tick = match (t.get("tick"), t.get("year")) {
            (Some(_), Some(_)) => return Err(self.err_at(&here, "give `tick` or `year`, not both")),
            (None, None) => return Err(self.err_at(&here, "an event needs `tick` or `year`")),
            (Some(v), None) => match self.value(v, &p("tick"))? {
                Value::Int(n) if n < 0 => {
                    return Err(self.err(v.span(), &p("tick"), format!("tick {n} is before tick 0")));
                }
                _ => match self.entry_value(t, "tick", &p("tick"), EVENT_SPECS)? {
                    Some(Value::Int(n)) => n,
                    _ => unreachable!(),
                },
            },
            (None, Some(v)) => {
                let year = match self.value(v, &p("year"))? {
                    Value::Int(y) => y,
                    other => {
                        return Err(self.err(v.span(), &p("year"), format!("expected an integer year, found {other}")));
                    }
                };
                let start = s.run.start_year as i64;
                if year < start {
                    return Err(self
                        .err(v.span(), &p("year"), format!("year {year} is before the start year {start} (tick 0)"))
                        .help("events must fall at tick 0 or later"));
                }
                self.spans.insert(p("year"), error::line_col(self.text, v.span().start));
                (year - start) * s.run.ticks_per_year as i64
            }
        };
        if tick > s.run.ticks as i64 {
            let key = if t.contains_key("year") { p("year") } else { p("tick") };
            return Err(self
                .err_at(&key, format!("the event falls at tick {tick}, after the last tick {}", s.run.ticks))
                .help("raise run.ticks or move the event"));
        }
        Ok(tick as u32)
    }

    fn region_ref(&mut self, t: &Table<'_>, path: &str, s: &Scenario) -> Result<Option<usize>, ScenarioError> {
        match self.entry_value(t, "region", path, EVENT_SPECS)? {
            Some(Value::Str(name)) => match s.regions.iter().position(|r| r.name == name) {
                Some(i) => Ok(Some(i)),
                None => {
                    let mut e = self.err_at(path, format!("no region named \"{name}\""));
                    let names: Vec<&str> = s.regions.iter().map(|r| r.name.as_str()).collect();
                    e = match suggest::nearest(&name, names.iter().copied()) {
                        Some(n) => e.help(format!("did you mean \"{n}\"?")),
                        None => e.help(format!("the regions are {}", names.join(", "))),
                    };
                    Err(e)
                }
            },
            _ => Ok(None),
        }
    }

    fn level(&mut self, t: &Table<'_>, path: &str) -> Result<Option<Level>, ScenarioError> {
        Ok(match self.entry_value(t, "level", path, EVENT_SPECS)? {
            Some(Value::Str(s)) => Some(Level::from_index(Level::NAMES.iter().position(|n| *n == s).expect("checked"))),
            _ => None,
        })
    }

    fn target(&mut self, t: &Table<'_>, i: usize, s: &Scenario) -> Result<Target, ScenarioError> {
        let p = |k: &str| format!("events[{i}].{k}");
        let region = self.region_ref(t, &p("region"), s)?;
        match (region, t.get_key_value("zones")) {
            (Some(_), Some(_)) => Err(self.err_at(&format!("events[{i}]"), "give `zones` or `region`, not both")),
            (Some(r), None) => Ok(Target::Region(r)),
            (None, None) => {
                Err(self.err_at(&format!("events[{i}]"), "this event needs `zones = [ids]` or `region = \"name\"`"))
            }
            (None, Some((k, v))) => {
                let path = p("zones");
                self.spans.insert(path.clone(), error::line_col(self.text, k.span().start));
                let arr = v
                    .get_ref()
                    .as_array()
                    .ok_or_else(|| self.err(v.span(), &path, "expected a list of zone ids, e.g. [0, 4, 17]"))?;
                let total = s.total_zones() + self.added_zones;
                let mut ids = Vec::new();
                for item in arr.iter() {
                    match self.value(item, &path)? {
                        Value::Int(id) if id >= 0 && (id as u64) < total => ids.push(id as u32),
                        other => {
                            return Err(self.err(
                                item.span(),
                                &path,
                                format!("expected a zone id in [0, {}], found {other}", total.saturating_sub(1)),
                            ));
                        }
                    }
                }
                Ok(Target::Zones(ids))
            }
        }
    }

    fn set_action(&mut self, t: &Table<'_>, i: usize) -> Result<Action, ScenarioError> {
        let p = |k: &str| format!("events[{i}].{k}");
        let here = format!("events[{i}]");
        let Some((pk, pv)) = t.get_key_value("parameter") else {
            return Err(self.err_at(&here, "a \"set\" event needs `parameter` and `value`"));
        };
        let path = match pv.get_ref().as_str() {
            Some(s) => s.to_string(),
            None => {
                return Err(self.err(
                    pv.span(),
                    &p("parameter"),
                    "expected a parameter path such as \"centre.tolerance\"",
                ));
            }
        };
        self.spans.insert(p("parameter"), error::line_col(self.text, pk.span().start));
        let Some(spec) = spec(&path) else {
            let paths: Vec<String> = all_specs().filter(|s| s.settable).map(|s| s.path()).collect();
            let mut e = self.err(pv.span(), &p("parameter"), format!("no parameter \"{path}\""));
            if let Some(n) = suggest::nearest(&path, paths.iter().map(|s| s.as_str())) {
                e = e.help(format!("did you mean \"{n}\"?"));
            }
            return Err(e);
        };
        if !spec.settable {
            let paths: Vec<String> = all_specs().filter(|s| s.settable).map(|s| s.path()).collect();
            return Err(self
                .err(pv.span(), &p("parameter"), format!("\"{path}\" cannot change during a run"))
                .help(format!("events may set {}", paths.join(", "))));
        }
        let Some(v) = t.get("value") else {
            return Err(self.err_at(&here, "a \"set\" event needs `value`"));
        };
        let value = self.value(v, &p("value"))?;
        // Check the value by applying it to a scratch scenario.
        let mut scratch = Scenario::default();
        scratch.set(spec, &value).map_err(|m| self.err(v.span(), &p("value"), format!("{path}: {m}")))?;
        Ok(Action::Set { parameter: spec, value })
    }

    /// Whether the between-region edges outnumber the within-region ones.
    fn regional_between_dominates(&self, s: &Scenario) -> bool {
        let pairs = |m: f64| m * (m - 1.0).max(0.0) / 2.0;
        let within: f64 = s.regions.iter().map(|r| pairs(r.zones as f64)).sum();
        let between = pairs(s.total_zones() as f64) - within;
        s.network.p_between * between > s.network.p_within * within
    }

    /// The firm module's combinations: a focal zone that exists, weights that can be drawn.
    fn validate_firms(&self, s: &Scenario) -> Result<(), ScenarioError> {
        let f = &s.firms;
        if !f.enabled {
            return Ok(());
        }
        let total = s.total_zones();
        if f.focal_zone as u64 >= total {
            return Err(self
                .err_at(
                    "firms.focal_zone",
                    format!(
                        "zone {} does not exist{}: the scenario has {total} zones",
                        f.focal_zone,
                        self.default_note("firms.focal_zone")
                    ),
                )
                .help("zones are numbered from 0, region by region, then in order of entry"));
        }
        let zero = |f: &FirmParams| -> Option<(&'static str, &'static str)> {
            if f.ownership_weights().iter().sum::<f64>() <= 0.0 {
                Some(("firms.ownership_private", "ownership"))
            } else if f.financing_weights().iter().sum::<f64>() <= 0.0 {
                Some(("firms.financing_loans", "financing"))
            } else {
                None
            }
        };
        if let Some((key, what)) = zero(f) {
            return Err(self
                .err_at(key, format!("the {what} weights are all 0"))
                .help(format!("give at least one {what} category a positive weight")));
        }
        // `set` events may change the weights during the run: replay them in the order they
        // apply and check the weights after each tick's events.
        let mut now = f.clone();
        for (i, e) in s.events.iter().enumerate() {
            if let Action::Set { parameter, value } = &e.action
                && parameter.section == "firms"
            {
                now.set(parameter.key, value).expect("checked when the event was read");
            }
            let tick_done = s.events.get(i + 1).is_none_or(|next| next.tick != e.tick);
            if let (true, Some((_, what))) = (tick_done, zero(&now)) {
                return Err(ScenarioError::new(
                    self.file,
                    format!(
                        "after the `set` events of tick {} (year {}), the {what} weights of [firms] are all 0",
                        e.tick,
                        s.year(e.tick)
                    ),
                )
                .key("events")
                .help(format!("keep at least one {what} category's weight positive: newborn firms draw from them")));
            }
        }
        Ok(())
    }

    /// " (the default)" when the user did not write the key.
    fn default_note(&self, key: &str) -> &'static str {
        if self.text.is_empty() || self.spans.contains_key(key) { "" } else { " (the default)" }
    }

    /// Rejects scenarios whose network or state would not fit: the network's edge list
    /// is indexed with 32 bits, and a scenario that needs tens of GiB is almost always a
    /// mistake (a dense default network over very many zones).
    fn check_size(&self, s: &Scenario) -> Result<(), ScenarioError> {
        let zones = s.total_zones() as f64;
        let net = &s.network;
        let Size { edges, bytes } = s.size();
        let key = match net.kind {
            NetworkKind::Random => "network.density",
            NetworkKind::Regional if self.regional_between_dominates(s) => "network.p_between",
            NetworkKind::Regional => "network.p_within",
            _ => "network.degree",
        };
        if 2.0 * edges > (u32::MAX / 2) as f64 {
            return Err(self
                .err_at(key, format!("the network would have about {:.2e} edges over {zones} zones; at most about 1e9 are supported", edges))
                .help("lower the edge probability or degree, or use network.kind = \"full\" (kept implicit, no edge list)"));
        }
        const BUDGET: f64 = 32.0 * (1u64 << 30) as f64;
        if bytes > BUDGET {
            return Err(self
                .err_at("regions", format!("one replication would need about {:.0} GiB of memory ({zones} zones, {:.2e} edges)", bytes / (1u64 << 30) as f64, edges))
                .help("the limit is 32 GiB per replication: use fewer zones, a sparser network, or a shorter centre.observation_lag"));
        }
        Ok(())
    }

    /// Impossible combinations: errors that need more than one key to see.
    fn validate(&self, s: &Scenario) -> Result<(), ScenarioError> {
        self.validate_firms(s)?;
        let l = &s.landscape;
        if l.kind == LandscapeKind::Nk && l.k >= l.n {
            return Err(self
                .err_at("landscape.k", format!("K = {} must be less than N = {}", l.k, l.n))
                .help("each instrument interacts with K others, so K <= N - 1"));
        }
        if l.kind == LandscapeKind::Nk {
            let bytes = (s.contexts() as u64) * (l.n as u64) * (4u64 << (l.k + 1));
            if bytes > 4 << 30 {
                return Err(self
                    .err_at(
                        "landscape.k",
                        format!(
                            "the NK tables need {} MiB (N = {}, K = {}, {} contexts)",
                            bytes >> 20,
                            l.n,
                            l.k,
                            s.contexts()
                        ),
                    )
                    .help("lower K or N, or share contexts between regions (regions.context)"));
            }
        }
        if l.normalise && l.kind == LandscapeKind::Nk {
            if l.n > 24 {
                return Err(self.err_at(
                    "landscape.normalise",
                    format!("normalising needs an exhaustive search of 2^N policies; N = {} is above 24", l.n),
                ));
            }
            if l.turbulence > 0.0
                || s.events
                    .iter()
                    .any(|e| matches!(&e.action, Action::Set { parameter, .. } if parameter.key == "turbulence"))
            {
                return Err(self.err_at(
                    "landscape.normalise",
                    "normalising is not possible on a turbulent NK landscape (its maximum moves every tick)",
                ));
            }
        }
        if s.zones.experiment_radius > l.n {
            return Err(self.err_at(
                "zones.experiment_radius",
                format!("experiment_radius = {} is more than N = {}", s.zones.experiment_radius, l.n),
            ));
        }
        let total = s.total_zones();
        if total > MAX_ZONES as u64 {
            return Err(self.err_at("regions", format!("{total} zones in all; at most {MAX_ZONES} are supported")));
        }
        for (i, r) in s.regions.iter().enumerate() {
            let added = s.events.iter().any(|e| matches!(e.action, Action::AddZones { region, .. } if region == i));
            if r.zones == 0 && !added {
                let key = if self.spans.contains_key(&format!("regions[{i}].zones")) {
                    format!("regions[{i}].zones")
                } else {
                    format!("regions[{i}]")
                };
                return Err(self
                    .err_at(&key, format!("region \"{}\" has no zones and no add_zones event brings any", r.name))
                    .help("give it zones, add them with an add_zones event, or remove the region"));
            }
        }
        if s.centre.pilot_quota as u64 > total {
            return Err(self
                .err_at(
                    "centre.pilot_quota",
                    format!(
                        "pilot_quota = {}{} is more than the {total} zones of the scenario",
                        s.centre.pilot_quota,
                        self.default_note("centre.pilot_quota")
                    ),
                )
                .help(format!("set [centre] pilot_quota to at most {total}")));
        }
        if s.centre.showcase_top as u64 > total {
            return Err(self
                .err_at(
                    "centre.showcase_top",
                    format!(
                        "showcase_top = {}{} is more than the {total} zones of the scenario",
                        s.centre.showcase_top,
                        self.default_note("centre.showcase_top")
                    ),
                )
                .help(format!("set [centre] showcase_top to at most {total}")));
        }
        let net = &s.network;
        if matches!(net.kind, NetworkKind::Ring | NetworkKind::SmallWorld) {
            if net.degree % 2 == 1 {
                return Err(self.err_at(
                    "network.degree",
                    format!("degree = {} must be even for a ring or small world", net.degree),
                ));
            }
            if net.degree as u64 >= total {
                return Err(
                    self.err_at("network.degree", format!("degree = {} needs more than {total} zones", net.degree))
                );
            }
        }
        if s.contexts() > 4096 {
            return Err(self
                .err_at("regions", format!("{} landscape contexts; at most 4096 are supported", s.contexts()))
                .help("give regions a shared `context` (regions with the same context share a landscape)"));
        }
        self.check_size(s)?;
        for e in &s.events {
            if let Action::Set { parameter, value } = &e.action
                && parameter.key == "experiment_radius"
                && let Value::Int(r) = value
                && *r as u32 > l.n
            {
                let i = s.events.iter().position(|x| std::ptr::eq(x, e)).unwrap_or(0);
                return Err(self.err_at(
                    &format!("events[{i}].parameter"),
                    format!("the event sets zones.experiment_radius = {r}, more than N = {}", l.n),
                ));
            }
        }
        Ok(())
    }
}

/// What one replication of a scenario needs: its network's edges and, from them, the
/// bytes of its state (zones, edge list, NK tables), an estimate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Size {
    pub edges: f64,
    pub bytes: f64,
}

impl Scenario {
    /// The estimated size of one replication (what `check` limits to 32 GiB, and what a
    /// sweep checks against the memory it may use before it starts a run).
    pub fn size(&self) -> Size {
        let s = self;
        let zones = s.total_zones() as f64;
        let pairs = |m: f64| m * (m - 1.0).max(0.0) / 2.0;
        let net = &s.network;
        let edges = match net.kind {
            NetworkKind::Full | NetworkKind::None => 0.0,
            NetworkKind::Linear => zones,
            NetworkKind::Ring | NetworkKind::SmallWorld => zones * (net.degree / 2) as f64,
            NetworkKind::Random => net.density * pairs(zones),
            NetworkKind::Regional => {
                let mut sizes = vec![0f64; s.regions.len()];
                for (r, reg) in s.regions.iter().enumerate() {
                    sizes[r] += reg.zones as f64;
                }
                for e in &s.events {
                    if let Action::AddZones { region, count, .. } = e.action {
                        sizes[region] += count as f64;
                    }
                }
                let within: f64 = sizes.iter().map(|&m| pairs(m)).sum();
                net.p_within * within + net.p_between * (pairs(zones) - within)
            }
        };
        let n = s.landscape.n as f64;
        let per_zone = 2.0 * (120.0 + 4.0 * n) + 48.0 + 8.0 * (s.centre.observation_lag as f64 + 1.0);
        let nk = if s.landscape.kind == LandscapeKind::Nk {
            s.contexts() as f64 * n * 4.0 * (1u64 << (s.landscape.k + 1)) as f64
        } else {
            0.0
        };
        Size { edges, bytes: zones * per_zone + 24.0 * edges + nk }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Scenario, ScenarioError> {
        Scenario::parse(s, "t.toml")
    }

    #[test]
    fn empty_file_gives_defaults() {
        let s = parse("").unwrap();
        assert_eq!(s, Scenario::default());
    }

    #[test]
    fn misspelt_key_is_suggested_with_place() {
        let e = parse("[centre]\ntolerence = 0.5\n").unwrap_err();
        assert_eq!(e.at, Some((2, 1)));
        assert_eq!(e.key.as_deref(), Some("centre.tolerence"));
        assert!(e.help.unwrap().contains("`tolerance`"));
    }

    #[test]
    fn out_of_range_names_range() {
        let e = parse("[centre]\ntolerance = 1.5\n").unwrap_err();
        assert!(e.message.contains("[0, 1]"), "{e}");
        assert_eq!(e.at, Some((2, 13)));
    }

    #[test]
    fn wrong_type_is_an_error() {
        let e = parse("[run]\nticks = \"many\"\n").unwrap_err();
        assert!(e.message.contains("integer"), "{e}");
    }

    #[test]
    fn k_at_least_n_is_impossible() {
        let e = parse("[landscape]\nn = 5\nk = 5\n").unwrap_err();
        assert_eq!(e.key.as_deref(), Some("landscape.k"));
    }

    #[test]
    fn events_resolve_years_and_reject_the_past() {
        let s = parse("[run]\nstart_year = 1988\nticks = 30\n[[regions]]\nname = \"East\"\nzones = 3\n[[events]]\nyear = 1991\naction = \"add_zones\"\nregion = \"East\"\ncount = 2\n").unwrap();
        assert_eq!(s.events[0].tick, 3);
        assert_eq!(s.total_zones(), 5);
        let e = parse("[[events]]\nyear = 1980\naction = \"set\"\nparameter = \"centre.tolerance\"\nvalue = 0.1\n")
            .unwrap_err();
        assert!(e.message.contains("before the start year"), "{e}");
        let e = parse("[[events]]\ntick = -1\naction = \"set\"\nparameter = \"centre.tolerance\"\nvalue = 0.1\n")
            .unwrap_err();
        assert!(e.message.contains("before tick 0"), "{e}");
    }

    #[test]
    fn set_event_checks_value_and_settability() {
        let e = parse("[[events]]\ntick = 1\naction = \"set\"\nparameter = \"centre.tolerance\"\nvalue = 2.0\n")
            .unwrap_err();
        assert!(e.message.contains("[0, 1]"), "{e}");
        let e = parse("[[events]]\ntick = 1\naction = \"set\"\nparameter = \"landscape.n\"\nvalue = 2\n").unwrap_err();
        assert!(e.message.contains("cannot change"), "{e}");
    }

    #[test]
    fn region_without_zones_is_an_error() {
        let e = parse("[[regions]]\nname = \"a\"\nzones = 0\n").unwrap_err();
        assert!(e.message.contains("no zones"), "{e}");
    }

    #[test]
    fn pilot_quota_above_zones_is_an_error() {
        let e = parse("[centre]\npilot_quota = 101\n").unwrap_err();
        assert_eq!(e.key.as_deref(), Some("centre.pilot_quota"));
        assert_eq!(e.at, Some((2, 1)));
    }

    #[test]
    fn misspelt_choice_value_is_suggested() {
        let e = parse("[network]\nkind = \"smallworld\"\n").unwrap_err();
        assert!(e.message.contains("small_world"), "{e}");
    }

    #[test]
    fn syntax_error_has_a_place() {
        let e = parse("[run]\nticks = = 3\n").unwrap_err();
        assert_eq!(e.at.map(|a| a.0), Some(2));
    }
}
