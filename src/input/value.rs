//! A scalar as a TOML file holds it, and how ESH writes one back.

use std::fmt;

/// A parameter value as it appears in a scenario file.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A TOML integer; also accepted where a number is allowed.
    Int(i64),
    /// A TOML float; written back in shortest round-trip form, so it re-reads to the same bits.
    Float(f64),
    /// A TOML boolean.
    Bool(bool),
    /// A TOML string: a choice's name (`"nk"`) or text such as a region's name.
    Str(String),
}

impl fmt::Display for Value {
    /// TOML syntax; floats in Rust's shortest round-trip form so a resolved scenario
    /// re-reads to the same bits.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x:?}"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Str(s) => write!(f, "{}", quote(s)),
        }
    }
}

impl Value {
    /// The value as a CSV cell: numbers as TOML writes them (floats in shortest round-trip
    /// form), strings bare.
    pub(crate) fn bare(&self) -> String {
        match self {
            Value::Str(s) => s.clone(),
            other => other.to_string(),
        }
    }

    /// A number's value (for axes of figures); None for booleans and strings.
    pub(crate) fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Float(x) => Some(*x),
            _ => None,
        }
    }
}

/// A string as a TOML basic string (the toml crate's quoting: Rust's `{:?}` writes escapes
/// such as `\u{301}` that TOML does not read).
pub fn quote(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}
