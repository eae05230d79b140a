//! Running one shard: its pending runs in parallel, each kept by a `Collector` and
//! appended to the shard's file as soon as it completes. A run that fails (an invalid
//! design point, a panic in the model, a design point too big for the memory the shard
//! may use) is recorded with its error and the shard goes on. A run recorded as complete
//! in any shard file of the sweep (another layout, an earlier whole-sweep run) is done.
//!
//! Memory: before a run starts, its scenario's size estimate (plus what its kept rows
//! take) is compared with the shard's budget (`memory_budget`); a run that does not fit
//! fails with that reason instead of aborting the whole shard. Runs that fit alone run
//! side by side (waiting for memory inside rayon's pool could deadlock: a waiting worker
//! may hold a stolen part of the very run it waits for), so for design points near the
//! limit give the shard fewer threads.

use std::io;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use rayon::prelude::*;

use super::file::Keep;
use super::plan::PlanRow;
use super::shard::{Shard, ShardWriter};
use super::{Plan, SweepError};
use crate::engine::{Observer, Replication, TickCounts};
use crate::model::centre::Act;
use crate::output::Reporters;
use crate::output::metrics::{Metric, Num, TickRow, tick_row};
use crate::progress::Progress;

/// How a shard is run (nothing here changes its results).
#[derive(Clone, Debug)]
pub struct Options {
    /// Which share of the plan's runs to run (`Shard::WHOLE` for all of them).
    pub shard: Shard,
    /// Run again the runs recorded as failed (by default they are skipped like completed ones).
    pub retry_failed: bool,
    /// The program's reporters, whose columns the plan keeps (`[keep] reporters`): they must
    /// name exactly those columns, in that order.
    pub reporters: Reporters,
}

/// What a shard run reports.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct Report {
    /// Runs of the plan that fall to this shard.
    pub assigned: u64,
    /// Completed before this invocation.
    pub already_done: u64,
    /// Recorded as failed before and not retried.
    pub already_failed: u64,
    /// Runs completed in this invocation.
    pub ran: u64,
    /// Runs that failed in this invocation, with their errors.
    pub failed: Vec<(u64, String)>,
    /// Bytes of an interrupted run cut off the shard file's end.
    pub(crate) cut: u64,
    /// Whether those bytes were garbage rather than an unfinished run.
    pub(crate) cut_garbage: bool,
    /// Records of this shard's file that do not verify (their runs run again).
    pub(crate) corrupt: Vec<super::shard::Corrupt>,
    /// Of `already_done`, how many are recorded in other shard files.
    pub(crate) done_elsewhere: u64,
    pub(crate) wall_seconds: f64,
}

/// Runs the shard's pending runs, telling `progress` of each one done (labelled `shard I/N`).
pub fn run_shard(plan: &Plan, opts: &Options, progress: &dyn Progress) -> Result<Report, SweepError> {
    let started = Instant::now();
    check_reporters(plan, &opts.reporters)?;
    let (writer, recovered) = ShardWriter::open(plan, opts.shard)?;
    let memory = memory_budget(&|k| std::env::var(k).ok()).map_err(SweepError::Input)?;
    let Already { done, done_count: already_done, failed_count: skip_failed, elsewhere } =
        already(plan, opts, &recovered.done)?;
    let slot = |run: u64| (run / opts.shard.count as u64) as usize;
    let already = already_done + skip_failed;
    let mut report = Report {
        assigned: done.len() as u64,
        already_done,
        already_failed: skip_failed,
        done_elsewhere: elsewhere,
        cut: recovered.cut,
        cut_garbage: recovered.garbage,
        corrupt: recovered.corrupt,
        ..Report::default()
    };
    let gate = memory.as_ref().map(|(budget, from)| Gate { budget: *budget, from: from.clone() });
    let pending = report.assigned - already;
    let ran = AtomicU64::new(0);
    progress.start(Some(pending), &format!("shard {}", opts.shard));
    let writer = Mutex::new(writer);
    let failed = Mutex::new(Vec::new());
    let first_error: Mutex<Option<SweepError>> = Mutex::new(None);
    let shard = opts.shard;
    let rows = plan.rows()?;
    // The plan is read as a stream and its pending runs handed to the workers as they come.
    let todo = rows.filter(|r| match r {
        Ok(row) => shard.owns(row.run) && !done[slot(row.run)],
        Err(_) => true,
    });
    let stop = std::sync::atomic::AtomicBool::new(false);
    todo.take_while(|_| !stop.load(Ordering::Relaxed)).par_bridge().for_each(|row| {
        let outcome = match row {
            Ok(row) => {
                let block = match run_gated(plan, &row, gate.as_ref(), &opts.reporters) {
                    Ok((bytes, count)) => ShardWriter::done_block(row.run, bytes, count),
                    Err(message) => {
                        let block = ShardWriter::failed_block(row.run, &message);
                        failed.lock().expect("no panic holds it").push((row.run, message));
                        block
                    }
                };
                writer.lock().expect("no panic holds the writer").append(&block)
            }
            Err(e) => Err(e),
        };
        match outcome {
            Ok(()) => {
                ran.fetch_add(1, Ordering::Relaxed);
                progress.advance(1);
            }
            Err(e) => {
                stop.store(true, Ordering::Relaxed);
                first_error.lock().expect("no panic holds it").get_or_insert(e);
            }
        }
    });
    progress.finish();
    let writer = writer.into_inner().expect("no panic holds the writer");
    let closed = writer.close();
    if let Some(e) = first_error.into_inner().expect("no panic holds it") {
        return Err(e);
    }
    closed?;
    let mut failed = failed.into_inner().expect("no panic holds it");
    failed.sort();
    report.ran = ran.into_inner();
    report.failed = failed;
    report.wall_seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// The shard's runs that need not run, by slot (run / shard count): done in any shard file
/// of the sweep (a run done under another layout is done), or failed and not retried.
struct Already {
    done: Vec<bool>,
    done_count: u64,
    failed_count: u64,
    /// Of `done_count`, those not recorded in this shard's own file (`recovered`).
    elsewhere: u64,
}

fn already(plan: &Plan, opts: &Options, recovered: &[u64]) -> Result<Already, SweepError> {
    let runs = plan.runs;
    let slot = |run: u64| (run / opts.shard.count as u64) as usize;
    let mut done = vec![false; opts.shard.assigned(runs) as usize];
    let mut mine = vec![false; done.len()];
    for &r in recovered {
        if opts.shard.owns(r) && r < runs {
            mine[slot(r)] = true;
        }
    }
    let index = super::merge::Index::build(plan)?;
    let (mut done_count, mut failed_count, mut elsewhere) = (0, 0, 0);
    let mut r = opts.shard.index as u64;
    while r < runs {
        if index.is_done(r) {
            done[slot(r)] = true;
            done_count += 1;
            elsewhere += !mine[slot(r)] as u64;
        } else if index.is_complete(r) && !opts.retry_failed {
            done[slot(r)] = true;
            failed_count += 1;
        }
        r += opts.shard.count as u64;
    }
    Ok(Already { done, done_count, failed_count, elsewhere })
}

/// The memory a run needs: its scenario's state and the rows it keeps.
fn run_bytes(plan: &Plan, s: &crate::scenario::Scenario) -> u64 {
    let rows = match plan.sweep.keep {
        Keep::All { every } => (s.run.ticks / every) as f64 + 2.0,
        _ => 1.0,
    };
    let kept = rows * (24.0 + 20.0 * (plan.sweep.metrics.len() + plan.sweep.reporters.len()) as f64) + 64.0;
    (s.estimated_bytes_per_replication() as f64 + kept).min(u64::MAX as f64) as u64
}

fn run_gated(plan: &Plan, row: &PlanRow, gate: Option<&Gate>, reporters: &Reporters) -> Result<(Vec<u8>, u32), String> {
    let values = plan.values(row)?;
    let scenario = super::design::scenario(&plan.sweep.base, &plan.sweep.axes, &values, row.seed).map_err(|e| {
        let key = e.key.map(|k| format!("`{k}`: ")).unwrap_or_default();
        format!("invalid design point: {key}{}", e.message)
    })?;
    if let Some(g) = gate {
        g.check(run_bytes(plan, &scenario))?;
    }
    let mut collector = Collector::new(row.run, plan.sweep.keep, &plan.sweep.metrics, reporters, scenario.run.ticks);
    let ran = catch_unwind(AssertUnwindSafe(|| {
        crate::engine::run_validated(&scenario, row.replication, &mut collector, &|| {})
    }));
    match ran {
        Ok(Ok(())) => Ok((collector.out, collector.rows)),
        Ok(Err(e)) => Err(e.to_string()),
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            Err(format!("the model panicked: {what}"))
        }
    }
}

/// A plan that keeps reporter columns runs only with reporters of exactly those columns.
pub(crate) fn check_reporters(plan: &Plan, reporters: &Reporters) -> Result<(), SweepError> {
    let have = reporters.columns();
    if have == plan.sweep.reporters {
        return Ok(());
    }
    let list = |c: &[String]| if c.is_empty() { "none".to_string() } else { c.join(", ") };
    Err(SweepError::Input(format!(
        "the plan keeps the reporter columns {} but the run registers {}\n  help: {}",
        list(&plan.sweep.reporters),
        list(&have),
        if have.is_empty() {
            "reporters are Rust code: run this plan from the program that registers them (esh::sweep::execute::run_shard)"
        } else {
            "register reporters of exactly the plan's `[keep] reporters`, in that order"
        }
    )))
}

/// The memory a shard's runs may use together, and where that figure comes from, in
/// this order: `ESH_MEMORY` (bytes, or with a unit K, M, G or T: powers of 1024); Slurm's
/// `SLURM_MEM_PER_NODE`, or `SLURM_MEM_PER_CPU` times `SLURM_CPUS_PER_TASK` (MiB); else
/// the machine's memory or the cgroup's limit, whichever is less. None when none is known.
pub(crate) fn memory_budget(env: &dyn Fn(&str) -> Option<String>) -> Result<Option<(u64, String)>, String> {
    if let Some(v) = env("ESH_MEMORY") {
        let bytes = crate::output::memory::parse_size(&v)
            .ok_or_else(|| format!("ESH_MEMORY={v}: expected bytes, or a number with a unit K, M, G or T, e.g. 4G"))?;
        return Ok(Some((bytes, "ESH_MEMORY".into())));
    }
    let mib = |k: &str| env(k).and_then(|v| v.trim().parse::<u64>().ok());
    if let Some(m) = mib("SLURM_MEM_PER_NODE") {
        return Ok(Some((m.saturating_mul(1 << 20), "SLURM_MEM_PER_NODE".into())));
    }
    if let Some(m) = mib("SLURM_MEM_PER_CPU") {
        let cpus = mib("SLURM_CPUS_PER_TASK").unwrap_or(1).max(1);
        return Ok(Some((m.saturating_mul(cpus).saturating_mul(1 << 20), "SLURM_MEM_PER_CPU".into())));
    }
    let total = std::fs::read_to_string("/proc/meminfo").ok().and_then(|t| {
        let line = t.lines().find(|l| l.starts_with("MemTotal:"))?;
        line.split_whitespace().nth(1)?.parse::<u64>().ok().map(|kib| kib * 1024)
    });
    let cgroup = ["/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"]
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok()?.trim().parse::<u64>().ok());
    Ok(match (total, cgroup) {
        (Some(t), Some(c)) if c < t => Some((c, "the cgroup's memory limit".into())),
        (Some(t), _) => Some((t, "the machine's memory".into())),
        (None, Some(c)) => Some((c, "the cgroup's memory limit".into())),
        (None, None) => None,
    })
}

/// The shard's memory budget.
struct Gate {
    budget: u64,
    from: String,
}

impl Gate {
    /// Err when a run of `bytes` cannot fit.
    fn check(&self, bytes: u64) -> Result<(), String> {
        if bytes <= self.budget {
            return Ok(());
        }
        Err(format!(
            "out of memory: the run needs about {} (the scenario's size estimate and its kept rows), more than the {} this shard may use ({}); not started\n  help: run it where more memory is available (set ESH_MEMORY, or ask Slurm for more with --memory) with `esh sweep run --retry-failed`",
            crate::output::memory::human(bytes as f64),
            crate::output::memory::human(self.budget as f64),
            self.from
        ))
    }
}

/// Keeps what the sweep asks of a run, as shard row lines `r,<run>,<tick>,<metrics>`.
pub(crate) struct Collector<'m> {
    run: u64,
    keep: Keep,
    metrics: &'m [&'static Metric],
    reporters: &'m Reporters,
    out: Vec<u8>,
    rows: u32,
    last: Option<TickRow>,
    /// The reporters' values at the tick being kept (a buffer reused across ticks).
    extra: Vec<Num>,
    last_written: Option<u32>,
    sums: Vec<f64>,
    in_window: u32,
}

impl<'m> Collector<'m> {
    pub(crate) fn new(
        run: u64,
        keep: Keep,
        metrics: &'m [&'static Metric],
        reporters: &'m Reporters,
        ticks: u32,
    ) -> Self {
        // Room for every row and the completion record, so the buffer is never copied.
        let rows = match keep {
            Keep::All { every } => (ticks / every) as usize + 2,
            _ => 1,
        };
        Collector {
            run,
            keep,
            metrics,
            reporters,
            out: Vec::with_capacity(rows * (24 + 20 * (metrics.len() + reporters.columns().len())) + 64),
            rows: 0,
            last: None,
            extra: Vec::new(),
            last_written: None,
            sums: vec![0.0; metrics.len() + reporters.columns().len()],
            in_window: 0,
        }
    }

    /// Appends one row line. Numbers go straight into the buffer (ryu's shortest
    /// round-trip floats, itoa's integers): formatting is most of a sweep's own cost.
    fn write(&mut self, row: &TickRow, extra: &[Num]) {
        let mut ints = itoa::Buffer::new();
        self.out.extend_from_slice(b"r,");
        self.out.extend_from_slice(ints.format(self.run).as_bytes());
        self.out.push(b',');
        self.out.extend_from_slice(ints.format(row.tick).as_bytes());
        for m in self.metrics {
            self.out.push(b',');
            push_num(&mut self.out, (m.1)(row));
        }
        for &v in extra {
            self.out.push(b',');
            push_num(&mut self.out, v);
        }
        self.out.push(b'\n');
        self.rows += 1;
        self.last_written = Some(row.tick);
    }
}

/// A metric value as shard files and results.csv write it.
fn push_num(out: &mut Vec<u8>, v: Num) {
    match v {
        Num::Int(i) => out.extend_from_slice(itoa::Buffer::new().format(i).as_bytes()),
        Num::Float(x) if x.is_finite() => out.extend_from_slice(ryu::Buffer::new().format_finite(x).as_bytes()),
        // Undefined (knowledge on an empty programme, say) is an empty cell, as in ticks.csv;
        // the model's state is bounded, so nothing else here is non-finite.
        Num::Float(_) => {}
    }
}

impl Observer for Collector<'_> {
    fn tick(&mut self, rep: &Replication, counts: &TickCounts) -> io::Result<()> {
        let row = tick_row(rep, counts);
        // The reporters are asked only at the ticks that are kept (and at the end).
        match self.keep {
            Keep::All { every } if row.tick.is_multiple_of(every) => {
                self.reporters.values(rep, &mut self.extra)?;
                let extra = std::mem::take(&mut self.extra);
                self.write(&row, &extra);
                self.extra = extra;
            }
            Keep::Window { from, to } if (from..=to).contains(&row.tick) => {
                self.reporters.values(rep, &mut self.extra)?;
                let values = self.metrics.iter().map(|m| (m.1)(&row)).chain(self.extra.iter().copied());
                for (s, v) in self.sums.iter_mut().zip(values) {
                    *s += v.as_f64();
                }
                self.in_window += 1;
            }
            _ => {}
        }
        self.last = Some(row);
        Ok(())
    }

    fn acts(&mut self, _: &Replication, _: &[Act]) -> io::Result<()> {
        Ok(())
    }

    fn finish(&mut self, rep: &Replication) -> io::Result<()> {
        let Some(last) = self.last.take() else { return Ok(()) };
        // `rep` is the state of the last tick, `last`'s.
        let mut extra = std::mem::take(&mut self.extra);
        self.reporters.values(rep, &mut extra)?;
        match self.keep {
            Keep::All { .. } | Keep::Final if self.last_written != Some(last.tick) => self.write(&last, &extra),
            Keep::Window { from, to } => {
                // A run that stopped at equilibrium before the window keeps its final state.
                let means: Vec<Num> = if self.in_window == 0 {
                    let values = self.metrics.iter().map(|m| (m.1)(&last)).chain(extra.iter().copied());
                    values.map(|v| Num::Float(v.as_f64())).collect()
                } else {
                    self.sums.iter().map(|s| Num::Float(s / self.in_window as f64)).collect()
                };
                self.out.extend_from_slice(format!("r,{},{from},{to}", self.run).as_bytes());
                for v in means {
                    self.out.push(b',');
                    push_num(&mut self.out, v);
                }
                self.out.push(b'\n');
                self.rows += 1;
            }
            _ => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_budgets_come_from_esh_memory_then_slurm() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |k: &str| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
        };
        assert_eq!(memory_budget(&env(&[("ESH_MEMORY", "4G")])), Ok(Some((4 << 30, "ESH_MEMORY".into()))));
        assert_eq!(memory_budget(&env(&[("ESH_MEMORY", "1000")])), Ok(Some((1000, "ESH_MEMORY".into()))));
        assert!(memory_budget(&env(&[("ESH_MEMORY", "4Q")])).is_err());
        assert!(memory_budget(&env(&[("ESH_MEMORY", "99999999999T")])).is_err(), "overflow is an error");
        assert_eq!(
            memory_budget(&env(&[("SLURM_MEM_PER_NODE", "2048")])),
            Ok(Some((2 << 30, "SLURM_MEM_PER_NODE".into())))
        );
        assert_eq!(
            memory_budget(&env(&[("SLURM_MEM_PER_CPU", "1024"), ("SLURM_CPUS_PER_TASK", "4")])),
            Ok(Some((4 << 30, "SLURM_MEM_PER_CPU".into())))
        );
        let gate = Gate { budget: 1 << 20, from: "test".into() };
        assert!(gate.check(1 << 20).is_ok());
        let e = gate.check(3 << 20).unwrap_err();
        assert!(e.contains("out of memory") && e.contains("3.0 MiB") && e.contains("(test)"), "{e}");
    }
}
