//! Sweep files: a base scenario, the axes to vary, the design, and what to keep of each
//! run. Parsed with the same error quality as scenario files (file, line, column, key,
//! what is allowed, the nearest known name), and written back in a normalised form that
//! the plan directory keeps beside the resolved base scenario.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use toml::Spanned;
use toml::de::DeValue;

use crate::input::{Reader, Span, Table, param_entries};
use crate::output::metrics::{METRICS, Metric, is_firm_metric, is_knowledge_metric, metric};
use crate::scenario::LandscapeKind;
use crate::scenario::{
    Domain, MAX_REPLICATIONS, ParamSpec, RESERVED, Scenario, ScenarioError, Value, all_specs, spec, suggest,
};

/// How the seeds of design points relate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Seeds {
    /// Every design point uses the same master seed: replication r of every point sees the
    /// same landscapes, network and starting draws (a paired design, as Lazer & Friedman's).
    Common,
    /// Each design point gets its own master seed, derived from the sweep seed and the point.
    Independent,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DesignKind {
    /// Every combination of the axes' values.
    Grid,
    /// `samples` points drawn uniformly and independently.
    Random,
    /// `samples` points of a Latin hypercube: each axis cut into `samples` equal strata,
    /// each stratum used once.
    Lhs,
}

/// What is kept of each run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Keep {
    /// Every `every`-th tick (and the last).
    All { every: u32 },
    /// The last tick only.
    Final,
    /// The mean over ticks `from..=to`.
    Window { from: u32, to: u32 },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scale {
    Linear,
    Log,
}

/// The values an axis takes.
#[derive(Clone, Debug, PartialEq)]
pub enum AxisValues {
    /// Exactly these values (grid), or sampled from them with equal weight (random, lhs).
    List(Vec<Value>),
    /// A closed interval: `steps` points for a grid (every integer when the parameter is an
    /// integer and `steps` is left out), sampled for random and lhs designs.
    Range { from: f64, to: f64, steps: Option<u32>, scale: Scale },
}

#[derive(Clone, Debug, PartialEq)]
pub struct Axis {
    pub spec: &'static ParamSpec,
    pub values: AxisValues,
}

impl Axis {
    pub fn name(&self) -> String {
        self.spec.path()
    }
}

/// Defaults for `esh sweep slurm` (its flags override them).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SlurmDefaults {
    pub tasks: Option<u32>,
    pub time: Option<String>,
    pub partition: Option<String>,
    pub memory: Option<String>,
    pub cpus: Option<u32>,
    pub account: Option<String>,
    pub throttle: Option<u32>,
    /// Extra `#SBATCH` lines, each an sbatch option such as "--qos=normal".
    pub extra: Vec<String>,
}

/// A parsed, validated sweep file.
#[derive(Clone, Debug)]
pub struct SweepFile {
    pub base: Scenario,
    pub replications: u32,
    pub seed: u64,
    pub seeds: Seeds,
    pub design: DesignKind,
    /// Design points of a random or lhs design.
    pub samples: u32,
    pub keep: Keep,
    /// Whether `merge` writes summary.csv.
    pub summary: bool,
    pub metrics: Vec<&'static Metric>,
    pub axes: Vec<Axis>,
    pub slurm: SlurmDefaults,
}

const TOP: &[&str] = &["sweep", "scenario", "axes", "keep", "slurm"];

/// One key of a sweep file: where it goes, what it takes, its default and meaning. The
/// parser's lists of known keys and the reference page (`docs/sweeps.md`, from
/// [`reference`]) both come from [`KEYS`], so they cannot disagree.
pub struct KeyDoc {
    pub section: &'static str,
    pub key: &'static str,
    pub allowed: &'static str,
    pub default: &'static str,
    pub doc: &'static str,
}

/// Every key of the `[sweep]`, `[keep]` and `[slurm]` tables and of an axis range.
pub const KEYS: &[KeyDoc] = &[
    KeyDoc {
        section: "sweep",
        key: "scenario",
        allowed: "a path to a scenario file, relative to the sweep file",
        default: "none: give it, or an inline `[scenario]` table",
        doc: "The base scenario every run starts from; the axes change it.",
    },
    KeyDoc {
        section: "sweep",
        key: "replications",
        allowed: "an integer in [1, 100000]",
        default: "the base scenario's `run.replications`",
        doc: "Replications of every design point (run r is replication r % replications of point r / replications).",
    },
    KeyDoc {
        section: "sweep",
        key: "seed",
        allowed: "an integer in [0, 9223372036854775807]",
        default: "the base scenario's `run.seed`",
        doc: "Master seed of the design (sampled points) and of the runs.",
    },
    KeyDoc {
        section: "sweep",
        key: "seeds",
        allowed: "\"common\" or \"independent\"",
        default: "\"common\"",
        doc: "\"common\": every design point uses the sweep seed, so replication r of every point sees the same landscapes, network and starting draws (a paired design); \"independent\": each point gets its own seed, derived from the sweep seed and the point.",
    },
    KeyDoc {
        section: "sweep",
        key: "design",
        allowed: "\"grid\", \"random\" or \"lhs\"",
        default: "\"grid\"",
        doc: "\"grid\": every combination of the axes' values, the last axis varying fastest; \"random\": `samples` points drawn uniformly and independently; \"lhs\": `samples` points of a Latin hypercube (each axis cut into `samples` equal strata, each stratum used once).",
    },
    KeyDoc {
        section: "sweep",
        key: "samples",
        allowed: "an integer in [1, 10000000] (random and lhs designs only)",
        default: "none: a random or lhs design needs it",
        doc: "Design points of a random or lhs design.",
    },
    KeyDoc {
        section: "keep",
        key: "ticks",
        allowed: "\"all\", \"final\" or \"window\"",
        default: "\"all\"",
        doc: "Which ticks of each run are kept: every `every`-th tick and the last (\"all\"), the last tick only (\"final\"), or the mean over the ticks of `window` (\"window\").",
    },
    KeyDoc {
        section: "keep",
        key: "every",
        allowed: "an integer in [1, 1000000] (with ticks = \"all\" only)",
        default: "1",
        doc: "Keep every `every`-th tick (and the last).",
    },
    KeyDoc {
        section: "keep",
        key: "window",
        allowed: "two ticks `[from, to]`, 0 <= from <= to <= run.ticks (with ticks = \"window\" only)",
        default: "none: ticks = \"window\" needs it",
        doc: "Keep the mean of every metric over ticks from..=to, both included (results.csv gets `from_tick` and `to_tick` columns). A run that stops at equilibrium before the window keeps its final state.",
    },
    KeyDoc {
        section: "keep",
        key: "metrics",
        allowed: "a list of ticks.csv column names, each once",
        default: "every ticks.csv column (the firm columns only when the base scenario or an axis turns firms on)",
        doc: "The metrics kept of each run.",
    },
    KeyDoc {
        section: "keep",
        key: "summary",
        allowed: "true or false",
        default: "true",
        doc: "Whether `esh sweep merge` writes summary.csv (per design point and kept tick: n, mean, sd, 95% CI) beside results.csv. A calibration's sweep sets it to false: its statistics are in the calibration's own files.",
    },
    KeyDoc {
        section: "axes",
        key: "from",
        allowed: "a number in the parameter's range",
        default: "none: a range needs it",
        doc: "The first value of a range.",
    },
    KeyDoc {
        section: "axes",
        key: "to",
        allowed: "a number in the parameter's range, at least `from`",
        default: "none: a range needs it",
        doc: "The last value of a range.",
    },
    KeyDoc {
        section: "axes",
        key: "steps",
        allowed: "an integer in [1, 10000000] (grid designs only); over an integer parameter at most the number of integers in [from, to], with distinct values after rounding",
        default: "every integer of [from, to] for an integer parameter; a real parameter's range on a grid needs it",
        doc: "The number of values of a range on a grid, both ends included: `{ from = 0, to = 1, steps = 5 }` is 0, 0.25, 0.5, 0.75, 1.",
    },
    KeyDoc {
        section: "axes",
        key: "scale",
        allowed: "\"linear\" or \"log\" (log needs from > 0)",
        default: "\"linear\"",
        doc: "How the values of a range are spaced (grid) or sampled (random, lhs): evenly, or evenly in the logarithm.",
    },
    KeyDoc {
        section: "slurm",
        key: "tasks",
        allowed: "an integer in [1, 1000000]",
        default: "none: give it here or with --tasks",
        doc: "Array tasks, one shard each.",
    },
    KeyDoc {
        section: "slurm",
        key: "time",
        allowed: "a Slurm time limit: minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS",
        default: "the partition's",
        doc: "Time limit per task (`#SBATCH --time`).",
    },
    KeyDoc {
        section: "slurm",
        key: "partition",
        allowed: "a Slurm partition name, or several separated by commas (letters, digits, `_`, `-`, `.`)",
        default: "the cluster's default",
        doc: "Partition (`#SBATCH --partition`).",
    },
    KeyDoc {
        section: "slurm",
        key: "memory",
        allowed: "a Slurm memory size: an integer with an optional unit K, M, G or T, e.g. \"2G\"",
        default: "the partition's",
        doc: "Memory per task (`#SBATCH --mem`).",
    },
    KeyDoc {
        section: "slurm",
        key: "cpus",
        allowed: "an integer in [1, 100000]",
        default: "1",
        doc: "CPUs per task (`#SBATCH --cpus-per-task`): the task's threads.",
    },
    KeyDoc {
        section: "slurm",
        key: "account",
        allowed: "a Slurm account name (letters, digits, `_`, `-`, `.`)",
        default: "your default account",
        doc: "Account charged (`#SBATCH --account`).",
    },
    KeyDoc {
        section: "slurm",
        key: "throttle",
        allowed: "an integer in [1, 1000000]",
        default: "no limit",
        doc: "At most this many tasks at once (the array's `%` limit).",
    },
    KeyDoc {
        section: "slurm",
        key: "extra",
        allowed: "a list of sbatch options, each starting with `-`, printable, without quotes or backslashes, e.g. [\"--qos=normal\"]",
        default: "none",
        doc: "More `#SBATCH` lines, after the others.",
    },
];

/// The known keys of one table of [`KEYS`].
fn keys_of(section: &str) -> Vec<&'static str> {
    KEYS.iter().filter(|k| k.section == section).map(|k| k.key).collect()
}
/// Parameters that fix the calendar: events given by year were turned into ticks with them
/// when the base scenario was read, so an axis cannot change them.
pub(crate) const CALENDAR: &[&str] = &["run.start_year", "run.ticks_per_year"];
/// The most runs one plan may hold. Planning streams (its memory does not grow with the
/// plan), but `status` and `merge` keep an index entry per run (24 bytes), and a Latin
/// hypercube a permutation per axis: ten million keeps those under a few hundred MiB.
pub const MAX_RUNS: u64 = 10_000_000;
/// The most strata a Latin hypercube keeps (samples x axes, 4 bytes each: 100 MiB).
pub const MAX_LHS_CELLS: u64 = 25_000_000;

impl SweepFile {
    /// Reads and validates a sweep file; a `scenario` path in it is relative to the file.
    pub fn load(path: &Path) -> Result<SweepFile, ScenarioError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| ScenarioError::new(&name, format!("cannot read the sweep file: {e}")))?;
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        SweepFile::parse(&text, &name, &dir)
    }

    /// Parses sweep text; `file` names it in errors and `dir` anchors a relative
    /// `scenario` path.
    pub fn parse(text: &str, file: &str, dir: &Path) -> Result<SweepFile, ScenarioError> {
        let root = crate::input::parse(text, file)?;
        Reader::new(text, file, dir).sweep(&root)
    }

    /// Design points of the plan (a parsed sweep has at most [`MAX_RUNS`] runs, so this
    /// cannot overflow).
    pub fn points(&self) -> u64 {
        self.checked_points().expect("a parsed sweep has at most MAX_RUNS runs")
    }

    /// Design points, or None when their number does not fit in 64 bits.
    fn checked_points(&self) -> Option<u64> {
        match self.design {
            DesignKind::Grid => self.axes.iter().try_fold(1u64, |n, a| n.checked_mul(grid_len(a) as u64)),
            DesignKind::Random | DesignKind::Lhs => Some(self.samples as u64),
        }
    }

    /// Runs of the plan: design points x replications.
    pub fn runs(&self) -> u64 {
        self.points() * self.replications as u64
    }

    /// Warnings for the user at plan time: an axis that a scheduled `set` event of the base
    /// scenario overwrites varies only the ticks before that event.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        for a in &self.axes {
            for e in &self.base.events {
                if let crate::scenario::Action::Set { parameter, value } = &e.action
                    && parameter.path() == a.name()
                {
                    out.push(format!(
                        "the axis `{}` is overwritten from tick {} (year {}) by the base scenario's `set` event of `{}` at that tick (value {value}): the axis varies only the ticks before it",
                        a.name(),
                        e.tick,
                        self.base.year(e.tick),
                        a.name()
                    ));
                }
            }
        }
        out
    }

    /// The sweep in normalised form: every setting explicit, the base scenario named as
    /// `base.toml` (written beside it in the plan directory). Parsing it gives back an
    /// equal sweep (tested).
    pub fn to_toml(&self) -> String {
        let mut o = String::from(
            "# Normalised ESH sweep, written by `esh sweep plan`: every setting explicit.\n\
             # The base scenario is base.toml beside it; plan.csv lists every run.\n\n[sweep]\n",
        );
        let seeds = match self.seeds {
            Seeds::Common => "common",
            Seeds::Independent => "independent",
        };
        let design = match self.design {
            DesignKind::Grid => "grid",
            DesignKind::Random => "random",
            DesignKind::Lhs => "lhs",
        };
        writeln!(o, "scenario = \"base.toml\"\nreplications = {}\nseed = {}", self.replications, self.seed).unwrap();
        writeln!(o, "seeds = \"{seeds}\"\ndesign = \"{design}\"").unwrap();
        if self.design != DesignKind::Grid {
            writeln!(o, "samples = {}", self.samples).unwrap();
        }
        o.push_str("\n[keep]\n");
        if !self.summary {
            o.push_str("summary = false\n");
        }
        match self.keep {
            Keep::All { every } => writeln!(o, "ticks = \"all\"\nevery = {every}").unwrap(),
            Keep::Final => writeln!(o, "ticks = \"final\"").unwrap(),
            Keep::Window { from, to } => writeln!(o, "ticks = \"window\"\nwindow = [{from}, {to}]").unwrap(),
        }
        let names: Vec<String> = self.metrics.iter().map(|m| format!("{:?}", m.0)).collect();
        writeln!(o, "metrics = [{}]\n\n[axes]", names.join(", ")).unwrap();
        for a in &self.axes {
            let v = match &a.values {
                AxisValues::List(vs) => {
                    format!("[{}]", vs.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(", "))
                }
                AxisValues::Range { from, to, steps, scale } => {
                    let mut s = match a.spec.domain {
                        Domain::Int { .. } => format!("{{ from = {}, to = {}", *from as i64, *to as i64),
                        _ => format!("{{ from = {from:?}, to = {to:?}"),
                    };
                    if let Some(n) = steps {
                        write!(s, ", steps = {n}").unwrap();
                    }
                    if *scale == Scale::Log {
                        s.push_str(", scale = \"log\"");
                    }
                    s + " }"
                }
            };
            writeln!(o, "{:?} = {v}", a.name()).unwrap();
        }
        let sl = &self.slurm;
        let mut lines = Vec::new();
        let opt_n = |k: &str, v: Option<u32>| v.map(|v| format!("{k} = {v}"));
        let opt_s = |k: &str, v: &Option<String>| v.as_ref().map(|v| format!("{k} = {v:?}"));
        lines.extend(opt_n("tasks", sl.tasks));
        lines.extend(opt_s("time", &sl.time));
        lines.extend(opt_s("partition", &sl.partition));
        lines.extend(opt_s("memory", &sl.memory));
        lines.extend(opt_n("cpus", sl.cpus));
        lines.extend(opt_s("account", &sl.account));
        lines.extend(opt_n("throttle", sl.throttle));
        if !sl.extra.is_empty() {
            let ex: Vec<String> = sl.extra.iter().map(|e| format!("{e:?}")).collect();
            lines.push(format!("extra = [{}]", ex.join(", ")));
        }
        if !lines.is_empty() {
            writeln!(o, "\n[slurm]\n{}", lines.join("\n")).unwrap();
        }
        o
    }
}

/// Values of an axis on a grid.
pub fn grid_len(a: &Axis) -> usize {
    match &a.values {
        AxisValues::List(v) => v.len(),
        AxisValues::Range { from, to, steps: None, .. } => (to - from) as usize + 1,
        AxisValues::Range { steps: Some(n), .. } => *n as usize,
    }
}

impl Reader<'_> {
    /// The scenario parameter a dotted name means, or an error suggesting the nearest.
    pub(crate) fn param(&self, name: &str, span: Span, path: &str) -> Result<&'static ParamSpec, ScenarioError> {
        spec(name).ok_or_else(|| {
            let all: Vec<String> = all_specs().map(|s| s.path()).collect();
            let e = self.err(span, path, format!("unknown parameter `{name}`"));
            match suggest::nearest(name, all.iter().map(String::as_str)) {
                Some(n) => e.help(format!("did you mean `{n}`?")),
                None => e.help(
                    "a parameter is named by its dotted path, e.g. \"centre.tolerance\"; `esh params` lists them",
                ),
            }
        })
    }

    /// A value for parameter `spec` (an integer where a real is expected is widened),
    /// checked against its domain by setting it on a copy of `base`.
    pub(crate) fn param_value(
        &self,
        item: &Spanned<DeValue<'_>>,
        spec: &'static ParamSpec,
        path: &str,
        base: &Scenario,
    ) -> Result<Value, ScenarioError> {
        let mut value = self.value(item, path)?;
        if let (Domain::Float { .. }, Value::Int(i)) = (&spec.domain, &value) {
            value = Value::Float(*i as f64);
        }
        base.clone().set(spec, &value).map_err(|m| self.err(item.span(), path, m))?;
        Ok(value)
    }

    /// The ticks.csv metric of a name, or an error suggesting the nearest.
    pub(crate) fn metric(&self, name: &str, span: Span, path: &str) -> Result<&'static Metric, ScenarioError> {
        metric(name).ok_or_else(|| {
            let e = self.err(span, path, format!("unknown metric \"{name}\""));
            match suggest::nearest(name, METRICS.iter().map(|m| m.0)) {
                Some(n) => e.help(format!("did you mean \"{n}\"?")),
                None => e.help("the metrics are the columns of ticks.csv after replication, tick and year"),
            }
        })
    }

    fn sweep(&self, root: &Table<'_>) -> Result<SweepFile, ScenarioError> {
        for (k, _) in root.iter() {
            self.known(k, "", TOP, "the sections of a sweep file are")?;
        }
        let sweep = self.section(root, "sweep", &keys_of("sweep"))?;
        let (base, base_span) = self.base(root, sweep)?;
        let replications = match self.get(sweep, "sweep", "replications")? {
            Some((v, span)) => self.int(&v, span, "sweep.replications", 1, MAX_REPLICATIONS as i64)? as u32,
            // Unset: the base scenario's, as `esh run` of it would do.
            None => base.run.replications,
        };
        let seed = match self.get(sweep, "sweep", "seed")? {
            Some((v, span)) => self.int(&v, span, "sweep.seed", 0, i64::MAX)? as u64,
            None => base.run.seed,
        };
        let seeds = match self.choice(sweep, "sweep", "seeds", &["common", "independent"])? {
            Some("independent") => Seeds::Independent,
            _ => Seeds::Common,
        };
        let design = match self.choice(sweep, "sweep", "design", &["grid", "random", "lhs"])? {
            Some("random") => DesignKind::Random,
            Some("lhs") => DesignKind::Lhs,
            _ => DesignKind::Grid,
        };
        let samples = match (self.get(sweep, "sweep", "samples")?, design) {
            (Some((v, span)), DesignKind::Grid) => {
                let _ = v;
                return Err(self
                    .err(span, "sweep.samples", "`samples` applies to random and lhs designs, not to a grid")
                    .help("a grid runs every combination of the axes' values; remove `samples`"));
            }
            (Some((v, span)), _) => self.int(&v, span, "sweep.samples", 1, MAX_RUNS as i64)? as u32,
            (None, DesignKind::Grid) => 0,
            (None, _) => {
                return Err(ScenarioError::new(self.file, "a random or lhs design needs `samples`")
                    .key("sweep.samples")
                    .help("add `samples = <design points>` to [sweep]"));
            }
        };
        let (keep, mut metrics) = self.keep(root, &base)?;
        let summary = match self.get(root.get("keep").and_then(|k| k.get_ref().as_table()), "keep", "summary")? {
            None => true,
            Some((Value::Bool(b), _)) => b,
            Some((other, span)) => {
                return Err(self.err(span, "keep.summary", format!("expected true or false, found {other}")));
            }
        };
        let axes = self.axes(root, &base, design)?;
        let listed = root.get("keep").and_then(|k| k.get_ref().as_table()).is_some_and(|t| t.contains_key("metrics"));
        if !listed && axes.iter().any(|a| a.spec.path() == "firms.enabled") {
            // An axis may turn firms on: keep their columns too.
            metrics = METRICS.iter().collect();
        }
        let slurm = self.slurm(root)?;
        let s = SweepFile { base, replications, seed, seeds, design, samples, keep, summary, metrics, axes, slurm };
        // Checked: four axes of 65,536 values multiply to 2^64.
        let runs = s.checked_points().and_then(|p| p.checked_mul(s.replications as u64));
        if runs.is_none_or(|r| r > MAX_RUNS) {
            let what = match (s.design, runs) {
                (DesignKind::Grid, _) => {
                    let lens: Vec<String> = s.axes.iter().map(|a| grid_len(a).to_string()).collect();
                    format!("{} values x {} replications", lens.join(" x "), s.replications)
                }
                _ => format!("{} samples x {} replications", s.samples, s.replications),
            };
            let total = runs.map_or_else(|| "more than 2^64".to_string(), |r| r.to_string());
            return Err(ScenarioError::new(
                self.file,
                format!("the sweep has {total} runs ({what}); at most {MAX_RUNS} are supported"),
            )
            .key(if s.design == DesignKind::Grid { "axes" } else { "sweep.samples" })
            .help("fewer axis values, samples or replications"));
        }
        if s.design == DesignKind::Lhs && s.samples as u64 * s.axes.len() as u64 > MAX_LHS_CELLS {
            return Err(ScenarioError::new(
                self.file,
                format!(
                    "a Latin hypercube of {} samples over {} axes keeps {} strata in memory; at most {MAX_LHS_CELLS} (samples x axes) are supported",
                    s.samples,
                    s.axes.len(),
                    s.samples as u64 * s.axes.len() as u64
                ),
            )
            .key("sweep.samples")
            .help("fewer samples or axes, or design = \"random\" (which keeps nothing)"));
        }
        if s.axes.is_empty() && s.design != DesignKind::Grid {
            return Err(self.err(base_span, "axes", "a random or lhs design needs at least one axis in [axes]"));
        }
        Ok(s)
    }

    /// The base scenario: a path (relative to the sweep file) or an inline [scenario].
    fn base(&self, root: &Table<'_>, sweep: Option<&Table<'_>>) -> Result<(Scenario, Span), ScenarioError> {
        let path = sweep.and_then(|t| t.get("scenario"));
        let inline = root.get("scenario");
        match (path, inline) {
            (Some(p), Some(_)) => Err(self
                .err(
                    p.span(),
                    "sweep.scenario",
                    "the base scenario is given twice: as a path and as an inline [scenario]",
                )
                .help("keep one of the two")),
            (Some(p), None) => {
                let v = self.value(p, "sweep.scenario")?;
                let rel = self.string(&v, p.span(), "sweep.scenario")?;
                let full: PathBuf = self.dir.join(&rel);
                if !full.is_file() {
                    return Err(self
                        .err(p.span(), "sweep.scenario", format!("no scenario file at {}", full.display()))
                        .help("the path is relative to the sweep file's directory"));
                }
                Ok((Scenario::load(&full)?, p.span()))
            }
            (None, Some(t)) => {
                let table = t.get_ref().as_table().ok_or_else(|| {
                    self.err(t.span(), "scenario", format!("expected a table, found {}", t.get_ref().type_str()))
                })?;
                Ok((Scenario::from_table(table, self.text, self.file)?, t.span()))
            }
            (None, None) => Err(ScenarioError::new(self.file, "a sweep needs a base scenario")
                .key("sweep.scenario")
                .help("add `scenario = \"path/to/scenario.toml\"` to [sweep], or an inline [scenario] table")),
        }
    }

    fn keep(&self, root: &Table<'_>, base: &Scenario) -> Result<(Keep, Vec<&'static Metric>), ScenarioError> {
        let t = self.section(root, "keep", &keys_of("keep"))?;
        let mode = self.choice(t, "keep", "ticks", &["all", "final", "window"])?.unwrap_or("all");
        let every = self.get(t, "keep", "every")?;
        let window = t.and_then(|t| t.get("window"));
        if mode != "all"
            && let Some((_, span)) = &every
        {
            return Err(self.err(span.clone(), "keep.every", "`every` applies only with ticks = \"all\""));
        }
        if mode != "window"
            && let Some(w) = window
        {
            return Err(self.err(w.span(), "keep.window", "`window` applies only with ticks = \"window\""));
        }
        let keep = match mode {
            "all" => Keep::All {
                every: match every {
                    Some((v, span)) => self.int(&v, span, "keep.every", 1, 1_000_000)? as u32,
                    None => 1,
                },
            },
            "final" => Keep::Final,
            _ => {
                let w = window.ok_or_else(|| {
                    ScenarioError::new(self.file, "ticks = \"window\" needs `window = [from, to]`").key("keep.window")
                })?;
                let arr = w
                    .get_ref()
                    .as_array()
                    .filter(|a| a.len() == 2)
                    .ok_or_else(|| self.err(w.span(), "keep.window", "expected two ticks, [from, to]"))?;
                let ticks = base.run.ticks as i64;
                let from = self.int(&self.value(&arr[0], "keep.window")?, arr[0].span(), "keep.window", 0, ticks)?;
                let to = self.int(&self.value(&arr[1], "keep.window")?, arr[1].span(), "keep.window", 0, ticks)?;
                if from > to {
                    return Err(self.err(
                        w.span(),
                        "keep.window",
                        format!("the window [{from}, {to}] ends before it starts"),
                    ));
                }
                Keep::Window { from: from as u32, to: to as u32 }
            }
        };
        let metrics = match t.and_then(|t| t.get("metrics")) {
            // Every column, but the firm columns only when they can be other than 0, and
            // March's knowledge only on the target landscape (undefined on NK).
            None => METRICS
                .iter()
                .filter(|m| base.firms.enabled || !is_firm_metric(m.0))
                .filter(|m| base.landscape.kind == LandscapeKind::Target || !is_knowledge_metric(m.0))
                .collect(),
            Some(m) => {
                let arr = m
                    .get_ref()
                    .as_array()
                    .ok_or_else(|| self.err(m.span(), "keep.metrics", "expected a list of metric names"))?;
                let mut out: Vec<&'static Metric> = Vec::new();
                for item in arr.iter() {
                    let name = self.string(&self.value(item, "keep.metrics")?, item.span(), "keep.metrics")?;
                    let found = self.metric(&name, item.span(), "keep.metrics")?;
                    if is_knowledge_metric(found.0) && base.landscape.kind != LandscapeKind::Target {
                        return Err(self.err(
                            item.span(),
                            "keep.metrics",
                            format!(
                                "metric \"{name}\" is March's knowledge, defined only on the target landscape; \
                                 the base scenario has landscape.kind = \"nk\""
                            ),
                        ));
                    }
                    if out.iter().any(|m| m.0 == found.0) {
                        return Err(self.err(
                            item.span(),
                            "keep.metrics",
                            format!("metric \"{name}\" is listed twice"),
                        ));
                    }
                    out.push(found);
                }
                if out.is_empty() {
                    return Err(self.err(
                        m.span(),
                        "keep.metrics",
                        "the list is empty; leave `metrics` out to keep them all",
                    ));
                }
                out
            }
        };
        Ok((keep, metrics))
    }

    pub(crate) fn axes(
        &self,
        root: &Table<'_>,
        base: &Scenario,
        design: DesignKind,
    ) -> Result<Vec<Axis>, ScenarioError> {
        let Some(v) = root.get("axes") else { return Ok(Vec::new()) };
        let t = v
            .get_ref()
            .as_table()
            .ok_or_else(|| self.err(v.span(), "axes", format!("expected a table, found {}", v.get_ref().type_str())))?;
        let range_keys = keys_of("axes");
        let entries = param_entries(t, |inner| inner.iter().any(|(ik, _)| range_keys.contains(&ik.get_ref().as_ref())));
        let mut axes: Vec<Axis> = Vec::new();
        for (name, span, val) in entries {
            let path = format!("axes.\"{name}\"");
            let spec = self.param(&name, span.clone(), &path)?;
            if RESERVED.contains(&name.as_str()) {
                return Err(self
                    .err(span, &path, format!("`{name}` is set by the sweep itself"))
                    .help("use `replications` and `seed` (with `seeds`) in [sweep]"));
            }
            if CALENDAR.contains(&name.as_str()) {
                return Err(self
                    .err(span, &path, format!("`{name}` cannot be an axis: it places the base scenario's events in time"))
                    .help("events given by year were turned into ticks when the base scenario was read; write one base scenario per calendar instead"));
            }
            let values = self.axis_values(val, spec, &path, base, design)?;
            axes.push(Axis { spec, values });
        }
        Ok(axes)
    }

    fn axis_values(
        &self,
        v: &Spanned<DeValue<'_>>,
        spec: &'static ParamSpec,
        path: &str,
        base: &Scenario,
        design: DesignKind,
    ) -> Result<AxisValues, ScenarioError> {
        if let Some(arr) = v.get_ref().as_array() {
            if arr.is_empty() {
                return Err(self.err(v.span(), path, "an axis needs at least one value"));
            }
            let mut values: Vec<Value> = Vec::new();
            for item in arr.iter() {
                let value = self.param_value(item, spec, path, base)?;
                if values.contains(&value) {
                    return Err(self.err(item.span(), path, format!("the value {value} is listed twice")));
                }
                values.push(value);
            }
            return Ok(AxisValues::List(values));
        }
        let Some(t) = v.get_ref().as_table() else {
            return Err(self
                .err(
                    v.span(),
                    path,
                    format!("expected a list of values or a range table, found {}", v.get_ref().type_str()),
                )
                .help("e.g. [0.1, 0.5, 0.9] or { from = 0.1, to = 0.9, steps = 5 }"));
        };
        for (k, _) in t.iter() {
            self.known(k, path, &keys_of("axes"), "a range takes")?;
        }
        let (lo, hi) = match spec.domain {
            Domain::Int { min, max } => (min as f64, max as f64),
            Domain::Float { min, max } => (min, max),
            other => {
                return Err(self
                    .err(v.span(), path, format!("a range needs a numeric parameter; `{}` takes {other}", spec.path()))
                    .help("list its values instead, e.g. [true, false]"));
            }
        };
        let integer = matches!(spec.domain, Domain::Int { .. });
        let bound = |key: &str| -> Result<f64, ScenarioError> {
            let item = t.get(key).ok_or_else(|| self.err(v.span(), path, format!("a range needs `{key}`")))?;
            let x = match self.value(item, path)? {
                Value::Int(i) => i as f64,
                Value::Float(x) if !integer => x,
                other => {
                    return Err(self.err(
                        item.span(),
                        path,
                        format!("`{key}`: expected {}, found {other}", spec.domain),
                    ));
                }
            };
            if !(x.is_finite() && x >= lo && x <= hi) {
                return Err(self.err(item.span(), path, format!("`{key}` = {x}: expected {}", spec.domain)));
            }
            Ok(x)
        };
        let (from, to) = (bound("from")?, bound("to")?);
        if from > to {
            return Err(self
                .err(v.span(), path, format!("the range runs from {from} down to {to}"))
                .help("give from <= to"));
        }
        let scale = match t.get("scale") {
            None => Scale::Linear,
            Some(s) => match self.value(s, path)? {
                Value::Str(x) if x == "linear" => Scale::Linear,
                Value::Str(x) if x == "log" => Scale::Log,
                other => {
                    return Err(self.err(
                        s.span(),
                        path,
                        format!("`scale`: expected \"linear\" or \"log\", found {other}"),
                    ));
                }
            },
        };
        if scale == Scale::Log && from <= 0.0 {
            return Err(self.err(v.span(), path, "a log-spaced range needs from > 0"));
        }
        let steps = match t.get("steps") {
            None => None,
            Some(s) => {
                Some(self.int(&self.value(s, path)?, s.span(), &format!("{path}.steps"), 1, MAX_RUNS as i64)? as u32)
            }
        };
        match (design, steps) {
            (DesignKind::Grid, None) if !integer => {
                return Err(self
                    .err(v.span(), path, "a grid over a range of a real parameter needs `steps`")
                    .help("add `steps = <number of values>`"));
            }
            (DesignKind::Random | DesignKind::Lhs, Some(_)) => {
                let s = t.get("steps").expect("present");
                return Err(self
                    .err(s.span(), path, "`steps` applies to a grid; random and lhs designs sample the range")
                    .help("remove `steps`"));
            }
            (DesignKind::Grid, Some(1)) if from != to => {
                let s = t.get("steps").expect("present");
                return Err(self
                    .err(
                        s.span(),
                        path,
                        format!("steps = 1 over [{from}, {to}]: the steps of a range include both ends"),
                    )
                    .help(format!("use steps >= 2, or a list of the one value, e.g. [{from}]")));
            }
            (DesignKind::Grid, Some(n)) if n > 1 && from == to => {
                return Err(self.err(v.span(), path, format!("{n} steps over an empty range [{from}, {to}]")));
            }
            (DesignKind::Grid, Some(n)) if integer && n as f64 > to - from + 1.0 => {
                let s = t.get("steps").expect("present");
                return Err(self
                    .err(
                        s.span(),
                        path,
                        format!(
                            "steps = {n} over the integers {from}..={to}: there are only {} of them, so values would repeat",
                            to - from + 1.0
                        ),
                    )
                    .help(format!(
                        "leave `steps` out to take every integer of the range, or give at most {}",
                        to - from + 1.0
                    )));
            }
            (DesignKind::Grid, Some(n)) if integer && scale == Scale::Log => {
                // Log spacing crowds the low end: rounding may give a value twice.
                let mut last = None;
                for i in 0..n as usize {
                    let v = super::design::range_value(from, to, n as usize, i, scale).round();
                    if last == Some(v) {
                        let s = t.get("steps").expect("present");
                        return Err(self
                            .err(
                                s.span(),
                                path,
                                format!("steps = {n} log-spaced over the integers {from}..={to} round to {v} twice, so values would repeat"),
                            )
                            .help("use fewer steps, or list the values"));
                    }
                    last = Some(v);
                }
            }
            (DesignKind::Grid, None) if to - from >= MAX_RUNS as f64 => {
                return Err(self.err(
                    v.span(),
                    path,
                    format!("{} integers between from and to are too many", to - from + 1.0),
                ));
            }
            _ => {}
        }
        Ok(AxisValues::Range { from, to, steps, scale })
    }

    fn slurm(&self, root: &Table<'_>) -> Result<SlurmDefaults, ScenarioError> {
        let Some(t) = self.section(root, "slurm", &keys_of("slurm"))? else { return Ok(SlurmDefaults::default()) };
        let t = Some(t);
        let n = |key: &str, min: i64, max: i64| -> Result<Option<u32>, ScenarioError> {
            self.get(t, "slurm", key)?
                .map(|(v, span)| self.int(&v, span, &format!("slurm.{key}"), min, max).map(|i| i as u32))
                .transpose()
        };
        let s = |key: &str| -> Result<Option<String>, ScenarioError> {
            self.get(t, "slurm", key)?.map(|(v, span)| self.string(&v, span, &format!("slurm.{key}"))).transpose()
        };
        let mut extra = Vec::new();
        if let Some(e) = t.and_then(|t| t.get("extra")) {
            let arr = e.get_ref().as_array().ok_or_else(|| {
                self.err(e.span(), "slurm.extra", "expected a list of sbatch options, e.g. [\"--qos=normal\"]")
            })?;
            for item in arr.iter() {
                let line = self.string(&self.value(item, "slurm.extra")?, item.span(), "slurm.extra")?;
                if let Err(why) = super::slurm::Field::Extra.check(&line) {
                    return Err(self
                        .err(item.span(), "slurm.extra", why)
                        .help("each entry is one option as sbatch takes it, e.g. \"--qos=normal\""));
                }
                extra.push(line);
            }
        }
        // Every value that goes into an sbatch script, as Slurm accepts it.
        let checked = |field: super::slurm::Field| -> Result<Option<String>, ScenarioError> {
            let v = s(field.key())?;
            if let Some(v) = &v
                && let Err(why) = field.check(v)
            {
                let span = t.and_then(|t| t.get(field.key())).expect("present").span();
                return Err(self.err(span, &format!("slurm.{}", field.key()), why));
            }
            Ok(v)
        };
        use super::slurm::Field;
        Ok(SlurmDefaults {
            tasks: n("tasks", 1, 1_000_000)?,
            time: checked(Field::Time)?,
            partition: checked(Field::Partition)?,
            memory: checked(Field::Memory)?,
            cpus: n("cpus", 1, 100_000)?,
            account: checked(Field::Account)?,
            throttle: n("throttle", 1, 1_000_000)?,
            extra,
        })
    }
}

/// Slurm's time formats: "M", "M:S", "H:M:S", "D-H", "D-H:M", "D-H:M:S".
pub fn valid_slurm_time(t: &str) -> bool {
    let digits = |s: &str| !s.is_empty() && s.len() <= 6 && s.bytes().all(|b| b.is_ascii_digit());
    let (days, rest) = match t.split_once('-') {
        Some((d, r)) => (Some(d), r),
        None => (None, t),
    };
    if days.is_some_and(|d| !digits(d)) {
        return false;
    }
    let parts: Vec<&str> = rest.split(':').collect();
    parts.iter().all(|p| digits(p)) && (1..=3).contains(&parts.len())
}

/// The sweep file reference in Markdown, kept in `docs/sweeps.md` (a test checks it is
/// current; `ESH_UPDATE_DOCS=1 cargo test --test sweep` rewrites it). Its tables come from
/// [`KEYS`], the lists the parser reads.
pub fn reference() -> String {
    let mut o = String::from(
        "<!-- Generated from src/sweep/file.rs (KEYS and reference()); do not edit by hand (a test checks it is current:\n\
         `ESH_UPDATE_DOCS=1 cargo test --test sweep sweeps_md` rewrites it). -->\n\
         # Sweep files\n\n\
         A sweep file names a base scenario, the parameters to vary (the axes), the design that\n\
         combines their values into design points, and what to keep of each run. `esh sweep plan`\n\
         reads it with the errors of a scenario file (file, line, column, key, what is allowed, the\n\
         nearest known name) and fixes every run in a plan directory; [clusters.md](clusters.md)\n\
         covers running, Slurm, failures and merging. Unknown keys and values out of range are\n\
         errors (exit code 2).\n\n\
         ```toml\n\
         [sweep]\n\
         scenario = \"../scenarios/baseline.toml\"   # or an inline [scenario] table\n\
         replications = 20                         # default: the base scenario's\n\
         design = \"grid\"\n\n\
         [axes]\n\
         \"centre.tolerance\" = { from = 0.0, to = 1.0, steps = 5 }   # 0, 0.25, 0.5, 0.75, 1\n\
         \"zones.supervisors\" = [1, 2, 4]\n\
         \"zones.experiment_rate\" = { from = 0.01, to = 1.0, steps = 3, scale = \"log\" }\n\n\
         [keep]\n\
         ticks = \"window\"\n\
         window = [40, 50]                         # the mean over ticks 40..=50\n\
         metrics = [\"mean_performance\", \"diversity\"]\n\n\
         [slurm]\n\
         tasks = 16\n\
         time = \"01:00:00\"\n\
         ```\n\n\
         The sections are `[sweep]`, `[scenario]` (an inline base scenario, instead of\n\
         `sweep.scenario`), `[axes]`, `[keep]` and `[slurm]`.\n",
    );
    let table = |o: &mut String, section: &str| {
        o.push_str("\n| key | default | allowed | meaning |\n|---|---|---|---|\n");
        for k in KEYS.iter().filter(|k| k.section == section) {
            writeln!(o, "| `{}` | {} | {} | {} |", k.key, k.default, k.allowed, k.doc).unwrap();
        }
    };
    o.push_str("\n## [sweep]\n");
    table(&mut o, "sweep");
    writeln!(
        o,
        "\nA plan holds at most {MAX_RUNS} runs (design points x replications); a Latin hypercube at most\n\
         {MAX_LHS_CELLS} strata (samples x axes). Counts are multiplied with overflow checks, so an\n\
         oversized grid is an error, never a wrapped number."
    )
    .unwrap();
    o.push_str(
        "\n## [axes]\n\n\
         One entry per parameter to vary, named by its dotted path (`\"centre.tolerance\"`, or\n\
         `centre.tolerance` unquoted); [scenario.md](scenario.md) lists them. Every plain parameter\n\
         can be an axis except `run.seed` and `run.replications` (the sweep sets them:\n\
         `sweep.seed`, `sweep.replications`) and `run.start_year` and `run.ticks_per_year` (they\n\
         placed the base scenario's events in time when it was read). An axis is either a list of\n\
         values, each once (`[0.1, 0.5, 0.9]`, `[true, false]`, `[\"adjacent\", \"random\"]`), or a\n\
         range table over a numeric parameter:\n",
    );
    table(&mut o, "axes");
    o.push_str(
        "\nOn a grid, an integer range without `steps` takes every integer of [from, to]; with\n\
         `steps`, the values are spaced as for a real parameter and rounded to the nearest integer.\n\
         Steps that would give a value twice (`{ from = 1, to = 2, steps = 5 }` would be 1, 1, 2, 2,\n\
         2) are an error, not silently repeated runs. Random and lhs designs sample a range\n\
         (an integer range with equal weight on every integer) and a list (equal weight on every\n\
         value).\n\n\
         A value is checked against the parameter's domain when the sweep is read; a design point\n\
         that breaks a rule between parameters (K >= N, say) does not stop the plan: `plan` warns,\n\
         and its runs are recorded as failed with the reason. `plan` also warns when the base\n\
         scenario has a `set` event for an axis's parameter, naming the event: from that tick on the\n\
         event's value replaces the axis's.\n",
    );
    o.push_str("\n## [keep]\n");
    table(&mut o, "keep");
    o.push_str("\n## [slurm]\n\nDefaults for `esh sweep slurm` (its flags override them).\n");
    table(&mut o, "slurm");
    o.push_str(
        "\nEvery value that reaches a script is checked against what Slurm accepts, and a control\n\
         character (a newline, say) is refused with an error naming the key or flag: no value can\n\
         add a line to a script. The sweep directory and the esh binary must be paths without\n\
         control characters, and the log directory (inside the sweep directory) one that an\n\
         `#SBATCH` line can hold: no spaces, quotes, backslashes, `%` or `#`.\n\n\
         ## The plan directory\n\n\
         `esh sweep plan` writes `sweep.toml` (this file with every setting explicit, the base\n\
         scenario named `base.toml`), `base.toml` (the resolved base scenario) and `plan.csv`\n\
         (one line per run: `run, point, replication, seed` and the axis values). Run r is\n\
         replication `r % replications` of design point `r / replications`.\n",
    );
    o
}
