//! The parameters a calibration fits: each a numeric parameter of the model with its prior
//! range (linear or log), read from the command line and written as a sweep axis.

use crate::scenario::{Domain, ParamSpec, spec};

/// A parameter to fit and its prior range.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Param {
    pub(crate) spec: &'static ParamSpec,
    pub(crate) from: f64,
    pub(crate) to: f64,
    pub(crate) log: bool,
}

impl Param {
    /// Reads `section.key=FROM:TO` or `section.key=FROM:TO:log` (the command line's form).
    pub(crate) fn parse(text: &str) -> Result<Param, String> {
        let form = "give a parameter as NAME=FROM:TO or NAME=FROM:TO:log, e.g. firms.seed_births=1:50";
        let (name, range) = text.split_once('=').ok_or_else(|| format!("--params \"{text}\": no '='; {form}"))?;
        let name = name.trim();
        let spec = spec(name).ok_or_else(|| {
            let all: Vec<String> = crate::scenario::all_specs().map(|s| s.path()).collect();
            let hint = crate::scenario::suggest::nearest(name, all.iter().map(String::as_str))
                .map(|n| format!(" (did you mean `{n}`?)"))
                .unwrap_or_default();
            format!("--params: unknown parameter `{name}`{hint}; `esh params` lists them")
        })?;
        let (min, max) = match spec.domain {
            Domain::Float { min, max } => (min, max),
            Domain::Int { min, max } => (min as f64, max as f64),
            _ => return Err(format!("--params: `{name}` is {}, not a number: it cannot be fitted", spec.domain)),
        };
        // What a sweep may not vary, and the run's length: none of them is part of the model.
        use crate::scenario::RESERVED;
        use crate::sweep::file::CALENDAR;
        if RESERVED.contains(&name) || CALENDAR.contains(&name) || name == "run.ticks" {
            return Err(format!("--params: `{name}` describes the run, not the model; it cannot be fitted"));
        }
        let parts: Vec<&str> = range.split(':').collect();
        let log = match parts.as_slice() {
            [_, _] => false,
            [_, _, "log"] => true,
            _ => return Err(format!("--params \"{text}\": {form}")),
        };
        let num = |s: &str| {
            s.trim()
                .parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .ok_or_else(|| format!("--params \"{text}\": \"{s}\" is not a number"))
        };
        let (from, to) = (num(parts[0])?, num(parts[1])?);
        if matches!(spec.domain, Domain::Int { .. }) && (from.fract() != 0.0 || to.fract() != 0.0) {
            return Err(format!("--params \"{text}\": `{name}` is an integer; give whole numbers as its bounds"));
        }
        if from >= to {
            return Err(format!("--params \"{text}\": the range is empty ({from} is not below {to})"));
        }
        if from < min || to > max {
            return Err(format!("--params \"{text}\": `{name}` must stay within {}", spec.domain));
        }
        if log && from <= 0.0 {
            return Err(format!("--params \"{text}\": a log range must be above 0"));
        }
        Ok(Param { spec, from, to, log })
    }

    /// The parameter as an axis of the calibration's sweep file.
    pub(super) fn axis(&self) -> String {
        let (from, to) = match self.spec.domain {
            Domain::Int { .. } => (format!("{}", self.from.round() as i64), format!("{}", self.to.round() as i64)),
            _ => (format!("{:?}", self.from), format!("{:?}", self.to)),
        };
        let scale = if self.log { ", scale = \"log\"" } else { "" };
        format!("{} = {{ from = {from}, to = {to}{scale} }}", crate::input::quote(&self.spec.path()))
    }
}
