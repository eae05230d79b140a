//! The model: plain data and pure rules. A tick maps the state at t (read-only) to the
//! state at t+1.
//!
//! Architecture invariant: nothing here knows about files, terminals or threads. The
//! engine decides how zones are stepped (in parallel) and the output module what is kept.

pub mod centre;
pub mod firm;
pub mod landscape;
pub(crate) mod lineage;
pub mod network;
pub mod policy;
pub(crate) mod tabulate;
pub mod zone;
