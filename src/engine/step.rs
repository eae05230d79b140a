//! Parallel stepping: every zone's step reads only the previous tick's buffer and its own
//! stream, so zones are split into fixed chunks and stepped on rayon's threads. Chunk
//! boundaries do not depend on the thread count, and nothing is summed across chunks
//! here, so the result is the same on 1 or 64 threads.

use rayon::prelude::*;

use crate::model::zone::{Dyn, Outcome, StepCtx};

/// Zones per parallel task: large enough to amortise scheduling, small enough to balance.
pub const CHUNK: usize = 512;

/// Steps every zone from `ctx.prev` into `next`, recording each zone's outcome.
pub fn step_zones(ctx: &StepCtx<'_>, next: &mut Dyn, outcomes: &mut [Outcome]) {
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
        .for_each(
            |(chunk, (policy, fitness, performance, observed, action, capacity, counters, lineage, outcome))| {
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
                    outcome[k] = nx.outcome;
                }
            },
        );
}
