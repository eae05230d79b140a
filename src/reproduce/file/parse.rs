//! The parser's shared part: reading a file into an `Experiment`, the `ExperimentParser`
//! that the item families extend, its readers of strings, numbers, names and references, and
//! the placing of an error about a missing key.

use std::path::Path;

use toml::Spanned;
use toml::de::DeValue;

use super::types::Experiment;
use crate::input::{Reader, Span, Table, param_entries};
use crate::scenario::{ParamSpec, RESERVED, Scenario, ScenarioError, Value, short, suggest};

/// Finds a scenario named in an experiment file: its text and a name for errors.
pub(crate) type ScenarioSource<'a> = dyn Fn(&str) -> Option<(String, String)> + 'a;

impl Experiment {
    /// Reads an experiment file; scenario paths in it are relative to the file.
    pub(crate) fn load(path: &Path) -> Result<Experiment, ScenarioError> {
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

/// Reads one experiment file; each item family (`experiment.rs`, `regimes.rs`, `measures.rs`,
/// `test_kinds.rs`, `map.rs`, `figures.rs`) adds its own methods.
pub(super) struct ExperimentParser<'a, 'f> {
    pub(super) r: Reader<'a>,
    pub(super) find: &'f ScenarioSource<'f>,
}

/// A value of the file with its place in the text.
pub(super) type Item<'i> = Spanned<DeValue<'i>>;

impl ExperimentParser<'_, '_> {
    pub(super) fn required_string(&self, t: &Table<'_>, section: &str, key: &str) -> Result<String, ScenarioError> {
        self.opt_string(t, section, key)?.ok_or_else(|| {
            ScenarioError::new(self.r.file, format!("[{section}] needs `{key}`")).key(format!("{section}.{key}"))
        })
    }

    pub(super) fn opt_string(&self, t: &Table<'_>, section: &str, key: &str) -> Result<Option<String>, ScenarioError> {
        self.r
            .get(Some(t), section, key)?
            .map(|(v, span)| self.r.string(&v, span, &format!("{section}.{key}")))
            .transpose()
    }

    pub(super) fn float(
        &self,
        t: &Table<'_>,
        section: &str,
        key: &str,
        min: f64,
        max: f64,
    ) -> Result<Option<f64>, ScenarioError> {
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

    /// The items of an array of tables (`[[name]]`), each checked for known keys.
    pub(super) fn array<'t, 'i>(
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
    pub(super) fn name(&self, t: &Table<'_>, section: &str, seen: &[String]) -> Result<String, ScenarioError> {
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

    /// `{ "centre.tolerance" = 0.5, zones = { supervisors = 2 } }`: parameters and values,
    /// each checked against the scenario.
    pub(super) fn assignments(
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

    /// Rejects a key of an item that its kind does not take (`what`: "a \"level\" test"):
    /// the item's keys must be in `common` or `allowed`.
    pub(super) fn applies(
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

    pub(super) fn metric_name(&self, t: &Table<'_>, section: &str) -> Result<&'static str, ScenarioError> {
        let name = self.required_string(t, section, "metric")?;
        let span = t.get("metric").expect("present").span();
        Ok(self.r.metric(&name, span, &format!("{section}.metric"))?.0)
    }

    /// A reference by name to one of `names`, with a suggestion when it is misspelt.
    pub(super) fn reference(
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
