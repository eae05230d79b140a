//! Columns a user adds to ticks.csv without touching the model (Agents.jl's `mdata`,
//! Mesa's model reporters): a [`Reporter`] names its columns and computes their values
//! from each tick's [`Replication`], which it can read but not change. Reporters are
//! registered on the run ([`super::RunOptions::with_reporter`]); their columns follow the
//! built-in metrics in registration order. A run without reporters writes the same bytes
//! as before reporters existed.

use std::sync::Arc;

use super::metrics::{METRICS, Num};
use crate::engine::Replication;

/// A source of extra ticks.csv columns. Called from the replications' threads, so it is
/// `Send + Sync`; it keeps no state between ticks (a value is a function of the tick's
/// state, so the outputs stay the same on any thread count).
pub trait Reporter: Send + Sync {
    /// The names of its columns (letters, digits and `_`; unlike every other column).
    /// Asked once, when the reporter is registered.
    fn columns(&self) -> Vec<String>;
    /// Its values at the end of a tick (tick 0 is the initial state), one per column, in
    /// order. `Num::Int` writes an integer; `Num::Float(f64::NAN)` an empty cell (undefined).
    /// The tick's flows are in `rep.counts`.
    fn values(&self, rep: &Replication) -> Vec<Num>;
}

/// A registered reporter and the columns it named.
#[derive(Clone)]
struct Registered {
    reporter: Arc<dyn Reporter>,
    columns: Vec<String>,
}

/// The reporters of a run, in registration order.
#[derive(Clone, Default)]
pub struct Reporters(Vec<Registered>);

impl Reporters {
    /// Adds a reporter; its columns come after those of the reporters added before.
    pub fn add(&mut self, reporter: impl Reporter + 'static) {
        let columns = reporter.columns();
        self.0.push(Registered { reporter: Arc::new(reporter), columns });
    }

    /// Every reporter's columns, in order.
    pub(crate) fn columns(&self) -> Vec<String> {
        self.0.iter().flat_map(|r| r.columns.iter().cloned()).collect()
    }

    /// Why the columns cannot be written, if they cannot: see [`check_columns`].
    pub(crate) fn check(&self) -> Result<(), String> {
        check_columns(&self.columns())
    }

    /// Every reporter's values at this tick, in column order, each reporter's count
    /// checked against its columns.
    pub(crate) fn values(&self, rep: &Replication, out: &mut Vec<Num>) -> std::io::Result<()> {
        out.clear();
        for r in &self.0 {
            let values = r.reporter.values(rep);
            if values.len() != r.columns.len() {
                return Err(std::io::Error::other(format!(
                    "the reporter of the columns {} gave {} value(s) for {} column(s)",
                    r.columns.join(", "),
                    values.len(),
                    r.columns.len()
                )));
            }
            out.extend(values);
        }
        Ok(())
    }
}

/// Why reporter columns cannot be written, if they cannot: a name that is empty, not a
/// plain CSV header word, the name of a column ticks.csv has already, or named twice.
pub(crate) fn check_columns(columns: &[String]) -> Result<(), String> {
    let stamp = ["replication", "tick", "year", "month", "period"];
    let mut seen: Vec<&str> = Vec::new();
    for c in columns {
        if c.is_empty() || !c.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_') {
            return Err(format!("a reporter's column `{c}` is not a name (letters, digits and _)"));
        }
        if stamp.contains(&c.as_str()) || METRICS.iter().any(|m| m.name() == c) || seen.contains(&c.as_str()) {
            return Err(format!("a reporter's column `{c}` is a column of ticks.csv already"));
        }
        seen.push(c);
    }
    Ok(())
}

impl std::fmt::Debug for Reporters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.0.iter().map(|r| &r.columns)).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Named(&'static [&'static str]);
    impl Reporter for Named {
        fn columns(&self) -> Vec<String> {
            self.0.iter().map(|c| c.to_string()).collect()
        }
        fn values(&self, _: &Replication) -> Vec<Num> {
            vec![Num::Int(1)]
        }
    }

    #[test]
    fn columns_must_be_new_plain_names() {
        let with = |cols: &'static [&'static str]| {
            let mut r = Reporters::default();
            r.add(Named(cols));
            r
        };
        assert!(Reporters::default().check().is_ok() && Reporters::default().columns().is_empty());
        assert!(with(&["share_above_median"]).check().is_ok());
        assert_eq!(with(&["a", "b"]).columns(), ["a", "b"]);
        for bad in [&["mean_performance"][..], &["tick"], &["a,b"], &[""], &["x", "x"]] {
            assert!(with(bad).check().is_err(), "{bad:?}");
        }
        let mut two = with(&["x"]);
        two.add(Named(&["x"]));
        assert!(two.check().unwrap_err().contains("already"));
    }
}
