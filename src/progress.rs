//! How long work tells how far it has come: a run's ticks, a shard's runs, an experiment's
//! runs, and the notes worth telling the user on the way (a stale directory removed). The
//! library reports to a [`Progress`] its caller gives and prints nothing itself: the
//! command line draws a bar on a terminal or writes a line now and then in a log, a
//! program embedding ESH may show it its own way or not at all ([`Silent`]).

/// What long work reports as it goes. Called from many threads at once (`advance` after
/// every tick of every replication), so implementations keep it cheap.
pub trait Progress: Sync {
    /// Work begins: `total` units when known in advance (None when, as in an experiment
    /// that adds replications until its CI target is met, it is not), `label` naming the
    /// work ("run", a shard, an experiment's id).
    fn start(&self, _total: Option<u64>, _label: &str) {}
    /// `n` more units are done.
    fn advance(&self, _n: u64) {}
    /// Something worth telling the user, which is not an error (the work goes on).
    fn message(&self, _text: &str) {}
    /// The work that `start` began is done (or stopped).
    fn finish(&self) {}
}

/// Progress that shows nothing.
pub struct Silent;

impl Progress for Silent {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silent_is_progress_and_does_nothing() {
        let p: &dyn Progress = &Silent;
        p.start(Some(3), "run");
        p.advance(2);
        p.message("note");
        p.finish();
    }
}
