//! Reading a sweep file: the base scenario, what to keep, the axes and their values, the
//! Slurm defaults, each with the error quality of a scenario file.

use super::*;
use crate::sweep::slurm::{MAX_CPUS, MAX_TASKS};

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

    pub(super) fn sweep(&self, root: &Table<'_>) -> Result<SweepFile, ScenarioError> {
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
        let reporters = self.keep_reporters(root.get("keep").and_then(|k| k.get_ref().as_table()))?;
        let s = SweepFile {
            base,
            replications,
            seed,
            seeds,
            design,
            samples,
            keep,
            summary,
            metrics,
            reporters,
            axes,
            slurm,
        };
        self.check_size(&s, base_span)?;
        Ok(s)
    }

    /// A plan that can be held: at most [`MAX_RUNS`] runs, a Latin hypercube's strata within
    /// [`MAX_LHS_CELLS`], and an axis for a sampled design to sample.
    fn check_size(&self, s: &SweepFile, base_span: Span) -> Result<(), ScenarioError> {
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
        Ok(())
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
        Ok((self.keep_ticks(t, base)?, self.keep_metrics(t, base)?))
    }

    /// `[keep] ticks`: every tick (or every `every`-th), the final tick, or a window.
    fn keep_ticks(&self, t: Option<&Table<'_>>, base: &Scenario) -> Result<Keep, ScenarioError> {
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
        Ok(keep)
    }

    /// `[keep] reporters`: the columns of a program's reporters kept after the metrics.
    fn keep_reporters(&self, t: Option<&Table<'_>>) -> Result<Vec<String>, ScenarioError> {
        let Some(v) = t.and_then(|t| t.get("reporters")) else { return Ok(Vec::new()) };
        let arr = v
            .get_ref()
            .as_array()
            .ok_or_else(|| self.err(v.span(), "keep.reporters", "expected a list of column names"))?;
        let mut names = Vec::new();
        for item in arr.iter() {
            let name = self.string(&self.value(item, "keep.reporters")?, item.span(), "keep.reporters")?;
            // results.csv's own columns besides those of ticks.csv.
            if ["run", "point", "seed", "from_tick", "to_tick"].contains(&name.as_str()) {
                return Err(self.err(
                    item.span(),
                    "keep.reporters",
                    format!("a reporter's column `{name}` is a column of results.csv already"),
                ));
            }
            names.push(name);
            crate::output::check_columns(&names).map_err(|m| {
                self.err(item.span(), "keep.reporters", m).help(
                    "a reporter's column is a plain name (letters, digits and _), once, and not a ticks.csv column",
                )
            })?;
        }
        Ok(names)
    }

    /// `[keep] metrics`: the ticks.csv columns kept of each run, by default every one the
    /// base scenario can make.
    fn keep_metrics(&self, t: Option<&Table<'_>>, base: &Scenario) -> Result<Vec<&'static Metric>, ScenarioError> {
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
        Ok(metrics)
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
            return self.axis_list(v, arr, spec, path, base);
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
        let (from, to) = self.range_bounds(v, t, spec, path)?;
        let scale = self.range_scale(t, path)?;
        if scale == Scale::Log && from <= 0.0 {
            return Err(self.err(v.span(), path, "a log-spaced range needs from > 0"));
        }
        let steps = match t.get("steps") {
            None => None,
            Some(s) => {
                Some(self.int(&self.value(s, path)?, s.span(), &format!("{path}.steps"), 1, MAX_RUNS as i64)? as u32)
            }
        };
        let range = AxisValues::Range { from, to, steps, scale };
        self.check_steps(v, t, spec, path, design, &range)?;
        Ok(range)
    }

    /// An axis given as a list: at least one value, each in the parameter's domain, none twice.
    fn axis_list(
        &self,
        v: &Spanned<DeValue<'_>>,
        arr: &toml::de::DeArray<'_>,
        spec: &'static ParamSpec,
        path: &str,
        base: &Scenario,
    ) -> Result<AxisValues, ScenarioError> {
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
        Ok(AxisValues::List(values))
    }

    /// A range's `from` and `to`: numbers within the parameter's domain, from <= to.
    fn range_bounds(
        &self,
        v: &Spanned<DeValue<'_>>,
        t: &Table<'_>,
        spec: &'static ParamSpec,
        path: &str,
    ) -> Result<(f64, f64), ScenarioError> {
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
        Ok((from, to))
    }

    /// A range's `scale`: linear (the default) or log.
    fn range_scale(&self, t: &Table<'_>, path: &str) -> Result<Scale, ScenarioError> {
        Ok(match t.get("scale") {
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
        })
    }

    /// An integer grid of log-spaced steps whose rounding gives no value twice.
    fn check_log_steps(&self, t: &Table<'_>, path: &str, from: f64, to: f64, n: u32) -> Result<(), ScenarioError> {
        // Log spacing crowds the low end: rounding may give a value twice.
        let mut last = None;
        for i in 0..n as usize {
            let v = crate::sweep::design::range_value(from, to, n as usize, i, Scale::Log).round();
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
        Ok(())
    }

    /// A range's `steps` against the design: a grid over reals needs them, random and lhs
    /// designs take none, and a grid's values must not repeat (too many steps over few
    /// integers, or log spacing that rounds two steps to one integer).
    fn check_steps(
        &self,
        v: &Spanned<DeValue<'_>>,
        t: &Table<'_>,
        spec: &'static ParamSpec,
        path: &str,
        design: DesignKind,
        range: &AxisValues,
    ) -> Result<(), ScenarioError> {
        let AxisValues::Range { from, to, steps, scale } = *range else { return Ok(()) };
        let integer = matches!(spec.domain, Domain::Int { .. });
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
                self.check_log_steps(t, path, from, to, n)?
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
        Ok(())
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
                if let Err(why) = crate::sweep::slurm::Field::Extra.check(&line) {
                    return Err(self
                        .err(item.span(), "slurm.extra", why)
                        .help("each entry is one option as sbatch takes it, e.g. \"--qos=normal\""));
                }
                extra.push(line);
            }
        }
        // Every value that goes into an sbatch script, as Slurm accepts it.
        let checked = |field: crate::sweep::slurm::Field| -> Result<Option<String>, ScenarioError> {
            let v = s(field.key())?;
            if let Some(v) = &v
                && let Err(why) = field.check(v)
            {
                let span = t.and_then(|t| t.get(field.key())).expect("present").span();
                return Err(self.err(span, &format!("slurm.{}", field.key()), why));
            }
            Ok(v)
        };
        use crate::sweep::slurm::Field;
        Ok(SlurmDefaults {
            tasks: n("tasks", 1, MAX_TASKS as i64)?,
            time: checked(Field::Time)?,
            partition: checked(Field::Partition)?,
            memory: checked(Field::Memory)?,
            cpus: n("cpus", 1, MAX_CPUS as i64)?,
            account: checked(Field::Account)?,
            throttle: n("throttle", 1, MAX_TASKS as i64)?,
            extra,
        })
    }
}

/// Slurm's time formats: "M", "M:S", "H:M:S", "D-H", "D-H:M", "D-H:M:S".
pub(crate) fn valid_slurm_time(t: &str) -> bool {
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
