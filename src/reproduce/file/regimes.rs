//! The `[[regime]]` tables: a scenario with `set` overrides and the experiment's seed,
//! optionally over a grid of `axes` whose points are the regime's conditions.

use super::parse::ExperimentParser;
use super::types::Regime;
use crate::input::Table;
use crate::scenario::{RESERVED, Scenario, ScenarioError};
use crate::sweep::file::DesignKind;

const REGIME_KEYS: &[&str] = &["name", "label", "scenario", "set", "axes"];

impl ExperimentParser<'_, '_> {
    pub(super) fn regimes(&self, root: &Table<'_>, seed: u64) -> Result<Vec<Regime>, ScenarioError> {
        let r = &self.r;
        let items = self.array(root, "regime", REGIME_KEYS)?;
        if items.is_empty() {
            return Err(ScenarioError::new(r.file, "an experiment needs at least one [[regime]]")
                .key("regime")
                .help("each with a `name` and a `scenario` path"));
        }
        let mut out: Vec<Regime> = Vec::new();
        for (i, t) in items {
            let section = format!("regime[{i}]");
            let seen: Vec<String> = out.iter().map(|g| g.name.clone()).collect();
            let name = self.name(t, &section, &seen)?;
            let label = self.opt_string(t, &section, "label")?.unwrap_or_else(|| name.clone());
            let source = self.required_string(t, &section, "scenario")?;
            let span = t.get("scenario").expect("present").span();
            let Some((text, file)) = (self.find)(&source) else {
                return Err(r
                    .err(span, &format!("{section}.scenario"), format!("no scenario file at {source:?}"))
                    .help("the path is relative to the experiment file's directory"));
            };
            let mut scenario = Scenario::parse(&text, &file)?;
            if let Some(set) = t.get("set") {
                for (spec, value, span) in self.assignments(set, &format!("{section}.set"), &scenario)? {
                    scenario.set(spec, &value).map_err(|m| r.err(span, &format!("{section}.set"), m))?;
                }
            }
            scenario.run.seed = seed;
            scenario.run.replications = 1;
            scenario.validate(&format!("{file} with {section}.set"))?;
            let axes = match t.get("axes") {
                None => Vec::new(),
                Some(_) => {
                    let axes = r.axes(t, &scenario, DesignKind::Grid)?;
                    if let Some(a) = axes.iter().find(|a| RESERVED.contains(&a.name().as_str())) {
                        let span = t.get("axes").expect("present").span();
                        return Err(r.err(
                            span,
                            &format!("{section}.axes"),
                            format!("`{}` is set by the experiment itself", a.name()),
                        ));
                    }
                    axes
                }
            };
            out.push(Regime { name, label, source, scenario, axes });
        }
        Ok(out)
    }
}
