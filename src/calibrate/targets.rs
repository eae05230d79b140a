//! Targets files: the figures a calibration fits, each with its value, year, unit and
//! source, read with the error quality of scenario files; and how a target's model value
//! is read from a run's series.

use std::path::Path;

use crate::foundation::{det_exp, det_ln};
use crate::input::{Reader, Table};
use crate::output::metrics::Metric;
use crate::scenario::{Scenario, ScenarioError, Value};

/// How a target reads its metric over a calendar year.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stat {
    /// The value at the year's last tick (a stock: firms, zones).
    End,
    /// The sum over the year's ticks (a flow: births in the year).
    Sum,
    /// The mean over the year's ticks.
    Mean,
}

impl Stat {
    const NAMES: [&'static str; 3] = ["end", "sum", "mean"];

    pub(crate) fn name(self) -> &'static str {
        Stat::NAMES[self as usize]
    }
}

/// What a target compares.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Kind {
    /// The metric in `year`.
    Level { year: u32 },
    /// The yearly growth rate of the metric from `from` to `to`: (v_to / v_from)^(1 / (to - from)) - 1.
    Growth { from: u32, to: u32 },
    /// The metric over another metric, both in `year` (a share, a survival rate).
    Ratio { year: u32, over: &'static Metric },
}

/// One target.
#[derive(Clone, Debug)]
pub(crate) struct Target {
    pub(crate) name: String,
    pub(crate) kind: Kind,
    pub(crate) metric: &'static Metric,
    pub(crate) stat: Stat,
    pub(crate) value: f64,
    pub(crate) unit: String,
    pub(crate) source: String,
    /// Weight in the distance; 0: reported, not fitted.
    pub(crate) weight: f64,
}

impl Target {
    /// The kind's name, as in the file.
    pub(crate) fn kind_name(&self) -> &'static str {
        match self.kind {
            Kind::Level { .. } => "level",
            Kind::Growth { .. } => "growth",
            Kind::Ratio { .. } => "ratio",
        }
    }

    /// The years it reads, as written ("1994", "1988-1994").
    pub(crate) fn when(&self) -> String {
        match self.kind {
            Kind::Level { year } | Kind::Ratio { year, .. } => year.to_string(),
            Kind::Growth { from, to } => format!("{from}-{to}"),
        }
    }

    /// The metrics it reads (the sweep keeps exactly these).
    pub(crate) fn metrics(&self) -> Vec<&'static Metric> {
        match self.kind {
            Kind::Ratio { over, .. } => vec![self.metric, over],
            _ => vec![self.metric],
        }
    }

    /// Its model value in one run; `series(m)` is metric m by tick, `calendar` maps years to
    /// ticks. None when the value is undefined (a ratio over 0, growth from 0).
    pub(crate) fn model_value<'s>(&self, calendar: &Calendar, series: &dyn Fn(&Metric) -> &'s [f64]) -> Option<f64> {
        let at = |m: &Metric, year: u32| calendar.read(series(m), year, self.stat);
        let v = match self.kind {
            Kind::Level { year } => at(self.metric, year)?,
            Kind::Ratio { year, over } => {
                let d = at(over, year)?;
                if d == 0.0 {
                    return None;
                }
                at(self.metric, year)? / d
            }
            Kind::Growth { from, to } => {
                let (a, b) = (at(self.metric, from)?, at(self.metric, to)?);
                if a <= 0.0 || b <= 0.0 {
                    return None;
                }
                det_exp(det_ln(b / a) / (to - from) as f64) - 1.0
            }
        };
        v.is_finite().then_some(v)
    }

    /// Relative error of a model value: (model - target) / |target|.
    pub(crate) fn error(&self, model: f64) -> f64 {
        (model - self.value) / self.value.abs()
    }
}

/// Calendar years against ticks of a scenario.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Calendar {
    pub(crate) start_year: u32,
    pub(crate) ticks_per_year: u32,
    pub(crate) ticks: u32,
}

impl Calendar {
    pub(crate) fn of(s: &Scenario) -> Calendar {
        Calendar { start_year: s.run.start_year, ticks_per_year: s.run.ticks_per_year, ticks: s.run.ticks }
    }

    /// The first and last year the run covers whole (every tick of the year simulated).
    pub(crate) fn years(&self) -> (u32, u32) {
        (self.start_year, self.start_year + (self.ticks + 1) / self.ticks_per_year - 1)
    }

    /// The ticks of a year that the run has.
    fn ticks_of(&self, year: u32) -> Option<std::ops::RangeInclusive<usize>> {
        let first = (year.checked_sub(self.start_year)? * self.ticks_per_year) as usize;
        let last = (first + self.ticks_per_year as usize - 1).min(self.ticks as usize);
        (first <= last).then_some(first..=last)
    }

    fn read(&self, series: &[f64], year: u32, stat: Stat) -> Option<f64> {
        let r = self.ticks_of(year)?;
        let xs = series.get(r)?;
        Some(match stat {
            Stat::End => *xs.last()?,
            Stat::Sum => xs.iter().sum(),
            Stat::Mean => xs.iter().sum::<f64>() / xs.len() as f64,
        })
    }
}

const KEYS: &[&str] =
    &["name", "kind", "metric", "over", "year", "from", "to", "stat", "value", "unit", "source", "weight"];

/// Reads a targets file; every target's years must fall inside the scenario's run.
pub(crate) fn load(path: &Path, calendar: Calendar) -> Result<(Vec<Target>, String), ScenarioError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| ScenarioError::new(&name, format!("cannot read the targets file: {e}")))?;
    let targets = parse(&text, &name, calendar)?;
    Ok((targets, text))
}

/// Parses targets text; `file` names it in errors.
pub(crate) fn parse(text: &str, file: &str, calendar: Calendar) -> Result<Vec<Target>, ScenarioError> {
    let root = crate::input::parse(text, file)?;
    let dir = Path::new(".");
    let r = Reader::new(text, file, dir);
    let root = &root;
    for (k, _) in root.iter() {
        r.known(k, "", &["target"], "a targets file holds")?;
    }
    let Some(v) = root.get("target") else {
        return Err(ScenarioError::new(file, "no [[target]] in the targets file")
            .help("each target is a [[target]] table with name, metric, year, value, unit and source"));
    };
    let arr = v.get_ref().as_array().ok_or_else(|| {
        r.err(v.span(), "target", format!("expected [[target]] tables, found {}", v.get_ref().type_str()))
    })?;
    let mut out: Vec<Target> = Vec::new();
    for (i, item) in arr.iter().enumerate() {
        let t = item.get_ref().as_table().ok_or_else(|| {
            r.err(item.span(), "target", format!("expected a table, found {}", item.get_ref().type_str()))
        })?;
        let section = format!("target[{i}]");
        for (k, _) in t.iter() {
            r.known(k, &section, KEYS, "the keys of [[target]] are")?;
        }
        let target = TargetReader { r: &r, t, section: &section, calendar }.read()?;
        if out.iter().any(|o| o.name == target.name) {
            let span = t.get("name").expect("read").span();
            return Err(r.err(span, &format!("{section}.name"), format!("target \"{}\" is named twice", target.name)));
        }
        out.push(target);
    }
    if out.iter().all(|t| t.weight == 0.0) {
        return Err(ScenarioError::new(file, "every target has weight 0: there is nothing to fit")
            .help("give at least one target a positive weight (the default is 1)"));
    }
    Ok(out)
}

struct TargetReader<'a> {
    r: &'a Reader<'a>,
    t: &'a Table<'a>,
    section: &'a str,
    calendar: Calendar,
}

impl TargetReader<'_> {
    fn path(&self, key: &str) -> String {
        format!("{}.{key}", self.section)
    }

    fn missing(&self, key: &str, what: &str) -> ScenarioError {
        ScenarioError::new(self.r.file, format!("[[target]] number {} needs `{key}`", self.index()))
            .key(self.path(key))
            .help(what.to_string())
    }

    fn index(&self) -> usize {
        self.section.trim_start_matches("target[").trim_end_matches(']').parse::<usize>().unwrap_or(0) + 1
    }

    fn string(&self, key: &str) -> Result<Option<String>, ScenarioError> {
        self.r
            .get(Some(self.t), self.section, key)?
            .map(|(v, span)| self.r.string(&v, span, &self.path(key)))
            .transpose()
    }

    fn number(&self, key: &str) -> Result<Option<f64>, ScenarioError> {
        let Some((v, span)) = self.r.get(Some(self.t), self.section, key)? else { return Ok(None) };
        match v {
            Value::Int(i) => Ok(Some(i as f64)),
            Value::Float(x) if x.is_finite() => Ok(Some(x)),
            other => Err(self.r.err(span, &self.path(key), format!("expected a number, found {other}"))),
        }
    }

    fn year(&self, key: &str) -> Result<Option<u32>, ScenarioError> {
        let Some((v, span)) = self.r.get(Some(self.t), self.section, key)? else { return Ok(None) };
        let (first, last) = self.calendar.years();
        let y = self.r.int(&v, span.clone(), &self.path(key), 0, 9999)? as u32;
        if y < first || y > last {
            return Err(self
                .r
                .err(span, &self.path(key), format!("year {y} is outside the scenario's run ({first}-{last})"))
                .help("a target can only be compared with years the scenario simulates whole"));
        }
        Ok(Some(y))
    }

    fn metric(&self, key: &str) -> Result<Option<&'static Metric>, ScenarioError> {
        let Some(name) = self.string(key)? else { return Ok(None) };
        let span = self.t.get(key).expect("read").span();
        self.r.metric(&name, span, &self.path(key)).map(Some)
    }

    /// One target, its keys read in the order its errors are reported: name, metric, kind and
    /// stat, the kind's years, value and weight, unit and source.
    fn read(&self) -> Result<Target, ScenarioError> {
        let name = self.name()?;
        let metric = self.metric("metric")?.ok_or_else(|| {
            self.missing(
                "metric",
                "the ticks.csv column it compares, e.g. \"firms\" (`esh params` and the README list them)",
            )
        })?;
        let kind = self.r.choice(Some(self.t), self.section, "kind", &["level", "growth", "ratio"])?.unwrap_or("level");
        let stat = match self.r.choice(Some(self.t), self.section, "stat", &Stat::NAMES)? {
            Some("sum") => Stat::Sum,
            Some("mean") => Stat::Mean,
            _ => Stat::End,
        };
        let kind = if kind == "growth" { self.growth()? } else { self.in_year(kind == "ratio")? };
        self.check_sum(kind, stat)?;
        let (value, weight) = self.value_and_weight()?;
        let unit = self.string("unit")?.ok_or_else(|| self.missing("unit", "its unit, e.g. \"firms\" or \"share\""))?;
        let source = self
            .string("source")?
            .ok_or_else(|| self.missing("source", "where the figure comes from, e.g. \"seed 003, Table 3\""))?;
        Ok(Target { name, kind, metric, stat, value, unit, source, weight })
    }

    /// The target's `name`: a plain name, as it becomes a column of samples.csv.
    fn name(&self) -> Result<String, ScenarioError> {
        let name = self.string("name")?.ok_or_else(|| self.missing("name", "a unique name, such as \"firms_2017\""))?;
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
            let span = self.t.get("name").expect("read").span();
            return Err(self
                .r
                .err(span, &self.path("name"), format!("\"{name}\" is not a plain name"))
                .help("use letters, digits, '_' and '-' (the name becomes a column of samples.csv)"));
        }
        Ok(name)
    }

    /// Refuses `key`, which does not apply to this kind of target (`why` says so).
    fn forbid(&self, key: &str, why: &str) -> Result<(), ScenarioError> {
        match self.t.get(key) {
            Some(v) => Err(self.r.err(v.span(), &self.path(key), format!("`{key}` {why}"))),
            None => Ok(()),
        }
    }

    /// A growth target: `from` and `to`, the second after the first.
    fn growth(&self) -> Result<Kind, ScenarioError> {
        self.forbid("year", "does not apply to a growth target; give `from` and `to`")?;
        self.forbid("over", "applies to ratio targets only")?;
        let from = self.year("from")?.ok_or_else(|| self.missing("from", "the first year of the growth"))?;
        let to = self.year("to")?.ok_or_else(|| self.missing("to", "the last year of the growth"))?;
        if to <= from {
            let span = self.t.get("to").expect("read").span();
            return Err(self.r.err(span, &self.path("to"), format!("`to` ({to}) must be after `from` ({from})")));
        }
        Ok(Kind::Growth { from, to })
    }

    /// A level or (with `ratio`) a ratio target: one `year`, and for a ratio the metric it is
    /// divided by (`over`).
    fn in_year(&self, ratio: bool) -> Result<Kind, ScenarioError> {
        self.forbid("from", "applies to growth targets only")?;
        self.forbid("to", "applies to growth targets only")?;
        let year = self.year("year")?.ok_or_else(|| self.missing("year", "the calendar year it refers to"))?;
        if ratio {
            let over = self.metric("over")?.ok_or_else(|| self.missing("over", "the metric it is divided by"))?;
            Ok(Kind::Ratio { year, over })
        } else {
            self.forbid("over", "applies to ratio targets only")?;
            Ok(Kind::Level { year })
        }
    }

    /// Refuses a sum over the start year, which misses its first tick (the initial state).
    fn check_sum(&self, kind: Kind, stat: Stat) -> Result<(), ScenarioError> {
        let start = self.calendar.start_year;
        let reads_start = match kind {
            Kind::Level { year } | Kind::Ratio { year, .. } => year == start,
            Kind::Growth { from, .. } => from == start,
        };
        if stat == Stat::Sum && reads_start {
            let span = self.t.get("stat").expect("a sum was given").span();
            return Err(self
                .r
                .err(span, &self.path("stat"), format!("a sum over {start}, the start year, misses its first tick"))
                .help("tick 0 is the initial state, with no flows (with yearly ticks the start year has no flows at all): compare a later year"));
        }
        Ok(())
    }

    /// The target's `value` and `weight` (default 1): a weight is not negative, and a fitted
    /// target's value is not 0, as its error is relative to it.
    fn value_and_weight(&self) -> Result<(f64, f64), ScenarioError> {
        let value = self.number("value")?.ok_or_else(|| self.missing("value", "the figure the model should reach"))?;
        let weight = self.number("weight")?.unwrap_or(1.0);
        if weight < 0.0 {
            let span = self.t.get("weight").expect("read").span();
            return Err(self
                .r
                .err(span, &self.path("weight"), format!("weight {weight} is negative"))
                .help("a weight is >= 0; 0 reports the target without fitting it"));
        }
        if value == 0.0 && weight > 0.0 {
            let span = self.t.get("value").expect("read").span();
            return Err(self
                .r
                .err(span, &self.path("value"), "a fitted target cannot be 0: its error is relative to it")
                .help("give it weight = 0 to report it only"));
        }
        Ok((value, weight))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CAL: Calendar = Calendar { start_year: 1988, ticks_per_year: 12, ticks: 359 };

    #[test]
    fn years_map_to_their_ticks() {
        let partial = Calendar { ticks: 14, ..CAL };
        assert_eq!(partial.years(), (1988, 1988), "1989 is simulated in part only");
        let yearly = Calendar { start_year: 2000, ticks_per_year: 1, ticks: 20 };
        assert_eq!(yearly.years(), (2000, 2020));
        let series: Vec<f64> = (0..360).map(|t| t as f64).collect();
        assert_eq!(CAL.read(&series, 1988, Stat::End), Some(11.0));
        assert_eq!(CAL.read(&series, 2017, Stat::End), Some(359.0));
        assert_eq!(CAL.read(&series, 1989, Stat::Sum), Some((12..24).sum::<i32>() as f64));
        assert_eq!(CAL.read(&series, 2018, Stat::End), None);
        assert_eq!(CAL.years(), (1988, 2017));
    }

    #[test]
    fn bad_targets_are_located_and_explained() {
        let e = parse(
            "[[target]]\nname = \"a\"\nmetric = \"firm\"\nyear = 1990\nvalue = 1\nunit = \"x\"\nsource = \"s\"\n",
            "t.toml",
            CAL,
        )
        .unwrap_err();
        assert!(e.to_string().contains("did you mean \"firms\""), "{e}");
        let e = parse(
            "[[target]]\nname = \"a\"\nmetric = \"firms\"\nyear = 2030\nvalue = 1\nunit = \"x\"\nsource = \"s\"\n",
            "t.toml",
            CAL,
        )
        .unwrap_err();
        assert!(e.to_string().contains("outside the scenario's run"), "{e}");
        let e = parse(
            "[[target]]\nname = \"a\"\nmetric = \"firms\"\nyear = 1990\nvalue = 1\nunit = \"x\"\n",
            "t.toml",
            CAL,
        )
        .unwrap_err();
        assert!(e.to_string().contains("needs `source`"), "{e}");
        let e = parse("[[target]]\nname = \"a\"\nmetric = \"firm_births\"\nyear = 1988\nstat = \"sum\"\nvalue = 1\nunit = \"x\"\nsource = \"s\"\n", "t.toml", CAL)
            .unwrap_err();
        assert!(e.to_string().contains("misses its first tick"), "{e}");
        let e = parse("[[target]]\nnme = \"a\"\n", "t.toml", CAL).unwrap_err();
        assert!(e.to_string().contains("did you mean `name`"), "{e}");
    }

    #[test]
    fn growth_and_ratio_read_their_years() {
        let text = "[[target]]\nname = \"g\"\nkind = \"growth\"\nmetric = \"firms\"\nfrom = 1988\nto = 1990\nvalue = 0.5\nunit = \"per year\"\nsource = \"s\"\n\
                    [[target]]\nname = \"r\"\nkind = \"ratio\"\nmetric = \"firms\"\nover = \"firms_founded\"\nyear = 1990\nvalue = 0.1\nunit = \"share\"\nsource = \"s\"\n";
        let ts = parse(text, "t.toml", CAL).unwrap();
        let firms: Vec<f64> = (0..360)
            .map(|t| {
                if t < 12 {
                    100.0
                } else if t < 24 {
                    150.0
                } else {
                    225.0
                }
            })
            .collect();
        let founded = vec![2250.0; 360];
        let series = |m: &Metric| if m.0 == "firms" { &firms[..] } else { &founded[..] };
        let g = ts[0].model_value(&CAL, &series).unwrap();
        assert!((g - 0.5).abs() < 1e-12, "{g}");
        assert!((ts[1].model_value(&CAL, &series).unwrap() - 0.1).abs() < 1e-12);
    }
}
