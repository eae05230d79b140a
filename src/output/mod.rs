//! Outputs of a run: tidy CSV files, the resolved scenario and the provenance, in one
//! output directory that appears only when complete.
//!
//! Writes go to `.<name>.partial-<pid>/` beside the output directory, renamed into place
//! at the end, so an interrupted run never leaves files that look complete (see `output::dir`).
//! Replications run in parallel; each keeps its rows in memory (a bounded amount: more
//! goes to a part file of its own) until a writer appends them in replication order.

pub(crate) mod dir;
mod error;
pub(crate) mod memory;
pub mod metrics;
mod observer;
pub(crate) mod provenance;
mod reporter;
mod rows;
mod run;
mod sink;
pub(crate) mod summary;

pub(crate) use dir::AtomicFile;
pub(crate) use dir::{BuildError, build_dir, partial_dir};
pub use error::OutputError;
pub use memory::MemoryCheck;
pub(crate) use memory::human;
pub use metrics::TickRow;
pub(crate) use reporter::check_columns;
pub use reporter::{Reporter, Reporters};
pub use run::{RunOptions, RunReport, run_to_dir};

/// A text cell of a CSV file, quoted by the csv crate: only where it must be
/// (`QuoteStyle::Necessary`), or always. Never Rust's `{:?}`, whose escapes CSV does not read.
pub(crate) fn csv_text(s: &str, style: csv::QuoteStyle) -> String {
    let mut w =
        csv::WriterBuilder::new().quote_style(style).terminator(csv::Terminator::Any(b'\n')).from_writer(Vec::new());
    // A whole record of one field: the csv crate closes a quoted field at the record's end.
    w.write_record([s]).expect("writes into memory");
    let mut cell = w.into_inner().expect("writes into memory");
    cell.pop(); // the record's terminator
    String::from_utf8(cell).expect("UTF-8 in, UTF-8 out")
}
