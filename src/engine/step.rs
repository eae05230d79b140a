//! Parallel stepping: every zone's step reads only the previous tick's buffer and its own
//! stream, so zones are split into fixed chunks and stepped on rayon's threads. Chunk
//! boundaries do not depend on the thread count, and what a chunk reports (integer counts,
//! the zones it touched, in zone order) comes back in chunk order, so the result is the
//! same on 1 or 64 threads.

use rayon::prelude::*;

use crate::model::firm::{self, Population, ZoneView};
use crate::model::zone::{Dyn, Outcome, StepCtx, Zones};

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
    pub(crate) touched: Vec<u32>,
}

/// Zones per parallel task: large enough to amortise scheduling, small enough to balance.
pub(crate) const CHUNK: usize = 512;

/// Steps every zone from `ctx.prev` into `next`, recording each zone's outcome; returns
/// the chunks' reports in chunk order.
pub(crate) fn step_zones(ctx: &StepCtx<'_>, next: &mut Dyn, outcomes: &mut [Outcome]) -> Vec<ChunkReport> {
    let n = ctx.n as usize;
    (
        next.policy.par_chunks_mut(CHUNK),
        next.fitness.par_chunks_mut(CHUNK),
        next.performance.par_chunks_mut(CHUNK),
        next.observed.par_chunks_mut(CHUNK),
        next.action.par_chunks_mut(CHUNK),
        next.capacity.par_chunks_mut(CHUNK),
        next.counters.par_chunks_mut(CHUNK),
        next.lineage.par_chunks_mut(CHUNK * n),
        outcomes.par_chunks_mut(CHUNK),
    )
        .into_par_iter()
        .enumerate()
        .map(|(chunk, (policy, fitness, performance, observed, action, capacity, counters, lineage, outcome))| {
            let mut report = ChunkReport::default();
            // Each zone's step edits its own lineage row in place: copy the chunk's rows
            // in one go rather than one small copy per zone.
            let start = chunk * CHUNK * n;
            lineage.copy_from_slice(&ctx.prev.lineage[start..start + lineage.len()]);
            for k in 0..policy.len() {
                let z = chunk * CHUNK + k;
                let nx = ctx.step(z, &mut lineage[k * n..(k + 1) * n]);
                policy[k] = nx.policy;
                fitness[k] = nx.fitness;
                performance[k] = nx.performance;
                observed[k] = nx.observed;
                action[k] = nx.action;
                capacity[k] = nx.capacity;
                counters[k] = nx.counters;
                let o = nx.outcome;
                outcome[k] = o;
                report.experiments += o.experimented as u32;
                report.deviations += o.deviated as u32;
                report.deterred += o.deterred as u32;
                report.imitations += (o.imitated != 0) as u32;
                report.compliance += (o.complied != 0) as u32;
                report.turnover += o.reset as u32;
                report.successes += (o.innovated != 0) as u32;
                if o.touched != 0 {
                    report.touched.push(z as u32);
                }
            }
            report
        })
        .collect()
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
