//! The `[experiment]` table: id, title, claim, source, seed and how many replications, and
//! the order in which the other sections are read.

use super::parse::ExperimentParser;
use super::types::{Experiment, Replications};
use crate::input::Table;
use crate::scenario::{MAX_REPLICATIONS, ScenarioError, Value};

const TOP: &[&str] = &["experiment", "regime", "measure", "test", "map", "figure"];
const EXPERIMENT_KEYS: &[&str] = &[
    "id",
    "title",
    "claim",
    "source",
    "published",
    "seed",
    "replications",
    "min_replications",
    "max_replications",
    "half_width",
    "quick_replications",
];

impl ExperimentParser<'_, '_> {
    pub(super) fn experiment(&self, root: &Table<'_>, text: &str) -> Result<Experiment, ScenarioError> {
        let r = &self.r;
        for (k, _) in root.iter() {
            r.known(k, "", TOP, "the sections of an experiment file are")?;
        }
        let e = r.section(root, "experiment", EXPERIMENT_KEYS)?.ok_or_else(|| {
            ScenarioError::new(r.file, "an experiment file needs an [experiment] section")
                .key("experiment")
                .help("with at least `id` and `title`")
        })?;
        let id = self.required_string(e, "experiment", "id")?;
        if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
            let span = e.get("id").expect("present").span();
            return Err(r.err(span, "experiment.id", format!("{id:?}: expected letters, digits, '_' or '-'")));
        }
        let title = self.required_string(e, "experiment", "title")?;
        let claim = self.opt_string(e, "experiment", "claim")?.unwrap_or_default();
        let source = self.opt_string(e, "experiment", "source")?.unwrap_or_default();
        let published = match r.get(Some(e), "experiment", "published")? {
            Some((Value::Bool(b), _)) => b,
            Some((v, span)) => {
                return Err(r.err(span, "experiment.published", format!("expected true or false, found {v}")));
            }
            None => false,
        };
        let seed = match r.get(Some(e), "experiment", "seed")? {
            Some((v, span)) => r.int(&v, span, "experiment.seed", 0, i64::MAX)? as u64,
            None => 1,
        };
        let replications = self.replications(e)?;
        let quick_replications = match r.get(Some(e), "experiment", "quick_replications")? {
            Some((v, span)) => r.int(&v, span, "experiment.quick_replications", 2, MAX_REPLICATIONS as i64)? as u32,
            None => 5,
        };
        let regimes = self.regimes(root, seed)?;
        let measures = self.measures(root, &regimes)?;
        let (tests, main) = self.tests(root, &regimes, &measures)?;
        let map = self.map(root, &regimes, &tests, main)?;
        let figures = self.figures(root, &regimes, &measures)?;
        Ok(Experiment {
            id,
            title,
            claim,
            source,
            published,
            seed,
            replications,
            quick_replications,
            regimes,
            measures,
            tests,
            main,
            map,
            figures,
            text: text.to_string(),
        })
    }

    fn replications(&self, e: &Table<'_>) -> Result<Replications, ScenarioError> {
        let r = &self.r;
        let n = |key: &str, min: i64| -> Result<Option<u32>, ScenarioError> {
            r.get(Some(e), "experiment", key)?
                .map(|(v, span)| {
                    r.int(&v, span, &format!("experiment.{key}"), min, MAX_REPLICATIONS as i64).map(|i| i as u32)
                })
                .transpose()
        };
        let auto_keys = ["min_replications", "max_replications", "half_width"];
        match r.get(Some(e), "experiment", "replications")? {
            Some((Value::Str(s), _)) if s == "auto" => {}
            Some((v, span)) => {
                let fixed =
                    r.int(&v, span.clone(), "experiment.replications", 2, MAX_REPLICATIONS as i64).map_err(|err| {
                        err.help("an integer of at least 2, or \"auto\" (enough for the main test's CI half-width)")
                    })? as u32;
                if let Some(k) = auto_keys.iter().find(|k| e.get(**k).is_some()) {
                    let s = e.get(*k).expect("present").span();
                    return Err(r
                        .err(s, &format!("experiment.{k}"), "applies only with replications = \"auto\"")
                        .help("remove it, or set replications = \"auto\""));
                }
                return Ok(Replications::Fixed(fixed));
            }
            None => {}
        }
        let min = n("min_replications", 2)?.unwrap_or(20);
        let max = n("max_replications", 2)?.unwrap_or(1000);
        if min > max {
            let span = e.get("min_replications").or(e.get("max_replications")).expect("one is set").span();
            return Err(r.err(
                span,
                "experiment.min_replications",
                format!("min_replications {min} is above max_replications {max}"),
            ));
        }
        let half_width = self.float(e, "experiment", "half_width", 1e-9, 1e9)?.unwrap_or(0.01);
        Ok(Replications::Auto { min, max, half_width })
    }
}
