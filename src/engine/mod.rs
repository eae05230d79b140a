//! The engine: the run loop of one replication, the event schedule and
//! parallel stepping. It owns the threads; what is kept of a run is the business of an
//! [`Observer`] (the output module implements the CSV one).

mod replication;
pub(crate) mod schedule;
pub(crate) mod step;

pub use replication::{Replication, TickCounts};

use crate::model::centre::Act;

/// What a run reports as it goes (Agents.jl's `adata`/`mdata`, Mesa's DataCollector).
pub trait Observer {
    /// After each tick (tick 0 is the initial state).
    fn tick(&mut self, rep: &Replication, counts: &TickCounts) -> std::io::Result<()>;
    /// Scheduled events and centre acts of the tick just done.
    fn acts(&mut self, rep: &Replication, acts: &[Act]) -> std::io::Result<()>;
    /// Once, after the last tick.
    fn finish(&mut self, rep: &Replication) -> std::io::Result<()>;
}

/// Why a replication could not run.
#[derive(Debug)]
#[non_exhaustive]
pub enum RunError {
    /// The scenario cannot be built (e.g. no connected small world), or its model cannot go
    /// on (firms outgrowing what a replication may hold).
    Model(String),
    /// The scenario breaks a rule of scenario files (one built in code; see
    /// [`Scenario::validate`](crate::scenario::Scenario::validate)).
    Invalid(crate::scenario::ScenarioError),
    /// The observer failed to write what it reports (disk full, no permission).
    Io(std::io::Error),
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::Model(m) => write!(f, "{m}"),
            RunError::Invalid(e) => write!(f, "{e}"),
            RunError::Io(e) => write!(f, "writing outputs failed: {e}"),
        }
    }
}

impl std::error::Error for RunError {}

impl From<std::io::Error> for RunError {
    fn from(e: std::io::Error) -> Self {
        RunError::Io(e)
    }
}

/// Runs one replication to the end, reporting to `observer`; `progress` is called after
/// each tick. The scenario is validated first (a scenario built in code gets the checks of
/// a scenario file), so an impossible one is an error, not a panic deep in the model.
pub fn run_replication(
    scenario: &crate::scenario::Scenario,
    replication: u32,
    observer: &mut impl Observer,
    progress: &(dyn Fn() + Sync),
) -> Result<(), RunError> {
    scenario.validate("the scenario").map_err(RunError::Invalid)?;
    run_validated(scenario, replication, observer, progress)
}

/// [`run_replication`] for a scenario already validated (read from a file, or checked once
/// for a whole run): validation is per scenario, not per replication.
pub(crate) fn run_validated(
    scenario: &crate::scenario::Scenario,
    replication: u32,
    observer: &mut impl Observer,
    progress: &(dyn Fn() + Sync),
) -> Result<(), RunError> {
    let mut rep = Replication::build(scenario, replication).map_err(RunError::Model)?;
    if let Some(m) = rep.failure.take() {
        return Err(RunError::Model(m));
    }
    observer.acts(&rep, &rep.acts)?;
    observer.tick(&rep, &rep.counts)?;
    while rep.tick < scenario.run.ticks {
        rep.step();
        if let Some(m) = rep.failure.take() {
            return Err(RunError::Model(m));
        }
        observer.acts(&rep, &rep.acts)?;
        observer.tick(&rep, &rep.counts)?;
        progress();
        if scenario.run.stop_at_equilibrium && rep.at_equilibrium() {
            break;
        }
    }
    observer.finish(&rep)?;
    Ok(())
}
