#![warn(missing_docs)]
//! ESH: agent-based simulation of experimentation under the shadow of hierarchy.
//!
//! A central planner and many local zones: zones imitate and experiment, the centre
//! tolerates or sanctions deviations, designates pilots and feeds successful local
//! innovations back into the national programme. See `ARCHITECTURE.md` for the code map
//! and `docs/model.md` for the model in ODD order.
//!
//! The library's face: [`scenario::Scenario`] (read and validate a scenario),
//! [`engine::run_replication`] (run one replication into an [`engine::Observer`]) and
//! [`output::run_to_dir`] (a whole run into an output directory).

pub(crate) mod calibrate;
pub mod cli;
pub mod engine;
pub mod foundation;
pub(crate) mod input;
pub mod model;
pub mod output;
pub(crate) mod plot;
pub mod progress;
pub mod reproduce;
pub mod scenario;
pub(crate) mod stats;
pub mod sweep;
