//! The input layer: reading TOML files (scenarios, sweeps, experiments, calibration targets)
//! with errors a user can act on. Every file format parses its text here ([`parse`]), reads
//! its tables through one [`Reader`], and reports a [`ScenarioError`] that names the file,
//! line, column and key, says what is allowed and suggests the nearest known name. Below
//! everything but the foundation: it knows TOML, not the model.

pub(crate) mod error;
pub(crate) mod reader;
pub mod suggest;
pub(crate) mod value;

pub use error::ScenarioError;
pub(crate) use reader::{Reader, Span, Table, param_entries};
pub use value::{Value, quote};

/// Parses TOML text into a table that keeps the spans of its keys and values; a syntax error
/// names `file` with a line and column (see [`error::toml_error`]).
pub(crate) fn parse<'i>(text: &'i str, file: &str) -> Result<Table<'i>, ScenarioError> {
    Table::parse(text).map(toml::Spanned::into_inner).map_err(|e| error::toml_error(file, text, &e))
}
