//! The typed reader every input file shares (scenario, sweep, experiment, targets): values
//! with their place in the file, unknown keys refused with the nearest known one, and every
//! error naming the file, line, column and key.

use std::path::Path;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::error::{LineIndex, ScenarioError};
use super::{Value, suggest};

/// A parsed TOML table whose keys and values keep their byte spans.
pub(crate) type Table<'i> = DeTable<'i>;
/// A byte range in the input text.
pub(crate) type Span = std::ops::Range<usize>;

/// Reads one TOML input file with the error quality of scenario files: every error names the
/// file, line, column and key, and suggests the nearest known name.
pub(crate) struct Reader<'a> {
    pub(crate) text: &'a str,
    pub(crate) file: &'a str,
    /// Directory that relative paths in the file are anchored to.
    pub(crate) dir: &'a Path,
    /// Where each line of `text` starts: errors are placed by binary search, not a rescan.
    pub(crate) lines: LineIndex,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(text: &'a str, file: &'a str, dir: &'a Path) -> Reader<'a> {
        Reader { text, file, dir, lines: LineIndex::new(text) }
    }

    /// An error about `key`, placed at the start of `span`.
    pub(crate) fn err(&self, span: Span, key: &str, message: impl Into<String>) -> ScenarioError {
        ScenarioError::new(self.file, message).at(Some(self.lines.line_col(span.start))).key(key)
    }

    /// The table a value must be; `what` names it in the error.
    pub(crate) fn table<'t, 'i>(
        &self,
        v: &'t Spanned<DeValue<'i>>,
        what: &str,
    ) -> Result<&'t Table<'i>, ScenarioError> {
        v.get_ref()
            .as_table()
            .ok_or_else(|| self.err(v.span(), what, format!("expected a table, found {}", v.get_ref().type_str())))
    }

    /// Rejects a key that is not one of `allowed`, suggesting the nearest.
    pub(crate) fn known(
        &self,
        k: &Spanned<impl AsRef<str>>,
        section: &str,
        allowed: &[&str],
        list: &str,
    ) -> Result<(), ScenarioError> {
        let key = k.get_ref().as_ref();
        if allowed.contains(&key) {
            return Ok(());
        }
        let path = if section.is_empty() { key.to_string() } else { format!("{section}.{key}") };
        let place = if section.is_empty() { "at the top level".to_string() } else { format!("in [{section}]") };
        let mut e = self.err(k.span(), &path, format!("unknown key {place}"));
        e = match suggest::nearest(key, allowed.iter().copied()) {
            Some(near) => e.help(format!("did you mean `{near}`?")),
            None => e.help(format!("{list} {}", allowed.join(", "))),
        };
        Err(e)
    }

    /// The table `name` of `root`, if given, with every key checked against `keys`.
    pub(crate) fn section<'t, 'i>(
        &self,
        root: &'t Table<'i>,
        name: &str,
        keys: &[&str],
    ) -> Result<Option<&'t Table<'i>>, ScenarioError> {
        let Some(v) = root.get(name) else { return Ok(None) };
        let t = self.table(v, name)?;
        for (k, _) in t.iter() {
            self.known(k, name, keys, &format!("the keys of [{name}] are"))?;
        }
        Ok(Some(t))
    }

    /// The scalar at `key` of table `t`, if given, with its span; `section` names it.
    pub(crate) fn get(
        &self,
        t: Option<&Table<'_>>,
        section: &str,
        key: &str,
    ) -> Result<Option<(Value, Span)>, ScenarioError> {
        let Some(v) = t.and_then(|t| t.get(key)) else { return Ok(None) };
        Ok(Some((self.value(v, &format!("{section}.{key}"))?, v.span())))
    }

    /// A scalar: integers must fit in 64 bits; date-times, arrays and tables are refused.
    pub(crate) fn value(&self, v: &Spanned<DeValue<'_>>, path: &str) -> Result<Value, ScenarioError> {
        let bad = |what: &str| self.err(v.span(), path, format!("{what} is not allowed here"));
        Ok(match v.get_ref() {
            DeValue::String(s) => Value::Str(s.to_string()),
            DeValue::Boolean(b) => Value::Bool(*b),
            DeValue::Integer(i) => {
                let digits = i.as_str().replace('_', "");
                Value::Int(
                    i64::from_str_radix(&digits, i.radix())
                        .map_err(|_| self.err(v.span(), path, format!("integer {i} does not fit in 64 bits")))?,
                )
            }
            DeValue::Float(f) => Value::Float(f.as_str().replace('_', "").parse().map_err(|_| bad("this float"))?),
            DeValue::Datetime(_) => return Err(bad("a date-time")),
            DeValue::Array(_) => return Err(bad("an array")),
            DeValue::Table(_) => return Err(bad("a table")),
        })
    }

    /// An integer in [min, max].
    pub(crate) fn int(&self, v: &Value, span: Span, path: &str, min: i64, max: i64) -> Result<i64, ScenarioError> {
        match v {
            Value::Int(i) if (min..=max).contains(i) => Ok(*i),
            other => Err(self.err(span, path, format!("expected an integer in [{min}, {max}], found {other}"))),
        }
    }

    /// A string.
    pub(crate) fn string(&self, v: &Value, span: Span, path: &str) -> Result<String, ScenarioError> {
        match v {
            Value::Str(s) => Ok(s.clone()),
            other => Err(self.err(span, path, format!("expected a string, found {other}"))),
        }
    }

    /// One of `names` at `key` of table `t`, if given; a near miss is suggested.
    pub(crate) fn choice(
        &self,
        t: Option<&Table<'_>>,
        section: &str,
        key: &str,
        names: &[&'static str],
    ) -> Result<Option<&'static str>, ScenarioError> {
        let Some((v, span)) = self.get(t, section, key)? else { return Ok(None) };
        let path = format!("{section}.{key}");
        let quoted: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
        let allowed = format!("one of {}", quoted.join(", "));
        match &v {
            Value::Str(s) => match names.iter().find(|n| **n == s) {
                Some(n) => Ok(Some(*n)),
                None => {
                    let mut e = self.err(span, &path, format!("expected {allowed}, found {v}"));
                    if let Some(near) = suggest::nearest(s, names.iter().copied()) {
                        e = e.help(format!("did you mean \"{near}\"?"));
                    }
                    Err(e)
                }
            },
            _ => Err(self.err(span, &path, format!("expected {allowed}, found {v}"))),
        }
    }
}

/// The entries of a table of parameters, in file order: dotted keys (`"centre.tolerance" = x`)
/// and nested tables (`centre = { tolerance = x }`, which is also what TOML makes of an
/// unquoted `centre.tolerance = x`) alike. `is_value` tells a table that is itself a value
/// (such as a range) from a nested section.
pub(crate) fn param_entries<'t, 'i>(
    t: &'t Table<'i>,
    is_value: impl Fn(&Table<'_>) -> bool,
) -> Vec<(String, Span, &'t Spanned<DeValue<'i>>)> {
    let mut entries = Vec::new();
    for (k, val) in t.iter() {
        let key = k.get_ref().as_ref();
        match val.get_ref().as_table().filter(|inner| !is_value(inner)) {
            Some(inner) if !key.contains('.') => {
                for (ik, iv) in inner.iter() {
                    entries.push((format!("{key}.{}", ik.get_ref().as_ref()), ik.span(), iv));
                }
            }
            _ => entries.push((key.to_string(), k.span(), val)),
        }
    }
    // The table is sorted by name; file order is the order the user wrote.
    entries.sort_by_key(|e| e.1.start);
    entries
}
