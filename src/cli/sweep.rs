//! `esh sweep ...`: parse, call the sweep library, print. Exit codes: 0 done; 2 bad
//! input (a sweep or scenario file, a directory that is not a sweep, bad arguments);
//! 1 a failure while working, failed runs in a shard, or a merge with runs missing or
//! failed.

use std::path::Path;
use std::process::ExitCode;

use crate::sweep::file::SlurmDefaults;
use crate::sweep::{self, Plan, Shard, SweepError, execute, merge, slurm};

use super::{SweepCommand, fail};

pub(crate) fn command(c: SweepCommand) -> ExitCode {
    let result = match c {
        SweepCommand::Plan { sweep, out, force, quiet } => plan(&sweep, out.as_deref(), force, quiet),
        SweepCommand::Run { dir, shard, shards, threads, retry_failed, quiet } => {
            run(&dir, shard.as_deref(), shards, threads, retry_failed, quiet)
        }
        SweepCommand::Status { dir, quiet } => status(&dir, quiet),
        SweepCommand::Merge { dir, allow_missing, quiet } => merge_cmd(&dir, allow_missing, quiet),
        SweepCommand::Slurm {
            dir,
            tasks,
            time,
            partition,
            memory,
            cpus,
            account,
            throttle,
            extra,
            esh,
            missing,
            submit,
            quiet,
        } => {
            let flags = SlurmDefaults { tasks, time, partition, memory, cpus, account, throttle, extra };
            let opts = slurm::Options { flags, esh, missing };
            slurm_cmd(&dir, &opts, submit, quiet)
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => fail(e.exit_code(), &e.to_string()),
    }
}

fn plan(path: &Path, out: Option<&Path>, force: bool, quiet: bool) -> Result<ExitCode, SweepError> {
    let name = path.file_stem().map_or("sweep".into(), |s| s.to_string_lossy().into_owned());
    let out = out.map(Path::to_path_buf).unwrap_or_else(|| Path::new("runs").join(name));
    let s = sweep::plan::create(path, &out, force)?;
    if !quiet {
        println!(
            "planned {} ({} x {}) in {}",
            plural(s.runs, "run"),
            plural(s.points, "design point"),
            plural(s.replications, "replication"),
            out.display()
        );
    }
    for w in &s.warnings {
        eprintln!("warning: {w}");
    }
    if s.invalid_count > 0 {
        eprintln!(
            "warning: {} of the {} design points are not valid scenarios; their runs will be recorded as failed:",
            s.invalid_count, s.points
        );
        for (p, why) in &s.invalid {
            eprintln!("  point {p}: {why}");
        }
        if s.invalid_count > s.invalid.len() as u64 {
            eprintln!("  and {} more", s.invalid_count - s.invalid.len() as u64);
        }
    }
    if !quiet {
        println!("next: esh sweep run {0}   (or: esh sweep slurm {0} --tasks N --submit)", out.display());
    }
    Ok(ExitCode::SUCCESS)
}

fn run(
    dir: &Path,
    shard: Option<&str>,
    shards: Option<u32>,
    threads: Option<usize>,
    retry_failed: bool,
    quiet: bool,
) -> Result<ExitCode, SweepError> {
    let plan = Plan::open(dir)?;
    let shard = match shard {
        Some(text) => Shard::parse(text).map_err(SweepError::Input)?,
        None => Shard::from_env(shards, &|k| std::env::var(k).ok()).map_err(SweepError::Input)?.unwrap_or(Shard::WHOLE),
    };
    if shards.is_some() && shard.count != shards.unwrap_or(0) {
        return Err(SweepError::Input(format!("--shards {} disagrees with the shard {shard}", shards.unwrap_or(0))));
    }
    super::set_threads(threads)
        .map_err(|(code, m)| if code == 2 { SweepError::Input(m) } else { SweepError::Io(m) })?;
    let r = execute::run_shard(
        &plan,
        &execute::Options { shard, retry_failed, reporters: Default::default() },
        &crate::cli::progress::Stderr::runs(quiet),
    )?;
    for c in &r.corrupt {
        eprintln!(
            "warning: shard {shard}: its file is {c}; that run is run again, the verified runs after it are kept"
        );
    }
    if r.cut > 0 && r.cut_garbage {
        eprintln!(
            "warning: shard {shard}: cut {} bytes of trailing garbage (not an unfinished run) off the end of its file",
            r.cut
        );
    } else if r.cut > 0 && !quiet {
        eprintln!("shard {shard}: cut {} bytes of an interrupted run off the end of its file", r.cut);
    }
    if !quiet {
        println!(
            "shard {shard}: {} runs: {} ran now ({} failed) in {:.1} s, {} done before, {} failed before",
            r.assigned,
            r.ran,
            r.failed.len(),
            r.wall_seconds,
            r.already_done,
            r.already_failed
        );
        if r.done_elsewhere > 0 {
            println!("  ({} of the runs done before are recorded in other shard files of the sweep)", r.done_elsewhere);
        }
    }
    for (run, why) in r.failed.iter().take(10) {
        eprintln!("run {run} failed: {why}");
    }
    if r.failed.len() > 10 {
        eprintln!("and {} more failed runs (`esh sweep status` lists them)", r.failed.len() - 10);
    }
    if r.failed.is_empty() && r.already_failed == 0 {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!(
            "shard {shard}: {} run(s) failed; they are recorded, and `esh sweep merge` will name them",
            r.failed.len() as u64 + r.already_failed
        );
        Ok(ExitCode::from(1))
    }
}

/// `status --quiet` prints nothing; its exit code says whether the sweep is complete (0)
/// or has runs missing or failed (1).
fn status(dir: &Path, quiet: bool) -> Result<ExitCode, SweepError> {
    let plan = Plan::open(dir)?;
    let index = merge::Index::build(&plan)?;
    if quiet {
        let complete = index.done() == plan.runs;
        return Ok(if complete { ExitCode::SUCCESS } else { ExitCode::from(1) });
    }
    let layouts: Vec<u32> = slurm::layout(&plan).into_iter().collect();
    print!("{}", merge::status(&plan, &index, &layouts));
    Ok(ExitCode::SUCCESS)
}

fn merge_cmd(dir: &Path, allow_missing: bool, quiet: bool) -> Result<ExitCode, SweepError> {
    let plan = Plan::open(dir)?;
    let r = merge::merge(&plan, &merge::Options { allow_missing })?;
    if !r.missing.is_empty() || !r.failed.is_empty() {
        eprintln!(
            "warning: merged without {} missing and {} failed run(s) (--allow-missing): {}",
            r.missing.len(),
            r.failed.len(),
            merge::list_runs(&[r.missing.clone(), r.failed.iter().map(|f| f.0).collect()].concat())
        );
    }
    if quiet {
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "merged {} of {} runs from {} shard file(s)\n  {} ({} bytes)",
        r.merged,
        r.runs,
        r.files,
        r.results.0.display(),
        r.results.1
    );
    match &r.summary {
        Some((path, bytes)) => println!("  {} ({bytes} bytes)", path.display()),
        None => println!("  no summary.csv: the sweep file's [keep] summary = false"),
    }
    if let Some(p) = r.preview {
        println!("\n{} by design point (last kept tick; mean and 95% CI over replications):", p.metric);
        let mut head = vec!["point".to_string()];
        head.extend(p.axes.iter().cloned());
        head.extend(["n".to_string(), "mean".to_string(), "95% CI".to_string()]);
        let mut rows = vec![head];
        for (point, raw, m) in p.rows.iter().take(20) {
            let mut row = vec![point.to_string()];
            row.extend(raw.iter().cloned());
            let ci = if m.n > 1 { format!("+/- {:.4}", m.ci95()) } else { "-".into() };
            row.extend([m.n.to_string(), format!("{:.4}", m.mean()), ci]);
            rows.push(row);
        }
        let widths: Vec<usize> =
            (0..rows[0].len()).map(|c| rows.iter().map(|r| r[c].len()).max().unwrap_or(0)).collect();
        for row in &rows {
            let cells: Vec<String> = row.iter().zip(&widths).map(|(c, w)| format!("{c:>w$}")).collect();
            println!("  {}", cells.join("  "));
        }
        if p.rows.len() > 20 {
            println!("  ... {} more design points in summary.csv", p.rows.len() - 20);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn slurm_cmd(dir: &Path, opts: &slurm::Options, submit: bool, quiet: bool) -> Result<ExitCode, SweepError> {
    let plan = Plan::open(dir)?;
    let s = slurm::write_scripts(&plan, opts)?;
    if quiet && submit && !s.indices.is_empty() {
        let (array, merge) = slurm::submit(&plan, &s)?;
        println!("{array} {merge}");
        return Ok(ExitCode::SUCCESS);
    }
    if quiet {
        return Ok(ExitCode::SUCCESS);
    }
    println!("# {}\n{}", s.array.display(), s.array_text);
    println!("# {}\n{}", s.merge.display(), s.merge_text);
    if s.indices.is_empty() {
        println!(
            "nothing to submit: every run of the {} shards has a record (`esh sweep merge {}`)",
            s.tasks,
            dir.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let which = slurm::ranges(&s.indices);
    if !submit {
        println!(
            "not submitted; to submit:\n  sbatch --array={which}{} {}\n  sbatch --dependency=afterany:<array job id> {}\n(or run this command again with --submit)",
            s.throttle.map(|t| format!("%{t}")).unwrap_or_default(),
            s.array.display(),
            s.merge.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let (array, merge) = slurm::submit(&plan, &s)?;
    println!("submitted array job {array} (tasks {which}) and merge job {merge} (after the array ends)");
    println!("follow it with: squeue -j {array},{merge}   and   esh sweep status {}", dir.display());
    Ok(ExitCode::SUCCESS)
}

/// "1 run", "2 runs": counts in messages read as English.
fn plural(n: impl Into<u64>, noun: &str) -> String {
    let n = n.into();
    if n == 1 { format!("1 {noun}") } else { format!("{n} {noun}s") }
}
