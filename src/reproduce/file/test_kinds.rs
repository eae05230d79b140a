//! The `[[test]]` tables: difference, level, share and crossover tests, their sides (a regime
//! and, with axes, a condition) and which test is the main one.

use super::parse::ExperimentParser;
use super::types::{Expect, Measure, Regime, Side, Test, TestKind, same};
use crate::input::Table;
use crate::scenario::{ParamSpec, ScenarioError, Value};
use crate::sweep::design::grid_values;

const TEST_KEYS: &[&str] =
    &["name", "label", "kind", "measure", "metric", "a", "b", "at", "a_at", "b_at", "expect", "threshold", "main"];

/// Every test kind an experiment file may name, with the keys it takes besides name, label,
/// kind and main.
const TEST_KINDS: &[(&str, &[&str])] = &[
    ("difference", &["measure", "a", "b", "at", "a_at", "b_at", "expect"]),
    ("level", &["measure", "a", "at", "a_at", "expect", "threshold"]),
    ("share", &["measure", "a", "b", "at", "a_at", "b_at", "expect", "threshold"]),
    ("crossover", &["metric", "a", "b", "at", "a_at", "b_at"]),
];

impl ExperimentParser<'_, '_> {
    fn side(&self, t: &Table<'_>, section: &str, key: &str, regimes: &[Regime]) -> Result<Side, ScenarioError> {
        let r = &self.r;
        let names: Vec<&str> = regimes.iter().map(|g| g.name.as_str()).collect();
        let regime = self.reference(t, section, key, "regime", &names)?;
        let g = &regimes[regime];
        let own = format!("{key}_at");
        let mut at = Vec::new();
        for k in ["at", own.as_str()] {
            let Some(v) = t.get(k) else { continue };
            for (spec, value, span) in self.assignments(v, &format!("{section}.{k}"), &g.scenario)? {
                let Some(axis) = g.axes.iter().find(|a| std::ptr::eq(a.spec, spec)) else {
                    if k == "at" {
                        continue;
                    }
                    return Err(r.err(
                        span,
                        &format!("{section}.{k}"),
                        format!("regime {:?} has no axis `{}`", g.name, spec.path()),
                    ));
                };
                if !grid_values(axis).iter().any(|x| same(x, &value)) {
                    return Err(r.err(
                        span,
                        &format!("{section}.{k}"),
                        format!("{value} is not one of the values of axis `{}`", spec.path()),
                    ));
                }
                at.retain(|(s, _): &(&ParamSpec, Value)| !std::ptr::eq(*s, spec));
                at.push((spec, value));
            }
        }
        if let Some(a) = g.axes.iter().find(|a| !at.iter().any(|(s, _)| std::ptr::eq(*s, a.spec))) {
            let span = t.get(key).expect("present").span();
            return Err(r
                .err(
                    span,
                    &format!("{section}.{key}"),
                    format!("regime {:?} varies `{}`: say which value this test uses", g.name, a.name()),
                )
                .help(format!("add `{own} = {{ \"{}\" = <value> }}`", a.name())));
        }
        Ok(Side { regime, at })
    }

    fn expect(&self, t: &Table<'_>, section: &str) -> Result<Expect, ScenarioError> {
        Ok(match self.r.choice(Some(t), section, "expect", &["greater", "less"])? {
            Some("less") => Expect::Less,
            Some(_) => Expect::Greater,
            None => {
                return Err(ScenarioError::new(self.r.file, "a test needs `expect` (\"greater\" or \"less\")")
                    .key(format!("{section}.expect")));
            }
        })
    }

    pub(super) fn tests(
        &self,
        root: &Table<'_>,
        regimes: &[Regime],
        measures: &[Measure],
    ) -> Result<(Vec<Test>, usize), ScenarioError> {
        let r = &self.r;
        let measure_names: Vec<&str> = measures.iter().map(|m| m.name.as_str()).collect();
        let mut out: Vec<Test> = Vec::new();
        let mut main = None;
        for (i, t) in self.array(root, "test", TEST_KEYS)? {
            let section = format!("test[{i}]");
            let seen: Vec<String> = out.iter().map(|m| m.name.clone()).collect();
            let name = self.name(t, &section, &seen)?;
            let label = self.opt_string(t, &section, "label")?.unwrap_or_else(|| name.clone());
            let kind = self.test_kind(t, &section, regimes, &measure_names)?;
            main = self.main_mark(t, &section, &kind, main, out.len())?;
            out.push(Test { name, label, kind });
        }
        if out.is_empty() {
            return Err(ScenarioError::new(r.file, "an experiment needs at least one [[test]]").key("test"));
        }
        let main = main.or_else(|| out.iter().position(|t| !matches!(t.kind, TestKind::Crossover { .. }))).ok_or_else(
            || ScenarioError::new(r.file, "an experiment needs a test other than a crossover").key("test"),
        )?;
        Ok((out, main))
    }

    /// A test's `kind`, its keys checked against the kind's, then read by that kind's parser.
    fn test_kind(
        &self,
        t: &Table<'_>,
        section: &str,
        regimes: &[Regime],
        measures: &[&str],
    ) -> Result<TestKind, ScenarioError> {
        let r = &self.r;
        let names: Vec<&str> = TEST_KINDS.iter().map(|k| k.0).collect();
        let kind = r.choice(Some(t), section, "kind", &names)?.ok_or_else(|| {
            ScenarioError::new(r.file, "a test needs `kind`: \"difference\", \"level\", \"share\" or \"crossover\"")
                .key(format!("{section}.kind"))
        })?;
        let allowed = TEST_KINDS.iter().find(|k| k.0 == kind).expect("a listed kind").1;
        self.applies(t, section, &format!("a {kind:?} test"), &["name", "label", "kind", "main"], allowed)?;
        match kind {
            "difference" => self.difference(t, section, regimes, measures),
            "level" => self.level(t, section, regimes, measures),
            "share" => self.share(t, section, regimes, measures),
            _ => self.crossover(t, section, regimes),
        }
    }

    fn difference(
        &self,
        t: &Table<'_>,
        section: &str,
        regimes: &[Regime],
        measures: &[&str],
    ) -> Result<TestKind, ScenarioError> {
        Ok(TestKind::Difference {
            measure: self.reference(t, section, "measure", "measure", measures)?,
            a: self.side(t, section, "a", regimes)?,
            b: self.side(t, section, "b", regimes)?,
            expect: self.expect(t, section)?,
        })
    }

    fn level(
        &self,
        t: &Table<'_>,
        section: &str,
        regimes: &[Regime],
        measures: &[&str],
    ) -> Result<TestKind, ScenarioError> {
        Ok(TestKind::Level {
            measure: self.reference(t, section, "measure", "measure", measures)?,
            a: self.side(t, section, "a", regimes)?,
            threshold: self.threshold(t, section, "level")?,
            expect: self.expect(t, section)?,
        })
    }

    fn share(
        &self,
        t: &Table<'_>,
        section: &str,
        regimes: &[Regime],
        measures: &[&str],
    ) -> Result<TestKind, ScenarioError> {
        Ok(TestKind::Share {
            measure: self.reference(t, section, "measure", "measure", measures)?,
            a: self.side(t, section, "a", regimes)?,
            b: self.side(t, section, "b", regimes)?,
            threshold: self.threshold(t, section, "share")?,
            expect: self.expect(t, section)?,
        })
    }

    fn crossover(&self, t: &Table<'_>, section: &str, regimes: &[Regime]) -> Result<TestKind, ScenarioError> {
        Ok(TestKind::Crossover {
            metric: self.metric_name(t, section)?,
            a: self.side(t, section, "a", regimes)?,
            b: self.side(t, section, "b", regimes)?,
        })
    }

    /// The `threshold` a level or share test compares with (`kind` names the test in the error).
    fn threshold(&self, t: &Table<'_>, section: &str, kind: &str) -> Result<f64, ScenarioError> {
        self.float(t, section, "threshold", f64::MIN, f64::MAX)?.ok_or_else(|| {
            ScenarioError::new(self.r.file, format!("a {kind:?} test needs `threshold`"))
                .key(format!("{section}.threshold"))
        })
    }

    /// The main test after this one (`index`): `main = true` makes it the main test, refused
    /// for a second main test and for a crossover.
    fn main_mark(
        &self,
        t: &Table<'_>,
        section: &str,
        kind: &TestKind,
        main: Option<usize>,
        index: usize,
    ) -> Result<Option<usize>, ScenarioError> {
        let r = &self.r;
        let Some((v, span)) = r.get(Some(t), section, "main")? else { return Ok(main) };
        match v {
            Value::Bool(true) if main.is_some() => {
                Err(r.err(span, &format!("{section}.main"), "only one test can be the main one"))
            }
            Value::Bool(true) if matches!(kind, TestKind::Crossover { .. }) => Err(r
                .err(span, &format!("{section}.main"), "a crossover test cannot be the main one")
                .help("its effect is a tick, not a quantity with a CI target")),
            Value::Bool(b) => Ok(b.then_some(index).or(main)),
            other => Err(r.err(span, &format!("{section}.main"), format!("expected true or false, found {other}"))),
        }
    }
}
