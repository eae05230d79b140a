//! The `[[measure]]` tables: what is read from every run, one reader per form of measure kind
//! (a metric at a time, a whole-run figure, a score's correlation with later growth).

use super::parse::ExperimentParser;
use super::types::{At, Measure, MeasureKind, Regime};
use crate::input::Table;
use crate::scenario::ScenarioError;

const MEASURE_KEYS: &[&str] = &["name", "label", "kind", "metric", "tick", "window", "horizon"];
/// How a measure kind is read: a metric at a time, a whole-run figure of the diffusion trace,
/// or a score's rank correlation with later growth (at `tick`, over `horizon`).
enum Form {
    Metric,
    Run(MeasureKind),
    Scored(fn(u32, u32) -> MeasureKind),
}

impl Form {
    /// The keys a measure of this form takes besides name, label and kind.
    fn keys(&self) -> &'static [&'static str] {
        match self {
            Form::Metric => &["metric", "tick", "window"],
            Form::Run(_) => &[],
            Form::Scored(_) => &["tick", "horizon"],
        }
    }
}

/// Every measure kind an experiment file may name, with how it is read.
const MEASURE_KINDS: &[(&str, Form)] = &[
    ("metric", Form::Metric),
    ("half_adoption_time", Form::Run(MeasureKind::HalfAdoptionTime)),
    ("local_share", Form::Run(MeasureKind::LocalShare)),
    ("feedback_lag", Form::Run(MeasureKind::FeedbackLag)),
    ("horizontal_share", Form::Run(MeasureKind::HorizontalShare)),
    ("procedural_rho", Form::Scored(|tick, horizon| MeasureKind::ProceduralRho { tick, horizon })),
    ("retrospective_rho", Form::Scored(|tick, horizon| MeasureKind::RetrospectiveRho { tick, horizon })),
    ("procedural_advantage", Form::Scored(|tick, horizon| MeasureKind::ProceduralAdvantage { tick, horizon })),
];

impl ExperimentParser<'_, '_> {
    pub(super) fn measures(&self, root: &Table<'_>, regimes: &[Regime]) -> Result<Vec<Measure>, ScenarioError> {
        let r = &self.r;
        let mut out: Vec<Measure> = Vec::new();
        let ticks = regimes.iter().map(|g| g.scenario.run.ticks).min().unwrap_or(0);
        let names: Vec<&'static str> = MEASURE_KINDS.iter().map(|k| k.0).collect();
        for (i, t) in self.array(root, "measure", MEASURE_KEYS)? {
            let section = format!("measure[{i}]");
            let seen: Vec<String> = out.iter().map(|m| m.name.clone()).collect();
            let name = self.name(t, &section, &seen)?;
            let label = self.opt_string(t, &section, "label")?.unwrap_or_else(|| name.clone());
            let kind = r.choice(Some(t), &section, "kind", &names)?.unwrap_or("metric");
            let form = &MEASURE_KINDS.iter().find(|k| k.0 == kind).expect("a listed kind").1;
            self.applies(t, &section, &format!("a {kind:?} measure"), &["name", "label", "kind"], form.keys())?;
            let kind = match form {
                Form::Metric => {
                    MeasureKind::Metric { metric: self.metric_name(t, &section)?, at: self.at(t, &section, ticks)? }
                }
                Form::Run(k) => k.clone(),
                Form::Scored(make) => {
                    let (at, horizon) = self.scored(t, &section, kind, ticks)?;
                    make(at, horizon)
                }
            };
            out.push(Measure { name, label, kind });
        }
        Ok(out)
    }

    /// A tick of a measure, in [0, ticks].
    fn tick(&self, t: &Table<'_>, section: &str, key: &str, ticks: u32) -> Result<Option<u32>, ScenarioError> {
        let r = &self.r;
        r.get(Some(t), section, key)?
            .map(|(v, span)| r.int(&v, span, &format!("{section}.{key}"), 0, ticks as i64).map(|i| i as u32))
            .transpose()
    }

    /// When a metric measure is taken: the last tick, one `tick`, or the mean over a `window`.
    fn at(&self, t: &Table<'_>, section: &str, ticks: u32) -> Result<At, ScenarioError> {
        let r = &self.r;
        Ok(match (self.tick(t, section, "tick", ticks)?, t.get("window")) {
            (Some(_), Some(w)) => {
                return Err(r.err(w.span(), &format!("{section}.window"), "give `tick` or `window`, not both"));
            }
            (Some(k), None) => At::Tick(k),
            (None, Some(w)) => {
                let p = format!("{section}.window");
                let arr = w
                    .get_ref()
                    .as_array()
                    .filter(|a| a.len() == 2)
                    .ok_or_else(|| r.err(w.span(), &p, "expected two ticks, [from, to]"))?;
                let from = r.int(&r.value(&arr[0], &p)?, arr[0].span(), &p, 0, ticks as i64)? as u32;
                let to = r.int(&r.value(&arr[1], &p)?, arr[1].span(), &p, 0, ticks as i64)? as u32;
                if from > to {
                    return Err(r.err(w.span(), &p, format!("the window [{from}, {to}] ends before it starts")));
                }
                At::Window(from, to)
            }
            (None, None) => At::Final,
        })
    }

    /// The `tick` at which a score is taken and the `horizon` of the growth it predicts
    /// (default 10), which must end by the last tick.
    fn scored(&self, t: &Table<'_>, section: &str, kind: &str, ticks: u32) -> Result<(u32, u32), ScenarioError> {
        let at = self.tick(t, section, "tick", ticks)?.ok_or_else(|| {
            ScenarioError::new(self.r.file, format!("a {kind:?} measure needs `tick` (when the scores are taken)"))
                .key(format!("{section}.tick"))
        })?;
        let horizon = self.tick(t, section, "horizon", ticks)?.unwrap_or(10).max(1);
        if at + horizon > ticks {
            let span = t.get("tick").expect("present").span();
            return Err(self.r.err(
                span,
                &format!("{section}.tick"),
                format!("tick {at} + horizon {horizon} is past the last tick {ticks}"),
            ));
        }
        Ok((at, horizon))
    }
}
