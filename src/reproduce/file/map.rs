//! The `[map]` table: the grid over which the main test is repeated, each point checked
//! against every regime of the test.

use super::parse::ExperimentParser;
use super::types::{MapSpec, Regime, Test};
use crate::input::Table;
use crate::scenario::{MAX_REPLICATIONS, RESERVED, ScenarioError};
use crate::sweep::design::grid_values;
use crate::sweep::file::DesignKind;

const MAP_KEYS: &[&str] = &["axes", "test", "replications", "quick_replications"];

impl ExperimentParser<'_, '_> {
    pub(super) fn map(
        &self,
        root: &Table<'_>,
        regimes: &[Regime],
        tests: &[Test],
        main: usize,
    ) -> Result<Option<MapSpec>, ScenarioError> {
        let r = &self.r;
        let Some(t) = r.section(root, "map", MAP_KEYS)? else { return Ok(None) };
        let test = match t.get("test") {
            None => main,
            Some(_) => {
                let names: Vec<&str> = tests.iter().map(|t| t.name.as_str()).collect();
                self.reference(t, "map", "test", "test", &names)?
            }
        };
        let sides = tests[test].kind.sides();
        let base = &regimes[sides[0].regime].scenario;
        let axes = r.axes(t, base, DesignKind::Grid)?;
        if axes.is_empty() {
            return Err(ScenarioError::new(r.file, "[map] needs `axes`").key("map.axes"));
        }
        for side in &sides {
            let g = &regimes[side.regime];
            for a in &axes {
                if g.axes.iter().any(|x| std::ptr::eq(x.spec, a.spec)) || RESERVED.contains(&a.name().as_str()) {
                    let span = t.get("axes").expect("present").span();
                    return Err(r.err(
                        span,
                        "map.axes",
                        format!("`{}` cannot be a map axis: regime {:?} sets it", a.name(), g.name),
                    ));
                }
                for v in grid_values(a) {
                    let mut s = g.scenario.clone();
                    s.set(a.spec, &v).map_err(|m| r.err(t.get("axes").expect("present").span(), "map.axes", m))?;
                    s.validate(&format!("[map] point {} = {v} of regime {:?}", a.name(), g.name))?;
                }
            }
        }
        let n = |key: &str, default: u32| -> Result<u32, ScenarioError> {
            Ok(r.get(Some(t), "map", key)?
                .map(|(v, span)| r.int(&v, span, &format!("map.{key}"), 2, MAX_REPLICATIONS as i64).map(|i| i as u32))
                .transpose()?
                .unwrap_or(default))
        };
        Ok(Some(MapSpec {
            axes,
            test,
            replications: n("replications", 20)?,
            quick_replications: n("quick_replications", 3)?,
        }))
    }
}
