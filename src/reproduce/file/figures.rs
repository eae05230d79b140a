//! The `[[figure]]` tables: series (a metric per tick, one line per condition) and curves (a
//! measure against a regime's axis).

use super::parse::{ExperimentParser, Item};
use super::types::{Figure, Measure, Regime};
use crate::input::Table;
use crate::scenario::{ScenarioError, suggest};

const FIGURE_KEYS: &[&str] = &["kind", "title", "metric", "regimes", "measure", "regime", "x", "group"];

impl ExperimentParser<'_, '_> {
    pub(super) fn figures(
        &self,
        root: &Table<'_>,
        regimes: &[Regime],
        measures: &[Measure],
    ) -> Result<Vec<Figure>, ScenarioError> {
        let r = &self.r;
        let mut out = Vec::new();
        for (i, t) in self.array(root, "figure", FIGURE_KEYS)? {
            let section = format!("figure[{i}]");
            let kind = r.choice(Some(t), &section, "kind", &["series", "curve"])?.unwrap_or("series");
            let title = self.opt_string(t, &section, "title")?;
            let allowed: &[&str] =
                if kind == "series" { &["metric", "regimes"] } else { &["measure", "regime", "x", "group"] };
            self.applies(t, &section, &format!("a {kind:?} figure"), &["kind", "title"], allowed)?;
            out.push(if kind == "series" {
                self.series(t, &section, title, regimes)?
            } else {
                self.curve(t, &section, title, regimes, measures)?
            });
        }
        Ok(out)
    }

    /// A metric per tick over the `regimes` named (all of them by default); titled by the
    /// metric unless `title` is given.
    fn series(
        &self,
        t: &Table<'_>,
        section: &str,
        title: Option<String>,
        regimes: &[Regime],
    ) -> Result<Figure, ScenarioError> {
        let metric = self.metric_name(t, section)?;
        let regimes_idx = match t.get("regimes") {
            None => (0..regimes.len()).collect(),
            Some(v) => self.regime_list(v, section, regimes)?,
        };
        Ok(Figure::Series { title: title.unwrap_or_else(|| metric.replace('_', " ")), metric, regimes: regimes_idx })
    }

    /// A series' `regimes`: a list of regime names, each with a suggestion when misspelt.
    fn regime_list(&self, v: &Item<'_>, section: &str, regimes: &[Regime]) -> Result<Vec<usize>, ScenarioError> {
        let r = &self.r;
        let names: Vec<&str> = regimes.iter().map(|g| g.name.as_str()).collect();
        let arr = v
            .get_ref()
            .as_array()
            .ok_or_else(|| r.err(v.span(), &format!("{section}.regimes"), "expected a list of regime names"))?;
        let mut idx = Vec::new();
        for item in arr.iter() {
            let s =
                r.string(&r.value(item, &format!("{section}.regimes"))?, item.span(), &format!("{section}.regimes"))?;
            let Some(p) = names.iter().position(|n| *n == s) else {
                let e = r.err(item.span(), &format!("{section}.regimes"), format!("no regime named {s:?}"));
                return Err(match suggest::nearest(&s, names.iter().copied()) {
                    Some(n) => e.help(format!("did you mean \"{n}\"?")),
                    None => e.help(format!("the regimes are {}", names.join(", "))),
                });
            };
            idx.push(p);
        }
        Ok(idx)
    }

    /// A measure against a numeric axis `x` of a regime, one line per value of axis `group`;
    /// the two must cover all of the regime's axes. Titled by the measure's label by default.
    fn curve(
        &self,
        t: &Table<'_>,
        section: &str,
        title: Option<String>,
        regimes: &[Regime],
        measures: &[Measure],
    ) -> Result<Figure, ScenarioError> {
        let r = &self.r;
        let names: Vec<&str> = regimes.iter().map(|g| g.name.as_str()).collect();
        let measure_names: Vec<&str> = measures.iter().map(|m| m.name.as_str()).collect();
        let measure = self.reference(t, section, "measure", "measure", &measure_names)?;
        let regime = self.reference(t, section, "regime", "regime", &names)?;
        let axis_names: Vec<String> = regimes[regime].axes.iter().map(|a| a.name()).collect();
        let axis_refs: Vec<&str> = axis_names.iter().map(String::as_str).collect();
        if axis_refs.is_empty() {
            let span = t.get("regime").expect("present").span();
            return Err(r.err(span, &format!("{section}.regime"), "a curve needs a regime with `axes`"));
        }
        let x = self.reference(t, section, "x", "axis", &axis_refs)?;
        if !matches!(
            regimes[regime].axes[x].spec.domain,
            crate::scenario::Domain::Int { .. } | crate::scenario::Domain::Float { .. }
        ) {
            let span = t.get("x").expect("present").span();
            return Err(r
                .err(
                    span,
                    &format!("{section}.x"),
                    format!("a curve's x axis must be numeric; `{}` is not", axis_refs[x]),
                )
                .help("use it as `group`, or draw a series figure"));
        }
        let group = match t.get("group") {
            None => None,
            Some(_) => Some(self.reference(t, section, "group", "axis", &axis_refs)?),
        };
        let others = axis_refs.len() - 1 - group.map_or(0, |g| (g != x) as usize);
        if others > 0 || group == Some(x) {
            let span = t.get("x").expect("present").span();
            return Err(r.err(
                span,
                &format!("{section}.x"),
                "a curve's `x` and `group` must be two different axes covering all of the regime's axes",
            ));
        }
        let title = title.unwrap_or_else(|| measures[measure].label.clone());
        Ok(Figure::Curve { title, measure, regime, x, group })
    }
}
