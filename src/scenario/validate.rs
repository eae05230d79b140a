//! The rules between keys (K < N, quotas within the zones, an even ring degree, zones that
//! exist when an event names them, ...): shared by scenario files and scenarios built in
//! code, placed where the key was written when it was.

use super::parse::Parser;
use super::*;

impl Parser<'_> {
    /// A set_level or set_pilot event names zones by id: each must have entered by then
    /// (the zones of the regions enter at tick 0, those of an add_zones event at its tick,
    /// and within a tick events apply in file order).
    pub(super) fn check_entered(&self, s: &Scenario) -> Result<(), ScenarioError> {
        let initial: u64 = s.regions.iter().map(|r| r.zones as u64).sum();
        // (first id, end id, position of the add_zones event in tick order)
        let mut added = Vec::new();
        let mut next = initial;
        for (j, e) in s.events.iter().enumerate() {
            if let Action::AddZones { count, .. } = e.action {
                added.push((next, next + count as u64, j));
                next += count as u64;
            }
        }
        for (j, e) in s.events.iter().enumerate() {
            let (kind, ids) = match &e.action {
                Action::SetLevel { target: Target::Zones(ids), .. } => ("set_level", ids),
                Action::SetPilot { target: Target::Zones(ids), .. } => ("set_pilot", ids),
                _ => continue,
            };
            for &id in ids {
                let id64 = id as u64;
                if id64 < initial {
                    continue;
                }
                let i = self.file_index(j);
                let at = format!("tick {} (year {})", e.tick, s.year(e.tick));
                let entry = added.iter().find(|&&(first, end, _)| id64 >= first && id64 < end);
                let Some(&(_, _, k)) = entry else {
                    return Err(self.err_at(
                        &format!("events[{i}].zones"),
                        format!("the {kind} event at {at} names zone {id}, which does not exist ({next} zones in all)"),
                    ));
                };
                if k < j {
                    continue;
                }
                let add = &s.events[k];
                let when = if add.tick == e.tick {
                    format!("at the same tick but later in the file, with events[{}]", self.file_index(k))
                } else {
                    format!("at tick {} (year {}), with events[{}]", add.tick, s.year(add.tick), self.file_index(k))
                };
                let region = match add.action {
                    Action::AddZones { region, .. } => s.regions[region].name.as_str(),
                    _ => unreachable!("entries come from add_zones events"),
                };
                return Err(self
                    .err_at(
                        &format!("events[{i}].zones"),
                        format!(
                            "the {kind} event at {at} names zone {id}, which has not entered yet: it enters {when} (add_zones to region \"{region}\")"
                        ),
                    )
                    .help(format!("move the {kind} event to tick {} or later, after the add_zones event", add.tick)));
            }
        }
        Ok(())
    }

    /// The firm module's combinations: a focal zone that exists, weights that can be drawn.
    pub(super) fn validate_firms(&self, s: &Scenario) -> Result<(), ScenarioError> {
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
        let mut now = Scenario { firms: f.clone(), regions: Vec::new(), events: Vec::new(), ..Scenario::default() };
        let mut last_set = None;
        for (j, e) in s.events.iter().enumerate() {
            if let Action::Set { parameter, value } = &e.action
                && parameter.section == FirmParams::NAME
            {
                now.set(parameter, value).expect("checked when the event was read");
                last_set = Some(self.file_index(j));
            }
            let tick_done = s.events.get(j + 1).is_none_or(|next| next.tick != e.tick);
            if let (true, Some((_, what)), Some(i)) = (tick_done, zero(&now.firms), last_set) {
                return Err(self
                    .err_at(
                        &format!("events[{i}].value"),
                        format!(
                            "after the `set` events of tick {} (year {}), the {what} weights of [firms] are all 0",
                            e.tick,
                            s.year(e.tick)
                        ),
                    )
                    .help(format!(
                        "keep at least one {what} category's weight positive: newborn firms draw from them"
                    )));
            }
        }
        Ok(())
    }

    /// " (the default)" when the user did not write the key.
    pub(super) fn default_note(&self, key: &str) -> &'static str {
        if self.r.text.is_empty() || self.spans.contains_key(key) { "" } else { " (the default)" }
    }

    /// Impossible combinations: errors that need more than one key to see.
    pub(super) fn validate(&self, s: &Scenario) -> Result<(), ScenarioError> {
        self.validate_firms(s)?;
        self.validate_landscape(s)?;
        self.validate_zones(s)?;
        self.validate_network(s)?;
        if s.contexts() > 4096 {
            return Err(self
                .err_at("regions", format!("{} landscape contexts; at most 4096 are supported", s.contexts()))
                .help("give regions a shared `context` (regions with the same context share a landscape)"));
        }
        self.check_size(s)?;
        self.check_radius_events(s)?;
        self.check_entered(s)
    }

    /// K below N, NK tables that fit, and a maximum that normalising can find and keep.
    fn validate_landscape(&self, s: &Scenario) -> Result<(), ScenarioError> {
        let l = &s.landscape;
        if l.kind == LandscapeKind::Nk && l.k >= l.n {
            return Err(self
                .err_at("landscape.k", format!("K = {} must be less than N = {}", l.k, l.n))
                .help("each instrument interacts with K others, so K <= N - 1"));
        }
        if l.kind == LandscapeKind::Nk {
            let bytes = (s.contexts() as u64) * (l.n as u64) * (4u64 << (l.k + 1));
            if bytes > NK_TABLE_BUDGET {
                return Err(self
                    .err_at(
                        "landscape.k",
                        format!(
                            "the NK tables need {} MiB (N = {}, K = {}, {} contexts); at most {} MiB are supported",
                            bytes >> 20,
                            l.n,
                            l.k,
                            s.contexts(),
                            NK_TABLE_BUDGET >> 20
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
                return Err(self
                    .err_at(
                        "landscape.normalise",
                        format!(
                            "normalising is not possible on a turbulent NK landscape (its maximum moves every tick); turbulence = {}{}",
                            l.turbulence,
                            self.default_note("landscape.turbulence")
                        ),
                    )
                    .help("set [landscape] turbulence = 0.0 (and no `set` event on it), or normalise = false"));
            }
        }
        Ok(())
    }

    /// Zones that exist: every region has some (or gains them), the quotas fit within them.
    fn validate_zones(&self, s: &Scenario) -> Result<(), ScenarioError> {
        let l = &s.landscape;
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
        // Counts of zones the centre picks at a review: at most every zone.
        for (key, count) in [("pilot_quota", s.centre.pilot_quota), ("showcase_top", s.centre.showcase_top)] {
            if count as u64 > total {
                let path = format!("centre.{key}");
                return Err(self
                    .err_at(
                        &path,
                        format!(
                            "{key} = {count}{} is more than the {total} zones of the scenario",
                            self.default_note(&path)
                        ),
                    )
                    .help(format!("set [centre] {key} to at most {total}")));
            }
        }
        Ok(())
    }

    /// A ring or small world has an even degree below the number of zones.
    fn validate_network(&self, s: &Scenario) -> Result<(), ScenarioError> {
        let total = s.total_zones();
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
        Ok(())
    }

    /// A `set` event may not raise the experiment radius above N.
    fn check_radius_events(&self, s: &Scenario) -> Result<(), ScenarioError> {
        let l = &s.landscape;
        for (j, e) in s.events.iter().enumerate() {
            if let Action::Set { parameter, value } = &e.action
                && parameter.key == "experiment_radius"
                && let Value::Int(r) = value
                && *r as u32 > l.n
            {
                let i = self.file_index(j);
                return Err(self.err_at(
                    &format!("events[{i}].value"),
                    format!("the event sets zones.experiment_radius = {r}, more than N = {}", l.n),
                ));
            }
        }
        Ok(())
    }
}
