#![warn(missing_docs)]
//! ESH: agent-based simulation of experimentation under the shadow of hierarchy.
//!
//! A central planner and many local zones: zones imitate and experiment, the centre
//! tolerates or sanctions deviations, designates pilots and feeds successful local
//! innovations back into the national programme. `ARCHITECTURE.md` is the code map and
//! `docs/model.md` the model in ODD order.
//!
//! The library's face: [`scenario::Scenario`] (read, change and validate a scenario),
//! [`engine::run_replication`] (one replication into an [`engine::Observer`] of your own),
//! [`output::run_to_dir`] (a whole run into an output directory, with your own
//! [`output::Reporter`] columns), [`sweep`] (plan, run and merge parameter sweeps) and
//! [`progress::Progress`] (the library prints nothing).
//!
//! ```
//! use esh::engine::{Observer, Replication, TickCounts, run_replication};
//! use esh::model::centre::Act;
//! use esh::scenario::Scenario;
//!
//! /// Keeps the experiments of every tick.
//! struct Experiments(Vec<u32>);
//!
//! impl Observer for Experiments {
//!     fn tick(&mut self, _: &Replication, counts: &TickCounts) -> std::io::Result<()> {
//!         self.0.push(counts.experiments);
//!         Ok(())
//!     }
//!     fn acts(&mut self, _: &Replication, _: &[Act]) -> std::io::Result<()> {
//!         Ok(())
//!     }
//!     fn finish(&mut self, _: &Replication) -> std::io::Result<()> {
//!         Ok(())
//!     }
//! }
//!
//! let mut s = Scenario::parse("[run]\nticks = 5\nseed = 7\n", "inline.toml")?;
//! s.set_from_str("example", "centre.tolerance", "0.5")?; // checked as in a file
//! let mut seen = Experiments(Vec::new());
//! run_replication(&s, 0, &mut seen, &|| {})?;
//! assert_eq!(seen.0.len(), 6); // tick 0 and five ticks
//!
//! // A scenario changed in code is validated before it runs: K must be below N.
//! s.landscape.k = s.landscape.n;
//! let err = run_replication(&s, 0, &mut seen, &|| {}).unwrap_err();
//! assert!(err.to_string().contains("landscape.k"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

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
