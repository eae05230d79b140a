//! Experiment files: a hypothesis as data. An experiment names the regimes it compares (each a
//! scenario with overrides, optionally over a grid of parameter values), the measures taken
//! from every run, the tests that turn measures into an effect, a 95% CI and a verdict, the
//! map over which the main test is repeated, and the figures of the report. Parsed with the
//! error quality of scenario files.

use std::path::Path;

use toml::Spanned;
use toml::de::DeValue;

use crate::input::{Reader, Span, Table, param_entries};
use crate::scenario::{MAX_REPLICATIONS, ParamSpec, RESERVED, Scenario, ScenarioError, Value, short, suggest};
use crate::sweep::design::grid_values;
use crate::sweep::file::{Axis, DesignKind};

/// How many replications an experiment runs (per condition and map cell alike).
#[derive(Clone, Debug, PartialEq)]
pub enum Replications {
    Fixed(u32),
    /// Start at `min` and add replications until the main test's 95% CI half-width is at
    /// most `half_width`, or `max` is reached.
    Auto {
        min: u32,
        max: u32,
        half_width: f64,
    },
}

/// One regime: a scenario with overrides; with axes, one condition per grid point.
#[derive(Clone, Debug)]
pub struct Regime {
    pub name: String,
    pub label: String,
    /// The file the scenario came from, as written in the experiment.
    pub source: String,
    /// The scenario with `set` applied (and the experiment's seed).
    pub scenario: Scenario,
    pub axes: Vec<Axis>,
}

/// What a measure reads from one run.
#[derive(Clone, Debug, PartialEq)]
pub enum MeasureKind {
    /// A ticks.csv metric: at the last tick, at one tick, or its mean over a window.
    Metric { metric: &'static str, at: At },
    /// Mean ticks from a local innovation's origin to the first tick at which half the
    /// active zones hold it, over the innovations that get there (NaN when none does).
    HalfAdoptionTime,
    /// Share of the programme's changes whose new setting came from a zone's experiment.
    LocalShare,
    /// Mean ticks from a local innovation's origin to its adoption into the programme.
    FeedbackLag,
    /// Horizontal adoptions / (horizontal + vertical adoptions), over the whole run.
    HorizontalShare,
    /// Spearman correlation of the procedural score at `tick` with performance growth over
    /// (tick, tick + horizon].
    ProceduralRho { tick: u32, horizon: u32 },
    /// The same for observed performance at `tick` (the retrospective index).
    RetrospectiveRho { tick: u32, horizon: u32 },
    /// ProceduralRho minus RetrospectiveRho, per run.
    ProceduralAdvantage { tick: u32, horizon: u32 },
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum At {
    Final,
    Tick(u32),
    Window(u32, u32),
}

#[derive(Clone, Debug)]
pub struct Measure {
    pub name: String,
    pub label: String,
    pub kind: MeasureKind,
}

/// One side of a test: a regime and, for a regime with axes, the values that pick one of
/// its conditions.
#[derive(Clone, Debug, PartialEq)]
pub struct Side {
    pub regime: usize,
    pub at: Vec<(&'static ParamSpec, Value)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    Greater,
    Less,
}

#[derive(Clone, Debug, PartialEq)]
pub enum TestKind {
    /// Paired difference a - b of a measure; expect its sign.
    Difference { measure: usize, a: Side, b: Side, expect: Expect },
    /// The mean of a measure in one condition against a threshold.
    Level { measure: usize, a: Side, threshold: f64, expect: Expect },
    /// The share of paired runs in which a's measure beats b's (ties count half), against
    /// a threshold.
    Share { measure: usize, a: Side, b: Side, threshold: f64, expect: Expect },
    /// The tick from which b's mean metric stays above a's, having been below it.
    Crossover { metric: &'static str, a: Side, b: Side },
}

impl TestKind {
    /// The conditions the test compares: a, then b where there is one.
    pub fn sides(&self) -> Vec<&Side> {
        match self {
            TestKind::Difference { a, b, .. } | TestKind::Share { a, b, .. } | TestKind::Crossover { a, b, .. } => {
                vec![a, b]
            }
            TestKind::Level { a, .. } => vec![a],
        }
    }
}

#[derive(Clone, Debug)]
pub struct Test {
    pub name: String,
    pub label: String,
    pub kind: TestKind,
}

/// Where the main test holds: repeated over a grid of (usually) ruggedness and context
/// similarity, applied to every regime of the test.
#[derive(Clone, Debug)]
pub struct MapSpec {
    pub axes: Vec<Axis>,
    pub test: usize,
    pub replications: u32,
    pub quick_replications: u32,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Figure {
    /// A metric per tick, one line per condition of the regimes, with a 95% CI band.
    Series { title: String, metric: &'static str, regimes: Vec<usize> },
    /// A measure against a regime's axis `x`, one line per value of axis `group`.
    Curve { title: String, measure: usize, regime: usize, x: usize, group: Option<usize> },
}

/// A parsed, validated experiment file.
#[derive(Clone, Debug)]
pub struct Experiment {
    pub id: String,
    pub title: String,
    pub claim: String,
    pub source: String,
    /// A published result (a failure to reproduce it is a bug) rather than a seed's claim.
    pub published: bool,
    pub seed: u64,
    pub replications: Replications,
    pub quick_replications: u32,
    pub regimes: Vec<Regime>,
    pub measures: Vec<Measure>,
    pub tests: Vec<Test>,
    /// The test whose CI sets the number of replications and that the map repeats.
    pub main: usize,
    pub map: Option<MapSpec>,
    pub figures: Vec<Figure>,
    /// The file's text, quoted in the report.
    pub text: String,
}

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
const REGIME_KEYS: &[&str] = &["name", "label", "scenario", "set", "axes"];
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
const TEST_KEYS: &[&str] =
    &["name", "label", "kind", "measure", "metric", "a", "b", "at", "a_at", "b_at", "expect", "threshold", "main"];
const MAP_KEYS: &[&str] = &["axes", "test", "replications", "quick_replications"];
const FIGURE_KEYS: &[&str] = &["kind", "title", "metric", "regimes", "measure", "regime", "x", "group"];

/// Finds a scenario named in an experiment file: its text and a name for errors.
pub type ScenarioSource<'a> = dyn Fn(&str) -> Option<(String, String)> + 'a;

impl Experiment {
    /// Reads an experiment file; scenario paths in it are relative to the file.
    pub fn load(path: &Path) -> Result<Experiment, ScenarioError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| ScenarioError::new(&name, format!("cannot read the experiment file: {e}")))?;
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let find = |rel: &str| {
            let full = dir.join(rel);
            std::fs::read_to_string(&full).ok().map(|t| (t, full.display().to_string()))
        };
        Experiment::parse(&text, &name, &find)
    }

    /// Parses experiment text; `find` resolves the scenario paths it names.
    pub fn parse(text: &str, file: &str, find: &ScenarioSource<'_>) -> Result<Experiment, ScenarioError> {
        let root = crate::input::parse(text, file)?;
        let r = Reader::new(text, file, Path::new(""));
        ExperimentParser { r, find }.experiment(&root, text).map_err(|e| place_missing(e, text))
    }

    /// Every condition (regime x grid point of its axes), in order.
    pub fn conditions(&self) -> Vec<Condition> {
        let mut out = Vec::new();
        for (i, g) in self.regimes.iter().enumerate() {
            for values in crate::sweep::design::grid(&g.axes) {
                out.push(Condition { regime: i, values });
            }
        }
        out
    }

    /// The index in `conditions` of a test side.
    pub fn condition_of(&self, conditions: &[Condition], side: &Side) -> usize {
        let g = &self.regimes[side.regime];
        conditions
            .iter()
            .position(|c| {
                c.regime == side.regime
                    && side.at.iter().all(|(spec, v)| {
                        g.axes.iter().zip(&c.values).any(|(a, cv)| std::ptr::eq(a.spec, *spec) && same(cv, v))
                    })
            })
            .expect("sides are validated against the regime's axes")
    }
}

/// An error about a key that is missing (so has no place of its own) is placed at the
/// header of the table that lacks it: `test[2].threshold` at the third `[[test]]`,
/// `experiment.id` at `[experiment]`; failing that, at the top of the file.
fn place_missing(mut e: ScenarioError, text: &str) -> ScenarioError {
    if e.at.is_some() {
        return e;
    }
    let key = e.key.clone().unwrap_or_default();
    let name_end = key.find(['.', '[']).unwrap_or(key.len());
    let name = &key[..name_end];
    let index: Option<usize> =
        key[name_end..].strip_prefix('[').and_then(|rest| rest.split(']').next()).and_then(|i| i.parse().ok());
    let mut seen = 0;
    let mut at = (1, 1);
    for (n, line) in text.split('\n').enumerate() {
        let bare: String = line.chars().filter(|c| !c.is_whitespace()).collect();
        let header = match index {
            Some(_) => bare.starts_with(&format!("[[{name}]]")),
            None => bare.starts_with(&format!("[{name}]")) || bare.starts_with(&format!("[[{name}]]")),
        };
        if !name.is_empty() && header {
            if index.is_none_or(|i| i == seen) {
                at = (n + 1, 1);
                break;
            }
            seen += 1;
        }
    }
    e.at = Some(at);
    e
}

/// One regime at one point of its axes.
#[derive(Clone, Debug, PartialEq)]
pub struct Condition {
    pub regime: usize,
    pub values: Vec<Value>,
}

fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Float(x), Value::Int(i)) | (Value::Int(i), Value::Float(x)) => *x == *i as f64,
        _ => a == b,
    }
}

struct ExperimentParser<'a, 'f> {
    r: Reader<'a>,
    find: &'f ScenarioSource<'f>,
}

type Item<'i> = Spanned<DeValue<'i>>;

impl ExperimentParser<'_, '_> {
    fn experiment(&self, root: &Table<'_>, text: &str) -> Result<Experiment, ScenarioError> {
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

    fn required_string(&self, t: &Table<'_>, section: &str, key: &str) -> Result<String, ScenarioError> {
        self.opt_string(t, section, key)?.ok_or_else(|| {
            ScenarioError::new(self.r.file, format!("[{section}] needs `{key}`")).key(format!("{section}.{key}"))
        })
    }

    fn opt_string(&self, t: &Table<'_>, section: &str, key: &str) -> Result<Option<String>, ScenarioError> {
        self.r
            .get(Some(t), section, key)?
            .map(|(v, span)| self.r.string(&v, span, &format!("{section}.{key}")))
            .transpose()
    }

    fn float(&self, t: &Table<'_>, section: &str, key: &str, min: f64, max: f64) -> Result<Option<f64>, ScenarioError> {
        let Some((v, span)) = self.r.get(Some(t), section, key)? else { return Ok(None) };
        let x = match v {
            Value::Int(i) => i as f64,
            Value::Float(x) => x,
            other => {
                return Err(self.r.err(span, &format!("{section}.{key}"), format!("expected a number, found {other}")));
            }
        };
        let path = format!("{section}.{key}");
        if !x.is_finite() {
            return Err(self.r.err(span, &path, format!("{x} is not allowed: expected a finite number")));
        }
        if !(x >= min && x <= max) {
            let allowed = if min == f64::MIN && max == f64::MAX {
                "a finite number".to_string()
            } else {
                format!("a number in [{}, {}]", short(min), short(max))
            };
            return Err(self.r.err(span, &path, format!("{}: expected {allowed}", short(x))));
        }
        Ok(Some(x))
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

    /// The items of an array of tables (`[[name]]`), each checked for known keys.
    fn array<'t, 'i>(
        &self,
        root: &'t Table<'i>,
        name: &str,
        keys: &[&str],
    ) -> Result<Vec<(usize, &'t Table<'i>)>, ScenarioError> {
        let Some(v) = root.get(name) else { return Ok(Vec::new()) };
        let arr = v.get_ref().as_array().ok_or_else(|| {
            self.r.err(v.span(), name, format!("expected [[{name}]] tables, found {}", v.get_ref().type_str()))
        })?;
        let mut out = Vec::new();
        for (i, item) in arr.iter().enumerate() {
            let t = item.get_ref().as_table().ok_or_else(|| {
                self.r.err(item.span(), name, format!("expected a table, found {}", item.get_ref().type_str()))
            })?;
            for (k, _) in t.iter() {
                self.r.known(k, &format!("{name}[{i}]"), keys, &format!("the keys of [[{name}]] are"))?;
            }
            out.push((i, t));
        }
        Ok(out)
    }

    /// A name that is a plain identifier and unique among `seen`.
    fn name(&self, t: &Table<'_>, section: &str, seen: &[String]) -> Result<String, ScenarioError> {
        let name = self.required_string(t, section, "name")?;
        let span = t.get("name").expect("present").span();
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
            return Err(self.r.err(
                span,
                &format!("{section}.name"),
                format!("{name:?}: expected letters, digits, '_' or '-'"),
            ));
        }
        if seen.contains(&name) {
            return Err(self.r.err(span, &format!("{section}.name"), format!("the name {name:?} is used twice")));
        }
        Ok(name)
    }

    fn regimes(&self, root: &Table<'_>, seed: u64) -> Result<Vec<Regime>, ScenarioError> {
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

    /// `{ "centre.tolerance" = 0.5, zones = { supervisors = 2 } }`: parameters and values,
    /// each checked against the scenario.
    fn assignments(
        &self,
        v: &Item<'_>,
        path: &str,
        base: &Scenario,
    ) -> Result<Vec<(&'static ParamSpec, Value, Span)>, ScenarioError> {
        let r = &self.r;
        let t = v.get_ref().as_table().ok_or_else(|| {
            r.err(v.span(), path, format!("expected a table of parameters, found {}", v.get_ref().type_str()))
        })?;
        let mut out = Vec::new();
        for (name, span, val) in param_entries(t, |_| false) {
            let spec = r.param(&name, span.clone(), path)?;
            if RESERVED.contains(&name.as_str()) {
                return Err(r
                    .err(span, path, format!("`{name}` is set by the experiment itself"))
                    .help("use [experiment] seed and replications"));
            }
            let value = r.param_value(val, spec, &format!("{path}.\"{name}\""), base)?;
            out.push((spec, value, val.span()));
        }
        Ok(out)
    }

    fn measures(&self, root: &Table<'_>, regimes: &[Regime]) -> Result<Vec<Measure>, ScenarioError> {
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

    /// Rejects a key of an item that its kind does not take (`what`: "a \"level\" test"):
    /// the item's keys must be in `common` or `allowed`.
    fn applies(
        &self,
        t: &Table<'_>,
        section: &str,
        what: &str,
        common: &[&str],
        allowed: &[&str],
    ) -> Result<(), ScenarioError> {
        match t
            .iter()
            .find(|(k, _)| !common.contains(&k.get_ref().as_ref()) && !allowed.contains(&k.get_ref().as_ref()))
        {
            Some((k, v)) => {
                let k = k.get_ref().as_ref();
                Err(self.r.err(v.span(), &format!("{section}.{k}"), format!("`{k}` does not apply to {what}")))
            }
            None => Ok(()),
        }
    }

    fn metric_name(&self, t: &Table<'_>, section: &str) -> Result<&'static str, ScenarioError> {
        let name = self.required_string(t, section, "metric")?;
        let span = t.get("metric").expect("present").span();
        Ok(self.r.metric(&name, span, &format!("{section}.metric"))?.0)
    }

    /// A reference by name to one of `names`, with a suggestion when it is misspelt.
    fn reference(
        &self,
        t: &Table<'_>,
        section: &str,
        key: &str,
        what: &str,
        names: &[&str],
    ) -> Result<usize, ScenarioError> {
        let r = &self.r;
        let name = self.required_string(t, section, key)?;
        let span = t.get(key).expect("present").span();
        names.iter().position(|n| *n == name).ok_or_else(|| {
            let e = r.err(span, &format!("{section}.{key}"), format!("no {what} named {name:?}"));
            match suggest::nearest(&name, names.iter().copied()) {
                Some(n) => e.help(format!("did you mean \"{n}\"?")),
                None => e.help(format!("the {what}s are {}", names.join(", "))),
            }
        })
    }

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

    fn tests(
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
            let kind = r
                .choice(Some(t), &section, "kind", &["difference", "level", "share", "crossover"])?
                .ok_or_else(|| {
                    ScenarioError::new(
                        r.file,
                        "a test needs `kind`: \"difference\", \"level\", \"share\" or \"crossover\"",
                    )
                    .key(format!("{section}.kind"))
                })?;
            let allowed: &[&str] = match kind {
                "difference" => &["measure", "a", "b", "at", "a_at", "b_at", "expect"],
                "level" => &["measure", "a", "at", "a_at", "expect", "threshold"],
                "share" => &["measure", "a", "b", "at", "a_at", "b_at", "expect", "threshold"],
                _ => &["metric", "a", "b", "at", "a_at", "b_at"],
            };
            self.applies(t, &section, &format!("a {kind:?} test"), &["name", "label", "kind", "main"], allowed)?;
            let measure = || self.reference(t, &section, "measure", "measure", &measure_names);
            let threshold = || -> Result<f64, ScenarioError> {
                self.float(t, &section, "threshold", f64::MIN, f64::MAX)?.ok_or_else(|| {
                    ScenarioError::new(r.file, format!("a {kind:?} test needs `threshold`"))
                        .key(format!("{section}.threshold"))
                })
            };
            let kind = match kind {
                "difference" => TestKind::Difference {
                    measure: measure()?,
                    a: self.side(t, &section, "a", regimes)?,
                    b: self.side(t, &section, "b", regimes)?,
                    expect: self.expect(t, &section)?,
                },
                "level" => TestKind::Level {
                    measure: measure()?,
                    a: self.side(t, &section, "a", regimes)?,
                    threshold: threshold()?,
                    expect: self.expect(t, &section)?,
                },
                "share" => TestKind::Share {
                    measure: measure()?,
                    a: self.side(t, &section, "a", regimes)?,
                    b: self.side(t, &section, "b", regimes)?,
                    threshold: threshold()?,
                    expect: self.expect(t, &section)?,
                },
                _ => TestKind::Crossover {
                    metric: self.metric_name(t, &section)?,
                    a: self.side(t, &section, "a", regimes)?,
                    b: self.side(t, &section, "b", regimes)?,
                },
            };
            if let Some((v, span)) = r.get(Some(t), &section, "main")? {
                match v {
                    Value::Bool(true) if main.is_some() => {
                        return Err(r.err(span, &format!("{section}.main"), "only one test can be the main one"));
                    }
                    Value::Bool(true) if matches!(kind, TestKind::Crossover { .. }) => {
                        return Err(r
                            .err(span, &format!("{section}.main"), "a crossover test cannot be the main one")
                            .help("its effect is a tick, not a quantity with a CI target"));
                    }
                    Value::Bool(b) => main = b.then_some(out.len()).or(main),
                    other => {
                        return Err(r.err(
                            span,
                            &format!("{section}.main"),
                            format!("expected true or false, found {other}"),
                        ));
                    }
                }
            }
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

    fn map(
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

    fn figures(
        &self,
        root: &Table<'_>,
        regimes: &[Regime],
        measures: &[Measure],
    ) -> Result<Vec<Figure>, ScenarioError> {
        let r = &self.r;
        let names: Vec<&str> = regimes.iter().map(|g| g.name.as_str()).collect();
        let measure_names: Vec<&str> = measures.iter().map(|m| m.name.as_str()).collect();
        let mut out = Vec::new();
        for (i, t) in self.array(root, "figure", FIGURE_KEYS)? {
            let section = format!("figure[{i}]");
            let kind = r.choice(Some(t), &section, "kind", &["series", "curve"])?.unwrap_or("series");
            let title = self.opt_string(t, &section, "title")?;
            let allowed: &[&str] =
                if kind == "series" { &["metric", "regimes"] } else { &["measure", "regime", "x", "group"] };
            self.applies(t, &section, &format!("a {kind:?} figure"), &["kind", "title"], allowed)?;
            if kind == "series" {
                let metric = self.metric_name(t, &section)?;
                let regimes_idx = match t.get("regimes") {
                    None => (0..regimes.len()).collect(),
                    Some(v) => {
                        let arr = v.get_ref().as_array().ok_or_else(|| {
                            r.err(v.span(), &format!("{section}.regimes"), "expected a list of regime names")
                        })?;
                        let mut idx = Vec::new();
                        for item in arr.iter() {
                            let s = r.string(
                                &r.value(item, &format!("{section}.regimes"))?,
                                item.span(),
                                &format!("{section}.regimes"),
                            )?;
                            let Some(p) = names.iter().position(|n| *n == s) else {
                                let e =
                                    r.err(item.span(), &format!("{section}.regimes"), format!("no regime named {s:?}"));
                                return Err(match suggest::nearest(&s, names.iter().copied()) {
                                    Some(n) => e.help(format!("did you mean \"{n}\"?")),
                                    None => e.help(format!("the regimes are {}", names.join(", "))),
                                });
                            };
                            idx.push(p);
                        }
                        idx
                    }
                };
                out.push(Figure::Series {
                    title: title.unwrap_or_else(|| metric.replace('_', " ")),
                    metric,
                    regimes: regimes_idx,
                });
            } else {
                let measure = self.reference(t, &section, "measure", "measure", &measure_names)?;
                let regime = self.reference(t, &section, "regime", "regime", &names)?;
                let axis_names: Vec<String> = regimes[regime].axes.iter().map(|a| a.name()).collect();
                let axis_refs: Vec<&str> = axis_names.iter().map(String::as_str).collect();
                if axis_refs.is_empty() {
                    let span = t.get("regime").expect("present").span();
                    return Err(r.err(span, &format!("{section}.regime"), "a curve needs a regime with `axes`"));
                }
                let x = self.reference(t, &section, "x", "axis", &axis_refs)?;
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
                    Some(_) => Some(self.reference(t, &section, "group", "axis", &axis_refs)?),
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
                out.push(Figure::Curve { title, measure, regime, x, group });
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h3() -> String {
        std::fs::read_to_string("experiments/H3_feedback.toml").unwrap()
    }

    fn parse(text: &str) -> Result<Experiment, ScenarioError> {
        let find = |rel: &str| {
            let full = Path::new("experiments").join(rel);
            std::fs::read_to_string(&full).ok().map(|t| (t, full.display().to_string()))
        };
        Experiment::parse(text, "H3.toml", &find)
    }

    #[test]
    fn a_nan_threshold_is_refused_in_a_few_words() {
        for bad in ["nan", "inf", "-inf"] {
            let text = h3().replacen("threshold = 0.5", &format!("threshold = {bad}"), 1);
            let e = parse(&text).unwrap_err();
            assert_eq!(e.key.as_deref(), Some("test[0].threshold"), "{e}");
            assert_eq!(e.at, Some((50, 13)), "{e}");
            assert!(e.message.contains("finite"), "{e}");
            assert!(e.to_string().len() < 120, "{e}");
        }
    }

    #[test]
    fn bounds_are_printed_short() {
        let text: String = h3()
            .lines()
            .map(|l| if l.starts_with("half_width") { "half_width = 1e300\n".to_string() } else { format!("{l}\n") })
            .collect();
        let e = parse(&text).unwrap_err();
        assert!(e.message.contains("[1e-9, 1e9]"), "{e}");
        assert!(e.to_string().len() < 120, "{e}");
    }

    #[test]
    fn a_missing_key_is_placed_at_its_table() {
        let text = h3().replacen("threshold = 0.5\n", "", 1);
        let e = parse(&text).unwrap_err();
        assert_eq!(e.key.as_deref(), Some("test[0].threshold"), "{e}");
        assert_eq!(e.at, Some((44, 1)), "{e}");
    }

    #[test]
    fn syntax_errors_have_a_place() {
        let e = parse(&format!("{}\n[{}b]\n", h3(), "a.".repeat(300))).unwrap_err();
        assert!(e.at.is_some_and(|(line, _)| line > 80), "{e}");
        let e = parse(&h3().replacen("kind = \"level\"", "kind = \"level\"\nkind = \"share\"", 1)).unwrap_err();
        assert!(e.message.contains("duplicate key `kind`"), "{e}");
    }
}
