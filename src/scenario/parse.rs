//! Reading a scenario file: its sections key by key, its regions and events, each value
//! checked against its parameter's definition and placed (file, line, column) for errors.

use std::collections::HashMap;
use std::path::Path;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::*;
use crate::input::Reader;

const SECTIONS: &[&str] = &["run", "landscape", "centre", "zones", "network", "firms", "output", "regions", "events"];

pub(super) struct Parser<'a> {
    pub(super) r: Reader<'a>,
    /// Where each key was written, for errors found after parsing.
    pub(super) spans: HashMap<String, (usize, usize)>,
    /// Zones brought in by add_zones events (for checking zone ids in other events).
    pub(super) added_zones: u64,
    /// For each event in tick order, its index in the file (`events[i]`), so that errors
    /// found after the events are sorted name the event as written.
    pub(super) event_order: Vec<usize>,
}

pub(super) type Table<'i> = DeTable<'i>;

impl<'a> Parser<'a> {
    pub(super) fn new(text: &'a str, file: &'a str) -> Parser<'a> {
        Parser {
            r: Reader::new(text, file, Path::new("")),
            spans: HashMap::new(),
            added_zones: 0,
            event_order: Vec::new(),
        }
    }

    pub(super) fn err(&self, span: std::ops::Range<usize>, key: &str, message: impl Into<String>) -> ScenarioError {
        self.r.err(span, key, message)
    }

    /// An error about a key, placed where the key was written; for a key left at its
    /// default, where its table (`regions[2]`, then `regions`) or section was written, else
    /// at the regions (most combinations a default breaks are with the zones), else at the
    /// top of the file.
    pub(super) fn err_at(&self, key: &str, message: impl Into<String>) -> ScenarioError {
        ScenarioError::new(self.r.file, message).at(self.place(key)).key(key)
    }

    pub(super) fn place(&self, key: &str) -> Option<(usize, usize)> {
        let mut k = key;
        loop {
            if let Some(&at) = self.spans.get(k) {
                return Some(at);
            }
            match k.rfind(['.', '[']) {
                Some(cut) => k = &k[..cut],
                None => break,
            }
        }
        if self.r.text.is_empty() {
            return None;
        }
        Some(self.spans.get("regions").copied().unwrap_or((1, 1)))
    }

    pub(super) fn scenario(self) -> Result<Scenario, ScenarioError> {
        let root = crate::input::parse(self.r.text, self.r.file)?;
        self.read_root(&root)
    }

    pub(super) fn read_root(mut self, root: &Table<'_>) -> Result<Scenario, ScenarioError> {
        let mut s = Scenario { regions: Vec::new(), ..Scenario::default() };
        let mut region_entries = None;
        let mut event_entries = None;
        for (k, v) in root.iter() {
            let key = k.get_ref().as_ref();
            self.spans.insert(key.to_string(), self.r.lines.line_col(k.span().start));
            match key {
                "run" => self.section::<RunParams>(&mut s, v)?,
                "landscape" => self.section::<LandscapeParams>(&mut s, v)?,
                "centre" => self.section::<CentreParams>(&mut s, v)?,
                "zones" => self.section::<ZoneParams>(&mut s, v)?,
                "network" => self.section::<NetworkParams>(&mut s, v)?,
                "firms" => self.section::<FirmParams>(&mut s, v)?,
                "output" => self.section::<OutputParams>(&mut s, v)?,
                "regions" => region_entries = Some(v),
                "events" => event_entries = Some(v),
                other => return Err(self.unknown_top(other, k.span())),
            }
        }
        if let Some(v) = region_entries {
            s.regions = self.regions(v)?;
        } else {
            s.regions = baseline_regions();
        }
        if let Some(v) = event_entries {
            s.events = self.events(v, &s)?;
        }
        self.validate(&s)?;
        Ok(s)
    }

    pub(super) fn unknown_top(&self, key: &str, span: std::ops::Range<usize>) -> ScenarioError {
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

    pub(super) fn table<'t, 'i>(
        &self,
        v: &'t Spanned<DeValue<'i>>,
        what: &str,
    ) -> Result<&'t Table<'i>, ScenarioError> {
        self.r.table(v, what)
    }

    pub(super) fn section<S: Section>(
        &mut self,
        s: &mut Scenario,
        v: &Spanned<DeValue<'_>>,
    ) -> Result<(), ScenarioError> {
        let table = self.table(v, S::NAME)?;
        for (k, val) in table.iter() {
            let key = k.get_ref().as_ref();
            let path = format!("{}.{key}", S::NAME);
            let Some(spec) = S::SPECS.iter().find(|s| s.key == key) else {
                return Err(self.unknown_key(S::NAME, key, S::SPECS, k.span()));
            };
            let value = self.value(val, &path)?;
            s.set(spec, &value).map_err(|m| self.err(val.span(), &path, m))?;
            self.spans.insert(path, self.r.lines.line_col(k.span().start));
        }
        Ok(())
    }

    pub(super) fn unknown_key(
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

    pub(super) fn value(&self, v: &Spanned<DeValue<'_>>, path: &str) -> Result<Value, ScenarioError> {
        self.r.value(v, path)
    }

    pub(super) fn array<'t, 'i>(
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
    pub(super) fn entry_value(
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
        self.spans.insert(path.to_string(), self.r.lines.line_col(k.span().start));
        Ok(Some(value))
    }

    pub(super) fn check_keys(
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

    pub(super) fn regions(&mut self, v: &Spanned<DeValue<'_>>) -> Result<Vec<Region>, ScenarioError> {
        let entries = self.array(v, "regions")?;
        let mut regions = Vec::new();
        for (i, (t, span)) in entries.into_iter().enumerate() {
            self.check_keys(t, "regions", i, REGION_SPECS)?;
            let p = |k: &str| format!("regions[{i}].{k}");
            self.spans.insert(format!("regions[{i}]"), self.r.lines.line_col(span.start));
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

    pub(super) fn events(&mut self, v: &Spanned<DeValue<'_>>, s: &Scenario) -> Result<Vec<Event>, ScenarioError> {
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
            self.spans.insert(here.clone(), self.r.lines.line_col(span.start));
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
            let action = self.event_action(t, i, &action, s)?;
            events.push(Event { tick, action });
        }
        // Stable order by tick: events of one tick apply in file order. Each event's index
        // in the file is kept, for errors found later.
        let mut order: Vec<usize> = (0..events.len()).collect();
        order.sort_by_key(|&i| events[i].tick);
        let events = order.iter().map(|&i| events[i].clone()).collect();
        self.event_order = order;
        Ok(events)
    }

    /// What event `i` does, from the keys its `action` takes (already checked to apply).
    fn event_action(&mut self, t: &Table<'_>, i: usize, action: &str, s: &Scenario) -> Result<Action, ScenarioError> {
        let here = format!("events[{i}]");
        let p = |k: &str| format!("events[{i}].{k}");
        Ok(match action {
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
                let level = self.level(t, &p("level"))?.ok_or_else(|| self.err_at(&here, "set_level needs `level`"))?;
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
        })
    }

    pub(super) fn event_tick(&mut self, t: &Table<'_>, i: usize, s: &Scenario) -> Result<u32, ScenarioError> {
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
                self.spans.insert(p("year"), self.r.lines.line_col(v.span().start));
                // Saturating: a huge year falls after the last tick (refused below).
                (year - start).saturating_mul(s.run.ticks_per_year as i64)
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

    pub(super) fn region_ref(
        &mut self,
        t: &Table<'_>,
        path: &str,
        s: &Scenario,
    ) -> Result<Option<usize>, ScenarioError> {
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

    pub(super) fn level(&mut self, t: &Table<'_>, path: &str) -> Result<Option<Level>, ScenarioError> {
        Ok(match self.entry_value(t, "level", path, EVENT_SPECS)? {
            Some(Value::Str(s)) => Some(Level::from_index(Level::NAMES.iter().position(|n| *n == s).expect("checked"))),
            _ => None,
        })
    }

    pub(super) fn target(&mut self, t: &Table<'_>, i: usize, s: &Scenario) -> Result<Target, ScenarioError> {
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
                self.spans.insert(path.clone(), self.r.lines.line_col(k.span().start));
                let arr = v.get_ref().as_array().ok_or_else(|| {
                    self.err(v.span(), &path, format!("expected {}, found {}", Domain::ZoneIds, v.get_ref().type_str()))
                })?;
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

    pub(super) fn set_action(&mut self, t: &Table<'_>, i: usize) -> Result<Action, ScenarioError> {
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
        self.spans.insert(p("parameter"), self.r.lines.line_col(pk.span().start));
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
        let value = self.value(v, &p("value")).map_err(|e| e.help(format!("`value` is {}", Domain::ParameterValue)))?;
        self.spans.insert(p("value"), self.r.lines.line_col(v.span().start));
        // Check the value by applying it to a scratch scenario.
        let mut scratch = Scenario::default();
        scratch.set(spec, &value).map_err(|m| self.err(v.span(), &p("value"), format!("{path}: {m}")))?;
        Ok(Action::Set { parameter: spec, value })
    }

    /// The index in the file (`events[i]`) of the event at position `j` in tick order.
    pub(super) fn file_index(&self, j: usize) -> usize {
        self.event_order.get(j).copied().unwrap_or(j)
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
        let s = parse("[run]\nstart_year = 1988\nticks = 30\n[[regions]]\nname = \"East\"\nzones = 30\n[[events]]\nyear = 1991\naction = \"add_zones\"\nregion = \"East\"\ncount = 2\n").unwrap();
        assert_eq!(s.events[0].tick, 3);
        assert_eq!(s.total_zones(), 32);
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
        let e = parse("[centre]\npilot_quota = 201\n").unwrap_err();
        assert_eq!(e.key.as_deref(), Some("centre.pilot_quota"));
        assert_eq!(e.at, Some((2, 1)));
    }

    #[test]
    fn misspelt_choice_value_is_suggested() {
        let e = parse("[network]\nkind = \"smallworld\"\n").unwrap_err();
        assert!(e.message.contains("small_world"), "{e}");
    }

    #[test]
    fn an_event_found_wrong_after_sorting_is_named_as_written() {
        // events[1] is at an earlier tick, so it is first once sorted: the error must still
        // name events[1] and its line.
        let text = "[run]\nticks = 10\n[[events]]\ntick = 5\naction = \"set\"\nparameter = \"zones.pilot_boost\"\nvalue = 1.0\n\
                    [[events]]\ntick = 2\naction = \"set\"\nparameter = \"zones.experiment_radius\"\nvalue = 30\n";
        let e = parse(text).unwrap_err();
        assert_eq!(e.key.as_deref(), Some("events[1].value"), "{e}");
        assert_eq!(e.at, Some((12, 9)), "{e}");
    }

    #[test]
    fn set_level_on_a_zone_not_yet_entered_is_refused() {
        let head = "[run]\nticks = 20\n[centre]\npilot_quota = 0\nshowcase_top = 0\n[[regions]]\nname = \"A\"\nzones = 3\n\
                    [[events]]\ntick = 10\naction = \"add_zones\"\nregion = \"A\"\ncount = 2\n";
        let event = |tick: u32, zone: u32| {
            format!("[[events]]\ntick = {tick}\naction = \"set_level\"\nzones = [{zone}]\nlevel = \"demonstration\"\n")
        };
        // Zone 4 enters at tick 10.
        let e = parse(&format!("{head}{}", event(5, 4))).unwrap_err();
        assert_eq!(e.key.as_deref(), Some("events[1].zones"), "{e}");
        assert!(
            e.message.contains("zone 4") && e.message.contains("tick 10") && e.message.contains("events[0]"),
            "{e}"
        );
        assert_eq!(e.at.map(|a| a.0), Some(17), "{e}");
        // At its tick, after the add_zones event, or any zone of the regions at any tick: fine.
        assert!(parse(&format!("{head}{}", event(10, 4))).is_ok());
        assert!(parse(&format!("{head}{}", event(0, 2))).is_ok());
        // At its tick but before the add_zones event in the file: not yet.
        let first = format!(
            "[run]\nticks = 20\n[centre]\npilot_quota = 0\nshowcase_top = 0\n[[regions]]\nname = \"A\"\nzones = 3\n{}\
                             [[events]]\ntick = 10\naction = \"add_zones\"\nregion = \"A\"\ncount = 2\n",
            event(10, 3)
        );
        let e = parse(&first).unwrap_err();
        assert!(e.message.contains("later in the file"), "{e}");
        // set_pilot the same.
        let pilot = format!("{head}[[events]]\ntick = 9\naction = \"set_pilot\"\nzones = [3]\npilot = true\n");
        assert!(parse(&pilot).unwrap_err().message.contains("has not entered yet"));
    }

    #[test]
    fn duplicate_keys_are_named() {
        let e = parse("[centre]\ntolerance = 0.5\ntolerance = 0.6\n").unwrap_err();
        assert!(e.message.contains("`tolerance`"), "{e}");
        assert_eq!(e.at, Some((3, 1)));
    }

    #[test]
    fn a_deep_header_has_a_place() {
        let e = parse(&format!("[run]\nticks = 3\n[{}x]\n", "a.".repeat(500))).unwrap_err();
        assert_eq!(e.at, Some((3, 1)), "{e}");
    }

    #[test]
    fn an_error_about_a_default_has_a_place() {
        let e = parse("[run]\nticks = 3\n\n[[regions]]\nzones = 2\n").unwrap_err();
        assert_eq!(e.key.as_deref(), Some("centre.pilot_quota"), "{e}");
        assert!(e.message.contains("(the default)"), "{e}");
        assert_eq!(e.at, Some((4, 3)), "{e}");
    }

    #[test]
    fn event_zones_and_value_errors_use_the_documented_types() {
        let e = parse("[[events]]\ntick = 1\naction = \"set_pilot\"\nzones = \"3\"\npilot = true\n").unwrap_err();
        assert!(e.message.contains(&Domain::ZoneIds.to_string()), "{e}");
        let e = parse("[[events]]\ntick = 1\naction = \"set\"\nparameter = \"centre.tolerance\"\nvalue = [1]\n")
            .unwrap_err();
        assert!(e.help.unwrap().contains(&Domain::ParameterValue.to_string()));
    }

    #[test]
    fn the_size_estimate_is_public_and_counts_zones_and_edges() {
        let small = parse("[[regions]]\nzones = 100\n").unwrap();
        let big = parse("[[regions]]\nzones = 1000\n").unwrap();
        let (a, b) = (small.estimated_bytes_per_replication(), big.estimated_bytes_per_replication());
        assert!(a > 100 * 200 && b > 10 * a / 2, "{a} {b}");
        let e = parse(
            "[landscape]\nn = 64\n[centre]\nobservation_lag = 100\n[[regions]]\nzones = 10000000\n\
             [network]\nkind = \"ring\"\ndegree = 160\n",
        )
        .unwrap_err();
        assert!(e.message.contains("GiB"), "{e}");
    }

    #[test]
    fn many_keys_parse_in_one_pass() {
        // 20,000 set events: the line index is built once (this took over 20 s when every
        // key rescanned the file).
        let mut text = String::from("[run]\nticks = 100\n");
        for i in 0..20_000 {
            text.push_str(&format!(
                "[[events]]\ntick = {}\naction = \"set\"\nparameter = \"centre.tolerance\"\nvalue = 0.5\n",
                i % 100
            ));
        }
        let s = parse(&text).unwrap();
        assert_eq!(s.events.len(), 20_000);
        text.push_str("[[events]]\ntick = 1\naction = \"set\"\nparameter = \"centre.tolerance\"\nvalue = 5\n");
        let e = parse(&text).unwrap_err();
        assert_eq!(e.at, Some((2 + 20_000 * 5 + 5, 9)), "{e}");
    }

    #[test]
    fn a_huge_event_year_is_refused_not_overflowed() {
        // Found by tests/fuzz_inputs.rs: (year - start) x ticks_per_year overflowed.
        let e = parse("[run]\nticks_per_year = 12\n[[events]]\nyear = 9223372036854775807\naction = \"set\"\nparameter = \"centre.tolerance\"\nvalue = 0.1\n").unwrap_err();
        assert!(e.message.contains("after the last tick"), "{e}");
        assert_eq!(e.at.map(|a| a.0), Some(4));
    }

    #[test]
    fn set_from_str_checks_like_a_file() {
        let mut s = Scenario::default();
        s.set_from_str("--set", "centre.tolerance", "0.25").unwrap();
        assert_eq!(s.centre.tolerance, 0.25);
        s.set_from_str("--set", "network.kind", "ring").unwrap();
        s.set_from_str("--set", "network.kind", "\"full\"").unwrap();
        assert_eq!(s.network.kind, NetworkKind::Full);
        s.set_from_str("--set", "run.replications", "7").unwrap();
        assert_eq!(s.run.replications, 7);
        let before = s.clone();
        let e = s.set_from_str("--set", "centre.tolerence", "0.5").unwrap_err();
        assert!(e.help.unwrap().contains("centre.tolerance"));
        let e = s.set_from_str("--set", "centre.tolerance", "1.5").unwrap_err();
        assert!(e.message.contains("[0, 1]") && e.key.as_deref() == Some("centre.tolerance"), "{e}");
        let e = s.set_from_str("--set", "centre.tolerance", "nan").unwrap_err();
        assert_eq!(e.key.as_deref(), Some("centre.tolerance"), "{e}");
        let e = s.set_from_str("--set", "network.kind", "smallworld").unwrap_err();
        assert!(e.message.contains("small_world"), "{e}");
        // Valid alone, impossible with the rest: K >= N.
        let e = s.set_from_str("--set", "landscape.k", "20").unwrap_err();
        assert_eq!(e.key.as_deref(), Some("landscape.k"), "{e}");
        assert_eq!(s, before);
    }

    #[test]
    fn syntax_error_has_a_place() {
        let e = parse("[run]\nticks = = 3\n").unwrap_err();
        assert_eq!(e.at.map(|a| a.0), Some(2));
    }
}
