//! Parallel stepping: every zone's step reads only the previous tick's buffer and its own
//! stream, so zones are split into fixed chunks and stepped on rayon's threads. Chunk
//! boundaries do not depend on the thread count, and what a chunk reports (integer counts,
//! the lineage ids its zones wrote, in zone order) comes back in chunk order, so the result
//! is the same on 1 or 64 threads.

use rayon::prelude::*;

use crate::model::firm::{self, Population, ZoneView};
use crate::model::zone::{Dyn, Outcome, StepCtx, Zones, for_each_bit};

use crate::foundation::StreamPrefix;

/// What one chunk of zones did: the tick's flow counts and the zones whose lineage may
/// have changed, so the sequential lineage pass visits only those.
#[derive(Clone, Debug, Default)]
pub(crate) struct ChunkReport {
    pub(crate) experiments: u32,
    pub(crate) deviations: u32,
    pub(crate) deterred: u32,
    pub(crate) imitations: u32,
    pub(crate) compliance: u32,
    pub(crate) turnover: u32,
    pub(crate) successes: u32,
    /// Each lineage setting the chunk's zones wrote, `(k << 6 | instrument, id)` for the
    /// chunk's k-th zone, in zone and then instrument order: the only ids the tick changes,
    /// applied by the sequential lineage pass (which needs the previous ids, so they are not
    /// written during the step). Eight bytes a setting, at most what a second lineage
    /// buffer would hold.
    pub(crate) lineage: Vec<(u32, u32)>,
}

/// Zones per parallel task: large enough to amortise scheduling, small enough to balance.
pub(crate) const CHUNK: usize = 512;

/// Steps every zone from `ctx.prev` into `next`, recording each zone's outcome; returns
/// the chunks' reports in chunk order.
pub(crate) fn step_zones(ctx: &StepCtx<'_>, next: &mut Dyn, outcomes: &mut [Outcome]) -> Vec<ChunkReport> {
    (
        next.policy.par_chunks_mut(CHUNK),
        next.fitness.par_chunks_mut(CHUNK),
        next.performance.par_chunks_mut(CHUNK),
        next.observed.par_chunks_mut(CHUNK),
        next.action.par_chunks_mut(CHUNK),
        next.capacity.par_chunks_mut(CHUNK),
        next.counters.par_chunks_mut(CHUNK),
        outcomes.par_chunks_mut(CHUNK),
    )
        .into_par_iter()
        .enumerate()
        .map(|(chunk, (policy, fitness, performance, observed, action, capacity, counters, outcome))| {
            // Room for one write per zone, enough for most ticks without growing.
            let mut report = ChunkReport { lineage: Vec::with_capacity(policy.len()), ..ChunkReport::default() };
            // A zone's step writes the lineage ids of the instruments it touches into this
            // scratch row, and only those are read back: no row is copied for zones that
            // change nothing.
            let mut row = [0u32; 64];
            for k in 0..policy.len() {
                let z = chunk * CHUNK + k;
                let nx = ctx.step(z, &mut row[..ctx.n as usize]);
                policy[k] = nx.policy;
                fitness[k] = nx.fitness;
                performance[k] = nx.performance;
                observed[k] = nx.observed;
                action[k] = nx.action;
                capacity[k] = nx.capacity;
                counters[k] = nx.counters;
                let o = nx.outcome;
                outcome[k] = o;
                report.count(&o);
                for_each_bit(o.touched, |i| report.lineage.push(((k as u32) << 6 | i as u32, row[i])));
            }
            report
        })
        .collect()
}

impl ChunkReport {
    /// Adds one zone's outcome to the tick's flow counts.
    #[inline]
    pub(crate) fn count(&mut self, o: &Outcome) {
        self.experiments += o.experimented as u32;
        self.deviations += o.deviated as u32;
        self.deterred += o.deterred as u32;
        self.imitations += (o.imitated != 0) as u32;
        self.compliance += (o.complied != 0) as u32;
        self.turnover += o.reset as u32;
        self.successes += (o.innovated != 0) as u32;
    }
}

/// Steps every active zone's firms, one zone per task: a zone's firms read only its own
/// state and its own stream `(Firms, tick, zone)`, so the result is the same on any
/// number of threads.
pub(crate) fn step_firms(f: &mut Population, zones: &Zones, streams: StreamPrefix) {
    let rates = &f.rates;
    f.blocks.par_iter_mut().zip(f.tally.par_iter_mut()).enumerate().with_min_len(4).for_each(|(z, (block, tally))| {
        if !zones.active[z] {
            return;
        }
        let cur = &zones.cur;
        let view = ZoneView {
            capacity: cur.capacity[z],
            performance: cur.performance[z],
            level: zones.level[z],
            policy_bits: cur.policy[z].bits,
            policy_mask: cur.policy[z].mask,
        };
        *tally = firm::step(block, rates, &view, tally, &mut streams.stream(z as u64));
    });
}
